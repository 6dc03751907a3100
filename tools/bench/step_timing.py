"""What the PyTorch step scripts share: loading one file of an official repository, the kit's
bench input, the median step time and the timing loop that prints the JSON the bench reads."""

import importlib.util
import json
import statistics
import sys
import time

import torch


def load_file(path, name):
    """Imports one module file alone (a package's __init__ often imports far more than torch)."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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


def time_steps(name, shapes, make_step):
    """Times `make_step(batch, n)()` for each (batch, n) of `shapes` with 1 thread and with 2
    (torch seeded with 0 before each `make_step`, which builds the model), 3 repetitions with
    `--quick` on the command line and 11 without; prints one JSON object on stdout,
    {"<n>x<n> batch <b>, <t> thread(s)": ms}, and a line per step on stderr."""
    reps = 3 if "--quick" in sys.argv else 11
    results = {}
    for threads in (1, 2):
        torch.set_num_threads(threads)
        for batch, n in shapes:
            torch.manual_seed(0)
            step = make_step(batch, n)
            label = f"{n}x{n} batch {batch}, {threads} thread{'s' if threads > 1 else ''}"
            results[label] = median_ms(step, reps)
            print(f"{name} {label}: {results[label]:.1f} ms", file=sys.stderr)
    print(json.dumps(results))
