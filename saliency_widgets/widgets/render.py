"""Rendering what the session reports: the map panels, progress, status, charts, replay, static view.

:class:`RunView` is called from the session's thread (``start``, ``update``, ``curves``, ``finish``) and from
observers (``replay``, ``show_image``); it only draws, grouping trait changes in ``hold_sync``. Every panel
shows the current state: the selected class's box, no mask before a method has made one, no chart
without data.
"""
from __future__ import annotations

import html
import time

import ipywidgets as W
import numpy as np

from ..plotting import png_bytes, upscale
from .charts import PALETTE, CausalChart, ScoreChart
from .controls import hold
from .panels import Canvas, ColorBar, MapPanel, map_reason, metrics_html
from .static import StaticFallback

__all__ = ["RunView", "esc", "snapshots_text", "passes_text"]

READY = "Pick a class and a method, then press <b>Run</b>."


def esc(text) -> str:
    return html.escape(str(text), quote=False)


def snapshots_text(passes) -> str:
    """The replay's snapshots, by the forward pass each was taken at (the actual passes, not a rule)."""
    passes = [int(p) for p in passes]
    if not passes:
        return "no snapshots yet"
    shown = passes if len(passes) <= 4 else passes[:3] + ["…", passes[-1]]
    word = "snapshot" if len(passes) == 1 else "snapshots"
    return f"{len(passes)} {word} at passes {', '.join(str(p) for p in shown)}"


def passes_text(run) -> str:
    """What a finished run cost: the maps' and the curves' forward passes apart, and the whole run's time."""
    maps = f"{run.map_passes} forward passes"
    if run.curve_passes:
        return (f"map: {maps} in {run.map_seconds:.1f} s + insertion/deletion curves (extra work): "
                f"{run.curve_passes} forward passes in {run.curve_seconds:.1f} s = <b>{run.forward_passes} forward "
                f"passes in {run.seconds:.1f} s</b>")
    note = " (insertion/deletion curves stopped)" if run.curves_stopped else ""
    return f"<b>{maps} in {run.seconds:.1f} s</b>{note}"


