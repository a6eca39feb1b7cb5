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

cgp remove >/dev/null
check "remove forgets the record" bash -c "! ls /run/cgpolicy/ruleset*cgpolicy-test-$TID 2>/dev/null | grep -q ."
e2e_done
