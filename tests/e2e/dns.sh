#!/usr/bin/env bash
# End-to-end DNS names (`allow = out tcp api.test port P`, learned in the
# kernel from the answers that reach the cgroup): a real resolver (dnsmasq),
# the project's responder for what dnsmasq never sends (helpers/dnsresp.py),
# real clients resolving through libc (curl, python getaddrinfo, getent) in
# a default-deny cgroup, in a network + mount namespace of the test's own
# (tests/e2e/dnslib.sh).
#   first try, every time: 200 fresh names each for curl, python, getent;
#   an address never answered, answered for another name, or answered outside
#   the cgroup stays denied; a name allows only its rule's port;
#   TTL expiry denies new connections, not the one already open;
#   CNAME chains (asked name counts, not the target's nor another owner's);
#   wildcards (one and more labels, not the bare suffix, any case); AAAA;
#   DNS over TCP (use-vc; TC fallback); answers past the parser's bound;
#   malformed answers, a forged answer from an untrusted source, an answer
#   to a socket that asked nothing: nothing learned, counted;
#   status --json: names, learned addresses (source, TTL left), counters;
#   re-apply keeps what names still in the file learned; nested; audit;
#   the agent (`dns = agent`): names resolved outside the cgroup, kept
#   current when the answer changes; deny events carry the name.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/dnslib.sh"
dns_enter "$@"
e2e_init
N_ROT=${DNS_E2E_ROT:-200}	# fresh names per client in the first-try loops

P=$(rand_port)
CLI=$(mkcg cli)
NEST=$(mkcg nest)
KID=$(mkcg nest/kid)
AUD=$(mkcg aud)
AGT=$(mkcg agt)
mkcg free >/dev/null

# --- the resolvers' data ---
rot_addr() { echo "127.$1.$(($2 / 250)).$(($2 % 250 + 1))"; }	# CLIENT# I
{
	echo "host-record=api.test,127.0.60.1"
	echo "host-record=api.test,127.0.60.2"
	echo "host-record=never.test,127.0.60.9"
	echo "host-record=short.test,127.0.62.1,1"
	echo "host-record=real.test,127.0.63.1"
	echo "cname=mid.test,real.test"
	echo "cname=alias.test,mid.test"
	echo "host-record=x.w.test,127.0.65.1"
	echo "host-record=a.b.w.test,127.0.65.2"
	echo "host-record=w.test,127.0.65.3"
	echo "host-record=mixed.w.test,127.0.65.4"
	echo "host-record=outside.w.test,127.0.65.9"
	echo "host-record=v6.test,fd00:53::10"
	echo "host-record=dual.test,127.0.66.1,fd00:53::11"
	echo "host-record=tcpq.test,127.0.67.1"
	echo "host-record=a.nest.test,127.0.72.1"
	echo "host-record=b.nest.test,127.0.72.2"
	echo "host-record=aud.test,127.0.71.1"
	for i in $(seq 1 "$N_ROT"); do
		echo "host-record=c$i.rot.test,$(rot_addr 1 "$i")"
		echo "host-record=p$i.rot.test,$(rot_addr 2 "$i")"
		echo "host-record=g$i.rot.test,$(rot_addr 3 "$i")"
	done
} > "$TMPD/dnsmasq.lines"
zone() {	# AGT_ADDR: the responder's zone
	cat <<EOT
other.test A 127.0.64.1 300
other.test OTHER evil.test A 127.0.64.2 300
lure.test CNAME wanted.test 300
wanted.test A 127.0.64.5 300
rtcp.test A 127.0.67.2 300
tc.test A 127.0.67.3 300
tc.test MODE tc
split.test A 127.0.67.4 300
split.test MODE split
many20.test MODE many 20
many40.test MODE many 40
forged.test A 127.0.69.1 300
loop.test A 127.0.68.1 300
loop.test MODE ptrloop
badlen.test A 127.0.68.2 300
badlen.test A 127.0.68.12 300
badlen.test MODE badrdlen
anc.test A 127.0.68.3 300
anc.test MODE ancount
mm.test A 127.0.68.4 300
mm.test MODE mismatch api.test
nr.test A 127.0.68.5 300
nr.test MODE notresp
agt.test A $1 2
EOT
}
zone 127.0.70.1 > "$TMPD/zone"
if dns_world "$TMPD/dnsmasq.lines" "$TMPD/zone"; then
	ok "the test world: namespaces, dnsmasq, responders, resolv.conf/hosts/nsswitch"
