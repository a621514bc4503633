"""Arrays in and out: NumPy arrays and any DLPack producer (PyTorch tensors, bfloat16 included).

Every input is reduced to a NumPy *storage view* of its memory (float32, float16, or uint16 holding bfloat16 bits)
plus the simdmax element type, without copying; the layout logic (axes, strides, rows) is then NumPy's. Outputs are
allocated as the caller's kind of object: a NumPy array for NumPy input, a tensor of the same framework (through
its from_dlpack) for a DLPack producer.
"""
import ctypes
import sys

import numpy as np

from . import _core
from ._errors import ArgumentError, DTypeError, OutOfMemoryError, ShapeError

F32, F16, BF16 = _core.F32, _core.F16, _core.BF16
_STORAGE = {F32: np.dtype(np.float32), F16: np.dtype(np.float16), BF16: np.dtype(np.uint16)}
_NAMES = {"float32": F32, "float": F32, "float16": F16, "half": F16, "bfloat16": BF16}


class Array:
    """One tensor as simdmax sees it: `a` is the storage view, `dtype` the simdmax type, `framework` the module
    whose from_dlpack makes outputs of the same kind (None for NumPy), `owner` keeps the producer's memory alive."""

    __slots__ = ("a", "dtype", "framework", "owner", "obj")

    def __init__(self, a, dtype, framework, owner, obj):
        self.a, self.dtype, self.framework, self.owner, self.obj = a, dtype, framework, owner, obj

    @property
    def address(self):
        return self.a.__array_interface__["data"][0]


def dtype_code(dtype):
    """simdmax type of a dtype given as NumPy dtype, string or framework dtype (torch.bfloat16)."""
    if isinstance(dtype, int) and dtype in _STORAGE:
        return dtype
    name = str(dtype).rsplit(".", 1)[-1]
    try:
        name = np.dtype(dtype).name if name not in _NAMES else name
    except TypeError:
        pass
    if name not in _NAMES:
        raise DTypeError(f"simdmax has no kernels for dtype {dtype!r} (float32, float16 and bfloat16 only)")
    return _NAMES[name]


def _raw_view(address, storage, shape, strides):
    """A NumPy view of memory we do not own (element strides, non-negative), kept alive by the caller."""
    itemsize = storage.itemsize
    if any(s == 0 for s in shape):
        return np.empty(shape, storage)
    extent = 1 + sum((n - 1) * s for n, s in zip(shape, strides))
    buf = (ctypes.c_char * (extent * itemsize)).from_address(address)
    base = np.frombuffer(buf, dtype=storage, count=extent)
    return np.lib.stride_tricks.as_strided(base, shape, [s * itemsize for s in strides], writeable=True)


def _from_dlpack(obj):
    capsule = obj.__dlpack__()
    address, device, code, bits, lanes, shape, strides = _core.dlpack_info(capsule)
    if device != _core.DL_CPU:
        raise ShapeError(f"simdmax runs on the CPU; this tensor lives on DLPack device type {device}")
    if lanes == 1 and code == _core.DL_FLOAT and bits == 32:
        t = F32
    elif lanes == 1 and code == _core.DL_FLOAT and bits == 16:
        t = F16
    elif lanes == 1 and code == _core.DL_BFLOAT and bits == 16:
        t = BF16
    else:
        raise DTypeError(f"simdmax has no kernels for DLPack type code {code}, {bits} bits, {lanes} lanes "
                         "(float32, float16 and bfloat16 only)")
    if any(s < 0 for s in strides):
        raise ShapeError("negative DLPack strides are not supported")
    framework = sys.modules.get(type(obj).__module__.split(".")[0])
    if framework is None or not hasattr(framework, "from_dlpack"):
        framework = None
    return Array(_raw_view(address, _STORAGE[t], tuple(shape), strides), t, framework, (capsule, obj), obj)


