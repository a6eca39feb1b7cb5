#!/usr/bin/env bash
# End-to-end DNS names with the agent fallback (`dns = agent`): a real
# resolver (dnsmasq on 127.0.0.153:53, answering only its own records), a
# resolv.conf naming it bind-mounted over /etc/resolv.conf in a private mount
# namespace for cgpolicy (apply, agent), real cgroups, real TCP.
#   apply of a name policy: --dry-run, check, the names in the kernel map;
#   `cgpolicy apply` resolves at once: the answered address connects from a
#   default-deny cgroup, another address does not;
#   status --json lists the name, the learned address (source agent, TTL);
#   explain (live and FILE); the agent alone (no one-shot) learns a name it
#   resolves and asks again as the TTL ends (a changed answer is learned);
#   deny events carry the remote address's name;
#   a re-apply without the name drops its learned address; a wildcard in a
#   dns = agent policy is warned about; remove leaves nothing.
. "$(dirname "$0")/lib.sh"
command -v dnsmasq >/dev/null || skip_all "dnsmasq not installed (apt-get install dnsmasq-base)"
command -v unshare >/dev/null || skip_all "unshare not installed"
e2e_init
reserve dns153 || skip_all "127.0.0.153:53 is in use by another test"

NS=127.0.0.153
echo "nameserver $NS" > "$TMPD/resolv.conf"
echo "127.0.0.33 moving.cgp-test.example" > "$TMPD/hosts"	# changed later (SIGHUP)
dnsmasq -k --conf-file=/dev/null --no-resolv --no-hosts --bind-interfaces --listen-address=$NS \
	--port=53 --pid-file= --user=root --local-ttl=1 --addn-hosts="$TMPD/hosts" \
	--host-record=one.cgp-test.example,127.0.0.31 \
	--host-record=two.cgp-test.example,127.0.0.32 \
	--host-record=six.cgp-test.example,::1 >"$TMPD/dnsmasq.log" 2>&1 &
DNSMASQ=$!
PIDS+=($DNSMASQ)
wait_listen udp 53 || not_ok "dnsmasq listens"
wait_for 10 bash -c "unshare -m sh -c 'mount --bind $TMPD/resolv.conf /etc/resolv.conf && getent hosts one.cgp-test.example' | grep -q 127.0.0.31" ||
	not_ok "dnsmasq answers"

# cgpolicy with the test resolv.conf (a private mount namespace of its own)
in_ns() {
	unshare -m sh -c 'mount --bind "$0" /etc/resolv.conf && exec "$@"' "$TMPD/resolv.conf" "$@"
}

CLI=$(mkcg cli)
mkcg free >/dev/null
P=$(rand_port)
tcp_server free 127.0.0.31 "$P" || not_ok "server 127.0.0.31"
tcp_server free 127.0.0.32 "$P" || not_ok "server 127.0.0.32"
tcp_server free 127.0.0.33 "$P" || not_ok "server 127.0.0.33"
tcp_server free 127.0.0.34 "$P" || not_ok "server 127.0.0.34"

policy() {	# NAME [MODE [MORE RULES]]
	write_policy dns.ini <<EOT
[agent]
dns_ttl_min = 5
events_output = $TMPD/events.json

[cli]
cgroup = $CLI
default_egress = deny
log = deny
dns = ${2:-agent}
allow = out tcp $1 port $P
${3:-}
EOT
}

POL=$(policy one.cgp-test.example)
out=$(cgp check "$POL" 2>&1)
expect_eq "check of a name policy" "$?" 0
out=$(cgp apply --dry-run "$POL" 2>&1)
expect_eq "apply --dry-run of a name policy" "$?" 0

out=$(in_ns "$CGP" --pin-path "$PIN" apply "$POL" 2>&1); rc=$?
expect_eq "apply of a dns = agent policy" "$rc" 0
[ "$rc" = 0 ] || echo "$out" | sed 's/^/# /'
check "apply resolved the names at once" grep -q "names of dns = agent policies resolved" <<<"$out"
expect_eq "the answered address connects (first try after apply)" "$(tcp_get cli 127.0.0.31 "$P")" "hello $P"
expect_eq "another address stays denied" "$(tcp_get cli 127.0.0.32 "$P")" ""

js=$(cgp status --json 2>/dev/null)
check "status --json: the name of the rule" python3 -c '
import json, sys
d = json.loads(sys.argv[1])
p = [p for p in d["policies"] if p.get("dns")][0]["dns"]
assert p["mode"] == "agent", p
assert [n["name"] for n in p["names"]] == ["one.cgp-test.example"], p
a = [a for a in p["learned"] if a["address"] == "127.0.0.31"]
assert a and a[0]["source"] == "agent" and a[0]["name"] == "one.cgp-test.example", p
assert 0 < a[0]["expires_in"] <= 5 + 60 + 1, a
assert "answers" in p["counters"], p
' "$js"
txt=$(cgp status 2>/dev/null)
check "status: the learned address, its name and source" grep -q "127.0.0.31.*one.cgp-test.example.*agent" <<<"$txt"
ex=$(cgp explain --cgroup "$CLI" out tcp 127.0.0.31 "$P" 2>&1)
check "explain (live): the learned address is a member of the rule's DNS-name set" \
	grep -q "DNS names of the rule.*member 127.0.0.31" <<<"$ex"
