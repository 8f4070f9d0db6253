"""Every shell line of README.md and notebooks/README.md, tested as written (issue 22).

A README edit that breaks a command fails here: each line of a fenced ``bash`` block is classified
(pip install, the command line, ``python -c``) and checked -- install specs resolved by pip's dry run,
command-line calls run on the demo model with a small budget in a temporary folder, Python one-liners
run with downloads turned off -- and ``bash .ci/lab`` (README's main job) is started and its URL fetched.
A line no checker knows fails the test that lists them.
"""
from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# README, the runbook and the documentation's own pages (not what tools/docs_pages.py generates into docs/)
DOCS = ("README.md", "notebooks/README.md") + tuple(sorted(
    str(p.relative_to(ROOT)) for p in (ROOT / "docs").rglob("*.md")
    if not {"_build", "_generated", "api"} & set(p.relative_to(ROOT / "docs").parts)
    and p.relative_to(ROOT / "docs").as_posix() != "tutorials/runbook.md"))
pytestmark = [pytest.mark.env, pytest.mark.slow]


def shell_lines(text: str) -> list[str]:
    """The command lines of the fenced ``bash``/``sh``/``shell`` blocks: comments dropped, ``\\`` joined."""
    lines, block = [], None
    for raw in text.splitlines():
        fence = re.match(r"\s*```(\w*)", raw)
        if fence:
            block = None if block is not None else fence.group(1)
            continue
        if block in ("bash", "sh", "shell"):
            line = raw.strip()
            if lines and lines[-1].endswith("\\"):
                lines[-1] = lines[-1][:-1] + " " + line
            elif line and not line.startswith("#"):
                lines.append(line)
    return lines


def commands() -> list[tuple[str, list[str]]]:
    """(file, argv) for every shell line of the README files and the documentation's pages, each command once
    (the first file that shows it)."""
    out, seen = [], set()
    for doc in DOCS:
        for line in shell_lines((ROOT / doc).read_text()):
            argv = shlex.split(line, comments=True)
            if tuple(argv) not in seen:
                seen.add(tuple(argv))
                out.append((doc, argv))
    return out


def python_blocks(text: str) -> list[str]:
    """The fenced ``python`` blocks of a markdown text."""
    return re.findall(r"^```python\n(.*?)^```", text, re.S | re.M)


def _runbook_block(marker: str) -> list[list[str]]:
    """The lines of notebooks/README.md's fenced block after ``<!-- marker ...-->``: run by their own test."""
    text = (ROOT / "notebooks" / "README.md").read_text(encoding="utf-8")
    m = re.search(rf"<!-- {marker}.*?-->\s*```bash\n(.*?)```", text, re.S)
    return [shlex.split(line, comments=True) for line in shell_lines(f"```bash\n{m.group(1)}```")] if m else []


# Lines a test of their own runs as written: the wheelhouse block (tests/test_wheelhouse.py) and the course,
# students', grading and feedback blocks (tests/test_nbgrader.py runs them in order on gamed and honest hand-ins).
RUNBOOK_BLOCKS = {"wheelhouse": "wheelhouse-commands", "course": "course-commands", "student": "student-commands",
                  "grading": "grading-commands", "feedback": "feedback-commands"}
CHECKED_ELSEWHERE = {name: _runbook_block(marker) for name, marker in RUNBOOK_BLOCKS.items()}


def test_every_block_checked_elsewhere_is_found():
    assert all(CHECKED_ELSEWHERE.values()), {k: v for k, v in CHECKED_ELSEWHERE.items() if not v}


# The project's own commands, each run by a test of its own: .ci/lab (test_lab_starts_and_its_url_opens_notebook_01),
# .ci/docs (tests/docs/test_site.py builds the site with it), .ci/run (CI's command: the test below checks what it
# installs and runs), the quick tier (test_the_quick_tier_line_collects_the_quick_tier).
OWN = {("bash", ".ci/lab"): "lab", ("bash", ".ci/lab", "--headless"): "lab-headless", ("bash", ".ci/docs"): "docs", ("bash", ".ci/run"): "ci",
       (".venv/bin/python", "-m", "pytest"): "quick-tier"}


