// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * apply_guards.c - step 4b: the guard links and storage on the fixed ancestor
 * of every glob policy, the `known` map of decided cgroups, and what is
 * committed or pruned of both after the switch.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "agent/apply_steps.h"
#include "agent/mapiter.h"
#include "policy/fileline.h"

/* The guard entries of ancestor `anc_id`: every glob policy rooted there. */
static int guard_entries(const struct apply_guard *g, unsigned ng, __u64 anc_id,
			 struct cgp_guard *out)
{
	unsigned k = 0;

	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < ng; i++) {
		if (g[i].anc_fd < 0 || g[i].anc_id != anc_id)
			continue;
		if (k == CGP_GUARDS)
			return -E2BIG;
		out->e[k].slot = (__u16)g[i].slot;
		out->e[k].level = (__u16)g[i].level;
		k++;
	}
	return 0;
}

/* The guard link pair of g (kept when alive); new_link[2]: the links this run created. */
static int attach_guard_links(const struct cgp_pins *p, const struct apply_guard *g, int *new_link)
{
	static const enum bpf_attach_type at[2] = { BPF_CGROUP_INET_INGRESS, BPF_CGROUP_INET_EGRESS };
	char path[PATH_MAX];

	for (int d = 0; d < 2; d++) {
		int fd, err;

		cgp_guard_pin_path(path, sizeof(path), p, g->anc_id, d);
		if (apply_link_pinned_alive(path))
			continue;
		fd = bpf_link_create(p->prog_fd[d == CGP_DIR_IN ? CGP_PROG_GUARD_IN : CGP_PROG_GUARD_OUT],
				     g->anc_fd, at[d], NULL);
		if (fd < 0) {
			err = -errno;
			pr_err("failed to attach the guard of [%s] to %s: %s%s\n", g->pol->name, g->anc,
			       strerror(-err),
			       err == -EPERM ? " (another program is attached without BPF_F_ALLOW_MULTI?)" : "");
			return err;
		}
		new_link[d] = fd;
		if (bpf_obj_pin(fd, path)) {
			err = -errno;
			pr_err("failed to pin %s: %s\n", path, strerror(-err));
			return err;
		}
	}
	return 0;
}

/* Dropped globs rooted at anc_id keep their entries (from the pinned storage) until the switch. */
static void keep_dropped_entries(const struct cgp_pins *p, __u64 anc_id, struct cgp_guard *ge)
{
	struct cgp_guard old;

	if (bpf_map_lookup_elem(p->map_fd[CGP_MAP_GUARD], &anc_id, &old))
		return;
	for (int k = 0; k < CGP_GUARDS && old.e[k].slot; k++) {
		int n = 0, have = 0;

		for (; n < CGP_GUARDS && ge->e[n].slot; n++)
			have = have || ge->e[n].slot == old.e[k].slot;
		if (!have && n < CGP_GUARDS)
			ge->e[n] = old.e[k];
	}
}

/*
 * Step 4b: a guard link pair on every fixed ancestor (kept when alive), and
 * its cgroup storage: the entries of this file plus, until the switch, those
 * of the live generation's globs that this file drops (their cgroups stay
 * guarded until they are detached). New template slots are not configured in
 * the live set: those entries pass until the switch, as before the apply.
 * new_links[]: links created by this run (2 per guard), for undo.
 */
int apply_attach_guards(const struct cgp_config *cfg, const struct cgp_pins *p,
			struct apply_guard *g, unsigned ng, int *new_links)
{
	for (unsigned i = 0; i < ng; i++) {
		struct cgp_guard ge;
		bool first = true;
		int err;

		if (g[i].anc_fd < 0)
			continue;
		for (unsigned j = 0; j < i; j++)
			first = first && !(g[j].anc_fd >= 0 && g[j].anc_id == g[i].anc_id);
		if (!first)
			continue;	/* one pair per ancestor: the first guard rooted there */
		if (guard_entries(g, ng, g[i].anc_id, &ge)) {
			cgp_fileline_fprintf(stderr, cfg->file, g[i].pol->cgroup_line,
					     "[%s]: more than %d glob policies share the fixed ancestor %s; "
					     "give some of them a longer literal prefix\n", g[i].pol->name,
					     CGP_GUARDS, g[i].anc);
			return -E2BIG;
		}
		err = attach_guard_links(p, &g[i], &new_links[2 * i]);
		if (err)
			return err;
		keep_dropped_entries(p, g[i].anc_id, &ge);
		if (bpf_map_update_elem(p->map_fd[CGP_MAP_GUARD], &g[i].anc_id, &ge, BPF_ANY)) {
			err = -errno;
			pr_err("failed to configure the guard on %s: %s\n", g[i].anc, strerror(-err));
			return err;
		}
	}
	return 0;
}

void apply_undo_guards(const struct cgp_pins *p, const struct apply_guard *g, unsigned ng,
		       int *new_links)
{
	char path[PATH_MAX];

	for (unsigned i = 0; i < ng; i++) {
		for (int d = 0; d < 2; d++) {
			if (new_links[2 * i + d] < 0)
				continue;
			cgp_guard_pin_path(path, sizeof(path), p, g[i].anc_id, d);
			unlink(path);
			close(new_links[2 * i + d]);
			new_links[2 * i + d] = -1;
		}
	}
}

/* Is target t enforced by its slot in the live generation already (no link new in this run)? */
static bool live_before(const struct apply_target *t, const struct cgp_info *inf, unsigned ninf)
{
	for (int j = 0; j < CGP_PROG_CGROUP_N; j++)
		if (t->new_link[j] >= 0)
			return false;
	for (unsigned j = 0; j < ninf; j++)
		if (inf[j].cgroup_id == t->cgid && inf[j].slot == t->slot)
			return true;
	return false;
}

