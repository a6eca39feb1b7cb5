#!/bin/bash
# bench/sets.sh [BUILD] - address set lookups at 100,000 members, cgpolicy against an
# nftables set of the same members, same traffic, same run (`make bench` runs it).
#
# The set (bench/genset.py, seed 1): SET_N (default 100,000) IPv4 members, 1% random
# prefixes /16../28 and random /32s, and the "member" address 198.18.14.2. Traffic from
# a process in the policed cgroup to a server in a network namespace over a veth pair
# (host 198.18.14.1), either to 198.18.14.2 (a member) or to 198.18.14.3 (not a member):
#   crr   tools/cgp-rr crr: a new TCP connection per request (cgpolicy and nftables
#         look the set up once per connection: cgpolicy judges a TCP connection once,
#         the stateless nftables rules on each of its packets)
#   udp   bench/udprr.c: 64-byte UDP request/response on one socket (looked up on
#         every datagram by both)
# Configurations, each with the destination it lets through:
#   none            no policy (the baseline, both destinations)
#   cgp_allow       `allow = out tcp @big port P` (and udp) under default_egress = deny -> member
#   cgp_deny        `deny = out tcp @big port P` (and udp) under default allow         -> non-member
#   cgp_dyn_allow, cgp_dyn_deny   the same with `dynamic = yes` (the members in the
#                   dynamic sets' trie instead of the rule trie)
#   nft_allow       `ip daddr @big tcp dport P accept` (and udp), then `drop`          -> member
#   nft_deny        `ip daddr @big tcp dport P drop` (and udp), else accept           -> non-member
#   nft_ct_allow, nft_ct_deny     the same after `ct state established,related accept`
#                   (what a stateful ruleset does: the set only for a flow's first packet)
# The nftables set is `type ipv4_addr; flags interval` (the members include prefixes),
# its chain is jumped to from the output hook by `socket cgroupv2` of the client cgroup
# (a regular chain ending in `drop` is the "policy drop" of that cgroup only). Every
# configuration is checked to refuse the other destination (UDP send) before it is
# measured. Rounds: each round loads every configuration in turn (and `none`: nothing
# loaded, the noise floor, ~1.00) and, while it is loaded, alternates PAIRS times a
# run from the policed cgroup and one from an unpoliced sibling cgroup (which goes
# first alternates) (the no-policy
# baseline, same destination, a second apart): on a busy machine an adjacent baseline
# is steadier than one per round. The unpoliced runs still pass nftables' output hook
# (`socket cgroupv2` does not match: a few ns), not cgpolicy's programs (attached to
# the client cgroup only). A figure is the median over rounds of (median of the
# configuration's runs / median of its baseline runs) of that round.
#
#   BENCH_QUICK=1   1 round, 2 pairs of 0.5 s runs (3 rounds, 3 pairs of 1 s by default)
#   BENCH_REPS=N    rounds (default 3)
#   BENCH_OUT=DIR   results: DIR/sets.md and DIR/sets.csv (default bench/results)
#   SET_N=N         members (default 100000)
#
# Creates its own cgroup (cgp-bsets-ID), pin path (/sys/fs/bpf/cgpolicy-bsets-ID),
# network namespace (cgp-bsets-ID) and veth pair (cgpsh/cgpsnID, 198.18.14.0/29),
# nftables table (inet cgpbsets_ID), servers and temp dir, and removes them on exit,
# also on failure or Ctrl-C. One run at a time (/run/cgpolicy-bench-sets.lock).
set -u
export LC_ALL=C

BUILD=${1:-build}
HERE=$(cd "$(dirname "$0")" && pwd)
CGP=$(realpath "$BUILD/cgpolicy")
RR=$(realpath "$BUILD/tools/cgp-rr")
QUICK=${BENCH_QUICK:-0}
OUT=${BENCH_OUT:-$HERE/results}
N=${SET_N:-100000}
ID=$$
PIN=/sys/fs/bpf/cgpolicy-bsets-$ID
NS=cgp-bsets-$ID
VH=cgpsh$ID
VN=cgpsn$ID
NFT_TABLE=cgpbsets_$ID
H_ADDR=198.18.14.1
MEMBER=198.18.14.2
NONMEMBER=198.18.14.3
P_TCP=15411
P_UDP=15412
CPU=1
if [ "$QUICK" = 1 ]; then
	REPS=${BENCH_REPS:-1}
	DUR=0.5
	PAIRS=2
else
	REPS=${BENCH_REPS:-3}
	DUR=1
	PAIRS=3
fi

