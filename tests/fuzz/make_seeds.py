#!/usr/bin/env python3
"""Writes the hand-made seeds of tests/fuzz/corpus* (regression inputs for known bugs, and starting points that
reach the long-row and split-K paths at once), by encoding the values the harnesses consume in order.

FuzzedDataProvider takes integers from the END of the input, most significant byte first, ceil(bits(range) / 8)
bytes per ConsumeIntegralInRange (none for an empty range), and returns min + value % (range + 1). So a seed is the
reversed list of those bytes. The field lists below follow the consumption order of each harness: when a harness
changes the order, update its list here and rerun `python3 tests/fuzz/make_seeds.py` (the seed replay ctests,
<name>_fuzzer_seed_corpus, then tell whether the seeds still mean what their names say only through the harness
checks, so keep the names descriptive).
"""
import os

HERE = os.path.dirname(os.path.abspath(__file__))

# FuzzValue special indices (tests/fuzz/fuzz_common.h kSpecials).
NAN, INF, NEG_INF, FLT_MAX, NEG_FLT_MAX = 0, 1, 2, 3, 4


def encode(fields):
    """fields: (value, range) in consumption order; returns the seed bytes."""
    out = []
    for value, rng in fields:
        assert 0 <= value <= rng
        nbytes = (rng.bit_length() + 7) // 8
        out.extend(value.to_bytes(nbytes, "big") if nbytes else b"")
    return bytes(reversed(out))


def softmax_long_row(op, cols, fill, first):
    """One row of `cols` (1-3 chunks) of constant `fill` with x[0] = `first` (both FuzzValue specials)."""
    k = cols // 16384
    return encode([
        (op, 1),          # entry point: 0 softmax, 1 log-softmax
        (0, 255),         # target index 0 (the best)
        (0, 7),           # a status for simdmax_status_string
        (1, 4),           # threads
        (235, 255),       # shape: long rows
        (0, 1),           # rows - 1
        (k - 1, 2),       # chunks - 1
        (cols - 16384 * k + 8, 8200),
        (0, 6),           # layout: separate buffers
        (0, 6), (0, 6),   # x, y stride padding
        (0, 255),         # equal-strides bool
        (0, 0xFFFF),      # y offset (2 bytes for this span)
        (0, 3),           # FuzzRow base: constant
        (fill, 255),      # its FuzzValue kind
        (1, 3), (0, 2), (first, 255),  # chunk 0: one placement, at its first element
    ])


def online_long_row(cols, fill, first):
    k = cols // 16384
    return encode([
        (0, 255),                   # target index 0
        (235, 255),                 # shape: long rows
        (k - 1, 1), (cols - 16384 * k, 8000),
        (0, 3), (fill, 255),        # FuzzRow: constant fill
        (1, 3), (0, 2), (first, 255),
        (0, 3), (0, 3),             # no placements in the other chunks
        (0, 11),                    # one block
        (0, 255),                   # not in place
    ])


class Fields:
    """Values in consumption order, as FuzzedDataProvider reads them: r(value, lo, hi) for ConsumeIntegralInRange,
    byte() for ConsumeIntegral<uint8_t>, flag() for ConsumeBool, u32() for ConsumeIntegral<uint32_t>."""

    def __init__(self):
        self.fields = []

    def r(self, value, lo, hi):
        assert lo <= value <= hi, (value, lo, hi)
        self.fields.append((value - lo, hi - lo))
        return self

    def byte(self, value):
        return self.r(value, 0, 255)

    def flag(self, value):
        return self.byte(1 if value else 0)

    def u32(self, value):
        return self.r(value, 0, 2**32 - 1)

    def bytes(self):
        return encode(self.fields)


# tests/fuzz/attention_fuzzer.cc, simdmax_attention / simdmax_attention_batch: GenerateCall's consumption order.
F32, F16, BF16 = 0, 1, 2
GROUPS = [1, 2, 3, 4, 8]
BLOCK_SIZES = [16, 32, 64, 128, 256]
WORK_BUDGET = 1 << 18


def attention_layout(f, pad_inner=0, pad_outer=0, head_major=True):
    f.r(pad_inner, 0, 3).r(pad_outer, 0, 5).flag(head_major)


