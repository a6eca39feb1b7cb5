#!/usr/bin/env bash
# `cgpolicy explain` and `status --rules` against real traffic on loopback:
# - exact output and error cases;
# - per-rule hit counters: connections per rule, defaults, dead rules,
#   cleared by the next apply, a changed file said;
# - ICMP types and address sets: exact output (set member, exclusion, a
#   dynamic member added live with its timeout);
# - randomized (seeded, the seed is printed; EXPLAIN_SEED=N repeats a run):
#   random nested policies over 127.0.0.0/8 (address rules, ICMP types, a
#   static set with an exclusion, a dynamic set changed by `set add`) and
#   random TCP, UDP and ICMP echo flows (a raw socket: a denied request is
#   refused at send), each sent for real; the live explanation (the pinned
#   maps) and the file's explanation (the file with the added members) must
#   both give the kernel's verdict.
. "$(dirname "$0")/lib.sh"
e2e_init

SEED=${EXPLAIN_SEED:-$(( (RANDOM << 15) | RANDOM ))}
echo "# seed $SEED (EXPLAIN_SEED=$SEED repeats this run)"

T=$(mkcg t); M=$(mkcg t/m); L=$(mkcg t/m/l)
FREE=$(mkcg free)
P=$(rand_port); Q=$(rand_port)
S1=$P; S2=$((P + 1))			# services of the free servers (out flows)
QL=$Q; QM=$((Q + 1)); QT=$((Q + 2))	# services of the policy cgroups' servers (in flows)
tcp_server free 0.0.0.0 "$S1"
tcp_server free 0.0.0.0 "$S2"
udp_server free 0.0.0.0 "$S1"
S3=$((P + 2))				# an echo server: a connection that stays open
bg_in_cg free socat "TCP4-LISTEN:$S3,bind=0.0.0.0,reuseaddr,fork,backlog=128" SYSTEM:cat
wait_for "$WAIT_SERVER" listening_in_cg tcp "$S3" free || echo "# echo server on $S3 did not start" >&2
tcp_server t/m/l 0.0.0.0 "$QL"
tcp_server t/m 0.0.0.0 "$QM"
tcp_server t 0.0.0.0 "$QT"

# in flows: a client in the free cgroup from source address SRC to the server of port PORT
tcp_get_from() {	# SRC PORT
	fetch "$GET_SECS" in_cg free timeout 10 socat -T2 - "TCP:127.0.0.1:$2,bind=$1,connect-timeout=2" </dev/null
}

jfield() {	# KEY: from the JSON on stdin
	python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"
}

# ---- exact output ----
POL=$(write_policy fixed.ini <<EOT
[top]
cgroup = $T
default_egress = allow
deny = out tcp 127.0.0.0/8 port $S2
allow = out tcp 127.7.0.0/16

[leaf]
cgroup = $L
default_egress = deny
allow = out tcp 127.0.0.0/8
allow = out tcp 127.9.0.0/16 port $S1
deny = out tcp 127.9.0.0/16 port $S1
deny = out tcp 127.0.0.0/8 port $S2
EOT
)
out=$(cgp apply "$POL" 2>&1); rc=$?
expect_eq "apply the fixed policy" "$rc" 0
[ "$rc" = 0 ] || echo "$out" | sed 's/^/# /'
CGL="$CGMNT$L"; CGT="$CGMNT$T"

got=$(cgp explain --cgroup "$L" out tcp 127.9.1.1 "$S1")
want="out tcp 127.9.1.1 port $S1, cgroup $CGL (live, generation 1, $POL)
TCP: the verdict of a connection opened from this cgroup to ADDRESS (egress); its replies pass
  [leaf] cgroup $CGL: deny
      $POL:12  deny = out tcp 127.9.0.0/16 port $S1
      step: deny on a tie with line 11 (same prefix /16, both with ports)
  [top] cgroup $CGT: allow
      step: no rule matches: default_egress = allow
verdict: deny (every policy on the path judges; any deny drops)"
expect_eq "explain (live): exact text, deny on a tie, nested default" "$got" "$want"

