"""Exceptions: every C status becomes one, carrying the library's own message (simdmax_status_string)."""
from . import _core


class Error(Exception):
    """Base of every simdmax error. `status` is the C status code (0 for errors found before the C call)."""

    def __init__(self, message, status=0):
        super().__init__(message)
        self.status = status


class ShapeError(Error, ValueError):
    """INVALID_SHAPE / INVALID_STRIDE, or arrays whose shapes do not fit the call."""


class OverlapError(Error, ValueError):
    """OVERLAP: an output shares memory with an input other than exactly in place."""


class ArgumentError(Error, ValueError):
    """INVALID_ARGUMENT (and NULL_POINTER, which the binding never passes on purpose)."""


class TargetError(Error, ValueError):
    """UNKNOWN_TARGET (a name no architecture defines) or UNSUPPORTED_TARGET (not here)."""


class DTypeError(Error, TypeError):
    """An element type simdmax has no kernel for (it takes float32, float16 and bfloat16)."""


class InternalError(Error, RuntimeError):
    """INTERNAL: an unexpected C++ exception inside the library."""


class OutOfMemoryError(Error, MemoryError):
    """OUT_OF_MEMORY: the library could not allocate its scratch."""


_BY_STATUS = {1: ArgumentError, 2: ShapeError, 3: ShapeError, 4: OverlapError, 5: TargetError, 6: TargetError,
              7: ArgumentError, 8: OutOfMemoryError, 9: InternalError}


def check(status, what):
    """Raises the exception of a nonzero C status, with the library's message and the call it came from."""
    if status != 0:
        cls = _BY_STATUS.get(status, Error)
        raise cls(f"{what}: {_core.status_string(status)} (simdmax status {status})", status)
