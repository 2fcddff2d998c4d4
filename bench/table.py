#!/usr/bin/env python3
"""bench/table.py - Google Benchmark JSON of maple_bench -> markdown tables.

Usage: bench/table.py results.json [more.json ...]  (later files override
earlier ones for the same benchmark)

Takes the median aggregates (or the plain runs when the JSON has no
aggregates), reads the counters ns_per_op / ns_per_cycle / bytes_per_range of
benchmarks named <workload>/<peer>/N:<n>[/...], and prints: ns per operation
per workload, N and peer, with the ratio maple/peer (below 1: maple faster,
or smaller for memory), then bytes per stored range after W1 and W2.
Stdlib only.
"""
import json
import sys
from collections import defaultdict

PEER_ORDER = ["maple", "maple_rcu", "std_map", "absl_btree", "llvm_imap", "boost_icl", "sorted_array"]
OPS = {
    "W1_build_asc": "insert",
    "W2_build_rand": "insert",
    "W3_lookup": "lookup",
    "W4_iterate": "entry",
    "W5_overwrite": "tree call",
    "W6_erase_rand": "erase",
}


def fmt(x):
    if x is None:
        return "-"
    if isinstance(x, str):
        return x
    if x >= 100:
        return f"{x:,.0f}"
    if x >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


def load(paths):
    """{(workload, n): {peer: {counter: value}}} and the context of the first file."""
    data = defaultdict(dict)
    context = {}
    for path in paths:
        with open(path) as f:
            doc = json.load(f)
        context = context or doc.get("context", {})
        benches = doc.get("benchmarks", [])
        has_aggr = any(b.get("run_type") == "aggregate" for b in benches)
        for b in benches:
            if has_aggr:
                if b.get("run_type") != "aggregate" or b.get("aggregate_name") != "median":
                    continue
            name = b.get("run_name") or b["name"]
            parts = name.split("/")
            if len(parts) < 3 or not parts[2].startswith("N:"):
                continue
            workload, peer, n = parts[0], parts[1], int(parts[2][2:])
            if b.get("error_occurred"):
                data[(workload, n)][peer] = {"error": b.get("error_message", "error")}
                continue
            vals = {}
            for key in ("ns_per_op", "ns_per_cycle"):
                if key in b:
                    vals[key] = b[key] * 1e9  # inverted rates are seconds per op
            if "bytes_per_range" in b:
                vals["bytes_per_range"] = b["bytes_per_range"]
            data[(workload, n)][peer] = vals
    return data, context


def peers_of(data):
    seen = {p for row in data.values() for p in row}
    return [p for p in PEER_ORDER if p in seen] + sorted(seen - set(PEER_ORDER))


def cell(row, peer, key):
    v = row.get(peer)
    if v is None:
        return None
    if "error" in v:
        return "error"
    return v.get(key)


def ratio(a, b):
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and b:
        return f"{a / b:.2f}"
    return "-"


def table(data, peers, rows, key, label):
    peers = [p for p in peers
             if any(cell(data.get((w, n), {}), p, key) is not None for (w, n, _) in rows)]
    others = [p for p in peers if p != "maple"]
    head = ["workload", "N"] + peers + [f"maple/{p}" for p in others]
    out = [f"| {' | '.join(head)} |", "|" + "---|" * len(head)]
    for (workload, n, title) in rows:
        row = data.get((workload, n), {})
        vals = [cell(row, p, key) for p in peers]
        if all(v is None for v in vals):
            continue
        m = cell(row, "maple", key)
        line = [title, f"{n:,}"] + [fmt(v) for v in vals] + [ratio(m, cell(row, p, key)) for p in others]
        out.append(f"| {' | '.join(line)} |")
    if len(out) == 2:  # no row has data (e.g. a filtered run without W1/W2)
        return ""
    return label + "\n\n" + "\n".join(out) + "\n"


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    data, ctx = load(argv[1:])
    if not data:
        print("no maple_bench results found", file=sys.stderr)
        return 1
    peers = peers_of(data)
    sizes = sorted({n for (_, n) in data})
    workloads = [w for w in OPS if any((w, n) in data for n in sizes)]
    workloads += sorted({w for (w, _) in data} - set(workloads))

    print(f"# maple_bench results\n")
    if ctx:
        cpu = f"{ctx.get('num_cpus', '?')} x {ctx.get('mhz_per_cpu', '?')} MHz"
        loadavg = ", ".join(f"{x:.2f}" for x in ctx.get("load_avg", [])) or "?"
        print(f"Host {ctx.get('host_name', '?')}, {cpu}, {ctx.get('date', '')}, "
              f"load average at start {loadavg}; Google Benchmark library build "
              f"{ctx.get('library_build_type', '?')}. Later files override earlier ones.\n")

    rows = []
    for w in workloads:
        for n in sizes:
            rows.append((w, n, f"{w} (ns/{OPS.get(w, 'op')})"))
            if w == "W5_overwrite":
                rows.append((w, n, "W5_overwrite (ns/cycle)"))
    # ns/op table, with the W5 per-cycle rows taking ns_per_cycle.
    main_rows = [r for r in rows if r[2] != "W5_overwrite (ns/cycle)"]
    print(table(data, peers, main_rows, "ns_per_op",
                "## ns per operation (lower is better; ratio maple/peer < 1: maple faster)"))
    cyc = [r for r in rows if r[2] == "W5_overwrite (ns/cycle)"]
    if cyc:
        print(table(data, peers, cyc, "ns_per_cycle", "## W5 ns per overwrite cycle (2 + k tree calls)"))
    mem_peers = [p for p in peers if p != "sorted_array"]
    mem_rows = []
    for w, label in (("W1_build_asc", "after W1"), ("W2_build_rand", "after W2")):
        for n in sizes:
            mem_rows.append((w, n, label))
    print(table(data, mem_peers, mem_rows, "bytes_per_range",
                "## bytes per stored range (the structure's own allocations)"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
