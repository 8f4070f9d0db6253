import numpy as np
import pytest

from saliency_widgets import MaskUpdate, Rise
from saliency_widgets.metrics import convergence, deletion, insertion


def test_correlation_reaches_one_at_the_end(quadrant_model, ones_image):
    res = convergence(Rise(quadrant_model, masks=512, batch_size=32, seed=0, occluder="zero"), ones_image, 0,
                      checkpoints=[32, 64, 128, 256])
    assert list(res.n_forward) == [32, 64, 128, 256, 512]
    assert res.correlation[-1] == pytest.approx(1.0) and res.correlation[0] < 0.999
    assert res.passes_to_reach(0.9999) == 512


def test_causal_aucs_per_checkpoint(quadrant_model):
    """The last checkpoint's AUCs are those of the final map's raw values (the metrics' ranking rule)."""
    image = np.random.default_rng(0).random((16, 16, 3)).astype(np.float32)
    make = lambda: MaskUpdate(quadrant_model, steps=256, chains=16, seed=0, occluder="zero")  # noqa: E731
    res = convergence(make(), image, 0, checkpoints=[64, 128], causal=True, step=16)
    assert res.insertion.shape == res.deletion.shape == (3,)
    final = make().explain(image, 0)
    assert res.insertion[-1] == insertion(quadrant_model, image, final.raw, 0, step=16).auc
    assert res.deletion[-1] == deletion(quadrant_model, image, final.raw, 0, step=16).auc


def test_reference_map(quadrant_model, ones_image):
    ref = np.zeros((16, 16))
    ref[:8, :8] = 1
    res = convergence(Rise(quadrant_model, masks=2000, batch_size=100, seed=0, occluder="zero"), ones_image, 0,
                      checkpoints=[100], reference=ref)
    assert res.correlation[-1] > 0.7
