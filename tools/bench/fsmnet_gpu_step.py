"""Times the official FSMNet's training step on a GPU at the paper configuration, beside the
kit's `mcmr bench-train papers/fsmnet.mcmr --experiment brats_x4 --scale paper --device cuda`
(bench/gpu.sh runs both).

The step is the kit's `brats_x4` paper-scale step: FSMNet at C = 64, n = 2 (the official
defaults), batch 4 at 240x240, the released loss (L1 of both outputs + 0.01 x L1 of the
frequency branch's rfft2 amplitude and phase), AdamW (lr 1e-4, weight decay 1e-4) and global
gradient-norm clipping at 0.01; one loss value read back per step, as the kit's trainer does.
Prints one JSON object: median/mean/first step seconds, steps per second, peak allocated GPU
memory, FLOPs per step by torch's FLOP counter and the TFLOP/s achieved.

The official repository is not part of this kit: point FSMNET_SRC at a checkout of
qic999/FSMNet (commit b36e160). Needs torch (CUDA) and einops. Never part of CI.

    FSMNET_SRC=~/src/FSMNet python tools/bench/fsmnet_gpu_step.py --steps 200
"""

import argparse
import json
import os
import statistics
import sys
import time
import types

import torch
from torch.utils.flop_counter import FlopCounterMode

from step_timing import bench_input


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--size", type=int, default=240)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--device", default="cuda")
    a = p.parse_args()
    src = os.environ.get("FSMNET_SRC")
    if not src or not os.path.isdir(os.path.join(src, "networks")):
        sys.exit("set FSMNET_SRC to a checkout of qic999/FSMNet (it has networks/mynet.py)")
    sys.path.insert(0, src)
    from networks.mynet import TwoBranch

    dev = torch.device(a.device)
    args = types.SimpleNamespace(num_features=64, base_num_every_group=2, act="PReLU", num_channels=1)
    torch.manual_seed(0)
    model = TwoBranch(args).to(dev).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-4)
    x = bench_input(a.batch, a.size).to(dev)
    target = x.flip(-1)

    def loss_of(out):
        f_out, f_t = torch.fft.rfft2(out["img_fre"]), torch.fft.rfft2(target)
        return (
            (out["img_out"] - target).abs().mean()
            + (out["img_fre"] - target).abs().mean()
            + 0.01 * (f_out.abs() - f_t.abs()).abs().mean()
            + 0.01 * (torch.angle(f_out) - torch.angle(f_t)).abs().mean()
        )

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_of(model(x, x))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.01)
        opt.step()
        return loss.item()  # one number back per step, as the kit's trainer

    with FlopCounterMode(display=False) as counter:
        step()
    flop = counter.get_total_flops()
    if dev.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(a.steps):
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    median = statistics.median(times)
    result = {
        "model": "official FSMNet (TwoBranch, C 64, n 2)",
        "size": [a.size, a.size],
        "batch_size": a.batch,
        "steps": a.steps,
        "first_step_s": times[0],
        "median_step_s": median,
        "mean_step_s": statistics.fmean(times),
        "steps_per_second": 1.0 / median,
        "step_tflop": flop / 1e12,
        "achieved_tflops": flop / median / 1e12,
        "peak_gpu_memory_gib": torch.cuda.max_memory_allocated() / 2**30 if dev.type == "cuda" else None,
        "torch": torch.__version__,
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
