"""The two bqplot charts: the target's probability during the run, and insertion/deletion after it.

A chart with nothing to draw is hidden, not shown empty: the probability chart for methods that keep no
trace of it, the curves before they are computed or when they are switched off. Each chart sits in its
own ``box``, which holds the figure only while it is shown (``shown``): a bqplot figure drawn while
hidden by CSS keeps a zero-size plot area, so the figure is taken out of the page instead, and laid out
afresh when it comes back. In compare mode the lines carry the method's colour (its panel's swatch) and a
short legend label, the registry key, inside the plot area; the panels carry the full labels.
"""
from __future__ import annotations

import bqplot as bq
import ipywidgets as W
import numpy as np

__all__ = ["ScoreChart", "CausalChart", "trace_passes"]

_MARGIN = dict(top=40, bottom=40, left=50, right=20)
#: legend text inside the plot area, small enough for a few short labels
LEGEND_TEXT = {"font-size": "10px"}
LEGEND_STYLE = {"fill": "white", "fill-opacity": "0.8", "stroke": "#ccc"}
#: a title that fits the chart's width (bqplot's default is larger)
TITLE_STYLE = {"font-size": "13px"}
SIZE = dict(width="460px", height="240px")


class _Chart:
    """What both charts share: a box that holds the figure while it has something to draw."""

    figure: bq.Figure

    def _make_box(self) -> None:
        self.box = W.Box([], layout=W.Layout(min_width="0"))

    @property
    def shown(self) -> bool:
        """Whether the figure is on the page (it is, exactly while it has lines to draw)."""
        return bool(self.box.children)

    def _show(self, visible: bool) -> None:
        if visible != self.shown:
            self.box.children = (self.figure,) if visible else ()


def trace_passes(n_trace: int, n_forward: int, chains: int | None) -> np.ndarray:
    """Forward passes spent at each traced step: the x values of the probability chart.

    A mask-update step advances every chain at once, so step i ends at ``min((i + 1) * chains, n)``
    passes; the slider counts passes too, so the chart and the slider share one unit.
    """
    if n_trace == 0:
        return np.zeros(0)
    k = chains or max(1, round(n_forward / n_trace))
    x = np.arange(1, n_trace + 1) * k
    return np.minimum(x, n_forward) if n_forward > 0 else x


# One colour per method in compare mode (matplotlib's tab10), the same in both charts.
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")


def _line(xs, ys, color, label, **kw):
    return bq.Lines(x=np.zeros(0), y=np.zeros(0), scales={"x": xs, "y": ys}, colors=[color], labels=[label], **kw)


class ScoreChart(_Chart):
    """p(target) of the first chain against forward passes (the budget slider's unit); one line per traced
    method in compare mode, with a legend.  ``line`` is the first method's line (always the same mark).
    Hidden while no method has a trace to draw."""

    def __init__(self):
        self.xs = bq.LinearScale()
        self.ys = bq.LinearScale(min=0.0, max=1.0)
        self.line = _line(self.xs, self.ys, PALETTE[0], "p(target)")
        self.lines = [self.line]
        self.figure = bq.Figure(
            marks=[self.line], title="p(target), first chain",
            axes=[bq.Axis(scale=self.xs, label="forward passes (all chains)", tick_format="~s"),  # 1k, not 1000
                  bq.Axis(scale=self.ys, side="left", label="p(target)")],
            layout=W.Layout(**SIZE), fig_margin=_MARGIN, title_style=TITLE_STYLE,
            legend_location="bottom-right", legend_text=LEGEND_TEXT, legend_style=LEGEND_STYLE)
        self._make_box()

    def clear(self):
        with self.figure.hold_sync():
            for line in self.lines:
                line.x, line.y = np.zeros(0), np.zeros(0)
            self.figure.marks = [self.line]
            self._show(False)

    def show(self, trace, n_forward: int, chains: int | None):
        """One method's trace (single mode)."""
        self.show_many([(None, trace, n_forward, chains, PALETTE[0])])

    def show_many(self, series):
        """``[(legend label or None, trace, n_forward, chains, colour)]``: one line each, a legend when there
        are several; an empty list hides the chart."""
        while len(self.lines) < len(series):
            k = len(self.lines)
            self.lines.append(_line(self.xs, self.ys, PALETTE[k % len(PALETTE)], f"method {k + 1}"))
        legend = len(series) > 1
        with self.figure.hold_sync():
            for line, (label, trace, n_forward, chains, color) in zip(self.lines, series):
                trace = np.asarray(trace)
                x = trace_passes(len(trace), n_forward, chains)
                keep = slice(max(0, len(trace) - 5000), None)  # bounded: enough to see the chain's behaviour
                with line.hold_sync():
                    line.x, line.y = x[keep], trace[keep]
                    line.labels = [label or "p(target)"]
                    line.colors = [color]
                    line.display_legend = legend
            marks = self.lines[:max(1, len(series))]
            if list(self.figure.marks) != marks:
                self.figure.marks = marks
            self._show(bool(series))


