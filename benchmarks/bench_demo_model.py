"""Throughput of the bundled demo model at several batch sizes (target >= 2,000 images/s on 2 cores)."""
from __future__ import annotations

import _common
import numpy as np


def main():
    from saliency_widgets import as_model
    from saliency_widgets.demo import load_model, make_scenes

    images = make_scenes(512, seed=0).images.astype(np.float32)
    print(f"machine: {_common.machine()}")
    for bs in (32, 64, 128, 256, 512):
        m = as_model(load_model(), batch_size=bs)
        m.predict(images[:bs])
        t = min(_common.timed(m.predict, images)[1] for _ in range(3))
        print(f"batch {bs:4d}: {len(images) / t:7.0f} images/s")


if __name__ == "__main__":
    main()
