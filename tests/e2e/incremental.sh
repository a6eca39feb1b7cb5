#!/usr/bin/env bash
# Incremental apply: after the first applies, a change writes only the
# difference into the inactive half of the rule maps. Traffic must follow
# every generation exactly, whichever half and path (whole, difference) wrote it.
. "$(dirname "$0")/lib.sh"
e2e_init

CLI=$(mkcg cli)
P1=$(rand_port); P2=$((P1 + 1))
FREE=$(mkcg free)
tcp_server free 127.0.0.1 "$P1"
tcp_server free 127.0.0.1 "$P2"

# v1: P1 allowed; v2: P2 allowed (P1 denied); both carry 2,000 filler rules.
gen_policy() {	# NAME ALLOWED_PORT
	{
		echo "[cli]"
		echo "cgroup = $CLI"
		echo "default_egress = deny"
		for i in $(seq 2000); do
			echo "deny = out tcp 10.$((i / 250)).$((i % 250)).0/24 port $((1000 + i))"
		done
		echo "allow = out tcp 127.0.0.1 port $2"
	} | write_policy "$1"
}
V1=$(gen_policy v1.ini "$P1")
V2=$(gen_policy v2.ini "$P2")

written() { sed -n 's/.*(\([0-9]*\) map entries written).*/\1/p' <<<"$1"; }
verify_gen() {	# LABEL WANT1 WANT2
	expect_eq "$1: port P1" "$(tcp_get cli 127.0.0.1 "$P1")" "$2"
	expect_eq "$1: port P2" "$(tcp_get cli 127.0.0.1 "$P2")" "$3"
}

o=$(cgp apply "$V1"); w1=$(written "$o")
check "first apply writes the rule maps whole ($w1 entries)" test "${w1:-0}" -gt 2000
verify_gen "gen 1 (v1, whole)" "hello $P1" ""
o=$(cgp apply "$V2"); w2=$(written "$o")
check "second apply (the other half, unknown yet) writes whole ($w2)" test "${w2:-0}" -gt 2000
verify_gen "gen 2 (v2, whole)" "" "hello $P2"
for g in 3 4 5 6; do
	if [ $((g % 2)) = 1 ]; then f=$V1; want=("hello $P1" ""); else f=$V2; want=("" "hello $P2"); fi
	o=$(cgp apply "$f"); w=$(written "$o")
	check "gen $g writes only the difference ($w entries)" test "${w:-99999}" -lt 10
	verify_gen "gen $g (difference)" "${want[0]}" "${want[1]}"
done

# A larger change: drop half of the filler rules and add others, then go back.
{
	sed -n '1,3p' "$V1"
	for i in $(seq 1000 3000); do
		echo "deny = out tcp 10.$((i / 250)).$((i % 250)).0/24 port $((1000 + i))"
	done
	echo "allow = out tcp 127.0.0.1 port $P2"
} | write_policy v3.ini >/dev/null
o=$(cgp apply "$TMPD/v3.ini"); w=$(written "$o")
check "a 2,000-entry change writes about that much ($w)" test "${w:-0}" -gt 1000
verify_gen "gen 7 (v3)" "" "hello $P2"
o=$(cgp apply "$V1"); w=$(written "$o")
check "gen 8: v2 -> v1 in the half that held v2 is a few entries ($w)" test "${w:-99999}" -lt 20
verify_gen "gen 8 (v1 again)" "hello $P1" ""
o=$(cgp apply "$V1")
verify_gen "gen 9 (v1, the other half catches up)" "hello $P1" ""

# The record of what each half holds is trusted only for the generation it
# was saved with: another writer (here: losing the file) means a whole write.
rm -f /run/cgpolicy/ruleset*cgpolicy-test-"$TID"
o=$(cgp apply "$V2"); w=$(written "$o")
check "without the record, the maps are written whole ($w)" test "${w:-0}" -gt 2000
verify_gen "gen 10 (v2, whole again)" "" "hello $P2"

# The agent's reload takes the same way: a one-rule edit of its file (a
# verdict: the port classes stay) is read and compiled alone; traffic follows.
AF=$(cat "$V1" - <<<"deny = out tcp 127.0.0.1 port $P2" | write_policy agent.ini)
printf '#!/bin/sh\nexec "%s" -vv "$@"\n' "$(readlink -f "$CGP")" > "$TMPD/cgp-vv"
chmod +x "$TMPD/cgp-vv"
CGP_REAL=$CGP; CGP=$TMPD/cgp-vv
check "agent starts on the 2,000-rule file" start_agent "$AF" "$TMPD/agent.log"
CGP=$CGP_REAL
verify_gen "agent: first apply" "hello $P1" ""
sed "s/^deny = out tcp 127.0.0.1 port $P2\$/allow = out tcp 127.0.0.1 port $P2/" "$AF" > "$TMPD/agent.new"
cat "$TMPD/agent.new" > "$AF"	# in place, as an editor saves
check "agent: reloaded, the new port passes" wait_until 20 '[ "$(tcp_get cli 127.0.0.1 "$P2")" = "hello $P2" ]'
verify_gen "agent: after the one-rule reload" "hello $P1" "hello $P2"
check "agent: the reload read one line again" grep -q "incremental apply: 1 line(s) read again" "$TMPD/agent.log"
kill "$AGENT"; wait "$AGENT" 2>/dev/null
grep -E "incremental|reload|record" "$TMPD/agent.log" | sed "s/^/# /"

