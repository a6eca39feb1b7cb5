#!/usr/bin/env bash
# Real Docker containers: a private dockerd started by the test (own
# --data-root, --exec-root, socket, config; cgroupfs driver; --iptables=false,
# published ports through docker-proxy), a bridge network on a free
# 198.18.X.0/24, an image imported from a busybox rootfs. Policed by
# `cgpolicy agent` through globs over Docker's cgroup naming (PARENT/<id>;
# the default parent /docker is checked too): per-container allow and deny on
# real traffic from inside the containers (busybox wget) to servers on the
# bridge's host address, to the other container, and from the host to the
# containers directly and through published ports (-p); `docker restart` (a
# new cgroup) keeps the policy; `docker rm` leaves nothing behind. The checks
# are rt_suite in rtlib.sh.
#
# The policed containers run under --cgroup-parent /cgpolicy-test-<pid>/docker
# so that the test's deny policies never reach another container of this host
# (a glob over /docker/* would).
. "$(dirname "$0")/lib.sh"
e2e_init
. "$(dirname "$0")/rtlib.sh"
rt_init || { echo "not ok 1 - rt_init"; echo "0 passed, 1 failed"; exit 1; }
rt_docker_setup || skip_all "$RT_WHY"

RT_GW=$RT_DGW
RT_SUBNET=$RT_DSUBNET
RT_GLOB_ALL=$RT_DPARENT/*
RT_PUBLISH=1

# Docker's default cgroup naming (cgroupfs driver): /docker/<id>
id=$(rt_docker run -d --network "$RT_DNET" "$RT_DIMAGE" sleep 600) &&
	expect_eq "docker: default cgroup is /docker/<id>" \
		"$(rt_cgroup_of "$(rt_docker inspect -f '{{.State.Pid}}' "$id")")" "/docker/$id" ||
	not_ok "docker: run a container with the default cgroup parent"
[ -n "${id:-}" ] && rt_docker rm -f "$id" >/dev/null

docker_new() {	# NAME IP HOSTPORT
	RT_H=$(rt_docker_create --ip="$2" --publish="$RT_DGW:$3:8080" --name="$TID-$1" "$RT_DIMAGE" \
		sh -c "echo ctr $1 > /www/index.html; exec httpd -f -p 8080 -h /www")
}
docker_start() { rt_docker start "$@" >/dev/null; }
docker_restart() { rt_docker restart -t 0 "$1" >/dev/null; }
docker_rm() { rt_docker rm -f "$1" >/dev/null; }
docker_exec() { rt_docker exec "$@"; }
docker_pid() { rt_docker inspect -f '{{.State.Pid}}' "$1"; }
docker_cgroup() { rt_docker_cgroup "$1"; }
docker_glob_one() { echo "$RT_DPARENT/${1:0:12}*"; }

rt_suite docker
e2e_done
