"""ExplainWidget: pick an image, a class and a method (or several), press Run, watch the maps grow.

A thin view over :class:`saliency_widgets.session.ExplainSession`: the session owns the background
thread, restarts, replay snapshots and metrics; the widget turns user actions into requests
(:mod:`.controls`) and draws what the session reports (:mod:`.render`). Built from stock ipywidgets 8
and bqplot only (JupyterLab 4, Notebook 7, VS Code, Colab).
"""
from __future__ import annotations

import os

import ipywidgets as W
import numpy as np

from ..demo.imagenet import imagenet_labels
from ..explanation import Explanation
from ..models import as_model
from ..plotting import png_bytes, to_rgb_uint8
from ..registry import available_methods, get_method
from ..session import ExplainSession, truth_by_class
from .controls import Controls, hold
from .inputs import image_from_bytes, labelled_objects
from .panels import Canvas
from .render import RunView, esc
from .static import HIDE_FALLBACK_CSS

__all__ = ["ExplainWidget"]

# Controls and outputs reachable as attributes of the widget (scripts and tests drive them).
_CONTROLS = ("image_picker", "upload", "class_dropdown", "class_search", "mode", "method_dropdown",
             "compare_select", "budget_slider", "option_sliders", "run_button", "stop_button", "opacity", "cmap",
             "step_slider", "play", "save_path", "save_button", "causal_checkbox")
_OUTPUTS = ("progress", "status", "step_label", "metrics_html", "overlay_image", "mask_image", "masked_image",
            "single_box", "compare_box")


