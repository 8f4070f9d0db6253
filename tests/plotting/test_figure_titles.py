"""Every static figure keeps its titles inside the figure and apart from each other.

Reported: the title of the reproduced ``pointing_game.png`` was clipped (the tier note ran off both
edges and the long method name ran into the next panel's title). Measured on the drawn figure: every
title, axis label and legend text lies inside the figure's box, and no two titles overlap.
"""
import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from matplotlib.text import Text  # noqa: E402

from saliency_widgets.metrics import Curve  # noqa: E402
from saliency_widgets.plotting.figures import (comparison_grid, convergence_figure, curves_figure,  # noqa: E402
                                               pointing_figure)

LONG = "mask-update (32 chains, score-weighted) @ 2000 steps"
NOTE = ("quick tier: 30 single-object scenes, 8 multi-object scenes, 15 + 15 convergence targets, 1000 forward "
        "passes (the full run: 200, 40, 100 + 100; its numbers are in full_run.md)")


def _drawn_texts(fig):
    """The texts a reader sees: titles, the figure title, axis labels, legend texts, ticks of visible axes."""
    out = [t for t in (fig._suptitle,) if t is not None]
    for ax in fig.axes:
        out += [ax.title, ax._left_title, ax._right_title]
        if ax.axison:  # tick labels outside the view limits are not drawn
            (x0, x1), (y0, y1) = sorted(ax.get_xlim()), sorted(ax.get_ylim())
            out += [ax.xaxis.label, ax.yaxis.label]
            out += [t for t in ax.get_xticklabels() if x0 <= t.get_position()[0] <= x1]
            out += [t for t in ax.get_yticklabels() if y0 <= t.get_position()[1] <= y1]
        if ax.get_legend() is not None:
            out += list(ax.get_legend().get_texts())
    return [t for t in out if isinstance(t, Text) and t.get_visible() and t.get_text().strip()]


def _titles(fig):
    return [t for t in [fig._suptitle] + [a.title for a in fig.axes] if t is not None and t.get_text().strip()]


def check_fits(fig):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    if not hasattr(fig.canvas, "get_renderer"):  # closed by reproduce's _save: draw it again
        FigureCanvasAgg(fig)
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    box = fig.bbox
    for t in _drawn_texts(fig):
        e = t.get_window_extent(r)
        assert e.x0 >= box.x0 - 1 and e.x1 <= box.x1 + 1 and e.y0 >= box.y0 - 1 and e.y1 <= box.y1 + 1, \
            f"clipped: {t.get_text()[:60]!r} at {e} in {box}"
    titles = [(t.get_text(), t.get_window_extent(r)) for t in _titles(fig)]
    for i, (a, ea) in enumerate(titles):
        for b, eb in titles[i + 1:]:
            assert not ea.overlaps(eb), f"titles overlap: {a[:40]!r} and {b[:40]!r}"


def _cases(n=3):
    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, (96, 96, 3), dtype=np.uint8)
    signed = np.zeros((96, 96))
    signed[10:40, 10:40], signed[60:90, 60:90] = 1.0, -1.0
    return [dict(image=img, saliency=np.clip(signed, 0, 1), raw=signed, box=(10, 10, 40, 40), label="square",
                 method=LONG) for _ in range(n)]


def _curve():
    return Curve(np.linspace(0, 1, 5), np.linspace(1, 0, 5), 0.5)


FIGURES = {
    "pointing": lambda: pointing_figure(_cases()),
    "comparison": lambda: comparison_grid([c["image"] for c in _cases()], [{LONG: c["saliency"], "RISE": c["saliency"]}
                                                                           for c in _cases()],
                                          [{LONG: (0.81, 0.07), "RISE": (0.8, 0.1)}] * 3,
                                          titles=["square: 97.2% (the target's probability)"] * 3),
    "curves": lambda: curves_figure({LONG: (_curve(), _curve()), "RISE @ 2000 masks": (_curve(), _curve())},
                                    title="square: 97.2%"),
    "convergence": lambda: convergence_figure({LONG: ([100, 1000], [0.5, 0.9], [[0.4, 0.6], [0.8, 0.95]]),
                                               "RISE": ([100, 1000], [0.6, 0.93])}, title="single-object scenes"),
}


@pytest.mark.parametrize("name", FIGURES)
def test_every_figure_keeps_its_titles_inside(name):
    check_fits(FIGURES[name]())


@pytest.mark.parametrize("name", FIGURES)
def test_with_the_tiers_note_as_reproduce_saves_it(name, tmp_path):
    from saliency_widgets.reproduce import _save
    fig = FIGURES[name]()
    _save(fig, str(tmp_path), "f.png", NOTE)
    assert fig.get_suptitle().replace("\n", " ").startswith(NOTE[:60])
    check_fits(fig)


def test_the_low_iou_reason_is_in_the_pointing_figure():
    fig = pointing_figure(_cases(1))
    title = fig.axes[2].get_title().replace("\n", " ")
    assert title.startswith("box IoU = ") and "low: signed map (min -1, max 1)" in title
