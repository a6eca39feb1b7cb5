// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * rp_listeners.c - finding the listeners of a steered port (agent/rp_listeners.h):
 * sock_diag netlink dumps, /proc/PID/fd scanning with pidfd_getfd, and a
 * cgroup subtree walk (fts: its state is local to the call).
 */
#include <dirent.h>
#include <errno.h>
#include <fts.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>

#include "agent/log.h"
#include "agent/rp_listeners.h"

/* ------------------------------------------------------------ sock_diag */

static void addr_to_mapped(__u16 family, const __u32 *src, __u8 out[16])
{
	memset(out, 0, 16);
	if (family == AF_INET) {
		out[10] = out[11] = 0xff;
		memcpy(&out[12], src, 4);
	} else {
		memcpy(out, src, 16);
	}
}

/* A growing array of listeners. */
struct lvec {
	struct rp_listener *v;
	unsigned n, cap;
};

/* One inet_diag_msg: append it to lv when it listens on `port`. */
static int add_listener(struct lvec *lv, const struct nlmsghdr *h, __u16 port)
{
	const struct inet_diag_msg *m = NLMSG_DATA(h);
	struct rp_listener *l;
	struct rtattr *a;
	int alen;

	if (ntohs(m->id.idiag_sport) != port)
		return 0;
	if (lv->n == lv->cap) {
		struct rp_listener *nv = realloc(lv->v, (lv->cap = lv->cap ? lv->cap * 2 : 16) * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		lv->v = nv;
	}
	l = &lv->v[lv->n++];
	memset(l, 0, sizeof(*l));
	l->fd = -1;
	l->family = m->idiag_family;
	l->port = port;
	l->ino = m->idiag_inode;
	l->ifindex = m->id.idiag_if;
	l->cookie = (__u64)m->id.idiag_cookie[0] | ((__u64)m->id.idiag_cookie[1] << 32);
	addr_to_mapped(l->family, m->id.idiag_src, l->addr);
	a = (struct rtattr *)(m + 1);
	alen = h->nlmsg_len - NLMSG_LENGTH(sizeof(*m));
	for (; RTA_OK(a, alen); a = RTA_NEXT(a, alen))
		if (a->rta_type == INET_DIAG_CGROUP_ID && RTA_PAYLOAD(a) >= 8)
			memcpy(&l->cgid, RTA_DATA(a), 8);
	return 0;
}

/* Dump the TCP listeners of one family into lv. */
static int diag_family(int fd, __u8 family, __u32 seq, __u16 port, struct lvec *lv)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 req;
	} rq = {
		.nlh = { .nlmsg_len = sizeof(rq), .nlmsg_type = SOCK_DIAG_BY_FAMILY,
			 .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = seq },
		.req = { .sdiag_family = family, .sdiag_protocol = IPPROTO_TCP,
			 .idiag_states = 1u << 10 /* TCP_LISTEN */ },
	};
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	char buf[32768];
	int err = 0;

	if (sendto(fd, &rq, sizeof(rq), 0, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	for (;;) {
		ssize_t len = recv(fd, buf, sizeof(buf), 0);
		struct nlmsghdr *h;

		if (len < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)len); h = NLMSG_NEXT(h, len)) {
			if (h->nlmsg_type == NLMSG_DONE)
				return 0;
			if (h->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr *e = NLMSG_DATA(h);

				return e->error ? e->error : -EIO;
			}
			err = add_listener(lv, h, port);
			if (err)
				return err;
		}
	}
}

int rp_diag_listeners(__u16 port, struct rp_listener **out, unsigned *nout)
{
	static const __u8 fams[] = { AF_INET, AF_INET6 };
	struct lvec lv = { NULL, 0, 0 };
	int fd, err = 0;

	fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (fd < 0)
		return -errno;
	for (unsigned f = 0; f < sizeof(fams) && !err; f++)
		err = diag_family(fd, fams[f], f + 1, port, &lv);
	close(fd);
	if (err) {
		free(lv.v);
		return err;
	}
	*out = lv.v;
	*nout = lv.n;
	return 0;
}

