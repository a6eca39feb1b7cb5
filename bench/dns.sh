#!/bin/bash
# bench/dns.sh [BUILD] - DNS names (`allow = out tcp NAME port P`): what learning
# addresses from DNS answers costs (`make bench` runs it).
#
# 1. "resolve + connect" latency: a python client (tests/e2e/helpers/dnsclient.py
#    loop) in a cgroup resolves a fresh name through libc (getaddrinfo: A + AAAA
#    over UDP to dnsmasq), connects to its first address and reads a hello, one
#    name after the other; per try: microseconds. Configurations, each its own
#    cgroup, all loaded at once, interleaved try by try (the client moves itself
#    from cgroup to cgroup: the same machine state for all three):
#      none   no policy
#      ip     default_egress = deny, DNS allowed, `allow = out tcp 127.1.0.0/16 port P`
#      name   the same with `allow = out tcp *.rot.test port P` instead: every answer
#             is parsed in the kernel and its address learned before the connect
#    Figures: p50 and p90 over all rounds, and name/ip, ip/none (p50).
# 2. ns per DNS packet: kernel.bpf_stats_enabled=1 (restored on exit), the
#    run_time_ns / run_cnt of the policy's cgroup_skb ingress and egress programs
#    over N resolutions (getaddrinfo AF_INET only, no connect: the traffic is one
#    A query and its answer with one record) from the name cgroup (parsed,
#    learned) and from the ip cgroup (the same programs and packets, no name
#    rule: not parsed), and from the name cgroup again for names of no rule
#    (parsed, nothing learned) and for the same 100 names over and over
#    (learned before: the entries are updated), alternating in blocks of 100.
#    The difference per run is the parser's cost per answer (ingress) and the
#    query recording's per query (egress).
#
#   BENCH_QUICK=1   1 round of 100 names a configuration, 500 resolutions for the stats
#                   (default 3 rounds of 300, 2000; BENCH_DNS_STAT=N: the latter)
#   BENCH_REPS=N    rounds
#   BENCH_OUT=DIR   results: DIR/dns.md, DIR/dns.csv (default bench/results)
#
# Runs in a network and mount namespace of its own (tests/e2e/dnslib.sh: dnsmasq
# on 127.0.53.1, a test resolv.conf); its cgroups, pin path and temp dir are
# tests/e2e/lib.sh's (cgpolicy-test-cgptPID), removed on exit, also on failure.
set -u
export LC_ALL=C
BUILD=${1:-build}
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=$(realpath "$BUILD")
export BUILD CGP="$BUILD/cgpolicy"
. "$HERE/../tests/e2e/lib.sh"
. "$HERE/../tests/e2e/dnslib.sh"
dns_enter "$@"
OUT=${BENCH_OUT:-$HERE/results}
if [ "${BENCH_QUICK:-0}" = 1 ]; then
	REPS=${BENCH_REPS:-1} N=100 NSTAT=${BENCH_DNS_STAT:-500}
else
	REPS=${BENCH_REPS:-3} N=300 NSTAT=${BENCH_DNS_STAT:-2000}
fi

