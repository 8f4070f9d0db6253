"""A run session apart from any view: one background thread, stop and restart requests, replay, metrics.

:class:`ExplainSession` is what :class:`~saliency_widgets.ExplainWidget` renders, and it imports
neither ipywidgets nor bqplot, so it is tested (and usable from scripts) on its own.

Rules it keeps, whatever the order of calls from any thread:

- never two runs at once: one worker thread runs one request at a time;
- latest wins, never a lost request: :meth:`ExplainSession.restart` during a run stops it after the
  batch in flight and then runs the newest request (earlier pending requests are dropped);
- :meth:`ExplainSession.run` while running is ignored (it returns False);
- :meth:`ExplainSession.stop` stops after the batch in flight and drops any pending request;
- an exception in the model or the explainer ends that run with status ``"error"`` and the session
  stays usable.

A *request* is the class to explain and one or more methods (several methods: compare mode, whose
explainers advance in turn, one batch each, so every map grows at once and each has its own progress).
"""
from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Mapping

import numpy as np

from . import metrics as M
from .explanation import Explanation
from .models import as_model
from .plotting.colorbar import display_range
from .registry import build_checked, get_method, label_of
from .truth import truth_by_class

__all__ = ["MethodChoice", "RunRequest", "MethodRun", "RunState", "ExplainSession", "build_explainer",
           "check_choice", "truth_by_class", "POINTING_TOLERANCE", "IOU_RULE", "IOU_THRESHOLD", "TIE_SEED"]

# The session scores a map as evaluate() does with its defaults (a test holds them equal), so a
# number in the widget is the number in evaluate()'s table for the same map and truth.
POINTING_TOLERANCE = 15   # pixels; strict pointing uses 0
IOU_RULE = "fraction"     # box IoU region: pixels >= IOU_THRESHOLD of the min-max normalised raw map
IOU_THRESHOLD = 0.5
TIE_SEED = 0              # random order among equal map values



@dataclass(frozen=True)
class MethodChoice:
    """One method of a request: a registry key or label, its budget and UI options.

    Parameters
    ----------
    method : str
        Registry key (``"rise"``) or label (``"RISE"``).
    budget : int or None
        Forward passes (steps / masks / samples); None: the method's interactive budget
        (its declaration's ``interactive_budget``, else the constructor's default).
    options : mapping
        Constructor settings the registry offers for this method (e.g. ``{"grid": 8}``).
    """

    method: str
    budget: int | None = None
    options: Mapping = field(default_factory=dict)

    @property
    def key(self) -> str:
        return get_method(self.method).key

    @property
    def label(self) -> str:
        """The label of the explainer this choice builds, with the forward passes it runs."""
        spec, budget, params = check_choice(self)
        return spec.label_for({spec.budget_arg: budget, **params} if budget is not None else params, budget=True)


@dataclass(frozen=True)
class RunRequest:
    """What to explain: class ``target`` with each of ``methods`` (one: a single map; several: compare)."""

    target: int
    methods: tuple = ()

    def __post_init__(self):
        methods = tuple(MethodChoice(m) if isinstance(m, str) else m for m in self.methods)
        if not methods:
            raise ValueError("a request needs at least one method")
        object.__setattr__(self, "methods", methods)


@dataclass
class MethodRun:
    """The state of one method within a run (what a map panel shows).

    Attributes
    ----------
    choice : MethodChoice
    label : str, what the explainer that runs is called (``label_of(explainer, budget=True)``).
    budget : int, forward passes the explainer will spend (0: no budget, e.g. Grad-CAM).
    result : Explanation or None, the latest (partial or final) map.
    snapshots : list of (n_forward, saliency float16 (H, W), mask float16 (H, W) or None, trace length,
        display range: the raw values drawn as 0 and 1 (:func:`~saliency_widgets.plotting.colorbar.display_range`)
        or None).
    status : "running" | "done" | "stopped" | "error"
    metrics : dict, pointing/IoU against the target's truth (when there is one) and insertion/deletion.
    curves : dict, {"insertion": Curve, "deletion": Curve} once computed.
    error : BaseException or None
    model_passes : int, images the model adapter sent to the model for this method's map (its masked
        images and the unmasked image), counted by the adapter as they were sent.
    gradient_passes : int, a gradient method's forward-and-backward passes (they go through the
        framework's autodiff, not the adapter: the explainer's own count, ``Explanation.n_forward``).
    curve_passes : int, images sent to the model for this method's insertion and deletion curves.
    """

    choice: MethodChoice
    budget: int = 0
    label: str = ""                  # the built explainer's label, with the forward passes it runs
    result: Explanation | None = None
    snapshots: list = field(default_factory=list)
    status: str = "running"
    metrics: dict = field(default_factory=dict)
    curves: dict = field(default_factory=dict)
    error: BaseException | None = None
    model_passes: int = 0
    gradient_passes: int = 0
    curve_passes: int = 0
    _next_snap: int = 0
    _every: int = 1
    _gradients: bool = False

    @property
    def map_passes(self) -> int:
        """Forward passes this method's map took (:attr:`model_passes` + :attr:`gradient_passes`)."""
        return self.model_passes + self.gradient_passes

    @property
    def snapshot_passes(self) -> list[int]:
        """The forward pass at which each kept snapshot was taken (what the replay slider steps through)."""
        return [int(s[0]) for s in self.snapshots]


