"""simdmax against PyTorch, both measured against the exact value: the long-double reference for softmax and
log-softmax, attention in float64 from the same (exactly widened) inputs. Each case asserts that simdmax meets
its C contract and PyTorch's own tolerance for the dtype (torch.testing.assert_close's defaults, against the exact
value), and records both errors; the table (max ULP of the output type, the fraction of correctly rounded
outputs, where simdmax is closer) is printed at the end of the run and written to torch_comparison.md in the
working directory (build/python when run by scripts/test.sh). Attention asserts its C bound and PyTorch's
tolerance the same way against a float64 evaluation of the formula."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import simdmax  # noqa: E402
from conftest import max_ulp, ref_softmax  # noqa: E402
from simdmax._reference import bound, ulp_distance  # noqa: E402

REPORT = {"rows": [], "attention": []}  # the comparison tables, printed by conftest.pytest_terminal_summary

KIND = {torch.float32: "f32", torch.float16: "f16", torch.bfloat16: "bf16"}
# torch.testing.assert_close's default (rtol, atol) per dtype: the tolerance PyTorch's own tests hold its kernels to.
TORCH_TOL = {torch.float32: (1.3e-6, 1e-5), torch.float16: (1e-3, 1e-5), torch.bfloat16: (1.6e-2, 1e-5)}


def _bits(t):
    """What max_ulp takes: float32/float16 arrays, or bfloat16 as uint16 bit patterns with kind 'bf16'."""
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().view(np.uint16), "bf16"
    return t.numpy(), None


def _torch_op(op, x):
    """PyTorch's CPU kernel in x's dtype; 1.13 has no CPU softmax for float16, so there, as a user would, in
    float32 rounded to float16 (said in the table)."""
    try:
        return op(x, dim=-1), ""
    except RuntimeError:
        return op(x.to(torch.float32), dim=-1).to(x.dtype), " (torch via f32)"


def _errors(y, exact, log):
    got, kind = _bits(y)
    d = ulp_distance(got, exact, kind)
    return max_ulp(got, exact, log, kind=kind), float((d == 0).mean()), d


@pytest.mark.parametrize("dt", [torch.float32, torch.float16, torch.bfloat16])
@pytest.mark.parametrize("log", [False, True])
@pytest.mark.parametrize("shape,scale", [((256, 64), 4.0), ((64, 1000), 4.0), ((4, 32000), 10.0)])
def test_against_torch_and_the_exact_value(dt, log, shape, scale):
    g = torch.Generator().manual_seed(shape[1])
    x = (torch.randn(*shape, generator=g) * scale).to(dt)
    exact = ref_softmax(x.to(torch.float32).numpy(), log=log)
    op_name = "log_softmax" if log else "softmax"
    ours = (simdmax.log_softmax if log else simdmax.softmax)(x)
    theirs, note = _torch_op(torch.log_softmax if log else torch.softmax, x)
    our_ulp, our_cr, our_d = _errors(ours, exact, log)
    their_ulp, their_cr, their_d = _errors(theirs, exact, log)
    # simdmax's contract, and PyTorch's own tolerance for the dtype against the exact value.
    assert our_ulp <= bound(log, KIND[dt])
    rtol, atol = TORCH_TOL[dt]
    torch.testing.assert_close(ours.to(torch.float64), torch.from_numpy(exact.astype(np.float64)).to(torch.float64),
                               rtol=rtol, atol=atol)
    closer = float((our_d < their_d).mean())
    farther = float((our_d > their_d).mean())
    REPORT["rows"].append(f"| {op_name} | {str(dt)[6:]}{note} | {shape[0]}×{shape[1]} | {our_ulp} | {their_ulp} | "
                          f"{100 * our_cr:.3f}% | {100 * their_cr:.3f}% | {100 * closer:.3f}% / "
                          f"{100 * farther:.3f}% |")


@pytest.mark.parametrize("dt", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("causal", [False, True])
def test_attention_against_naive_torch_and_float64(dt, causal):
    g = torch.Generator().manual_seed(7)
    h, kvh, nq, nk, d = 8, 2, 16, 512, 64
    q = torch.randn(h, nq, d, generator=g).to(dt)
    k = torch.randn(kvh, nk, d, generator=g).to(dt)
    v = torch.randn(kvh, nk, d, generator=g).to(dt)
    ours = simdmax.attention(q, k, v, causal=causal)

    def naive(q, k, v):  # what an engine without a fused kernel does: scores, softmax, weighted sum
        k, v = k.repeat_interleave(h // kvh, 0), v.repeat_interleave(h // kvh, 0)
        s = q @ k.transpose(1, 2) / d ** 0.5
        if causal:
            pos = torch.arange(nq)[:, None] + nk - nq
            s = s.masked_fill(torch.arange(nk)[None, :] > pos, float("-inf"))
        return torch.softmax(s, -1) @ v

    exact = naive(*(t.to(torch.float64) for t in (q, k, v)))
    theirs = naive(*(t.to(torch.float32) for t in (q, k, v))).to(dt)  # PyTorch computing in f32, as a user would
    vmax = float(v.to(torch.float64).abs().max())
    our_err = float((ours.to(torch.float64) - exact).abs().max()) / vmax
    their_err = float((theirs.to(torch.float64) - exact).abs().max()) / vmax
    # The C contract: 3e-6 max|v| plus, for a bf16 output, 1 ulp of bf16 (at most 2^-7 relative).
    half = 0 if dt == torch.float32 else 2 ** -7
    limit = 3e-6 * vmax + exact.abs() * half
    assert bool(((ours.to(torch.float64) - exact).abs() <= limit).all())
    # and PyTorch's own tolerance for the dtype against the exact value, as for the rows above
    rtol, atol = TORCH_TOL[dt]
    torch.testing.assert_close(ours.to(torch.float64), exact, rtol=rtol, atol=atol)
    REPORT["attention"].append(f"| {'causal' if causal else 'dense'} | {str(dt)[6:]} | {h}/{kvh} heads, {nq}×{nk}, "
                               f"d {d} | {our_err:.2e} | {their_err:.2e} |")
