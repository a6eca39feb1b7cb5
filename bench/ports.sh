#!/bin/bash
# bench/ports.sh [BUILD] - rule sets with thousands of distinct ports (issue 17):
# `bench/genrules.py --random-ports` (random CIDRs, one random port each) at
# 1,000 / 10,000 / 100,000 rules, cgpolicy next to nftables (one interval
# verdict map of address . port) and iptables (a linear chain), the set-ups
# of bench/run.sh, in the same run, round after round:
#
#   - apply: cgpolicy apply (warm: the same size with another seed in force
#     before), `nft -f` (table replaced), `iptables-restore --noflush`;
#   - traffic on loopback to the last rule (127.0.0.1, ports P..P+2), client
#     in the policed cgroup, client and servers on one CPU: new TCP
#     connections per second (cgp-rr crr: the rule lookup path), request/
#     response (cgp-rr rr: the established path), iperf3 64 KiB; a figure is
#     the median over rounds of the ratio to the same round's no-policy run;
#   - memory: cgpolicy's `status --json` "memory" (memlock of the live rule
#     and port tries, of every map), and for all three the kernel memory a
#     load from nothing leaves charged to a fresh memory cgroup (v1
#     memory.kmem.usage_in_bytes: nf_tables and BPF maps charge the loading
#     task's cgroup; immune to the rest of the machine), median of rounds;
#   - the cgpolicy egress program's ns per run during crr (bpf_stats).
#
#   PORTS_RULES="1000 10000 100000"  BENCH_REPS=N (default 3)  BENCH_QUICK=1 (1 round,
#   1,000 and 10,000 rules)  BENCH_OUT=DIR (ports.md, ports.csv there)
#
# Own cgroups (cgp-ports-ID, and memory cgroups cgp-ports-ID-N), pin path, nftables table (inet cgpports_ID), iptables
# chain (CGPP_ID), servers on 127.0.0.1:15301-15303; all removed on exit.
set -u
export LC_ALL=C

BUILD=${1:-build}
HERE=$(cd "$(dirname "$0")" && pwd)
CGP=$(realpath "$BUILD/cgpolicy")
RR=$(realpath "$BUILD/tools/cgp-rr")
ID=$$
PIN=/sys/fs/bpf/cgpolicy-ports-$ID
TABLE=cgpports_$ID
CHAIN=CGPP_$ID
P=15301
CPU=1
if [ "${BENCH_QUICK:-0}" = 1 ]; then
	REPS=${BENCH_REPS:-1}; RULES=${PORTS_RULES:-"1000 10000"}; DUR=1
else
	REPS=${BENCH_REPS:-3}; RULES=${PORTS_RULES:-"1000 10000 100000"}; DUR=1.5
