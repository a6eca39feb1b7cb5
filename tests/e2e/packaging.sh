#!/usr/bin/env bash
# Packaging (issue 16, packaging/README.md): cgpolicy installed like a system tool.
#  - man pages pass `mandoc -T lint` and agree with `cgpolicy --help` (commands,
#    options) and docs/POLICY.md (keys), both ways;
#  - bash completion (the installed file, sourced into bash with bash-completion):
#    commands, options, files, policy names of the live state at --pin-path;
#  - --version names the git commit; a tree without .git builds the VERSION alone;
#  - `make install` / `make uninstall` with DESTDIR and PREFIX: everything in place,
#    nothing outside them, nothing left;
#  - `make deb`: lintian without errors; the package installed on this machine
#    (apt), its files, conffile, unit not enabled, `systemd-analyze verify`, purge
#    leaves nothing;
#  - `make image`: an OCI image FROM scratch, run under podman (private storage)
#    as the DaemonSet runs it: the agent enforces a policy on a host cgroup (real
#    TCP traffic), and enforcement stays after the container is removed.
# Slow parts: the package build (~40 s) and the image (~10 s).
. "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/../.." || exit 1
e2e_init

MAKE=(make --no-print-directory BUILD="$BUILD")
PKG_INSTALLED=0		# 1 while this test's package is installed on the machine
POD_UP=0
CGV1=$(awk '{ for (i = 1; i <= NF; i++) if ($i == "-") { if ($(i+1) == "cgroup") print $5; break } }' /proc/self/mountinfo)
# cgroups podman makes (cgroupfs manager): ours under the test root, conmon's
# under /libpod_parent, in every hierarchy; /libpod_parent is removed (when
# empty) only if it did not exist before
CG_PARENTS=("cgpolicy-test-$TID")
for h in $CGV1 "$CGMNT"; do [ -e "$h/libpod_parent" ] || { CG_PARENTS+=(libpod_parent); break; }; done

