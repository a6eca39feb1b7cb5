#!/usr/bin/env bash
# ICMP types (docs/POLICY.md, "ICMP types") with real traffic: a raw ICMP /
# ICMPv6 socket in a policy cgroup (tests/e2e/helpers/icmp.py; the host may
# have no ping binary) talks to a network namespace across a veth pair. An
# allowed type passes and its replies come back under default_ingress = deny,
# other types are refused at send, v4 and v6; a re-apply without the rule
# stops a running echo. ICMP datagram ("ping") sockets, which ping(8) uses
# when net.ipv4.ping_group_range allows, are judged the same: a client of the
# cli cgroup runs inside the namespace, whose ping_group_range lets root use
# them, and pings the host.
. "$(dirname "$0")/lib.sh"
e2e_init

NS="cgpt-icmp-$$"
VH="cgi$$h"
VN="cgi$$n"
for _ in $(seq 500); do
	X=$((RANDOM % 200 + 20))
	ip -o addr show | grep -q " 10\.232\.$X\.\| fd42:cafd:$X::" && continue
	reserve "net-10.232.$X" && break
done
H4="10.232.$X.1"; N4="10.232.$X.2"
H6="fd42:cafd:$X::1"; N6="fd42:cafd:$X::2"

ip netns add "$NS" && NETNS+=("$NS")
ip link add "$VH" type veth peer name "$VN"
ip link set "$VN" netns "$NS"
ip addr add "$H4/24" dev "$VH"
ip addr add "$H6/64" dev "$VH" nodad
ip link set "$VH" up
ip -n "$NS" addr add "$N4/24" dev "$VN"
ip -n "$NS" addr add "$N6/64" dev "$VN" nodad
ip -n "$NS" link set "$VN" up
ip -n "$NS" link set lo up
ip netns exec "$NS" sysctl -qw net.ipv4.ping_group_range="0 0"

CLI=$(mkcg cli)

# icmp ADDR TYPE CODE SECONDS: the helper's last line, from the cli cgroup
icmp() {
	in_cg cli timeout 60 python3 "$E2E_HELPERS/icmp.py" "$@" 2>&1 | tail -n 1
}
field() {	# NAME LINE: the number after NAME=
	sed -n "s/.*$1=\([0-9]*\).*/\1/p" <<<"$2"
}
# allowed ADDR TYPE CODE: some reply within GET_SECS (stops at the first few)
allowed() {
	local end=$(( $(date +%s) + GET_SECS )) out
	while :; do
		out=$(icmp "$1" "$2" "$3" 2)
		[ "$(field replies "$out")" -gt 0 ] 2>/dev/null && return 0
		[ "$(date +%s)" -ge "$end" ] && { echo "# $*: $out" >&2; return 1; }
	done
}
# refused ADDR TYPE CODE: every send refused (EPERM), at least 5 tried, no reply
refused() {
	local out
	out=$(icmp "$1" "$2" "$3" 1)
	if [ "$(field sent "$out")" = 0 ] && [ "$(field errors "$out")" -ge 5 ] 2>/dev/null &&
	   [ "$(field replies "$out")" = 0 ]; then
		return 0
	fi
	echo "# refused $*: $out" >&2
	return 1
}

