#!/usr/bin/env bash
# Fail-closed glob policies: a cgroup created under a glob policy's fixed
# ancestor is judged by that policy from its first packet, by the guard on
# the ancestor, whether the agent is running or not. Each round makes a new
# cgroup and, in the same breath, a process in it that connects to a denied
# server (bash /dev/tcp, about a millisecond after mkdir), then to an allowed
# one. Also: a non-matching sibling is fail-closed until an apply decides it,
# then free; a restarted agent registers what came while it was away.
. "$(dirname "$0")/lib.sh"
e2e_init

N=${FAILCLOSED_ROUNDS:-100}
SRV=$(mkcg srv)
mkcg pods >/dev/null
P=$(rand_port); PA=$P; PD=$((P + 1))
tcp_server srv 127.0.0.1 "$PA" || { not_ok "allowed server starts"; e2e_done; exit 1; }
tcp_server srv 127.0.0.1 "$PD" || { not_ok "denied server starts"; e2e_done; exit 1; }
LOG=$TMPD/agent.log

POL=$(write_policy policy.ini <<EOT
[agent]
stats_interval = 0

[srv]
cgroup = $SRV
default_ingress = allow

[pods]
cgroup = /cgpolicy-test-$TID/pods/ctr-*
default_egress = deny
allow = out tcp 127.0.0.1 port $PA
EOT
)

# The client, started about a millisecond after mkdir: the allowed server
# (its answer, or what went wrong), then the denied one ("LEAK" if it connects within 3 s, long
# enough for the agent to register the cgroup meanwhile, "denied" if not).
CLIENT="if ! exec 4<>/dev/tcp/127.0.0.1/$PA; then echo 'allowed: connect failed'
elif read -r -t $GET_SECS l <&4; then echo \"\$l\"; else echo 'allowed: connected, no answer within ${GET_SECS}s'; fi
if timeout 3 bash -c ': 3<>/dev/tcp/127.0.0.1/$PD' 2>/dev/null; then echo LEAK; else echo denied; fi"

# new_and_connect NAME: mkdir pods/NAME, move this very process into it, connect.
new_and_connect() {
	bash -c 'mkdir "$0" && echo $$ > "$0/cgroup.procs" && exec bash -c "$1"' \
		"$CGROOT/pods/$1" "$CLIENT" 2>>"$TMPD/client.err"
}

# The listeners' TcpExt counters (this network namespace), "NAME=N ..."
tcpext() {
	awk 'FNR == 1 { for (i = 2; i <= NF; i++) h[i] = $i; next }
	     FNR == 2 { for (i = 2; i <= NF; i++) if (h[i] ~ /^(ListenOverflows|ListenDrops|SyncookiesSent|SyncookiesFailed)$/) printf "%s=%s ", h[i], $i; exit }' /proc/net/netstat
}

