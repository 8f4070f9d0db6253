"""Regenerate the shipped demo model from a fixed seed: ``python -m saliency_widgets.demo.train``.

Trains on fresh single-object scenes and prints the held-out top-1 accuracy.
About 5 minutes on 2 CPU cores.

``python -m saliency_widgets.demo.train --permute-labels`` makes the model of
the data-randomisation check (Adebayo et al. 2018, "Sanity checks for saliency
maps"): the same architecture trained on a small set of scenes whose labels were
shuffled with a fixed seed, until it fits them (memorises them).  It learns
nothing about shapes, so its held-out accuracy is chance (1/6); a saliency
method whose maps look the same for both models does not read the model.
"""
from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import numpy as np  # noqa: E402

from .model import IMAGE_SIZE, MODEL_PATH, PERMUTED_MODEL_PATH, build_model  # noqa: E402
from .scenes import make_scenes  # noqa: E402

TRAIN_SEED, HELD_OUT_SEED = 20201, 777
PERMUTE_SEED = 20181  # the label permutation of the data-randomisation model


def accuracy(model, scenes, batch_size: int = 256) -> float:
    from ..models import as_model
    probs = as_model(model, batch_size=batch_size).predict(scenes.images.astype(np.float32))
    return float((probs.argmax(1) == scenes.labels).mean())


def _scenes_chunk(args):
    n, seed = args
    return make_scenes(n, size=IMAGE_SIZE, seed=seed)


def make_training_set(n: int, seed: int, workers: int = 2):
    """``n`` single-object scenes made in ``workers`` processes, deterministic for a seed."""
    from concurrent.futures import ProcessPoolExecutor
    chunks = 8
    seeds = np.random.SeedSequence(seed).spawn(chunks)
    sizes = [n // chunks + (i < n % chunks) for i in range(chunks)]
    with ProcessPoolExecutor(workers) as pool:
        parts = list(pool.map(_scenes_chunk, [(k, np.random.default_rng(s)) for k, s in zip(sizes, seeds)]))
    return np.concatenate([p.images for p in parts]), np.concatenate([p.labels for p in parts])


def train(*, n_train: int = 52000, epochs: int = 4, out: str = MODEL_PATH, seed: int = TRAIN_SEED,
          verbose: int = 2) -> float:
    import keras

    keras.utils.set_random_seed(seed)
    t0 = time.perf_counter()
    images, labels = make_training_set(n_train, seed)
    val = make_scenes(1000, size=IMAGE_SIZE, seed=seed + 1)
    print(f"made {n_train} training scenes in {time.perf_counter() - t0:.0f} s", flush=True)
    model = build_model()
    batch_size = 128
    steps = epochs * int(np.ceil(n_train / batch_size))
    schedule = keras.optimizers.schedules.CosineDecay(4e-3, steps, alpha=0.02)
    model.compile(optimizer=keras.optimizers.AdamW(schedule, weight_decay=1e-4),
                  loss=keras.losses.SparseCategoricalCrossentropy(), metrics=["accuracy"])
    model.fit(images.astype(np.float32), labels, batch_size=batch_size, epochs=epochs,
              validation_data=(val.images.astype(np.float32), val.labels), verbose=verbose)
    tmp = out + ".tmp.keras"
    model.save(tmp)
    os.replace(tmp, out)
    held_out = make_scenes(1000, size=IMAGE_SIZE, seed=HELD_OUT_SEED)
    acc = accuracy(model, held_out)
    print(f"held-out top-1 accuracy on 1000 fresh scenes: {acc:.3f}")
    print(f"saved {out} ({os.path.getsize(out) / 1e3:.0f} kB) in {time.perf_counter() - t0:.0f} s total")
    return acc


def train_permuted(*, n_train: int = 1536, epochs: int = 120, out: str = PERMUTED_MODEL_PATH,
                   seed: int = PERMUTE_SEED, verbose: int = 2) -> tuple[float, float]:
    """Train the demo architecture on ``n_train`` scenes with shuffled labels until it memorises them.

    The labels are a seeded permutation of the true ones (so the class frequencies
    stay the same and any link between image and label is gone).  No dropout
    schedule or augmentation: the point is to fit the permuted labels, not to
    generalise.  Returns ``(training accuracy on the permuted labels, held-out
    accuracy on true labels)``; the second should be near chance (1/6).
    """
    import keras

    keras.utils.set_random_seed(seed)
    t0 = time.perf_counter()
    images, labels = make_training_set(n_train, seed)
    permuted = np.random.default_rng(seed).permutation(labels)
    print(f"made {n_train} training scenes in {time.perf_counter() - t0:.0f} s; "
          f"{(permuted == labels).mean():.1%} of the permuted labels equal the true ones by chance", flush=True)
    model = build_model()
    batch_size = 64
    steps = epochs * int(np.ceil(n_train / batch_size))
    schedule = keras.optimizers.schedules.CosineDecay(3e-3, steps, alpha=0.01)
    model.compile(optimizer=keras.optimizers.Adam(schedule),
                  loss=keras.losses.SparseCategoricalCrossentropy(), metrics=["accuracy"])
    model.fit(images.astype(np.float32), permuted, batch_size=batch_size, epochs=epochs, verbose=verbose)
    tmp = out + ".tmp.keras"
    model.save(tmp)
    os.replace(tmp, out)
    from ..models import as_model
    probs = as_model(model, batch_size=256).predict(images.astype(np.float32))
    train_acc = float((probs.argmax(1) == permuted).mean())
    held_out = make_scenes(1000, size=IMAGE_SIZE, seed=HELD_OUT_SEED)
    acc = accuracy(model, held_out)
    print(f"training accuracy on the {n_train} permuted labels: {train_acc:.3f}")
    print(f"held-out top-1 accuracy on 1000 fresh scenes (true labels; chance is 1/6): {acc:.3f}")
    print(f"saved {out} ({os.path.getsize(out) / 1e3:.0f} kB) in {time.perf_counter() - t0:.0f} s total")
    return train_acc, acc


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default=None, help="where to write the .keras file")
    parser.add_argument("--epochs", type=int, default=None,
                        help="default 4 (120 with --permute-labels)")
    parser.add_argument("--n-train", type=int, default=None,
                        help="default 52000 (1536 with --permute-labels)")
    parser.add_argument("--permute-labels", action="store_true",
                        help="train the data-randomisation model on seeded shuffled labels")
    args = parser.parse_args(argv)
    opts = {k: v for k, v in (("n_train", args.n_train), ("epochs", args.epochs), ("out", args.out))
            if v is not None}
    if args.permute_labels:
        train_permuted(**opts)
    else:
        train(**opts)


if __name__ == "__main__":
    main()