fi
log() { printf '[ports %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "error: $*"; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root"
[ -x "$CGP" ] && [ -x "$RR" ] || die "build $BUILD/cgpolicy and $BUILD/tools/cgp-rr first"
for t in nft iptables iptables-restore iperf3 bpftool python3 taskset; do
	command -v "$t" >/dev/null || die "$t missing (make bench installs it)"
done
[ "$(nproc)" -ge 2 ] || CPU=0
CGMNT=$(awk '{ for (i = 1; i <= NF; i++) if ($i == "-") { if ($(i+1) == "cgroup2") { print $5; exit } break } }' /proc/self/mountinfo)
CGREL=/cgp-ports-$ID
CGR=$CGMNT$CGREL
case "$CGMNT" in /sys/fs/cgroup/*) NFTPFX="${CGMNT#/sys/fs/cgroup/}/" ;; *) NFTPFX="" ;; esac
TMP=$(mktemp -d /tmp/cgp-ports.XXXXXX)
PIDS=()
CUR=none
OLD_STATS=$(sysctl -n kernel.bpf_stats_enabled 2>/dev/null || echo 0)
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	sysctl -qw kernel.bpf_stats_enabled="$OLD_STATS" 2>/dev/null
	"$CGP" remove --pin-path "$PIN" >/dev/null 2>&1
	nft delete table inet "$TABLE" 2>/dev/null
	iptables -D OUTPUT -m cgroup --path "$CGREL/client" -j "$CHAIN" 2>/dev/null
	iptables -F "$CHAIN" 2>/dev/null && iptables -X "$CHAIN" 2>/dev/null
	[ -d "$CGR" ] && { echo 1 > "$CGR/client/cgroup.kill"; sleep 0.2; rmdir "$CGR/client" "$CGR"; } 2>/dev/null
	for p in $(seq "$MC"); do rmdir "$MEMV1/cgp-ports-$ID-$p" 2>/dev/null; done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$CGR/client"

gen() {	# NAME N SEED
	mkdir -p "$TMP/$1"
	python3 "$HERE/genrules.py" "$TMP/$1" "$2" "$3" "$CGREL/client" --random-ports || die "genrules $2"
	sed -i "s/15201-15203/$P-$((P + 2))/" "$TMP/$1/cgp.ini"
	sed -i -e "s#@CGREL@/#$NFTPFX#" -e "s/cgpbench/$TABLE/g" -e "s/15201-15203/$P-$((P + 2))/" "$TMP/$1/nft.conf"
	sed -i -e "s/CGPB_OUT/$CHAIN/g" -e "s/15201:15203/$P:$((P + 2))/" "$TMP/$1/ipt.rules"
}
log "generating random-port rule sets: $RULES (seeds 1 and 2)"
gen r0 0 1
for n in $RULES; do gen "r$n" "$n" 1; gen "r${n}b" "$n" 2; done

taskset -c $CPU "$RR" server 127.0.0.1 $P >/dev/null 2>&1 & PIDS+=($!)
taskset -c $CPU iperf3 -s -B 127.0.0.1 -p $((P + 1)) >/dev/null 2>&1 & PIDS+=($!)
sleep 1
in_client() { bash -c 'echo $$ > "$0/cgroup.procs" && exec taskset -c "$1" "${@:2}"' "$CGR/client" "$CPU" "$@"; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# Kernel memory of what a command loads: run it in a fresh memory cgroup (v1, where this
# host's memory controller is; nf_tables and BPF maps charge their objects to the
# loading task's cgroup) and read memory.kmem.usage_in_bytes once it has exited. "-"
# when there is no such controller. Each cgroup is removed on exit.
MEMV1=/sys/fs/cgroup/memory
MC=0
kmem_run() {	# CMD...: runs it, prints the kernel bytes it left charged (sets MC: not in $(...))
	local d
	if [ ! -e "$MEMV1/memory.kmem.usage_in_bytes" ]; then
		"$@" >/dev/null || return 1
		echo - > "$TMP/kmem"; return 0
	fi
	MC=$((MC + 1))
	d="$MEMV1/cgp-ports-$ID-$MC"
	mkdir "$d" || return 1
	bash -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$d" "$@" >/dev/null || return 1
	cat "$d/memory.kmem.usage_in_bytes" > "$TMP/kmem"
}

unload() {
	case "$CUR" in
	cgpolicy) "$CGP" remove --pin-path "$PIN" >/dev/null ;;
	nftables) nft delete table inet "$TABLE" ;;
	iptables) iptables -D OUTPUT -m cgroup --path "$CGREL/client" -j "$CHAIN"
		iptables -F "$CHAIN"; iptables -X "$CHAIN" ;;
	esac
	CUR=none
}
# load IMPL N: loads it; prints "apply_ms kmem_bytes cold_ms". kmem: the kernel memory of
# a load from nothing (cgpolicy: a cold apply, programs and fixed maps included); apply:
# warm (the same size with seed 2 in force before).
load() {
	local t0 t1 c0 c1
	unload
	case "$1" in
	cgpolicy) c0=$(now_ms); kmem_run "$CGP" apply --pin-path "$PIN" "$TMP/r$2/cgp.ini" || die "apply $2"
		c1=$(now_ms)
		"$CGP" apply --pin-path "$PIN" "$TMP/r${2}b/cgp.ini" >/dev/null || die "apply $2b"
		t0=$(now_ms); "$CGP" apply --pin-path "$PIN" "$TMP/r$2/cgp.ini" >/dev/null || die "apply $2"; t1=$(now_ms) ;;
	nftables) c0=$(now_ms); kmem_run nft -f "$TMP/r$2/nft.conf" || die "nft $2"; c1=$(now_ms)
		nft -f "$TMP/r${2}b/nft.conf" || die "nft $2b"
		t0=$(now_ms); nft -f "$TMP/r$2/nft.conf" || die "nft $2"; t1=$(now_ms) ;;
	iptables) c0=$(now_ms); kmem_run iptables-restore --noflush "$TMP/r$2/ipt.rules" || die "ipt $2"
		c1=$(now_ms)
		iptables -F "$CHAIN"; iptables-restore --noflush "$TMP/r${2}b/ipt.rules" || die "ipt $2b"
		iptables -F "$CHAIN"
		t0=$(now_ms); iptables-restore --noflush "$TMP/r$2/ipt.rules" || die "ipt $2"; t1=$(now_ms)
		iptables -I OUTPUT -m cgroup --path "$CGREL/client" -j "$CHAIN" ;;
	esac
	CUR=$1
	echo "$((t1 - t0)) $(cat "$TMP/kmem") $((c1 - c0))"
}

CSV=$TMP/ports.csv
echo "round,impl,rules,metric,value" > "$CSV"
row() { echo "$1,$2,$3,$4,$5" >> "$CSV"; }
measure() {	# ROUND IMPL N
	local v
	v=$(in_client timeout 20 "$RR" crr 127.0.0.1 $P "$DUR" 64 2>/dev/null) || v=NA; row "$1" "$2" "$3" crr "$v"
	v=$(in_client timeout 20 "$RR" rr 127.0.0.1 $P "$DUR" 64 2>/dev/null) || v=NA; row "$1" "$2" "$3" rr "$v"
	v=$(in_client timeout 30 iperf3 -c 127.0.0.1 -p $((P + 1)) -t 2 -l 64K -J 2>/dev/null |
		python3 -c 'import json,sys; print("%.3f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e9))' 2>/dev/null) || v=NA
	row "$1" "$2" "$3" tput_64k "${v:-NA}"
}
egress_ns() {	# N: ns per run of the cgpolicy egress program during crr
	local a b
	sysctl -qw kernel.bpf_stats_enabled=1
	a=$(bpftool -j prog show pinned "$PIN/progs/egress")
	in_client timeout 20 "$RR" crr 127.0.0.1 $P "$DUR" 64 >/dev/null 2>&1
	b=$(bpftool -j prog show pinned "$PIN/progs/egress")
	sysctl -qw kernel.bpf_stats_enabled="$OLD_STATS"
	python3 -c 'import json,sys; a=json.loads(sys.argv[1]); b=json.loads(sys.argv[2])
c=b.get("run_cnt",0)-a.get("run_cnt",0); print("%.0f" % ((b.get("run_time_ns",0)-a.get("run_time_ns",0))/c) if c else "NA")' "$a" "$b"
}

LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
for round in $(seq "$REPS"); do
	log "round $round/$REPS (load $(cut -d' ' -f1-3 /proc/loadavg))"
	unload
	measure "$round" none 0
	# cgpolicy's fixed kernel memory: a cold apply of no rules (programs, fixed maps)
	kmem_run "$CGP" apply --pin-path "$PIN" "$TMP/r0/cgp.ini" || die "apply 0"
	km=$(cat "$TMP/kmem")
	[ "$km" != - ] && row "$round" cgpolicy 0 kmem "$km"
	CUR=cgpolicy; unload
	for n in $RULES; do
		for impl in cgpolicy nftables iptables; do
			load "$impl" "$n" > "$TMP/load.out"	# not in a subshell: it sets CUR
			read -r ms km cold < "$TMP/load.out"
			row "$round" "$impl" "$n" apply_ms "$ms"
			row "$round" "$impl" "$n" cold_ms "$cold"
			[ "$km" != - ] && row "$round" "$impl" "$n" kmem "$km"
			measure "$round" "$impl" "$n"
			if [ "$impl" = cgpolicy ]; then
				"$CGP" status --json --pin-path "$PIN" > "$TMP/st.json"
				python3 - "$TMP/st.json" "$round" "$n" >> "$CSV" <<'EOF'
import json, sys
m = json.load(open(sys.argv[1]))["memory"]
for k, v in (("mem_rules", m["maps"]["rules.live"]), ("mem_ports", m["maps"]["ports.live"]),
             ("mem_live", m["live_bytes"]), ("mem_total", m["total_bytes"])):
    print("%s,cgpolicy,%s,%s,%d" % (sys.argv[2], sys.argv[3], k, v))
EOF
				row "$round" cgpolicy "$n" egress_ns "$(egress_ns "$n")"
			fi
		done
	done
	unload
done
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)

python3 - "$CSV" "$RULES" "$REPS" "$LOAD0" "$LOAD1" "$(uname -r)" > "$TMP/ports.md" <<'EOF'
import csv, statistics as st, sys
rows = list(csv.DictReader(open(sys.argv[1])))
sizes = [int(x) for x in sys.argv[2].split()]
def val(r, i, n, m):
    for x in rows:
        if x["round"] == str(r) and x["impl"] == i and x["rules"] == str(n) and x["metric"] == m and x["value"] != "NA":
            return float(x["value"])
    return None
def med(xs):
    xs = [x for x in xs if x is not None]
    return st.median(xs) if xs else None
rounds = range(1, int(sys.argv[3]) + 1)
def ratio(i, n, m):
    return med([val(r, i, n, m) / val(r, "none", 0, m) if val(r, i, n, m) is not None and val(r, "none", 0, m) else None for r in rounds])
def f(x, fmt="%.2f"):
    return "-" if x is None else fmt % x
print("Random-port rule sets (bench/genrules.py --random-ports: random CIDRs, one random port each), "
      "kernel %s, %s round(s), load average %s at the start, %s at the end. Loopback, client and servers "
      "on one CPU; ratios to the same round's no-policy run (1.00 = no cost), median of rounds." %
      (sys.argv[6], sys.argv[3], sys.argv[4], sys.argv[5]))
print()
km0 = med([val(r, "cgpolicy", 0, "kmem") for r in rounds])
def kmem(i, n):
    k = med([val(r, i, n, "kmem") for r in rounds])
    if k is None:
        return None
    return (k - (km0 or 0) if i == "cgpolicy" else k) / 1024
print("| firewall | rules | apply, warm (ms) | from nothing (ms) | new conn/s | req/resp | iperf3 64 KiB | kernel memory of the rules (KiB) |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
print("| no policy (absolute) | - | - | - | %s/s | %s/s | %s Gbit/s | - |" % (
    f(med([val(r, "none", 0, "crr") for r in rounds]), "%.0f"), f(med([val(r, "none", 0, "rr") for r in rounds]), "%.0f"),
    f(med([val(r, "none", 0, "tput_64k") for r in rounds]))))
for n in sizes:
    for i in ("cgpolicy", "nftables", "iptables"):
        print("| %s | %s | %s | %s | %s | %s | %s | %s |" % (i, format(n, ","), f(med([val(r, i, n, "apply_ms") for r in rounds]), "%.0f"),
              f(med([val(r, i, n, "cold_ms") for r in rounds]), "%.0f"),
              f(ratio(i, n, "crr")), f(ratio(i, n, "rr")), f(ratio(i, n, "tput_64k")), f(kmem(i, n), "%.0f")))
print()
print("Kernel memory: what the load left charged to a fresh memory cgroup (memory.kmem.usage_in_bytes; "
      "nf_tables and BPF maps charge the loading task's cgroup), from nothing; cgpolicy less its cold apply "
      "of no rules (%s KiB: programs, flow table, per-slot maps). \"from nothing\": cgpolicy cold (load and verify "
      "the programs, create and pin the maps), nftables and iptables into an empty table/chain." % f(km0 and km0 / 1024, "%.0f"))
print()
print("cgpolicy memory (`status --json` \"memory\", memlock) and egress program cost during crr:")
print()
print("| rules | rule trie (live) | port trie (live) | all maps, live half | all maps | egress ns/run |")
print("|---:|---:|---:|---:|---:|---:|")
for n in sizes:
    k = lambda m: med([val(r, "cgpolicy", n, m) for r in rounds])
    print("| %s | %s KiB | %s KiB | %s KiB | %s KiB | %s |" % (format(n, ","), f(k("mem_rules") and k("mem_rules") / 1024, "%.0f"),
          f(k("mem_ports") and k("mem_ports") / 1024, "%.0f"), f(k("mem_live") and k("mem_live") / 1024, "%.0f"),
          f(k("mem_total") and k("mem_total") / 1024, "%.0f"), f(k("egress_ns"), "%.0f")))
EOF
if [ -n "${BENCH_OUT:-}" ]; then
	mkdir -p "$BENCH_OUT"
	cp "$TMP/ports.md" "$BENCH_OUT/ports.md"
	cp "$CSV" "$BENCH_OUT/ports.csv"
fi
cat "$TMP/ports.md"
