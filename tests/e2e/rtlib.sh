# shellcheck shell=bash
# rtlib.sh - real container runtimes (runc, podman, docker) for the end-to-end
# tests. Source lib.sh, call e2e_init, then source this file and call rt_init.
# Everything made here is private to the test and removed by the EXIT trap,
# also when the test fails or is interrupted: containers, images, storage,
# dockerd, networks, bridges, netns, the iptables chains and rules a runtime
# added, the runtime cgroups (/libpod_parent, /docker, ...) it created in every
# hierarchy (cgroup v1 ones too), files it left on the host (/var/lib/cni/...).
# The host's own podman/docker setup is never touched: private --root,
# --runroot, --data-root, --exec-root, config files and sockets under $TMPD.
#
# Addresses: every network is a free 198.18.X.0/24 (RFC 2544 benchmarking
# range), never a runtime's default private range.
#
# API (every function returns non-zero and says why on stderr on failure):
#
#   rt_init                       after e2e_init: remember the host state to
#                                 restore (iptables chains, runtime cgroups,
#                                 runtime dirs), build the busybox rootfs
#                                 $RT_ROOTFS, install the EXIT trap.
#   rt_have CMD...                true when every CMD is installed
#   rt_free_subnet                prints a free X for 198.18.X.0/24
#   rt_cgroup_of PID              the process's cgroup2 path ("0::" line)
#   rt_policed CGPATH             true when `cgpolicy status --json` lists the
#                                 cgroup CGPATH (relative to the cgroup2 mount)
#                                 with the id (inode) the directory has NOW,
#                                 attached: the agent attached it
#   rt_wait_policed CGPATH [SECS] wait (deadline, default $RT_WAIT_ATTACH:
#                                 120 s) for rt_policed; prints how long as
#                                 a "# " comment
#   rt_unlisted CGPATH            true when status no longer lists CGPATH
#   rt_denied CGPATH ingress|egress   its denied_packets in status
#   rt_listening PID PORT         a TCP listener on PORT in PID's netns
#   rt_stale_links                prints the link pins of cgroups that no
#                                 longer exist (empty: none stale)
#   rt_http_server CG ADDR PORT TEXT  busybox httpd on the host in test cgroup
#                                 CG, serving TEXT at /
#
#   runc ($RT_RGW is the host's address on the test bridge $RT_RBR):
#   rt_runc_setup                 bridge on a free 198.18.X.0/24, runc --root
#                                 under $TMPD
#   rt_runc_create NAME IP CMD... rt_runc_run without the start
#   rt_runc_run NAME IP CMD...    own bundle (copy of the rootfs), own netns
#                                 with a veth on the bridge at IP, cgroupsPath
#                                 /cgpolicy-test-$TID/NAME; runs detached
#   rt_runc_exec NAME CMD...      run CMD in the container (its cgroup, netns)
#   rt_runc_pid NAME              its init PID
#   rt_runc_stop NAME             kill + delete (the netns stays: start again
#                                 with rt_runc_start NAME)
#   rt_runc_start NAME            run the stopped container's bundle again
#   rt_runc_rm NAME               stop + remove bundle and netns
#
#   podman (rootful, cgroupfs manager, CNI bridge network):
#   rt_podman_setup               private storage/config/network config under
#                                 $TMPD, image $RT_PIMAGE (busybox), network
#                                 $RT_PNET on a free 198.18.X.0/24 ($RT_PSUBNET
#                                 = 198.18.X, the host's address on its bridge
#                                 is $RT_PGW), cgroup parent $RT_PPARENT =
#                                 /cgpolicy-test-$TID/podman (a test cgroup:
#                                 policies on it never reach other containers)
#   rt_podman ARGS...             podman with the private storage and config
#   rt_podman_run_detached [OPTS...] IMAGE CMD...
#                                 `podman run -d` on $RT_PNET under $RT_PPARENT
#                                 with the ulimits this host allows; prints the
#                                 container id. OPTS are the leading arguments
#                                 starting with "-"; give values as --opt=value
#                                 (--ip=198.18.X.5, --publish=$RT_PGW:8000:8080)
#   rt_podman_run_many N [OPTS...] IMAGE CMD...
#                                 N of them, $RT_JOBS (default 4) at a time;
#                                 prints the ids, one a line
#   rt_podman_create [OPTS...] IMAGE CMD...   the same with `podman create`
#   rt_podman_cgroup ID           its cgroup: $RT_PPARENT/libpod-<full id>
#   rt_podman_cleanup             remove containers, network, image, storage
#                                 and what podman/CNI left on the host
#                                 (iptables chains, /var/lib/cni/networks/NET,
#                                 /libpod_parent in every hierarchy if it made
#                                 it); called by the EXIT trap; idempotent
#
#   docker (a private dockerd: cgroupfs driver, --iptables=false, published
#   ports through docker-proxy); $RT_DNET, $RT_DSUBNET, $RT_DGW, $RT_DIMAGE,
#   $RT_DPARENT (/cgpolicy-test-$TID/docker) like podman's:
#   rt_docker_setup               start dockerd, import the image, create the
#                                 network; returns 1 with the reason in $RT_WHY
#                                 when dockerd cannot run here
#   rt_docker ARGS...             docker CLI (/usr/bin/docker) on that daemon
#   rt_docker_run_detached [OPTS...] IMAGE CMD...   like podman's
#   rt_docker_run_many N [OPTS...] IMAGE CMD...
#   rt_docker_create [OPTS...] IMAGE CMD...
#   rt_docker_cgroup ID           $RT_DPARENT/<full id>
#   rt_docker_cleanup             containers, network, image, dockerd and its
#                                 containerd, their dirs, what they left
#
#   rt_suite RT                   the checks runtimes_*.sh run (see below)
#
# Example, 100 container starts whose entrypoint connects at once to a denied
# server (the server, policy and counting are the test's own):
#   . "$(dirname "$0")/lib.sh"; e2e_init
#   . "$(dirname "$0")/rtlib.sh"; rt_init || exit 1
#   rt_podman_setup || skip_all "$RT_WHY"
#   P=$(rand_port); mkcg srv >/dev/null; tcp_server srv "$RT_PGW" "$P"
#   POL=$(printf '[ctrs]\ncgroup = %s/libpod-*\ndefault_egress = deny\n' "$RT_PPARENT" |
#         write_policy policy.ini)
#   start_agent "$POL"
#   rt_podman_run_many 100 "$RT_PIMAGE" sh -c "nc -w 2 $RT_PGW $P </dev/null; sleep 5"
#   # ... count the connections the server saw: 0