log() { printf '[sets %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "error: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "benchmarks need root"
[ -x "$CGP" ] || die "$BUILD/cgpolicy not built (make)"
[ -x "$RR" ] || die "$BUILD/tools/cgp-rr not built (make $BUILD/tools/cgp-rr)"
for t in nft python3 ip taskset cc; do
	command -v "$t" >/dev/null || die "$t is missing: make bench installs BENCH_PKGS"
done
[ "$(nproc)" -ge 2 ] || CPU=0

CGMNT=$(awk '{ for (i = 1; i <= NF; i++) if ($i == "-") { if ($(i+1) == "cgroup2") { print $5; exit } break } }' /proc/self/mountinfo)
[ -n "$CGMNT" ] || die "no cgroup2 mount"
CGREL=/cgp-bsets-$ID
CGROOT=$CGMNT$CGREL
case "$CGMNT" in	# nft resolves `socket cgroupv2` paths under /sys/fs/cgroup
/sys/fs/cgroup) NFT_CG="${CGREL#/}/client" ;;
/sys/fs/cgroup/*) NFT_CG="${CGMNT#/sys/fs/cgroup/}$CGREL/client" ;;
*) NFT_CG="${CGREL#/}/client"; log "cgroup2 is not under /sys/fs/cgroup: socket cgroupv2 may not resolve" ;;
esac
NFT_LEVEL=2	# of $CGREL/client in the cgroup2 hierarchy

exec 8>/run/cgpolicy-bench-sets.lock
flock -n 8 || die "another bench/sets.sh is running"

TMPD=$(mktemp -d /tmp/cgpolicy-bsets.XXXXXX)
PIDS=()
cleanup() {
	local rc=$? p d
	trap - EXIT INT TERM
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	[ -n "${OLD_BPF_STATS:-}" ] && sysctl -qw kernel.bpf_stats_enabled="$OLD_BPF_STATS" 2>/dev/null
	"$CGP" remove --pin-path "$PIN" >/dev/null 2>&1
	rm -rf "$PIN" 2>/dev/null
	nft delete table inet "$NFT_TABLE" 2>/dev/null
	ip link del "$VH" 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	if [ -d "$CGROOT" ]; then
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
mkdir -p "$CGROOT/client" "$CGROOT/base" "$OUT"
UDPRR=$TMPD/udprr
cc -O2 -Wall -o "$UDPRR" "$HERE/udprr.c" || die "cc bench/udprr.c"
log "generating the $N-member set (bench/genset.py, seed 1)"
python3 "$HERE/genset.py" "$N" 1 "$MEMBER" 198.18.14.0/29 > "$TMPD/members.txt" || die "genset"

cgp_policy() {	# FILE allow|deny DYNAMIC
	{
		echo "[set big]"
		[ "$3" = yes ] && echo "dynamic = yes"
		sed 's/^/address = /' "$TMPD/members.txt"
		echo
		echo "[client]"
		echo "cgroup = $CGREL/client"
		[ "$2" = allow ] && echo "default_egress = deny"
		echo "$2 = out tcp @big port $P_TCP"
		echo "$2 = out udp @big port $P_UDP"
	} > "$1"
}
nft_conf() {	# FILE accept|drop CT
	{
		echo "table inet $NFT_TABLE {"
		echo "  set big {"
		echo "    type ipv4_addr; flags interval;"
		echo "    elements = {"
		paste -sd, "$TMPD/members.txt"
		echo "    }"
		echo "  }"
		echo "  chain output {"
		echo "    type filter hook output priority 0; policy accept;"
		echo "    socket cgroupv2 level $NFT_LEVEL \"$NFT_CG\" jump pol"
		echo "  }"
		echo "  chain pol {"
		[ "$3" = yes ] && echo "    ct state established,related accept"
		echo "    ip daddr @big tcp dport $P_TCP $2"
		echo "    ip daddr @big udp dport $P_UDP $2"
		[ "$2" = accept ] && echo "    drop"
		echo "  }"
		echo "}"
	} > "$1"
}
cgp_addr() {	# allow|deny ADDRESS > FILE: the same rules on one address, no set
	printf '[client]\ncgroup = %s/client\n' "$CGREL"
	[ "$1" = allow ] && echo "default_egress = deny"
	echo "$1 = out tcp $2 port $P_TCP"
	echo "$1 = out udp $2 port $P_UDP"
}
cgp_addr allow "$MEMBER" > "$TMPD/cgp_addr_allow.ini"
cgp_addr deny "$MEMBER" > "$TMPD/cgp_addr_deny.ini"
cgp_policy "$TMPD/cgp_allow.ini" allow no
cgp_policy "$TMPD/cgp_deny.ini" deny no
cgp_policy "$TMPD/cgp_dyn_allow.ini" allow yes
cgp_policy "$TMPD/cgp_dyn_deny.ini" deny yes
nft_conf "$TMPD/nft_allow.conf" accept no
nft_conf "$TMPD/nft_deny.conf" drop no
nft_conf "$TMPD/nft_ct_allow.conf" accept yes
nft_conf "$TMPD/nft_ct_deny.conf" drop yes

log "network namespace $NS, veth $VH <-> $VN ($H_ADDR <-> $MEMBER, $NONMEMBER)"
ip netns add "$NS" || die "ip netns add"
ip link add "$VH" type veth peer name "$VN" netns "$NS" || die "veth"
ip addr add "$H_ADDR/29" dev "$VH"
ip link set "$VH" up
ip -n "$NS" addr add "$MEMBER/29" dev "$VN"
ip -n "$NS" addr add "$NONMEMBER/29" dev "$VN"
ip -n "$NS" link set "$VN" up
ip -n "$NS" link set lo up

start_bg() { "$@" >>"$TMPD/servers.log" 2>&1 & PIDS+=($!); }
start_bg ip netns exec "$NS" taskset -c $CPU "$RR" server 0.0.0.0 $P_TCP
# one UDP server per address: a wildcard one would answer from the primary address
start_bg ip netns exec "$NS" taskset -c $CPU "$UDPRR" server $MEMBER $P_UDP
start_bg ip netns exec "$NS" taskset -c $CPU "$UDPRR" server $NONMEMBER $P_UDP

in_cg() {	# CGROUP COMMAND...: run it in $CGROOT/CGROUP, on the client CPU
	bash -c 'echo $$ > "$0/cgroup.procs" && exec taskset -c "$1" "${@:2}"' "$CGROOT/$1" "$CPU" "${@:2}"
}
in_client() { in_cg client "$@"; }
udp_ok() { in_client timeout 5 "$UDPRR" rr "$1" $P_UDP 0.05 >/dev/null 2>&1; }
# servers up (wait with a deadline)
for _ in $(seq 100); do
	udp_ok "$MEMBER" && udp_ok "$NONMEMBER" && in_client timeout 5 "$RR" crr "$MEMBER" $P_TCP 0.05 >/dev/null 2>&1 && break
	sleep 0.1
done
udp_ok "$MEMBER" && udp_ok "$NONMEMBER" || die "servers in $NS do not answer: $(cat "$TMPD/servers.log")"

# ---------------------------------------------------------------- configurations
CUR=none
clear_config() {
	case "$CUR" in
	cgp_*) "$CGP" remove --pin-path "$PIN" >/dev/null || die "cgpolicy remove" ;;
	nft_*) nft delete table inet "$NFT_TABLE" || die "nft delete table" ;;
	esac
	CUR=none
}
set_config() {	# CONFIG
	clear_config
	case "$1" in
	cgp_*) "$CGP" apply --pin-path "$PIN" "$TMPD/$1.ini" >"$TMPD/apply.log" 2>&1 ||
		die "cgpolicy apply $1: $(tail -3 "$TMPD/apply.log")" ;;
	nft_*) nft -f "$TMPD/$1.conf" || die "nft -f $1" ;;
	esac
	CUR=$1
}
pass_of() { case "$1" in *allow) echo "$MEMBER" ;; *deny) echo "$NONMEMBER" ;; esac; }
block_of() { case "$1" in *allow) echo "$NONMEMBER" ;; *deny) echo "$MEMBER" ;; esac; }
dest_name() { [ "$1" = "$MEMBER" ] && echo member || echo nonmember; }

CSV=$TMPD/sets.csv
echo "round,config,dest,metric,cgroup,pair,value,unit" > "$CSV"
order() { [ $(($1 % 2)) = 1 ] && echo client base || echo base client; }
measure() {	# CONFIG DEST: PAIRS x (policed run, unpoliced run) of each metric
	local d v k cg
	d=$(dest_name "$2")
	for k in $(seq "$PAIRS"); do
		for cg in $(order "$k"); do
			v=$(in_cg $cg timeout 15 "$RR" crr "$2" $P_TCP "$DUR" 64 2>>"$TMPD/client.log") || v=NA
			echo "$round,$1,$d,crr,$cg,$k,$v,conn/s" >> "$CSV"
		done
	done
	for k in $(seq "$PAIRS"); do
		for cg in $(order "$k"); do
			v=$(in_cg $cg timeout 15 "$UDPRR" rr "$2" $P_UDP "$DUR" 64 2>>"$TMPD/client.log") || v=NA
			echo "$round,$1,$d,udp_rr,$cg,$k,$v,trans/s" >> "$CSV"
		done
	done
}

CONFIGS="cgp_allow cgp_deny cgp_dyn_allow cgp_dyn_deny nft_allow nft_deny nft_ct_allow nft_ct_deny"
for round in $(seq "$REPS"); do
	log "round $round/$REPS: none $CONFIGS"
	clear_config
	measure none "$MEMBER"
	measure none "$NONMEMBER"
	for c in $CONFIGS; do
		set_config "$c"
		# the set is in force: the other destination is refused
		udp_ok "$(block_of "$c")" && die "$c lets $(block_of "$c") through: the set is not in force"
		udp_ok "$(pass_of "$c")" || die "$c refuses $(pass_of "$c")"
		measure "$c" "$(pass_of "$c")"
	done
	clear_config
done

# ---------------------------------------------------------------- bpf_stats
# cgpolicy only: ns per run of the egress program (kernel.bpf_stats_enabled=1, the
# median of PAIRS runs of each metric), with the set and with the same rules on one address (no set):
# the difference is what the set costs per lookup. A separate pass: the stats add
# two clock reads per run.
prog_stat() {	# PINNED-PROG -> "run_time_ns run_cnt"
	bpftool -j prog show pinned "$1" |
		python3 -c 'import json,sys; d=json.load(sys.stdin); print(d.get("run_time_ns",0), d.get("run_cnt",0))'
}
if command -v bpftool >/dev/null; then
	log "cgpolicy egress program run time (kernel.bpf_stats_enabled=1)"
	OLD_BPF_STATS=$(sysctl -n kernel.bpf_stats_enabled 2>/dev/null || echo 0)
	sysctl -qw kernel.bpf_stats_enabled=1
	round=bpf
	for c in cgp_addr_allow cgp_addr_deny cgp_allow cgp_deny cgp_dyn_allow cgp_dyn_deny; do
		set_config "$c"
		d=$(pass_of "$c")
		for k in $(seq "$PAIRS"); do
		for m in crr udp_rr; do
			read -r t0 n0 < <(prog_stat "$PIN/progs/egress")
			if [ $m = crr ]; then
				in_client timeout 15 "$RR" crr "$d" $P_TCP "$DUR" 64 >/dev/null 2>>"$TMPD/client.log"
			else
				in_client timeout 15 "$UDPRR" rr "$d" $P_UDP "$DUR" 64 >/dev/null 2>>"$TMPD/client.log"
			fi
			read -r t1 n1 < <(prog_stat "$PIN/progs/egress")
			echo "bpf,$c,$(dest_name "$d"),$m,egress_ns,$k,$(awk -v t=$((t1 - t0)) -v n=$((n1 - n0)) 'BEGIN { printf "%.1f", n ? t / n : 0 }'),ns/run" >> "$CSV"
		done
		done
	done
	clear_config
	sysctl -qw kernel.bpf_stats_enabled="$OLD_BPF_STATS"
fi

# ---------------------------------------------------------------- report
{
	echo "# machine: nproc=$(nproc) kernel=$(uname -r) load=$(cut -d' ' -f1-3 /proc/loadavg)"
	echo "# date=$(date -u +%Y-%m-%dT%H:%M:%SZ) quick=$QUICK reps=$REPS runs=${DUR}s pairs=$PAIRS members=$N nft=$(nft --version | cut -d' ' -f2) commit=$(git -C "$HERE/.." rev-parse --short HEAD 2>/dev/null)"
	cat "$CSV"
} > "$OUT/sets.csv"
python3 - "$OUT/sets.csv" > "$OUT/sets.md" <<'EOF' || die "report"
import csv, statistics, sys
from collections import defaultdict
head, lines = [], []
for line in open(sys.argv[1]):
    if line.startswith("#"):
        head.append(line[1:].strip())
    else:
        lines.append(line)
runs = defaultdict(list)    # (config, dest, metric, cgroup, round) -> [values]
for r in csv.DictReader(lines):
    try:
        runs[(r["config"], r["dest"], r["metric"], r["cgroup"], r["round"])].append(float(r["value"]))
    except ValueError:
        pass
def med(xs):
    xs = list(xs)
    return statistics.median(xs) if xs else None
def fmt(x, nd=2):
    return "n/a" if x is None else ("{:,.0f}".format(x) if x >= 1000 else ("{:.%df}" % nd).format(x))
metrics = [("crr", "new TCP conn/s (cgp-rr crr)"), ("udp_rr", "UDP req/resp (udprr)")]
names = [
    ("none", "member", "nothing loaded (noise floor: both runs unpoliced)"),
    ("none", "nonmember", "nothing loaded (noise floor: both runs unpoliced)"),
    ("cgp_allow", "member", "cgpolicy `allow = out tcp/udp @big port P`, default_egress = deny"),
    ("cgp_deny", "nonmember", "cgpolicy `deny = out tcp/udp @big port P`, default allow"),
    ("cgp_dyn_allow", "member", "cgpolicy, the same allow with `dynamic = yes`"),
    ("cgp_dyn_deny", "nonmember", "cgpolicy, the same deny with `dynamic = yes`"),
    ("nft_allow", "member", "nftables `ip daddr @big tcp/udp dport P accept`, then drop"),
    ("nft_deny", "nonmember", "nftables `ip daddr @big tcp/udp dport P drop`"),
    ("nft_ct_allow", "member", "nftables allow after `ct state established,related accept`"),
    ("nft_ct_deny", "nonmember", "nftables deny after `ct state established,related accept`"),
]
out = ["## Address sets: lookups at %s members (bench/sets.sh)" % next(
    (h.split("members=")[1].split()[0] for h in head if "members=" in h), "?"), ""]
out += ["    " + h for h in head] + [""]
out.append("Ratio to no policy: runs from the policed cgroup against runs from an unpoliced"
           " sibling cgroup, alternated while the configuration is loaded, same destination"
           " (median over rounds of the per-round ratios of medians; 1.00 = no cost). Destination: member (in the set) or non-member (the set is looked"
           " up and misses); netns + veth, client and servers on one CPU.")
out.append("")
out.append("| configuration | destination | " + " | ".join(m[1] for m in metrics) + " |")
out.append("|---|---|" + "---:|" * len(metrics))
rounds = sorted({k[4] for k in runs if k[4] != "bpf"})
for d in ("member", "nonmember"):
    out.append("| no policy (absolute: every unpoliced run) | %s | %s |" % (d.replace("nonmember", "non-member"), " | ".join(
        fmt(med(x for k, xs in runs.items() if k[1] == d and k[2] == m and k[3] == "base"
                for x in xs)) + "/s" for m, _ in metrics)))
for c, d, label in names:
    cells = []
    for m, _ in metrics:
        ratios = []
        for rd in rounds:
            a, b = med(runs.get((c, d, m, "client", rd), [])), med(runs.get((c, d, m, "base", rd), []))
            if a is not None and b:
                ratios.append(a / b)
        cells.append(fmt(med(ratios)))
    out.append("| %s | %s | %s |" % (label, d.replace("nonmember", "non-member"), " | ".join(cells)))
bpf = [(k, med(xs)) for k, xs in runs.items() if k[4] == "bpf"]
if bpf:
    out += ["", "cgpolicy egress program, ns per run (kernel.bpf_stats_enabled=1, median of %d runs of each"
            " metric;" % max(len(xs) for k, xs in runs.items() if k[4] == "bpf") + " a TCP connection's egress packets after the first take the cached verdict,"
            " so the crr figure averages one lookup over several packets; every UDP datagram is"
            " looked up). The address rows are the same rules on the one address, no set.", ""]
    out.append("| configuration | destination | new TCP conn (crr) ns/run | UDP req/resp ns/run |")
    out.append("|---|---|---:|---:|")
    label = dict((c, l) for c, _, l in names)
    label["cgp_addr_allow"] = "cgpolicy `allow = out tcp/udp 198.18.14.2 port P`, default_egress = deny (no set)"
    label["cgp_addr_deny"] = "cgpolicy `deny = out tcp/udp 198.18.14.2 port P`, default allow (no set)"
    for c in ("cgp_addr_allow", "cgp_addr_deny", "cgp_allow", "cgp_deny", "cgp_dyn_allow", "cgp_dyn_deny"):
        ds = {k[1] for k, _ in bpf if k[0] == c}
        for d in sorted(ds):
            cells = [fmt(dict(((k[0], k[1], k[2]), x) for k, x in bpf).get((c, d, m)), 1) for m, _ in metrics]
            out.append("| %s | %s | %s |" % (label[c], d.replace("nonmember", "non-member"), " | ".join(cells)))
print("\n".join(out))
EOF
log "results: $OUT/sets.md, $OUT/sets.csv"
cat "$OUT/sets.md"
