// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * rp_plan.c - prepare for the [reuseport] sections (agent/reuseport.h):
 * everything that can fail; nothing it does changes which listener gets a
 * connection.
 *   - refuse what this kernel or cgpolicy cannot steer; a dry run only reports;
 *   - open or create the pinned sub-state (agent/rp_state.h); give each
 *     service a stable id and each backend cgroup a stable index within it
 *     (its listener slots keep their meaning across applies);
 *   - attach the sockops program to backend cgroups without a link, then
 *     write into each backend cgroup's storage (cgp_rp_backend) which backend
 *     of each service it is (the old values are kept for abort);
 *   - the listeners that exist already (rp_adopt.c): registered, the
 *     sk_reuseport program attached to their groups. For a new service the
 *     program finds no entry in svcs and passes: the kernel's choice, as before.
 * commit and abort: rp_commit.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <bpf/bpf.h>

#include "agent/features.h"
#include "agent/log.h"
#include "agent/rp_plan.h"
#include "agent/mapiter.h"
#include "policy/fileline.h"

void rp_plan_free(struct cgp_rp_plan *pl)
{
	if (!pl)
		return;
	for (unsigned i = 0; i < pl->nnew_links; i++)
		if (pl->new_links[i] >= 0)
			close(pl->new_links[i]);
	for (unsigned i = 0; i < pl->nattached; i++)
		if (pl->attached_fds[i] >= 0)
			close(pl->attached_fds[i]);
	for (unsigned i = 0; i < pl->ndetach; i++)
		if (pl->detach_fds[i] >= 0)
			close(pl->detach_fds[i]);
	free(pl->new_links);
	free(pl->new_link_cgid);
	free(pl->new_slots);
	free(pl->attached_fds);
	free(pl->attached_groups);
	free(pl->detach_fds);
	free(pl->detach_groups);
	free(pl->keep_cgid);
	free(pl->saved_cgid);
	free(pl->saved);
	free(pl->stale_slots);
	free(pl->svcs);
	free(pl->drop);
	free(pl->drop_id);
	rp_state_close(&pl->st);
	free(pl);
}

static unsigned path_depth(const char *path)
{
	unsigned d = 0;

	for (const char *s = path; *s; s++)
		d += *s == '/' && s[1] && s[1] != '/';
	return d;
}

static const struct cgp_rp_cgroup *find_cg(const struct cgp_rp_cgroup *cgs, unsigned n, const char *policy)
{
	for (unsigned i = 0; i < n; i++)
		if (!strcmp(cgs[i].policy, policy))
			return &cgs[i];
	return NULL;
}

static void key_of(const struct cgp_reuseport *rp, struct cgp_rp_key *k)
{
	memset(k, 0, sizeof(*k));
	k->port = rp->port;
	k->proto = rp->proto;
	k->has_addr = rp->has_addr;
	if (rp->has_addr)
		memcpy(k->addr, rp->addr, 16);
}

/* ------------------------------------------------------------ ids */

/* The services of the file, with their entries in the map if any. */
static void find_old(struct cgp_rp_plan *pl, const struct cgp_config *cfg, bool *used)
{
	for (unsigned i = 0; i < pl->nsvcs; i++) {
		struct rp_svcplan *sp = &pl->svcs[i];

		sp->rp = &cfg->reuseports[i];
		key_of(sp->rp, &sp->key);
		if (!bpf_map_lookup_elem(pl->st.map[RPM_SVCS], &sp->key, &sp->old) &&
		    sp->old.id < CGP_RP_MAX_SVCS) {
			sp->had_old = true;
			used[sp->old.id] = true;
		}
	}
}

/* Services in the map that the file dropped keep their id until commit. */
static int find_dropped(struct cgp_rp_plan *pl, bool *used)
{
	struct cgp_map_iter it = CGP_MAP_ITER(pl->st.map[RPM_SVCS]);
	struct cgp_rp_key k;
	struct cgp_rp_svc v;

	while (cgp_map_next(&it, &k, sizeof(k))) {
		bool keep = false;

		if (bpf_map_lookup_elem(pl->st.map[RPM_SVCS], &k, &v))
			continue;
		for (unsigned i = 0; i < pl->nsvcs && !keep; i++)
			keep = !memcmp(&pl->svcs[i].key, &k, sizeof(k));
		if (keep)
			continue;
		if (v.id < CGP_RP_MAX_SVCS)
			used[v.id] = true;
		if (PUSH(pl->drop, pl->ndrop, k))
			return -ENOMEM;
		pl->drop_id = realloc(pl->drop_id, pl->ndrop * sizeof(__u32));
		if (!pl->drop_id)
			return -ENOMEM;
		pl->drop_id[pl->ndrop - 1] = v.id;
	}
	return 0;
}

