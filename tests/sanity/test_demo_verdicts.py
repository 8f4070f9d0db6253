"""The randomisation rule on the demo model: Adebayo et al.'s finding, recomputed (slow: real maps).

The top block (the dense layer that makes the class decision) of the shipped demo model is
re-initialised, and each method's maps of 30 demo scenes are compared with its maps on the trained
model.  Guided Backpropagation keeps most of its map (it redraws the image's edges, whatever the decision
layer): it must FAIL.  RISE, occlusion and Grad-CAM read the decision: they must PASS.  The centre
baseline never calls the model and draws one map for every image: it must FAIL.
"""
from __future__ import annotations

import numpy as np
import pytest

from saliency_widgets import sanity


@pytest.mark.slow
def test_demo_model_top_block_verdicts():
    from saliency_widgets.demo import load_model, make_scenes

    model = load_model()
    scenes = make_scenes(sanity.MIN_IMAGES, seed=11)
    res = sanity.model_randomisation(
        model, scenes.images.astype(np.float32), ["guided-backprop", "rise", "occlusion", "grad-cam", "center"],
        targets=scenes.labels, layers=[("probabilities",)], budget={"rise": 100}, seed=0, progress=False,
        params={"guided-backprop": {"differentiate": "logit"}, "occlusion": {"window": 12, "stride": 12}})
    label = dict(zip(["gb", "rise", "occlusion", "grad-cam", "center"], res.methods))
    v = {key: res.verdict(name) for key, name in label.items()}
    assert {key: d["verdict"] for key, d in v.items()} == {
        "gb": "fails", "rise": "passes", "occlusion": "passes", "grad-cam": "passes", "center": "fails"}, \
        "\n".join(d["text"] for d in v.values())
    assert v["gb"]["nd_high"] < 0.3 and v["gb"]["floor"] == 1.0 and v["gb"]["mean"] > 0.8   # barely changed
    assert np.isnan(v["center"]["nd"]) and "does not depend on the image" in v["center"]["reason"]
    assert all("1 of 11 layers with weights randomised" in d["text"] for d in v.values())
