"""Times the official fastMRI U-Net's training step on this CPU, for the kit's `train_step` benchmark.

The step is the one `cargo bench --profile dev --bench train_step` times on the kit's side for
"U-Net (8 ch, 3 pools), 64x64, batch 4": forward, L1 of the output against the input, backward.
With 1 thread and with 2. Prints one JSON object: {"64x64 batch 4, <t> thread(s)": ms}.

The official code is not part of this kit: point FASTMRI_SRC at a checkout of
facebookresearch/fastMRI (commit 91f2df4; only fastmri/models/unet.py is read, which needs
torch alone). Never part of CI. Example:

    FASTMRI_SRC=~/src/fastMRI python tools/bench/unet_step.py
    FASTMRI_SRC=~/src/fastMRI MCMR_TORCH_PYTHON=$(which python) cargo bench --profile dev --bench train_step
"""

import os
import sys

from step_timing import bench_input, load_file, time_steps


def main():
    src = os.environ.get("FASTMRI_SRC")
    path = os.path.join(src or "", "fastmri", "models", "unet.py")
    if not src or not os.path.isfile(path):
        sys.exit("set FASTMRI_SRC to a checkout of facebookresearch/fastMRI (it has fastmri/models/unet.py)")
    unet = load_file(path, "fastmri_unet")

    def make_step(batch, n):
        model = unet.Unet(in_chans=1, out_chans=1, chans=8, num_pool_layers=3, drop_prob=0.0).train()
        x = bench_input(batch, n)

        def step():
            model.zero_grad(set_to_none=True)
            loss = (model(x) - x).abs().mean()
            loss.backward()

        return step

    time_steps("U-Net", [(4, 64)], make_step)


if __name__ == "__main__":
    main()