def kind(argv: list[str]) -> str | None:
    for name, lines in CHECKED_ELSEWHERE.items():
        if argv in lines:
            return name
    if tuple(argv) in OWN:
        return OWN[tuple(argv)]
    if argv[:2] in (["pip", "install"], [".venv/bin/pip", "install"]):
        return "pip"
    if argv[:3] == ["python", "-m", "saliency_widgets"]:
        return "cli"
    if argv[:2] == ["python", "-c"] and len(argv) == 3:
        return "python-c"
    return None


def ids(cmds):
    return [f"{doc}: {' '.join(argv)[:70]}" for doc, argv in cmds]


def test_shell_lines_reads_blocks_comments_and_continuations():
    text = "x\n```bash\npip install a  # why\n# only a comment\nfoo \\\n  --bar\n```\n```python\nno()\n```\n"
    assert [shlex.split(c, comments=True) for c in shell_lines(text)] == [["pip", "install", "a"],
                                                                            ["foo", "--bar"]]


def test_every_readme_shell_line_has_a_checker():
    cmds = commands()
    assert len(cmds) >= 10, "the README's fenced bash blocks were not found"
    unknown = [" ".join(argv) for _, argv in cmds if kind(argv) is None]
    assert not unknown, f"README lines that no test checks (add a checker in {__file__}): {unknown}"


# -- pip install lines: resolved by pip's dry run, nothing installed ------------------------------------------
PIP = [c for c in commands() if kind(c[1]) == "pip"]


@pytest.mark.parametrize("doc,argv", PIP, ids=ids(PIP))
def test_pip_install_line_resolves(doc, argv, tmp_path):
    specs = [a for a in argv[2:] if not a.startswith("-")]
    assert specs, argv
    report = tmp_path / "report.json"
    # From the repository root, as README says; --no-deps: the spec and its extras are checked, not the
    # whole dependency tree downloaded.
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--no-deps", "--quiet",
                           "--report", str(report), *argv[2:]], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, f"{' '.join(argv)}\n{proc.stderr[-3000:]}"
    assert "does not provide the extra" not in proc.stderr, proc.stderr
    items = json.loads(report.read_text())["install"]
    assert [it["metadata"]["name"].replace("-", "_").lower() for it in items] == ["saliency_widgets"] * len(specs)
    for it in items:
        provided = set(it["metadata"].get("provides_extra", []))
        assert set(it.get("requested_extras", [])) <= provided, (argv, provided)


# -- the command line, on the demo model with a small budget --------------------------------------------------
CLI = [c for c in commands() if kind(c[1]) == "cli"]
def _smallest_budget() -> str:
    """The smallest budget every method with one accepts (the registry's ranges)."""
    from saliency_widgets.registry import METHODS
    return str(max(spec.budget.low for spec in METHODS.values() if spec.budget is not None))


SMALL = {"explain": ["--budget", _smallest_budget()], "evaluate": ["--budget", _smallest_budget(), "--limit", "2"],
         "reproduce": ["--tier", "test"]}


def _placeholders(tmp: Path) -> dict[str, str]:
    """README's placeholders made real: an image, a photo, a saved Keras model, a VOC folder, an importable model."""
    from PIL import Image

    from saliency_widgets.datasets.demo import write_demo_voc
    from saliency_widgets.demo import make_scenes
    Image.fromarray(make_scenes(1, seed=2).images[0]).save(tmp / "IMAGE.png")
    from saliency_widgets.demo import load_photo
    for name in ("cat.jpg", "PHOTO.jpg"):  # README's real-photo lines
        Image.fromarray(load_photo("cat")).save(tmp / name)
    shutil.copy(ROOT / "saliency_widgets" / "demo" / "data" / "demo_model.keras", tmp / "my.keras")
    write_demo_voc(tmp / "voc", n_scenes=2, seed=1)
    (tmp / "mypkg").mkdir()
    (tmp / "mypkg" / "__init__.py").write_text("")
    (tmp / "mypkg" / "nets.py").write_text(
        "import numpy as np\n\n"
        "def make_resnet():\n"
        "    '''Stands in for a ResNet: scores from the mean of the top-left quarter.'''\n"
        "    def f(batch):\n"
        "        s = batch[:, :112, :112].mean(axis=(1, 2, 3))\n"
        "        return np.stack([s, 1 - s], 1)\n"
        "    return f\n\n"
        "def make_lite2():\n"
        "    '''Stands in for the guide's EfficientNet-Lite2: a 260-px model of RGB in [0, 255], declared.'''\n"
        "    from saliency_widgets.models import declare\n"
        "    def f(batch):\n"
        "        s = batch[:, :130, :130].mean(axis=(1, 2, 3)) / 255.0\n"
        "        return np.stack([s, 1 - s], 1)\n"
        "    return declare(f, input_size=260, pixel_range=(0, 255), outputs='probabilities')\n")
    return {"voc:PATH": f"voc:{tmp / 'voc'}"}