# Incremental from the text down (policy/incr.c, agent/apply_incr.c): random
# edits of a 400-rule file, applied one after the other through the record of
# the last apply; after each, the live half of the rule maps is byte for byte
# what a whole apply of the same text gives: the same file on a second pin
# path (other cgroups, same lines), parsed and compiled whole
# (CGP_NO_APPLY_CACHE=1), its rule-set cache removed so the maps are written whole.
cgp remove >/dev/null	# both pin paths fresh: the same slots
PIN2="$PIN-ref"
trap 'rc=$?; "$CGP" remove --pin-path "$PIN2" >/dev/null 2>&1; rm -rf "$PIN2"; (exit $rc); e2e_cleanup' EXIT
OTHER=$(mkcg other); CLI2=$(mkcg cli2); OTHER2=$(mkcg other2)
NV=${INCR_VERSIONS:-30}
mkdir -p "$TMPD/ed"
python3 "$E2E_HELPERS/incr_edits.py" "$TMPD/ed" "$CLI" "$OTHER" "$NV" "${INCR_SEED:-$RANDOM}" ||
	check "incr_edits.py" false
ref_file() { sed -e "s#^cgroup = $CLI\$#cgroup = $CLI2#" -e "s#^cgroup = $OTHER\$#cgroup = $OTHER2#" "$1" > "$TMPD/ref.ini"; chmod 644 "$TMPD/ref.ini"; }
n_incr=0 n_same=0
for v in $(seq 0 "$NV"); do
	f=$TMPD/ed/v$v.ini
	chmod 644 "$f"
	o=$("$CGP" -vv --pin-path "$PIN" apply "$f" 2>&1) || { check "v$v applies: $(tail -2 <<<"$o")" false; continue; }
	grep -q "incremental apply" <<<"$o" && n_incr=$((n_incr + 1))
	ref_file "$f"
	rm -f /run/cgpolicy/ruleset?"${PIN2//\//_}"
	CGP_NO_APPLY_CACHE=1 "$CGP" --pin-path "$PIN2" apply "$TMPD/ref.ini" >/dev/null 2>&1 ||
		check "v$v applies on the reference pin path" false
	a=$(python3 "$E2E_HELPERS/dump_live.py" "$PIN"); b=$(python3 "$E2E_HELPERS/dump_live.py" "$PIN2")
	if [ -n "$a" ] && [ "$a" = "$b" ]; then
		n_same=$((n_same + 1))
	else
		check "v$v: the live maps equal a whole apply's" diff <(echo "$a") <(echo "$b")
	fi
done
expect_eq "every version: live maps equal a whole apply's" "$n_same" "$((NV + 1))"
check "most versions went the incremental way ($n_incr of $NV)" test "$n_incr" -ge $((NV / 3))

# A record that lies must not change enforcement: flip bytes in the middle
# of it; the next apply reads the file whole (the checksum) and the maps are
# still a whole apply's.
REC="/run/cgpolicy/apply${PIN//\//_}"
check "the record of the last apply exists" test -s "$REC"
python3 -c 'import sys; p=sys.argv[1]; b=bytearray(open(p,"rb").read()); n=len(b)//2; b[n:n+8]=bytes(8*[0x5a]); open(p,"wb").write(b)' "$REC"
echo "; after a corrupt record" >> "$TMPD/ed/v$NV.ini"
o=$("$CGP" -vv --pin-path "$PIN" apply "$TMPD/ed/v$NV.ini" 2>&1)
check "a corrupt record is not used" bash -c "! grep -q 'incremental apply' <<<\"\$1\"" _ "$o"
ref_file "$TMPD/ed/v$NV.ini"
rm -f /run/cgpolicy/ruleset?"${PIN2//\//_}"
CGP_NO_APPLY_CACHE=1 "$CGP" --pin-path "$PIN2" apply "$TMPD/ref.ini" >/dev/null 2>&1
expect_eq "after a corrupt record: live maps equal a whole apply's" \
	"$(python3 "$E2E_HELPERS/dump_live.py" "$PIN" | md5sum)" "$(python3 "$E2E_HELPERS/dump_live.py" "$PIN2" | md5sum)"

# The same with the rule-set cache of the live half: its checksum fails, the
# rule set is compiled whole.
for f in /run/cgpolicy/ruleset?"${PIN//\//_}"; do
	python3 -c 'import sys; p=sys.argv[1]; b=bytearray(open(p,"rb").read()); n=len(b)-20; b[n:n+8]=bytes(8*[0xa5]); open(p,"wb").write(b)' "$f"
done
echo "; after a damaged rule-set cache" >> "$TMPD/ed/v$NV.ini"
o=$("$CGP" -vv --pin-path "$PIN" apply "$TMPD/ed/v$NV.ini" 2>&1)
check "a damaged rule-set cache is not used" bash -c "! grep -q 'incremental apply' <<<\"\$1\"" _ "$o"
ref_file "$TMPD/ed/v$NV.ini"
rm -f /run/cgpolicy/ruleset?"${PIN2//\//_}"
CGP_NO_APPLY_CACHE=1 "$CGP" --pin-path "$PIN2" apply "$TMPD/ref.ini" >/dev/null 2>&1
expect_eq "after a damaged rule-set cache: live maps equal a whole apply's" \
	"$(python3 "$E2E_HELPERS/dump_live.py" "$PIN" | md5sum)" "$(python3 "$E2E_HELPERS/dump_live.py" "$PIN2" | md5sum)"

cgp remove >/dev/null
check "remove forgets the record" bash -c "! ls /run/cgpolicy/ruleset*cgpolicy-test-$TID /run/cgpolicy/apply*cgpolicy-test-$TID 2>/dev/null | grep -q ."
e2e_done
