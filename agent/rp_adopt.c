// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * rp_adopt.c - prepare, for the listeners that exist at apply: classify
 * each by its socket's cgroup (the deepest backend cgroup holding it), put
 * the ones not registered yet into a free slot of their backend, attach the
 * sk_reuseport program to each group it is not attached to yet; and take
 * the sockets of groups the program should leave (done at commit).
 * Finding the listeners is rp_listeners.c's job; the plan is rp_plan.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <bpf/bpf.h>

#include "agent/log.h"
#include "agent/rp_listeners.h"
#include "agent/rp_plan.h"
#include "agent/mapiter.h"

/* The backend index of listener l in service sp, or -1: the deepest containing cgroup. */
static int classify(const struct rp_svcplan *sp, const struct cgp_rp_cgroup *cgs, unsigned ncgs,
		    const struct rp_listener *l)
{
	int best = -1;

	for (int b = 0; b < CGP_RP_MAX_BACKENDS; b++) {
		const struct cgp_rp_cgroup *cg = NULL;

		if (!(sp->svc.present & (1u << b)))
			continue;
		for (unsigned i = 0; i < ncgs && !cg; i++)
			if (cgs[i].cgid == sp->svc.cgid[b])
				cg = &cgs[i];
		if (!cg || (best >= 0 && sp->svc.level[b] <= sp->svc.level[best]))
			continue;
		if (l->cgid && rp_cgroup_under(cg->path, cg->cgid, l->cgid))
			best = b;
	}
	return best;
}

/* Is the socket `cookie` in a slot of backend index bidx? */
static bool in_backend(const struct rp_state *st, __u32 bidx, __u64 cookie)
{
	for (__u32 k = 0; k < CGP_RP_SLOTS; k++) {
		__u64 c;

		if (rp_slot_cookie(st, bidx * CGP_RP_SLOTS + k, &c) && c == cookie)
			return true;
	}
	return false;
}

/* Slots of the listener in other backends than b (a deeper backend is new): they go at commit. */
static int find_stale(struct cgp_rp_plan *pl, const struct rp_svcplan *sp, int b, __u64 cookie)
{
	for (int o = 0; o < CGP_RP_MAX_BACKENDS; o++) {
		__u32 ob = CGP_RP_BIDX(sp->svc.id, o);

		if (o == b || !(sp->svc.present & (1u << o)))
			continue;
		for (__u32 k = 0; k < CGP_RP_SLOTS; k++) {
			__u64 c;

			if (rp_slot_cookie(&pl->st, ob * CGP_RP_SLOTS + k, &c) && c == cookie &&
			    PUSH(pl->stale_slots, pl->nstale, ob * CGP_RP_SLOTS + k))
				return -ENOMEM;
		}
	}
	return 0;
}

/* Is group g attached: does the listener we attached through (groups map) still live? */
static bool group_attached(const struct cgp_rp_plan *pl, const struct cgp_rp_group *g,
			   const struct rp_listener *l, unsigned n)
{
	struct cgp_rp_groupval gv;

	if (bpf_map_lookup_elem(pl->st.map[RPM_GROUPS], g, &gv))
		return false;
	for (unsigned j = 0; j < n; j++)
		if (l[j].cookie == gv.cookie)
			return true;
	return false;
}

static bool attached_now(const struct cgp_rp_plan *pl, const struct cgp_rp_group *g)
{
	for (unsigned j = 0; j < pl->nattached; j++)
		if (!memcmp(&pl->attached_groups[j], g, sizeof(*g)))
			return true;
	return false;
}

/*
 * Listener i: its backend (cls), whether it needs a slot (reg) and whether
 * its fd is wanted (reg, or the first listener of a group to attach to).
 */
