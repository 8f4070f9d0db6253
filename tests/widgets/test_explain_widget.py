"""The widget without a browser: set traits, click, wait on the session, look at the traits.

ipywidgets and bqplot are hard dependencies: these tests never skip.
"""
import datetime
import io
import threading

import numpy as np
import pytest
from PIL import Image

from saliency_widgets import Explanation, ExplainWidget
from saliency_widgets.registry import METHODS, available_methods
from saliency_widgets.widgets.charts import trace_passes

from ..conftest import RegionModel


class ThreeClass:
    """Class 0 looks at the top-left, class 1 at the bottom-right, class 2 is constant.

    ``gate()``: the first call from a worker thread blocks until ``release`` is set, so a test can act
    while a run is certainly in flight, without sleeping.
    """

    def __init__(self, fail_after=None):
        self.calls = 0
        self.fail_after = fail_after
        self.main = threading.main_thread()
        self.entered, self.release = threading.Event(), threading.Event()
        self.release.set()

    def gate(self):
        self.entered.clear()
        self.release.clear()
        return self

    def __call__(self, x):
        self.calls += 1
        if threading.current_thread() is not self.main and not self.entered.is_set():
            self.entered.set()
            assert self.release.wait(60), "the test never released the model"
        if self.fail_after is not None and self.calls > self.fail_after:
            raise RuntimeError("model exploded")
        a = x[:, :8, :8].mean((1, 2, 3))
        b = x[:, 8:, 8:].mean((1, 2, 3))
        s = np.stack([a, b * 0.9, np.full_like(a, 0.2)], 1) + 1e-3
        return s / s.sum(1, keepdims=True)


TL = (0, 0, 8, 8)      # box (x0, y0, x1, y1) of class 0's region
BR = (8, 8, 16, 16)


def two_quadrants():
    """Bright top-left and bottom-right quadrants on black: masking to the mean colour (0.5) dims either."""
    img = np.zeros((16, 16, 3), np.float32)
    img[:8, :8] = img[8:, 8:] = 1.0
    return img


def make(model=None, img=None, **kw):
    kw.setdefault("labels", ["tl", "br", "const"])
    return ExplainWidget(model or ThreeClass(), img if img is not None else two_quadrants(), **kw)


def peak(saliency):
    y, x = np.unravel_index(np.argmax(saliency), saliency.shape)
    return int(x), int(y)


def inside(point, box):
    return box[0] <= point[0] < box[2] and box[1] <= point[1] < box[3]


def png_file(array) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()


def test_class_dropdown_lists_top_k_with_names_and_probabilities():
    w = make(top_k=2)
    labels = [t for t, _ in w.class_dropdown.options]
    assert len(labels) == 2 and labels[0].startswith("tl (") and labels[1].startswith("br (")
    assert w.target == 0


def test_method_list_is_the_registry_with_its_labels():
    w = make()
    offered = dict(w.method_dropdown.options)  # label -> key
    assert set(offered.values()) == set(available_methods(gradients=False))  # no Grad-CAM for a callable
    assert all(METHODS[k].label == label for label, k in offered.items())
    assert w.method_dropdown.value == "mask-update"
    assert w.method_dropdown.label == "mask-update (32 chains, score-weighted)"
    assert "mask-update (paper)" in offered


def test_run_updates_overlay_score_line_and_progress():
    w = make()
    w.budget_slider.value = 400
    before = w.overlay_image.value
    w.run_button.click()
    assert w.wait(timeout=60)
    assert w.error is None, w.error
    assert w.overlay_image.value != before
    assert len(w.score_line.y) > 0 and len(w.score_line.x) == len(w.score_line.y)
    assert w.score_line.x[-1] == 400  # the chart counts forward passes, as the slider does
    assert w.progress.value == w.progress.max == 400
    assert isinstance(w.result, Explanation) and w.result.done and w.result.target == 0
    assert not w.run_button.disabled and w.stop_button.disabled
    assert "done" in w.status.value and "mask-update (32 chains, score-weighted)" in w.status.value
    snaps = w.session.last.methods[0].snapshots
    assert len(snaps) <= w.session.snapshots and w.step_slider.max == len(snaps) - 1
    assert len(w.curves["insertion"].scores) == len(w.insertion_line.y) == len(w.deletion_line.y) > 0


