"""A map's colour scale read back from the map, and the one-line reason for a low box IoU."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import arrays

from saliency_widgets.explanation import normalize_map
from saliency_widgets.metrics import box_iou
from saliency_widgets.plotting.colorbar import colorbar_rgb, display_range, scale_ticks
from saliency_widgets.plotting.iou_reason import LOW_IOU, iou_reason


@settings(max_examples=60, deadline=None)
@given(raw=arrays(np.float64, (6, 7), elements=st.floats(-10, 10, allow_nan=False, width=32)), center=st.booleans())
def test_display_range_reads_back_the_raw_values_drawn_as_0_and_1(raw, center):
    sal = normalize_map(raw, center=center)
    scale = display_range(sal, raw)
    if not sal.any():
        assert scale is None
        return
    lo, hi = scale
    assert hi == pytest.approx(raw.max(), abs=1e-3 * (1 + abs(raw).max()))
    c = raw.mean() if center else 0.0
    if np.ptp(sal[sal > 0]) > 1e-6:  # two display levels or more: the line is determined
        assert lo == pytest.approx(c, abs=1e-3 * (1 + abs(raw).max()))
    else:  # one level: the lower end is the largest raw value drawn as 0 (an upper bound of c)
        assert lo <= hi


def test_ticks_and_strip():
    assert scale_ticks((2.0, 4.0)) == [(0.0, 2.0), (0.5, 3.0), (1.0, 4.0)]
    assert scale_ticks(None) == [(0.0, None), (0.5, None), (1.0, None)]
    strip = colorbar_rgb("gray", width=11, height=3)
    assert strip.shape == (3, 11, 3) and strip[0, 0].tolist() == [0, 0, 0] and strip[0, -1].tolist() == [255] * 3
    with pytest.raises(ValueError, match="same shape"):
        display_range(np.zeros((2, 2)), np.zeros((3, 3)))


BOX = (20, 20, 30, 30)  # a 10 x 10 object in a 60 x 60 image


def bump(width):
    y, x = np.mgrid[:60, :60]
    return np.exp(-((x - 24.5) ** 2 + (y - 24.5) ** 2) / (2 * width ** 2))


def test_a_signed_map_is_named_as_the_reason():
    """LIME's and occlusion's case: positive on the object, as negative elsewhere; the 50% line of the
    min-max range is near 0 and the background passes it."""
    raw = np.zeros((60, 60))
    raw[20:30, 20:30] = 1.0
    raw[45:55, 45:55] = -1.0
    assert box_iou(raw, BOX) < LOW_IOU
    reason = iou_reason(raw, BOX)
    assert reason.startswith("signed map (min -1, max 1)") and "line of its min-max range is 0" in reason
    assert "60×60 px against the object's 10×10 px" in reason


def test_a_map_broader_than_the_object():
    raw = bump(8)
    assert box_iou(raw, BOX) < LOW_IOU
    assert iou_reason(raw, BOX).startswith("the map is broader than the object")


def test_part_of_the_object():
    raw = np.zeros((60, 60))
    raw[20:30, 20:30] = 0.2
    raw[22:25, 22:25] = 1.0
    assert box_iou(raw, BOX) < LOW_IOU
    assert iou_reason(raw, BOX).startswith("only part of the object")


def test_pixels_away_from_the_object():
    raw = np.zeros((60, 60))
    raw[20:30, 20:30] = 1.0
    raw[55, 55] = raw[2, 3] = 0.9
    assert box_iou(raw, BOX) < LOW_IOU
    reason = iou_reason(raw, BOX)
    assert "is scattered: 2% of it lies outside the object box" in reason and "53×54 px" in reason


def test_no_reason_when_the_iou_is_fine_and_the_best_box_is_used():
    raw = np.zeros((60, 60))
    raw[20:30, 20:30] = 1.0
    assert iou_reason(raw, BOX) is None
    assert iou_reason(raw, [(0, 0, 5, 5), BOX]) is None  # the best of the class's boxes, as box IoU takes it
    assert iou_reason(np.ones((60, 60)), BOX).startswith("the map is constant")
