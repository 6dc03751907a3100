"""Builds a UniFS parity fixture from the official code at any width, depth, reduction and size.

The layout is that of shared/fixtures/parity/unifs/small (see kernel/src/parity.rs): weights,
inputs (`pd_hr`, `t2_lr`, `mask` in the centred layout), outputs (`out` and the hooked
`act.<module>.call0` of every SFIB and its frequency fusion), target (`t2_hr`), and one training
step as released (MSE, Adam lr 1e-4): gradients (`grad.<param>`) and the weights after the step,
plus config.json.

The official repository is not part of this kit: point UNIFS_SRC at a checkout of LIKP0/UniFS
(the kit's parity was written against commit 025205c). Needs torch, numpy and safetensors.
Example (the kit's own check at another configuration, kernel/tests/fixtures/unifs_c8_32x64):

    UNIFS_SRC=~/src/UniFS python tools/parity/unifs_fixture.py kernel/tests/fixtures/unifs_c8_32x64 \\
        --feats 8 --groups 2 --blocks 1 --reduction 2 --height 32 --width 64
    mcmr parity papers/unifs.mcmr --fixture kernel/tests/fixtures/unifs_c8_32x64

Inputs are synthetic aligned T1/T2 ellipse phantoms, min-max normalised to [0, 1] as UniFS's
preprocessing does; T2 is undersampled through the code's convention (centred fft2 with the
default norm, a random column mask with centre fraction 0.08 at 4x, inverse, magnitude). UniFS's
frequency fusion takes atan2 of full complex spectra, which is ill-conditioned at bins near the
branch cut, so data seeds are scanned until a float64 copy of the model agrees with the float32
one to --max-gap (relative, over the output and every hooked block output).
"""

import argparse
import copy
import json
import os
import sys

import numpy as np
import torch
from safetensors.torch import save_file
from synthetic import ellipses, random_columns  # tools/parity/synthetic.py, beside this script


def degrade(img, cols):
    k = np.fft.fftshift(np.fft.fft2(img))
    mask = np.tile(cols, (img.shape[0], 1))
    return np.abs(np.fft.ifft2(np.fft.ifftshift(k * mask))), mask


HOOKED = ("SFIB_With_MaskPrompt", "Frequency_Fuse_With_MaskPrompt", "SpatialPromptGenerator", "Spatial_Fuse",
          "Fre_Spatial_fuse")


def forward_with_hooks(model, inputs):
    acts = {}
    handles = []
    for name, module in model.named_modules():
        if type(module).__name__ in HOOKED:
            handles.append(module.register_forward_hook(
                lambda m, i, o, name=name: acts.__setitem__(f"act.{name}.call0", o.detach().clone())))
    out = model(inputs["pd_hr"], inputs["t2_lr"], mask=inputs["mask"])
    for h in handles:
        h.remove()
    return out, acts


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--feats", type=int, default=8)
    ap.add_argument("--groups", type=int, default=2)
    ap.add_argument("--blocks", type=int, default=1)
    ap.add_argument("--reduction", type=int, default=2)
    ap.add_argument("--height", type=int, default=32)
    ap.add_argument("--width", type=int, default=64)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--seed", type=int, default=500)
    ap.add_argument("--max-gap", type=float, default=2e-5)
    args = ap.parse_args()
    src = os.environ.get("UNIFS_SRC")
    if not src:
        sys.exit("set UNIFS_SRC to a checkout of LIKP0/UniFS")
    sys.path[:0] = [os.path.join(src, "model"), src]
    from UniFS import UniFS  # noqa: E402 (the official model)

    ctor = dict(n_feats=args.feats, n_resgroups=args.groups, n_resblocks=args.blocks, reduction=args.reduction,
                concat_index_list=list(range(args.groups)))
    torch.manual_seed(0)
    model = UniFS(**ctor)
    model64 = copy.deepcopy(model).double()
    tried = []
    for seed in range(args.seed, args.seed + 50):
        rng = np.random.default_rng(seed)
        t1s, t2s, lrs, masks = [], [], [], []
        for _ in range(args.batch):
            t1, t2 = ellipses(args.height, args.width, rng, texture=0.05)
            lr, mask = degrade(t2, random_columns(args.width, rng))
            t1s.append(t1), t2s.append(t2), lrs.append(lr), masks.append(mask)
        stack = lambda xs: torch.tensor(np.stack(xs)[:, None], dtype=torch.float32)  # noqa: E731
        inputs = {"pd_hr": stack(t1s), "t2_lr": stack(lrs), "mask": stack(masks)}
        target = stack(t2s)
        with torch.no_grad():
            out, acts = forward_with_hooks(model, inputs)
            out64, acts64 = forward_with_hooks(model64, {k: v.double() for k, v in inputs.items()})
        gap = max(float((a - acts64[k]).abs().max() / acts64[k].abs().max()) for k, a in acts.items())
        gap = max(gap, float((out - out64).abs().max() / out64.abs().max()))
        tried.append({"seed": seed, "gap": gap})
        if gap < args.max_gap:
            break
    else:
        sys.exit(f"no data seed within {args.max_gap}: {tried}")

    os.makedirs(args.out, exist_ok=True)
    weights = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    save_file(weights, os.path.join(args.out, "weights.safetensors"))
    save_file({k: v.contiguous() for k, v in inputs.items()}, os.path.join(args.out, "inputs.safetensors"))
    outputs = {"out": out.contiguous()}
    outputs.update({k: v.contiguous() for k, v in acts.items()})
    save_file(outputs, os.path.join(args.out, "outputs.safetensors"))
    save_file({"t2_hr": target.contiguous()}, os.path.join(args.out, "target.safetensors"))

    # One training step as released: MSE, Adam (lr 1e-4); frozen and unused parameters get no grad.
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    opt.zero_grad()
    pred = model(inputs["pd_hr"], inputs["t2_lr"], mask=inputs["mask"])
    loss = torch.nn.functional.mse_loss(pred, target)
    loss.backward()
    grads = {f"grad.{n}": p.grad.detach().clone() for n, p in model.named_parameters() if p.grad is not None}
    opt.step()
    save_file(grads, os.path.join(args.out, "grads.safetensors"))
    after = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    save_file(after, os.path.join(args.out, "weights_after_step.safetensors"))
    config = {
        "paper": "UniFS",
        "repo": "LIKP0/UniFS (UNIFS_SRC); the kit's parity was written against 025205c",
        "made_by": "tools/parity/unifs_fixture.py " + " ".join(sys.argv[2:]),
        "constructor_args": ctor,
        "input_shapes": {k: list(v.shape) for k, v in inputs.items()},
        "conditioning": {"rule": f"first data seed whose float32-vs-float64 forward gap is < {args.max_gap}",
                         "tried": tried},
        "loss_value": loss.item(),
        "step": "MSE(out, t2_hr), Adam(lr=1e-4) as released (config/UniFS.yaml, train.py)",
        "torch_version": torch.__version__,
    }
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    print(f"{args.out}: seed {tried[-1]['seed']}, gap {tried[-1]['gap']:.2e}, loss {loss.item():.6f}")


if __name__ == "__main__":
    main()
