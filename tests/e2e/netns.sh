#!/usr/bin/env bash
# End-to-end enforcement across a veth pair into a network namespace that this
# test creates: real-sized packets, remote peers with their own addresses.
. "$(dirname "$0")/lib.sh"
e2e_init

NS="cgpt-ns-$$"
VH="cgv$$h"
VN="cgv$$n"
# a /24 (and /64) of our own: no address of it on this host, and reserved
# against a concurrent run of this test
for _ in $(seq 500); do
	X=$((RANDOM % 200 + 20))
	ip -o addr show | grep -q " 10\.231\.$X\.\| fd42:cafe:$X::" && continue
	reserve "net-10.231.$X" && break
done
H4="10.231.$X.1"; N4="10.231.$X.2"; N4B="10.231.$X.3"
H6="fd42:cafe:$X::1"; N6="fd42:cafe:$X::2"

ip netns add "$NS" && NETNS+=("$NS")
ip link add "$VH" type veth peer name "$VN"
ip link set "$VN" netns "$NS"
ip addr add "$H4/24" dev "$VH"
ip addr add "$H6/64" dev "$VH" nodad
ip link set "$VH" up
ip -n "$NS" addr add "$N4/24" dev "$VN"
ip -n "$NS" addr add "$N4B/24" dev "$VN"
ip -n "$NS" addr add "$N6/64" dev "$VN" nodad
ip -n "$NS" link set "$VN" up
ip -n "$NS" link set lo up

CLI=$(mkcg cli)
SRV=$(mkcg srv)
P1=$(rand_port); P2=$((P1 + 1)); P3=$((P1 + 2)); P4=$((P1 + 3))

# Servers inside the namespace (no policy there): HTTP and a plain TCP greeter.
mkdir -p "$TMPD/www" && echo "page from $N4" > "$TMPD/www/index.html"
ip netns exec "$NS" python3 -m http.server --bind :: --directory "$TMPD/www" "$P1" >/dev/null 2>&1 &
PIDS+=($!)
ip netns exec "$NS" socat "TCP4-LISTEN:$P2,reuseaddr,fork" SYSTEM:"echo hello $P2" &
PIDS+=($!)
wait_for "$WAIT_SERVER" bash -c "ip netns exec '$NS' ss -Htln 'sport = :$P1' | grep -q . && ip netns exec '$NS' ss -Htln 'sport = :$P2' | grep -q ." ||
	echo "# servers in $NS did not start" >&2
# Servers on the host, in the policed srv cgroup.
tcp_server srv "$H4" "$P3"
tcp_server srv "$H4" "$P4"

ns_get() {	# SRC ADDR PORT: client inside the namespace, from source address SRC (see fetch)
	fetch "$GET_SECS" ip netns exec "$NS" timeout 10 socat -T2 - "TCP:$2:$3,connect-timeout=2,bind=$1" </dev/null
}
# curl_get CG URL [MAX_SECONDS]: the body. Like fetch: empty only when the
# connection was refused (curl exit 7, or no answer to the SYN within 2 s);
# any other failure (a slow server on a busy machine) is tried again until
# GET_SECS, then shown as "<no answer ...>".
curl_get() {
	local end out rc err
	err=$(mktemp "$TMPD/curl.XXXXXX")
	end=$(( $(date +%s%N) + GET_SECS * 1000000000 ))
	while :; do
		out=$(in_cg "$1" curl -sS -g --connect-timeout 2 --max-time "${3:-20}" "$2" 2>"$err"); rc=$?
		if [ "$rc" = 0 ]; then printf '%s\n' "$out"; rm -f "$err"; return 0; fi
		if [ "$rc" = 7 ] || grep -q "Connection timed out after\|Failed to connect" "$err"; then
			rm -f "$err"; return 1
		fi
		if [ "$(date +%s%N)" -ge "$end" ]; then
			echo "<no answer and no refusal within ${GET_SECS}s: curl exit $rc $(head -c 300 "$err")>"
			rm -f "$err"; return 1
		fi
		sleep 0.2
	done
}

expect_eq "baseline: curl to the namespace" "$(curl_get cli "http://$N4:$P1/")" "page from $N4"
expect_eq "baseline: namespace reaches host server" "$(ns_get "$N4B" "$H4" "$P4")" "hello $P4"

POL=$(write_policy netns.ini <<EOT
[cli]
cgroup = $CLI
default_ingress = deny
default_egress = deny
allow = out tcp $N4/32 port $P1
allow = out tcp $N6/128 port $P1

[srv]
cgroup = $SRV
default_ingress = deny
default_egress = deny
allow = in tcp $N4 port $P3-$P4
deny = in tcp $N4 port $P4
EOT
)
out=$(cgp apply "$POL" 2>&1); rc=$?
expect_eq "apply" "$rc" 0
[ "$rc" = 0 ] || echo "$out" | sed 's/^/# /'

expect_eq "curl over veth, allowed (v4)" "$(curl_get cli "http://$N4:$P1/")" "page from $N4"
expect_eq "curl over veth, allowed (v6)" "$(curl_get cli "http://[$N6]:$P1/")" "page from $N4"
expect_eq "same peer, other port: denied" "$(tcp_get cli "$N4" "$P2")" ""
expect_eq "allowed port, other peer address: denied" "$(curl_get cli "http://$N4B:$P1/")" ""
expect_eq "remote client allowed into srv" "$(ns_get "$N4" "$H4" "$P3")" "hello $P3"
expect_eq "remote client denied by a more specific port rule" "$(ns_get "$N4" "$H4" "$P4")" ""
expect_eq "remote client from another address denied" "$(ns_get "$N4B" "$H4" "$P3")" ""

# A 2 MB download through the allowed, stateful flow arrives whole.
head -c 2000000 /dev/urandom > "$TMPD/www/big"
sum_src=$(sha256sum < "$TMPD/www/big")
# (an allowed flow: a download cut short on a busy machine is tried again)
wait_for 120 in_cg cli curl -sS -g --connect-timeout 2 --max-time 60 -o "$TMPD/big.got" "http://$N4:$P1/big"
sum_dst=$(sha256sum < "$TMPD/big.got")
expect_eq "2 MB download through an allowed connection is intact" "$sum_dst" "$sum_src"

cgp remove >/dev/null 2>&1
expect_eq "after remove: denied port reachable again" "$(tcp_get cli "$N4" "$P2")" "hello $P2"

e2e_done
