"""Regenerate the shipped demo model from a fixed seed: ``python -m saliency_widgets.demo.train``.

Trains on fresh single-object scenes and prints the held-out top-1 accuracy.
About 5 minutes on 2 CPU cores.
"""
from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import numpy as np  # noqa: E402

from .model import IMAGE_SIZE, MODEL_PATH, build_model  # noqa: E402
from .scenes import make_scenes  # noqa: E402

TRAIN_SEED, HELD_OUT_SEED = 20201, 777


def accuracy(model, scenes, batch_size: int = 256) -> float:
    from ..models import as_model
    probs = as_model(model, batch_size=batch_size).predict(scenes.images.astype(np.float32))
    return float((probs.argmax(1) == scenes.labels).mean())


def train(*, n_train: int = 16000, epochs: int = 14, out: str = MODEL_PATH, seed: int = TRAIN_SEED,
          verbose: int = 2) -> float:
    import keras

    keras.utils.set_random_seed(seed)
    t0 = time.perf_counter()
    data = make_scenes(n_train, size=IMAGE_SIZE, seed=seed)
    val = make_scenes(1000, size=IMAGE_SIZE, seed=seed + 1)
    print(f"made {n_train} training scenes in {time.perf_counter() - t0:.0f} s", flush=True)
    model = build_model()
    steps = epochs * int(np.ceil(n_train / 64))
    schedule = keras.optimizers.schedules.CosineDecay(3e-3, steps, alpha=0.02)
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(data.images.astype(np.float32), data.labels, batch_size=64, epochs=epochs,
              validation_data=(val.images.astype(np.float32), val.labels), verbose=verbose)
    tmp = out + ".tmp.keras"
    model.save(tmp)
    os.replace(tmp, out)
    held_out = make_scenes(1000, size=IMAGE_SIZE, seed=HELD_OUT_SEED)
    acc = accuracy(model, held_out)
    print(f"held-out top-1 accuracy on 1000 fresh scenes: {acc:.3f}")
    print(f"saved {out} ({os.path.getsize(out) / 1e3:.0f} kB) in {time.perf_counter() - t0:.0f} s total")
    return acc


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default=MODEL_PATH, help="where to write the .keras file")
    parser.add_argument("--epochs", type=int, default=14)
    parser.add_argument("--n-train", type=int, default=16000)
    args = parser.parse_args(argv)
    train(n_train=args.n_train, epochs=args.epochs, out=args.out)


if __name__ == "__main__":
    main()
