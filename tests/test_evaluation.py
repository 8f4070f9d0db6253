import json

import numpy as np
import pytest

from saliency_widgets import CenterBaseline, Occlusion, Rise, evaluate

from .conftest import RegionModel


@pytest.fixture
def data():
    images = np.ones((3, 16, 16, 3), np.float32)
    mask = np.zeros((16, 16), bool)
    mask[:8, :8] = True
    truths = [[(0, (0, 0, 8, 8))], [(0, mask)], [{"label": 0, "box": (0, 0, 8, 8)}]]
    return images, truths


def test_rows_and_markdown_table(data):
    images, truths = data
    model = RegionModel()
    rows = evaluate({"rise": Rise(model, masks=300, grid=4, seed=0), "center": CenterBaseline()}, images, truths,
                    progress=False, step=32)
    assert len(rows) == 6 and {r["method"] for r in rows} == {"rise", "center"}
    table = str(rows)
    assert table.startswith("| method |") and "| rise |" in table and "| center |" in table
    rise = [s for s in rows.summary() if s["method"] == "rise"][0]
    assert rise["pointing"] == 1.0 and rise["n"] == 3  # the quadrant model: RISE points into it
    assert 0 <= rise["insertion"] <= 1 and 0 <= rise["deletion"] <= 1


class Interrupting(Occlusion):
    """Raises KeyboardInterrupt at its n-th explanation, like a user pressing Ctrl-C."""

    def __init__(self, model, at):
        super().__init__(model, window=4)
        self.at, self.count = at, 0

    def explain(self, image, target=None):
        self.count += 1
        if self.count == self.at:
            raise KeyboardInterrupt
        return super().explain(image, target)


def test_interrupted_run_resumes_without_recomputing(tmp_path, data):
    images, truths = data
    path = tmp_path / "rows.jsonl"
    with pytest.raises(KeyboardInterrupt):
        evaluate({"occ": Interrupting(RegionModel(), at=3)}, images, truths, results=path, progress=False)
    assert len(path.read_text().splitlines()) == 2  # two images were finished and saved
    again = Interrupting(RegionModel(), at=99)
    rows = evaluate({"occ": again}, images, truths, results=path, progress=False)
    assert again.count == 1 and len(rows) == 3  # only the third image was computed
    assert [json.loads(line)["image"] for line in path.read_text().splitlines()] == [0, 1, 2]


def test_bad_arguments(data):
    images, truths = data
    with pytest.raises(ValueError, match="unknown metrics"):
        evaluate([CenterBaseline()], images, truths, metrics=("accuracy",))
    with pytest.raises(ValueError, match="one list of objects per image"):
        evaluate([CenterBaseline()], images, truths[:2])
