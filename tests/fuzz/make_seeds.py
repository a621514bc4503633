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


SEEDS = {
    # Issue 12's NaN bug: log-softmax of a row of 40000 with x[0] = FLT_MAX and -FLT_MAX elsewhere returned NaN
    # (the finish subtracted the row max from a chunk that had taken the unmasked exp path).
    "corpus/issue12_log_softmax_40000_flt_max": softmax_long_row(1, 40000, NEG_FLT_MAX, FLT_MAX),
    "corpus/issue12_softmax_40000_flt_max": softmax_long_row(0, 40000, NEG_FLT_MAX, FLT_MAX),
    "corpus/long_row_neg_inf_fill": softmax_long_row(1, 32776, NEG_INF, FLT_MAX),
    "corpus_online/issue12_row_40000_flt_max": online_long_row(40000, NEG_FLT_MAX, FLT_MAX),
}

if __name__ == "__main__":
    for name, data in SEEDS.items():
        with open(os.path.join(HERE, name), "wb") as f:
            f.write(data)
        print(f"{name}: {len(data)} bytes")
