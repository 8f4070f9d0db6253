"""Sanity checks for saliency maps (Adebayo et al. 2018, "Sanity checks for saliency maps", NeurIPS).

A saliency method that explains the *model* must give different maps when the
model's learned weights are destroyed.  Two checks:

* **Model-parameter randomisation** (:func:`model_randomisation`): the weights
  of a *clone* of the model are re-initialised, either *cascading* from the
  output layer down (one more layer, or block of layers, at every step) or
  *independently* (each layer alone, the others trained).  The map of each
  randomised model is compared with the trained model's map of the same image
  and class.
* **Data randomisation** (:func:`data_randomisation_check`): the map of the
  trained model is compared with the map of the same architecture trained on
  permuted labels (for the demo model: ``load_model(permuted=True)``).

Similarity (:mod:`.similarity`): signed and absolute Spearman, SSIM and HOG; a
constant map is a **vanished** map, never a similarity.

The verdict (:mod:`.rule`, :data:`RANDOMISATION_RULE`) is an effect size with an
interval: per image, the method's *floor* (its trained map against its trained
map under another seed, 1 for a deterministic method), its *chance* level (its
trained map against its trained maps of other images) and the *randomised*
similarity give the normalised difference ``ND = (floor - randomised) / (floor -
chance)``, 0 = unchanged, 1 = as different as another image's map; a method
passes when the 95% bootstrap interval of ND lies at or above 0.5, fails when it
lies below, and is undecided otherwise.  The randomised maps use the floor's
other seed (the same design on both sides), so shared mask noise cannot make two
maps look alike.  sMPRT (Hedström et al. 2023, ``smoothing=``) averages each map
over noisy copies of the image (seeded noise) before comparing; the noise then
counts as part of the method's own randomness, so the floor is measured for
every method.

The models are Keras 3 models and PyTorch modules (a module is explained like
:func:`saliency_widgets.models.as_model` explains it: channels-last images in,
(B, C, H, W) to the module).  This module knows no framework: it asks
:mod:`saliency_widgets.models.randomise` for the layers with weights
(:func:`weighted_layers`, randomised output first; pass ``layers=`` for a
PyTorch module registered otherwise than input to output) and for a copy of
the model with some layers re-initialised (:func:`randomise_layers`), seeded
by ``(seed, layer index)`` so a layer gets the same draw in the cascading and
the independent check; the user's model is never modified.  That module's
docstring states the re-initialisation rule per framework (Keras: each
weight's declared initialiser; PyTorch: the layer's ``reset_parameters()``
with a seeded ``torch.Generator``, never torch's global RNG; otherwise a
normal draw with the trained weight's mean and deviation).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ..models import randomise
from .results import DataRandomisationResult, RandomisationResult
from .rule import (CHANCE_SHIFTS, MIN_IMAGES, ND_PASS, RANDOMISATION_RULE, VERDICTS, chance_partners,
                   chance_similarities, decide)
from .similarity import (SIMILARITIES, constant_map, hog_similarity, map_similarity, mean_interval,
                         spearman_similarity, ssim_similarity)

__all__ = ["weighted_layers", "randomise_layers", "map_similarity", "spearman_similarity",
           "ssim_similarity", "hog_similarity", "mean_interval", "RandomisationResult", "model_randomisation",
           "DataRandomisationResult", "data_randomisation_check", "DEMO_BLOCKS", "RANDOMISATION_RULE",
           "SIMILARITIES", "MIN_IMAGES", "ND_PASS", "CHANCE_SHIFTS", "VERDICTS", "decide", "chance_partners",
           "chance_similarities"]

# The demo model's blocks, from the output down: each convolution with its batch norm.
DEMO_BLOCKS = (("probabilities",), ("conv4", "bn4"), ("conv3", "bn3"), ("conv2", "bn2"),
               ("conv1", "bn1"), ("conv0", "bn0"))


# ---------------------------------------------------------------------------------------------
# Layers and re-initialisation: saliency_widgets.models.randomise knows the frameworks
# ---------------------------------------------------------------------------------------------

# The layers with weights, input to output (Keras: layer paths; PyTorch: submodules in registration
# order, so a module that registers its head first needs ``layers=`` in model_randomisation).
weighted_layers = randomise.weighted_layers


def _clone(model):
    """A copy of ``model`` with the same weights (the user's model is never touched)."""
    return randomise.copy_model(model)


def _as_blocks(model, layers) -> list[tuple[str, ...]]:
    """Randomisation steps, output to input: each a tuple of layer paths re-initialised together."""
    names = weighted_layers(model)
    if layers is None:
        return [(n,) for n in reversed(names)]
    if isinstance(layers, str):
        layers = [layers]
    blocks = []
    for item in layers:
        block = (item,) if isinstance(item, str) else tuple(item)
        if not block:
            raise ValueError("an empty block of layers cannot be randomised")
        unknown = [n for n in block if n not in names]
        if unknown:
            raise ValueError(f"layers {unknown} are not layers with weights of {randomise.describe(model)}; "
                             f"choose from {names}")
        blocks.append(block)
    return blocks


def randomise_layers(model, layers: Sequence[str], *, seed: int = 0):
    """A clone of ``model`` with the weights of ``layers`` re-initialised (the model itself is untouched).

    Parameters
    ----------
    model : keras.Model or torch.nn.Module
    layers : sequence of str
        Layer paths as :func:`weighted_layers` names them.
    seed : int, keyword-only
        Seeds every draw, per layer index (and weight index): the same layer
        gets the same new weights whichever other layers are randomised with it.

    Returns
    -------
    keras.Model or torch.nn.Module
        The clone (``clone_model`` or ``copy.deepcopy``); the re-initialisation
        rule is :func:`saliency_widgets.models.randomise.randomised_copy`'s.
    """
    return randomise.randomised_copy(model, layers, seed=seed)



# ---------------------------------------------------------------------------------------------
# Methods: registry names or factories
# ---------------------------------------------------------------------------------------------

def _methods(methods, budget, params, seed):
    """[(label, factory(model, offset=0) -> explainer, seeded)] from registry names or user factories.

    ``offset`` shifts a seeded method's seed (its own seed + offset: the floor's and the randomised
    maps' other seed).  Registry methods are built by :func:`~saliency_widgets.registry.build_checked`:
    the budget (shared: only methods that have one take it; None: the constructor's default) and the
    registry's options in ``params`` are range-checked, other settings in ``params`` (``occluder=``...)
    go to the constructor.  A user's ``(label, factory)`` is unseeded (``factory(model)``); a
    ``(label, factory, True)`` is seeded: ``factory(model, seed=seed + offset)``.
    """
    from ..registry import build_checked, get_method

    if isinstance(methods, (str, tuple)) or callable(methods):
        methods = [methods]
    out = []
    for m in methods:
        if isinstance(m, tuple):
            out.append(_user_method(m, seed))
            continue
        spec = get_method(m)
        b = budget.get(spec.label, budget.get(spec.key)) if isinstance(budget, dict) else budget
        kw = dict((params or {}).get(spec.label, (params or {}).get(spec.key, {})))
        own_seed = kw.pop("seed", seed)
        options = {k: kw.pop(k) for k in list(kw) if k in spec.options}
        b = spec.shared_budget(b)
        # A bad budget, option or clashing setting fails here, before any model is cloned.
        label = spec.label_for(spec.checked_params(budget=b, options=options, extra=kw, seed=own_seed))

        def factory(model, offset=0, spec=spec, b=b, options=options, kw=kw, own_seed=own_seed):
            return build_checked(spec.key, model, budget=b, options=options, extra=kw, seed=own_seed + offset)
        out.append((label, factory, spec.seeded))  # the label the built explainer computes
    labels = [m[0] for m in out]
    if len(set(labels)) != len(labels):
        raise ValueError(f"methods repeat a label: {labels}")
    return out


def _user_method(m, seed):
    if len(m) == 2:
        label, factory = m
        return str(label), (lambda model, offset=0, f=factory: f(model)), False
    if len(m) == 3 and m[2] is True:
        label, factory, _ = m
        return str(label), (lambda model, offset=0, f=factory: f(model, seed=seed + offset)), True
    raise ValueError(f"a method must be a registry name, (label, factory) or (label, factory, True) for a seeded "
                     f"factory taking seed=, got {m!r}")


def _images(images):
    arr = np.asarray(images)
    if arr.ndim == 3:
        arr = arr[None]
    if arr.ndim != 4 or len(arr) == 0:
        raise ValueError(f"images must have shape (N, H, W, C) or (H, W, C), got {arr.shape}")
    return arr.astype(np.float32)


def _targets(model, images, targets):
    if targets is None:
        from ..models.predict import top1
        return top1(model, images)  # what the explainers explain: adapter.prepare(image)
    t = np.asarray(targets, dtype=int).ravel()
    if t.shape != (len(images),):
        raise ValueError(f"targets must give one class per image ({len(images)}), got shape {np.shape(targets)}")
    return t


def _noisy(image, index, smoothing, noise, seed, pixel_range=None):
    """sMPRT's noisy copies of one image: (smoothing, H, W, C), normal noise of ``noise`` x the image's value
    range, seeded by (seed, image index), clipped to ``pixel_range`` (low, high) where the model declares one
    (a photo's pixels cannot leave it, and the model refuses values outside it)."""
    rng = np.random.default_rng([int(seed), int(index)])
    scale = noise * float(np.ptp(image)) if np.ptp(image) > 0 else noise
    copies = image[None] + rng.normal(0.0, scale, (smoothing,) + image.shape)
    if pixel_range is not None:
        copies = np.clip(copies, float(pixel_range[0]), float(pixel_range[1]))
    return copies.astype(np.float32)


def _maps(explainer, images, targets, smooth=None):
    """Raw maps (N, H, W); with ``smooth=(copies, noise, seed)`` each the mean over noisy copies (sMPRT).

    A seeded explainer (an int ``seed`` attribute, s) explains image i with seed
    s + 2i: every image gets its own draws, so a bootstrap over images covers the
    method's own randomness (one draw shared by all images would not); the
    floor's explainer (s + 1) then uses s + 2i + 1, never a trained map's seed.
    """
    base = getattr(explainer, "seed", None)
    per_image = isinstance(base, (int, np.integer)) and not isinstance(base, bool)
    out = []
    for i, (img, t) in enumerate(zip(images, targets)):
        if per_image:
            explainer.seed = int(base) + 2 * i
        if smooth is None or smooth[0] == 0:
            out.append(np.asarray(explainer.explain(img, int(t)).raw, dtype=np.float64))
            continue
        copies, noise, seed = smooth
        declared = getattr(getattr(explainer, "model", None), "declaration", None)
        pixels = getattr(declared, "pixel_range", None)
        out.append(np.mean([np.asarray(explainer.explain(c, int(t)).raw, dtype=np.float64)
                            for c in _noisy(img, i, copies, noise, seed, pixels)], axis=0))
    if per_image:
        explainer.seed = base
    return np.stack(out)


def _score(ref, maps):
    """Per-image similarities of :data:`SIMILARITIES` (NaN where a map vanished) and the vanished flags."""
    sims = [map_similarity(a, b) for a, b in zip(ref, maps)]
    out = {k: np.array([d[k] for d in sims], dtype=np.float64) for k in SIMILARITIES}
    out["vanished"] = np.array([d["vanished"] for d in sims], dtype=bool)
    return out


def _floor(factory, seeded, model, images, targets, trained, smooth):
    """The method's own noise floor on the trained model: its maps under seed + 1 (and noise seed + 1)
    against ``trained``; a deterministic method without smoothing gives the same map: 1 exactly."""
    if seeded or smooth is not None:
        other = _maps(factory(model, offset=1), images, targets, _shift(smooth))
        return _score(trained, other), True
    gone = np.array([constant_map(m) for m in trained], dtype=bool)
    one = np.where(gone, np.nan, 1.0)
    return {**{k: one.copy() for k in SIMILARITIES}, "vanished": gone}, False


def _shift(smooth):
    return None if smooth is None else (smooth[0], smooth[1], smooth[2] + 1)


def _check_smoothing(smoothing, noise):
    if isinstance(smoothing, bool) or not isinstance(smoothing, (int, np.integer)) or smoothing < 0:
        raise ValueError(f"smoothing must be an integer >= 0 (noisy copies per map; 0: off), got {smoothing!r}")
    if not (isinstance(noise, (int, float)) and 0 < noise < 10):
        raise ValueError(f"smoothing_noise must be a positive fraction of the image's value range, got {noise!r}")



# ---------------------------------------------------------------------------------------------
# The checks
# ---------------------------------------------------------------------------------------------

def model_randomisation(model, images, methods, *, targets=None, cascading: bool = True, layers=None,
                        budget=None, params=None, seed: int = 0, smoothing: int = 0, smoothing_noise: float = 0.1,
                        progress: bool = True) -> RandomisationResult:
    """Model-parameter randomisation check (Adebayo et al. 2018) of one or more saliency methods.

    Parameters
    ----------
    model : keras.Model or torch.nn.Module
        The trained model; it is cloned, never modified.  A PyTorch module
        takes (B, C, H, W) batches (the images below are channels-last) and is
        put in ``eval()`` mode, as :func:`saliency_widgets.models.as_model` does.
    images : (N, H, W, C) or (H, W, C) array
        At least :data:`MIN_IMAGES` for a verdict; the maps of different images
        give each method's chance level.
    methods : str, (label, factory), (label, factory, True) or a list of them
        Registry keys or labels (``"rise"``, ``"mask-update (paper)"``, ...);
        ``(label, factory)`` with ``factory(model) -> explainer`` (deterministic:
        floor 1); ``(label, factory, True)`` with ``factory(model, seed=...)`` (seeded).
    targets : (N,) ints or None, keyword-only
        Class explained per image (default: the trained model's top-1); the same
        class is explained on every randomised model.
    cascading : bool, keyword-only
        True: step k re-initialises blocks 1..k (output first).  False: each block alone.
    layers : list of str or of tuples of str, or None, keyword-only
        The blocks, output first (default: every layer with weights, one per step;
        :data:`DEMO_BLOCKS` for the demo model).
    budget : int, dict label -> int, or None, keyword-only
        Forward passes for methods that have a budget (registry methods only).
    params : dict label -> dict, or None, keyword-only
        Extra constructor settings per method.
    seed : int, keyword-only
        Seeds the re-initialisation, the choice of the other images that give the
        chance level, and the bootstrap; a seeded method's trained map of image i
        uses seed s + 2i (s: its own seed, default ``seed``), its floor and its
        randomised maps s + 2i + 1 (:data:`RANDOMISATION_RULE`).
    smoothing : int, keyword-only
        sMPRT (Hedström et al. 2023): average each map over this many noisy
        copies of the image (0: off).  The noise is seeded by (the map's seed,
        image index), so the floor's and the randomised maps' noise differ from
        the trained map's, as their explainer seeds do.
    smoothing_noise : float, keyword-only
        The noise's standard deviation, as a fraction of the image's value range; the noisy copies are
        clipped to the pixel range the model declares (:func:`saliency_widgets.models.declare`).
    progress : bool, keyword-only

    Returns
    -------
    RandomisationResult
        ``result.verdict(method, step=...)`` judges one step by :data:`RANDOMISATION_RULE`.
    """
    randomise.check_model(model)
    _check_smoothing(smoothing, smoothing_noise)
    images = _images(images)
    blocks = _as_blocks(model, layers)
    targets = _targets(model, images, targets)
    meths = _methods(methods, budget, params, seed)
    smooth = (int(smoothing), float(smoothing_noise), seed) if smoothing else None
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=(len(blocks) + 1) * len(meths), desc="randomisation check", unit="map set")

    trained, floors, measured = {}, {}, {}
    for label, factory, seeded in meths:
        trained[label] = _maps(factory(model), images, targets, smooth)
        floors[label], measured[label] = _floor(factory, seeded, model, images, targets, trained[label],
                                                smooth)
        if bar is not None:
            bar.update(1)

    sims, random_maps = _randomised_maps(model, blocks, cascading, meths, trained, measured, images, targets,
                                         smooth, seed, bar)
    if bar is not None:
        bar.close()
    return _result(model, blocks, cascading, trained, floors, measured, sims, random_maps, targets, seed, smoothing)


