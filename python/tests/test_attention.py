"""attention / attention_batch against a long-double evaluation of the formula (the C contract's bound:
|out - exact| <= 3e-6 * max|v| for f32 outputs, lse within 3e-6 * max(1, |lse|))."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import simdmax


def naive(q, k, v, causal=False, scale=None, window=0, softcap=0.0, alibi=None, mask=None, sinks=None):
    q, k, v = (np.asarray(a).astype(np.longdouble) for a in (q, k, v))
    h, nq, d = q.shape
    kvh, nk, _ = k.shape
    g = h // kvh
    scale = 1 / np.sqrt(np.longdouble(d)) if scale is None else np.longdouble(np.float32(scale))
    out = np.zeros((h, nq, d), np.longdouble)
    lse = np.full((h, nq), -np.inf, np.longdouble)
    for hh in range(h):
        s = scale * (q[hh] @ k[hh // g].T)
        if softcap > 0:
            s = softcap * np.tanh(s / softcap)
        pos = np.arange(nq)[:, None] + nk - nq
        j = np.arange(nk)[None, :]
        if alibi is not None:
            s = s + np.longdouble(np.float32(alibi[hh])) * (j - pos)
        if mask is not None:
            m = np.asarray(mask)
            s = s + (m[hh] if m.ndim == 3 else m).astype(np.longdouble)
        vis = np.ones_like(s, bool)
        if causal:
            vis &= j <= pos
        if window:
            vis &= (pos - j < window) & ((j - pos < window) | bool(causal))
        s = np.where(vis, s, -np.inf)
        top = s.max(axis=1, keepdims=True, initial=-np.inf)
        if sinks is not None:
            top = np.maximum(top, np.longdouble(sinks[hh]))
        top = np.where(np.isfinite(top), top, 0)
        e = np.exp(s - top)
        den = e.sum(axis=1, keepdims=True)
        if sinks is not None:
            den = den + np.exp(np.longdouble(sinks[hh]) - top)
        out[hh] = np.where(den > 0, (e @ v[hh // g]) / np.where(den > 0, den, 1), 0)
        lse[hh] = np.where(den[:, 0] > 0, np.log(np.where(den[:, 0] > 0, den[:, 0], 1)) + top[:, 0], -np.inf)
    return out, lse


def _assert_close(out, lse, ref_out, ref_lse, v):
    vmax = float(np.abs(np.asarray(v, np.float64)).max()) if np.asarray(v).size else 1.0
    assert np.all(np.abs(out.astype(np.longdouble) - ref_out) <= 3e-6 * vmax + 1e-30)
    fin = np.isfinite(ref_lse)
    assert np.array_equal(np.isfinite(lse), fin)
    assert np.all(np.abs(lse[fin] - ref_lse[fin]) <= 3e-6 * np.maximum(1, np.abs(ref_lse[fin])))


@settings(max_examples=30, deadline=None)
@given(g=st.sampled_from([1, 2, 4]), kvh=st.integers(1, 2), nq=st.integers(1, 9), nk=st.integers(0, 300),
       d=st.sampled_from([1, 7, 16, 64]), causal=st.booleans(), window=st.sampled_from([0, 1, 5, 64]),
       softcap=st.sampled_from([0.0, 20.0]), alibi=st.booleans(), sinks=st.booleans(), seed=st.integers(0, 2**31))
def test_features_against_the_formula(target, g, kvh, nq, nk, d, causal, window, softcap, alibi, sinks, seed):
    rng = np.random.default_rng(seed)
    h = g * kvh
    q = rng.standard_normal((h, nq, d)).astype(np.float32)
    k = rng.standard_normal((kvh, nk, d)).astype(np.float32)
    v = rng.standard_normal((kvh, nk, d)).astype(np.float32)
    slopes = (2.0 ** -np.arange(1, h + 1)).astype(np.float32) if alibi else None
    sk = rng.standard_normal(h).astype(np.float32) if sinks else None
    out, lse = simdmax.attention(q, k, v, causal=causal, window=window, softcap=softcap, alibi_slopes=slopes,
                                 sinks=sk, return_lse=True)
    ref_out, ref_lse = naive(q, k, v, causal=causal, window=window, softcap=softcap, alibi=slopes, sinks=sk)
    _assert_close(out, lse, ref_out, ref_lse, v)


def test_mask_paged_and_half_types():
    rng = np.random.default_rng(7)
    h, kvh, nq, nk, d, bs = 4, 2, 3, 70, 32, 16
    q = rng.standard_normal((h, nq, d)).astype(np.float32)
    k = rng.standard_normal((kvh, nk, d)).astype(np.float32)
    v = rng.standard_normal((kvh, nk, d)).astype(np.float32)
    mask = np.where(rng.random((nq, nk)) < 0.2, -np.inf, rng.standard_normal((nq, nk))).astype(np.float32)
    ref_out, ref_lse = naive(q, k, v, mask=mask)
    out, lse = simdmax.attention(q, k, v, mask=mask, return_lse=True)
    _assert_close(out, lse, ref_out, ref_lse, v)
    # The same keys in a shuffled vLLM-style pool [block][row][kv head][dim] with a partial last block.
    n_blocks = (nk + bs - 1) // bs
    table = rng.permutation(n_blocks + 2)[:n_blocks].astype(np.int32)
    kp = np.zeros((n_blocks + 2, bs, kvh, d), np.float32)
    vp = np.zeros_like(kp)
    for j in range(nk):
        kp[table[j // bs], j % bs] = k[:, j]
        vp[table[j // bs], j % bs] = v[:, j]
    paged, plse = simdmax.attention(q, kp, vp, block_table=table, n_keys=nk, mask=mask, return_lse=True)
    np.testing.assert_array_equal(paged, out)  # the same keys in the same order: bit-identical
    np.testing.assert_array_equal(plse, lse)
    # f16 q/K/V and f16 out: the f32 bound plus one f16 ULP of the output.
    qh, kh, vh = q.astype(np.float16), k.astype(np.float16), v.astype(np.float16)
    ref_h, _ = naive(qh, kh, vh)
    outh = simdmax.attention(qh, kh, vh)
    assert outh.dtype == np.float16
    err = np.abs(outh.astype(np.longdouble) - ref_h)
    assert np.all(err <= 3e-6 * np.abs(vh.astype(np.float64)).max() + np.spacing(np.abs(ref_h).astype(np.float16)))


def test_batch_equals_single_calls_and_hidden_queries():
    rng = np.random.default_rng(8)
    calls = []
    for nk in (0, 5, 300):
        calls.append(dict(q=rng.standard_normal((2, 1, 8)).astype(np.float32),
                          k=rng.standard_normal((1, nk, 8)).astype(np.float32),
                          v=rng.standard_normal((1, nk, 8)).astype(np.float32), return_lse=True))
    results = simdmax.attention_batch(calls)
    for c, (out, lse) in zip(calls, results):
        c = dict(c)
        one, one_lse = simdmax.attention(c.pop("q"), c.pop("k"), c.pop("v"), **c)
        np.testing.assert_array_equal(out, one)
        np.testing.assert_array_equal(lse, one_lse)
    assert (results[0][0] == 0).all() and (results[0][1] == -np.inf).all()  # no key: 0 and -inf, never NaN


def test_errors_write_nothing():
    q = np.ones((3, 1, 4), np.float32)  # 3 heads cannot share 2 kv heads
    k = np.ones((2, 5, 4), np.float32)
    out = np.full((3, 1, 4), 7, np.float32)
    with pytest.raises(simdmax.ArgumentError):
        simdmax.attention(q, k, k, out=out)
    assert (out == 7).all()
    with pytest.raises(simdmax.ArgumentError):
        simdmax.attention(np.ones((2, 1, 4), np.float32), k, k, scale=float("nan"))
    with pytest.raises(simdmax.ShapeError):
        simdmax.attention(np.ones((2, 1, 3), np.float32), k, k)
    with pytest.raises(simdmax.OverlapError):
        qq = np.ones((2, 1, 4), np.float32)
        simdmax.attention(qq, k, k, out=qq)
