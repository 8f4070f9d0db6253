"""What every explainer shares: input checks, the target, progress, the API.

Subclasses implement ``_explain(x, target, score)``, a generator of partial
:class:`Explanation` objects; ``explain`` and ``iter_explain`` are written once here.
"""
from __future__ import annotations

from typing import Iterator

import numpy as np

from ..explanation import Explanation
from ..models import ModelError, as_model
from ..models.adapter import check_positive_int

__all__ = ["Explainer", "check_target", "check_positive_int", "seed_param"]


def seed_param(seed):
    """A seed as it can be stored in JSON metadata (a Generator's state is not reproducible by value)."""
    return seed if isinstance(seed, (int, type(None))) else "Generator"


def check_target(target, num_classes: int) -> int:
    if isinstance(target, bool) or not isinstance(target, (int, np.integer)):
        raise TypeError(f"target must be an integer class index in [0, {num_classes}), got {target!r}")
    if not 0 <= target < num_classes:
        raise ValueError(f"target {target} is out of range: the model has {num_classes} classes, "
                         f"so target must be in [0, {num_classes})")
    return int(target)


class Explainer:
    """Base class: ``explain(image, target=None)`` and ``iter_explain(image, target=None)``.

    Parameters
    ----------
    model : Keras model, callable or ModelAdapter
        See :func:`saliency_widgets.models.as_model`.
    batch_size : int or None, keyword-only
        Largest batch per forward call (default 64).
    preprocess : callable or None, keyword-only
        Applied to the image before masking (masks multiply the model's input).
    outputs : {"auto", "probabilities", "logits"}, keyword-only
    progress : bool, keyword-only
        Show a tqdm.auto progress bar of forward passes.
    """

    method = "explainer"
    needs_model = True

    def __init__(self, model, *, batch_size=None, preprocess=None, outputs="auto", progress=False):
        if batch_size is not None:
            check_positive_int("batch_size", batch_size)
        self.model = as_model(model, outputs=outputs, preprocess=preprocess, batch_size=batch_size)
        self.progress = bool(progress)

    @property
    def params(self) -> dict:
        return {}

    @property
    def budget(self) -> int:
        """Forward passes the explanation will spend (besides the one on the unmasked image)."""
        return 0

    def explain(self, image, target=None) -> Explanation:
        """The final explanation of ``image`` for class ``target`` (default: the top-1 class)."""
        result = None
        for result in self.iter_explain(image, target):
            pass
        return result

    def iter_explain(self, image, target=None) -> Iterator[Explanation]:
        """Yield a partial :class:`Explanation` after every batch; the last has ``done=True``.

        Close the generator (or stop iterating) to stop early.
        """
        x, target, score = self._start(image, target)
        return self._iterate(x, target, score)

    def _start(self, image, target):
        # Validate eagerly (not at the first next()) so bad input raises at the call.
        x = self.model.prepare(image)
        probs = self.model.predict(x[None])[0]
        if target is None:
            target = int(np.argmax(probs))
        target = check_target(target, probs.shape[0])
        return x, target, float(probs[target])

    def _iterate(self, x, target, score):
        bar = None
        if self.progress:
            from tqdm.auto import tqdm
            bar = tqdm(total=self.budget, desc=self.method, unit="pass", leave=False)
        gen = self._explain(x, target, score)
        try:
            for exp in gen:
                if bar is not None:
                    bar.update(exp.n_forward - bar.n)
                yield exp
        finally:
            gen.close()
            if bar is not None:
                bar.close()

    def _explain(self, x, target, score):  # pragma: no cover - abstract
        raise NotImplementedError

    def _forward(self, batch: np.ndarray, target: int, step: int) -> np.ndarray:
        """Target probabilities of a batch; a failure names the step it happened at."""
        try:
            return self.model.predict(batch)[:, target]
        except ModelError as exc:
            raise ModelError(f"{self.method}: at step {step}: {exc}") from exc.__cause__

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{type(self).__name__}({args})"
