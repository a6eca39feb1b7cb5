#!/usr/bin/env bash
# Socket redirection acceleration: data integrity (v4, v6, dual-stack), mixed
# pairs, many concurrent connections, epoll and blocking servers, half-close,
# abortive close, streams of small writes handed to TCP mid-stream, and policy
# changes that take accelerated connections back.
. "$(dirname "$0")/lib.sh"
e2e_init

XFER="$BUILD/tools/cgp-xfer"
[ -x "$XFER" ] || { not_ok "$XFER not built"; e2e_done; exit 1; }
CLI=$(mkcg cli)
SRV=$(mkcg srv)
PLAIN=$(mkcg plain)
P1=$(rand_port); P2=$((P1 + 1)); P3=$((P1 + 2)); P4=$((P1 + 3)); P5=$((P1 + 4)); P6=$((P1 + 5)); P7=$((P1 + 6))

# Epoll echo servers (non-blocking sockets): dual-stack on ::, and one outside
# acceleration; a blocking echo server (a thread per connection); a sink.
bg_in_cg srv "$XFER" echo :: "$P1"
wait_listen tcp "$P1"
bg_in_cg plain "$XFER" echo :: "$P3"
wait_listen tcp "$P3"
bg_in_cg srv "$XFER" echo-blocking :: "$P4"
wait_listen tcp "$P4"
bg_in_cg srv "$XFER" sink 127.0.0.1 "$P5"
wait_listen tcp "$P5"

POL=$(write_policy accel.ini <<EOT
[cli]
cgroup = $CLI
accelerate = yes
default_egress = deny
allow = out tcp any port $P1
allow = out tcp any port $P3
allow = out tcp any port $P4-$P7

[srv]
cgroup = $SRV
accelerate = yes
default_ingress = deny
allow = in tcp any port $P1
allow = in tcp any port $P4-$P7
EOT
)
out=$(cgp apply "$POL" 2>&1) || { not_ok "apply: $out"; e2e_done; exit 1; }

redirected() {	# POLICY [messages|bytes|to_tcp|to_tcp.REASON]: from status --json
	cgp status --json | python3 -c '
import json, sys
d = [p for p in json.load(sys.stdin)["policies"] if p["name"] == sys.argv[1]][0]["redirected"]
for k in sys.argv[2].split("."):
    d = d[k]
print(" ".join("%s=%s" % kv for kv in d.items()) if isinstance(d, dict) else d)' "$1" "${2:-messages}"
}

# Writes of 1 B-256 KiB (128 KiB on average): no stream of small writes, so
# the whole payload takes the redirect, both ways.
r0=$(redirected cli bytes)
check "20 MB v4 through an accelerated pair, every byte checked" \
	bash -c "$(declare -f in_cg); CGROOT='$CGROOT'; in_cg cli '$XFER' verify 127.0.0.1 $P1 20000000 262144 | grep -q 'ok 20000000'"
r1=$(redirected cli bytes)
check "all of the v4 payload was redirected ($r0 -> $r1 bytes; cli $(redirected cli to_tcp), srv $(redirected srv to_tcp))" test "$r1" -ge "$((r0 + 20000000))"
check "20 MB v6 through an accelerated pair" \
	bash -c "$(declare -f in_cg); CGROOT='$CGROOT'; in_cg cli '$XFER' verify ::1 $P1 20000000 262144 | grep -q 'ok 20000000'"
r2=$(redirected cli bytes)
check "all of the v6 payload was redirected ($r1 -> $r2; cli $(redirected cli to_tcp), srv $(redirected srv to_tcp))" test "$r2" -ge "$((r1 + 20000000))"
# 127.0.0.1 to a server on :: is the dual-stack case: its socket is AF_INET6, v4-mapped.
s0=$(redirected srv bytes)
check "20 MB v4 client to a dual-stack (::) server, echoed back" \
	bash -c "$(declare -f in_cg); CGROOT='$CGROOT'; in_cg cli '$XFER' verify 127.0.0.1 $P1 20000000 262144 | grep -q 'ok 20000000'"
