"""benchmarks/_common.py: publishing a measurement stores its JSON and its RESULTS.md section, or nothing."""
from __future__ import annotations

import json

from benchmarks import _common


def test_publish_stores_the_json_and_replaces_only_its_section(tmp_path, capsys):
    md = tmp_path / "RESULTS.md"
    md.write_text("# Benchmark results\n\n## Mine\n\nold\n\n## Other\n\nkept\n", encoding="utf-8")
    result = {"meta": {"x": 1}}
    out = tmp_path / "r.json"
    assert _common.publish(result, "## Mine\n\nnew", out=str(out), results_md=str(md), heading="## Mine") is result
    assert json.loads(out.read_text()) == result
    text = md.read_text()
    assert "new" in text and "old" not in text and "## Other\n\nkept" in text
    assert "## Mine\n\nnew" in capsys.readouterr().out


def test_publish_without_write_only_prints(tmp_path, capsys):
    out, md = tmp_path / "r.json", tmp_path / "RESULTS.md"
    _common.publish({"a": 1}, "## Mine\n\ntext", out=str(out), results_md=str(md), heading="## Mine", write=False)
    assert not out.exists() and not md.exists()
    assert "text" in capsys.readouterr().out
