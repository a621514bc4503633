"""DLPack producers: PyTorch tensors (float32, float16, bfloat16) in, tensors of the same dtype out, zero-copy,
checked against the long-double reference and against torch's own float64 softmax; hypothesis over shapes, axes
and dtypes; no leaks through the capsules."""
import gc
import os
import sys

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

torch = pytest.importorskip("torch")

import simdmax  # noqa: E402
from conftest import max_ulp, ref_softmax  # noqa: E402
from simdmax._reference import bound  # noqa: E402


def _bits_to_f32(t):
    """Exact float32 values of a tensor (bfloat16 and float16 widen exactly)."""
    return t.to(torch.float32).numpy()


@pytest.mark.parametrize("dt", [torch.float32, torch.float16, torch.bfloat16])
@pytest.mark.parametrize("log", [False, True])
def test_tensor_in_tensor_out(target, dt, log):
    x = (torch.randn(5, 300, generator=torch.Generator().manual_seed(1)) * 6).to(dt)
    op = simdmax.log_softmax if log else simdmax.softmax
    y = op(x)
    assert isinstance(y, torch.Tensor) and y.dtype == dt and y.shape == x.shape and y.is_contiguous()
    ref = ref_softmax(_bits_to_f32(x), log=log)
    # The C bounds in the output type (bf16 compared as bit patterns, NumPy having no bfloat16).
    if dt == torch.bfloat16:
        got, kind = y.view(torch.int16).numpy().view(np.uint16), "bf16"
    else:
        got, kind = y.numpy(), None
    assert max_ulp(got, ref, log, kind=kind) <= bound(log, {torch.float32: "f32"}.get(dt, "half"))
    # Against torch in float64 (the peer's own exact-ish answer): never farther than torch's own result.
    t64 = (torch.log_softmax if log else torch.softmax)(x.to(torch.float64), dim=-1).numpy()
    tt = _bits_to_f32((torch.log_softmax if log else torch.softmax)(x.to(torch.float32), dim=-1).to(dt))
    ours = np.abs(_bits_to_f32(y).astype(np.float64) - t64).max()
    theirs = np.abs(tt.astype(np.float64) - t64).max()
    assert ours <= theirs * 1.0000001 + 1e-30


def test_out_tensor_and_in_place_zero_copy():
    x = torch.randn(4, 64, dtype=torch.bfloat16)
    out = torch.empty_like(x)
    assert simdmax.softmax(x, out=out) is out
    y = x.clone()
    p = y.data_ptr()
    assert simdmax.softmax(y, out=y) is y and y.data_ptr() == p
    assert torch.equal(y, out)
    f = torch.randn(3, 50)
    o = torch.empty(3, 50, dtype=torch.bfloat16)
    simdmax.softmax(f, out=o)  # f32 in, bf16 out
    assert torch.equal(o, simdmax.softmax(f, dtype=torch.bfloat16))


def test_numpy_in_bf16_out_needs_a_tensor():
    x = np.ones((2, 3), np.float32)
    with pytest.raises(TypeError):
        simdmax.softmax(x, dtype="bfloat16")
    out = torch.empty(2, 3, dtype=torch.bfloat16)
    simdmax.softmax(x, out=out)
    assert torch.allclose(out.to(torch.float32), torch.full((2, 3), 1 / 3), rtol=2 ** -8)


def test_non_contiguous_tensor_and_other_dtypes():
    x = torch.randn(6, 40)
    v = x.t()  # strides (1, 40): copied to rows
    np.testing.assert_array_equal(simdmax.softmax(v).numpy(), simdmax.softmax(v.contiguous()).numpy())
    with pytest.raises(TypeError):
        simdmax.softmax(torch.ones(3, dtype=torch.float64))
    with pytest.raises(TypeError):
        simdmax.softmax(torch.ones(3, dtype=torch.int32))


def test_attention_bf16_tensors():
    g = torch.Generator().manual_seed(3)
    q = torch.randn(4, 2, 64, generator=g).to(torch.bfloat16)
    k = torch.randn(2, 100, 64, generator=g).to(torch.bfloat16)
    v = torch.randn(2, 100, 64, generator=g).to(torch.bfloat16)
    out, lse = simdmax.attention(q, k, v, causal=True, return_lse=True)
    assert isinstance(out, torch.Tensor) and out.dtype == torch.bfloat16 and lse.dtype == torch.float32
    qf, kf, vf = (t.to(torch.float64) for t in (q, k, v))
    kf, vf = kf.repeat_interleave(2, 0), vf.repeat_interleave(2, 0)
    s = qf @ kf.transpose(1, 2) / 8.0
    pos = torch.arange(2)[:, None] + 98
    s = s.masked_fill(torch.arange(100)[None, :] > pos, float("-inf"))
    ref = torch.softmax(s, -1) @ vf
    err = (out.to(torch.float64) - ref).abs()
    assert bool((err <= 3e-6 * vf.abs().max() + ref.abs() * 2 ** -8).all())
    assert bool(((lse.to(torch.float64) - torch.logsumexp(s, -1)).abs() <= 3e-6 * 10).all())


