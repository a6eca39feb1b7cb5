#!/usr/bin/env bash
# Hostile input through the real binary: every bad file makes
# `cgpolicy apply` exit 1 with FILE:LINE (FILE: when no line applies), and the
# policy applied before stays exactly in force: same generation, same
# policies in `status --json`, same traffic verdicts.
. "$(dirname "$0")/lib.sh"
e2e_init

SRV=$(mkcg srv)
CLI=$(mkcg cli)
P1=$(rand_port); P2=$((P1 + 1))
tcp_server srv 127.0.0.1 "$P1"
tcp_server srv 127.0.0.1 "$P2"

GOOD=$(write_policy good.ini <<EOT
[srv]
cgroup = $SRV

[cli]
cgroup = $CLI
default_egress = deny
allow = out tcp 127.0.0.1 port $P1
EOT
)
cgp apply "$GOOD" >/dev/null || { not_ok "baseline apply"; e2e_done; exit 1; }

# What must never change: generation, and the policies without their counters.
snapshot() {
	cgp status --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
for p in d["policies"]:
    p.pop("counters", None)
print(d["generation"], json.dumps(d["policies"], sort_keys=True))'
}
gen() { cgp status --json | grep -o '"generation": [0-9]*'; }
traffic() { echo "$(tcp_get cli 127.0.0.1 "$P1")|$(tcp_get cli 127.0.0.1 "$P2")"; }

SNAP0=$(snapshot)
GEN0=$(gen)
T0=$(traffic)
expect_eq "baseline: allowed port answers, denied port does not" "$T0" "hello $P1|"

# bad FILE WANT_PREFIX DESCRIPTION: exit 1, stderr starts with WANT_PREFIX,
# same generation (the policies and traffic are compared once at the end).
bad() {
	local f=$1 want=$2 d=$3 out rc
	out=$(timeout 20 "$CGP" --pin-path "$PIN" apply "$f" 2>&1 >/dev/null); rc=$?
	if [ "$rc" != 1 ]; then
		not_ok "$d: exit $rc, want 1 ($out)"
	elif [ "${out#"$want"}" = "$out" ]; then
		not_ok "$d: message '$out' does not start with '$want'"
	elif [ "$(gen)" != "$GEN0" ]; then
		not_ok "$d: the generation changed"
	else
		ok "$d: exit 1, ${out:0:110}"
	fi
}

# bad_text NAME LINE DESCRIPTION < content: FILE:LINE: prefix
bad_text() {
	local f
	f=$(write_policy "$1")
	bad "$f" "$f:$2: " "$3"
}

HDR="[cli]
cgroup = $CLI"

bad_text v4.ini 3 "bad IPv4 address" <<<"$HDR
allow = out tcp 10.0.0.256 port 80"
bad_text v4p.ini 3 "IPv4 prefix /33" <<<"$HDR
allow = out tcp 10.0.0.0/33"
bad_text v6.ini 4 "bad IPv6 address" <<<"$HDR
allow = out tcp ::1 port $P1
allow = out tcp 2001:db8:::1"
bad_text v6p.ini 3 "IPv6 prefix /129" <<<"$HDR
deny = in udp fd00::/129"
bad_text port0.ini 3 "port 0" <<<"$HDR
allow = out tcp any port 0"
bad_text port65536.ini 3 "port 65536" <<<"$HDR
allow = out tcp any port 65536"
bad_text portrev.ini 3 "reversed port range" <<<"$HDR
allow = out tcp any port 2000-1000"
bad_text porticmp.ini 3 "ports with icmp" <<<"$HDR
allow = out icmp any port 1"
bad_text portany.ini 3 "ports with any" <<<"$HDR
allow = out any any port 1"
bad_text key.ini 3 "unknown key" <<<"$HDR
default_ingres = deny"
bad_text direction.ini 3 "unknown direction" <<<"$HDR
allow = outbound tcp any"
bad_text proto.ini 3 "unknown protocol" <<<"$HDR
allow = out sctp any"
bad_text bool.ini 3 "bad boolean" <<<"$HDR
accelerate = maybe"
bad_text verdict.ini 3 "bad verdict" <<<"$HDR
default_egress = reject"
bad_text dup.ini 3 "duplicate section" <<<"$HDR
[cli]
cgroup = /x"
bad_text notini.ini 3 "a line that is not INI" <<<"$HDR
this is not ini"
bad_text section.ini 3 "bad section name" <<<"$HDR
[bad name]"
bad_text agentkey.ini 2 "unknown [agent] key" <<<"[agent]
pin_path_x = /sys/fs/bpf/x
$HDR"

