#!/usr/bin/env bash
# Listener steering ([reuseport NAME]): two SO_REUSEPORT listeners in two
# cgroups on one port, each answering its own name. Weights 100/0, 0/100,
# 50/50; a listener started after apply (also in a child cgroup) is steered;
# a listener that exits is dropped without a refused connection; weights
# change without reattaching; with nested backend cgroups a listener is the
# deepest one's; dropping the section and `remove` give the kernel's plain
# reuseport spreading back. A kernel without steering (test hook
# CGP_TEST_DISABLE_FEATURES=steering): the section is refused, the rest of the
# file applied, exit 3.
. "$(dirname "$0")/lib.sh"
e2e_init

BLUE=$(mkcg blue)
GREEN=$(mkcg green)
mkcg blue/sub >/dev/null
P=$(rand_port)
N=400

cat > "$TMPD/listener.py" <<'PY'
import socket, sys
name, addr, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
s.bind((addr, port))
s.listen(4096)
msg = (name + "\n").encode()
while True:
    c, _ = s.accept()
    try:
        c.sendall(msg)
    except OSError:
        pass
    c.close()
PY

# N connections, one new flow each; prints {"name": count, ..., "fail": count}
cat > "$TMPD/client.py" <<'PY'
import collections, json, socket, sys
addr, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
cnt = collections.Counter()
for _ in range(n):
    try:
        # generous: a refused connection fails at once, a timeout only
        # when something is broken (a busy machine may delay a SYN-ACK)
        s = socket.create_connection((addr, port), timeout=30)
        s.settimeout(30)
        d = b""
        while not d.endswith(b"\n"):
            r = s.recv(64)
            if not r:
                break
            d += r
        s.close()
        cnt[d.decode().strip() or "fail"] += 1
    except OSError:
        cnt["fail"] += 1
print(json.dumps(dict(cnt), sort_keys=True))
PY

declare -A LPID
# listens PID: PID has a listening socket on the port (ss -p names its owner)
listens() { ss -Htlnp "sport = :$P" | grep -q "pid=$1,"; }
child_of() {	# PID: its first child (bg_in_cg's subshell -> the bash -c that execs python3)
	awk '{print $1}' "/proc/$1/task/$1/children" 2>/dev/null
}
listener() {	# NAME CGROUP : start, wait until that very process listens
	local sub pid
	bg_in_cg "$2" python3 "$TMPD/listener.py" "$1" 127.0.0.1 "$P"
	sub=${PIDS[-1]}
	if wait_until "$WAIT_SERVER" '[ -n "$(child_of "$sub")" ]'; then
		pid=$(child_of "$sub")
		LPID[$1]=$pid
		PIDS+=("$pid")
		wait_until "$WAIT_SERVER" 'listens "$pid"' && return 0
	fi
	echo "# listener $1 did not start: $(tail -n 3 "$TMPD/bg.log")" >&2
	return 1
}
stop_listener() {	# NAME : kill it, wait until its socket is gone
	local pid=${LPID[$1]}
	kill "$pid" 2>/dev/null
	wait_until "$WAIT_SERVER" '! listens "$pid"' && return 0
	echo "# listener $1 (pid $pid) still listens" >&2
	return 1
}
connect() { python3 "$TMPD/client.py" 127.0.0.1 "$P" "${1:-$N}"; }
# get JSON KEY: a count from a client result (0 when absent)
get() { python3 -c 'import json,sys; print(json.loads(sys.argv[1]).get(sys.argv[2], 0))' "$1" "$2"; }
policy() {	# BLUE_WEIGHT GREEN_WEIGHT [extra lines]
	write_policy rp.ini <<EOT
[blue]
cgroup = $BLUE

[green]
cgroup = $GREEN

[reuseport api]
port = $P
backend = blue $1
backend = green $2
EOT
}
prog_id() { bpftool prog show pinned "$PIN/reuseport/progs/select" 2>/dev/null | awk -F: 'NR == 1 {print $1}'; }
status_json() { cgp status --json; }
# backend FIELD of service api: status_field BACKEND FIELD
status_field() {
	status_json | python3 -c '
import json, sys
s = json.load(sys.stdin)["reuseport"]
b = [b for r in s if r["name"] == "api" for b in r["backends"] if b["policy"] == sys.argv[1]]
print(b[0][sys.argv[2]] if b else "none")' "$1" "$2"
}

