"""binder/ installs into a fresh virtual environment and the notebooks run there (as on mybinder.org)."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.env, pytest.mark.slow]


def _requirement_lines(text):
    return [line.split("#")[0].strip() for line in text.splitlines() if line.split("#")[0].strip()]


def _extras(spec):
    m = re.fullmatch(r'"?\.\[([\w,-]+)\]"?', spec)
    assert m, f"not an install of the package with extras: {spec!r}"
    return set(m.group(1).split(","))


def test_binder_files_are_what_repo2docker_reads():
    lines = _requirement_lines((ROOT / "binder" / "requirements.txt").read_text())
    assert any(line.startswith(".") for line in lines), "binder must install the package itself"
    req = (ROOT / "binder" / "requirements.txt").read_text()
    assert "tensorflow" not in req.replace("tensorflow-cpu", "")
    assert (ROOT / "binder" / "runtime.txt").read_text().strip() == "python-3.11"
    assert "mybinder.org" in (ROOT / "README.md").read_text()


def test_binder_builds_the_environment_the_lab_uses():
    """binder/requirements.txt is the package with exactly the extras .ci/lab installs, nothing beside it."""
    lab = (ROOT / ".ci" / "lab").read_text()
    specs = re.findall(r'pip install -q -e ("\.\[[\w,-]+\]")', lab)
    assert len(specs) == 1, f".ci/lab's install line not found (or several): {specs}"
    lines = _requirement_lines((ROOT / "binder" / "requirements.txt").read_text())
    assert len(lines) == 1 and _extras(lines[0]) == _extras(specs[0]), (lines, specs)
    # What the lab needs comes through those extras: Notebook 7, and ipykernel>=7.1 (7.0.x drops output
    # sent from threads, the widget's).
    import tomllib
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    notebook = " ".join(extras["notebook"])
    assert "notebook>=7" in notebook and "ipykernel>=7.1" in notebook and "jupyterlab>=4.2" in notebook


@pytest.fixture
def binder_links_module(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "binder"))
    import links
    return links


def test_binder_links_are_made_from_the_repository_url(binder_links_module):
    links = binder_links_module
    assert links.main(["--check"]) == 0, "run python binder/links.py"
    owner, name = links.repository()
    url = tomllib_load()["project"]["urls"]["Repository"]
    assert url == f"https://github.com/{owner}/{name}"
    readme = (ROOT / "README.md").read_text()
    nb_readme = (ROOT / "notebooks" / "README.md").read_text()
    # The badge opens notebook 01's student version; every numbered notebook has its launch link in the runbook,
    # to its student version (student/, which binder/postBuild makes from notebooks/); each link's notebook
    # exists; no link opens an instructor notebook (postBuild removes them from the image).
    assert links.binder_url("lab/tree/student/01_quick_start.ipynb") in readme
    assert "urlpath=lab/tree/notebooks/" not in readme + nb_readme
    for nb in sorted((ROOT / "notebooks").glob("[0-9]*.ipynb")):
        assert links.binder_url(f"lab/tree/student/{nb.name}") in nb_readme, nb.name
    for text in (readme, nb_readme):
        for urlpath in links.LINK.findall(text):
            path = urlpath.removeprefix("lab/tree/")
            path = "notebooks/" + path.removeprefix("student/") if path.startswith("student/") else path
            assert (ROOT / path).exists(), urlpath
    # A link to another repository is rewritten (the check can fail).
    other = "https://mybinder.org/v2/gh/someone/else/HEAD?urlpath=lab/tree/notebooks/01_quick_start.ipynb"
    assert links.rewrite(f"[b]({other})") == f"[b]({links.binder_url('lab/tree/notebooks/01_quick_start.ipynb')})"


def tomllib_load():
    import tomllib
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


@pytest.mark.skipif(os.environ.get("SW_SKIP_BINDER_VENV") == "1", reason="SW_SKIP_BINDER_VENV=1")
def test_binder_requirements_install_and_notebooks_run(tmp_path):
    venv = tmp_path / "binder-venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    # repo2docker runs pip from the repository root, so "." in binder/requirements.txt is the package
    subprocess.run([str(py), "-m", "pip", "install", "-q", "-r", "binder/requirements.txt"], cwd=ROOT, check=True)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", TF_ENABLE_ONEDNN_OPTS="0")
    script = (
        "import sys, nbformat\n"
        "from nbclient import NotebookClient\n"
        "for path in sys.argv[1:]:\n"
        "    nb = nbformat.read(path, as_version=4)\n"
        "    NotebookClient(nb, timeout=300, kernel_name='python3', resources={'metadata': {'path': 'notebooks'}}).execute()\n"
        "    print('ran', path, flush=True)\n")
    notebooks = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "notebooks").glob("[0-9]*.ipynb"))
    # the kernel must be the binder venv's own Python
    subprocess.run([str(py), "-m", "ipykernel", "install", "--prefix", str(venv), "--name", "python3"],
                   check=True, capture_output=True)
    env["JUPYTER_PATH"] = str(venv / "share" / "jupyter")
    proc = subprocess.run([str(py), "-c", script, *notebooks], cwd=ROOT, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    assert proc.stdout.count("ran ") == len(notebooks)


def _tracked_copy(dest: Path) -> Path:
    """The repository's tracked files copied to ``dest`` (what repo2docker checks out), with a .git folder."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout.split(b"\0")
    for rel in filter(None, files):
        src, dst = ROOT / rel.decode(), dest / rel.decode()
        if src.is_file():
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
    (dest / ".git").mkdir()
    return dest


