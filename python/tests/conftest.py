"""Shared pieces of the Python suite: the long-double reference and ULP distances (the C suite's definitions:
tests/reference.cc, tests/ulp.cc), and one parametrisation over every target this CPU runs."""
import numpy as np
import pytest
from hypothesis import HealthCheck, settings

import simdmax

# The target fixture selects one target for all the examples of a test, which is what it is for.
settings.register_profile("simdmax", suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None,
                          print_blob=True)
settings.load_profile("simdmax")

FLT_MIN = np.float32(np.finfo(np.float32).tiny)


def ref_softmax(x, axis=-1, log=False):
    """Softmax / log-softmax in np.longdouble (80-bit on x86) from the exactly widened input."""
    xl = np.asarray(x).astype(np.longdouble)
    m = np.max(xl, axis=axis, keepdims=True)
    e = np.exp(xl - m)
    s = np.sum(e, axis=axis, keepdims=True)
    if not log:
        return e / s
    # log(sum) as log(k) + log1p(rest / k), k the count at the max: next to the max the output is -log1p(rest),
    # whose relative precision a rounded 1 + rest (long double: ~1e-19 absolute) would not keep.
    at_max = xl == m
    k = np.sum(at_max, axis=axis, keepdims=True).astype(np.longdouble)
    rest = np.sum(np.where(at_max, 0, e), axis=axis, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        log_s = np.where(k > 0, np.log(k) + np.log1p(rest / np.where(k > 0, k, 1)), np.log(s))
    return xl - m - log_s


def _ordered(a):
    """Floats as integers in value order (+0 and -0 both 0), so that the ULP distance is a difference."""
    a = np.asarray(a)
    bits = {4: np.int32, 2: np.int16}[a.dtype.itemsize]
    i = a.view(bits).astype(np.int64)
    sign = np.int64(1) << (8 * a.dtype.itemsize - 1)
    return np.where(i < 0, -(i & (sign - 1)), i)


def ulp_distance(got, ref):
    """ULP distance of got (float32/float16) from ref rounded to got's type; 0 where both are the same NaN/inf."""
    got = np.asarray(got)
    r = np.asarray(ref).astype(got.dtype)
    d = np.abs(_ordered(got) - _ordered(r))
    same = (np.isnan(got) & np.isnan(r)) | (got == r)
    return np.where(same, 0, d)


def max_ulp_softmax(got, ref):
    """Softmax ULP with the contract's exemption: f32 outputs whose exact value is below FLT_MIN may be 0."""
    d = ulp_distance(got, ref)
    if np.asarray(got).dtype == np.float32:
        d = np.where((np.abs(np.asarray(ref)) < FLT_MIN) & (np.abs(got) <= FLT_MIN), 0, d)
    return int(d.max()) if d.size else 0


@pytest.fixture(params=simdmax.targets())
def target(request):
    """Runs the test once per target this CPU supports (process-wide selection, restored afterwards)."""
    with simdmax.select_target(request.param):
        yield request.param
