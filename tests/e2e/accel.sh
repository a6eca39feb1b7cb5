#!/usr/bin/env bash
# Socket redirection acceleration. An accelerated connection must not be told
# from plain TCP except by speed:
#  - event-loop (non-blocking) clients and servers are redirected, and the
#    payload provably takes the redirect: data integrity (v4, v6,
#    dual-stack), EOF after a late close, many concurrent connections;
#  - an end whose reads can block is never redirected to (the kernel's
#    tcp_bpf_recvmsg() returns EAGAIN to a blocked reader on a wake-up without
#    data, and ignores MSG_WAITALL and SO_RCVLOWAT for redirected data), and
#    status counts why: blocking readers reading to EOF get 0 (never EAGAIN,
#    also when the peer closes late), MSG_WAITALL reads are full, a blocking
#    reader beside a writer thread on the same socket (the write-space wake-up)
#    works, SO_RCVLOWAT is honoured;
#  - FIONREAD counts redirected bytes;
#  - hand-offs to TCP mid-stream (small writes, slow reader), mixed pairs,
#    half-close, abortive close, policy changes;
#  - a kernel whose redirection fails the start-up check (agent/accel_probe.c;
#    Debian's 6.1: FIONREAD) gets the policy without acceleration and a
#    FILE:LINE warning; on other kernels that path runs through the test hook.
# cgp-xfer never retries EAGAIN on a blocking socket: it is a failure.
. "$(dirname "$0")/lib.sh"
e2e_init

XFER="$BUILD/tools/cgp-xfer"
[ -x "$XFER" ] || { not_ok "$XFER not built"; e2e_done; exit 1; }
CLI=$(mkcg cli)
SRV=$(mkcg srv)
PLAIN=$(mkcg plain)
P1=$(rand_port); P2=$((P1 + 1)); P3=$((P1 + 2)); P4=$((P1 + 3)); P5=$((P1 + 4)); P6=$((P1 + 5)); P7=$((P1 + 6))
P8=$((P1 + 7))

# Epoll servers (non-blocking sockets): echo on :: (dual-stack), echo that
# closes 300 ms after the client's EOF, echo outside acceleration, a sink;
# a blocking echo server (a thread per connection).
bg_in_cg srv "$XFER" echo :: "$P1"
bg_in_cg srv "$XFER" echo 127.0.0.1 "$P2" 300
bg_in_cg plain "$XFER" echo :: "$P3"
bg_in_cg srv "$XFER" echo-blocking :: "$P4"
bg_in_cg srv "$XFER" sink 127.0.0.1 "$P5"
for p in "$P1" "$P2" "$P3" "$P4" "$P5"; do wait_listen tcp "$p"; done

POL=$(write_policy accel.ini <<EOT
[cli]
cgroup = $CLI
accelerate = yes
default_egress = deny
allow = out tcp any port $P1-$P8

[srv]
cgroup = $SRV
accelerate = yes
default_ingress = deny
allow = in tcp any port $P1-$P2
allow = in tcp any port $P4-$P8
EOT
)
out=$(cgp apply "$POL" 2>&1) || { not_ok "apply: $out"; e2e_done; exit 1; }

# Deadline for a helper server to report (it waits for its client, which runs
# first): generous, it only matters when something is broken.
W=60

redirected() {	# POLICY [messages|bytes|to_tcp|to_tcp.REASON|not_accelerated.REASON]: from status --json
	cgp status --json | python3 -c '
import json, sys
d = [p for p in json.load(sys.stdin)["policies"] if p["name"] == sys.argv[1]][0]["redirected"]
for k in sys.argv[2].split("."):
    d = d[k]
print(" ".join("%s=%s" % kv for kv in d.items()) if isinstance(d, dict) else d)' "$1" "${2:-messages}"
}
# blocking readers not accelerated, both policies together
nblk() { echo $(( $(redirected cli not_accelerated.blocking_reader) + $(redirected srv not_accelerated.blocking_reader) )); }

