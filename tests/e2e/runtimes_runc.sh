#!/usr/bin/env bash
# Real runc containers: OCI bundles with a busybox rootfs, each in its own
# network namespace (veth on a test bridge, 198.18.X.0/24) and in its own
# cgroup from the bundle's linux.cgroupsPath (/cgpolicy-test-<pid>/ctr-NAME-1),
# policed by `cgpolicy agent` through globs: per-container allow and deny on
# real traffic from inside the containers (busybox wget) to servers on the
# host's bridge address and to the other container, and from the host to the
# containers' servers; a restarted container (stop + start: a new cgroup)
# keeps its policy; a removed one leaves nothing behind. The checks are
# rt_suite in rtlib.sh (runc publishes no ports).
. "$(dirname "$0")/lib.sh"
e2e_init
. "$(dirname "$0")/rtlib.sh"
rt_init || { echo "not ok 1 - rt_init"; echo "0 passed, 1 failed"; exit 1; }
rt_runc_setup || skip_all "$RT_WHY"

RT_GW=$RT_RGW
RT_SUBNET=$RT_RSUBNET
RT_GLOB_ALL=/cgpolicy-test-$TID/ctr-*
RT_PUBLISH=0

runc_new() {	# NAME IP HOSTPORT
	RT_H=ctr-$1-1
	rt_runc_create "$RT_H" "$2" sh -c "echo ctr $1 > /www/index.html; exec httpd -f -p 8080 -h /www"
}
runc_start() {
	local c
	for c in "$@"; do rt_runc_start "$c" || return 1; done
}
runc_restart() { rt_runc_stop "$1" && rt_runc_start "$1"; }
runc_rm() { rt_runc_rm "$1"; }
runc_exec() { rt_runc_exec "$@"; }
runc_pid() { rt_runc_pid "$1"; }
runc_cgroup() { echo "/cgpolicy-test-$TID/$1"; }
runc_glob_one() { echo "/cgpolicy-test-$TID/${1%-1}-*"; }

rt_suite runc
e2e_done
