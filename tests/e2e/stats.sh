#!/usr/bin/env bash
# Per-socket TCP stats: the numbers of `cgpolicy stats --json` against
# `ss -tin` for the same sockets, sockets outside policies never shown,
# closed sockets gone, the agent dumping on schedule.
. "$(dirname "$0")/lib.sh"
e2e_init

APP=$(mkcg app)
OTHER=$(mkcg other)
P1=$(rand_port); P2=$((P1 + 1))
bg_in_cg app socat "TCP4-LISTEN:$P1,bind=127.0.0.1,reuseaddr,fork" EXEC:cat
wait_listen tcp "$P1"
bg_in_cg other socat "TCP6-LISTEN:$P2,bind=[::1],reuseaddr,fork" EXEC:cat
wait_listen tcp "$P2"

POL=$(write_policy stats.ini <<EOT
[agent]
stats_interval = 1
stats_output = $TMPD/agent.jsonl

[app]
cgroup = $APP
allow = out tcp any

[other]
cgroup = $OTHER
stats = no
EOT
)
cgp apply "$POL" >/dev/null || not_ok "apply"

# Clients that move real data, then sit idle so both tools read the same
# numbers, until the file HOLD exists (at most 5 minutes: no fixed lifetime
# that a busy machine could outlast before the checks ran).
cat > "$TMPD/client.py" <<'PY'
import os, socket, sys, time
host, port, n, hold = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
s = socket.create_connection((host, port))
for i in range(n):
    s.sendall(b"x" * 4000)
    got = 0
    while got < 4000:
        got += len(s.recv(65536))
print("ready", s.getsockname()[1], flush=True)
end = time.monotonic() + 300
while not os.path.exists(hold) and time.monotonic() < end:
    time.sleep(0.05)
PY
in_cg app python3 "$TMPD/client.py" 127.0.0.1 "$P1" 200 "$TMPD/end" > "$TMPD/c1" &
PIDS+=($!)
in_cg app python3 "$TMPD/client.py" 127.0.0.1 "$P1" 50 "$TMPD/end-short" > "$TMPD/c2" &
SHORT=$!
PIDS+=($SHORT)
in_cg other python3 "$TMPD/client.py" ::1 "$P2" 20 "$TMPD/end" > "$TMPD/c3" &
PIDS+=($!)
W=${E2E_WAIT_STATS:-30}	# deadline of a wait: only matters when something is broken
check "the three clients moved their data" wait_for "$W" test -s "$TMPD/c1" -a -s "$TMPD/c2" -a -s "$TMPD/c3"
C1=$(awk '{print $2}' "$TMPD/c1"); C2=$(awk '{print $2}' "$TMPD/c2"); C3=$(awk '{print $2}' "$TMPD/c3")

# Compare every socket of the app policy with ss. The two tools read at two
# moments: until the last ACKs have settled (a busy machine delays them) a
# counter may move in between. Both are read again until they agree or W s
# have passed (the result of the last try is reported).
cat > "$TMPD/cmp.py" <<'PY'
import json, re, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
port = int(sys.argv[3])
lines = open(sys.argv[2]).read().split("\n")
ss = {}
i = 0
while i < len(lines):
    l = lines[i]
    m = re.match(r"\S+\s+\d+\s+\d+\s+\[?([^\]\s]*?)\]?:(\d+)\s+\[?([^\]\s]*?)\]?:(\d+)", l)
    if m and i + 1 < len(lines):
        info = lines[i + 1]
        ss[(int(m.group(2)), int(m.group(4)))] = info
        i += 2
    else:
        i += 1
def field(info, name):
    m = re.search(r"\b" + name + r":([0-9.]+)(?:/([0-9.]+))?", info)
    return m.groups() if m else (None, None)
est = [r for r in recs if r["policy"] == "app" and r["state"] == "ESTABLISHED"]
print("established", len(est))
for r in est:
    key = (r["sport"], r["dport"])
    info = ss.get(key)
    if info is None:
        print("FAIL no ss line for", key); continue
    rtt, rttvar = field(info, "rtt")
    checks = {
        "bytes_acked": int(field(info, "bytes_acked")[0] or 0) == r["bytes_acked"],
        "bytes_received": int(field(info, "bytes_received")[0] or 0) == r["bytes_received"],
        "snd_cwnd": int(field(info, "cwnd")[0]) == r["snd_cwnd"],
        "segs_out": int(field(info, "segs_out")[0]) == r["segs_out"],
        "segs_in": int(field(info, "segs_in")[0]) == r["segs_in"],
        "delivered": int(field(info, "delivered")[0] or 0) == r["delivered"],
        # ss prints rtt in ms with 3 decimals: equal within that granularity
        "srtt": abs(float(rtt) * 1000 - r["srtt_us"]) <= 1,
        "rttvar": abs(float(rttvar) * 1000 - r["rttvar_us"]) <= 1,
        "retrans": r["total_retrans"] == int((re.search(r"retrans:\d+/(\d+)", info) or [None, "0"])[1]),
    }
    bad = [k for k, ok in checks.items() if not ok]
    print(("FAIL " if bad else "OK ") + "%d->%d %s" % (key[0], key[1], " ".join(bad)))