RT_ROOTFS=""
RT_WHY=""
RT_NEW_PATHS=()		# host paths absent at rt_init: removed (empty dirs only) at exit
RT_CHAINS0=""		# iptables chains at rt_init
RT_NETS=()		# runtime network names (their iptables rules are removed)
RT_LINKS=()		# links (bridges) made by the test
RT_CG_PARENTS=()	# cgroup dirs (relative to the mounts) to rmdir in every hierarchy
RT_CGV1=()		# cgroup v1 mount points
RT_PODMAN_UP=0
RT_DOCKER_UP=0
RT_RUNC_UP=0

rt_have() {
	local c
	for c in "$@"; do command -v "$c" >/dev/null 2>&1 || return 1; done
}

rt_init() {
	local h t
	[ -n "$TMPD" ] || { echo "rt_init: call e2e_init first" >&2; return 1; }
	while read -r h; do RT_CGV1+=("$h"); done < <(awk '{ for (i = 1; i <= NF; i++) if ($i == "-") { if ($(i+1) == "cgroup") print $5; break } }' /proc/self/mountinfo)
	for t in /var/lib/cni /var/lib/cni/networks /var/lib/cni/results /opt/containerd /run/docker /etc/docker /run/netns; do
		[ -e "$t" ] || RT_NEW_PATHS+=("$t")
	done
	RT_CHAINS0=$(rt_ipt_chains)
	RT_CG_PARENTS+=("cgpolicy-test-$TID")	# runc's cgroupsPath parent, also in the v1 hierarchies
	RT_ROOTFS=$TMPD/rootfs
	rt_mkrootfs "$RT_ROOTFS" || return 1
	trap rt_exit EXIT
}

# A busybox rootfs: every applet as a symlink, /etc/passwd and /etc/group.
rt_mkrootfs() {	# DIR
	local bb
	bb=$(command -v busybox) || { echo "rt: busybox not installed (apt-get install busybox-static)" >&2; return 1; }
	mkdir -p "$1"/{bin,etc,proc,sys,dev,tmp,www,root} || return 1
	cp "$bb" "$1/bin/busybox" || return 1
	chroot "$1" /bin/busybox --install -s /bin || { echo "rt: busybox --install failed (is busybox static?)" >&2; return 1; }
	echo 'root:x:0:0:root:/root:/bin/sh' > "$1/etc/passwd"
	echo 'root:x:0:' > "$1/etc/group"
	: > "$1/etc/hosts"
	: > "$1/etc/resolv.conf"
}

rt_exit() {
	local rc=$?
	rt_docker_cleanup
	rt_podman_cleanup
	rt_runc_cleanup
	rt_host_cleanup
	(exit "$rc")
	e2e_cleanup
}

# ---- host state ----

rt_ipt_chains() {	# TABLE:CHAIN per line, IPv4 and IPv6
	local ipt t
	for ipt in iptables ip6tables; do
		command -v "$ipt" >/dev/null || continue
		for t in filter nat mangle; do
			"$ipt" -w -t "$t" -S 2>/dev/null | awk -v p="$ipt:$t" '$1 == "-N" { print p ":" $2 }'
		done
	done
}

# Remove what runtimes left in iptables: the rules naming our networks, then
# the CNI-/NETAVARK-/DOCKER- chains that did not exist at rt_init. While a
# chain of that family still holds another container's rules (addresses,
# ports: another test run uses them; the last one out removes the rest), only
# empty chains nothing jumps to go. A chain is removed with the jumps to it
# from the built-in chains, once nothing else jumps to it. Chains of a family
# that a runtime test created (marked in $LOCKDIR) are removed by the last
# runtime test to finish, even if they existed when it started; chains the
# host had before any test are never touched.
rt_ipt_cleanup() {
	local ipt t line net c pass changed rules fam busy mark others ours u
	for ipt in iptables ip6tables; do
		command -v "$ipt" >/dev/null || continue
		for t in filter nat mangle; do
			for net in "${RT_NETS[@]}"; do
				while read -r line; do
					eval "$ipt -w -t $t ${line/#-A /-D }" 2>/dev/null
				done < <("$ipt" -w -t "$t" -S 2>/dev/null | grep -F -- "name: \\\"$net\\\"")
			done
		done
		for fam in CNI NETAVARK DOCKER; do
			# chains a runtime test made (marker in LOCKDIR) go with the last
			# such test, also when they existed at this test's start
			mark=$LOCKDIR/rt-made-$ipt-$fam
			if ! grep -qE "^$ipt:[a-z]+:$fam(-|\$)" <<<"$RT_CHAINS0" &&
			   { "$ipt" -w -S; "$ipt" -w -t nat -S; "$ipt" -w -t mangle -S; } 2>/dev/null |
				grep -qE "^-N $fam(-|\$)"; then
				mkdir -p "$mark" 2>/dev/null	# none at our start, some now: a test made them
			fi
			others=0
			for u in "$LOCKDIR"/rtuser-*/owner; do
				[ -e "$u" ] && [ "$(cat "$u" 2>/dev/null)" != "$$" ] && alive "$(cat "$u" 2>/dev/null)" && others=1
			done
			ours=0
			[ -d "$mark" ] && [ $others = 0 ] && ours=1
			busy=0
			for t in filter nat mangle; do
				"$ipt" -w -t "$t" -S 2>/dev/null | grep -E -- "^-A $fam(-[^ ]*)? " |
					grep -qE -- ' -[sd] |--dports|dnat name' && busy=1
			done
			for t in filter nat mangle; do
				for pass in 1 2 3 4 5; do
					changed=0
					rules=$("$ipt" -w -t "$t" -S 2>/dev/null)
					for c in $(awk '$1 == "-N" { print $2 }' <<<"$rules" | grep -E "^$fam(-|\$)"); do
						[ $ours = 0 ] && grep -qxF "$ipt:$t:$c" <<<"$RT_CHAINS0" && continue
						# in use: only an empty chain nothing jumps to goes
						[ $busy = 1 ] && grep -qE -- "^-A $c |-j $c( |\$)" <<<"$rules" && continue
						grep -E -- "^-A [^ ]+ .*-j $c( |\$)" <<<"$rules" |
							grep -qvE -- '^-A (PREROUTING|INPUT|FORWARD|OUTPUT|POSTROUTING) ' && continue
						while read -r line; do
							eval "$ipt -w -t $t ${line/#-A /-D }" 2>/dev/null
						done < <(grep -E -- "^-A [^ ]+ .*-j $c( |\$)" <<<"$rules")
						"$ipt" -w -t "$t" -F "$c" 2>/dev/null
						"$ipt" -w -t "$t" -X "$c" 2>/dev/null && changed=1
					done
					[ $changed = 1 ] || break
				done
			done
			[ $ours = 1 ] && [ $busy = 0 ] && rmdir "$mark" 2>/dev/null
		done
	done
}

