"""Builds an MC-VarNet parity fixture from the UniFS repository's implementation (VANet) at any
configuration and size.

The layout is that of the kit's other fixtures (see kernel/src/parity.rs and the `parity`
section of papers/baselines/mc_varnet.mcmr): weights (the `state_dict`), inputs (`x`: the
zero-filled target image, `y`: the reference, `mask`: the centred column mask, [B, 1, H, W]),
outputs (`x_out`, `y_out`, `loss`, and each top-level module's calls as `act.<module>.call<i>`),
targets (`target`, `reference_target`), and one training step as the repository's
MCVarNetModelWrapper and train.py take it (L1 on the target plus 0.1 L1 on the reference, Adam
lr 1e-4): gradients and the `state_dict` after the step.

The repository is not part of this kit: point UNIFS_SRC at a checkout of LIKP0/UniFS (the kit's
spec was written against 025205c); model/MC_VarNet.py needs only torch. Sizes must be even (the
decoders' output_size), and in_channel must equal channel_fea (the forward adds the two).
Needs torch, numpy and safetensors:

    UNIFS_SRC=~/src/UniFS python tools/parity/mc_varnet_fixture.py kernel/tests/fixtures/mc_varnet_c4_16x24 \\
        --channels 4 --iters 3 --height 16 --width 24
    mcmr parity papers/baselines/mc_varnet.mcmr --fixture kernel/tests/fixtures/mc_varnet_c4_16x24
"""

import argparse
import importlib.util
import os
import sys

import numpy as np
import torch
import torch.nn as nn
from synthetic import ellipses, random_columns, save_fixture  # tools/parity/synthetic.py, beside this script


def official():
    src = os.environ.get("UNIFS_SRC")
    if not src:
        sys.exit("set UNIFS_SRC to a checkout of LIKP0/UniFS")
    spec = importlib.util.spec_from_file_location("mc_varnet_official", os.path.join(src, "model/MC_VarNet.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--channels", type=int, default=4, help="in_channel = channel_fea")
    ap.add_argument("--iters", type=int, default=3)
    ap.add_argument("--height", type=int, default=16)
    ap.add_argument("--width", type=int, default=24)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1300)
    args = ap.parse_args()
    if args.height % 4 or args.width % 4:
        sys.exit("sizes must be multiples of 4 (two stride-2 levels with output_size)")
    module = official()
    torch.manual_seed(0)
    model = module.VANet(in_channel=args.channels, channel_fea=args.channels, iter_num=args.iters)

    rng = np.random.default_rng(args.seed)
    cols = random_columns(args.width, rng)
    xs, ys, ms, ts = [], [], [], []
    for _ in range(args.batch):
        t1, t2 = ellipses(args.height, args.width, rng, texture=0.05)
        k = np.fft.fftshift(np.fft.fft2(np.fft.ifftshift(t2), norm="ortho")) * cols[None, :]
        zf = np.abs(np.fft.fftshift(np.fft.ifft2(np.fft.ifftshift(k), norm="ortho")))
        xs.append(zf[None]), ys.append(t1[None]), ts.append(t2[None])
        ms.append(np.broadcast_to(cols[None, None, :], (1, args.height, args.width)))
    f32 = lambda v: torch.tensor(np.stack(v), dtype=torch.float32).contiguous()  # noqa: E731
    inputs = {"x": f32(xs), "y": f32(ys), "mask": f32(ms)}
    target = {"target": f32(ts), "reference_target": f32(ys)}

    weights = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    acts, calls, handles = {}, {}, []
    for name, m in model.named_children():
        def hook(m, i, o, name=name):
            n = calls.get(name, 0)
            calls[name] = n + 1
            acts[f"act.{name}.call{n}"] = o.detach().clone().contiguous()
        handles.append(m.register_forward_hook(hook))
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    opt.zero_grad()
    x_out, y_out = model(inputs["x"], inputs["y"], inputs["mask"])
    for h in handles:
        h.remove()
    l1 = nn.functional.l1_loss
    loss = l1(x_out, target["target"]) + 0.1 * l1(y_out, target["reference_target"])
    loss.backward()
    grads = {f"grad.{n}": p.grad.detach().clone() for n, p in model.named_parameters() if p.grad is not None}
    opt.step()
    after = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}

    outputs = {"x_out": x_out.detach().contiguous(), "y_out": y_out.detach().contiguous(), "loss": loss.detach().reshape(1)}
    outputs.update(acts)
    config = {
        "paper": "MC-VarNet (Lei et al., ICCV 2023) as the UniFS repository implements it",
        "repo": "LIKP0/UniFS (UNIFS_SRC), model/MC_VarNet.py; the kit's spec was written against 025205c",
        "made_by": "tools/parity/mc_varnet_fixture.py " + " ".join(sys.argv[2:]),
        "constructor_args": {"in_channel": args.channels, "channel_fea": args.channels, "iter_num": args.iters},
        "input_shapes": {k: list(v.shape) for k, v in inputs.items()},
        "loss_value": loss.item(),
        "n_params": sum(p.numel() for p in model.parameters()),
        "torch_version": torch.__version__,
    }
    save_fixture(args.out, {"weights": weights, "inputs": inputs, "target": target, "outputs": outputs,
                            "grads": grads, "weights_after_step": after}, config)


if __name__ == "__main__":
    main()
