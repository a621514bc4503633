#!/usr/bin/env python3
"""Summarises simdmax_bench JSON (Google Benchmark) as Markdown tables. Standard library only.

    bench/summarize.py RESULT.json [MORE.json ...] [--merged-out FILE] [--md-out FILE]

Several inputs are merged (scripts/bench.sh runs the PyTorch benchmarks a second time with
ATEN_CPU_CAPABILITY=avx512); --merged-out writes the merged JSON. Benchmark names follow
<op>/<impl>/<rows>x<cols>/threads:<n>[/real_time] (bench/common.h). Throughput is the median over repetitions of
items_per_second (elements/s), printed in Gelem/s.
"""
import argparse
import json
import statistics
import sys
from collections import defaultdict

OPS = ("softmax", "log_softmax")


def parse_name(run_name):
    parts = run_name.split("/")
    if len(parts) < 4 or not parts[3].startswith("threads:"):
        return None
    rows, cols = parts[2].split("x")
    return parts[0], parts[1], (int(rows), int(cols)), int(parts[3][len("threads:"):])


def load(paths):
    merged = None
    for path in paths:
        with open(path) as f:
            data = json.load(f)
        if merged is None:
            merged = data
        else:
            merged["benchmarks"].extend(data.get("benchmarks", []))
    return merged


def medians(data):
    """{(op, impl, shape, threads): median Gelem/s} from iteration runs (aggregates only as a fallback)."""
    samples = defaultdict(list)
    aggregate_medians = {}
    for b in data.get("benchmarks", []):
        if b.get("error_occurred") or "items_per_second" not in b:
            continue
        key = parse_name(b.get("run_name", b["name"]))
        if key is None:
            continue
        gelem = b["items_per_second"] / 1e9
        if b.get("run_type", "iteration") == "iteration":
            samples[key].append(gelem)
        elif b.get("aggregate_name") == "median":
            aggregate_medians[key] = gelem
    result = {k: statistics.median(v) for k, v in samples.items()}
    for k, v in aggregate_medians.items():
        result.setdefault(k, v)
    return result, {k: len(v) for k, v in samples.items()}


def spreads(data):
    """{key: (max - min) / median} over the repetitions of each benchmark (only where there are >= 2)."""
    samples = defaultdict(list)
    for b in data.get("benchmarks", []):
        if b.get("error_occurred") or "items_per_second" not in b or b.get("run_type", "iteration") != "iteration":
            continue
        key = parse_name(b.get("run_name", b["name"]))
        if key is not None:
            samples[key].append(b["items_per_second"])
    return {k: (max(v) - min(v)) / statistics.median(v) for k, v in samples.items() if len(v) >= 2}


def largest_cache_bytes(ctx):
    sizes = [c.get("size", 0) for c in ctx.get("caches", [])]
    return max(sizes) if sizes else OUT_OF_CACHE_FALLBACK_BYTES


def in_cache(shape, ctx):
    return shape[0] * shape[1] * 8 <= largest_cache_bytes(ctx)


def best_peer(med, op, shape, threads, peers):
    avail = [(med[(op, p, shape, threads)], p) for p in peers if (op, p, shape, threads) in med]
    return max(avail) if avail else (None, None)


