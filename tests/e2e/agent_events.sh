#!/usr/bin/env bash
# The agent, part 2: least privilege (CapEff read from /proc/PID/status, the
# policy file's ownership and mode), deny events as JSON lines with the right
# tuple and rule line, audit mode (drops nothing, counts and logs), the
# Prometheus metrics file, the per-generation diff line.
. "$(dirname "$0")/lib.sh"
e2e_init

SRV=$(mkcg srv)
CLI=$(mkcg cli)
AUD=$(mkcg aud)
P1=$(rand_port); P2=$((P1 + 1)); P3=$((P1 + 2))
tcp_server srv 127.0.0.1 "$P1"
tcp_server srv 127.0.0.1 "$P2"
udp_server srv 127.0.0.1 "$P3"
LOG=$TMPD/agent.log
EV=$TMPD/events.jsonl
PROM=$TMPD/cgpolicy.prom

POL=$(write_policy policy.ini <<EOT
[agent]
stats_interval = 0
events_output = $EV
metrics_file = $PROM

[cli]
cgroup = $CLI
default_egress = deny
allow = out tcp 127.0.0.1 port $P1
deny = out udp 127.0.0.1 port $P3
log = deny

[aud]
cgroup = $AUD
default_egress = deny
allow = out tcp 127.0.0.1 port $P1
log = deny
mode = audit
EOT
)

# --- file ownership and mode (StrictModes) ---
cp "$POL" "$TMPD/gw.ini"; chmod 664 "$TMPD/gw.ini"
out=$("$CGP" --pin-path "$PIN" apply "$TMPD/gw.ini" 2>&1); rc=$?
expect_eq "apply of a group-writable file: exit 1" "$rc" 1
check "group-writable: clear message" grep -q "refused: writable by its group (mode 0664); chmod go-w" <<<"$out"
check "group-writable: nothing pinned" test ! -e "$PIN/maps/state"
chmod 646 "$TMPD/gw.ini"
check "world-writable file refused" bash -c "'$CGP' --pin-path '$PIN' apply '$TMPD/gw.ini' 2>&1 | grep -q 'writable by everyone'"
chmod 644 "$TMPD/gw.ini"; chown nobody "$TMPD/gw.ini"
check "file owned by another user refused" bash -c "'$CGP' --pin-path '$PIN' apply '$TMPD/gw.ini' 2>&1 | grep -q 'must be owned by root'"
check "agent refuses it too" bash -c "'$CGP' --pin-path '$PIN' agent '$TMPD/gw.ini' 2>&1 | grep -q 'must be owned by root'"
check "check (read-only) still validates it" bash -c "'$CGP' check '$TMPD/gw.ini' >/dev/null"

# --- agent, capabilities ---
check "agent starts" start_agent "$POL" "$LOG"
capeff=$(awk '/^CapEff/ {print $2}' "/proc/$AGENT/status")
capbnd=$(awk '/^CapBnd/ {print $2}' "/proc/$AGENT/status")
# CAP_NET_ADMIN (12) + CAP_BPF (39); stats_interval = 0 so no CAP_SYS_ADMIN
expect_eq "CapEff is exactly CAP_BPF + CAP_NET_ADMIN" "$capeff" "0000008000001000"
expect_eq "bounding set dropped too" "$capbnd" "0000008000001000"
expect_eq "no_new_privs set" "$(awk '/^NoNewPrivs/ {print $2}' "/proc/$AGENT/status")" 1
check "pin dir is 0700" test "$(stat -c %a "$PIN")" = 700
check "generation diff line logged" grep -Eq "^generation 1: 2 added, 0 removed, 0 changed, 0 unchanged .*rules 0 -> 3 \(\+3\)" "$LOG"

# --- reload still works with the reduced set: a new cgroup is attached ---
NEW=$(mkcg new)
cat >> "$POL" <<EOT

[new]
cgroup = $NEW
default_egress = deny
EOT
check "after dropping capabilities: reload attaches a new cgroup" wait_for 2 bash -c "'$CGP' --pin-path '$PIN' status --json | grep -q '\"name\": \"new\"'"
check "diff line of the reload" wait_for 1 grep -Eq "^generation 2: 1 added, 0 removed, 0 changed, 2 unchanged" "$LOG"
check "new cgroup enforced" test -z "$(tcp_get new 127.0.0.1 "$P1")"