class ExplainWidget(W.VBox):
    """Interactive saliency explorer.

    Parameters
    ----------
    model : Keras 3 model, ``torch.nn.Module``, ``jax.jit``-wrapped JAX function, callable ``batch -> scores``
        or ModelAdapter
        Wrapped by :func:`~saliency_widgets.as_model` (a module gets channels-first batches on its own
        device, in eval mode). A JAX function that is not jit-wrapped needs ``framework="jax"``.
    image : (H, W, C) or (H, W) array, as the model (or ``preprocess``) takes it; or None with ``images``
    images : list of images or None, keyword-only
        Several images: the widget shows an image picker (uploaded files join the list).
    labels : sequence of class names or None, keyword-only
        Default: the ImageNet names for a 1000-class model, else "class i".
    preprocess : callable or None, keyword-only
        Applied to the image before the model (and before masking).
    framework : {"auto", "numpy", "torch", "jax"}, keyword-only
        What ``model`` is, when it is not detected (passed to :func:`~saliency_widgets.as_model`):
        ``"jax"`` for a JAX function of ``jax.Array`` batches that is not ``jax.jit``-wrapped.
    outputs : {"auto", "probabilities", "logits"}, keyword-only
        What the model returns (passed to :func:`~saliency_widgets.as_model`); ``"logits"`` has the
        scores softmaxed, so the class list and the maps read probabilities.
    truth : labelled ground truth, keyword-only
        ``{class (index or name): box, (H, W) mask or a list of them}`` (each box or mask is one object)
        or a list of labelled objects (a demo scene's ``objects``, ``(label, box or mask)`` pairs). The
        selected class's object boxes are drawn; the map is scored as
        :func:`~saliency_widgets.evaluate` scores it on the same objects (pointing on their union, box
        IoU with the best object box). A class without truth shows no pointing/IoU. With ``images``:
        a list with one such entry (or None) per image.
    methods : list of registry keys or labels, keyword-only
        Default: every registered method that applies (Grad-CAM only for Keras models).
    compare : list of registry keys or labels or None, keyword-only
        Start in compare mode with these methods side by side.
    top_k : int, keyword-only
        The class dropdown lists the classes present in the image first (those its truth names, marked
        "... ● in the image"), then the model's ``top_k`` most probable other classes; without truth,
        the model's top-k, marked "top-k".
    seed : int, keyword-only
        Seed of the explainers' random choices.
    snapshots : int, keyword-only
        At most this many states per method are kept for replay.
    causal : bool, keyword-only
        Compute the insertion/deletion curves after a completed run (the checkbox beside Run). They are
        extra work after the map, one forward pass per step of pixels and per curve (at the default step
        ``2 * (H + 1)`` passes per method: more than a small map's budget); the status line counts them
        apart from the map's.

    Examples
    --------
    Driving the widget from code: set the controls as a user would (they are attributes), then
    :meth:`run` (returns at once: the run is in the background and the kernel stays free), :meth:`wait`
    (True once the run, and any restart it caused, has ended) and read :attr:`explanation` (the map, an
    :class:`~saliency_widgets.Explanation`), :attr:`passes` (forward passes, counted by the model adapter
    as images were sent to the model), :attr:`seconds` (the whole run's wall time) and :attr:`error` (None
    unless the run failed; the status line says the same). The widget need not be displayed.

    >>> import numpy as np
    >>> from saliency_widgets import ExplainWidget
    >>> def model(batch):  # (B, H, W, C) -> (B, 2) probabilities; class 0 looks at the top-left corner
    ...     a = batch[:, :8, :8].mean(axis=(1, 2, 3))
    ...     return np.stack([a, 1 - a], axis=1)
    >>> image = np.zeros((16, 16, 3), np.float32)
    >>> image[:8, :8] = 1
    >>> w = ExplainWidget(model, image, labels=["top-left", "rest"], causal=False)
    >>> w.target = 0
    >>> w.method_dropdown.value = "rise"
    >>> w.budget_slider.value = 500
    >>> w.run()
    True
    >>> w.wait(timeout=120)
    True
    >>> w.explanation.method, w.explanation.n_forward, w.explanation.saliency.shape
    ('rise', 500, (16, 16))
    >>> w.passes  # the 500 masked images and the unmasked one; no curves (causal=False)
    {'map': 501, 'curves': 0, 'total': 501}
    >>> w.error is None
    True

    :meth:`run` returns False while a run is in progress (after a first run, choosing another class
    re-runs by itself), so ``run()`` then ``wait()`` works either way. :meth:`stop` stops after the batch
    in flight; :meth:`save` writes the map; :attr:`curves` holds the insertion/deletion curves. The run
    itself is :attr:`session` (an :class:`~saliency_widgets.session.ExplainSession`, usable without
    the widget).
    """

    def __init__(self, model, image=None, *, images=None, labels=None, preprocess=None, framework: str = "auto",
                 outputs: str = "auto", truth=None, methods=None, compare=None, top_k: int = 5, seed: int = 0,
                 snapshots: int = 100, causal: bool = True):
        # -- validate everything before anything is displayed --------------
        self.model = as_model(model, preprocess=preprocess, framework=framework, outputs=outputs)
        images, truths = _images_and_truths(image, images, truth)
        if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
            raise ValueError(f"top_k must be an integer >= 1, got {top_k!r}")
        self.top_k, self.seed, self.snapshots = top_k, seed, snapshots
        source = getattr(self.model, "gradient_source", None)
        self.methods = _offered_methods(methods, gradients=source[0] if source else None)
        k = self.model.predict(self.model.prepare(images[0])[None]).shape[1]
        if labels is None:
            labels = imagenet_labels() if k == 1000 else [f"class {i}" for i in range(k)]
        labels = [str(v) for v in labels]
        if len(labels) != k:
            raise ValueError(f"labels has {len(labels)} names but the model outputs {k} classes")
        self.labels = labels
        self._images = images
        self._objects = [labelled_objects(t, self.model.prepare(im).shape[:2], labels)
                         for im, t in zip(images, truths)]
        self._truths = [truth_by_class(o, self.model.prepare(im).shape[:2]) for im, o in zip(images, self._objects)]
        self._image_names = [f"image {i + 1}" for i in range(len(images))]

        # -- state ------------------------------------------------------------
        self.session: ExplainSession | None = None
        self.result: Explanation | None = None
        self.error: BaseException | None = None
        self.curves: dict = {}
        self._ran = False           # a run happened on this image: a class change re-runs
        self._marks: dict = {}      # class -> "in the image" / "top-k": how the dropdown marks it
        self._updating = False      # the widget sets controls itself: observers ignore those changes
        self._replaying = False
        self._last_run = None

        # -- controls and outputs ------------------------------------------------
        self.controls = c = Controls(self.methods, labels, causal=bool(causal))
        self.view = v = RunView(labels, step_slider=c.step_slider, play=c.play)
        for name in _CONTROLS:
            setattr(self, name, getattr(c, name))
        for name in _OUTPUTS:
            setattr(self, name, getattr(v, name))
        self.grid_slider = c.option_sliders.get("grid")
        self.chains_slider = c.option_sliders.get("chains")
        self.score_line, self.score_figure = v.score_chart.line, v.score_chart.figure
        self.insertion_line, self.deletion_line = v.causal_chart.insertion, v.causal_chart.deletion
        self.causal_figure = v.causal_chart.figure
        c.image_picker.options = list(zip(self._image_names, range(len(images))))
        c.image_picker.value = 0
        if len(images) == 1:
            c.image_picker.layout.display = "none"
        super().__init__(children=[
            W.HTML(HIDE_FALLBACK_CSS),
            W.HBox([c.image_picker, c.upload]),
            W.HBox([W.VBox([c.class_dropdown, c.class_search]),
                    W.VBox([c.mode, c.method_dropdown, c.compare_select, c.budget_slider])]),
            W.HBox(list(c.option_sliders.values())),
            W.HBox([c.run_button, c.stop_button, v.progress, c.causal_checkbox]),
            v.status,
            v.single_box,
            v.compare_box,
            W.HBox([c.play, c.step_slider, v.step_label]),
            W.HBox([c.opacity, c.cmap]),
            v.metrics_html,
            W.HBox([v.score_chart.box, v.causal_chart.box]),
            W.HBox([c.save_path, c.save_button]),
        ], layout=W.Layout(border="1px solid #ddd", padding="6px"))
        self.add_class("saliency-explain-widget")

        # -- wiring (observers only build requests; the session computes) --------
        c.run_button.on_click(lambda _: self.run())
        c.stop_button.on_click(lambda _: self.stop())
        c.save_button.on_click(lambda _: self._save_clicked())
        c.class_dropdown.observe(self._on_class, names="value")
        c.class_search.observe(self._on_search, names="value")
        c.method_dropdown.observe(self._on_method, names="value")
        c.mode.observe(self._on_mode, names="value")
        for w in (c.compare_select, c.budget_slider, *c.option_sliders.values()):
            w.observe(self._on_setting, names="value")
        c.causal_checkbox.observe(self._on_causal, names="value")
        c.opacity.observe(self._on_view, names="value")
        c.cmap.observe(self._on_view, names="value")
        c.step_slider.observe(self._on_step, names="value")
        c.image_picker.observe(self._on_image, names="value")
        c.upload.observe(self._on_upload, names="value")

        self._show_image(0)
        c.apply_method()
        if compare:
            c.compare_select.value = tuple(_key(m) for m in compare)
            c.mode.value = "compare"

    # == public API ===========================================================
    @property
    def image(self) -> np.ndarray:
        """The image being explained."""
        return self._images[self.image_picker.value]

    @property
    def truth(self) -> dict:
        """Ground truth of the current image: ``{class index: (H, W) bool mask}``, each class's objects' union."""
        return {c: mask for c, (mask, _) in self._truths[self.image_picker.value].items()}

    @property
    def truth_boxes(self) -> dict:
        """The current image's object boxes: ``{class index: [(x0, y0, x1, y1)]}`` (box IoU takes the best)."""
        return {c: list(boxes) for c, (_, boxes) in self._truths[self.image_picker.value].items()}

    @property
    def target(self) -> int:
        return int(self.class_dropdown.value)

    @target.setter
    def target(self, value: int):
        self._select_class(int(value))

    @property
    def running(self) -> bool:
        return self.session is not None and self.session.running

    @property
    def explanation(self) -> Explanation | None:
        """The latest finished run's map (its first method's in compare mode), or None before one; same as :attr:`result`."""
        return self.result

    @property
    def passes(self) -> dict | None:
        """Forward passes of the latest run, counted as the images were sent to the model: ``{"map": ...,
        "curves": ... (the insertion/deletion curves, extra work), "total": ...}``; None before a run
        (during one: the counts so far). The wall time is :attr:`seconds`."""
        run = self._last_run
        if run is None:
            return None
        return {"map": run.map_passes, "curves": run.curve_passes, "total": run.forward_passes}

    @property
    def seconds(self) -> float | None:
        """Wall time of the latest finished run, from the request to the end of its curves; None before one."""
        run = self._last_run
        return None if run is None or run.phase != "done" else run.seconds

    def run(self) -> bool:
        """Explain the selected class with the selected method(s) in the background; False (ignored) while a
        run is in progress. See the class docstring for driving the widget from code."""
        try:
            request = self.controls.request(self.target)
        except ValueError as exc:
            self._report_error(exc)
            return False
        self._ran = True
        self._set_running(True)
        return self.session.run(request)

    def stop(self) -> None:
        """Stop the run after the batch in flight (and drop a pending restart)."""
        if self.session is not None:
            self.session.stop()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until no run is in progress or pending (the curves included); False when ``timeout`` seconds
        passed first (the run goes on). Then read :attr:`explanation`, :attr:`passes`, :attr:`error`."""
        done = self.session.wait(timeout)
        if done:
            self.view.update_static(self._last_run, force=True)  # from the caller's cell: executors record it
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
            f.write(png_bytes(self.view.canvas.overlay_rgb(self.result.saliency)))
        os.replace(tmp, png)
        return npz, png

    def snapshot_png(self) -> bytes:
        """The current maps side by side, as PNG (the static view of the widget)."""
        return self.view.snapshot_png(self._last_run)

    def _repr_mimebundle_(self, **kwargs):
        data = super()._repr_mimebundle_(**kwargs) or {}
        if isinstance(data, tuple):
            data = data[0]
        data = dict(data)
        data["image/png"] = self.snapshot_png()
        return data

    def _ipython_display_(self):
        # The widget, then its static fallback as a second output that each run updates (see static.py).
        from IPython.display import display
        display(self._repr_mimebundle_(), raw=True)
        self.view.static.display(self.snapshot_png(), self.view.static_caption(self._last_run))

    # == observers (cheap: they build requests, the session computes) ============
    def _settings_changed(self, *, rerun_after_a_run: bool) -> None:
        """A setting changed: restart a run in progress; after a run, re-run if asked."""
        if self._updating or self.session is None:
            return
        if self.running or (rerun_after_a_run and self._ran):
            try:
                request = self.controls.request(self.target)
            except ValueError as exc:
                self._report_error(exc)
                return
            self._set_running(True)
            self.session.restart(request)

    def _on_class(self, _change):
        if self._updating:
            return  # _show_image sets the class and its truth itself
        self._sync_search()
        self.view.canvas.truth = self.truth_boxes.get(self.target)
        if not self.running:
            self.view.show_image()
        self._settings_changed(rerun_after_a_run=True)

    def _on_setting(self, _change):
        self.controls.apply_mode()
        self._settings_changed(rerun_after_a_run=False)

    def _on_method(self, _change):
        was, self._updating = self._updating, True
        try:
            self.controls.apply_method()
            traced = self.methods[self.method_dropdown.value].cls.__name__ == "MaskUpdate"
            self.score_figure.title = "p(target), first chain" if traced else "p(target) (not traced)"
        finally:
            self._updating = was
        self._settings_changed(rerun_after_a_run=False)

    def _on_mode(self, change):
        self.controls.apply_mode()
        self.view.show_mode(change["new"] == "compare")
        self._settings_changed(rerun_after_a_run=False)

    def _on_causal(self, change):
        if self.session is not None:
            self.session.causal = bool(change["new"])

    def _on_search(self, change):
        if self._updating:
            return  # the widget writes the selected class's name itself
        text = str(change["new"]).strip()
        if not text:
            return
        if text.isdigit():
            idx = int(text)
        elif text in self.labels:
            idx = self.labels.index(text)
        else:
            self.status.value = (f"<span style='color:#c00'>no class named {esc(text)!r}: type a class name or "
                                 f"an index in [0, {len(self.labels)})</span>")
            return
        try:
            self._select_class(idx)
        except ValueError as exc:
            self._report_error(exc)

    def _on_view(self, _change):
        self.view.canvas.opacity, self.view.canvas.cmap = float(self.opacity.value), self.cmap.value
        if self.running:
            return  # the next refresh draws with the new look
        if self._last_run is None:
            self.view.show_image()  # no map: the colour bar's strip in the new colours
        else:
            self.view.replay(self._last_run, self.step_slider.value if self._replaying else None)

    def _on_step(self, change):
        if self.view.updating_slider or self.running or self._last_run is None:
            return
        self._replaying = True
        self.view.replay(self._last_run, int(change["new"]))
        self.view.update_static(self._last_run)  # the picture is what is displayed

    def _on_image(self, change):
        self._show_image(int(change["new"]))

    def add_image(self, image, *, name: str | None = None, truth=None) -> int:
        """Add an image to the picker and show it; returns its index.

        Parameters
        ----------
        image : array as the model takes it, or the bytes of a PNG/JPEG file (resized to cover the
            current image's size and centre-cropped, as the Upload button does)
        name : str or None, keyword-only, its name in the picker
        truth : labelled ground truth for it (see the class docstring), keyword-only

        Raises
        ------
        ValueError
            For bytes that are not an image, or an image the model cannot take.
        """
        if isinstance(image, (bytes, bytearray, memoryview)):
            image = self._decode(image, repr(name) if name else "the file")
        image = np.asarray(image)
        x = self.model.prepare(image)
        objects = labelled_objects(truth, x.shape[:2], self.labels)
        self._truths.append(truth_by_class(objects, x.shape[:2]))
        self._objects.append(objects)
        self._images.append(image)
        self._image_names.append(name or f"image {len(self._images)}")
        with self.image_picker.hold_sync():
            self.image_picker.options = list(zip(self._image_names, range(len(self._images))))
            self.image_picker.layout.display = None
        self.image_picker.value = len(self._images) - 1  # -> _on_image -> _show_image
        return len(self._images) - 1

    def _on_upload(self, change):
        files = change["new"]
        if not files:
            return
        f = files[0]
        name = f.get("name", "the file") if isinstance(f, dict) else getattr(f, "name", "the file")
        content = f["content"] if isinstance(f, dict) else f.content
        try:
            self.add_image(self._decode(content, repr(name)), name=f"uploaded: {name}")
        except ValueError as exc:
            self._report_error(exc, hint="upload a PNG or JPEG image")

    def _decode(self, data, name: str) -> np.ndarray:
        """A file's bytes as an image of the current image's size and channels."""
        current = self.image
        channels = 1 if current.ndim == 2 or current.shape[-1] == 1 else 3
        image = image_from_bytes(bytes(data), current.shape[:2], channels=channels, name=name)
        return image[..., 0] if current.ndim == 2 else image

    def _save_clicked(self):
        try:
            npz, png = self.save(self.save_path.value)
            self.status.value = f"saved {esc(npz)} and {esc(png)}"
        except Exception as exc:
            self._report_error(exc)

    # == the image ===============================================================
    def _show_image(self, index: int) -> None:
        """Show image ``index``: a new session for it (the old one is stopped first)."""
        if self.session is not None:
            self.session.close()
        image = self._images[index]
        self.session = ExplainSession(self.model, image, listener=self._on_event, truth=self._objects[index],
                                      causal=bool(self.causal_checkbox.value), seed=self.seed,
                                      snapshots=self.snapshots)
        self.probs = probs = self.session.probs
        x = self.session._x
        rgb = to_rgb_uint8(image)
        if rgb.shape[:2] != x.shape[:2]:  # preprocess resized it: show what the model sees
            rgb = to_rgb_uint8(x)
        canvas = Canvas(rgb, scale=max(1, round(256 / max(x.shape[:2]))), opacity=float(self.opacity.value),
                        cmap=self.cmap.value)
        self._last_run, self.result, self.curves, self._ran, self._replaying = None, None, {}, False, False
        order = self._class_order(index)
        self._updating = True
        try:
            with self.class_dropdown.hold_sync():
                self.class_dropdown.options = [(self._class_text(i), i) for i in order]
                self.class_dropdown.value = order[0]
            self.class_search.value = self.labels[order[0]]
            canvas.truth = self.truth_boxes.get(order[0])
            self.view.image_name = self._image_names[index]
            self.view.reset(canvas)
            self._set_running(False)
        finally:
            self._updating = False
        self.view.update_static(None)  # the picture is the image now shown, not the last one's run

    def _class_order(self, index: int) -> list[int]:
        """The classes the dropdown lists: those present in image ``index`` (its truth) by probability, then
        the model's top-k others; the marks :meth:`_class_text` adds say which is which."""
        ranked = [int(i) for i in np.argsort(-self.probs, kind="stable")]
        present = [i for i in ranked if i in self._truths[index]]
        self._marks = {i: "in the image" for i in present}
        others = [i for i in ranked if i not in self._marks][:self.top_k]
        if not present:
            self._marks = {i: f"top-{self.top_k}" for i in others}
        return present + others

    # == what the session reports (called from its thread) =======================
    def _on_event(self, event: str, run) -> None:
        if self.session is None or run is not self.session.last:
            return  # the session of an image no longer shown
        self._last_run = run
        if event == "start":
            self._replaying = False
            self._set_running(True)
            self.view.start(run)
        elif event == "update":
            self.view.update(run)
        elif event == "curves":
            self.view.curves(run)
        else:
            first = run.methods[0] if run.methods else None
            if first is not None and first.result is not None:
                self.result = first.result
            self.curves = dict(first.curves) if first is not None else {}
            self.error = run.error
            self.view.finish(run, truth_boxes=self.truth_boxes)
            if not self.session.pending:  # else a restart follows at once: stay "running"
                self._set_running(False)
            self.view.update_static(run)

    # == helpers ================================================================
    def _class_text(self, i: int) -> str:
        mark = self._marks.get(i)
        if mark == "in the image":
            return f"{self.labels[i]} ({self.probs[i]:.1%}) ● in the image"  # the name first: type-ahead works
        if mark:
            return f"{self.labels[i]} ({self.probs[i]:.1%}) {mark}"
        return f"{self.labels[i]} ({self.probs[i]:.1%})"

    def _sync_search(self) -> None:
        """The search box shows the selected class's name (not what was typed for an earlier one)."""
        was, self._updating = self._updating, True
        try:
            self.class_search.value = self.labels[self.target]
        finally:
            self._updating = was

    def _set_running(self, running: bool):
        self.controls.set_running(running)
        if running:
            self.error = None

    def _report_error(self, exc: BaseException, *, hint: str = "fix the cause and press Run again") -> None:
        self.error = exc
        self.view.error(exc, hint=hint)

    def _select_class(self, idx: int):
        if not 0 <= idx < len(self.labels):
            raise ValueError(f"class {idx} is out of range: the model has {len(self.labels)} classes")
        values = [v for _, v in self.class_dropdown.options]
        if idx not in values:
            with hold(self.class_dropdown):
                self.class_dropdown.options = list(self.class_dropdown.options) + [(self._class_text(idx), idx)]
        self.class_dropdown.value = idx


def _key(name) -> str:
    try:
        return get_method(name).key
    except ValueError:
        return str(name)


def _images_and_truths(image, images, truth) -> tuple[list, list]:
    """The images to offer and one (unlabelled-checked later) truth entry per image."""
    if images is None:
        if image is None:
            raise ValueError("give an image (or images=[...] for a picker)")
        return [np.asarray(image)], [truth]
    if image is not None:
        raise ValueError("give either image or images=[...], not both")
    images = [np.asarray(im) for im in images]
    if not images:
        raise ValueError("images is empty: give at least one image")
    truths = [None] * len(images) if truth is None else list(truth)
    if len(truths) != len(images):
        raise ValueError(f"with images=, truth must be a list with one entry per image: got {len(truths)} "
                         f"entries for {len(images)} images")
    return images, truths


def _offered_methods(methods, *, gradients: str | None) -> dict:
    """The registry's methods the widget offers, in registry order: those that need gradients only for a
    model that has them from a framework the method supports (``gradients``: "keras", "torch", "jax" or None;
    Grad-CAM: Keras only)."""
    specs = available_methods(gradients=gradients)
    if methods is None:
        return specs
    unknown = [m for m in methods if _key(m) not in specs]
    if unknown:
        raise ValueError(f"unknown methods {unknown}; choose from {list(specs)} "
                         f"(labels: {[s.label for s in specs.values()]})")
    if not methods:
        raise ValueError("methods is empty: give at least one method")
    return {_key(m): specs[_key(m)] for m in methods}
