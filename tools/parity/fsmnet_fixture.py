"""Builds an FSMNet parity fixture from the official code at any width, group count and size.

The layout is that of shared/fixtures/parity/fsmnet/small (see kernel/src/parity.rs):
weights, inputs (`main`, `aux`), outputs (`img_out`, `img_fre`, `act.<module>.call<k>`),
target, gradients before clipping (`grad.<param>`) and the weights after one step of the
official recipe (the repository's loss, clip_grad_norm_ 0.01, AdamW lr 1e-4, weight decay 1e-4),
plus config.json. `--forward-only` writes weights, inputs, outputs and config.json only.

The official repository is not part of this kit: point FSMNET_SRC at a checkout of
qic999/FSMNet (the kit's parity was written against commit b36e160). Needs torch, numpy,
safetensors and einops (the official code imports it). Example (the kit's own check at another width and size, see ARCHITECTURE.md):

    FSMNET_SRC=~/src/FSMNet python tools/parity/fsmnet_fixture.py /tmp/fsmnet-c32 \\
        --features 32 --groups 2 --height 128 --width 128
    mcmr parity papers/fsmnet.mcmr --fixture /tmp/fsmnet-c32 \\
        --param num_features=32 --param base_num_every_group=2

Inputs are synthetic aligned T1/T2 ellipse phantoms on 8-bit levels; T2 is undersampled with
a random column mask (centre fraction 0.08, 4x) through orthonormal centred FFTs, and both are
mean/std normalised (population std) and clipped to +-6, the target with the undersampled
image's statistics. FSMNet's phase path is ill-conditioned (angle() at bins near the branch
cut), so data seeds are scanned until a float64 copy of the model agrees with the float32 one
to --max-gap (relative, over outputs and every hooked activation), stays within --max-gap when
the input moves by float32 rounding (relative noise 1e-7, three draws) and, unless
forward-only, agrees in gradients to --max-grad-gap (global relative L2).
"""

import argparse
import copy
import json
import os
import sys
import types

import numpy as np
import torch
from safetensors.torch import save_file


def phantom(h, w, rng):
    """Aligned T1- and T2-weighted ellipse phantoms in [0, 1], rounded to 8-bit levels."""
    yy, xx = np.mgrid[0:h, 0:w]
    y = (yy + 0.5) / h * 2 - 1
    x = (xx + 0.5) / w * 2 - 1

    def ellipse(cy, cx, ry, rx, angle):
        c, s = np.cos(angle), np.sin(angle)
        u = (x - cx) * c + (y - cy) * s
        v = -(x - cx) * s + (y - cy) * c
        return (u / rx) ** 2 + (v / ry) ** 2 <= 1.0

    t1 = np.zeros((h, w))
    t2 = np.zeros((h, w))
    t1[ellipse(0, 0, 0.9, 0.75, 0)], t2[ellipse(0, 0, 0.9, 0.75, 0)] = 0.95, 0.35
    brain = ellipse(0, 0, 0.82, 0.67, 0)
    t1[brain], t2[brain] = 0.45, 0.3
    for _ in range(7):
        cy, cx = rng.uniform(-0.45, 0.45, 2)
        ry, rx = rng.uniform(0.06, 0.3, 2)
        region = ellipse(cy, cx, ry, rx, rng.uniform(0, np.pi)) & brain
        t1[region], t2[region] = rng.uniform(0.1, 0.8), rng.uniform(0.2, 1.0)
    t1 = t1 + 0.02 * rng.standard_normal((h, w)) * (t1 > 0)
    t2 = t2 + 0.02 * rng.standard_normal((h, w)) * (t2 > 0)
    level = lambda a: np.round(np.clip(a, 0, 1) * 255) / 255
    return level(t1), level(t2)


def column_mask(w, rng, centre=0.08, acceleration=4):
    low = int(round(w * centre))
    prob = (w / acceleration - low) / (w - low)
    m = rng.uniform(size=w) < prob
    pad = (w - low + 1) // 2
    m[pad:pad + low] = True
    return m


def undersample(img, m):
    k = np.fft.fftshift(np.fft.fft2(np.fft.ifftshift(img), norm="ortho"))
    k = k * m[None, :]
    return np.abs(np.fft.fftshift(np.fft.ifft2(np.fft.ifftshift(k), norm="ortho")))


