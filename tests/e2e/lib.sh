# shellcheck shell=bash
# lib.sh - helpers for cgpolicy end-to-end tests. Source it, then call
# `e2e_init`; everything a test creates is registered here and removed by the
# EXIT trap, also when the test fails or is interrupted.
#
# Each test gets its own pin path and cgroup subtree named after its PID, so
# it never touches a real deployment (nor a parallel test run).
#
# Tests must pass on a busy machine (other test runs, stress-ng, load 20 on
# 2 CPUs), so:
# - wait for a condition with a deadline, never with a fixed sleep: wait_for
#   (a command) or wait_until (shell code evaluated anew on every try, for
#   conditions like '[ "$(gen)" -gt "$g" ]'). Deadlines are generous (they
#   cost nothing when the condition comes); a sleep only *produces* a
#   condition (let a denied client try for a while);
# - never assert timing; print it as a "# " comment;
# - an "allowed" check retries a client that heard nothing (tcp_get, udp_get,
#   fetch); a "denied" check proves the attempt happened (tcp_get prints ""
#   only when socat saw its connection refused; udp_try counts the datagrams);
# - ports come from rand_port (a free block of 8, reserved machine-wide), other
#   shared names (subnets) from reserve.

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
		# killed members leave their cgroups when they are reaped: retry the
		# rmdirs until the root is gone (a busy machine needs seconds)
		wait_until "$WAIT_AGENT" 'find "$CGROOT" -depth -type d -exec rmdir {} + 2>/dev/null; [ ! -d "$CGROOT" ]' ||
			echo "# cleanup: $CGROOT still there after ${WAIT_AGENT}s" >&2
	fi
	for p in "${NETNS[@]}"; do ip netns del "$p" 2>/dev/null; done
	release_all
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

