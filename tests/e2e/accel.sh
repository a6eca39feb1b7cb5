#!/usr/bin/env bash
# Socket redirection acceleration: data integrity (v4, v6, dual-stack), mixed
# pairs, many concurrent connections, an epoll server, half-close, abortive
# close, and policy changes that take accelerated connections back.
. "$(dirname "$0")/lib.sh"
e2e_init

XFER="$BUILD/tools/cgp-xfer"
[ -x "$XFER" ] || { not_ok "$XFER not built"; e2e_done; exit 1; }
CLI=$(mkcg cli)
SRV=$(mkcg srv)
PLAIN=$(mkcg plain)
P1=$(rand_port); P2=$((P1 + 1)); P3=$((P1 + 2))

# Epoll echo servers (non-blocking sockets): dual-stack on ::, and one outside acceleration.
bg_in_cg srv "$XFER" echo :: "$P1"
wait_listen tcp "$P1"
bg_in_cg plain "$XFER" echo :: "$P3"
wait_listen tcp "$P3"

POL=$(write_policy accel.ini <<EOT
[cli]
cgroup = $CLI
accelerate = yes
default_egress = deny
allow = out tcp any port $P1
allow = out tcp any port $P3

[srv]
cgroup = $SRV
accelerate = yes
default_ingress = deny
allow = in tcp any port $P1
EOT
)
out=$(cgp apply "$POL" 2>&1) || { not_ok "apply: $out"; e2e_done; exit 1; }

redirected() {	# POLICY: messages redirected so far
	cgp status --json | python3 -c 'import json,sys; d=json.load(sys.stdin); print([p for p in d["policies"] if p["name"]==sys.argv[1]][0]["redirected"]["messages"])' "$1"
}

r0=$(redirected cli)
check "20 MB v4 through an accelerated pair, every byte checked" \
	bash -c "$(declare -f in_cg); CGROOT='$CGROOT'; in_cg cli '$XFER' verify 127.0.0.1 $P1 20000000 | grep -q 'ok 20000000'"
r1=$(redirected cli)
check "the v4 transfer was redirected ($r0 -> $r1 messages)" test "$r1" -gt "$((r0 + 100))"
check "20 MB v6 through an accelerated pair" \
	bash -c "$(declare -f in_cg); CGROOT='$CGROOT'; in_cg cli '$XFER' verify ::1 $P1 20000000 | grep -q 'ok 20000000'"
r2=$(redirected cli)
check "the v6 transfer was redirected ($r1 -> $r2)" test "$r2" -gt "$((r1 + 100))"
# 127.0.0.1 to a server on :: is the dual-stack case: its socket is AF_INET6, v4-mapped.
s0=$(redirected srv)
check "20 MB v4 client to a dual-stack (::) server, echoed back" \
	bash -c "$(declare -f in_cg); CGROOT='$CGROOT'; in_cg cli '$XFER' verify 127.0.0.1 $P1 20000000 64000 | grep -q 'ok 20000000'"
s1=$(redirected srv)
check "the dual-stack server's answers were redirected too ($s0 -> $s1)" test "$s1" -gt "$s0"

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
