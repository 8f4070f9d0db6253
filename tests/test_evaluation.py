import json

import numpy as np
import pytest

from saliency_widgets import CenterBaseline, Occlusion, Rise, evaluate
from saliency_widgets import metrics as M
from saliency_widgets.sanity import metrics as metric_sanity
from saliency_widgets.explanation import Explanation

from .conftest import RegionModel


@pytest.fixture
def data():
    images = np.ones((3, 16, 16, 3), np.float32)
    mask = np.zeros((16, 16), bool)
    mask[:8, :8] = True
    truths = [[(0, (0, 0, 8, 8))], [(0, mask)], [{"label": 0, "box": (0, 0, 8, 8)}]]
    return images, truths


class FixedMap:
    """A model-free explainer that returns a given raw map and a *different* display map."""

    method = "fixed"

    def __init__(self, raw, display=None, **params):
        self.raw, self.display, self.params, self.model = raw, display, dict(params), None

    def explain(self, image, target=None):
        disp = self.raw if self.display is None else self.display
        return Explanation(saliency=disp.astype(np.float32), raw=self.raw.astype(np.float32),
                           target=int(target), score=1.0, n_forward=0, method=self.method, params=self.params)


def test_rows_and_markdown_table(data):
    images, truths = data
    model = RegionModel()
    # occluder 0: on these all-ones images the default (mean colour = 1) leaves the score unchanged, a map
    # from no signal (Explanation.no_signal)
    rows = evaluate({"rise": Rise(model, masks=300, grid=4, seed=0, occluder="zero"), "center": CenterBaseline()},
                    images, truths, progress=False, step=32)
    assert len(rows) == 6 and {r["method"] for r in rows} == {"rise", "center"}
    table = str(rows)
    assert table.startswith("| method |") and "| rise |" in table and "| center |" in table
    assert "pointing (15 px) [95% CI]" in table and "bootstrap over images" in table
    assert "occluder auto" in table and "min-max raw" in table
    rise = [s for s in rows.summary() if s["method"] == "rise"][0]
    assert rise["pointing"] == 1.0 and rise["n"] == 3  # the quadrant model: RISE points into it
    lo, hi = rise["pointing_ci"]  # every entry hit: Wilson's interval, not a zero-width bootstrap one
    assert rise["pointing_ci_kind"] == "wilson" and lo == pytest.approx(M.wilson_interval(3, 3)[0]) and hi == 1.0
    assert "†" in table


def test_summary_intervals_are_bootstrap_over_images():
    from saliency_widgets.evaluation import Results
    rng = np.random.default_rng(0)
    res = Results([{"image": i, "target": i % 3, "method": "m", "hit": bool(rng.random() < 0.7),
                    "deletion": float(rng.random())} for i in range(50)])
    s = res.summary()[0]
    assert s["pointing_ci_kind"] == "bootstrap" and s["pointing_ci"] == list(M.bootstrap_pointing_ci(res))
    assert s["deletion_ci"] == list(M.intervals.bootstrap_mean_ci(res, "deletion"))
    assert "[" in res.to_markdown() and "†" not in res.to_markdown()


def test_metrics_read_the_raw_map(data):
    """The display map points elsewhere; evaluate() must score ``Explanation.raw``."""
    images, truths = data
    raw, display = np.zeros((16, 16)), np.zeros((16, 16))
    raw[2, 2], display[14, 14] = 1.0, 1.0
    model = RegionModel()
    rows = evaluate({"f": FixedMap(raw, display)}, images, truths, model=model, progress=False, step=16,
                    sanity=False)
    assert all(r["hit_strict"] for r in rows)
    assert rows[0]["deletion"] == M.deletion(model, images[0], raw, 0, step=16).auc


def test_one_row_per_class_scored_against_the_union():
    """TorchRay: two objects of one class are one entry; pointing at either one is a hit (old: 2 rows, 50%)."""
    image = np.ones((1, 40, 40, 3), np.float32)
    sal = np.zeros((40, 40))
    sal[35, 35] = 1.0  # on the second instance only
    truths = [[(3, (0, 0, 10, 10)), (3, (30, 30, 40, 40)), (5, (0, 30, 10, 40))]]
    rows = evaluate({"f": FixedMap(sal)}, image, truths, metrics=("pointing", "pointing_strict", "box_iou"),
                    progress=False, sanity=False)
    by_target = {r["target"]: r for r in rows}
    assert len(rows) == 2 and set(by_target) == {3, 5}
    assert by_target[3]["hit_strict"] and by_target[3]["n_objects"] == 2 and not by_target[5]["hit"]
    assert M.pointing_accuracy([r for r in rows if r["target"] == 3]) == 1.0


def test_pointing_only_needs_no_model(data):
    images, truths = data
    rows = evaluate([CenterBaseline()], images, truths, metrics=("pointing", "box_iou"), progress=False)
    assert len(rows) == 3 and all("deletion" not in r for r in rows)
    with pytest.raises(ValueError, match="need a model"):
        evaluate([CenterBaseline()], images, truths, metrics=("deletion",), progress=False)


