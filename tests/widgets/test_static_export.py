"""The static fallback in an executed, exported notebook: the final overlay, not the empty start."""
import base64
import re

import nbformat
import pytest

pytestmark = [pytest.mark.env, pytest.mark.slow]

CELLS = [
    "import os\nos.environ['TF_CPP_MIN_LOG_LEVEL'] = '2'\n"
    "import numpy as np\nfrom saliency_widgets import ExplainWidget\n"
    "def model(x):\n"
    "    a = x[:, :8, :8].mean((1, 2, 3)); b = x[:, 8:, 8:].mean((1, 2, 3))\n"
    "    s = np.stack([a, b], 1) + 1e-3\n"
    "    return s / s.sum(1, keepdims=True)\n"
    # a bright top-left quadrant: masking it changes the score (a one-colour image gives no signal to draw)
    "img = np.zeros((16, 16, 3), np.float32); img[:8, :8] = 1\n"
    "w = ExplainWidget(model, img, labels=['tl', 'br'], causal=False)\n"
    "start = w.snapshot_png()\n"
    "w",
    "w.budget_slider.value = 300\nw.run(); w.wait()\n"
    "import base64\nassert w.snapshot_png() != start\nprint('FINAL', base64.b64encode(w.snapshot_png()).decode())",
]


def test_exported_notebook_shows_the_final_overlay(tmp_path):
    from nbclient import NotebookClient
    from nbconvert import HTMLExporter
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    printed = "".join(o.get("text", "") for o in nb.cells[1].outputs if o.get("name") == "stdout")
    final = re.search(r"FINAL (\S+)", printed).group(1)
    outputs = nb.cells[0].outputs
    assert "application/vnd.jupyter.widget-view+json" in outputs[0]["data"]
    fallback = outputs[1]["data"]["text/html"]
    assert "saliency-static-fallback" in fallback and final in fallback, "the fallback still shows the start"
    assert "done" in fallback
    html, _ = HTMLExporter().from_notebook_node(nb)
    assert f"data:image/png;base64,{final}" in html  # what an exported page shows without a widget frontend
    assert base64.b64decode(final)[:4] == b"\x89PNG"
