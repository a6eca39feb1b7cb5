#!/bin/bash
# bench/run.sh BUILD - cgpolicy side-by-side benchmarks (what `make bench` runs).
#
#   BENCH_QUICK=1   ~2 minute smoke run (fewer configurations, 1 round, short runs)
#   BENCH_REPS=N    rounds of the traffic benchmarks (default 3; the median is reported)
#   BENCH_OUT=DIR   where results go (default bench/results)
#   BENCH_PERF=0    skip the `perf record` profile
#   BENCH_ONLY="ports sets ..."  run only these of the scripts below (bench/NAME.sh)
#
# Then bench/stats.sh, accel.sh, reuseport.sh, setmem.sh, sets.sh (address set
# memory, `set add` rate and lookups against nftables), ports.sh (random-port rule
# sets at 1,000-100,000 rules against nftables and iptables, with memory) and dns.sh
# (DNS names: resolve + connect against an IP rule, ns per DNS answer parsed); the
# last four are appended to latest.md.
#
# Everything is measured in rounds: each round runs every configuration (no policy,
# cgpolicy, nftables, iptables) back to back, so the baseline shares the machine's
# state with what it is compared to. Results: $BENCH_OUT/latest.csv (every sample),
# latest.md (medians and ratios to the same run's baseline), raw/ (hyperfine JSON,
# perf report).
#
# It creates its own cgroups (cgp-bench-ID under the cgroup2 mount), pin path
# (/sys/fs/bpf/cgpolicy-bench-ID), network namespace and veth pair (198.18.0.0/30),
# nftables table (inet cgpbench_ID) and iptables chain (CGPB_ID, jumped to from
# OUTPUT) and removes all of them on exit, also on failure or Ctrl-C. It never
# touches anything else.
set -u
export LC_ALL=C

BUILD=${1:-build}
HERE=$(cd "$(dirname "$0")" && pwd)
if [ -n "${BENCH_ONLY:-}" ]; then	# a part of the bench only: its own script(s)
	rc=0
	for b in $BENCH_ONLY; do
		[ -f "$HERE/$b.sh" ] || { echo "bench/run.sh: no bench/$b.sh" >&2; exit 2; }
		BENCH_OUT="${BENCH_OUT:-$HERE/results}" bash "$HERE/$b.sh" "$BUILD" || rc=1
	done
	exit $rc
fi
CGP=$(realpath "$BUILD/cgpolicy")
RR=$(realpath "$BUILD/tools/cgp-rr")
QUICK=${BENCH_QUICK:-0}
OUT=${BENCH_OUT:-$HERE/results}
PERF=${BENCH_PERF:-1}
ID="$$"
PIN="/sys/fs/bpf/cgpolicy-bench-$ID"
NS="cgp-bench-$ID"
VH="cgpbh$ID"
VN="cgpbn$ID"
NFT_TABLE="cgpbench_$ID"
IPT_CHAIN="CGPB_$ID"
H_ADDR=198.18.0.1
N_ADDR=198.18.0.2
P_IPERF=15201
P_RR=15202
# Client and servers share one CPU: a request/response then costs CPU time only,
# not cross-CPU wake-ups (which vary by 2x from run to run in a VM), and the other
# CPU absorbs the machine's other work.
CLIENT_CPU=1
SERVER_CPU=1

if [ "$QUICK" = 1 ]; then
	REPS=${BENCH_REPS:-1}
	DUR=1
	RR_DUR=1
	RULES_TRAFFIC="0 10000"
	RULES_OTHERS="10000"
	RULES_OPS="10 10000"
	HF_RUNS=3
else
	REPS=${BENCH_REPS:-3}
	DUR=2
	RR_DUR=1.5
	RULES_TRAFFIC="0 10 1000 10000"
	RULES_OTHERS="10 1000 10000"
	RULES_OPS="10 1000 10000 100000"
	HF_RUNS=10
fi

