#!/bin/bash
# bench/reuseport.sh [BUILD] - connection rate through listener steering vs plain SO_REUSEPORT.
#
#   BENCH_QUICK=1   short run (1 s per sample, 1 round)
#   BENCH_REPS=N    rounds (default 5; the median is reported)
#   BENCH_OUT=DIR   results (default bench/results): reuseport.md, raw/reuseport.csv
#
# Two single-threaded SO_REUSEPORT listeners on one loopback port, one in each of two
# cgroups (accept, write one byte, close); one client doing connect, read, close (RST,
# so no TIME_WAIT piles up) in a loop for a fixed time. Every round measures, back to
# back on the same listeners:
#   none   no cgpolicy at all
#   plain  cgpolicy policies on both cgroups (enforcement, stats), no [reuseport]:
#          the kernel's own reuseport choice
#   steer  the same file plus [reuseport] with backends 50/50: sk_reuseport program,
#          sockmap, listeners registered by cgroup
# so steer/plain is the cost of steering alone. Client and listeners share one CPU
# (taskset) so a connection costs CPU time, not cross-CPU wake-ups.
#
# Creates its own cgroups (cgp-rpbench-ID), pin path (/sys/fs/bpf/cgpolicy-rpbench-ID)
# and temp dir, and removes them on exit, also on failure or Ctrl-C.
set -u
export LC_ALL=C

BUILD=${1:-build}
HERE=$(cd "$(dirname "$0")" && pwd)
CGP=$(realpath "$BUILD/cgpolicy")
QUICK=${BENCH_QUICK:-0}
OUT=${BENCH_OUT:-$HERE/results}
ID=$$
PIN="/sys/fs/bpf/cgpolicy-rpbench-$ID"
PORT=15301
CPU=1
if [ "$QUICK" = 1 ]; then REPS=${BENCH_REPS:-1}; DUR=1; else REPS=${BENCH_REPS:-5}; DUR=3; fi

[ "$(id -u)" = 0 ] || { echo "bench/reuseport.sh: run as root" >&2; exit 1; }
[ -x "$CGP" ] || { echo "bench/reuseport.sh: build first (make)" >&2; exit 1; }
CGMNT=$(awk '{ for (i = 1; i <= NF; i++) if ($i == "-") { if ($(i+1) == "cgroup2") { print $5; exit } break } }' /proc/self/mountinfo)
[ -n "$CGMNT" ] || { echo "bench/reuseport.sh: no cgroup2 mount" >&2; exit 1; }
CGROOT="$CGMNT/cgp-rpbench-$ID"
TMPD=$(mktemp -d "/tmp/cgp-rpbench-$ID.XXXXXX")
SRV_PIDS=()

cleanup() {
	local rc=$?
	[ -n "${OLD_STATS:-}" ] && sysctl -qw kernel.bpf_stats_enabled="$OLD_STATS"
	for p in "${SRV_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	"$CGP" remove --pin-path "$PIN" >/dev/null 2>&1
	for d in a b; do
		[ -d "$CGROOT/$d" ] && xargs -r kill -9 < "$CGROOT/$d/cgroup.procs" 2>/dev/null
	done
	for _ in $(seq 50); do
		rmdir "$CGROOT/a" "$CGROOT/b" "$CGROOT" 2>/dev/null
		[ -d "$CGROOT" ] || break
		sleep 0.1
	done
	rm -rf "$TMPD"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cat > "$TMPD/rpbench.c" <<'EOF'
/* rpbench server PORT | crr PORT SECONDS : loopback connection-rate probe */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int one = 1;

	if (argc < 3)
		return 2;
	sa.sin_port = htons(atoi(argv[2]));
	if (!strcmp(argv[1], "server")) {
		int l = socket(AF_INET, SOCK_STREAM, 0);

		setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		setsockopt(l, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
		if (bind(l, (struct sockaddr *)&sa, sizeof(sa)) || listen(l, 4096)) {
			perror("rpbench: listen");
			return 1;
		}
		for (;;) {
			int c = accept(l, NULL, NULL);

			if (c < 0)
				continue;
			if (write(c, "x", 1) < 0) {}
			close(c);
		}
	} else if (!strcmp(argv[1], "crr") && argc >= 4) {
		double end = now() + atof(argv[3]), t0 = now();
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };
		unsigned long n = 0, fail = 0;
		char b;

		while (now() < end) {
			int s = socket(AF_INET, SOCK_STREAM, 0);

			if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) || read(s, &b, 1) != 1)
				fail++;
			else
				n++;
			setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
			close(s);
		}
		printf("%.0f %lu\n", n / (now() - t0), fail);
		return 0;
	}
	return 2;
}
EOF
cc -O2 -o "$TMPD/rpbench" "$TMPD/rpbench.c" || exit 1

