#!/usr/bin/env bash
# Kernel feature probing (agent/features.c): `cgpolicy --version --verbose`,
# `status` and `status --json` report what this kernel supports. Checked
# against an independent oracle: bpftool's own probes (program types, map
# types, helpers per program type), the kernel's BTF (the TCP iterator) and
# an apply that attaches with cgroup links. On a kernel where bpftool finds
# everything (the host), every feature must be reported supported. Then the
# test hook CGP_TEST_DISABLE_FEATURES: a disabled feature and the composite
# features that need it are reported missing, with the reason.
. "$(dirname "$0")/lib.sh"
e2e_init
command -v bpftool >/dev/null || skip_all "bpftool is needed as the oracle"

CG=$(mkcg app)

out=$("$CGP" --version --verbose 2>"$TMPD/vv.err"); rc=$?
printf '%s\n' "$out" > "$TMPD/table.txt"
expect_eq "--version --verbose exits 0" "$rc" 0
check "--version --verbose names the kernel release" grep -q "^kernel $(uname -r) " <<<"$out"
# FEATURE SUPPORTED ... from the table
table=$(awk 'f && NF { print $1, $2 } /^FEATURE +SUPPORTED/ { f = 1 }' <<<"$out")
echo "$out" | sed 's/^/# /'
check "--version --verbose lists the features" test "$(wc -l <<<"$table")" -ge 15
check "--version alone prints only the version" bash -c "[ \"\$('$CGP' --version | wc -l)\" = 1 ]"
sup() { awk -v n="$1" '$1 == n { print $2 }' <<<"$table"; }
# rows of a --version --verbose output file that are not "yes"; those without a reason
# (columns: FEATURE (24) SUPPORTED (9) NEEDED BY (48) WHY NOT, from character 85)
rows_not_yes() { awk 'f && NF && $2 != "yes" { print $1 } /^FEATURE +SUPPORTED/ { f = 1 }' "$1" | sort; }
rows_no_reason() { awk 'f && NF && $2 != "yes" && substr($0, 85) !~ /[^ ]/ { print $1 } /^FEATURE +SUPPORTED/ { f = 1 }' "$1"; }
reason_of() { awk -v n="$2" '$1 == n { print substr($0, 85) }' "$1"; }

# The oracle.
bpftool feature probe kernel -j > "$TMPD/bpftool.json" 2>/dev/null ||
	not_ok "bpftool feature probe kernel"
oracle() {	# FEATURE: yes/no from bpftool's probes and the BTF
	python3 - "$1" "$TMPD/bpftool.json" <<'PY'
import json, subprocess, sys
name, path = sys.argv[1], sys.argv[2]
d = json.load(open(path))
pt = lambda t: d["program_types"].get("have_%s_prog_type" % t, False)
mt = lambda t: d["map_types"].get("have_%s_map_type" % t, False)
hp = lambda t, h: ("bpf_" + h) in d["helpers"].get("%s_available_helpers" % t, [])
def iter_tcp():
    btf = subprocess.run(["bpftool", "btf", "dump", "file", "/sys/kernel/btf/vmlinux"],
                         capture_output=True, text=True).stdout
    return "FUNC 'bpf_iter_tcp' " in btf	# bpftool cannot probe tracing programs
f = {
    "cgroup_skb": lambda: pt("cgroup_skb"),
    "cgroup_storage": lambda: mt("cgroup_storage") and mt("percpu_cgroup_storage")
        and hp("cgroup_skb", "get_local_storage"),
    "lpm_trie": lambda: mt("lpm_trie"),
    "array_of_maps": lambda: mt("array_of_maps"),
    "sk_storage": lambda: mt("sk_storage") and hp("cgroup_skb", "sk_storage_get"),
    "ringbuf": lambda: mt("ringbuf") and hp("cgroup_skb", "ringbuf_reserve"),
    "skb_ancestor_cgroup_id": lambda: hp("cgroup_skb", "skb_ancestor_cgroup_id"),
    "sockops": lambda: pt("sock_ops") and hp("sock_ops", "sk_storage_get"),
    "iter_tcp": iter_tcp,
    "sockhash": lambda: mt("sockhash") and hp("sock_ops", "sock_hash_update"),
    "sk_msg": lambda: pt("sk_msg") and hp("sk_msg", "msg_redirect_hash"),
    "sk_reuseport": lambda: pt("sk_reuseport") and hp("sk_reuseport", "sk_select_reuseport"),
    "sockmap": lambda: mt("sockmap") and hp("sock_ops", "sock_map_update"),
    "sockops_cgroup_storage": lambda: hp("sock_ops", "get_local_storage"),
}
f["steering"] = lambda: all(f[n]() for n in
    ("sk_reuseport", "sockmap", "sockops", "sockops_cgroup_storage", "sk_storage"))
print("yes" if f[name]() else "no")
PY
}

all_yes=1
expect_missing=()
for name in cgroup_skb cgroup_storage lpm_trie array_of_maps sk_storage ringbuf skb_ancestor_cgroup_id \
	sockops iter_tcp sockhash sk_msg sk_reuseport sockmap sockops_cgroup_storage steering; do
	want=$(oracle "$name")
	[ "$want" = yes ] || { all_yes=0; expect_missing+=("$name"); }
	expect_eq "$name: supported as bpftool/BTF say" "$(sup "$name")" "$want"
done

