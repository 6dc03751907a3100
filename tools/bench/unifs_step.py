"""Times the official UniFS's training step on this CPU, for the kit's `train_step` benchmark.

The step is the one `cargo bench --profile dev --bench train_step` times on the kit's side for
"UniFS (C 16, 3 groups of 1 block), 64x64, batch 4": forward of the three inputs (the same image
batch as reference, zero-filled target and mask), L1 of the output against it, backward. Widths
as the kit's reduced scale: n_feats 16, n_resgroups 3, n_resblocks 1, reduction 4. With 1 thread
and with 2. Prints one JSON object: {"64x64 batch 4, <t> thread(s)": ms}.

The official repository is not part of this kit: point UNIFS_SRC at a checkout of LIKP0/UniFS
(commit 025205c; only model/UniFS.py and model/RCAN.py are read, which need torch alone). Never
part of CI. Example:

    UNIFS_SRC=~/src/UniFS python tools/bench/unifs_step.py
"""

import os
import sys

from step_timing import bench_input, time_steps


def main():
    src = os.environ.get("UNIFS_SRC")
    if not src or not os.path.isfile(os.path.join(src, "model", "UniFS.py")):
        sys.exit("set UNIFS_SRC to a checkout of LIKP0/UniFS (it has model/UniFS.py)")
    # model/UniFS.py imports its neighbour RCAN.py as a top-level module.
    sys.path.insert(0, os.path.join(src, "model"))
    from UniFS import UniFS

    def make_step(batch, n):
        model = UniFS(n_feats=16, n_resgroups=3, n_resblocks=1, reduction=4, concat_index_list=[0, 1, 2]).train()
        x = bench_input(batch, n)

        def step():
            model.zero_grad(set_to_none=True)
            out = model(x, x, mask=x)
            loss = (out - x).abs().mean()
            loss.backward()

        return step

    time_steps("UniFS", [(4, 64)], make_step)


if __name__ == "__main__":
    main()