@pytest.mark.env
def test_binder_postbuild_leaves_students_no_instructor_notebook(tmp_path):
    """postBuild as repo2docker runs it (in the checkout, HOME its own): afterwards the image's files hold the
    student versions and nothing of a solution (no solution block, no model answer, no saved output)."""
    import nbformat

    repo = _tracked_copy(tmp_path / "repo")
    home = tmp_path / "home"
    home.mkdir()
    env = dict(os.environ, HOME=str(home), PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]))
    env.pop("PYTHONPATH", None)
    out = subprocess.run(["bash", "binder/postBuild"], cwd=repo, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    notebooks = sorted(p.name for p in (ROOT / "notebooks").glob("[0-9]*.ipynb"))
    assert not list((repo / "notebooks").glob("[0-9]*.ipynb")) and not (repo / ".git").exists()
    assert sorted(p.name for p in (repo / "student").glob("*.ipynb")) == notebooks
    models = [_model_answer(c) for n in notebooks for c in nbformat.read(ROOT / "notebooks" / n, as_version=4).cells
              if "BEGIN SOLUTION" in c.source and c.cell_type == "markdown"]
    assert models
    for path in repo.rglob("*"):
        if path.is_file() and path.suffix in (".ipynb", ".md", ".py", ".txt", ".json", ""):
            text = path.read_text(encoding="utf-8", errors="replace")
            assert path.suffix != ".ipynb" or "BEGIN SOLUTION" not in text, path
            assert not any(m in text for m in models), f"{path} holds a model answer"
    for n in notebooks:
        nb = nbformat.read(repo / "student" / n, as_version=4)
        assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")


def _model_answer(cell) -> str:
    """The first line of a written answer's model answer (between the solution markers)."""
    body = cell.source.split("BEGIN SOLUTION", 1)[1].split("\n", 1)[1]
    return body.strip().splitlines()[0][:80]


def test_binder_links_open_student_versions_that_postbuild_generates(tmp_path):
    import re
    import nbformat

    post = (ROOT / "binder" / "postBuild").read_text()
    line = next(line for line in post.splitlines() if "make_student_versions.py" in line)
    out = re.search(r"--out\s+(\S+)", line).group(1)
    links = re.findall(r"mybinder\.org/\S*?urlpath=lab/tree/(\S+?\.ipynb)", (ROOT / "notebooks" / "README.md").read_text())
    notebooks = sorted(p.name for p in (ROOT / "notebooks").glob("[0-9]*.ipynb"))
    assert sorted(links) == [f"{out}/{n}" for n in notebooks]
    # run postBuild's own command (cwd: the repository root, as repo2docker does) into a temporary folder
    subprocess.run([sys.executable, *line.split()[1:]][:-1] + [str(tmp_path / out)], cwd=ROOT, check=True,
                   capture_output=True)
    for n in notebooks:
        assert "BEGIN SOLUTION" not in nbformat.writes(nbformat.read(tmp_path / out / n, as_version=4))
