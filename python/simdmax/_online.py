"""OnlineSoftmax: the running (max, sum) state of simdmax_online_*, as a picklable Python value."""
import numpy as np

from . import _core
from ._arrays import as_array, result_for
from ._errors import ArgumentError, check


def _flat(xa):
    """A contiguous 1-D storage view of the block (a copy only when x is not contiguous)."""
    return np.ascontiguousarray(xa.a).reshape(-1)


class OnlineSoftmax:
    """Softmax normaliser of data that arrives in blocks: max = the largest input seen, sum = sum of exp(x - max)
    (in double). Blocks are flattened in C order. Special states as the C API: empty (max -inf, sum 0), +inf seen
    (sum counts the +inf entries), NaN seen (stays NaN). Any block sizes and merge orders agree within 2^-23
    relative on the sum; merge is commutative bit for bit. Picklable; == compares (max, sum) bit patterns."""

    def __init__(self, x=None):
        self._s = _core.OnlineState()
        if x is not None:
            self.update(x)

    @property
    def max(self):
        return self._s.max

    @property
    def sum(self):
        return self._s.sum

    def update(self, x):
        """Folds the block x (any shape, flattened) into the state; returns self."""
        xa = as_array(x)
        flat = _flat(xa)
        check(self._s.update(xa.dtype, flat.__array_interface__["data"][0], flat.size), "OnlineSoftmax.update")
        return self

    def merge(self, other):
        """self = the state of both inputs; returns self."""
        if not isinstance(other, OnlineSoftmax):
            raise ArgumentError("OnlineSoftmax.merge takes another OnlineSoftmax")
        check(self._s.merge(other._s), "OnlineSoftmax.merge")
        return self

    def log_sum_exp(self):
        """max + log(sum) in double: -inf when empty, +inf after +inf, NaN after NaN."""
        return self._s.log_sum_exp()

    def _normalize(self, log, x, out, dtype):
        name = "OnlineSoftmax.log_normalize" if log else "OnlineSoftmax.normalize"
        xa = as_array(x)
        oa = result_for(xa, xa.a.shape, out, dtype, name)
        flat = _flat(xa)
        direct = oa.a.flags.c_contiguous
        y = oa.a.reshape(-1) if direct else np.empty(oa.a.size, oa.a.dtype)
        status = self._s.normalize(log, xa.dtype, flat.__array_interface__["data"][0], oa.dtype,
                                   y.__array_interface__["data"][0], flat.size)
        check(status, name)
        if not direct:
            np.copyto(oa.a, y.reshape(oa.a.shape))
        return oa.obj

    def normalize(self, x, out=None, dtype=None):
        """exp(x - max) / sum for a block the finished state has seen; result of x's shape, kind and (default)
        dtype, or written to out=."""
        return self._normalize(False, x, out, dtype)

    def log_normalize(self, x, out=None, dtype=None):
        """x - max - log(sum) for a block the finished state has seen; as normalize."""
        return self._normalize(True, x, out, dtype)

    def __getstate__(self):
        return (float(self._s.max), float(self._s.sum))

    def __setstate__(self, state):
        self._s = _core.OnlineState()
        self._s.set(*state)

    def __eq__(self, other):
        if not isinstance(other, OnlineSoftmax):
            return NotImplemented
        a = np.array([self.max], np.float32).view(np.uint32)[0], np.array([self.sum]).view(np.uint64)[0]
        b = np.array([other.max], np.float32).view(np.uint32)[0], np.array([other.sum]).view(np.uint64)[0]
        return a == b

    def __repr__(self):
        return f"OnlineSoftmax(max={self.max!r}, sum={self.sum!r})"
