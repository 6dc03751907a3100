"""Builds a MANet parity fixture from the official code at any width, depth and size, and measures
how far PyTorch's own float32 training step is from its float64 one.

The layout is that of shared/fixtures/parity/manet/small (see kernel/src/parity.rs): weights
(`UNet_k.*`, `UNet_img.*` with batch-norm buffers), inputs (`target_Kspace_T1`,
`masked_Kspaces_T2`: [B, 2, H, W] real/imaginary, numpy's `fftshift(fft2(img))`), outputs
(`eval.*` before any step in evaluation mode, `train.*` in training mode, and the hooked
`act.<module>.call<i>[.out0]` of every child of both U-Nets), targets, and one training step as
released (L1 0.1/0.9 per domain, domains summed, RMSprop lr 1e-3): gradients and the state_dict
after the step, including the running statistics that the step's forward updated.

The official repository is not part of this kit: point MANET_SRC at a checkout of
chunmeifeng/MANet (the kit's parity was written against a0c5b97). Its Dense_Unet_k/_img build
some layers 64 (or 128) channels wide whatever `filters` is; at other widths this script
replaces exactly those layers by `filters` (2·`filters`) wide ones, which at filters = 64 is the
identity. Needs torch, numpy and safetensors. Examples:

    MANET_SRC=~/src/MANet python tools/parity/manet_fixture.py kernel/tests/fixtures/manet_f8_32x48 \\
        --filters 8 --num-conv 3 --height 32 --width 48
    mcmr parity papers/manet.mcmr --fixture kernel/tests/fixtures/manet_f8_32x48

    # PyTorch's own float32-vs-float64 step on an existing fixture's weights and inputs:
    MANET_SRC=~/src/MANet python tools/parity/manet_fixture.py --measure ../shared/fixtures/parity/manet/small
"""

import argparse
import copy
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn
from safetensors.torch import load_file, save_file
from synthetic import ellipses, random_columns  # tools/parity/synthetic.py, beside this script


