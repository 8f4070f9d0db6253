import numpy as np
import pytest

from saliency_widgets.plotting import colorize, draw_box, overlay, png_bytes, to_rgb_uint8, upscale


@pytest.mark.parametrize("image,expected", [
    (np.full((2, 2, 3), 0.5, np.float32), 128),        # floats in [0, 1]
    (np.full((2, 2, 3), 200.0), 200),                  # floats in [0, 255]
    (np.full((2, 2), 7, np.uint8), 7),                 # grayscale uint8
])
def test_to_rgb_uint8(image, expected):
    out = to_rgb_uint8(image)
    assert out.shape == (2, 2, 3) and out.dtype == np.uint8 and (out == expected).all()


def test_preprocessed_range_is_rescaled():
    img = np.linspace(-1, 1, 12).reshape(2, 2, 3)
    out = to_rgb_uint8(img)
    assert out.min() == 0 and out.max() == 255


def test_overlay_blends_linearly():
    img = np.zeros((4, 4, 3), np.uint8)
    sal = np.ones((4, 4))
    heat = colorize(sal, "gray")  # white
    assert (heat == 255).all()
    np.testing.assert_array_equal(overlay(img, sal, alpha=0.25, cmap="gray"), np.full((4, 4, 3), 64))


def test_unknown_colormap_and_size_mismatch():
    with pytest.raises(ValueError, match="colormap"):
        colorize(np.zeros((2, 2)), "rainbowz")
    with pytest.raises(ValueError, match="differ"):
        overlay(np.zeros((4, 4, 3)), np.zeros((3, 3)))


def test_box_upscale_png():
    img = draw_box(np.zeros((10, 10, 3), np.uint8), (2, 3, 6, 8), color=(0, 255, 0))
    assert img[3, 2:6, 1].all() and img[7, 2:6, 1].all() and img[3:8, 2, 1].all() and img[5, 4, 1] == 0
    assert upscale(img, 3).shape == (30, 30, 3)
    assert png_bytes(img)[:8] == b"\x89PNG\r\n\x1a\n"


def test_figures_draw(tmp_path):
    import matplotlib
    matplotlib.use("Agg")
    from saliency_widgets.metrics import Curve
    from saliency_widgets.plotting.figures import comparison_grid, convergence_figure, curves_figure, pointing_figure
    img = np.random.default_rng(0).integers(0, 255, (20, 20, 3), dtype=np.uint8)
    sal = np.zeros((20, 20))
    sal[5:10, 5:10] = 1
    fig = pointing_figure([dict(image=img, saliency=sal, raw=sal, box=(5, 5, 10, 10), label="x", method="m")])
    assert "box IoU = 1.000" in fig.axes[2].get_title()
    fig = comparison_grid([img], [{"a": sal}], [{"a": (0.8, 0.1)}], titles=["x: 90%"])
    assert fig.axes[1].get_title() == "a: 80.00/10.00"  # "insertion/deletion" in percent, as in the paper
    c = Curve(np.linspace(0, 1, 3), np.array([1.0, 0.5, 0.0]), 0.5)
    fig = curves_figure({"a": (c, c)})
    ins_ax, del_ax = fig.axes[:2]
    assert ins_ax.get_legend().get_texts()[0].get_text() == "a (0.500)"  # the AUC is in the legend
    np.testing.assert_array_equal(del_ax.lines[0].get_ydata(), c.scores)
    fig = convergence_figure({"a": ([1, 10], [0.5, 0.9])})
    assert fig.axes[0].get_xscale() == "log"
    np.testing.assert_array_equal(fig.axes[0].lines[0].get_xdata(), [1, 10])


@pytest.mark.parametrize("size,expected", [((30, 60), (10, 10)), ((60, 30), (10, 10)), ((20, 20), (10, 10))])
def test_fit_image_covers_then_crops_the_centre(size, expected):
    from PIL import Image
    from saliency_widgets.plotting import fit_image
    h, w = size
    arr = np.zeros((h, w, 3), np.uint8)
    # mark the centre square white: after the fit it must fill the whole output, nothing squeezed
    s = min(h, w)
    arr[(h - s) // 2:(h + s) // 2, (w - s) // 2:(w + s) // 2] = 255
    out = np.asarray(fit_image(Image.fromarray(arr), expected))
    assert out.shape[:2] == expected and out[1:-1, 1:-1].min() >= 250
    assert out.min() > 200  # the border only blends with its neighbours (a squeeze would leave black bands)


def test_pointing_figure_uses_the_tables_box_iou_rule_on_the_raw_map():
    """Issue 20 item 4: the figure's IoU was computed on the display map (0.692 where the table said 0.195)."""
    import matplotlib
    matplotlib.use("Agg")
    from saliency_widgets.metrics import box_iou
    from saliency_widgets.plotting.figures import pointing_figure
    from saliency_widgets.session import IOU_RULE, IOU_THRESHOLD
    img = np.zeros((20, 20, 3), np.uint8)
    raw = np.zeros((20, 20))
    raw[5:10, 5:10] = 1.0
    raw[12:18, 12:18] = 0.4                  # below 50% of the raw map's range: outside the region
    display = np.sqrt(raw)                   # a display map that lifts it above 50% (sqrt(0.4) = 0.63)
    box = (5, 5, 10, 10)
    table = box_iou(raw, box, rule=IOU_RULE, threshold=IOU_THRESHOLD)
    assert table == 1.0 and box_iou(display, box) < 0.5  # the two rules disagree on this case
    fig = pointing_figure([dict(image=img, saliency=display, raw=raw, box=box)])
    assert fig.axes[2].get_title() == f"box IoU = {table:.3f}"
    with pytest.raises(ValueError, match="no 'raw' map"):
        pointing_figure([dict(image=img, saliency=display, box=box)])