log() { printf '[bench dns %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "error: $*"; exit 1; }
command -v bpftool >/dev/null || die "bpftool is missing (make bench-deps)"
e2e_init
mkdir -p "$OUT"

STATS_OLD=$(sysctl -n kernel.bpf_stats_enabled)
restore() {
	local rc=$?
	sysctl -qw kernel.bpf_stats_enabled="$STATS_OLD"
	(exit "$rc")
	e2e_cleanup
}
trap restore EXIT

P=$(rand_port)
mkcg none >/dev/null
mkcg free >/dev/null
CG_IP=$(mkcg ip)
CG_NAME=$(mkcg name)
STEP=100	# names a block of the program stats; b1..b100: the "again" block
TOTAL=$((STEP + 3 * REPS * N + 3 * NSTAT))
for i in $(seq 1 "$TOTAL"); do
	echo "host-record=b$i.rot.test,127.1.$((i / 250)).$((i % 250 + 1))"
	echo "host-record=b$i.other.test,127.2.$((i / 250)).$((i % 250 + 1))"
done > "$TMPD/dnsmasq.lines"
: > "$TMPD/zone"
DNS_LOG_QUERIES=0 dns_world "$TMPD/dnsmasq.lines" "$TMPD/zone" || die "the DNS world did not come up"
hello_start free "$P" || die "hello server"

POL=$(write_policy dns-bench.ini <<EOT
[agent]
dns_servers = $DNS_RESOLVER
stats_interval = 0

[ip]
cgroup = $CG_IP
default_egress = deny
allow = out udp $DNS_RESOLVER port 53
allow = out tcp $DNS_RESOLVER port 53
allow = out tcp 127.1.0.0/16 port $P

[name]
cgroup = $CG_NAME
default_egress = deny
allow = out udp $DNS_RESOLVER port 53
allow = out tcp $DNS_RESOLVER port 53
allow = out tcp *.rot.test port $P
EOT
)
out=$(cgp apply "$POL" 2>&1) || die "apply: $out"

# --- 1. resolve + connect ---
# One client process moves itself from cgroup to cgroup before each try (a
# socket belongs to the cgroup of the process that creates it), so the three
# configurations are interleaved try by try and share every change of the
# machine's load; a dial that fails ends the run (dnsclient.py cycle).
CSV=$TMPD/dns.csv
echo "round,config,us" > "$CSV"
next=$((STEP + 1))
for r in $(seq 1 "$REPS"); do
	log "round $r/$REPS: $N names a configuration, interleaved"
	res=$(in_cg free python3 "$E2E_HELPERS/dnsclient.py" cycle "b%d.rot.test" "$next" "$N" "$P" "$TMPD/t.$r" \
		"$CGROOT/none" "$CGROOT/ip" "$CGROOT/name" 2>&1)
	[ "$res" = "ok=$((3 * N))" ] || die "round $r: $res"
	sed "s/^/$r,/" "$TMPD/t.$r" >> "$CSV"
	next=$((next + 3 * N))
done

# --- 2. ns per DNS packet (program stats) ---
prog_ids() {	# CG DIR: the cgroup_skb program ids attached to CG for ingress|egress
	bpftool cgroup show "$CGROOT/$1" 2>/dev/null | awk -v d="$2" '$0 ~ "cgroup_inet_" d { print $1 }'
}
prog_stat() {	# IDS...: "run_time_ns run_cnt" summed
	local id t=0 c=0 rt rc
	for id in "$@"; do
		read -r rt rc < <(bpftool prog show id "$id" --json | python3 -c \
			'import json,sys; d=json.load(sys.stdin); print(d.get("run_time_ns", 0), d.get("run_cnt", 0))')
		t=$((t + rt)); c=$((c + rc))
	done
	echo "$t $c"
}
sysctl -qw kernel.bpf_stats_enabled=1
# ... and a BPF_ENABLE_STATS fd held for the measurement: the sysctl is the
# machine's, and another benchmark restoring it to 0 would stop the counting
python3 - >"$TMPD/stats.out" 2>&1 <<'EOF' &
import ctypes, platform, signal, sys
nr = {"x86_64": 321, "aarch64": 280}.get(platform.machine())
attr = ctypes.create_string_buffer(16)		# enable_stats.type = BPF_STATS_RUN_TIME (0)
libc = ctypes.CDLL(None, use_errno=True)
fd = libc.syscall(nr, 32, attr, 16) if nr else -1	# BPF_ENABLE_STATS
print("held" if fd >= 0 else "no BPF_ENABLE_STATS fd (errno %d): the sysctl only" % ctypes.get_errno(), flush=True)
if fd >= 0:
    signal.pause()
EOF
PIDS+=($!)
wait_until 30 '[ -s "$TMPD/stats.out" ]'
log "bpf stats: $(cat "$TMPD/stats.out")"
declare -A PER=([name]="0 0 0 0" [nomatch]="0 0 0 0" [again]="0 0 0 0" [ip]="0 0 0 0")
resolve() {	# CG FIRST DOMAIN: getaddrinfo AF_INET of bFIRST.. b(FIRST+STEP-1).DOMAIN.test
	in_cg "$1" python3 -c '
import socket, sys
for i in range(int(sys.argv[1]), int(sys.argv[2])):
    socket.getaddrinfo("b%d.%s.test" % (i, sys.argv[3]), 80, socket.AF_INET, socket.SOCK_STREAM)' \
		"$2" $(($2 + STEP)) "$3"
}
resolve name 1 rot || die "resolutions from name"	# learns b1..b100: "again" updates them
for r in $(seq 1 $((NSTAT / STEP))); do
	for k in name nomatch again ip; do
		c=$k dom=rot first=$next
		case $k in
		nomatch) c=name dom=other ;;	# parsed, the question matches no name
		again) c=name first=1 ;;	# learned before: the same entries updated
		esac

		mapfile -t ing < <(prog_ids "$c" ingress)
		mapfile -t egr < <(prog_ids "$c" egress)
		[ "${#ing[@]}" -gt 0 ] || die "no ingress program on $c: $(bpftool cgroup show "$CGROOT/$c")"
		read -r it0 ic0 < <(prog_stat "${ing[@]}")
		read -r et0 ec0 < <(prog_stat "${egr[@]}")
		resolve "$c" "$first" "$dom" || die "resolutions from $c ($k)"
		[ "$k" = again ] || next=$((next + STEP))
		read -r it1 ic1 < <(prog_stat "${ing[@]}")
		read -r et1 ec1 < <(prog_stat "${egr[@]}")
		read -r a b d e <<<"${PER[$k]}"
		PER[$k]="$((a + it1 - it0)) $((b + ic1 - ic0)) $((d + et1 - et0)) $((e + ec1 - ec0))"
	done