log() { printf '[bench %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "error: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "benchmarks need root"
[ -x "$CGP" ] || die "$BUILD/cgpolicy not built (make)"
[ -x "$RR" ] || die "$BUILD/tools/cgp-rr not built (make $BUILD/tools/cgp-rr)"
for t in iperf3 nft iptables iptables-restore hyperfine bpftool python3 ip taskset; do
	command -v "$t" >/dev/null || die "$t is missing: make bench-deps (or make deps)"
done
[ "$(nproc)" -ge 2 ] || { CLIENT_CPU=0; SERVER_CPU=0; }
# iperf3 -t takes whole seconds

CGMNT=$(awk '{ for (i = 1; i <= NF; i++) if ($i == "-") { if ($(i+1) == "cgroup2") { print $5; exit } break } }' /proc/self/mountinfo)
[ -n "$CGMNT" ] || die "no cgroup2 mount"
CGREL="/cgp-bench-$ID"
CGROOT="$CGMNT$CGREL"
# nft resolves `socket cgroupv2` paths under /sys/fs/cgroup.
case "$CGMNT" in
/sys/fs/cgroup) NFT_CGPREFIX="" ;;
/sys/fs/cgroup/*) NFT_CGPREFIX="${CGMNT#/sys/fs/cgroup/}/" ;;
*) NFT_CGPREFIX="" ; log "cgroup2 is not under /sys/fs/cgroup: nftables socket cgroupv2 may not resolve" ;;
esac

# One bench at a time: they share the 198.18.0.0/30 addresses and the ports.
exec 9>/run/cgpolicy-bench.lock
flock -n 9 || die "another bench/run.sh is running"

TMPD=$(mktemp -d /tmp/cgpolicy-bench.XXXXXX)
PIDS=()
OLD_BPF_STATS=$(sysctl -n kernel.bpf_stats_enabled 2>/dev/null || echo 0)
IPT_JUMP=0

cleanup() {
	local rc=$? p
	trap - EXIT INT TERM
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	sysctl -qw kernel.bpf_stats_enabled="$OLD_BPF_STATS" 2>/dev/null
	"$CGP" remove --pin-path "$PIN" >/dev/null 2>&1
	rm -rf "$PIN" 2>/dev/null
	rm -f "$PIN-noop"
	nft delete table inet "$NFT_TABLE" 2>/dev/null
	if [ "$IPT_JUMP" = 1 ]; then
		iptables -D OUTPUT -m cgroup --path "$CGREL/client" -j "$IPT_CHAIN" 2>/dev/null
	fi
	iptables -F "$IPT_CHAIN" 2>/dev/null && iptables -X "$IPT_CHAIN" 2>/dev/null
	ip link del "$VH" 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	if [ -d "$CGROOT" ]; then
		local d
		while read -r d; do
			if [ -e "$d/cgroup.kill" ]; then echo 1 > "$d/cgroup.kill" 2>/dev/null
			else xargs -r kill -9 < "$d/cgroup.procs" 2>/dev/null; fi
		done < <(find "$CGROOT" -depth -type d)
		for _ in $(seq 50); do
			find "$CGROOT" -depth -type d -exec rmdir {} + 2>/dev/null
			[ -d "$CGROOT" ] || break
			sleep 0.1
		done
	fi
	rm -rf "$TMPD"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- setup
mkdir -p "$CGROOT/client" "$OUT/raw"
CSV="$TMPD/latest.csv"
echo "section,round,impl,rules,topo,metric,value,unit" > "$CSV"
row() { echo "$*" | tr ' ' ',' >> "$CSV"; }

in_client() {	# run a command in the policed cgroup, on the client CPU
	bash -c 'echo $$ > "$0/cgroup.procs" && exec taskset -c "$1" "${@:2}"' "$CGROOT/client" "$CLIENT_CPU" "$@"
}

log "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), kernel $(uname -r)"
log "generating rule sets (bench/genrules.py, seed 1)"
gen() {	# DIR N SEED [--tweak]
	mkdir -p "$TMPD/$1"
	python3 "$HERE/genrules.py" "$TMPD/$1" "$2" "$3" "$CGREL/client" ${4:-} || die "genrules $2"
	sed -i -e "s#@CGREL@/#$NFT_CGPREFIX#" -e "s/cgpbench/$NFT_TABLE/g" "$TMPD/$1/nft.conf"
	sed -i -e "s/CGPB_OUT/$IPT_CHAIN/g" "$TMPD/$1/ipt.rules"
}
for n in $(echo 0 $RULES_TRAFFIC $RULES_OTHERS $RULES_OPS | tr ' ' '\n' | sort -nu); do
	gen "r$n" "$n" 1
	case " $RULES_OPS " in *" $n "*) gen "r${n}b" "$n" 2 ;; esac
done
gen r10000t 10000 1 --tweak

log "network namespace $NS, veth $VH <-> $VN ($H_ADDR <-> $N_ADDR)"
ip netns add "$NS" || die "ip netns add"
ip link add "$VH" type veth peer name "$VN" netns "$NS" || die "veth"
ip addr add "$H_ADDR/30" dev "$VH"
ip link set "$VH" up
ip -n "$NS" addr add "$N_ADDR/30" dev "$VN"
ip -n "$NS" link set "$VN" up
ip -n "$NS" link set lo up

start_bg() { "$@" >>"$TMPD/servers.log" 2>&1 & PIDS+=($!); }
start_bg taskset -c $SERVER_CPU iperf3 -s -B 127.0.0.1 -p $P_IPERF
start_bg taskset -c $SERVER_CPU "$RR" server 127.0.0.1 $P_RR
start_bg ip netns exec "$NS" taskset -c $SERVER_CPU iperf3 -s -B $N_ADDR -p $P_IPERF
start_bg ip netns exec "$NS" taskset -c $SERVER_CPU "$RR" server $N_ADDR $P_RR
sleep 1

# ---------------------------------------------------------------- configurations
# set_config IMPL N : make IMPL with N rules the one in force (and nothing else).
CUR=none
clear_config() {
	case "$CUR" in
	cgpolicy) "$CGP" remove --pin-path "$PIN" >/dev/null || die "cgpolicy remove" ;;
	nftables) nft delete table inet "$NFT_TABLE" || die "nft delete table" ;;
	iptables)
		iptables -D OUTPUT -m cgroup --path "$CGREL/client" -j "$IPT_CHAIN" || die "iptables -D"
		IPT_JUMP=0
		iptables -F "$IPT_CHAIN" && iptables -X "$IPT_CHAIN" || die "iptables -X" ;;
	esac
	CUR=none
}
set_config() {
	clear_config
	case "$1" in
	none) ;;
	cgpolicy) "$CGP" apply --pin-path "$PIN" "$TMPD/r$2/cgp.ini" >/dev/null || die "cgpolicy apply $2" ;;
	nftables) nft -f "$TMPD/r$2/nft.conf" || die "nft -f $2" ;;
	iptables)
		iptables-restore --noflush "$TMPD/r$2/ipt.rules" || die "iptables-restore $2"
		iptables -I OUTPUT -m cgroup --path "$CGREL/client" -j "$IPT_CHAIN" || die "iptables -I OUTPUT"
		IPT_JUMP=1 ;;
	esac
	CUR=$1
}

# ---------------------------------------------------------------- traffic
addr_of() { [ "$1" = lo ] && echo 127.0.0.1 || echo $N_ADDR; }

iperf() {	# TOPO LEN -> Gbit/s
	local j
	j=$(in_client timeout $((DUR + 15)) iperf3 -c "$(addr_of "$1")" -p $P_IPERF -t "$DUR" -l "$2" -J) || { echo NA; return; }
	python3 -c 'import json,sys; print("%.3f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e9))' <<<"$j" 2>/dev/null || echo NA
}
rr() {	# TOPO rr|crr -> per second
	in_client timeout $((DUR + 10)) "$RR" "$2" "$(addr_of "$1")" $P_RR "$RR_DUR" 64 2>>"$TMPD/client.log" || echo NA
}
METRICS="tput_1k tput_64k rr crr"
measure() {	# TOPO METRIC
	case "$2" in
	tput_1k) iperf "$1" 1K ;;
	tput_64k) iperf "$1" 64K ;;
	rr) rr "$1" rr ;;
	crr) rr "$1" crr ;;
	esac
}
unit_of() { case "$1" in tput_*) echo Gbit/s ;; rr) echo trans/s ;; crr) echo conn/s ;; esac; }

CONFIGS="none:0"
for n in $RULES_TRAFFIC; do CONFIGS="$CONFIGS cgpolicy:$n"; done
for n in $RULES_OTHERS; do CONFIGS="$CONFIGS nftables:$n iptables:$n"; done

for round in $(seq "$REPS"); do
	log "traffic round $round/$REPS: $CONFIGS"
	for c in $CONFIGS; do
		impl=${c%%:*}
		n=${c#*:}
		set_config "$impl" "$n"
		for topo in lo veth; do
			for m in $METRICS; do
				v=$(measure "$topo" "$m")
				row traffic "$round" "$impl" "$n" "$topo" "$m" "$v" "$(unit_of "$m")"
			done
		done
	done
	clear_config
done

# ---------------------------------------------------------------- BPF run time
# A separate pass: bpf_stats add two clock reads to every program run, so the
# throughput figures above are taken without them.
prog_stat() {	# PINNED-PROG -> "run_time_ns run_cnt"
	bpftool -j prog show pinned "$1" |
		python3 -c 'import json,sys; d=json.load(sys.stdin); print(d.get("run_time_ns",0), d.get("run_cnt",0))'
}
log "BPF program run time (kernel.bpf_stats_enabled=1)"
sysctl -qw kernel.bpf_stats_enabled=1
bpf_pass() {	# IMPL N INGRESS-PIN EGRESS-PIN
	local topo m v ti ci te ce ti2 ci2 te2 ce2
	for topo in lo veth; do
		for m in $METRICS; do
			read -r ti ci < <(prog_stat "$3")
			read -r te ce < <(prog_stat "$4")
			v=$(measure "$topo" "$m")
			read -r ti2 ci2 < <(prog_stat "$3")
			read -r te2 ce2 < <(prog_stat "$4")
			if [ "$3" = "$4" ]; then	# one program on both hooks: the sum only
				ti2=$(( (ti2 - ti) / 2 + ti )); ci2=$(( (ci2 - ci) / 2 + ci ))
				te2=$ti2; ce2=$ci2; te=$ti; ce=$ci
			fi
			row bpfstats 1 "$1" "$2" "$topo" "$m" "$v" "$(unit_of "$m")"
			row bpfstats 1 "$1" "$2" "$topo" "${m}_ingress_ns" \
				"$(awk -v t=$((ti2 - ti)) -v c=$((ci2 - ci)) 'BEGIN { printf "%.1f", c ? t / c : 0 }')" ns/run
			row bpfstats 1 "$1" "$2" "$topo" "${m}_egress_ns" \
				"$(awk -v t=$((te2 - te)) -v c=$((ce2 - ce)) 'BEGIN { printf "%.1f", c ? t / c : 0 }')" ns/run
			row bpfstats 1 "$1" "$2" "$topo" "${m}_runs" "$((ci2 - ci + ce2 - ce))" runs
		done
	done
}
# The floor: a program that only returns 1 (bench/noop.bpf.c) on both hooks.
NOOP="$PIN-noop"
if clang -O2 -target bpf -I"/usr/include/$(gcc -dumpmachine)" -c "$HERE/noop.bpf.c" -o "$TMPD/noop.o" &&
	bpftool prog load "$TMPD/noop.o" "$NOOP" type cgroup/skb &&
	bpftool cgroup attach "$CGROOT/client" egress pinned "$NOOP" multi &&
	bpftool cgroup attach "$CGROOT/client" ingress pinned "$NOOP" multi; then
	bpf_pass noop 0 "$NOOP" "$NOOP"
	bpftool cgroup detach "$CGROOT/client" egress pinned "$NOOP"
	bpftool cgroup detach "$CGROOT/client" ingress pinned "$NOOP"
else
	log "could not load bench/noop.bpf.c: no floor measured"
fi
rm -f "$NOOP"
for n in $RULES_TRAFFIC; do
	set_config cgpolicy "$n"
	bpf_pass cgpolicy "$n" "$PIN/progs/ingress" "$PIN/progs/egress"
done
clear_config
sysctl -qw kernel.bpf_stats_enabled="$OLD_BPF_STATS"

# ---------------------------------------------------------------- perf
if [ "$PERF" = 1 ] && [ "$QUICK" != 1 ] && command -v perf >/dev/null; then
	log "perf record: new connections (crr, loopback) with 10,000 cgpolicy rules"
	set_config cgpolicy 10000
	# Only the client (and the kernel work done in its context: on loopback most of
	# the TCP/IP stack and the cgroup_skb programs); the machine is shared.
	in_client perf record -q -g -o "$TMPD/perf.data" -- "$RR" crr 127.0.0.1 $P_RR "$DUR" 64 \
		>/dev/null 2>"$TMPD/perf.err" &
	perfpid=$!
	if wait $perfpid; then
		{
			echo "# perf record -g of the client only, $DUR s, cgp-rr crr on loopback, cgpolicy 10,000 rules; top symbols (self)"
			perf report -i "$TMPD/perf.data" --stdio --no-children --sort sym 2>/dev/null |
				grep -E '^ +[0-9]' | head -40
			echo "# BPF, LPM trie, socket storage and cgroup symbols"
			perf report -i "$TMPD/perf.data" --stdio --no-children --sort sym 2>/dev/null |
				grep -E '^ +[0-9].*(bpf|lpm|trie|sk_storage|cgroup)' | head -20
		} > "$OUT/raw/perf-crr-cgpolicy-10000.txt"
	else
		log "perf record failed: $(tail -1 "$TMPD/perf.err")"
		echo "perf record failed: $(cat "$TMPD/perf.err")" > "$OUT/raw/perf-crr-cgpolicy-10000.txt"
	fi
	clear_config
fi

# ---------------------------------------------------------------- policy operations
hf() {	# NAME RULES RUNS PREPARE COMMAND
	local name=$1 n=$2 runs=$3 prep=$4 cmd=$5 j="$OUT/raw/hyperfine-$1-$2.json"
	local args=(--style none --runs "$runs" --export-json "$j")
	[ -n "$prep" ] && args+=(--prepare "$prep")
	if hyperfine "${args[@]}" "$cmd" >/dev/null 2>>"$TMPD/hyperfine.log"; then
		python3 - "$j" "$name" "$n" >> "$CSV" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
for t in r["times"]:
    print("ops,1,%s,%s,-,wall,%.3f,ms" % (sys.argv[2], sys.argv[3], t * 1000))
EOF
	else
		row ops 1 "$name" "$n" - wall NA ms
		log "hyperfine failed: $cmd (see below)"; tail -3 "$TMPD/hyperfine.log" >&2
	fi
}
log "policy operations (hyperfine)"
C="$CGP --pin-path $PIN"
for n in $RULES_OPS; do
	runs=$HF_RUNS
	[ "$n" -ge 100000 ] && runs=5
	R="$TMPD/r$n"
	hf apply_cold "$n" "$runs" "$C remove" "$C apply $R/cgp.ini"
	hf apply_warm "$n" "$runs" "$C apply ${R}b/cgp.ini" "$C apply $R/cgp.ini"
	hf apply_same "$n" "$runs" "" "$C apply $R/cgp.ini"
	$C remove >/dev/null
	hf nft_load "$n" "$runs" "nft -f ${R}b/nft.conf" "nft -f $R/nft.conf"
	nft delete table inet "$NFT_TABLE"
	hf ipt_restore "$n" "$runs" "iptables-restore --noflush ${R}b/ipt.rules" "iptables-restore --noflush $R/ipt.rules"
	iptables -F "$IPT_CHAIN"; iptables -X "$IPT_CHAIN"
done
# One rule changed in a 10,000-rule policy: cgpolicy re-reads the changed line
# (the record of the last apply) and compiles only its address (or, when a new
# port changes the port classes, the policy whole); nft -f reloads the table;
# nft/iptables can also change the one element/rule in place.
R=$TMPD/r10000
hf onerule_cgpolicy 10000 "$HF_RUNS" "$C apply $R/cgp.ini" "$C apply ${R}t/cgp.ini"
# The same with the first rule's verdict flipped (its ports stay: the classes too).
for n in $RULES_OPS; do
	[ "$n" -ge 10000 ] || continue
	sed -e '6s/^allow =/deny =/;t' -e '6s/^deny =/allow =/' "$TMPD/r$n/cgp.ini" > "$TMPD/r$n/verdict.ini"
	hf onerule_verdict "$n" "$HF_RUNS" "$C apply $TMPD/r$n/cgp.ini" "$C apply $TMPD/r$n/verdict.ini"
done
$C remove >/dev/null
hf onerule_nft_reload 10000 "$HF_RUNS" "nft -f $R/nft.conf" "nft -f ${R}t/nft.conf"
old=$(grep -m1 -E ' : (accept|drop)' "$R/nft.conf" | sed 's/,$//; s/^[[:space:]]*//')
new=$(grep -m1 -E ' : (accept|drop)' "${R}t/nft.conf" | sed 's/,$//; s/^[[:space:]]*//')
hf onerule_nft_element 10000 "$HF_RUNS" "nft -f $R/nft.conf" \
	"nft 'delete element inet $NFT_TABLE rules { $old }; add element inet $NFT_TABLE rules { $new }'"
