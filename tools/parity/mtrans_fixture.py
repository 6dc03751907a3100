"""Builds an MTrans parity fixture from the official code (CrossCMMT) at any configuration.

The layout is that of shared/fixtures/parity/mtrans/small (see kernel/src/parity.rs and the
`parity` section of papers/baselines/mtrans.mcmr): weights (the `state_dict`, batch-norm buffers
and the bare positional embeddings included), inputs (`x`: the under-sampled target image,
`complement`: the auxiliary image, [B, 1, S, S]), outputs (`eval.*` before any step in evaluation
mode, `train.*` in training mode, the hooked heads, tails and cross-transformer layers as
`act.<module>.call0`, tokens stored [B, N, C]), targets, and one training step as released
(L1 on both outputs, SGD lr 1e-5, momentum 0.9, weight decay 1e-4): gradients and the
`state_dict` after the step.

The official repository is not part of this kit: point MTRANS_SRC at a checkout of
chunmeifeng/MTrans (the kit's parity was written against 95c0936). Its `models/__init__.py`
imports modules the repository lacks, so the model files are loaded as a package without it.
The positional embeddings are sized for a square INPUT_SIZE, so the model takes square images
only. Needs torch, einops, numpy and safetensors:

    MTRANS_SRC=~/src/MTrans python tools/parity/mtrans_fixture.py kernel/tests/fixtures/mtrans_h2_24 \\
        --size 24 --hidden 2 --p1 2 --p2 4 --depth 2 --heads 2 --mlp 2
    mcmr parity papers/baselines/mtrans.mcmr --fixture kernel/tests/fixtures/mtrans_h2_24
"""

import argparse
import importlib
import os
import sys
import types

import numpy as np
import torch
import torch.nn as nn
from synthetic import ellipses, random_columns, save_fixture  # tools/parity/synthetic.py, beside this script


def official():
    src = os.environ.get("MTRANS_SRC")
    if not src:
        sys.exit("set MTRANS_SRC to a checkout of chunmeifeng/MTrans")
    package = types.ModuleType("models")
    package.__path__ = [os.path.join(src, "models")]
    sys.modules["models"] = package
    return importlib.import_module("models.cmmt_reconstruction_multi_cross")


def normalise(image, mean, std):
    """fastMRI's instance normalisation (eps 1e-11) and clamp to ±6, as the official transform."""
    return np.clip((image - mean) / (std + 1e-11), -6, 6)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--size", type=int, default=24)
    ap.add_argument("--hidden", type=int, default=2)
    ap.add_argument("--p1", type=int, default=2)
    ap.add_argument("--p2", type=int, default=4)
    ap.add_argument("--depth", type=int, default=2)
    ap.add_argument("--heads", type=int, default=2)
    ap.add_argument("--mlp", type=int, default=2)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1100)
    args = ap.parse_args()
    module = official()
    cfg = types.SimpleNamespace(
        INPUT_SIZE=args.size,
        MODEL=types.SimpleNamespace(INPUT_DIM=1, OUTPUT_DIM=1, HEAD_HIDDEN_DIM=args.hidden, P1=args.p1, P2=args.p2,
                                    CTDEPTH=args.depth, TRANSFORMER_NUM_HEADS=args.heads,
                                    TRANSFORMER_MLP_RATIO=args.mlp))
    torch.manual_seed(0)
    model = module.CrossCMMT(cfg)

    # The official transform on synthetic images: the target's zero-filled magnitude under a
    # random column mask, normalised by its own statistics; the target with the same ones; the
    # auxiliary (fully sampled) normalised by its own.
    rng = np.random.default_rng(args.seed)
    cols = random_columns(args.size, rng, center_fraction=0.08, acceleration=4)
    xs, cs, ts, cts = [], [], [], []
    for _ in range(args.batch):
        pd, pdfs = ellipses(args.size, args.size, rng, texture=0.05)
        k = np.fft.fftshift(np.fft.fft2(np.fft.ifftshift(pdfs), norm="ortho")) * cols[None, :]
        zf = np.abs(np.fft.fftshift(np.fft.ifft2(np.fft.ifftshift(k), norm="ortho")))
        m, s = zf.mean(), zf.std()
        xs.append(normalise(zf, m, s)[None]), ts.append(normalise(pdfs, m, s)[None])
        normed_pd = normalise(pd, pd.mean(), pd.std())
        cs.append(normed_pd[None]), cts.append(normed_pd[None])
    f32 = lambda v: torch.tensor(np.stack(v), dtype=torch.float32).contiguous()  # noqa: E731
    inputs = {"x": f32(xs), "complement": f32(cs)}
    target = {"target": f32(ts), "complement_target": f32(cts)}

    weights = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    model.eval()
    with torch.no_grad():
        ev_out, ev_comp = model(inputs["x"], inputs["complement"])
    model.train()
    acts, handles = {}, []
    names = ["head", "head2", "tail1", "tail2"] + [f"cross_transformer.layers.{l}.{j}" for l in range(args.depth)
                                                   for j in range(2)]
    modules = dict(model.named_modules())
    for name in names:
        def hook(m, i, o, name=name):
            acts[f"act.{name}.call0"] = o.detach().clone().contiguous()
        handles.append(modules[name].register_forward_hook(hook))
    opt = torch.optim.SGD(model.parameters(), lr=1e-5, momentum=0.9, weight_decay=1e-4)
    opt.zero_grad()
    out, comp = model(inputs["x"], inputs["complement"])
    for h in handles:
        h.remove()
    l1 = nn.functional.l1_loss
    loss = l1(out, target["target"]) + l1(comp, target["complement_target"])
    loss.backward()
    grads = {f"grad.{n}": p.grad.detach().clone() for n, p in model.named_parameters() if p.grad is not None}
    opt.step()
    after = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}

    outputs = {"eval.output": ev_out.contiguous(), "eval.complement": ev_comp.contiguous(),
               "train.output": out.detach().contiguous(), "train.complement": comp.detach().contiguous(),
               "loss": loss.detach().reshape(1)}
    outputs.update(acts)
    config = {
        "paper": "MTrans",
        "repo": "chunmeifeng/MTrans (MTRANS_SRC); the kit's parity was written against 95c0936",
        "made_by": "tools/parity/mtrans_fixture.py " + " ".join(sys.argv[2:]),
        "constructor_args": {"INPUT_SIZE": args.size, "HEAD_HIDDEN_DIM": args.hidden, "P1": args.p1, "P2": args.p2,
                             "CTDEPTH": args.depth, "HEADS": args.heads, "MLP": args.mlp},
        "input_shapes": {k: list(v.shape) for k, v in inputs.items()},
        "loss_value": loss.item(),
        "n_params": sum(p.numel() for p in model.parameters()),
        "torch_version": torch.__version__,
    }
    save_fixture(args.out, {"weights": weights, "inputs": inputs, "target": target, "outputs": outputs,
                            "grads": grads, "weights_after_step": after}, config)


if __name__ == "__main__":
    main()