class CausalChart(_Chart):
    """Insertion (solid) and deletion (dashed) curves, one 1-D line each (a 2-D Lines mark did not render in
    the browser); in compare mode two lines per method in the method's colour, one legend entry per method
    (the solid line; the title says which is which).  ``insertion`` and ``deletion`` are the first method's
    lines.  The title says the curves are extra work, with the forward passes they took."""

    def __init__(self):
        self.xs = bq.LinearScale(min=0.0, max=1.0)
        self.ys = bq.LinearScale(min=0.0, max=1.0)
        self.insertion = _line(self.xs, self.ys, "#2ca02c", "insertion", display_legend=True)
        self.deletion = _line(self.xs, self.ys, "#d62728", "deletion", display_legend=True, line_style="dashed")
        self.pairs = [(self.insertion, self.deletion)]
        self.figure = bq.Figure(
            marks=[self.insertion, self.deletion], title="insertion / deletion",
            axes=[bq.Axis(scale=self.xs, label="fraction of pixels"),
                  bq.Axis(scale=self.ys, side="left", label="p(target)")],
            layout=W.Layout(**SIZE), fig_margin=_MARGIN, title_style=TITLE_STYLE,
            legend_location="right", legend_text=LEGEND_TEXT, legend_style=LEGEND_STYLE)
        self._make_box()

    def clear(self):
        with self.figure.hold_sync():
            for pair in self.pairs:
                for line in pair:
                    line.x, line.y = np.zeros(0), np.zeros(0)
            self.figure.marks = [self.insertion, self.deletion]
            self.figure.title = "insertion / deletion"
            self._show(False)

    def show(self, curves: dict, *, passes: int):
        """One method's curves (single mode): green insertion, red deletion, the AUCs and the forward passes
        they took (``passes``) in the title."""
        ins, dele = curves["insertion"], curves["deletion"]
        self.show_many([(None, curves, None)], passes=passes)
        self.figure.title = f"insertion AUC {ins.auc:.3f} ↑, deletion {dele.auc:.3f} ↓ · {passes} extra passes"

    def show_many(self, series, *, passes: int):
        """``[(legend label or None, {"insertion": Curve, "deletion": Curve}, colour)]``: a method's colour,
        solid insertion, dashed deletion, one legend entry per method; an empty list hides the chart."""
        while len(self.pairs) < len(series):
            self.pairs.append((_line(self.xs, self.ys, "#000", "", display_legend=True),
                               _line(self.xs, self.ys, "#000", "", display_legend=False, line_style="dashed")))
        many = len(series) > 1
        with self.figure.hold_sync():
            for (ins_line, del_line), (label, curves, color) in zip(self.pairs, series):
                for line, kind in ((ins_line, "insertion"), (del_line, "deletion")):
                    curve = curves[kind]
                    single = "#2ca02c" if kind == "insertion" else "#d62728"
                    with line.hold_sync():
                        line.x, line.y = curve.fractions, curve.scores
                        line.colors = [color if many else single]
                        line.labels = [label if many else kind]
                        line.display_legend = kind == "insertion" or not many
            self.figure.marks = [line for pair in self.pairs[:max(1, len(series))] for line in pair]
            if many:
                self.figure.title = f"insertion ↑ solid, deletion ↓ dashed · {passes} extra passes"
            self._show(bool(series))
