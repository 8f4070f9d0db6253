"""``protocol="rise"`` against a line-by-line NumPy port of RISE's ``CausalMetric`` (eclique/RISE, evaluation.py).

The port below follows RISE's ``gkern``, ``auc`` and ``CausalMetric.single_run``
statement by statement, with torch replaced by NumPy (NCHW tensors, ``conv2d``
with ``padding=klen // 2`` written out as a zero-padded correlation).  It is
checked on a seeded random CNN-like model, 10 images of 64 x 64, step 64 and
step 100 (100 does not divide 64 * 64: the last step is partial), with maps that
have no ties, so RISE's ``flip(argsort(map))`` and the package's ``rank_order``
give the same pixel order.

Checked against a broken copy: with ``_auc`` reverted to the trapezoid over the
true fractions, ``test_rise_protocol_matches_the_port[100-*]`` fails (4.6e-4
off); with ``rise_blur`` padding by reflection, the insertion cases fail.
"""
import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from saliency_widgets.metrics import deletion, insertion

SIZE, N_IMAGES, N_CLASSES = 64, 10, 5


class RandomCNN:
    """conv 5x5 (3 -> 8, seeded weights), ReLU, 4x4 average pooling, linear -> softmax; channels-last."""

    def __init__(self, seed=0):
        rng = np.random.default_rng(seed)
        self.w = rng.normal(0, 0.3, (5, 5, 3, 8))
        self.b = rng.normal(0, 0.1, 8)
        self.fc = rng.normal(0, 0.05, ((SIZE // 4) ** 2 * 8, N_CLASSES))

    def __call__(self, x):
        x = np.asarray(x, np.float64)
        n, h, w, _ = x.shape
        pad = np.pad(x, ((0, 0), (2, 2), (2, 2), (0, 0)))
        feat = np.zeros((n, h, w, 8))
        for dy in range(5):
            for dx in range(5):
                feat += pad[:, dy:dy + h, dx:dx + w] @ self.w[dy, dx]
        feat = np.maximum(feat + self.b, 0)
        pooled = feat.reshape(n, h // 4, 4, w // 4, 4, 8).mean((2, 4)).reshape(n, -1)
        logits = pooled @ self.fc
        e = np.exp(logits - logits.max(1, keepdims=True))
        return (e / e.sum(1, keepdims=True)).astype(np.float32)


# ------------------------------------------------------------------------------------------------
# The port (RISE's names; torch -> NumPy)
# ------------------------------------------------------------------------------------------------

HW = SIZE * SIZE


def gkern(klen, nsig):
    inp = np.zeros((klen, klen))
    inp[klen // 2, klen // 2] = 1
    k = gaussian_filter(inp, nsig)
    kern = np.zeros((3, 3, klen, klen))
    kern[0, 0] = k
    kern[1, 1] = k
    kern[2, 2] = k
    return kern.astype("float32")


def conv2d(x, kern, padding):
    """torch.nn.functional.conv2d (cross-correlation), NCHW, zero padding."""
    n, c, h, w = x.shape
    klen = kern.shape[-1]
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    out = np.zeros((n, kern.shape[0], h, w), np.float64)
    for o in range(kern.shape[0]):
        for i in range(c):
            for dy in range(klen):
                for dx in range(klen):
                    out[:, o] += kern[o, i, dy, dx] * xp[:, i, dy:dy + h, dx:dx + w]
    return out.astype(np.float32)


klen, ksig = 11, 5
kern = gkern(klen, ksig)


def blur(x):
    return conv2d(x, kern, padding=klen // 2)


def auc(arr):
    return (arr.sum() - arr[0] / 2 - arr[-1] / 2) / (arr.shape[0] - 1)


class CausalMetric:
    def __init__(self, model, mode, step, substrate_fn):
        assert mode in ["del", "ins"]
        self.model = model  # takes NCHW here: the port transposes for the channels-last toy model
        self.mode = mode
        self.step = step
        self.substrate_fn = substrate_fn

    def single_run(self, img_tensor, explanation):
        pred = self.model(img_tensor)
        c = int(np.argmax(pred, 1)[0])
        n_steps = (HW + self.step - 1) // self.step
        if self.mode == "del":
            start = img_tensor.copy()
            finish = self.substrate_fn(img_tensor)
        else:
            start = self.substrate_fn(img_tensor)
            finish = img_tensor.copy()
        scores = np.empty(n_steps + 1)
        salient_order = np.flip(np.argsort(explanation.reshape(-1, HW), axis=1), axis=-1)
        for i in range(n_steps + 1):
            pred = self.model(start)
            scores[i] = pred[0, c]
            if i < n_steps:
                coords = salient_order[:, self.step * i:self.step * (i + 1)]
                start.reshape(1, 3, HW)[0, :, coords] = finish.reshape(1, 3, HW)[0, :, coords]
        return scores, c


# ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(7)
    images = rng.normal(0, 1, (N_IMAGES, SIZE, SIZE, 3)).astype(np.float32)  # a normalised input: 0 = mean
    maps = rng.random((N_IMAGES, SIZE, SIZE))
    assert all(len(np.unique(m)) == HW for m in maps)  # no ties: one pixel order for both codes
    return RandomCNN(), images, maps


def _nchw_model(model):
    return lambda t: model(np.transpose(t, (0, 2, 3, 1)))


@pytest.mark.parametrize("mode", ["ins", "del"])
@pytest.mark.parametrize("step", [64, 100])
def test_rise_protocol_matches_the_port(data, step, mode):
    model, images, maps = data
    metric = CausalMetric(_nchw_model(model), mode, step, blur if mode == "ins" else np.zeros_like)
    ours_auc, port_auc = [], []
    for img, sal in zip(images, maps):
        port, c = metric.single_run(np.transpose(img, (2, 0, 1))[None].copy(), sal)
        if mode == "ins":
            curve = insertion(model, img, sal, c, step=step, occluder=0, protocol="rise")  # RISE's literal zeros
        else:
            curve = deletion(model, img, sal, c, step=step, occluder=0, protocol="rise")
        np.testing.assert_allclose(curve.scores, port, atol=1e-6, rtol=0)
        assert curve.auc == pytest.approx(auc(port), abs=1e-6)
        ours_auc.append(curve.auc)
        port_auc.append(auc(port))
        assert curve.name.endswith("(rise)")
    assert np.mean(ours_auc) == pytest.approx(np.mean(port_auc), abs=1e-6)


def test_the_gauss_reflect_protocol_differs_from_rises(data):
    """The package's earlier protocol is a different number (a true Gaussian with reflected borders, and the
    AUC over the true fractions), which is why every label names the protocol."""
    model, images, maps = data
    c = int(np.argmax(model(images[:1])[0]))
    rise = insertion(model, images[0], maps[0], c, step=64, occluder=0, protocol="rise")
    ours = insertion(model, images[0], maps[0], c, step=64, protocol="gauss-reflect")
    assert ours.name == "insertion (gauss-reflect)"
    assert abs(rise.scores[0] - ours.scores[0]) > 1e-4  # different start images
    d_rise = deletion(model, images[0], maps[0], c, step=100, occluder=0, protocol="rise")
    d_ours = deletion(model, images[0], maps[0], c, step=100, occluder=0, protocol="gauss-reflect")
    np.testing.assert_array_equal(d_rise.scores, d_ours.scores)  # same curve ...
    assert d_rise.auc != d_ours.auc  # ... a different area when the step does not divide H*W


def test_bad_protocol():
    with pytest.raises(ValueError, match="protocol must be one of"):
        insertion(RandomCNN(), np.zeros((SIZE, SIZE, 3), np.float32), np.zeros((SIZE, SIZE)), 0, protocol="RISE")
