"""softmax / log_softmax over any axis of NumPy arrays and DLPack tensors (simdmax_softmax, simdmax_log_softmax)."""
import numpy as np

from . import _core
from ._arrays import as_array, result_for, rows_of
from ._errors import ArgumentError, check


def _contiguous_rows(a):
    """A storage view laid out as rows: the view itself when its layout is rows of one stride, else a C copy."""
    r = rows_of(a)
    if r is None:
        a = np.ascontiguousarray(a)
        r = rows_of(a)
    return a, r


def _row_op(log, x, axis, out, dtype):
    name = "log_softmax" if log else "softmax"
    xa = as_array(x)
    if xa.a.ndim == 0:
        raise ArgumentError(f"{name}: x must have at least one dimension")
    ndim = xa.a.ndim
    if not -ndim <= axis < ndim:
        raise np.AxisError(axis, ndim)
    axis %= ndim
    oa = result_for(xa, xa.a.shape, out, dtype, name)
    if xa.a.size == 0:
        return oa.obj
    # The kernels work on rows: the reduced axis goes last (a view), and the output is written in that layout
    # directly when it allows, otherwise into a C-contiguous buffer copied into out.
    xv, (rows, cols, x_stride) = _contiguous_rows(np.moveaxis(xa.a, axis, -1))
    ov = np.moveaxis(oa.a, axis, -1)
    r = rows_of(ov)
    direct = r is not None
    if not direct:
        ov = np.empty(ov.shape, oa.a.dtype)
        r = rows_of(ov)
    _, _, y_stride = r
    status = _core.rows(log, rows, cols, xa.dtype, xv.__array_interface__["data"][0], x_stride, oa.dtype,
                        ov.__array_interface__["data"][0], y_stride)
    check(status, name)
    if not direct:
        np.copyto(np.moveaxis(oa.a, axis, -1), ov)
    return oa.obj


def softmax(x, axis=-1, out=None, dtype=None):
    """Softmax along `axis` (NumPy conventions): exp(x - max) / sum exp(x - max).

    x: a NumPy float32/float16 array, a sequence (taken as float32), or any DLPack producer of float32, float16 or
    bfloat16 on the CPU (PyTorch tensors). The result has x's shape, is C-contiguous and is of x's kind (NumPy in,
    NumPy out; a tensor in, a tensor of the same framework out) with dtype `dtype` (default: x's). out=: write there
    instead (same shape; its dtype is the output type; out=x is in place); the same object is returned.
    No copy is made when the reduced axis is contiguous in memory and the other axes collapse to one stride (any
    C-contiguous array with axis=-1); otherwise x is copied to a row layout first.
    Numerics, special values and accuracy: the C contract (<= 2 ULP for float32 outputs, <= 1 ULP of the type for
    half outputs; a NaN makes its row NaN; -inf entries give 0). The GIL is released while the kernel runs.
    Errors: DTypeError (TypeError) for other dtypes, ShapeError/OverlapError (ValueError) for out=."""
    return _row_op(False, x, axis, out, dtype)


def log_softmax(x, axis=-1, out=None, dtype=None):
    """Log-softmax along `axis`: x - max - log(sum exp(x - max)). Arguments, results and errors as softmax."""
    return _row_op(True, x, axis, out, dtype)