# --- deny events ---
expect_eq "allowed port works" "$(tcp_get cli 127.0.0.1 "$P1")" "hello $P1"
expect_eq "denied port refused" "$(tcp_get cli 127.0.0.1 "$P2")" ""
udp_get cli 127.0.0.1 "$P3" >/dev/null
check "deny events written" wait_for 2 test -s "$EV"
sleep 0.3
python3 - "$EV" "$P2" "$P3" "$CGROOT/cli" "$(stat -c %i "$CGROOT/cli")" > "$TMPD/ev.txt" <<'PY'
import json, sys
evs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
p2, p3, cg, cgid = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
tcp = [e for e in evs if e["proto"] == "tcp" and e["dport"] == p2]
udp = [e for e in evs if e["proto"] == "udp" and e["dport"] == p3]
print("tcp", len(tcp) > 0 and all(e["event"] == "deny" and e["policy"] == "cli" and e["saddr"] == "127.0.0.1"
      and e["daddr"] == "127.0.0.1" and e["direction"] == "out" and e["rule_line"] == 0 and e["rule"] == "default"
      and e["cgroup_id"] == cgid and e["policy_cgroup"] == cg and not e["audit"] for e in tcp))
print("udp", len(udp) > 0 and all(e["rule_line"] == 10 and e["rule"] == "rule" and e["sport"] > 0 for e in udp))
print("allowed", not any(e["proto"] == "tcp" and e["dport"] == p2 - 1 for e in evs))
PY
check "TCP deny event: JSON with tuple, direction, cgroup, default verdict (line 0)" grep -qx "tcp True" "$TMPD/ev.txt"
check "UDP deny event: names the deny rule's line (10)" grep -qx "udp True" "$TMPD/ev.txt"
check "no event for allowed traffic" grep -qx "allowed True" "$TMPD/ev.txt"

# rate limit: 100/s per slot with a burst of 100
n0=$(wc -l < "$EV")
in_cg cli python3 -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(3000):
    try: s.sendto(b'x', ('127.0.0.1', $P3))
    except OSError: pass
"
sleep 0.5
n1=$(wc -l < "$EV")
check "3000 denied datagrams: events rate-limited in the kernel ($((n1 - n0)) events)" test $((n1 - n0)) -ge 50 -a $((n1 - n0)) -le 200

# --- audit mode ---
expect_eq "audit: a would-be-denied port passes" "$(tcp_get aud 127.0.0.1 "$P2")" "hello $P2"
check "audit: an audit_deny event for it" wait_for 2 grep -q "\"event\": \"audit_deny\", \"policy\": \"aud\".*\"dport\": $P2, .*\"audit\": true" "$EV"
st=$("$CGP" --pin-path "$PIN" status --json)
check "audit: status says audit true and counts would-be denies" python3 -c '
import json, sys
p = [p for p in json.loads(sys.argv[1])["policies"] if p["name"] == "aud"][0]
sys.exit(0 if p["audit"] is True and p["counters"]["egress"]["denied_packets"] > 0 and p["log"] == "deny" else 1)' "$st"
check "enforce-mode policy: audit false" python3 -c '
import json, sys
p = [p for p in json.loads(sys.argv[1])["policies"] if p["name"] == "cli"][0]
sys.exit(0 if p["audit"] is False else 1)' "$st"

# --- metrics file ---
kill -HUP "$AGENT"	# an apply rewrites the metrics file at once
check "metrics file written" wait_for 2 grep -q "^cgpolicy_packets_total" "$PROM"
check "metrics: per-policy counters with labels" grep -Eq "^cgpolicy_packets_total\{policy=\"cli\",cgroup=\"$CGROOT/cli\",direction=\"egress\",verdict=\"denied\"\} [1-9]" "$PROM"
check "metrics: audit policy marked" grep -q "cgpolicy_policy_info{policy=\"aud\",.*audit=\"true\"" "$PROM"
check "metrics: TYPE lines" grep -q "^# TYPE cgpolicy_bytes_total counter" "$PROM"
check "metrics: no temporary file left" test ! -e "$PROM.tmp"

kill -TERM "$AGENT"; wait "$AGENT" 2>/dev/null
expect_eq "SIGTERM: exit 0" "$?" 0
e2e_done