got=$(cgp explain --cgroup "$L" out tcp 127.7.1.1 "$S2")
want="out tcp 127.7.1.1 port $S2, cgroup $CGL (live, generation 1, $POL)
TCP: the verdict of a connection opened from this cgroup to ADDRESS (egress); its replies pass
  [leaf] cgroup $CGL: deny
      $POL:13  deny = out tcp 127.0.0.0/8 port $S2
      step: port rule over portless (line 10) at equal prefix /8
  [top] cgroup $CGT: allow
      $POL:5  allow = out tcp 127.7.0.0/16
      step: longest prefix /16 (over /8 of line 4)
verdict: deny (every policy on the path judges; any deny drops)"
expect_eq "explain (live): exact text, port rule over portless, longest prefix" "$got" "$want"

got=$(cgp explain "$POL" --policy leaf out udp 10.0.0.1 53)
want="out udp 10.0.0.1 port 53, policy leaf (as $POL would do)
  [leaf] cgroup $L: deny
      step: no rule matches: default_egress = deny
verdict: deny"
expect_eq "explain FILE --policy: exact text, default" "$got" "$want"

j=$(cgp explain --cgroup "$L" out tcp 127.0.0.5 "$S1" --json)
check "explain --json is valid JSON with verdict allow and 2 policies" python3 -c '
import json, sys
d = json.loads(sys.argv[1])
assert d["verdict"] == "allow" and d["connection"] is True and d["mode"] == "live", d
assert [p["name"] for p in d["policies"]] == ["leaf", "top"], d
assert d["policies"][0]["rule"]["line"] == 10 and d["policies"][0]["step"] == "longest prefix", d
' "$j"

# errors: a clear message, exit 1
err_case() {	# DESCRIPTION PATTERN ARGS...
	local d=$1 pat=$2 out rc
	shift 2
	out=$(cgp explain "$@" 2>&1); rc=$?
	if [ "$rc" = 1 ] && grep -qi -- "$pat" <<<"$out"; then ok "$d"; else not_ok "$d: exit $rc, '$out'"; fi
}
err_case "explain: unknown policy" "no policy named 'nope'" --policy nope out tcp 127.0.0.1 80
err_case "explain FILE: unknown policy" "has no policy named 'nope'" "$POL" --policy nope out tcp 127.0.0.1 80
err_case "explain: unknown cgroup" "unknown cgroup" --cgroup "$L/nope" out tcp 127.0.0.1 80
err_case "explain: bad address" "ADDRESS must be one" --policy leaf out tcp 127.0.0.300 80
err_case "explain: a prefix is not an address" "ADDRESS must be one" --policy leaf out tcp 127.0.0.0/8 80
err_case "explain: bad port" "PORT must be a number" --policy leaf out tcp 127.0.0.1 65536
err_case "explain: tcp needs a port" "need a PORT" --policy leaf out tcp 127.0.0.1
err_case "explain: bad protocol" "PROTO must be" --policy leaf out sctp 127.0.0.1 80
err_case "explain: bad direction" "direction must be" --policy leaf sideways tcp 127.0.0.1 80
err_case "explain: --cgroup or --policy" "needs one of --cgroup" out tcp 127.0.0.1 80
out=$(cgp status --rules --policy nope 2>&1); rc=$?
expect_eq "status --rules --policy nope: exit 1" "$rc" 1
out=$("$CGP" --pin-path "$PIN" status --policy leaf 2>&1); rc=$?
expect_eq "status --policy without --rules: exit 1" "$rc" 1

# ---- hit counters ----
for i in 1 2 3; do
	expect_eq "allowed connection $i from leaf (line 10)" "$(tcp_get t/m/l 127.0.0.5 "$S1")" "hello $S1"
done
expect_eq "denied connection from leaf (line 12, tie)" "$(tcp_get t/m/l 127.9.1.1 "$S1")" ""
hits() {	# POLICY LINE|default-in|default-out DIR : from status --rules --json
	cgp status --rules --policy "$1" --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
p = d["policies"][0]
w = sys.argv[1]
if w.startswith("default-"):
    print(p["default"]["ingress" if w == "default-in" else "egress"]["hits"]); sys.exit(0)
for r in p["rules"]:
    if r["line"] == int(w):
        print(r[sys.argv[2]], "dead" if r["dead"] else "live"); sys.exit(0)
print("missing")' "$2" "${3:-out}"
}
expect_eq "status --rules: line 10 decided 3 connections" "$(hits leaf 10)" "3 live"
expect_eq "status --rules: line 12 decided 1 connection (the SYN retries are not counted)" "$(hits leaf 12)" "1 live"
expect_eq "status --rules: line 11 lost its tie: dead" "$(hits leaf 11)" "0 dead"
expect_eq "status --rules: line 13 never hit: dead" "$(hits leaf 13)" "0 dead"
expect_eq "status --rules: top's default egress decided 4 connections" "$(hits top default-out)" "4"
txt=$(cgp status --rules --policy leaf)
check "status --rules (table): FILE:LINE, text, dead marked" \
	grep -qE "$POL:13  deny = out tcp 127.0.0.0/8 port $S2 +\[dead: never hit since apply\]" <<<"$txt"