def test_contiguous_tensors_are_not_copied(monkeypatch):
    # Inputs are read where the producer keeps them: with every NumPy copy function made to fail, contiguous
    # tensors (and a row-strided view) still go through softmax, in place and into a new tensor, and through
    # attention (dense and paged), with the results of the unpatched calls.
    g = torch.Generator().manual_seed(4)
    x = torch.randn(6, 300, generator=g).to(torch.bfloat16)
    q = torch.randn(4, 2, 32, generator=g)
    k = torch.randn(2, 40, 32, generator=g).to(torch.float16)
    v = torch.randn(2, 40, 32, generator=g).to(torch.float16)
    pool = torch.randn(3, 16, 2, 32, generator=g).to(torch.float16)
    table = torch.tensor([2, 0], dtype=torch.int32).numpy()
    want = simdmax.softmax(x)
    want_view = simdmax.softmax(x[::2])
    want_att = simdmax.attention(q, k, v, causal=True)
    want_paged = simdmax.attention(q, pool, pool, block_table=table, n_keys=20)

    real_ascontiguousarray = np.ascontiguousarray

    def contiguous_without_copy(a, *args, **kwargs):  # the copy path of the row and attention layouts
        r = real_ascontiguousarray(a, *args, **kwargs)
        if isinstance(a, np.ndarray) and not np.may_share_memory(r, a):
            raise AssertionError("simdmax copied an input that the kernel can read in place")
        return r

    def no_copy_back(*args, **kwargs):  # outputs written through a buffer and copied back
        raise AssertionError("simdmax wrote through a buffer where it could write in place")

    monkeypatch.setattr(np, "ascontiguousarray", contiguous_without_copy)
    monkeypatch.setattr(np, "copyto", no_copy_back)
    assert torch.equal(simdmax.softmax(x), want)
    assert torch.equal(simdmax.softmax(x[::2]), want_view)
    y = x.clone()
    assert simdmax.softmax(y, out=y) is y and torch.equal(y, want)
    assert torch.equal(simdmax.attention(q, k, v, causal=True), want_att)
    assert torch.equal(simdmax.attention(q, pool, pool, block_table=table, n_keys=20), want_paged)
    # and a transposed tensor does take the copy path (so the checks above can fail)
    with pytest.raises(AssertionError):
        simdmax.softmax(x.t())


@settings(max_examples=30, deadline=None)
@given(shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=30), seed=st.integers(0, 65535),
       dt=st.sampled_from([torch.float32, torch.float16, torch.bfloat16]), log=st.booleans(),
       scale=st.sampled_from([1.0, 10.0, 100.0]), data=st.data())
def test_tensor_properties(shape, seed, dt, log, scale, data):
    # Any shape (0-sized included), axis and tensor dtype: a tensor of the same dtype and shape comes back, within
    # the C bound of its type against the long-double reference of the exactly widened input.
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = (torch.randn(*shape, generator=torch.Generator().manual_seed(seed)) * scale).to(dt)
    y = (simdmax.log_softmax if log else simdmax.softmax)(x, axis=axis)
    assert isinstance(y, torch.Tensor) and y.dtype == dt and tuple(y.shape) == tuple(shape) and y.is_contiguous()
    if x.numel() == 0:
        return
    ref = ref_softmax(_bits_to_f32(x), axis=axis, log=log)
    if dt == torch.bfloat16:
        got, kind = y.view(torch.int16).numpy().view(np.uint16), "bf16"
    else:
        got, kind = y.numpy(), None
    assert max_ulp(got, ref, log, kind=kind) <= bound(log, {torch.float32: "f32"}.get(dt, "half"))


def _rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs /proc/self/statm")
def test_no_leaks_through_dlpack():
    # Tensors in and new tensors out go through DLPack capsules and a C allocation per output (dlpack_empty),
    # which tracemalloc does not see: a leaked capsule or deleter keeps that memory. 10^5 calls, each making a
    # 4 KiB output (and attention a 1 KiB one plus its lse), would keep >= 400 MiB; the resident size must grow
    # by far less. Reference counts of the inputs must come back to where they were.
    x = torch.randn(4, 256).to(torch.bfloat16)
    xf = torch.randn(4, 256)
    q, k = torch.randn(2, 1, 128), torch.randn(1, 64, 128).to(torch.float16)
    refs = [sys.getrefcount(t) for t in (x, xf, q, k)]
    for _ in range(2000):  # warm-up
        simdmax.softmax(x)
        simdmax.attention(q, k, k, return_lse=True)
    gc.collect()
    before = _rss_bytes()
    for i in range(100000):
        simdmax.softmax(x)
        simdmax.log_softmax(xf, dtype=torch.bfloat16)
        if i % 4 == 0:
            simdmax.attention(q, k, k, return_lse=True)
    gc.collect()
    grown = _rss_bytes() - before
    assert grown < 32 * 1024 * 1024, f"resident size grew by {grown} bytes over 10^5 calls"
    assert [sys.getrefcount(t) for t in (x, xf, q, k)] == refs


def test_a_tensor_output_that_cannot_be_allocated_is_a_simdmax_error(monkeypatch):
    import simdmax._arrays as arrays

    def fail(shape, dtype):
        raise MemoryError("std::bad_alloc")

    monkeypatch.setattr(arrays._core, "dlpack_empty", fail)
    with pytest.raises(simdmax.OutOfMemoryError) as e:
        simdmax.softmax(torch.ones(2, 3))
    assert isinstance(e.value, MemoryError) and e.value.status == 8