mkdir -p "$CGROOT/a" "$CGROOT/b" "$OUT/raw"
for d in a b; do
	bash -c 'echo $$ > "$0/cgroup.procs" && exec taskset -c "$1" "$2" server "$3"' \
		"$CGROOT/$d" "$CPU" "$TMPD/rpbench" "$PORT" &
	SRV_PIDS+=($!)
done
for _ in $(seq 50); do
	[ "$(ss -Htln "sport = :$PORT" | wc -l)" = 2 ] && break
	sleep 0.1
done
[ "$(ss -Htln "sport = :$PORT" | wc -l)" = 2 ] || { echo "listeners did not start" >&2; exit 1; }

cat > "$TMPD/plain.ini" <<EOF
[a]
cgroup = /cgp-rpbench-$ID/a

[b]
cgroup = /cgp-rpbench-$ID/b
EOF
cp "$TMPD/plain.ini" "$TMPD/steer.ini"
cat >> "$TMPD/steer.ini" <<EOF

[reuseport bench]
port = $PORT
backend = a 50
backend = b 50
EOF

measure() {	# CONFIG ROUND
	local r
	case "$1" in
	none) "$CGP" remove --pin-path "$PIN" >/dev/null ;;
	plain) "$CGP" apply --pin-path "$PIN" "$TMPD/plain.ini" >/dev/null ;;
	steer) "$CGP" apply --pin-path "$PIN" "$TMPD/steer.ini" >/dev/null ;;
	esac || { echo "apply for $1 failed" >&2; exit 1; }
	r=$(taskset -c "$CPU" "$TMPD/rpbench" crr "$PORT" "$DUR")
	echo "$2,$1,${r% *},${r#* }" >> "$OUT/raw/reuseport.csv"
	echo "# round $2 $1: ${r% *} conn/s, ${r#* } failed" >&2
}

echo "round,config,conn_per_s,failed" > "$OUT/raw/reuseport.csv"
# The order rotates per round so that drift on a shared machine hits every configuration.
CONFS=(none plain steer)
for round in $(seq "$REPS"); do
	for i in 0 1 2; do measure "${CONFS[$(((round + i) % 3))]}" "$round"; done
done

# Time spent in the sk_reuseport program per connection (kernel BPF stats, on only now).
"$CGP" apply --pin-path "$PIN" "$TMPD/steer.ini" >/dev/null || exit 1
PROG_ID=$(bpftool prog show pinned "$PIN/reuseport/progs/select" | awk -F: 'NR == 1 {print $1}')
OLD_STATS=$(sysctl -n kernel.bpf_stats_enabled)
sysctl -qw kernel.bpf_stats_enabled=1
taskset -c "$CPU" "$TMPD/rpbench" crr "$PORT" "$DUR" >/dev/null
PROG_NS=$(bpftool prog show id "$PROG_ID" | awk '{for (i = 1; i < NF; i++) { if ($i == "run_time_ns") t = $(i+1); if ($i == "run_cnt") c = $(i+1) }} END { if (c) printf "%.0f", t / c }')
sysctl -qw kernel.bpf_stats_enabled="$OLD_STATS"
STATUS=$("$CGP" status --pin-path "$PIN" | sed -n '/^REUSEPORT/,$p')

python3 - "$OUT/raw/reuseport.csv" "$OUT/reuseport.md" "$DUR" "$REPS" "$(uname -r)" "$(nproc)" "$STATUS" "${PROG_NS:-?}" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
dur, reps, kern, ncpu, status, prog_ns = sys.argv[3:9]
med = {}
for c in ("none", "plain", "steer"):
    v = [float(r["conn_per_s"]) for r in rows if r["config"] == c]
    med[c] = statistics.median(v) if v else 0
fails = sum(int(r["failed"]) for r in rows)
lines = [
    "# Listener steering: connection rate",
    "",
    f"`bench/reuseport.sh`: kernel {kern}, {ncpu} CPUs, loopback, client and both listeners on one CPU, "
    f"{reps} rounds of {dur} s per configuration (median). One connection = connect, 1-byte "
    "answer, close (RST). Two SO_REUSEPORT listeners, one per cgroup.",
    "",
    "| configuration | conn/s | vs plain reuseport |",
    "|---|---:|---:|",
    f"| no cgpolicy | {med['none']:.0f} | {med['none'] / med['plain']:.3f} |" if med["plain"] else "",
    f"| cgpolicy, plain SO_REUSEPORT (no [reuseport]) | {med['plain']:.0f} | 1.000 |",
    f"| cgpolicy + steering 50/50 (sk_reuseport) | {med['steer']:.0f} | {med['steer'] / med['plain']:.3f} |" if med["plain"] else "",
    "",
    f"Time in the sk_reuseport program (kernel BPF stats): {prog_ns} ns per connection.",
    "",
    f"Failed connections over the whole run: {fails}.",
    "",
    "Steered split at the end of the run (`cgpolicy status`):",
    "",
    "```",
    status,
    "```",
]
md = "\n".join(l for l in lines) + "\n"
open(sys.argv[2], "w").write(md)
print(md)
PY