def _result(model, blocks, cascading, trained, floors, measured, sims, random_maps, targets, seed, smoothing):
    """The :class:`RandomisationResult` of :func:`model_randomisation`, with each method's chance level."""
    per = {key: {m: np.array([d[key] for d in v]) for m, v in sims.items()} for key in SIMILARITIES + ("vanished",)}
    counts = [len(set(n for b in (blocks[:k + 1] if cascading else [blocks[k]]) for n in b)) for k in range(len(blocks))]
    return RandomisationResult(
        mode="cascading" if cascading else "independent", steps=["+".join(b) for b in blocks],
        methods=list(trained), spearman=per["spearman"], ssim=per["ssim"], trained_maps=trained,
        random_maps={m: np.array(v) for m, v in random_maps.items()}, targets=targets, seed=seed,
        self_spearman={m: f["spearman"] for m, f in floors.items() if measured[m]}, abs_spearman=per["abs_spearman"],
        self_ssim={m: f["ssim"] for m, f in floors.items() if measured[m]}, hog=per["hog"], vanished=per["vanished"],
        floor={m: {k: f[k] for k in SIMILARITIES} for m, f in floors.items()}, smoothing=int(smoothing),
        floor_vanished={m: f["vanished"] for m, f in floors.items()},
        chance={m: chance_similarities(maps, seed=seed) for m, maps in trained.items()},
        coverage=(len({name for b in blocks for name in b}), len(weighted_layers(model))), step_layers=counts)


