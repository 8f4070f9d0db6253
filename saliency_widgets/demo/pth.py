"""Read a PyTorch state-dict file (``.pth``) into NumPy arrays without PyTorch.

A state dict saved by ``torch.save`` is a pickle whose tensors point at raw storages kept beside it:

* the zip format (``torch.save`` since PyTorch 1.6): ``<root>/data.pkl`` holds the pickle and each
  storage is the zip entry ``<root>/data/<key>``;
* the legacy format (before 1.6; the EfficientNet-Lite0 weights of the ``imagenet`` extra use it): five
  pickles in a row (magic number, protocol version, system info, the object, the list of storage keys),
  then each storage as an int64 element count followed by its raw bytes, in the order of that list.

Only what a state dict of plain tensors needs is unpickled: ``collections.OrderedDict``,
``torch._utils._rebuild_tensor_v2`` and the typed storages of :data:`STORAGE_DTYPES`.  Anything else
(any other class or function named in the pickle, a bfloat16 or quantised storage) is refused with a
:class:`PthFormatError` that names it: no code from the file runs.
"""
from __future__ import annotations

import collections
import io
import os
import pickle
import struct
import zipfile

import numpy as np

__all__ = ["read_state_dict", "PthFormatError", "STORAGE_DTYPES"]

#: torch storage class -> NumPy dtype (little-endian), for every storage this reader takes
STORAGE_DTYPES = {
    "FloatStorage": np.dtype("<f4"), "DoubleStorage": np.dtype("<f8"), "HalfStorage": np.dtype("<f2"),
    "LongStorage": np.dtype("<i8"), "IntStorage": np.dtype("<i4"), "ShortStorage": np.dtype("<i2"),
    "CharStorage": np.dtype("i1"), "ByteStorage": np.dtype("u1"), "BoolStorage": np.dtype("?"),
}
_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_LEGACY_PROTOCOL = 1001


class PthFormatError(ValueError):
    """The file is not a state dict of plain tensors that :func:`read_state_dict` can read."""


class _Storage:
    """A storage named in the pickle: its dtype and key; ``array`` is filled from the file."""

    def __init__(self, dtype, key: str, numel: int):
        self.dtype, self.key, self.numel = dtype, key, int(numel)
        self.array: np.ndarray | None = None


class _Tensor:
    """A tensor named in the pickle, made into an array once its storage is read."""

    def __init__(self, storage, offset, size, stride):
        if not isinstance(storage, _Storage):
            raise PthFormatError(f"a tensor's storage is a {type(storage).__name__}, not a storage")
        self.storage, self.offset, self.size, self.stride = storage, int(offset), tuple(size), tuple(stride)

    def array(self) -> np.ndarray:
        base = self.storage.array
        n = 1 + sum((s - 1) * st for s, st in zip(self.size, self.stride)) if all(self.size) else 0
        if self.offset < 0 or self.offset + n > base.size:
            raise PthFormatError(f"a tensor of size {self.size} at offset {self.offset} runs past its storage "
                                 f"{self.storage.key!r} of {base.size} elements")
        item = base.itemsize
        view = np.lib.stride_tricks.as_strided(base[self.offset:], shape=self.size,
                                               strides=tuple(st * item for st in self.stride))
        return np.array(view)  # a copy that owns its memory, C-contiguous


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False, backward_hooks=None,
                       metadata=None):
    return _Tensor(storage, storage_offset, size, stride)


class _NoGlobals(pickle.Unpickler):
    """Unpickles plain data only (numbers, strings, lists, dicts): the legacy format's header pickles."""

    def find_class(self, module, name):
        raise PthFormatError(f"the file's header names {module}.{name}: not a torch.save file")


class _Unpickler(pickle.Unpickler):
    """Unpickles only a state dict's own types; storages come back as :class:`_Storage`."""

    def __init__(self, file, storages: dict):
        super().__init__(file)
        self.storages = storages

    def find_class(self, module, name):
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor_v2
        if module == "torch" and name in STORAGE_DTYPES:
            return STORAGE_DTYPES[name]
        raise PthFormatError(f"the file's pickle names {module}.{name}, which a state dict of plain tensors "
                             f"does not hold; this reader takes only tensors with storages "
                             f"{sorted(STORAGE_DTYPES)} in (Ordered)dicts")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage"):
            raise PthFormatError(f"unknown persistent id in the pickle: {pid!r:.200}")
        dtype, key, numel = pid[1], str(pid[2]), pid[4]
        if not isinstance(dtype, np.dtype):
            raise PthFormatError(f"storage {key!r} has type {dtype!r}; this reader takes {sorted(STORAGE_DTYPES)}")
        if len(pid) > 5 and pid[5] is not None:
            raise PthFormatError(f"storage {key!r} is a view of another storage (legacy view metadata)")
        known = self.storages.get(key)
        if known is None:
            known = self.storages[key] = _Storage(dtype, key, numel)
        return known


