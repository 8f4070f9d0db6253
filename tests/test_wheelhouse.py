"""The offline-classroom wheelhouse of notebooks/README.md: its own commands, run as written.

The full run (CI: ``.ci/run`` sets SW_WHEELHOUSE_FULL=1) does what the runbook says: ``pip download`` of
every dependency (TensorFlow, JupyterLab, nbgrader; no PyTorch, no CUDA library), ``pip wheel`` of the
package, a fresh venv installed from the wheelhouse with ``--no-index`` (outside the checkout, as on a lab
machine), then the student version of notebook 01 (written by the block's own line) run in it; it prints
its timings (on the project's two-core machine with a PyPI mirror close by: the wheelhouse in 10 s, the
offline install in 58 s, the whole test under two minutes).
Without SW_WHEELHOUSE_FULL=1 only the cheap part runs: the download is *resolved* (``pip download`` has no dry
run, so the same requirements go through ``pip install --dry-run --ignore-installed``, the resolver pip
download uses) and must contain every package the offline install line asks for, and the package's own wheel
is built and installed offline, without its dependencies, into a fresh venv.
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
pytestmark = [pytest.mark.env, pytest.mark.slow]
FULL = os.environ.get("SW_WHEELHOUSE_FULL") == "1"


def _block() -> str:
    text = (ROOT / "notebooks" / "README.md").read_text(encoding="utf-8")
    return re.search(r"<!-- wheelhouse-commands.*?-->\s*```bash\n(.*?)```", text, re.S).group(1)


def runbook_commands() -> list[list[str]]:
    """The pip lines of the README's wheelhouse block, split into argument lists."""
    return [shlex.split(line) for line in _block().splitlines() if line.strip().startswith("pip ")]


def student_versions_command() -> list[str]:
    """The block's line that writes the student versions the lab machines get beside the wheelhouse."""
    lines = [shlex.split(line) for line in _block().splitlines() if "make_student_versions.py" in line]
    assert len(lines) == 1 and lines[0][:2] == ["python", "notebooks/solutions/make_student_versions.py"], lines
    return lines[0]


def _pip(venv_python, args, wheelhouse, cwd=ROOT, **kw):
    args = [str(wheelhouse) if a == "wheelhouse" else a for a in args[1:]]
    return subprocess.run([str(venv_python), "-m", "pip", *args], cwd=cwd, capture_output=True, text=True, **kw)


def _venv(path):
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
    return path / "bin" / "python"


def test_the_runbook_has_the_three_steps():
    assert "--out" in student_versions_command()
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
    # no CUDA stack in a classroom's wheelhouse: the offline ImageNet model needs no PyTorch
    assert "torch" not in resolved and not [n for n in resolved if n.startswith("nvidia-")], sorted(resolved)
    # 2. the package's own wheel, built by the runbook's line, installs with --no-index
    out = _pip(sys.executable, build, wheelhouse)
    assert out.returncode == 0, out.stderr[-3000:]
    py = _venv(tmp_path / "venv")
    # outside the checkout, whose saliency_widgets.egg-info (an editable install's) pip would take for an
    # installed package: from ROOT this install was a no-op and the check below passed all the same
    out = _pip(py, ["pip", "install", "--no-index", "--find-links", "wheelhouse", "--no-deps", "saliency_widgets"],
               wheelhouse, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    _assert_installed_in(py, tmp_path / "venv")


def _assert_installed_in(py, venv):
    """pip of ``venv``'s Python, run outside the checkout, finds the package installed in ``venv`` itself."""
    out = subprocess.run([str(py), "-m", "pip", "show", "saliency_widgets"], cwd=venv.parent, capture_output=True,
                         text=True, env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    location = [line.split(":", 1)[1].strip() for line in out.stdout.splitlines() if line.startswith("Location:")]
    assert out.returncode == 0 and location and location[0].startswith(str(venv)), (out.stdout, out.stderr[-2000:])


@pytest.mark.skipif(not FULL, reason="downloads about 700 MB and installs TensorFlow; set SW_WHEELHOUSE_FULL=1 (CI does)")
def test_a_fresh_venv_from_the_wheelhouse_runs_notebook_01(tmp_path):
    import time

    download, build, install = runbook_commands()
    wheelhouse = tmp_path / "wheelhouse"
    env = dict(os.environ)
    t0 = time.perf_counter()
    for cmd in (download, build):
        out = _pip(sys.executable, cmd, wheelhouse, env=env)
        assert out.returncode == 0, out.stderr[-3000:]
    cuda = [f.name for f in wheelhouse.iterdir() if f.name.startswith(("torch-", "nvidia_", "triton-"))]
    assert not cuda, f"the wheelhouse holds PyTorch or CUDA wheels: {cuda}"
    size = sum(f.stat().st_size for f in wheelhouse.iterdir()) / 2 ** 20
    print(f"wheelhouse: {size:.0f} MB in {time.perf_counter() - t0:.0f} s")
    t0 = time.perf_counter()
    py = _venv(tmp_path / "venv")
    # on a lab machine, not in the checkout: run from the checkout, pip would take the source tree's
    # saliency_widgets.egg-info (left by an editable install) for an installed package and skip it
    out = _pip(py, install, wheelhouse, cwd=tmp_path, env=dict(env, PIP_NO_INDEX="1"))
    assert out.returncode == 0, out.stderr[-3000:]
    print(f"offline install: {time.perf_counter() - t0:.0f} s")
    _assert_installed_in(py, tmp_path / "venv")
    subprocess.run([str(py), "-m", "ipykernel", "install", "--prefix", str(tmp_path / "venv"), "--name", "python3"],
                   check=True, capture_output=True)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", JUPYTER_PATH=str(tmp_path / "venv" / "share" / "jupyter"))
    env.pop("PYTHONPATH", None)   # the installed package, not the checkout
    # the lab machines get the student versions, not the instructor notebooks: the block's own line writes them
    cmd = student_versions_command()
    out_dir = cmd[cmd.index("--out") + 1]
    subprocess.run([sys.executable, *cmd[1:-1], str(tmp_path / out_dir)], cwd=ROOT, check=True, capture_output=True)
    script = ("import nbformat\nfrom nbclient import NotebookClient\n"
              f"nb = nbformat.read({str(tmp_path / out_dir / '01_quick_start.ipynb')!r}, as_version=4)\n"
              "NotebookClient(nb, timeout=600, kernel_name='python3', resources={'metadata': {'path': '.'}})"
              ".execute()\nprint('ran 01')\n")
    out = subprocess.run([str(py), "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert out.returncode == 0 and "ran 01" in out.stdout, out.stderr[-3000:]