# rmdir every empty directory below and including DIR, deepest first (on
# cgroupfs: every cgroup without processes). Never removes a file.
rt_rmdirs() {
	[ -d "$1" ] || return 0
	find "$1" -depth -type d -exec rmdir {} + 2>/dev/null
	[ ! -d "$1" ]
}

rt_host_cleanup() {
	local p h
	rt_ipt_cleanup
	for p in "${RT_LINKS[@]}"; do ip link del "$p" 2>/dev/null; done
	for p in "${RT_CG_PARENTS[@]}"; do
		for h in "${RT_CGV1[@]}"; do
			rt_rmdirs "$h/$p"
		done
		[ -n "$CGMNT" ] && [ "$p" != "cgpolicy-test-$TID" ] && rt_rmdirs "$CGMNT/$p"
	done
	for p in "${RT_NETS[@]}"; do rm -rf "/var/lib/cni/networks/$p"; done
	for p in "${RT_NEW_PATHS[@]}"; do rt_rmdirs "$p"; done
	rt_umount_under "$TMPD"
}

# Unmount whatever a runtime left mounted under DIR (overlays, netns, shm),
# so that removing DIR never walks into a mount.
rt_umount_under() {
	local m
	[ -n "$1" ] || return 0
	for m in $(awk -v d="$1/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r); do
		umount -l "$m" 2>/dev/null
	done
}

# ---- cgroups and the agent ----

rt_cgroup_of() {	# PID
	sed -n 's/^0:://p' "/proc/$1/cgroup"
}

# status lists CGPATH with the id its directory has now, attached.
rt_policed() {	# CGPATH
	local id
	id=$(stat -c %i "$CGMNT$1" 2>/dev/null) || return 1
	cgp status --json 2>/dev/null | python3 -c '
import json, sys
s = json.load(sys.stdin)
sys.exit(0 if any(p["cgroup"] == sys.argv[1] and p["cgroup_id"] == int(sys.argv[2]) and p["attached"]
                  for p in s["policies"]) else 1)' "$CGMNT$1" "$id"
}

# How long the agent may take to attach a new cgroup. A restart (the cgroup
# removed and made again) costs the agent a rescan and an apply, often two
# (the removal and the re-creation fall into two rescans), and rt_suite
# restarts two containers back to back: on the 2-CPU host beside stress-ng
# and a concurrent CI run, the second container was listed again up to 17 s
# after its restart (60 back-to-back re-creations, none missed); a full
# suite run beside a TCG VM is slower still. The 30 s this waited before is
# the likely cause of the one failure of runtimes_runc.sh's restart checks 18
# and 22 (open not listed again in time, then its deny not counted on its
# row). Generous: it costs nothing when the attach comes.
RT_WAIT_ATTACH=${E2E_WAIT_ATTACH:-$((2 * WAIT_AGENT))}

rt_wait_policed() {	# CGPATH [SECONDS]
	local t0 rc
	t0=$(date +%s%N)
	wait_for "${2:-$RT_WAIT_ATTACH}" rt_policed "$1"; rc=$?
	echo "# $1: $([ $rc = 0 ] && echo policed || echo "not policed") after $(( ($(date +%s%N) - t0) / 1000000 )) ms"
	return $rc
}

rt_unlisted() {	# CGPATH
	cgp status --json 2>/dev/null | python3 -c '
import json, sys
s = json.load(sys.stdin)
sys.exit(1 if any(p["cgroup"] == sys.argv[1] for p in s["policies"]) else 0)' "$CGMNT$1"
}

# denied_packets of CGPATH's DIRECTION (ingress|egress) in status, 0 when unlisted.
rt_denied() {	# CGPATH DIRECTION
	cgp status --json 2>/dev/null | python3 -c '
import json, sys
s = json.load(sys.stdin)
print(sum(p["counters"][sys.argv[2]]["denied_packets"] for p in s["policies"] if p["cgroup"] == sys.argv[1]))' "$CGMNT$1" "$2"
}

# A TCP listener on PORT in the network namespace of PID.
rt_listening() {	# PID PORT
	nsenter -t "$1" -n ss -Htln "sport = :$2" 2>/dev/null | grep -q .
}

# Link pins of cgroups that no longer exist. A pin name holds the id (inode)
# of its cgroup: ID_KIND, or KIND_ID_... for pins on a glob's parent.
rt_stale_links() {
	local f id
	for f in $(ls "$PIN/links" 2>/dev/null); do
		id=$(grep -oE '[0-9]+' <<<"$f" | head -n 1)
		[ -n "$id" ] || continue
		[ -n "$(find "$CGMNT" -xdev -type d -inum "$id" -print -quit 2>/dev/null)" ] || echo "$f"
	done
}

# busybox httpd on the host, in test cgroup CG, bound to ADDR:PORT.
rt_http_server() {	# CG ADDR PORT TEXT
	local d=$TMPD/www-$2-$3
	mkdir -p "$d" && echo "$4" > "$d/index.html"
	bg_in_cg "$1" busybox httpd -f -p "$2:$3" -h "$d"
	wait_listen tcp "$3"
}

# The third octet of a 198.18.X.0/24 no interface or route uses now,
# reserved against concurrent test runs (lib.sh's reserve).
rt_free_subnet() {
	local used x i
	used=$(ip -4 -o addr show; ip -4 route show table all)
	x=$(( (${TID#cgpt} + RANDOM) % 200 + 20 ))
	for i in $(seq 250); do
		if ! grep -q "198\.18\.$x\." <<<"$used" && reserve "net-198.18.$x"; then
			echo "$x"
			return 0
		fi
		x=$(( x % 250 + 1 ))
	done
	echo "rt: no free 198.18.X.0/24" >&2
	return 1
}

# Run RUNFN ARGS... N times, RT_JOBS at a time; prints what each printed
# (the container ids); fails when one failed.
rt_run_many() {	# RUNFN N ARGS...
	local fn=$1 n=$2 i rc=0 d p run=() pids=()
	shift 2
	d=$(mktemp -d "$TMPD/many.XXXXXX")
	for i in $(seq "$n"); do
		while :; do	# at most RT_JOBS of ours at a time (the test's other jobs do not count)
			run=()
			for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && run+=("$p"); done
			[ "${#run[@]}" -lt "${RT_JOBS:-4}" ] && break
			wait -n "${run[@]}"	# until one of ours ends
		done
		{ "$fn" "$@" > "$d/$i" 2> "$d/$i.err" || echo "$?" > "$d/$i.rc"; } &
		pids+=($!)
	done
	wait "${pids[@]}" 2>/dev/null	# (those wait -n collected are no longer children)
	for i in $(seq "$n"); do
		[ -e "$d/$i.rc" ] && { rc=1; echo "# start $i failed: $(tail -n 2 "$d/$i.err")" >&2; }
		cat "$d/$i"
	done
	rm -rf "$d"
	return $rc
}

# Split "[OPTS...] IMAGE CMD..." into RT_OPTS and RT_REST.
rt_split_opts() {
	RT_OPTS=()
	while [ $# -gt 0 ] && [ "${1#-}" != "$1" ]; do RT_OPTS+=("$1"); shift; done
	RT_REST=("$@")
}

# ---- the checks every runtime gets ----
#
# rt_suite RT: two containers, "open" and "r", on the runtime's network, each
# serving "ctr NAME" over HTTP on port 8080 (busybox httpd); three servers on
# the host's address on that network ($RT_GW) on ports PA, PB, PC. Policy: a
# glob naming the "open" container only (listed first) and a glob for every
# container of the runtime:
#   open: egress to PA, PB and to port 8080 of the subnet; ingress to 8080
#   r:    egress to PA only; ingress to 8080 only from open's address
# Checks from inside the containers (busybox wget, `exec` into the running
# container, so after the agent attached it), from the host to the containers
# (directly and through published ports when the runtime publishes), after a
# restart (new cgroup, same name) and after removal (nothing left).
# A deny passes only when the client got nothing AND the container's cgroup
# counted a denied packet in that direction during the attempt.
#
# The runtime is driven through adapter functions:
#   ${RT}_new NAME IP HOSTPORT   create, not start; sets RT_H to its handle
#                                (not run in a subshell: it may register cleanups)
#   ${RT}_start HANDLE...   ${RT}_restart HANDLE   ${RT}_rm HANDLE
#   ${RT}_exec HANDLE CMD...     ${RT}_pid HANDLE    ${RT}_cgroup HANDLE
#   ${RT}_glob_one HANDLE        the glob naming that container only
# and RT_GW, RT_SUBNET (198.18.X), RT_GLOB_ALL, RT_PUBLISH (1: HOSTPORT is
# published on $RT_GW).
rt_suite() {	# RT
	local rt=$1 p h_open h_r ip_open=$RT_SUBNET.10 ip_r=$RT_SUBNET.11 cg_open cg_r pol id0 id_r
	p=$(rand_port) || return 1
	PA=$p PB=$((p + 1)) PC=$((p + 2))
	local hp_open=$((p + 3)) hp_r=$((p + 4))
	RT=$rt
	"${rt}_new" open "$ip_open" "$hp_open" || { not_ok "$rt: create container open"; return 1; }
	h_open=$RT_H
	"${rt}_new" r "$ip_r" "$hp_r" || { not_ok "$rt: create container r"; return 1; }
	h_r=$RT_H
	pol=$(write_policy policy.ini <<EOF
[agent]
stats_interval = 0

; one container (listed before the glob for every container: the first glob wins)
[open]
cgroup = $("${rt}_glob_one" "$h_open")
default_egress = deny
default_ingress = deny
allow = out tcp $RT_GW port $PA,$PB
allow = out tcp $RT_SUBNET.0/24 port 8080
allow = in tcp any port 8080

[ctrs]
cgroup = $RT_GLOB_ALL
default_egress = deny
default_ingress = deny
allow = out tcp $RT_GW port $PA
allow = in tcp $ip_open port 8080
EOF
)
	# The runtime makes the glob's parent directory at the first container
	# (podman, docker): the agent starts before it exists, as at boot.
	echo "# $rt: ${RT_GLOB_ALL%/*} exists at agent start: $([ -d "$CGMNT${RT_GLOB_ALL%/*}" ] && echo yes || echo no)"
	check "$rt: agent starts with globs over the runtime's cgroups ($RT_GLOB_ALL)" start_agent "$pol" || return 1
	"${rt}_start" "$h_open" "$h_r" || { not_ok "$rt: start the containers"; return 1; }
	cg_open=$("${rt}_cgroup" "$h_open")
	cg_r=$("${rt}_cgroup" "$h_r")
	expect_eq "$rt: the container runs in the cgroup2 directory $cg_open" \
		"$(rt_cgroup_of "$("${rt}_pid" "$h_open")")" "$cg_open"
	mkcg host >/dev/null
	for p in "$PA" "$PB" "$PC"; do rt_http_server host "$RT_GW" "$p" "host $p" || return 1; done
	check "$rt: agent attached the per-container policy" rt_wait_policed "$cg_open"
	check "$rt: agent attached the policy for every container" rt_wait_policed "$cg_r"
	expect_eq "$rt: status: the first glob wins (open has policy \"open\")" "$(rt_policy_of "$cg_open")" open
	expect_eq "$rt: status: r has policy \"ctrs\"" "$(rt_policy_of "$cg_r")" ctrs
	wait_for "$WAIT_SERVER" rt_servers_listen "$("${rt}_pid" "$h_open")" "$("${rt}_pid" "$h_r")" ||
		echo "# $rt: a container's server did not listen" >&2

	check "$rt: open -> host:$PA allowed" rt_can "$h_open" "$RT_GW" "$PA"
	check "$rt: open -> host:$PB allowed (this container only)" rt_can "$h_open" "$RT_GW" "$PB"
	check "$rt: open -> host:$PC denied" rt_cannot "$h_open" "$cg_open" egress "$RT_GW" "$PC"
	check "$rt: r -> host:$PA allowed" rt_can "$h_r" "$RT_GW" "$PA"
	check "$rt: r -> host:$PB denied" rt_cannot "$h_r" "$cg_r" egress "$RT_GW" "$PB"
	check "$rt: open -> r:8080 allowed (container to container)" rt_can "$h_open" "$ip_r" 8080 "ctr r"
	check "$rt: r -> open:8080 denied (container to container, r's egress)" rt_cannot "$h_r" "$cg_r" egress "$ip_open" 8080
	check "$rt: host -> open:8080 allowed (server in the container)" rt_host_can "$ip_open" 8080 "ctr open"
	check "$rt: host -> r:8080 denied (r's ingress)" rt_host_cannot "$cg_r" "$ip_r" 8080
	if [ "${RT_PUBLISH:-0}" = 1 ]; then
		check "$rt: host -> published port $RT_GW:$hp_open of open allowed" rt_host_can "$RT_GW" "$hp_open" "ctr open"
		check "$rt: host -> published port $RT_GW:$hp_r of r denied" rt_host_cannot "$cg_r" "$RT_GW" "$hp_r"
	fi

	# --- restart: a new cgroup under the same name ---
	id0=$(stat -c %i "$CGMNT$cg_r")
	"${rt}_restart" "$h_r" || not_ok "$rt: restart r"
	"${rt}_restart" "$h_open" || not_ok "$rt: restart open"
	check "$rt: restarted r runs in a new cgroup (new id)" test "$(stat -c %i "$CGMNT$cg_r" 2>/dev/null)" != "$id0"
	check "$rt: restarted r: the agent attached its new cgroup" rt_wait_policed "$cg_r"
	check "$rt: restarted open: the agent attached its new cgroup" rt_wait_policed "$cg_open"
	wait_for "$WAIT_SERVER" rt_servers_listen "$("${rt}_pid" "$h_open")" "$("${rt}_pid" "$h_r")" ||
		echo "# $rt: a container's server did not listen after the restart" >&2
	check "$rt: restarted r -> host:$PA allowed" rt_can "$h_r" "$RT_GW" "$PA"
	check "$rt: restarted r -> host:$PB denied" rt_cannot "$h_r" "$cg_r" egress "$RT_GW" "$PB"
	check "$rt: restarted open -> host:$PB allowed" rt_can "$h_open" "$RT_GW" "$PB"
	check "$rt: restarted open -> host:$PC denied" rt_cannot "$h_open" "$cg_open" egress "$RT_GW" "$PC"
	check "$rt: restarted: open -> r:8080 allowed" rt_can "$h_open" "$ip_r" 8080 "ctr r"
	check "$rt: restarted: host -> r:8080 denied" rt_host_cannot "$cg_r" "$ip_r" 8080

	# --- removal: nothing left ---
	id_r=$(stat -c %i "$CGMNT$cg_r")
	check "$rt: r has its link pins" test -e "$PIN/links/${id_r}_ingress"
	"${rt}_rm" "$h_r" || not_ok "$rt: remove r"
	check "$rt: removed container's cgroup is gone" wait_for "$RT_WAIT_ATTACH" test ! -e "$CGMNT$cg_r"
	check "$rt: removed container is gone from status" wait_for "$RT_WAIT_ATTACH" rt_unlisted "$cg_r"
	check "$rt: removed container: no link pins left" wait_for "$RT_WAIT_ATTACH" rt_no_pins "$id_r"
	expect_eq "$rt: no stale link pins" "$(rt_stale_links)" ""
	check "$rt: the other container is still policed" rt_policed "$cg_open"
	check "$rt: open -> host:$PC still denied" rt_cannot "$h_open" "$cg_open" egress "$RT_GW" "$PC"
	check "$rt: no error in the agent log" bash -c "! grep -qi 'error' '$TMPD/agent.log'"
}

rt_no_pins() {	# CGROUP_ID
	! ls "$PIN/links" 2>/dev/null | grep -q "^$1_"
}

rt_policy_of() {	# CGPATH : the policy name status shows for it
	cgp status --json 2>/dev/null | python3 -c '
import json, sys
print(*[p["name"] for p in json.load(sys.stdin)["policies"] if p["cgroup"] == sys.argv[1]])' "$CGMNT$1"
}

# A denied TCP connection is a SYN dropped at the cgroup: the client hears
# nothing until its timeout. A deny check waits RT_DENY_SECS for an answer
# (the denied-packet counter, not the timeout, proves the deny).
RT_DENY_SECS=${RT_DENY_SECS:-2}

# wget inside the container: the body, empty when it failed
rt_get() {	# HANDLE ADDR PORT [SECONDS]
	"${RT}_exec" "$1" timeout "${4:-3}" wget -q -O - "http://$2:$3/" 2>/dev/null
}

rt_get_is() {	# HANDLE ADDR PORT WANT
	[ "$(rt_get "$1" "$2" "$3")" = "$4" ]
}

# allowed: the expected body ("host PORT" by default) within GET_SECS
rt_can() {	# HANDLE ADDR PORT [WANT]
	wait_for "${GET_SECS:-20}" rt_get_is "$1" "$2" "$3" "${4:-host $3}"
}

rt_denied_gt() {	# CGPATH DIRECTION N
	[ "$(rt_denied "$1" "$2")" -gt "$3" ]
}

# denied: nothing came back and the cgroup counted a denied packet in that
# direction since the first attempt. An attempt that got nothing and left no
# count yet (the client did not get to send within RT_DENY_SECS on a busy
# machine; an ingress drop counted in a softirq that has not run yet) is made
# again, until GET_SECS; an answer fails at once.
rt_cannot() {	# HANDLE CGPATH ingress|egress ADDR PORT
	rt_deny_try 'rt_get "$1" "$4" "$5" "$RT_DENY_SECS"' "$2" "$3" "$@"
}

rt_deny_try() {	# CODE CGPATH DIRECTION ARGS... : CODE sees ARGS as $1...
	local code=$1 cg=$2 dir=$3 n0 out tries=0 end
	shift 3
	n0=$(rt_denied "$cg" "$dir")
	[ -n "$n0" ] || { echo "# no deny counter for $cg in status" >&2; return 1; }
	end=$(( $(date +%s%N) + ${GET_SECS:-20} * 1000000000 ))
	while :; do
		tries=$((tries + 1))
		out=$(eval "$code")
		[ -z "$out" ] || { echo "# got '$out'" >&2; return 1; }
		rt_denied_gt "$cg" "$dir" "$n0" && return 0
		[ "$(date +%s%N)" -lt "$end" ] || break
	done
	echo "# nothing came back, but $cg counted no $dir deny in $tries tries (${GET_SECS:-20} s)" >&2
	return 1
}

rt_host_get() {	# ADDR PORT [SECONDS]
	in_cg host curl -s --max-time "${3:-3}" "http://$1:$2/"
}

rt_host_get_is() {	# ADDR PORT WANT
	[ "$(rt_host_get "$1" "$2")" = "$3" ]
}

rt_host_can() {	# ADDR PORT WANT
	wait_for "${GET_SECS:-20}" rt_host_get_is "$1" "$2" "$3"
}

rt_host_cannot() {	# CGPATH ADDR PORT : the container's ingress denied it
	rt_deny_try 'rt_host_get "$2" "$3" "$RT_DENY_SECS"' "$1" ingress "$@"
}

rt_servers_listen() {	# PID...
	local p
	for p in "$@"; do rt_listening "$p" 8080 || return 1; done
}

# ---- runc ----

rt_runc_setup() {
	local x
	rt_have runc ip || { RT_WHY="runc or ip not installed"; return 1; }
	x=$(rt_free_subnet) || { RT_WHY="no free subnet"; return 1; }
	RT_RSUBNET=198.18.$x
	RT_RGW=$RT_RSUBNET.1
	RT_RBR=cgb${TID#cgpt}
	RT_RROOT=$TMPD/runc
	mkdir -p "$RT_RROOT"
	ip link add "$RT_RBR" type bridge || { RT_WHY="cannot create a bridge"; return 1; }
	RT_LINKS+=("$RT_RBR")
	ip addr add "$RT_RGW/24" dev "$RT_RBR" && ip link set "$RT_RBR" up || return 1
	RT_RUNC_UP=1
}

rt_runc() {
	runc --root "$RT_RROOT" "$@"
}

rt_runc_run() {	# NAME IP CMD...
	rt_runc_create "$@" && rt_runc_start "$1"
}

# The bundle and the network namespace, not started yet.
rt_runc_create() {	# NAME IP CMD...
	local name=$1 ip=$2 b=$TMPD/bundle-$1 ns=${TID}-$1 v
	shift 2
	v=cgv${TID#cgpt}${#NETNS[@]}
	ip netns add "$ns" || return 1
	NETNS+=("$ns")
	ip link add "$v" type veth peer name eth0 netns "$ns" || return 1
	ip link set "$v" master "$RT_RBR" up &&
	ip -n "$ns" addr add "$ip/24" dev eth0 &&
	ip -n "$ns" link set eth0 up &&
	ip -n "$ns" link set lo up &&
	ip -n "$ns" route add default via "$RT_RGW" || return 1
	mkdir -p "$b" && cp -a "$RT_ROOTFS" "$b/rootfs" || return 1
	(cd "$b" && runc spec) || return 1
	python3 - "$b/config.json" "/cgpolicy-test-$TID/$name" "/run/netns/$ns" "$name" "$@" <<'EOF' || return 1
import json, sys
f, cgpath, netns, name, args = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
c = json.load(open(f))
c["process"]["terminal"] = False
c["process"]["args"] = args
c["root"] = {"path": "rootfs", "readonly": False}
c["hostname"] = name
c["linux"]["cgroupsPath"] = cgpath
c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "network"] + \
    [{"type": "network", "path": netns}]
json.dump(c, open(f, "w"), indent=1)
EOF
}

rt_runc_start() {	# NAME
	(cd "$TMPD/bundle-$1" && rt_runc run -d --pid-file "$TMPD/bundle-$1/pid" "$1" \
		</dev/null >>"$TMPD/bundle-$1/log" 2>&1) ||
		{ echo "rt: runc run $1 failed: $(tail -n 3 "$TMPD/bundle-$1/log")" >&2; return 1; }
}

rt_runc_exec() {	# NAME CMD...
	local n=$1
	shift
	rt_runc exec "$n" "$@" </dev/null
}

rt_runc_pid() {
	cat "$TMPD/bundle-$1/pid"
}

# Stopped: runc no longer knows it and its cgroup is gone. (runc delete
# removes the cgroup once; should the killed process still be exiting then, the
# directory stays and a restart would join it: it is removed here once empty.)
rt_runc_stop() {	# NAME
	local cg=$CGMNT/cgpolicy-test-$TID/$1
	rt_runc kill "$1" KILL 2>/dev/null
	rt_runc delete -f "$1" 2>/dev/null
	! rt_runc state "$1" >/dev/null 2>&1 || return 1
	wait_for "$WAIT_SERVER" rt_rmdirs "$cg" && return 0
	echo "rt: the cgroup of $1 is still there: $(cat "$cg/cgroup.procs" 2>/dev/null | tr '\n' ' ')" >&2
	return 1
}

rt_runc_rm() {	# NAME
	rt_runc_stop "$1"
	ip netns del "$TID-$1" 2>/dev/null
	rm -rf "$TMPD/bundle-$1"
}

rt_runc_cleanup() {
	local c
	[ "$RT_RUNC_UP" = 1 ] || return 0
	for c in $(rt_runc list -q 2>/dev/null); do rt_runc_stop "$c"; done
	RT_RUNC_UP=0
}

# ---- podman ----

rt_podman_setup() {
	local x d
	rt_have podman runc conmon || { RT_WHY="podman, runc or conmon not installed"; return 1; }
	d=$TMPD/podman
	RT_PD=$d
	mkdir -p "$d/net" "$d/tmp" "$d/home" || return 1
	cat > "$d/containers.conf" <<EOF || return 1
[containers]
ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$d/events.log"
tmp_dir = "$d/tmp"
[network]
network_config_dir = "$d/net"
default_subnet = "198.18.254.0/24"
EOF
	cat > "$d/storage.conf" <<EOF || return 1
[storage]
driver = "overlay"
graphroot = "$d/root"
runroot = "$d/runroot"
EOF
	local h
	for h in "${RT_CGV1[@]}" "$CGMNT"; do
		[ -e "$h/libpod_parent" ] || { RT_CG_PARENTS+=("libpod_parent"); break; }
	done
	RT_PODMAN_UP=1
	reserve "rtuser-$TID" || true	# a runtime test runs: see rt_ipt_cleanup
	RT_PPARENT=/cgpolicy-test-$TID/podman	# made by podman at the first container
	RT_PIMAGE=localhost/cgpt-bb:$TID
	tar -C "$RT_ROOTFS" -c . | rt_podman import - "$RT_PIMAGE" >/dev/null 2>"$d/import.log" ||
		{ RT_WHY="podman import failed: $(tail -n 2 "$d/import.log")"; return 1; }
	x=$(rt_free_subnet) || { RT_WHY="no free subnet"; return 1; }
	RT_PSUBNET=198.18.$x
	RT_PGW=$RT_PSUBNET.1
	RT_PNET=$TID-net
	RT_NETS+=("$RT_PNET")
	rt_podman network create --subnet "$RT_PSUBNET.0/24" "$RT_PNET" >/dev/null ||
		{ RT_WHY="podman network create failed"; return 1; }
	# CNI makes the bridge at the first container; made now (CNI takes it
	# as it is), servers can listen on $RT_PGW before any container runs.
	RT_PBR=$(rt_podman network inspect -f '{{.NetworkInterface}}' "$RT_PNET") && [ -n "$RT_PBR" ] ||
		{ RT_WHY="podman network inspect: no bridge name"; return 1; }
	if ! ip link show "$RT_PBR" >/dev/null 2>&1; then
		ip link add "$RT_PBR" type bridge || { RT_WHY="cannot create bridge $RT_PBR"; return 1; }
		RT_LINKS+=("$RT_PBR")
		ip addr add "$RT_PGW/24" dev "$RT_PBR" && ip link set "$RT_PBR" up ||
			{ RT_WHY="cannot set up bridge $RT_PBR"; return 1; }
	fi
}

rt_podman() {
	HOME=$RT_PD/home TMPDIR=$RT_PD/tmp CONTAINERS_CONF=$RT_PD/containers.conf \
	CONTAINERS_STORAGE_CONF=$RT_PD/storage.conf CONTAINERS_REGISTRIES_CONF=$RT_PD/registries.conf \
		podman --root "$RT_PD/root" --runroot "$RT_PD/runroot" --tmpdir "$RT_PD/tmp" \
		--network-config-dir "$RT_PD/net" --cgroup-manager cgroupfs --events-backend file "$@"
}

rt_podman_run_detached() {	# [OPTS...] IMAGE CMD...
	rt_split_opts "$@"
	rt_podman run -d --network "$RT_PNET" --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 \
		--cgroup-parent "$RT_PPARENT" "${RT_OPTS[@]}" "${RT_REST[@]}"
}

# N containers, RT_JOBS (4) started at a time; prints their ids, one a line.
rt_podman_run_many() {	# N [OPTS...] IMAGE CMD...
	rt_run_many rt_podman_run_detached "$@"
}

rt_podman_create() {	# [OPTS...] IMAGE CMD...
	rt_split_opts "$@"
	rt_podman create --network "$RT_PNET" --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 \
		--cgroup-parent "$RT_PPARENT" "${RT_OPTS[@]}" "${RT_REST[@]}"
}

rt_podman_cgroup() {	# ID
	echo "$RT_PPARENT/libpod-$(rt_podman inspect -f '{{.Id}}' "$1")"
}

rt_podman_cleanup() {
	[ "$RT_PODMAN_UP" = 1 ] || return 0
	RT_PODMAN_UP=0
	rt_podman rm -a -f -t 0 >/dev/null 2>&1
	rt_podman network rm -f "$RT_PNET" >/dev/null 2>&1
	rt_podman rmi -a -f >/dev/null 2>&1
	rt_podman system reset -f >/dev/null 2>&1
	rt_umount_under "$RT_PD"
	rm -rf "$RT_PD"
}

# ---- docker ----

rt_docker_setup() {
	local x d i
	rt_have dockerd containerd containerd-shim-runc-v2 runc || { RT_WHY="dockerd, containerd or runc not installed"; return 1; }
	RT_DOCKER_CLI=$(PATH=/usr/bin:/bin:$PATH command -v docker) || { RT_WHY="docker CLI not installed"; return 1; }
	d=$TMPD/docker
	RT_DD=$d
	mkdir -p "$d/home" || return 1
	# (the trust key would go to /etc/docker/key.json otherwise)
	printf '{ "deprecated-key-path": "%s" }\n' "$d/key.json" > "$d/daemon.json"
	for i in "${RT_CGV1[@]}" "$CGMNT"; do
		[ -e "$i/docker" ] || { RT_CG_PARENTS+=("docker"); break; }
	done
	RT_DOCKER_UP=1
	reserve "rtuser-$TID" || true
	RT_DPARENT=/cgpolicy-test-$TID/docker	# made by runc at the first container
	dockerd --config-file "$d/daemon.json" --data-root "$d/data" --exec-root "$d/exec" \
		-H "unix://$d/docker.sock" --pidfile "$d/docker.pid" \
		--bridge=none --iptables=false --ip6tables=false --ip-forward=false --ip-masq=false \
		--exec-opt native.cgroupdriver=cgroupfs --containerd-namespace "$TID" \
		--containerd-plugins-namespace "$TID-plugins" --log-level warn >"$d/dockerd.log" 2>&1 &
	RT_DOCKERD=$!
	wait_for "$WAIT_AGENT" rt_docker version >/dev/null 2>&1 ||
		{ RT_WHY="dockerd did not start: $(grep -v '^$' "$d/dockerd.log" | tail -n 3)"; return 1; }
	RT_DIMAGE=cgpt-bb:$TID
	tar -C "$RT_ROOTFS" -c . | rt_docker import - "$RT_DIMAGE" >/dev/null 2>"$d/import.log" ||
		{ RT_WHY="docker import failed: $(tail -n 2 "$d/import.log")"; return 1; }
	x=$(rt_free_subnet) || { RT_WHY="no free subnet"; return 1; }
	RT_DSUBNET=198.18.$x
	RT_DGW=$RT_DSUBNET.1
	RT_DNET=$TID-dnet
	RT_DBR=cgd${TID#cgpt}
	rt_docker network create --subnet "$RT_DSUBNET.0/24" --gateway "$RT_DGW" \
		-o "com.docker.network.bridge.name=$RT_DBR" "$RT_DNET" >/dev/null ||
		{ RT_WHY="docker network create failed"; return 1; }
	RT_LINKS+=("$RT_DBR")
}

rt_docker() {
	HOME=$RT_DD/home DOCKER_CONFIG=$RT_DD/home "$RT_DOCKER_CLI" -H "unix://$RT_DD/docker.sock" "$@"
}

rt_docker_run_detached() {	# [OPTS...] IMAGE CMD...
	rt_split_opts "$@"
	rt_docker run -d --network "$RT_DNET" --cgroup-parent "$RT_DPARENT" "${RT_OPTS[@]}" "${RT_REST[@]}"
}

rt_docker_run_many() {	# N [OPTS...] IMAGE CMD...
	rt_run_many rt_docker_run_detached "$@"
}

rt_docker_create() {	# [OPTS...] IMAGE CMD...
	rt_split_opts "$@"
	rt_docker create --network "$RT_DNET" --cgroup-parent "$RT_DPARENT" "${RT_OPTS[@]}" "${RT_REST[@]}"
}

rt_docker_cgroup() {	# ID
	echo "$RT_DPARENT/$(rt_docker inspect -f '{{.Id}}' "$1")"
}

rt_docker_cleanup() {
	local ids ctd
	[ "$RT_DOCKER_UP" = 1 ] || return 0
	RT_DOCKER_UP=0
	ctd=$(cat "$RT_DD/exec/containerd/containerd.pid" 2>/dev/null)
	if [ -n "${RT_DOCKERD:-}" ] && kill -0 "$RT_DOCKERD" 2>/dev/null; then
		ids=$(rt_docker ps -aq 2>/dev/null)
		[ -n "$ids" ] && rt_docker rm -f $ids >/dev/null 2>&1
		rt_docker network rm "$RT_DNET" >/dev/null 2>&1
		rt_docker rmi -f "$RT_DIMAGE" >/dev/null 2>&1
		kill "$RT_DOCKERD"
		wait_for 20 bash -c "! kill -0 $RT_DOCKERD 2>/dev/null"
		kill -9 "$RT_DOCKERD" 2>/dev/null
		wait "$RT_DOCKERD" 2>/dev/null
	fi
	# dockerd's own containerd, should it outlive dockerd
	if [ -n "$ctd" ] && grep -q "$RT_DD" "/proc/$ctd/cmdline" 2>/dev/null; then
		kill "$ctd"
		wait_for 10 bash -c "! kill -0 $ctd 2>/dev/null" || kill -9 "$ctd" 2>/dev/null
	fi
	rt_umount_under "$RT_DD"
	rm -rf "$RT_DD"
}