def test_the_benchmark_counters_live_on_the_session():
    w = make()
    w.budget_slider.value = 200
    w.run()
    assert w.wait(60)
    assert w.session.first_map_seconds is not None and len(w.session.refresh_times) >= 1
    assert not hasattr(w, "refresh_times") and not hasattr(w, "first_map_seconds")


def test_top_of_map_follows_the_class():
    w = make()
    w.budget_slider.value = 1500
    w.run()
    assert w.wait(60)
    assert inside(peak(w.result.saliency), TL)
    w.class_dropdown.value = 1  # changing the class after a run starts a new run
    assert w.wait(60)
    assert w.result.target == 1 and w.result.done
    assert inside(peak(w.result.saliency), BR)


def test_class_change_during_a_run_restarts_with_the_new_class():
    """Issue 12: the run stopped and the new class was never explained (the worker's run() saw itself)."""
    model = ThreeClass().gate()
    w = make(model)
    w.budget_slider.value = 2000
    w.run()
    assert model.entered.wait(60)  # the run is in flight
    w.class_dropdown.value = 1
    model.release.set()
    assert w.wait(60)
    assert w.result is not None and w.result.target == 1 and w.result.done, w.result
    assert not w.running and not w.run_button.disabled


@pytest.mark.parametrize("change,check", [
    (lambda w: setattr(w.method_dropdown, "value", "rise"), lambda exp: exp.method == "rise"),
    (lambda w: setattr(w.budget_slider, "value", 700), lambda exp: exp.n_forward == 700),
    (lambda w: setattr(w.grid_slider, "value", 4), lambda exp: exp.params["grid"] == 4),
    (lambda w: setattr(w.chains_slider, "value", 5), lambda exp: exp.params["chains"] == 5),
])
def test_any_setting_changed_during_a_run_restarts_with_it(change, check):
    model = ThreeClass().gate()
    w = make(model)
    w.budget_slider.value = 1000
    w.run()
    assert model.entered.wait(60)
    change(w)
    model.release.set()
    assert w.wait(60)
    assert w.session.last.number == 2 and w.result.done and check(w.result), w.result


def test_stop_during_a_run():
    model = ThreeClass().gate()
    w = make(model)
    w.method_dropdown.value = "rise"
    w.budget_slider.value = 10000
    w.run()
    assert model.entered.wait(60)
    w.stop_button.click()
    model.release.set()
    assert w.wait(timeout=60)
    assert w.session.last.status == "stopped" and "stopped" in w.status.value
    assert not w.run_button.disabled and w.stop_button.disabled


def test_second_run_while_running_is_ignored():
    model = ThreeClass().gate()
    w = make(model)
    w.budget_slider.value = 400
    assert w.run() is True
    assert model.entered.wait(60)
    assert w.run() is False
    model.release.set()
    assert w.wait(30)
    assert w.session.last.number == 1


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


def test_method_settings_follow_the_registry():
    w = make()
    w.method_dropdown.value = "rise"
    spec = METHODS["rise"]
    assert w.budget_slider.max == min(spec.budget.high, 10 * spec.ui_budget) and w.budget_slider.value == 2000
    assert w.budget_slider.min == spec.budget.low
    assert w.chains_slider.layout.visibility == "hidden" and w.grid_slider.layout.visibility == "visible"
    w.method_dropdown.value = "lime"
    assert w.option_sliders["segments"].layout.visibility == "visible"
    w.method_dropdown.value = "occlusion"
    assert w.budget_slider.layout.visibility == "hidden"
    w.run()
    assert w.wait(30) and w.result.method == "occlusion"


