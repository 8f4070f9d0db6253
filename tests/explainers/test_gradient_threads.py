"""Gradient methods on one model from several threads at once give the maps they give one at a time.

Two widgets (or two sessions, or two user threads) explaining with the same model must not see each
other: Guided Backpropagation's modified ReLUs and Grad-CAM's captured activations must never reach
another thread's vanilla gradient, SmoothGrad or Integrated Gradients, and no method may leave hooks
on the user's model.
"""
import threading

import numpy as np
import pytest

from saliency_widgets.registry import available_methods, build_checked

from . import gradient_refs as refs

ROUNDS = 4


def gradient_keys(kind):
    """The registry keys of every method that needs gradients and is offered for models of ``kind``."""
    return [k for k, s in available_methods(gradients=kind).items() if s.needs_gradients]


def build_all(model, kind):
    """{key: explainer} at small budgets, several batches per map (so the threads interleave)."""
    out = {}
    for key in gradient_keys(kind):
        spec = available_methods(gradients=kind)[key]
        budget = 6 if spec.budget is not None else None
        out[key] = build_checked(key, model, budget=budget, seed=1, batch_size=2, extra={"outputs": "logits"})
    return out


def explain_all(explainers, x, order):
    return {k: explainers[k].explain(x, target=1).raw for k in order}


def run_in_threads(model, kind, x):
    """Per thread and round, every method's map; the two threads run the methods in opposite orders,
    each round starting together (a barrier), with explainers of their own (as two widgets would)."""
    keys = gradient_keys(kind)
    barrier = threading.Barrier(2)
    results, errors = [[], []], []

    def work(i):
        try:
            explainers = build_all(model, kind)
            order = keys if i == 0 else keys[::-1]
            for _ in range(ROUNDS):
                barrier.wait(timeout=120)
                results[i].append(explain_all(explainers, x, order))
        except BaseException as exc:  # reported below: a thread's exception would otherwise be lost
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results


def assert_same_maps(results, sequential):
    bad = []
    for i, rounds in enumerate(results):
        for r, maps in enumerate(rounds):
            for key, raw in maps.items():
                want = sequential[key]
                err = float(np.abs(raw - want).max()) / max(float(np.abs(want).max()), 1e-12)
                if err > 1e-6:
                    bad.append(f"thread {i} round {r} {key}: off by {err:.2%} of its peak")
    assert not bad, "\n".join(bad[:10])


def test_every_gradient_method_in_two_threads_on_one_torch_model():
    torch = pytest.importorskip("torch", reason="needs the [torch] extra")
    module = refs.torch_cnn(seed=4, in_channels=3, width=8, depth=2)
    x = np.random.default_rng(0).uniform(0, 1, (16, 16, 3)).astype(np.float32)
    assert "guided-backprop" in gradient_keys("torch")
    sequential = explain_all(build_all(module, "torch"), x, gradient_keys("torch"))
    assert_same_maps(run_in_threads(module, "torch", x), sequential)
    assert all(not m._forward_hooks and not m._backward_hooks and not m._forward_pre_hooks
               for m in module.modules())
    assert isinstance(module, torch.nn.Module)


@pytest.mark.slow  # Keras builds Grad-CAM's sub-models and traces the gradient functions in each thread
def test_every_gradient_method_in_two_threads_on_one_keras_model():
    keras = pytest.importorskip("keras", reason="needs the [tf] extra")
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((12, 12, 3)), keras.layers.Conv2D(8, 3, padding="same", activation="relu"),
                              keras.layers.Conv2D(8, 3, padding="same"), keras.layers.ReLU(),
                              keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(3)])
    x = np.random.default_rng(1).uniform(0, 1, (12, 12, 3)).astype(np.float32)
    sequential = explain_all(build_all(model, "keras"), x, gradient_keys("keras"))
    assert_same_maps(run_in_threads(model, "keras", x), sequential)


def test_two_sessions_on_one_torch_model_at_once():
    # What two ExplainWidgets on one model do: each session runs its request in its own thread.
    pytest.importorskip("torch", reason="needs the [torch] extra")
    from saliency_widgets.session import ExplainSession, MethodChoice, RunRequest

    module = refs.torch_cnn(seed=4, in_channels=3, width=16, depth=3)
    x = np.random.default_rng(0).uniform(0, 1, (24, 24, 3)).astype(np.float32)
    others = tuple(MethodChoice(k, budget=8 if k != "gradient" else None)
                   for k in ("gradient", "smoothgrad", "integrated-gradients"))
    requests = [RunRequest(1, (MethodChoice("guided-backprop"),) * 3), RunRequest(1, others)]

    def maps(session):
        assert session.last.status == "done", session.last.error
        return [m.result.raw for m in session.last.methods]

    alone = []
    for req in requests:
        s = ExplainSession(module, x, causal=False, batch_size=2)
        s.run(req)
        assert s.wait(120)
        alone.append(maps(s))
    for _ in range(3):
        sessions = [ExplainSession(module, x, causal=False, batch_size=2) for _ in requests]
        for s, req in zip(sessions, requests):
            s.run(req)
        for s in sessions:
            assert s.wait(120)
        for s, want in zip(sessions, alone):
            for got, ref in zip(maps(s), want):
                np.testing.assert_allclose(got, ref, rtol=0, atol=1e-6 * float(np.abs(ref).max()))
