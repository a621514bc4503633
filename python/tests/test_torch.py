"""DLPack producers: PyTorch tensors (float32, float16, bfloat16) in, tensors of the same dtype out, zero-copy,
checked against the long-double reference and against torch's own float64 softmax."""
import numpy as np
import pytest

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
