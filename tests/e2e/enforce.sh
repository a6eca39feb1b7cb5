#!/usr/bin/env bash
# End-to-end enforcement on loopback: real cgroups, real servers and clients.
. "$(dirname "$0")/lib.sh"
e2e_init

SRV=$(mkcg srv)
CLI=$(mkcg cli)
NEST=$(mkcg cli/inner)
P1=$(rand_port); P2=$((P1 + 1)); P3=$((P1 + 2)); U1=$((P1 + 3))

tcp_server srv 127.0.0.1 "$P1"
FREE=$(mkcg free)	# servers under no policy: only the client's policies decide
P4=$((P1 + 4)); P5=$((P1 + 5)); U2=$((P1 + 6))
tcp_server free 127.0.0.1 "$P4"
tcp_server free 127.0.0.1 "$P5"
udp_server free 127.0.0.1 "$U2"
tcp_server srv 127.0.0.1 "$P2"
tcp_server srv ::1 "$P3"
udp_server srv 127.0.0.1 "$U1"

# json FIELD-PATH: read `status --json` with python (policy name, then keys)
status_field() {	# POLICY KEY [KEY...]
	cgp status --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
p = [x for x in d["policies"] if x["name"] == sys.argv[1]]
if not p:
    print("missing"); sys.exit(0)
v = p[0]
for k in sys.argv[2:]:
    v = v[k]
print(v)' "$@"
}

prog_count() {	# CG: programs attached to the cgroup itself
	bpftool cgroup show "$CGROOT/$1" 2>/dev/null | grep -c -E 'cgroup_inet_(ingress|egress)|^[0-9]+ +(ingress|egress)'
}

# --- baseline without policy ---
expect_eq "baseline: tcp v4 works without policy" "$(tcp_get cli 127.0.0.1 "$P2")" "hello $P2"
expect_eq "baseline: tcp v6 works without policy" "$(tcp_get cli ::1 "$P3")" "hello $P3"
expect_eq "baseline: udp works without policy" "$(udp_get cli 127.0.0.1 "$U2")" "hello $U2"

POL=$(write_policy policy.ini <<EOT
[agent]
pin_path = /sys/fs/bpf/not-used-by-tests   ; --pin-path wins

[srv]
cgroup = $SRV
default_ingress = deny
default_egress = deny
allow = in tcp 127.0.0.1 port $P1
allow = in tcp ::1/128 port $P3
allow = in udp 127.0.0.0/8 port $U1

[cli]
cgroup = $CLI
default_ingress = deny
default_egress = deny
allow = out tcp 127.0.0.0/8 port $P1-$P2
deny  = out tcp 127.0.0.1 port $P2
allow = out tcp ::1 port $P3
allow = out udp any port $U1
EOT
)

out=$(cgp apply "$POL" 2>&1); rc=$?
expect_eq "apply succeeds" "$rc" 0
[ "$rc" = 0 ] || echo "$out" | sed 's/^/# /'
check "apply did not use the file's pin_path" test ! -e /sys/fs/bpf/not-used-by-tests

expect_eq "allowed tcp flow works (reply passes under default egress deny)" \
	"$(tcp_get cli 127.0.0.1 "$P1")" "hello $P1"
expect_eq "denied tcp flow fails (longest prefix deny)" "$(tcp_get cli 127.0.0.1 "$P2")" ""
expect_eq "allowed tcp v6 flow works" "$(tcp_get cli ::1 "$P3")" "hello $P3"
expect_eq "allowed udp request/reply works" "$(udp_get cli 127.0.0.1 "$U1")" "hello $U1"
u=$(udp_try cli 127.0.0.1 "$U2" 0.5)
check "denied udp (default egress deny): no answer, and the client really tried ($u)" \
	python3 -c 'import sys; d = dict(kv.split("=") for kv in sys.argv[1].split()); sys.exit(0 if int(d["sent"]) + int(d["errors"]) >= 5 and d["answers"] == "0" else 1)' "$u"

# A client outside any policy cgroup reaches srv only where srv's ingress allows.
OUT=$(mkcg outsider)
expect_eq "unpoliced client reaches srv's allowed port" "$(tcp_get outsider 127.0.0.1 "$P1")" "hello $P1"
expect_eq "unpoliced client blocked by srv's default ingress deny" "$(tcp_get outsider 127.0.0.1 "$P2")" ""