@dataclass
class RunState:
    """One run of one request: per-method states and the run's overall status.

    ``phase`` is ``"map"`` while the explainers run, ``"curves"`` while the insertion/deletion curves are
    computed (extra work after the map; ``curve`` then names the method index and the curve), ``"done"``
    at the end. ``map_seconds`` is the wall time from the request to the last map, ``seconds`` the wall
    time of the whole run (the curves included).
    """

    request: RunRequest
    number: int
    methods: list = field(default_factory=list)
    status: str = "running"          # "running" | "done" | "stopped" | "error"
    error: BaseException | None = None
    seconds: float = 0.0
    map_seconds: float = 0.0
    phase: str = "map"               # "map" | "curves" | "done"
    curve: tuple | None = None       # (method index, "insertion" | "deletion") being computed
    curves_stopped: bool = False     # Stop (or a restart) came while the curves were computed
    started: float = 0.0             # time.perf_counter() at the request (what seconds count from)

    @property
    def result(self) -> Explanation | None:
        """The first method's latest map (the single-map view's result)."""
        return self.methods[0].result if self.methods else None

    @property
    def map_passes(self) -> int:
        """Forward passes of every method's map."""
        return sum(m.map_passes for m in self.methods)

    @property
    def curve_passes(self) -> int:
        """Forward passes of the insertion/deletion curves (0 when they were not computed)."""
        return sum(m.curve_passes for m in self.methods)

    @property
    def forward_passes(self) -> int:
        """Every forward pass the run made: maps and curves."""
        return self.map_passes + self.curve_passes

    @property
    def curve_seconds(self) -> float:
        """Wall time of the curves: :attr:`seconds` - :attr:`map_seconds`."""
        return max(0.0, self.seconds - self.map_seconds) if self.phase == "done" else 0.0


def check_choice(choice: MethodChoice):
    """``(spec, budget, params)`` for a choice, checked by :meth:`MethodSpec.check <saliency_widgets.registry.MethodSpec.check>`.

    A ValueError (TypeError for a non-integer) names the setting, its value and its
    range, in the same words as the CLI.  The choice's budget is the widget's budget
    slider, shared by every method of a compare request: a method without a budget
    ignores it (:meth:`~saliency_widgets.registry.MethodSpec.shared_budget`).
    """
    spec = get_method(choice.method)
    budget = choice.budget if choice.budget is not None else spec.ui_budget  # the widget's smaller default
    budget, params = spec.check(spec.shared_budget(budget), choice.options)
    return spec, budget, params


def build_explainer(choice: MethodChoice, model, *, seed=0, batch_size=None):
    """The explainer for ``choice`` from :func:`~saliency_widgets.registry.build_checked` (seeded, small batches).

    ``batch_size`` bounds the work between two looks at the stop flag (stop answers after the batch
    in flight).
    """
    spec, budget, params = check_choice(choice)
    return build_checked(spec.key, model, budget=budget, options=params, seed=seed, batch_size=batch_size)


