#!/usr/bin/env python3
"""report.py latest.csv > latest.md - medians and ratios to the same run's baseline.

Traffic: per round, each configuration's figure is divided by the no-policy figure of
that round; the table shows the median of those ratios (and the median absolute value).
Operations: median wall time in ms, and its ratio to `nft -f` of the same rules.
"""
import csv
import statistics
import sys
from collections import defaultdict

path = sys.argv[1]
header = []
rows = []
with open(path) as f:
    lines = []
    for line in f:
        if line.startswith("#"):
            header.append(line[1:].strip())
        else:
            lines.append(line)
for r in csv.DictReader(lines):
    rows.append(r)


def num(v):
    try:
        return float(v)
    except ValueError:
        return None


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt(x, nd=2):
    if x is None:
        return "n/a"
    if abs(x) >= 1000:
        return "{:,.0f}".format(x)
    return ("{:.%df}" % nd).format(x)


out = []
p = out.append
p("# cgpolicy benchmark results")
p("")
for h in header:
    p("    " + h)
p("")

# ---------------------------------------------------------------- traffic
tr = defaultdict(dict)      # (impl, rules, topo, metric) -> {round: value}
for r in rows:
    if r["section"] == "traffic":
        tr[(r["impl"], int(r["rules"]), r["topo"], r["metric"])][r["round"]] = num(r["value"])
metrics = ["tput_1k", "tput_64k", "rr", "crr"]
mname = {"tput_1k": "iperf3 1 KiB", "tput_64k": "iperf3 64 KiB", "rr": "req/resp", "crr": "new conn/s"}
configs = sorted({(k[0], k[1]) for k in tr if k[0] != "none"},
                 key=lambda c: (["cgpolicy", "nftables", "iptables"].index(c[0]), c[1]))
for topo, tname in (("lo", "loopback"), ("veth", "netns + veth")):
    p("## Traffic, %s: ratio to no policy (median of per-round ratios; 1.00 = no cost)" % tname)
    p("")
    p("| configuration | rules | " + " | ".join(mname[m] for m in metrics) + " |")
    p("|---|---:|" + "---:|" * len(metrics))
    base = {m: tr.get(("none", 0, topo, m), {}) for m in metrics}
    p("| no policy (absolute) | - | " + " | ".join(
        fmt(med(base[m].values())) + (" Gbit/s" if m.startswith("tput") else "/s") for m in metrics) + " |")
    for impl, n in configs:
        cells = []
        for m in metrics:
            vals = tr.get((impl, n, topo, m), {})
            ratios = [v / base[m][rd] for rd, v in vals.items()
                      if v is not None and base[m].get(rd)]
            cells.append(fmt(med(ratios)))
        label = {"cgpolicy": "cgpolicy", "nftables": "nftables (socket cgroupv2 + interval vmap)",
                 "iptables": "iptables-nft (-m cgroup, linear chain)"}[impl]
        p("| %s | %s | %s |" % (label, "{:,}".format(n), " | ".join(cells)))
    p("")

# ---------------------------------------------------------------- bpf stats
bs = {}
for r in rows:
    if r["section"] == "bpfstats":
        n = -1 if r["impl"] == "noop" else int(r["rules"])
        bs[(n, r["topo"], r["metric"])] = num(r["value"])
if bs:
    p("## cgpolicy programs: ns per run (kernel.bpf_stats_enabled=1, one pass)")
    p("")
    p("Each packet of the policed client runs one program (egress when sent, ingress when"
      " received); on loopback both ends' packets are counted only for the client's socket.")
    p("")
    p("The `noop` rows are a program that only returns 1 (bench/noop.bpf.c): the floor of"
      " this measure on this machine (clock reads of bpf_stats and the cgroup_skb dispatch).")
    p("")
    p("| rules | topology | workload | ingress ns/pkt | egress ns/pkt | program runs |")
    p("|---:|---|---|---:|---:|---:|")
    for n in sorted({k[0] for k in bs}):
        for topo in ("lo", "veth"):
            for m in metrics:
                if (n, topo, m + "_runs") not in bs:
                    continue
                p("| {} | {} | {} | {} | {} | {} |".format(
                    "noop" if n < 0 else "{:,}".format(n), topo, mname[m], fmt(bs.get((n, topo, m + "_ingress_ns")), 1),
                    fmt(bs.get((n, topo, m + "_egress_ns")), 1),
                    fmt(bs.get((n, topo, m + "_runs")), 0)))
    p("")

# ---------------------------------------------------------------- ops
ops = defaultdict(list)
for r in rows:
    if r["section"] == "ops":
        ops[(r["impl"], r["rules"])].append(num(r["value"]))
if ops:
    p("## Policy operations: median wall time (ms), and ratio to `nft -f` of the same rules")
    p("")
    sizes = sorted({k[1] for k in ops if k[0] == "apply_cold"}, key=int)
    p("| operation | " + " | ".join("{:,} rules".format(int(s)) for s in sizes) + " |")
    p("|---|" + "---:|" * len(sizes))
    names = [("apply_cold", "cgpolicy apply, cold (nothing pinned)"),
             ("apply_warm", "cgpolicy apply, warm (rules changed)"),
             ("apply_same", "cgpolicy apply, same file again"),
             ("nft_load", "nft -f (table replaced atomically)"),
             ("ipt_restore", "iptables-restore --noflush (chain replaced)")]
    for key, label in names:
        cells = []
        for s in sizes:
            v = med(ops.get((key, s), []))
            nftv = med(ops.get(("nft_load", s), []))
            c = fmt(v, 1)
            if v is not None and nftv and key != "nft_load":
                c += " (%s)" % fmt(v / nftv)
            cells.append(c)
        p("| %s | %s |" % (label, " | ".join(cells)))
    p("")
    p("| one rule changed in 10,000 | median ms |")
    p("|---|---:|")
    for key, label in [("onerule_cgpolicy", "cgpolicy apply, a new port (line re-read; classes change: policy compiled whole)"),
                       ("onerule_verdict", "cgpolicy apply, a verdict (line re-read, its address compiled)"),
                       ("onerule_nft_reload", "nft -f (whole table reloaded)"),
                       ("onerule_nft_element", "nft delete element + add element"),
                       ("onerule_ipt_replace", "iptables -R (one rule replaced)")]:
        p("| %s | %s |" % (label, fmt(med(ops.get((key, "10000"), [])), 1)))
    if ops.get(("onerule_verdict", "100000")):
        p("| cgpolicy apply, a verdict in 100,000 rules | %s |" % fmt(med(ops[("onerule_verdict", "100000")]), 1))
    p("")
    p("| 100 policies (100 cgroups x 10 rules) | median ms |")
    p("|---|---:|")
    for key, n, label in [("status", "100", "cgpolicy status"), ("status_json", "100", "cgpolicy status --json"),
                          ("apply_same", "100pol", "cgpolicy apply, same file again")]:
        p("| %s | %s |" % (label, fmt(med(ops.get((key, n), [])), 1)))
    p("")

print("\n".join(out))
