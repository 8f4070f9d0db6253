import numpy as np
import pytest

from saliency_widgets import Explanation, MaskUpdate, normalize_map


def test_save_load_roundtrip(tmp_path, quadrant_model, ones_image):
    exp = MaskUpdate(quadrant_model, occluder="zero", steps=64, seed=0).explain(ones_image, 0)
    path = exp.save(tmp_path / "exp")
    assert path.endswith(".npz")
    back = Explanation.load(path)
    for name in ("saliency", "raw", "mask", "trace"):
        np.testing.assert_array_equal(getattr(back, name), getattr(exp, name))
    assert (back.target, back.n_forward, back.method, back.done) == (0, 64, "mask-update", True)
    assert back.params == exp.params and back.score == pytest.approx(exp.score)
    with np.load(path, allow_pickle=False) as data:  # readable without pickle
        assert "metadata" in data


def test_load_rejects_foreign_npz(tmp_path):
    np.savez(tmp_path / "x.npz", a=np.ones(3))
    with pytest.raises(ValueError, match="metadata"):
        Explanation.load(tmp_path / "x.npz")


def test_normalize_map():
    out = normalize_map(np.array([[1.0, 2.0], [3.0, 6.0]]))
    np.testing.assert_allclose(out, [[0, 0], [0, 1]])
    assert normalize_map(np.full((3, 3), 5.0)).max() == 0.0  # flat map: no division by zero
