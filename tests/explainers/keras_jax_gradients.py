"""Run as ``KERAS_BACKEND=jax JAX_ENABLE_X64=1 python -m tests.explainers.keras_jax_gradients`` (by test_gradient).

Every gradient method on Keras models with the JAX backend against the same references as the
TensorFlow tests: gradients by hand (NumPy) for a Dense tanh net and a ReLU MLP, the analytic linear model.
"""
import numpy as np


def main():
    import keras

    assert keras.backend.backend() == "jax", keras.backend.backend()
    from saliency_widgets import Gradient, GuidedBackprop, IntegratedGradients, SmoothGrad

    from tests.explainers import gradient_refs as refs

    def close(got, want, tol=1e-4):
        want = np.asarray(want, np.float64)
        np.testing.assert_allclose(got, want, rtol=0, atol=tol * max(1.0, float(np.abs(want).max())))

    # Keras on JAX computes float64 at about 1e-8 relative precision on this CPU (XLA), too coarse for
    # finite differences: the gradient of the Dense tanh net is computed by hand instead.
    smooth = refs.keras_smooth_net(1, softmax=True, conv=False)
    x = refs.image(2).astype(np.float32)
    vanilla = np.abs(refs.dense_tanh_gradient(smooth, x, 2, softmax=True)).max(axis=-1)
    close(Gradient(smooth, outputs="probabilities").explain(x, target=2).raw, vanilla)
    logit = np.abs(refs.dense_tanh_gradient(smooth, x, 2)).max(axis=-1)  # the softmax removed
    close(Gradient(smooth, differentiate="logit").explain(x, target=2).raw, logit)

    # SmoothGrad with no noise is the vanilla gradient; with noise, the batch size does not matter.
    close(SmoothGrad(smooth, samples=3, noise=0.0, outputs="probabilities").explain(x, target=2).raw,
          vanilla)
    a = SmoothGrad(smooth, samples=7, seed=3, batch_size=2, outputs="probabilities").explain(x, target=0).raw
    b = SmoothGrad(smooth, samples=7, seed=3, batch_size=64, outputs="probabilities").explain(x, target=0).raw
    close(a, b, tol=1e-6)

    w = np.random.default_rng(5).normal(size=refs.SHAPE + (2,))
    linear = keras.Sequential([keras.Input(refs.SHAPE, dtype="float64"), keras.layers.Flatten(dtype="float64"),
                               keras.layers.Dense(2, dtype="float64")])
    linear.set_weights([w.reshape(-1, 2), np.zeros(2)])
    attr = IntegratedGradients(linear, steps=4, outputs="logits").attributions(x, target=1)
    close(attr, x * w[..., 1], tol=1e-9)
    for rule in ("midpoint", "trapezoid", "gauss-legendre"):  # f(x) - f(b) from the JAX backward pass
        check = IntegratedGradients(linear, steps=4, rule=rule, outputs="logits").explain(x, target=1).diagnostics
        assert check["completeness_error"] < 1e-9, check
        assert abs(check["output_difference"] - float((x * w[..., 1]).sum())) < 1e-9, check

    weights = refs.mlp_weights(3)
    mlp = refs.keras_mlp(weights)
    for target in range(3):
        got = GuidedBackprop(mlp, outputs="logits").explain(x, target=target).raw
        close(got, np.abs(refs.mlp_gradient(weights, x, target, guided=True)).max(axis=-1))
    print("checked: gradient smoothgrad integrated-gradients guided-backprop")


if __name__ == "__main__":
    main()