def _randomised_maps(model, blocks, cascading, meths, trained, measured, images, targets, smooth, seed, bar):
    """Per method: the similarity of its trained maps to those on each randomised model, and those maps."""
    sims = {label: [] for label in trained}
    random_maps = {label: [] for label in trained}
    for k, block in enumerate(blocks):
        chosen = [n for b in blocks[:k + 1] for n in b] if cascading else list(block)
        clone = randomise_layers(model, chosen, seed=seed)
        for label, factory, _ in meths:
            # the other seed (and noise seed) of the floor: the same design on both sides
            offset = 1 if measured[label] else 0
            maps = _maps(factory(clone, offset=offset), images, targets, _shift(smooth) if offset else smooth)
            sims[label].append(_score(trained[label], maps))
            random_maps[label].append(maps)
            if bar is not None:
                bar.update(1)
        del clone
    return sims, random_maps


def data_randomisation_check(model, permuted_model, images, methods, *, targets=None, budget=None, params=None,
                             seed: int = 0, progress: bool = True) -> DataRandomisationResult:
    """Compare each method's maps of ``model`` with its maps of ``permuted_model`` (same images, same class).

    The design and the rule are :func:`model_randomisation`'s
    (:data:`RANDOMISATION_RULE`): a seeded method's floor is its trained map
    under its other seed, the permuted model's maps use that other seed too, and
    the chance level compares the trained model's maps of different images.

    Parameters
    ----------
    model : keras.Model, torch.nn.Module or any model the explainers accept
        The trained model.
    permuted_model : same kind as ``model``
        The same architecture trained on permuted labels (the demo's:
        ``saliency_widgets.demo.load_model(permuted=True)``).
    images, methods, targets, budget, params, seed, progress
        As in :func:`model_randomisation`; ``targets`` default to ``model``'s top-1.

    Returns
    -------
    DataRandomisationResult
        ``result.summary()`` and ``result.verdict(method)`` judge it by :data:`RANDOMISATION_RULE`.
    """
    images = _images(images)
    targets = _targets(model, images, targets)
    meths = _methods(methods, budget, params, seed)
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=len(meths), desc="data randomisation check", unit="method")
    sims, floors, a_maps, b_maps = {}, {}, {}, {}
    for label, factory, seeded in meths:
        a_maps[label] = _maps(factory(model), images, targets)
        floors[label], measured = _floor(factory, seeded, model, images, targets, a_maps[label], None)
        b_maps[label] = _maps(factory(permuted_model, offset=1 if measured else 0), images, targets)
        sims[label] = _score(a_maps[label], b_maps[label])
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    per = {key: {m: v[key] for m, v in sims.items()} for key in SIMILARITIES + ("vanished",)}
    return DataRandomisationResult(
        methods=list(a_maps), spearman=per["spearman"], ssim=per["ssim"], trained_maps=a_maps, permuted_maps=b_maps,
        targets=targets, seed=seed, abs_spearman=per["abs_spearman"], hog=per["hog"], vanished=per["vanished"],
        floor={m: {k: f[k] for k in SIMILARITIES} for m, f in floors.items()},
        floor_vanished={m: f["vanished"] for m, f in floors.items()},
        chance={m: chance_similarities(maps, seed=seed) for m, maps in a_maps.items()})