class HidingModel(RegionModel):
    """p(class 0) = 1 - mean of the region: deleting the object raises the score (a broken metric)."""

    def __call__(self, x):
        return super().__call__(x)[:, ::-1].copy()


def test_a_metric_failing_the_sanity_check_is_flagged(data):
    images, truths = data
    images, truths = np.concatenate([images, images]), truths * 2  # 6 entries: 6 wins of 6 is a clear majority
    rows = evaluate({"center": CenterBaseline()}, images, truths, model=HidingModel(), occluder=0, step=16,
                    protocol="gauss-reflect", progress=False)
    # pointing (15 px) ties on every 16 x 16 image (any maximum is within 15 px of the quadrant): flagged
    assert rows.sanity.share["deletion"] == 0.0
    assert sorted(rows.sanity.failed) == ["deletion", "insertion", "pointing", "pointing_strict"]
    table = rows.to_markdown()
    assert "deletion AUC ↓ (gauss-reflect: trapezoid AUC, occluder 0) ⚠" in table
    assert "do not rank methods on it" in table
    # insertion ties on every flat image (its reflected blur is itself): ties are losses, so it is flagged too
    assert "insertion AUC ↑ (gauss-reflect: Gaussian blur with reflected borders, trapezoid AUC, occluder 0) ⚠" in table
    assert "first 6 entries" in table and "box_iou 100%, insertion 0%, deletion 0%" in table
    assert "Wilson 95% lower bound 0%, not above 50%" in table
    assert "pointing (15 px) [95% CI] ⚠" in table and "box IoU (≥ 0.5 of min-max raw) ⚠" not in table


def test_three_entries_cannot_pass_the_sanity_check(data):
    """3 wins of 3 has a Wilson lower bound of 0.44: too few entries to call it a clear majority."""
    images, truths = data
    rows = evaluate({"center": CenterBaseline()}, images, truths, metrics=("box_iou",), progress=False)
    assert rows.sanity.share["box_iou"] == 1.0 and rows.sanity.failed == ["box_iou"]
    assert "Wilson 95% lower bound 44%" in rows.to_markdown()


def test_sanity_result_is_stored_and_reused(tmp_path, data, monkeypatch):
    images, truths = data
    path = tmp_path / "rows.jsonl"
    first = evaluate({"center": CenterBaseline()}, images, truths, model=HidingModel(), occluder=0, step=16,
                     results=path, progress=False)
    assert json.loads(path.read_text().splitlines()[0])["__sanity__"]["result"]["share"] == first.sanity.share

    def boom(*args, **kwargs):
        raise AssertionError("the stored sanity check should have been reused")
    monkeypatch.setattr(metric_sanity, "sanity_check", boom)
    again = evaluate({"center": CenterBaseline()}, images, truths, model=HidingModel(), occluder=0, step=16,
                     results=path, progress=False)
    assert again.sanity.share == first.sanity.share and sorted(again.sanity.failed) == sorted(first.sanity.failed)


class Interrupting(Occlusion):
    """Raises KeyboardInterrupt at its n-th explanation, like a user pressing Ctrl-C."""

    def __init__(self, model, at, window=4):
        super().__init__(model, window=window)
        self.at, self.count = at, 0

    def get_params(self):  # where it interrupts is not a setting of the map
        params = super().get_params()
        params.pop("at", None)
        return params

    def explain(self, image, target=None):
        self.count += 1
        if self.count == self.at:
            raise KeyboardInterrupt
        return super().explain(image, target)


def _lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_interrupted_run_resumes_without_recomputing(tmp_path, data):
    images, truths = data
    path = tmp_path / "rows.jsonl"
    with pytest.raises(KeyboardInterrupt):
        evaluate({"occ": Interrupting(RegionModel(), at=3)}, images, truths, results=path, progress=False)
    head, *rows = _lines(path)
    assert head["__settings__"]["explainers"]["occ"]["params"]["window"] == 4
    assert [r["image"] for r in rows] == [0, 1]  # two images were finished and saved
    again = Interrupting(RegionModel(), at=99)
    out = evaluate({"occ": again}, images, truths, results=path, progress=False)
    assert again.count == 1 and len(out) == 3  # only the third image was computed
    assert [r["image"] for r in _lines(path)[1:]] == [0, 1, 2]


def test_truncated_last_line_is_repaired(tmp_path, data):
    images, truths = data
    path = tmp_path / "rows.jsonl"
    evaluate({"occ": Interrupting(RegionModel(), at=99)}, images[:2], truths[:2], results=path, progress=False)
    text = path.read_text()
    path.write_text(text[:-25])  # the second row cut off mid-write
    with pytest.warns(RuntimeWarning, match="interrupted write"):
        out = evaluate({"occ": Interrupting(RegionModel(), at=99)}, images, truths, results=path, progress=False)
    rows = _lines(path)[1:]  # every line parses: nothing was appended behind a broken one
    assert [r["image"] for r in rows] == [0, 1, 2] and len(out) == 3