# One long connection to an echo server: data both ways is the established fast
# path (not counted); across an apply it is judged again with the same verdict
# (not counted either).
echo_roundtrip() {	# WORD: write it on the connection, read it back
	local w
	echo "$1" >&"${CONN[1]}"
	IFS= read -r -t 20 w <&"${CONN[0]}" && [ "$w" = "$1" ]
}
coproc CONN { in_cg t/m/l socat -T60 - "TCP:127.0.0.5:$S3,connect-timeout=2" 2>/dev/null; }
PIDS+=("$CONN_PID")
check "long connection: first round trip" echo_roundtrip one
for i in $(seq 20); do echo_roundtrip "data $i" || break; done
expect_eq "long connection, 21 round trips: counted once" "$(hits leaf 10)" "4 live"
out=$(cgp apply "$POL" 2>&1)
check "long connection: a round trip after the re-apply" echo_roundtrip after
expect_eq "re-apply of the same file: counting goes on, the connection judged again is not counted" \
	"$(hits leaf 10)" "4 live"
expect_eq "status --rules --json: since_generation 1" "$(cgp status --rules --json | jfield since_generation)" 1
echo "; a comment" >> "$POL"
txt=$(cgp status --rules --policy leaf)
check "status --rules: the file changed since apply is said" grep -q "changed since it was applied" <<<"$txt"
check "status --rules --json: file_changed" test "$(cgp status --rules --json | jfield file_changed)" = True
out=$(cgp apply "$POL" 2>&1)
check "long connection: a round trip after the apply of the changed file" echo_roundtrip changed
expect_eq "apply of a changed file: counters start at 0 (the live connection keeps its verdict)" \
	"$(hits leaf 10)" "0 dead"
expect_eq "status --rules --json: since_generation 3" "$(cgp status --rules --json | jfield since_generation)" 3
exec {CONN[1]}>&-