nft delete table inet "$NFT_TABLE"
newrule=$(sed -n '4p' "${R}t/ipt.rules" | sed "s/^-A $IPT_CHAIN //")
hf onerule_ipt_replace 10000 "$HF_RUNS" "iptables-restore --noflush $R/ipt.rules" "iptables -R $IPT_CHAIN 2 $newrule"
iptables -F "$IPT_CHAIN"; iptables -X "$IPT_CHAIN"

# status with 100 policies (100 cgroups, 10 rules each)
log "status with 100 policies"
{
	for i in $(seq 100); do
		mkdir -p "$CGROOT/s$i"
		sed -n '/^\[client\]/,$p' "$TMPD/r10/cgp.ini" | sed -e "s/^\[client\]/[s$i]/" -e "s#^cgroup = .*#cgroup = $CGREL/s$i#"
	done
} > "$TMPD/status100.ini"
$C apply "$TMPD/status100.ini" >/dev/null || die "apply 100 policies"
hf status 100 "$HF_RUNS" "" "$C status"
hf status_json 100 "$HF_RUNS" "" "$C status --json"
hf apply_same 100pol "$HF_RUNS" "" "$C apply $TMPD/status100.ini"
$C remove >/dev/null

# ---------------------------------------------------------------- report
{
	echo "# machine: nproc=$(nproc) kernel=$(uname -r) cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
	echo "# date=$(date -u +%Y-%m-%dT%H:%M:%SZ) quick=$QUICK reps=$REPS iperf3=${DUR}s cgp-rr=${RR_DUR}s cpu=client+servers on CPU $CLIENT_CPU cgpolicy=$("$CGP" --version 2>/dev/null | head -1) commit=$(git -C "$HERE/.." rev-parse --short HEAD 2>/dev/null)"
	echo "# nft=$(nft --version) iptables=$(iptables --version) iperf3=$(iperf3 --version | head -1 | cut -d' ' -f2) hyperfine=$(hyperfine --version | cut -d' ' -f2)"
	cat "$CSV"
} > "$OUT/latest.csv"
python3 "$HERE/report.py" "$OUT/latest.csv" > "$OUT/latest.md" || die "report"
log "results: $OUT/latest.md, $OUT/latest.csv"
cat "$OUT/latest.md"

# ------------------------------------------- the other features' benchmarks
# Each writes its own table next to latest.md (they create and clean up their
# own cgroups, pins and servers); the address set ones are also appended to
# latest.md.
for b in stats accel reuseport setmem sets ports dns; do
	log "bench/$b.sh"
	if BENCH_OUT="$OUT" bash "$HERE/$b.sh" "$BUILD"; then
		case $b in
		sets | dns) { echo; cat "$OUT/$b.md"; } >> "$OUT/latest.md" ;;
		ports) { echo; echo "## Random-port rule sets (bench/ports.sh)"
			echo; cat "$OUT/ports.md"; } >> "$OUT/latest.md" ;;
		setmem) { echo; echo "## Address sets: memory and \`set add\` rate (bench/setmem.sh)"
			echo; cat "$OUT/setmem.md"; } >> "$OUT/latest.md" ;;
		esac
	else
		log "bench/$b.sh failed"
		echo -e "\n## bench/$b.sh failed (see the log of make bench)" >> "$OUT/latest.md"
	fi
done