def _panel(title, widget, *, hidden=False):
    return W.VBox([W.HTML(f"<b>{title}</b>"), widget], layout=W.Layout(display="none" if hidden else None))


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
        self.step_label = W.HTML(value="", layout=W.Layout(flex="1 1 0", min_width="200px"))  # wraps, never cut
        self.metrics_html = W.HTML(value="")
        self.overlay_image = W.Image(format="png")
        self.mask_image = W.Image(format="png")
        self.masked_image = W.Image(format="png")
        self.colorbar = ColorBar(width=256)
        self.score_chart, self.causal_chart = ScoreChart(), CausalChart()
        self.mask_panel = _panel("current mask", self.mask_image, hidden=True)
        self.masked_panel = _panel("masked input", self.masked_image, hidden=True)
        self.single_box = W.HBox([_panel("saliency overlay", W.VBox([self.overlay_image, self.colorbar])),
                                  self.mask_panel, self.masked_panel])
        self.compare_box = W.HBox([], layout=W.Layout(display="none", flex_flow="row wrap"))
        self.compare_box.add_class("saliency-compare")
        for widget, name in ((self.progress, "progress"), (self.status, "status"), (self.overlay_image, "overlay"),
                             (self.mask_panel, "mask-panel"), (self.masked_panel, "masked-panel"),
                             (self.step_label, "step-label"), (self.metrics_html, "metrics")):
            widget.add_class(f"saliency-{name}")
        self.panels: list[MapPanel] = []
        self.static = StaticFallback()
        self.canvas: Canvas | None = None
        self.updating_slider = False  # the view moves the replay slider itself: observers ignore it
        self.shown_step: int | None = None  # the replayed snapshot on display (None: the latest maps)
        self.image_name = "image"           # the picker's name of the image shown (the static caption)

    # == a new image, a new class ===================================================
    def reset(self, canvas: Canvas) -> None:
        self.canvas = canvas
        self.colorbar.resize(canvas.rgb.shape[1] * canvas.scale)
        self.compare_box.children = self.panels = []
        self.show_image()
        self.status.value = READY

    def show_mode(self, compare: bool) -> None:
        with hold(self.single_box, self.compare_box):
            self.single_box.layout.display = "none" if compare else None
            self.compare_box.layout.display = "flex" if compare else "none"

    def show_image(self) -> None:
        """The current state before a run: the image with the selected class's boxes, no map, no mask, no
        numbers, no charts (a class change clears the previous class's run from every panel)."""
        c = self.canvas
        plain = c.image_png()
        with hold(self.overlay_image, self.mask_image, self.masked_image, self.metrics_html, self.progress,
                  self.step_slider, self.play, self.step_label, *self.panels):
            self.overlay_image.value = plain
            self._show_mask(None)
            self.metrics_html.value = ""
            self.progress.value = 0
            self.updating_slider = True
            try:
                self.step_slider.max = self.play.max = 0
            finally:
                self.updating_slider = False
            self.step_label.value = ""
            for p in self.panels:
                p.image.value, p.drawn, p.metrics.value, p.progress.value = plain, None, "", 0
                p.colorbar.show(None, cmap=c.cmap)
        self.colorbar.show(None, cmap=c.cmap)
        self.shown_step = None
        self.score_chart.clear()
        self.causal_chart.clear()

    def _show_mask(self, mask, occluder="auto") -> None:
        """The mask panels: shown with ``mask`` (H, W), hidden when there is none (before a map, or a method
        that makes no masks)."""
        if mask is None:
            self.mask_panel.layout.display = self.masked_panel.layout.display = "none"
            return
        self.mask_image.value, self.masked_image.value = self.canvas.mask_pngs(mask, occluder)
        self.mask_panel.layout.display = self.masked_panel.layout.display = None

    # == a run ===================================================================
    def start(self, run) -> None:
        compare = len(run.methods) > 1
        titles = [m.label for m in run.methods]
        if compare and [p.label for p in self.panels] != titles:
            # one width for every panel: the image's, or the numbers' when the image is narrower
            image_width = self.canvas.rgb.shape[1] * self.canvas.scale
            width = max(image_width + 8, 268)
            self.panels = [MapPanel(m.label, self.canvas.image_png(), width=width, image_width=image_width,
                                    color=PALETTE[k % len(PALETTE)], cmap=self.canvas.cmap)
                           for k, m in enumerate(run.methods)]
            self.compare_box.children = self.panels
        self.show_image()  # the selected class's box, no map yet
        with hold(self.progress, self.status, *self.panels):
            self.progress.max = max(1, run.methods[0].budget)
            self.status.value = self.running_text(run)
            for p, m in zip(self.panels, run.methods):
                p.progress.max, p.progress.value = max(1, m.budget), 0

    def running_text(self, run) -> str:
        """The status line during the maps: each method's progress, the forward passes counted so far, the time."""
        done = ", ".join(f"<b>{esc(m.label)}</b> {m.result.n_forward if m.result is not None else 0}/{m.budget}"
                         if m.budget else f"<b>{esc(m.label)}</b>" for m in run.methods)
        return (f"running {done} for <b>{esc(self.labels[run.request.target])}</b> · {run.map_passes} forward "
                f"passes so far · {time.perf_counter() - run.started:.1f} s")

    def update(self, run) -> None:
        first = run.methods[0]
        exp = first.result
        compare = len(run.methods) > 1
        # One hold for everything a refresh changes (all panels at once), and no PNG encoding for a
        # panel whose map is the one it shows (a method that finished first while the others run).
        panels = [w for p in self.panels for w in (p.image, p.progress, p.colorbar)] if compare else []
        with hold(*panels, self.overlay_image, self.mask_image, self.masked_image, self.progress, self.status,
                  self.step_slider, self.play, self.step_label, self.colorbar):
            if compare:
                for p, m in zip(self.panels, run.methods):
                    if m.result is not None:
                        self._draw_panel(p, m.result)
                        p.progress.value = min(m.result.n_forward, p.progress.max)
            if exp is not None:
                self._update_single(first, exp, compare)
            if run.status == "running":
                self.status.value = self.running_text(run)
        self.shown_step = None
        self._show_traces(run)

    def _show_traces(self, run) -> None:
        compare = len(run.methods) > 1
        traced = [(m.choice.key if compare else None, m.result.trace, m.result.n_forward,
                   m.result.params.get("chains"), PALETTE[k % len(PALETTE)])
                  for k, m in enumerate(run.methods if compare else run.methods[:1])
                  if m.result is not None and m.result.trace is not None and len(m.result.trace)]
        self.score_chart.show_many(traced)  # hidden when no method keeps a trace

    def _draw_panel(self, panel: MapPanel, exp) -> None:
        """Draw ``exp`` on ``panel`` unless the panel shows it already, drawn the same way."""
        c = self.canvas
        look = (c.opacity, c.cmap, c.truth)
        drawn = panel.drawn
        if drawn is not None and drawn[0] is exp and drawn[1] is c and drawn[2] == look:
            return
        panel.image.value = c.overlay_png(exp.saliency)
        panel.colorbar.show(exp, cmap=c.cmap)
        panel.drawn = (exp, c, look)

    def _update_single(self, first, exp, compare: bool) -> None:
        """The shared outputs: progress, replay range, step label; the single view's images and colour bar."""
        if not compare:
            self.overlay_image.value = self.canvas.overlay_png(exp.saliency)
            self.colorbar.show(exp, cmap=self.canvas.cmap)
            self._show_mask(exp.mask, exp.params.get("occluder", "auto"))
        self.progress.value = min(exp.n_forward, self.progress.max)
        last = max(0, len(first.snapshots) - 1)
        self.updating_slider = True
        try:
            self.play.max = self.step_slider.max = last
            self.step_slider.value = last
        finally:
            self.updating_slider = False
        self.step_label.value = f"pass {exp.n_forward}/{first.budget} · {snapshots_text(first.snapshot_passes)}"

    def curves(self, run) -> None:
        """The curves after the map are extra work: the status line says so, with what they cost so far."""
        index, kind = run.curve or (0, "insertion")
        method = run.methods[index]
        self.status.value = (
            f"computing the insertion/deletion curves (extra work after the map; untick “insertion/deletion "
            f"curves” before a run to skip them): {kind} curve of <b>{esc(method.label)}</b> for "
            f"<b>{esc(self.labels[run.request.target])}</b> · map: {run.map_passes} forward passes in "
            f"{run.map_seconds:.1f} s · curves: {run.curve_passes} forward passes so far · "
            f"{time.perf_counter() - run.started:.1f} s")

    def finish(self, run, *, truth_boxes) -> None:
        """Draw the end of ``run``; ``truth_boxes`` is ``{class: [object boxes]}`` (the metrics' label counts them)."""
        self.update(run)
        boxes = truth_boxes.get(run.request.target, ())
        with hold(self.status, self.metrics_html, *self.panels):
            if run.status == "error":
                self.error(run.error)
            else:
                self.status.value = self.finish_text(run)
            if len(run.methods) == 1:
                m = run.methods[0]
                self.metrics_html.value = metrics_html(m.metrics, n_boxes=len(boxes), reason=map_reason(m.result, boxes))
            else:
                self.metrics_html.value = ""
                for p, m in zip(self.panels, run.methods):
                    p.metrics.value = (metrics_html(m.metrics, n_boxes=len(boxes), reason=map_reason(m.result, boxes))
                                       if m.result else m.status)
        self._show_curves(run)

    def _show_curves(self, run) -> None:
        compare = len(run.methods) > 1
        curves = [(m.choice.key, m.curves, PALETTE[k % len(PALETTE)]) for k, m in enumerate(run.methods) if m.curves]
        if compare or not curves:
            self.causal_chart.show_many(curves, passes=run.curve_passes)  # hidden when there are none
        else:
            self.causal_chart.show(curves[0][1], passes=run.curve_passes)

    def finish_text(self, run) -> str:
        parts = []
        for m in run.methods:
            exp, label = m.result, f"<b>{esc(m.label)}</b>"
            if exp is None:
                parts.append(f"{m.status} before the first map: {label}")
            elif m.status == "done":
                parts.append(f"done: {label} (p = {exp.score:.3f})")
            else:
                parts.append(f"stopped at {exp.n_forward}/{m.budget}: {label}")
            if exp is not None and getattr(exp, "no_signal", False):
                lo, hi = exp.score_range
                parts[-1] += (f" <span style='color:#c00'>- no signal: the class score never changed under the "
                              f"perturbations (p in [{lo:.4g}, {hi:.4g}]), so no map is drawn; try another "
                              f"occluder or image</span>")
        return f"{'; '.join(parts)} for <b>{esc(self.labels[run.request.target])}</b> · {passes_text(run)}"

    def error(self, exc: BaseException, *, hint: str = "fix the cause and press Run again") -> None:
        self.status.value = (f"<span style='color:#c00'><b>error</b>: {type(exc).__name__}: {esc(exc)}</span>"
                             f" - {hint}.")

    def replay(self, run, index: int | None) -> None:
        """Show snapshot ``index`` of every method of ``run`` (None: the latest maps)."""
        if run is None:
            return
        self.shown_step = index
        views = self._views(run, index)
        cmap = self.canvas.cmap
        if len(run.methods) > 1:
            for p, v, m in zip(self.panels, views, run.methods):
                if v is not None:
                    p.image.value = self.canvas.overlay_png(v[0])
                    p.colorbar.show(m.result, cmap=cmap, scale=v[4])
                    p.drawn = None  # a replayed state: the next update draws its map again
            return
        v = views[0]
        if v is None:
            return
        first = run.methods[0]
        with hold(self.overlay_image, self.mask_image, self.masked_image, self.step_label, self.colorbar):
            self.overlay_image.value = self.canvas.overlay_png(v[0])
            self.colorbar.show(first.result, cmap=cmap, scale=v[4])
            occluder = first.result.params.get("occluder", "auto") if first.result is not None else "auto"
            self._show_mask(v[1], occluder)
            if v[3] is not None:
                final = first.snapshots[-1][0]
                self.step_label.value = (f"replay: snapshot {v[3] + 1}/{len(first.snapshots)}, at pass {v[2]} "
                                         f"of {final}")

    @staticmethod
    def _views(run, index):
        """Per method: (saliency, mask or None, passes, snapshot index or None, display range or None) of
        snapshot ``index`` (None: the latest maps), or None for a method without a map yet."""
        views = []
        for m in run.methods:
            if index is not None and m.snapshots:
                i = min(index, len(m.snapshots) - 1)
                n, sal, mask, _, scale = m.snapshots[i]
                views.append((sal.astype(np.float32), None if mask is None else mask.astype(np.float32), n, i, scale))
            elif m.result is not None:
                views.append((m.result.saliency, m.result.mask, m.result.n_forward, None, False))
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
            sal, mask = views[0][:2]
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
