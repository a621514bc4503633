"""The tolerance report from Python: `python3 -m simdmax.tolerance [--quick] [--json] [--check]`.

What a CI system runs to check simdmax on its own CPU: softmax and log-softmax for every pair of input/output types
(f32, f16, bf16), several row lengths and every target this CPU runs, each measured as the max ULP of the output
type against the long-double reference rounded to it (simdmax/_reference.py, the C suite's definitions), beside
the bound of tests/tolerances.h. --check exits with status 1 when an entry exceeds its bound; --json prints the
entries as JSON instead of the table. The C twin is build/release/tests/simdmax_tolerance_report.
"""
import argparse
import json
import sys

import numpy as np

from . import _core
from ._errors import check
from ._reference import bf16_to_f32, bound, f32_to_bf16, max_ulp, ref_softmax
from ._targets import select_target, targets

_KINDS = {"f32": (_core.F32, np.float32), "f16": (_core.F16, np.float16), "bf16": (_core.BF16, np.uint16)}
PAIRS = [("f32", "f32"), ("f16", "f16"), ("bf16", "bf16"), ("f32", "f16"), ("f32", "bf16"), ("f16", "f32"),
         ("bf16", "f32")]


def _inputs(kind, rows, cols, seed):
    """Random logits of a few scales (N(0, 1), N(0, 30), a wide uniform row) in the input type; returns the stored
    array and its exact float32 values."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((rows, cols)) * np.array([1, 30, 300][:rows] + [5] * max(0, rows - 3))[:, None]
    x32 = x.astype(np.float32)
    if kind == "f16":
        stored = x32.astype(np.float16)
        return stored, stored.astype(np.float32)
    if kind == "bf16":
        stored = f32_to_bf16(x32)
        return stored, bf16_to_f32(stored)
    return x32, x32


def measure(target, op, x_kind, y_kind, cols, rows=3, seed=1):
    log = op == "log_softmax"
    stored, exact = _inputs(x_kind, rows, cols, seed + cols)
    y = np.empty((rows, cols), _KINDS[y_kind][1])
    with select_target(target):
        status = _core.rows(log, rows, cols, _KINDS[x_kind][0], stored.__array_interface__["data"][0], cols,
                            _KINDS[y_kind][0], y.__array_interface__["data"][0], cols)
    check(status, op)
    ref = ref_softmax(exact, log=log)
    return max_ulp(y, ref, log, kind=y_kind if y_kind == "bf16" else None)


def report(quick=False):
    lengths = [1, 7, 64, 256, 1000, 4097] if quick else [1, 7, 64, 256, 1000, 4097, 32000, 128000]
    entries = []
    for target in targets():
        for op in ("softmax", "log_softmax"):
            for x_kind, y_kind in PAIRS:
                for cols in lengths:
                    ulp = measure(target, op, x_kind, y_kind, cols)
                    entries.append(dict(target=target, op=op, x=x_kind, y=y_kind, cols=cols, max_ulp=ulp,
                                        bound=bound(op == "log_softmax", y_kind)))
    return entries


def main(argv=None):
    p = argparse.ArgumentParser(prog="python3 -m simdmax.tolerance", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="rows up to 4097 elements")
    p.add_argument("--json", action="store_true", help="print the entries as JSON")
    p.add_argument("--check", action="store_true", help="exit 1 when an entry exceeds its bound")
    args = p.parse_args(argv)
    entries = report(args.quick)
    over = [e for e in entries if e["max_ulp"] > e["bound"]]
    if args.json:
        print(json.dumps(dict(version=_core.version(), entries=entries), indent=1))
    else:
        print(f"simdmax {_core.version()}: max ULP of the output type against the long-double reference")
        print("| target | op | x -> y | " + " | ".join(str(c) for c in sorted({e['cols'] for e in entries})) +
              " | bound |")
        keys = []
        for e in entries:
            k = (e["target"], e["op"], e["x"], e["y"])
            if k not in keys:
                keys.append(k)
        for k in keys:
            row = [e for e in entries if (e["target"], e["op"], e["x"], e["y"]) == k]
            print(f"| {k[0]} | {k[1]} | {k[2]} -> {k[3]} | " + " | ".join(str(e["max_ulp"]) for e in row) +
                  f" | {row[0]['bound']} |")
        print(f"{len(entries)} entries, {len(over)} over their bound")
    if args.check and over:
        for e in over:
            print(f"over the bound: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