PY
compare() {
	cgp stats --json > "$TMPD/stats.json"
	ss -Htin "( sport = :$P1 or dport = :$P1 )" > "$TMPD/ss.txt"
	python3 "$TMPD/cmp.py" "$TMPD/stats.json" "$TMPD/ss.txt" "$P1" > "$TMPD/cmp.txt"
	[ "$(awk '/^established/ {print $2}' "$TMPD/cmp.txt")" = 4 ] && ! grep -q FAIL "$TMPD/cmp.txt"
}
wait_for "$W" compare
est=$(awk '/^established/ {print $2}' "$TMPD/cmp.txt")
expect_eq "stats shows the 4 established sockets of the app policy (2 clients, 2 server sides)" "$est" 4
check "every field agrees with ss -tin ($(grep -c '^OK' "$TMPD/cmp.txt") OK)" \
	bash -c "! grep -q FAIL '$TMPD/cmp.txt' && grep -q '^OK' '$TMPD/cmp.txt'"
grep FAIL "$TMPD/cmp.txt" | sed 's/^/# /'
check "the listener is included with its state" \
	grep -q "\"sport\": $P1, \"daddr\": \"0.0.0.0\", \"dport\": 0, \"state\": \"LISTEN\"" "$TMPD/stats.json"
check "a socket of a stats = no policy never appears" bash -c "! grep -q '\"sport\": $C3,' '$TMPD/stats.json'"
check "JSON carries every field of the contract" python3 -c '
import json, sys
need = "ts_ns policy cgroup_id cookie family saddr sport daddr dport state srtt_us rttvar_us snd_cwnd snd_ssthresh total_retrans bytes_acked bytes_received segs_in segs_out delivered accelerated".split()
recs = [json.loads(l) for l in open(sys.argv[1])]
sys.exit(0 if recs and all(all(k in r for k in need) for r in recs) and len({r["ts_ns"] for r in recs}) == 1 else 1)' "$TMPD/stats.json"
check "--policy filters" bash -c "'$CGP' --pin-path '$PIN' stats --json --policy app | grep -q . && ! '$CGP' --pin-path '$PIN' stats --json --policy app | grep -v '\"policy\": \"app\"' | grep -q ."
expect_eq "--policy of an unknown policy: exit 1" "$("$CGP" --pin-path "$PIN" stats --policy nope >/dev/null 2>&1; echo $?)" 1
check "table output has a header and the client socket" \
	bash -c "'$CGP' --pin-path '$PIN' stats | grep -q '^POLICY' && '$CGP' --pin-path '$PIN' stats | grep -q '127.0.0.1:$C1'"

# A closed socket disappears from the dumps.
touch "$TMPD/end-short"
wait "$SHORT"
check "closed socket is gone from the dump" \
	wait_until "$W" "cgp stats --json > '$TMPD/stats2.json' && ! grep -q '\"sport\": $C2,' '$TMPD/stats2.json'"
check "open socket still there" grep -q "\"sport\": $C1," "$TMPD/stats2.json"

# A socket in another network namespace is found too.
NS="cgpt-st-$$"
ip netns add "$NS" && NETNS+=("$NS")
ip -n "$NS" link set lo up
P3=$((P1 + 2))
bg_in_cg app ip netns exec "$NS" socat "TCP4-LISTEN:$P3,bind=127.0.0.1,reuseaddr,fork" EXEC:cat
wait_for "$W" bash -c "ip netns exec '$NS' ss -Htln 'sport = :$P3' | grep -q ." || echo "# server in $NS did not start" >&2
in_cg app ip netns exec "$NS" python3 "$TMPD/client.py" 127.0.0.1 "$P3" 5 "$TMPD/end" > "$TMPD/c4" &
PIDS+=($!)
wait_for "$W" test -s "$TMPD/c4" || echo "# client in $NS did not connect" >&2
C4=$(awk '{print $2}' "$TMPD/c4")
cgp stats --json > "$TMPD/stats3.json"
check "socket in a container's own network namespace is dumped" grep -q "\"sport\": $C4," "$TMPD/stats3.json"

# The agent dumps on schedule and exits cleanly on SIGTERM.
"$CGP" --pin-path "$PIN" agent "$POL" > "$TMPD/agent.out" 2> "$TMPD/agent.err" &
AGENT=$!
PIDS+=($AGENT)
rounds() { python3 -c 'import json,sys; print(len({json.loads(l)["ts_ns"] for l in open(sys.argv[1]) if l.endswith("\n")}))' "$TMPD/agent.jsonl" 2>/dev/null || echo 0; }
check "agent wrote at least two rounds at a 1 s interval" wait_until "$W" '[ "$(rounds)" -ge 2 ]'
kill -TERM "$AGENT"
wait "$AGENT"
expect_eq "agent exits 0 on SIGTERM" "$?" 0
expect_eq "after the agent exits the policy is still enforced" "$(cgp status --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["policies"]))')" 2

# A write error on the output is reported, not fatal.
BADOUT=$(write_policy badout.ini <<EOT
[agent]
stats_interval = 1
stats_output = /proc/version

[app]
cgroup = $APP
allow = out tcp any
EOT
)
"$CGP" --pin-path "$PIN" agent "$BADOUT" > /dev/null 2> "$TMPD/agent2.err" &
AGENT=$!
PIDS+=($AGENT)
check "the write error is reported" wait_for "$W" grep -q "cannot" "$TMPD/agent2.err"
# it survives it: the next round's error is reported too, by the same agent
check "agent survives an unwritable stats output" wait_until "$W" '[ "$(grep -c cannot "$TMPD/agent2.err")" -ge 2 ] && alive "$AGENT"'
kill -TERM "$AGENT"; wait "$AGENT"

e2e_done
