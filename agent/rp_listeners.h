/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * rp_listeners.h - finding the TCP listeners of a port: sock_diag for the
 * sockets (cookie, cgroup, bound address), /proc/PID/fd + pidfd_getfd for a
 * copy of their fd, and whether a socket's cgroup lies under a backend's.
 * Queries only: nothing here changes the kernel's state.
 */
#ifndef CGP_RP_LISTENERS_H
#define CGP_RP_LISTENERS_H

#include <stdbool.h>
#include <linux/types.h>

#include "bpf/reuseport.h"

/* A listener found by sock_diag. */
struct rp_listener {
	__u64 cookie;
	__u64 cgid;		/* cgroup of the socket */
	__u32 ino;
	__u32 ifindex;
	__u16 family;
	__u16 port;
	__u8  addr[16];		/* IPv4 as ::ffff:a.b.c.d */
	int fd;			/* our copy (pidfd_getfd), -1 until needed */
	bool held;		/* some process holds it (seen in /proc/PID/fd) */
};

/* TCP listeners on `port` in this network namespace (both families). */
int rp_diag_listeners(__u16 port, struct rp_listener **out, unsigned *nout);
/* For each listener with want[i], find a process holding it and copy its fd. */
int rp_grab_fds(struct rp_listener *l, unsigned n, const bool *want);
void rp_listeners_free(struct rp_listener *l, unsigned n);

/* Does service key k cover listener l (same address, or k has none)? */
bool rp_key_covers(const struct cgp_rp_key *k, const struct rp_listener *l);
/* The reuseport group of listener l. */
struct cgp_rp_group rp_group_of(const struct rp_listener *l);
/* Is cgroup `cgid` `root` (path) or below it? */
bool rp_cgroup_under(const char *root, __u64 root_id, __u64 cgid);

#endif
