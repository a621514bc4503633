"""softmax / log_softmax: the C contract's ULP bounds against the long-double reference, on every target, over
shapes, axes, strides, dtypes and special values; NumPy conventions (axis, out=, C-contiguous results)."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import simdmax
from conftest import max_ulp, ref_softmax

from simdmax._reference import bound  # the bounds of tests/tolerances.h: f32 softmax 2, log-softmax 1, halves 1


def _check(x, y, axis, log, out_dtype):
    ref = ref_softmax(x, axis=axis, log=log)
    assert y.shape == x.shape and y.dtype == out_dtype and y.flags.c_contiguous
    limit = bound(log, "f32" if out_dtype == np.float32 else "f16")
    worst = max_ulp(y, ref, log)
    assert worst <= limit, f"{worst} ULP > {limit}"


rows_arrays = hnp.arrays(
    dtype=st.sampled_from([np.float32, np.float16]),
    shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=40),
    elements=st.floats(-60, 60, width=16))


@settings(max_examples=60, deadline=None)
@given(x=rows_arrays, data=st.data(), log=st.booleans(), out_half=st.booleans())
def test_any_shape_axis_dtype(target, x, data, log, out_half):
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1))
    out_dtype = np.float16 if out_half else np.float32
    op = simdmax.log_softmax if log else simdmax.softmax
    _check(x, op(x, axis=axis, dtype=out_dtype), axis, log, out_dtype)


# (Seeds below 2^16: with 2^32 hypothesis overran its buffer while generating half of the examples here.)
@settings(max_examples=12, deadline=None)
@given(rows=st.integers(0, 3), boundary=st.sampled_from([None, 0, 1, 767, 768, 769, 16384, 16385, 50257]),
       drawn=st.integers(0, 200000), seed=st.integers(0, 65535), half_in=st.booleans(),
       out_half=st.booleans(), log=st.booleans())
def test_zero_sized_and_huge_rows(target, rows, boundary, drawn, seed, half_in, out_half, log):
    # The lengths at the path boundaries (768: short rows; 16384: one chunk) and drawn up to 200000, with 0-sized
    # batches and rows; values spread so that long rows have many entries far below the max.
    cols = drawn if boundary is None else boundary
    x = (np.random.default_rng(seed).standard_normal((rows, cols)) * 12).astype(np.float16 if half_in else np.float32)
    out_dtype = np.float16 if out_half else np.float32
    op = simdmax.log_softmax if log else simdmax.softmax
    y = op(x, dtype=out_dtype)
    if x.size == 0:
        assert y.shape == x.shape and y.dtype == out_dtype
        return
    _check(x, y, -1, log, out_dtype)


@pytest.mark.parametrize("cols", [1, 2, 15, 16, 17, 255, 256, 513, 1000, 4097, 32000, 128000])
@pytest.mark.parametrize("log", [False, True])
def test_lengths_f32(target, cols, log):
    rng = np.random.default_rng(cols)
    x = (rng.standard_normal((3, cols)) * 8).astype(np.float32)
    op = simdmax.log_softmax if log else simdmax.softmax
    _check(x, op(x), -1, log, np.float32)


def test_huge_magnitudes_and_tiny_rest(target):
    x = np.array([[1e30, 1e30 - 1e24, -1e30], [-3e38, -3e38, -3e38], [88.0, -80.0, -90.0]], np.float32)
    for log in (False, True):
        op = simdmax.log_softmax if log else simdmax.softmax
        _check(x, op(x), -1, log, np.float32)


def test_special_values(target):
    nan, inf = np.float32(np.nan), np.float32(np.inf)
    x = np.array([[1, nan, 2], [-inf, -inf, -inf], [inf, 1, inf], [0, -inf, 0]], np.float32)
    y = simdmax.softmax(x)
    assert np.isnan(y[0]).all()
    assert (y[1] == 0).all()                       # a fully masked row is zeros, never NaN
    np.testing.assert_array_equal(y[2], [0.5, 0, 0.5])  # +inf entries share the mass
    np.testing.assert_array_equal(y[3], [0.5, 0, 0.5])  # -inf gives exactly 0
    z = simdmax.log_softmax(x)
    assert np.isnan(z[0]).all() and (z[1] == -inf).all()
    assert z[2][1] == -inf and np.isclose(z[2][0], -np.log(2), rtol=0, atol=1e-7)


def test_out_and_in_place():
    x = np.random.default_rng(1).standard_normal((4, 33)).astype(np.float32)
    want = simdmax.softmax(x)
    out = np.empty_like(x)
    assert simdmax.softmax(x, out=out) is out
    np.testing.assert_array_equal(out, want)
    y = x.copy()
    assert simdmax.softmax(y, out=y) is y  # in place is the one overlap allowed
    np.testing.assert_array_equal(y, want)
    # out along another axis: written through a row buffer, same numbers as the transposed call
    out0 = np.empty_like(x)
    simdmax.softmax(x, axis=0, out=out0)
    np.testing.assert_array_equal(out0, simdmax.softmax(np.ascontiguousarray(x.T)).T)


def test_non_contiguous_and_negative_strides():
    x = np.random.default_rng(2).standard_normal((6, 40)).astype(np.float32)
    for v in (x[::2], x[:, ::3], x[::-1, ::-1], x.T):
        y = simdmax.softmax(v)
        assert y.flags.c_contiguous
        np.testing.assert_array_equal(y, simdmax.softmax(np.ascontiguousarray(v)))


def test_row_strided_view_is_not_copied():
    # A row-strided view (every other row, contiguous rows) is passed with its stride; in place on it must leave
    # the skipped rows untouched, which a copy-and-copy-back would also do, so check the kernel sees the view:
    # the rows in between keep their bytes and the result equals the compact call.
    x = np.random.default_rng(3).standard_normal((8, 16)).astype(np.float32)
    keep = x[1::2].copy()
    v = x[::2]
    want = simdmax.softmax(np.ascontiguousarray(v))
    assert simdmax.softmax(v, out=v) is v
    np.testing.assert_array_equal(x[::2], want)
    np.testing.assert_array_equal(x[1::2], keep)


def test_empty_and_scalar_shapes():
    assert simdmax.softmax(np.zeros((0, 5), np.float32)).shape == (0, 5)
    assert simdmax.softmax(np.zeros((3, 0), np.float32)).shape == (3, 0)
    np.testing.assert_array_equal(simdmax.softmax(np.array([7.0], np.float32)), [1.0])
    np.testing.assert_array_equal(simdmax.log_softmax([3.0, 3.0]), np.float32([-np.log(2)] * 2))
    with pytest.raises(simdmax.ArgumentError):
        simdmax.softmax(np.float32(1.0))
    with pytest.raises(np.AxisError):
        simdmax.softmax(np.zeros((2, 2), np.float32), axis=2)


def test_errors():
    x = np.ones((2, 8), np.float32)
    with pytest.raises(TypeError):
        simdmax.softmax(np.ones(3))  # float64 has no kernel
    with pytest.raises(simdmax.DTypeError):
        simdmax.softmax(x, dtype=np.int32)
    with pytest.raises(simdmax.DTypeError):
        simdmax.softmax(x, dtype="bfloat16")  # NumPy has no bfloat16 to return
    with pytest.raises(ValueError):
        simdmax.softmax(x, out=np.empty((2, 7), np.float32))
    buf = np.ones(20, np.float32)
    with pytest.raises(simdmax.OverlapError) as e:
        simdmax.softmax(buf[:16].reshape(2, 8), out=buf[1:17].reshape(2, 8))
    assert "overlap" in str(e.value).lower() and e.value.status == 4
    np.testing.assert_array_equal(buf, 1)  # nothing written on error


def test_contiguous_input_is_not_copied(monkeypatch):
    # The copy path of the row layout is np.ascontiguousarray inside simdmax._rows: make it fail, then a
    # C-contiguous input (axis -1), a row-strided view and an in-place call must all still run.
    import simdmax._rows as rows_module

    def no_copy(*args, **kwargs):
        raise AssertionError("simdmax copied an input that the kernel can read in place")

    monkeypatch.setattr(rows_module.np, "ascontiguousarray", no_copy)
    x = np.random.default_rng(11).standard_normal((6, 50)).astype(np.float32)
    want = ref_softmax(x)
    for v, w in ((x, want), (x[::2], want[::2]), (x[1:4], want[1:4])):
        assert max_ulp(simdmax.softmax(v), w, False) <= 2
    monkeypatch.undo()
    # and a transposed input does take the copy path (so the check above can fail)
    monkeypatch.setattr(rows_module.np, "ascontiguousarray", no_copy)
    with pytest.raises(AssertionError):
        simdmax.softmax(x.T)


@settings(max_examples=40)
@given(x=hnp.arrays(np.float32, hnp.array_shapes(min_dims=2, max_dims=3, min_side=1, max_side=24),
                    elements=st.floats(-50, 50, width=32)),
       data=st.data(), log=st.booleans())
def test_strided_views_give_the_bits_of_the_compact_call(x, data, log):
    # A row's result depends on its values only (C contract): any view (steps, offsets, reversed axes, the
    # reduced axis anywhere) gives the bits of the same rows laid out compactly.
    sl = tuple(slice(data.draw(st.integers(0, n - 1)), None, data.draw(st.sampled_from([1, 2, -1])))
               for n in x.shape)
    v = x[sl]
    axis = data.draw(st.integers(-v.ndim, v.ndim - 1))
    op = simdmax.log_softmax if log else simdmax.softmax
    got = op(v, axis=axis)
    want = np.moveaxis(op(np.ascontiguousarray(np.moveaxis(v, axis, -1))), -1, axis)
    np.testing.assert_array_equal(got, want)
