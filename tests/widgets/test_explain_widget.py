"""The widget without a browser: set traits, click, wait, look at the traits."""
import time

import numpy as np
import pytest

pytest.importorskip("ipywidgets")
pytest.importorskip("bqplot")

from saliency_widgets import Explanation, ExplainWidget  # noqa: E402

from ..conftest import RegionModel  # noqa: E402


class ThreeClass:
    """Class 0 looks at the top-left, class 1 at the bottom-right, class 2 is constant."""

    def __init__(self, fail_after=None, delay=0.0):
        self.calls = 0
        self.fail_after = fail_after
        self.delay = delay

    def __call__(self, x):
        self.calls += 1
        if self.delay:
            time.sleep(self.delay)
        if self.fail_after is not None and self.calls > self.fail_after:
            raise RuntimeError("model exploded")
        a = x[:, :8, :8].mean((1, 2, 3))
        b = x[:, 8:, 8:].mean((1, 2, 3))
        s = np.stack([a, b * 0.9, np.full_like(a, 0.2)], 1) + 1e-3
        return s / s.sum(1, keepdims=True)


@pytest.fixture
def img():
    return np.ones((16, 16, 3), np.float32)


def make(model=None, img=None, **kw):
    kw.setdefault("labels", ["tl", "br", "const"])
    return ExplainWidget(model or ThreeClass(), img if img is not None else np.ones((16, 16, 3), np.float32), **kw)


def test_class_dropdown_lists_top_k_with_names_and_probabilities():
    w = make(top_k=2)
    labels = [t for t, _ in w.class_dropdown.options]
    assert len(labels) == 2 and labels[0].startswith("tl (") and labels[1].startswith("br (")
    assert w.target == 0


def test_run_updates_overlay_score_line_and_progress():
    w = make()
    w.method_dropdown.value = "mask-update"
    w.budget_slider.value = 400
    before = w.overlay_image.value
    w.run_button.click()
    assert w.wait(timeout=60)
    assert w.error is None, w.error
    assert w.overlay_image.value != before
    assert len(w.score_line.y) > 0 and len(w.score_line.x) == len(w.score_line.y)
    assert w.progress.value == w.progress.max == 400
    assert isinstance(w.result, Explanation) and w.result.done and w.result.target == 0
    assert not w.run_button.disabled and w.stop_button.disabled
    assert "done" in w.status.value
    assert len(w._snaps) <= w.snapshots + 1 and w.step_slider.max == len(w._snaps) - 1
    assert w.curves["insertion"].auc >= 0  # the insertion/deletion panel was filled
    assert len(w.insertion_line.y) == len(w.deletion_line.y) > 0


def test_top_of_map_follows_the_class():
    w = make()
    w.budget_slider.value = 1500
    w.run()
    assert w.wait(60)
    y, x = np.unravel_index(w.result.saliency.argmax(), (16, 16))
    assert y < 8 and x < 8
    w.class_dropdown.value = 1  # changing the class after a run starts a new run
    time.sleep(0.05)
    assert w.wait(60)
    assert w.result.target == 1
    y, x = np.unravel_index(w.result.saliency.argmax(), (16, 16))
    assert y >= 8 and x >= 8


def test_stop_stops_early():
    w = make(ThreeClass(delay=0.01))
    w.method_dropdown.value = "rise"
    w.budget_slider.value = 10000
    w.run()
    time.sleep(0.3)
    t0 = time.monotonic()
    w.stop_button.click()
    assert w.wait(timeout=30)
    assert time.monotonic() - t0 < 5  # generous: the point is that it does stop
    assert w.result is not None and not w.result.done and w.result.n_forward < 10000
    assert "stopped" in w.status.value


def test_second_run_while_running_is_ignored():
    w = make(ThreeClass(delay=0.005))
    w.budget_slider.value = 2000
    w.run()
    first = w._thread
    w.run()
    assert w._thread is first
    w.stop()
    assert w.wait(30)


def test_failing_model_is_reported_and_next_run_works():
    model = ThreeClass(fail_after=3)
    w = make(model)
    w.budget_slider.value = 300
    w.run()
    assert w.wait(30)
    assert w.error is not None and "model exploded" in w.status.value and "error" in w.status.value
    assert not w.run_button.disabled
    model.fail_after = None
    w.run()
    assert w.wait(30)
    assert w.error is None and w.result is not None and w.result.done