/*
 * The index of backend cgroup cg in pass `pass`: 0, the index it had; 1, a
 * free one no old backend used (a new backend avoids indices just dropped);
 * 2, any free one. -1: none (yet), or already assigned.
 */
static int pick_index(const struct rp_svcplan *sp, const struct cgp_rp_cgroup *cg, int pass, __u32 taken)
{
	int b = -1;

	if (pass == 0) {
		for (int o = 0; o < CGP_RP_MAX_BACKENDS && sp->had_old; o++)
			if ((sp->old.present & (1u << o)) && sp->old.cgid[o] == cg->cgid && !(taken & (1u << o)))
				b = o;
		return b;
	}
	for (int o = 0; o < CGP_RP_MAX_BACKENDS; o++)
		if ((sp->svc.present & (1u << o)) && sp->svc.cgid[o] == cg->cgid)
			return -1;
	for (int o = 0; o < CGP_RP_MAX_BACKENDS && b < 0; o++) {
		bool old = sp->had_old && (sp->old.present & (1u << o));

		if (!(taken & (1u << o)) && (pass == 2 || !old))
			b = o;
	}
	return b;
}

/* Backends keep the index of their cgroup; new ones avoid indices just dropped. */
static int assign_backends(struct rp_svcplan *sp, const struct cgp_config *cfg,
			   const struct cgp_rp_cgroup *cgs, unsigned ncgs)
{
	const struct cgp_reuseport *rp = sp->rp;
	__u32 taken = 0;

	for (int pass = 0; pass < 3; pass++) {
		for (unsigned j = 0; j < rp->nbackends; j++) {
			const struct cgp_rp_cgroup *cg = find_cg(cgs, ncgs, rp->backends[j].policy);
			unsigned depth;
			int b;

			if (!cg) {
				cgp_fileline_fprintf(stderr, cfg->file, rp->backends[j].line,
					"backend '%s' of [reuseport %s] is not a policy section\n",
					rp->backends[j].policy, rp->name);
				return -EINVAL;
			}
			b = pick_index(sp, cg, pass, taken);
			if (b < 0)
				continue;
			depth = path_depth(cg->path);
			taken |= 1u << b;
			sp->svc.present |= 1u << b;
			sp->svc.cgid[b] = cg->cgid;
			sp->svc.weight[b] = (__u8)rp->backends[j].weight;
			sp->svc.level[b] = (__u8)(depth > 255 ? 255 : depth);
			snprintf(sp->info.backend[b], sizeof(sp->info.backend[b]), "%s", rp->backends[j].policy);
		}
	}
	return 0;
}

/* Stable service ids and backend indices. */
static int assign_ids(struct cgp_rp_plan *pl, const struct cgp_config *cfg,
		      const struct cgp_rp_cgroup *cgs, unsigned ncgs)
{
	bool used[CGP_RP_MAX_SVCS] = { false };
	int err;

	find_old(pl, cfg, used);
	err = find_dropped(pl, used);
	for (unsigned i = 0; i < pl->nsvcs && !err; i++) {
		struct rp_svcplan *sp = &pl->svcs[i];

		if (sp->had_old) {
			sp->svc.id = sp->old.id;
		} else {
			unsigned id = 0;

			while (id < CGP_RP_MAX_SVCS && used[id])
				id++;
			if (id >= CGP_RP_MAX_SVCS) {
				cgp_fileline_fprintf(stderr, cfg->file, sp->rp->line,
					"[reuseport %s]: more than %d reuseport services at %s\n", sp->rp->name, CGP_RP_MAX_SVCS, pl->pins.dir);
				return -EINVAL;
			}
			used[id] = true;
			sp->svc.id = id;
		}
		snprintf(sp->info.name, sizeof(sp->info.name), "%s", sp->rp->name);
		sp->info.key = sp->key;
		err = assign_backends(sp, cfg, cgs, ncgs);
	}
	return err;
}

/* ------------------------------------------------------------ backend cgroups */

/* Attach the sockops program to cgroup cg unless a live link is pinned for it. */
static int attach_link(struct cgp_rp_plan *pl, const struct cgp_rp_cgroup *cg)
{
	struct bpf_link_info info = {};
	__u32 len = sizeof(info);
	char path[PATH_MAX];
	int fd;

	rp_link_path(path, sizeof(path), &pl->pins, cg->cgid);
	fd = bpf_obj_get(path);
	if (fd >= 0) {
		bool alive = !bpf_obj_get_info_by_fd(fd, &info, &len) && info.cgroup.cgroup_id;

		close(fd);
		if (alive)
			return 0;
		unlink(path);	/* its cgroup was removed and re-created */
	}
	fd = bpf_link_create(pl->st.prog[RPP_LISTEN], cg->cg_fd, BPF_CGROUP_SOCK_OPS, NULL);
	if (fd < 0) {
		int err = -errno;

		pr_err("reuseport: failed to attach to cgroup %s: %s\n", cg->path, strerror(-err));
		return err;
	}
	if (PUSH(pl->new_links, pl->nnew_links, fd)) {
		close(fd);
		return -ENOMEM;
	}
	pl->new_link_cgid = realloc(pl->new_link_cgid, pl->nnew_links * sizeof(__u64));
	if (!pl->new_link_cgid)
		return -ENOMEM;
	pl->new_link_cgid[pl->nnew_links - 1] = cg->cgid;
	if (bpf_obj_pin(fd, path)) {
		int err = -errno;

		pr_err("reuseport: failed to pin %s: %s\n", path, strerror(-err));
		pl->new_link_cgid[pl->nnew_links - 1] = 0;	/* nothing to unpin */
		return err;
	}
	return 0;
}