check "explain (live): allow" grep -q "^verdict: allow" <<<"$ex"
ex=$(cgp explain "$POL" --cgroup "$CLI" out tcp 127.0.0.31 "$P" 2>&1)
check "explain FILE: a name rule matches only learned addresses" grep -q "name rules match only" <<<"$ex"

# a re-apply without the name: its learned address goes
POL=$(policy two.cgp-test.example)
out=$(in_ns "$CGP" --pin-path "$PIN" apply "$POL" 2>&1)
expect_eq "re-apply with another name" "$?" 0
expect_eq "re-apply: the new name's address connects" "$(tcp_get cli 127.0.0.32 "$P")" "hello $P"
expect_eq "re-apply: the old name's address is denied again" "$(tcp_get cli 127.0.0.31 "$P")" ""
check "re-apply: status no longer lists the old name's address" \
	bash -c '! "$0" --pin-path "$1" status | grep -q "127.0.0.31 "' "$CGP" "$PIN"
set=$(cgp status --json | python3 -c 'import json,sys; print([s["name"] for s in json.load(sys.stdin)["sets"] if s["name"].startswith("~dns:")][0])')
check "the implicit set is listed (~dns: and 16 hex digits)" grep -Eq '^~dns:[0-9a-f]{16}$' <<<"$set"
check "cgpolicy set add refuses an implicit set" bash -c '! "$0" --pin-path "$1" set add "$2" 10.9.9.9 2>/dev/null' "$CGP" "$PIN" "$set"

# a failure after the names were written, before the switch: the old names stay
names_dump() { bpftool map dump pinned "$PIN/maps/dnsnames" 2>/dev/null | md5sum; }
before=$(names_dump)
POL=$(policy one.cgp-test.example)
CGP_TEST_DNS_FAIL_PREPARE=1 in_ns "$CGP" --pin-path "$PIN" apply "$POL" >/dev/null 2>&1
check "a failure before the switch: apply fails" test $? -ne 0
expect_eq "a failure before the switch: the names in the kernel are the old ones" "$(names_dump)" "$before"
expect_eq "a failure before the switch: the old name's address still connects" "$(tcp_get cli 127.0.0.32 "$P")" "hello $P"
expect_eq "a failure before the switch: the new name's address is still denied" "$(tcp_get cli 127.0.0.31 "$P")" ""

# wildcards: the agent cannot resolve them
POL=$(policy '*.cgp-test.example')
out=$(in_ns "$CGP" --pin-path "$PIN" apply "$POL" 2>&1)
check "a wildcard in a dns = agent policy is warned about" grep -q "cannot resolve the wildcard" <<<"$out"

# the agent alone: no one-shot, its own round learns the name
cgp remove >/dev/null 2>&1
expect_eq "after remove: no policy, the address connects" "$(tcp_get cli 127.0.0.31 "$P")" "hello $P"
POL=$(policy one.cgp-test.example agent "allow = out tcp moving.cgp-test.example port $P")
# not through in_ns: $! is then the agent itself (unshare and sh exec it)
unshare -m sh -c 'mount --bind "$0" /etc/resolv.conf && exec "$@"' "$TMPD/resolv.conf" \
	"$CGP" --pin-path "$PIN" agent "$POL" >>"$TMPD/agent.log" 2>&1 &
AGENT=$!
PIDS+=($AGENT)
wait_until "$WAIT_AGENT" 'grep -q "agent: running (pid $AGENT)" "$TMPD/agent.log"' || { not_ok "agent runs"; sed "s/^/# /" "$TMPD/agent.log"; }
wait_until 30 '[ "$(tcp_get cli 127.0.0.31 "$P")" = "hello $P" ]'
expect_eq "agent: the name it resolved connects" "$(tcp_get cli 127.0.0.31 "$P")" "hello $P"
expect_eq "agent: another address is denied" "$(tcp_get cli 127.0.0.32 "$P")" ""
tcp_get cli 127.0.0.31 $((P + 1)) >/dev/null	# a learned address, another port: denied
wait_until 20 'grep -q "\"daddr\": \"127.0.0.31\".*\"name\": \"one.cgp-test.example\"" "$TMPD/events.json"'
check "deny event of a name policy: the remote address's name" \
	grep -q '"daddr": "127.0.0.31".*"name": "one.cgp-test.example"' "$TMPD/events.json"
check "deny event of a name policy: null for an address no name answered" \
	grep -q '"daddr": "127.0.0.32".*"name": null' "$TMPD/events.json"
# the answer changes: the agent asks again when the TTL (1 s, clamped to 5) ends
wait_until 30 '[ "$(tcp_get cli 127.0.0.33 "$P")" = "hello $P" ]'
expect_eq "agent: a second name's address connects" "$(tcp_get cli 127.0.0.33 "$P")" "hello $P"
expect_eq "agent: its next address is not allowed yet" "$(tcp_get cli 127.0.0.34 "$P")" ""
echo "127.0.0.34 moving.cgp-test.example" > "$TMPD/hosts"
kill -HUP "$DNSMASQ"
t0=$SECONDS
wait_until 60 '[ "$(tcp_get cli 127.0.0.34 "$P")" = "hello $P" ]'
expect_eq "agent: follows the TTL: the new answer's address connects" "$(tcp_get cli 127.0.0.34 "$P")" "hello $P"
echo "# new answer allowed after $((SECONDS - t0)) s"
kill "$AGENT" 2>/dev/null
wait "$AGENT" 2>/dev/null

cgp remove >/dev/null 2>&1
check "remove leaves no pins" test ! -e "$PIN/maps/dnsnames"
e2e_done