def attention_call(f, budget=WORK_BUDGET, shared=None, q_type=F32, out_type=F32, kv_type=F32, kv_heads=1, group=1,
                   queries=1, keys=16, split_k=False, dim=16, causal=False, window=None, scale_kind=0, softcap=None,
                   alibi=None, mask=None, sinks=None, lse=True, q_layout=(0, 0, True), out_layout=(0, 0, True),
                   kv=("contiguous",), pad=0, specials=(), seed=1):
    """One call as GenerateCall consumes it. The budget must not shrink it (asserted): the lists of per-head values
    need the final head count. mask: None or dict(kind="broadcast"|"head", type, hidden (0..4: 0, 1/16, 1/4, 3/4,
    1), row_pad, head_pad, tight). kv: ("contiguous", same) | ("strided", k_layout, v_layout, same) |
    ("paged", block_size, spare, repeat, trailing, row_major, same, k_pads, v_pads) | ignored when shared.
    window: None | ("small", w) | ("any", w) | "max" | ("chunk", w). softcap: None | "-0" | ("int", c) |
    ("frac", hundredths). sinks: per-head indices into the harness's kSinks (6 is 0.0, 12 is -1e30, 15 FLT_MAX).
    Returns what a later call that shares this one's K/V takes from it (kv heads, head_dim) and the head count."""
    f.r(q_type, 0, 2).r(out_type, 0, 2).r(kv_type, 0, 2).r(kv_heads, 1, 4).r(GROUPS.index(group), 0, 4)
    if shared is not None:
        kv_heads, dim = shared["kv_heads"], shared["dim"]
    heads = kv_heads * group
    if split_k:
        f.byte(200).r(queries, 1, 8).r(keys, 2048, 3100)
    elif keys == 0:
        f.byte(150).r(queries, 0, 9)
    elif queries <= 9 and keys <= 80:
        f.byte(0).r(queries, 0, 9).r(keys, 0, 80)
    else:
        f.byte(160).r(queries, 0, 40).r(keys, 0, 600)
    f.r(0, 0, 3).r(dim if shared is None else 1, 1, 160)  # dim_kind 0: any head_dim
    rows = max(1, heads * queries * max(keys, 1))
    assert rows * dim <= budget, "the harness would shrink this call"
    f.flag(causal)
    if window is None:
        f.r(0, 0, 7)
    elif window == "max":
        f.r(6, 0, 7)
    elif window[0] == "small":
        f.r(4, 0, 7).r(window[1], 1, 8)
    elif window[0] == "any":
        f.r(5, 0, 7).r(window[1], 1, keys + queries + 2)
    else:
        f.r(7, 0, 7).r(window[1], 1000, 1100)
    f.r(scale_kind, 0, 5)
    if softcap is None:
        f.r(0, 0, 7)
    elif softcap == "-0":
        f.r(5, 0, 7)
    elif softcap[0] == "int":
        f.r(6, 0, 7).r(softcap[1], 1, 50)
    else:
        f.r(7, 0, 7).r(softcap[1], 0, 999)
    if alibi is None:
        f.byte(255)
    else:
        assert len(alibi) == heads
        f.byte(0)
        for sixteenths in alibi:
            f.r(sixteenths, -16, 16)
    if mask is None:
        f.r(0, 0, 5)
    else:
        f.r(3 if mask["kind"] == "broadcast" else 4, 0, 5).r(mask.get("type", F32), 0, 2)
        f.r(mask.get("hidden", 2), 0, 4).r(mask.get("row_pad", 0), 0, 5)
        if queries <= 1:
            f.flag(False)
        if mask["kind"] != "broadcast":
            f.r(mask.get("head_pad", 0), 0, 5).flag(mask.get("tight", False))
    if sinks is None:
        f.byte(255)
    else:
        assert len(sinks) == heads
        f.byte(0)
        for index in sinks:
            f.r(index, 0, 15)
    f.r(3 if lse else 0, 0, 3)
    attention_layout(f, *q_layout)
    attention_layout(f, *out_layout)
    if shared is not None:
        f.r(2, 0, 3)  # the kv layout byte, unused
    elif kv[0] == "contiguous":
        f.r(0, 0, 3).r(0 if (len(kv) > 1 and kv[1]) else 1, 0, 7)
    elif kv[0] == "strided":
        f.r(1, 0, 3)
        attention_layout(f, *kv[1])
        attention_layout(f, *kv[2])
        f.r(0 if kv[3] else 1, 0, 7)
    else:
        _, block_size, spare, repeat, trailing, row_major, same, k_pads, v_pads = kv
        f.r(2, 0, 3)
        if block_size in BLOCK_SIZES:
            f.r(1, 0, 3).r(BLOCK_SIZES.index(block_size), 0, 4)
        else:
            f.r(2, 0, 3).r(block_size, 1, 300)
        f.r(spare, 0, 3).r(0 if repeat else 1, 0, 7).r(trailing, 0, 2).flag(row_major).r(0 if same else 1, 0, 7)
        for pads in (k_pads, v_pads):
            f.r(pads[0], 0, 3).r(pads[1], 0, 3).r(pads[2], 0, 5)
    f.r(1, 0, 3)  # no junk
    f.r(pad, 0, 2)  # 0: 0x00, 1: 0xFF (NaN), 2: 0x7B
    if specials:
        f.r(0, 0, 15).flag(len(specials) == 2)
        for tensor, kind, position in specials:
            f.r(tensor, 0, 3).r(kind, 0, 2).u32(position)
    else:
        f.r(15, 0, 15)
    f.u32(seed)
    return {"kv_heads": kv_heads, "dim": dim, "heads": heads}