def _state_dict(obj) -> dict:
    if not isinstance(obj, dict):
        raise PthFormatError(f"the file holds a {type(obj).__name__}, not a state dict (a dict of tensors)")
    out = {}
    for key, value in obj.items():
        if not isinstance(value, _Tensor):
            raise PthFormatError(f"entry {key!r} is a {type(value).__name__}, not a tensor")
        out[str(key)] = value.array()
    return out


def _read_zip(path) -> dict:
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        pkl = [n for n in names if n.endswith("/data.pkl") or n == "data.pkl"]
        if len(pkl) != 1:
            raise PthFormatError(f"{path}: a zip without exactly one data.pkl ({len(pkl)} found): not a torch.save file")
        root = pkl[0][:-len("data.pkl")]
        if f"{root}byteorder" in names and z.read(f"{root}byteorder").strip() != b"little":
            raise PthFormatError(f"{path}: saved on a big-endian machine, which this reader does not take")
        storages: dict = {}
        obj = _Unpickler(io.BytesIO(z.read(pkl[0])), storages).load()
        for key, st in storages.items():
            try:
                raw = z.read(f"{root}data/{key}")
            except KeyError:
                raise PthFormatError(f"{path}: storage {key!r} has no entry {root}data/{key}") from None
            st.array = _from_bytes(raw, st, path)
    return _state_dict(obj)


def _read_legacy(path) -> dict:
    with open(path, "rb") as f:
        try:
            magic, protocol, sys_info = (_NoGlobals(f).load() for _ in range(3))
        except PthFormatError:
            raise
        except Exception as exc:
            raise PthFormatError(f"{path}: neither a zip nor a legacy torch.save file ({exc})") from None
        if magic != _LEGACY_MAGIC or protocol != _LEGACY_PROTOCOL:
            raise PthFormatError(f"{path}: not a torch.save file (magic {magic!r}, protocol {protocol!r})")
        if not (isinstance(sys_info, dict) and sys_info.get("little_endian", False)):
            raise PthFormatError(f"{path}: saved on a big-endian machine, which this reader does not take")
        storages: dict = {}
        obj = _Unpickler(f, storages).load()
        keys = _NoGlobals(f).load()
        if not isinstance(keys, list) or set(map(str, keys)) != set(storages):
            raise PthFormatError(f"{path}: the storage list does not match the storages the pickle names")
        for key in keys:
            st = storages[str(key)]
            (numel,) = struct.unpack("<q", f.read(8))
            st.array = _from_bytes(f.read(numel * st.dtype.itemsize), st, path, numel)
    return _state_dict(obj)


def _from_bytes(raw: bytes, st: _Storage, path, numel=None) -> np.ndarray:
    n = len(raw) // st.dtype.itemsize
    if len(raw) % st.dtype.itemsize or n != st.numel or (numel is not None and numel != st.numel):
        raise PthFormatError(f"{path}: storage {st.key!r} holds {len(raw)} bytes; {st.numel} elements of "
                             f"{st.dtype} were expected (a truncated or damaged file)")
    return np.frombuffer(raw, dtype=st.dtype)


def read_state_dict(path) -> dict[str, np.ndarray]:
    """The tensors of a ``torch.save``'d state dict, as NumPy arrays; PyTorch is not needed.

    Parameters
    ----------
    path : str or os.PathLike
        A ``.pth`` file in the zip format or the legacy (pre-1.6) format.

    Returns
    -------
    dict
        ``{name: array}`` in the file's order; each array has the tensor's shape (e.g. a convolution's
        weight is (out, in, kh, kw), as in PyTorch) and the storage's dtype (:data:`STORAGE_DTYPES`).

    Raises
    ------
    FileNotFoundError
        No such file.
    PthFormatError
        The file is not a state dict of plain tensors (the message names what it found instead), or it is
        truncated.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"weights file {path!r} not found")
    return _read_zip(path) if zipfile.is_zipfile(path) else _read_legacy(path)