/* ------------------------------------------------------------ /proc, pidfd_getfd */

/* The socket inode an fd link of /proc/PID/fd points to, or 0. */
static unsigned socket_ino(const char *dpath, const char *fdname)
{
	char lpath[320], target[64];
	unsigned ino;
	ssize_t tl;

	snprintf(lpath, sizeof(lpath), "%s/%s", dpath, fdname);
	tl = readlink(lpath, target, sizeof(target) - 1);
	if (tl <= 0)
		return 0;
	target[tl] = 0;
	return sscanf(target, "socket:[%u]", &ino) == 1 ? ino : 0;
}

/* Copy the listeners process `pid` holds; *missing counts those still without an fd. */
static void grab_from(int pid, struct rp_listener *l, unsigned n, const bool *want, unsigned *missing)
{
	char dpath[64];
	struct dirent *fe;
	int pidfd = -1;
	DIR *fds;

	snprintf(dpath, sizeof(dpath), "/proc/%d/fd", pid);
	fds = opendir(dpath);
	if (!fds)
		return;
	while (*missing && (fe = readdir(fds))) {
		unsigned ino;

		if (fe->d_name[0] == '.' || !(ino = socket_ino(dpath, fe->d_name)))
			continue;
		for (unsigned i = 0; i < n; i++) {
			if (!want[i] || l[i].fd >= 0 || l[i].ino != ino)
				continue;
			l[i].held = true;
			if (pidfd < 0)
				pidfd = syscall(SYS_pidfd_open, pid, 0);
			if (pidfd >= 0)
				l[i].fd = syscall(SYS_pidfd_getfd, pidfd, atoi(fe->d_name), 0);
			if (l[i].fd >= 0)
				(*missing)--;
			else
				pr_debug("reuseport: pidfd_getfd(%d, %s): %s\n", pid, fe->d_name, strerror(errno));
		}
	}
	closedir(fds);
	if (pidfd >= 0)
		close(pidfd);
}

int rp_grab_fds(struct rp_listener *l, unsigned n, const bool *want)
{
	unsigned missing = 0;
	struct dirent *pe;
	DIR *proc;

	for (unsigned i = 0; i < n; i++)
		missing += want[i] && l[i].fd < 0;
	if (!missing)
		return 0;
	proc = opendir("/proc");
	if (!proc)
		return -errno;
	while (missing && (pe = readdir(proc))) {
		int pid = atoi(pe->d_name);

		if (pid > 0 && pid != getpid())
			grab_from(pid, l, n, want, &missing);
	}
	closedir(proc);
	return 0;
}

void rp_listeners_free(struct rp_listener *l, unsigned n)
{
	for (unsigned i = 0; l && i < n; i++)
		if (l[i].fd >= 0)
			close(l[i].fd);
	free(l);
}

/* ------------------------------------------------------------ groups, cgroups */

bool rp_key_covers(const struct cgp_rp_key *k, const struct rp_listener *l)
{
	return !k->has_addr || !memcmp(k->addr, l->addr, 16);
}

struct cgp_rp_group rp_group_of(const struct rp_listener *l)
{
	struct cgp_rp_group g;

	memset(&g, 0, sizeof(g));
	memcpy(g.addr, l->addr, 16);
	g.port = l->port;
	g.family = l->family;
	g.ifindex = l->ifindex;
	return g;
}

/* A cgroup's id is its directory's inode number on cgroup2. */
bool rp_cgroup_under(const char *root, __u64 root_id, __u64 cgid)
{
	char *const paths[] = { (char *)root, NULL };
	bool found = false;
	FTSENT *e;
	FTS *fts;

	if (cgid == root_id)
		return true;
	fts = fts_open(paths, FTS_PHYSICAL | FTS_XDEV | FTS_NOCHDIR, NULL);
	if (!fts)
		return false;
	while (!found && (e = fts_read(fts)))
		found = e->fts_info == FTS_D && (__u64)e->fts_statp->st_ino == cgid;
	fts_close(fts);
	return found;
}