DEFECTS = ["none", "null args", "null q", "null out", "null k", "null v", "bad type", "zero kv heads",
           "kv heads not dividing", "zero head_dim", "scale not finite", "softcap not finite", "softcap < 0",
           "block_size 0", "n_blocks 0", "table entry out of range", "ALiBi slope not finite", "sink not finite",
           "small stride", "span overflow", "address wrap", "overlap"]


def attention_defect(f, batch, name=None):
    """The defect roll after a call (no defect, or the defect's index; its details follow from the caller)."""
    if name is None:
        f.byte(0)
    else:
        f.byte(255).r(DEFECTS.index(name), 1, len(DEFECTS) - 1)


def attention_engine(batch, calls, target=0, threads=2, cross=None, count_byte=None):
    """A whole input: calls = list of (call kwargs, defect name or None, defect detail fields as (value, lo, hi)),
    with "shared": True in a batch call's kwargs to read call 0's K/V. cross = (writer, other_offset, lse, pick,
    where) for an out/lse of one call inside another's tensors."""
    f = Fields().byte(target).r(threads, 0, 4).byte(200 if batch else 100)
    n = len(calls)
    if batch:
        f.byte(count_byte if count_byte is not None else 8 + (n - 1))  # 1 + count % 4 == n for counts 8..11
    budget = WORK_BUDGET // max(n, 1)
    first = None
    for c, (kwargs, defect, detail) in enumerate(calls):
        kwargs = dict(kwargs)
        shared = kwargs.pop("shared", False)
        if batch and c > 0:
            f.r(0 if shared else 1, 0, 3)
        info = attention_call(f, budget=budget, shared=first if shared else None, **kwargs)
        if c == 0:
            first = info
        attention_defect(f, batch, defect)
        for value, lo, hi in detail:
            f.r(value, lo, hi)
    if batch and n > 1:
        if cross is None:
            f.byte(0)
        else:
            writer, other_offset, lse, pick, where = cross
            f.byte(255).r(writer, 0, n - 1).r(other_offset, 0, n - 2).flag(lse).byte(pick).r(where, 0, 2)
    return f.bytes()


