"""The wheel installs like a released package (tools/wheel.py: ``python -m tools.wheel``).

``python -m build`` makes the sdist and, from it, the wheel; ``twine check --strict`` passes on both; the wheel
holds what the package reads at run time and no repository tooling; its version is pyproject's, the
changelog's and ``saliency_widgets.__version__``; its size is the one the documentation states
(docs/wheel.json). Then a fresh virtual environment gets the package from the wheel (``--no-deps
--no-index``: nothing downloaded, not editable, not the checkout), its dependencies from this environment (a
``.pth`` line: this environment's site-packages, whose editable install of the checkout stays inert because a
plain path line runs no ``.pth`` file), and runs README's quick start and notebook 01 from copies outside the
repository.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tools import wheel as W  # noqa: E402

pytestmark = [pytest.mark.env, pytest.mark.slow]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return W.build(str(tmp_path_factory.mktemp("dist")))


def test_twine_check_passes(built):
    assert "PASSED" in W.twine_check(*built)


def test_the_wheel_holds_the_package_data_and_no_tooling(built):
    _, wheel = built
    assert W.wheel_problems(wheel) == []
    names = zipfile.ZipFile(wheel).namelist()
    assert any(n.endswith("licenses/LICENSE") for n in names) and any(n.endswith("licenses/NOTICE") for n in names)


def test_wheel_problems_can_fail(tmp_path, built):
    """A wheel with a tools/ file, without the shipped results and with another version is reported."""
    _, wheel = built
    bad = tmp_path / "saliency_widgets-9.9.9-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as src, zipfile.ZipFile(bad, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename.endswith("results.json"):
                continue
            if item.filename.endswith("METADATA"):
                data = re.sub(rb"\nVersion: \S+", b"\nVersion: 9.9.9", data)
            dst.writestr(item, data)
        dst.writestr("tools/claims.json", "{}")
    problems = W.wheel_problems(str(bad))
    assert any("missing saliency_widgets/demo/data/results.json" in p for p in problems)
    assert any("tools/claims.json" in p for p in problems)
    assert any("9.9.9" in p for p in problems)


def test_the_documented_size_is_the_wheels(built):
    """docs/wheel.json (rendered into the docs) within 5% of the wheel built now: rerun `python -m tools.wheel`."""
    sdist, wheel = built
    with open(W.RECORD, encoding="utf-8") as f:
        recorded = json.load(f)
    assert recorded["wheel"] == os.path.basename(wheel) and recorded["version"] == W.version()
    assert recorded["bytes"] == pytest.approx(os.path.getsize(wheel), rel=0.05), "python -m tools.wheel"
    assert recorded["sdist_bytes"] == pytest.approx(os.path.getsize(sdist), rel=0.05), "python -m tools.wheel"


@pytest.fixture(scope="module")
def fresh(built, tmp_path_factory):
    """A new venv with the package from the wheel and the dependencies of this environment."""
    _, wheel = built
    venv = tmp_path_factory.mktemp("fresh") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    py = venv / "bin" / "python"
    site = Path(subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site / "dependencies.pth").write_text("\n".join(sorted(ours)) + "\n", encoding="utf-8")
    out = subprocess.run([str(py), "-m", "pip", "install", "--no-deps", "--no-index", "--no-compile", wheel],
                         cwd=venv.parent, capture_output=True, text=True, env=_clean_env())
    assert out.returncode == 0, out.stderr[-3000:]
    return py


def _clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return dict(env, TF_CPP_MIN_LOG_LEVEL="2", TF_ENABLE_ONEDNN_OPTS="0", **extra)


def test_the_package_comes_from_the_wheel(fresh, tmp_path):
    code = ("import importlib.metadata as md, saliency_widgets, sys\n"
            "print(saliency_widgets.__file__)\nprint(md.version('saliency_widgets'))\n"
            "print(md.distribution('saliency_widgets').read_text('direct_url.json') or '')\n")
    out = subprocess.run([str(fresh), "-c", code], cwd=tmp_path, capture_output=True, text=True, env=_clean_env())
    assert out.returncode == 0, out.stderr[-3000:]
    where, version, direct = out.stdout.splitlines()[0], out.stdout.splitlines()[1], "\n".join(out.stdout.splitlines()[2:])
    assert where.startswith(str(fresh.parent.parent)), where
    assert version == W.version()
    assert '"editable": true' not in direct and str(ROOT) not in direct
    cli = subprocess.run([str(fresh.parent / "saliency-widgets"), "--help"], cwd=tmp_path, capture_output=True,
                         text=True, env=_clean_env())
    assert cli.returncode == 0 and "explain" in cli.stdout


def test_readmes_quick_start_runs_from_the_wheel(fresh, tmp_path):
    blocks = re.findall(r"^```python\n(.*?)^```", (ROOT / "README.md").read_text(encoding="utf-8"), re.S | re.M)
    assert blocks
    for i, block in enumerate(blocks):
        (tmp_path / f"block{i}.py").write_text(block, encoding="utf-8")
        out = subprocess.run([str(fresh), f"block{i}.py"], cwd=tmp_path, capture_output=True, text=True,
                             env=_clean_env())
        assert out.returncode == 0, f"{block}\n{out.stderr[-3000:]}"


def test_notebook_01_runs_from_the_wheel(fresh, tmp_path):
    """Notebook 01, copied out of the repository, in a kernel of the fresh environment (its own kernelspec first
    on JUPYTER_PATH); a last cell says where its saliency_widgets came from."""
    import nbformat
    venv = fresh.parent.parent
    subprocess.run([str(fresh), "-m", "ipykernel", "install", "--prefix", str(venv), "--name", "python3"],
                   check=True, capture_output=True, env=_clean_env())
    nb = nbformat.read(ROOT / "notebooks" / "01_quick_start.ipynb", as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("import saliency_widgets\nprint('FROM', saliency_widgets.__file__)"))
    nbformat.write(nb, tmp_path / "01_quick_start.ipynb")
    script = ("import nbformat\nfrom nbclient import NotebookClient\n"
              "nb = nbformat.read('01_quick_start.ipynb', as_version=4)\n"
              "NotebookClient(nb, timeout=600, kernel_name='python3', resources={'metadata': {'path': '.'}})"
              ".execute()\nprint(nb.cells[-1].outputs[0]['text'])\n")
    out = subprocess.run([str(fresh), "-c", script], cwd=tmp_path, capture_output=True, text=True,
                         env=_clean_env(JUPYTER_PATH=str(venv / "share" / "jupyter")))
    assert out.returncode == 0, out.stderr[-3000:]
    assert f"FROM {venv}" in out.stdout, out.stdout[-1000:]
