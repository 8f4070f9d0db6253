"""The shipped results cannot drift from the code: recompute a sample of every shipped table and compare."""
import json

import numpy as np
import pytest

from saliency_widgets import evaluate
from saliency_widgets.demo import load_model, make_scenes
from saliency_widgets.registry import get_method
from saliency_widgets.reproduce import (CONFIG, _cached, _fresh_rows, convergence_cases, convergence_study,
                                        shipped_results, standard_explainers)



@pytest.fixture(scope="module")
def shipped():
    return shipped_results()


@pytest.fixture(scope="module")
def model():
    return load_model()


def _by_key(rows):
    return {(r["image"], r["target"], r["method"]): r for r in rows}


def test_shipped_file_was_made_with_todays_config(shipped):
    assert shipped["config"] == CONFIG
    labels = {get_method(k).label for k in CONFIG["headline"]}
    assert {r["method"] for r in shipped["rows_single"]} == labels
    assert {r["method"] for r in shipped["rows_multi"]} == labels
    assert len({r["image"] for r in shipped["rows_single"]}) == CONFIG["n_single"]
    # one row per (image, class present, method): TorchRay's protocol
    assert len(_by_key(shipped["rows_single"])) == len(shipped["rows_single"])
    assert len(_by_key(shipped["rows_multi"])) == len(shipped["rows_multi"])
    for study in ("convergence_single", "convergence_multi"):
        for row in shipped[study].values():
            assert [len(h) for h in row["hits"]] == [CONFIG[study.replace("convergence", "conv")]] * len(
                CONFIG["checkpoints"])


def _compare(rows, shipped_rows, keys):
    old = _by_key(shipped_rows)
    assert rows, "nothing was recomputed"
    for row in rows:
        ref = old[(row["image"], row["target"], row["method"])]
        assert row["hit"] == ref["hit"] and row["hit_strict"] == ref["hit_strict"], (row, ref)
        for key in keys:
            assert row[key] == pytest.approx(ref[key], abs=2e-3), (key, row, ref)


@pytest.mark.slow
def test_single_object_table_recomputes(shipped, model):
    cfg = shipped["config"]
    scenes = make_scenes(3, seed=cfg["single_seed"])  # the first 3 of the shipped scenes
    explainers = standard_explainers(model, budget=cfg["budget"], seed=cfg["explainer_seed"])
    rows = evaluate(explainers, scenes.images, scenes.objects, progress=False)
    _compare(rows, shipped["rows_single"], ("box_iou", "insertion", "deletion"))


@pytest.mark.slow
def test_multi_object_table_recomputes(shipped, model):
    cfg = shipped["config"]
    scenes = make_scenes(2, objects=(2, 3), seed=cfg["multi_seed"])  # the first 2 of the shipped scenes
    explainers = standard_explainers(model, budget=cfg["budget"], seed=cfg["explainer_seed"])
    rows = evaluate(explainers, scenes.images, scenes.objects, progress=False,
                    metrics=("pointing", "pointing_strict", "box_iou"))
    _compare(rows, shipped["rows_multi"], ("box_iou",))


@pytest.mark.slow
@pytest.mark.parametrize("study", ["convergence_single", "convergence_multi"])
def test_convergence_study_recomputes(shipped, model, study):
    cfg = shipped["config"]
    (s_scenes, s_cases), (m_scenes, m_cases) = convergence_cases(model, cfg)
    scenes, cases = (s_scenes, s_cases) if study.endswith("single") else (m_scenes, m_cases)
    picks = [0, len(cases) - 1]  # the first and the last target of the shipped study
    table = convergence_study(model, scenes, [cases[j] for j in picks], checkpoints=cfg["checkpoints"],
                              budget=max(cfg["checkpoints"]), progress=False)
    assert set(table) == set(shipped[study])
    for name, row in table.items():
        ref = shipped[study][name]
        for c, hits in enumerate(row["hits"]):
            assert hits == [ref["hits"][c][j] for j in picks], (name, cfg["checkpoints"][c])


@pytest.mark.slow
def test_sanity_table_recomputes(shipped, model):
    """The metric sanity table (first 30 single-object entries): the same wins and ties from today's code."""
    from saliency_widgets.explainers import CenterBaseline
    cfg = shipped["config"]
    stored = shipped["sanity_single"]
    scenes = make_scenes(stored["n"], seed=cfg["single_seed"])  # the entries the sanity check picked
    rows = evaluate({"centre": CenterBaseline()}, scenes.images, scenes.objects, progress=False, model=model)
    again = rows.sanity.to_dict()
    assert again["n"] == stored["n"]
    assert again["wins"] == stored["wins"] and again["ties"] == stored["ties"]


