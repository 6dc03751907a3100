"""Builds a MINet parity fixture from the UniFS repository's implementation (model/MINet.py) at
any configuration and size.

The layout is that of the kit's other fixtures (see kernel/src/parity.rs and the `parity`
section of papers/baselines/minet.mcmr): weights (the `state_dict`), inputs (`x1`: the fully
sampled reference T1, `x2`: the zero-filled target T2, [B, 1, H, W]), outputs (`t1_out`,
`t2_out`, `loss`, and the calls of the modules the forward pass uses as `act.<path>.call<i>`),
targets (`target`, `reference_target`), and one training step as the repository's
MINetModelWrapper and train.py take it (0.3 L1 on T2 plus 0.7 L1 on T1, Adam lr 1e-4):
gradients and the `state_dict` after the step.

The official MINet hard-codes 64 features in its fusion convolutions (`fusion_convs`:
Conv2d(128, 64, 1)), which equals 2 n_feats -> n_feats at its only working width, 64. At another
width this script rebuilds them as Conv2d(2 n_feats, n_feats, 1) (the kit's spec writes them so),
and leaves out the modules it builds at a fixed width of 64 but never calls (`conv1`,
`fusion_convsT1`, `fusion_convsT2`, `map_convs`, `rgbd_global`), which would only inflate the
fixture; the spec ignores their keys in a full checkpoint. `--lean` also leaves out the other
modules the forward pass never calls (the third branch's layers, each branch's unused ones).
Everything else is the official code.

The repository is not part of this kit: point UNIFS_SRC at a checkout of LIKP0/UniFS (the kit's
spec was written against 025205c). Needs torch, numpy and safetensors:

    UNIFS_SRC=~/src/UniFS python tools/parity/minet_fixture.py kernel/tests/fixtures/minet_f16_12x16 \\
        --feats 16 --groups 2 --blocks 1 --height 12 --width 16
    mcmr parity papers/baselines/minet.mcmr --fixture kernel/tests/fixtures/minet_f16_12x16

`--repo fsmnet` builds the FSMNet repository's form instead (FSMNET_SRC: a checkout of
qic999/FSMNet; its `final` is Conv2d then tanh), the spec's network `minet_fsmnet_repo`.
"""

import argparse
import importlib
import os
import sys
import types

import torch
import torch.nn as nn
from synthetic import adam_step_with_hooks, save_step_fixture, zero_filled_batch  # tools/parity/synthetic.py, beside this script

# The modules whose calls the fixture records (forward hooks), by state_dict path.
HOOKED = ["net1.head.0", "net2.head.0", "tail.1", "net2.la", "net2.last_conv", "net1.csa", "net2.csa",
          "net1.last1", "net2.last", "net1.final", "net2.final"]
UNUSED_AT_64 = ["conv1", "fusion_convsT1", "fusion_convsT2", "map_convs", "rgbd_global"]
# The other modules the forward pass never calls (--lean leaves them out too).
NEVER_CALLED = ["body", "csa", "la", "last_conv", "last", "last1", "net1.la", "net1.last_conv", "net1.last",
                "net1.tail", "net2.last1", "net2.tail"]