else
	not_ok "the test world could not be set up"
	e2e_done
	exit 1
fi
printf 'nameserver %s\noptions timeout:2 attempts:3 use-vc\n' "$DNS_RESP" > "$TMPD/resolv-resp-tcp.conf"
printf 'nameserver %s\noptions timeout:1 attempts:1\n' "$DNS_RESP" > "$TMPD/resolv-resp-fast.conf"
hello_start free "$P" && hello_start free $((P + 1)) || not_ok "hello servers"
H="hello $P"

# denied CG ADDR PORT: a connect from CG to ADDR:PORT was tried and dropped
# (timed out: the SYN or SYN-ACK dropped; or EPERM), not refused by lo.
denied() {
	local out
	out=$(dnsc "$1" connect "$2" "$3")
	case "$out" in
	*"timed out"* | *"not permitted"*) return 0 ;;
	esac
	echo "# $2 port $3 from $1: $out" >&2
	return 1
}
status_js() { cgp status --json 2>/dev/null; }
dstat() { status_js | python3 "$E2E_HELPERS/dnsstatus.py" "$@"; }
counter() { dstat counter "$1" "$2"; }
learned() {	# POLICY ADDR: the address is in the policy's learned list
	dstat learned "$1" | awk -v a="$2" '$1 == a { f = 1 } END { exit !f }'
}

# --- without a policy: the world works ---
expect_eq "no policy: python resolves + connects" "$(dnsc cli connect api.test "$P")" "$H"
expect_eq "no policy: curl" "$(curl_get cli api.test "$P")" "$H"
expect_eq "no policy: getent ahosts + socat" "$(getent_get cli api.test "$P")" "$H"
expect_eq "no policy: AAAA" "$(dnsc cli connect v6.test "$P")" "$H"
expect_eq "no policy: CNAME chain" "$(dnsc cli connect alias.test "$P")" "$H"
expect_eq "no policy: DNS over TCP (use-vc)" "$(DNS_RC=$TMPD/resolv-tcp.conf dnsc cli connect tcpq.test "$P")" "$H"

# --- the policy ---
DNSR="127.0.53.0/29"
policy() {	# EXTRA_CLI_LINES: the file, with [cli] rules added
	write_policy dns.ini <<EOT
[agent]
dns_servers = $DNS_TRUSTED
dns_ttl_min = 1
dns_grace = 0
stats_interval = 0
events_output = $TMPD/events.jsonl

[cli]
cgroup = $CLI
default_egress = deny
log = deny
allow = out udp $DNSR port 53
allow = out tcp $DNSR port 53
allow = out tcp api.test port $P
allow = out tcp *.rot.test port $P
allow = out tcp short.test port $P
allow = out tcp alias.test port $P
allow = out tcp other.test port $P
allow = out tcp wanted.test port $P
allow = out tcp *.w.test port $P
allow = out tcp dual.test port $P
allow = out tcp tcpq.test port $P
allow = out tcp rtcp.test port $P
allow = out tcp tc.test port $P
allow = out tcp split.test port $P
allow = out tcp many20.test port $P
allow = out tcp many40.test port $P
allow = out tcp forged.test port $P
allow = out tcp loop.test port $P
allow = out tcp badlen.test port $P
allow = out tcp anc.test port $P
allow = out tcp mm.test port $P
allow = out tcp nr.test port $P
$1

[nest]
cgroup = $NEST
default_egress = deny
allow = out udp $DNSR port 53
allow = out tcp $DNSR port 53
allow = out tcp *.nest.test port $P

[kid]
cgroup = $KID
default_egress = deny
allow = out udp $DNSR port 53
allow = out tcp $DNSR port 53
allow = out tcp a.nest.test port $P

[aud]
cgroup = $AUD
mode = audit
default_egress = deny
allow = out udp $DNSR port 53
allow = out tcp $DNSR port 53
allow = out tcp aud.test port $P

[agt]
cgroup = $AGT
default_egress = deny
dns = agent
allow = out tcp agt.test port $P
EOT
}
POL=$(policy "allow = out tcp v6.test port $P")
out=$(DNS_RC=$TMPD/resolv-resp.conf; rcw; "${RCW[@]}" "$CGP" --pin-path "$PIN" apply "$POL" 2>&1); rc=$?
expect_eq "apply of the name policy" "$rc" 0
[ "$rc" = 0 ] || { echo "$out" | sed 's/^/# /'; e2e_done; exit 1; }