s1=$(redirected srv bytes)
check "the dual-stack server's answers were redirected too ($s0 -> $s1)" test "$s1" -ge "$((s0 + 20000000))"
r0=$(redirected cli bytes)
check "20 MB through a blocking server (a thread per connection, blocking reads)" \
	bash -c "$(declare -f in_cg); CGROOT='$CGROOT'; in_cg cli '$XFER' verify 127.0.0.1 $P4 20000000 262144 | grep -q 'ok 20000000'"
r1=$(redirected cli bytes)
check "and it was redirected ($r0 -> $r1; cli $(redirected cli to_tcp), srv $(redirected srv to_tcp))" test "$r1" -ge "$((r0 + 20000000))"

# Streams of small writes go to TCP mid-stream (TCP batches them better); the
# order of what was redirected before and what follows on TCP must hold.
check "20 MB in writes of 1-512 B, echoed (both ends may go to TCP mid-stream), every byte checked" \
	bash -c "$(declare -f in_cg); CGROOT='$CGROOT'; in_cg cli '$XFER' verify 127.0.0.1 $P1 20000000 512 | grep -q 'ok 20000000'"
# One way, to a reader that never answers: the hand-off comes after 32 writes.
in_cg srv python3 -c '
import socket, sys
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("127.0.0.1", int(sys.argv[1]))); l.listen(); print("ready", flush=True)
c, _ = l.accept(); n = 0; bad = 0
while True:
    b = c.recv(1 << 20)
    if not b: break
    bad += sum(1 for i, x in enumerate(b) if x != (n + i) % 251)
    n += len(b)
print("got", n, "bad", bad, flush=True)' "$P6" > "$TMPD/hand.srv" 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do grep -q ready "$TMPD/hand.srv" 2>/dev/null && break; sleep 0.1; done
r0=$(redirected cli bytes)
h0=$(redirected cli to_tcp.small_writes)
in_cg cli python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
pat = bytes(i % 251 for i in range(251 * 2))
for k in range(20000):
    off = (k * 100) % 251
    s.sendall(pat[off:off + 100])
s.close()' "$P6"
for _ in $(seq 100); do grep -q got "$TMPD/hand.srv" && break; sleep 0.1; done
r1=$(redirected cli bytes)
expect_eq "20000 writes of 100 B to a reader: all arrive, in order" "$(awk '/^got/ {print $2, $4}' "$TMPD/hand.srv")" "2000000 0"
check "the first writes were redirected, the rest went to TCP ($((r1 - r0)) of 2000000 bytes redirected)" \
	test "$((r1 - r0))" -gt 0 -a "$((r1 - r0))" -le 3200
expect_eq "status counts the hand-off as small writes" "$(redirected cli to_tcp.small_writes)" "$((h0 + 1))"
check "a stream of 512 B writes to a sink: every byte counted" \
	bash -c "$(declare -f in_cg); CGROOT='$CGROOT'; in_cg cli '$XFER' bulk 127.0.0.1 $P5 512 1 >/dev/null"
check "a stream of 64 KiB writes to a sink: every byte counted" \
	bash -c "$(declare -f in_cg); CGROOT='$CGROOT'; in_cg cli '$XFER' bulk 127.0.0.1 $P5 65536 1 >/dev/null"

# A reader that does not read: a redirect is not bounded by its receive buffer,
# so the pair goes to TCP and its flow control once 6 MiB wait unread. The
# writer is held back (TCP alone lets ~10 MB wait), and every byte arrives.
in_cg srv python3 -c '
import socket, sys, time
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("127.0.0.1", int(sys.argv[1]))); l.listen(); print("ready", flush=True)
c, _ = l.accept(); time.sleep(3); n = 0
while True:
    b = c.recv(1 << 20)
    if not b: break
    n += len(b)
print("got", n, flush=True)' "$P7" > "$TMPD/slow.srv" 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do grep -q ready "$TMPD/slow.srv" 2>/dev/null && break; sleep 0.1; done
w0=$(redirected cli to_tcp.slow_reader)
in_cg cli python3 -c '
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1]))); s.setblocking(False)
b = b"x" * 262144; n = 0; t = time.time()
while time.time() - t < 2:
    try: n += s.send(b)
    except BlockingIOError: time.sleep(0.01)