def official(repo):
    if repo == "fsmnet":
        src = os.environ.get("FSMNET_SRC")
        if not src:
            sys.exit("set FSMNET_SRC to a checkout of qic999/FSMNet")
        # networks/compare_models/MINet.py imports .MINet_common; the package's __init__ imports
        # every compared model, so a bare package stands in for it.
        pkg = types.ModuleType("fsmnet_compare_models")
        pkg.__path__ = [os.path.join(src, "networks/compare_models")]
        sys.modules["fsmnet_compare_models"] = pkg
        return importlib.import_module("fsmnet_compare_models.MINet")
    src = os.environ.get("UNIFS_SRC")
    if not src:
        sys.exit("set UNIFS_SRC to a checkout of LIKP0/UniFS")
    sys.path.insert(0, src)  # model/MINet.py imports model.RCAN
    return importlib.import_module("model.MINet")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--feats", type=int, default=16, help="n_feats (at least 16: channel attention divides by 16)")
    ap.add_argument("--groups", type=int, default=2, help="n_resgroups")
    ap.add_argument("--blocks", type=int, default=1, help="n_resblocks")
    ap.add_argument("--height", type=int, default=16)
    ap.add_argument("--width", type=int, default=20)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1400)
    ap.add_argument("--repo", choices=["unifs", "fsmnet"], default="unifs",
                    help="whose MINet: the UniFS repository's (UNIFS_SRC) or the FSMNet repository's (FSMNET_SRC)")
    ap.add_argument("--lean", action="store_true", help="leave out every module the forward pass never calls")
    args = ap.parse_args()
    if args.feats < 16:
        sys.exit("n_feats must be at least 16 (the channel attention's reduction)")
    module = official(args.repo)
    torch.manual_seed(0)
    if args.repo == "fsmnet":
        model = module.MINet(None, n_resgroups=args.groups, n_resblocks=args.blocks, n_feats=args.feats)
    else:
        model = module.MINet(n_resgroups=args.groups, n_resblocks=args.blocks, n_feats=args.feats)
    if args.feats != 64:
        nf = args.feats
        model.fusion_convs = nn.ModuleList([nn.Conv2d(2 * nf, nf, kernel_size=1) for _ in model.fusion_convs])
        for name in UNUSED_AT_64:
            delattr(model, name)
    if args.lean:
        for path in NEVER_CALLED:
            parent, _, name = path.rpartition(".")
            delattr(model.get_submodule(parent) if parent else model, name)

    t1, zf, t2 = zero_filled_batch(args.height, args.width, args.batch, args.seed)
    inputs = {"x1": t1, "x2": zf}
    target = {"target": t2, "reference_target": t1}

    nlayer = len(model.net1.body)
    # The FSMNet repository's `final` is Conv2d then Tanh: its convolution is `final.0`.
    hooked = [f"{h}.0" if h.endswith("final") and args.repo == "fsmnet" else h for h in HOOKED]
    hooked += [f"net{b}.body.{i}" for b in (1, 2) for i in range(nlayer)]
    hooked += [f"fusion_convs.{i}" for i in range(nlayer)]
    l1 = nn.functional.l1_loss
    step = adam_step_with_hooks(
        model, hooked, lambda: model(inputs["x1"], inputs["x2"]),
        lambda o: 0.3 * l1(o[1], target["target"]) + 0.7 * l1(o[0], target["reference_target"]))
    (t1_out, t2_out), acts, loss = step[:3]

    outputs = {"t1_out": t1_out.detach().contiguous(), "t2_out": t2_out.detach().contiguous(),
               "loss": loss.detach().reshape(1)}
    outputs.update(acts)
    config = {
        "paper": f"MINet (Feng et al., MICCAI 2021) as the {'FSMNet' if args.repo == 'fsmnet' else 'UniFS'} repository implements it",
        "repo": "qic999/FSMNet (FSMNET_SRC), networks/compare_models/MINet.py" if args.repo == "fsmnet" else
        "LIKP0/UniFS (UNIFS_SRC), model/MINet.py; the kit's spec was written against 025205c",
        "made_by": "tools/parity/minet_fixture.py " + " ".join(sys.argv[2:]),
        "constructor_args": {"n_resgroups": args.groups, "n_resblocks": args.blocks, "n_feats": args.feats},
        "changed": "; ".join(c for c in [
            None if args.feats == 64 else "fusion_convs rebuilt as Conv2d(2 n_feats, n_feats, 1); conv1, "
            "fusion_convsT1/T2, map_convs, rgbd_global left out",
            "lean: only the modules the forward pass calls" if args.lean else None] if c) or None,
    }
    save_step_fixture(args.out, model, inputs, target, outputs, step, config)


if __name__ == "__main__":
    main()