def as_array(x, *, role="x"):
    """Input adaptation: NumPy float32/float16 arrays as they are, DLPack producers zero-copy, Python sequences and
    scalars converted to float32. Anything else of another dtype is a DTypeError."""
    if isinstance(x, np.ndarray):
        if x.dtype == np.float32:
            return Array(x, F32, None, None, x)
        if x.dtype == np.float16:
            return Array(x, F16, None, None, x)
        raise DTypeError(f"{role}: simdmax has no kernels for dtype {x.dtype} (float32, float16 and bfloat16 only)")
    if hasattr(x, "__dlpack__") and not isinstance(x, np.generic):
        return _from_dlpack(x)
    if isinstance(x, np.generic):
        return as_array(np.asarray(x), role=role)
    a = np.asarray(x, dtype=np.float32)
    return Array(a, F32, None, None, a)


class _DLPackOwner:
    """What a framework's from_dlpack consumes: our own capsule, handed over once."""

    def __init__(self, capsule):
        self._capsule = capsule

    def __dlpack__(self, stream=None):
        capsule, self._capsule = self._capsule, None
        return capsule

    def __dlpack_device__(self):
        return (_core.DL_CPU, 0)


def empty_like_kind(like, shape, dtype):
    """A new C-contiguous output of the caller's kind: NumPy for NumPy input (bfloat16 has no NumPy dtype: a
    DTypeError unless out= is given), a tensor of the input's framework for DLPack producers."""
    shape = tuple(int(n) for n in shape)
    if like.framework is None:
        if dtype == BF16:
            raise DTypeError("NumPy has no bfloat16: pass a bfloat16 tensor (e.g. PyTorch) as out=, or pick "
                             "float32/float16")
        a = np.empty(shape, _STORAGE[dtype])
        return Array(a, dtype, None, None, a)
    try:
        capsule, address = _core.dlpack_empty(list(shape), dtype)
    except MemoryError as e:  # a simdmax.Error like the library's own OUT_OF_MEMORY (status 8)
        raise OutOfMemoryError(f"cannot allocate an output of shape {shape}", 8) from e
    strides, s = [], 1
    for n in reversed(shape):
        strides.insert(0, s)
        s *= n
    view = _raw_view(address, _STORAGE[dtype], shape, strides)
    obj = like.framework.from_dlpack(_DLPackOwner(capsule))
    return Array(view, dtype, like.framework, obj, obj)


def as_output(out, shape, role="out"):
    """out= adaptation: must have exactly `shape`; its type is the output type."""
    o = as_array(out, role=role) if not isinstance(out, Array) else out
    if tuple(o.a.shape) != tuple(shape):
        raise ShapeError(f"{role} has shape {tuple(o.a.shape)}, expected {tuple(shape)}")
    if isinstance(out, np.ndarray) and not out.flags.writeable:
        raise ShapeError(f"{role} is read-only")
    return o


def result_for(like, shape, out, dtype, name):
    """The output of a call: out= when given (its dtype is the output type; a different dtype= is an error), else a
    new array of the caller's kind with dtype= (default: like's type)."""
    if out is None:
        return empty_like_kind(like, shape, like.dtype if dtype is None else dtype_code(dtype))
    oa = as_output(out, shape)
    if dtype is not None and dtype_code(dtype) != oa.dtype:
        raise ArgumentError(f"{name}: dtype= {dtype!r} differs from out's dtype")
    return oa


def rows_of(a):
    """(rows, cols, row stride in elements) of a storage view whose last axis is contiguous and whose leading axes
    collapse into one uniformly strided axis; None when they do not (the caller then copies)."""
    cols = a.shape[-1] if a.ndim else 1
    if a.ndim == 0:
        return None
    if a.size == 0:
        return (int(np.prod(a.shape[:-1], dtype=np.int64)), cols, cols)
    if cols > 1 and a.strides[-1] != a.itemsize:
        return None
    b = a.view()
    try:
        b.shape = (-1, cols)
    except AttributeError:
        return None
    rows = b.shape[0]
    if rows == 1:
        return (1, cols, cols)
    stride = b.strides[0]
    if stride <= 0 or stride % a.itemsize:
        return None
    return (rows, cols, stride // a.itemsize)