def test_truth_belongs_to_a_class():
    w = make(truth={0: TL, "br": BR}, causal=False)
    w.budget_slider.value = 600
    w.run()
    assert w.wait(30)
    assert "pointing game" in w.metrics_html.value and "✔ hit" in w.metrics_html.value
    w.class_dropdown.value = 2  # a class without truth: no pointing, no IoU
    assert w.wait(30) and w.result.target == 2
    assert "hit" not in w.metrics_html.value and "IoU (" not in w.metrics_html.value and "no ground truth for this class" in w.metrics_html.value


def test_the_selected_class_truth_is_drawn():
    w = make(truth={1: BR})
    assert w.target == 1                     # the class present in the image comes first, selected
    boxed = w.overlay_image.value
    w.class_dropdown.value = 0               # class 0 has no truth: nothing drawn
    no_box = w.overlay_image.value
    assert no_box != boxed
    w.class_dropdown.value = 1
    assert w.overlay_image.value == boxed


def test_truth_from_scene_objects_is_the_union_per_class():
    from saliency_widgets.demo import CLASS_NAMES, load_model, make_scenes
    scene = make_scenes(1, objects=(2, 2), seed=11)
    w = ExplainWidget(load_model(), scene.images[0], labels=CLASS_NAMES, truth=scene.objects[0])
    for obj in scene.objects[0]:
        assert (w.truth[obj.label] == obj.mask).all()


def test_box_iou_of_two_objects_of_one_class_is_the_number_evaluate_gives():
    """Two separated objects of class 0, occlusion's map on the top-left one: the widget shows the IoU
    with the best object box (evaluate()'s rule), not with the box around both, and says so."""
    from types import SimpleNamespace
    from saliency_widgets.evaluation import evaluate

    def obj(box):
        mask = np.zeros((16, 16), bool)
        mask[box[1]:box[3], box[0]:box[2]] = True
        return SimpleNamespace(label=0, box=box, mask=mask)

    objects = [obj(TL), obj(BR)]  # as a demo scene gives them
    w = make(truth=objects, causal=False)
    w.method_dropdown.value = "occlusion"
    w.run()
    assert w.wait(60) and w.error is None, w.error
    shown = w.session.last.methods[0].metrics["box_iou"]

    class Fixed:  # evaluate() scores the very map the widget shows
        method, params = "fixed", {}

        def explain(self, image, target):
            return w.result

    (row,) = evaluate({"m": Fixed()}, [w.image], [objects], metrics=("pointing", "pointing_strict", "box_iou"),
                      progress=False, sanity=False)
    assert shown == pytest.approx(row["box_iou"], abs=1e-12)
    assert f"<b>{shown:.2f}</b>" in w.metrics_html.value
    assert "box IoU (the best of 2 object boxes, region ≥ 0.5 of the min-max raw map)" in w.metrics_html.value
    assert w.truth_boxes == {0: [TL, BR]} and w.truth[0].sum() == 128  # pointing reads the union


def test_every_object_box_of_the_selected_class_is_drawn():
    w = make(truth={0: [TL, BR]})
    img = w.view.canvas.decorate(np.zeros((16, 16, 3), np.uint8))
    green = (img == (0, 255, 0)).all(-1)
    assert green[0, 0] and green[7, 7] and green[8, 8] and green[15, 15] and not green[0, 15]


def test_the_centre_baseline_runs_to_the_end():
    """Its iter_explain is a plain iterator (no close()): the run must still finish and report."""
    w = make(truth={0: TL}, causal=False)
    w.method_dropdown.value = "center"
    w.run()
    assert w.wait(30) and w.error is None, w.error
    assert w.session.last.status == "done" and "done" in w.status.value and not w.run_button.disabled
    assert "box IoU (the object box" in w.metrics_html.value


