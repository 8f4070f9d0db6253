"""Shared helpers for the benchmark scripts (measurements, not tests)."""
from __future__ import annotations

import os
import platform
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}"


def best_throughput(predict, make_batch, sizes=(16, 32, 64, 128), repeats=3):
    """(best images/s, its batch size) of ``predict`` over batch sizes; warm-up call excluded."""
    best = (0.0, None)
    for bs in sizes:
        batch = make_batch(bs)
        predict(batch)
        t = min(_timed(predict, batch) for _ in range(repeats))
        best = max(best, (bs / t, bs), key=lambda v: v[0])
    return best


def _timed(fn, *args):
    t0 = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t0


def timed(fn, *args):
    t0 = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t0