listener blue1 blue || not_ok "start blue1"
listener green1 green || not_ok "start green1"

r=$(connect)
check "without a policy the kernel spreads connections over both listeners ($r)" \
	test "$(get "$r" blue1)" -gt 0 -a "$(get "$r" green1)" -gt 0

# --- 100/0 with listeners that predate the policy
out=$(cgp apply "$(policy 100 0)" 2>&1)
check "apply 100/0 with two listeners already running" \
	grep -q "steering \[reuseport api\] tcp any port $P: blue 100 (1 listener), green 0 (1 listener)" <<<"$out"
[ $? = 0 ] || echo "$out" | sed 's/^/# /'
ID1=$(prog_id)
r=$(connect)
expect_eq "100/0: every connection goes to blue ($r)" "$(get "$r" blue1)" "$N"
expect_eq "status: blue has 1 listener" "$(status_field blue listeners)" 1
expect_eq "status: green has 1 listener" "$(status_field green listeners)" 1
# steered counts the program's selections: a SYN retransmitted on a slow machine counts again
st=$(status_field blue steered)
check "status: the $N connections were steered to blue ($st selections)" \
	test "$st" -ge "$N" -a "$st" -le $((N + N / 4))
expect_eq "status: none to green" "$(status_field green steered)" 0
check "status text shows the service and its backends" \
	bash -c "'$CGP' --pin-path '$PIN' status | grep -E '^api +tcp +any +$P +blue +100 +1 +[0-9]+\$' | awk '{ ok = \$NF >= $N } END { exit !ok }'"

# --- 0/100: a map write, no reattach
cgp apply "$(policy 0 100)" >/dev/null || not_ok "apply 0/100"
r=$(connect)
expect_eq "0/100: every connection goes to green ($r)" "$(get "$r" green1)" "$N"
expect_eq "weights changed without a new program (prog id)" "$(prog_id)" "$ID1"
check "the program is the pinned one, loaded once" test -n "$ID1"

# --- 50/50
cgp apply "$(policy 50 50)" >/dev/null || not_ok "apply 50/50"
r=$(connect)
b=$(get "$r" blue1); g=$(get "$r" green1)
check "50/50 splits $N connections within 35%-65% (blue $b, green $g)" \
	test "$b" -ge $((N * 35 / 100)) -a "$g" -ge $((N * 35 / 100)) -a $((b + g)) = "$N"

# --- 90/10: weights are relative
cgp apply "$(policy 90 10)" >/dev/null || not_ok "apply 90/10"
r=$(connect)
b=$(get "$r" blue1); g=$(get "$r" green1)
check "90/10 gives green 3%-20% of $N (blue $b, green $g)" \
	test "$g" -ge $((N * 3 / 100)) -a "$g" -le $((N * 20 / 100)) -a $((b + g)) = "$N"

# --- listeners started after apply; a child cgroup belongs to its backend
cgp apply "$(policy 100 0)" >/dev/null || not_ok "apply 100/0 again"
listener blue2 blue/sub || not_ok "start blue2"
r=$(connect)
check "100/0: a listener started after apply in a child cgroup of blue is steered ($r)" \
	test "$(get "$r" blue2)" -gt 0 -a $(($(get "$r" blue1) + $(get "$r" blue2))) = "$N"
expect_eq "status: blue has 2 listeners" "$(status_field blue listeners)" 2

# --- nested backends: a listener is the deepest backend's (blue/sub inside blue)
write_policy nested.ini >/dev/null <<EOT
[blue]
cgroup = $BLUE

[bluesub]
cgroup = $BLUE/sub

[green]
cgroup = $GREEN