@pytest.mark.slow
def test_p0_recomputes(shipped, model):
    from saliency_widgets.reproduce import _p0
    (_, _), (m_scenes, m_cases) = convergence_cases(model, shipped["config"])
    np.testing.assert_allclose(_p0(model, m_scenes, m_cases), shipped["convergence_multi_p0"], rtol=1e-4,
                               atol=1e-7)


def test_shipped_tables_are_what_todays_code_computes(shipped):
    """Every shipped table's methods, metrics, data and aggregation compute on the probe what they computed
    when the file was made (within the fingerprint's tolerance); the message names the table and the method."""
    from saliency_widgets.reproduce import check_shipped
    moved = check_shipped(shipped)
    assert not moved, "run `python -m saliency_widgets reproduce` and re-render the prose:\n" + "\n".join(moved)


@pytest.mark.slow
def test_shipped_sanity_verdicts_follow_todays_rule(shipped, model):
    from saliency_widgets.explainers import CenterBaseline
    stored = shipped["sanity_single"]
    scenes = make_scenes(stored["n"], seed=shipped["config"]["single_seed"])
    rows = evaluate({"centre": CenterBaseline()}, scenes.images, scenes.objects, progress=False, model=model)
    assert rows.sanity.to_dict()["share"] == pytest.approx(stored["share"])  # the share by today's rule


@pytest.mark.slow
@pytest.mark.parametrize("study", ["convergence_single", "convergence_multi"])
def test_shipped_convergence_intervals_are_cluster_bootstraps_over_images(shipped, model, study):
    from saliency_widgets.reproduce import convergence_ci
    (_, s_cases), (_, m_cases) = convergence_cases(model, shipped["config"])
    images = [i for i, _ in (s_cases if study.endswith("single") else m_cases)]
    for name, row in shipped[study].items():
        assert row.get("images") == images, name
        for hits, ci in zip(row["hits"], row["pointing_ci"]):
            assert ci == pytest.approx(convergence_ci(hits, images)), name


def test_a_cached_study_is_recomputed_when_what_it_computes_changes(tmp_path):
    path = str(tmp_path / "study.json")
    calls = []
    compute = lambda: calls.append(1) or {"value": len(calls)}  # noqa: E731
    assert _cached(path, {"config": 1, "code": "a"}, compute) == {"value": 1}
    assert _cached(path, {"config": 1, "code": "a"}, compute) == {"value": 1}   # reused
    assert _cached(path, {"config": 1, "code": "b"}, compute) == {"value": 2}   # code changed
    assert _cached(path, {"config": 2, "code": "b"}, compute) == {"value": 3}   # settings changed
    assert len(calls) == 3


def test_a_rows_file_is_dropped_when_what_it_computes_changes(tmp_path):
    path = str(tmp_path / "rows.jsonl")
    _fresh_rows(path, {"code": "a"})
    with open(path, "w") as f:
        f.write(json.dumps({"image": 0}) + "\n")
    _fresh_rows(path, {"code": "a"})
    assert (tmp_path / "rows.jsonl").exists()        # same stamp: resumable rows kept
    _fresh_rows(path, {"code": "b"})
    assert not (tmp_path / "rows.jsonl").exists()    # new code: rows made by older code are not reused


def test_summary_has_intervals_that_do_not_collapse(shipped):
    for s in shipped["pointing_single"]:
        lo, hi = s["pointing_ci"]
        assert lo <= s["pointing"] <= hi and hi - lo > 0
    for row in shipped["convergence_multi"].values():
        for p, (lo, hi) in zip(row["pointing"], row["pointing_ci"]):
            assert lo <= p <= hi and hi - lo > 0
    assert np.isfinite([s["deletion"] for s in shipped["pointing_single"]]).all()