# --- first try, every time ---
t0=$(date +%s%N)
res=$(dnsc cli loop "p%d.rot.test" 1 "$N_ROT" "$P" 2>"$TMPD/loop-py.err")
expect_eq "python getaddrinfo + connect: $N_ROT fresh names, each on its first try" "$res" "ok=$N_ROT fail=0"
head -n 5 "$TMPD/loop-py.err" | sed 's/^/# /'
echo "# python: $N_ROT in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
t0=$(date +%s%N)
res=$(in_cg cli bash -c 'ok=0 fail=0
	for i in $(seq 1 "$0"); do
		o=$(curl -s --http0.9 --connect-timeout 5 -m 15 "http://c$i.rot.test:$1/")
		if [ "$o" = "hello $1" ]; then ok=$((ok + 1)); else fail=$((fail + 1)); echo "fail c$i: $o" >&2; fi
	done
	echo "ok=$ok fail=$fail"' "$N_ROT" "$P" 2>"$TMPD/loop-curl.err")
expect_eq "curl: $N_ROT fresh names, each on its first try" "$res" "ok=$N_ROT fail=0"
head -n 5 "$TMPD/loop-curl.err" | sed 's/^/# /'
echo "# curl: $N_ROT in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
t0=$(date +%s%N)
res=$(in_cg cli bash -c 'ok=0 fail=0
	for i in $(seq 1 "$0"); do
		a=$(getent ahosts "g$i.rot.test" | awk "NR == 1 { print \$1 }")
		o=$(timeout 15 socat -T10 - "TCP:$a:$1,connect-timeout=3" </dev/null 2>&1)
		if [ "$o" = "hello $1" ]; then ok=$((ok + 1)); else fail=$((fail + 1)); echo "fail g$i $a: $o" >&2; fi
	done
	echo "ok=$ok fail=$fail"' "$N_ROT" "$P" 2>"$TMPD/loop-getent.err")
expect_eq "getent ahosts, then socat: $N_ROT fresh names, each on its first try" "$res" "ok=$N_ROT fail=0"
head -n 5 "$TMPD/loop-getent.err" | sed 's/^/# /'
echo "# getent: $N_ROT in $(( ($(date +%s%N) - t0) / 1000000 )) ms"

# --- what stays denied ---
check "an address never answered is denied" denied cli "$(rot_addr 1 $((N_ROT + 1)))" "$P"
getent hosts never.test >/dev/null
check "an address answered for a name of no rule is denied" denied cli 127.0.60.9 "$P"
expect_eq "api.test: the name connects" "$(dnsc cli connect api.test "$P")" "$H"
expect_eq "api.test: its second A record connects too" "$(dnsc cli connect 127.0.60.2 "$P")" "$H"
check "api.test: another port of the same address is denied" denied cli 127.0.60.1 $((P + 1))
getent hosts outside.w.test >/dev/null	# resolved outside the cgroup: nothing learned
check "an answer resolved outside the cgroup teaches nothing (dns = packet)" denied cli 127.0.65.9 "$P"

# --- TTL expiry: new connections denied, the open one stays ---
mkfifo "$TMPD/hold.in"
bg_in_cg cli bash -c 'exec python3 "$0" hold short.test "$1" < "$2" > "$3" 2>&1' \
	"$E2E_HELPERS/dnsclient.py" "$P" "$TMPD/hold.in" "$TMPD/hold.out"
exec 7>"$TMPD/hold.in"
check "TTL 1: the name connects (held open)" wait_until 30 'grep -qx "$H" "$TMPD/hold.out"'
t0=$(date +%s%N)
check "TTL 1: a new connection is denied after the TTL (clamp 1 s, grace 0)" \
	wait_until 30 'denied cli 127.0.62.1 "$P" 2>/dev/null'
echo "# denied $(( ($(date +%s%N) - t0) / 1000000 )) ms after the first connect"
echo ping >&7
check "TTL 1: the connection opened before passes data after the expiry" \
	wait_until 20 'grep -qx "echo: ping" "$TMPD/hold.out"'
exec 7>&-

# --- CNAME ---
expect_eq "CNAME chain: the asked name's rule allows the target's address" "$(dnsc cli connect alias.test "$P")" "$H"
expect_eq "CNAME chain: the target address by IP" "$(dnsc cli connect 127.0.63.1 "$P")" "$H"
export DNS_RC=$TMPD/resolv-resp.conf
expect_eq "responder: other.test connects" "$(dnsc cli connect other.test "$P")" "$H"
check "a record of another owner in the same answer is not learned" denied cli 127.0.64.2 "$P"
dnsc cli connect lure.test "$P" >/dev/null
check "a CNAME from an unlisted name to a listed one teaches nothing (the question decides)" \
	denied cli 127.0.64.5 "$P"

# --- wildcards ---
unset DNS_RC
expect_eq "wildcard *.w.test: one label" "$(dnsc cli connect x.w.test "$P")" "$H"
expect_eq "wildcard *.w.test: two labels" "$(dnsc cli connect a.b.w.test "$P")" "$H"
expect_eq "wildcard: the question in another case (MiXeD.W.TeSt)" "$(dnsc cli connect MiXeD.W.TeSt "$P")" "$H"
dnsc cli connect w.test "$P" >/dev/null
check "wildcard: the bare suffix w.test is not matched" denied cli 127.0.65.3 "$P"

# --- AAAA ---
expect_eq "AAAA: v6.test connects over IPv6" "$(dnsc cli connect v6.test "$P")" "$H"
expect_eq "AAAA: curl -6" "$(curl_get cli v6.test "$P" -6)" "$H"
check "AAAA: an IPv6 address never answered is denied" denied cli fd00:53::99 "$P"
dnsc cli connect dual.test "$P" >/dev/null
expect_eq "A + AAAA: the IPv4 address" "$(dnsc cli connect 127.0.66.1 "$P")" "$H"
expect_eq "A + AAAA: the IPv6 address" "$(dnsc cli connect fd00:53::11 "$P")" "$H"

# --- DNS over TCP ---
expect_eq "DNS over TCP (use-vc, dnsmasq): first try" \
	"$(DNS_RC=$TMPD/resolv-tcp.conf dnsc cli connect tcpq.test "$P")" "$H"
expect_eq "DNS over TCP (use-vc, responder): first try" \
	"$(DNS_RC=$TMPD/resolv-resp-tcp.conf dnsc cli connect rtcp.test "$P")" "$H"
check "responder: that answer went over TCP" grep -q "tcp .* rtcp.test" "$TMPD/dnsresp-$DNS_RESP.log"
expect_eq "TC over UDP, the client asks again over TCP: first try" \
	"$(DNS_RC=$TMPD/resolv-resp.conf dnsc cli connect tc.test "$P")" "$H"
tr0=$(counter cli truncated)
o=$(DNS_RC=$TMPD/resolv-resp-tcp.conf dnsc cli connect split.test "$P")
tr1=$(counter cli truncated)
if [ "$o" = "$H" ] || [ "${tr1:-0}" -gt "${tr0:-0}" ]; then
	ok "a TCP answer split from its length prefix: learned, or counted as truncated ($o; truncated $tr0 -> $tr1)"
else
	not_ok "a TCP answer split from its length prefix: neither learned nor counted ($o; truncated $tr0 -> $tr1)"
fi
# the parser's bounds (bpf/dns_parse.bpf.h): 32 answer records walked, 16
# addresses learned from one answer; past them: counted as truncated
tr0=$(counter cli truncated)
o=$(DNS_RC=$TMPD/resolv-resp.conf dnsc cli connect many20.test "$P")
echo "# 20 A records: the client's first try: $o"
expect_eq "20 A records: the first record's address connects" "$(dnsc cli connect 127.5.20.1 "$P")" "$H"
expect_eq "20 A records: the 16th too" "$(dnsc cli connect 127.5.20.16 "$P")" "$H"
check "20 A records: the 17th, past the bound of 16 addresses, is denied" denied cli 127.5.20.17 "$P"
tr1=$(counter cli truncated)
check "20 A records: counted as truncated ($tr0 -> $tr1)" test "${tr1:-0}" -gt "${tr0:-0}"
o=$(DNS_RC=$TMPD/resolv-resp.conf dnsc cli connect many40.test "$P")
tr2=$(counter cli truncated)
check "40 A records (UDP with TC, then TCP): counted as truncated ($tr1 -> $tr2)" test "${tr2:-0}" -gt "${tr1:-0}"
echo "# 40 A records, more than the 32 the parser walks: $(dstat learned cli | grep -c ' many40\.test ') learned; the client got: $o"
check "40 A records: an address never answered is still denied" denied cli 127.5.40.99 "$P"

# --- malformed, forged, unsolicited ---
m0=$(counter cli malformed)
for n in loop badlen anc mm nr; do
	DNS_RC=$TMPD/resolv-resp-fast.conf dnsc cli connect "$n.test" "$P" >/dev/null
done
check "malformed: a compression pointer loop teaches nothing" denied cli 127.0.68.1 "$P"
check "malformed: rdata past the end (2 records) teaches nothing, not even the first" denied cli 127.0.68.2 "$P"
check "malformed: more answers claimed than present teaches nothing" denied cli 127.0.68.3 "$P"
check "an answer naming another question (api.test) than asked teaches nothing" denied cli 127.0.68.4 "$P"
check "a message with QR clear teaches nothing" denied cli 127.0.68.5 "$P"
m1=$(counter cli malformed)
check "malformed answers counted ($m0 -> $m1)" test "${m1:-0}" -ge $(( ${m0:-0} + 2 ))
u0=$(counter cli untrusted)
o=$(DNS_RC=$TMPD/resolv-forger.conf dnsc cli connect forged.test "$P")
check "forged: the client got the untrusted resolver's answer and was denied" \
	bash -c 'case "$0" in *"timed out"* | *"not permitted"*) exit 0 ;; esac; exit 1' "$o"
check "forged: its address stays denied" denied cli 127.0.69.1 "$P"
u1=$(counter cli untrusted)
check "forged: counted as untrusted ($u0 -> $u1)" test "${u1:-0}" -gt "${u0:-0}"
s0=$(counter cli unsolicited)
dnsc cli listen 127.0.0.1 20 > "$TMPD/listen.out" &
LP=$!
wait_until 30 '[ -s "$TMPD/listen.out" ]'
lport=$(head -n 1 "$TMPD/listen.out")
python3 "$E2E_HELPERS/dnsresp.py" send "$DNS_SPOOF" 127.0.0.1 "$lport" forged.test 127.0.69.2 >/dev/null
wait "$LP"
check "unsolicited: the answer reached the socket that asked nothing" grep -qx "got 1" "$TMPD/listen.out"
check "unsolicited: its address stays denied" denied cli 127.0.69.2 "$P"
s1=$(counter cli unsolicited)
check "unsolicited: counted ($s0 -> $s1)" test "${s1:-0}" -gt "${s0:-0}"

# --- status ---
js=$(status_js)
check "status --json: the policy's names" bash -c 'python3 "$0" names cli <<<"$1" | grep -qx "\*\.rot\.test"' \
	"$E2E_HELPERS/dnsstatus.py" "$js"
check "status --json: api.test's address learned from a packet, TTL left <= 300" bash -c \
	'python3 "$0" learned cli <<<"$1" | awk "\$1 == \"127.0.60.1\" && \$2 == \"api.test\" && \$3 == \"packet\" && \$4 > 0 && \$4 <= 301 { f = 1 } END { exit !f }"' \
	"$E2E_HELPERS/dnsstatus.py" "$js"
check "status --json: the CNAME target's address under the asked name" bash -c \
	'python3 "$0" learned cli <<<"$1" | grep -q "^127.0.63.1 alias.test packet"' "$E2E_HELPERS/dnsstatus.py" "$js"
for k in queries answers matched learned; do
	v=$(python3 "$E2E_HELPERS/dnsstatus.py" counter cli "$k" <<<"$js")
	check "status --json: counter $k > 0 ($v)" test "${v:-0}" -gt 0
done
check "status (text): the learned address, its name, its source" \
	grep -q "127.0.60.1 *api.test packet" <<<"$(cgp status 2>/dev/null)"

# --- nested and audit ---
expect_eq "nested: a name both policies allow connects from the child" "$(dnsc nest/kid connect a.nest.test "$P")" "$H"
dnsc nest/kid connect b.nest.test "$P" >/dev/null
check "nested: a name only the parent allows is denied in the child" denied nest/kid 127.0.72.2 "$P"
expect_eq "nested: ... and allowed in the parent" "$(dnsc nest connect b.nest.test "$P")" "$H"
d0=$(dstat denied aud)
expect_eq "audit: the name connects" "$(dnsc aud connect aud.test "$P")" "$H"
check "audit: learned all the same" learned aud 127.0.71.1
expect_eq "audit: an address never answered passes (audit)" "$(dnsc aud connect 127.0.60.9 "$P")" "$H"
d1=$(dstat denied aud)
check "audit: ... and is counted as a would-be deny ($d0 -> $d1)" test "${d1:-0}" -gt "${d0:-0}"

# --- re-apply ---
bg_in_cg cli bash -c 'exec python3 "$0" hold api.test "$1" < "$2" > "$3" 2>&1' \
	"$E2E_HELPERS/dnsclient.py" "$P" "$TMPD/hold.in" "$TMPD/hold2.out"
exec 7>"$TMPD/hold.in"
check "re-apply: a connection to api.test held open" wait_until 30 'grep -qx "$H" "$TMPD/hold2.out"'
POL=$(policy "allow = out tcp new.test port $P")
out=$(cgp apply "$POL" 2>&1); rc=$?
expect_eq "re-apply with v6.test gone and new.test added" "$rc" 0
[ "$rc" = 0 ] || echo "$out" | sed 's/^/# /'
expect_eq "re-apply: api.test's learned address still connects, no new answer" "$(dnsc cli connect 127.0.60.1 "$P")" "$H"
expect_eq "re-apply: a wildcard's learned address too" "$(dnsc cli connect 127.0.65.1 "$P")" "$H"
check "re-apply: v6.test left the file: its address is denied" denied cli fd00:53::10 "$P"
echo ping >&7
check "re-apply: the held connection passes data" wait_until 20 'grep -qx "echo: ping" "$TMPD/hold2.out"'
exec 7>&-

# --- the agent: dns = agent, and deny events with names ---
DNS_RC=$TMPD/resolv-resp.conf
rcw
"${RCW[@]}" "$CGP" --pin-path "$PIN" agent "$POL" >>"$TMPD/agent.log" 2>&1 &
AGENT=$!
PIDS+=("$AGENT")
unset DNS_RC
check "agent runs" wait_until "$WAIT_AGENT" 'grep -q "agent: running (pid $AGENT)" "$TMPD/agent.log"'
a=$(DNS_RC=$TMPD/resolv-resp.conf; rcw; "${RCW[@]}" getent ahosts agt.test | awk 'NR == 1 { print $1 }')
expect_eq "dns = agent: the name resolved outside the cgroup" "$a" 127.0.70.1
check "dns = agent: the client connects by IP" wait_until 30 '[ "$(dnsc agt connect 127.0.70.1 "$P")" = "$H" ]'
check "dns = agent: status says the agent learned it" bash -c \
	'"$0" --pin-path "$1" status --json | python3 "$2" learned agt | grep -q "^127.0.70.1 agt.test agent"' \
	"$CGP" "$PIN" "$E2E_HELPERS/dnsstatus.py"
zone 127.0.70.2 > "$TMPD/zone"
kill -HUP "$(cat "$TMPD/dnsresp-$DNS_RESP.pid")"
check "dns = agent: a changed answer is learned as the TTL (2 s) ends" \
	wait_until 60 '[ "$(dnsc agt connect 127.0.70.2 "$P")" = "$H" ]'
check "dns = agent: the old address expires" wait_until 60 'denied agt 127.0.70.1 "$P" 2>/dev/null'
dnsc cli connect api.test "$P" >/dev/null
denied cli 127.0.60.1 $((P + 1)) 2>/dev/null
check "deny event of a name policy carries the name" wait_until 30 \
	'grep "\"dport\": $((P + 1))" "$TMPD/events.jsonl" 2>/dev/null | grep -q "\"name\": \"api.test\""'
kill "$AGENT" 2>/dev/null
wait "$AGENT" 2>/dev/null

cgp remove >/dev/null 2>&1
expect_eq "after remove: never.test's address connects again" "$(dnsc cli connect 127.0.60.9 "$P")" "$H"
e2e_done
