#!/usr/bin/env bash
# No lock-out by mistake (docs/POLICY.md, `lockout`): cgpolicy run from inside
# a test cgroup `op` (standing in for the operator's shell or sshd session)
# refuses a default deny on `op`, on an ancestor of it, on a glob that can
# match it, and on the root cgroup: FILE:LINE of the section, exit 1, nothing
# changed; `check` and `apply --dry-run` say the same; the agent too. With
# `lockout = accept` it applies. A default deny on `/` is only ever tried with
# check and --dry-run here.
. "$(dirname "$0")/lib.sh"
e2e_init

OP=$(mkcg op)
OTHER=$(mkcg other)
ROOTCG="/cgpolicy-test-$TID"

pol() {	# NAME CGROUP [EXTRA KEY LINE]: a one-policy file, the section on line 1
	write_policy "$1.ini" <<EOT
[$1]
cgroup = $2
default_ingress = allow
default_egress = deny
${3:-}
EOT
}
# run_op CMD...: cgpolicy CMD from inside op; output in $OUT, exit status in $RC
run_op() {
	OUT=$(in_cg op "$CGP" --pin-path "$PIN" "$@" 2>&1); RC=$?
}
gen() { "$CGP" --pin-path "$PIN" status --json 2>/dev/null |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["generation"])' 2>/dev/null || echo none; }

expect_eq "the apply process runs in op" "$(in_cg op cat /proc/self/cgroup | sed -n 's/^0:://p')" "$OP"

# A harmless policy first, so that "nothing changed" has a generation to keep.
BASE=$(pol other "$OTHER")
run_op apply "$BASE"
expect_eq "a default deny on another cgroup applies from inside op" "$RC" 0
G0=$(gen)

refused() {	# DESC FILE WANT: apply, apply --dry-run and check from op all refuse with WANT
	local d=$1 f=$2 want=$3 cmd
	for cmd in "apply" "apply --dry-run" "check"; do
		# shellcheck disable=SC2086
		run_op $cmd "$f"
		if [ "$RC" = 1 ] && grep -qF -- "$want" <<<"$OUT" && grep -q "lockout = accept" <<<"$OUT"; then
			ok "$d: $cmd refused (exit 1)"
		else
			not_ok "$d: $cmd: exit $RC, '$OUT'"
		fi
	done
	expect_eq "$d: nothing changed (generation)" "$(gen)" "$G0"
}

F=$(pol own "$OP")
refused "own cgroup" "$F" "own.ini:1: [own] default_egress = deny on cgroup '$OP', which is (or is an ancestor of) the cgroup cgpolicy runs in ($OP)"
F=$(pol anc "$ROOTCG" "")
sed -i 's/default_ingress = allow/default_ingress = deny/; s/default_egress = deny/default_egress = allow/' "$F"
refused "ancestor, default_ingress = deny" "$F" "anc.ini:1: [anc] default_ingress = deny on cgroup '$ROOTCG'"
F=$(pol glob "$ROOTCG/o*")
refused "glob that can match op" "$F" "glob.ini:1: [glob] default_egress = deny on cgroup '$ROOTCG/o*', which can match (an ancestor of) the cgroup cgpolicy runs in"
F=$(pol absolute "$CGMNT$OP")
refused "op as an absolute path on the mount" "$F" "absolute.ini:1: [absolute]"
F=$(pol root "/")
refused "root cgroup" "$F" "root.ini:1: [root] default_egress = deny on cgroup '/', the root cgroup"
# not from inside op: the root cgroup is refused from anywhere
OUT=$("$CGP" --pin-path "$PIN" apply --dry-run "$F" 2>&1); RC=$?
expect_eq "root cgroup: refused from any cgroup (exit)" "$RC" 1
F=$(pol root2 "/" "lockout = accept")
OUT=$("$CGP" check "$F" 2>&1); RC=$?
expect_eq "root cgroup with lockout = accept: check passes" "$RC" 0
OUT=$("$CGP" --pin-path "$PIN" apply --dry-run "$F" 2>&1); RC=$?
expect_eq "root cgroup with lockout = accept: --dry-run passes ($(tail -n 1 <<<"$OUT"))" "$RC" 0
expect_eq "... and the dry run changed nothing" "$(gen)" "$G0"

F=$(pol glob2 "$ROOTCG/x*")
run_op apply "$F"
expect_eq "a glob that cannot match op applies" "$RC" 0
G0=$(gen)

# Two sections: one refused is enough to refuse the file, each refusal printed.
F=$(write_policy two.ini <<EOT
[a]
cgroup = $OP
default_ingress = deny
[b]
cgroup = $ROOTCG
default_egress = deny
EOT
)
run_op check "$F"
if [ "$RC" = 1 ] && grep -q "two.ini:1: \[a\]" <<<"$OUT" && grep -q "two.ini:4: \[b\]" <<<"$OUT"; then
	ok "two refused sections: both reported"
else
	not_ok "two refused sections: exit $RC '$OUT'"
fi

# The agent refuses it for the cgroup it runs in.
F=$(pol own "$OP")
OUT=$(in_cg op timeout 60 "$CGP" --pin-path "$PIN" agent "$F" 2>&1); RC=$?
if [ "$RC" = 1 ] && grep -q "own.ini:1: \[own\] default_egress = deny on cgroup '$OP'" <<<"$OUT"; then
	ok "agent started in op: refuses the policy on op (exit 1)"
else
	not_ok "agent in op: exit $RC '$OUT'"
fi
expect_eq "agent: nothing changed" "$(gen)" "$G0"

# lockout = accept: applied, and enforced (op's egress is denied).
F=$(pol own "$OP" "lockout = accept")
run_op apply "$F"
expect_eq "lockout = accept: applies from inside op ($(tail -n 1 <<<"$OUT"))" "$RC" 0
P=$(rand_port)
udp_server other 127.0.0.1 "$P"
out=$(udp_try op 127.0.0.1 "$P" 1)
if [ "$(sed -n 's/.*answers=\([0-9]*\).*/\1/p' <<<"$out")" = 0 ] && [ "$(sed -n 's/.*errors=\([0-9]*\).*/\1/p' <<<"$out")" -gt 0 ]; then
	ok "lockout = accept: op's default_egress = deny is in force ($out)"
else
	not_ok "lockout = accept: op's egress not denied: $out"
fi

e2e_done
