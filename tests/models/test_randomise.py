"""models.randomise: the framework side of the sanity checks (sanity.py itself knows no framework)."""
import ast
from pathlib import Path

import numpy as np
import pytest
import torch

import saliency_widgets
from saliency_widgets.models import randomise

FRAMEWORKS = {"keras", "torch", "tensorflow", "jax", "tf_keras"}


def _imported_modules(path):
    tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            yield node.module


def test_sanity_imports_no_framework():
    path = Path(saliency_widgets.__file__).parent / "sanity" / "methods.py"
    found = {m.split(".")[0] for m in _imported_modules(path)} & FRAMEWORKS
    assert not found, f"sanity/methods.py imports {found}: framework code belongs in saliency_widgets.models"


@pytest.mark.parametrize("make", [lambda: torch.nn.Linear(12, 3), lambda: torch.nn.Conv2d(2, 4, 3),
                                  lambda: torch.nn.Embedding(6, 3), lambda: torch.nn.LSTM(3, 4)])
def test_torch_draw_is_reset_parameters_under_its_seed_and_leaves_the_global_rng_alone(make):
    """The documented equivalence: the draw is what ``manual_seed(s); reset_parameters()`` gives, where s is
    the layer's own seed, and the global generator is neither read nor moved."""
    module = torch.nn.Sequential(make())
    layer_seed = randomise._draw_seed(7, 0)
    expected = make()
    torch.manual_seed(layer_seed)
    expected.reset_parameters()
    torch.manual_seed(99)
    state = torch.get_rng_state()
    copy = randomise.randomised_copy(module, ["0"], seed=7)
    assert torch.equal(torch.get_rng_state(), state)
    for (name, got), want in zip(copy[0].named_parameters(), expected.parameters()):
        assert torch.equal(got, want), name


class Dropped(torch.nn.Module):
    """reset_parameters draws through an op that takes no generator: it cannot be seeded, so the fallback."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.linspace(-1.0, 3.0, 40))

    def reset_parameters(self):
        self.w.data = torch.nn.functional.dropout(torch.ones(40), 0.5, training=True)


def test_an_unseedable_reset_takes_the_seeded_fallback_draw_and_restores_the_global_rng():
    m = Dropped()
    torch.manual_seed(1)
    state = torch.get_rng_state()
    a = randomise.randomised_copy(m, [randomise.ROOT], seed=3)
    assert torch.equal(torch.get_rng_state(), state)
    torch.manual_seed(2)
    b = randomise.randomised_copy(m, [randomise.ROOT], seed=3)
    assert torch.equal(a.w, b.w) and not torch.equal(a.w, m.w)
    old = m.w.detach().double().numpy()
    want = np.random.default_rng(randomise._draw_seed(randomise._draw_seed(3, 0), 0)).normal(
        old.mean(), old.std(), size=old.shape)
    np.testing.assert_allclose(a.w.detach().numpy(), want, rtol=1e-6)


def test_describe_and_bad_models():
    assert randomise.describe(torch.nn.Linear(2, 2)) == "PyTorch module 'Linear'"
    with pytest.raises(TypeError, match="Keras 3 model"):
        randomise.check_model(lambda x: x)
    with pytest.raises(ValueError, match="not layers with weights of PyTorch module 'Linear'"):
        randomise.randomised_copy(torch.nn.Linear(2, 2), ["nope"])
