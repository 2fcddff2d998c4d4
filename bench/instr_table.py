#!/usr/bin/env python3
"""bench/instr_table.py - bench/instructions.sh's TSV -> markdown tables.

Usage: bench/instr_table.py [--before=OLD.tsv] instructions.tsv

The TSV has the columns workload, peer, n, ops, calls, instructions (the
callgrind total of the measured loop). Prints instructions per operation per
workload, N and peer with the ratios maple_rcu/maple and maple/absl_btree;
W5 per cycle and per tree call; W7b per search for the allocation trees.
With --before, also the ratio now/before of every cell both files have.
Stdlib only.
"""
import csv
import sys

PEERS = ["maple", "maple_rcu", "absl_btree", "std_map", "llvm_imap", "boost_icl"]
GAP_PEERS = ["maple_alloc", "maple_alloc_rcu", "maple"]
ROWS = [  # (workload, label, divisor column)
    ("W1", "W1 insert ascending", "ops"),
    ("W2", "W2 insert shuffled", "ops"),
    ("W3", "W3 lookup", "ops"),
    ("W4", "W4 iterate (per entry)", "ops"),
    ("W5", "W5 overwrite (per cycle)", "ops"),
    ("W5", "W5 overwrite (per tree call)", "calls"),
    ("W6", "W6 erase", "ops"),
]
RATIOS = [("maple_rcu", "maple"), ("maple", "absl_btree")]


def load(path):
    """{(workload, peer, n): {'ops': .., 'calls': .., 'instructions': ..}}"""
    out = {}
    with open(path, newline="") as f:
        for r in csv.DictReader(f, delimiter="\t"):
            row = {k: int(r[k]) for k in ("ops", "calls", "instructions")}
            row["ll_misses"] = int(r.get("ll_misses") or 0)  # older files lack it
            out[(r["workload"], r["peer"], int(r["n"]))] = row
    return out


def per_op(data, workload, peer, n, div, event="instructions"):
    r = data.get((workload, peer, n))
    if not r or not r[div]:
        return None
    return r[event] / r[div]


def fmt(x):
    if x is None:
        return "-"
    if x < 10:
        return f"{x:.2f}"
    if x >= 1000:
        return f"{x:,.0f}"
    if x >= 100:
        return f"{x:.0f}"
    return f"{x:.1f}"


def ratio(a, b):
    return f"{a / b:.2f}" if a is not None and b else "-"


def table(data, rows, peers, ratios, sizes, event="instructions"):
    peers = [p for p in peers if any(k[1] == p and k[0] in {r[0] for r in rows} for k in data)]
    ratios = [(a, b) for (a, b) in ratios if a in peers and b in peers]
    head = ["workload", "N"] + peers + [f"{a}/{b}" for (a, b) in ratios]
    out = [f"| {' | '.join(head)} |", "|" + "---|" * len(head)]
    for (workload, label, div) in rows:
        for n in sizes:
            vals = {p: per_op(data, workload, p, n, div, event) for p in peers}
            if all(v is None for v in vals.values()):
                continue
            line = [label, f"{n:,}"] + [fmt(vals[p]) for p in peers]
            line += [ratio(vals[a], vals[b]) for (a, b) in ratios]
            out.append(f"| {' | '.join(line)} |")
    return "\n".join(out) + "\n"


def compare(now, before, rows, sizes):
    peers = [p for p in PEERS + GAP_PEERS if any(k[1] == p for k in now)]
    peers = list(dict.fromkeys(peers))
    head = ["workload", "N"] + peers
    out = [f"| {' | '.join(head)} |", "|" + "---|" * len(head)]
    for (workload, label, div) in rows:
        for n in sizes:
            line = [label, f"{n:,}"]
            cells = [ratio(per_op(now, workload, p, n, div), per_op(before, workload, p, n, div))
                     for p in peers]
            if all(c == "-" for c in cells):
                continue
            out.append(f"| {' | '.join(line + cells)} |")
    return "\n".join(out) + "\n"


def main(argv):
    before_path = None
    args = []
    for a in argv[1:]:
        if a.startswith("--before="):
            before_path = a[len("--before="):]
        else:
            args.append(a)
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    data = load(args[0])
    if not data:
        print("no rows in " + args[0], file=sys.stderr)
        return 1
    sizes = sorted({k[2] for k in data})
    gap_rows = [("W7b", "W7b gap search 17 pages", "ops")]
    print("# Instructions per operation (callgrind, measured loop only)\n")
    print("Lower is better; a ratio a/b below 1: a executes fewer instructions.\n")
    print(table(data, ROWS, PEERS, RATIOS, sizes))
    if any(k[0] == "W7b" for k in data):
        print(table(data, gap_rows, GAP_PEERS, [("maple_alloc_rcu", "maple_alloc")], sizes))
    if any(r["ll_misses"] for r in data.values()):
        print("## Simulated last-level data misses per operation (--cache)\n")
        print(table(data, ROWS, PEERS, RATIOS, sizes, "ll_misses"))
    if before_path:
        before = load(before_path)
        print(f"## Now / before ({before_path}); below 1: fewer instructions now\n")
        print(compare(data, before, ROWS + gap_rows, sizes))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