def test_replay_and_save(tmp_path):
    w = make(truth={0: TL})
    w.budget_slider.value = 600
    w.run()
    assert w.wait(30)
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


def test_compare_mode_shows_every_method_with_its_own_progress_and_numbers():
    w = make(truth={0: TL}, compare=["mask-update", "RISE", "occlusion"])
    w.budget_slider.value = 640
    w.run()
    assert w.wait(120)
    panels = w.compare_box.children
    # each panel names the reading and the forward passes that ran (the labels are computed, not written)
    assert [p.label for p in panels] == [f"{METHODS['mask-update'].label} @ 640 steps",
                                         f"{METHODS['rise'].label} @ 640 masks", METHODS['occlusion'].label]
    assert all(f"</span> <b>{p.label}</b>" in p.title.value for p in panels)  # after the chart colour's swatch
    run = w.session.last
    for p, m in zip(panels, run.methods):
        assert m.status == "done" and p.progress.value == p.progress.max == max(1, m.budget)
        assert "pointing game" in p.metrics.value and "insertion AUC" in p.metrics.value
        assert inside(peak(m.result.saliency), TL), m.choice.key
    assert len({p.image.value for p in panels}) == 3  # three different maps
    w.mode.value = "single"
    assert w.compare_box.layout.display == "none" and w.single_box.layout.display is None


def test_compare_mode_does_not_redraw_a_map_that_has_not_changed():
    """The centre baseline is done after one step while RISE runs on: its panel is drawn once."""
    w = make(compare=["center", "rise"], causal=False)
    w.session.refresh_interval = 0.0  # an update after every batch
    w.budget_slider.value = 800
    canvas, drawn = w.view.canvas, []
    inner = canvas.overlay_png

    def counting(saliency):
        drawn.append(saliency)
        return inner(saliency)

    canvas.overlay_png = counting
    w.run()
    assert w.wait(60) and w.error is None, w.error
    centre, rise = (m.result for m in w.session.last.methods)
    assert rise.n_forward == 800 and sum(s is rise.saliency for s in drawn) == 1
    assert sum(s is centre.saliency for s in drawn) == 1  # not once per refresh
    assert len(drawn) > 10  # RISE's panel was redrawn as it grew
    panels = w.compare_box.children
    assert panels[0].image.value == canvas.overlay_png(centre.saliency)
    assert panels[1].image.value == canvas.overlay_png(rise.saliency)


def test_compare_mode_needs_two_methods():
    w = make(compare=["rise", "occlusion"])
    w.compare_select.value = ("rise",)
    assert w.run() is False and "two or more methods" in w.status.value


def test_upload_an_image_is_resized_centre_cropped_and_explained():
    w = make()
    big = np.zeros((40, 80, 3), np.uint8)  # wide: the centre 40 x 40 is kept, then resized to 16 x 16
    big[:, 20:40] = 255                    # the left half of the centre square is white
    w.upload.value = ({"name": "wide.png", "type": "image/png", "size": 0, "content": memoryview(png_file(big)),
                       "last_modified": datetime.datetime(2026, 1, 1)},)
    assert w.image_picker.value == 1 and w.image_picker.label == "uploaded: wide.png"
    assert w.image.shape == (16, 16, 3)
    assert w.image[:, :7].min() > 200 and w.image[:, 9:].max() < 50
    w.budget_slider.value = 200
    w.run()
    assert w.wait(30) and w.result.done and w.error is None


def test_upload_of_a_file_that_is_not_an_image_says_so():
    w = make()
    w.upload.value = ({"name": "notes.txt", "type": "text/plain", "size": 5, "content": memoryview(b"hello"),
                       "last_modified": datetime.datetime(2026, 1, 1)},)
    assert "not an image" in w.status.value and "'notes.txt'" in w.status.value and "PNG or JPEG" in w.status.value
    assert len(w.image_picker.options) == 1