# xfer DESCRIPTION CG WANT ARGS... : cgp-xfer ARGS in CG must print "ok WANT"
# (WANT "-": must succeed), its error is shown otherwise. CONNECT=nonblocking
# in the environment: a blocking client connects non-blocking first.
xfer() {
	local d=$1 cg=$2 want=$3
	shift 3
	if in_cg "$cg" env CGP_XFER_CONNECT="${CONNECT:-blocking}" "$XFER" "$@" > "$TMPD/xfer.out" 2>&1 &&
		{ [ "$want" = - ] || grep -qx "ok $want" "$TMPD/xfer.out"; }; then
		ok "$d"
	else
		not_ok "$d: $(tr '\n' ' ' < "$TMPD/xfer.out")"
	fi
}
why() { echo "cli $(redirected cli to_tcp), srv $(redirected srv to_tcp)"; }
accel_off_checks() {	# APPLY_OUTPUT: the policy is enforced without acceleration
	check "apply names each section (FILE:LINE), the reason and the feature" bash -c '
		grep -q "accel.ini:1: \[cli\]: warning: accelerate = yes is not applied: the kernel feature .acceleration. fails its check here (.\+); the policy is enforced without acceleration" <<< "$0" &&
		grep -q "accel.ini:[0-9]*: \[srv\]: warning: accelerate = yes is not applied" <<< "$0"' "$1"
	expect_eq "status shows both policies without acceleration" \
		"$(cgp status --json | python3 -c 'import json,sys; print([p["accelerate"] for p in json.load(sys.stdin)["policies"]])')" \
		"[False, False]"
	local c0 s0
	c0=$(redirected cli bytes); s0=$(redirected srv bytes)
	xfer "an event-loop client still works (plain TCP), 20 MB" cli 20000000 verify-nb 127.0.0.1 "$P1" 20000000 262144
	xfer "a blocking reader reads to EOF with a late close" cli 1000000 verify 127.0.0.1 "$P2" 1000000
	expect_eq "nothing was redirected" "$(redirected cli bytes) $(redirected srv bytes)" "$c0 $s0"
}

# A kernel whose socket redirection fails the behavioural check (cgpolicy
# --version --verbose, agent/accel_probe.c): apply enforces without it. When
# the only fault is FIONREAD of TCP-queued data on sockhash sockets (counted
# 0: some 6.6-6.18 stable kernels, this build host's 6.18.44), the redirect
# paths are tested anyway with the check bypassed (CGP_TEST_ACCEL_PROBE=skip);
# elsewhere (6.1: FIONREAD of redirected data) the test ends here.
accel_row=$("$CGP" --version --verbose 2>&1 | grep -E '^acceleration')
if ! grep -Eq '^acceleration +yes' <<<"$accel_row"; then
	echo "# this kernel fails the acceleration check: $accel_row"
	accel_off_checks "$out"
	cgp remove >/dev/null
	if ! grep -q "1 byte that came by TCP says" <<<"$accel_row"; then
		e2e_done
		exit
	fi
	echo "# the redirect paths are tested with the check bypassed (CGP_TEST_ACCEL_PROBE=skip)"
	export CGP_TEST_ACCEL_PROBE=skip
	out=$(cgp apply "$POL" 2>&1) || { not_ok "apply: $out"; e2e_done; exit 1; }
fi

# ---- event-loop clients and servers: redirected ----
# Writes of 1 B-256 KiB (128 KiB on average): no stream of small writes, so
# the whole payload takes the redirect, both ways. The client's first byte
# goes alone and may take TCP (the server has not accepted the connection
# yet: no reader to judge); the rest follows once it came back.
c0=$(redirected cli bytes); s0=$(redirected srv bytes)
xfer "20 MB v4 client to a dual-stack (::) epoll server, both non-blocking, every byte checked" cli 20000000 \
	verify-nb 127.0.0.1 "$P1" 20000000 262144
c1=$(redirected cli bytes); s1=$(redirected srv bytes)
check "all of it was redirected, both ways (cli $c0 -> $c1, srv $s0 -> $s1; $(why))" \
	test "$c1" -ge "$((c0 + 19999999))" -a "$s1" -ge "$((s0 + 20000000))"
xfer "20 MB v6 between non-blocking ends" cli 20000000 verify-nb ::1 "$P1" 20000000 262144
c2=$(redirected cli bytes); s2=$(redirected srv bytes)
check "all of the v6 payload was redirected (cli $c1 -> $c2, srv $s1 -> $s2; $(why))" \
	test "$c2" -ge "$((c1 + 19999999))" -a "$s2" -ge "$((s1 + 20000000))"
