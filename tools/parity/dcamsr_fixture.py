"""Builds a DCAMSR parity fixture from the UniFS repository's implementation (model/DCAMSR.py) at
any configuration and size.

The layout is that of the kit's other fixtures (see kernel/src/parity.rs and the `parity`
section of papers/baselines/dcamsr.mcmr): weights (the `state_dict`), inputs (`ref`: the fully
sampled reference, `lr`: the target's zero-filled image, [B, 1, H, W]), outputs (`out`, `loss`,
and module calls as `act.<path>.call<i>`), the target, and one training step as the
repository's BaseModelWrapper and train.py take it (L1, Adam lr 1e-4): gradients and the
`state_dict` after the step.

The official constructor fixes its sizes (64 features, 8 heads, projections to 64, encoder
blocks [4, 4, 4], decoder blocks [2, 2, 2, 12, 8, 4], dropout 0.1); this script builds the same
model from the official classes (Encoder, Decoder, DCAT) with the sizes given, and with the
attention dropout at 0 (a fixture must be deterministic; the config says so as `dropout_rate`). At
another width than 64 the decoder's output convolution, Conv2d(64, 1), becomes Conv2d(nf, 1).
H·W must equal input_size² (the spatial attention projects along the tokens), H and W multiples
of 8.

The repository is not part of this kit: point UNIFS_SRC at a checkout of LIKP0/UniFS (the kit's
spec was written against 025205c). Needs torch, numpy and safetensors:

    UNIFS_SRC=~/src/UniFS python tools/parity/dcamsr_fixture.py kernel/tests/fixtures/dcamsr_f16_16x16 \\
        --input-size 16 --height 16 --width 16
    mcmr parity papers/baselines/dcamsr.mcmr --fixture kernel/tests/fixtures/dcamsr_f16_16x16
"""

import argparse
import importlib
import os
import sys

import torch
import torch.nn as nn
from synthetic import adam_step_with_hooks, save_step_fixture, zero_filled_batch  # tools/parity/synthetic.py, beside this script


def official():
    src = os.environ.get("UNIFS_SRC")
    if not src:
        sys.exit("set UNIFS_SRC to a checkout of LIKP0/UniFS")
    sys.path.insert(0, src)
    return importlib.import_module("model.DCAMSR")


def build(module, input_size, nf, n_blks, n_blks_dec, heads, proj):
    """DCAMSR.__init__ with its fixed sizes as arguments (and the attention dropout at 0)."""
    model = module.DCAMSR.__new__(module.DCAMSR)
    nn.Module.__init__(model)
    model.scale = 1
    model.enc = module.Encoder(in_chl=1, nf=nf, n_blks=n_blks)
    model.decoder = module.Decoder(nf, 1, n_blks=n_blks_dec)
    if nf != 64:
        model.decoder.conv_out = nn.Conv2d(nf, 1, 3, 1, 1, bias=True)
    for level, div in [(1, 1), (2, 4), (3, 16)]:
        dcat = module.DCAT(input_size=input_size * input_size // div, hidden_size=nf, proj_size=proj,
                           num_heads=heads, dropout_rate=0.0, pos_embed=False)
        setattr(model, f"trans_lv{level}", nn.ModuleList([dcat]))
    return model


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--input-size", type=int, default=16)
    ap.add_argument("--feats", type=int, default=16, help="nf (the official 64)")
    ap.add_argument("--blocks", default="1,1,1", help="encoder blocks per level (the official 4,4,4)")
    ap.add_argument("--dec-blocks", default="1,1,1,1,1,1", help="decoder blocks (the official 2,2,2,12,8,4)")
    ap.add_argument("--heads", type=int, default=2, help="the official 8")
    ap.add_argument("--proj", type=int, default=8, help="the official 64")
    ap.add_argument("--height", type=int, default=16)
    ap.add_argument("--width", type=int, default=16)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1500)
    args = ap.parse_args()
    if args.height * args.width != args.input_size ** 2 or args.height % 8 or args.width % 8:
        sys.exit("H·W must equal input_size², H and W multiples of 8")
    n_blks = [int(v) for v in args.blocks.split(",")]
    n_blks_dec = [int(v) for v in args.dec_blocks.split(",")]
    module = official()
    torch.manual_seed(0)
    model = build(module, args.input_size, args.feats, n_blks, n_blks_dec, args.heads, args.proj)
    # Start the zero-initialised SAM convolutions elsewhere, so their gradients and the paths
    # through them are exercised (a trained checkpoint has them non-zero).
    with torch.no_grad():
        for conv in (model.decoder.pAda.conv_gamma, model.decoder.pAda.conv_beta):
            conv.weight.normal_(0.0, 0.05)
            conv.bias.normal_(0.0, 0.05)

    ref, zf, t2 = zero_filled_batch(args.height, args.width, args.batch, args.seed)
    inputs = {"ref": ref, "lr": zf}
    target = {"target": t2}

    hooked = ["enc.conv_L1", "trans_lv1.0", "trans_lv2.0", "trans_lv3.0", "decoder.conv_L1", "decoder.pAda",
              "decoder.merge_warp_x1", "decoder.blk_x1", "decoder.blk_x4", "decoder.conv_out"]
    step = adam_step_with_hooks(
        model, hooked, lambda: model(inputs["ref"], inputs["lr"]), lambda o: nn.functional.l1_loss(o, target["target"]))
    out, acts, loss = step[:3]

    outputs = {"out": out.detach().contiguous(), "loss": loss.detach().reshape(1)}
    outputs.update(acts)
    config = {
        "paper": "DCAMSR as the UniFS repository implements it",
        "repo": "LIKP0/UniFS (UNIFS_SRC), model/DCAMSR.py; the kit's spec was written against 025205c",
        "made_by": "tools/parity/dcamsr_fixture.py " + " ".join(sys.argv[2:]),
        "constructor_args": {"input_size": args.input_size, "nf": args.feats, "n_blks": n_blks,
                             "n_blks_dec": n_blks_dec, "num_heads": args.heads, "proj_size": args.proj,
                             "dropout_rate": 0.0},
        "changed": "attention dropout 0 (official 0.1); SAM's conv_gamma/conv_beta drawn N(0, 0.05) instead of 0"
        + ("" if args.feats == 64 else "; decoder.conv_out Conv2d(nf, 1)"),
    }
    save_step_fixture(args.out, model, inputs, target, outputs, step, config)


if __name__ == "__main__":
    main()
