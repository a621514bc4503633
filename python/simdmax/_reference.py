"""The long-double reference and ULP distances the tolerance report and the test suite measure against (the
definitions of the C suite: tests/reference.cc, tests/ulp.cc). np.longdouble is the x87 80-bit type on x86."""
import numpy as np

FLT_MIN = np.float32(np.finfo(np.float32).tiny)

# The bounds of tests/tolerances.h (README "Accuracy"): ULP of the output type against the exact result rounded to
# it. float32 outputs: softmax 2, log-softmax 1; f16/bf16 outputs: 1 for both.
SOFTMAX_MAX_ULP = 2
LOG_SOFTMAX_MAX_ULP = 1
HALF_OUTPUT_MAX_ULP = 1


def ref_softmax(x, axis=-1, log=False):
    """Softmax / log-softmax in long double from the exactly widened input. Log-softmax takes log(sum) as
    log(k) + log1p(rest / k), k the count at the max: next to the max the output is -log1p(rest), whose relative
    precision a rounded 1 + rest (~1e-19 absolute in long double) would lose."""
    xl = np.asarray(x).astype(np.longdouble)
    m = np.max(xl, axis=axis, keepdims=True)
    with np.errstate(invalid="ignore"):
        e = np.exp(xl - m)
    s = np.sum(e, axis=axis, keepdims=True)
    if not log:
        with np.errstate(invalid="ignore", divide="ignore"):
            return e / s
    at_max = xl == m
    k = np.sum(at_max, axis=axis, keepdims=True).astype(np.longdouble)
    rest = np.sum(np.where(at_max, 0, e), axis=axis, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        log_s = np.where(k > 0, np.log(k) + np.log1p(rest / np.where(k > 0, k, 1)), np.log(s))
        return xl - m - log_s


def bf16_to_f32(bits):
    """bfloat16 bit patterns (uint16) to their exact float32 values."""
    return (np.asarray(bits, np.uint16).astype(np.uint32) << 16).view(np.float32)


def f32_to_bf16(x):
    """float32 to bfloat16 bits, round to nearest even (NaN stays NaN)."""
    b = np.asarray(x, np.float32).view(np.uint32).astype(np.uint64)
    r = ((b + 0x7FFF + ((b >> 16) & 1)) >> 16).astype(np.uint16)
    return np.where(np.isnan(x), np.uint16(0x7FC0), r)


def round_to(ref, kind):
    """The exact values rounded to the output type: 'f32', 'f16' (float16 array) or 'bf16' (uint16 bits). bf16 goes
    through float64 and picks the nearer of the two neighbours (ties to even), so no float32 double rounding."""
    r64 = np.asarray(ref).astype(np.float64)
    if kind == "f32":
        return r64.astype(np.float32)
    if kind == "f16":
        with np.errstate(over="ignore"):  # beyond 65504 the correct rounding is inf
            return r64.astype(np.float16)
    lo = (r64.astype(np.float32).view(np.uint32) & np.uint32(0xFFFF0000)).view(np.float32)  # toward zero
    lo_bits = (lo.view(np.uint32) >> 16).astype(np.uint16)
    hi_bits = (lo_bits.astype(np.uint32) + 1).astype(np.uint16)
    lo64, hi64 = bf16_to_f32(lo_bits).astype(np.float64), bf16_to_f32(hi_bits).astype(np.float64)
    dlo, dhi = np.abs(r64 - lo64), np.abs(hi64 - r64)
    pick_hi = (dhi < dlo) | ((dhi == dlo) & (lo_bits & 1 == 1))
    out = np.where(pick_hi & np.isfinite(r64), hi_bits, lo_bits)
    return np.where(np.isnan(r64), np.uint16(0x7FC0), np.where(np.isinf(r64), f32_to_bf16(r64), out))


def _ordered(bits, width):
    """Sign-magnitude bit patterns as integers in value order (+0 and -0 both 0)."""
    i = bits.astype(np.int64)
    sign = np.int64(1) << (width - 1)
    return np.where(i & sign, -(i & (sign - 1)), i)


def ulp_distance(got, ref, kind=None):
    """ULP distance of got from ref rounded to got's type; 0 where both are the same (NaN and NaN, inf and inf).
    got: float32 or float16 array, or uint16 bfloat16 bits with kind='bf16'."""
    got = np.asarray(got)
    kind = kind or {np.dtype(np.float32): "f32", np.dtype(np.float16): "f16"}[got.dtype]
    r = round_to(ref, kind)
    if kind == "f32":
        gb, rb, w = got.view(np.uint32), r.view(np.uint32), 32
        gv, rv = got, r
    elif kind == "f16":
        gb, rb, w = got.view(np.uint16), r.view(np.uint16), 16
        gv, rv = got, r
    else:
        gb, rb, w = got.astype(np.uint16), r.astype(np.uint16), 16
        gv, rv = bf16_to_f32(gb), bf16_to_f32(rb)
    d = np.abs(_ordered(gb, w) - _ordered(rb, w))
    same = (np.isnan(gv) & np.isnan(rv)) | (gv == rv)
    return np.where(same, 0, d)


def max_ulp(got, ref, log, kind=None):
    """The measured quantity of the contract: max ULP, where exact values below FLT_MIN in float32 and bfloat16
    outputs (bfloat16 has float32's exponent range) count as met within FLT_MIN absolute (the kernels may flush
    them to zero; tests/ulp.cc's allowance)."""
    d = ulp_distance(got, ref, kind)
    got = np.asarray(got)
    if kind == "bf16" or got.dtype == np.float32:
        g = bf16_to_f32(got) if kind == "bf16" else got
        r = np.asarray(ref).astype(np.longdouble)
        with np.errstate(invalid="ignore"):
            tiny = (np.abs(r) < FLT_MIN) & (np.abs(g.astype(np.longdouble) - r) <= FLT_MIN)
        d = np.where(tiny, 0, d)
    return int(d.max()) if d.size else 0


def bound(log, out_kind):
    if out_kind != "f32":
        return HALF_OUTPUT_MAX_ULP
    return LOG_SOFTMAX_MAX_ULP if log else SOFTMAX_MAX_ULP
