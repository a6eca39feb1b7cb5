#!/usr/bin/env bash
# ICMP types (docs/POLICY.md, "ICMP types") with real traffic: a raw ICMP /
# ICMPv6 socket in a policy cgroup (tests/e2e/helpers/icmp.py; this host has
# no ping binary and net.ipv4.ping_group_range lets no group use ping
# sockets, raw sockets are judged by cgroup_skb all the same) talks to a
# network namespace across a veth pair. An allowed type passes and its replies
# come back under default_ingress = deny, other types are refused at send,
# v4 and v6; a re-apply without the rule stops a running echo.
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
in_cg cli python3 "$E2E_HELPERS/icmp.py" "$N4" 8 0 120 0.1 > "$TMPD/run" 2>&1 &
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
check "P2: v4 echo refused" refused "$N4" 8 0
check "P2: timestamp-request allowed, its reply (type 14) passes by the request's rule" allowed "$N4" 13 0
check "P2: numeric type 128 code 0 on an IPv6 address: v6 echo answered" allowed "$N6" 128 0
check "P2: v6 echo with code 1 refused (code 0 only)" refused "$N6" 128 1

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