@pytest.mark.parametrize("doc,argv", CLI, ids=ids(CLI))
def test_command_line_runs_as_written(doc, argv, tmp_path):
    subs = _placeholders(tmp_path)
    args = [subs.get(a, a) for a in argv[3:]]
    sub = args[0]
    assert sub in SMALL, f"no small-budget setting for `{sub}`: add one to SMALL"
    small = [a for a in SMALL[sub] if not (a.startswith("--budget") and _no_budget(args))]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
               TF_CPP_MIN_LOG_LEVEL="2", TF_ENABLE_ONEDNN_OPTS="0")
    # Run from the temporary folder: it holds IMAGE.png, my.keras and mypkg (README: "run from the folder
    # that holds `package`"), and the outputs land there.
    proc = subprocess.run([sys.executable, "-m", "saliency_widgets", *args, *small], cwd=tmp_path, env=env,
                          capture_output=True, text=True)
    assert proc.returncode == 0, f"{' '.join(argv)}\n{proc.stdout[-1500:]}\n{proc.stderr[-3000:]}"
    out = args[args.index("--out") + 1] if "--out" in args else None
    if out:
        assert (tmp_path / out).exists(), f"{' '.join(argv)} did not write {out}"


def _no_budget(args):
    """Methods without a budget (README: `--budget` for them is an error)."""
    method = args[args.index("--method") + 1] if "--method" in args else "mask-update"
    return method in ("occlusion", "grad-cam", "center")


# -- python -c lines (notebooks/README.md: fetching ImageNet weights) ------------------------------------------
PYC = [c for c in commands() if kind(c[1]) == "python-c"]