# Nested: the child has its own policy; both must allow.
NPOL=$(write_policy nested.ini <<EOT
[srv]
cgroup = $SRV
default_ingress = deny
default_egress = deny
allow = in tcp 127.0.0.1 port $P1
allow = in tcp ::1/128 port $P3
allow = in udp 127.0.0.0/8 port $U1

[cli]
cgroup = $CLI
default_ingress = deny
default_egress = deny
allow = out tcp 127.0.0.0/8 port $P1-$P2
deny  = out tcp 127.0.0.1 port $P2
allow = out tcp ::1 port $P3
allow = out udp any port $U1
allow = out tcp 127.0.0.1 port $P5

[inner]
cgroup = $NEST
allow = out tcp any
deny = out tcp ::1 port $P3
deny = out tcp 127.0.0.1 port $P5
EOT
)
out=$(cgp apply "$NPOL" 2>&1); rc=$?
expect_eq "apply nested policy" "$rc" 0
[ "$rc" = 0 ] || echo "$out" | sed 's/^/# /'
expect_eq "nested: allowed by both" "$(tcp_get cli/inner 127.0.0.1 "$P1")" "hello $P1"
expect_eq "nested: parent denies, child allows -> denied" "$(tcp_get cli/inner 127.0.0.1 "$P2")" ""
expect_eq "nested: child denies, parent allows -> denied" "$(tcp_get cli/inner ::1 "$P3")" ""
expect_eq "nested: parent alone still allows v6" "$(tcp_get cli ::1 "$P3")" "hello $P3"
# against a server no policy restricts, so each verdict is the client side's own
expect_eq "nested, free server: parent denies (default), child allows -> denied" "$(tcp_get cli/inner 127.0.0.1 "$P4")" ""
expect_eq "nested, free server: child denies, parent allows -> denied" "$(tcp_get cli/inner 127.0.0.1 "$P5")" ""
expect_eq "nested, free server: parent alone allows" "$(tcp_get cli 127.0.0.1 "$P5")" "hello $P5"

# Counters count.
allowed=$(status_field cli counters egress allowed_packets)
denied=$(status_field cli counters egress denied_packets)
check "counters: cli egress allowed packets counted ($allowed)" test "$allowed" -gt 0
check "counters: cli egress denied packets counted ($denied)" test "$denied" -gt 0
check "counters: bytes counted" test "$(status_field srv counters ingress allowed_bytes)" -gt 0
check "status (text) lists the policies" bash -c "'$CGP' --pin-path '$PIN' status | grep -q '^inner '"

# Re-apply: same links, no double attachment.
gen1=$(cgp status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["generation"])')
cgp apply "$NPOL" >/dev/null 2>&1
cgp apply "$NPOL" >/dev/null 2>&1
expect_eq "re-apply keeps exactly 2 programs on srv" "$(prog_count srv)" 2
expect_eq "re-apply keeps exactly 2 programs on cli" "$(prog_count cli)" 2
gen2=$(cgp status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["generation"])')
expect_eq "each apply is one generation" "$gen2" "$((gen1 + 2))"

# A bad policy changes nothing.
BAD=$(write_policy bad.ini <<EOT
[srv]
cgroup = $SRV
allow = in tcp any port 80
allow = in tcp 10.0.0.0/33 port 22
EOT
)
err=$(cgp apply "$BAD" 2>&1); rc=$?
expect_eq "bad policy: exit 1" "$rc" 1
check "bad policy: error names file:line ($err)" grep -q "bad.ini:4:" <<<"$err"
gen3=$(cgp status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["generation"])')
expect_eq "bad policy: generation unchanged" "$gen3" "$gen2"
expect_eq "bad policy: enforcement unchanged (still denied)" "$(tcp_get cli 127.0.0.1 "$P2")" ""
expect_eq "bad policy: enforcement unchanged (still allowed)" "$(tcp_get cli 127.0.0.1 "$P1")" "hello $P1"

# A missing cgroup is refused before anything changes.
MISS=$(write_policy missing.ini <<EOT
[srv]
cgroup = $SRV
[ghost]
cgroup = /cgpolicy-test-$TID/does-not-exist
EOT
)
err=$(cgp apply "$MISS" 2>&1); rc=$?
expect_eq "missing cgroup: exit 1" "$rc" 1
check "missing cgroup: error names file:line" grep -q "missing.ini:4:" <<<"$err"
expect_eq "missing cgroup: cli policy still in force" "$(tcp_get cli 127.0.0.1 "$P2")" ""

# Dropping a policy from the file detaches it.
ONE=$(write_policy one.ini <<EOT
[srv]
cgroup = $SRV
default_ingress = deny
allow = in tcp 127.0.0.1 port $P1
EOT
)
cgp apply "$ONE" >/dev/null 2>&1
expect_eq "policy dropped from file: its programs detached" "$(prog_count cli)" 0
expect_eq "policy dropped from file: client unrestricted, srv still denies P2" "$(tcp_get cli 127.0.0.1 "$P2")" ""
expect_eq "policy dropped from file: client reaches P1" "$(tcp_get cli 127.0.0.1 "$P1")" "hello $P1"

# Remove restores traffic and leaves nothing.
out=$(cgp remove 2>&1); rc=$?
expect_eq "remove succeeds" "$rc" 0
check "remove: pin path gone" test ! -e "$PIN"
expect_eq "remove: no programs on srv" "$(prog_count srv)" 0
expect_eq "remove: traffic restored" "$(tcp_get cli 127.0.0.1 "$P2")" "hello $P2"
expect_eq "remove twice is fine" "$(cgp remove >/dev/null 2>&1; echo $?)" 0

e2e_done
