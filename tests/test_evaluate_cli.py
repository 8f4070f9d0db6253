"""python -m saliency_widgets evaluate: a demo VOC folder, the per-class table, errors as exit code 2."""
import json

import pytest

from saliency_widgets.__main__ import main
from saliency_widgets.datasets import demo_voc, write_demo_voc


@pytest.fixture(scope="module")
def demo_root(tmp_path_factory):
    return write_demo_voc(tmp_path_factory.mktemp("voc"), 4, objects=(1, 2), seed=2)


def test_evaluate_command_writes_rows_and_the_per_class_table(demo_root, tmp_path, capsys):
    out = tmp_path / "r.jsonl"
    assert main(["evaluate", "--dataset", f"voc:{demo_root}", "--model", "demo", "--methods", "center,rise",
                 "--budget", "50", "--out", str(out), "--no-progress"]) == 0
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


@pytest.mark.slow
def test_evaluate_command_on_a_local_cluster_matches_the_local_run(demo_root, tmp_path):
    pytest.importorskip("distributed")
    common = ["evaluate", "--dataset", f"voc:{demo_root}", "--model", "demo", "--methods", "rise", "--budget",
              "30", "--no-progress"]
    assert main(common + ["--out", str(tmp_path / "local.jsonl")]) == 0
    assert main(common + ["--out", str(tmp_path / "cluster.jsonl"), "--workers", "2", "--shard-size", "1"]) == 0
    read = lambda name: sorted((r["image"], r["target"], r["hit"], r["hit_strict"]) for r in
                               (json.loads(x) for x in (tmp_path / name).read_text().splitlines()[1:]))
    assert read("cluster.jsonl") == read("local.jsonl")
