"""Shared helpers for the benchmark scripts (measurements, not tests)."""
from __future__ import annotations

import json
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


def provenance(script: str, argv=None) -> dict:
    """Where and when a measurement ran: the command, UTC date, git commit, machine and load average."""
    import datetime
    import subprocess
    import sys
    args = sys.argv[1:] if argv is None else list(argv)
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        git = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=here, capture_output=True, text=True,
                             check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "saliency_widgets", "benchmarks"], cwd=here,
                               capture_output=True, text=True).stdout.strip()
        git += " + uncommitted changes" if dirty else ""
    except (OSError, subprocess.CalledProcessError):
        git = "unknown"
    return {"command": " ".join(["python", f"benchmarks/{script}"] + args),
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "git": git, "machine": machine(), "load": os.getloadavg()[1]}


def save_json(path: str, data: dict) -> None:
    """Write ``data`` (rows and their provenance) to ``path`` under a temporary name first."""
    import json
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1)
        f.write("\n")
    os.replace(path + ".tmp", path)
    print(f"wrote {path}")


def provenance_line(meta: dict) -> str:
    """One line naming what produced a stored measurement (rendered beside every table)."""
    return (f"Measured by `{meta['command']}` on {meta['machine']}, {meta['date']}, commit {meta['git']}; "
            f"machine load (5-min average) {meta['load']:.1f} while it ran.")


def mark(ok: bool) -> str:
    return "✔" if ok else "✘"


def publish(result: dict, text: str, *, out: str, results_md: str, heading: str, write: bool = True) -> dict:
    """Print ``text`` (the section ``result`` renders); with ``write``, store ``result`` as JSON at ``out`` and
    the section in ``results_md`` under ``heading``.  Returns ``result``."""
    print(text)
    if write:
        with open(out, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=1)
        write_section(results_md, heading, text)
    return result


def write_section(path, heading: str, text: str, *, legacy: str | None = None) -> None:
    """Replace (or append) a script's section of RESULTS.md at ``path``: from ``heading`` (or, where it is
    absent, an older heading starting with ``legacy``) to the next '## '."""
    path = os.fspath(path)
    old = open(path, encoding="utf-8").read() if os.path.exists(path) else "# Benchmark results\n"
    start = old.find(heading)
    if start < 0 and legacy:
        start = old.find(legacy)
    if start < 0:
        new = old.rstrip("\n") + "\n\n" + text + "\n"
    else:
        end = old.find("\n## ", start + 4)
        new = old[:start] + text + ("\n" + old[end + 1:] if end >= 0 else "\n")
    with open(path, "w", encoding="utf-8") as f:
        f.write(new)
