"""attention / attention_batch: simdmax_attention and simdmax_attention_batch over NumPy arrays and tensors."""
import numpy as np

from . import _core
from ._arrays import F32, as_array, empty_like_kind, result_for
from ._errors import ArgumentError, ShapeError, check


def _inner_contiguous(xa, role, ndim):
    if xa.a.ndim != ndim:
        raise ShapeError(f"attention: {role} must have {ndim} dimensions, got shape {tuple(xa.a.shape)}")
    a = xa.a
    if a.shape[-1] > 1 and a.strides[-1] != a.itemsize or any(s < 0 for s in a.strides):
        a = np.ascontiguousarray(a)  # the C API takes element strides with a unit inner one
    return a


def _addr(a):
    return a.__array_interface__["data"][0]


def _estrides(a):
    return [s // a.itemsize for s in a.strides]


def _f32_vector(x, role, n):
    a = np.ascontiguousarray(np.asarray(x, dtype=np.float32)).reshape(-1)
    if a.size != n:
        raise ShapeError(f"attention: {role} must hold {n} values, got {a.size}")
    return a


def _prepare(q, k, v, causal=False, scale=None, window=0, softcap=0.0, alibi_slopes=None, mask=None, sinks=None,
             block_table=None, block_size=0, n_keys=None, return_lse=False, out=None, dtype=None):
    """The args dict of one call, the arrays it points into (kept alive by the caller) and the results."""
    qa, ka, va = as_array(q, role="q"), as_array(k, role="k"), as_array(v, role="v")
    if ka.dtype != va.dtype:
        raise ArgumentError("attention: k and v must have the same dtype")
    qs = _inner_contiguous(qa, "q", 3)
    n_heads, n_queries, head_dim = qs.shape
    keep = [qa, ka, va, qs]
    args = dict(q=_addr(qs), q_type=qa.dtype, kv_type=ka.dtype, n_heads=n_heads, n_queries=n_queries,
                head_dim=head_dim, q_head_stride=_estrides(qs)[0], q_row_stride=_estrides(qs)[1],
                causal=int(bool(causal)), window=int(window), softcap=float(softcap),
                scale=0.0 if scale is None else float(scale))
    if block_table is None:
        ks, vs = _inner_contiguous(ka, "k", 3), _inner_contiguous(va, "v", 3)
        if ks.shape != vs.shape:
            raise ShapeError(f"attention: k {tuple(ks.shape)} and v {tuple(vs.shape)} differ")
        n_kv_heads, keys, kd = ks.shape
        if n_keys is not None and n_keys != keys:
            raise ShapeError("attention: n_keys is only for paged K/V (it is k.shape[1] otherwise)")
        args.update(k_head_stride=_estrides(ks)[0], k_row_stride=_estrides(ks)[1],
                    v_head_stride=_estrides(vs)[0], v_row_stride=_estrides(vs)[1])
    else:
        # Paged: pools [n_blocks, block_size, n_kv_heads, head_dim] (vLLM's layout), key j in block
        # block_table[j // block_size], row j % block_size.
        ks, vs = _inner_contiguous(ka, "k", 4), _inner_contiguous(va, "v", 4)
        if ks.shape != vs.shape:
            raise ShapeError(f"attention: k {tuple(ks.shape)} and v {tuple(vs.shape)} differ")
        n_blocks, bs, n_kv_heads, kd = ks.shape
        if block_size not in (0, bs):
            raise ShapeError(f"attention: block_size {block_size} differs from the pools' {bs}")
        bt = np.ascontiguousarray(np.asarray(block_table, dtype=np.int32)).reshape(-1)
        keep.append(bt)
        keys = bt.size * bs if n_keys is None else int(n_keys)
        if keys > bt.size * bs:
            raise ShapeError(f"attention: {keys} keys need more than the block table's {bt.size} blocks")
        ke, ve = _estrides(ks), _estrides(vs)
        args.update(block_table=_addr(bt), block_size=bs, n_blocks=n_blocks, k_block_stride=ke[0],
                    k_row_stride=ke[1], k_head_stride=ke[2], v_block_stride=ve[0], v_row_stride=ve[1],
                    v_head_stride=ve[2])
    if kd != head_dim:
        raise ShapeError(f"attention: q has head_dim {head_dim}, k/v {kd}")
    keep += [ks, vs]
    args.update(k=_addr(ks), v=_addr(vs), n_kv_heads=n_kv_heads, n_keys=keys)
    if alibi_slopes is not None:
        a = _f32_vector(alibi_slopes, "alibi_slopes", n_heads)
        keep.append(a)
        args["alibi_slopes"] = _addr(a)
    if sinks is not None:
        a = _f32_vector(sinks, "sinks", n_heads)
        keep.append(a)
        args["sinks"] = _addr(a)
    if mask is not None:
        ma = as_array(mask, role="mask")
        m = ma.a
        if m.ndim == 2:
            m = m[None]
        if m.ndim != 3 or m.shape[1:] != (n_queries, keys) or m.shape[0] not in (1, n_heads):
            raise ShapeError(f"attention: mask must be [n_queries, n_keys] or [n_heads, n_queries, n_keys] = "
                             f"[{n_heads}, {n_queries}, {keys}], got {tuple(ma.a.shape)}")
        if m.shape[-1] > 1 and m.strides[-1] != m.itemsize or any(s < 0 for s in m.strides):
            m = np.ascontiguousarray(m)
        me = _estrides(m)
        keep += [ma, m]
        args.update(mask=_addr(m), mask_type=ma.dtype, mask_head_stride=me[0] if m.shape[0] > 1 else 0,
                    mask_row_stride=me[1])
    shape = (n_heads, n_queries, head_dim)
    oa = result_for(qa, shape, out, dtype, "attention")
    os_ = oa.a
    direct = not (os_.shape[-1] > 1 and os_.strides[-1] != os_.itemsize or any(s < 0 for s in os_.strides))
    if not direct:
        os_ = np.empty(shape, oa.a.dtype)
    oe = _estrides(os_)
    args.update(out=_addr(os_), out_type=oa.dtype, out_head_stride=oe[0], out_row_stride=oe[1])
    lse = None
    if return_lse:
        lse = empty_like_kind(qa, (n_heads, n_queries), F32)
        args["lse"] = _addr(lse.a)
    keep += [oa, os_]
    return args, keep, (oa, os_, direct, lse)


def _finish(result, return_lse):
    oa, os_, direct, lse = result
    if not direct:
        np.copyto(oa.a, os_)
    return (oa.obj, lse.obj) if return_lse else oa.obj


def attention(q, k, v, *, causal=False, scale=None, window=0, softcap=0.0, alibi_slopes=None, mask=None, sinks=None,
              block_table=None, block_size=0, n_keys=None, return_lse=False, out=None, dtype=None):
    """Scaled dot-product attention (simdmax_attention): out[h, i] = sum_j softmax_j(s_ij) v[h // g, j].

    q: [n_heads, n_queries, head_dim]; k, v: [n_kv_heads, n_keys, head_dim] (n_kv_heads divides n_heads: GQA), or
    with block_table (int32, one pool block per block_size keys) pools [n_blocks, block_size, n_kv_heads, head_dim]
    and n_keys (default len(block_table) * block_size). float32/float16/bfloat16 each (k and v alike); NumPy or
    DLPack, any strides with a unit last one (else copied). s_ij = scale * q.k (scale None: 1/sqrt(head_dim)), then
    softcap * tanh(s / softcap) if softcap > 0, + alibi_slopes[h] * (j - p_i), + mask[(h,) i, j] (float mask of
    [n_queries, n_keys] broadcast to every head, or [n_heads, n_queries, n_keys]). Query i sits at position
    p_i = i + n_keys - n_queries; causal hides j > p_i, window > 0 hides keys window or more positions away; sinks
    (n_heads logits) join the denominator. A query that sees no key gets 0 (lse -inf, or the sink).
    Returns out ([n_heads, n_queries, head_dim], q's kind, dtype default q's), and with return_lse also lse
    ([n_heads, n_queries] float32, natural log). Accuracy and errors: the C contract (README, "Attention for
    engines"). The GIL is released while it runs."""
    args, keep, result = _prepare(q, k, v, causal=causal, scale=scale, window=window, softcap=softcap,
                                  alibi_slopes=alibi_slopes, mask=mask, sinks=sinks, block_table=block_table,
                                  block_size=block_size, n_keys=n_keys, return_lse=return_lse, out=out, dtype=dtype)
    check(_core.attention_batch([args]), "attention")
    del keep
    return _finish(result, return_lse)


def attention_batch(calls):
    """Several independent attention calls (a decode batch of sequences, each a dict of attention()'s keyword
    arguments with q, k and v) scheduled together by simdmax_attention_batch: every call is validated before
    anything is written. Returns a list of attention()'s results, in order."""
    prepared = []
    for c in calls:
        c = dict(c)
        prepared.append((_prepare(c.pop("q"), c.pop("k"), c.pop("v"), **c), c.get("return_lse", False)))
    check(_core.attention_batch([args for (args, _, _), _ in prepared]), "attention_batch")
    return [_finish(result, return_lse) for (_, _, result), return_lse in prepared]