def normalise(a, stats_of):
    mean, std = stats_of.mean(), stats_of.std()
    return np.clip((a - mean) / (std + 1e-11), -6, 6)


def make_inputs(batch, h, w, seed):
    rng = np.random.default_rng(seed)
    main, aux, target = [], [], []
    for _ in range(batch):
        t1, t2 = phantom(h, w, rng)
        under = np.round(undersample(t2, column_mask(w, rng)) * 255) / 255
        aux.append(normalise(t1, t1))
        main.append(normalise(under, under))
        target.append(normalise(t2, under))
    as_tensor = lambda xs: torch.tensor(np.stack(xs)[:, None], dtype=torch.float32)
    return as_tensor(main), as_tensor(aux), as_tensor(target)


def hooked_forward(model, main, aux):
    """Outputs and `act.<module>.call<k>` of every top-level module and of every element of a
    top-level container (the fusion blocks live in Sequentials that are never called whole)."""
    acts, handles, calls = {}, [], {}
    containers = (torch.nn.Sequential, torch.nn.ModuleList)
    for name, module in model.named_modules():
        parent = name.rsplit(".", 1)[0] if "." in name else ""
        top = name and "." not in name
        listed = parent and "." not in parent and isinstance(model.get_submodule(parent), containers)
        if not (top or listed):
            continue

        def hook(_m, _i, out, name=name):
            if torch.is_tensor(out):
                k = calls.get(name, 0)
                calls[name] = k + 1
                acts[f"act.{name}.call{k}"] = out.detach().clone()

        handles.append(module.register_forward_hook(hook))
    out = model(main, aux)
    for h in handles:
        h.remove()
    return out, acts


def loss_of(out, target):
    l1 = torch.nn.functional.l1_loss
    spec = lambda t: torch.fft.rfft2(t, norm="backward")
    fre, tgt = spec(out["img_fre"]), spec(target)
    return (
        l1(out["img_out"], target)
        + l1(out["img_fre"], target)
        + 0.01 * l1(torch.abs(fre), torch.abs(tgt))
        + 0.01 * l1(torch.angle(fre), torch.angle(tgt))
    )


def perturbed_gap(model, main_in, aux_in, acts, seed, trials=3):
    """Worst relative change of any activation when the input moves by float32 rounding
    (relative noise 1e-7): agreeing with float64 once does not make a fixture robust to another
    float32 implementation's rounding, which is what a parity check meets."""
    g = torch.Generator().manual_seed(seed)
    worst = 0.0
    with torch.no_grad():
        for _ in range(trials):
            noisy = main_in * (1 + 1e-7 * torch.randn(main_in.shape, generator=g))
            _, moved = hooked_forward(model, noisy, aux_in)
            for k, v in acts.items():
                worst = max(worst, ((moved[k] - v).abs().max() / v.abs().max().clamp_min(1e-30)).item())
    return worst


