/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * rp_plan.h - the plan of one apply of the [reuseport] sections, shared by
 * the three files that make it and carry it out (internal to them):
 *
 *   rp_plan.c    prepare: ids, links, backend storage (everything that can fail)
 *   rp_adopt.c   prepare: existing listeners into slots, the program onto groups
 *   rp_commit.c  commit (map writes, unpins), abort (undo a prepare), remove
 *
 * A plan records what prepare did (for abort) and what commit must do.
 */
#ifndef CGP_RP_PLAN_H
#define CGP_RP_PLAN_H

#include <stdbool.h>
#include <stdlib.h>

#include "agent/reuseport.h"
#include "agent/rp_state.h"

#ifndef SO_ATTACH_REUSEPORT_EBPF
#define SO_ATTACH_REUSEPORT_EBPF 52
#endif
#ifndef SO_DETACH_REUSEPORT_BPF
#define SO_DETACH_REUSEPORT_BPF 68
#endif

struct rp_svcplan {
	const struct cgp_reuseport *rp;
	struct cgp_rp_key key;
	struct cgp_rp_svc svc;		/* new value */
	struct cgp_rp_svc old;		/* previous value, if had_old */
	bool had_old;
	struct cgp_rp_info info;
	unsigned nlisteners[CGP_RP_MAX_BACKENDS];
};

struct cgp_rp_plan {
	struct cgp_pins pins;		/* copy: dir only */
	struct rp_state st;
	bool have_state;
	bool teardown;			/* no section left: remove the sub-state in commit */
	struct rp_svcplan *svcs;
	unsigned nsvcs;
	/* services in the map that the file no longer has */
	struct cgp_rp_key *drop;
	__u32 *drop_id;
	unsigned ndrop;
	/* undo records */
	int *new_links;			/* fds of links created by this run (pinned) */
	__u64 *new_link_cgid;
	unsigned nnew_links;
	__u32 *new_slots;		/* sockmap slots filled by this run */
	unsigned nnew_slots;
	int *attached_fds;		/* listeners the program was attached through by this run */
	struct cgp_rp_group *attached_groups;
	unsigned nattached;
	/* for commit: group sockets to detach the program from (dropped services) */
	int *detach_fds;
	struct cgp_rp_group *detach_groups;
	unsigned ndetach;
	/* backend cgroups that keep their link */
	__u64 *keep_cgid;
	unsigned nkeep;
	/* for commit: slots of listeners that now belong to another (deeper) backend */
	__u32 *stale_slots;
	unsigned nstale;
	/* undo record: cgroup storages rewritten by this run, and their old values */
	__u64 *saved_cgid;
	struct cgp_rp_cgback *saved;
	unsigned nsaved;
};

/* Append val to arr[n]: 0, or -ENOMEM (arr unchanged). */
#define PUSH(arr, n, val) ({							\
	typeof(arr) _a = realloc((arr), ((n) + 1) * sizeof(*(arr)));		\
	int _r = -ENOMEM;							\
	if (_a) { (arr) = _a; (arr)[(n)++] = (val); _r = 0; }			\
	_r; })

/* rp_plan.c: closes what the plan holds and frees it. */
void rp_plan_free(struct cgp_rp_plan *pl);

/* rp_adopt.c */
/* Register the existing listeners of service sp and attach the program to their groups. */
int rp_adopt_listeners(struct cgp_rp_plan *pl, struct rp_svcplan *sp,
		       const struct cgp_rp_cgroup *cgs, unsigned ncgs);
/* Sockets of groups the program should leave (dropped services, or all on
 * teardown), taken now so that commit cannot fail on them. */
int rp_collect_detach(struct cgp_rp_plan *pl);

/* rp_commit.c: detach the program from the groups rp_collect_detach found. */
void rp_detach_groups(struct cgp_rp_plan *pl);

#endif
