#!/usr/bin/env bash
# Lifecycle: CLI contract, dry run, live re-evaluation of established
# connections, concurrent applies, bpffs mounted when missing.
. "$(dirname "$0")/lib.sh"
e2e_init

SRV=$(mkcg srv)
CLI=$(mkcg cli)
P1=$(rand_port); P2=$((P1 + 1))
bg_in_cg srv socat "TCP4-LISTEN:$P1,bind=127.0.0.1,reuseaddr,fork" EXEC:cat
wait_listen tcp "$P1"
tcp_server srv 127.0.0.1 "$P2"

W=${E2E_WAIT_LIFECYCLE:-30}	# deadline of a wait: only matters when something is broken
rc_of() { "$@" >/dev/null 2>&1; echo $?; }
# echo_get CG PORT: "hi" through the echo server on PORT; empty when refused (see fetch)
echo_get() { fetch "$GET_SECS" in_cg "$1" bash -c "echo hi | timeout 10 socat -T2 - TCP:127.0.0.1:$2,connect-timeout=2"; }
gen() { cgp status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["generation"])'; }

# --- CLI contract ---
expect_eq "--help exits 0" "$(rc_of "$CGP" --help)" 0
check "--help documents every command" bash -c "'$CGP' --help | grep -q 'apply \[--dry-run\] FILE' && '$CGP' --help | grep -q remove && '$CGP' --help | grep -q -- --pin-path"
check "--version prints a version" bash -c "'$CGP' --version | grep -Eq '^cgpolicy [0-9]+\.[0-9]+'"
expect_eq "no command: usage error 1" "$(rc_of "$CGP")" 1
expect_eq "unknown command: 1" "$(rc_of "$CGP" frobnicate)" 1
expect_eq "apply without file: 1" "$(rc_of "$CGP" apply)" 1
expect_eq "relative --pin-path: 1" "$(rc_of "$CGP" --pin-path rel status)" 1
expect_eq "status of an empty pin path: 0" "$(rc_of cgp status)" 0
check "status --json of an empty pin path is valid JSON with no policies" \
	bash -c "'$CGP' --pin-path '$PIN' status --json | python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if d[\"policies\"] == [] else 1)'"
check "status does not create the pin path" test ! -e "$PIN"

ALLOW=$(write_policy allow.ini <<EOT
[cli]
cgroup = $CLI
default_egress = deny
allow = out tcp 127.0.0.1 port $P1-$P2
EOT
)
DENY=$(write_policy deny.ini <<EOT
[cli]
cgroup = $CLI
default_egress = deny
allow = out tcp 127.0.0.1 port $P2
EOT
)
expect_eq "check of a valid file: 0" "$(rc_of "$CGP" check "$ALLOW")" 0
out=$("$CGP" --pin-path "$PIN" apply --dry-run "$ALLOW" 2>&1); rc=$?
expect_eq "dry run: 0" "$rc" 0
check "dry run: says what it would apply" grep -q "would apply \[cli\]" <<<"$out"
check "dry run: nothing pinned" test ! -e "$PIN"
expect_eq "dry run: nothing attached" "$(bpftool cgroup show "$CGROOT/cli" | grep -c cgp_)" 0