[reuseport api]
port = $P
backend = blue 100
backend = bluesub 0
backend = green 0
EOT
cgp apply "$TMPD/nested.ini" >/dev/null || not_ok "apply with the nested backend blue/sub"
r=$(connect)
expect_eq "blue/sub made a backend of weight 0: its listener leaves blue's share ($r)" "$(get "$r" blue1)" "$N"
expect_eq "status: bluesub has 1 listener" "$(status_field bluesub listeners)" 1
expect_eq "status: blue has 1 listener" "$(status_field blue listeners)" 1
listener blue3 blue/sub || not_ok "start blue3"
r=$(connect)
expect_eq "a listener started in blue/sub after apply is bluesub's, not blue's ($r)" "$(get "$r" blue1)" "$N"
expect_eq "status: bluesub has 2 listeners" "$(status_field bluesub listeners)" 2
sed -e 's/^backend = blue 100/backend = blue 0/' -e 's/^backend = bluesub 0/backend = bluesub 100/' \
	"$TMPD/nested.ini" | write_policy nested2.ini >/dev/null
cgp apply "$TMPD/nested2.ini" >/dev/null || not_ok "apply bluesub 100, blue 0"
r=$(connect)
check "bluesub 100: only the listeners of blue/sub answer ($r)" \
	test "$(get "$r" blue2)" -gt 0 -a "$(get "$r" blue3)" -gt 0 -a $(($(get "$r" blue2) + $(get "$r" blue3))) = "$N"
stop_listener blue3 || not_ok "stop blue3"

cgp apply "$(policy 0 100)" >/dev/null || not_ok "apply 0/100 again"
listener green2 green || not_ok "start green2"
r=$(connect)
check "0/100: a green listener started after apply shares green's connections ($r)" \
	test "$(get "$r" green2)" -gt 0 -a "$(get "$r" green1)" -gt 0 -a \
	$(($(get "$r" green1) + $(get "$r" green2))) = "$N"

# --- listeners that exit
stop_listener green1 || not_ok "stop green1"
r=$(connect)
expect_eq "green1 exited: no refused connection, all go to green2 ($r)" "$(get "$r" green2)" "$N"
expect_eq "status: green has 1 listener left" "$(status_field green listeners)" 1
stop_listener green2 || not_ok "stop green2"
r=$(connect)
expect_eq "no green listener left: no refused connection ($r)" "$(get "$r" fail)" 0
check "... the kernel's choice applies (blue listeners answer) ($r)" \
	test $(($(get "$r" blue1) + $(get "$r" blue2))) = "$N"
check "status counts connections left to the kernel" \
	bash -c "'$CGP' --pin-path '$PIN' status --json | grep -q '\"unsteered\": [1-9]'"

# --- dropping the section gives plain reuseport back, and unpins the sub-state
stop_listener blue2 || not_ok "stop blue2"
listener green1 green || not_ok "restart green1"
cgp apply "$(policy 100 0)" >/dev/null || not_ok "apply 100/0 before drop"
r=$(connect)
expect_eq "100/0 with a restarted green listener: all to blue ($r)" "$(get "$r" blue1)" "$N"
write_policy nors.ini >/dev/null <<EOT
[blue]
cgroup = $BLUE

[green]
cgroup = $GREEN
EOT
cgp apply "$TMPD/nors.ini" >/dev/null || not_ok "apply without [reuseport]"
check "a file without [reuseport] unpins the steering sub-state" test ! -e "$PIN/reuseport"
r=$(connect)
check "... and the kernel spreads connections again ($r)" \
	test "$(get "$r" blue1)" -gt 0 -a "$(get "$r" green1)" -gt 0

# --- remove restores plain reuseport
cgp apply "$(policy 0 100)" >/dev/null || not_ok "apply 0/100 before remove"
r=$(connect)
expect_eq "0/100 re-applied: all to green ($r)" "$(get "$r" green1)" "$N"
check "sockops program attached to the backend cgroups" \
	bash -c "bpftool cgroup show '$CGMNT$GREEN' | grep -q cgp_rp_listen"
cgp remove >/dev/null || not_ok "remove"
r=$(connect)
check "after remove the kernel spreads connections again ($r)" \
	test "$(get "$r" blue1)" -gt 0 -a "$(get "$r" green1)" -gt 0 -a "$(get "$r" fail)" = 0
check "after remove no steering program is left on the cgroups" \
	bash -c "! bpftool cgroup show '$CGMNT$GREEN' | grep -q cgp_rp_listen && ! bpftool cgroup show '$CGMNT$BLUE' | grep -q cgp_rp_listen"
check "after remove nothing is pinned" test ! -e "$PIN"

