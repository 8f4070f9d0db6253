"""Time the command-line lines of README and the documentation as written, and the disk size of environments.

    python benchmarks/bench_readme.py [--venv .venv --venv .venv-ci] [--skip reproduce] [--setup lab,run]

Each `python -m saliency_widgets ...` line of the fenced blocks of README.md and the documentation's pages
(``tests/test_readme_commands.commands``) runs as written (its default
budget, not the test's small one) in a temporary folder holding README's placeholders (IMAGE.png,
my.keras, a VOC folder for PATH, an importable mypkg.nets), with this interpreter; wall time includes
Python's start and the imports. ``--venv`` folders are measured with ``du -sh``. ``--setup lab,run``
times the first run of ``bash .ci/lab`` and ``bash .ci/run`` in a fresh copy of the committed tree (the
environment they build, up to the point where JupyterLab or pytest would start: ``--headless --help``,
``--co -q``) and measures the environment each leaves.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--venv", action="append", default=[], help="an environment folder to measure (du -sh)")
    ap.add_argument("--skip", action="append", default=[], help="subcommands not to run (e.g. reproduce: about half an hour on 2 cores)")
    ap.add_argument("--setup", default="", help="time the first run of .ci/lab and/or .ci/run: lab,run")
    args = ap.parse_args(argv)
    for name in filter(None, args.setup.split(",")):
        setup(name)
    from tests.test_readme_commands import _placeholders, commands, kind

    for venv in args.venv:
        size = subprocess.run(["du", "-sh", venv], capture_output=True, text=True).stdout.split()[0]
        print(f"| environment `{venv}` | {size} on disk (du -sh) |", flush=True)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
               TF_CPP_MIN_LOG_LEVEL="2", TF_ENABLE_ONEDNN_OPTS="0")
    for doc, cmd in commands():
        if kind(cmd) != "cli" or cmd[3] in args.skip:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            subs = _placeholders(Path(tmp))
            t0 = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "saliency_widgets", *[subs.get(a, a) for a in cmd[3:]]],
                                  cwd=tmp, env=env, capture_output=True, text=True)
            wall = time.perf_counter() - t0
        status = "ok" if proc.returncode == 0 else f"exit {proc.returncode}: {proc.stderr.strip()[-200:]}"
        print(f"| `{' '.join(cmd)}` | {wall:.1f} s | {status} |", flush=True)


def setup(name):
    """First run of ``bash .ci/<name>`` in a fresh copy of HEAD: wall time and the environment's size."""
    cmd, venv = {"lab": (["bash", ".ci/lab", "--headless", "--help"], ".venv"),
                 "run": (["bash", ".ci/run", "--co", "-q"], ".venv-ci")}[name]
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(f"git -C '{ROOT}' archive HEAD | tar -x -C '{tmp}'", shell=True, check=True)
        env = {k: v for k, v in os.environ.items() if k not in ("SW_VENV", "PYTHONPATH", "VIRTUAL_ENV")}
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, cwd=tmp, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        size = subprocess.run(["du", "-sh", os.path.join(tmp, venv)], capture_output=True, text=True).stdout.split()
        status = "ok" if proc.returncode == 0 else f"exit {proc.returncode}: {proc.stderr.strip()[-300:]}"
        print(f"| `bash .ci/{name}` first run (environment only) | {wall / 60:.1f} min | {venv}: "
              f"{size[0] if size else '?'} (du -sh) | {status} |", flush=True)


if __name__ == "__main__":
    main()