def test_resume_refuses_other_explainer_settings(tmp_path, data):
    images, truths = data
    path = tmp_path / "rows.jsonl"
    evaluate({"occ": Interrupting(RegionModel(), at=99)}, images, truths, results=path, progress=False)
    with pytest.raises(ValueError, match=r"'occ'.*window: 4 in the file vs 8 now"):
        evaluate({"occ": Interrupting(RegionModel(), at=99, window=8)}, images, truths, results=path,
                 progress=False)
    with pytest.raises(ValueError, match="tolerance: 15 in the file vs 10 now"):
        evaluate({"occ": Interrupting(RegionModel(), at=99)}, images, truths, results=path, progress=False,
                 tolerance=10)
    with pytest.raises(ValueError, match="occluder"):
        evaluate({"occ": Interrupting(RegionModel(), at=99)}, images, truths, results=path, progress=False,
                 occluder="blur")
    # a new method joins the same file; its settings are recorded
    evaluate({"occ": Interrupting(RegionModel(), at=99), "center": CenterBaseline()}, images, truths,
             results=path, progress=False)
    head, *rows = _lines(path)
    assert set(head["__settings__"]["explainers"]) == {"occ", "center"} and len(rows) == 6


def test_file_without_settings_is_refused(tmp_path, data):
    images, truths = data
    path = tmp_path / "rows.jsonl"
    path.write_text(json.dumps({"image": 0, "target": 0, "method": "center", "hit": True}) + "\n")
    with pytest.raises(ValueError, match="no settings line"):
        evaluate([CenterBaseline()], images, truths, results=path, progress=False, metrics=("pointing",))


def test_registry_names(data):
    images, truths = data
    rows = evaluate(["center"], images, truths, model=RegionModel(), metrics=("pointing",), progress=False)
    assert {r["method"] for r in rows} == {"centre baseline"} and len(rows) == 3


def test_bad_arguments(data):
    images, truths = data
    with pytest.raises(ValueError, match="unknown metrics"):
        evaluate([CenterBaseline()], images, truths, metrics=("accuracy",))
    with pytest.raises(ValueError, match="one list of objects per image"):
        evaluate([CenterBaseline()], images, truths[:2])
    with pytest.raises(ValueError, match="occluder"):
        evaluate([CenterBaseline()], images, truths, occluder="black")


def test_settings_with_a_function_compare_equal_across_instances(tmp_path, data):
    images, truths = data
    path = tmp_path / "rows.jsonl"

    def prep(x):
        return x
    for _ in range(2):  # two explainer objects, same settings: the second run resumes
        rows = evaluate({"f": FixedMap(np.eye(16), preprocess=prep)}, images, truths, metrics=("pointing",),
                        results=path, progress=False)
    assert len(rows) == 3
    assert json.loads(path.read_text().splitlines()[0])["__settings__"]["explainers"]["f"]["params"][
        "preprocess"].endswith("prep")


# -- evaluate() with a PyTorch module and a JAX function (issue 11 item 3) ---------------------------

def _red_squares():
    """Four 16 x 16 images, a red 4 x 4 square in the left half on black: class 0 (red) is decided there."""
    images = np.zeros((4, 16, 16, 3), np.float32)
    truths = []
    for i, (r, c) in enumerate([(1, 1), (6, 2), (11, 0), (3, 4)]):
        images[i, r:r + 4, c:c + 4, 0] = 255.0
        truths.append([(0, (c, r, c + 4, r + 4))])  # (x0, y0, x1, y1)
    return images, truths


@pytest.mark.parametrize("framework", ["torch", "jax"])
def test_a_framework_model_scores_like_its_numpy_twin(framework):
    """The toy module / function computes exactly tests.toy_frameworks.channel_probabilities: the same seeded
    maps, so the same pointing hits and insertion / deletion within float tolerance.  Occlusion's hits are
    known: only red pixels in the left half raise class 0, so its map peaks on the red square."""
    pytest.importorskip(framework)
    from . import toy_frameworks as T
    images, truths = _red_squares()
    framework_model = T.make_torch() if framework == "torch" else T.make_jax()
    methods = {"RISE": ("rise", {"masks": 300, "grid": 4, "seed": 1}), "occlusion": ("occlusion", {"window": 4})}
    common = dict(metrics=("pointing", "pointing_strict", "insertion", "deletion"), tolerance=2, step=16,
                  progress=False, sanity=False)
    got = evaluate(methods, images, truths, model=framework_model, **common)
    ref = evaluate(methods, images, truths, model=T.channel_probabilities, **common)
    key = lambda r: (r["method"], r["image"], r["target"])
    got, ref = sorted(got, key=key), sorted(ref, key=key)
    assert [key(r) for r in got] == [key(r) for r in ref] and len(got) == 8
    assert all(r["hit_strict"] for r in ref if r["method"] == "occlusion")  # the analytic answer
    for g, r in zip(got, ref):
        assert (g["hit"], g["hit_strict"]) == (r["hit"], r["hit_strict"]), key(g)
        assert g["insertion"] == pytest.approx(r["insertion"], abs=1e-4), key(g)
        assert g["deletion"] == pytest.approx(r["deletion"], abs=1e-4), key(g)
