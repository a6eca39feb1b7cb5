#!/usr/bin/env bash
# valgrind: no leak (definite, indirect, possible) and no invalid access for
# apply (creating the pins, then reusing them), status (also --rules),
# explain (also with sets and ICMP types), stats, a short agent run (stats every second, SIGTERM) and remove,
# plus the error paths of apply. tests/valgrind.supp holds the few false
# positives of valgrind's bpf(2) model inside libbpf, each explained there.
. "$(dirname "$0")/lib.sh"
e2e_init
command -v valgrind >/dev/null || skip_all "valgrind is not installed"

APP=$(mkcg app)
P1=$(rand_port)
bg_in_cg app socat "TCP4-LISTEN:$P1,bind=127.0.0.1,reuseaddr,fork" EXEC:cat
wait_listen tcp "$P1"
# a long-lived connection inside the policy cgroup, so stats has sockets to show
bg_in_cg app python3 -c "
import socket, time
s = socket.create_connection(('127.0.0.1', $P1)); s.sendall(b'x' * 1000); s.recv(4096); time.sleep(900)"

POL=$(write_policy vg.ini <<EOT
[agent]
stats_interval = 1
stats_output = $TMPD/agent.jsonl

[app]
cgroup = $APP
default_egress = deny
allow = out tcp 127.0.0.1 port $P1
allow = in tcp any port $P1
allow = out tcp @office port $P1
deny = out any @block
allow = out icmp any type echo-request

[set office]
address = 10.1.0.0/16
address = !10.1.99.0/24

[set block]
dynamic = yes
address = 10.5.0.0/16
EOT
)
BAD=$(write_policy bad.ini <<EOT
[app]
cgroup = $APP
allow = out tcp 10.0.0.0/33
EOT
)
NOCG=$(write_policy nocg.ini <<EOT
[app]
cgroup = $APP/missing
EOT
)

VG=(valgrind -q --leak-check=full --show-leak-kinds=definite,indirect,possible
    --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99
    --suppressions="$(dirname "$0")/../valgrind.supp")

# vg WANT_EXIT DESCRIPTION ARGS...: cgpolicy ARGS under valgrind
vg() {
	local want=$1 d=$2 log rc
	shift 2
	log="$TMPD/vg.$N_TEST.log"
	"${VG[@]}" "$CGP" --pin-path "$PIN" "$@" > "$log" 2>&1; rc=$?
	if [ "$rc" = "$want" ] && ! grep -q '^==[0-9]*== ' "$log"; then
		ok "valgrind: $d: exit $rc, no leak, no invalid access"
	else
		not_ok "valgrind: $d: exit $rc (want $want)"
		grep -v 'unhandled eBPF command' "$log" | head -n 60 | sed 's/^/# /'
	fi
}

vg 1 "apply of an invalid file" apply "$BAD"
vg 1 "apply with a missing cgroup" apply "$NOCG"
vg 0 "apply (loads and pins the programs)" apply "$POL"
vg 0 "apply again (reuses the pins)" apply "$POL"
vg 0 "status" status
vg 0 "status --json" status --json
vg 0 "status --rules" status --rules
vg 0 "status --rules --policy app --json" status --rules --policy app --json
vg 1 "status --rules --policy missing" status --rules --policy missing
vg 0 "explain (live)" explain --cgroup "$APP" out tcp 127.0.0.1 "$P1"
vg 0 "explain FILE --json" explain "$POL" --policy app in tcp 10.0.0.1 "$P1" --json
vg 1 "explain: a bad address" explain --policy app out tcp 10.0.0.256 80
vg 0 "explain (live): a set member" explain --policy app out tcp 10.1.2.3 "$P1"
vg 0 "explain (live): excluded from a set, ICMP type" explain --policy app out icmp 10.1.99.3 type 0 --json
vg 0 "explain FILE: ICMPv6 type, sets" explain "$POL" --policy app out icmp 2001:db8::1 type echo-request --json
"$CGP" --pin-path "$PIN" set add block 10.6.0.0/24 timeout 600 >/dev/null 2>&1
vg 0 "explain (live): a dynamic member added live" explain --policy app out tcp 10.6.0.1 "$P1" --json
vg 0 "stats" stats
vg 0 "stats --json" stats --json
vg 0 "stats --policy app --json" stats --policy app --json

# agent: apply, dump every second, SIGTERM once it has dumped three rounds
# (valgrind's start-up is slow, more so on a busy machine: the deadline is
# generous, it only matters when the agent never dumps)
log="$TMPD/vg.agent.log"
"${VG[@]}" "$CGP" --pin-path "$PIN" agent "$POL" > "$log" 2>&1 &
apid=$!
PIDS+=($apid)
rounds() { python3 -c 'import json,sys; print(len({json.loads(l)["ts_ns"] for l in open(sys.argv[1]) if l.endswith("\n")}))' "$TMPD/agent.jsonl" 2>/dev/null || echo 0; }
wait_until 180 '[ "$(rounds)" -ge 3 ] || ! alive "$apid"'
kill -TERM "$apid"
wait "$apid"; rc=$?
if [ "$rc" = 0 ] && ! grep -q '^==[0-9]*== ' "$log"; then
	ok "valgrind: agent (stats_interval = 1, SIGTERM): exit 0, no leak, no invalid access"
else
	not_ok "valgrind: agent: exit $rc"
	grep -v 'unhandled eBPF command' "$log" | head -n 60 | sed 's/^/# /'
fi
check "agent under valgrind dumped stats ($(rounds) rounds, $(wc -l < "$TMPD/agent.jsonl" 2>/dev/null) lines)" test "$(rounds)" -ge 3

vg 0 "remove" remove
check "remove under valgrind left nothing pinned" test ! -e "$PIN"
vg 0 "status of an empty pin path" status

e2e_done