/* Attach the sockops program to every backend cgroup that has no live link. */
static int attach_links(struct cgp_rp_plan *pl, const struct cgp_rp_cgroup *cgs, unsigned ncgs)
{
	for (unsigned i = 0; i < pl->nsvcs; i++) {
		for (unsigned j = 0; j < pl->svcs[i].rp->nbackends; j++) {
			const struct cgp_rp_cgroup *cg = find_cg(cgs, ncgs, pl->svcs[i].rp->backends[j].policy);
			bool dup = false;
			int err;

			for (unsigned k = 0; k < pl->nkeep && !dup; k++)
				dup = pl->keep_cgid[k] == cg->cgid;
			if (dup)
				continue;
			if (PUSH(pl->keep_cgid, pl->nkeep, cg->cgid))
				return -ENOMEM;
			err = attach_link(pl, cg);
			if (err)
				return err;
		}
	}
	return 0;
}

/*
 * Each backend cgroup's storage: which backend of each service it is. Written
 * after attach_links (the storage exists once the program is attached); the
 * old values of cgroups that already had a link are kept for abort.
 */
static int write_backends(struct cgp_rp_plan *pl)
{
	for (unsigned c = 0; c < pl->nkeep; c++) {
		__u64 cgid = pl->keep_cgid[c];
		struct cgp_rp_cgback v, old;

		memset(&v, 0, sizeof(v));
		for (unsigned i = 0; i < pl->nsvcs; i++) {
			const struct rp_svcplan *sp = &pl->svcs[i];

			for (int b = 0; b < CGP_RP_MAX_BACKENDS && !v.backend[sp->svc.id]; b++)
				if ((sp->svc.present & (1u << b)) && sp->svc.cgid[b] == cgid)
					v.backend[sp->svc.id] = b + 1;
		}
		if (!bpf_map_lookup_elem(pl->st.map[RPM_BACKEND], &cgid, &old)) {
			if (!memcmp(&old, &v, sizeof(v)))
				continue;
			struct cgp_rp_cgback *sv = realloc(pl->saved, (pl->nsaved + 1) * sizeof(*sv));

			if (!sv)
				return -ENOMEM;
			pl->saved = sv;
			if (PUSH(pl->saved_cgid, pl->nsaved, cgid))
				return -ENOMEM;
			pl->saved[pl->nsaved - 1] = old;
		}
		if (bpf_map_update_elem(pl->st.map[RPM_BACKEND], &cgid, &v, BPF_ANY)) {
			int err = -errno;

			pr_err("reuseport: cannot write the backends of cgroup id %llu into its cgroup "
			       "storage: %s\n", (unsigned long long)cgid, strerror(-err));
			return err;
		}
	}
	return 0;
}

/* A backend index that changed cgroup: its old listeners go. */
static void clear_moved_backends(struct cgp_rp_plan *pl)
{
	for (unsigned i = 0; i < pl->nsvcs; i++) {
		const struct rp_svcplan *sp = &pl->svcs[i];

		for (int b = 0; b < CGP_RP_MAX_BACKENDS; b++) {
			if (!(sp->svc.present & (1u << b)))
				continue;
			if (sp->had_old && (sp->old.present & (1u << b)) && sp->old.cgid[b] != sp->svc.cgid[b])
				rp_clear_backend(&pl->st, CGP_RP_BIDX(sp->svc.id, b));
		}
	}
}

/* ------------------------------------------------------------ prepare */

/* Sections this cgpolicy cannot steer at all: exit 1. */
static int check_sections(const struct cgp_config *cfg)
{
	for (unsigned i = 0; i < cfg->nreuseports; i++) {
		const struct cgp_reuseport *rp = &cfg->reuseports[i];

		if (rp->proto != CGP_PROTO_TCP) {
			cgp_fileline_fprintf(stderr, cfg->file, rp->line,
				"[reuseport %s]: only proto = tcp is supported for listener steering\n", rp->name);
			return -EOPNOTSUPP;
		}
	}
	if (cfg->nreuseports > CGP_RP_MAX_SVCS) {
		cgp_fileline_fprintf(stderr, cfg->file, cfg->reuseports[CGP_RP_MAX_SVCS].line,
			"more than %d [reuseport] sections\n", CGP_RP_MAX_SVCS);
		return -EINVAL;
	}
	return 0;
}

