#!/bin/bash
# bench/stats.sh BUILD - per-socket TCP stats: `cgpolicy stats` against `ss -tin`
# on the same established sockets, in the same run, at N = 1,000 and 10,000;
# then the agent's CPU and memory while dumping 10,000 sockets every second.
#
# Writes $BENCH_OUT/stats.md and stats.csv (default bench/results). Creates its
# own cgroup (cgp-bench-stats-ID), pin path and processes, removes them on exit.
set -u
export LC_ALL=C
BUILD=${1:-build}
HERE=$(cd "$(dirname "$0")" && pwd)
CGP=$(realpath "$BUILD/cgpolicy")
OUT=${BENCH_OUT:-$HERE/results}
QUICK=${BENCH_QUICK:-0}
REPS=${BENCH_REPS:-7}
AGENT_SECS=10
SIZES="1000 10000"
[ "$QUICK" = 1 ] && { REPS=3; AGENT_SECS=3; SIZES="1000"; }
ID=$$
PIN=/sys/fs/bpf/cgpolicy-bench-stats-$ID
CGMNT=$(awk '{ for (i = 1; i <= NF; i++) if ($i == "-") { if ($(i+1) == "cgroup2") { print $5; exit } break } }' /proc/self/mountinfo)
CG=$CGMNT/cgp-bench-stats-$ID
TMP=$(mktemp -d /tmp/cgp-bench-stats.XXXXXX)
PORT=15301
PIDS=()

cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	"$CGP" remove --pin-path "$PIN" >/dev/null 2>&1
	[ -d "$CG" ] && { echo 1 > "$CG/cgroup.kill" 2>/dev/null; sleep 0.3; rmdir "$CG" 2>/dev/null; }
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$CG" "$OUT"
ulimit -n 65536

cat > "$TMP/policy.ini" <<EOT
[agent]
stats_interval = 1
stats_output = $TMP/agent.jsonl

[bench]
cgroup = /cgp-bench-stats-$ID
EOT
"$CGP" --pin-path "$PIN" apply "$TMP/policy.ini" >/dev/null || exit 2

# Server outside the policy: accepts and holds. Client inside: N connections, held.
cat > "$TMP/hold.py" <<'PY'
import selectors, socket, sys, time
mode, port = sys.argv[1], int(sys.argv[2])
held = []
if mode == "server":
    ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port)); ls.listen(4096)
    while True:
        c, _ = ls.accept(); held.append(c)
else:
    n = int(sys.argv[3])
    for i in range(n):
        s = socket.create_connection(("127.0.0.1", port)); s.sendall(b"x"); held.append(s)
    print("ready", flush=True)
    time.sleep(3600)
PY
python3 "$TMP/hold.py" server $PORT & PIDS+=($!)
sleep 0.5

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
time_ms() {	# command... : wall ms of one run
	local t0 t1
	t0=$(date +%s%N); "$@" >/dev/null 2>&1; t1=$(date +%s%N)
	echo $(( (t1 - t0) / 1000 ))
}

echo "sockets,tool,median_us,lines" > "$OUT/stats.csv"
{
	echo "| established sockets | cgpolicy stats --json | ss -tin (same sockets) | ss / cgpolicy |"
	echo "|---:|---:|---:|---:|"
} > "$TMP/table.md"
have=0
for n in $SIZES; do
	add=$((n - have))
	bash -c 'echo $$ > "$0/cgroup.procs"; exec python3 "$1" client "$2" "$3"' "$CG" "$TMP/hold.py" $PORT $add > "$TMP/client.$n" &
	PIDS+=($!)
	for _ in $(seq 600); do grep -q ready "$TMP/client.$n" 2>/dev/null && break; sleep 0.1; done
	have=$n
	lines_c=$("$CGP" --pin-path "$PIN" stats --json | grep -c ESTABLISHED)
	lines_s=$(ss -Htin "dport = :$PORT" | grep -c ESTAB)
	a=(); b=()
	for _ in $(seq "$REPS"); do
		a+=("$(time_ms "$CGP" --pin-path "$PIN" stats --json)")
		b+=("$(time_ms ss -tin "dport = :$PORT")")
	done
	ma=$(printf '%s\n' "${a[@]}" | median); mb=$(printf '%s\n' "${b[@]}" | median)
	echo "$n,cgpolicy,$ma,$lines_c" >> "$OUT/stats.csv"
	echo "$n,ss,$mb,$lines_s" >> "$OUT/stats.csv"
	printf '| %d (%d seen / %d by ss) | %.1f ms | %.1f ms | %.2fx |\n' "$n" "$lines_c" "$lines_s" \
		"$(echo "$ma / 1000" | bc -l)" "$(echo "$mb / 1000" | bc -l)" "$(echo "$mb / $ma" | bc -l)" >> "$TMP/table.md"
done

# The agent dumping every second, for AGENT_SECS seconds.
"$CGP" --pin-path "$PIN" agent "$TMP/policy.ini" >/dev/null 2>&1 &
AG=$!; PIDS+=($AG)
sleep 1
t0=$(awk '{print $14 + $15}' /proc/$AG/stat)
sleep "$AGENT_SECS"
t1=$(awk '{print $14 + $15}' /proc/$AG/stat)
hwm=$(awk '/VmHWM/ {print $2}' /proc/$AG/status)
rss=$(awk '/VmRSS/ {print $2}' /proc/$AG/status)
kill -TERM $AG; wait $AG 2>/dev/null
tck=$(getconf CLK_TCK)
cpu=$(echo "($t1 - $t0) / $tck / $AGENT_SECS * 100" | bc -l)
rounds=$(python3 -c 'import json,sys; print(len({json.loads(l)["ts_ns"] for l in open(sys.argv[1])}))' "$TMP/agent.jsonl")
echo "$have,agent_cpu_pct,$(printf %.1f "$cpu"),$rounds" >> "$OUT/stats.csv"
echo "$have,agent_rss_kib,$rss,$hwm" >> "$OUT/stats.csv"
{
	echo "## Per-socket TCP stats dump"
	echo
	echo "Median of $REPS runs each, same sockets, same run (\`bench/stats.sh\`)."
	echo
	cat "$TMP/table.md"
	echo
	echo "Agent dumping $have sockets every second (JSON lines to a file) for ${AGENT_SECS} s:"
	printf 'CPU %.1f%% of one core, RSS %d KiB (peak %d KiB), %d rounds written.\n' "$cpu" "$rss" "$hwm" "$rounds"
} > "$OUT/stats.md"
cat "$OUT/stats.md"
