"""A results file never loses a good row: each row carries its own checksum, a bad row is set aside, not deleted.

Before: a damaged row in the middle made the resume delete every good row after it, a damaged header wiped the
file (both as "an interrupted write"), a row of the wrong shape ended in a bare TypeError, and hand-edited rows
(a hit flipped, a duplicate, a class the image does not have, the string "0" as a hit) were taken as results.
"""
from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from saliency_widgets import CenterBaseline, Occlusion, evaluate
from saliency_widgets.evaluation import results_file as rf

from ..conftest import RegionModel

QUICK = dict(metrics=("pointing",), sanity=False, progress=False)
N_IMAGES = 12


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    images = rng.random((N_IMAGES, 16, 16, 3)).astype(np.float32)
    truths = [[(i % 2, (0, 0, 8, 8) if i % 3 else (8, 8, 16, 16))] for i in range(N_IMAGES)]
    return images, truths


def _methods():
    return {"center": CenterBaseline(), "occ": Occlusion(RegionModel(), window=8, stride=8)}


def run(path, images, truths, **kw):
    return evaluate(_methods(), images, truths, results=path, **QUICK, **kw)


def _lines(path):
    return path.read_text(encoding="utf-8").splitlines()


def _table(rows):
    """The table's numbers (not the seconds a map took: a recomputed map takes other seconds)."""
    return [{k: v for k, v in r.items() if k != "seconds"} for r in rows.summary()]


def _fresh(tmp_path, data):
    path = tmp_path / "rows.jsonl"
    first = run(path, *data)
    assert len(_lines(path)) == 1 + 2 * N_IMAGES
    return path, first


def test_each_row_carries_a_checksum_that_a_hand_edit_breaks(tmp_path, data):
    path, _ = _fresh(tmp_path, data)
    head, *rows = (json.loads(line) for line in _lines(path))
    file_id = head["__settings__"]["file_id"]
    assert all(rf.row_checks(r, file_id) for r in rows)
    edited = dict(rows[0], hit=not rows[0]["hit"])
    assert not rf.row_checks(edited, file_id)


def test_a_damaged_row_in_the_middle_is_set_aside_and_every_good_row_kept(tmp_path, data):
    path, first = _fresh(tmp_path, data)
    lines = _lines(path)
    good = lines[1:4] + lines[5:]
    lines[4] = lines[4][: len(lines[4]) // 2] + "#garbage"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    seen = []
    with pytest.warns(RuntimeWarning) as caught:
        again = evaluate(_methods(), *data, results=path, on_rows=seen.append, **QUICK)
    text = " ".join(str(w.message) for w in caught)
    side = rf.side_file(path)
    assert "line 5" in text and str(side) in text and "interrupted write" not in text
    assert sum(len(s) for s in seen) == 1                    # only the damaged row was recomputed
    kept = _lines(path)
    assert all(line in kept for line in good)                # every good row, byte for byte
    assert len(kept) == 1 + 2 * N_IMAGES and _table(again) == _table(first)
    with open(side, encoding="utf-8") as f:
        aside = [json.loads(line) for line in f]
    assert aside[0]["line"] == 5 and aside[0]["text"].endswith("#garbage") and "JSON" in aside[0]["reason"]


def test_a_damaged_header_is_reported_and_the_file_left_untouched(tmp_path, data):
    path, _ = _fresh(tmp_path, data)
    lines = _lines(path)
    lines[0] = lines[0][:40]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    before = path.read_bytes()
    with pytest.raises(ValueError, match=r"first line .*settings.* damaged.*nothing was changed.*overwrite=True"):
        run(path, *data)
    assert path.read_bytes() == before
    run(path, *data, overwrite=True)  # asked to start afresh: it does
    assert len(_lines(path)) == 1 + 2 * N_IMAGES


def test_an_edited_header_is_damaged_too(tmp_path, data):
    path, _ = _fresh(tmp_path, data)
    lines = _lines(path)
    head = json.loads(lines[0])
    head["__settings__"]["metrics"]["tolerance"] = 99
    lines[0] = json.dumps(head)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match="checksum"):
        run(path, *data)


def test_a_line_that_is_not_a_row_is_set_aside_naming_its_line(tmp_path, data):
    path, _ = _fresh(tmp_path, data)
    lines = _lines(path)
    lines.insert(3, "[1, 2, 3]")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.warns(RuntimeWarning, match=r"line 4: not a row"):
        rows = run(path, *data)
    assert len(rows) == 2 * N_IMAGES


