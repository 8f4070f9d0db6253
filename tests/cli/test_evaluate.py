"""python -m saliency_widgets evaluate: a demo VOC folder, the per-class table, errors as exit code 2."""
import inspect
import json

import pytest

from saliency_widgets import Rise
from saliency_widgets.cli import main
from saliency_widgets.datasets import demo_voc, write_demo_voc


@pytest.fixture(scope="module")
def demo_root(tmp_path_factory):
    return write_demo_voc(tmp_path_factory.mktemp("voc"), 4, objects=(1, 2), seed=2)


def test_evaluate_command_writes_rows_and_the_per_class_table(demo_root, tmp_path, capsys):
    out = tmp_path / "r.jsonl"
    assert main(["evaluate", "--dataset", f"voc:{demo_root}", "--model", "demo", "--methods", "center,rise",
                 "--budget", "100", "--out", str(out), "--no-progress"]) == 0
    ds = demo_voc(demo_root)
    keys = sorted((i, label) for i in ds.indices() for label, _ in ds.labels(i))
    rows = [json.loads(x) for x in out.read_text().splitlines()[1:]]
    for method in ("centre baseline", "RISE"):
        assert sorted((r["image"], r["target"]) for r in rows if r["method"] == method) == keys
    table = (tmp_path / "r.md").read_text()
    for label in {k[1] for k in keys}:
        name = ds.class_names[label]
        centre = [r for r in rows if r["method"] == "centre baseline" and r["target"] == label]
        assert f"| {name} | " in table and f"({sum(r['hit'] for r in centre)}/{len(centre)})" in table
    assert "RISE (difficult)" in table and "mean of classes" in table
    assert "rows:" in capsys.readouterr().out


def test_evaluate_command_reports_bad_input(tmp_path, capsys):
    assert main(["evaluate", "--dataset", f"voc:{tmp_path / 'missing'}", "--out", str(tmp_path / "r.jsonl")]) == 2
    assert "not found" in capsys.readouterr().err
    assert main(["evaluate", "--dataset", "pascal:/x", "--out", str(tmp_path / "r.jsonl")]) == 2
    assert "voc:PATH" in capsys.readouterr().err
    assert main(["evaluate", "--dataset", "voc:/x", "--model", "nonsense"]) == 2
    assert "--model must be" in capsys.readouterr().err
    assert main(["evaluate", "--dataset", "voc:/x", "--model", "tests.toy_frameworks:make_torch"]) == 2
    assert "--input-size" in capsys.readouterr().err
    # A model that cannot be loaded is reported as such, not as a missing input size.
    assert main(["evaluate", "--dataset", "voc:/x", "--model", "tests.no_such_module:make"]) == 2
    err = capsys.readouterr().err
    assert "cannot import module" in err and "input size" not in err


@pytest.mark.parametrize("methods,budget,words", [
    ("rise", "0", "masks=0 (the budget) is outside its range [1, 100000]"),
    ("occlusion", "100", "has no budget of forward passes"),  # one method named: as in `explain`
    ("center,occlusion", "100", "none of ['center', 'occlusion'] has a budget"),
])
def test_a_budget_is_checked_before_any_work(tmp_path, capsys, methods, budget, words):
    out = tmp_path / "r.jsonl"
    assert main(["evaluate", "--dataset", f"voc:{tmp_path / 'missing'}", "--methods", methods, "--budget", budget,
                 "--out", str(out)]) == 2  # checked before the dataset is opened
    assert words in capsys.readouterr().err and not out.exists()


def test_a_shared_budget_goes_to_the_methods_that_have_one():
    from saliency_widgets.cli.evaluate import methods_from_args
    methods = methods_from_args("center,rise,mask-update-paper", 300, seed=4)
    assert methods == {"centre baseline": ("center", {}), "RISE": ("rise", {"masks": 300, "seed": 4}),
                       "mask-update (paper)": ("mask-update-paper", {"steps": 300, "seed": 4})}
    # no budget: the constructor's default, as Rise(model) and `explain --method rise` run
    assert methods_from_args("rise", None)["RISE"] == ("rise", {"masks": 4000, "seed": 0})
    assert inspect.signature(Rise).parameters["masks"].default == 4000


