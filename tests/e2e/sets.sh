#!/usr/bin/env bash
# End-to-end address sets ([set NAME], @NAME, cgpolicy set): real cgroups,
# real TCP over loopback (127.0.0.0/8 and ::1 all reach lo).
#   static set: member, exclusion, an included set's member inside the
#   exclusion, IPv6, a port rule on a set; a static change re-applied;
#   dynamic set: file member, `set add` while a client retries (denied from
#   the first attempt after the add), `set del`, a timed member that expires
#   by itself, members kept by a re-apply of the same file, batch input from
#   stdin (rate printed), errors; `remove` leaves no set behind.
. "$(dirname "$0")/lib.sh"
e2e_init

CLI=$(mkcg cli)
mkcg free >/dev/null	# servers under no policy
P=$(rand_port)
for i in 1 2 3 4 5 6; do
	tcp_server free "127.0.0.$i" $((P + i - 1)) || not_ok "server 127.0.0.$i port $((P + i - 1))"
done
tcp_server free ::1 $((P + 6)) || not_ok "server ::1"
tcp_server free 127.0.0.1 $((P + 7)) || not_ok "server 127.0.0.1 port $((P + 7))"

get() {	# N: 127.0.0.N port P+N-1 from the policy cgroup ("hello PORT" or "")
	tcp_get cli "127.0.0.$1" $((P + $1 - 1))
}
hello() { echo "hello $((P + $1 - 1))"; }

policy() {	# EXCLUSION: the policy file with office's exclusion
	write_policy sets.ini <<EOT
[set office]
address = 127.0.0.0/29
address = !$1
address = @inner
address = ::1/128

[set inner]
address = 127.0.0.3/32    ; longer than office's exclusion: a member

[set block]
dynamic = yes
address = 127.0.0.5

[cli]
cgroup = $CLI
default_egress = deny
allow = out tcp @office
deny  = out tcp @office port $((P + 7))
deny  = out any @block
EOT
}

POL=$(policy 127.0.0.2/31)
out=$(cgp apply "$POL" 2>&1); rc=$?
expect_eq "apply of a policy with sets succeeds" "$rc" 0
[ "$rc" = 0 ] || echo "$out" | sed 's/^/# /'

# --- static set ---
expect_eq "static set: a member (/29) is allowed" "$(get 1)" "$(hello 1)"
expect_eq "static set: an excluded address (!/31) is not a member: default deny" "$(get 2)" ""
expect_eq "static set: an included set's /32 inside the exclusion is a member" "$(get 3)" "$(hello 3)"
expect_eq "static set: IPv6 member" "$(tcp_get cli ::1 $((P + 6)))" "hello $((P + 6))"
expect_eq "static set: a port rule on the set beats the portless one" \
	"$(tcp_get cli 127.0.0.1 $((P + 7)))" ""
expect_eq "dynamic set: a member from the file is denied" "$(get 5)" ""
expect_eq "set list office: the flattened members" "$(cgp set list office | LC_ALL=C sort | tr '\n' ' ')" \
	"!127.0.0.2/31 127.0.0.0/29 127.0.0.3/32 ::1/128 "

# --- live update while a client retries ---
LOG=$TMPD/retry.log
: > "$LOG"
(
	while :; do
		t=$(date +%s%N)
		o=$(in_cg cli timeout 5 socat -T1 - "TCP:127.0.0.4:$((P + 3)),connect-timeout=1" </dev/null 2>/dev/null)
		if [ "$o" = "$(hello 4)" ]; then echo "$t ok"; else echo "$t deny"; fi
		sleep 0.1
	done >> "$LOG"
) &
RETRY=$!
PIDS+=("$RETRY")
check "the retrying client gets through before the add" wait_until 60 '[ "$(grep -c " ok$" "$LOG")" -ge 2 ]'
t0=$(date +%s%N)
cgp set add block 127.0.0.4
rc=$?; t1=$(date +%s%N)
expect_eq "set add block 127.0.0.4: exit 0" "$rc" 0
echo "# set add took $(( (t1 - t0) / 1000 )) us"
wait_until 60 'awk -v t="$t1" "\$1 > t" "$LOG" | grep -q .'
first=$(awk -v t="$t1" '$1 > t { print $2; exit }' "$LOG")
expect_eq "the first attempt after the add is denied" "$first" "deny"
during=$(awk -v a="$t0" -v b="$t1" '$1 >= a && $1 <= b { print $2 }' "$LOG" | tr '\n' ' ')
echo "# attempts started during the add: ${during:-none}"
kill "$RETRY" 2>/dev/null; wait "$RETRY" 2>/dev/null
expect_eq "after the add: denied" "$(get 4)" ""
cgp set del block 127.0.0.4
expect_eq "set del block 127.0.0.4: allowed again at once" "$(get 4)" "$(hello 4)"

# --- timed member ---
expect_eq "before the timed add: allowed" "$(get 6)" "$(hello 6)"
cgp set add block 127.0.0.6 timeout 8
check "set list block shows the timeout" bash -c '"$0" --pin-path "$1" set list block | grep -qE "^127.0.0.6/32 timeout [1-8]$"' "$CGP" "$PIN"
expect_eq "set add ... timeout 8: denied" "$(get 6)" ""
ts=$(date +%s)
check "the timed member expires by itself: allowed again (no agent, no apply)" \
	wait_until 60 '[ "$(get 6)" = "$(hello 6)" ]'
