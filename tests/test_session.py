"""ExplainSession on its own: a toy numpy model, waits on events, never on the clock."""
from __future__ import annotations

import sys
import threading

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from saliency_widgets.session import ExplainSession, MethodChoice, RunRequest, build_explainer


class Quadrants:
    """Class 0 looks at the top-left quadrant, class 1 at the bottom-right, class 2 is constant.

    Counts concurrent calls (two runs at once would overlap) and can block or fail on demand.
    """

    def __init__(self):
        self.main = threading.main_thread()
        self.entered = threading.Event()   # set by the first call from a worker thread
        self.release = threading.Event()   # a gated model waits for it in that call
        self.release.set()
        self.fail = False
        self.active = 0
        self.max_active = 0
        self._lock = threading.Lock()

    def gate(self):
        self.entered.clear()
        self.release.clear()
        return self

    def __call__(self, x):
        with self._lock:
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        try:
            if threading.current_thread() is not self.main and not self.entered.is_set():
                self.entered.set()
                assert self.release.wait(60), "the test never released the model"
            if self.fail:
                raise RuntimeError("model exploded")
            a = x[:, :8, :8].mean((1, 2, 3))
            b = x[:, 8:, 8:].mean((1, 2, 3))
            s = np.stack([a, b * 0.9, np.full_like(a, 0.2)], 1) + 1e-3
            return s / s.sum(1, keepdims=True)
        finally:
            with self._lock:
                self.active -= 1


class Recorder:
    """A listener that keeps every event and signals each finish."""

    def __init__(self):
        self.events = []
        self.finished = threading.Event()

    def __call__(self, event, run):
        self.events.append((event, run.number, run.request.target))
        if event == "finish":
            self.finished.set()


# Bright top-left and bottom-right quadrants on black: masking to the mean colour (the default occluder) dims either.
IMAGE = np.zeros((16, 16, 3), np.float32)
IMAGE[:8, :8] = IMAGE[8:, 8:] = 1.0
TL, BR = np.zeros((16, 16), bool), np.zeros((16, 16), bool)
TL[:8, :8] = True
BR[8:, 8:] = True


def rise(target, budget=200):
    return RunRequest(target, (MethodChoice("rise", budget, {"grid": 4}),))


def session(model=None, **kw):
    kw.setdefault("listener", Recorder())
    return ExplainSession(model or Quadrants(), IMAGE, **kw)


def no_session_thread_alive():
    return not any(t.name == "ExplainSession" and t.is_alive() for t in threading.enumerate())


def peak_in(saliency, mask):
    return bool(mask.flat[np.argmax(saliency)])


