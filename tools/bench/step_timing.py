"""What the PyTorch step scripts share: the kit's bench input and the median step time."""

import statistics
import time

import torch


def bench_input(batch, n, channels=1):
    """The kit's bench input, `((i * 7919) % 1000) / 1000` over the flat batch, as
    [batch, channels, n, n] (two channels: a complex input's real and imaginary parts)."""
    i = torch.arange(batch * channels * n * n, dtype=torch.int64)
    return (((i * 7919) % 1000).to(torch.float32) / 1000.0).reshape(batch, channels, n, n)


def median_ms(step, reps):
    """Median wall time of `step()` in milliseconds over `reps` runs, after one warm-up run."""
    step()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        step()
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times)