@pytest.mark.parametrize("doc,argv", PYC, ids=ids(PYC))
def test_python_one_liner_runs_offline(doc, argv):
    """The code as written, with ``weights='imagenet'`` (a download) replaced by ``weights=None``."""
    code = argv[2]
    assert "weights='imagenet'" in code, "a new kind of one-liner: say how to check it offline"
    proc = subprocess.run([sys.executable, "-c", code.replace("weights='imagenet'", "weights=None")],
                          capture_output=True, text=True, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    assert proc.returncode == 0, proc.stderr[-3000:]


# -- bash .ci/lab: started, its URL opens notebook 01 ---------------------------------------------------------
def test_lab_starts_and_its_url_opens_notebook_01(tmp_path):
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = tmp_path / "lab.log"
    # The environment running the tests stands in for .ci/lab's own (SW_VENV); no install (SW_LAB_NO_INSTALL).
    env = dict(os.environ, SW_VENV=sys.prefix, SW_LAB_NO_INSTALL="1", JUPYTER_RUNTIME_DIR=str(tmp_path / "rt"))
    with open(log, "w") as f:
        proc = subprocess.Popen(["bash", ".ci/lab", "--no-browser", f"--port={port}", "--ip=127.0.0.1"], cwd=ROOT,
                                env=env, stdout=f, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        url = None
        while url is None and proc.poll() is None:
            time.sleep(0.5)
            m = re.search(r"(http://127\.0\.0\.1:\d+/\S+)", log.read_text())
            url = m.group(1) if m else None
        assert url, f".ci/lab printed no URL:\n{log.read_text()[-3000:]}"
        assert url.split("?")[0].endswith("/lab/tree/notebooks/01_quick_start.ipynb"), url
        with urllib.request.urlopen(url) as page:
            assert page.status == 200 and b"JupyterLab" in page.read()
        token = url.split("token=")[1]
        api = f"http://127.0.0.1:{port}/api/contents/notebooks/01_quick_start.ipynb?content=0&token={token}"
        with urllib.request.urlopen(api) as r:
            assert json.load(r)["type"] == "notebook"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait()
    assert "Traceback" not in log.read_text(), log.read_text()[-3000:]


def test_lab_headless_writes_the_figures(tmp_path):
    """``bash .ci/lab --headless``: the same set-up, then ``reproduce`` writes the figures (here its test tier,
    into OUT; the environment running the tests stands in for .ci/lab's own)."""
    env = dict(os.environ, SW_VENV=sys.prefix, SW_LAB_NO_INSTALL="1", OUT=str(tmp_path / "figures"))
    proc = subprocess.run(["bash", ".ci/lab", "--headless", "--tier", "test"], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    written = {p.name for p in (tmp_path / "figures").iterdir()}
    assert {"results.json", "pointing_game.png", "insertion_deletion.png"} <= written, written


def test_lab_config_drops_closed_websocket_tracebacks_only():
    """A record about a websocket whose tab has gone is dropped; any other error is kept."""
    script = (
        "import logging, runpy, sys\n"
        "from tornado.websocket import WebSocketClosedError\n"
        "logging.basicConfig(stream=sys.stdout, format='%(name)s %(message)s')\n"
        f"runpy.run_path({str(ROOT / '.ci' / 'lab_config.py')!r})\n"
        "for name in ('asyncio', 'tornado.application', 'ServerApp'):\n"
        "    log = logging.getLogger(name)\n"
        "    try:\n"
        "        raise WebSocketClosedError()\n"
        "    except WebSocketClosedError:\n"
        "        log.error('Task exception was never retrieved', exc_info=True)\n"
        "    log.error('kept: %s', name)\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert "Traceback" not in out and "WebSocketClosedError" not in out, out
    assert [line for line in out.splitlines() if "kept" in line] == [
        "asyncio kept: asyncio", "tornado.application kept: tornado.application", "ServerApp kept: ServerApp"]


# -- README's Python blocks: run as written, outside the checkout ---------------------------------------------
README_PYTHON = python_blocks((ROOT / "README.md").read_text(encoding="utf-8"))


def test_readme_has_a_quick_start_that_imports_what_it_uses():
    assert README_PYTHON, "README has no Python block"
    for block in README_PYTHON:
        if "display(" in block:
            assert "from IPython.display import display" in block, block


@pytest.mark.parametrize("block", README_PYTHON, ids=[f"README python block {i + 1}" for i in range(len(README_PYTHON))])
def test_readme_python_block_runs_as_written(block, tmp_path):
    """Each Python block as a script in an empty folder (the checkout importable, as after an editable install)."""
    (tmp_path / "block.py").write_text(block, encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
               TF_CPP_MIN_LOG_LEVEL="2", TF_ENABLE_ONEDNN_OPTS="0")
    proc = subprocess.run([sys.executable, "block.py"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, f"{block}\n{proc.stdout[-1500:]}\n{proc.stderr[-3000:]}"


def test_getting_started_shows_readmes_quick_start():
    """The documentation's quick start is README's, so the run above covers both."""
    page = (ROOT / "docs" / "getting-started.md").read_text(encoding="utf-8")
    assert README_PYTHON[0] in python_blocks(page)


# -- the project's own commands ---------------------------------------------------------------------------------
def test_ci_run_installs_every_extra_and_runs_every_tier():
    """README: `bash .ci/run` is CI's command (a test cannot run it: it runs this test). What README says of it
    holds: a fresh environment, every extra (the docs' too), every tier of the suite (-m "")."""
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    install = re.search(r'pip install -q -e "\.\[([\w,-]+)\]"', script)
    assert install, ".ci/run's editable install line not found"
    import tomllib
    extras = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"])
    assert set(install.group(1).split(",")) == {e for e in extras if "gpu" not in e}, install.group(1)
    assert 'rm -rf "$VENV"' in script and '-m ""' in script


def test_the_quick_tier_line_collects_the_quick_tier():
    """README's `.venv/bin/python -m pytest` (this environment's Python standing in for .venv's): it collects the
    quick tier, leaving the slow and env tests out."""
    proc = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"],
                          cwd=ROOT, capture_output=True, text=True,
                          env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    m = re.search(r"(\d+)/(\d+) tests collected \((\d+) deselected\)", proc.stdout)
    assert m, proc.stdout[-2000:]
    selected, total, deselected = map(int, m.groups())
    assert selected > 0 and deselected > 0 and selected + deselected == total
    assert "test_readme_commands.py" not in proc.stdout  # this file is env: not in the quick tier