check "baseline: ICMP echo to $N4 answered" allowed "$N4" 8 0
check "baseline: ICMPv6 echo to $N6 answered" allowed "$N6" 128 0
check "baseline: ICMP timestamp to $N4 answered" allowed "$N4" 13 0
# ping sockets: cli's process inside the namespace, pinging the host
pingsock() {	# ADDR TYPE SECONDS: the helper's last line (ping socket, from NS, in cli)
	in_cg cli ip netns exec "$NS" timeout 60 python3 "$E2E_HELPERS/icmp.py" "$1" "$2" 0 "$3" 0.1 dgram 2>&1 | tail -n 1
}
ping_allowed() {	# ADDR TYPE
	local end=$(( $(date +%s) + GET_SECS )) out
	while :; do
		out=$(pingsock "$1" "$2" 2)
		[ "$(field replies "$out")" -gt 0 ] 2>/dev/null && return 0
		[ "$(date +%s)" -ge "$end" ] && { echo "# ping socket $*: $out" >&2; return 1; }
	done
}
out_denied() {	# cli's egress denied packets (status --json)
	cgp status --json | python3 -c 'import json,sys
print([p for p in json.load(sys.stdin)["policies"] if p["name"] == "cli"][0]["counters"]["egress"]["denied_packets"])'
}
# No reply, and every request refused: EPERM at send (IPv4), or dropped
# silently (an IPv6 ping socket's sendmsg ignores the result of the
# transmit: ping_v6_sendmsg) and counted as denied at cli's egress.
ping_refused() {	# ADDR TYPE
	local out d0 d1
	d0=$(out_denied)
	out=$(pingsock "$1" "$2" 1)
	d1=$(out_denied)
	if [ "$(field replies "$out")" = 0 ] && { { [ "$(field sent "$out")" = 0 ] && [ "$(field errors "$out")" -ge 5 ]; } ||
	   { [ "$(field errors "$out")" = 0 ] && [ $((d1 - d0)) -ge "$(field sent "$out")" ] && [ "$(field sent "$out")" -ge 5 ]; }; } 2>/dev/null; then
		echo "# ping socket refused $*: $out, cli egress denied +$((d1 - d0))"
		return 0
	fi
	echo "# ping socket refused $*: $out, cli egress denied +$((d1 - d0))" >&2
	return 1
}
check "baseline: ping socket v4 (from the namespace, in cli) answered" ping_allowed "$H4" 8
check "baseline: ping socket v6 answered" ping_allowed "$H6" 128

P1=$(write_policy icmp1.ini <<EOT
[cli]
cgroup = $CLI
default_ingress = deny
default_egress = deny
allow = out icmp any type echo-request
EOT
)
if cgp apply "$P1" > "$TMPD/apply.log" 2>&1; then ok "apply: out echo-request only"; else
	not_ok "apply: out echo-request only: $(cat "$TMPD/apply.log")"; fi
check "echo-request allowed: v4 echo replies pass under default_ingress = deny" allowed "$N4" 8 0
check "echo-request allowed: v6 echo replies pass (one name, type 128)" allowed "$N6" 128 0
check "other type denied: v4 timestamp-request refused" refused "$N4" 13 0
check "other type denied: v4 type 128 is not echo-request" refused "$N4" 128 0
check "other type denied: v6 type 8 is not echo-request" refused "$N6" 8 0
check "other type denied: v6 type 200 refused" refused "$N6" 200 0
check "ping socket v4: echo-request allowed, replies pass" ping_allowed "$H4" 8
check "ping socket v6: echo-request allowed, replies pass" ping_allowed "$H6" 128

# The reply path maps a reply to its request (echo-reply -> echo-request), not
# any type: while cli's raw socket has an echo flow with N4, the namespace's
# timestamp requests to the host (answered by the host's kernel, outside any
# cgroup) are also copied to that raw socket, and judged by cli's ingress:
# refused under P1, delivered when the out rule has no type.
peer_ts() {	# POLICY: the ICMP types cli's echo run saw from N4 while N4 sent timestamp requests
	ip netns exec "$NS" timeout 30 python3 "$E2E_HELPERS/icmp.py" "$H4" 13 0 4 0.05 > "$TMPD/peer" 2>&1 &
	local peer=$!
	icmp "$N4" 8 0 3
	wait "$peer"
}
out=$(peer_ts)
if [ "$(field replies "$out")" -gt 0 ] 2>/dev/null && ! grep -q "types=.*13" <<<"$out" &&
   [ "$(field replies "$(tail -n 1 "$TMPD/peer")")" -gt 0 ] 2>/dev/null; then
	ok "reply path: the peer's timestamp requests on the echo flow are refused ($out)"
else
	not_ok "reply path: cli saw '$out', peer $(tail -n 1 "$TMPD/peer")"
fi
P0=$(write_policy icmp0.ini <<EOT
[cli]
cgroup = $CLI
default_ingress = deny
default_egress = deny
allow = out icmp any
EOT
)
cgp apply "$P0" > "$TMPD/apply.log" 2>&1 || echo "# apply P0: $(cat "$TMPD/apply.log")" >&2
out=$(peer_ts)
if grep -q "types=.*13" <<<"$out"; then
	ok "reply path without a type: the peer's timestamp requests on the flow pass ($out)"
