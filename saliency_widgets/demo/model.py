"""The bundled demo classifier: a small Keras CNN trained on :func:`make_scenes`."""
from __future__ import annotations

import os
from importlib import resources

from .scenes import CLASS_NAMES

__all__ = ["load_model", "load_permuted_model", "build_model", "declare_demo", "MODEL_PATH", "PERMUTED_MODEL_PATH",
           "CLASS_NAMES", "IMAGE_SIZE"]

IMAGE_SIZE = 96
MODEL_FILE = "demo_model.keras"
MODEL_PATH = str(resources.files(__package__) / "data" / MODEL_FILE)
PERMUTED_MODEL_FILE = "demo_model_permuted.keras"
PERMUTED_MODEL_PATH = str(resources.files(__package__) / "data" / PERMUTED_MODEL_FILE)


def build_model(size: int = IMAGE_SIZE, n_classes: int = len(CLASS_NAMES)):
    """The demo architecture: takes (size, size, 3) floats in [0, 255], returns probabilities.

    Five 3x3 convolutions (four with stride 2) and global average pooling keep
    it at ~8 MMAC per image, so it runs at thousands of images per second on
    two CPU cores; the preprocessing (rescaling to [0, 1]) is inside the model.
    """
    import keras
    from keras import layers

    inputs = keras.Input((size, size, 3), name="image")
    x = layers.Rescaling(1 / 255.0, name="rescale")(inputs)
    for i, (filters, stride) in enumerate([(12, 2), (24, 2), (48, 2), (48, 1), (96, 2)]):
        x = layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False, name=f"conv{i}")(x)
        x = layers.BatchNormalization(name=f"bn{i}")(x)
        x = layers.ReLU(name=f"relu{i}")(x)
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    x = layers.Dropout(0.2, name="dropout")(x)
    outputs = layers.Dense(n_classes, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="demo_shapes_cnn")


def load_model(path: str | os.PathLike | None = None, *, permuted: bool = False):
    """Load the shipped demo model (a Keras 3 model, loaded with ``safe_mode=True``).

    It takes (96, 96, 3) float images with values in [0, 255] (uint8 images
    cast to float) and returns the probabilities of :data:`CLASS_NAMES`.

    ``permuted=True`` loads the model of the data-randomisation check instead:
    the same architecture trained on shuffled labels (see :func:`load_permuted_model`).
    """
    import keras

    default, command = ((PERMUTED_MODEL_PATH, "`python -m saliency_widgets.demo.train --permute-labels`")
                        if permuted else (MODEL_PATH, "`python -m saliency_widgets.demo.train`"))
    path = os.fspath(path or default)
    if not os.path.exists(path):
        raise FileNotFoundError(f"the demo model file {path} is missing; regenerate it with {command}")
    return declare_demo(keras.saving.load_model(path, safe_mode=True))


def declare_demo(model):
    """Declare what the demo model takes (:func:`saliency_widgets.models.declare`): (96, 96, 3) RGB values in
    [0, 255] (uint8, or floats in that range), a photo of another size resized to cover 96 x 96 and
    centre-cropped (as the widget's upload), the image's mean colour as the fill, probabilities of
    :data:`CLASS_NAMES`."""
    from ..models import declare
    size = tuple(model.input_shape[1:3])
    return declare(model, input_size=size, pixel_range=(0, 255), crop="cover", outputs="probabilities",
                   class_names=CLASS_NAMES)


def load_permuted_model(path: str | os.PathLike | None = None):
    """The data-randomisation model (Adebayo et al. 2018): the demo architecture fit to permuted labels.

    Trained by ``python -m saliency_widgets.demo.train --permute-labels`` (fixed
    seed) on 1536 scenes whose labels were shuffled, until it memorised them; its
    accuracy on fresh scenes is chance.  The training script prints both numbers
    (for the shipped file: training accuracy 1.000 on the permuted labels, 0.184 on
    1000 fresh scenes); tests/demo/test_model.py recomputes them (at least 95% on
    the permuted labels, below 30% on 300 fresh scenes).  Same inputs and outputs
    as :func:`load_model`.
    """
    return load_model(path, permuted=True)
