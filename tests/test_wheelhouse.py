"""The offline-classroom wheelhouse of notebooks/README.md: its own commands, run as written.

By default (CI on two cores) the download is only *resolved*: ``pip download`` has no dry run, so the
same requirements go through ``pip install --dry-run --ignore-installed`` (the resolver pip download
uses; it reads wheel metadata, not the wheels), and the resolved set must contain every package the
offline install line asks for. The package's own wheel is built for real and installed offline, without
its dependencies, into a fresh venv. The full run (download everything, TensorFlow, JupyterLab and their
dependencies, hundreds of MB; install a fresh venv from the wheelhouse with ``--no-index``; run notebook
01 there) took minutes on the project's shared two-core machine, most of it the offline install writing
TensorFlow to disk: too slow for CI. It runs with SW_WHEELHOUSE_FULL=1 and prints its timings.
"""
from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow
FULL = os.environ.get("SW_WHEELHOUSE_FULL") == "1"


def runbook_commands() -> list[list[str]]:
    """The pip lines of the README's wheelhouse block, split into argument lists."""
    text = (ROOT / "notebooks" / "README.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- wheelhouse-commands.*?-->\s*```bash\n(.*?)```", text, re.S).group(1)
    return [shlex.split(line) for line in block.splitlines() if line.strip().startswith("pip ")]


def _pip(venv_python, args, wheelhouse, **kw):
    args = [str(wheelhouse) if a == "wheelhouse" else a for a in args[1:]]
    return subprocess.run([str(venv_python), "-m", "pip", *args], cwd=ROOT, capture_output=True, text=True, **kw)


def _venv(path):
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
    return path / "bin" / "python"


def test_the_runbook_has_the_three_steps():
    cmds = runbook_commands()
    kinds = [c[1] for c in cmds]
    assert kinds == ["download", "wheel", "install"], cmds
    assert "--no-index" in cmds[2] and "--find-links" in cmds[2]
    assert "--no-deps" in cmds[1]


def test_the_wheelhouse_resolves_and_the_offline_line_finds_its_packages(tmp_path):
    download, build, install = runbook_commands()
    wheelhouse = tmp_path / "wheelhouse"
    # 1. resolve what `pip download` would fetch (dry run of the same requirements)
    reqs = [a for a in download[2:] if not a.startswith("--") and a != "wheelhouse"]
    report = tmp_path / "report.json"
    out = subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "-q",
                          "--report", str(report), *reqs], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    resolved = {re.sub(r"[-_.]+", "-", i["metadata"]["name"]).lower() for i in json.loads(report.read_text())["install"]}
    for req in install[install.index("wheelhouse") + 1:]:
        name = re.sub(r"[-_.]+", "-", re.split(r"[\[<>=@ ]", req)[0]).lower()
        assert name in resolved, f"{name} (the offline install line) is not in what the download resolves"
    assert {"tensorflow-cpu", "jupyterlab", "nbgrader", "saliency-widgets"} <= resolved
    # 2. the package's own wheel, built by the runbook's line, installs with --no-index
    out = _pip(sys.executable, build, wheelhouse)
    assert out.returncode == 0, out.stderr[-3000:]
    py = _venv(tmp_path / "venv")
    out = _pip(py, ["pip", "install", "--no-index", "--find-links", "wheelhouse", "--no-deps", "saliency_widgets"],
               wheelhouse)
    assert out.returncode == 0, out.stderr[-3000:]
    assert subprocess.run([str(py), "-m", "pip", "show", "saliency_widgets"], capture_output=True).returncode == 0


@pytest.mark.skipif(not FULL, reason="downloads hundreds of MB and installs TensorFlow; set SW_WHEELHOUSE_FULL=1")
def test_a_fresh_venv_from_the_wheelhouse_runs_notebook_01(tmp_path):
    import time

    download, build, install = runbook_commands()
    wheelhouse = tmp_path / "wheelhouse"
    t0 = time.perf_counter()
    for cmd in (download, build):
        out = _pip(sys.executable, cmd, wheelhouse)
        assert out.returncode == 0, out.stderr[-3000:]
    size = sum(f.stat().st_size for f in wheelhouse.iterdir()) / 2 ** 20
    print(f"wheelhouse: {size:.0f} MB in {time.perf_counter() - t0:.0f} s")
    t0 = time.perf_counter()
    py = _venv(tmp_path / "venv")
    out = _pip(py, install, wheelhouse, env=dict(os.environ, PIP_NO_INDEX="1"))
    assert out.returncode == 0, out.stderr[-3000:]
    print(f"offline install: {time.perf_counter() - t0:.0f} s")
    subprocess.run([str(py), "-m", "ipykernel", "install", "--prefix", str(tmp_path / "venv"), "--name", "python3"],
                   check=True, capture_output=True)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", JUPYTER_PATH=str(tmp_path / "venv" / "share" / "jupyter"))
    env.pop("PYTHONPATH", None)   # the installed package, not the checkout
    script = ("import nbformat\nfrom nbclient import NotebookClient\n"
              "nb = nbformat.read('notebooks/01_quick_start.ipynb', as_version=4)\n"
              "NotebookClient(nb, timeout=600, kernel_name='python3', resources={'metadata': {'path': 'notebooks'}})"
              ".execute()\nprint('ran 01')\n")
    out = subprocess.run([str(py), "-c", script], cwd=ROOT, env=env, capture_output=True, text=True)
    assert out.returncode == 0 and "ran 01" in out.stdout, out.stderr[-3000:]