# rounds PREFIX: N new cgroups PREFIX-1..N, 25 at a time (each process connects
# right after its own mkdir); sets LEAKS, ALLOWED_OK
rounds() {
	local i pids=() t0
	t0=$(tcpext)
	for i in $(seq "$N"); do
		new_and_connect "$1-$i" > "$TMPD/out.$1-$i" &
		pids+=($!)
		if [ ${#pids[@]} = 25 ]; then	# 25 at a time (the servers' backlog is 128: lib.sh)
			wait "${pids[@]}"
			pids=()
		fi
	done
	[ ${#pids[@]} = 0 ] || wait "${pids[@]}"
	LEAKS=$(cat "$TMPD"/out."$1"-* | grep -c LEAK)
	ALLOWED_OK=$(cat "$TMPD"/out."$1"-* | grep -c "^hello $PA\$")
	echo "# $1: TcpExt before: $t0; after: $(tcpext)"
	for i in $(seq "$N"); do	# what a client that did not get its answer saw
		grep -qx "hello $PA" "$TMPD/out.$1-$i" ||
			echo "# $1-$i: '$(tr '\n' ' ' < "$TMPD/out.$1-$i")'"
	done
	[ -s "$TMPD/client.err" ] && sed 's/^/# client: /' "$TMPD/client.err" | tail -n 20
	: > "$TMPD/client.err"
}

js() {	# python expression over the status JSON `s`
	cgp status --json | python3 -c "import json,sys; s=json.load(sys.stdin); print($1)"
}
pending() { js "sum(g['pending']['egress']['$1_packets'] for g in s['guards'] if g['policy'] == 'pods')"; }
registered() { js "sum(p['name'] == 'pods' for p in s['policies'])"; }
own_denied() {	# CGROUP-NAME: denied egress packets in that cgroup's own counters
	js "sum(p['counters']['egress']['denied_packets'] for p in s['policies'] if p['cgroup'].endswith('/pods/$1'))"
}
can() { [ "$(in_cg "$1" bash -c "exec 4<>/dev/tcp/127.0.0.1/$2 && read -r -t 5 l <&4 && echo \"\$l\"" 2>/dev/null)" = "hello $2" ]; }

# connects_within_3s CG PORT: a process of CG connects to 127.0.0.1:PORT
connects_within_3s() { in_cg "$1" timeout 3 bash -c ": 3<>/dev/tcp/127.0.0.1/$2" 2>/dev/null; }
export -f connects_within_3s in_cg
export CGROOT

check "agent starts" start_agent "$POL" "$LOG"
expect_eq "status: one guard, on the glob's fixed ancestor" \
	"$(js "[(g['policy'], g['ancestor'], g['guarded']) for g in s['guards']]")" \
	"[('pods', '$CGROOT/pods', True)]"
lvl=$(( $(echo "/cgpolicy-test-$TID/pods" | tr -cd / | wc -c) + 1 ))
expect_eq "status: guard level is the candidates' cgroup level" "$(js "s['guards'][0]['level']")" "$lvl"
check "guard links pinned" test -e "$PIN/links/guard_$(stat -c %i "$CGROOT/pods")_egress"

# --- 1: agent running ---
rounds ctr-run
expect_eq "agent running: $N new cgroups connect at once: no denied connection succeeds" "$LEAKS" 0
expect_eq "agent running: the allowed connection works at the first try in all $N" "$ALLOWED_OK" "$N"
p1=$(pending denied)
echo "# denied SYNs the template judged before the agent registered the cgroup: $p1"
check "the agent registers the new cgroups" wait_until 60 '[ "$(registered)" -ge "$N" ]'
for i in $(seq "$N"); do rmdir "$CGROOT/pods/ctr-run-$i" 2>/dev/null; done
check "removed cgroups are dropped from status" wait_until 60 '[ "$(registered)" = 0 ]'

# --- 2: agent stopped ---
kill -TERM "$AGENT"; wait "$AGENT" 2>/dev/null
check "agent stopped" bash -c "! kill -0 $AGENT 2>/dev/null"
rounds ctr-stopped
expect_eq "agent stopped: $N new cgroups connect at once: no denied connection succeeds" "$LEAKS" 0
expect_eq "agent stopped: the allowed connection works at the first try in all $N" "$ALLOWED_OK" "$N"
expect_eq "agent stopped: nothing registered them" "$(registered)" 0
check "agent stopped: the template counted their denies" test "$(pending denied)" -gt "$p1"
# A sibling that matches no glob: fail-closed (the template's verdicts) until decided.
mkdir "$CGROOT/pods/other-1"
out=$(bash -c 'echo $$ > "$0/cgroup.procs" && exec bash -c "$1"' "$CGROOT/pods/other-1" "$CLIENT" 2>/dev/null)
expect_eq "non-matching sibling, not decided yet: judged by the template (denied, allowed)" \
	"$(echo $out)" "hello $PA denied"
check "a cgroup made while the agent was away: denied server still refused later" \
	bash -c "! connects_within_3s pods/ctr-stopped-1 $PD"

# --- 3: agent back ---
check "agent restarts" start_agent "$POL" "$LOG"
check "restarted agent registers the $N cgroups made while it was away" \
	wait_until 60 '[ "$(registered)" -ge "$N" ]'
d0=$(own_denied ctr-stopped-7)
connects_within_3s pods/ctr-stopped-7 "$PD"
check "registered: its own counters count its denies" wait_until 10 '[ "$(own_denied ctr-stopped-7)" -gt "$d0" ]'
check "registered: the allowed server still works" can pods/ctr-stopped-7 "$PA"
check "non-matching sibling, once decided: free (denied server reachable)" wait_until 30 \
	"can pods/other-1 $PD"

# --- 4: plain apply (no agent) after remove: new cgroups still guarded ---
kill -TERM "$AGENT"; wait "$AGENT" 2>/dev/null
cgp remove >/dev/null
check "after remove: the guard links are gone" bash -c "! ls '$PIN/links' 2>/dev/null | grep -q guard_"
check "plain apply (no agent)" bash -c "'$CGP' --pin-path '$PIN' apply '$POL' >/dev/null 2>&1"
out=$(new_and_connect ctr-once-1)
expect_eq "plain apply: a new cgroup is judged by the template (denied, allowed)" "$(echo $out)" "hello $PA denied"
# --- 5: a glob whose fixed ancestor does not exist yet: guarded from its nearest ancestor ---
cgp remove >/dev/null
LATE=$(write_policy late.ini <<EOT
[late]
cgroup = /cgpolicy-test-$TID/later/ctr-*
default_egress = deny
allow = out tcp 127.0.0.1 port $PA
EOT
)
check "plain apply, glob under a missing parent" bash -c "'$CGP' --pin-path '$PIN' apply '$LATE' >/dev/null 2>&1"
expect_eq "status: the guard sits on the nearest existing ancestor" \
	"$(js "[(g['ancestor'], g['level']) for g in s['guards']]")" "[('$CGROOT', $((lvl - 1)))]"
out=$(bash -c 'mkdir -p "$0" && echo $$ > "$0/cgroup.procs" && exec bash -c "$1"' \
	"$CGROOT/later/ctr-1" "$CLIENT" 2>/dev/null)
expect_eq "parent and cgroup made after apply, no agent: judged by the template (allowed, denied)" \
	"$(echo $out)" "hello $PA denied"
check "a sibling decided at apply (the servers' cgroup) is not judged by the template" \
	connects_within_3s srv "$PD"

cgp remove >/dev/null
out=$(new_and_connect unguarded-1)
expect_eq "control: with nothing applied the same client reaches both servers" "$(echo $out)" "hello $PA LEAK"

[ "$N_FAIL" = 0 ] || { echo "# agent log:"; sed "s/^/#   /" "$LOG" | tail -n 40; }
e2e_done