static int mark_listener(struct cgp_rp_plan *pl, const struct rp_svcplan *sp,
			 const struct cgp_rp_cgroup *cgs, unsigned ncgs, const struct rp_listener *l,
			 unsigned n, unsigned i, bool *want, bool *reg, int *cls)
{
	struct cgp_rp_group g = rp_group_of(&l[i]);
	bool dup = false;

	cls[i] = -1;
	if (!rp_key_covers(&sp->key, &l[i]))
		return 0;
	cls[i] = classify(sp, cgs, ncgs, &l[i]);
	if (cls[i] >= 0) {
		reg[i] = !in_backend(&pl->st, CGP_RP_BIDX(sp->svc.id, cls[i]), l[i].cookie);
		want[i] = reg[i];
		if (find_stale(pl, sp, cls[i], l[i].cookie))
			return -ENOMEM;
	}
	if (group_attached(pl, &g, l, n))
		return 0;
	for (unsigned j = 0; j < i && !dup; j++) {
		struct cgp_rp_group h = rp_group_of(&l[j]);

		dup = want[j] && !memcmp(&g, &h, sizeof(g)) && rp_key_covers(&sp->key, &l[j]);
	}
	if (!dup && !attached_now(pl, &g))
		want[i] = true;
	return 0;
}

/* Put listener l into the lowest free slot of backend b (as the sockops program does). */
static int register_listener(struct cgp_rp_plan *pl, const struct rp_svcplan *sp,
			     const struct rp_listener *l, int b, const char *a)
{
	__u32 bidx = CGP_RP_BIDX(sp->svc.id, b), k;
	__u64 fd = (__u64)l->fd;

	for (k = 0; k < CGP_RP_SLOTS; k++) {
		__u32 s = bidx * CGP_RP_SLOTS + k;

		if (!bpf_map_update_elem(pl->st.map[RPM_SOCKS], &s, &fd, BPF_NOEXIST))
			return PUSH(pl->new_slots, pl->nnew_slots, s);
		if (errno != EEXIST) {
			int err = -errno;

			pr_err("reuseport: cannot register the listener %s port %u: %s\n", a,
			       sp->rp->port, strerror(-err));
			return err;
		}
	}
	pr_warn("reuseport: [reuseport %s]: backend %s has more than %d listeners; "
		"the others get no steered connections\n", sp->rp->name, sp->info.backend[b], CGP_RP_SLOTS);
	return 0;
}

/* Attach the program to the group of listener l (its fd moves into the plan). */
static int attach_group(struct cgp_rp_plan *pl, const struct rp_svcplan *sp, struct rp_listener *l,
			const struct cgp_rp_group *g, const char *a)
{
	struct cgp_rp_groupval gv;
	int err;

	if (setsockopt(l->fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_EBPF, &pl->st.prog[RPP_SELECT], sizeof(int))) {
		if (errno == EINVAL) {
			pr_warn("reuseport: [reuseport %s]: the listener on %s port %u has no "
				"SO_REUSEPORT: not steered\n", sp->rp->name, a, sp->rp->port);
			return 0;
		}
		err = -errno;
		pr_err("reuseport: cannot attach the steering program to the listeners on %s "
		       "port %u: %s\n", a, sp->rp->port, strerror(-err));
		return err;
	}
	gv = (struct cgp_rp_groupval){ .cookie = l->cookie, .svc = sp->svc.id };
	if (PUSH(pl->attached_groups, pl->nattached, *g) ||
	    !(pl->attached_fds = realloc(pl->attached_fds, pl->nattached * sizeof(int))))
		return -ENOMEM;
	pl->attached_fds[pl->nattached - 1] = l->fd;
	l->fd = -1;
	if (bpf_map_update_elem(pl->st.map[RPM_GROUPS], g, &gv, BPF_ANY)) {
		err = -errno;
		pr_err("reuseport: cannot record a listener group: %s\n", strerror(-err));
		return err;
	}
	return 0;
}

