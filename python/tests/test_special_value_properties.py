"""Property tests of the special-value contract (README "Special values"): rows mixing NaN, +-inf, +-FLT_MAX,
subnormals, signed zeros and ordinary values, short (elementwise from hypothesis) and long (special values injected
into a seeded row), every target, float32 and float16 in and out. The expectations come from the contract's table
and, for the finite remainder, from the long-double reference with the C bounds: never from the kernels."""
import numpy as np
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import simdmax
from conftest import max_ulp, ref_softmax
from simdmax._reference import bound

F32 = np.finfo(np.float32)
# Values the contract names: NaN, +-inf, the range ends, subnormals (inputs are never flushed), signed zeros,
# the exp overflow/underflow edges; plus ordinary values so that most rows have a finite remainder.
SPECIALS = [float(np.float32(v)) for v in (np.nan, np.inf, -np.inf, F32.max, -F32.max, F32.tiny, 1e-45, -1e-45, 3e-39,
                                          0.0, -0.0, 88.72, -87.3, -103.9, 1e4, -1e4, 65504.0, -65504.0, 6e-8)]
specials = st.sampled_from(SPECIALS)
ordinary = st.floats(-30, 30, width=32)
element = st.one_of(ordinary, ordinary, specials)  # ~1/3 special, so NaN- and inf-free rows occur too


def expected(row, log, kind):
    """(exact values as long double, a mask of entries whose value the contract fixes exactly) for one row of
    exactly widened inputs, from the table in README "Special values"."""
    xl = row.astype(np.longdouble)
    n = len(row)
    if np.isnan(xl).any():
        return np.full(n, np.nan, np.longdouble), np.ones(n, bool)
    pos_inf = np.isposinf(xl)
    if pos_inf.any():
        k = np.longdouble(pos_inf.sum())
        if log:
            return np.where(pos_inf, -np.log(k), -np.inf), ~pos_inf | (k == 1)
        return np.where(pos_inf, 1 / k, 0), ~pos_inf | (k == 1)
    if np.isneginf(xl).all():
        return np.full(n, -np.inf if log else 0, np.longdouble), np.ones(n, bool)
    # A finite maximum: -inf entries are exactly 0 / -inf, the rest is the reference (which gives those too).
    return ref_softmax(xl, log=log), np.isneginf(xl) | (n == 1)


def check_rows(x, log, out_dtype):
    op = simdmax.log_softmax if log else simdmax.softmax
    y = op(x, dtype=out_dtype)
    assert y.shape == x.shape and y.dtype == out_dtype
    kind = "f32" if out_dtype == np.float32 else "f16"
    limit = bound(log, kind)
    rows = x.reshape(-1, x.shape[-1]).astype(np.float32)
    for xr, yr in zip(rows, y.reshape(rows.shape)):
        want, exact = expected(xr, log, kind)
        nan_row = np.isnan(want).all()
        assert np.isnan(yr).all() == nan_row, (xr, yr)
        if nan_row:
            continue
        assert not np.isnan(yr).any(), (xr, yr)  # no NaN without a NaN input
        if log:
            assert (yr <= 0).all(), (xr, yr)
        else:
            assert ((yr >= 0) & (yr <= 1)).all(), (xr, yr)
        # Entries the table fixes (0 or -inf at -inf inputs and beside +inf, exactly 1 / +0 for k = 1) are exact.
        fixed = want[exact].astype(out_dtype)
        np.testing.assert_array_equal(yr[exact], fixed, err_msg=repr(xr))
        worst = max_ulp(yr, want, log)
        assert worst <= limit, (worst, xr, yr)


@settings(max_examples=80)
@given(x=hnp.arrays(np.float32, hnp.array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=40), elements=element),
       log=st.booleans(), half_in=st.booleans(), half_out=st.booleans())
def test_short_rows_with_special_values(target, x, log, half_in, half_out):
    # float16 inputs: the float32 values stored (beyond +-65504 they become +-inf, a subnormal of f32 becomes 0 or
    # an f16 subnormal): the contract then applies to what the array holds.
    with np.errstate(over="ignore"):
        xs = x.astype(np.float16) if half_in else x
    check_rows(xs, log, np.float16 if half_out else np.float32)


@settings(max_examples=40)
@given(n=st.integers(1, 5000), seed=st.integers(0, 2**32 - 1), scale=st.sampled_from([1.0, 10.0, 1e3]),
       inject=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), specials), max_size=6),
       log=st.booleans(), half_out=st.booleans())
def test_long_rows_with_injected_special_values(target, n, seed, scale, inject, log, half_out):
    # Rows long enough for the chunked path (> 768 elements) and the short path, with a few special values at
    # drawn positions (the kernels' blocks, tails and chunk edges all get hit across examples).
    x = (np.random.default_rng(seed).standard_normal((2, n)) * scale).astype(np.float32)
    for where, value in inject:
        x[0, int(where * n)] = value
    check_rows(x, log, np.float16 if half_out else np.float32)
