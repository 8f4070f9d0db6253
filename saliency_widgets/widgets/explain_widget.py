"""ExplainWidget: pick an image, a class and a method (or several), press Run, watch the maps grow.

A thin view over :class:`saliency_widgets.session.ExplainSession`: the session owns the background
thread, restarts, replay snapshots and metrics; the widget turns user actions into requests and renders
what the session reports, with trait changes grouped in ``hold_sync``. Built from stock ipywidgets 8 and
bqplot only (JupyterLab 4, Notebook 7, VS Code, Colab).
"""
from __future__ import annotations

import contextlib
import html
import os

import ipywidgets as W
import numpy as np

from ..demo.imagenet import imagenet_labels
from ..explanation import Explanation
from ..models import as_model
from ..plotting import png_bytes, to_rgb_uint8, upscale
from ..registry import available_methods, get_method
from ..session import ExplainSession, MethodChoice, RunRequest
from .charts import CausalChart, ScoreChart
from .inputs import image_from_bytes, labelled_truth
from .panels import Canvas, MapPanel, metrics_html
from .static import HIDE_FALLBACK_CSS, StaticFallback

__all__ = ["ExplainWidget"]

_CMAPS = ("jet", "turbo", "viridis", "inferno", "magma", "gray")
_DEFAULT_METHOD = "mask-update"


def _hold(*widgets):
    """Group the trait changes of several widgets into one message each."""
    stack = contextlib.ExitStack()
    for w in widgets:
        stack.enter_context(w.hold_sync())
    return stack


def _esc(text) -> str:
    return html.escape(str(text), quote=False)