def test_a_row_of_the_wrong_shape_with_a_valid_checksum_is_an_error_naming_the_line(tmp_path, data):
    """A row this code did not write (its checksum holds, its fields are not a row's): an error, file kept."""
    path, _ = _fresh(tmp_path, data)
    lines = _lines(path)
    file_id = json.loads(lines[0])["__settings__"]["file_id"]
    row = json.loads(lines[2])
    del row["method"], row[rf.ROW_CHECKSUM]
    lines[2] = json.dumps(rf.seal_row(row, file_id))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    before = path.read_bytes()
    with pytest.raises(ValueError, match=r"line 3 .*'method'"):
        run(path, *data)
    assert path.read_bytes() == before


@pytest.mark.parametrize("edit", ["flip a hit", "duplicate a row", "a class the image does not have",
                                  "the string '0' as a hit"])
def test_hand_edited_rows_are_set_aside_and_the_table_does_not_move(tmp_path, data, edit):
    """Before: each edit was taken as a result (pointing 94.4% -> 90.3% on the researcher's file)."""
    path, first = _fresh(tmp_path, data)
    lines = _lines(path)
    row = json.loads(lines[3])
    if edit == "flip a hit":
        lines[3] = json.dumps(dict(row, hit=not row["hit"]))
    elif edit == "duplicate a row":
        lines.insert(4, lines[3])
    elif edit == "a class the image does not have":
        lines.append(json.dumps(dict(row, target=99)))
    else:
        lines[3] = json.dumps(dict(row, hit="0"))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.warns(RuntimeWarning, match="set aside"):
        again = run(path, *data)
    assert _table(again) == _table(first) and len(again) == 2 * N_IMAGES
    assert len(_lines(path)) == 1 + 2 * N_IMAGES


def test_a_cut_off_last_line_is_still_an_interrupted_write_and_resumes(tmp_path, data):
    path, first = _fresh(tmp_path, data)
    text = path.read_text(encoding="utf-8")
    path.write_text(text[:-30], encoding="utf-8")
    with pytest.warns(RuntimeWarning, match="interrupted write"):
        again = run(path, *data)
    assert _table(again) == _table(first)


def _reseal_header(path, change):
    lines = _lines(path)
    head = json.loads(lines[0])
    head.pop(rf.ROW_CHECKSUM, None)
    change(head["__settings__"])
    lines[0] = json.dumps(rf.seal_header(head))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_a_file_from_an_older_version_whose_methods_compute_the_same_maps_is_resumed(tmp_path, data):
    """Before: a file written 128 commits earlier, whose rows the code reproduced exactly, was refused as
    'another model' (the header recorded no version or fingerprint, so the refusal guessed)."""
    path, first = _fresh(tmp_path, data)

    def older(settings):
        settings["package"]["version"] = "0.0.1"
        settings["inputs"]["model"]["architecture"] = "0123456789abcdef"  # how an older version hashed it
    _reseal_header(path, older)
    seen = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        again = evaluate(_methods(), *data, results=path, on_rows=seen.append, **QUICK)
    assert seen == [] and _table(again) == _table(first)


def test_a_file_whose_method_computes_another_map_is_refused_naming_the_method(tmp_path, data):
    path, _ = _fresh(tmp_path, data)

    def moved(settings):
        settings["package"]["version"] = "0.0.1"
        probe = settings["fingerprints"]["occ"]["probe"]
        probe["map"] = [v + 0.5 for v in probe["map"]]
    _reseal_header(path, moved)
    with pytest.raises(ValueError, match=r"'occ' \(occlusion\) computes another map"):
        run(path, *data)


def test_the_header_records_the_version_and_the_methods_fingerprints(tmp_path, data):
    import saliency_widgets
    path, _ = _fresh(tmp_path, data)
    settings = json.loads(_lines(path)[0])["__settings__"]
    assert settings["package"] == {"name": "saliency_widgets", "version": saliency_widgets.__version__}
    fps = settings["fingerprints"]
    assert fps["occ"]["key"] == "occlusion" and len(fps["occ"]["probe"]["map"]) == 64
    assert fps["center"]["key"] == "center"


def test_an_explainer_without_a_registry_key_is_fingerprinted_by_its_params(tmp_path, data):
    class Mine(CenterBaseline):
        """A user's own method: no registry key."""

        @property
        def method(self):
            return "mine"

    path = tmp_path / "rows.jsonl"
    evaluate({"mine": Mine()}, *data, results=path, **QUICK)
    fp = json.loads(_lines(path)[0])["__settings__"]["fingerprints"]["mine"]
    assert fp["probe"] is None and fp["params"] == Mine().params