/* Listener i, its fd copied: into its slot, and the program onto its group. */
static int adopt_one(struct cgp_rp_plan *pl, const struct rp_svcplan *sp, struct rp_listener *l,
		     unsigned n, unsigned i, bool reg, int cls)
{
	struct cgp_rp_group g = rp_group_of(&l[i]);
	char a[INET6_ADDRSTRLEN];
	int err;

	rp_fmt_addr(l[i].addr, a, sizeof(a));
	if (l[i].fd < 0 && !l[i].held) {
		pr_debug("reuseport: listener %s port %u closed meanwhile\n", a, sp->rp->port);
		return 0;
	}
	if (l[i].fd < 0) {
		pr_err("reuseport: [reuseport %s]: cannot get the listener %s port %u (socket inode %u) "
		       "from its process (pidfd_getfd): %s\n", sp->rp->name, a, sp->rp->port, l[i].ino,
		       strerror(errno));
		return -EPERM;
	}
	if (reg && (err = register_listener(pl, sp, &l[i], cls, a)))
		return err;
	if (attached_now(pl, &g) || group_attached(pl, &g, l, n))
		return 0;
	return attach_group(pl, sp, &l[i], &g, a);
}

int rp_adopt_listeners(struct cgp_rp_plan *pl, struct rp_svcplan *sp,
		       const struct cgp_rp_cgroup *cgs, unsigned ncgs)
{
	struct rp_listener *l = NULL;
	unsigned n = 0;
	bool *want = NULL, *reg = NULL;
	int *cls = NULL, err;

	err = rp_diag_listeners(sp->rp->port, &l, &n);
	if (err) {
		pr_err("reuseport: cannot list the TCP listeners (sock_diag): %s\n", strerror(-err));
		return err;
	}
	want = calloc(n + 1, sizeof(*want));
	reg = calloc(n + 1, sizeof(*reg));
	cls = calloc(n + 1, sizeof(*cls));
	if (!want || !reg || !cls)
		err = -ENOMEM;
	for (unsigned i = 0; i < n && !err; i++)
		err = mark_listener(pl, sp, cgs, ncgs, l, n, i, want, reg, cls);
	if (!err)
		err = rp_grab_fds(l, n, want);
	for (unsigned i = 0; i < n && !err; i++)
		if (want[i])
			err = adopt_one(pl, sp, l, n, i, reg[i], cls[i]);
	free(want);
	free(reg);
	free(cls);
	rp_listeners_free(l, n);
	return err;
}

/* ------------------------------------------------------------ groups to leave */

/* Does a remaining service cover listeners of group g? */
static bool group_wanted(const struct cgp_rp_plan *pl, const struct cgp_rp_group *g)
{
	for (unsigned i = 0; i < pl->nsvcs; i++) {
		const struct cgp_rp_key *k = &pl->svcs[i].key;

		if (k->port == g->port && (!k->has_addr || !memcmp(k->addr, g->addr, 16)))
			return true;
	}
	return false;
}

/* A copy of the fd of a listener of group g, or -1. */
static int group_fd(const struct cgp_rp_group *g)
{
	struct rp_listener *l = NULL;
	unsigned n = 0;
	int fd = -1;

	if (rp_diag_listeners(g->port, &l, &n))
		return -1;
	for (unsigned i = 0; i < n && fd < 0; i++) {
		struct cgp_rp_group lg = rp_group_of(&l[i]);
		bool want = !memcmp(&lg, g, sizeof(*g));

		if (!want)
			continue;
		rp_grab_fds(&l[i], 1, &want);
		fd = l[i].fd;
		l[i].fd = -1;
	}
	rp_listeners_free(l, n);
	return fd;
}

int rp_collect_detach(struct cgp_rp_plan *pl)
{
	struct cgp_map_iter it = CGP_MAP_ITER(pl->st.map[RPM_GROUPS]);
	struct cgp_rp_group g;
	struct cgp_rp_groupval gv;

	while (cgp_map_next(&it, &g, sizeof(g))) {
		if (bpf_map_lookup_elem(pl->st.map[RPM_GROUPS], &g, &gv) || group_wanted(pl, &g))
			continue;
		if (PUSH(pl->detach_groups, pl->ndetach, g))
			return -ENOMEM;
		pl->detach_fds = realloc(pl->detach_fds, pl->ndetach * sizeof(int));
		if (!pl->detach_fds)
			return -ENOMEM;
		pl->detach_fds[pl->ndetach - 1] = group_fd(&g);
	}
	return 0;
}