else
	not_ok "reply path without a type: cli saw '$out'"
fi
cgp apply "$P1" > "$TMPD/apply.log" 2>&1 || echo "# apply P1: $(cat "$TMPD/apply.log")" >&2

P2=$(write_policy icmp2.ini <<EOT
[cli]
cgroup = $CLI
default_ingress = deny
default_egress = deny
allow = out icmp any type timestamp-request
allow = out icmp $N6 type 128 code 0
EOT
)
# A long echo run under P1; the re-apply (P2: no v4 echo-request) must stop it.
# (not through in_cg, a shell function: $! must be the helper itself, to kill it)
bash -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$CGROOT/cli" \
	python3 "$E2E_HELPERS/icmp.py" "$N4" 8 0 120 0.1 > "$TMPD/run" 2>&1 &
RUN=$!
PIDS+=($RUN)
last_run() { tail -n 1 "$TMPD/run"; }
if wait_until "$GET_SECS" '[ "$(field replies "$(last_run)")" -ge 5 ] 2>/dev/null'; then
	ok "running echo: replies under P1 ($(last_run))"
else
	not_ok "running echo: no replies under P1 ($(last_run))"
fi
if cgp apply "$P2" > "$TMPD/apply.log" 2>&1; then ok "re-apply without the echo-request rule"; else
	not_ok "re-apply: $(cat "$TMPD/apply.log")"; fi
# a request that left just before the switch may still be answered: take the
# count once the refusals started, then let it try for a while
E0=$(field errors "$(last_run)")
wait_until "$GET_SECS" '[ "$(field errors "$(last_run)")" -gt "$E0" ]'
R1=$(field replies "$(last_run)")
E1=$(field errors "$(last_run)")
wait_until "$GET_SECS" '[ "$(field errors "$(last_run)")" -ge $((E1 + 10)) ]'
R2=$(field replies "$(last_run)")
if [ "$R2" = "$R1" ] && [ "$(field errors "$(last_run)")" -ge $((E1 + 10)) ]; then
	ok "re-apply stops the running echo: replies stay at $R2, $(( $(field errors "$(last_run)") - E1 )) sends refused"
else
	not_ok "re-apply did not stop the echo: replies $R1 -> $R2 ($(last_run))"
fi
kill "$RUN" 2>/dev/null
wait "$RUN" 2>/dev/null
check "P2: v4 echo refused" refused "$N4" 8 0
check "P2: timestamp-request allowed, its reply (type 14) passes by the request's rule" allowed "$N4" 13 0
check "P2: numeric type 128 code 0 on an IPv6 address: v6 echo answered" allowed "$N6" 128 0
check "P2: v6 echo with code 1 refused (code 0 only)" refused "$N6" 128 1
check "P2: ping socket v4 refused" ping_refused "$H4" 8
check "P2: ping socket v6 to another address than the rule's refused" ping_refused "$H6" 128

# Errors: FILE:LINE, exit 1, nothing applied (the live policy stays P2).
G0=$(cgp status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["generation"])' 2>/dev/null)
BAD=$(write_policy bad.ini <<EOT
[cli]
cgroup = $CLI
default_ingress = deny
allow = out tcp any type echo-request
EOT
)
out=$(cgp apply "$BAD" 2>&1); rc=$?
expect_eq "type with tcp: exit 1" "$rc" 1
check "type with tcp: FILE:LINE message ($out)" grep -q "bad.ini:4: 'type' needs proto icmp (not tcp)" <<<"$out"
BAD=$(write_policy bad2.ini <<EOT
[cli]
cgroup = $CLI
allow = out icmp 10.0.0.0/8 type packet-too-big
EOT
)
out=$(cgp apply "$BAD" 2>&1); rc=$?
expect_eq "packet-too-big on an IPv4 address: exit 1" "$rc" 1
check "packet-too-big on an IPv4 address: FILE:LINE ($out)" grep -q "bad2.ini:3: ICMP type 'packet-too-big' is IPv6" <<<"$out"
G1=$(cgp status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["generation"])' 2>/dev/null)
expect_eq "refused files changed nothing (generation)" "$G1" "$G0"
check "P2 still in force: v4 echo refused" refused "$N4" 8 0

e2e_done