xfer "a non-blocking reader gets EOF (0) when the server closes 300 ms after the payload" cli 1000000 \
	verify-nb 127.0.0.1 "$P2" 1000000 262144
c3=$(redirected cli bytes); s3=$(redirected srv bytes)
check "and that payload was redirected, both ways (cli $c2 -> $c3, srv $s2 -> $s3)" \
	test "$c3" -ge "$((c2 + 999999))" -a "$s3" -ge "$((s2 + 1000000))"

# FIONREAD counts redirected bytes as it counts TCP's (the behavioural check
# turns acceleration off on kernels where it does not).
m0=$(redirected srv messages)
# The client waits until the whole echo is queued (a peek that blocks, at most
# GET_SECS: FIONREAD itself may never count it), then asks FIONREAD once.
out=$(in_cg cli python3 -c '
import fcntl, socket, struct, sys, termios, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=float(sys.argv[2]))
for i in range(4):
    s.sendall(b"%d hello world\n" % i)
    end = time.monotonic() + float(sys.argv[2])
    while len(s.recv(100, socket.MSG_PEEK)) < 14 and time.monotonic() < end:
        pass	# a part came (never seen: one write, one message); the rest follows
    n = struct.unpack("i", fcntl.ioctl(s.fileno(), termios.FIONREAD, b"\0" * 4))[0]
    print(n, len(s.recv(100)))' "$P1" "$GET_SECS" 2>&1 | tr '\n' ' ')
expect_eq "FIONREAD then recv on an accelerated event-loop client" "$out" "14 14 14 14 14 14 14 14 "
check "and the echoes were redirected ($m0 -> $(redirected srv messages) messages)" \
	test "$(redirected srv messages)" -ge "$((m0 + 3))"
c3=$(redirected cli bytes); s3=$(redirected srv bytes)

# ---- blocking readers: never redirected to, plain TCP semantics ----
b0=$(nblk)
xfer "blocking reader reads to EOF while the server closes 300 ms late: 0, never EAGAIN" cli 1000000 \
	verify 127.0.0.1 "$P2" 1000000 262144
# Not tested: a client that connects non-blocking and then reads blocking
# before the connection's first send. It sits in the sockhash until that send,
# and a read already waiting keeps tcp_bpf_recvmsg(): EAGAIN is possible (seen
# on 6.1 under TCG and, 1 run in 9 under load, on 6.18). A documented limit of
# the forced mode (docs/ARCHITECTURE.md); the start-up check keeps acceleration
# off on every kernel tested.
xfer "blocking reader thread beside a writer thread on the same socket, 20 MB in writes up to 1 MiB (send-space waits)" \
	cli 20000000 verify 127.0.0.1 "$P1" 20000000 1048576
xfer "recv(2500, MSG_WAITALL) on a blocking socket returns 2500 bytes each time (peer sends 100 B writes)" cli 500000 \
	waitall 127.0.0.1 "$P1" 500000
xfer "half-close (shutdown SHUT_WR) keeps TCP semantics" cli 3000000 halfclose 127.0.0.1 "$P1" 3000000
c4=$(redirected cli bytes); s4=$(redirected srv bytes); b1=$(nblk)
check "none of the blocking clients' bytes were redirected (cli $c3 -> $c4, srv $s3 -> $s4)" \
	test "$c4" -eq "$c3" -a "$s4" -eq "$s3"
expect_eq "status counts 4 connections not accelerated for a blocking reader" "$((b1 - b0))" 4
xfer "non-blocking client to a blocking server (a thread per connection), 20 MB" cli 20000000 \
	verify-nb 127.0.0.1 "$P4" 20000000 262144
c5=$(redirected cli bytes); s5=$(redirected srv bytes); b2=$(nblk)
check "it was not redirected (cli $c4 -> $c5, srv $s4 -> $s5)" test "$c5" -eq "$c4" -a "$s5" -eq "$s4"
expect_eq "and counted as a blocking reader" "$((b2 - b1))" 1

