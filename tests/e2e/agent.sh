#!/usr/bin/env bash
# The agent as a daemon: live reload (in place, by rename, ConfigMap `..data`
# swap, SIGHUP; a broken file keeps the old policy), glob cgroups attached as
# they appear and forgotten when removed, SIGTERM and kill -9 leave
# enforcement in place, a restarted agent adopts the pinned state.
. "$(dirname "$0")/lib.sh"
e2e_init

SRV=$(mkcg srv)
CLI=$(mkcg cli)
P1=$(rand_port); P2=$((P1 + 1))
tcp_server srv 127.0.0.1 "$P1"
tcp_server srv 127.0.0.1 "$P2"
LOG=$TMPD/agent.log

policy() {	# PORTS [EXTRA LINES]
	cat <<EOT
[agent]
stats_interval = 0

[cli]
cgroup = $CLI
default_egress = deny
allow = out tcp 127.0.0.1 port $1

[pods]
cgroup = /cgpolicy-test-$TID/pod-*
default_egress = deny
allow = out tcp 127.0.0.1 port $P1
${2:-}
EOT
}
can() { [ "$(tcp_get "$1" 127.0.0.1 "$2")" = "hello $2" ]; }
cannot() { [ -z "$(tcp_get "$1" 127.0.0.1 "$2")" ]; }
nprogs() { bpftool cgroup show "$CGROOT/$1" | grep -c cgp_; }
gen() { cgp status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["generation"])'; }
status_has() { cgp status --json | python3 -c 'import json,sys; sys.exit(0 if any(p["cgroup"] == sys.argv[1] for p in json.load(sys.stdin)["policies"]) else 1)' "$1"; }

POL=$(policy "$P1" | write_policy policy.ini)
check "agent starts" start_agent "$POL" "$LOG"
check "initial policy: allowed port passes" can cli "$P1"
check "initial policy: other port denied" cannot cli "$P2"

# Deadlines of waits on the agent (a reload, a rescan) are generous: they only
# matter when something is broken. Tests never assert timing; how long a
# change took is printed as a comment instead.
W=${E2E_WAIT_AGENT_CHANGE:-20}
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

# --- live reload ---
t0=$(date +%s%N)
policy "$P1-$P2" > "$POL"	# rewritten in place
check "file rewritten in place: reloaded" wait_for "$W" can cli "$P2"
echo "# reloaded after $(ms_since "$t0") ms"
policy "$P1" > "$TMPD/policy.new"; chmod 644 "$TMPD/policy.new"
t0=$(date +%s%N)
mv "$TMPD/policy.new" "$POL"
check "file replaced by rename: reloaded" wait_for "$W" cannot cli "$P2"
echo "# reloaded after $(ms_since "$t0") ms"

# A burst of writes closer together than the debounce (200 ms) is one reload.
# The writes come from one process 20 ms apart; when the machine held that
# process back longer than 150 ms between two writes, the burst proves
# nothing either way and is repeated (at most 5 times).
burst() {	# prints the longest gap between two writes, in ms
	python3 - "$POL" "$(policy "$P1")" <<'PY2'
import sys, time
path, text = sys.argv[1], sys.argv[2] + "\n"
gap, last = 0.0, None
for i in range(5):
    with open(path, "w") as f:
        f.write(text)
    now = time.monotonic()
    if last is not None:
        gap = max(gap, now - last)
    last = now
    time.sleep(0.02)
print(int(gap * 1000))
PY2
}
for try in 1 2 3 4 5; do
	g=$(gen)
	gap=$(burst)
	# the reload, then a quiet second (5x the debounce) in which no second one may come
	wait_until "$W" '[ "$(gen)" -gt "$g" ]'
	sleep 1
	g1=$(gen)
	[ "${gap:-999}" -lt 150 ] && break
	echo "# burst $try: writes $gap ms apart (busy machine), the debounce is not tested by it: again"
done
expect_eq "a burst of 5 writes is one reload (debounced; writes at most $gap ms apart)" "$g1" "$((g + 1))"
printf '[cli]\ncgroup = %s\nallow = sideways tcp any\n' "$CLI" > "$POL"
check "broken file: reported as FILE:LINE" wait_for "$W" grep -q "^$POL:3: " "$LOG"
check "broken file: agent says the previous policy stays" wait_for "$W" grep -q "previous policy stays in force" "$LOG"
check "broken file: previous policy still enforced (allowed)" can cli "$P1"
check "broken file: previous policy still enforced (denied)" cannot cli "$P2"
check "broken file: agent still running" kill -0 "$AGENT"
chmod 664 "$POL"; policy "$P1-$P2" > "$POL"
check "group-writable file: reload refused" wait_for "$W" grep -q "refused: writable by its group" "$LOG"
check "group-writable file: previous policy stays" cannot cli "$P2"
chmod 644 "$POL"
check "fixed file (chmod): reloaded" wait_for "$W" can cli "$P2"
policy "$P1" > "$POL"
check "rewritten again: reloaded" wait_for "$W" cannot cli "$P2"
g=$(gen)
kill -HUP "$AGENT"
check "SIGHUP reloads" wait_for "$W" grep -q "SIGHUP: reloading" "$LOG"
check "SIGHUP: a new generation" wait_until "$W" '[ "$(gen)" -gt "$g" ]'

