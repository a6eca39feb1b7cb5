#!/usr/bin/env bash
# End-to-end at scale (issue 17): the random-port rule files of
# `bench/genrules.py --random-ports` (random CIDRs, one random port each:
# thousands of distinct ports) at 10,000 and 100,000 rules apply and are
# enforced. Real TCP from the policed cgroup to the last random rule that
# allows (its address and port: connects) and to its neighbours (the next
# port; the last deny rule's address and port: refused), plus a wide range
# (port 1024-65535, the port classes' wide layer) over all those ports. The
# addresses are the rules' own, on the loopback of a network namespace this
# test creates. Also checks `status --json`'s "memory" and prints it.
. "$(dirname "$0")/lib.sh"
e2e_init

command -v python3 >/dev/null || skip_all "python3 needed (bench/genrules.py)"
command -v socat >/dev/null || skip_all "socat needed"
GEN="$(cd "$(dirname "$0")/../.." && pwd)/bench/genrules.py"
CLI=$(mkcg cli)
NS="cgpt-sc-$$"
ip netns add "$NS" && NETNS+=("$NS")
ip -n "$NS" link set lo up
W=198.18.200.1		# the wide rule's address: genrules keeps 198.18/15 out of its rules

# A host of the last allow and of the last deny rule with a single port: "A P D Q".
targets() {
	python3 - "$1" <<'EOF'
import ipaddress, re, sys
last = {}
for line in open(sys.argv[1]):
    m = re.match(r"(allow|deny) = out tcp (\S+) port (\d+)$", line.strip())
    if m:
        last[m.group(1)] = (ipaddress.ip_network(m.group(2)), int(m.group(3)))
out = []
for v in ("allow", "deny"):
    net, port = last[v]
    host = net.network_address + (1 if net.prefixlen < 32 else 0)
    out += [str(host), str(port)]
print(" ".join(out))
EOF
}

serve() {	# ADDR PORT: a greeter inside the namespace (not policed)
	ip netns exec "$NS" socat "TCP4-LISTEN:$2,bind=$1,reuseaddr,fork,backlog=128" SYSTEM:"echo hello $2" \
		>>"$TMPD/bg.log" 2>&1 &
	PIDS+=($!)
	wait_for "$WAIT_SERVER" bash -c "ip netns exec '$NS' ss -Htln 'src $1 and sport = :$2' | grep -q ." ||
		echo "# server on $1 port $2 did not start" >&2
}

get() {		# ADDR PORT: from the policed cgroup, inside the namespace (see fetch)
	fetch "$GET_SECS" in_cg cli ip netns exec "$NS" timeout 10 socat -T2 - \
		"TCP:$1:$2,connect-timeout=2" </dev/null
}

mem_of() {	# JSON KEY: bytes of maps[KEY] in status --json's memory, or the total
	python3 -c 'import json, sys
m = json.load(open(sys.argv[1]))["memory"]
print(m["total_bytes"] if sys.argv[2] == "total" else m["maps"][sys.argv[2]])' "$1" "$2"
}

for N in 10000 100000; do
	D="$TMPD/r$N"
	mkdir -p "$D"
	# N - 1 rules from genrules, then the wide one: N in all (100,000 is the limit)
	python3 "$GEN" "$D" $((N - 1)) 17 "$CLI" --random-ports
	echo "allow = out tcp $W/32 port 1024-65535" >> "$D/cgp.ini"
	read -r A P DN DP < <(targets "$D/cgp.ini")
	NP=$((P < 65535 ? P + 1 : P - 1))
	echo "# $N rules: last allow $A port $P, last deny $DN port $DP"
	for a in "$A" "$DN" "$W"; do
		ip -n "$NS" addr add "$a/32" dev lo 2>/dev/null
	done
	serve "$A" "$P"
	serve "$A" "$NP"
	serve "$DN" "$DP"
	serve "$W" "$P"
	serve "$W" 80
	t0=$(date +%s%N)
	out=$(cgp apply "$D/cgp.ini" 2>&1)
	rc=$?
	t1=$(date +%s%N)
	expect_eq "$N random-port rules: apply succeeds${out:+ ($out)}" "$rc" 0
	echo "# $N rules: apply $(( (t1 - t0) / 1000000 )) ms (parse, compile, write, switch)"
	expect_eq "$N rules: the last allow rule's address and port connect" "$(get "$A" "$P")" "hello $P"
	expect_eq "$N rules: its next port is refused (default deny)" "$(get "$A" "$NP")" ""
	expect_eq "$N rules: the last deny rule's address and port are refused" "$(get "$DN" "$DP")" ""
	expect_eq "$N rules: a wide range over every port class connects" "$(get "$W" "$P")" "hello $P"
	expect_eq "$N rules: the wide range's address below 1024 is refused" "$(get "$W" 80)" ""
	cgp status --json > "$D/status.json"
	tot=$(mem_of "$D/status.json" total 2>/dev/null)
	rl=$(mem_of "$D/status.json" rules.live 2>/dev/null)
	pl=$(mem_of "$D/status.json" ports.live 2>/dev/null)
	check "$N rules: status --json reports the maps' memory" test "${rl:-0}" -gt 0 -a "${tot:-0}" -gt "${rl:-0}"
	echo "# $N rules: memory (memlock): rule trie ${rl:-?} B, port trie ${pl:-?} B, all maps ${tot:-?} B"
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	PIDS=()
done
e2e_done
