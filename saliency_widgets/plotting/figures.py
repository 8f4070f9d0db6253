"""Matplotlib figures in the style of the paper's published results.

``pointing_figure``: true annotation | saliency overlay | thresholded region
with its box IoU (seed: pointing_game_result.png).  ``comparison_grid``:
images x methods with "insertion/deletion" AUCs in percent in each title
(seed: saliency_map_comparison_1_2_3.jpg).
"""
from __future__ import annotations

import textwrap

import numpy as np

from ..metrics import box_iou, threshold_map
from ..truth import box_of
from .iou_reason import iou_reason
from .overlay import draw_box, overlay, to_rgb_uint8

__all__ = ["pointing_figure", "comparison_grid", "curves_figure", "convergence_figure", "fit_titles"]


def _wrap(text_artist, width_px: float, renderer) -> None:
    """Wrap ``text_artist``'s lines at word boundaries until each fits in ``width_px``."""
    text = text_artist.get_text()
    if not text or text_artist.get_window_extent(renderer).width <= width_px:
        return
    lines = text.split("\n")
    for chars in range(max(len(line) for line in lines), 7, -1):
        text_artist.set_text("\n".join(textwrap.fill(line, chars) for line in lines))
        if text_artist.get_window_extent(renderer).width <= width_px:
            return


def fit_titles(fig) -> None:
    """Every title inside the figure: each axes title wrapped to its axes' width, the figure's title to the
    figure's, then the layout redone so the wrapped lines get their room (call again after changing a title).
    """
    get = getattr(fig.canvas, "get_renderer", None)  # Agg and the inline backend; else the figure's own
    renderer = get() if get is not None else fig._get_renderer()
    for ax in fig.axes:
        room = ax.get_window_extent(renderer).width
        for title in (ax.title, ax._left_title, ax._right_title):
            _wrap(title, room, renderer)
    if fig._suptitle is not None:
        _wrap(fig._suptitle, 0.98 * fig.bbox.width, renderer)
    fig.tight_layout()


def _figure(rows, cols, size=2.2):
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(rows, cols, figsize=(size * cols, size * rows + 0.3), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    return fig, axes


def pointing_figure(cases, *, threshold: float = 0.5, rule: str = "fraction"):
    """One row per case: true annotation | saliency overlay | thresholded region (box IoU).

    Parameters
    ----------
    cases : list of dicts with "image", "saliency" (the display map, drawn), "raw" (``Explanation.raw``: the
        region and the box IoU are computed from it, by the table's rule), "box", optional "mask" and "label"
    threshold, rule : keyword-only; the defaults are the table's rule (``session.IOU_RULE``: pixels at >= 50%
        of the min-max normalised raw map)
    """
    missing = [i for i, case in enumerate(cases) if "raw" not in case]
    if missing:
        raise ValueError(f"pointing_figure: cases {missing} have no 'raw' map (Explanation.raw); the region and "
                         f"box IoU are computed from the raw map, as in the table, not from the display map")
    fig, axes = _figure(len(cases), 3)
    for row, case in zip(axes, cases):
        img = to_rgb_uint8(case["image"])
        sal = np.asarray(case["saliency"])
        raw = np.asarray(case["raw"], dtype=float)
        truth = case.get("mask")
        annot = img * (truth[..., None] if truth is not None else 1)
        row[0].imshow(draw_box(annot.astype(np.uint8), case["box"], color=(0, 255, 0)))
        row[0].set_title(f"true annotation: {case.get('label', '')}", fontsize=8)
        row[1].imshow(overlay(img, sal))
        row[1].set_title(f"saliency ({case.get('method', '')})", fontsize=8)
        region = threshold_map(raw, rule=rule, threshold=threshold)
        shown = (img * region[..., None]).astype(np.uint8)
        rbox = box_of(region)
        if rbox is not None:
            shown = draw_box(shown, rbox, color=(255, 0, 0))
        shown = draw_box(shown, case["box"], color=(0, 255, 0))
        iou = box_iou(raw, case["box"], rule=rule, threshold=threshold)
        row[2].imshow(shown)
        reason = iou_reason(raw, case["box"], threshold=threshold) if rule == "fraction" else None
        why = f"\nlow: {reason.split(':')[0]}" if reason else ""  # the reason's first clause (the widget: all of it)
        row[2].set_title(f"box IoU = {iou:.3f}{why}", fontsize=8)
    fig.suptitle(f"region: pixels >= {threshold:.0%} of the min-max normalised raw map (red box) vs truth (green)",
                 fontsize=8)
    fit_titles(fig)
    return fig


def comparison_grid(images, maps, scores, *, titles=None, probabilities=None):
    """Images x methods; each panel titled "method: insertion/deletion" (AUC, percent).

    Parameters
    ----------
    images : list of images
    maps : list (per image) of {method: (H, W) saliency}
    scores : list (per image) of {method: (insertion_auc, deletion_auc)}
    titles : list of image titles (e.g. "star: 97.2%")
    """
    methods = list(maps[0])
    fig, axes = _figure(len(images), len(methods) + 1)
    for i, (img, m, s) in enumerate(zip(images, maps, scores)):
        axes[i, 0].imshow(to_rgb_uint8(img))
        axes[i, 0].set_title(titles[i] if titles else f"image {i}", fontsize=9)
        for j, name in enumerate(methods, start=1):
            axes[i, j].imshow(overlay(img, m[name]))
            ins, dele = s[name]
            axes[i, j].set_title(f"{name}: {100 * ins:.2f}/{100 * dele:.2f}", fontsize=9)
    fit_titles(fig)
    return fig


def curves_figure(curves: dict, *, title=""):
    """{method: (insertion Curve, deletion Curve)} -> two panels of curves."""
    import matplotlib.pyplot as plt
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.2))
    for name, (ins, dele) in curves.items():
        a.plot(ins.fractions, ins.scores, label=f"{name} ({ins.auc:.3f})")
        b.plot(dele.fractions, dele.scores, label=f"{name} ({dele.auc:.3f})")
    a.set(title="insertion (higher is better)", xlabel="fraction of pixels inserted", ylabel="p(target)")
    b.set(title="deletion (lower is better)", xlabel="fraction of pixels deleted", ylabel="p(target)")
    for ax in (a, b):
        ax.legend(fontsize=7)
        ax.set_ylim(0, 1.02)
    if title:
        fig.suptitle(title)
    fit_titles(fig)
    return fig


def convergence_figure(table: dict, *, ylabel="pointing accuracy", title=""):
    """{reading: (n_forward list, values list[, [lo, hi] per value])} -> one line per reading, log x axis.

    With intervals, each point gets an error bar; readings are nudged apart on x so the bars stay legible.
    """
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(9, 4))
    n = len(table)
    for j, (name, entry) in enumerate(table.items()):
        xs, ys = np.asarray(entry[0], float), np.asarray(entry[1], float)
        xs = xs * 1.04 ** (j - (n - 1) / 2)
        if len(entry) > 2 and entry[2] is not None:
            ci = np.asarray(entry[2], float)
            ax.errorbar(xs, ys, yerr=[ys - ci[:, 0], ci[:, 1] - ys], marker="o", ms=3, capsize=2, label=name)
        else:
            ax.plot(xs, ys, marker="o", label=name)
    ax.set_xscale("log")
    ticks = np.asarray(next(iter(table.values()))[0], float)
    ax.set_xticks(ticks, [str(int(t)) for t in ticks])
    ax.minorticks_off()
    ax.set(xlabel="forward passes", ylabel=ylabel, title=title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fit_titles(fig)
    return fig