def test_upload_of_a_decompression_bomb_is_refused_before_decoding(monkeypatch):
    """Reported: a hostile image file got through; the upload reads the size from the header first."""
    from ..bombs import bomb_png_bytes
    w = make()
    data = bomb_png_bytes(11000, 11000)
    decoded = []
    monkeypatch.setattr(Image.Image, "load", lambda self: decoded.append(self.size))
    w.upload.value = ({"name": "bomb.png", "type": "image/png", "size": len(data), "content": memoryview(data),
                       "last_modified": datetime.datetime(2026, 1, 1)},)
    assert "'bomb.png': 11000 x 11000 pixels" in w.status.value and "50,000,000" in w.status.value
    assert decoded == [] and len(w.image_picker.options) == 1 and w.error is not None


def test_add_image_from_python_with_its_truth():
    w = make()
    b = np.zeros((16, 16, 3), np.float32)
    b[8:, 8:] = 1
    assert w.add_image(b, name="dark", truth={"br": BR}) == 1
    assert w.image_picker.label == "dark" and w.target == 1 and set(w.truth) == {1}
    with pytest.raises(ValueError, match="not an image"):
        w.add_image(b"GIF? no", name="x.gif")
    assert len(w.image_picker.options) == 2


def test_an_image_picker_for_several_images():
    a = np.ones((16, 16, 3), np.float32)
    b = np.zeros((16, 16, 3), np.float32)
    b[8:, 8:] = 1  # only the bottom-right is bright: class 1 is on top
    w = ExplainWidget(ThreeClass(), images=[a, b], labels=["tl", "br", "const"], truth=[{0: TL}, {1: BR}])
    assert w.image_picker.layout.display is None and len(w.image_picker.options) == 2
    assert w.target == 0
    w.image_picker.value = 1
    assert w.target == 1 and (w.image == b).all() and set(w.truth) == {1}


def test_static_png_for_non_widget_frontends():
    w = make()
    bundle = w._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle and bundle["image/png"][:4] == b"\x89PNG"
    start = w.snapshot_png()
    w.budget_slider.value = 200
    w.run()
    assert w.wait(30)
    assert w.snapshot_png() != start


def test_static_fallback_is_updated_after_the_run():
    class Handle:
        def __init__(self):
            self.updates = []

        def update(self, obj):
            self.updates.append(obj.data)

    w = make()
    w.view.static.handle, w.view.static.shown_png = Handle(), w.snapshot_png()
    w.budget_slider.value = 200
    w.run()
    assert w.wait(30)
    import base64
    final = base64.b64encode(w.snapshot_png()).decode()
    assert w.view.static.handle.updates and final in w.view.static.handle.updates[-1]


def test_chart_x_axis_counts_forward_passes():
    np.testing.assert_array_equal(trace_passes(3, 80, 32), [32, 64, 80])
    np.testing.assert_array_equal(trace_passes(4, 4, 1), [1, 2, 3, 4])