# SO_RCVLOWAT: the server sets it to 2500 and greets; the client waits for
# the greeting, then sends 100 B writes. TCP wakes the reader at 2500 bytes.
in_cg srv python3 -c '
import select, socket, sys
socket.setdefaulttimeout(30)	# accepted sockets are non-blocking (Python polls)
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("127.0.0.1", int(sys.argv[1]))); l.listen(); print("ready", flush=True)
c, _ = l.accept()
c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVLOWAT, 2500)
c.sendall(b"hi")
n = 0; short = 0
while True:
    b = c.recv(65536)
    if not b: break
    n += len(b)
    if len(b) < 2500 and n < 10000: short += 1
print("got", n, "short", short, flush=True)' "$P8" > "$TMPD/lowat.srv" 2>&1 &
PIDS+=($!)
wait_until "$WAIT_SERVER" 'grep -q ready "$TMPD/lowat.srv"'
l0=$(redirected srv not_accelerated.rcvlowat)
in_cg cli python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=30)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
assert s.recv(2) == b"hi"
for _ in range(100):
    s.sendall(b"x" * 100)
s.close()' "$P8"
wait_until "$W" 'grep -q got "$TMPD/lowat.srv"'
expect_eq "a reader with SO_RCVLOWAT 2500 gets at least 2500 bytes a read (100 B writes)" \
	"$(awk '/^got/ {print $2, $4}' "$TMPD/lowat.srv")" "10000 0"
expect_eq "status counts it as not accelerated for SO_RCVLOWAT" "$(redirected srv not_accelerated.rcvlowat)" "$((l0 + 1))"

# ---- hand-offs to TCP mid-stream ----
# Streams of small writes go to TCP mid-stream (TCP batches them better); the
# order of what was redirected before and what follows on TCP must hold.
xfer "20 MB in writes of 1-512 B, echoed (both ends may go to TCP mid-stream), every byte checked" cli 20000000 \
	verify-nb 127.0.0.1 "$P1" 20000000 512
# One way, to a reader that never answers: the hand-off comes after 32 writes.
# Python sockets with a timeout are non-blocking (Python polls): event-loop
# ends. The server greets first: its send decides for the pair, so the
# client's first write is redirected whenever the server accepted.
in_cg srv python3 -c '
import socket, sys
socket.setdefaulttimeout(30)
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("127.0.0.1", int(sys.argv[1]))); l.listen(); print("ready", flush=True)
c, _ = l.accept(); c.sendall(b"hi"); n = 0; bad = 0
while True:
    b = c.recv(1 << 20)
    if not b: break
    bad += sum(1 for i, x in enumerate(b) if x != (n + i) % 251)
    n += len(b)
print("got", n, "bad", bad, flush=True)' "$P6" > "$TMPD/hand.srv" 2>&1 &
PIDS+=($!)
wait_until "$WAIT_SERVER" 'grep -q ready "$TMPD/hand.srv"'
r0=$(redirected cli bytes)
h0=$(redirected cli to_tcp.small_writes)
in_cg cli python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=30)
assert s.recv(2) == b"hi"
pat = bytes(i % 251 for i in range(251 * 2))
for k in range(20000):
    off = (k * 100) % 251
    s.sendall(pat[off:off + 100])
s.close()' "$P6"
wait_until "$W" 'grep -q got "$TMPD/hand.srv"'
r1=$(redirected cli bytes)
expect_eq "20000 writes of 100 B to a reader: all arrive, in order" "$(awk '/^got/ {print $2, $4}' "$TMPD/hand.srv")" "2000000 0"
check "the first writes were redirected, the rest went to TCP ($((r1 - r0)) of 2000000 bytes redirected)" \
	test "$((r1 - r0))" -gt 0 -a "$((r1 - r0))" -le 3200
expect_eq "status counts the hand-off as small writes" "$(redirected cli to_tcp.small_writes)" "$((h0 + 1))"
xfer "a stream of 512 B writes to a sink: every byte counted" cli - bulk 127.0.0.1 "$P5" 512 1
xfer "a stream of 64 KiB writes to a sink: every byte counted" cli - bulk 127.0.0.1 "$P5" 65536 1