@pytest.mark.slow
def test_reproduce_quick_writes_every_figure_and_table(tmp_path):
    from saliency_widgets.reproduce import reproduce
    res = reproduce(str(tmp_path), tier="test", progress=False)
    for name in ("pointing.md", "pointing_game.png", "insertion_deletion.png", "curves.png",
                 "convergence_single.png", "convergence.md", "results.json"):
        assert (tmp_path / name).exists(), name
    table = (tmp_path / "pointing.md").read_text()
    for label in ("| mask-update (paper) |", "| mask-update (32 chains, score-weighted) |", "| RISE |"):
        assert label in table  # the paper's method has its own row beside the default reading and RISE
    assert set(res["convergence_single"]) >= {"mask-update (paper)", "RISE"}


def _brightness_model(batch):
    """Class 0 for images brighter than 1000 on average (only after the preprocess below), else class 1."""
    k = 6
    cls = np.where(np.asarray(batch).mean(axis=(1, 2, 3)) > 1000, 0, 1)
    p = np.full((len(batch), k), 0.02, np.float32)
    p[np.arange(len(batch)), cls] = 0.9
    return p


@pytest.mark.slow
def test_convergence_targets_and_p0_use_the_prepared_images():
    """The explainers explain adapter.prepare(image): "not the top-1 class" and p0 must be about that image.
    preprocess adds 10000, which turns every scene's top-1 from class 1 (raw pixels) into class 0."""
    from saliency_widgets.models import as_model
    from saliency_widgets.reproduce import _p0

    model = as_model(_brightness_model, preprocess=lambda img: img.astype(np.float32) + 10000)
    cfg = dict(CONFIG, conv_single=2, conv_multi=4)
    (single, s_cases), (multi, m_cases) = convergence_cases(model, cfg)
    assert np.all(model.predict(multi.images).argmax(1) == 1)  # skipping prepare: class 1 everywhere
    expected = [(i, o.label) for i, objs in enumerate(multi.objects) for o in objs if o.label != 0][:4]
    assert [(i, o.label) for i, o in m_cases] == expected
    assert len(s_cases) == 2
    p0 = _p0(model, multi, m_cases)
    np.testing.assert_allclose(p0, [0.02] * len(m_cases))  # no target is class 0, the prepared top-1


@pytest.mark.slow
def test_comparison_titles_give_the_probability_of_the_prepared_image():
    from saliency_widgets.demo import CLASS_NAMES
    from saliency_widgets.explainers import CenterBaseline
    from saliency_widgets.models import as_model
    from saliency_widgets.reproduce import comparison_data

    model = as_model(_brightness_model, preprocess=lambda img: img.astype(np.float32) + 10000)
    scenes = make_scenes(6, objects=(2, 3), seed=5)
    pairs = [(img, o) for img, objs in zip(scenes.images, scenes.objects) for o in objs]
    # class 0 is the prepared images' top-1, class 1 the raw images'
    picks = [next(p for p in pairs if p[1].label == 0), next(p for p in pairs if p[1].label == 1)]
    _, _, titles, _ = comparison_data({"centre": CenterBaseline()}, model, [p[0] for p in picks],
                                      [p[1] for p in picks])
    assert titles == [f"{CLASS_NAMES[o.label]}: {90.0 if o.label == 0 else 2.0:.2f}%" for _, o in picks]


def test_every_convergence_reading_is_a_registry_method_under_its_registry_label():
    from saliency_widgets.reproduce import CONVERGENCE_REFERENCE, READINGS, variants

    from saliency_widgets.registry import METHODS, STUDY_READINGS

    specs = list(METHODS.values()) + list(STUDY_READINGS.values())
    names = [s.key for s in specs] + [s.label for s in specs]
    assert len(set(names)) == len(names) - 1  # "occlusion" is the one key that is also its own label
    out = variants(_brightness_model, budget=100)
    assert list(out) == [get_method(k).label for k in READINGS + (CONVERGENCE_REFERENCE,)]
    for label, explainer in out.items():
        spec = get_method(label)
        assert spec.label == label and isinstance(explainer, spec.cls)
        assert all(explainer.params[k] == v for k, v in spec.fixed.items()), (label, explainer.params)
        if "32 chains" in label:  # what the label promises, from the registry's build
            assert explainer.params["chains"] == 32
    with pytest.raises(ValueError, match="outside its range"):  # range-checked like every front end
        variants(_brightness_model, budget=0)