/* The number of sections to steer: 0 when this kernel has no steering (refused, the rest applies). */
static unsigned steerable(const struct cgp_config *cfg, bool dry_run)
{
	if (!cfg->nreuseports || cgp_feature_ok(CGP_FEAT_STEERING))
		return cfg->nreuseports;
	for (unsigned i = 0; i < cfg->nreuseports; i++) {
		char sec[CGP_RP_NAME_MAX + 16];

		snprintf(sec, sizeof(sec), "[reuseport %s]", cfg->reuseports[i].name);
		cgp_feature_refuse(cfg->file, cfg->reuseports[i].line, sec, "listener steering",
				   CGP_FEAT_STEERING, dry_run);
	}
	return 0;
}

static void print_dry_run(const struct cgp_config *cfg, unsigned nrp)
{
	for (unsigned i = 0; i < nrp; i++) {
		const struct cgp_reuseport *rp = &cfg->reuseports[i];
		char a[INET6_ADDRSTRLEN] = "any";

		if (rp->has_addr)
			rp_fmt_addr(rp->addr, a, sizeof(a));
		printf("would steer [reuseport %s] tcp %s port %u:", rp->name, a, rp->port);
		for (unsigned j = 0; j < rp->nbackends; j++)
			printf(" %s %u%s", rp->backends[j].policy, rp->backends[j].weight,
			       j + 1 < rp->nbackends ? "," : "");
		printf("\n");
	}
}

/*
 * Open the sub-state (rebuilt when it is of an older cgpolicy), or create it
 * when sections want one. *none: there is none and none is wanted.
 */
static int open_state(struct cgp_rp_plan *pl, const struct cgp_pins *p, unsigned nrp, bool *none)
{
	int err = rp_state_open(p, &pl->st, false);

	*none = false;
	if (err == -ESTALE) {
		/* One-off on upgrade: steering is off from here until commit. */
		pr_warn("reuseport: the steering state at %s/reuseport is from an older cgpolicy: "
			"rebuilding it\n", p->dir);
		err = cgp_reuseport_remove(p);
		if (!err)
			err = -ENOENT;
	}
	if (err == -ENOENT) {
		*none = !nrp;
		err = nrp ? rp_state_create(p, &pl->st) : 0;
	}
	return err;
}

/* Everything prepare does with the sub-state open. */
static int plan(struct cgp_rp_plan *pl, const struct cgp_config *cfg, const struct cgp_rp_cgroup *cgs,
		unsigned ncgs)
{
	int err;

	pl->svcs = calloc(pl->nsvcs + 1, sizeof(*pl->svcs));
	if (!pl->svcs)
		return -ENOMEM;
	err = assign_ids(pl, cfg, cgs, ncgs);
	if (err)
		return err;
	pl->teardown = !pl->nsvcs;
	clear_moved_backends(pl);
	err = attach_links(pl, cgs, ncgs);
	if (!err)
		err = write_backends(pl);
	for (unsigned i = 0; i < pl->nsvcs && !err; i++)
		err = rp_adopt_listeners(pl, &pl->svcs[i], cgs, ncgs);
	if (!err)
		err = rp_collect_detach(pl);
	return err;
}

int cgp_reuseport_prepare(const struct cgp_pins *p, const struct cgp_config *cfg,
			  const struct cgp_rp_cgroup *cgs, unsigned ncgs, bool dry_run,
			  struct cgp_rp_plan **plan_out)
{
	struct cgp_rp_plan *pl;
	unsigned nrp;		/* sections to steer: 0 when refused */
	bool none;
	int err;

	*plan_out = NULL;
	err = check_sections(cfg);
	if (err)
		return err;
	nrp = steerable(cfg, dry_run);
	if (dry_run) {
		print_dry_run(cfg, nrp);
		return 0;
	}
	pl = calloc(1, sizeof(*pl));
	if (!pl)
		return -ENOMEM;
	cgp_pins_init(&pl->pins, p->dir);
	rp_state_init(&pl->st);
	err = open_state(pl, p, nrp, &none);
	if (!err && none) {
		free(pl);
		return 0;	/* nothing to do, nothing to undo */
	}
	if (!err) {
		pl->have_state = true;
		pl->nsvcs = nrp;
		err = plan(pl, cfg, cgs, ncgs);
	}
	if (err) {
		cgp_reuseport_abort(pl);
		return err;
	}
	*plan_out = pl;
	return 0;
}