# A reader that does not read: a redirect is not bounded by its receive buffer,
# so the pair goes to TCP and its flow control once 6 MiB wait unread. The
# writer is held back (TCP alone lets ~10 MB wait), and every byte arrives.
# The server reads only when told (a line on a FIFO), after the writer is
# done: the writer sends until no send space comes back for 2 s (poll: the
# kernel wakes it at once when space comes), or until 64 MB went (not held
# back).
mkfifo "$TMPD/slow.go"
in_cg srv python3 -c '
import socket, sys
socket.setdefaulttimeout(float(sys.argv[3]))
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("127.0.0.1", int(sys.argv[1]))); l.listen(); print("ready", flush=True)
c, _ = l.accept(); c.sendall(b"hi")
open(sys.argv[2]).readline()	# blocks until the test says "read"
n = 0
while True:
    b = c.recv(1 << 20)
    if not b: break
    n += len(b)
print("got", n, flush=True)' "$P7" "$TMPD/slow.go" "$W" > "$TMPD/slow.srv" 2>&1 &
PIDS+=($!)
wait_until "$WAIT_SERVER" 'grep -q ready "$TMPD/slow.srv"'
w0=$(redirected cli to_tcp.slow_reader)
in_cg cli python3 -c '
import select, socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=float(sys.argv[2]))
assert s.recv(2) == b"hi"; s.setblocking(False)
b = b"x" * 262144; n = 0
while n < 64000000:
    try: n += s.send(b)
    except BlockingIOError:
        if not select.select([], [s], [], 2)[1]: break	# held back
print("sent", n, flush=True); s.setblocking(True); s.close()' "$P7" "$W" > "$TMPD/slow.cli" 2>&1
timeout "$W" bash -c 'echo read > "$0"' "$TMPD/slow.go"	# (bounded: a dead server never opens it)
wait_until "$W" 'grep -q got "$TMPD/slow.srv"'
sent=$(awk '/^sent/ {print $2}' "$TMPD/slow.cli")
got=$(awk '/^got/ {print $2}' "$TMPD/slow.srv")
check "a writer to a reader that does not read is held back (${sent:-?} bytes sent until no space came back)" \
	test "${sent:-0}" -gt 1000000 -a "${sent:-0}" -lt 40000000
expect_eq "and the reader gets every one of them when it reads" "${got:-none}" "${sent:-?}"
expect_eq "status counts the hand-off as a slow reader" "$(redirected cli to_tcp.slow_reader)" "$((w0 + 1))"

# Mixed pairs: one side accelerated, the other not.
xfer "mixed pair: accelerated client, plain server (20 MB)" cli 20000000 verify-nb 127.0.0.1 "$P3" 20000000
xfer "mixed pair: plain client, accelerated server (20 MB)" plain 20000000 verify-nb ::1 "$P1" 20000000

# Abortive close (RST) with data in flight; the server survives, the next client works.
in_cg cli python3 -c '
import socket, struct, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=30)
s.sendall(b"x" * 200000)
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()' "$P1"
xfer "after an abortive close the accelerated server still serves" cli 1000000 verify-nb 127.0.0.1 "$P1" 1000000

# 200 concurrent connections, full duplex on non-blocking sockets driven by
# poll() (how event-loop clients talk), interleaved with each other, each
# stream checked byte for byte, and redirected.
c0=$(redirected cli bytes)
cpids=()
for i in $(seq 200); do
	in_cg cli "$XFER" verify-nb 127.0.0.1 "$P1" 200000 > "$TMPD/c$i.out" 2>&1 &
	cpids+=($!)
done
fails=0
for j in "${cpids[@]}"; do wait "$j" || fails=$((fails + 1)); done
ok_n=$(cat "$TMPD"/c*.out | grep -c '^ok 200000$')
expect_eq "200 concurrent accelerated connections all intact" "$ok_n/$fails" "200/0"
grep -hv '^ok' "$TMPD"/c*.out | sort | uniq -c | head -3 | sed 's/^/# /'
c1=$(redirected cli bytes)
check "and redirected ($((c1 - c0)) bytes of 40000000; $(why))" test "$((c1 - c0))" -ge 20000000