def goal_rows(med, ctx, best, peers, shapes):
    """Issue 9's goals, each evaluated on this run: (goal, met, worst shape and ratio, shapes counted)."""
    rows = []

    def ratio_goal(name, op_list, threads, impl, shape_filter, bound, peer_filter=None):
        worst = None
        count = 0
        for op in op_list:
            for shape in shapes:
                if not shape_filter(shape):
                    continue
                s = med.get((op, impl, shape, threads))
                use = [p for p in peers if peer_filter is None or peer_filter(p)]
                bp, bp_name = best_peer(med, op, shape, threads, use)
                if s is None or bp is None:
                    continue
                count += 1
                r = s / bp
                if worst is None or r < worst[0]:
                    worst = (r, f"{op} {shape_name(shape)} ({r:.2f}× {bp_name})")
        if worst is None:
            rows.append((name, "not measured", "–", 0))
        else:
            rows.append((name, "met" if worst[0] >= bound else "NOT met", worst[1], count))

    simd = f"simdmax:{best}"
    ratio_goal("1 thread, best target ≥ 1.5× fastest peer, every in-cache shape (softmax, log-softmax)",
               OPS, 1, simd, lambda sh: in_cache(sh, ctx), 1.5)
    ratio_goal(f"1 thread, softmax ≥ 2× fastest peer on rows ≤ {SHORT_ROW_COLS} columns",
               ("softmax",), 1, simd, lambda sh: sh[1] <= SHORT_ROW_COLS and in_cache(sh, ctx), 2.0)
    ratio_goal("2 threads ≥ 1.5× fastest peer at 2 threads, every shape ≥ 64K elements",
               OPS, 2, simd, lambda sh: sh[0] * sh[1] >= 65536, 1.5)
    ratio_goal("AVX2 target ≥ 1.3× PyTorch default (AVX2), every in-cache shape, 1 thread",
               OPS, 1, "simdmax:AVX2", lambda sh: in_cache(sh, ctx), 1.3, lambda p: p == "torch:default")
    for threads, bound in ((1, 0.6), (2, 0.8)):
        worst = None
        for op in OPS:
            for shape in shapes:
                if in_cache(shape, ctx):
                    continue
                s = med.get((op, simd, shape, threads))
                m = med.get(("memcpy", "memcpy", shape, 1))
                if s and m and (worst is None or s / m < worst[0]):
                    worst = (s / m, f"{op} {shape_name(shape)} ({100 * s / m:.0f}% of memcpy)")
        name = f"out of cache ≥ {100 * bound:.0f}% of memcpy, {threads} thread{'s' if threads > 1 else ''}"
        rows.append((name, "not measured", "–", 0) if worst is None else
                    (name, "met" if worst[0] >= bound else "NOT met", worst[1], 1))
    return rows


# The order; other shapes follow by size. (Random interleaving shuffles the JSON's order.)
SHAPE_ORDER = [(1, 1000), (1, 32000), (1, 50257), (1, 128000), (128, 128), (1024, 1024), (64, 32000),
               (4096, 64), (16384, 32), (2048, 128), (1024, 256), (8, 1048576), (16, 4194304)]
# Rows this short are where attention tiles and classifier heads live (issue 9's "2x on rows <= 256 columns").
SHORT_ROW_COLS = 256
# Out of cache: shapes whose input + output exceed the largest cache the benchmark library reports.
OUT_OF_CACHE_FALLBACK_BYTES = 256 << 20


TYPE_SIZES = {"f32": 4, "f16": 2, "bf16": 2}
# The typed goals' pairs (issue 10): both ends half precision.
HALF_PAIRS = ("bf16-bf16", "f16-f16")


def typed_ops(med):
    """The typed ops of the run ("softmax:bf16-bf16", ...), in a stable order."""
    found = {k[0] for k in med if ":" in k[0] and k[0].split(":")[0] in OPS}
    return sorted(found, key=lambda op: (OPS.index(op.split(":")[0]), op.split(":")[1] == "f32-f32", op))


def typed_out_of_cache(shape, pair, ctx):
    x, y = pair.split("-")
    return shape == (16, 4194304) or shape[0] * shape[1] * (TYPE_SIZES[x] + TYPE_SIZES[y]) > largest_cache_bytes(ctx)


