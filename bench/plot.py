#!/usr/bin/python3
"""bench/plot.py - plots of maple_bench results: one SVG per workload.

Usage: bench/plot.py [--out=DIR] results.json [more.json ...]

Reads Google Benchmark JSON as bench/table.py does (median aggregates, names
<workload>/<peer>/N:<n>, later files override earlier ones) and writes
DIR/<workload>.svg (default DIR: docs/images/bench/ of this repository):
ns per operation (counter ns_per_op; W5: per tree call) against N, one line
per peer, both axes logarithmic. Needs matplotlib (Debian's
python3-matplotlib); text stays text in the SVG (no embedded glyphs) and the
element ids are fixed, so the files are small and the same data gives the
same file.
"""
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 (after choosing the backend)
from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import table  # noqa: E402 (bench/table.py: the JSON reader)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(ROOT, "docs", "images", "bench")

# Fixed colours and markers, so a peer looks the same in every plot.
STYLE = {
    "maple": ("#1f77b4", "o"),
    "maple_rcu": ("#17becf", "D"),
    "maple_alloc": ("#9467bd", "P"),
    "maple_alloc_rcu": ("#e377c2", "X"),
    "std_map": ("#d62728", "s"),
    "absl_btree": ("#2ca02c", "^"),
    "llvm_imap": ("#ff7f0e", "v"),
    "boost_icl": ("#8c564b", "<"),
    "sorted_array": ("#7f7f7f", ">"),
}


def setup():
    plt.rcParams.update({
        "svg.fonttype": "none",       # text as <text>, no glyph paths
        "svg.hashsalt": "maple-bench",  # stable element ids
        "font.size": 9,
        "axes.grid": True,
        "grid.alpha": 0.3,
    })


def series(data, workload):
    """{peer: [(n, ns per op), ...]} of one workload, sorted by N."""
    out = {}
    for (w, n), row in data.items():
        if w != workload:
            continue
        for peer, vals in row.items():
            v = vals.get("ns_per_op")
            if isinstance(v, (int, float)) and v > 0:
                out.setdefault(peer, []).append((n, v))
    return {p: sorted(pts) for p, pts in out.items()}


def plot(workload, lines, out_dir):
    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    order = [p for p in table.PEER_ORDER if p in lines] + sorted(set(lines) - set(table.PEER_ORDER))
    for peer in order:
        pts = lines[peer]
        colour, marker = STYLE.get(peer, (None, "o"))
        ax.plot([n for n, _ in pts], [v for _, v in pts], marker=marker, color=colour,
                label=peer, linewidth=1.4, markersize=4)
    sizes = sorted({n for pts in lines.values() for n, _ in pts})
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(sizes)
    ax.set_xticklabels([f"{n:,}" for n in sizes])
    ax.xaxis.set_minor_locator(NullLocator())
    # Labels at 1, 2 and 5 times powers of ten: readable on short ranges.
    ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_minor_locator(NullLocator())
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.10g}"))
    ax.set_xlabel("N (ranges in the structure)")
    op = table.OPS.get(workload, "op")
    ax.set_ylabel(f"ns per {op} (median)")
    ax.set_title(f"{workload}: ns per {op} (lower is better)")
    ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    path = os.path.join(out_dir, f"{workload}.svg")
    fig.savefig(path, format="svg", metadata={"Date": None})
    plt.close(fig)
    return path


def main(argv):
    out_dir = DEFAULT_OUT
    paths = []
    for a in argv[1:]:
        if a.startswith("--out="):
            out_dir = a[len("--out="):]
        else:
            paths.append(a)
    if not paths:
        print(__doc__, file=sys.stderr)
        return 2
    data, _ = table.load(paths)
    workloads = sorted({w for (w, _) in data})
    if not workloads:
        print("plot.py: no maple_bench results found", file=sys.stderr)
        return 1
    os.makedirs(out_dir, exist_ok=True)
    setup()
    for w in workloads:
        lines = series(data, w)
        if lines:
            print(plot(w, lines, out_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
