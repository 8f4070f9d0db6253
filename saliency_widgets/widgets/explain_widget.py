"""ExplainWidget: pick a class and a method, press Run, watch the map grow.

Built from stock ipywidgets 8 and bqplot only, so it renders wherever those do
(JupyterLab 4, Notebook 7, VS Code, Colab).  The explanation runs in a
background thread: the kernel stays free, Stop works, and the display is
refreshed a few times a second (not once per forward pass) with trait changes
grouped in ``hold_sync``.
"""
from __future__ import annotations

import contextlib
import math
import os
import threading
import time

import bqplot as bq
import ipywidgets as W
import numpy as np

from .. import metrics as M
from ..demo.imagenet import imagenet_labels
from ..explanation import Explanation
from ..metrics._checks import box_of, truth_mask
from ..models import as_model
from ..plotting import draw_box, overlay, png_bytes, to_rgb_uint8, upscale
from .methods import MethodSpec, default_methods

__all__ = ["ExplainWidget"]

_CMAPS = ("jet", "turbo", "viridis", "inferno", "magma", "gray")


class ExplainWidget(W.VBox):
    """Interactive saliency explorer for one image.

    Parameters
    ----------
    model : Keras model, callable ``batch -> scores`` or ModelAdapter
    image : (H, W, C) or (H, W) array, as the model (or ``preprocess``) takes it
    labels : sequence of class names or None
        Default: the ImageNet names for a 1000-class model, else "class i".
    preprocess : callable or None
        Applied to the image before the model (and before masking).
    truth : a box (x0, y0, x1, y1), a list of boxes, or an (H, W) bool mask
        Drawn on the overlay; the pointing-game hit and box IoU are shown.
    methods : list of method names or {name: MethodSpec}; default: every
        explainer that applies (Grad-CAM only for Keras models).
    top_k : int
        How many top classes the class dropdown lists.
    seed : int
        Seed of the explainers' random masks.
    snapshots : int
        At most this many states are kept for replay (every k-th forward pass).

    For scripts and tests: :meth:`run`, :meth:`stop`, :meth:`wait`, :attr:`result`,
    :meth:`save`.
    """

    refresh_interval = 0.12  # seconds between display refreshes during a run

    def __init__(self, model, image, *, labels=None, preprocess=None, truth=None, methods=None, top_k: int = 5,
                 seed: int = 0, snapshots: int = 100, causal: bool = True):
        # -- validate everything before anything is displayed --------------
        self.model = as_model(model, preprocess=preprocess)
        self._x = self.model.prepare(image)
        self.image = np.asarray(image)
        probs = self.model.predict(self._x[None])[0]
        self.probs = probs
        k = probs.shape[0]
        if labels is None:
            labels = imagenet_labels() if k == 1000 else [f"class {i}" for i in range(k)]
        labels = [str(v) for v in labels]
        if len(labels) != k:
            raise ValueError(f"labels has {len(labels)} names but the model outputs {k} classes")
        self.labels = labels
        h, w = self._x.shape[:2]
        self.truth = None if truth is None else truth_mask(truth, (h, w))
        self._truth_box = None if truth is None else box_of(self.truth)
        if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
            raise ValueError(f"top_k must be an integer >= 1, got {top_k!r}")
        specs = default_methods(self.model.keras_model is not None)
        if methods is None:
            self.methods = specs
        elif isinstance(methods, dict):
            self.methods = dict(methods)
        else:
            unknown = [m for m in methods if m not in specs]
            if unknown:
                raise ValueError(f"unknown methods {unknown}; choose from {list(specs)}")
            self.methods = {m: specs[m] for m in methods}
        if not self.methods:
            raise ValueError("methods is empty: give at least one method")
        self.seed = seed
        self.snapshots = max(2, int(snapshots))
        self._rgb = to_rgb_uint8(self.image if self.image.ndim in (2, 3) else self._x)
        if self._rgb.shape[:2] != (h, w):
            self._rgb = to_rgb_uint8(self._x)
        self._scale = max(1, round(256 / max(h, w)))

        # -- state ------------------------------------------------------------
        self.result: Explanation | None = None
        self.error: BaseException | None = None
        self.curves: dict = {}
        self.refresh_count = 0
        self.first_map_seconds: float | None = None  # from run() to the first map on display
        self.refresh_times: list[float] = []         # when each live refresh happened (s after run())
        self._snaps: list[tuple] = []
        self._thread: threading.Thread | None = None
        self._stop_event = threading.Event()
        self._done_event = threading.Event()
        self._done_event.set()
        self._lock = threading.Lock()
        self._restart = False
        self._ran = False

        # -- controls ---------------------------------------------------------
        order = np.argsort(-probs)[:top_k]
        self.class_dropdown = W.Dropdown(options=[(self._class_text(i), int(i)) for i in order],
                                         value=int(order[0]), description="class",
                                         layout=W.Layout(width="320px"))
        self.class_search = W.Combobox(placeholder="any class: name or index", options=tuple(labels[:2000]),
                                       ensure_option=False, continuous_update=False,
                                       layout=W.Layout(width="220px"))
        self.method_dropdown = W.Dropdown(options=list(self.methods), description="method",
                                          layout=W.Layout(width="320px"))
        self.budget_slider = W.IntSlider(description="steps", continuous_update=False,
                                         layout=W.Layout(width="320px"))
        self.grid_slider = W.IntSlider(value=8, min=2, max=16, description="grid", continuous_update=False)
        self.chains_slider = W.IntSlider(value=32, min=1, max=128, description="chains", continuous_update=False)
        self.run_button = W.Button(description="Run", button_style="primary", icon="play")
        self.stop_button = W.Button(description="Stop", button_style="warning", icon="stop", disabled=True)
        self.progress = W.IntProgress(value=0, min=0, max=1, description="progress",
                                      layout=W.Layout(width="320px"))
        self.status = W.HTML(value="Pick a class and a method, then press <b>Run</b>.")
        self.opacity = W.FloatSlider(value=0.5, min=0, max=1, step=0.05, description="opacity",
                                     continuous_update=True)
        self.cmap = W.Dropdown(options=_CMAPS, value="jet", description="colormap")
        self.step_slider = W.IntSlider(value=0, min=0, max=0, description="replay", continuous_update=True,
                                       layout=W.Layout(width="420px"))
        self.play = W.Play(value=0, min=0, max=0, interval=100, description="play")
        W.jslink((self.play, "value"), (self.step_slider, "value"))
        self.step_label = W.Label(value="")
        self.metrics_html = W.HTML(value="")
        self.save_path = W.Text(value="explanation.npz", description="save to", layout=W.Layout(width="320px"))
        self.save_button = W.Button(description="Save", icon="download")
        self.causal_checkbox = W.Checkbox(value=bool(causal), description="insertion/deletion after a run",
                                          indent=False)

        # -- panels -------------------------------------------------------------
        blank = png_bytes(upscale(self._rgb, self._scale))
        self.overlay_image = W.Image(value=blank, format="png")
        self.mask_image = W.Image(value=png_bytes(np.zeros_like(upscale(self._rgb, self._scale))), format="png")
        self.masked_image = W.Image(value=blank, format="png")
        if self.truth is not None:
            self.overlay_image.value = png_bytes(self._decorate(self._rgb))

        self._xs = bq.LinearScale()
        self._ys = bq.LinearScale(min=0.0, max=1.0)
        self.score_line = bq.Lines(x=np.zeros(0), y=np.zeros(0), scales={"x": self._xs, "y": self._ys},
                                   colors=["#1f77b4"])
        self.score_figure = bq.Figure(
            marks=[self.score_line], title="target probability per step (first chain)",
            axes=[bq.Axis(scale=self._xs, label="step"),
                  bq.Axis(scale=self._ys, side="left", label="p(target)")],
            layout=W.Layout(width="420px", height="240px"), fig_margin=dict(top=40, bottom=40, left=50, right=20))
        self._cxs = bq.LinearScale(min=0.0, max=1.0)
        self._cys = bq.LinearScale(min=0.0, max=1.0)
        # One 1-D line per curve (as the score line): simpler to sync than a 2-D Lines mark.
        self.insertion_line = bq.Lines(x=np.zeros(0), y=np.zeros(0), scales={"x": self._cxs, "y": self._cys},
                                       colors=["#2ca02c"], labels=["insertion"], display_legend=True)
        self.deletion_line = bq.Lines(x=np.zeros(0), y=np.zeros(0), scales={"x": self._cxs, "y": self._cys},
                                      colors=["#d62728"], labels=["deletion"], display_legend=True)
        self.causal_figure = bq.Figure(
            marks=[self.insertion_line, self.deletion_line], title="insertion / deletion",
            axes=[bq.Axis(scale=self._cxs, label="fraction of pixels"),
                  bq.Axis(scale=self._cys, side="left", label="p(target)")],
            layout=W.Layout(width="420px", height="240px"), fig_margin=dict(top=40, bottom=40, left=50, right=20))

        # -- wiring -------------------------------------------------------------
        self.run_button.on_click(lambda _: self.run())
        self.stop_button.on_click(lambda _: self.stop())
        self.save_button.on_click(lambda _: self._save_clicked())
        self.method_dropdown.observe(self._on_method, names="value")
        self.class_dropdown.observe(self._on_class, names="value")
        self.class_search.observe(self._on_search, names="value")
        self.opacity.observe(self._on_view, names="value")
        self.cmap.observe(self._on_view, names="value")
        self.step_slider.observe(self._on_step, names="value")
        self._on_method(None)

        def panel(title, widget):
            return W.VBox([W.HTML(f"<b>{title}</b>"), widget])

        super().__init__(children=[
            W.HBox([W.VBox([self.class_dropdown, self.class_search]), W.VBox([self.method_dropdown,
                                                                             self.budget_slider])]),
            W.HBox([self.grid_slider, self.chains_slider]),
            W.HBox([self.run_button, self.stop_button, self.progress]),
            self.status,
            W.HBox([panel("saliency overlay", self.overlay_image), panel("current mask", self.mask_image),
                    panel("masked input", self.masked_image)]),
            W.HBox([self.play, self.step_slider, self.step_label]),
            W.HBox([self.opacity, self.cmap]),
            self.metrics_html,
            W.HBox([self.score_figure, self.causal_figure]),
            W.HBox([self.causal_checkbox, self.save_path, self.save_button]),
        ], layout=W.Layout(border="1px solid #ddd", padding="6px"))
        self.add_class("saliency-explain-widget")

    # == public API ===========================================================
    @property
    def target(self) -> int:
        return int(self.class_dropdown.value)

    @target.setter
    def target(self, value: int):
        self._select_class(int(value))

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def run(self) -> None:
        """Start explaining the selected class with the selected method (ignored while running)."""
        with self._lock:
            if self.running:
                return
            self._stop_event.clear()
            self._done_event.clear()
            spec = self.methods[self.method_dropdown.value]
            try:
                explainer = spec.make(self.model, int(self.budget_slider.value), int(self.grid_slider.value),
                                      int(self.chains_slider.value), self.seed)
            except Exception as exc:  # bad settings: report, stay usable
                self._report_error(exc)
                self._done_event.set()
                return
            self._ran = True
            self._t_run = time.perf_counter()
            self.first_map_seconds = None
            self.refresh_times = []
            self._set_running(True)
            self._thread = threading.Thread(target=self._work, args=(explainer, self.target),
                                            name="ExplainWidget", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Ask the running explanation to stop (it stops after the batch in flight)."""
        self._stop_event.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the run ends; False if ``timeout`` seconds passed first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not self._done_event.wait(left):
                return False
            thread = self._thread
            if thread is not None and thread.is_alive() and thread is not threading.current_thread():
                thread.join(left)
            if not self.running:
                return True
            if deadline is not None and time.monotonic() >= deadline:
                return False

    def save(self, path: str | os.PathLike) -> tuple[str, str]:
        """Save the current explanation as .npz (with metadata) and its overlay as .png."""
        if self.result is None:
            raise RuntimeError("nothing to save yet: run an explanation first")
        path = os.fspath(path)
        base = path[:-4] if path.endswith(".npz") or path.endswith(".png") else path
        npz = self.result.save(base + ".npz")
        png = base + ".png"
        tmp = png + ".tmp"
        with open(tmp, "wb") as f:
            f.write(png_bytes(self._overlay_rgb(self.result.saliency)))
        os.replace(tmp, png)
        return npz, png

    def snapshot_png(self) -> bytes:
        """The three panels side by side, as PNG (the static view of the widget)."""
        panels = [self._overlay_rgb(self.result.saliency) if self.result is not None else self._decorate(self._rgb)]
        if self.result is not None and self.result.mask is not None:
            m = self.result.mask
            panels += [np.repeat((np.clip(m, 0, 1) * 255).astype(np.uint8)[..., None], 3, 2),
                       (self._rgb * np.clip(m, 0, 1)[..., None]).astype(np.uint8)]
        gap = np.full((self._rgb.shape[0], 4, 3), 255, np.uint8)
        row = panels[0]
        for p in panels[1:]:
            row = np.concatenate([row, gap, p], axis=1)
        return png_bytes(upscale(row, self._scale))

    def _repr_mimebundle_(self, **kwargs):
        # Outside a widget frontend (nbconvert, GitHub) the PNG of the last state shows instead.
        data = super()._repr_mimebundle_(**kwargs) or {}
        if isinstance(data, tuple):
            data = data[0]
        data = dict(data)
        data["image/png"] = self.snapshot_png()
        return data

    # == the background run ===================================================
    def _work(self, explainer, target):
        t0 = getattr(self, "_t_run", time.perf_counter())
        last_show = 0.0
        exp = None
        self._snaps = []
        budget = max(1, getattr(explainer, "budget", 0) or 1)
        every = max(1, math.ceil(budget / self.snapshots))
        next_snap = 0
        try:
            self.curves = {}
            with self._hold(self.progress, self.status, self.score_line, self.insertion_line, self.deletion_line,
                            self.metrics_html):
                self.progress.max = budget
                self.progress.value = 0
                self.score_line.x, self.score_line.y = np.zeros(0), np.zeros(0)
                for line in (self.insertion_line, self.deletion_line):
                    line.x, line.y = np.zeros(0), np.zeros(0)
                self.status.value = (f"running <b>{explainer.method}</b> for <b>{self.labels[target]}</b> "
                                     f"({budget} forward passes)...")
                self.metrics_html.value = ""
            gen = explainer.iter_explain(self.image, target)
            try:
                for exp in gen:
                    if exp.n_forward >= next_snap or exp.done:
                        self._snaps.append(self._snap(exp))
                        next_snap = exp.n_forward + every
                    now = time.perf_counter()
                    if exp.done or now - last_show >= self.refresh_interval:
                        if self.first_map_seconds is None:
                            self.first_map_seconds = now - t0
                        self._show(exp, budget, every)
                        self.refresh_times.append(now - t0)
                        last_show = now
                    if self._stop_event.is_set():
                        break
            finally:
                gen.close()
            if exp is None:
                raise RuntimeError("the explainer produced no map")
            self.result = exp
            self._show(exp, budget, every)
            seconds = time.perf_counter() - t0
            state = "done" if exp.done else f"stopped at {exp.n_forward}/{budget}"
            self.status.value = (f"{state}: <b>{exp.method}</b> for <b>{self.labels[target]}</b> "
                                 f"(p = {exp.score:.3f}), {exp.n_forward} forward passes in {seconds:.2f} s")
            self._show_metrics(exp)
            if exp.done and self.causal_checkbox.value and not self._stop_event.is_set():
                self._compute_causal(exp)
        except Exception as exc:
            self._report_error(exc)
        finally:
            restart = self._restart and self.error is None
            self._restart = False
            self._set_running(False)
            self._done_event.set()
        if restart:
            self.run()

    def _snap(self, exp):
        mask = None if exp.mask is None else exp.mask.astype(np.float16)
        n_trace = 0 if exp.trace is None else len(exp.trace)
        return (exp.n_forward, exp.saliency.astype(np.float16), mask, n_trace)

    def _show(self, exp: Explanation, budget: int, every: int):
        """Push one state to the frontend: a handful of trait changes, grouped."""
        self.refresh_count += 1
        with self._hold(self.overlay_image, self.mask_image, self.masked_image, self.progress, self.score_line,
                        self.step_slider, self.play, self.step_label, self._xs):
            self.overlay_image.value = png_bytes(upscale(self._overlay_rgb(exp.saliency), self._scale))
            if exp.mask is not None:
                self._show_mask(exp.mask)
            self.progress.value = min(exp.n_forward, self.progress.max)
            if exp.trace is not None and len(exp.trace):
                trace = exp.trace[-5000:]  # bounded: enough to see the chain's behaviour
                start = len(exp.trace) - len(trace)
                self.score_line.x = np.arange(start, start + len(trace))
                self.score_line.y = trace
            last = len(self._snaps) - 1
            self.play.max = max(0, last)
            self.step_slider.max = max(0, last)
            self._updating_slider = True
            try:
                self.step_slider.value = max(0, last)
            finally:
                self._updating_slider = False
            self.step_label.value = (f"pass {exp.n_forward}/{budget} - {len(self._snaps)} snapshots, "
                                     f"one every {every} passes")

    def _show_mask(self, mask):
        m = np.clip(np.asarray(mask, np.float32), 0, 1)
        grey = np.repeat((m * 255).astype(np.uint8)[..., None], 3, axis=2)
        self.mask_image.value = png_bytes(upscale(grey, self._scale))
        self.masked_image.value = png_bytes(upscale((self._rgb * m[..., None]).astype(np.uint8), self._scale))

    def _compute_causal(self, exp):
        self.status.value += " - computing insertion/deletion..."
        # The metrics prepare (preprocess) the image themselves: give them the user's image.
        ins = M.insertion(self.model, self.image, exp.saliency, exp.target)
        dele = M.deletion(self.model, self.image, exp.saliency, exp.target)
        self.curves = {"insertion": ins, "deletion": dele}
        with self._hold(self.insertion_line, self.deletion_line, self.causal_figure, self.status):
            self.insertion_line.x, self.insertion_line.y = ins.fractions, ins.scores
            self.deletion_line.x, self.deletion_line.y = dele.fractions, dele.scores
            self.causal_figure.title = f"insertion AUC {ins.auc:.3f} ↑ / deletion AUC {dele.auc:.3f} ↓"
            self.status.value = self.status.value.replace(" - computing insertion/deletion...", "")

    def _show_metrics(self, exp):
        if self.truth is None:
            return
        hit = M.pointing_game(exp.saliency, self.truth, tolerance=15)
        strict = M.pointing_game(exp.saliency, self.truth, tolerance=0)
        iou = M.box_iou(exp.saliency, self._truth_box, rule="fraction", threshold=0.5)
        mark = lambda ok: "✔ hit" if ok else "✘ miss"  # noqa: E731
        self.metrics_html.value = (f"pointing game (15 px): <b>{mark(hit)}</b> &nbsp; strict: <b>{mark(strict)}</b>"
                                   f" &nbsp; box IoU (region >= 50% of max): <b>{iou:.2f}</b>")

    # == helpers ================================================================
    def _class_text(self, i: int) -> str:
        return f"{self.labels[i]} ({self.probs[i]:.1%})"

    def _overlay_rgb(self, saliency) -> np.ndarray:
        img = overlay(self._rgb, np.asarray(saliency, np.float32), alpha=float(self.opacity.value),
                      cmap=self.cmap.value)
        return self._decorate(img)

    def _decorate(self, img):
        if self._truth_box is not None:
            img = draw_box(img, self._truth_box, color=(0, 255, 0))
        return img

    @staticmethod
    def _hold(*widgets):
        stack = contextlib.ExitStack()
        for w in widgets:
            stack.enter_context(w.hold_sync())
        return stack

    def _set_running(self, running: bool):
        with self._hold(self.run_button, self.stop_button):
            self.run_button.disabled = running
            self.stop_button.disabled = not running
        if running:
            self.error = None

    def _report_error(self, exc: BaseException):
        self.error = exc
        msg = str(exc).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        self.status.value = (f"<span style='color:#c00'><b>error</b>: {type(exc).__name__}: {msg}</span>"
                             " - fix the cause and press Run again.")

    def _select_class(self, idx: int):
        if not 0 <= idx < len(self.labels):
            raise ValueError(f"class {idx} is out of range: the model has {len(self.labels)} classes")
        values = [v for _, v in self.class_dropdown.options]
        if idx not in values:
            self.class_dropdown.options = list(self.class_dropdown.options) + [(self._class_text(idx), idx)]
        self.class_dropdown.value = idx

    # == observers (cheap: they never compute an explanation themselves) =========
    def _on_method(self, _change):
        spec: MethodSpec = self.methods[self.method_dropdown.value]
        with self._hold(self.budget_slider, self.grid_slider, self.chains_slider):
            if spec.budget_label is None:
                self.budget_slider.layout.visibility = "hidden"
            else:
                self.budget_slider.layout.visibility = "visible"
                lo, hi = spec.budget_range
                self.budget_slider.min, self.budget_slider.max = 0, max(hi, self.budget_slider.max)
                self.budget_slider.max, self.budget_slider.min = hi, lo
                self.budget_slider.value = spec.budget
                self.budget_slider.step = max(1, lo // 2)
                self.budget_slider.description = spec.budget_label
            self.grid_slider.layout.visibility = "visible" if spec.uses_grid else "hidden"
            self.chains_slider.layout.visibility = "visible" if spec.uses_chains else "hidden"
        self.score_figure.title = ("target probability per step (first chain)" if spec.uses_chains or
                                   "faithful" in spec.name else "target probability per step (not traced)")

    def _on_class(self, change):
        if not self._ran:
            return
        if self.running:
            self._restart = True  # the worker starts the new run as it exits: never two threads
            self.stop()
        else:
            self.run()

    def _on_search(self, change):
        text = str(change["new"]).strip()
        if not text:
            return
        if text.isdigit():
            idx = int(text)
        elif text in self.labels:
            idx = self.labels.index(text)
        else:
            self.status.value = (f"<span style='color:#c00'>no class named {text!r}: type a class name or an "
                                 f"index in [0, {len(self.labels)})</span>")
            return
        try:
            self._select_class(idx)
        except ValueError as exc:
            self._report_error(exc)

    def _on_view(self, _change):
        exp = self._current_view()
        if exp is not None:
            self.overlay_image.value = png_bytes(upscale(self._overlay_rgb(exp), self._scale))

    def _current_view(self):
        if self._snaps and not self.running:
            i = min(self.step_slider.value, len(self._snaps) - 1)
            return self._snaps[i][1].astype(np.float32)
        return None if self.result is None else self.result.saliency

    def _on_step(self, change):
        if getattr(self, "_updating_slider", False) or not self._snaps or self.running:
            return
        i = min(int(change["new"]), len(self._snaps) - 1)
        n, sal, mask, n_trace = self._snaps[i]
        with self._hold(self.overlay_image, self.mask_image, self.masked_image, self.step_label):
            self.overlay_image.value = png_bytes(upscale(self._overlay_rgb(sal.astype(np.float32)), self._scale))
            if mask is not None:
                self._show_mask(mask)
            self.step_label.value = f"replay: snapshot {i + 1}/{len(self._snaps)} at pass {n}"

    def _save_clicked(self):
        try:
            npz, png = self.save(self.save_path.value)
            self.status.value = f"saved {npz} and {png}"
        except Exception as exc:
            self._report_error(exc)