def test_evaluate_a_torch_module_given_by_import_path(demo_root, tmp_path):
    pytest.importorskip("torch")
    import numpy as np

    from saliency_widgets import evaluate
    from saliency_widgets.models import as_model

    from ..toy_frameworks import channel_probabilities
    out = tmp_path / "t.jsonl"
    assert main(["evaluate", "--dataset", f"voc:{demo_root}", "--model", "tests.toy_frameworks:make_torch_six",
                 "--input-size", "96,96", "--classes", "demo", "--methods", "rise,center", "--budget", "100",
                 "--metrics", "pointing,deletion", "--out", str(out), "--no-progress"]) == 0
    ds = demo_voc(demo_root, size=(96, 96))
    keys = sorted((i, label) for i in ds.indices() for label, _ in ds.labels(i))
    rows = [json.loads(x) for x in out.read_text().splitlines()[1:]]
    rise = [r for r in rows if r["method"] == "RISE"]
    assert sorted((r["image"], r["target"]) for r in rise) == keys
    assert all(r["n_forward"] == 100 for r in rise)
    # the same rows from the NumPy reference of the module through the Python API: the CLI ran the module
    ref = evaluate({"RISE": ("rise", {"masks": 100, "seed": 0})}, ds,
                   model=as_model(lambda b: channel_probabilities(b, 6)), metrics=("pointing", "deletion"),
                   progress=False)
    by_key = {(r["image"], r["target"]): r for r in ref}
    for r in rise:
        assert r["hit"] == by_key[(r["image"], r["target"])]["hit"]
        assert r["deletion"] == pytest.approx(by_key[(r["image"], r["target"])]["deletion"], abs=1e-3)


@pytest.mark.slow
def test_evaluate_command_on_a_local_cluster_matches_the_local_run(demo_root, tmp_path):
    pytest.importorskip("distributed")
    common = ["evaluate", "--dataset", f"voc:{demo_root}", "--model", "demo", "--methods", "rise", "--budget",
              "100", "--no-progress"]
    assert main(common + ["--out", str(tmp_path / "local.jsonl")]) == 0
    assert main(common + ["--out", str(tmp_path / "cluster.jsonl"), "--workers", "2", "--shard-size", "1"]) == 0
    read = lambda name: sorted((r["image"], r["target"], r["hit"], r["hit_strict"]) for r in
                               (json.loads(x) for x in (tmp_path / name).read_text().splitlines()[1:]))
    assert read("cluster.jsonl") == read("local.jsonl")
    inputs = lambda name: json.loads((tmp_path / name).read_text().splitlines()[0])["__settings__"]["inputs"]
    assert inputs("cluster.jsonl") == inputs("local.jsonl")  # the worker fingerprints the model as the driver does
    assert inputs("local.jsonl")["model"]["kind"] == "keras"


def test_force_new_starts_a_file_made_from_another_image_set_afresh(demo_root, tmp_path, capsys):
    out = tmp_path / "r.jsonl"
    other = write_demo_voc(tmp_path / "other", 2, objects=(1, 1), seed=5)
    args = ["evaluate", "--model", "demo", "--methods", "center", "--metrics", "pointing", "--out", str(out),
            "--no-progress"]
    assert main(args + ["--dataset", f"voc:{demo_root}"]) == 0
    assert main(args + ["--dataset", f"voc:{other}"]) == 2
    assert "another image set" in capsys.readouterr().err
    assert main(args + ["--dataset", f"voc:{other}", "--force-new"]) == 0
    rows = [json.loads(x) for x in out.read_text().splitlines()[1:]]
    assert {r["image"] for r in rows} == {0, 1}  # only the new set's rows: the old file was not kept