# ---- a glob policy: a cgroup created after apply is judged by the guard's template ----
G=$(mkcg g); mkcg g/a >/dev/null
GP=$(write_policy glob.ini <<EOT
[web]
cgroup = $G/*
default_egress = deny
allow = out tcp 127.0.0.0/8 port $S1
EOT
)
out=$(cgp apply "$GP" 2>&1); rc=$?
expect_eq "apply the glob policy" "$rc" 0
NEWCG=$(mkcg g/new)	# after apply: not registered, the template judges it
expect_eq "new cgroup under the glob: allowed flow" "$(tcp_get g/new 127.0.0.5 "$S1")" "hello $S1"
expect_eq "new cgroup under the glob: denied flow" "$(tcp_get g/new 127.0.0.5 "$S2")" ""
j=$(cgp explain --cgroup "$NEWCG" out tcp 127.0.0.5 "$S2" --json)
check "explain: the template judges the unregistered cgroup (deny, default)" python3 -c '
import json, sys
d = json.loads(sys.argv[1])
p = d["policies"]
assert d["verdict"] == "deny" and len(p) == 1 and p[0]["template"] is True and p[0]["name"] == "web", d
assert p[0]["rule"] is None and p[0]["step"] == "default", d
' "$j"
check "status --rules: the template counted its decisions (1 by line 4, 1 by the default)" python3 -c '
import json, sys
d = json.loads(sys.argv[1])
t = [p for p in d["policies"] if p["template"]]
assert len(t) == 1, d
assert t[0]["rules"][0]["line"] == 4 and t[0]["rules"][0]["out"] == 1, t
assert t[0]["default"]["egress"]["hits"] == 1, t
' "$(cgp status --rules --policy web --json)"

# ---- ICMP types and address sets: exact output ----
# icmp_real CG ADDR TYPE: the kernel's verdict of an ICMP request from CG (raw
# socket, icmp.py): allow when its sends pass, deny when they are refused (EPERM)
icmp_real() {
	local out
	out=$(in_cg "$1" timeout 30 python3 "$E2E_HELPERS/icmp.py" "$2" "$3" 0 0.5 0.1 2>&1 | tail -n 1)
	case "$out" in
	"sent=0 errors="[1-9]*) echo deny ;;
	sent=[1-9]*" errors=0 "*) echo allow ;;
	*) echo "unknown ($out)" ;;
	esac
}
SP=$(write_policy sets.ini <<EOT
[set office]
address = 127.1.0.0/16
address = !127.1.99.0/24
[set block]
dynamic = yes
address = 127.5.0.0/16

[leaf]
cgroup = $L
default_egress = deny
allow = out tcp @office port $S1
deny = out any @block
allow = out tcp 127.0.0.0/8
allow = out icmp any type echo-request
deny = out icmp 127.1.0.0/16 type 8
allow = out icmp @office
EOT
)
out=$(cgp apply "$SP" 2>&1); rc=$?
expect_eq "apply the sets/ICMP policy" "$rc" 0
[ "$rc" = 0 ] || echo "$out" | sed 's/^/# /'
GEN=$(cgp status --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["generation"])' 2>/dev/null)
got=$(cgp explain --cgroup "$L" out tcp 127.1.2.3 "$S1" | grep -v '^  \[top\]\|^      step: no rule matches: default_egress = allow$')
want="out tcp 127.1.2.3 port $S1, cgroup $CGL (live, generation $GEN, $SP)
TCP: the verdict of a connection opened from this cgroup to ADDRESS (egress); its replies pass
  [leaf] cgroup $CGL: allow
      $SP:11  allow = out tcp @office port $S1
      set @office: member 127.1.0.0/16 (static, line 2)
      step: set member /16 (over /8 of line 13)
verdict: allow"
expect_eq "explain (live): set member, exact text" "$got" "$want"
got=$(cgp explain --cgroup "$L" out icmp 127.1.99.7 type echo-reply | grep -E '^(out|      )')
want="out icmp 127.1.99.7 type echo-reply (0 code 0), cgroup $CGL (live, generation $GEN, $SP)
      step: excluded from set @office by !127.1.99.0/24 (line 16 does not apply); then no rule matches: default_egress = deny"
expect_eq "explain (live): ICMP type named, excluded from set, exact text" "$got" "$want"
got=$(cgp explain "$SP" --policy leaf out icmp ::1 type 128 | grep -E '^(out|      )')
want="out icmpv6 ::1 type echo-request (128 code 0), policy leaf (as $SP would do)
      $SP:14  allow = out icmp any type echo-request
      step: longest prefix /0"
expect_eq "explain FILE: ICMPv6 type number named, exact text" "$got" "$want"
expect_eq "ICMP echo to 127.1.2.3 refused (line 15, port rule over portless)" "$(icmp_real t/m/l 127.1.2.3 8)" deny
expect_eq "explain agrees: deny by line 15" \
	"$(cgp explain --cgroup "$L" out icmp 127.1.2.3 type echo-request --json | python3 -c '
import json, sys
p = json.load(sys.stdin)["policies"][0]
print(p["verdict"], p["rule"]["line"], p["step"])')" "deny 15 port rule over portless"
expect_eq "ICMP echo to 127.2.0.1 passes (line 14)" "$(icmp_real t/m/l 127.2.0.1 8)" allow
expect_eq "ICMPv6 echo to ::1 passes (line 14)" "$(icmp_real t/m/l ::1 128)" allow
expect_eq "ICMP echo-reply to 127.1.2.3 passes (member of @office, line 16)" "$(icmp_real t/m/l 127.1.2.3 0)" allow
expect_eq "ICMP echo-reply to 127.1.99.7 refused (excluded from @office)" "$(icmp_real t/m/l 127.1.99.7 0)" deny
expect_eq "connection to 127.6.0.1 allowed before the set add" "$(tcp_get t/m/l 127.6.0.1 "$S1")" "hello $S1"
out=$(cgp set add block 127.6.0.0/24 timeout 600 2>&1); rc=$?
expect_eq "set add block 127.6.0.0/24 timeout 600" "$rc" 0
expect_eq "connection to 127.6.0.1 denied after the set add" "$(tcp_get t/m/l 127.6.0.1 "$S1")" ""
j=$(cgp explain --cgroup "$L" out tcp 127.6.0.1 "$S1" --json)
check "explain (live): the dynamic member added live, with its timeout left" python3 -c '
import json, sys
p = json.loads(sys.argv[1])["policies"][0]
s = p["set"]
assert p["verdict"] == "deny" and p["rule"]["line"] == 12 and p["step"] == "set member", p
assert s["name"] == "block" and s["dynamic"] and s["member"] == "127.6.0.0/24" and s["line"] == 0, s
assert 500 < s["expires_in"] <= 600, s
' "$j"
txt=$(cgp explain --cgroup "$L" out tcp 127.6.0.1 "$S1")
check "explain (live, text): the dynamic member is live with its timeout" \
	grep -qE "set @block: member 127.6.0.0/24 \(dynamic, live, added by cgpolicy set add, expires in [0-9]+s\)" <<<"$txt"
expect_eq "explain FILE: the file's initial content does not have it (allow)" \
	"$(cgp explain "$SP" --cgroup "$L" out tcp 127.6.0.1 "$S1" --json | jfield verdict)" allow
check "status --json: the sets in force, members counted live (block: 1 from the file + 1 added)" python3 -c '
import json, sys
s = json.loads(sys.argv[1])["sets"]
assert s == [{"name": "block", "id": s[0]["id"], "dynamic": True, "members": 2, "exclusions": 0},
             {"name": "office", "id": s[1]["id"], "dynamic": False, "members": 1, "exclusions": 1}], s
' "$(cgp status --json)"
txt=$(cgp status)
check "status: a line per set (name, kind, members, exclusions)" \
	bash -c 'grep -qE "^block +dynamic +2 +0$" <<<"$0" && grep -qE "^office +static +1 +1$" <<<"$0"' "$txt"
check "status --rules: set rules listed with their @NAME text and counted" python3 -c '
import json, sys
rules = {r["line"]: r for r in json.loads(sys.argv[1])["policies"][0]["rules"]}
assert rules[12]["text"] == "deny = out any @block" and rules[12]["out"] >= 1 and not rules[12]["dead"], rules[12]
assert rules[16]["text"] == "allow = out icmp @office" and rules[16]["out"] >= 1, rules[16]
assert rules[15]["out"] >= 1 and rules[11]["text"].startswith("allow = out tcp @office"), rules
' "$(cgp status --rules --policy leaf --json)"
txt=$(cgp status --rules --policy leaf)
check "status --rules (table): the set rule's FILE:LINE and text" grep -qE "^ +- +[1-9][0-9]* +$SP:12  deny = out any @block$" <<<"$txt"
out=$(cgp set del block 127.6.0.0/24 2>&1)
# a timed member: denied while it lasts; once expired the kernel skips it (still in the map:
# no set command deletes it meanwhile), and so does explain
expect_eq "set add block 127.6.1.0/24 timeout 2" "$(cgp set add block 127.6.1.0/24 timeout 2 >/dev/null 2>&1; echo $?)" 0
j=$(cgp explain --cgroup "$L" out tcp 127.6.1.1 "$S1" --json)
check "explain (live): the timed member, 2 s at most left" python3 -c '
import json, sys
p = json.loads(sys.argv[1])["policies"][0]
assert p["verdict"] == "deny" and p["set"]["member"] == "127.6.1.0/24" and 0 <= p["set"]["expires_in"] <= 2, p
' "$j"
expired_allow() {
	[ "$(cgp explain --cgroup "$L" out tcp 127.6.1.1 "$S1" --json | jfield verdict)" = allow ]
}
check "explain (live): allow once the member expired" wait_for 20 expired_allow
j=$(cgp explain --cgroup "$L" out tcp 127.6.1.1 "$S1" --json)
check "explain (live): the expired member skipped, as the kernel does (expired_skipped 1, line 13)" python3 -c '
import json, sys
p = json.loads(sys.argv[1])["policies"][0]
assert p["expired_skipped"] == 1 and p["rule"]["line"] == 13 and "set" not in p, p
' "$j"
check "explain (live, text): says the expired member was skipped" \
	grep -q "set @block: 1 expired member skipped" <<<"$(cgp explain --cgroup "$L" out tcp 127.6.1.1 "$S1")"
expect_eq "connection to 127.6.1.1 allowed again: the kernel skips the expired member" \
	"$(tcp_get t/m/l 127.6.1.1 "$S1")" "hello $S1"
err_case "explain: unknown ICMP type" "unknown ICMP type" --policy leaf out icmp 127.0.0.1 type nope
err_case "explain: an ICMP type of the other family" "does not exist in the family" --policy leaf out icmp 127.0.0.1 type packet-too-big
err_case "explain: ICMP type out of range" "ICMP type must be 0..255" --policy leaf out icmp 127.0.0.1 type 256
err_case "explain: ICMP code out of range" "ICMP code must be 0..255" --policy leaf out icmp 127.0.0.1 type 3 code x

# ---- randomized: explanation (live and FILE) = kernel ----
gen_round() {	# ROUND: prints the policy file, then "FLOW cg dir addr port" lines
	python3 - "$SEED" "$1" "$T" "$M" "$L" "$S1" "$S2" "$QL" "$QM" "$QT" <<'EOF'
import random, sys
seed, rnd, T, M, L = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
S1, S2, QL, QM, QT = (int(x) for x in sys.argv[6:11])
r = random.Random(seed * 1000 + rnd)
prefixes = ["127.0.0.0/8", "127.1.0.0/16", "127.1.2.0/24", "127.1.2.3", "127.2.0.0/16", "any", "127.1.128.0/17",
            "@s1", "@s1", "@dyn", "@dyn"]
addrs = ["127.1.2.3", "127.1.2.9", "127.1.200.1", "127.2.3.4", "127.3.3.3", "127.0.0.1"]
types = ["echo-request", "echo-request", "8", "echo-reply", "destination-unreachable", "timestamp-request"]
ports = [str(S1), str(S2), "%d-%d" % (S1, S2), str(QL), str(QM), str(QT), "%d-%d" % (QL, QT)]
cgs = {"t": T, "m": M, "l": L}
out = []
# a static set with an exclusion, a dynamic set (its file members, "; dynadd": where
# the members `set add` adds go in the file given to explain FILE)
out += ["[set s1]", "address = 127.1.0.0/16", "address = !127.1.2.0/24", "address = 127.2.3.4", "address = ::1", "",
        "[set dyn]", "dynamic = yes", "address = 127.3.0.0/16", "; dynadd", ""]
# the top always has a policy; the others maybe
for name in ["t"] + [n for n in ("m", "l") if r.random() < 0.75]:
    out.append("[p%s]" % name)
    out.append("cgroup = %s" % cgs[name])
    out.append("default_ingress = %s" % r.choice(["allow", "allow", "deny"]))
    out.append("default_egress = %s" % r.choice(["allow", "allow", "deny"]))
    for _ in range(r.randint(1, 6)):
        proto = r.choice(["tcp", "tcp", "tcp", "udp", "any", "icmp", "icmp"])
        pfx = r.choice(prefixes + (["::1"] if proto in ("icmp", "any") else []))
        rule = "%s = %s %s %s" % (r.choice(["allow", "deny"]), r.choice(["in", "out", "in", "out"]), proto, pfx)
        if proto == "icmp":
            if r.random() < 0.7:
                rule += " type " + r.choice(types if pfx != "::1" else ["echo-request", "128", "echo-reply"])
        elif proto != "any" and r.random() < 0.6:
            rule += " port " + r.choice(ports)
        out.append(rule)
    out.append("")
print("\n".join(out))
# members added live to @dyn after apply (deleted after the round)
for a in r.sample(addrs + ["127.1.2.0/24"], r.randint(0, 2)):
    print("SETADD %s" % a)
for _ in range(12):
    cg = r.choice(["t", "m", "l"])
    x = r.random()
    if x < 0.25:	# icmp echo from a raw socket: its egress verdict (a refused send)
        print("FLOW %s out %s echo-request icmp" % (cg, r.choice(addrs + ["::1"])))
    elif x < 0.4:	# udp: the echo server answers from 127.0.0.1, so only that address
        print("FLOW %s out 127.0.0.1 %d udp" % (cg, S1))
    elif x < 0.6:
        print("FLOW %s out %s %d tcp" % (cg, r.choice(addrs), r.choice([S1, S2])))
    else:
        print("FLOW %s in %s %d tcp" % (cg, r.choice(addrs), {"t": QT, "m": QM, "l": QL}[cg]))
EOF
}
declare -A CGREL=([t]=t [m]=t/m [l]=t/m/l)
declare -A CGPATH=([t]=$T [m]=$M [l]=$L)
nflows=0; agree=0; steps=""
for round in 1 2 3; do
	gen_round "$round" > "$TMPD/round.txt"
	RP=$(grep -v '^FLOW\|^SETADD' "$TMPD/round.txt" | write_policy "round$round.ini")
	out=$(cgp apply "$RP" 2>&1); rc=$?
	if [ "$rc" != 0 ]; then
		not_ok "round $round: apply failed: $out"
		continue
	fi
	# members added live; the file for explain FILE gets them as file members
	added=()
	while read -r _ a; do
		if cgp set add dyn "$a" timeout 3600 >/dev/null 2>&1; then
			added+=("$a")
		else
			not_ok "round $round: set add dyn $a failed"
		fi
	done < <(grep '^SETADD' "$TMPD/round.txt")
	RPF=$RP
	if [ "${#added[@]}" -gt 0 ]; then
		RPF=$(grep -v '^FLOW\|^SETADD' "$TMPD/round.txt" |
		      sed "s|^; dynadd\$|$(printf 'address = %s\\n' "${added[@]}")|" | write_policy "round$round-file.ini")
		echo "# round $round: set add dyn ${added[*]}"
	fi
	while read -r _ cg dir addr port proto; do
		nflows=$((nflows + 1))
		if [ "$proto" = icmp ]; then
			args=("$dir" icmp "$addr" type "$port")
		else
			args=("$dir" "$proto" "$addr" "$port")
		fi
		lj=$(cgp explain --cgroup "${CGPATH[$cg]}" "${args[@]}" --json)
		live=$(jfield verdict <<<"$lj")
		steps+=" $(python3 -c 'import json, sys; print(" ".join(p.get("step", "-").replace(" ", "_") for p in json.load(sys.stdin)["policies"]))' <<<"$lj")"
		file=$(cgp explain "$RPF" --cgroup "${CGPATH[$cg]}" "${args[@]}" --json | jfield verdict)
		if [ "$proto" = icmp ]; then
			case "$addr" in *:*) t=128 ;; *) t=8 ;; esac
			real=$(icmp_real "${CGREL[$cg]}" "$addr" "$t")
			ans="hello $port"; [ "$real" = allow ] || ans=""
			case "$real" in unknown*) ans="$real" ;; esac
		elif [ "$proto" = udp ]; then
			# allowed: retried until an answer; denied: 1 s of datagrams, none answered
			if [ "$live" = allow ]; then
				ans=$(udp_get "${CGREL[$cg]}" "$addr" "$port")
			else
				u=$(udp_try "${CGREL[$cg]}" "$addr" "$port" 1)
				case "$u" in *answers=0*) ans="" ;; *) ans="hello $port" ;; esac
			fi
		elif [ "$dir" = out ]; then
			ans=$(tcp_get "${CGREL[$cg]}" "$addr" "$port")
		else
			ans=$(tcp_get_from "$addr" "$port")
		fi
		case "$ans" in
		"hello $port") real=allow ;;
		"") real=deny ;;
		*) real="unknown ($ans)" ;;
		esac
		if [ "$live" = "$real" ] && [ "$file" = "$real" ]; then
			agree=$((agree + 1))
			ok "round $round: $cg $dir $proto $addr $port: kernel $real = explain live = explain FILE"
		else
			not_ok "round $round: $cg $dir $proto $addr $port: kernel $real, explain live $live, FILE $file (seed $SEED)"
			sed 's/^/# /' "$RPF"
			cgp explain --cgroup "${CGPATH[$cg]}" "${args[@]}" | sed 's/^/# /'
		fi
	done < <(grep '^FLOW' "$TMPD/round.txt")
	for a in "${added[@]}"; do
		cgp set del dyn "$a" >/dev/null 2>&1 || not_ok "round $round: set del dyn $a failed"
	done
done
echo "# $agree of $nflows random flows: explanation = kernel (seed $SEED)"
echo "# deciding steps seen (per policy judging):$(tr ' ' '\n' <<<"$steps" | grep . | sort | uniq -c | awk '{printf " %s x%s", $2, $1}')"

e2e_done