print("sent", n, flush=True); s.setblocking(True); s.close()' "$P7" > "$TMPD/slow.cli" 2>&1
for _ in $(seq 100); do grep -q got "$TMPD/slow.srv" && break; sleep 0.1; done
sent=$(awk '/^sent/ {print $2}' "$TMPD/slow.cli")
got=$(awk '/^got/ {print $2}' "$TMPD/slow.srv")
check "a writer to a reader that does not read is held back (${sent:-?} bytes sent in 2 s)" \
	test "${sent:-0}" -gt 1000000 -a "${sent:-0}" -lt 40000000
expect_eq "and the reader gets every one of them when it reads" "${got:-none}" "${sent:-?}"
expect_eq "status counts the hand-off as a slow reader" "$(redirected cli to_tcp.slow_reader)" "$((w0 + 1))"

# Mixed pairs: one side accelerated, the other not.
check "mixed pair: accelerated client, plain server (20 MB)" \
	bash -c "$(declare -f in_cg); CGROOT='$CGROOT'; in_cg cli '$XFER' verify 127.0.0.1 $P3 20000000 | grep -q 'ok 20000000'"
check "mixed pair: plain client, accelerated server (20 MB)" \
	bash -c "$(declare -f in_cg); CGROOT='$CGROOT'; in_cg plain '$XFER' verify ::1 $P1 20000000 | grep -q 'ok 20000000'"

# Half-close: the writer shuts down its side first, the echo still arrives whole, then EOF.
check "half-close (shutdown SHUT_WR) keeps TCP semantics" \
	bash -c "$(declare -f in_cg); CGROOT='$CGROOT'; in_cg cli '$XFER' halfclose 127.0.0.1 $P1 3000000 | grep -q 'ok 3000000'"

# Abortive close (RST) with data in flight; the server survives, the next client works.
in_cg cli python3 -c '
import socket, struct, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"x" * 200000)
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()' "$P1"
check "after an abortive close the accelerated server still serves" \
	bash -c "$(declare -f in_cg); CGROOT='$CGROOT'; in_cg cli '$XFER' verify 127.0.0.1 $P1 1000000 | grep -q 'ok 1000000'"

# 200 concurrent connections, full duplex on non-blocking sockets driven by
# poll() (how event-loop clients talk), interleaved with each other, each
# stream checked byte for byte. (Blocking readers: see docs/ARCHITECTURE.md,
# "Acceleration: a kernel limit".)
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

# stats marks accelerated sockets.
in_cg cli python3 -c '
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"hello\n"); s.recv(100)
print("ready", s.getsockname()[1], flush=True); time.sleep(20)' "$P1" > "$TMPD/held" &
PIDS+=($!)
for _ in $(seq 50); do [ -s "$TMPD/held" ] && break; sleep 0.1; done
HP=$(awk '{print $2}' "$TMPD/held")
check "stats --json marks the accelerated socket" \
	bash -c "'$CGP' --pin-path '$PIN' stats --json | grep '\"sport\": $HP,' | grep -q '\"accelerated\": true'"

# A policy change takes live accelerated connections back to the normal path:
# an allowed one keeps working, a newly denied one stops.
in_cg cli python3 "$(dirname "$0")/helpers/pinger.py" 127.0.0.1 "$P1" 8 > "$TMPD/ping" 2>&1 &
PING=$!
PIDS+=($PING)
sleep 1
cgp apply "$POL" >/dev/null	# same rules: must not break it
sleep 1
n1=$(grep -c '^ok' "$TMPD/ping")
check "accelerated connection survives a re-apply ($n1 echoes)" bash -c "test $n1 -gt 5 && ! grep -q stalled '$TMPD/ping'"
sed "s/^allow = out tcp any port $P1\$/deny = out tcp any port $P1/" "$POL" > "$TMPD/deny.ini"
cgp apply "$TMPD/deny.ini" >/dev/null
wait "$PING"
check "a policy change that denies it stops the accelerated connection" grep -q '^stalled' "$TMPD/ping"
expect_eq "and new connections are refused" "$(tcp_get cli 127.0.0.1 "$P1")" ""

cgp remove >/dev/null
check "after remove, plain loopback works (20 MB)" \
	bash -c "$(declare -f in_cg); CGROOT='$CGROOT'; in_cg cli '$XFER' verify 127.0.0.1 $P1 20000000 | grep -q 'ok 20000000'"

e2e_done
