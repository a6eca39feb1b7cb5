#!/usr/bin/env bash
# What a default-deny policy must allow for path MTU discovery and IPv6
# neighbour discovery (docs/POLICY.md, "PMTU discovery and neighbour
# discovery"), shown with real traffic:
#
#   host (cli cgroup, default deny both ways, only TCP/UDP to the server allowed)
#     --veth, MTU 1500-- router netns --veth, MTU 1280 on the router's side-- server netns
#
# 1. TCP, v4 and v6: the server advertises MSS 1460/1440, the router cannot
#    forward such segments and answers with ICMP fragmentation-needed /
#    ICMPv6 packet-too-big. The transfer completes, the host caches PMTU 1280,
#    and the cli policy judged no ICMP at all (its ingress deny counter stays
#    0): the kernel handles ICMP errors in icmp_rcv/icmpv6_rcv -> tcp_v4_err /
#    tcp_v6_err, never through the socket receive path where cgroup_skb
#    ingress runs (sk_filter). No rule needed.
# 2. UDP (a connected socket with DF): same, the error reaches udp_err, the
#    socket's IP_MTU drops to 1280. No rule needed.
# 3. IPv6 neighbour discovery between host and router under the policy: the
#    host's ND is sent by its netns's ndisc socket, which is not in cli: no
#    rule needed.
# 4. A network namespace created by a process *inside* the policy cgroup:
#    its ndisc socket is charged to that cgroup, so its neighbour
#    solicitations/advertisements are judged by the cgroup's egress rules:
#    IPv6 to that namespace fails under default_egress = deny until
#    neighbour-solicitation and neighbour-advertisement are allowed out.
. "$(dirname "$0")/lib.sh"
e2e_init

R="cgpt-rt-$$"; S="cgpt-sv-$$"; C="cgpt-in-$$"
for _ in $(seq 500); do
	X=$((RANDOM % 200 + 20))
	ip -o addr show | grep -q " 10\.233\.$X\.\| fd42:cafc:$X:" && continue
	reserve "net-10.233.$X" && break
done
H4="10.233.$X.1"; R4A="10.233.$X.2"; R4B="10.233.$X.129"; S4="10.233.$X.130"
H6="fd42:cafc:$X:1::1"; R6A="fd42:cafc:$X:1::2"; R6B="fd42:cafc:$X:2::1"; S6="fd42:cafc:$X:2::2"
VH="cgp$$h"; VR="cgp$$r"; VR2="cgq$$r"; VS="cgq$$s"

ip netns add "$R" && NETNS+=("$R")
ip netns add "$S" && NETNS+=("$S")
ip link add "$VH" type veth peer name "$VR"
ip link add "$VR2" type veth peer name "$VS"
ip link set "$VR" netns "$R"; ip link set "$VR2" netns "$R"; ip link set "$VS" netns "$S"
ip addr add "$H4/25" dev "$VH"; ip addr add "$H6/64" dev "$VH" nodad; ip link set "$VH" up
ip -n "$R" addr add "$R4A/25" dev "$VR"; ip -n "$R" addr add "$R6A/64" dev "$VR" nodad
ip -n "$R" addr add "$R4B/25" dev "$VR2"; ip -n "$R" addr add "$R6B/64" dev "$VR2" nodad
ip -n "$R" link set "$VR2" mtu 1280
ip -n "$R" link set "$VR" up; ip -n "$R" link set "$VR2" up; ip -n "$R" link set lo up
ip netns exec "$R" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
ip -n "$S" addr add "$S4/25" dev "$VS"; ip -n "$S" addr add "$S6/64" dev "$VS" nodad
ip -n "$S" link set "$VS" up; ip -n "$S" link set lo up
ip -n "$S" route add default via "$R4B"; ip -n "$S" -6 route add default via "$R6B"
ip route add "$S4/32" via "$R4A" dev "$VH"
ip -6 route add "$S6/128" via "$R6A" dev "$VH"

CLI=$(mkcg cli)
P=$(rand_port); PU=$((P + 1))
# the server counts the bytes of each connection and answers with the count
ip netns exec "$S" socat "TCP6-LISTEN:$P,ipv6only=0,reuseaddr,fork" SYSTEM:"wc -c" &
PIDS+=($!)
ip netns exec "$S" socat "UDP6-LISTEN:$PU,ipv6only=0,reuseaddr,fork" SYSTEM:"cat >/dev/null" &
PIDS+=($!)
wait_for "$WAIT_SERVER" bash -c "ip netns exec '$S' ss -Htln 'sport = :$P' | grep -q ." ||
	echo "# server in $S did not start" >&2

POL=$(write_policy pmtu.ini <<EOT
[cli]
cgroup = $CLI
default_ingress = deny
default_egress = deny
allow = out tcp $S4 port $P
allow = out tcp $S6 port $P
allow = out udp $S4 port $PU
allow = out udp $S6 port $PU
EOT
)
if cgp apply "$POL" > "$TMPD/apply.log" 2>&1; then ok "apply: default deny, TCP and UDP to the server only"; else
	not_ok "apply: $(cat "$TMPD/apply.log")"; fi

counter() {	# ingress|egress allowed|denied: packets of cli (status --json)
	cgp status --json | python3 -c '
import json, sys
d, v = sys.argv[1], sys.argv[2]
print([p for p in json.load(sys.stdin)["policies"] if p["name"] == "cli"][0]["counters"][d][v + "_packets"])' "$1" "$2"
}
# xfer ADDR: 2 MB from cli to the server; prints the server's count
xfer() {
	local a=$1
	case "$a" in *:*) a="[$a]" ;; esac
	head -c 2000000 /dev/zero > "$TMPD/blob"
	in_cg cli timeout 60 socat -T 30 -t 30 - "TCP:$a:$P,connect-timeout=10" < "$TMPD/blob" 2>&1 | tr -d ' '
}
pmtu_of() {	# ADDR: the cached path MTU of the route to ADDR, if any
	ip route get "$1" 2>/dev/null | grep -o 'mtu [0-9]*' | head -n 1 | cut -d' ' -f2
}

