#!/usr/bin/env bash
# Real podman containers (rootful, cgroupfs manager, CNI bridge network on a
# free 198.18.X.0/24, image imported from a busybox rootfs; private storage,
# config and network config: the host's podman setup is never touched),
# policed by `cgpolicy agent` through globs over podman's cgroup naming
# (PARENT/libpod-<id>; the default parent /libpod_parent is checked too):
# per-container allow and deny on real traffic from inside the containers
# (busybox wget) to servers on the bridge's host address, to the other
# container, and from the host to the containers directly and through
# published ports (-p); `podman restart` (a new cgroup) keeps the policy;
# `podman rm` leaves nothing behind. The checks are rt_suite in rtlib.sh.
#
# The policed containers run under --cgroup-parent /cgpolicy-test-<pid>/podman
# so that the test's deny policies never reach another podman container of
# this host (a glob over /libpod_parent/libpod-* would).
. "$(dirname "$0")/lib.sh"
e2e_init
. "$(dirname "$0")/rtlib.sh"
rt_init || { echo "not ok 1 - rt_init"; echo "0 passed, 1 failed"; exit 1; }
rt_podman_setup || skip_all "$RT_WHY"

RT_GW=$RT_PGW
RT_SUBNET=$RT_PSUBNET
RT_GLOB_ALL=$RT_PPARENT/libpod-*
RT_PUBLISH=1

# podman's default cgroup naming (cgroupfs manager): /libpod_parent/libpod-<id>
id=$(rt_podman run -d --network "$RT_PNET" --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 \
	"$RT_PIMAGE" sleep 600) &&
	expect_eq "podman: default cgroup is /libpod_parent/libpod-<id>" \
		"$(rt_cgroup_of "$(rt_podman inspect -f '{{.State.Pid}}' "$id")")" "/libpod_parent/libpod-$id" ||
	not_ok "podman: run a container with the default cgroup parent"
[ -n "${id:-}" ] && rt_podman rm -f -t 0 "$id" >/dev/null

podman_new() {	# NAME IP HOSTPORT
	RT_H=$(rt_podman_create --ip="$2" --publish="$RT_PGW:$3:8080" --name="$TID-$1" "$RT_PIMAGE" \
		sh -c "echo ctr $1 > /www/index.html; exec httpd -f -p 8080 -h /www")
}
podman_start() { rt_podman start "$@" >/dev/null; }
podman_restart() { rt_podman restart -t 0 "$1" >/dev/null; }
podman_rm() { rt_podman rm -f -t 0 "$1" >/dev/null; }
podman_exec() { rt_podman exec "$@"; }
podman_pid() { rt_podman inspect -f '{{.State.Pid}}' "$1"; }
podman_cgroup() { rt_podman_cgroup "$1"; }
podman_glob_one() { echo "$RT_PPARENT/libpod-${1:0:12}*"; }

rt_suite podman
e2e_done
