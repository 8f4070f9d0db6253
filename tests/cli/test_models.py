"""Models named by a .keras path or a Python import path (saliency_widgets.cli.models)."""
import pickle

import numpy as np
import pytest

from saliency_widgets.models import ModelAdapter
from saliency_widgets.cli.models import class_names, load_model_spec, model_input_size, parse_input_size

from ..toy_models import ChannelModel


def test_a_class_is_built_and_a_plain_callable_wrapped_with_the_given_size():
    model = load_model_spec("tests.toy_models:ChannelModel", input_size="8,10")
    assert isinstance(model, ModelAdapter) and model.input_shape == (8, 10, 3)
    batch = np.random.default_rng(0).uniform(0, 255, (2, 8, 10, 3)).astype(np.float32)
    np.testing.assert_allclose(model.predict(batch), ChannelModel()(batch), rtol=1e-6)
    assert model_input_size(model) == (8, 10)
    with pytest.raises(ValueError, match="image width is 9 but the model takes 10"):
        model.prepare(np.zeros((8, 9, 3)))
    assert class_names(model, batch[0]) == ["class 0", "class 1", "class 2"]


def test_a_zero_argument_factory_is_called_and_a_keras_model_kept():
    keras_model = load_model_spec("saliency_widgets.demo:load_model")  # load_model(path=None, *, permuted=False)
    assert tuple(keras_model.input_shape[1:]) == (96, 96, 3) and not isinstance(keras_model, ModelAdapter)
    assert model_input_size(keras_model) == (96, 96) and len(class_names(keras_model)) == 6
    model = load_model_spec("tests.toy_models:make_channel_model", input_size=(4, 4))
    assert isinstance(model.fn, ChannelModel)


def test_the_dask_factory_pickles_and_loads_on_the_other_side():
    from saliency_widgets.cli.evaluate import model_factory
    factory, size = model_factory("tests.toy_models:make_channel_model", input_size="12,16")
    assert size == (12, 16)
    model = pickle.loads(pickle.dumps(factory))()
    assert model.input_shape == (12, 16, 3) and model.predict(np.ones((1, 12, 16, 3), np.float32)).shape == (1, 3)


@pytest.mark.parametrize("text,match", [("8", "H,W or H,W,C"), ("8,0", "H,W or H,W,C"), ("a,b", "H,W or H,W,C"),
                                        ("8,8,4", "C must be 3")])
def test_bad_input_sizes_are_named(text, match):
    with pytest.raises(ValueError, match=match):
        parse_input_size(text)
    assert parse_input_size("8, 9") == (8, 9) and parse_input_size((8, 9, 3)) == (8, 9, 3)


def test_a_missing_file_and_a_free_size_model():
    with pytest.raises(FileNotFoundError, match="not found"):
        load_model_spec("/nowhere/model.keras")
    with pytest.raises(ValueError, match="does not say what image size"):
        load_model_spec("tests.toy_models:ChannelModel")
    free = ModelAdapter(ChannelModel(), input_shape=(None, None, 3))
    assert model_input_size(free, required=False) is None and model_input_size(free, "5,6") == (5, 6)
    with pytest.raises(ValueError, match="any size"):
        model_input_size(free)