def typed_section(med, ctx, best):
    """Issue 10's tables and goals: simdmax typed vs peers, % of memcpy of the same bytes, and the conversion overhead
    (time per element against simdmax's own f32 -> f32 on the same shape, same run)."""
    ops = typed_ops(med)
    if not ops:
        return []
    simd = f"simdmax:{best}"
    peers = sorted({k[1] for k in med if k[0] in ops and not k[1].startswith("simdmax:")})
    shapes = [sh for sh in SHAPE_ORDER if any(k[2] == sh and k[0] in ops for k in med)]
    threads_list = sorted({k[3] for k in med if k[0] in ops})
    out = ["## Typed entry points (f16 / bf16), issue 10\n",
           "Gelem/s; memcpy moves the same bytes ((size x + size y) / 2 per element, one thread); the conversion "
           "overhead is simdmax's time per element over its own f32 -> f32 time on the same shape ('–' for f32 -> f32)."
           " Peers show '–' where they have no kernel for the pair (the JSON has their message).\n"]
    for threads in threads_list:
        out.append(f"### typed, {threads} thread{'s' if threads > 1 else ''}: simdmax ({best}) vs peers\n")
        head = ["op", "shape", f"simdmax {best}", "simdmax AVX2"] + peers + [
            "best peer", "simdmax ÷ best peer", "simdmax % memcpy", "conversion overhead"]
        out.append("| " + " | ".join(head) + " |")
        out.append("|" + "---|" * len(head))
        for op in ops:
            base_op, pair = op.split(":")
            for shape in shapes:
                s = med.get((op, simd, shape, threads))
                if s is None:
                    continue
                peer_vals = [med.get((op, p, shape, threads)) for p in peers]
                avail = [(v, p) for v, p in zip(peer_vals, peers) if v is not None]
                bp_val, bp_name = max(avail) if avail else (None, "–")
                m = med.get((f"memcpy:{pair}", "memcpy", shape, 1))
                f32 = med.get((f"{base_op}:f32-f32", simd, shape, threads))
                overhead = f"{100 * (f32 / s - 1):+.0f}%" if f32 and pair != "f32-f32" else "–"
                row = [op, shape_name(shape), fmt(s), fmt(med.get((op, "simdmax:AVX2", shape, threads)))] + [
                    fmt(v) for v in peer_vals] + [bp_name, f"{s / bp_val:.2f}×" if bp_val else "–",
                                                  pct(s / m) if m else "–", overhead]
                out.append("| " + " | ".join(row) + " |")
        out.append("")
    # Goals.
    rows = []
    worst = None
    count = 0
    for op in ops:
        base_op, pair = op.split(":")
        if pair not in HALF_PAIRS:
            continue
        for shape in shapes:
            s = med.get((op, simd, shape, 1))
            bp, bp_name = best_peer(med, op, shape, 1, peers)
            if s is None or bp is None or typed_out_of_cache(shape, pair, ctx):
                continue
            count += 1
            if worst is None or s / bp < worst[0]:
                worst = (s / bp, f"{op} {shape_name(shape)} ({s / bp:.2f}× {bp_name})")
    name = "bf16→bf16 and f16→f16, 1 thread ≥ 1.5× fastest peer, every in-cache shape"
    rows.append((name, "not measured", "–", 0) if worst is None else
                (name, "met" if worst[0] >= 1.5 else "NOT met", worst[1], count))
    worst, count = None, 0
    for op in ops:
        pair = op.split(":")[1]
        if pair not in HALF_PAIRS:
            continue
        for shape in shapes:
            s = med.get((op, simd, shape, 2))
            m = med.get((f"memcpy:{pair}", "memcpy", shape, 1))
            if s and m and typed_out_of_cache(shape, pair, ctx):
                count += 1
                if worst is None or s / m < worst[0]:
                    worst = (s / m, f"{op} {shape_name(shape)} ({100 * s / m:.0f}% of memcpy)")
    name = "bf16→bf16 and f16→f16 out of cache ≥ 80% of memcpy of the same bytes, 2 threads"
    rows.append((name, "not measured", "–", 0) if worst is None else
                (name, "met" if worst[0] >= 0.8 else "NOT met", worst[1], count))
    worst, count = None, 0
    for op in ops:
        base_op, pair = op.split(":")
        if pair == "f32-f32":
            continue
        for shape in shapes:
            s = med.get((op, simd, shape, 1))
            f32 = med.get((f"{base_op}:f32-f32", simd, shape, 1))
            if s and f32 and not typed_out_of_cache(shape, pair, ctx):
                count += 1
                overhead = f32 / s - 1
                if worst is None or overhead > worst[0]:
                    worst = (overhead, f"{op} {shape_name(shape)} ({100 * overhead:+.0f}%)")
    name = "conversion overhead in cache ≤ 15% over f32 → f32 per element, 1 thread"
    rows.append((name, "not measured", "–", 0) if worst is None else
                (name, "met" if worst[0] <= 0.15 else "NOT met", worst[1], count))
    out.append("### Goals (issue 10), evaluated on this run\n")
    out.append("| goal | result | worst shape (ratio) | figures compared |")
    out.append("|---|---|---|---|")
    for name, met, w, c in rows:
        out.append(f"| {name} | {met} | {w} | {c} |")
    out.append("")
    return out