# --- address: only listeners bound to it
sed 's/^port = .*/&\naddress = 127.0.0.1/' "$TMPD/rp.ini" > "$TMPD/addr1.ini"
cgp apply "$TMPD/addr1.ini" >/dev/null || not_ok "apply with address = 127.0.0.1"
r=$(connect)
expect_eq "address = 127.0.0.1, 0/100: all to green ($r)" "$(get "$r" green1)" "$N"
cgp remove >/dev/null
cat > "$TMPD/addr.ini" <<EOT
[blue]
cgroup = $BLUE

[green]
cgroup = $GREEN

[reuseport api]
port = $P
address = 127.0.0.2
backend = blue 100
backend = green 0
EOT
cgp apply "$TMPD/addr.ini" >/dev/null || not_ok "apply with address"
r=$(connect)
check "a service for 127.0.0.2 does not steer listeners on 127.0.0.1 ($r)" \
	test "$(get "$r" blue1)" -gt 0 -a "$(get "$r" green1)" -gt 0
cgp remove >/dev/null

# --- refused configurations change nothing
cat > "$TMPD/udp.ini" <<EOT
[blue]
cgroup = $BLUE

[reuseport dns]
port = $P
proto = udp
backend = blue 1
EOT
out=$(cgp apply "$TMPD/udp.ini" 2>&1); rc=$?
expect_eq "proto = udp is refused with exit 1" "$rc" 1
check "... with FILE:LINE" grep -q "udp.ini:4: \[reuseport dns\]" <<<"$out"
check "dry run shows the steering plan" \
	bash -c "'$CGP' --pin-path '$PIN' apply --dry-run '$TMPD/rp.ini' | grep -q 'would steer \[reuseport api\] tcp any port $P: blue 0, green 100'"

# --- a kernel without listener steering (test hook): the section is refused, the rest applied
nosteer() { CGP_TEST_DISABLE_FEATURES=steering "$CGP" --pin-path "$PIN" "$@"; }
line=$(grep -n '^\[reuseport api\]' "$TMPD/rp.ini" | cut -d: -f1)
out=$(nosteer apply "$TMPD/rp.ini" 2>&1); rc=$?
expect_eq "without steering, apply exits 3 (applied, a section refused)" "$rc" 3
check "... naming FILE:LINE, the section, the feature and the reason" \
	grep -q "rp.ini:$line: \[reuseport api\] refused: listener steering needs the kernel feature 'steering', which this kernel ($(uname -r)) lacks: disabled by CGP_TEST_DISABLE_FEATURES" <<<"$out"
[ $? = 0 ] || echo "$out" | sed 's/^/# /'
check "... the policies of the file are in force" \
	bash -c "'$CGP' --pin-path '$PIN' status --json | python3 -c 'import json,sys; p = json.load(sys.stdin)[\"policies\"]; sys.exit(sorted(x[\"name\"] for x in p) != [\"blue\", \"green\"])'"
check "... nothing of steering is pinned" test ! -e "$PIN/reuseport"
r=$(connect)
check "... the kernel spreads connections ($r)" test "$(get "$r" blue1)" -gt 0 -a "$(get "$r" green1)" -gt 0
out=$(nosteer apply --dry-run "$TMPD/rp.ini" 2>&1); rc=$?
expect_eq "... a dry run exits 3 too" "$rc" 3
check "... and says the section would be refused" grep -q "rp.ini:$line: \[reuseport api\] would be refused" <<<"$out"
cgp apply "$TMPD/rp.ini" >/dev/null; rc=$?
expect_eq "with steering the same file applies (exit 0)" "$rc" 0
r=$(connect)
expect_eq "... and steers: 0/100, all to green ($r)" "$(get "$r" green1)" "$N"
out=$(nosteer apply "$TMPD/rp.ini" 2>&1); rc=$?
expect_eq "refused on a later apply: exit 3" "$rc" 3
check "... the steering in force is removed, not left stale" test ! -e "$PIN/reuseport"
r=$(connect)
check "... the kernel spreads connections again ($r)" test "$(get "$r" blue1)" -gt 0 -a "$(get "$r" green1)" -gt 0
cgp remove >/dev/null

e2e_done