# Machine-wide reservations (ports, subnets) between test runs that run at
# the same time (other checkouts, other engineers): an atomic mkdir under
# $LOCKDIR owned by this test's PID, released by the EXIT trap; one whose
# owner is gone is taken over.
LOCKDIR=${CGP_TEST_LOCKDIR:-/run/cgpolicy-test-locks}
reserve() {	# NAME: 0 when this test now holds NAME
	local d="$LOCKDIR/$1" owner
	mkdir -p "$LOCKDIR" 2>/dev/null
	if mkdir "$d" 2>/dev/null; then
		echo "$$" > "$d/owner"
		return 0
	fi
	owner=$(cat "$d/owner" 2>/dev/null)
	if [ -n "$owner" ] && ! kill -0 "$owner" 2>/dev/null; then
		rm -rf "$d"	# its test is gone; the next try may take it
	fi
	return 1
}
release() { rm -rf "${LOCKDIR:?}/$1"; }
release_all() {
	local f
	for f in "$LOCKDIR"/*/owner; do
		[ -e "$f" ] && [ "$(cat "$f" 2>/dev/null)" = "$$" ] && rm -rf "$(dirname "$f")"
	done
	return 0
}

# A block of 8 free ports (P, P+1 ... P+7 are the test's), below the
# kernel's ephemeral range (so no client's source port sits on it), not in
# use by any socket now, and reserved against concurrent test runs.
rand_port() {
	local lo span p i
	read -r lo _ < /proc/sys/net/ipv4/ip_local_port_range
	if [ "$lo" -ge 28000 ]; then span=$(( (lo - 20000) / 8 )); else span=2500; fi
	for i in $(seq 1000); do
		p=$(( 20000 + (RANDOM % span) * 8 ))
		reserve "port-$p" || continue
		if ss -Htuan "( sport >= :$p and sport <= :$((p + 7)) )" | grep -q .; then
			release "port-$p"	# something uses it: another block
			continue
		fi
		echo "$p"
		return 0
	done
	echo "# rand_port: no free block of 8 ports found" >&2
	echo 20000
	return 1
}

# listening_in_cg tcp|udp PORT CG: a socket bound to PORT belongs to a process
# of the test cgroup CG (a server of this test, not a stranger on that port).
listening_in_cg() {
	local opt=-Htlnp pid want="0::/cgpolicy-test-$TID/$3"
	[ "$1" = udp ] && opt=-Hulnp
	for pid in $(ss $opt "sport = :$2" | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u); do
		grep -qxF "$want" "/proc/$pid/cgroup" 2>/dev/null && return 0
	done
	return 1
}

# A TCP server answering "hello PORT" to each connection. backlog=128, not
# socat's 5: with a burst of clients (failclosed.sh: 25 at once) a handshake
# whose last ACK finds the accept queue full is dropped by the kernel after a
# few SYN-ACK retries (or was a SYN cookie, lost at once) while its client
# believes it is connected and waits for "hello" in vain.
tcp_server() {	# CG ADDR PORT
	local cg=$1 addr=$2 port=$3 lst
	case "$addr" in
	*:*) lst="TCP6-LISTEN:$port,bind=[$addr],reuseaddr,fork,backlog=128" ;;
	*) lst="TCP4-LISTEN:$port,bind=$addr,reuseaddr,fork,backlog=128" ;;
	esac
	bg_in_cg "$cg" socat "$lst" SYSTEM:"echo hello $port"
	wait_for "$WAIT_SERVER" listening_in_cg tcp "$port" "$cg" && return 0
	echo "# tcp server of $cg on $addr port $port did not start: $(tail -n 3 "$TMPD/bg.log")" >&2
	return 1
}

# A UDP server answering "hello PORT" to each datagram (one socket, no fork:
# socat's UDP-RECVFROM,fork server dropped about 1 datagram in 4).
udp_server() {	# CG ADDR PORT
	local cg=$1 addr=$2 port=$3
	bg_in_cg "$cg" python3 "$E2E_HELPERS/udp_echo.py" "$addr" "$port"
	wait_for "$WAIT_SERVER" listening_in_cg udp "$port" "$cg" && return 0
	echo "# udp server of $cg on $addr port $port did not start: $(tail -n 3 "$TMPD/bg.log")" >&2
	return 1
}

# How long to wait for a server to listen, an agent to start: generous, a
# deadline only matters when something is broken. (5 s was too short beside
# other test runs and stress-ng: python's start-up alone took seconds.)
WAIT_SERVER=${E2E_WAIT_SERVER:-30}
WAIT_AGENT=${E2E_WAIT_AGENT:-60}
# How long an "allowed" client keeps trying when it got no answer and no
# refusal (a slow server on a busy machine).
GET_SECS=${E2E_GET_SECS:-20}
E2E_HELPERS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/helpers"

wait_listen() {	# tcp|udp PORT : some socket listens on PORT (any owner)
	local opt=-Htln
	[ "$1" = udp ] && opt=-Hauln
	wait_for "$WAIT_SERVER" bash -c 'ss "$0" "sport = :$1" | grep -q .' "$opt" "$2" && return 0
	echo "# server on $1 port $2 did not start" >&2
	return 1
}

# fetch SECONDS CMD...: CMD is one socat client ("-" to a TCP address, with
# connect-timeout). Prints its answer (return 0). A refused connection is an
# answer too (socat's "E connect...": no SYN-ACK within connect-timeout - a
# cgroup_skb deny drops the SYN or the SYN-ACK, and TCP's connect does not
# report the dropped SYN, it times out -, a reset from a port without
# listener, EPERM): prints nothing, returns 1, and the attempt provably
# happened. Anything else (the client did not start,
# connected but heard nothing, was killed by its timeout: a busy machine) is
# tried again until SECONDS, then printed as "<no answer ...>", so that
# neither an "allowed" check ("hello P") nor a "denied" one ("") passes on it.
fetch() {
	local secs=$1 end out rc err
	shift
	err=$(mktemp "$TMPD/fetch.XXXXXX")
	end=$(( $(date +%s%N) + secs * 1000000000 ))
	while :; do
		out=$("$@" 2>"$err"); rc=$?
		if [ -n "$out" ]; then
			printf '%s\n' "$out"; rm -f "$err"; return 0
		fi
		if grep -q ' E connect' "$err"; then
			rm -f "$err"; return 1
		fi
		if [ "$(date +%s%N)" -ge "$end" ]; then
			echo "<no answer and no refusal within ${secs}s: exit $rc $(tr '\n' ' ' < "$err" | head -c 300)>"
			rm -f "$err"; return 1
		fi
		sleep 0.2
	done
}

# Client in a cgroup: prints the server's answer; empty only when the
# connection was refused (see fetch).
tcp_get() {	# CG ADDR PORT
	local a=$2
	case "$a" in *:*) a="[$a]" ;; esac
	fetch "$GET_SECS" in_cg "$1" timeout 10 socat -T2 - "TCP:$a:$3,connect-timeout=2" </dev/null
}

# UDP client in a cgroup for an allowed flow: sends every 50 ms until the
# first answer (at most GET_SECS) and prints it; empty when none came.
udp_get() {	# CG ADDR PORT
	in_cg "$1" python3 "$E2E_HELPERS/udp_client.py" "$2" "$3" "$GET_SECS" get 2>/dev/null
}

# UDP client in a cgroup for a denied flow: sends every 50 ms for SECONDS and
# prints "sent=N errors=E answers=A" (sent + errors > 0 proves it tried).
udp_try() {	# CG ADDR PORT SECONDS
	in_cg "$1" python3 "$E2E_HELPERS/udp_client.py" "$2" "$3" "$4" count 2>/dev/null
}

write_policy() {	# NAME : stdin -> $TMPD/NAME (root's, 0644: apply refuses group/world-writable files), prints the path
	cat > "$TMPD/$1"
	chmod 644 "$TMPD/$1"
	echo "$TMPD/$1"
}

# Start `cgpolicy agent FILE` in the background; its stdout+stderr go to $TMPD/agent.log.
# Sets AGENT to its PID; waits until it reports it is running.
start_agent() {	# FILE [LOG]
	local log=${2:-$TMPD/agent.log}
	"$CGP" --pin-path "$PIN" agent "$1" >>"$log" 2>&1 &
	AGENT=$!
	PIDS+=($AGENT)
	# loading and verifying the BPF programs takes seconds on a busy machine
	local end=$(( $(date +%s%N) + WAIT_AGENT * 1000000000 ))
	while ! grep -q "agent: running (pid $AGENT)" "$log" 2>/dev/null; do
		if ! alive "$AGENT"; then
			echo "# agent $AGENT exited before it ran: $(tail -n 3 "$log")" >&2
			return 1
		fi
		if [ "$(date +%s%N)" -ge "$end" ]; then
			echo "# agent $AGENT did not report running within ${WAIT_AGENT}s: $(tail -n 3 "$log")" >&2
			return 1
		fi
		sleep 0.05
	done
	return 0
}

# alive PID: the process runs (an exited child not yet reaped is a zombie,
# which kill -0 still finds)
alive() {
	local st
	st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
	[ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# wait_for SECONDS COMMAND... : poll every 50 ms until COMMAND succeeds.
# COMMAND is run anew on each try, but its words are expanded once, by the
# caller: `wait_for 5 test "$(gen)" -gt 3` compares one old value. Use
# wait_until for a condition that has to be computed on every try.
wait_for() {
	local end=$(( $(date +%s%N) + $1 * 1000000000 ))
	shift
	while :; do
		"$@" && return 0
		[ "$(date +%s%N)" -lt "$end" ] || return 1
		sleep 0.05
	done
}

# wait_until SECONDS 'SHELL CODE' : like wait_for, the code (functions and
# variables of the test are visible) is evaluated anew on every try.
wait_until() {
	local secs=$1
	shift
	wait_for "$secs" eval "$1"
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