def grads_gap(model, model64, main_in, aux_in, target):
    """Global relative L2 distance of the float32 gradients from the float64 ones."""
    grads = []
    for m, cast in ((model, lambda t: t), (model64, lambda t: t.double())):
        m.zero_grad()
        out, _ = hooked_forward(m, cast(main_in), cast(aux_in))
        loss_of(out, cast(target)).backward()
        grads.append({n: p.grad.detach().double().clone() for n, p in m.named_parameters() if p.grad is not None})
        m.zero_grad()
    num = sum(((grads[0][n] - g) ** 2).sum().item() for n, g in grads[1].items())
    den = sum((g**2).sum().item() for g in grads[1].values())
    return (num / den) ** 0.5


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--features", type=int, default=32)
    ap.add_argument("--groups", type=int, default=2)
    ap.add_argument("--height", type=int, default=128)
    ap.add_argument("--width", type=int, default=128)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--seed", type=int, default=200, help="first data seed to try")
    ap.add_argument("--tries", type=int, default=40)
    ap.add_argument("--max-gap", type=float, default=2e-5)
    ap.add_argument("--max-grad-gap", type=float, default=1e-3, help="float32-vs-float64 gradients, global relative L2")
    ap.add_argument("--forward-only", action="store_true")
    ap.add_argument("--no-activations", action="store_true", help="outputs only (a small fixture)")
    a = ap.parse_args()
    src = os.environ.get("FSMNET_SRC")
    if not src or not os.path.isdir(os.path.join(src, "networks")):
        sys.exit("set FSMNET_SRC to a checkout of qic999/FSMNet (it has networks/mynet.py)")
    sys.path.insert(0, src)
    from networks.mynet import TwoBranch

    torch.set_num_threads(max(1, os.cpu_count() or 1))
    args = types.SimpleNamespace(num_features=a.features, base_num_every_group=a.groups, act="PReLU", num_channels=1)
    torch.manual_seed(0)
    model = TwoBranch(args)
    model64 = copy.deepcopy(model).double()
    tried = []
    for seed in range(a.seed, a.seed + a.tries):
        main_in, aux_in, target = make_inputs(a.batch, a.height, a.width, seed)
        with torch.no_grad():
            out, acts = hooked_forward(model, main_in, aux_in)
            out64, acts64 = hooked_forward(model64, main_in.double(), aux_in.double())
        gap, worst = 0.0, None
        pairs = [(k, out[k], out64[k]) for k in ("img_out", "img_fre")] + [(k, acts[k], acts64[k]) for k in acts]
        for k, x, y in pairs:
            rel = ((x.double() - y).abs().max() / y.abs().max().clamp_min(1e-30)).item()
            if rel > gap:
                gap, worst = rel, k
        entry = {"seed": seed, "gap": gap, "worst_at": worst}
        if gap < a.max_gap:
            entry["perturbed_gap"] = perturbed_gap(model, main_in, aux_in, acts, seed)
            gap = max(gap, entry["perturbed_gap"])
        if gap < a.max_gap and not a.forward_only:
            entry["grads_global_rel_l2"] = grads_gap(model, model64, main_in, aux_in, target)
        tried.append(entry)
        print(f"data seed {seed}: {entry}", flush=True)
        if gap < a.max_gap and entry.get("grads_global_rel_l2", 0.0) < a.max_grad_gap:
            break
    else:
        sys.exit(f"no data seed in {a.seed}..{a.seed + a.tries - 1} is conditioned (forward {a.max_gap}, gradients {a.max_grad_gap})")

    os.makedirs(a.out, exist_ok=True)
    save = lambda tensors, name: save_file({k: v.contiguous() for k, v in tensors.items()}, os.path.join(a.out, name))
    save(model.state_dict(), "weights.safetensors")
    save({"main": main_in, "aux": aux_in}, "inputs.safetensors")
    model.train()
    out, acts = hooked_forward(model, main_in, aux_in)
    config = {
        "generator": "tools/parity/fsmnet_fixture.py (mcmr-kit)",
        "command": "python " + " ".join(sys.argv),
        "model_class": "networks.mynet.TwoBranch(args)",
        "constructor_args": vars(args),
        "seed": "torch.manual_seed(0) immediately before TwoBranch(args)",
        "input_shapes": {"main": list(main_in.shape), "aux": list(aux_in.shape)},
        "torch_version": torch.__version__,
        "conditioning": {"max_gap": a.max_gap, "max_grad_gap": a.max_grad_gap, "tried": tried},
        "forward_only": a.forward_only,
    }
    if a.no_activations:
        acts = {}
    if a.forward_only:
        save({"img_out": out["img_out"].detach(), "img_fre": out["img_fre"].detach(), **acts}, "outputs.safetensors")
    else:
        loss = loss_of(out, target)
        model.zero_grad()
        loss.backward()
        params = [(n, p) for n, p in model.named_parameters() if p.grad is not None]
        save({f"grad.{n}": p.grad.detach().clone() for n, p in params}, "grads.safetensors")
        norm = torch.nn.utils.clip_grad_norm_([p for _, p in params], 0.01)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-4)
        opt.step()
        save(model.state_dict(), "weights_after_step.safetensors")
        save({"target": target}, "target.safetensors")
        extra = {"loss": loss.detach().reshape(1)}
        save({"img_out": out["img_out"].detach(), "img_fre": out["img_fre"].detach(), **acts, **extra}, "outputs.safetensors")
        config.update(
            {
                "loss_value": loss.item(),
                "grad_total_norm_before_clip": norm.item(),
                "n_params_used": sum(p.numel() for _, p in params),
                "n_params_total": sum(p.numel() for p in model.parameters()),
            }
        )
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