# --- glob cgroups ---
check "glob matching nothing yet is a warning, not an error" grep -q "matches no cgroup (yet)" "$LOG"
t0=$(date +%s%N)
mkcg pod-1 >/dev/null
id1=$(stat -c %i "$CGROOT/pod-1")
check "new cgroup matching the glob attached" wait_for "$W" test -e "$PIN/links/${id1}_ingress"
echo "# attached after $(ms_since "$t0") ms"
check "new cgroup appears in status" wait_for "$W" status_has "$CGROOT/pod-1"
check "new cgroup: the glob policy is enforced (allowed port)" can pod-1 "$P1"
check "new cgroup: the glob policy is enforced (denied port)" cannot pod-1 "$P2"
mkcg pod-2 >/dev/null
mkcg other-1 >/dev/null
check "second matching cgroup enforced" wait_for "$W" status_has "$CGROOT/pod-2"
check "non-matching cgroup left alone" bash -c "! '$CGP' --pin-path '$PIN' status --json | grep -q other-1 && [ \$(bpftool cgroup show '$CGROOT/other-1' | grep -c cgp_) = 0 ]"
expect_eq "status lists each matched cgroup under the policy name" \
	"$(cgp status --json | python3 -c 'import json,sys; print(sum(p["name"] == "pods" for p in json.load(sys.stdin)["policies"]))')" 2
"$CGP" --pin-path "$PIN" apply "$POL" >/dev/null 2>&1
expect_eq "one-shot apply with a glob: both matches" \
	"$(cgp status --json | python3 -c 'import json,sys; print(sum(p["name"] == "pods" for p in json.load(sys.stdin)["policies"]))')" 2
check "matched cgroup has its link pins" test -e "$PIN/links/${id1}_ingress"
t0=$(date +%s%N)
rmdir "$CGROOT/pod-1"
check "removed cgroup disappears from status" wait_for "$W" bash -c "! '$CGP' --pin-path '$PIN' status --json | grep -q '$CGROOT/pod-1\"'"
echo "# gone from status after $(ms_since "$t0") ms"
check "removed cgroup: its link pins are gone" wait_for "$W" bash -c "! ls '$PIN/links' | grep -q '^${id1}_'"
check "the other matched cgroup stays" status_has "$CGROOT/pod-2"
check "no error in the agent log" bash -c "! grep -qi 'error' '$LOG'"

# --- SIGTERM, kill -9, restart ---
n_cli=$(nprogs cli); n_pod=$(nprogs pod-2)
kill -TERM "$AGENT"; wait "$AGENT" 2>/dev/null; rc=$?
expect_eq "SIGTERM: clean exit 0" "$rc" 0
check "SIGTERM: says enforcement stays" grep -q "exiting; enforcement stays in place" "$LOG"
check "after SIGTERM: still enforced" cannot cli "$P2"

CM=$TMPD/cm; mkdir -p "$CM/..v1" "$CM/..v2"
policy "$P1" > "$CM/..v1/policy.ini"; policy "$P1-$P2" > "$CM/..v2/policy.ini"
chmod 644 "$CM"/..v*/policy.ini
ln -s ..v1 "$CM/..data"; ln -s ..data/policy.ini "$CM/policy.ini"
check "restart (ConfigMap layout) starts" start_agent "$CM/policy.ini" "$LOG"
expect_eq "restarted agent: no second attachment (cli)" "$(nprogs cli)" "$n_cli"
expect_eq "restarted agent: no second attachment (pod-2)" "$(nprogs pod-2)" "$n_pod"

# A client hammers the denied port through a kill -9 and a restart: one line
# per attempt ("try", then "LEAK" when it connected), until STOP exists
# (at most 2 minutes).
HSTOP=$TMPD/hammer.stop
in_cg cli bash -c "end=\$((SECONDS + 120)); while [ ! -e '$HSTOP' ] && [ \$SECONDS -lt \$end ]; do echo try; timeout 1 socat -T1 - TCP:127.0.0.1:$P2,connect-timeout=0.2 </dev/null 2>/dev/null && echo LEAK; sleep 0.01; done" > "$TMPD/hammer" &
HAM=$!
PIDS+=($HAM)
tries() { grep -c '^try' "$TMPD/hammer"; }
wait_until "$W" '[ "$(tries)" -ge 10 ]'	# it is hammering
kill -9 "$AGENT"; wait "$AGENT" 2>/dev/null
check "kill -9: policy still enforced" cannot cli "$P2"
check "kill -9: status still shows the policy" status_has "$CGROOT/cli"
n0=$(tries)
wait_until "$W" '[ "$(tries)" -ge $((n0 + 10)) ]'	# ... while no agent runs
check "restart after kill -9" start_agent "$CM/policy.ini" "$LOG"
n1=$(tries)
wait_until "$W" '[ "$(tries)" -ge $((n1 + 10)) ]'	# ... and after the restart
touch "$HSTOP"; wait "$HAM" 2>/dev/null
check "denied client stayed denied through kill -9 and restart ($(tries) tries: $n0 before the kill, $((n1 - n0)) without agent)" \
	bash -c "! grep -q LEAK '$TMPD/hammer' && [ \$(grep -c '^try' '$TMPD/hammer') -ge $((n1 + 10)) ]"
expect_eq "after kill -9 + restart: program count unchanged (cli)" "$(nprogs cli)" "$n_cli"
expect_eq "after kill -9 + restart: program count unchanged (pod-2)" "$(nprogs pod-2)" "$n_pod"
ln -s ..v2 "$CM/..data_tmp"; mv -T "$CM/..data_tmp" "$CM/..data"
check "ConfigMap ..data symlink swap: reloaded" wait_for "$W" can cli "$P2"

e2e_done