/*
 * Write the decided candidates into `known`: before the switch (post ==
 * false) those whose decision is in force already, after it (post) the new
 * matches. A new match is never known before its own slot is live.
 */
int apply_write_known(const struct cgp_pins *p, struct apply_decided *d, unsigned nd,
		      const struct apply_target *t, const struct cgp_info *inf, unsigned ninf,
		      bool post)
{
	for (unsigned i = 0; i < nd; i++) {
		const struct apply_target *tt = d[i].target >= 0 ? &t[d[i].target] : NULL;
		struct cgp_known k = { .slot = tt ? tt->slot : 0 };
		bool early = !tt || live_before(tt, inf, ninf);

		if (tt && tt->skip)
			continue;	/* gone */
		if (early == post)
			continue;
		if (bpf_map_update_elem(p->map_fd[CGP_MAP_KNOWN], &d[i].cgid, &k, BPF_ANY)) {
			int err = -errno;

			pr_err("cannot record cgroup %llu as decided: %s%s\n", (unsigned long long)d[i].cgid,
			       strerror(-err), err == -E2BIG ? " (more than 65536 candidate cgroups)" : "");
			return err;
		}
	}
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	__u64 x = *(const __u64 *)a, y = *(const __u64 *)b;

	return x < y ? -1 : x > y;
}

/*
 * After the switch: forget the cgroups this apply has not decided (gone, or
 * no glob reaches them).
 */
void apply_prune_known(const struct cgp_pins *p, const struct apply_decided *d, unsigned nd)
{
	__u64 *ids = calloc(nd ? nd : 1, sizeof(*ids)), *del = NULL, next;
	struct cgp_map_iter it = CGP_MAP_ITER(p->map_fd[CGP_MAP_KNOWN]);
	unsigned ndel = 0, cap = 0;

	if (!ids)
		return;
	for (unsigned i = 0; i < nd; i++)
		ids[i] = d[i].cgid;
	qsort(ids, nd, sizeof(*ids), cmp_u64);
	while (cgp_map_next(&it, &next, sizeof(next))) {
		if (!bsearch(&next, ids, nd, sizeof(*ids), cmp_u64)) {
			if (ndel == cap) {
				__u64 *n = realloc(del, (cap = cap ? cap * 2 : 64) * sizeof(*n));

				if (!n)
					break;
				del = n;
			}
			del[ndel++] = next;
		}
	}
	for (unsigned i = 0; i < ndel; i++)
		bpf_map_delete_elem(p->map_fd[CGP_MAP_KNOWN], &del[i]);
	free(del);
	free(ids);
}

/* After the switch: guard storage without dropped globs, records, dropped guards unpinned. */
void apply_commit_guards(const struct cgp_pins *p, const struct apply_guard *g, unsigned ng,
			 const struct cgp_guard_info *ginf, unsigned nginf, __u64 gen)
{
	char path[PATH_MAX];

	for (unsigned i = 0; i < ng; i++) {
		struct cgp_guard ge;
		struct cgp_guard_info gi = {
			.ancestor_id = g[i].anc_fd >= 0 ? g[i].anc_id : 0,
			.gen = gen,
			.slot = g[i].slot,
			.level = g[i].level,
			.nrules = g[i].pol->nrules,
			.def = { g[i].pol->def[0], g[i].pol->def[1] },
			.flags = g[i].comp.pol.flags,
		};

		if (g[i].anc_fd >= 0 && !guard_entries(g, ng, g[i].anc_id, &ge))
			bpf_map_update_elem(p->map_fd[CGP_MAP_GUARD], &g[i].anc_id, &ge, BPF_ANY);
		snprintf(gi.name, sizeof(gi.name), "%s", g[i].pol->name);
		snprintf(gi.glob, sizeof(gi.glob), "%s", g[i].pol->cgroup);
		snprintf(gi.ancestor, sizeof(gi.ancestor), "%s", g[i].anc);
		if (bpf_map_update_elem(p->map_fd[CGP_MAP_GUARDS], &g[i].slot, &gi, BPF_ANY))
			pr_warn("cannot record the guard of [%s]: %s\n", gi.name, strerror(errno));
	}
	for (unsigned j = 0; j < nginf; j++) {
		bool keep_slot = false, keep_anc = false;

		for (unsigned i = 0; i < ng; i++) {
			keep_slot = keep_slot || g[i].slot == ginf[j].slot;
			keep_anc = keep_anc || (g[i].anc_fd >= 0 && g[i].anc_id == ginf[j].ancestor_id);
		}
		if (!keep_slot)
			bpf_map_delete_elem(p->map_fd[CGP_MAP_GUARDS], &ginf[j].slot);
		if (keep_anc || !ginf[j].ancestor_id)
			continue;
		for (int d = 0; d < 2; d++) {
			cgp_guard_pin_path(path, sizeof(path), p, ginf[j].ancestor_id, d);
			if (unlink(path) && errno != ENOENT)
				pr_warn("cannot unpin %s: %s\n", path, strerror(errno));
		}
	}
}

/* A new template slot starts with zero counters (a previous user may have left some). */
void apply_reset_template_counters(const struct cgp_pins *p, const struct apply_guard *g,
				   unsigned ng)
{
	for (unsigned i = 0; i < ng; i++)
		if (g[i].new_slot)
			cgp_percpu_zero(p->map_fd[CGP_MAP_GCNT], &g[i].slot, sizeof(struct cgp_counters));
}
