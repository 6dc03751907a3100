"""Times the official FSMNet's training step on this CPU, for the kit's `train_step` benchmark.

The step is the one `cargo bench --profile dev --bench train_step` times on the kit's side:
forward of both inputs (the same image batch as main and aux), L1 of both outputs against it,
backward. Widths C = 16, n = 1 (the kit's smoke width); batch 2 at 32x32 and batch 4 at 64x64;
with 1 thread and with 2. Prints one JSON object: {"<size>x<size> batch <b>, <t> thread(s)": ms}.

The official repository is not part of this kit: point FSMNET_SRC at a checkout of
qic999/FSMNet (commit b36e160). Needs torch and einops. Never part of CI. Example:

    FSMNET_SRC=~/src/FSMNet python tools/bench/fsmnet_step.py
    FSMNET_SRC=~/src/FSMNet MCMR_TORCH_PYTHON=$(which python) cargo bench --profile dev --bench train_step
"""

import os
import sys
import types

from step_timing import bench_input, time_steps


def main():
    src = os.environ.get("FSMNET_SRC")
    if not src or not os.path.isdir(os.path.join(src, "networks")):
        sys.exit("set FSMNET_SRC to a checkout of qic999/FSMNet (it has networks/mynet.py)")
    sys.path.insert(0, src)
    from networks.mynet import TwoBranch

    def make_step(batch, n):
        args = types.SimpleNamespace(num_features=16, base_num_every_group=1, act="PReLU", num_channels=1)
        model = TwoBranch(args).train()
        x = bench_input(batch, n)

        def step():
            model.zero_grad(set_to_none=True)
            out = model(x, x)
            loss = (out["img_out"] - x).abs().mean() + (out["img_fre"] - x).abs().mean()
            loss.backward()

        return step

    time_steps("FSMNet", [(2, 32), (4, 64)], make_step)


if __name__ == "__main__":
    main()
