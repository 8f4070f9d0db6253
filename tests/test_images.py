"""saliency_widgets.images: one pixel limit read from the header, nothing of a bomb decoded, large photos drafted."""
import io
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from PIL import Image

from saliency_widgets import images
from saliency_widgets.images import ImageTooLargeError, fit_box, load_image, open_image
from saliency_widgets.plotting.resize import fit_image

from .bombs import bomb_png, bomb_png_bytes


@pytest.fixture(scope="module")
def bomb(tmp_path_factory):
    path = tmp_path_factory.mktemp("bombs") / "bomb.png"
    size = bomb_png(path, 11000, 11000)  # 121 megapixels in about 15 KB
    assert size < 20_000
    return path


def test_a_bomb_is_refused_from_its_header_with_one_line_naming_file_size_and_limit(bomb, monkeypatch):
    decoded = []
    monkeypatch.setattr(Image.Image, "load", lambda self: decoded.append(self.size))  # nothing may decode
    for fn in (open_image, load_image):
        with pytest.raises(ImageTooLargeError) as err:
            fn(bomb)
        msg = str(err.value)
        assert "\n" not in msg and str(bomb) in msg and "11000 x 11000" in msg and "50,000,000" in msg
    with pytest.raises(ImageTooLargeError, match="the upload"):
        load_image(bomb.read_bytes(), size=(8, 8), name="the upload")
    assert decoded == []


def test_the_limit_is_a_setting_read_at_call_time(bomb, tmp_path, monkeypatch):
    small = tmp_path / "small.png"
    Image.fromarray(np.zeros((30, 40, 3), np.uint8)).save(small)
    assert load_image(small).shape == (30, 40, 3)
    with pytest.raises(ImageTooLargeError, match="40 x 30 pixels .* limit of 1,000 pixels"):
        load_image(small, max_pixels=1000)
    monkeypatch.setattr(images, "MAX_PIXELS", 1200)
    assert load_image(small).shape == (30, 40, 3)          # 1200 pixels: at the limit, allowed
    monkeypatch.setattr(images, "MAX_PIXELS", 1199)
    with pytest.raises(ImageTooLargeError, match="limit of 1,199"):
        load_image(small)
    with pytest.raises(ValueError, match="positive integer or None"):
        load_image(small, max_pixels=0)
    # Pillow's own bomb limit does not stand in the way of a raised limit, and is left as it was
    before = Image.MAX_IMAGE_PIXELS
    monkeypatch.setattr(images, "MAX_PIXELS", None)
    assert open_image(bomb).size == (11000, 11000)          # header only: nothing decoded
    assert Image.MAX_IMAGE_PIXELS == before


def test_a_400_megapixel_png_of_a_few_dozen_kilobytes_is_refused(tmp_path):
    data = bomb_png_bytes(20000, 20000)
    assert len(data) < 60_000
    with pytest.raises(ImageTooLargeError, match="20000 x 20000 pixels \\(400.0 megapixels\\)"):
        load_image(data, size=(96, 96), name="bomb.png")


def test_garbage_and_missing_files_are_named(tmp_path):
    with pytest.raises(ValueError, match="'x.txt' is not an image"):
        load_image(b"plain text", name="'x.txt'")
    with pytest.raises(FileNotFoundError, match="nope.png"):
        load_image(tmp_path / "nope.png")


def _jpeg(tmp_path, w, h, mode="RGB"):
    rng = np.random.default_rng(0)
    shape = (h, w, 3) if mode == "RGB" else (h, w)
    arr = np.clip(rng.normal(128, 10, size=shape) + np.linspace(0, 100, w)[None, :, None][..., :shape[-1]]
                  if mode == "RGB" else rng.normal(128, 10, size=shape), 0, 255).astype(np.uint8)
    path = tmp_path / f"photo_{w}x{h}.jpg"
    Image.fromarray(arr).save(path, quality=90)
    return path, arr


def test_a_large_jpeg_is_drafted_and_matches_the_whole_decode(tmp_path, monkeypatch):
    path, _ = _jpeg(tmp_path, 1600, 1200)
    seen = []
    real = images._decoded_small
    monkeypatch.setattr(images, "_decoded_small", lambda img, mode, need: seen.append(r := real(img, mode, need)) or r)
    out = load_image(path, size=(96, 96))
    assert seen[0].width <= 2 * 128 + 1 and seen[0].height <= 2 * 96 + 1  # decoded near the need, not 1600 x 1200
    with Image.open(path) as full:
        ref = np.asarray(fit_image(full.convert("RGB"), (96, 96)), np.float32)
    assert out.shape == (96, 96, 3) and np.abs(out.astype(np.float32) - ref).mean() < 3  # the same picture
    stretched = load_image(path, size=(50, 20), fit="stretch")
    assert stretched.shape == (50, 20, 3)


def test_a_small_image_is_fitted_exactly_as_before(tmp_path):
    arr = np.random.default_rng(1).integers(0, 255, (30, 60, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    np.testing.assert_array_equal(load_image(buf.getvalue(), size=(16, 16)),
                                  np.asarray(fit_image(Image.fromarray(arr), (16, 16))))


@pytest.mark.parametrize("w,h,size", [(192, 96, (96, 96)), (96, 192, (96, 96)), (100, 100, (50, 50)),
                                      (640, 480, (224, 224))])
def test_fit_box_is_the_region_fit_image_keeps(w, h, size):
    """The region is inside the image, centred (within one model pixel: the crop offset is an integer) and
    of the model input's aspect; what fit_image keeps of a marked image is the region's content."""
    x0, y0, x1, y1 = fit_box(w, h, size)
    px = max(w / size[1], h / size[0])  # one model pixel, in the image's pixels
    assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h
    assert (x1 - x0) / (y1 - y0) == pytest.approx(size[1] / size[0], rel=0.02)
    assert (x0 + x1) / 2 == pytest.approx(w / 2, abs=px) and (y0 + y1) / 2 == pytest.approx(h / 2, abs=px)
    marked = np.zeros((h, w), np.uint8)
    marked[int(np.ceil(y0)):int(y1), int(np.ceil(x0)):int(x1)] = 255  # the region white, the rest black
    fitted = np.asarray(fit_image(Image.fromarray(marked), size))
    assert fitted[1:-1, 1:-1].min() >= 200  # all of the fitted image comes from the region


def test_memory_follows_the_model_input_not_the_photo(tmp_path):
    """A 40-megapixel JPEG (120 MB as RGB) loaded at 96 x 96 raises the process's peak memory by far less."""
    path = tmp_path / "big.jpg"
    Image.new("L", (8000, 5000), 90).save(path, quality=80)  # under the 50 MP limit
    code = textwrap.dedent(f"""
        import resource, sys
        import numpy as np
        from PIL import Image
        from saliency_widgets.images import load_image
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        out = load_image({str(path)!r}, size=(96, 96))
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(out.shape, (after - before) // 1024)
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    shape, grew_mb = proc.stdout.rsplit(" ", 1)
    assert shape == "(96, 96, 3)" and int(grew_mb) < 30, proc.stdout