# --- live re-evaluation ---
# The pinger echoes every 50 ms for up to 10 minutes, and ends when an echo
# does not come within GET_SECS ("stalled"). The test waits for echoes (not
# for fixed times a busy machine may not give the pinger). The pinger's old
# stall threshold of 1 s failed here on 6.1 under TCG: the first echo
# includes socat's fork + exec of cat for the new connection (0.9 s measured
# in the guest), while 30 re-applies in the guest denied nothing and delayed
# no echo past 0.34 s. A cut connection is proven by the policy's own deny
# counter, not by a time.
denied_out() { cgp status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["policies"][0]["counters"]["egress"]["denied_packets"])'; }
cgp apply "$ALLOW" >/dev/null
in_cg cli python3 "$(dirname "$0")/helpers/pinger.py" 127.0.0.1 "$P1" 600 "$GET_SECS" > "$TMPD/ping1" 2>&1 &
PING=$!
PIDS+=($PING)
echoes() { grep -c '^ok' "$TMPD/ping1"; }
ended() { grep -Eq '^(stalled|closed|done)' "$TMPD/ping1" || ! alive "$PING"; }
wait_until "$W" '[ "$(echoes)" -ge 5 ] || ended'
n0=$(echoes)
cgp apply "$ALLOW" >/dev/null	# same rules, new generation: the connection must live on
wait_until "$W" '[ "$(echoes)" -ge $((n0 + 10)) ] || ended'
n1=$(echoes)
check "established connection survives a re-apply ($n0 echoes before, $((n1 - n0)) after)" test "$n0" -ge 5 -a "$((n1 - n0))" -ge 10
check "no stall after a re-apply" bash -c "! grep -Eq '^(stalled|closed)' '$TMPD/ping1'"
expect_eq "re-apply: the connection's packets were never denied" "$(denied_out)" 0
d0=$(denied_out)
cgp apply "$DENY" >/dev/null	# now its port is no longer allowed
wait "$PING"	# (bounded: the pinger gives up GET_SECS after its last echo)
check "policy change cuts the established connection ($(tail -n 1 "$TMPD/ping1"))" grep -q '^stalled' "$TMPD/ping1"
check "and its packets were denied at cli's egress (denied_packets $d0 -> $(denied_out))" test "$(denied_out)" -gt "$d0"
expect_eq "the newly denied port is refused to new connections" "$(echo_get cli "$P1")" ""
expect_eq "still allowed port still works" "$(tcp_get cli 127.0.0.1 "$P2")" "hello $P2"

# --- concurrent applies: one whole policy wins ---
g0=$(gen)
for i in $(seq 5); do
	cgp apply "$ALLOW" >/dev/null 2>&1 &
	cgp apply "$DENY" >/dev/null 2>&1 &
done
wait_rc=0
for j in $(jobs -p); do
	[ "$j" = "$PING" ] && continue
	case " ${PIDS[*]} " in *" $j "*) continue ;; esac
	wait "$j" || wait_rc=1
done
expect_eq "10 concurrent applies all succeed" "$wait_rc" 0
expect_eq "10 concurrent applies: 10 generations" "$(gen)" "$((g0 + 10))"
expect_eq "after concurrent applies: still exactly 3 programs (ingress, egress, sockops)" \
	"$(bpftool cgroup show "$CGROOT/cli" | grep -c cgp_)" 3
# Both files allow P2; only the allow file allows P1 (an echo server): the
# traffic must be that of one of them, whole.
r1=$(echo_get cli "$P1")
r2=$(tcp_get cli 127.0.0.1 "$P2")
case "$r1" in hi) winner=allow ;; "") winner=deny ;; *) winner="neither: $r1" ;; esac
check "after concurrent applies: the traffic of one whole policy ($winner; P1 ${r1:-refused}, P2 $r2)" \
	test "$r2" = "hello $P2" -a \( "$winner" = allow -o "$winner" = deny \)
cgp remove >/dev/null

# --- bpffs missing: mounted by apply (in a private mount namespace) ---
out=$(unshare -m --propagation private bash -c "
	umount -l /sys/fs/bpf 2>/dev/null
	mountpoint -q /sys/fs/bpf && { echo still-mounted; exit 1; }
	'$CGP' --pin-path '$PIN' apply '$ALLOW' >/dev/null || exit 2
	mountpoint -q /sys/fs/bpf || exit 3
	stat -f -c %T /sys/fs/bpf
	'$CGP' --pin-path '$PIN' remove >/dev/null || exit 4
" 2>&1); rc=$?
expect_eq "apply mounts bpffs when it is missing" "$rc:$out" "0:bpf_fs"

e2e_done