def test_a_reading_renamed_in_the_registry_is_renamed_in_the_convergence_study(monkeypatch):
    import dataclasses

    from saliency_widgets import registry
    from saliency_widgets.reproduce import variants

    for table, key in ((registry.METHODS, "mask-update-paper"), (registry.STUDY_READINGS, "mask-update-relative")):
        # a label is its declaration's template (computed from the settings that ran): rename it there
        spec = table[key]
        decl = dataclasses.replace(spec.declaration, label=f"renamed {key}")
        monkeypatch.setitem(table, key, dataclasses.replace(spec, label=f"renamed {key}", declaration=decl))
    labels = list(variants(_brightness_model, budget=100))
    assert "renamed mask-update-paper" in labels and "renamed mask-update-relative" in labels
    assert "mask-update (paper)" not in labels


# -- tiers and the estimate printed before the work -----------------------------------------------------

def test_estimate_is_the_timed_first_items_times_their_counts():
    from saliency_widgets.reproduce import estimate_seconds
    assert estimate_seconds({"single": 2.0, "multi": 0.5, "convergence": 3.0},
                            {"single": 10, "multi": 4, "convergence": 2}) == 28.0
    with pytest.raises(ValueError, match="no timing for \\['figures'\\]"):
        estimate_seconds({"single": 1.0}, {"single": 1, "figures": 3})


def test_tiers_sample_the_full_runs_scenes_and_methods():
    from saliency_widgets.reproduce import TIERS, tier_config, tier_note
    full, quick = tier_config("full"), tier_config("quick")
    assert full == CONFIG and tier_note("full", full) == ""
    for k in ("headline", "budget", "checkpoints", "single_seed", "multi_seed", "explainer_seed"):
        assert quick[k] == full[k], k  # the same methods, budgets and seeds: the first scenes of the full run
    assert all(quick[k] < full[k] for k in ("n_single", "n_multi", "conv_single", "conv_multi"))
    assert "quick tier" in tier_note("quick", quick) and "full_run.md" in tier_note("quick", quick)
    with pytest.raises(ValueError, match="tier must be one of"):
        tier_config("huge")
    assert set(TIERS) == {"full", "quick", "test"}


def test_full_run_markdown_is_the_shipped_numbers(shipped):
    from saliency_widgets.reproduce import full_run_markdown
    text = full_run_markdown()
    assert shipped["markdown_single"] in text and shipped["markdown_multi"] in text
    assert f"{shipped['config']['n_single']} scenes" in text and "Convergence" in text


@pytest.mark.slow
def test_a_tier_prints_its_estimate_first_and_labels_every_output(tmp_path, capsys, monkeypatch):
    import saliency_widgets.reproduce as rep
    calls = []
    real = rep.evaluate

    def spy(explainers, images, *a, **k):
        calls.append(len(images))
        print(f"EVALUATE {len(images)}")
        return real(explainers, images, *a, **k)
    monkeypatch.setattr(rep, "evaluate", spy)
    titles = []
    real_save = rep._save
    monkeypatch.setattr(rep, "_save", lambda fig, out, name, note: (titles.append((name, note)),
                                                                    real_save(fig, out, name, note)))
    res = rep.reproduce(str(tmp_path), tier="test", progress=False)
    out = capsys.readouterr().out
    lines = [x for x in out.splitlines() if x.startswith(("EVALUATE", "reproduce, test tier"))]
    assert lines[:3] == ["EVALUATE 1", "EVALUATE 1", lines[2]] and "estimated" in lines[2]  # timed, then told
    assert lines[3] == "EVALUATE 4"                                                          # then the work
    note = rep.tier_note("test", rep.tier_config("test"))
    for name in ("pointing.md", "convergence.md"):
        assert (tmp_path / name).read_text().startswith(f"**{note}**"), name
    assert sorted(n for n, _ in titles) == sorted(["pointing_game.png", "insertion_deletion.png", "curves.png",
                                                   "convergence_single.png", "convergence_multi.png"])
    assert all(t == note for _, t in titles)
    assert (tmp_path / "full_run.md").read_text() == rep.full_run_markdown()
    assert res["tier"] == "test" and res["estimated_seconds"] > 0


def test_the_tier_note_goes_above_a_figures_own_title(tmp_path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from saliency_widgets.reproduce import _save
    fig = plt.figure()
    fig.suptitle("own title")
    _save(fig, str(tmp_path), "f.png", "quick tier: ...")
    assert fig.get_suptitle() == "quick tier: ...\nown title" and (tmp_path / "f.png").exists()
