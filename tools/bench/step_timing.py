"""What the PyTorch step scripts share: the kit's bench input and the median step time."""

import statistics
import time

import torch


def bench_input(batch, n):
    """The kit's bench input, `((i * 7919) % 1000) / 1000` over the flat batch, as [batch, 1, n, n]."""
    i = torch.arange(batch * n * n, dtype=torch.int64)
    return (((i * 7919) % 1000).to(torch.float32) / 1000.0).reshape(batch, 1, n, n)


def median_ms(step, reps):
    """Median wall time of `step()` in milliseconds over `reps` runs, after one warm-up run."""
    step()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        step()
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times)