ip -6 neigh flush dev "$VH" 2>/dev/null
ip -n "$R" -6 neigh flush dev "$VR" 2>/dev/null
D0=$(counter ingress denied)
echo "# cli before the transfers: ingress allowed $(counter ingress allowed), denied $D0"
expect_eq "TCP v4 through the 1280-byte link: 2 MB arrive" "$(xfer "$S4")" 2000000
expect_eq "TCP v4: the host learned PMTU 1280 (ICMP fragmentation-needed)" "$(pmtu_of "$S4")" 1280
expect_eq "TCP v6 through the 1280-byte link: 2 MB arrive" "$(xfer "$S6")" 2000000
expect_eq "TCP v6: the host learned PMTU 1280 (ICMPv6 packet-too-big)" "$(pmtu_of "$S6")" 1280
expect_eq "the ICMP errors never reached cli's ingress program (ingress deny counter unchanged)" \
	"$(counter ingress denied)" "$D0"
check "IPv6 neighbour discovery host <-> router worked under the policy (router's entry on the host)" \
	bash -c "ip -6 neigh show dev '$VH' | grep -q '^$R6A .*lladdr'"
expect_eq "cli's egress deny counter: nothing of cli was refused (ND is not cli's)" "$(counter egress denied)" 0

# UDP: a connected DF socket learns the PMTU from the router's error without any ICMP rule.
ip route flush cache 2>/dev/null; ip -6 route flush cache 2>/dev/null
udp_mtu() {	# ADDR: IP_MTU of a connected socket after a 1400-byte DF datagram
	in_cg cli timeout 30 python3 - "$1" "$PU" <<'PY'
import socket, sys, time
addr, port = sys.argv[1], int(sys.argv[2])
v6 = ":" in addr
s = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_DGRAM)
if v6:
    s.setsockopt(socket.IPPROTO_IPV6, 23, 2)	# IPV6_MTU_DISCOVER = IPV6_PMTUDISC_DO
    s.setsockopt(socket.IPPROTO_IPV6, 62, 1)	# IPV6_DONTFRAG
else:
    s.setsockopt(socket.IPPROTO_IP, 10, 2)	# IP_MTU_DISCOVER = IP_PMTUDISC_DO
s.connect((addr, port))
mtu = 0
end = time.monotonic() + 20
while time.monotonic() < end:
    try:
        s.send(b"x" * 1400)
    except OSError:
        pass		# EMSGSIZE once the PMTU is known
    mtu = s.getsockopt(socket.IPPROTO_IPV6, 24) if v6 else s.getsockopt(socket.IPPROTO_IP, 14)
    if mtu < 1500:
        break
    time.sleep(0.1)
print(mtu)
PY
}
expect_eq "UDP v4: a DF datagram's IP_MTU drops to 1280 under default_ingress = deny" "$(udp_mtu "$S4")" 1280
expect_eq "UDP v6: IPV6_MTU drops to 1280" "$(udp_mtu "$S6")" 1280
expect_eq "still no ICMP judged by cli's ingress" "$(counter ingress denied)" "$D0"
echo "# cli after TCP and UDP: ingress allowed $(counter ingress allowed) (the transfers' ACKs), denied $(counter ingress denied)"

# 4. A namespace made from inside the policy cgroup: its ND is the cgroup's.
in_cg cli ip netns add "$C" && NETNS+=("$C")
VC="cgc$$h"; VCN="cgc$$n"
ip link add "$VC" type veth peer name "$VCN"
ip link set "$VCN" netns "$C"
C6H="fd42:cafc:$X:3::1"; C6N="fd42:cafc:$X:3::2"
ip addr add "$C6H/64" dev "$VC" nodad; ip link set "$VC" up
ip -n "$C" addr add "$C6N/64" dev "$VCN" nodad; ip -n "$C" link set "$VCN" up; ip -n "$C" link set lo up
# from the host (root cgroup, no policy): ICMPv6 echo into it; its kernel answers
echo6() { timeout 30 python3 "$E2E_HELPERS/icmp.py" "$C6N" 128 0 "$1" 0.1 2>&1 | tail -n 1; }
E0=$(counter egress denied)
out=$(echo6 3)
if [ "$(sed -n 's/.*replies=\([0-9]*\).*/\1/p' <<<"$out")" = 0 ] && [ "$(counter egress denied)" -gt "$E0" ]; then
	ok "netns made in cli: its neighbour advertisements are cli's egress, denied: no IPv6 ($out)"
else
	not_ok "netns made in cli: expected no answer and cli egress denies: $out, egress deny $E0 -> $(counter egress denied)"
fi
cat >> "$POL" <<EOT
allow = out icmp any type neighbour-solicitation
allow = out icmp any type neighbour-advertisement
EOT
cgp apply "$POL" > "$TMPD/apply.log" 2>&1 || echo "# apply: $(cat "$TMPD/apply.log")" >&2
ip -6 neigh flush dev "$VC" 2>/dev/null
out=""
if wait_until "$GET_SECS" 'out=$(echo6 2); [ "$(sed -n "s/.*replies=\([0-9]*\).*/\1/p" <<<"$out")" -gt 0 ]'; then
	ok "with neighbour-solicitation/advertisement allowed out: IPv6 to that netns works ($out)"
else
	not_ok "with ND allowed: still no answer ($out)"
fi
ip link del "$VC" 2>/dev/null

e2e_done
