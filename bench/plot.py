#!/usr/bin/python3
"""Draws simdmax_bench results. Top row, what people look for first: simdmax (best target) ÷ the fastest peer per
shape, bars for 1 and 2 threads, lines at 1.0 and 1.5. Below: throughput (Gelem/s, log scale) per shape for
simdmax's targets, the peers and memcpy, one panel per op and thread count. Needs matplotlib (python3-matplotlib).

    /usr/bin/python3 bench/plot.py bench/results/latest.json -o bench/results/latest.png
"""
import argparse
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import summarize  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("inputs", nargs="+")
    ap.add_argument("-o", "--output", required=True)
    args = ap.parse_args()
    data = summarize.load(args.inputs)
    med, _ = summarize.medians(data)
    targets = [t for t in data.get("context", {}).get("simdmax_targets", "").split(",") if t]
    shapes = summarize.ordered_shapes(med)
    threads_list = sorted({k[3] for k in med if k[0] in summarize.OPS})
    peers = sorted({k[1] for k in med if k[0] in summarize.OPS and not k[1].startswith("simdmax:")})
    impls = [f"simdmax:{t}" for t in targets] + peers

    ncols = max(len(threads_list), len(summarize.OPS))
    fig, all_axes = plt.subplots(1 + len(summarize.OPS), ncols, squeeze=False,
                                 figsize=(7.5 * ncols, 5.2 * (1 + len(summarize.OPS))))
    xs = list(range(len(shapes)))
    # Ratio bars: simdmax best target ÷ fastest peer at the same thread count.
    best = targets[0] if targets else None
    width = 0.8 / max(1, len(threads_list))
    for i, op in enumerate(summarize.OPS):
        ax = all_axes[0][i]
        for t, threads in enumerate(threads_list):
            ratios = []
            for s in shapes:
                mine = med.get((op, f"simdmax:{best}", s, threads))
                bp, _ = summarize.best_peer(med, op, s, threads, peers)
                ratios.append(mine / bp if mine and bp else float("nan"))
            ax.bar([x + (t - (len(threads_list) - 1) / 2) * width for x in xs], ratios, width,
                   label=f"{threads} thread{'s' if threads > 1 else ''}", color=f"C{t}")
        # A peer starved by the machine's load can make one ratio huge: keep the scale readable.
        ax.set_ylim(0, 4)
        ax.axhline(1.0, color="k", linewidth=1)
        ax.axhline(1.5, color="g", linestyle="--", linewidth=1, label="goal 1.5×")
        ax.set_xticks(xs)
        ax.set_xticklabels([summarize.shape_name(s) for s in shapes], rotation=35, ha="right", fontsize=8)
        ax.set_title(f"{op}: simdmax {best} ÷ fastest peer (higher is better)")
        ax.grid(True, axis="y", alpha=0.3)
        ax.legend(fontsize=8)
    for j in range(len(summarize.OPS), ncols):
        all_axes[0][j].axis("off")
    axes = all_axes[1:]
    labels = [summarize.shape_name(s) for s in shapes]
    cmap = plt.get_cmap("viridis")
    peer_styles = ["s--", "^--", "v--", "D--", "P--"]
    for i, op in enumerate(summarize.OPS):
        for j, threads in enumerate(threads_list):
            ax = axes[i][j]
            for n, impl in enumerate(impls):
                ys = [med.get((op, impl, s, threads)) for s in shapes]
                if all(y is None for y in ys):
                    continue
                ys = [float("nan") if y is None else y for y in ys]
                if impl.startswith("simdmax:"):
                    color = cmap(n / max(1, len(targets) - 1) * 0.85)
                    ax.plot(xs, ys, "o-", color=color, label=impl, linewidth=2.2 if n == 0 else 1.2)
                else:
                    k = peers.index(impl)
                    ax.plot(xs, ys, peer_styles[k % len(peer_styles)], color=f"C{3 + k}", label=impl)
            mem = [med.get(("memcpy", "memcpy", s, 1), float("nan")) for s in shapes]
            ax.plot(xs, mem, "k:", label="memcpy (1 thread)")
            ax.set_yscale("log")
            ax.set_xticks(xs)
            ax.set_xticklabels(labels, rotation=35, ha="right", fontsize=8)
            ax.set_title(f"{op}, {threads} thread{'s' if threads > 1 else ''}")
            ax.grid(True, which="both", alpha=0.3)
            if j == 0:
                ax.set_ylabel("Gelem/s (log; 1 Gelem/s = 8 GB/s)")
    for row in axes:
        for j in range(len(threads_list), ncols):
            row[j].axis("off")
    handles, lbls = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, lbls, loc="lower center", ncol=min(6, len(lbls)), fontsize=9)
    ctx = data.get("context", {})
    fig.suptitle(f"simdmax {ctx.get('simdmax_version', '')} vs peers — {ctx.get('host_name', '')}, "
                 f"{ctx.get('num_cpus', '?')} CPUs, {ctx.get('date', '')[:10]}, load {ctx.get('load_avg', ['?'])[0]} "
                 "(median of repetitions)")
    fig.tight_layout(rect=(0, 0.07, 1, 0.97))
    fig.savefig(args.output, dpi=110)


if __name__ == "__main__":
    main()
