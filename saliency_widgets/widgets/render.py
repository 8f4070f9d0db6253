"""Rendering what the session reports: the map panels, progress, status, charts, replay, static view.

:class:`RunView` is called from the session's thread (``start``, ``update``, ``finish``) and from
observers (``replay``); it only draws, grouping trait changes in ``hold_sync``.
"""
from __future__ import annotations

import html

import ipywidgets as W
import numpy as np

from ..plotting import png_bytes, upscale
from .charts import CausalChart, ScoreChart
from .controls import hold
from .panels import Canvas, MapPanel, metrics_html
from .static import StaticFallback

__all__ = ["RunView", "esc"]

READY = "Pick a class and a method, then press <b>Run</b>."


def esc(text) -> str:
    return html.escape(str(text), quote=False)


class RunView:
    """The output widgets and how a :class:`~saliency_widgets.session.RunState` is drawn on them.

    Parameters
    ----------
    labels : the model's class names
    step_slider, play : the replay controls (their range follows the snapshots)
    """

    def __init__(self, labels, *, step_slider: W.IntSlider, play: W.Play):
        self.labels = labels
        self.step_slider, self.play = step_slider, play
        self.progress = W.IntProgress(value=0, min=0, max=1, description="progress", layout=W.Layout(width="320px"))
        self.status = W.HTML(value=READY)
        self.step_label = W.Label(value="")
        self.metrics_html = W.HTML(value="")
        self.overlay_image = W.Image(format="png")
        self.mask_image = W.Image(format="png")
        self.masked_image = W.Image(format="png")
        self.score_chart, self.causal_chart = ScoreChart(), CausalChart()

        def panel(title, widget):
            return W.VBox([W.HTML(f"<b>{title}</b>"), widget])

        self.single_box = W.HBox([panel("saliency overlay", self.overlay_image),
                                  panel("current mask", self.mask_image), panel("masked input", self.masked_image)])
        self.compare_box = W.HBox([], layout=W.Layout(display="none", flex_flow="row wrap"))
        self.compare_box.add_class("saliency-compare")
        for widget, name in ((self.progress, "progress"), (self.status, "status"), (self.overlay_image, "overlay")):
            widget.add_class(f"saliency-{name}")
        self.panels: list[MapPanel] = []
        self.static = StaticFallback()
        self.canvas: Canvas | None = None
        self.updating_slider = False  # the view moves the replay slider itself: observers ignore it
        self.shown_step: int | None = None  # the replayed snapshot on display (None: the latest maps)
        self.image_name = "image"           # the picker's name of the image shown (the static caption)

    # == a new image =============================================================
    def reset(self, canvas: Canvas) -> None:
        self.canvas = canvas
        self.shown_step = None
        blank = canvas.image_png()
        with hold(self.overlay_image, self.mask_image, self.masked_image, self.metrics_html, self.progress,
                  self.step_slider, self.play, self.step_label, self.status):
            self.overlay_image.value = blank
            self.mask_image.value = png_bytes(np.zeros_like(upscale(canvas.rgb, canvas.scale)))
            self.masked_image.value = blank
            self.metrics_html.value = ""
            self.progress.value = 0
            self.updating_slider = True
            try:
                self.step_slider.max = self.play.max = 0
            finally:
                self.updating_slider = False
            self.step_label.value = ""
            self.status.value = READY
        self.score_chart.clear()
        self.causal_chart.clear()
        self.compare_box.children = self.panels = []

    def show_mode(self, compare: bool) -> None:
        with hold(self.single_box, self.compare_box):
            self.single_box.layout.display = "none" if compare else None
            self.compare_box.layout.display = "flex" if compare else "none"

    def show_image(self) -> None:
        """The image with the selected class's truth, no map (before a run)."""
        self.overlay_image.value = self.canvas.image_png()

    # == a run ===================================================================
    def start(self, run) -> None:
        names = ", ".join(f"<b>{esc(m.label)}</b>" for m in run.methods)
        budgets = ", ".join(str(m.budget) for m in run.methods)
        compare = len(run.methods) > 1
        titles = [f"<b>{esc(m.label)}</b>" for m in run.methods]
        self.shown_step = None
        if compare and [p.title.value for p in self.panels] != titles:
            # one width for every panel: the image's, or the numbers' when the image is narrower
            width = max(self.canvas.rgb.shape[1] * self.canvas.scale + 8, 268)
            self.panels = [MapPanel(m.label, self.canvas.image_png(), width=width) for m in run.methods]
            self.compare_box.children = self.panels
        with hold(self.progress, self.status, self.metrics_html, *self.panels):
            self.progress.max = max(1, run.methods[0].budget)
            self.progress.value = 0
            self.status.value = (f"running {names} for <b>{esc(self.labels[run.request.target])}</b> "
                                 f"({budgets} forward passes)...")
            self.metrics_html.value = ""
            if compare:
                for p, m in zip(self.panels, run.methods):
                    p.progress.max, p.progress.value, p.metrics.value = max(1, m.budget), 0, ""
        self.score_chart.clear()
        self.causal_chart.clear()

    def update(self, run) -> None:
        first = run.methods[0]
        exp = first.result
        compare = len(run.methods) > 1
        # One hold for everything a refresh changes (all panels at once), and no PNG encoding for a
        # panel whose map is the one it shows (a method that finished first while the others run).
        panels = [w for p in self.panels for w in (p.image, p.progress)] if compare else []
        with hold(*panels, self.overlay_image, self.mask_image, self.masked_image, self.progress,
                  self.step_slider, self.play, self.step_label):
            if compare:
                for p, m in zip(self.panels, run.methods):
                    if m.result is not None:
                        self._draw_panel(p, m.result)
                        p.progress.value = min(m.result.n_forward, p.progress.max)
            if exp is not None:
                self._update_single(first, exp, compare)
        self.shown_step = None
        traced = [(m.choice.label, m.result.trace, m.result.n_forward, m.result.params.get("chains"))
                  for m in (run.methods if compare else run.methods[:1])
                  if m.result is not None and m.result.trace is not None and len(m.result.trace)]
        if compare and traced:
            self.score_chart.show_many(traced)  # every traced method, with a legend
        elif traced:
            self.score_chart.show(*traced[0][1:])

    def _draw_panel(self, panel: MapPanel, exp) -> None:
        """Draw ``exp`` on ``panel`` unless the panel shows it already, drawn the same way."""
        c = self.canvas
        look = (c.opacity, c.cmap, c.truth)
        drawn = panel.drawn
        if drawn is not None and drawn[0] is exp and drawn[1] is c and drawn[2] == look:
            return
        panel.image.value = c.overlay_png(exp.saliency)
        panel.drawn = (exp, c, look)

    def _update_single(self, first, exp, compare: bool) -> None:
        """The shared outputs: progress, replay range, step label; the single view's three images."""
        if not compare:
            self.overlay_image.value = self.canvas.overlay_png(exp.saliency)
            if exp.mask is not None:
                self.mask_image.value, self.masked_image.value = self.canvas.mask_pngs(
                    exp.mask, exp.params.get("occluder", "auto"))
        self.progress.value = min(exp.n_forward, self.progress.max)
        last = max(0, len(first.snapshots) - 1)
        self.updating_slider = True
        try:
            self.play.max = self.step_slider.max = last
            self.step_slider.value = last
        finally:
            self.updating_slider = False
        self.step_label.value = (f"pass {exp.n_forward}/{first.budget} - {len(first.snapshots)} snapshots, "
                                 f"one every {first._every} passes")

    def finish(self, run, *, truth_boxes) -> None:
        """Draw the end of ``run``; ``truth_boxes`` is ``{class: [object boxes]}`` (the metrics' label counts them)."""
        self.update(run)
        n_boxes = len(truth_boxes.get(run.request.target, ()))
        with hold(self.status, self.metrics_html, *self.panels):
            if run.status == "error":
                self.error(run.error)
            else:
                self.status.value = self.finish_text(run)
            if len(run.methods) == 1:
                self.metrics_html.value = metrics_html(run.methods[0].metrics, n_boxes=n_boxes)
            else:
                self.metrics_html.value = ""
                for p, m in zip(self.panels, run.methods):
                    p.metrics.value = metrics_html(m.metrics, n_boxes=n_boxes) if m.result else m.status
        curves = [(m.choice.label, m.curves) for m in run.methods if m.curves]
        if len(run.methods) > 1 and curves:
            self.causal_chart.show_many(curves)  # every method's curves, with a legend
        elif curves:
            self.causal_chart.show(curves[0][1])

    def finish_text(self, run) -> str:
        parts = []
        for m in run.methods:
            exp, label = m.result, f"<b>{esc(m.label)}</b>"
            if exp is None:
                parts.append(f"{m.status} before the first map: {label}")
            elif m.status == "done":
                parts.append(f"done: {label} (p = {exp.score:.3f}), {exp.n_forward} forward passes")
            else:
                parts.append(f"stopped at {exp.n_forward}/{m.budget}: {label}")
            if exp is not None and getattr(exp, "no_signal", False):
                lo, hi = exp.score_range
                parts[-1] += (f" <span style='color:#c00'>- no signal: the class score never changed under the "
                              f"perturbations (p in [{lo:.4g}, {hi:.4g}]), so no map is drawn; try another "
                              f"occluder or image</span>")
            if exp is not None and exp.done:
                for note in getattr(exp, "notes", None) or []:  # e.g. Integrated Gradients' completeness
                    parts[-1] += f" <span style='color:#c00'>- {esc(note)}</span>"
        return f"{'; '.join(parts)} for <b>{esc(self.labels[run.request.target])}</b> in {run.seconds:.2f} s"

    def error(self, exc: BaseException, *, hint: str = "fix the cause and press Run again") -> None:
        self.status.value = (f"<span style='color:#c00'><b>error</b>: {type(exc).__name__}: {esc(exc)}</span>"
                             f" - {hint}.")

    def replay(self, run, index: int | None) -> None:
        """Show snapshot ``index`` of every method of ``run`` (None: the latest maps)."""
        if run is None:
            return
        self.shown_step = index
        views = self._views(run, index)
        if len(run.methods) > 1:
            for p, v in zip(self.panels, views):
                if v is not None:
                    p.image.value = self.canvas.overlay_png(v[0])
                    p.drawn = None  # a replayed state: the next update draws its map again
            return
        v = views[0]
        if v is None:
            return
        with hold(self.overlay_image, self.mask_image, self.masked_image, self.step_label):
            self.overlay_image.value = self.canvas.overlay_png(v[0])
            if v[1] is not None:
                self.mask_image.value, self.masked_image.value = self.canvas.mask_pngs(v[1])
            if v[3] is not None:
                self.step_label.value = f"replay: snapshot {v[3] + 1}/{len(run.methods[0].snapshots)} at pass {v[2]}"

    @staticmethod
    def _views(run, index):
        """Per method: (saliency, mask or None, passes, snapshot index or None) of snapshot ``index`` (None: the
        latest maps), or None for a method without a map yet."""
        views = []
        for m in run.methods:
            if index is not None and m.snapshots:
                i = min(index, len(m.snapshots) - 1)
                n, sal, mask, _ = m.snapshots[i]
                views.append((sal.astype(np.float32), None if mask is None else mask.astype(np.float32), n, i))
            elif m.result is not None:
                views.append((m.result.saliency, m.result.mask, m.result.n_forward, None))
            else:
                views.append(None)
        return views

    # == the static view =========================================================
    def snapshot_png(self, run) -> bytes:
        """What the widget displays, as PNG: the image shown, its maps as displayed (the replayed snapshot when
        the replay slider was moved), each panel under its title -- overlay, mask and masked input for one
        method, one overlay per method in compare mode."""
        c = self.canvas
        views = self._views(run, self.shown_step) if run is not None else []
        if not any(v is not None for v in views):
            return png_bytes(titled_row([upscale(c.decorate(c.rgb), c.scale)], ["image (no map yet)"]))
        if len(run.methods) == 1:
            sal, mask, _, _ = views[0]
            panels, titles = [c.overlay_rgb(sal)], [f"saliency overlay: {run.methods[0].choice.label}"]
            if mask is not None:
                result = run.methods[0].result
                occluder = result.params.get("occluder", "auto") if result is not None else "auto"
                panels += list(c.mask_rgbs(mask, occluder))
                titles += ["current mask", "masked input"]
        else:
            pairs = [(c.overlay_rgb(v[0]) if v is not None else c.decorate(c.rgb), m.choice.label)
                     for v, m in zip(views, run.methods)]
            panels, titles = [p for p, _ in pairs], [t for _, t in pairs]
        return png_bytes(titled_row([upscale(p, c.scale) for p in panels], titles))

    def static_caption(self, run) -> str:
        head = f"ExplainWidget (static view): {self.image_name}"
        if run is None:
            return f"{head}, no run yet"
        names = ", ".join(m.label for m in run.methods)
        step = "" if self.shown_step is None else f", replay snapshot {self.shown_step + 1}"
        return f"{head}: {names} for {self.labels[run.request.target]}, {run.status}{step}"

    def update_static(self, run, *, force: bool = False) -> None:
        try:
            self.static.update(self.snapshot_png(run), self.static_caption(run), force=force)
        except ImportError:  # no IPython (a plain script): nothing was displayed, nothing to update
            pass


def titled_row(panels, titles, *, gap: int = 6) -> np.ndarray:
    """(H, W, 3) uint8 panels side by side on white, each under its title (PIL's default font, cut to fit)."""
    from PIL import Image, ImageDraw, ImageFont
    font = ImageFont.load_default()
    strip = 16
    h = max(p.shape[0] for p in panels)
    width = sum(p.shape[1] for p in panels) + gap * (len(panels) - 1)
    canvas = Image.new("RGB", (width, h + strip), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    x = 0
    for panel, title in zip(panels, titles):
        text = str(title)
        while text and draw.textlength(text, font=font) > panel.shape[1]:
            text = text[:-2] + "…" if len(text) > 2 else ""
        draw.text((x, 2), text, fill=(0, 0, 0), font=font)
        canvas.paste(Image.fromarray(np.ascontiguousarray(panel[..., :3])), (x, strip))
        x += panel.shape[1] + gap
    return np.asarray(canvas)