def test_session_imports_no_widget_framework():
    import subprocess
    code = ("import sys, saliency_widgets.session; "
            "bad = [m for m in ('ipywidgets', 'bqplot') if m in sys.modules]; assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_run_reports_start_updates_and_one_finish():
    s = session(truth={0: TL})
    assert s.run(rise(0, 400))
    assert s.wait(60)
    run = s.last
    kinds = [e for e, *_ in s.listener.events]
    assert kinds[0] == "start" and kinds[-1] == "finish" and kinds.count("finish") == 1
    assert "update" in kinds
    assert run.status == "done" and run.result.done and run.result.target == 0 and run.result.n_forward == 400
    assert peak_in(run.result.saliency, TL)
    m = run.methods[0]
    assert m.metrics["pointing"] is True and 0 < m.metrics["box_iou"] <= 1
    assert m.curves["insertion"].scores.shape == m.curves["deletion"].scores.shape
    assert s.first_map_seconds is not None and len(s.refresh_times) >= 1
    assert no_session_thread_alive()


def test_no_metrics_for_a_class_without_truth():
    s = session(truth={0: TL}, causal=False)
    s.run(rise(1))
    assert s.wait(60)
    assert s.last.status == "done" and s.last.methods[0].metrics == {}


def test_restart_during_a_run_explains_the_latest_request_and_never_overlaps():
    model = Quadrants().gate()
    s = session(model)
    s.run(rise(0, 2000))
    assert model.entered.wait(60)        # run 1 is inside the model
    s.restart(rise(2))                   # superseded before it could start...
    s.restart(rise(1, 300))              # ...by this one: latest wins
    model.release.set()
    assert s.wait(60)
    assert s.last.request == rise(1, 300) and s.last.status == "done" and s.last.result.target == 1
    assert peak_in(s.last.result.saliency, BR)
    finishes = [(n, t) for e, n, t in s.listener.events if e == "finish"]
    assert finishes == [(1, 0), (2, 1)]  # run 1 stopped, the superseded request never ran
    assert model.max_active == 1
    assert no_session_thread_alive()


def test_run_while_running_is_ignored():
    model = Quadrants().gate()
    s = session(model)
    assert s.run(rise(0, 300))
    assert model.entered.wait(60)
    assert s.run(rise(1)) is False
    model.release.set()
    assert s.wait(60)
    assert s.last.number == 1 and s.last.request.target == 0


def test_stop_ends_the_run_after_the_batch_in_flight_and_drops_pending():
    model = Quadrants().gate()
    s = session(model)
    s.run(rise(0, 10000))
    assert model.entered.wait(60)
    s.restart(rise(1))
    s.stop()
    model.release.set()
    assert s.wait(60)
    run = s.last
    assert run.number == 1 and run.status == "stopped"
    # the gate held the explainer's first call (the unmasked image): it stopped before any batch of masks
    assert run.result is None and run.methods[0].curves == {}
    assert [e for e, *_ in s.listener.events] == ["start", "finish"]


def test_stop_during_a_batch_ends_the_run_right_after_that_batch():
    """Stop answers after the batch in flight: batches are small (16 masks), the flag is checked after each."""
    model = Quadrants()
    calls, hold, held = [], threading.Event(), threading.Event()
    inner = model.__call__

    def blocking(x):  # the worker's 3rd call (unmasked image, batch 1, batch 2) waits for the test
        if threading.current_thread() is not model.main:
            calls.append(len(x))
            if len(calls) == 3:
                held.set()
                assert hold.wait(60)
        return inner(x)

    s = ExplainSession(blocking, IMAGE, causal=False)
    s.run(rise(0, 10000))
    assert held.wait(60)
    s.stop()
    hold.set()
    assert s.wait(60)
    assert s.last.status == "stopped" and s.last.result.n_forward == 32 and calls[1:] == [16, 16]


def test_an_error_in_the_model_is_reported_and_the_session_stays_usable():
    model = Quadrants()
    model.fail = True
    with pytest.raises(RuntimeError, match="model exploded"):
        session(model)  # the constructor's prediction already fails: a clear error at once
    model.fail = False
    s = session(model)
    model.fail = True
    s.run(rise(0))
    assert s.wait(60)
    assert s.last.status == "error" and "model exploded" in str(s.last.error)
    assert s.listener.events[-1][0] == "finish"
    model.fail = False
    assert s.run(rise(0))
    assert s.wait(60) and s.last.status == "done"


def test_an_error_in_the_listener_is_reported_and_does_not_block():
    calls = []

    def listener(event, run):
        calls.append(event)
        if event == "start" and len(calls) == 1:
            raise ValueError("view broke")

    s = session(listener=listener)
    s.run(rise(0))
    assert s.wait(60)
    assert s.last.status == "error" and "view broke" in str(s.last.error)
    s.run(rise(0))
    assert s.wait(60) and s.last.status == "done"


def test_snapshots_are_bounded():
    s = session(snapshots=10, causal=False)
    s.run(RunRequest(0, (MethodChoice("mask-update", 3000, {"grid": 4, "chains": 4}),)))
    assert s.wait(120)
    snaps = s.last.methods[0].snapshots
    assert 2 <= len(snaps) <= 10
    assert snaps[-1][0] == 3000 and [n for n, *_ in snaps] == sorted(n for n, *_ in snaps)


def test_compare_mode_runs_every_method_with_its_own_progress_and_metrics():
    s = session(truth={0: TL, 1: BR})
    req = RunRequest(0, ("rise", MethodChoice("mask-update", 640, {"grid": 4, "chains": 8}), "occlusion"))
    s.run(req)
    assert s.wait(120)
    run = s.last
    assert [m.choice.key for m in run.methods] == ["rise", "mask-update", "occlusion"]
    assert all(m.status == "done" and m.result.done for m in run.methods)
    assert [m.result.n_forward for m in run.methods[:2]] == [2000, 640]
    for m in run.methods:
        assert {"pointing", "box_iou", "insertion_auc", "deletion_auc"} <= set(m.metrics)
        assert peak_in(m.result.saliency, TL), m.choice.key


@pytest.mark.parametrize("choice,match", [
    (MethodChoice("rise", 200, {"chains": 4}), "offers no setting"),
    (MethodChoice("rise", 200, {"grid": 99}), "outside its range"),
    (MethodChoice("rise", 0), "outside its range"),
    (MethodChoice("magic"), "unknown method"),
])
def test_bad_requests_raise_clear_errors(choice, match):
    s = session()
    with pytest.raises(ValueError, match=match):
        s.run(RunRequest(0, (choice,)))
    assert s.last is None  # refused at the call: nothing started


def test_bad_request_objects():
    s = session()
    with pytest.raises(TypeError, match="RunRequest"):
        s.run(0)
    with pytest.raises(ValueError, match="out of range"):
        s.run(rise(7))
    with pytest.raises(ValueError, match="at least one method"):
        RunRequest(0, ())


def test_small_batches_bound_the_work_between_stop_checks():
    exp = build_explainer(MethodChoice("rise", 200), Quadrants(), batch_size=16)
    assert exp.model.batch_size == 16


ACTIONS = st.lists(st.one_of(
    st.tuples(st.just("run"), st.integers(0, 2)),
    st.tuples(st.just("restart"), st.integers(0, 2)),
    st.tuples(st.just("stop"), st.just(0)),
), min_size=1, max_size=8)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(actions=ACTIONS, budget=st.sampled_from([100, 160, 400]))
def test_random_interaction_sequences_end_in_the_requested_state(actions, budget):
    model = Quadrants()
    s = ExplainSession(model, IMAGE, causal=False, refresh_interval=0.0)
    expected, issued, stopped_last = None, [], False
    for kind, target in actions:
        req = rise(target, budget)
        if kind == "run":
            if s.run(req):
                expected, stopped_last = req, False
                issued.append(req)
        elif kind == "restart":
            s.restart(req)
            expected, stopped_last = req, False
            issued.append(req)
        else:
            s.stop()
            stopped_last = True
    assert s.wait(120)
    assert model.max_active == 1 or not issued
    assert not s._thread or not s._thread.is_alive()
    if not issued:
        assert s.last is None
        return
    last = s.last
    assert last.status != "error", last.error
    if stopped_last:
        # the stop ended whichever run was in flight (or it had finished); nothing ran after it
        assert last.request in issued and last.status in ("stopped", "done")
    else:
        # latest wins, never lost: the last request was explained to the end
        assert last.request == expected and last.status == "done" and last.result.done
        assert last.result.target == expected.target and last.result.n_forward == budget


def test_occlusion_reports_its_budget_before_its_first_batch():
    """The widget's progress bar reads the budget at the start (it was 0 until the first batch ran)."""
    from saliency_widgets.registry import build
    occ = build("occlusion", Quadrants())
    gen = occ.iter_explain(IMAGE, 0)
    assert occ.budget > 0
    last = None
    for last in gen:
        pass
    assert last.n_forward == occ.budget


def test_check_choice_passes_on_the_checked_integers():
    from saliency_widgets.session import check_choice
    _, budget, params = check_choice(MethodChoice("rise", 300, {"grid": np.int64(4)}))
    assert budget == 300 and params == {"grid": 4} and type(params["grid"]) is int
    with pytest.raises(TypeError, match="grid"):
        check_choice(MethodChoice("rise", 300, {"grid": 4.5}))


# == box IoU and pointing: the session scores as evaluate() does ===============================
class FixedMap:
    """An 'explainer' for evaluate() that returns a given Explanation: both score the very same map."""

    method, params = "fixed", {}

    def __init__(self, exp):
        self.exp = exp

    def explain(self, image, target):
        return self.exp


def evaluate_row(exp, truth):
    """evaluate()'s row for ``exp`` on IMAGE with ``truth`` (evaluate's list of objects), defaults."""
    from saliency_widgets.evaluation import evaluate
    rows = evaluate({"m": FixedMap(exp)}, [IMAGE], [truth], metrics=("pointing", "pointing_strict", "box_iou"),
                    progress=False, sanity=False)
    (row,) = [r for r in rows if r["target"] == exp.target]
    return row


def test_box_iou_of_two_objects_of_one_class_is_scored_as_evaluate_scores_it():
    """Two separated objects of class 0 (TL and BR), the map on TL only: IoU with the best object box
    (evaluate's rule), not with the box around both objects."""
    s = session(truth={0: [TL, BR]}, causal=False)  # one mask per object
    s.run(RunRequest(0, ("occlusion",)))  # occlusion's map of class 0 is TL (grown by half a patch)
    assert s.wait(60) and s.last.status == "done", s.last.error
    exp, metrics = s.last.result, s.last.methods[0].metrics
    row = evaluate_row(exp, [(0, TL), (0, BR)])
    assert metrics["box_iou"] == pytest.approx(row["box_iou"], abs=1e-12)
    assert metrics["pointing"] == row["hit"] and metrics["pointing_strict"] == row["hit_strict"]
    from saliency_widgets import metrics as M
    union_box_iou = M.box_iou(exp.raw, (0, 0, 16, 16))
    assert metrics["box_iou"] > union_box_iou  # the map covers TL: the old union-box rule scored it lower


@pytest.mark.parametrize("truth,objects", [
    ({0: TL | BR}, [(0, TL | BR)]),                   # one mask is one object, whatever its components
    ({0: [(0, 0, 8, 8), (8, 8, 16, 16)]}, [(0, (0, 0, 8, 8)), (0, (8, 8, 16, 16))]),  # boxes, one per object
    ([(0, TL), (0, BR)], [(0, TL), (0, BR)]),         # evaluate()'s own list of objects
    ({0: np.stack([TL, BR])}, [(0, TL), (0, BR)]),    # (N, H, W): N object masks
    ({0: TL.tolist()}, [(0, TL)]),                    # a mask as nested lists (as the old session took it)
    ({0: np.array([(0, 0, 8, 8), (8, 8, 16, 16)])}, [(0, (0, 0, 8, 8)), (0, (8, 8, 16, 16))]),  # (N, 4) boxes
])
def test_every_truth_form_scores_as_evaluate_does_on_the_same_objects(truth, objects):
    s = session(truth=truth, causal=False)
    s.run(rise(0, 200))
    assert s.wait(60) and s.last.status == "done", s.last.error
    row = evaluate_row(s.last.result, objects)
    metrics = s.last.methods[0].metrics
    assert metrics["box_iou"] == pytest.approx(row["box_iou"], abs=1e-12)
    assert metrics["pointing"] == row["hit"] and metrics["pointing_strict"] == row["hit_strict"]


BOXES = st.tuples(st.integers(0, 14), st.integers(0, 14), st.integers(1, 8), st.integers(1, 8)).map(
    lambda t: (t[0], t[1], min(16, t[0] + t[2]), min(16, t[1] + t[3])))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(boxes=st.lists(BOXES, min_size=1, max_size=3))
def test_box_iou_agrees_with_evaluate_for_any_objects(boxes):
    """The centre baseline (no model, deterministic) against random object boxes of class 0."""
    s = ExplainSession(Quadrants(), IMAGE, truth={0: boxes}, causal=False)
    s.run(RunRequest(0, ("center",)))
    assert s.wait(60) and s.last.status == "done", s.last.error
    row = evaluate_row(s.last.result, [(0, b) for b in boxes])
    assert s.last.methods[0].metrics["box_iou"] == pytest.approx(row["box_iou"], abs=1e-12)


def test_metric_settings_are_evaluate_defaults():
    """The session's fixed settings are evaluate()'s defaults: change one, and this test says so."""
    import inspect
    from saliency_widgets import session as S
    from saliency_widgets.evaluation import evaluate
    p = inspect.signature(evaluate).parameters
    assert (S.POINTING_TOLERANCE, S.IOU_RULE, S.IOU_THRESHOLD, S.TIE_SEED) == (
        p["tolerance"].default, p["iou_rule"].default, p["iou_threshold"].default, p["tie_seed"].default)


@pytest.mark.parametrize("truth,match", [
    ({0: np.zeros((16, 16), bool)}, "empty mask"),
    ({0: np.ones((8, 8), bool)}, "shape"),
    ({0: np.ones((2, 5))}, r"mask has shape \(2, 5\) but the image is \(16, 16\)"),
    ({5: TL}, "class 5"),
    ({"cat": TL}, "class index"),
    ({0: "TL"}, "mask"),
    ({0: (0, 0, 20, 8)}, "outside"),
])
def test_bad_truth_is_refused_at_construction(truth, match):
    with pytest.raises(ValueError, match=match):
        session(truth=truth)


# == wait(timeout): one deadline ==============================================================
class FakeClock:
    """The session's ``time`` module with a ``monotonic`` clock the test moves (no wall-clock bounds)."""

    def __init__(self):
        import time
        self._time, self.now = time, 1000.0

    def __getattr__(self, name):
        return getattr(self._time, name)

    def monotonic(self):
        return self.now


class RecordingIdle(threading.Event):
    """The session's idle flag, recording the timeout of every wait on it; once armed, the next wait
    lets run 1 end, moves the clock by ``late`` seconds and starts run 2 at that instant (what a
    second thread calling run() then does)."""

    def __init__(self, clock, late=0.0, on_idle=None):
        super().__init__()
        self.set()
        self.clock, self.late, self.on_idle, self.armed = clock, late, on_idle, False
        self.timeouts = []

    def wait(self, timeout=None):
        if threading.current_thread() is not threading.main_thread():
            return super().wait(timeout)
        self.timeouts.append(timeout)
        if not self.armed:
            return super().wait(timeout)
        self.armed = False
        self.on_idle()
        return True


def test_wait_keeps_one_deadline_for_both_of_its_waits(monkeypatch):
    """Run 1 ends 0.28 s into wait(0.3) and run 2 starts at that instant (blocked in the model): wait must
    join run 2 for the 0.02 s left and return False (a run is in progress), not wait another 0.3 s."""
    from saliency_widgets import session as session_module
    opened, entered = threading.Event(), threading.Event()

    def model(x):
        if threading.current_thread() is not threading.main_thread():
            entered.set()
            assert opened.wait(60), "the test never opened the model"
        return Quadrants()(x)

    s = ExplainSession(model, IMAGE, causal=False)
    clock = FakeClock()

    def run_1_ends_late_and_run_2_starts():
        opened.set()
        assert threading.Event.wait(idle, 60)  # run 1 has ended
        clock.now += 0.28
        opened.clear()
        entered.clear()
        assert s.run(rise(1, 100))
        assert entered.wait(60)

    idle = s._idle = RecordingIdle(clock, on_idle=run_1_ends_late_and_run_2_starts)
    assert s.run(rise(0, 100))
    assert entered.wait(60)
    joins, real_join = [], threading.Thread.join

    def join(self, timeout=None):
        if threading.current_thread() is threading.main_thread():
            joins.append(timeout)
        return real_join(self, timeout)

    monkeypatch.setattr(session_module, "time", clock)
    monkeypatch.setattr(threading.Thread, "join", join)
    idle.armed = True
    try:
        assert s.wait(0.3) is False  # run 2 is in progress
        assert s.running
        assert idle.timeouts == [pytest.approx(0.3)]
        assert joins and joins[0] == pytest.approx(0.02) and all(t <= 0.02 + 1e-9 for t in joins)
    finally:
        monkeypatch.undo()
        opened.set()
    assert s.wait(60) and s.last.status == "done"


def test_wait_on_a_run_that_never_ends_returns_false_by_its_deadline(monkeypatch):
    from saliency_widgets import session as session_module
    model = Quadrants().gate()
    s = session(model)
    clock = FakeClock()
    idle = s._idle = RecordingIdle(clock)
    monkeypatch.setattr(session_module, "time", clock)
    s.run(rise(0, 200))
    assert model.entered.wait(60)
    try:
        assert s.wait(0.3) is False
        assert idle.timeouts == [pytest.approx(0.3)]  # one wait, for the timeout given, and no join after it
    finally:
        monkeypatch.undo()
        model.release.set()
    assert s.wait(60)


# -- forward passes and wall time: what the run really cost (the map and the curves, counted apart) -------

class Counting(Quadrants):
    """Quadrants that counts every image it is given."""

    def __init__(self):
        super().__init__()
        self.images = 0

    def __call__(self, x):
        self.images += len(x)
        return super().__call__(x)


class Phases(Recorder):
    """A recorder that also keeps the clock at each event and can act on the first ``"curves"`` event."""

    def __init__(self, on_curves=None):
        super().__init__()
        self.times, self.on_curves, self.curves = [], on_curves, []

    def __call__(self, event, run):
        import time
        self.times.append((event, time.perf_counter()))
        if event == "curves":
            self.curves.append(run.curve)
            if self.on_curves is not None:
                action, self.on_curves = self.on_curves, None
                action()
        super().__call__(event, run)


def test_every_forward_pass_is_counted_map_and_curves_apart():
    """Reported: a 100-pass RISE run put 623 images through the model and said "100 forward passes"."""
    model = Counting()
    s = session(model, listener=Phases())
    before = model.images  # the constructor's prediction is not part of a run
    assert s.run(rise(0, 100))
    assert s.wait(60)
    run, m = s.last, s.last.methods[0]
    assert run.forward_passes == model.images - before          # the model's own count
    assert m.map_passes == m.model_passes == m.result.n_forward + 1  # the masks and the unmasked image
    assert m.curve_passes == len(m.curves["insertion"].scores) + len(m.curves["deletion"].scores) > 0
    assert run.forward_passes == run.map_passes + run.curve_passes and run.curve_passes > run.map_passes / 10
    assert s.listener.curves == [(0, "insertion"), (0, "deletion")]
    kinds = [e for e, _ in s.listener.times]
    assert kinds.index("curves") > max(i for i, k in enumerate(kinds) if k == "update") and kinds[-1] == "finish"


def test_without_curves_the_map_is_all_the_work():
    model = Counting()
    s = session(model, causal=False)
    before = model.images
    s.run(rise(0, 100))
    assert s.wait(60)
    assert s.last.curve_passes == 0 and s.last.forward_passes == model.images - before == 101
    assert "curves" not in [e for e, *_ in s.listener.events]


def test_compare_mode_counts_each_method_apart():
    model = Counting()
    s = session(model)
    before = model.images
    s.run(RunRequest(0, (MethodChoice("rise", 100, {"grid": 4}), MethodChoice("occlusion"),
                         MethodChoice("center"))))
    assert s.wait(60)
    rise_run, occ, centre = s.last.methods
    assert s.last.forward_passes == model.images - before
    assert rise_run.model_passes == 101 and occ.model_passes == occ.result.n_forward + 1
    assert centre.model_passes == 0 and centre.curve_passes > 0  # its map reads no model, its curves do
    assert all(m.curve_passes == len(m.curves["insertion"].scores) * 2 for m in s.last.methods)


def test_the_run_time_covers_the_curves():
    """Reported: the status said 43 s for a run of 408 s (the time was taken before the curves)."""
    s = session(Counting(), listener=Phases())
    s.run(rise(0, 100))
    assert s.wait(60)
    run, times = s.last, dict(s.listener.times)  # the last time of each event
    first_start = next(t for e, t in s.listener.times if e == "start")
    assert run.seconds >= times["finish"] - first_start   # from the request to the end of the curves
    assert 0 < run.map_seconds < run.seconds
    assert run.curve_seconds == pytest.approx(run.seconds - run.map_seconds)


def test_stop_during_the_curves_ends_the_run_without_them():
    holder = {}
    s = session(Counting(), listener=Phases(on_curves=lambda: holder["s"].stop()))
    holder["s"] = s
    s.run(rise(0, 100))
    assert s.wait(60)
    run = s.last
    assert run.curves_stopped and run.methods[0].curves == {} and "insertion_auc" not in run.methods[0].metrics
    assert run.methods[0].status == "done" and run.status == "done"  # the map itself completed
    assert s.listener.curves == [(0, "insertion")]


def test_a_restart_during_the_curves_runs_the_new_request_at_once():
    holder = {}
    s = session(Counting(), listener=Phases(on_curves=lambda: holder["s"].restart(rise(1, 100))))
    holder["s"] = s
    s.run(rise(0, 100))
    assert s.wait(60)
    assert s.last.number == 2 and s.last.request.target == 1 and s.last.methods[0].curves
    assert s.listener.curves == [(0, "insertion"), (0, "insertion"), (0, "deletion")]  # run 1's, then run 2's