f="$TMPD/binary.ini"
head -c 4096 "$CGP" > "$f"
bad "$f" "$f:1: " "binary junk (the cgpolicy ELF itself)"
f="$TMPD/random.ini"
head -c 65536 /dev/urandom > "$f"
bad "$f" "$f:" "64 KiB of random bytes"
f="$TMPD/nul.ini"
printf '[cli]\ncgroup = %s\ndefault_egress = allow\0\n' "$CLI" > "$f"
bad "$f" "$f:3: NUL byte" "NUL byte inside a value"
f="$TMPD/nulonly.ini"
head -c 1000 /dev/zero > "$f"
bad "$f" "$f:1: NUL byte" "a file of NUL bytes"
f="$TMPD/long.ini"
{ echo "$HDR"; printf 'allow = out tcp any port '; for i in $(seq 1 60); do printf '%d,' $((1000 + i)); done; echo 9999; } > "$f"
bad "$f" "$f:3: line longer than 199 characters" "overlong line (would otherwise be cut)"
f="$TMPD/verylong.ini"
{ echo "$HDR"; head -c 1000000 /dev/zero | tr '\0' 'x'; } > "$f"
bad "$f" "$f:3: line longer than 199 characters" "a 1 MB line without newline"
f="$TMPD/empty.ini"
: > "$f"
bad "$f" "$f: empty policy file" "empty file"
f="$TMPD/comments.ini"
printf '; only\n# comments\n\n' > "$f"
bad "$f" "$f: no policy sections" "only comments"
bad "$TMPD/does-not-exist.ini" "$TMPD/does-not-exist.ini: " "missing file"
mkdir "$TMPD/dir.ini"
bad "$TMPD/dir.ini" "$TMPD/dir.ini: is a directory" "a directory instead of a file"
f="$TMPD/fifo.ini"
mkfifo "$f"
bad "$f" "$f: empty policy file" "a FIFO nobody writes to (must not hang)"
f="$TMPD/huge.ini"
echo "$HDR" > "$f"
truncate -s $((16 * 1024 * 1024 + 1)) "$f"
bad "$f" "$f: larger than 16777216 bytes" "a file over 16 MiB"
bad /dev/zero "/dev/zero: " "/dev/zero (endless; refused for its size or its mode)"
f="$TMPD/many.ini"
for i in $(seq 0 1023); do printf '[p%d]\ncgroup = /p%d\n' "$i" "$i"; done > "$f"
bad "$f" "$f:2047: too many policy sections (max 1023)" "1024 policy sections"
f="$TMPD/ports65.ini"
{ echo "$HDR"; printf 'allow = out tcp any port '; for i in $(seq 1 64); do printf '1,'; done; echo 1; } > "$f"
bad "$f" "$f:3: more than 64 items in port list" "65 items in one port list"

# cgroups that cannot be used: resolved before anything is touched
bad_text nocg.ini 2 "a cgroup that does not exist" <<<"[cli]
cgroup = /cgpolicy-test-$TID/no-such-cgroup"
bad_text nocg2.ini 5 "a cgroup that does not exist (second of two policies)" <<<"$HDR
allow = out tcp 127.0.0.1 port $P1
[gone]
cgroup = /cgpolicy-test-$TID/gone"
bad_text cgfile.ini 2 "a cgroup path that is a file (cgroup.procs)" <<<"[cli]
cgroup = $CLI/cgroup.procs"
V1=""
for c in cpu memory pids cpuset; do
	d=$(awk -v c="$c" '{ for (i = 1; i <= NF; i++) if ($i == "-") { if ($(i+1) == "cgroup" && $NF ~ ("(^|,)" c "(,|$)")) print $5; break } }' /proc/self/mountinfo | head -n 1)
	[ -n "$d" ] && [ -d "$d" ] && { V1=$d; break; }
done
if [ -n "$V1" ]; then
	mkdir -p "$V1/cgpolicy-test-$TID"
	bad_text v1abs.ini 2 "a cgroup v1 path ($V1/cgpolicy-test-$TID)" <<<"[cli]
cgroup = $V1/cgpolicy-test-$TID"
	# The same v1 directory seen under the cgroup2 mount (bind mount in a
	# private mount namespace): the filesystem check must catch it.
	mkdir -p "$CGROOT/v1"
	f=$(write_policy v1bind.ini <<<"[cli]
cgroup = $CLI
[v1]
cgroup = /cgpolicy-test-$TID/v1")
	out=$(unshare -m --propagation private bash -c "
		mount --bind '$V1/cgpolicy-test-$TID' '$CGROOT/v1' || exit 99
		'$CGP' --pin-path '$PIN' apply '$f' 2>&1 >/dev/null" ); rc=$?
	if [ "$rc" = 99 ]; then
		ok "# SKIP bind-mounting a v1 cgroup under cgroup2 is not possible here"
	elif [ "$rc" = 1 ] && [ "${out#"$f:4: [v1]: "}" != "$out" ] && grep -q "cgroup v1 is not supported" <<<"$out" &&
	     [ "$(gen)" = "$GEN0" ]; then
		ok "a cgroup v1 directory under the cgroup2 mount: exit 1, ${out:0:110}"
	else
		not_ok "a cgroup v1 directory under the cgroup2 mount: exit $rc, '$out'"
	fi
	rmdir "$CGROOT/v1" "$V1/cgpolicy-test-$TID" 2>/dev/null
else
	ok "# SKIP no cgroup v1 hierarchy mounted"
fi

# `check` agrees with apply on a bad file and touches nothing
f="$TMPD/v4.ini"
out=$("$CGP" check "$f" 2>&1); rc=$?
expect_eq "check: same verdict as apply (exit 1, FILE:LINE)" "$rc:${out%%:*}:$(cut -d: -f2 <<<"$out")" "1:$f:3"

SNAP1=$(snapshot)
expect_eq "after every bad file: same generation and policies" "$SNAP1" "$SNAP0"
expect_eq "after every bad file: same traffic verdicts" "$(traffic)" "$T0"
check "after every bad file: exactly one program per direction on the client cgroup" \
	test "$(bpftool cgroup show "$CGROOT/cli" | grep -cE 'cgp_(ingress|egress)')" = 2

e2e_done
