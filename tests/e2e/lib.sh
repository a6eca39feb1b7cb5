# shellcheck shell=bash
# lib.sh - helpers for cgpolicy end-to-end tests. Source it, then call
# `e2e_init`; everything a test creates is registered here and removed by the
# EXIT trap, also when the test fails or is interrupted.
#
# Each test gets its own pin path and cgroup subtree named after its PID, so
# it never touches a real deployment (nor a parallel test run).

set -u

BUILD=${BUILD:-build}
CGP=${CGP:-$BUILD/cgpolicy}
TID="cgpt$$"
PIN="/sys/fs/bpf/cgpolicy-test-$TID"
TMPD=""
CGMNT=""
CGROOT=""
NETNS=()
PIDS=()
N_PASS=0
N_FAIL=0
N_TEST=0

# The cgroup2 mount, from /proc/self/mountinfo (never hard-coded).
cgroup2_mount() {
	awk '{ for (i = 1; i <= NF; i++) if ($i == "-") { if ($(i+1) == "cgroup2") { print $5; exit } break } }' \
		/proc/self/mountinfo
}

skip_all() {
	echo "SKIP: $*"
	echo "0 passed, 0 failed"
	exit 77
}

e2e_init() {
	[ "$(id -u)" = 0 ] || skip_all "end-to-end tests need root"
	[ -x "$CGP" ] || { echo "not ok - $CGP not built"; echo "0 passed, 1 failed"; exit 1; }
	CGMNT=$(cgroup2_mount)
	[ -n "$CGMNT" ] || skip_all "no cgroup2 mount"
	CGROOT="$CGMNT/cgpolicy-test-$TID"
	mkdir "$CGROOT"
	TMPD=$(mktemp -d "/tmp/cgpolicy-test-$TID.XXXXXX")
	trap e2e_cleanup EXIT
	trap 'exit 130' INT TERM
}

# Remove every process, cgroup, pin and namespace this test made.
e2e_cleanup() {
	local rc=$? p d
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	"$CGP" remove --pin-path "$PIN" >/dev/null 2>&1
	rm -rf "$PIN" 2>/dev/null
	if [ -n "$CGROOT" ] && [ -d "$CGROOT" ]; then
		# deepest first: kill the members, then rmdir
		while read -r d; do
			if [ -e "$d/cgroup.kill" ]; then
				echo 1 > "$d/cgroup.kill" 2>/dev/null
			else
				xargs -r kill -9 < "$d/cgroup.procs" 2>/dev/null
			fi
		done < <(find "$CGROOT" -depth -type d)
		for _ in $(seq 50); do
			find "$CGROOT" -depth -type d -exec rmdir {} + 2>/dev/null
			[ -d "$CGROOT" ] || break
			sleep 0.1
		done
	fi
	for p in "${NETNS[@]}"; do ip netns del "$p" 2>/dev/null; done
	[ -n "$TMPD" ] && rm -rf "$TMPD"
	exit "$rc"
}

# Create a cgroup under the test root; prints its path relative to the mount.
mkcg() {
	mkdir -p "$CGROOT/$1"
	echo "/cgpolicy-test-$TID/$1"
}

# Run a command inside a cgroup (relative name under the test root).
in_cg() {
	local cg=$1
	shift
	bash -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$CGROOT/$cg" "$@"
}

# Start a command in the background inside a cgroup; remembered for cleanup.
bg_in_cg() {
	local cg=$1
	shift
	in_cg "$cg" "$@" >>"$TMPD/bg.log" 2>&1 &
	PIDS+=($!)
}

# A TCP server answering "hello PORT" to each connection.
tcp_server() {	# CG ADDR PORT
	local cg=$1 addr=$2 port=$3 lst
	case "$addr" in
	*:*) lst="TCP6-LISTEN:$port,bind=[$addr],reuseaddr,fork" ;;
	*) lst="TCP4-LISTEN:$port,bind=$addr,reuseaddr,fork" ;;
	esac
	bg_in_cg "$cg" socat "$lst" SYSTEM:"echo hello $port"
	wait_listen tcp "$port"
}

udp_server() {	# CG ADDR PORT : echoes "hello PORT" to each datagram
	local cg=$1 addr=$2 port=$3 lst
	case "$addr" in
	*:*) lst="UDP6-RECVFROM:$port,bind=[$addr],reuseaddr,fork" ;;
	*) lst="UDP4-RECVFROM:$port,bind=$addr,reuseaddr,fork" ;;
	esac
	bg_in_cg "$cg" socat "$lst" SYSTEM:"echo hello $port"
	wait_listen udp "$port"
}

wait_listen() {	# tcp|udp PORT
	local i
	for i in $(seq 50); do
		if [ "$1" = tcp ]; then
			ss -Htln "sport = :$2" | grep -q . && return 0
		else
			ss -Hauln "sport = :$2" | grep -q . && return 0
		fi
		sleep 0.1
	done
	echo "# server on $1 port $2 did not start" >&2
	return 1
}

# Client in a cgroup: prints the server's answer (empty when blocked).
tcp_get() {	# CG ADDR PORT
	local a=$2
	case "$a" in *:*) a="[$a]" ;; esac
	in_cg "$1" timeout 5 socat -T2 - "TCP:$a:$3,connect-timeout=2" </dev/null 2>/dev/null
}

udp_get() {	# CG ADDR PORT
	local a=$2
	case "$a" in *:*) a="[$a]" ;; esac
	echo ping | in_cg "$1" timeout 5 socat -T1 - "UDP:$a:$3" 2>/dev/null
}

# A random free-looking port in a range tests don't share with services.
rand_port() {
	echo $((20000 + (RANDOM % 20000)))
}

write_policy() {	# NAME : stdin -> $TMPD/NAME (root's, 0644: apply refuses group/world-writable files), prints the path
	cat > "$TMPD/$1"
	chmod 644 "$TMPD/$1"
	echo "$TMPD/$1"
}

# Start `cgpolicy agent FILE` in the background; its stdout+stderr go to $TMPD/agent.log.
# Sets AGENT to its PID; waits until it reports it is running.
start_agent() {	# FILE [LOG]
	local log=${2:-$TMPD/agent.log} i
	"$CGP" --pin-path "$PIN" agent "$1" >>"$log" 2>&1 &
	AGENT=$!
	PIDS+=($AGENT)
	for i in $(seq 100); do
		grep -q "agent: running (pid $AGENT)" "$log" 2>/dev/null && return 0
		kill -0 "$AGENT" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

# wait_for SECONDS COMMAND... : poll every 50 ms until COMMAND succeeds
wait_for() {
	local end=$(( $(date +%s%N) + $1 * 1000000000 ))
	shift
	while :; do
		"$@" && return 0
		[ "$(date +%s%N)" -lt "$end" ] || return 1
		sleep 0.05
	done
}

cgp() {
	"$CGP" --pin-path "$PIN" "$@"
}

ok() {
	N_TEST=$((N_TEST + 1)); N_PASS=$((N_PASS + 1))
	echo "ok $N_TEST - $*"
}

not_ok() {
	N_TEST=$((N_TEST + 1)); N_FAIL=$((N_FAIL + 1))
	echo "not ok $N_TEST - $*"
}

# check DESCRIPTION COMMAND... : passes when COMMAND succeeds
check() {
	local d=$1
	shift
	if "$@"; then ok "$d"; else not_ok "$d"; fi
}

# expect_eq DESCRIPTION GOT WANT
expect_eq() {
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1: got '$2', want '$3'"; fi
}

e2e_done() {
	echo "$N_PASS passed, $N_FAIL failed"
	[ "$N_FAIL" = 0 ]
}