# stats marks accelerated sockets: a non-blocking one is, a blocking one is not.
# The clients hold their connection until the test is done with them (stdin,
# a FIFO the test holds open, reaches EOF).
mkfifo "$TMPD/held.stop"
held() {	# OUTFILE TIMEOUT_ARG: a client that exchanges one line, then holds
	in_cg cli python3 -c '
import socket, sys
t = None if sys.argv[2] == "none" else 30
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=t)
s.sendall(b"hello\n"); s.recv(100)
print("ready", s.getsockname()[1], flush=True)
sys.stdin.read()' "$P1" "$2" > "$1" < "$TMPD/held.stop" &
	PIDS+=($!)
}
held "$TMPD/held" 30
held "$TMPD/held.blk" none
exec {HOLD}> "$TMPD/held.stop"	# (opens once both readers opened it)
wait_until "$WAIT_SERVER" '[ -s "$TMPD/held" ] && [ -s "$TMPD/held.blk" ]'
HP=$(awk '{print $2}' "$TMPD/held"); HB=$(awk '{print $2}' "$TMPD/held.blk")
check "stats --json marks the non-blocking client's socket accelerated" \
	bash -c "'$CGP' --pin-path '$PIN' stats --json | grep '\"sport\": $HP,' | grep -q '\"accelerated\": true'"
check "and the blocking client's socket not accelerated" \
	bash -c "'$CGP' --pin-path '$PIN' stats --json | grep '\"sport\": $HB,' | grep -q '\"accelerated\": false'"
exec {HOLD}>&-	# the held clients end

# A policy change takes live accelerated connections back to the normal path:
# an allowed one keeps working, a newly denied one stops. The pinger runs until
# an echo does not come within GET_SECS (600 s at most): the test waits for
# echoes, and for its end once the connection is denied.
m0=$(redirected cli messages)
in_cg cli python3 "$E2E_HELPERS/pinger.py" 127.0.0.1 "$P1" 600 "$GET_SECS" > "$TMPD/ping" 2>&1 &
PING=$!
PIDS+=($PING)
echoes() { grep -c '^ok' "$TMPD/ping"; }
ended() { grep -Eq '^(stalled|closed|done)' "$TMPD/ping" || ! alive "$PING"; }
denied_out() {	# denied_packets of cli's egress
	cgp status --json | python3 -c '
import json, sys
print([p for p in json.load(sys.stdin)["policies"] if p["name"] == "cli"][0]["counters"]["egress"]["denied_packets"])'
}
wait_until "$W" '[ "$(echoes)" -ge 5 ] || ended'
check "the pinger's connection (a socket with a timeout: non-blocking) is redirected" \
	test "$(redirected cli messages)" -gt "$m0"
cgp apply "$POL" >/dev/null	# same rules: must not break it
n0=$(echoes)
wait_until "$W" '[ "$(echoes)" -ge $((n0 + 5)) ] || ended'
n1=$(echoes)
check "accelerated connection survives a re-apply ($n0 -> $n1 echoes)" \
	bash -c "test $n1 -ge $((n0 + 5)) && ! grep -Eq '^(stalled|closed)' '$TMPD/ping'"
sed "s/^allow = out tcp any port $P1-$P8\$/allow = out tcp any port $P2-$P8/" "$POL" > "$TMPD/deny.ini"
d0=$(denied_out)
cgp apply "$TMPD/deny.ini" >/dev/null
wait "$PING"	# (bounded: the pinger gives up GET_SECS after its last echo)
check "a policy change that denies it stops the accelerated connection ($(tail -n 1 "$TMPD/ping"))" \
	grep -q '^stalled' "$TMPD/ping"
check "and its packets were denied at cli's egress (denied_packets $d0 -> $(denied_out))" \
	test "$(denied_out)" -gt "$d0"
expect_eq "and new connections are refused" "$(tcp_get cli 127.0.0.1 "$P1")" ""

cgp remove >/dev/null
xfer "after remove, plain loopback works (20 MB)" cli 20000000 verify 127.0.0.1 "$P1" 20000000

# The path of a kernel that fails the check, through the test hook.
out=$(CGP_TEST_DISABLE_FEATURES=acceleration cgp apply "$POL" 2>&1)
accel_off_checks "$out"
cgp remove >/dev/null

e2e_done