pkg_cleanup() {
	local rc=$? m p
	if [ "$POD_UP" = 1 ]; then
		pod rm -a -f -t 0 >/dev/null 2>&1
		pod rmi -a -f >/dev/null 2>&1
		pod system reset -f >/dev/null 2>&1
		for m in $(awk -v d="$TMPD/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r); do
			umount -l "$m" 2>/dev/null
		done
		for p in "${CG_PARENTS[@]}"; do
			for m in $CGV1 "$CGMNT"; do
				[ "$m/$p" = "$CGROOT" ] && continue	# e2e_cleanup's
				[ -d "$m/$p" ] && find "$m/$p" -depth -type d -exec rmdir {} + 2>/dev/null
			done
		done
	fi
	if [ "$PKG_INSTALLED" = 1 ]; then
		DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq -o DPkg::Lock::Timeout=120 cgpolicy >/dev/null 2>&1
	fi
	(exit "$rc")
	e2e_cleanup
}
trap pkg_cleanup EXIT
# lap: how long the part before took (the deb and the image are the slow ones)
LAP=$SECONDS
LAPN=(docs install completion deb image)
lap() { echo "# ${LAPN[0]}: $((SECONDS - LAP)) s"; LAP=$SECONDS; LAPN=("${LAPN[@]:1}"); }

# ---------------------------------------------------------------- docs agree
check "man/cgpolicy.8: mandoc -T lint, no warning" mandoc -T lint -W warning man/cgpolicy.8
check "man/cgpolicy.ini.5: mandoc -T lint, no warning" mandoc -T lint -W warning man/cgpolicy.ini.5
check "man/cgpolicy.8: man (groff) renders it without warning" \
	bash -c '[ -z "$(MANWIDTH=80 man --warnings -l man/cgpolicy.8 2>&1 >/dev/null)" ]'

HELP=$("$CGP" --help)
help_cmds=$(awk '/^Commands:/ { f = 1; next } f && /^$/ { exit } f && /^  [a-z]/ { print $1 }' <<<"$HELP" | sort -u)
help_opts=$( { grep -oE -- '--[a-z][a-z-]+' <<<"$HELP"; grep -oE '^  -[a-zA-Z],' <<<"$HELP" | tr -d ' ,'; } | sort -u)
man_section() {	# FILE SECTION: the mdoc lines of .Sh SECTION
	awk -v s="$2" '/^\.Sh / { f = ($0 == ".Sh " s); next } f' "$1"
}
man_cmds=$(man_section man/cgpolicy.8 COMMANDS | awk '$1 == ".It" && $2 == "Cm" { print $3 }' | sort -u)
man_opts=$(man_section man/cgpolicy.8 OPTIONS |
	awk '$1 == ".It" { for (i = 2; i < NF; i++) if ($i == "Fl") { w = $(i+1); sub(/[,;.]$/, "", w); print "-" w } }' | sort -u)
policy_keys=$(awk '/^\| key \|/ { t = 1; next } !/^\|/ { t = 0 } t && !/^\|---/ { split($0, c, "|"); print c[2] }' docs/POLICY.md |
	grep -oE '`[a-z_]+`' | tr -d '`' | sort -u)
man5_keys=$(awk '$1 == ".It" && $2 == "Ic" { print $3 }' man/cgpolicy.ini.5 | sort -u)

# same_set DESC A B: one check, naming what only one side has
same_set() {
	local only_a only_b
	only_a=$(comm -23 <(echo "$2") <(echo "$3") | tr '\n' ' ')
	only_b=$(comm -13 <(echo "$2") <(echo "$3") | tr '\n' ' ')
	if [ -n "$2" ] && [ -z "$only_a$only_b" ]; then
		ok "$1 ($(echo "$2" | wc -l))"
	else
		not_ok "$1: only in the first: '$only_a', only in the second: '$only_b'"
	fi
}
check "--help lists 6 commands or more" test "$(echo "$help_cmds" | wc -l)" -ge 6
check "POLICY.md's tables have 19 keys or more" test "$(echo "$policy_keys" | wc -l)" -ge 19
same_set "commands: --help = cgpolicy(8)" "$help_cmds" "$man_cmds"
same_set "options: --help = cgpolicy(8)" "$help_opts" "$man_opts"
same_set "keys: docs/POLICY.md = cgpolicy.ini(5)" "$policy_keys" "$man5_keys"
help_exits=$(awk '/^Exit status:/ { f = 1 } f && /^$/ { exit } f' <<<"$HELP" | grep -oE '(^|: |; )[0-9] ' | grep -oE '[0-9]' | sort -u)
man_exits=$(man_section man/cgpolicy.8 "EXIT STATUS" | awk '$1 == ".It" { print $2 }' | sort -u)
same_set "exit codes: --help = cgpolicy(8)" "$help_exits" "$man_exits"

lap
# ---------------------------------------------------------------- make install
DEST=$TMPD/dest
mkdir -p "$DEST/etc/cgpolicy"
echo "; the admin's policy" > "$DEST/etc/cgpolicy/policy.ini"
[ -e .git ] && HEAD0=$(git rev-parse --short=7 HEAD)
if "${MAKE[@]}" install DESTDIR="$DEST" PREFIX=/opt/cgp >"$TMPD/install.log" 2>&1; then
	ok "make install DESTDIR=... PREFIX=/opt/cgp"
else
	not_ok "make install: $(tail -n 5 "$TMPD/install.log")"
fi
P=$DEST/opt/cgp
for f in sbin/cgpolicy lib/systemd/system/cgpolicy.service share/man/man8/cgpolicy.8 \
	share/man/man5/cgpolicy.ini.5 share/bash-completion/completions/cgpolicy \
	share/doc/cgpolicy/README.md share/doc/cgpolicy/POLICY.md share/doc/cgpolicy/DEPLOY.md \
	share/doc/cgpolicy/examples/policy.ini share/doc/cgpolicy/examples/kubernetes/daemonset.yaml; do
	check "make install: $f" test -s "$P/$f"
done
outside=$(cd "$DEST" && find . -mindepth 1 ! -path ./opt ! -path './opt/cgp' ! -path './opt/cgp/*' ! -path ./etc ! -path ./etc/cgpolicy ! -path ./etc/cgpolicy/policy.ini)
expect_eq "make install: nothing written outside DESTDIR/PREFIX" "$outside" ""
expect_eq "make install: the existing etc/cgpolicy/policy.ini is untouched" "$(cat "$DEST/etc/cgpolicy/policy.ini")" "; the admin's policy"
check "installed unit runs the installed binary" grep -qx "ExecStart=/opt/cgp/sbin/cgpolicy agent /etc/cgpolicy/policy.ini" "$P/lib/systemd/system/cgpolicy.service"
check "installed unit: Documentation= names the man page" grep -q "^Documentation=man:cgpolicy(8)" "$P/lib/systemd/system/cgpolicy.service"
check "installed man page renders (man -l)" bash -c "MANWIDTH=80 man -l '$P/share/man/man5/cgpolicy.ini.5' 2>/dev/null | grep -q 'metrics_file'"

# --version: "VERSION (git COMMIT[-dirty])", the commit of this tree
ver=$(cat VERSION)
iv=$("$P/sbin/cgpolicy" --version | head -n 1)
if [ -e .git ]; then
	# HEAD before install and now (another engineer may commit meanwhile)
	check "--version of the installed binary names VERSION and the commit: '$iv'" \
		bash -c '[[ $0 =~ ^cgpolicy\ $1\ \(git\ ($2|$3)(-dirty)?\)$ ]]' "$iv" "$ver" "$HEAD0" "$(git rev-parse --short=7 HEAD)"
else
	expect_eq "--version of the installed binary (no .git)" "$iv" "cgpolicy $ver"
fi
# a tree without .git: the VERSION file alone
mkdir -p "$TMPD/nogit"
if [ -e .git ]; then
	git archive --format=tar HEAD | tar -xf - -C "$TMPD/nogit"
else
	tar --exclude='./build*' -cf - . | tar -xf - -C "$TMPD/nogit"
fi
# $(BUILD)/version.txt holds the $(VERSION) that -DCGP_VERSION gets (the
# installed binary above shows that the define reaches --version)
if make -C "$TMPD/nogit" --no-print-directory BUILD=b b/version.txt >"$TMPD/nogit.log" 2>&1; then
	expect_eq "a tree without .git: the version compiled in is the VERSION file" "$(cat "$TMPD/nogit/b/version.txt")" "$ver"
else
	not_ok "make in a tree without .git: $(tail -n 5 "$TMPD/nogit.log")"
fi
rm -rf "$TMPD/nogit"

lap
# ---------------------------------------------------------------- completion
# comp WORD... : COMPREPLY for the command line WORD... with the cursor on the
# last word, from the installed completion file, one per line, sorted
cat > "$TMPD/comp.bash" <<'EOF'
source /usr/share/bash-completion/bash_completion || exit 1
source "$1" || exit 1
shift
COMP_WORDS=("$@")
COMP_CWORD=${CWORD:-$(( ${#COMP_WORDS[@]} - 1 ))}
COMP_LINE="${COMP_WORDS[*]:0:COMP_CWORD+1}"
COMP_POINT=${#COMP_LINE}
COMP_LINE="$*"
COMPREPLY=()
_cgpolicy "${COMP_WORDS[0]}" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
printf '%s\n' "${COMPREPLY[@]}" | sort -u | grep -v '^$'
EOF
COMPF=$P/share/bash-completion/completions/cgpolicy
comp() { (cd "$TMPD" && bash "$TMPD/comp.bash" "$COMPF" "$@"); }
ABSCGP=$(realpath "$CGP")
if [ -e /usr/share/bash-completion/bash_completion ]; then
	same_set "completion: commands = --help's" "$(comp cgpolicy '')" "$help_cmds"
	comp_opts=$(for c in '' $help_cmds; do comp cgpolicy $c -; done | sort -u)
	same_set "completion: options (every command) = --help's" "$comp_opts" "$help_opts"
	expect_eq "completion: 'apply --d'" "$(comp cgpolicy apply --d)" "--dry-run"
	expect_eq "completion: 'check --d' offers nothing (apply only)" "$(comp cgpolicy check --d)" ""
	expect_eq "completion: 'stats --w' (before the command: global options only)" "$(comp cgpolicy stats --w)" "--watch"
	expect_eq "completion: 'st'" "$(comp cgpolicy st | tr '\n' ' ')" "stats status "
	mkdir -p "$TMPD/pols/sub" && touch "$TMPD/pols/web.ini" "$TMPD/pols/api.ini"
	expect_eq "completion: apply FILE completes files" "$(comp cgpolicy apply pols/w)" "pols/web.ini"
	expect_eq "completion: agent FILE completes files and directories" "$(comp cgpolicy -v agent pols/ | tr '\n' ' ')" "pols/api.ini pols/sub pols/web.ini "
	expect_eq "completion: nothing after check's FILE" "$(comp cgpolicy check pols/web.ini pols/)" ""
	expect_eq "completion: explain ... icmp ADDRESS -> type" "$(comp cgpolicy explain --policy p out icmp 127.0.0.1 '')" "type"
	expect_eq "completion: explain ... type ech -> ICMP type names" \
		"$(comp cgpolicy explain --policy p out icmp 127.0.0.1 type ech | tr '\n' ' ')" "echo-reply echo-request "
	expect_eq "completion: explain ... type 3 -> code" "$(comp cgpolicy explain --policy p out icmp 127.0.0.1 type 3 '')" "code"
	expect_eq "completion: --pin-path completes directories" "$(comp cgpolicy --pin-path pols/ | tr '\n' ' ')" "pols/sub "

	# policy names of the live state: a real apply at the test's pin path
	A=$(mkcg pkga); B=$(mkcg pkgb)
	POL=$(write_policy names.ini <<EOF
[web-$TID]
cgroup = $A
[api_$TID]
cgroup = $B
EOF
)
	if cgp apply "$POL" >"$TMPD/apply.log" 2>&1; then
		expect_eq "completion: stats --policy lists the policies at --pin-path" \
			"$(comp "$ABSCGP" --pin-path "$PIN" stats --policy '' | tr '\n' ' ')" "api_$TID web-$TID "
		expect_eq "completion: --pin-path=DIR after the cursor counts too" \
			"$(CWORD=3 comp "$ABSCGP" stats --policy w "--pin-path=$PIN" | tr '\n' ' ')" "web-$TID "
		check "completion: without --pin-path, the default pin path's policies (not the test's)" \
			bash -c '! grep -q "$0" <<<"$1"' "$TID" "$(comp "$ABSCGP" stats --policy '')"
	else
		not_ok "apply for the completion test: $(tail -n 3 "$TMPD/apply.log")"
	fi
	cgp remove >/dev/null 2>&1
else
	not_ok "bash-completion is not installed (make deps)"
fi

if "${MAKE[@]}" uninstall DESTDIR="$DEST" PREFIX=/opt/cgp >"$TMPD/uninstall.log" 2>&1; then
	left=$(cd "$DEST" && find . -type f ! -path ./etc/cgpolicy/policy.ini)
	expect_eq "make uninstall: no file left" "$left" ""
else
	not_ok "make uninstall: $(tail -n 5 "$TMPD/uninstall.log")"
fi
rm -rf "$DEST"

lap
# ---------------------------------------------------------------- make deb
if "${MAKE[@]}" deb >"$TMPD/deb.log" 2>&1; then
	ok "make deb (dpkg-buildpackage, lintian without error)"
else
	not_ok "make deb: $(tail -n 15 "$TMPD/deb.log")"
fi
DEB=$(ls "$BUILD"/deb/cgpolicy_*.deb 2>/dev/null | head -n 1)
if [ -n "$DEB" ]; then
	echo "# $(basename "$DEB"): $(stat -c %s "$DEB") bytes; lintian: $(grep -c . "$BUILD/deb/lintian.txt") lines"
	sed 's/^/#   lintian: /' "$BUILD/deb/lintian.txt"
	check "lintian: no E: line" bash -c "! grep -q '^E:' '$BUILD/deb/lintian.txt'"
	dver=$(dpkg-deb -f "$DEB" Version)
	check "package version $dver is VERSION $ver + a Debian revision" test "${dver%-*}" = "$ver"
	check "Depends from \${shlibs:Depends}: libbpf, libc" bash -c "dpkg-deb -f '$DEB' Depends | grep -q libbpf1 && dpkg-deb -f '$DEB' Depends | grep -q libc6"
	check "conffile /etc/cgpolicy/policy.ini" bash -c "dpkg-deb --ctrl-tarfile '$DEB' | tar -xO ./conffiles | grep -qx /etc/cgpolicy/policy.ini"
	check "no source tree written: no .deb beside the checkout" bash -c '! ls ../cgpolicy_*.deb >/dev/null 2>&1'

	# install it on this machine as a user would, then purge it; one test run
	# at a time (other checkouts run this test too)
	if ! wait_for 300 reserve pkg-install; then
		not_ok "another test run kept the package install reservation for 300 s"
	elif dpkg-query -W -f='${Status}' cgpolicy 2>/dev/null | grep -q 'ok installed'; then
		ok "# skip installing the package: a cgpolicy package is installed on this machine already"
	elif DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=120 "$(realpath "$DEB")" >"$TMPD/apt.log" 2>&1; then
		PKG_INSTALLED=1
		ok "apt-get install $(basename "$DEB")"
		for f in /usr/sbin/cgpolicy /lib/systemd/system/cgpolicy.service /etc/cgpolicy/policy.ini \
			/usr/share/man/man8/cgpolicy.8.gz /usr/share/man/man5/cgpolicy.ini.5.gz \
			/usr/share/bash-completion/completions/cgpolicy /usr/share/doc/cgpolicy/copyright \
			/usr/share/doc/cgpolicy/examples/policy.ini /usr/share/doc/cgpolicy/DEPLOY.md; do
			check "package: $f" test -s "$f"
		done
		pv=$(/usr/sbin/cgpolicy --version | head -n 1)
		# the package is `git archive HEAD` at make deb: that commit, never -dirty
		check "package: --version is the package version and the commit: '$pv'" \
			bash -c '[[ $0 =~ ^cgpolicy\ $1(\ \(git\ [0-9a-f]{7}\))?$ ]]' "$pv" "$dver"
		check "package: man finds cgpolicy(8) and cgpolicy.ini(5)" bash -c "{ man -w 8 cgpolicy && man -w 5 cgpolicy.ini; } >/dev/null"
		check "package: the unit is not enabled" bash -c '! ls /etc/systemd/system/*.wants/cgpolicy.service 2>/dev/null | grep -q .'
		check "package: the unit runs /usr/sbin/cgpolicy" grep -qx "ExecStart=/usr/sbin/cgpolicy agent /etc/cgpolicy/policy.ini" /lib/systemd/system/cgpolicy.service
		out=$(/usr/sbin/cgpolicy check /etc/cgpolicy/policy.ini 2>&1); rc=$?
		check "package: the shipped policy enforces nothing until edited (check: exit 1, '$out')" \
			bash -c '[ "$0" = 1 ] && grep -q "no policy sections" <<<"$1"' "$rc" "$out"
		if command -v systemd-analyze >/dev/null; then
			if out=$(systemd-analyze verify /lib/systemd/system/cgpolicy.service 2>&1); then
				ok "systemd-analyze verify cgpolicy.service${out:+: $out}"
			else
				not_ok "systemd-analyze verify cgpolicy.service: $out"
			fi
		else
			ok "# skip systemd-analyze verify: systemd-analyze is not installed"
		fi
		files=$(dpkg -L cgpolicy | while read -r f; do [ -f "$f" ] && echo "$f"; done)
		if DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq -o DPkg::Lock::Timeout=120 cgpolicy >"$TMPD/purge.log" 2>&1; then
			PKG_INSTALLED=0
			ok "apt-get purge cgpolicy"
		else
			not_ok "apt-get purge cgpolicy: $(tail -n 3 "$TMPD/purge.log")"
		fi
		left=$(for f in $files /etc/cgpolicy /usr/share/doc/cgpolicy /var/lib/systemd/deb-systemd-helper-enabled/cgpolicy.service.dsh-also; do [ -e "$f" ] && echo "$f"; done)
		expect_eq "purge leaves nothing of the package's $(echo "$files" | wc -l) files, /etc/cgpolicy, systemd state" "$left" ""
		check "purge: dpkg no longer knows the package" bash -c '! dpkg-query -W -f="\${Status}" cgpolicy 2>/dev/null | grep -q installed'
	else
		not_ok "apt-get install $DEB: $(tail -n 5 "$TMPD/apt.log")"
	fi
	[ "$PKG_INSTALLED" = 0 ] && release pkg-install
fi

lap
# ---------------------------------------------------------------- make image
# podman with private storage and configuration under $TMPD: the host's podman
# setup is never touched
PD=$TMPD/podman
mkdir -p "$PD/tmp" "$PD/home"
cat > "$PD/containers.conf" <<EOF
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$PD/events.log"
tmp_dir = "$PD/tmp"
EOF
cat > "$PD/storage.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$PD/root"
runroot = "$PD/runroot"
EOF
PODMAN="env HOME=$PD/home TMPDIR=$PD/tmp CONTAINERS_CONF=$PD/containers.conf CONTAINERS_STORAGE_CONF=$PD/storage.conf podman --root $PD/root --runroot $PD/runroot --cgroup-manager cgroupfs --events-backend file"
pod() { $PODMAN "$@"; }
IMG=localhost/cgpolicy-test:$TID
POD_UP=1
if "${MAKE[@]}" image PODMAN="$PODMAN" IMAGE="$IMG" >"$TMPD/image.log" 2>&1; then
	ok "make image (FROM scratch, nothing pulled)"
else
	not_ok "make image: $(tail -n 10 "$TMPD/image.log")"
fi
if pod image exists "$IMG"; then
	size=$(pod image inspect --format '{{.Size}}' "$IMG")
	echo "# image $IMG: $size bytes; $BUILD/cgpolicy-image.tar (oci-archive): $(stat -c %s "$BUILD/cgpolicy-image.tar" 2>/dev/null) bytes"
	check "image is small (< 5 MB): $size bytes" test "$size" -lt 5000000
	expect_eq "image has one layer (no base image)" "$(pod image inspect --format '{{len .RootFS.Layers}}' "$IMG")" 1
	check "image: oci-archive saved" test -s "$BUILD/cgpolicy-image.tar"
	iv=$(pod run --rm --network none --cgroup-parent "/cgpolicy-test-$TID/podman" --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 "$IMG" cgpolicy --version 2>&1 | head -n 1)
	check "image: cgpolicy --version runs in it: '$iv'" bash -c '[[ $0 == "cgpolicy $1"* ]]' "$iv" "$ver"
	k8s_image=$(sed -n 's/^ *image: *\([^ ]*\).*/\1/p' examples/kubernetes/daemonset.yaml)
	expect_eq "the DaemonSet names the image make image tags" "$k8s_image" "registry.example.com/cgpolicy:$ver"

	# The DaemonSet's container: hostPID, the host's /sys/fs/bpf (HostToContainer
	# propagation), /sys/fs/cgroup read-only, the policy directory read-only, the
	# textfile directory; all capabilities dropped but its list; its command.
	SRV=$(mkcg srv); CLI=$(mkcg cli)
	PORT=$(rand_port)
	tcp_server srv 127.0.0.1 "$PORT" || not_ok "server on port $PORT"
	tcp_server srv 127.0.0.1 "$((PORT + 1))" || not_ok "server on port $((PORT + 1))"
	expect_eq "before the agent: cli -> :$PORT allowed" "$(tcp_get cli 127.0.0.1 "$PORT")" "hello $PORT"
	mkdir -p "$TMPD/etc-cgpolicy" "$TMPD/textfile"
	cat > "$TMPD/etc-cgpolicy/policy.ini" <<EOF
[agent]
pin_path = $PIN
stats_interval = 0
metrics_file = /var/lib/node_exporter/textfile/cgpolicy.prom

[cli]
cgroup = $CLI
deny = out tcp 127.0.0.1 port $PORT
EOF
	chmod 644 "$TMPD/etc-cgpolicy/policy.ini"
	name=cgpolicy-$TID
	if pod run -d --name "$name" --pid host --network none --user 0 \
		--ulimit nofile=1024:1024 --ulimit nproc=1024:1024 \
		--cgroup-parent "/cgpolicy-test-$TID/podman" \
		--cap-drop ALL --cap-add BPF,NET_ADMIN,SYS_ADMIN,PERFMON,SYS_PTRACE,SETPCAP,SYS_RESOURCE \
		-v "$TMPD/etc-cgpolicy:/etc/cgpolicy:ro" \
		-v /sys/fs/bpf:/sys/fs/bpf:rslave \
		-v /sys/fs/cgroup:/sys/fs/cgroup:ro \
		-v "$TMPD/textfile:/var/lib/node_exporter/textfile" \
		"$IMG" /usr/local/sbin/cgpolicy agent /etc/cgpolicy/policy.ini >"$TMPD/run.log" 2>&1; then
		ok "podman run the image as the DaemonSet runs it"
	else
		not_ok "podman run: $(tail -n 5 "$TMPD/run.log")"
	fi
	if wait_until "$WAIT_AGENT" 'pod logs "$name" 2>&1 | grep -q "agent: running"'; then
		ok "the agent in the container runs"
	else
		not_ok "the agent in the container did not start: $(pod logs "$name" 2>&1 | tail -n 5)"
	fi
	check "the agent's policy is pinned on the host (status at $PIN lists cli)" \
		wait_until 20 'cgp status --json 2>/dev/null | grep -q "\"name\": \"cli\""'
	expect_eq "container agent enforces: cli -> :$PORT denied" "$(tcp_get cli 127.0.0.1 "$PORT")" ""
	expect_eq "container agent: cli -> :$((PORT + 1)) allowed" "$(tcp_get cli 127.0.0.1 "$((PORT + 1))")" "hello $((PORT + 1))"
	check "the agent wrote the metrics file into the host's textfile directory" \
		wait_until 20 'grep -q "^cgpolicy_generation" "$TMPD/textfile/cgpolicy.prom"'
	# after start-up the agent keeps CAP_BPF + CAP_NET_ADMIN only (docs/DEPLOY.md)
	apid=$(pod inspect -f '{{.State.Pid}}' "$name" 2>/dev/null)
	check "the agent in the container keeps CAP_BPF + CAP_NET_ADMIN only (CapEff 0000008000001000)" \
		wait_until 20 'grep -qx "CapEff:[[:space:]]*0000008000001000" "/proc/$apid/status"'
	if pod rm -f -t 10 "$name" >/dev/null 2>&1; then ok "podman rm -f the container"; else not_ok "podman rm -f"; fi
	check "container gone" bash -c '! '"$PODMAN"' container exists "$0"' "$name"
	expect_eq "after the container is removed: cli -> :$PORT still denied" "$(tcp_get cli 127.0.0.1 "$PORT")" ""
	expect_eq "after the container is removed: cli -> :$((PORT + 1)) allowed" "$(tcp_get cli 127.0.0.1 "$((PORT + 1))")" "hello $((PORT + 1))"
	cgp remove >/dev/null 2>&1
	expect_eq "cgpolicy remove (host binary): cli -> :$PORT allowed again" "$(tcp_get cli 127.0.0.1 "$PORT")" "hello $PORT"
fi

lap
e2e_done