def test_any_class_by_name_or_index():
    w = make(top_k=1)
    w.class_search.value = "const"
    assert w.target == 2 and len(w.class_dropdown.options) == 2
    w.class_search.value = "1"
    assert w.target == 1
    w.class_search.value = "zebra"
    assert "no class named" in w.status.value and w.target == 1


def test_method_settings_follow_the_method():
    w = make()
    w.method_dropdown.value = "rise"
    assert w.budget_slider.description == "masks" and w.chains_slider.layout.visibility == "hidden"
    w.method_dropdown.value = "occlusion"
    assert w.budget_slider.layout.visibility == "hidden"
    w.run()
    assert w.wait(30) and w.result.method == "occlusion"


def test_truth_metrics_and_replay_and_save(tmp_path):
    w = make(truth=(0, 0, 8, 8))
    w.budget_slider.value = 600
    w.run()
    assert w.wait(30)
    assert "pointing game" in w.metrics_html.value and "IoU" in w.metrics_html.value
    shown = w.overlay_image.value
    w.step_slider.value = 0  # replay the first snapshot
    assert w.overlay_image.value != shown and "snapshot 1/" in w.step_label.value
    w.opacity.value = 0.9
    npz, png = w.save(tmp_path / "exp")
    assert Explanation.load(npz).n_forward == 600
    assert open(png, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    w.save_path.value = str(tmp_path / "clicked.npz")
    w.save_button.click()
    assert (tmp_path / "clicked.npz").exists() and (tmp_path / "clicked.png").exists()


def test_static_png_for_non_widget_frontends(img):
    w = make()
    bundle = w._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle and bundle["image/png"][:4] == b"\x89PNG"


@pytest.mark.parametrize("kwargs,exc,match", [
    (dict(labels=["a", "b"]), ValueError, "labels has 2 names but the model outputs 3"),
    (dict(truth=(0, 0, 40, 8)), ValueError, "outside"),
    (dict(top_k=0), ValueError, "top_k"),
    (dict(methods=["magic"]), ValueError, "unknown methods"),
])
def test_bad_constructor_input(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        make(**kwargs)


def test_image_the_model_cannot_take():
    with pytest.raises(ValueError, match="shape"):
        ExplainWidget(RegionModel(), np.ones((4, 16, 16, 3)))


def test_demo_model_classes_in_dropdown():
    from saliency_widgets.demo import CLASS_NAMES, load_model, make_scenes
    scene = make_scenes(1, seed=4)
    w = ExplainWidget(load_model(), scene.images[0], labels=CLASS_NAMES, top_k=3)
    names = [t.split(" (")[0] for t, _ in w.class_dropdown.options]
    assert len(names) == 3 and set(names) <= set(CLASS_NAMES)
    assert names[0] == CLASS_NAMES[scene.labels[0]]


def test_preprocess_is_applied_once_everywhere():
    raw = np.full((16, 16, 3), 200, np.uint8)
    w = ExplainWidget(ThreeClass(), raw, labels=["tl", "br", "const"], preprocess=lambda im: im / 255.0)
    w.budget_slider.value = 200
    w.run()
    assert w.wait(30) and w.error is None, w.error
    p_full = ThreeClass()((raw / 255.0)[None])[0, w.result.target]
    assert w.result.score == pytest.approx(p_full, rel=1e-5)
    # inserting every pixel gives back the unmasked image's probability
    assert w.curves["insertion"].scores[-1] == pytest.approx(p_full, rel=1e-5)


class Gated(ThreeClass):
    """ThreeClass whose first call from the run's thread blocks until the test releases it."""

    def __init__(self):
        super().__init__()
        import threading
        self.main = threading.main_thread()
        self.entered, self.release = threading.Event(), threading.Event()

    def __call__(self, x):
        import threading
        if threading.current_thread() is not self.main and not self.entered.is_set():
            self.entered.set()
            assert self.release.wait(60)
        return super().__call__(x)


def test_class_change_during_a_run_restarts_with_the_new_class():
    """Issue 12: the run stopped and the new class was never explained (the worker's run() saw itself)."""
    model = Gated()
    w = make(model)
    w.budget_slider.value = 2000
    w.run()
    assert model.entered.wait(60)  # the run is in flight
    w.class_dropdown.value = 1
    model.release.set()
    assert w.wait(60)
    assert w.result is not None and w.result.target == 1 and w.result.done, w.result
