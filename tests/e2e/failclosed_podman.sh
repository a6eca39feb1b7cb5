#!/usr/bin/env bash
# Fail-closed glob policies with a real runtime: Podman containers whose
# entrypoint connects at once to a denied server (and to an allowed one) are
# under their glob's policy from the first packet, with the agent running and
# with no agent at all (plain `cgpolicy apply`). The servers count the
# connections they accept.
. "$(dirname "$0")/lib.sh"
e2e_init
. "$(dirname "$0")/rtlib.sh"
rt_init || exit 1
rt_podman_setup || skip_all "${RT_WHY:-podman setup failed}"

N=${FAILCLOSED_PODMAN_STARTS:-100}
mkcg srv >/dev/null
P=$(rand_port); PA=$P; PD=$((P + 1))

# A server on the host's bridge address that logs every connection it accepts;
# backlog 128, not socat's 5: containers start in bursts, and a handshake that
# finds the accept queue full is dropped while its client thinks it connected.
counting_server() {	# PORT
	bg_in_cg srv socat "TCP4-LISTEN:$1,bind=$RT_PGW,reuseaddr,fork,backlog=128" \
		SYSTEM:"echo x >> $TMPD/conn.$1; echo hello $1"
	wait_for "$WAIT_SERVER" listening_in_cg tcp "$1" srv
}
check "denied server listens on $RT_PGW:$PD" counting_server "$PD"
check "allowed server listens on $RT_PGW:$PA" counting_server "$PA"
conns() { [ -e "$TMPD/conn.$1" ] && wc -l < "$TMPD/conn.$1" || echo 0; }

POL=$(write_policy policy.ini <<EOT
[agent]
stats_interval = 0

[ctrs]
cgroup = $RT_PPARENT/libpod-*
default_egress = deny
allow = out tcp $RT_PGW port $PA
EOT
)
# Both connections start with the entrypoint, the denied one first.
ENTRY="nc -w 3 $RT_PGW $PD </dev/null & nc -w 3 $RT_PGW $PA </dev/null; wait; sleep 1"

# starts LABEL: N containers; the servers' counts go to DENIED_SEEN / ALLOWED_SEEN
starts() {
	local d0 a0 ids
	d0=$(conns "$PD"); a0=$(conns "$PA")
	ids=$(rt_podman_run_many "$N" "$RT_PIMAGE" sh -c "$ENTRY")
	STARTED=$(printf '%s\n' "$ids" | grep -c .)
	# every entrypoint has ended (nc -w 3, then sleep 1)
	wait_until 120 '[ -z "$(rt_podman ps -q)" ]'
	DENIED_SEEN=$(( $(conns "$PD") - d0 )); ALLOWED_SEEN=$(( $(conns "$PA") - a0 ))
	rt_podman rm -a -f -t 0 >/dev/null 2>&1
}

js() { cgp status --json | python3 -c "import json,sys; s=json.load(sys.stdin); print($1)"; }

check "agent starts" start_agent "$POL"
# Podman makes the containers' parent at the first container: until then the
# guard sits on its nearest existing ancestor.
expect_eq "before the first container: guard on the parent's nearest ancestor" \
	"$(js "[g['ancestor'] for g in s['guards']]")" "['$CGMNT/cgpolicy-test-$TID']"

starts agent
expect_eq "agent running: $N containers started" "$STARTED" "$N"
expect_eq "agent running: no container reached the denied server" "$DENIED_SEEN" 0
expect_eq "agent running: every container reached the allowed server" "$ALLOWED_SEEN" "$N"
check "once podman made it, the agent moved the guard to the containers' parent" \
	wait_until 30 "[ \"\$(js \"[g['ancestor'] for g in s['guards']]\")\" = \"['$CGMNT$RT_PPARENT']\" ]"
echo "# pending (template) egress denies so far: $(js "s['guards'][0]['pending']['egress']['denied_packets']")"

kill -TERM "$AGENT"; wait "$AGENT" 2>/dev/null
starts noagent
expect_eq "agent stopped: $N containers started" "$STARTED" "$N"
expect_eq "agent stopped: no container reached the denied server" "$DENIED_SEEN" 0
expect_eq "agent stopped: every container reached the allowed server" "$ALLOWED_SEEN" "$N"
check "agent stopped: the template judged them" test "$(js "s['guards'][0]['pending']['egress']['denied_packets']")" -gt 0

# Control: nothing applied, the same containers reach both servers.
cgp remove >/dev/null
N_SAVED=$N; N=3
starts control
expect_eq "control, nothing applied: the denied server is reachable" "$DENIED_SEEN" "$N"
N=$N_SAVED

e2e_done
