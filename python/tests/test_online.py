"""OnlineSoftmax: state against the long-double sum, block and merge invariance, normalisation bounds, pickling."""
import math
import pickle

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import simdmax
from conftest import max_ulp_softmax, ref_softmax, ulp_distance

# tests/tolerances.h: the sum within 2^-23 relative of the exact one (1 float ulp per term, summed in double).
SUM_REL = 2.0 ** -23


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 3000), cuts=st.lists(st.integers(0, 3000), max_size=6), seed=st.integers(0, 2**31))
def test_blocks_and_merges_agree_with_the_exact_sum(target, n, cuts, seed):
    x = (np.random.default_rng(seed).standard_normal(n) * 10).astype(np.float32)
    edges = sorted({0, n, *[c % (n + 1) for c in cuts]})
    states = [simdmax.OnlineSoftmax(x[a:b]) for a, b in zip(edges, edges[1:])]
    merged = simdmax.OnlineSoftmax()
    for s in states:
        merged.merge(s)
    one = simdmax.OnlineSoftmax(x)
    xl = x.astype(np.longdouble)
    exact = np.sum(np.exp(xl - xl.max()))
    for s in (merged, one):
        assert s.max == x.max()
        assert abs(s.sum - exact) <= SUM_REL * exact
    lse = float(xl.max() + np.log(exact))
    assert abs(one.log_sum_exp() - lse) <= 1e-6 * max(1.0, abs(lse))


def test_merge_is_commutative_bit_for_bit_and_empty_is_identity():
    rng = np.random.default_rng(5)
    a = simdmax.OnlineSoftmax(rng.standard_normal(100).astype(np.float32))
    b = simdmax.OnlineSoftmax(rng.standard_normal(77).astype(np.float32) + 3)
    ab = pickle.loads(pickle.dumps(a)).merge(b)
    ba = pickle.loads(pickle.dumps(b)).merge(a)
    assert ab == ba
    e = simdmax.OnlineSoftmax()
    assert e.max == -math.inf and e.sum == 0 and e.log_sum_exp() == -math.inf
    assert pickle.loads(pickle.dumps(a)).merge(e) == a


def test_normalize_matches_the_row_bounds(target):
    x = (np.random.default_rng(6).standard_normal(5000) * 5).astype(np.float32)
    s = simdmax.OnlineSoftmax()
    for block in np.array_split(x, 7):
        s.update(block)
    ref = ref_softmax(x)
    assert max_ulp_softmax(s.normalize(x), ref) <= 2 + 1  # softmax bound plus the double sum's (README table)
    logref = ref_softmax(x, log=True)
    y = s.log_normalize(x)
    d = ulp_distance(y, logref)
    near0 = np.abs(logref) < 1e-6
    assert int(np.where(near0, 0, d).max()) <= 2
    assert np.all(np.abs(y[near0] - logref[near0].astype(np.float64)) <= 2e-14)
    h = s.normalize(x.reshape(50, 100), dtype=np.float16)
    assert h.shape == (50, 100) and h.dtype == np.float16
    assert int(ulp_distance(h.reshape(-1), ref).max()) <= 1


def test_special_states():
    s = simdmax.OnlineSoftmax(np.array([-np.inf, -np.inf], np.float32))
    assert s.max == -math.inf and s.sum == 0
    np.testing.assert_array_equal(s.normalize(np.float32([-np.inf])), [0])
    s.update(np.float32([np.inf, 1, np.inf]))
    assert s.max == math.inf and s.sum == 2
    np.testing.assert_array_equal(s.normalize(np.float32([np.inf, 1])), [0.5, 0])
    s.update(np.float32([np.nan]))
    assert math.isnan(s.log_sum_exp())


def test_errors_leave_the_state_alone():
    s = simdmax.OnlineSoftmax()
    s.__setstate__((-math.inf, 1.0))  # a state no update can produce
    with pytest.raises(simdmax.ArgumentError):
        s.normalize(np.float32([1.0]))
    with pytest.raises(TypeError):
        simdmax.OnlineSoftmax(np.ones(3))
    with pytest.raises(simdmax.ArgumentError):
        simdmax.OnlineSoftmax().merge(3)