echo "# expired after about $(( $(date +%s) - ts )) s of waiting"
check "set list sweeps the expired member" bash -c '! "$0" --pin-path "$1" set list block | grep -q 127.0.0.6' "$CGP" "$PIN"

# --- re-apply of the same file keeps the live members ---
cgp set add block 127.0.0.4 2001:db8::/32
out=$(cgp apply "$POL" 2>&1); rc=$?
expect_eq "re-apply of the same file" "$rc" 0
expect_eq "re-apply: the live members are kept" "$(cgp set list block | LC_ALL=C sort | tr '\n' ' ')" \
	"127.0.0.4/32 127.0.0.5/32 2001:db8::/32 "
expect_eq "re-apply: a live member still denies" "$(get 4)" ""
check "re-apply says so" grep -q "block (dynamic, live members kept)" <<<"$out"

# --- a policy error in a set: FILE:LINE, nothing changed ---
BAD=$(sed 's|^address = @inner$|&\naddress = @office|' "$POL" | write_policy bad.ini)
gen_before=$(cgp status --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["generation"])' 2>/dev/null)
out=$(cgp apply "$BAD" 2>&1); rc=$?
expect_eq "a set that includes itself: exit 1" "$rc" 1
check "... FILE:LINE and the cycle ($out)" grep -qE "bad.ini:[0-9]+: set 'office' includes itself: office -> office" <<<"$out"
expect_eq "... nothing changed: the generation" \
	"$(cgp status --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["generation"])' 2>/dev/null)" "$gen_before"
expect_eq "... nothing changed: the live member still denies" "$(get 4)" ""
json=$(cgp set list block --json)
check "set list --json is JSON with the members" python3 -c '
import json, sys
d = json.loads(sys.argv[1])
sys.exit(0 if d["set"] == "block" and d["dynamic"] and len(d["members"]) == 3 else 1)' "$json"

# --- a static change is re-applied like any change ---
POL2=$(policy 127.0.0.0/31)
out=$(cgp apply "$POL2" 2>&1); rc=$?
expect_eq "apply of a changed static set" "$rc" 0
echo "# $(grep 'map entries written' <<<"$out")"
expect_eq "changed static set: 127.0.0.1 now excluded" "$(get 1)" ""
expect_eq "changed static set: 127.0.0.3 still a member" "$(get 3)" "$(hello 3)"
expect_eq "changed static set: the dynamic set's live members are kept" "$(get 4)" ""

# --- batch input and errors ---
python3 -c '
for i in range(5000):
    print("10.%d.%d.%d" % (200 + i // 65536, (i // 256) % 256, i % 256))' > "$TMPD/batch.txt"
t0=$(date +%s%N)
cgp set add block - < "$TMPD/batch.txt"
rc=$?; t1=$(date +%s%N)
expect_eq "set add block - (5000 addresses from stdin)" "$rc" 0
echo "# set add of 5000 addresses from stdin: $(( (t1 - t0) / 1000000 )) ms, $(( 5000 * 1000000000 / (t1 - t0 + 1) )) addresses/s"
expect_eq "set list: 5000 + 3 members" "$(cgp set list block | wc -l)" 5003
cgp set del block - < "$TMPD/batch.txt"
expect_eq "set del block -: the 5000 are gone" "$(cgp set list block | wc -l)" 3

cgp set add office 127.0.0.9 2>"$TMPD/err"; rc=$?
expect_eq "set add on a static set: exit 1" "$rc" 1
check "... says it is static" grep -q "set 'office' is static" "$TMPD/err"
cgp set add nosuch 127.0.0.9 2>"$TMPD/err"; rc=$?
expect_eq "set add on an unknown set: exit 1" "$rc" 1
check "... says unknown set" grep -q "unknown set 'nosuch'" "$TMPD/err"
cgp set add block 127.0.0.9 10.0.0.300 2>"$TMPD/err"; rc=$?
expect_eq "set add with a bad address: exit 1" "$rc" 1
check "... names it, and nothing was added" bash -c 'grep -q "bad address .10.0.0.300." "$0" && ! "$1" --pin-path "$2" set list block | grep -q 127.0.0.9' "$TMPD/err" "$CGP" "$PIN"
cgp set add block 1.2.3.4 timeout x 2>/dev/null; rc=$?
expect_eq "set add with a bad timeout: exit 1" "$rc" 1

# --- remove leaves nothing ---
dsets_id=$(bpftool -j map show pinned "$PIN/maps/dsets" | python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')
out=$(cgp remove 2>&1); rc=$?
expect_eq "remove" "$rc" 0
check "remove: no pins left" test ! -e "$PIN"
check "remove: the dynamic set's map is freed" wait_until 60 "! bpftool map show id $dsets_id >/dev/null 2>&1"
cgp set list block >/dev/null 2>&1; rc=$?
expect_eq "set list after remove: exit 1 (no policy in force)" "$rc" 1
expect_eq "after remove: traffic as before (4 passes)" "$(get 4)" "$(hello 4)"

e2e_done
