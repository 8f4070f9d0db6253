"""The results file is keyed to what made its rows: model, preprocessing, input size and image set.

Each test changes one of them and nothing else, and expects the resume to be refused with an error
that names it; an unchanged rerun resumes; ``overwrite=True`` starts afresh.
"""
import json

import numpy as np
import pytest
import torch

from saliency_widgets import CenterBaseline, as_model, evaluate
from saliency_widgets.datasets import VOCDataset, write_demo_voc
from saliency_widgets.demo import CLASS_NAMES

from ..conftest import RegionModel

QUICK = dict(metrics=("pointing",), sanity=False, progress=False)


@pytest.fixture
def data():
    images = np.ones((3, 16, 16, 3), np.float32)
    truths = [[(0, (0, 0, 8, 8))], [(1, (8, 8, 16, 16))], [(0, (4, 4, 12, 12))]]
    return images, truths


def run(path, images, truths, *, model=None, **kw):
    return evaluate({"center": CenterBaseline()}, images, truths, model=model, results=path, **QUICK, **kw)


def header(path):
    return json.loads(path.read_text().splitlines()[0])["__settings__"]


def test_an_unchanged_rerun_resumes_and_computes_nothing(tmp_path, data):
    path = tmp_path / "r.jsonl"
    first = run(path, *data, model=RegionModel())
    seen = []
    again = run(path, *data, model=RegionModel(), on_rows=seen.append)
    assert seen == [] and len(again) == len(first) == 3
    assert set(header(path)["inputs"]) == {"model", "preprocess", "input_size", "images"}


def test_another_callable_model_is_refused(tmp_path, data):
    path = tmp_path / "r.jsonl"
    run(path, *data, model=RegionModel())
    # same class, same qualified name: only the probe (its outputs on seeded inputs) tells them apart
    with pytest.raises(ValueError, match=r"another model \(model: .*probe"):
        run(path, *data, model=RegionModel(region=(slice(8, 16), slice(0, 8))))


def _net(seed, hidden=4):
    from saliency_widgets.models import declare
    torch.manual_seed(seed)
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 16 * 16, hidden), torch.nn.Linear(hidden, 2))
    return declare(net, input_size=(16, 16), pixel_range=None)


def test_a_torch_module_with_other_weights_is_refused(tmp_path, data):
    path = tmp_path / "r.jsonl"
    run(path, *data, model=_net(0))
    run(path, *data, model=_net(0))  # the same weights resume
    with pytest.raises(ValueError, match=r"another model \(model: .*weights") as err:
        run(path, *data, model=_net(1))
    assert "architecture" not in str(err.value)


def test_a_torch_module_of_another_architecture_is_refused(tmp_path, data):
    path = tmp_path / "r.jsonl"
    run(path, *data, model=_net(0))
    with pytest.raises(ValueError, match=r"another model \(model: .*architecture"):
        run(path, *data, model=_net(0, hidden=5))


def test_another_preprocessing_is_refused(tmp_path, data):
    path = tmp_path / "r.jsonl"
    run(path, *data, model=as_model(RegionModel(), preprocess=lambda x: x * 1.0))
    with pytest.raises(ValueError, match=r"another preprocessing \(preprocess: .*probe") as err:
        run(path, *data, model=as_model(RegionModel(), preprocess=lambda x: x * 0.5))
    assert "another model" not in str(err.value)


def test_another_image_set_is_refused(tmp_path, data):
    images, truths = data
    path = tmp_path / "r.jsonl"
    run(path, images, truths)
    changed = images.copy()
    changed[2, 0, 0] = 0.5  # one pixel of one image
    with pytest.raises(ValueError, match=r"another image set \(images: 1 of the 3 images .* image 2"):
        run(path, changed, truths)
    moved = [truths[0], truths[1], [(0, (0, 0, 4, 4))]]  # the same pixels, another truth
    with pytest.raises(ValueError, match="another image set"):
        run(path, images, moved)


def test_the_image_set_may_grow(tmp_path, data):
    images, truths = data
    path = tmp_path / "r.jsonl"
    run(path, images[:2], truths[:2])
    seen = []
    rows = run(path, images, truths, on_rows=seen.append)
    assert [r["image"] for batch in seen for r in batch] == [2] and len(rows) == 3
    assert len(header(path)["inputs"]["images"]["images"]) == 3


@pytest.fixture(scope="module")
def voc_root(tmp_path_factory):
    return write_demo_voc(tmp_path_factory.mktemp("voc"), 3, objects=(1, 1), seed=4)


def _voc(root, **kw):
    return VOCDataset(root, class_names=CLASS_NAMES, **kw)


def test_another_input_size_is_refused(tmp_path, voc_root):
    path = tmp_path / "r.jsonl"
    evaluate({"center": CenterBaseline()}, _voc(voc_root, size=(32, 32)), results=path, **QUICK)
    with pytest.raises(ValueError, match=r"was made with another input size \(input_size: \[32, 32\]"):
        evaluate({"center": CenterBaseline()}, _voc(voc_root, size=(48, 48)), results=path, **QUICK)


def test_another_split_of_a_dataset_is_refused(tmp_path, voc_root):
    path = tmp_path / "r.jsonl"
    evaluate({"center": CenterBaseline()}, _voc(voc_root), results=path, **QUICK)
    main = type(path)(voc_root) / "ImageSets" / "Main"
    ids = main.joinpath("test.txt").read_text().split()
    main.joinpath("reversed.txt").write_text("\n".join(reversed(ids)) + "\n")
    with pytest.raises(ValueError, match=r"another image set \(images: split: 'test' in the file vs 'reversed'"):
        evaluate({"center": CenterBaseline()}, _voc(voc_root, split="reversed"), results=path, **QUICK)


def test_overwrite_starts_a_new_file(tmp_path, data):
    images, truths = data
    path = tmp_path / "r.jsonl"
    run(path, images, truths, model=_net(0))
    with pytest.raises(ValueError, match="overwrite=True"):
        run(path, images, truths, model=_net(1))
    rows = run(path, images, truths, model=_net(1), overwrite=True)
    assert len(rows) == 3 and len(path.read_text().splitlines()) == 4  # one header, three rows: nothing kept
    run(path, images, truths, model=_net(1))  # and the new file resumes under the new model


def _keras_net(seed):
    keras = pytest.importorskip("keras")
    init = keras.initializers.GlorotUniform(seed=seed)
    return keras.Sequential([keras.Input((16, 16, 3)), keras.layers.Flatten(),
                             keras.layers.Dense(2, activation="softmax", kernel_initializer=init)])


def test_a_keras_model_with_other_weights_is_refused(tmp_path, data):
    path = tmp_path / "r.jsonl"
    run(path, *data, model=_keras_net(0))
    run(path, *data, model=_keras_net(0))  # the same weights (another object) resume
    assert header(path)["inputs"]["model"]["kind"] == "keras"
    with pytest.raises(ValueError, match=r"another model \(model: .*weights") as err:
        run(path, *data, model=_keras_net(1))
    assert "architecture" not in str(err.value)
