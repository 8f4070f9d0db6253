"""benchmarks/gpu/publish.py: goals marked from the figures, runs on other code refused (issue 23)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def publish(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks" / "gpu"))
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    import publish
    return publish


def _run(tmp_path, stamp, eff_rise, eff_mu, speedup, n=4096):
    rows = [dict(model="PyTorch ResNet50", section="forward floor", result="1 img/s", key="floor", floor_img_s=7000.0),
            dict(model="PyTorch ResNet50", section="Rise", result="0.5 s", key="rise", efficiency=eff_rise, nb=1),
            dict(model="PyTorch ResNet50", section="MU", result="0.5 s", key="mu_chains", efficiency=eff_mu),
            dict(model="PyTorch ResNet50", section="proto", result="x", key="prototype", per_step_ms=20.0,
                 speedup=speedup)]
    meta = dict(code_stamp=stamp, date_utc="2026-12-04 17:00", python="3.12", torch="2.11", device="NVIDIA H200",
                cfg=dict(n=n, chains=256, batch=256, px=224, repeats=3), argv=["--budget-s", "360"])
    (tmp_path / "bench_gpu.json").write_text(json.dumps(dict(meta=meta, rows=rows)))
    return tmp_path


def test_goals_are_marked_from_the_figures(publish, tmp_path):
    meta, rows, env = publish.load_run(_run(tmp_path, "x", 0.95, 0.85, 29.0))
    table = "\n".join(publish.main_table(publish.by_model(rows), meta["cfg"]))
    assert "**0.95** ✔" in table and "**0.85** ✘" in table and "**29x** ✘" in table
    text = publish.readme_paragraph(meta, rows, env, "abc")
    assert "not met on PyTorch ResNet50" in text and "0.95 / 0.85" in text and "2026-12-04" in text


def test_demo_model_goal_is_half_the_floor(publish):
    assert publish.goal_for("demo model 96 px (jax)") == 0.5
    assert publish.goal_for("Keras MobileNetV2 224 (jax)") == 0.9


def test_a_run_on_other_code_or_a_quick_run_is_refused(publish, tmp_path):
    with pytest.raises(SystemExit, match="measured code"):
        publish.main([str(_run(tmp_path, "0000", 0.95, 0.95, 50.0)), "--name", "t"])
    from bench_gpu import code_stamp
    with pytest.raises(SystemExit, match="rehearsal"):
        publish.main([str(_run(tmp_path, code_stamp(), 0.95, 0.95, 50.0, n=64)), "--name", "t"])


def test_results_quotes_the_stored_gpu_run(publish):
    """The published GPU figures are what publish.py renders from the stored run's JSON (issue 20): a figure
    edited by hand in RESULTS.md, or a JSON changed without republishing, fails here.  (The documentation
    renders them from the same JSON when it is built: tools/docs_pages.py.)"""
    stored = sorted((ROOT / "benchmarks" / "gpu").glob("*.json"))
    assert stored, "no published GPU run in benchmarks/gpu/"
    results = (ROOT / "benchmarks" / "RESULTS.md").read_text(encoding="utf-8")

    def marked(text, marks):
        start, end = marks
        return text[text.index(start) + len(start) + 1:text.index(end)]
    published = [p for p in stored if f"benchmarks/gpu/{p.stem}.md" in marked(results, publish.MARKS["results"])]
    assert len(published) == 1, "RESULTS.md's GPU section names no (or several) stored runs"
    run = json.loads(published[0].read_text(encoding="utf-8"))
    commit = run["meta"]["git_commit"]
    section = publish.results_section(run["meta"], run["rows"], run["env"], commit, published[0].stem)
    assert marked(results, publish.MARKS["results"]) == section + "\n", \
        f"RESULTS.md's GPU section is not what publish.py renders from {published[0].name}"
