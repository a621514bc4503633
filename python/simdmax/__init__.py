"""simdmax: SIMD softmax, log-softmax, online softmax and attention kernels, from Python.

A binding of the C API (include/simdmax/simdmax.h) for NumPy arrays and DLPack tensors (PyTorch, bfloat16
included): every function takes and returns the caller's kind of array, releases the GIL while the kernel runs,
and turns every C status into an exception (simdmax.Error and its subclasses) with the library's message.
"""
from . import _core
from ._attention import attention, attention_batch
from ._errors import (ArgumentError, DTypeError, Error, InternalError, OutOfMemoryError, OverlapError, ShapeError,
                      TargetError)
from ._online import OnlineSoftmax
from ._rows import log_softmax, softmax
from ._targets import select_target, selected_target, set_max_threads, targets

__version__ = _core.version()

__all__ = ["softmax", "log_softmax", "OnlineSoftmax", "attention", "attention_batch", "targets", "selected_target",
           "select_target", "set_max_threads", "Error", "ShapeError", "OverlapError", "ArgumentError", "TargetError",
           "DTypeError", "InternalError", "OutOfMemoryError", "__version__"]