done
log "ingress ns, runs, egress ns, runs: name ${PER[name]}; nomatch ${PER[nomatch]}; again ${PER[again]}; ip ${PER[ip]}"
learned=$(cgp status --json | python3 "$HERE/../tests/e2e/helpers/dnsstatus.py" counter name learned)

# --- report ---
python3 - "$CSV" "${PER[name]}" "${PER[ip]}" "$learned" "$REPS" "$N" "$NSTAT" "${PER[nomatch]}" "${PER[again]}" > "$OUT/dns.md" <<'EOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
name, ip, nomatch, again = [list(map(int, a.split())) for a in sys.argv[2:4] + sys.argv[8:10]]
learned, reps, n, nstat = sys.argv[4:8]
def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(p * len(v)))]
us = {c: [int(r["us"]) for r in rows if r["config"] == c] for c in ("none", "ip", "name")}
p50 = {c: pct(v, 0.5) for c, v in us.items()}
print("## DNS names: resolve + connect (bench/dns.sh)\n")
print("%s rounds x %s fresh names a configuration; python getaddrinfo (A + AAAA from dnsmasq "
      "over UDP) + connect + hello, the three configurations interleaved try by try, microseconds.\n" % (reps, n))
print("| config | p50 us | p90 us | p50 / ip |")
print("|---|---|---|---|")
for c in ("none", "ip", "name"):
    print("| %s | %d | %d | %.2f |" % (c, p50[c], pct(us[c], 0.9), p50[c] / p50["ip"]))
def per(a):
    return (a[0] / a[1] if a[1] else 0.0, a[1], a[2] / a[3] if a[3] else 0.0, a[3])
ni, nc, ne, nq = per(name)
ii, ic, ie, iq = per(ip)
mi, mc, me, mq = per(nomatch)
ai, ac, ae, aq = per(again)
print("\n## DNS names: ns per DNS packet (bpf prog stats)\n")
print("%s resolutions (getaddrinfo AF_INET only: one A query, one answer with one record) from each cgroup, alternating in blocks of 100; "
      "run_time_ns / run_cnt of its cgroup_skb programs.\n" % nstat)
print("| config | ingress ns/run | ingress runs | egress ns/run | egress runs |")
print("|---|---|---|---|---|")
print("| name (parsed, learned) | %.0f | %d | %.0f | %d |" % (ni, nc, ne, nq))
print("| name, a question of no rule (parsed, nothing learned) | %.0f | %d | %.0f | %d |" % (mi, mc, me, mq))
print("| name, the same 100 names again (learned: entries updated) | %.0f | %d | %.0f | %d |" % (ai, ac, ae, aq))
print("| ip (not parsed) | %.0f | %d | %.0f | %d |" % (ii, ic, ie, iq))
print("\nParsing an answer and learning a new address: **%+.0f ns** (ingress, name - ip); an "
      "address learned before: **%+.0f ns**; parsing alone (no match) **%+.0f ns**; recording a "
      "query: **%+.0f ns** (egress). Addresses learned by the name policy in the whole run: %s."
      % (ni - ii, ai - ii, mi - ii, ne - ie, learned))
EOF
{
	echo "# date=$(date -u +%Y-%m-%dT%H:%M:%SZ) kernel=$(uname -r) nproc=$(nproc) load=$(cut -d' ' -f1-3 /proc/loadavg) commit=$(git -C "$HERE/.." rev-parse --short HEAD 2>/dev/null)"
	cat "$CSV"
} > "$OUT/dns.csv"
echo "" >> "$OUT/dns.md"
echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) CPUs); kernel $(uname -r)." >> "$OUT/dns.md"
cat "$OUT/dns.md"
log "results: $OUT/dns.md, $OUT/dns.csv"