class ExplainWidget(W.VBox):
    """Interactive saliency explorer.

    Parameters
    ----------
    model : Keras model, callable ``batch -> scores`` or ModelAdapter
    image : (H, W, C) or (H, W) array, as the model (or ``preprocess``) takes it; or None with ``images``
    images : list of images or None, keyword-only
        Several images: the widget shows an image picker (uploaded files join the list).
    labels : sequence of class names or None, keyword-only
        Default: the ImageNet names for a 1000-class model, else "class i".
    preprocess : callable or None, keyword-only
        Applied to the image before the model (and before masking).
    truth : labelled ground truth, keyword-only
        ``{class (index or name): box, list of boxes or (H, W) mask}`` or a list of labelled objects
        (a demo scene's ``objects``). The selected class's truth is drawn and scored; a class without
        truth shows no pointing/IoU. With ``images``: a list with one such entry (or None) per image.
    methods : list of registry keys or labels, keyword-only
        Default: every registered method that applies (Grad-CAM only for Keras models).
    compare : list of registry keys or labels or None, keyword-only
        Start in compare mode with these methods side by side.
    top_k : int, keyword-only
        How many top classes the class dropdown lists.
    seed : int, keyword-only
        Seed of the explainers' random choices.
    snapshots : int, keyword-only
        At most this many states per method are kept for replay.
    causal : bool, keyword-only
        Compute insertion/deletion after a completed run.

    For scripts and tests: :meth:`run`, :meth:`stop`, :meth:`wait`, :attr:`result`, :attr:`error`,
    :meth:`save`; the run itself is :attr:`session` (an :class:`~saliency_widgets.session.ExplainSession`).
    """

    def __init__(self, model, image=None, *, images=None, labels=None, preprocess=None, truth=None,
                 methods=None, compare=None, top_k: int = 5, seed: int = 0, snapshots: int = 100,
                 causal: bool = True):
        # -- validate everything before anything is displayed --------------
        self.model = as_model(model, preprocess=preprocess)
        if images is None:
            if image is None:
                raise ValueError("give an image (or images=[...] for a picker)")
            images, truths = [image], [truth]
        else:
            if image is not None:
                raise ValueError("give either image or images=[...], not both")
            images = list(images)
            if not images:
                raise ValueError("images is empty: give at least one image")
            truths = [None] * len(images) if truth is None else list(truth)
            if len(truths) != len(images):
                raise ValueError(f"with images=, truth must be a list with one entry per image: got {len(truths)} "
                                 f"entries for {len(images)} images")
        if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
            raise ValueError(f"top_k must be an integer >= 1, got {top_k!r}")
        self.top_k = top_k
        self.seed = seed
        self.snapshots = snapshots
        self.causal = bool(causal)
        specs = available_methods(gradients=self.model.keras_model is not None)
        if methods is None:
            self.methods = specs
        else:
            unknown = [m for m in methods if _key(m) not in specs]
            if unknown:
                raise ValueError(f"unknown methods {unknown}; choose from {list(specs)} "
                                 f"(labels: {[s.label for s in specs.values()]})")
            self.methods = {_key(m): specs[_key(m)] for m in methods}
        if not self.methods:
            raise ValueError("methods is empty: give at least one method")
        first = np.asarray(images[0])
        x0 = self.model.prepare(first)
        k = self.model.predict(x0[None]).shape[1]
        if labels is None:
            labels = imagenet_labels() if k == 1000 else [f"class {i}" for i in range(k)]
        labels = [str(v) for v in labels]
        if len(labels) != k:
            raise ValueError(f"labels has {len(labels)} names but the model outputs {k} classes")
        self.labels = labels
        self._images = [np.asarray(im) for im in images]
        self._truths = [labelled_truth(t, self.model.prepare(im).shape[:2], labels)
                        for im, t in zip(self._images, truths)]
        self._image_names = [f"image {i + 1}" for i in range(len(images))]

        # -- state ------------------------------------------------------------
        self.session: ExplainSession | None = None
        self.result: Explanation | None = None
        self.error: BaseException | None = None
        self.curves: dict = {}
        self._ran = False
        self._updating = False       # the view sets traits itself: observers ignore those changes
        self._panels: list[MapPanel] = []
        self._static = StaticFallback()
        self._last_run = None

        # -- controls ---------------------------------------------------------
        self.image_picker = W.Dropdown(options=list(zip(self._image_names, range(len(images)))), value=0,
                                       description="image", layout=W.Layout(width="320px"))
        self.upload = W.FileUpload(accept="image/png,image/jpeg,.png,.jpg,.jpeg", multiple=False,
                                   description="Upload image", icon="upload")
        self.class_dropdown = W.Dropdown(description="class", layout=W.Layout(width="320px"))
        self.class_search = W.Combobox(placeholder="any class: name or index", options=tuple(labels[:2000]),
                                       ensure_option=False, continuous_update=False,
                                       layout=W.Layout(width="220px"))
        self.mode = W.ToggleButtons(options=["single", "compare"], value="single", description="mode",
                                    style={"button_width": "80px"})
        opts = [(s.label, key) for key, s in self.methods.items()]
        default = _DEFAULT_METHOD if _DEFAULT_METHOD in self.methods else opts[0][1]
        self.method_dropdown = W.Dropdown(options=opts, value=default, description="method",
                                          layout=W.Layout(width="380px"))
        self.compare_select = W.SelectMultiple(options=opts, value=tuple(_default_compare(self.methods)),
                                               description="compare", rows=min(6, len(opts)),
                                               layout=W.Layout(width="380px", display="none"))
        self.budget_slider = W.IntSlider(description="passes", continuous_update=False,
                                         layout=W.Layout(width="380px"),
                                         tooltip="forward passes in total (all chains together)")
        # one slider per setting any registered method offers (grid, chains, segments...)
        self.option_sliders: dict[str, W.IntSlider] = {}
        for spec in self.methods.values():
            for name, opt in spec.options.items():
                if name not in self.option_sliders:
                    self.option_sliders[name] = W.IntSlider(value=opt.default, min=opt.low, max=opt.high,
                                                            description=name, continuous_update=False)
        self.grid_slider = self.option_sliders.get("grid")
        self.chains_slider = self.option_sliders.get("chains")
        self.run_button = W.Button(description="Run", button_style="primary", icon="play")
        self.stop_button = W.Button(description="Stop", button_style="warning", icon="stop", disabled=True)
        self.progress = W.IntProgress(value=0, min=0, max=1, description="progress",
                                      layout=W.Layout(width="320px"))
        self.status = W.HTML(value="Pick a class and a method, then press <b>Run</b>.")
        self.opacity = W.FloatSlider(value=0.5, min=0, max=1, step=0.05, description="opacity")
        self.cmap = W.Dropdown(options=_CMAPS, value="jet", description="colormap")
        self.step_slider = W.IntSlider(value=0, min=0, max=0, description="replay", layout=W.Layout(width="420px"))
        self.play = W.Play(value=0, min=0, max=0, interval=100, description="play")
        W.jslink((self.play, "value"), (self.step_slider, "value"))
        self.step_label = W.Label(value="")
        self.metrics_html = W.HTML(value="")
        self.save_path = W.Text(value="explanation.npz", description="save to", layout=W.Layout(width="320px"))
        self.save_button = W.Button(description="Save", icon="download")
        self.causal_checkbox = W.Checkbox(value=self.causal, description="insertion/deletion after a run",
                                          indent=False)

        # -- panels and charts ---------------------------------------------------
        self.overlay_image = W.Image(format="png")
        self.mask_image = W.Image(format="png")
        self.masked_image = W.Image(format="png")
        self.score_chart, self.causal_chart = ScoreChart(), CausalChart()
        self.score_line, self.score_figure = self.score_chart.line, self.score_chart.figure
        self.insertion_line, self.deletion_line = self.causal_chart.insertion, self.causal_chart.deletion
        self.causal_figure = self.causal_chart.figure

        def panel(title, widget):
            return W.VBox([W.HTML(f"<b>{title}</b>"), widget])

        self.single_box = W.HBox([panel("saliency overlay", self.overlay_image),
                                  panel("current mask", self.mask_image), panel("masked input", self.masked_image)])
        self.compare_box = W.HBox([], layout=W.Layout(display="none", flex_flow="row wrap"))
        self.compare_box.add_class("saliency-compare")
        sliders = list(self.option_sliders.values())
        super().__init__(children=[
            W.HTML(HIDE_FALLBACK_CSS),
            W.HBox([self.image_picker, self.upload]),
            W.HBox([W.VBox([self.class_dropdown, self.class_search]), W.VBox([self.mode, self.method_dropdown,
                                                                             self.compare_select,
                                                                             self.budget_slider])]),
            W.HBox(sliders),
            W.HBox([self.run_button, self.stop_button, self.progress]),
            self.status,
            self.single_box,
            self.compare_box,
            W.HBox([self.play, self.step_slider, self.step_label]),
            W.HBox([self.opacity, self.cmap]),
            self.metrics_html,
            W.HBox([self.score_figure, self.causal_figure]),
            W.HBox([self.causal_checkbox, self.save_path, self.save_button]),
        ], layout=W.Layout(border="1px solid #ddd", padding="6px"))
        self.add_class("saliency-explain-widget")
        if len(images) == 1:
            self.image_picker.layout.display = "none"

        # -- wiring (observers only build requests; the session computes) --------
        self.run_button.on_click(lambda _: self.run())
        self.stop_button.on_click(lambda _: self.stop())
        self.save_button.on_click(lambda _: self._save_clicked())
        self.method_dropdown.observe(self._on_method, names="value")
        self.class_dropdown.observe(self._on_class, names="value")
        self.class_search.observe(self._on_search, names="value")
        self.mode.observe(self._on_mode, names="value")
        self.compare_select.observe(self._on_setting, names="value")
        self.budget_slider.observe(self._on_setting, names="value")
        for s in sliders:
            s.observe(self._on_setting, names="value")
        self.causal_checkbox.observe(self._on_causal, names="value")
        self.opacity.observe(self._on_view, names="value")
        self.cmap.observe(self._on_view, names="value")
        self.step_slider.observe(self._on_step, names="value")
        self.image_picker.observe(self._on_image, names="value")
        self.upload.observe(self._on_upload, names="value")

        self._show_image(0)
        self._on_method(None)
        if compare:
            self.compare_select.value = tuple(_key(m) for m in compare)
            self.mode.value = "compare"

    # == public API ===========================================================
    @property
    def image(self) -> np.ndarray:
        """The image being explained."""
        return self._images[self.image_picker.value]

    @property
    def truth(self) -> dict:
        """Ground truth of the current image: ``{class index: (H, W) bool mask}``."""
        return self._truths[self.image_picker.value]

    @property
    def target(self) -> int:
        return int(self.class_dropdown.value)

    @target.setter
    def target(self, value: int):
        self._select_class(int(value))

    @property
    def running(self) -> bool:
        return self.session is not None and self.session.running

    def run(self) -> bool:
        """Explain the selected class with the selected method(s); ignored (False) while running."""
        try:
            request = self._request()
        except ValueError as exc:
            self._report_error(exc)
            return False
        self._ran = True
        self._set_running(True)
        accepted = self.session.run(request)
        return accepted

    def stop(self) -> None:
        """Stop the run after the batch in flight (and drop a pending restart)."""
        if self.session is not None:
            self.session.stop()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until no run is in progress or pending; False when ``timeout`` seconds passed first."""
        done = self.session.wait(timeout)
        if done:
            self._update_static(force=True)  # from the caller's cell: executed notebooks record it
        return done

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
            f.write(png_bytes(self._canvas.overlay_rgb(self.result.saliency)))
        os.replace(tmp, png)
        return npz, png

    def snapshot_png(self) -> bytes:
        """The current maps side by side, as PNG (the static view of the widget)."""
        c = self._canvas
        run = self._last_run
        if run is None or not any(m.result is not None for m in run.methods):
            return c.image_png()
        panels = []
        for m in run.methods:
            if m.result is not None:
                panels.append(c.overlay_rgb(m.result.saliency))
        if len(run.methods) == 1 and run.methods[0].result.mask is not None:
            mask = np.clip(run.methods[0].result.mask, 0, 1)
            panels += [np.repeat((mask * 255).astype(np.uint8)[..., None], 3, 2),
                       (c.rgb * mask[..., None]).astype(np.uint8)]
        gap = np.full((c.rgb.shape[0], 4, 3), 255, np.uint8)
        row = panels[0]
        for p in panels[1:]:
            row = np.concatenate([row, gap, p], axis=1)
        return png_bytes(upscale(row, c.scale))

    def _static_caption(self) -> str:
        run = self._last_run
        if run is None:
            return "ExplainWidget (static view): no run yet"
        names = ", ".join(m.choice.label for m in run.methods)
        return f"ExplainWidget (static view): {names} for {self.labels[run.request.target]}, {run.status}"

    def _repr_mimebundle_(self, **kwargs):
        data = super()._repr_mimebundle_(**kwargs) or {}
        if isinstance(data, tuple):
            data = data[0]
        data = dict(data)
        data["image/png"] = self.snapshot_png()
        return data

    def _ipython_display_(self):
        # The widget, then its static fallback as a second output that runs update (see static.py).
        from IPython.display import display
        display(self._repr_mimebundle_(), raw=True)
        self._static.display(self.snapshot_png(), self._static_caption())

    # == requests (what the controls ask for) ====================================
    def _choice(self, key: str) -> MethodChoice:
        spec = self.methods[key]
        budget = None
        if spec.budget is not None:
            budget = int(np.clip(self.budget_slider.value, spec.budget.low, spec.budget.high))
        options = {name: int(self.option_sliders[name].value) for name in spec.options}
        return MethodChoice(key, budget, options)

    def _request(self) -> RunRequest:
        if self.mode.value == "compare":
            keys = list(self.compare_select.value)
            if len(keys) < 2:
                raise ValueError("compare mode needs two or more methods: select them in the list")
        else:
            keys = [self.method_dropdown.value]
        return RunRequest(self.target, tuple(self._choice(k) for k in keys))

    def _settings_changed(self, *, rerun_after_a_run: bool) -> None:
        """A setting changed: restart a run in progress; after a run, re-run if asked."""
        if self._updating or self.session is None:
            return
        if self.running or (rerun_after_a_run and self._ran):
            try:
                request = self._request()
            except ValueError as exc:
                self._report_error(exc)
                return
            self._set_running(True)
            self.session.restart(request)

    # == observers (cheap: they never compute an explanation themselves) =========
    def _on_class(self, _change):
        self._canvas.truth = self.truth.get(self.target)
        if not self.running:
            with self.overlay_image.hold_sync():
                self.overlay_image.value = self._canvas.image_png()
        self._settings_changed(rerun_after_a_run=True)

    def _on_setting(self, _change):
        if self.mode.value == "compare":
            self._show_option_sliders()
        self._settings_changed(rerun_after_a_run=False)

    def _on_method(self, _change):
        spec = self.methods[self.method_dropdown.value]
        was, self._updating = self._updating, True
        try:
            with _hold(self.budget_slider, self.score_figure, *self.option_sliders.values()):
                if spec.budget is None:
                    self.budget_slider.layout.visibility = "hidden"
                else:
                    self.budget_slider.layout.visibility = "visible"
                    lo, hi = spec.budget.low, spec.budget.high
                    self.budget_slider.min, self.budget_slider.max = 0, max(hi, self.budget_slider.max)
                    self.budget_slider.max, self.budget_slider.min = hi, lo
                    self.budget_slider.value = spec.budget.default
                    self.budget_slider.step = max(1, lo // 2)
                    self.budget_slider.tooltip = (f"{spec.budget_arg}: forward passes in total")
                self._show_option_sliders()
                traced = spec.cls.__name__ == "MaskUpdate"
                self.score_figure.title = "p(target), first chain" if traced else "p(target) (not traced)"
        finally:
            self._updating = was
        self._settings_changed(rerun_after_a_run=False)

    def _show_option_sliders(self):
        if self.mode.value == "compare":
            used = {n for k in self.compare_select.value for n in self.methods[k].options}
        else:
            used = set(self.methods[self.method_dropdown.value].options)
        for name, slider in self.option_sliders.items():
            slider.layout.visibility = "visible" if name in used else "hidden"

    def _on_mode(self, change):
        compare = change["new"] == "compare"
        with _hold(self.method_dropdown, self.compare_select, self.single_box, self.compare_box,
                   self.budget_slider):
            self.method_dropdown.layout.display = "none" if compare else None
            self.compare_select.layout.display = None if compare else "none"
            self.single_box.layout.display = "none" if compare else None
            self.compare_box.layout.display = "flex" if compare else "none"
            self._show_option_sliders()
            # compare: every method with a budget runs on the slider's value (clipped to its range)
            no_budget = not compare and self.methods[self.method_dropdown.value].budget is None
            self.budget_slider.layout.visibility = "hidden" if no_budget else "visible"
        self._settings_changed(rerun_after_a_run=False)

    def _on_causal(self, change):
        if self.session is not None:
            self.session.causal = bool(change["new"])

    def _on_search(self, change):
        text = str(change["new"]).strip()
        if not text:
            return
        if text.isdigit():
            idx = int(text)
        elif text in self.labels:
            idx = self.labels.index(text)
        else:
            self.status.value = (f"<span style='color:#c00'>no class named {_esc(text)!r}: type a class name or "
                                 f"an index in [0, {len(self.labels)})</span>")
            return
        try:
            self._select_class(idx)
        except ValueError as exc:
            self._report_error(exc)

    def _on_view(self, _change):
        self._canvas.opacity, self._canvas.cmap = float(self.opacity.value), self.cmap.value
        if not self.running:
            self._render_replay(self.step_slider.value if self._replaying else None)

    def _on_step(self, change):
        if self._updating or self.running or self._last_run is None:
            return
        self._replaying = True
        self._render_replay(int(change["new"]))

    def _on_image(self, change):
        self._show_image(int(change["new"]))

    def _on_upload(self, change):
        files = change["new"]
        if not files:
            return
        f = files[0] if isinstance(files, (list, tuple)) else list(files.values())[0]
        name = f.get("name", "the file") if isinstance(f, dict) else getattr(f, "name", "the file")
        content = f["content"] if isinstance(f, dict) else f.content
        current = self.image
        channels = 1 if current.ndim == 2 or current.shape[-1] == 1 else 3
        try:
            img = image_from_bytes(content, current.shape[:2], channels=channels, name=repr(name))
            if current.ndim == 2:
                img = img[..., 0]
            self.model.prepare(img)
        except ValueError as exc:
            self._report_error(exc, hint="upload a PNG or JPEG image")
            return
        self._images.append(img)
        self._truths.append({})
        self._image_names.append(f"uploaded: {name}")
        with self.image_picker.hold_sync():
            self.image_picker.options = list(zip(self._image_names, range(len(self._images))))
            self.image_picker.layout.display = None
        self.image_picker.value = len(self._images) - 1  # -> _on_image -> _show_image

    def _save_clicked(self):
        try:
            npz, png = self.save(self.save_path.value)
            self.status.value = f"saved {_esc(npz)} and {_esc(png)}"
        except Exception as exc:
            self._report_error(exc)

    # == the image ===============================================================
    def _show_image(self, index: int) -> None:
        """Show image ``index``: a new session for it (the old one is stopped first)."""
        if self.session is not None:
            self.session.close()
        image = self._images[index]
        self.session = ExplainSession(self.model, image, listener=self._on_event, truth=self._truths[index],
                                      causal=bool(self.causal_checkbox.value), seed=self.seed,
                                      snapshots=self.snapshots)
        probs = self.session.probs
        self.probs = probs
        x = self.session._x
        rgb = to_rgb_uint8(image if image.ndim in (2, 3) else x)
        if rgb.shape[:2] != x.shape[:2]:
            rgb = to_rgb_uint8(x)
        self._canvas = Canvas(rgb, scale=max(1, round(256 / max(x.shape[:2]))), opacity=float(self.opacity.value),
                              cmap=self.cmap.value)
        self._last_run, self.result, self.curves, self._ran, self._replaying = None, None, {}, False, False
        order = [int(i) for i in np.argsort(-probs)[:self.top_k]]
        self._updating = True
        try:
            with _hold(self.class_dropdown, self.overlay_image, self.mask_image, self.masked_image,
                       self.metrics_html, self.progress, self.step_slider, self.play, self.step_label):
                self.class_dropdown.options = [(self._class_text(i), i) for i in order]
                self.class_dropdown.value = order[0]
                self._canvas.truth = self.truth.get(order[0])
                blank = self._canvas.image_png()
                self.overlay_image.value = blank
                self.mask_image.value = png_bytes(np.zeros_like(upscale(rgb, self._canvas.scale)))
                self.masked_image.value = blank
                self.metrics_html.value = ""
                self.progress.value = 0
                self.step_slider.max = self.play.max = 0
                self.step_label.value = ""
            self.score_chart.clear()
            self.causal_chart.clear()
            self.compare_box.children = []
        finally:
            self._updating = False
        self.status.value = "Pick a class and a method, then press <b>Run</b>."

    # == rendering what the session reports (called from its thread) ============
    def _on_event(self, event: str, run) -> None:
        if self.session is None or run is not self.session.last:
            return  # a session replaced by another image, or a superseded run
        self._last_run = run
        if event == "start":
            self._render_start(run)
        elif event == "update":
            self._render_update(run)
        else:
            self._render_finish(run)

    def _render_start(self, run) -> None:
        self._replaying = False
        names = ", ".join(f"<b>{_esc(m.choice.label)}</b>" for m in run.methods)
        budgets = ", ".join(str(m.budget) for m in run.methods)
        compare = len(run.methods) > 1
        if compare and [p.title.value for p in self._panels] != [f"<b>{_esc(m.choice.label)}</b>"
                                                                for m in run.methods]:
            self._panels = [MapPanel(m.choice.label, self._canvas.image_png()) for m in run.methods]
            self.compare_box.children = self._panels
        with _hold(self.progress, self.status, self.metrics_html, self.run_button, self.stop_button,
                   *self._panels):
            self._set_running(True)
            self.progress.max = max(1, run.methods[0].budget)
            self.progress.value = 0
            self.status.value = (f"running {names} for <b>{_esc(self.labels[run.request.target])}</b> "
                                 f"({budgets} forward passes)...")
            self.metrics_html.value = ""
            if compare:
                for p, m in zip(self._panels, run.methods):
                    p.progress.max, p.progress.value, p.metrics.value = max(1, m.budget), 0, ""
        self.score_chart.clear()
        self.causal_chart.clear()

    def _render_update(self, run) -> None:
        first = run.methods[0]
        if len(run.methods) > 1:
            for p, m in zip(self._panels, run.methods):
                if m.result is not None:
                    with _hold(p.image, p.progress):
                        p.image.value = self._canvas.overlay_png(m.result.saliency)
                        p.progress.value = min(m.result.n_forward, p.progress.max)
        exp = first.result
        if exp is None:
            return
        with _hold(self.overlay_image, self.mask_image, self.masked_image, self.progress, self.step_slider,
                   self.play, self.step_label):
            if len(run.methods) == 1:
                self.overlay_image.value = self._canvas.overlay_png(exp.saliency)
                if exp.mask is not None:
                    self.mask_image.value, self.masked_image.value = self._canvas.mask_pngs(exp.mask)
            self.progress.value = min(exp.n_forward, self.progress.max)
            last = max(0, len(first.snapshots) - 1)
            self._updating = True
            try:
                self.play.max = self.step_slider.max = last
                self.step_slider.value = last
            finally:
                self._updating = False
            every = first._every
            self.step_label.value = (f"pass {exp.n_forward}/{first.budget} - {len(first.snapshots)} snapshots, "
                                     f"one every {every} passes")
        if exp.trace is not None and len(exp.trace):
            self.score_chart.show(exp.trace, exp.n_forward, exp.params.get("chains"))

    def _render_finish(self, run) -> None:
        self._render_update(run)
        first = run.methods[0] if run.methods else None
        if first is not None and first.result is not None:
            self.result = first.result
        self.curves = dict(first.curves) if first is not None else {}
        self.error = run.error
        has_truth = run.request.target in self.truth
        with _hold(self.status, self.metrics_html, self.run_button, self.stop_button, *self._panels):
            if run.status == "error":
                self._report_error(run.error)
            else:
                self.status.value = self._finish_text(run)
            if first is not None and len(run.methods) == 1:
                self.metrics_html.value = metrics_html(first.metrics, has_truth=has_truth)
            elif len(run.methods) > 1:
                self.metrics_html.value = ""
                for p, m in zip(self._panels, run.methods):
                    p.metrics.value = metrics_html(m.metrics, has_truth=has_truth) if m.result else m.status
            if not self.session.pending:  # a restart follows at once: stay "running"
                self._set_running(False)
        if first is not None and first.curves:
            self.causal_chart.show(first.curves)
        self._update_static()

    def _finish_text(self, run) -> str:
        target = _esc(self.labels[run.request.target])
        parts = []
        for m in run.methods:
            exp = m.result
            label = f"<b>{_esc(m.choice.label)}</b>"
            if exp is None:
                parts.append(f"{m.status} before the first map: {label}")
            elif m.status == "done":
                parts.append(f"done: {label} (p = {exp.score:.3f}), {exp.n_forward} forward passes")
            else:
                parts.append(f"stopped at {exp.n_forward}/{m.budget}: {label}")
        return f"{'; '.join(parts)} for <b>{target}</b> in {run.seconds:.2f} s"

    def _render_replay(self, index: int | None) -> None:
        """Show snapshot ``index`` of every method (None: the final maps)."""
        run = self._last_run
        if run is None:
            return
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
        if len(run.methods) > 1:
            for p, v in zip(self._panels, views):
                if v is not None:
                    p.image.value = self._canvas.overlay_png(v[0])
            return
        v = views[0]
        if v is None:
            return
        with _hold(self.overlay_image, self.mask_image, self.masked_image, self.step_label):
            self.overlay_image.value = self._canvas.overlay_png(v[0])
            if v[1] is not None:
                self.mask_image.value, self.masked_image.value = self._canvas.mask_pngs(v[1])
            if v[3] is not None:
                self.step_label.value = f"replay: snapshot {v[3] + 1}/{len(run.methods[0].snapshots)} at pass {v[2]}"

    def _update_static(self, *, force: bool = False) -> None:
        try:
            self._static.update(self.snapshot_png(), self._static_caption(), force=force)
        except Exception:  # no IPython display (plain scripts): nothing to update
            pass

    # == helpers ================================================================
    def _class_text(self, i: int) -> str:
        return f"{self.labels[i]} ({self.probs[i]:.1%})"

    def _set_running(self, running: bool):
        with _hold(self.run_button, self.stop_button):
            self.run_button.disabled = running
            self.stop_button.disabled = not running
        if running:
            self.error = None

    def _report_error(self, exc: BaseException, *, hint: str = "fix the cause and press Run again") -> None:
        self.error = exc
        self.status.value = (f"<span style='color:#c00'><b>error</b>: {type(exc).__name__}: {_esc(exc)}</span>"
                             f" - {hint}.")

    def _select_class(self, idx: int):
        if not 0 <= idx < len(self.labels):
            raise ValueError(f"class {idx} is out of range: the model has {len(self.labels)} classes")
        values = [v for _, v in self.class_dropdown.options]
        if idx not in values:
            self.class_dropdown.options = list(self.class_dropdown.options) + [(self._class_text(idx), idx)]
        self.class_dropdown.value = idx


def _key(name) -> str:
    try:
        return get_method(name).key
    except ValueError:
        return str(name)


def _default_compare(methods: dict) -> list[str]:
    preferred = [k for k in ("mask-update", "mask-update-paper", "rise") if k in methods]
    return preferred if len(preferred) >= 2 else list(methods)[:2]
