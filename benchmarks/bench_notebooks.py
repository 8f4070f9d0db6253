"""Wall time and peak memory of each tutorial notebook (targets: <= 60 s, < 2 GB, mybinder.org's limit).

Each notebook runs in a fresh kernel; the kernel's peak RSS is read from /proc while it runs.
"""
from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

import _common
import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]


def _rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):  # peak resident set size
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def run(path: Path) -> tuple[float, float]:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    peak = [0.0]
    stop = threading.Event()

    def watch():
        while not stop.is_set():
            km = client.km
            if km is not None and km.has_kernel and getattr(km, "provisioner", None) is not None:
                pid = getattr(km.provisioner, "pid", None) or getattr(getattr(km.provisioner, "process", None), "pid", None)
                if pid:
                    peak[0] = max(peak[0], _rss_mb(pid))
            time.sleep(0.2)

    t = threading.Thread(target=watch, daemon=True)
    t0 = time.perf_counter()
    t.start()
    try:
        client.execute()
    finally:
        stop.set()
    return time.perf_counter() - t0, peak[0]


def main(argv=None):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    paths = [Path(p) for p in (argv or sys.argv[1:])] or sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
    print(f"machine: {_common.machine()}")
    for p in paths:
        wall, peak = run(p)
        print(f"{p.name:36s} {wall:6.1f} s   peak kernel RSS {peak:6.0f} MB")


if __name__ == "__main__":
    main()
