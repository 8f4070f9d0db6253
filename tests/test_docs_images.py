"""The README's picture of the widget: docs/images/widget.png, written by the browser test.

Regenerate it with ``SW_WRITE_DOCS_IMAGES=1 python -m pytest tests/test_browser.py -m browser -k mid_run`` (a screenshot
of ExplainWidget mid-run in JupyterLab, kept under 300 KB); this quick check only reads the file.
"""
import io
from pathlib import Path

import numpy as np
from PIL import Image

IMAGE = Path(__file__).resolve().parents[1] / "docs" / "images" / "widget.png"


def test_the_widget_picture_is_a_small_png_of_plausible_size():
    data = IMAGE.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    assert 20_000 < len(data) < 300_000, f"{len(data)} bytes: expected a screenshot under 300 KB"
    image = Image.open(io.BytesIO(data))
    width, height = image.size
    assert 600 <= width <= 2000 and 500 <= height <= 2500, image.size  # the whole widget, legible
    pixels = np.asarray(image.convert("RGB"), np.float32)
    assert pixels.std() > 20 and len(np.unique(pixels.reshape(-1, 3), axis=0)) > 50  # a picture, not a blank