def build(filters, num_conv):
    src = os.environ.get("MANET_SRC")
    if not src:
        sys.exit("set MANET_SRC to a checkout of chunmeifeng/MANet")
    # The model file needs only torch; the package's __init__ imports pytorch_lightning.
    import importlib.util

    spec = importlib.util.spec_from_file_location("manet_official", os.path.join(src, "fastmri/models/MANet.py"))
    official = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(official)
    Dense_Unet_k, Dense_Unet_img = official.Dense_Unet_k, official.Dense_Unet_img

    class Pair(nn.Module):
        def __init__(self):
            super().__init__()
            self.UNet_k = Dense_Unet_k(2, 2, filters, num_conv)
            self.UNet_img = Dense_Unet_img(1, 1, filters, num_conv)

        def forward(self, k1, k2):
            out_t1k, out_t2k = self.UNet_k(k1, k2)
            mag = lambda k: torch.fft.ifft2(torch.complex(k[:, 0], k[:, 1])).abs()[:, None]  # noqa: E731
            in_t1, in_t2 = mag(out_t1k), mag(out_t2k)
            out_t1, out_t2 = self.UNet_img(in_t1, in_t2)
            return {"out_T1k": out_t1k, "out_T2k": out_t2k, "in_T1img": in_t1, "in_T2img": in_t2,
                    "out_T1img": out_t1, "out_T2img": out_t2}

    torch.manual_seed(0)
    model = Pair()
    if filters != 64:
        # The layers the official code sizes by a literal 64 (or 128): same roles, `filters` wide.
        f = filters
        for net in (model.UNet_k, model.UNet_img):
            for i in range(1, 5):
                up = getattr(net, f"up{i}_T2")
                up.upsample_layer = nn.ConvTranspose2d(f, f, 4, padding=1, stride=2)
                up.conv = nn.Conv2d(2 * f, f, 3, padding=1)
            net.outconvT2 = nn.Conv2d(f, net.outconvT1.out_channels, 1)
            for name in [f"atten_depth_channel_{i}" for i in range(4)] + [f"atten_depth_channel_U_{i}" for i in range(4)]:
                ca = getattr(net, name)
                ca.fc1 = nn.Conv2d(f, f // 16, 1, bias=False)
                ca.fc2 = nn.Conv2d(f // 16, f, 1, bias=False)
        for i in range(4):
            for kind in ("D", "U"):
                setattr(model.UNet_k, f"convdem{kind}{i}", nn.Conv2d(f, f, 3, padding=1))
    return model


def hooked(model, inputs):
    """Training-mode outputs and every child module's output, as `act.<path>.call<i>[.out0]`."""
    acts, calls, handles = {}, {}, []
    for name, module in model.named_modules():
        if name.count(".") == 1:
            def hook(m, i, o, name=name):
                n = calls.get(name, 0)
                calls[name] = n + 1
                key = f"act.{name}.call{n}"
                if isinstance(o, tuple):
                    acts[key + ".out0"] = o[0].detach().clone()
                else:
                    acts[key] = o.detach().clone()
            handles.append(module.register_forward_hook(hook))
    out = model(inputs["target_Kspace_T1"], inputs["masked_Kspaces_T2"])
    for h in handles:
        h.remove()
    return out, acts


def loss_of(out, target):
    l1 = nn.functional.l1_loss
    loss_k = 0.1 * l1(out["out_T1k"], target["target_Kspace_T1"]) + 0.9 * l1(out["out_T2k"], target["target_Kspace_T2"])
    loss_img = 0.1 * l1(out["out_T1img"], target["target_img_T1"]) + 0.9 * l1(out["out_T2img"], target["target_img_T2"])
    return loss_k + loss_img, loss_k, loss_img


def step(model, inputs, target):
    """One official training step; returns gradients, the state after, the loss and the outputs."""
    model.train()
    opt = torch.optim.RMSprop(model.parameters(), lr=1e-3)
    opt.zero_grad()
    out, acts = hooked(model, inputs)
    loss, loss_k, loss_img = loss_of(out, target)
    loss.backward()
    grads = {f"grad.{n}": p.grad.detach().clone() for n, p in model.named_parameters() if p.grad is not None}
    opt.step()
    after = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    return grads, after, (loss, loss_k, loss_img), out, acts


def compare(g32, a32, g64, a64):
    """PyTorch float32 against float64: global relative L2 of the gradients, and the share of
    step entries within 1e-6 with the largest difference (the kit's parity criteria)."""
    num = sum(float(((g32[k].double() - g64[k]) ** 2).sum()) for k in g64)
    den = sum(float((g64[k] ** 2).sum()) for k in g64)
    within = total = 0
    worst = 0.0
    for k in g64:
        name = k[len("grad."):]
        d = (a32[name].double() - a64[name]).abs()
        within += int((d <= 1e-6).sum())
        total += d.numel()
        worst = max(worst, float(d.max()))
    return {"grads_global_rel_l2": (num / den) ** 0.5, "step_fraction_within_1e-6": within / total,
            "step_max_abs": worst}


def measure(fixture):
    config = json.load(open(os.path.join(fixture, "config.json")))
    ctor = config.get("constructor_args") or {"filters": 16, "num_conv": 2}
    model = build(ctor["filters"], ctor["num_conv"])
    model.load_state_dict(load_file(os.path.join(fixture, "weights.safetensors")))
    inputs = load_file(os.path.join(fixture, "inputs.safetensors"))
    target = {k: v for k, v in load_file(os.path.join(fixture, "target.safetensors")).items() if not k.startswith("aux.")}
    model64 = copy.deepcopy(model).double()
    g32, a32, *_ = step(model, inputs, target)
    g64, a64, *_ = step(model64, {k: v.double() for k, v in inputs.items()}, {k: v.double() for k, v in target.items()})
    print(json.dumps(compare(g32, a32, g64, a64), indent=2))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out", nargs="?")
    ap.add_argument("--measure", metavar="FIXTURE")
    ap.add_argument("--filters", type=int, default=8)
    ap.add_argument("--num-conv", type=int, default=3)
    ap.add_argument("--height", type=int, default=32)
    ap.add_argument("--width", type=int, default=48)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--seed", type=int, default=700)
    ap.add_argument("--step-precision", choices=["float32", "float64"], default="float32",
                    help="which PyTorch run the gradient and step files hold (float64: stored as float32)")
    ap.add_argument("--max-act-elements", type=int, default=0,
                    help="keep only hooked activations with at most this many elements (0: all)")
    args = ap.parse_args()
    if args.measure:
        return measure(args.measure)
    if not args.out:
        sys.exit("give an output folder, or --measure FIXTURE")
    if args.height % 16 or args.width % 16:
        sys.exit("MANet needs sizes divisible by 16 (four max-pooling levels)")
    model = build(args.filters, args.num_conv)
    rng = np.random.default_rng(args.seed)
    k1s, k2us, k2s, t1s, t2s = [], [], [], [], []
    cols = random_columns(args.width, rng)
    for _ in range(args.batch):
        t1, t2 = ellipses(args.height, args.width, rng)
        k1, k2 = np.fft.fftshift(np.fft.fft2(t1)), np.fft.fftshift(np.fft.fft2(t2))
        two = lambda k: np.stack([k.real, k.imag])  # noqa: E731
        k1s.append(two(k1)), k2s.append(two(k2)), k2us.append(two(k2 * cols[None, :]))
        t1s.append(t1[None]), t2s.append(t2[None])
    f32 = lambda xs: torch.tensor(np.stack(xs), dtype=torch.float32)  # noqa: E731
    inputs = {"target_Kspace_T1": f32(k1s), "masked_Kspaces_T2": f32(k2us)}
    target = {"target_Kspace_T1": f32(k1s), "target_Kspace_T2": f32(k2s), "target_img_T1": f32(t1s),
              "target_img_T2": f32(t2s)}

    os.makedirs(args.out, exist_ok=True)
    weights = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    save_file(weights, os.path.join(args.out, "weights.safetensors"))
    save_file(inputs, os.path.join(args.out, "inputs.safetensors"))
    save_file(target, os.path.join(args.out, "target.safetensors"))
    model.eval()
    with torch.no_grad():
        evaluated = model(inputs["target_Kspace_T1"], inputs["masked_Kspaces_T2"])
    model64 = copy.deepcopy(model).double()
    grads, after, (loss, loss_k, loss_img), out, acts = step(model, inputs, target)
    g64, a64, *_ = step(model64, {k: v.double() for k, v in inputs.items()}, {k: v.double() for k, v in target.items()})
    outputs = {f"eval.{k}": v.contiguous() for k, v in evaluated.items()}
    outputs.update({f"train.{k}": v.detach().contiguous() for k, v in out.items()})
    outputs.update({k: v.contiguous() for k, v in acts.items()
                    if not args.max_act_elements or v.numel() <= args.max_act_elements})
    outputs["train.loss"] = loss.detach().reshape(1)
    save_file(outputs, os.path.join(args.out, "outputs.safetensors"))
    comparison = compare(grads, after, g64, a64)
    if args.step_precision == "float64":
        grads = {k: v.float().contiguous() for k, v in g64.items()}
        after = {k: (v.float() if v.is_floating_point() else v).contiguous() for k, v in a64.items()}
    save_file(grads, os.path.join(args.out, "grads.safetensors"))
    save_file(after, os.path.join(args.out, "weights_after_step.safetensors"))
    config = {
        "paper": "MANet",
        "repo": "chunmeifeng/MANet (MANET_SRC); the kit's parity was written against a0c5b97",
        "made_by": "tools/parity/manet_fixture.py " + " ".join(sys.argv[2:]),
        "constructor_args": {"filters": args.filters, "num_conv": args.num_conv},
        "input_shapes": {k: list(v.shape) for k, v in inputs.items()},
        "loss_value": loss.item(),
        "loss_k": loss_k.item(),
        "loss_img": loss_img.item(),
        "pytorch_float32_vs_float64": comparison,
        "step_precision": args.step_precision,
        "step": "0.1/0.9 L1 per domain, domains summed; RMSprop(lr=1e-3) as released (module_MANet.py)",
        "torch_version": torch.__version__,
    }
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    print(f"{args.out}: loss {loss.item():.6f}, PyTorch float32 vs float64: {comparison}")


if __name__ == "__main__":
    main()
