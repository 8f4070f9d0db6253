"""Where the masks are made: the model's framework as a small array backend.

The explainers write their mask making, masking, forward pass and
accumulation once, against :class:`ArrayBackend`: an array namespace ``xp``
(the Python array API: ``array_api_compat`` for NumPy, PyTorch and JAX; a
small TensorFlow shim for Keras on TensorFlow), ``asarray`` / ``to_numpy``
for the small arrays that cross (random draws in, scores and maps out),
``compile`` (``jax.jit``, ``tf.function`` or nothing) and ``scores`` (the
model's target probabilities on a batch that is already on the device).

This module is the only place, with :mod:`.adapter` and :mod:`.keras`, that
knows which framework a model belongs to.  torch, jax and tensorflow are
imported lazily, only when a model of theirs is wrapped.
"""
from __future__ import annotations

import contextlib
import functools
import threading
import time
import weakref

import numpy as np

__all__ = ["ArrayBackend", "ForwardCounter", "numpy_backend", "torch_backend", "jax_backend", "keras_backend",
           "Pacer"]


class ForwardCounter:
    """How many images were sent through a model, counted where they are sent (thread-safe).

    :class:`~.base.ModelAdapter` adds each batch's size when it calls the model (the padding of a
    padded batch is not counted); inside a compiled step (``jax.jit``, ``tf.function``) the count is a
    host callback that runs each time the step runs, so it counts executions, not traces.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._n = 0

    def add(self, n) -> None:
        with self._lock:
            self._n += int(n)

    @property
    def value(self) -> int:
        """Images counted so far."""
        return self._n

    def __getstate__(self):  # an explainer (and its model) may be pickled or deep-copied: the lock is not
        return {"n": self._n}

    def __setstate__(self, state):
        self._lock = threading.Lock()
        self._n = state["n"]

    def __repr__(self) -> str:
        return f"ForwardCounter({self._n})"


class ArrayBackend:
    """The array namespace and device of one model.

    Parameters
    ----------
    name : {"numpy", "torch", "jax", "tensorflow"}
    xp : array namespace
        Array-API functions (``take``, ``matmul``, ``where``, ``tensordot``,
        ``sum``, ``astype``, ``reshape``, ...) on the model's arrays.
    forward : callable or None
        ``forward(batch) -> (B, K)`` raw model outputs, ``batch`` a device
        array (B, H, W, C); traceable by ``compile``.  ``None`` (NumPy): the
        adapter's host ``predict`` is used.
    device : object
        Where arrays go (a torch.device, a jax Device, a TF device string).
    accelerator : bool
        True on a GPU/TPU: batches default to 256 and partial maps are yielded
        at most every ``yield_interval_s`` seconds.
    scan : callable or None
        ``scan(body, carry, xs) -> (carry, ys)`` (``jax.lax.scan``), traceable
        by ``compile``: with ``pixels_per_dispatch > 0`` the explainers run
        blocks of full batches in one compiled call (:meth:`batches_per_call`).
    """

    yield_interval_s = 0.0
    # Image pixels run by one compiled call (a ``scan`` over a block of full batches) where the
    # backend can loop on the device: one host dispatch per block instead of per batch.  0: a call
    # per batch.  Counted in pixels, not images: a small model on small images needs blocks to
    # hide the dispatch, while a batch of 256 at 224 x 224 already covers it (and on the H100 a
    # scan over MobileNetV2 batches ran at 0.79 of the floor against 0.92 for a call per batch).
    pixels_per_dispatch = 0

    def __init__(self, name, xp, *, forward=None, device=None, accelerator=False, float_dtype=None,
                 acc_dtype=None, int_dtype=None, compile=None, asarray=None, to_numpy=None, scan=None,
                 count_in_step=None, settle=None):
        self.name = name
        self.xp = xp
        self.forward = forward
        self.device = device
        self.accelerator = bool(accelerator)
        self.float_dtype = float_dtype if float_dtype is not None else xp.float32
        # The NumPy reference sums in float64; devices sum in float32 (enough for 1e-4 on the map).
        self.acc_dtype = acc_dtype if acc_dtype is not None else xp.float32
        self.int_dtype = int_dtype if int_dtype is not None else xp.int64
        self._compile = compile or (lambda fn: fn)
        self._asarray = asarray or (lambda a, dtype: xp.asarray(a, dtype=dtype))
        self._to_numpy = to_numpy or np.asarray
        self._compiled: dict = {}
        self.scan = scan  # scan(body, carry, xs) -> (carry, ys), traceable by compile; None: no device loop
        # Images through the model on this backend's device path (one backend per model, so every adapter
        # of the model counts here); inside a traced step the count is a host callback (count_in_step).
        self.counter = ForwardCounter()
        self._count_in_step = count_in_step
        self._settle = settle
        if name != "numpy":
            self.yield_interval_s = 0.25 if accelerator else 0.0

    @property
    def native(self) -> bool:
        """True when masks are made on the model's own device (not the NumPy host path)."""
        return self.name != "numpy"

    def asarray(self, a, dtype=None):
        """A small host array on the device (``dtype`` default: float32)."""
        return self._asarray(np.asarray(a), self.float_dtype if dtype is None else dtype)

    def batches_per_call(self, batch: int, pixels: int) -> int:
        """Full batches of ``batch`` images of ``pixels`` = H * W to run in one compiled call (1: a call per batch).

        About ``pixels_per_dispatch`` pixels, at most 32 batches, so that a
        block of a slow model still ends within a few partial-map intervals.
        """
        if self.scan is None or self.pixels_per_dispatch <= 0:
            return 1
        return max(1, min(32, self.pixels_per_dispatch // (max(1, int(batch)) * max(1, int(pixels)))))

    def to_numpy(self, a) -> np.ndarray:
        return np.asarray(self._to_numpy(a))

    @property
    def traced(self) -> bool:
        """True when compiled steps are traced (JAX, TensorFlow): their Python runs once per trace."""
        return self._count_in_step is not None

    def count_images(self, batch, *, in_traced: bool = True) -> None:
        """Count ``batch``'s images (leading axis) each time the step that calls this runs.

        Eager backends (NumPy, PyTorch) add at the call; a traced one (JAX, TensorFlow) compiles a host
        callback into the step when ``in_traced``, so the count follows executions, a ``scan``'s
        iterations included (without it, nothing is counted there).
        """
        if self._count_in_step is None:
            self.counter.add(batch.shape[0])
        elif in_traced:
            self._count_in_step(self.counter, batch)

    def counted(self) -> int:
        """:attr:`counter`'s value once the callbacks of the steps already run have landed."""
        if self._settle is not None:
            self._settle()
        return self.counter.value

    def compile(self, key, fn):
        """``fn`` compiled once per ``key`` (a tuple of the settings baked into it)."""
        try:
            return self._compiled[key]
        except KeyError:
            out = self._compiled[key] = self._compile(fn)
            return out

    def __repr__(self) -> str:
        return f"ArrayBackend({self.name}, device={self.device}, accelerator={self.accelerator})"


class Pacer:
    """Decides when a partial map is worth a host sync: every batch on the host, every ``interval`` s on a GPU."""

    def __init__(self, interval_s: float):
        self.interval_s = float(interval_s)
        self._last = time.perf_counter()

    def due(self, final: bool) -> bool:
        if final or self.interval_s <= 0:
            return True
        now = time.perf_counter()
        if now - self._last >= self.interval_s:
            self._last = now
            return True
        return False


# -- NumPy: the reference ----------------------------------------------------
def numpy_backend() -> ArrayBackend:
    return ArrayBackend("numpy", _np_namespace(), acc_dtype=np.float64, float_dtype=np.float32)


def _np_namespace():
    """NumPy with the array-API names the explainers use (NumPy 1.26 lacks some; no extra dependency)."""
    return _NumpyNamespace()


class _NumpyNamespace:
    def __getattr__(self, name):
        return getattr(np, name)

    @staticmethod
    def astype(a, dtype):
        return np.asarray(a).astype(dtype, copy=False)

    @staticmethod
    def permute_dims(a, axes):
        return np.transpose(a, axes)

    @staticmethod
    def concat(arrays, axis=0):
        return np.concatenate(arrays, axis=axis)

    # The explainers' products (mask upsampling, weighted sums of masks) must leave OpenBLAS's
    # worker threads asleep: after a multi-threaded call they spin for a while and take a core
    # from the model's next forward pass (MobileNetV2 on TensorFlow, 2 cores: 180 ms per batch
    # of 16 between our calls against 148 ms back to back; benchmarks/bench_explainers.py).
    # These products are small (inner dimension = grid side, or a batch): one thread is enough.
    @staticmethod
    def matmul(a, b):
        with one_blas_thread():
            return np.matmul(a, b)

    @staticmethod
    def tensordot(a, b, axes=2):
        if axes == 1 and np.ndim(a) == 1:  # a weighted sum of masks: NumPy's own loop, no BLAS
            return np.einsum("i,i...->...", a, b)
        with one_blas_thread():
            return np.tensordot(a, b, axes=axes)


_BLAS_LOCK = threading.Lock()    # held by the one product that has BLAS limited, for its duration
_BLAS_SETUP = threading.Lock()
_BLAS: list = []                 # [threadpoolctl controller of the BLAS libraries, or None]


def _blas_controller():
    with _BLAS_SETUP:
        if not _BLAS:
            try:
                from threadpoolctl import ThreadpoolController
                ctl = ThreadpoolController().select(user_api="blas")
                _BLAS.append(ctl if ctl.lib_controllers else None)
            except Exception:  # threadpoolctl missing or unable to read the loaded libraries
                _BLAS.append(None)
        return _BLAS[0]


@contextlib.contextmanager
def one_blas_thread():
    """A context in which NumPy's BLAS runs on one thread (``threadpoolctl``); a no-op without it.

    One product at a time limits BLAS and restores it, in its own thread (OpenBLAS's thread count
    is process-wide, and restoring it from another thread than the one that set it, with contexts
    overlapping, was seen to leave it at 1).  A product that finds another one holding the limit
    (another explainer's thread, or a nested call) runs as it is.
    """
    ctl = _blas_controller()
    if ctl is None or not _BLAS_LOCK.acquire(blocking=False):
        yield
        return
    try:
        with ctl.limit(limits=1):
            yield
    finally:
        _BLAS_LOCK.release()


def softmax_xp(xp, logits):
    z = logits - xp.max(logits, axis=-1, keepdims=True)
    e = xp.exp(z)
    return e / xp.sum(e, axis=-1, keepdims=True)


# -- PyTorch -----------------------------------------------------------------
def torch_device_of(module):
    import torch
    for p in module.parameters():
        return p.device
    for b in module.buffers():
        return b.device
    return torch.device("cpu")


def torch_backend(forward, device) -> ArrayBackend:
    """``forward(batch (B, H, W, C) torch tensor) -> (B, K)``; runs under ``torch.inference_mode``."""
    import torch
    try:
        import array_api_compat.torch as xp
    except ImportError:  # the extra's array-api-compat is missing: the few functions we use, by hand
        xp = _TorchNamespace(torch)

    def asarray(a, dtype):
        return torch.as_tensor(a, dtype=dtype).to(device)

    def to_numpy(t):
        return t.detach().to("cpu").numpy()

    def compile(fn):
        def run(*args):
            with torch.inference_mode():
                return fn(*args)
        return run

    # Running sums in float64 (as the NumPy reference) where the device has it: a few MFLOP per step.
    acc = torch.float32 if device.type == "mps" else torch.float64
    return ArrayBackend("torch", xp, forward=forward, device=device, accelerator=device.type != "cpu",
                        float_dtype=torch.float32, acc_dtype=acc, compile=compile,
                        asarray=asarray, to_numpy=to_numpy)


def torch_module_forward(module):
    """The module on channels-last batches: the user's (B, H, W, C) becomes (B, C, H, W) here."""
    ref = weakref.ref(module)

    def forward(x):
        return ref()(x.permute(0, 3, 1, 2))

    return forward


# -- JAX ---------------------------------------------------------------------
def jax_backend(forward) -> ArrayBackend:
    import jax

    xp = _JaxNamespace()
    device = jax.devices()[0]

    def asarray(a, dtype):
        return jax.device_put(np.asarray(a, dtype=np.dtype(dtype)), device)

    def count_in_step(counter, batch):  # the shape is static under jit: the callback carries no data
        jax.debug.callback(functools.partial(counter.add, int(batch.shape[0])))

    be = ArrayBackend("jax", xp, forward=forward, device=device, accelerator=device.platform != "cpu",
                      float_dtype=np.float32, acc_dtype=np.float32, int_dtype=np.int32, compile=jax.jit,
                      asarray=asarray, to_numpy=np.asarray, scan=jax.lax.scan, count_in_step=count_in_step,
                      settle=jax.effects_barrier)
    # Each JAX dispatch costs host time that a small model's batch does not cover: on a GPU, the
    # pixels of 2048 images of 96 x 96 (8 batches of 256 of the demo model) per compiled call (a
    # lax.scan), partial maps between blocks; at 224 x 224 that is one batch of 256 per call.
    be.pixels_per_dispatch = 2048 * 96 * 96 if be.accelerator else 0
    return be


class _JaxNamespace:
    """``jax.numpy`` (array-API compliant), with the mask products at full float32 precision.

    On GPUs XLA computes float32 products in TF32 by default (10-bit
    mantissa): masks would differ from the NumPy reference by ~1e-3.  Only
    the explainers' own products are pinned; the model keeps its precision.
    """

    def __init__(self):
        import jax
        import jax.numpy as jnp
        self._jnp = jnp
        self._highest = jax.lax.Precision.HIGHEST

    def __getattr__(self, name):
        return getattr(self._jnp, name)

    def matmul(self, a, b):
        return self._jnp.matmul(a, b, precision=self._highest)

    def tensordot(self, a, b, axes=2):
        if axes == 1 and a.ndim == 1:
            # The explainers' weighted sums of masks, sum_i p_i M_i: a (1, n) @ (n, H*W) product is a
            # degenerate matmul that XLA may run slowly at HIGHEST precision; a fused multiply-and-reduce
            # reads the masks once and is exact float32.
            return self._jnp.sum(self._jnp.reshape(a, (-1,) + (1,) * (b.ndim - 1)) * b, axis=0)
        return self._jnp.tensordot(a, b, axes=axes, precision=self._highest)


# -- Keras 3 -----------------------------------------------------------------
def keras_backend(model) -> ArrayBackend:
    """The backend of a Keras 3 model: its own framework (TensorFlow, JAX or torch)."""
    import keras

    name = keras.backend.backend()
    ref = weakref.ref(model)
    if name == "jax":
        return jax_backend(lambda x: ref()(x, training=False))
    if name == "torch":
        import torch
        dev = next((v.value.device for v in model.weights), torch.device("cpu"))
        return torch_backend(lambda x: ref()(x, training=False), dev)
    if name == "tensorflow":
        return tf_backend(lambda x: ref()(x, training=False))
    raise ValueError(f"Keras backend {name!r} has no device path; use the TensorFlow, JAX or torch backend")


def tf_backend(forward) -> ArrayBackend:
    import tensorflow as tf

    gpu = bool(tf.config.list_logical_devices("GPU"))

    def compile(fn):
        return tf.function(fn)

    where = "/GPU:0" if gpu else "/CPU:0"

    def asarray(a, dtype):  # placed on the GPU once, not copied at every call
        with tf.device(where):
            return tf.identity(tf.convert_to_tensor(np.asarray(a), dtype=dtype))

    def count_in_step(counter, batch):  # a stateful op: tf.function runs it at every call
        tf.py_function(lambda n: counter.add(int(n)), [tf.shape(batch)[0]], [])

    return ArrayBackend("tensorflow", _TFNamespace(tf), forward=forward, device="GPU" if gpu else "CPU",
                        accelerator=gpu, float_dtype=tf.float32, acc_dtype=tf.float32, int_dtype=tf.int32,
                        compile=compile, count_in_step=count_in_step,
                        asarray=asarray, to_numpy=lambda t: t.numpy())


class _TFNamespace:
    """The array-API functions the explainers use, on TensorFlow tensors (TF has no array-API namespace)."""

    def __init__(self, tf):
        self.tf = tf
        self.float32, self.float64, self.int32, self.int64, self.bool = (
            tf.float32, tf.float64, tf.int32, tf.int64, tf.bool)

    def asarray(self, a, dtype=None):
        return self.tf.convert_to_tensor(a, dtype=dtype)

    def astype(self, a, dtype):
        return self.tf.cast(a, dtype)

    def take(self, a, idx, axis=0):
        return self.tf.gather(a, idx, axis=axis)

    def matmul(self, a, b):
        return self.tf.linalg.matmul(a, b)

    def permute_dims(self, a, axes):
        return self.tf.transpose(a, axes)

    def reshape(self, a, shape):
        return self.tf.reshape(a, shape)

    def expand_dims(self, a, axis=0):
        return self.tf.expand_dims(a, axis)

    def where(self, c, a, b):
        a, b = self.tf.convert_to_tensor(a), self.tf.convert_to_tensor(b)
        shape = self.tf.broadcast_dynamic_shape(self.tf.shape(c), self.tf.broadcast_dynamic_shape(
            self.tf.shape(a), self.tf.shape(b)))
        return self.tf.where(self.tf.broadcast_to(c, shape), self.tf.broadcast_to(a, shape),
                             self.tf.broadcast_to(b, shape))

    def sum(self, a, axis=None, keepdims=False):
        return self.tf.reduce_sum(a, axis=axis, keepdims=keepdims)

    def max(self, a, axis=None, keepdims=False):
        return self.tf.reduce_max(a, axis=axis, keepdims=keepdims)

    def tensordot(self, a, b, axes=2):
        return self.tf.tensordot(a, b, axes=axes)

    def abs(self, a):
        return self.tf.abs(a)

    def exp(self, a):
        return self.tf.exp(a)

    def ones_like(self, a):
        return self.tf.ones_like(a)

    def concat(self, arrays, axis=0):
        return self.tf.concat(arrays, axis)

    def minimum(self, a, b):
        return self.tf.minimum(a, b)

    def maximum(self, a, b):
        return self.tf.maximum(a, b)

    def arange(self, n, dtype=None):
        return self.tf.range(n, dtype=dtype or self.tf.int32)

    def zeros(self, shape, dtype=None):
        return self.tf.zeros(shape, dtype=dtype or self.tf.float32)


class _TorchNamespace(_TFNamespace):
    """Fallback when array-api-compat is not installed: the same functions on torch tensors."""

    def __init__(self, torch):
        self.tf = None
        self.torch = torch
        self.float32, self.float64, self.int32, self.int64, self.bool = (
            torch.float32, torch.float64, torch.int32, torch.int64, torch.bool)

    def asarray(self, a, dtype=None):
        return self.torch.as_tensor(a, dtype=dtype)

    def astype(self, a, dtype):
        return a.to(dtype)

    def take(self, a, idx, axis=0):
        return self.torch.index_select(a, axis, idx)

    def matmul(self, a, b):
        return self.torch.matmul(a, b)

    def permute_dims(self, a, axes):
        return a.permute(*axes)

    def reshape(self, a, shape):
        return self.torch.reshape(a, shape)

    def expand_dims(self, a, axis=0):
        return self.torch.unsqueeze(a, axis)

    def where(self, c, a, b):
        return self.torch.where(c, a, b)

    def sum(self, a, axis=None, keepdims=False):
        return self.torch.sum(a) if axis is None else self.torch.sum(a, dim=axis, keepdim=keepdims)

    def max(self, a, axis=None, keepdims=False):
        return self.torch.amax(a, dim=() if axis is None else axis, keepdim=keepdims)

    def tensordot(self, a, b, axes=2):
        return self.torch.tensordot(a, b, dims=axes)

    def abs(self, a):
        return self.torch.abs(a)

    def exp(self, a):
        return self.torch.exp(a)

    def ones_like(self, a):
        return self.torch.ones_like(a)

    def concat(self, arrays, axis=0):
        return self.torch.cat(list(arrays), dim=axis)

    def minimum(self, a, b):
        return self.torch.minimum(a, b)

    def maximum(self, a, b):
        return self.torch.maximum(a, b)

    def arange(self, n, dtype=None):
        return self.torch.arange(n, dtype=dtype)

    def zeros(self, shape, dtype=None):
        return self.torch.zeros(shape, dtype=dtype or self.torch.float32)