def ordered_shapes(med):
    def key(s):
        return (SHAPE_ORDER.index(s), 0, 0) if s in SHAPE_ORDER else (len(SHAPE_ORDER), s[0] * s[1], s[1])
    return sorted({k[2] for k in med}, key=key)


def fmt(x, digits=2):
    return "–" if x is None else f"{x:.{digits}f}"


def pct(x):
    return "–" if x is None else f"{100 * x:.0f}%"


def shape_name(shape):
    return f"{shape[0]}×{shape[1]}"


def summarize(data, command=None):
    med, counts = medians(data)
    ctx = data.get("context", {})
    targets = [t for t in ctx.get("simdmax_targets", "").split(",") if t]
    if not targets:  # older JSON: infer from the names
        targets = sorted({k[1].split(":", 1)[1] for k in med if k[1].startswith("simdmax:")})
    best = targets[0] if targets else None
    shapes = ordered_shapes(med)
    threads_list = sorted({k[3] for k in med if k[0] in OPS})
    peers = sorted({k[1] for k in med if k[0] in OPS and not k[1].startswith("simdmax:")})
    reps = sorted(set(counts.values())) or [0]

    out = []
    out.append("# simdmax benchmark summary\n")
    if command:
        out.append(f"- reproduce with: `{command}`")
    out.append(f"- date: {ctx.get('date', '?')}, host: {ctx.get('host_name', '?')}, "
               f"{ctx.get('num_cpus', '?')} CPUs @ {ctx.get('mhz_per_cpu', '?')} MHz")
    caches = ", ".join(f"L{c['level']} {c['type'][0]} {c['size'] // 1024} KiB"
                       for c in ctx.get("caches", []))
    if caches:
        out.append(f"- caches: {caches}")
    load = ctx.get("load_avg")
    if load:
        out.append(f"- load average at start: {', '.join(f'{x:.2f}' for x in load)} "
                   "(above ~0.5 other processes shared the cores; multi-thread figures suffer most)")
    out.append(f"- simdmax {ctx.get('simdmax_version', '?')}, targets (best first): {', '.join(targets)}")
    out.append(f"- peers: {', '.join(peers) if peers else 'none compiled in'}")
    out.append(f"- repetitions per benchmark: {'/'.join(map(str, reps))}; figures are medians, in Gelem/s "
               "(1 Gelem/s = 8 GB/s: one 4-byte read + one 4-byte write per element)")
    out.append("- memcpy copies the same bytes with one thread; '% memcpy' compares with it for every thread count")
    cpu = ctx.get("simdmax_cpu")
    if cpu:
        out.append(f"- CPU: {cpu}; vector width of the best target: {ctx.get('simdmax_vector_bits', '?')} bits; "
                   f"caches seen by simdmax: {ctx.get('simdmax_caches', '?')}")
    out.append("")

    for op in OPS:
        for threads in threads_list:
            out.append(f"## {op}, {threads} thread{'s' if threads > 1 else ''}: simdmax ({best}) vs peers\n")
            head = ["shape", f"simdmax {best}"] + peers + ["memcpy", "best peer", "simdmax ÷ best peer",
                                                           "simdmax % memcpy", "best peer % memcpy"]
            if threads > 1:
                head.append(f"simdmax ×{threads}t ÷ 1t")
            out.append("| " + " | ".join(head) + " |")
            out.append("|" + "---|" * len(head))
            for shape in shapes:
                s = med.get((op, f"simdmax:{best}", shape, threads))
                if s is None and not any(med.get((op, p, shape, threads)) for p in peers):
                    continue
                peer_vals = [med.get((op, p, shape, threads)) for p in peers]
                m = med.get(("memcpy", "memcpy", shape, 1))
                avail = [(v, p) for v, p in zip(peer_vals, peers) if v is not None]
                bp_val, bp_name = max(avail) if avail else (None, "–")
                row = [shape_name(shape), fmt(s)] + [fmt(v) for v in peer_vals] + [
                    fmt(m), bp_name,
                    f"{s / bp_val:.2f}×" if s and bp_val else "–",
                    pct(s / m) if s and m else "–",
                    pct(bp_val / m) if bp_val and m else "–"]
                if threads > 1:
                    s1 = med.get((op, f"simdmax:{best}", shape, 1))
                    row.append(f"{s / s1:.2f}×" if s and s1 else "–")
                out.append("| " + " | ".join(row) + " |")
            out.append("")

    out.append("## simdmax per target (Gelem/s)\n")
    for op in OPS:
        for threads in threads_list:
            out.append(f"### {op}, {threads} thread{'s' if threads > 1 else ''}\n")
            head = ["shape"] + targets + ["best peer"]
            out.append("| " + " | ".join(head) + " |")
            out.append("|" + "---|" * len(head))
            for shape in shapes:
                vals = [med.get((op, f"simdmax:{t}", shape, threads)) for t in targets]
                if all(v is None for v in vals):
                    continue
                avail = [(med[(op, p, shape, threads)], p) for p in peers if (op, p, shape, threads) in med]
                bp = f"{max(avail)[0]:.2f} ({max(avail)[1]})" if avail else "–"
                out.append("| " + " | ".join([shape_name(shape)] + [fmt(v) for v in vals] + [bp]) + " |")
            out.append("")
    out.append("## Goals (issue 9), evaluated on this run\n")
    out.append("| goal | result | worst shape (ratio) | figures compared |")
    out.append("|---|---|---|---|")
    for name, met, worst, count in goal_rows(med, ctx, best, peers, shapes):
        out.append(f"| {name} | {met} | {worst} | {count} |")
    out.append("")
    out.extend(typed_section(med, ctx, best))
    noisy = sorted((k, v) for k, v in spreads(data).items()
                   if v > 0.10 and (k[0] in OPS or k[0].split(":")[0] in OPS))
    if noisy:
        out.append(f"## Figures whose repetitions vary by more than 10% ({len(noisy)})\n")
        out.append("| benchmark | (max - min) / median |")
        out.append("|---|---|")
        for (op, impl, shape, threads), v in noisy:
            out.append(f"| {op}/{impl}/{shape_name(shape)}/{threads}t | {100 * v:.0f}% |")
        out.append("")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("inputs", nargs="+")
    ap.add_argument("--merged-out", help="write the merged JSON here")
    ap.add_argument("--md-out", help="also write the Markdown here")
    ap.add_argument("--command", help="the command that produced the results, printed in the header")
    args = ap.parse_args()
    data = load(args.inputs)
    if args.merged_out:
        with open(args.merged_out, "w") as f:
            json.dump(data, f, indent=1)
    md = summarize(data, args.command)
    if args.md_out:
        with open(args.md_out, "w") as f:
            f.write(md + "\n")
    sys.stdout.write(md + "\n")


if __name__ == "__main__":
    main()
