"""evaluate(client=...): recipes, the per-worker model cache, and a LocalCluster with a killed worker."""
import json
import os
import signal

import numpy as np
import pytest

from saliency_widgets import evaluate
from saliency_widgets.evaluation.cluster import recipe_of, recipes_of, worker_model
from saliency_widgets.explainers import Rise
from saliency_widgets.registry import build
from tests.toy_models import MARK, ChannelModel, make_channel_model


def _images(n, *, size=16, seed=0):
    rng = np.random.default_rng(seed)
    imgs = rng.uniform(0, 255, (n, size, size, 3)).astype(np.float32)
    truths = [[(i % 3, (0, 0, size // 2, size))] for i in range(n)]
    return imgs, truths


# -- recipes (no cluster) --------------------------------------------------------------------------

def test_a_rebuilt_seeded_explainer_gives_the_same_map():
    model = ChannelModel()
    img = _images(1)[0][0]
    rise = Rise(model, masks=60, grid=4, seed=3)
    recipe = recipe_of("RISE", rise)
    assert recipe.key == "rise" and dict(recipe.params)["seed"] == 3
    again = recipe.build(ChannelModel())
    np.testing.assert_array_equal(again.explain(img, target=1).raw, rise.explain(img, target=1).raw)


def test_recipe_uses_the_most_specific_registry_entry_and_drops_fixed_settings():
    model = ChannelModel()
    paper = build("mask-update-paper", model, budget=40, grid=4, seed=0)
    recipe = recipe_of("paper", paper)
    assert recipe.key == "mask-update-paper"
    assert not set(dict(recipe.params)) & {"chains", "update", "weighting"}
    assert recipe.build(model).params == paper.params


def test_generator_seed_cannot_travel():
    rise = Rise(ChannelModel(), masks=10, seed=np.random.default_rng(0))
    with pytest.raises(ValueError, match="integer seed"):
        recipe_of("RISE", rise)


def test_recipes_from_names_and_pairs():
    r = recipes_of(["rise", ("occlusion", {})])
    assert list(r) == ["RISE", "occlusion"] and r["RISE"].key == "rise"
    with pytest.raises(ValueError, match="fixes"):
        recipes_of([("mask-update-paper", {"chains": 4})])
    with pytest.raises(ValueError, match="two explainers"):
        recipes_of(["rise", "RISE"])


def test_worker_model_is_built_once_per_factory():
    calls = []

    def factory():
        calls.append(1)
        return ChannelModel()

    a, b = worker_model(factory, "k-test"), worker_model(factory, "k-test")
    assert a is b and len(calls) == 1


def test_client_needs_a_model_factory():
    imgs, truths = _images(2)
    with pytest.raises(ValueError, match="model_factory"):
        evaluate(["rise"], imgs, truths, client=object(), progress=False)


# -- a LocalCluster ----------------------------------------------------------------------------------

METHODS = {"RISE": ("rise", {"masks": 40, "grid": 4, "seed": 0}), "occlusion": ("occlusion", {})}


@pytest.fixture
def cluster():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=40) as cl, distributed.Client(cl) as client:
        yield client


def _rows(path):
    lines = open(path).read().splitlines()
    assert "__settings__" in json.loads(lines[0])
    return [json.loads(x) for x in lines[1:]]


@pytest.mark.slow
def test_cluster_rows_equal_local_rows_and_resume_rules_hold(cluster, tmp_path):
    imgs, truths = _images(6)
    out = str(tmp_path / "c.jsonl")
    kw = dict(metrics=("pointing", "box_iou", "deletion"), progress=False, sanity=False)
    remote = evaluate(METHODS, imgs, truths, client=cluster, model_factory=make_channel_model, results=out,
                      shard_size=2, **kw)
    model = ChannelModel()
    local = evaluate({name: build(key, model, **p) for name, (key, p) in METHODS.items()}, imgs, truths, **kw)
    strip = lambda rows: sorted((r["image"], r["target"], r["method"], r["hit"], r["box_iou"],
                                 round(r["deletion"], 9)) for r in rows)
    assert strip(remote) == strip(local)
    assert remote.settings["explainers"] == local.settings["explainers"]
    assert len(_rows(out)) == 12
    # resuming with other params is refused; with the same, nothing is recomputed
    with pytest.raises(ValueError, match="masks"):
        evaluate({"RISE": ("rise", {"masks": 41, "grid": 4, "seed": 0})}, imgs, truths, client=cluster,
                 model_factory=make_channel_model, results=out, **kw)
    again = evaluate(METHODS, imgs, truths, client=cluster, model_factory=make_channel_model, results=out, **kw)
    assert len(again) == 12 and len(_rows(out)) == 12


@pytest.mark.slow
def test_killed_worker_and_failing_image_leave_exactly_one_row_per_key(cluster, tmp_path):
    imgs, truths = _images(16)
    imgs[5, 0, 0, 0] = MARK  # the model raises on this image: its rows record the error
    out = str(tmp_path / "f.jsonl")
    killed = []

    def kill_a_busy_worker(new_rows):
        if killed:
            return
        busy = [w for w, keys in cluster.processing().items() if keys]
        if not busy:
            return  # nothing running any more: no worker to kill mid-run
        pid = cluster.run(os.getpid, workers=[busy[0]])[busy[0]]
        os.kill(pid, signal.SIGKILL)
        killed.append(pid)

    rows = evaluate(METHODS, imgs, truths, client=cluster, model_factory=make_channel_model, results=out,
                    shard_size=1, progress=False, sanity=False, on_rows=kill_a_busy_worker)
    assert killed, "no worker was busy when the first rows arrived"
    keys = [(i, i % 3, m) for i in range(16) for m in METHODS]
    for got in (rows, _rows(out)):
        assert sorted((r["image"], r["target"], r["method"]) for r in got) == sorted(keys)
    failed = [r for r in _rows(out) if "error" in r]
    assert {(r["image"], r["method"]) for r in failed} == {(5, m) for m in METHODS}
    assert all("toy model refuses the marked image" in r["error"] for r in failed)
    assert all("hit" in r for r in _rows(out) if r["image"] != 5)


def test_local_evaluate_takes_the_same_name_params_pairs():
    imgs, truths = _images(3)
    rows = evaluate(METHODS, imgs, truths, model=ChannelModel(), metrics=("pointing",), progress=False,
                    sanity=False)
    assert rows.settings["explainers"]["RISE"]["params"]["masks"] == 40
    assert sorted({r["method"] for r in rows}) == ["RISE", "occlusion"]