class ExplainSession:
    """Runs explanations of one image in a background thread and reports to a listener.

    Parameters
    ----------
    model : Keras model, callable or ModelAdapter
    image : (H, W, C) or (H, W) array, as the model (or its ``preprocess``) takes it
    listener : callable ``(event, run)`` or None, keyword-only
        Called from the worker thread with ``event`` in ``"start"``, ``"update"`` (throttled to one per
        ``refresh_interval`` seconds), ``"curves"`` (before each insertion or deletion curve, when ``causal``:
        ``run.curve`` names it), ``"finish"`` (once per run, after its metrics and curves) and ``run`` the
        :class:`RunState`. An exception in the listener is reported as the run's error.
    truth : {class index: mask, box or list of them}, a list of labelled objects, or None, keyword-only
        Ground truth per class (forms: :func:`truth_by_class`); pointing and box IoU are computed only
        for a target that has truth, exactly as :func:`~saliency_widgets.evaluate` computes them with
        its defaults on the same objects (pointing: on the union of the class's objects, 15 px and
        strict; box IoU: the best over the class's object boxes of the box around the pixels >= 0.5 of
        the min-max normalised raw map). One mask is one object: give each object its own mask or box.
    causal : bool, keyword-only
        Compute insertion/deletion curves after a run that completed: extra forward passes after the
        map (per method, two curves of ``H + 1`` images each at the default step of one row of pixels),
        counted apart in ``RunState.curve_passes``. The attribute may be changed between runs.
    seed : int, keyword-only
        Seed of the explainers' random choices.
    snapshots : int, keyword-only
        At most this many states per method are kept for replay (>= 2).
    refresh_interval : float, keyword-only
        Seconds between two ``"update"`` events.
    batch_size : int or None, keyword-only
        Largest batch per forward call of the explainers (small: Stop answers faster).

    Attributes
    ----------
    truth : {class index: (H, W) bool mask}, the union of each class's objects (what pointing reads).
    truth_boxes : {class index: [(x0, y0, x1, y1)]}, each class's object boxes (what box IoU reads).
    last : RunState or None, the latest run.
    refresh_times : list of float, seconds after the request at which each update was reported.
    first_map_seconds : float or None, seconds from the request to the first map reported.

    Forward passes are counted by the model adapter as images are sent to the model
    (``ModelAdapter.forward_count``), per method and phase: ``RunState.map_passes``, ``curve_passes``,
    ``forward_passes``. The session sets ``count_compiled`` on its adapter, so the images of compiled
    device steps (JAX, TensorFlow on a GPU) are counted too, by a host callback per batch.
    """

    def __init__(self, model, image, *, listener: Callable | None = None, truth=None,
                 causal: bool = True, seed: int = 0, snapshots: int = 100, refresh_interval: float = 0.12,
                 batch_size: int | None = 16):
        self.model = as_model(model)
        self.model.count_compiled = True  # every image counted, inside compiled device steps too
        self.image = np.asarray(image)
        self._x = self.model.prepare(self.image)
        self.probs = self.model.predict(self._x[None])[0]  # (K,) class probabilities of the image
        self.listener = listener
        by_class = truth_by_class(truth, self._x.shape[:2])
        k = len(self.probs)
        outside = sorted(c for c in by_class if not 0 <= c < k)
        if outside:
            raise ValueError(f"truth names class {outside[0]}, out of range: the model has {k} classes")
        self.truth = {c: mask for c, (mask, _) in by_class.items()}
        self.truth_boxes = {c: boxes for c, (_, boxes) in by_class.items()}
        self.causal = bool(causal)
        self.seed = seed
        if isinstance(snapshots, bool) or not isinstance(snapshots, int) or snapshots < 2:
            raise ValueError(f"snapshots must be an integer >= 2, got {snapshots!r}")
        self.snapshots = snapshots
        self.refresh_interval = float(refresh_interval)
        self.batch_size = batch_size

        self.last: RunState | None = None
        self.refresh_times: list[float] = []
        self.first_map_seconds: float | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._pending: RunRequest | None = None
        self._in_run = False      # the worker has taken a request (under the lock)
        self._stop_next = False   # stop() came before the worker took its request
        self._requested_at = 0.0
        self._thread: threading.Thread | None = None
        self._runs = 0

    # == requests ===============================================================
    @property
    def running(self) -> bool:
        """True from an accepted request until its run (and any restart) has finished."""
        return not self._idle.is_set()

    @property
    def pending(self) -> bool:
        """True while a restart waits for the run in progress to stop."""
        return self._pending is not None

    def run(self, request: RunRequest) -> bool:
        """Start ``request``; ignored (returns False) while a run is in progress."""
        request = self._check(request)
        with self._lock:
            if not self._idle.is_set():
                return False
            self._start_locked(request)
            return True

    def restart(self, request: RunRequest) -> None:
        """Run ``request`` now: a run in progress stops after its batch in flight and this one follows.

        Several restarts during one run: only the latest is run.
        """
        request = self._check(request)
        with self._lock:
            if self._idle.is_set():
                self._start_locked(request)
            else:
                self._pending = request
                self._requested_at = time.perf_counter()
                self._stop_next = False  # the newest request runs, whatever was asked before it
                self._stop.set()

    def stop(self) -> None:
        """Stop the run in progress after its batch in flight and drop any pending request.

        A request accepted but not yet started still starts, and stops at once (its listener sees
        ``"start"`` and ``"finish"`` with status ``"stopped"``).
        """
        with self._lock:
            self._stop.set()
            if self._in_run:
                self._pending = None
            else:
                self._stop_next = True

    def wait(self, timeout: float | None = None) -> bool:
        """Block until no run is in progress or pending; False when ``timeout`` seconds passed first.

        ``timeout`` bounds the whole call (one deadline, whatever it waits on); a run started by another
        thread while this one waits is waited for too, and still running at the deadline gives False.
        """
        if threading.current_thread() is self._thread:
            raise RuntimeError("wait() was called from the session's own thread (e.g. in a listener): "
                               "it would wait for itself")
        # One deadline for both waits (each with the full timeout could block for twice as long).
        deadline = None if timeout is None else time.monotonic() + max(0.0, float(timeout))

        def left():
            return None if deadline is None else max(0.0, deadline - time.monotonic())

        while True:
            if not self._idle.wait(left()):
                return False
            thread = self._thread
            if thread is not None:
                thread.join(left())  # the worker sets idle as its last step: it ends right after
                if thread.is_alive():
                    return False  # still running at the deadline (e.g. a run started in between)
            if self._idle.is_set() and self._thread is thread:
                return True
            # another thread started a run between the two waits: wait for it too, same deadline

    def close(self, timeout: float | None = 10.0) -> bool:
        """Stop and wait for the worker thread to end."""
        self.stop()
        return self.wait(timeout)

    # == the worker ===============================================================
    def _check(self, request) -> RunRequest:
        if not isinstance(request, RunRequest):
            raise TypeError(f"a request is a RunRequest(target, methods), got {type(request).__name__}")
        k = len(self.probs)
        if not 0 <= request.target < k:
            raise ValueError(f"class {request.target} is out of range: the model has {k} classes")
        for choice in request.methods:
            check_choice(choice)  # unknown names and settings out of range fail here, at the call
        return request

    def _start_locked(self, request: RunRequest) -> None:
        self._pending = request
        self._requested_at = time.perf_counter()
        self._stop.clear()
        self._stop_next = False
        self._idle.clear()
        self._thread = threading.Thread(target=self._work, name="ExplainSession", daemon=True)
        self._thread.start()

    def _work(self) -> None:
        while True:
            with self._lock:
                request, self._pending = self._pending, None
                self._in_run = request is not None
                if request is None:
                    self._idle.set()  # last step, under the lock: a restart now starts a fresh thread
                    return
                if self._stop_next:
                    self._stop_next = False  # keep the stop flag: this run ends before its first batch
                else:
                    self._stop.clear()
                t0 = self._requested_at
                self._runs += 1
                state = RunState(request=request, number=self._runs, started=t0)
                self.last = state
            try:
                self._run_one(state, t0)
            except BaseException as exc:  # a failing view must not leave the session marked busy
                state.status, state.error = "error", exc

    def _emit(self, event: str, state: RunState) -> None:
        if self.listener is not None:
            self.listener(event, state)

    def _passes(self) -> int:
        """Images the session's model adapter has sent to the model so far (see ``ModelAdapter.forward_count``)."""
        return self.model.forward_count

    def _run_one(self, state: RunState, t0: float) -> None:
        self.first_map_seconds = None
        self.refresh_times = []
        gens = []
        try:
            for choice in state.request.methods:
                explainer = build_explainer(choice, self.model, seed=self.seed, batch_size=self.batch_size)
                mrun = MethodRun(choice=choice, budget=int(getattr(explainer, "budget", 0) or 0),
                                 label=label_of(explainer, budget=True),
                                 _gradients=get_method(choice.method).needs_gradients)
                mrun._every = max(1, math.ceil(max(1, mrun.budget) / (self.snapshots - 1)))
                state.methods.append(mrun)
                before = self._passes()
                gens.append(iter(explainer.iter_explain(self.image, state.request.target)))  # predicts the image
                mrun.model_passes += self._passes() - before
            self._emit("start", state)
            self._advance(state, gens, t0)
        except Exception as exc:
            state.status, state.error = "error", exc
            for m in state.methods:
                if m.status == "running":
                    m.status, m.error = "error", exc
        finally:
            for g in gens:
                close = getattr(g, "close", None)  # an iterator that is not a generator has nothing to stop
                if close is not None:
                    close()  # stops the explainers' loops (and their progress bars) at once
        state.map_seconds = time.perf_counter() - t0
        if state.status != "error":
            self._end_maps(state)
        state.seconds = time.perf_counter() - t0  # the whole run: maps, metrics and curves
        state.phase, state.curve = "done", None
        self._emit("finish", state)

    def _end_maps(self, state: RunState) -> None:
        """Each method's final status, then its metrics (and the curves, after a completed run)."""
        stopped = self._stop.is_set()
        for m in state.methods:
            if m.status == "running":
                m.status = "done" if m.result is not None and m.result.done else "stopped"
        state.status = "stopped" if any(m.status == "stopped" for m in state.methods) else "done"
        try:
            for m in state.methods:
                self._score(m)
            if self.causal and not stopped:
                state.phase = "curves"
                for i, m in enumerate(state.methods):
                    if m.status == "done" and not self._curves(state, i):
                        state.curves_stopped = True
                        break
        except Exception as exc:
            state.status, state.error = "error", exc

    def _advance(self, state: RunState, gens: list, t0: float) -> None:
        """Advance the explainers in turn, one batch each, until all are done or a stop is requested."""
        live = list(range(len(gens)))
        last_show = -math.inf
        while live and not self._stop.is_set():
            for i in list(live):
                mrun = state.methods[i]
                before = self._passes()
                try:
                    exp = next(gens[i])
                except StopIteration:
                    live.remove(i)
                    if mrun.result is None:
                        raise RuntimeError(f"{mrun.label} produced no map") from None
                    continue
                finally:
                    mrun.model_passes += self._passes() - before
                mrun.result = exp
                if mrun._gradients:  # through the framework's autodiff, not the adapter: the explainer's count
                    mrun.gradient_passes = int(exp.n_forward)
                self._snapshot(mrun, exp)
                if exp.done:
                    live.remove(i)
                if self._stop.is_set():
                    break
            now = time.perf_counter()
            if not live or now - last_show >= self.refresh_interval:
                if self.first_map_seconds is None:
                    self.first_map_seconds = now - t0
                self.refresh_times.append(now - t0)
                last_show = now
                self._emit("update", state)

    def _snapshot(self, mrun: MethodRun, exp: Explanation) -> None:
        if exp.n_forward < mrun._next_snap and not exp.done:
            return
        snap = (exp.n_forward, exp.saliency.astype(np.float16),
                None if exp.mask is None else exp.mask.astype(np.float16),
                0 if exp.trace is None else len(exp.trace),
                None if getattr(exp, "no_signal", False) else display_range(exp.saliency, exp.raw))
        if len(mrun.snapshots) >= self.snapshots:
            mrun.snapshots[-1] = snap  # the final state replaces the last one: never more than the limit
        else:
            mrun.snapshots.append(snap)
        mrun._next_snap = exp.n_forward + mrun._every

    def _score(self, mrun: MethodRun) -> None:
        """Pointing and box IoU of a method's final map against the target's truth (if any)."""
        exp = mrun.result
        if exp is None:
            return
        truth = self.truth.get(int(exp.target))
        if truth is not None:  # evaluate()'s scores (score_image) with its default settings
            mrun.metrics.update(M.localization_scores(
                exp.raw, truth, self.truth_boxes[int(exp.target)], tolerance=POINTING_TOLERANCE, iou_rule=IOU_RULE,
                iou_threshold=IOU_THRESHOLD, tie_seed=TIE_SEED))

    def _curves(self, state: RunState, index: int) -> bool:
        """Method ``index``'s insertion and deletion curves (extra forward passes, counted apart from the map's).

        Every method, the centre baseline included (its map reads no model, its curves do). Returns False,
        with no curves kept, when Stop or a restart came first: the stop flag is read before each curve.
        """
        mrun = state.methods[index]
        exp, curves = mrun.result, {}
        for kind, metric in (("insertion", M.insertion), ("deletion", M.deletion)):
            if self._stop.is_set():
                return False
            state.curve = (index, kind)
            self._emit("curves", state)
            before = self._passes()
            try:  # the metrics prepare (preprocess) the image themselves: give them the user's image
                curves[kind] = metric(self.model, self.image, exp.raw, exp.target)
            finally:
                mrun.curve_passes += self._passes() - before
        mrun.curves = curves
        mrun.metrics["insertion_auc"] = curves["insertion"].auc
        mrun.metrics["deletion_auc"] = curves["deletion"].auc
        return True