# cgroup links: an apply attaches with bpf_link_create, so it works only with them
write_policy p.ini >/dev/null <<EOT
[app]
cgroup = $CG
default_ingress = allow
EOT
if cgp apply "$TMPD/p.ini" >/dev/null 2>&1; then
	expect_eq "cgroup_link: supported (apply attached through links)" "$(sup cgroup_link)" yes
	check "... a cgroup link holds the program on the policy cgroup" \
		bash -c "bpftool link show | grep -Eq 'cgroup_id $(stat -c %i "$CGMNT$CG") +attach_type (cgroup_)?inet_ingress'"
else
	not_ok "apply of a one-policy file"
fi
# acceleration's components: SOCKHASH, sk_msg, sockops
accel_want=no
[ "$(oracle sockhash)" = yes ] && [ "$(oracle sk_msg)" = yes ] && [ "$(oracle sockops)" = yes ] && accel_want=yes
# ... and then a loopback redirect must behave like TCP (agent/accel_probe.c; 6.1 fails FIONREAD):
# behavioural, so only its components can be checked independently
accel_why=$(reason_of "$TMPD/table.txt" acceleration)
if [ "$accel_want" = yes ] && [ "$(sup acceleration)" = no ] && grep -Eq 'FIONREAD|redirect|EAGAIN|EOF|readable' <<<"$accel_why"; then
	ok "acceleration: components supported, redirection fails the behavioural check ($accel_why)"
	expect_missing+=(acceleration)
else
	expect_eq "acceleration: supported when its components are" "$(sup acceleration)" "$accel_want"
	[ "$accel_want" = yes ] || expect_missing+=(acceleration)
fi
[ "$(oracle steering)" = yes ] || expect_missing+=(steering)
want_missing=$(printf '%s\n' "${expect_missing[@]}" | sort -u | sed '/^$/d')
if [ "$all_yes" = 1 ]; then
	echo "# bpftool finds everything here: every feature but a behaviourally failed acceleration is supported"
fi
expect_eq "the features reported missing are exactly those the oracle says" \
	"$(rows_not_yes "$TMPD/table.txt" | tr '\n' ' ')" "$(tr '\n' ' ' <<<"$want_missing")"
expect_eq "every row that is not supported says why" "$(rows_no_reason "$TMPD/table.txt")" ""
CGP_TEST_DISABLE_FEATURES=lpm_trie "$CGP" --version --verbose > "$TMPD/hook1.txt" 2>/dev/null
check "... (the check sees a reason: lpm_trie disabled by the hook)" \
	grep -q "test hook" <<<"$(reason_of "$TMPD/hook1.txt" lpm_trie)"

# --- status --json: the "kernel" object agrees with the table
js=$(cgp status --json); rc=$?
expect_eq "status --json exits 0" "$rc" 0
python3 - "$js" "$(uname -r)" "$table" > "$TMPD/js.out" <<'PY'
import json, sys
k = json.loads(sys.argv[1])["kernel"]
table = dict(l.split() for l in sys.argv[3].splitlines())
print("release", k["release"] == sys.argv[2])
print("names", sorted(k["features"]) == sorted(table))
print("values", all((v["supported"] is True) == (table[n] == "yes") for n, v in k["features"].items()))
print("reasons", all((v["reason"] is None) == (v["supported"] is True) for v in k["features"].values()))
print("needed_by", all(v["needed_by"] for v in k["features"].values()))
PY
for w in release names values reasons needed_by; do
	expect_eq "status --json kernel: $w" "$(awk -v w="$w" '$1 == w { print $2 }' "$TMPD/js.out")" True
done
st=$(cgp status)
if [ -z "$want_missing" ]; then
	check "status says every feature is supported" grep -q "^kernel $(uname -r): every feature cgpolicy uses is supported" <<<"$st"
else
	check "status lists what the kernel lacks" grep -q "^kernel $(uname -r) lacks:" <<<"$st"
	for name in $want_missing; do
		check "... $name among them" grep -q "^  $name (needed by" <<<"$st"
	done
fi

# --- the test hook
out=$(CGP_TEST_DISABLE_FEATURES=sockmap "$CGP" --version --verbose 2>/dev/null)
printf '%s\n' "$out" > "$TMPD/hook2.txt"
check "hook: sockmap disabled is reported missing with the hook as reason" \
	grep -Eq "^sockmap +no +.*disabled by CGP_TEST_DISABLE_FEATURES \(test hook\)" <<<"$out"
check "hook: steering, which needs sockmap, is missing too and says why" \
	grep -Eq "^steering +no +.*needs sockmap: disabled by CGP_TEST_DISABLE_FEATURES" <<<"$out"
expect_eq "hook: nothing else is missing" "$(rows_not_yes "$TMPD/hook2.txt" | tr '\n' ' ')" \
	"$(printf '%s\n' $want_missing sockmap steering | sort -u | tr '\n' ' ')"
js=$(CGP_TEST_DISABLE_FEATURES="acceleration, steering" "$CGP" --pin-path "$PIN" status --json)
check "hook: status --json reports the disabled features as unsupported with the reason" \
	python3 -c '
import json, sys
f = json.loads(sys.argv[1])["kernel"]["features"]
sys.exit(not all(f[n]["supported"] is False and "test hook" in f[n]["reason"] for n in ("acceleration", "steering")))' "$js"
out=$(CGP_TEST_DISABLE_FEATURES=nosuch "$CGP" --version --verbose 2>&1)
check "hook: an unknown name is warned about" grep -q "CGP_TEST_DISABLE_FEATURES names no feature 'nosuch'" <<<"$out"

cgp remove >/dev/null 2>&1
e2e_done
