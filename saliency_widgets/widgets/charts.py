"""The two bqplot charts: the target's probability during the run, and insertion/deletion after it."""
from __future__ import annotations

import bqplot as bq
import ipywidgets as W
import numpy as np

__all__ = ["ScoreChart", "CausalChart", "trace_passes"]

_MARGIN = dict(top=40, bottom=40, left=50, right=20)


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


class ScoreChart:
    """p(target) of the first chain against forward passes (the budget slider's unit)."""

    def __init__(self):
        self.xs = bq.LinearScale()
        self.ys = bq.LinearScale(min=0.0, max=1.0)
        self.line = bq.Lines(x=np.zeros(0), y=np.zeros(0), scales={"x": self.xs, "y": self.ys},
                             colors=["#1f77b4"])
        self.figure = bq.Figure(
            marks=[self.line], title="p(target), first chain",
            axes=[bq.Axis(scale=self.xs, label="forward passes (all chains)"),
                  bq.Axis(scale=self.ys, side="left", label="p(target)")],
            layout=W.Layout(width="420px", height="240px"), fig_margin=_MARGIN)

    def clear(self):
        self.line.x, self.line.y = np.zeros(0), np.zeros(0)

    def show(self, trace, n_forward: int, chains: int | None):
        trace = np.asarray(trace)
        x = trace_passes(len(trace), n_forward, chains)
        keep = slice(max(0, len(trace) - 5000), None)  # bounded: enough to see the chain's behaviour
        with self.line.hold_sync():
            self.line.x, self.line.y = x[keep], trace[keep]


class CausalChart:
    """Insertion and deletion curves, one 1-D line each (a 2-D Lines mark did not render in the browser)."""

    def __init__(self):
        self.xs = bq.LinearScale(min=0.0, max=1.0)
        self.ys = bq.LinearScale(min=0.0, max=1.0)
        kw = dict(x=np.zeros(0), y=np.zeros(0), scales={"x": self.xs, "y": self.ys}, display_legend=True)
        self.insertion = bq.Lines(colors=["#2ca02c"], labels=["insertion"], **kw)
        self.deletion = bq.Lines(colors=["#d62728"], labels=["deletion"], **kw)
        self.figure = bq.Figure(
            marks=[self.insertion, self.deletion], title="insertion / deletion",
            axes=[bq.Axis(scale=self.xs, label="fraction of pixels"),
                  bq.Axis(scale=self.ys, side="left", label="p(target)")],
            layout=W.Layout(width="420px", height="240px"), fig_margin=_MARGIN)

    def clear(self):
        with self.insertion.hold_sync(), self.deletion.hold_sync(), self.figure.hold_sync():
            for line in (self.insertion, self.deletion):
                line.x, line.y = np.zeros(0), np.zeros(0)
            self.figure.title = "insertion / deletion"

    def show(self, curves: dict):
        ins, dele = curves["insertion"], curves["deletion"]
        with self.insertion.hold_sync(), self.deletion.hold_sync(), self.figure.hold_sync():
            self.insertion.x, self.insertion.y = ins.fractions, ins.scores
            self.deletion.x, self.deletion.y = dele.fractions, dele.scores
            self.figure.title = f"insertion AUC {ins.auc:.3f} ↑ / deletion AUC {dele.auc:.3f} ↓"