@pytest.mark.parametrize("kwargs,exc,match", [
    (dict(labels=["a", "b"]), ValueError, "labels has 2 names but the model outputs 3"),
    (dict(truth={0: (0, 0, 40, 8)}), ValueError, "outside"),
    (dict(truth=(0, 0, 8, 8)), ValueError, "which class"),
    (dict(truth={"zebra": (0, 0, 8, 8)}), ValueError, "zebra"),
    (dict(top_k=0), ValueError, "top_k"),
    (dict(methods=["magic"]), ValueError, "unknown methods"),
])
def test_bad_constructor_input(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        make(**kwargs)


def test_image_the_model_cannot_take():
    with pytest.raises(ValueError, match="shape"):
        ExplainWidget(RegionModel(), np.ones((4, 16, 16, 3)))


def test_demo_model_classes_in_dropdown_and_grad_cam_offered():
    from saliency_widgets.demo import CLASS_NAMES, load_model, make_scenes
    scene = make_scenes(1, seed=4)
    w = ExplainWidget(load_model(), scene.images[0], labels=CLASS_NAMES, top_k=3)
    names = [t.split(" (")[0] for t, _ in w.class_dropdown.options]
    assert len(names) == 3 and set(names) <= set(CLASS_NAMES)
    assert names[0] == CLASS_NAMES[scene.labels[0]]
    assert {k for _, k in w.method_dropdown.options} == set(METHODS)  # a Keras model: Grad-CAM too


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


def test_a_map_from_no_signal_is_said_so_in_the_status():
    """A one-colour image under the mean-colour occluder: every masked image is the image, the score never
    moves; the status says so and the map is blank (without the note the status reads a plain "done")."""
    w = make(img=np.ones((16, 16, 3), np.float32), causal=False)
    w.budget_slider.value = 200
    with pytest.warns(RuntimeWarning, match="never changed"):
        w.run()
        assert w.wait(60) and w.error is None, w.error
    assert w.result.no_signal and not w.result.saliency.any()
    assert "done" in w.status.value and "no signal" in w.status.value and "never changed" in w.status.value
    normal = make(causal=False)
    normal.budget_slider.value = 200
    normal.run()
    assert normal.wait(60) and "no signal" not in normal.status.value


# -- the lists say what is in the image; compare mode shows every method; the static picture ---------------

def test_classes_present_in_the_image_are_listed_first_and_marked():
    """Reported: on a scene with two objects, the second object's class was listed below absent classes at
    0.0%.  ThreeClass on a bright top-left only: class 0 first, the constant class 2 next, class 1 ~ 0%."""
    img = np.zeros((16, 16, 3), np.float32)
    img[:8, :8] = 1.0
    w = make(img=img, truth={0: TL, 1: BR}, top_k=2)
    assert w.probs[1] < w.probs[2]  # the model ranks the absent class 2 above the present class 1
    texts, values = zip(*w.class_dropdown.options)
    assert values[:2] == (0, 1) and values[2] == 2  # both present classes first, then the model's top-k
    assert all("in the image" in t for t in texts[:2]) and "in the image" not in texts[2]
    assert w.target == 0


def test_without_truth_the_models_top_k_are_listed_and_marked():
    w = make(top_k=2)
    texts, values = zip(*w.class_dropdown.options)
    assert values == (0, 1) and all("top-2" in t for t in texts)


def test_the_search_box_follows_the_selected_class():
    """Reported: the class search box kept showing the previous class after another was chosen."""
    w = make()
    w.class_search.value = "br"
    assert w.target == 1 and w.class_search.value == "br"
    w.class_dropdown.value = 0
    assert w.class_search.value == "tl"
    w.target = 2
    assert w.class_search.value == "const"
    b = np.zeros((16, 16, 3), np.float32)
    b[8:, 8:] = 1
    w.add_image(b, name="dark")  # a new image selects its own first class
    assert w.class_search.value == w.labels[w.target] == "br"


def test_compare_mode_charts_show_every_method_with_a_legend():
    """Reported: in compare mode the charts showed only the first method, without a legend; then the legend's
    long labels overflowed onto the axis. Each line has its method's colour (its panel's swatch) and a short
    legend label, the registry key; the deletion lines (dashed) share their method's legend entry."""
    keys = ("mask-update", "mask-update-paper", "rise")
    w = make(truth={0: TL}, compare=list(keys))
    w.budget_slider.value = 320
    w.run()
    assert w.wait(120) and w.error is None, w.error
    runs = w.session.last.methods
    assert [m.label.split(" @ ")[0] for m in runs] == [METHODS[k].label for k in keys]
    colours = [p.title.value.split("color:")[1].split("'")[0] for p in w.compare_box.children]
    traced = [m for m in w.score_figure.marks if len(m.y)]
    assert [m.labels[0] for m in traced] == list(keys[:2])  # RISE has no trace of p(target)
    assert [m.colors[0] for m in traced] == colours[:2] and all(m.display_legend for m in traced)
    lines = [m for m in w.causal_figure.marks if len(m.y)]
    assert len(lines) == 6 and [m.labels[0] for m in lines if m.display_legend] == list(keys)
    for k, (key, run) in enumerate(zip(keys, runs)):
        ins, dele = lines[2 * k], lines[2 * k + 1]
        assert ins.colors == dele.colors == [colours[k]] and dele.line_style == "dashed"
        np.testing.assert_allclose(dele.y, run.curves["deletion"].scores)
        np.testing.assert_allclose(ins.y, run.curves["insertion"].scores)
    for figure in (w.score_figure, w.causal_figure):  # the legend sits inside the plot area, and fits there
        assert figure.legend_location in ("top-right", "top-left", "bottom-right", "bottom-left", "right", "left")
        assert max(len(m.labels[0]) for m in figure.marks if m.display_legend) <= 24
    w.mode.value = "single"
    w.method_dropdown.value = "rise"
    w.run()
    assert w.wait(60)
    assert len([m for m in w.causal_figure.marks if len(m.y)]) == 2  # one method again: its two curves


def test_compare_panels_have_equal_widths():
    """Reported: the panels had different widths (long method names made theirs wider)."""
    w = make(compare=["mask-update-paper-chains", "center"], causal=False)
    w.run()
    assert w.wait(60)
    widths = {p.layout.width for p in w.compare_box.children}
    assert len(widths) == 1 and None not in widths
    assert all(p.metrics.layout.width == "100%" and p.title.layout.width == "100%" for p in w.compare_box.children)


def _png_size(data):
    return Image.open(io.BytesIO(data)).size


def test_the_static_picture_is_the_displayed_image_with_panel_titles():
    """Reported: the static picture showed the final state of a later image and had no panel titles."""
    a = two_quadrants()
    b = np.zeros((16, 16, 3), np.float32)
    b[8:, 8:] = 1
    w = ExplainWidget(ThreeClass(), images=[a, b], labels=["tl", "br", "const"], causal=False)
    w.budget_slider.value = 200
    w.run()
    assert w.wait(30)
    after_run = w.snapshot_png()
    w.image_picker.value = 1  # another image shown: the picture is that image, not image 1's final map
    shown_b = w.snapshot_png()
    assert shown_b != after_run
    w.image_picker.value = 0
    assert w.snapshot_png() != after_run  # image 1 again: a new session, no map yet
    # the titles are drawn above the panels: the picture is taller than the panels themselves
    w.run()
    assert w.wait(30)
    width, height = _png_size(w.snapshot_png())
    scale = w.view.canvas.scale
    assert height > 16 * scale and width >= 3 * 16 * scale
    titled = np.asarray(Image.open(io.BytesIO(w.snapshot_png())).convert("L"))
    assert (titled[: height - 16 * scale] < 128).any()  # dark title text on white
    # the replay slider's step is what is displayed, so it is what the picture shows
    final = w.snapshot_png()
    w.step_slider.value = 0
    assert w.snapshot_png() != final


def test_the_static_fallback_follows_the_image_shown():
    class Handle:
        def __init__(self):
            self.updates = []

        def update(self, obj):
            self.updates.append(obj.data)

    b = np.zeros((16, 16, 3), np.float32)
    w = ExplainWidget(ThreeClass(), images=[two_quadrants(), b], labels=["tl", "br", "const"], causal=False)
    w.view.static.handle, w.view.static.shown_png = Handle(), w.snapshot_png()
    w.image_picker.value = 1
    import base64
    assert w.view.static.handle.updates and base64.b64encode(w.snapshot_png()).decode() in \
        w.view.static.handle.updates[-1]
    assert "image 2" in w.view.static.handle.updates[-1]
