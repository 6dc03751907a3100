"""Times the official MANet's training step on this CPU, for the kit's `train_step` benchmark.

The step is the one `cargo bench --profile dev --bench train_step` times on the kit's side for
"MANet (64 filters, 4 convs), 64x64, batch 4": the k-space U-Net on two 2-channel k-space
inputs (the same values for both), the magnitude of each output's un-shifted inverse FFT, the
image U-Net on those, L1 of both image outputs against the bench image, backward; batch norms in
training mode. The released width (filters 64, num_conv 4: other widths need the hard-coded
64-channel layers resized). With 1 thread and with 2. Prints one JSON object:
{"64x64 batch 4, <t> thread(s)": ms}.

The official repository is not part of this kit: point MANET_SRC at a checkout of
chunmeifeng/MANet (commit a0c5b97; only fastmri/models/MANet.py is read, which needs torch
alone). Never part of CI. Example:

    MANET_SRC=~/src/MANet python tools/bench/manet_step.py
"""

import os
import sys

import torch

from step_timing import bench_input, load_file, time_steps


def main():
    src = os.environ.get("MANET_SRC")
    path = os.path.join(src or "", "fastmri", "models", "MANet.py")
    if not src or not os.path.isfile(path):
        sys.exit("set MANET_SRC to a checkout of chunmeifeng/MANet (it has fastmri/models/MANet.py)")
    manet = load_file(path, "manet_models")

    def image(k):
        # module_MANet.py's inverseFT: |ifft2| with norm "backward" and no shifts.
        return torch.fft.ifft2(torch.complex(k[:, 0], k[:, 1]), norm="backward").abs().unsqueeze(1)

    def make_step(batch, n):
        unet_k = manet.Dense_Unet_k(2, 2, 64, 4).train()
        unet_img = manet.Dense_Unet_img(1, 1, 64, 4).train()
        x = bench_input(batch, n)
        k = bench_input(batch, n, channels=2)

        def step():
            unet_k.zero_grad(set_to_none=True)
            unet_img.zero_grad(set_to_none=True)
            k1, k2 = unet_k(k, k)
            i1, i2 = unet_img(image(k1), image(k2))
            loss = (i2 - x).abs().mean() + (i1 - x).abs().mean()
            loss.backward()

        return step

    time_steps("MANet", [(4, 64)], make_step)


if __name__ == "__main__":
    main()