SEEDS = {
    # Issue 12's NaN bug: log-softmax of a row of 40000 with x[0] = FLT_MAX and -FLT_MAX elsewhere returned NaN
    # (the finish subtracted the row max from a chunk that had taken the unmasked exp path).
    "corpus/issue12_log_softmax_40000_flt_max": softmax_long_row(1, 40000, NEG_FLT_MAX, FLT_MAX),
    "corpus/issue12_softmax_40000_flt_max": softmax_long_row(0, 40000, NEG_FLT_MAX, FLT_MAX),
    "corpus/long_row_neg_inf_fill": softmax_long_row(1, 32776, NEG_INF, FLT_MAX),
    "corpus_online/issue12_row_40000_flt_max": online_long_row(40000, NEG_FLT_MAX, FLT_MAX),
    # simdmax_attention / simdmax_attention_batch (tests/fuzz/attention_fuzzer.cc): starting points on the paths a
    # random input reaches rarely. SIMDMAX_FUZZ_DUMP=1 simdmax_attention_fuzzer FILE prints the calls.
    # Split-K decode (2 queries, 3000 keys) over a paged f16 pool (block_size 256, shuffled table, spare blocks,
    # unread trailing entries), bf16 q, f16 out, GQA 2:1, causal, ALiBi and sinks (1 and -1e30).
    "corpus_attention/engine_split_k_paged_f16_alibi_sinks": attention_engine(False, [(dict(
        q_type=BF16, kv_type=F16, out_type=F16, kv_heads=1, group=2, queries=2, keys=3000, split_k=True, dim=21,
        causal=True, alibi=[16, -8], sinks=[8, 12], q_layout=(1, 2, False), out_layout=(2, 1, True),
        kv=("paged", 256, 2, False, 2, True, False, (1, 2, 3), (0, 1, 2)), seed=7), None, [])]),
    # Prefill over strided bf16 K/V: 8 heads on 2 kv heads, 9 queries x 80 keys, a per-head f16 mask (1/4 -inf),
    # a window of 20, soft-cap 5, NaN padding.
    "corpus_attention/engine_prefill_head_mask_window_softcap": attention_engine(False, [(dict(
        q_type=F16, kv_type=BF16, out_type=BF16, kv_heads=2, group=4, queries=9, keys=80, dim=32,
        window=("any", 20), softcap=("int", 5), mask=dict(kind="head", type=F16, hidden=2, row_pad=3, head_pad=2),
        q_layout=(1, 2, False), out_layout=(3, 0, True), kv=("strided", (1, 1, False), (2, 3, True), False), pad=1,
        seed=11), None, [])]),
    # A decode batch: call 0 split-K over a paged pool (block_size 16), call 1 split-K over call 0's pool through
    # its own table, call 2 a typed causal prefill with a broadcast bf16 mask, call 3 without keys (sinks 0,
    # FLT_MAX, 30: out 0, lse = the sink).
    "corpus_attention/engine_batch_decode_shared_pool": attention_engine(True, [
        (dict(kv_heads=1, group=1, queries=1, keys=2100, split_k=True, dim=31,
              kv=("paged", 16, 1, False, 0, False, False, (0, 0, 0), (1, 0, 2)), seed=3), None, []),
        (dict(shared=True, group=1, queries=1, keys=2048, split_k=True, seed=4), None, []),
        (dict(q_type=BF16, out_type=F16, kv_heads=2, group=2, queries=9, keys=40, dim=32, causal=True,
              mask=dict(kind="broadcast", type=BF16, hidden=1), seed=5), None, []),
        (dict(kv_heads=1, group=3, queries=3, keys=0, dim=8, sinks=[6, 15, 13], seed=6), None, []),
    ]),
    # A batch of two whose call 1 writes out onto call 0's last q element: OVERLAP, nothing written.
    "corpus_attention/engine_batch_cross_overlap": attention_engine(True, [
        (dict(kv_heads=1, group=2, queries=3, keys=10, dim=8, seed=8), None, []),
        (dict(kv_heads=1, group=1, queries=2, keys=5, dim=8, seed=9), None, []),
    ], cross=(1, 0, False, 0, 2)),
    # One defect each: a table entry INT32_MIN (6 entries of block_size 7 for 40 keys), and a q row stride whose
    # span fits in size_t but wraps the address space (INVALID_SHAPE).
    "corpus_attention/engine_defect_table_entry": attention_engine(False, [(dict(
        kv_heads=1, group=2, queries=2, keys=40, dim=8, kv=("paged", 7, 1, False, 1, True, False, (0, 0, 0),
                                                          (0, 0, 0)), seed=12),
        "table entry out of range", [(5, 0, 5), (3, 0, 4)])]),
    "corpus_attention/engine_defect_address_wrap": attention_engine(False, [(dict(
        kv_heads=1, group=2, queries=3, keys=10, dim=8, seed=13), "address wrap", [(1, 0, 255)])]),
    # Every key hidden by a broadcast mask of -inf, window SIZE_MAX, sinks: out exactly 0, lse exactly the sink.
    "corpus_attention/engine_mask_all_hidden_sinks": attention_engine(False, [(dict(
        kv_heads=2, group=2, queries=4, keys=30, dim=16, window="max", mask=dict(kind="broadcast", hidden=4),
        sinks=[0, 14, 7, 3], seed=14), None, [])]),
    # An empty batch with args NULL: OK.
    "corpus_attention/engine_empty_batch": Fields().byte(0).r(2, 0, 4).byte(200).byte(0).flag(True).bytes(),
}

if __name__ == "__main__":
    for name, data in SEEDS.items():
        with open(os.path.join(HERE, name), "wb") as f:
            f.write(data)
        print(f"{name}: {len(data)} bytes")
