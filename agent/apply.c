// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * apply.c - validated config -> kernel, atomically.
 *
 * 1. Resolve every cgroup and compile every policy (errors: exit 1, nothing touched).
 * 2. Lock the pin path; open the pinned state or create it.
 * 3. Build fresh inner maps (rules, ports, pols) for the inactive set and
 *    plug them into the outer arrays: invisible to packets.
 * 4. Attach the programs to cgroups that have no link yet and tell them their
 *    slot. Their slot is not configured in the live set, so they still pass
 *    everything, as before apply.
 * 5. Switch: one write of state.gen makes the new set live for every cgroup.
 * 6. Detach cgroups that left the policy; refresh the info map.
 * A failure before 5 undoes 4 and leaves the live policy as it was.
 *
 * Glob policies also get a guard on their fixed ancestor (4b) and a template
 * slot with their rules: a cgroup below it that this apply has not decided
 * (not in the `known` map) is judged by the template from its first packet.
 * Decided cgroups are written to `known` only once what decides them is in
 * force: before the switch when that is already the case (non-matching
 * cgroups, matches enforced by the live generation), after it for new matches.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "agent/cgroup.h"
#include "agent/features.h"
#include "agent/log.h"
#include "agent/reuseport.h"
#include "agent/ruleset.h"
#include "agent/state.h"
#include "policy/ports.h"

struct target {
	const struct cgp_policy *pol;
	char path[CGP_PATH_MAX];
	int cg_fd;
	__u64 cgid;
	__u32 slot;
	int new_link[CGP_PROG_CGROUP_N];	/* created by this run */
	bool glob;		/* matched by a glob: may vanish at any time */
	bool skip;		/* a glob match that could not be attached (gone) */
	struct cgp_compiled comp;
};

/* A glob policy's guard: the template slot and where it is attached. */
struct guard {
	const struct cgp_policy *pol;
	char anc[CGP_PATH_MAX];	/* fixed ancestor, absolute */
	int anc_fd;		/* -1: the ancestor does not exist (no guard) */
	__u64 anc_id;
	unsigned level;		/* cgroup level of the candidates */
	__u32 slot;		/* template slot */
	bool new_slot;		/* slot given by this run: its counters start at 0 */
	struct cgp_compiled comp;
};

/* A candidate of a guard (a cgroup at its level below its ancestor). */
struct decided {
	__u64 cgid;
	__u32 slot;		/* filled after slots are assigned; 0: matches no glob */
	int target;		/* index in the targets, -1 when it matches no policy */
};

static void guards_free(struct guard *g, unsigned n)
{
	for (unsigned i = 0; g && i < n; i++) {
		if (g[i].anc_fd >= 0)
			close(g[i].anc_fd);
		cgp_compiled_free(&g[i].comp);
	}
	free(g);
}

static void targets_free(struct target *t, unsigned n)
{
	for (unsigned i = 0; t && i < n; i++) {
		if (t[i].cg_fd >= 0)
			close(t[i].cg_fd);
		for (int j = 0; j < CGP_PROG_CGROUP_N; j++)
			if (t[i].new_link[j] >= 0)
				close(t[i].new_link[j]);
		cgp_compiled_free(&t[i].comp);
	}
	free(t);
}

struct resolve_ctx {
	const struct cgp_config *cfg;
	const struct cgp_policy *pol;
	const char *mnt;
	struct target *t;
	unsigned n, cap, matched;
	struct guard *g;
	unsigned ng;
	struct decided *d;
	unsigned nd, dcap;
};

static struct target *new_target(struct resolve_ctx *r)
{
	struct target *t;

	if (r->n == r->cap) {
		unsigned cap = r->cap ? r->cap * 2 : 16;

		t = realloc(r->t, cap * sizeof(*t));
		if (!t)
			return NULL;
		r->t = t;
		r->cap = cap;
	}
	t = &r->t[r->n];
	memset(t, 0, sizeof(*t));
	t->cg_fd = -1;
	for (int j = 0; j < CGP_PROG_CGROUP_N; j++)
		t->new_link[j] = -1;
	t->pol = r->pol;
	return t;
}

/* A cgroup matching a glob: taken unless another policy has it already.
 * *idx: its target (or the one that has it), -1 when it is gone. */
static int add_glob_match(struct resolve_ctx *r, const char *path, int *idx)
{
	char err[CGP_PATH_MAX + 256];
	struct target *t = new_target(r);

	*idx = -1;
	if (!t)
		return -ENOMEM;
	if (cgp_cgroup_resolve(r->mnt, path, t->path, sizeof(t->path), &t->cg_fd, &t->cgid, err,
			       sizeof(err)))
		return 0;	/* gone meanwhile, or not cgroup2: not an error for a glob */
	t->glob = true;
	for (unsigned j = 0; j < r->n; j++) {
		if (r->t[j].cgid == t->cgid) {
			if (r->t[j].pol != r->pol)
				pr_warn("%s:%d: [%s]: %s already has the policy of [%s]; skipped\n",
					r->cfg->file, r->pol->cgroup_line, r->pol->name, t->path,
					r->t[j].pol->name);
			close(t->cg_fd);
			*idx = (int)j;
			return 0;
		}
	}
	*idx = (int)r->n;
	r->n++;
	r->matched++;
	return 0;
}

/* A directory at a guard's candidate level: decided by this apply, matching or not. */
static int add_candidate(const char *path, void *ctx)
{
	struct resolve_ctx *r = ctx;
	struct decided *d;
	struct stat st;
	int idx = -1, e;

	if (cgp_cgroup_glob_match(r->mnt, r->pol->cgroup, path)) {
		e = add_glob_match(r, path, &idx);
		if (e)
			return e;
		if (idx < 0)
			return 0;	/* gone */
	} else if (stat(path, &st)) {
		return 0;		/* gone */
	}
	if (r->nd == r->dcap) {
		unsigned cap = r->dcap ? r->dcap * 2 : 64;

		d = realloc(r->d, cap * sizeof(*d));
		if (!d)
			return -ENOMEM;
		r->d = d;
		r->dcap = cap;
	}
	d = &r->d[r->nd++];
	d->cgid = idx >= 0 ? r->t[idx].cgid : st.st_ino;
	d->target = idx;
	d->slot = 0;
	return 0;
}

/*
 * A glob policy: its guard (fixed ancestor, candidate level), then every
 * candidate below the ancestor: the matches become targets, all are decided.
 */
static int resolve_glob(struct resolve_ctx *r, const struct cgp_policy *p)
{
	char err[CGP_PATH_MAX + 256], anc[CGP_PATH_MAX];
	struct guard *g = realloc(r->g, (r->ng + 1) * sizeof(*g)), *n;
	unsigned depth = 0, alevel = 0;
	bool exists = false;
	int e;

	if (!g)
		return -ENOMEM;
	r->g = g;
	n = &g[r->ng++];
	memset(n, 0, sizeof(*n));
	n->pol = p;
	n->anc_fd = -1;
	e = cgp_cgroup_guard_point(r->mnt, p->cgroup, anc, sizeof(anc), &depth, &exists);
	if (e == -ENOENT) {
		pr_warn("%s:%d: [%s]: no existing ancestor of %s: no guard\n", r->cfg->file,
			p->cgroup_line, p->name, p->cgroup);
		snprintf(n->anc, sizeof(n->anc), "%s", anc);
		return 0;
	}
	if (e)
		return e;
	if (!exists)
		pr_info("%s:%d: [%s]: the glob's fixed ancestor does not exist yet: guarded from %s, "
			"where a new cgroup is judged by this policy until an apply has seen it\n",
			r->cfg->file, p->cgroup_line, p->name, anc);
	if (cgp_cgroup_resolve(r->mnt, anc, n->anc, sizeof(n->anc), &n->anc_fd, &n->anc_id, err,
			       sizeof(err))) {
		pr_warn("%s:%d: [%s]: no guard: %s\n", r->cfg->file, p->cgroup_line, p->name, err);
		return 0;
	}
	e = cgp_cgroup_level(r->mnt, n->anc, &alevel);
	if (e) {
		pr_warn("%s:%d: [%s]: cannot tell the cgroup level of %s (%s): no guard; new cgroups "
			"are policed once the agent has attached to them\n",
			r->cfg->file, p->cgroup_line, p->name, n->anc, strerror(-e));
		close(n->anc_fd);
		n->anc_fd = -1;
		return 0;
	}
	n->level = alevel + depth;
	return cgp_cgroup_candidates(n->anc, depth, add_candidate, NULL, r);
}

/*
 * Step 1: resolve cgroups. Errors are the user's: FILE:LINE. A policy with a
 * glob gets one target per cgroup that matches now (none: a warning).
 */
static int resolve(const struct cgp_config *cfg, struct target **out, unsigned *nout,
		   struct guard **gout, unsigned *ngout, struct decided **dout, unsigned *ndout)
{
	char mnt[CGP_PATH_MAX], err[CGP_PATH_MAX + 256];
	struct resolve_ctx r = { .cfg = cfg, .mnt = mnt };
	int e;

	e = cgp_cgroup2_mount(mnt, sizeof(mnt));
	if (e) {
		pr_err("no cgroup2 filesystem is mounted (see /proc/self/mountinfo): %s\n", strerror(-e));
		return CGP_EXIT_SYSTEM;
	}
	/* Exact paths first: they win over globs that match the same cgroup. */
	for (int pass = 0; pass < 2; pass++) {
		for (unsigned i = 0; i < cfg->npolicies; i++) {
			const struct cgp_policy *p = &cfg->policies[i];
			bool glob = cgp_cgroup_is_glob(p->cgroup);
			struct target *t;

			if (glob != (pass == 1))
				continue;
			r.pol = p;
			if (glob) {
				r.matched = 0;
				e = resolve_glob(&r, p);
				if (e) {
					pr_err("%s:%d: [%s]: cannot match cgroup glob %s: %s\n", cfg->file,
					       p->cgroup_line, p->name, p->cgroup, strerror(-e));
					targets_free(r.t, r.n);
					guards_free(r.g, r.ng);
					free(r.d);
					return CGP_EXIT_SYSTEM;
				}
				if (!r.matched)
					pr_warn("%s:%d: [%s]: cgroup glob %s matches no cgroup (yet)\n",
						cfg->file, p->cgroup_line, p->name, p->cgroup);
				continue;
			}
			t = new_target(&r);
			if (!t) {
				targets_free(r.t, r.n);
				return CGP_EXIT_SYSTEM;
			}
			e = cgp_cgroup_resolve(mnt, p->cgroup, t->path, sizeof(t->path), &t->cg_fd,
					       &t->cgid, err, sizeof(err));
			if (e) {
				fprintf(stderr, "%s:%d: [%s]: %s\n", cfg->file, p->cgroup_line, p->name, err);
				targets_free(r.t, r.n);
				return CGP_EXIT_POLICY;
			}
			r.n++;
			for (unsigned j = 0; j + 1 < r.n; j++) {
				if (r.t[j].cgid == t->cgid) {
					fprintf(stderr, "%s:%d: [%s]: cgroup %s is already used by [%s] (line %d)\n",
						cfg->file, p->cgroup_line, p->name, t->path, r.t[j].pol->name,
						r.t[j].pol->cgroup_line);
					targets_free(r.t, r.n);
					return CGP_EXIT_POLICY;
				}
			}
		}
	}
	if (!r.t && !(r.t = calloc(1, sizeof(*r.t)))) {
		guards_free(r.g, r.ng);
		free(r.d);
		return CGP_EXIT_SYSTEM;
	}
	*out = r.t;
	*nout = r.n;
	*gout = r.g;
	*ngout = r.ng;
	*dout = r.d;
	*ndout = r.nd;
	return 0;
}

/* Existing slot assignments: info map, slot -> record. */
static int read_infos(const struct cgp_pins *p, struct cgp_info **out, unsigned *n)
{
	struct cgp_info *v = calloc(CGP_MAX_SLOTS, sizeof(*v));
	__u32 key, next, *prev = NULL;
	unsigned cnt = 0;

	if (!v)
		return -ENOMEM;
	while (!bpf_map_get_next_key(p->map_fd[CGP_MAP_INFO], prev, &next)) {
		if (cnt < CGP_MAX_SLOTS && !bpf_map_lookup_elem(p->map_fd[CGP_MAP_INFO], &next, &v[cnt]))
			cnt++;
		key = next;
		prev = &key;
	}
	*out = v;
	*n = cnt;
	return 0;
}

/* Existing guards: guards map, template slot -> record. */
static int read_guard_infos(const struct cgp_pins *p, struct cgp_guard_info **out, unsigned *n)
{
	struct cgp_guard_info *v = calloc(CGP_MAX_SLOTS, sizeof(*v));
	__u32 key, next, *prev = NULL;
	unsigned cnt = 0;

	if (!v)
		return -ENOMEM;
	while (!bpf_map_get_next_key(p->map_fd[CGP_MAP_GUARDS], prev, &next)) {
		if (cnt < CGP_MAX_SLOTS && !bpf_map_lookup_elem(p->map_fd[CGP_MAP_GUARDS], &next, &v[cnt]))
			cnt++;
		key = next;
		prev = &key;
	}
	*out = v;
	*n = cnt;
	return 0;
}

static int assign_slots(struct target *t, unsigned nt, const struct cgp_info *inf, unsigned ninf,
			struct guard *g, unsigned ng, const struct cgp_guard_info *ginf, unsigned nginf)
{
	bool used[CGP_MAX_SLOTS] = { true };	/* slot 0 reserved */

	/* A glob policy keeps its template slot (by name) across applies. */
	for (unsigned i = 0; i < ng; i++) {
		for (unsigned j = 0; j < nginf; j++) {
			if (!strcmp(ginf[j].name, g[i].pol->name) && ginf[j].slot < CGP_MAX_SLOTS &&
			    !used[ginf[j].slot]) {
				g[i].slot = ginf[j].slot;
				used[ginf[j].slot] = true;
				break;
			}
		}
	}
	for (unsigned j = 0; j < nginf; j++)
		if (ginf[j].slot < CGP_MAX_SLOTS)
			used[ginf[j].slot] = true;

	/* Keep the slot of a cgroup that is already attached. */
	for (unsigned i = 0; i < nt; i++) {
		for (unsigned j = 0; j < ninf; j++) {
			if (inf[j].cgroup_id == t[i].cgid && inf[j].slot < CGP_MAX_SLOTS) {
				t[i].slot = inf[j].slot;
				used[inf[j].slot] = true;
				break;
			}
		}
	}
	/* Slots of cgroups being dropped stay reserved until after the switch. */
	for (unsigned j = 0; j < ninf; j++)
		if (inf[j].slot < CGP_MAX_SLOTS)
			used[inf[j].slot] = true;
	for (unsigned i = 0, s = 1; i < nt + ng; i++) {
		__u32 *slot = i < nt ? &t[i].slot : &g[i - nt].slot;

		if (*slot)
			continue;
		while (s < CGP_MAX_SLOTS && used[s])
			s++;
		if (s >= CGP_MAX_SLOTS)
			return -ENOSPC;
		*slot = s;
		used[s] = true;
		if (i >= nt)
			g[i - nt].new_slot = true;
	}
	return 0;
}

static int compile_all(const struct cgp_config *cfg, struct target *t, unsigned nt, struct guard *g,
		       unsigned ng)
{
	char err[512];

	for (unsigned i = 0; i < nt; i++) {
		if (cgp_compile(cfg->file, t[i].pol, (uint16_t)t[i].slot, &t[i].comp, err, sizeof(err))) {
			fprintf(stderr, "%s\n", err);
			return CGP_EXIT_POLICY;
		}
		/* socket redirection failing its check here: enforce the rest, say so once a section */
		if ((t[i].comp.pol.flags & CGP_POL_F_ACCELERATE) && !cgp_feature_ok(CGP_FEAT_ACCEL)) {
			t[i].comp.pol.flags &= (uint8_t)~CGP_POL_F_ACCELERATE;
			if (!i || t[i - 1].pol != t[i].pol)
				fprintf(stderr, "%s:%d: [%s]: warning: accelerate = yes is not applied: the kernel "
					"feature 'acceleration' fails its check here (%s); the policy is enforced "
					"without acceleration\n", cfg->file, t[i].pol->line, t[i].pol->name,
					cgp_features()[CGP_FEAT_ACCEL].why);
		}
	}
	for (unsigned i = 0; i < ng; i++) {
		if (cgp_compile(cfg->file, g[i].pol, (uint16_t)g[i].slot, &g[i].comp, err, sizeof(err))) {
			fprintf(stderr, "%s\n", err);
			return CGP_EXIT_POLICY;
		}
	}
	return 0;
}

/*
 * Step 3 helpers: comps[i] is the compiled policy of slot slots[i]. Used by
 * the BPF tests to fill a half without an apply.
 */
int cgp_install_set(const int outer_fd[3], const struct cgp_compiled *const *comps,
		    const __u32 *slots, unsigned n, __u32 set)
{
	struct cgp_ruleset rs;
	size_t written;
	int err = cgp_ruleset_build(comps, slots, n, &rs);

	if (!err)
		err = cgp_ruleset_install(outer_fd, set, &rs, NULL, &written);
	cgp_ruleset_free(&rs);
	return err;
}

/* The kernel's id of a map (unique until reboot): 0 if unknown. */
static __u32 map_id(int fd)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.id;
}

/* Step 3: the new content of half `set`, written whole or as a difference against `old`. */
static int build_set(const struct cgp_pins *p, struct target *t, unsigned nt, const struct guard *g,
		     unsigned ng, __u32 set, const struct cgp_ruleset *old, struct cgp_ruleset *rs,
		     size_t *written)
{
	const int outer[3] = { p->map_fd[CGP_MAP_RULES], p->map_fd[CGP_MAP_PORTS], p->map_fd[CGP_MAP_POLS] };
	const struct cgp_compiled **comps = calloc(nt + ng ? nt + ng : 1, sizeof(*comps));
	__u32 *slots = calloc(nt + ng ? nt + ng : 1, sizeof(*slots));
	int err = -ENOMEM;

	if (comps && slots) {
		for (unsigned i = 0; i < nt; i++) {
			comps[i] = &t[i].comp;
			slots[i] = t[i].slot;
		}
		/* template slots: configured like any other, attached to no cgroup */
		for (unsigned i = 0; i < ng; i++) {
			comps[nt + i] = &g[i].comp;
			slots[nt + i] = g[i].slot;
		}
		err = cgp_ruleset_build(comps, slots, nt + ng, rs);
		if (err)
			pr_err("out of memory building the rule set\n");
		else
			err = cgp_ruleset_install(outer, set, rs, old, written);
	}
	free(comps);
	free(slots);
	return err;
}

static bool link_alive(int fd)
{
	struct bpf_link_info info = {};
	__u32 len = sizeof(info);

	return !bpf_obj_get_info_by_fd(fd, &info, &len) && info.cgroup.cgroup_id != 0;
}

/* Which programs a policy cgroup gets: enforcement always, sockops for stats
 * or acceleration. */
static bool wants(const struct target *t, int prog)
{
	return prog != CGP_PROG_SOCKOPS || t->pol->stats || t->pol->accelerate;
}

/* Step 4: attach where needed. */
static int attach_new(const struct cgp_pins *p, struct target *t, unsigned nt)
{
	static const enum bpf_attach_type at[CGP_PROG_CGROUP_N] = {
		BPF_CGROUP_INET_INGRESS, BPF_CGROUP_INET_EGRESS, BPF_CGROUP_SOCK_OPS,
	};
	char path[PATH_MAX];

	for (unsigned i = 0; i < nt; i++) {
		for (int j = 0; j < CGP_PROG_CGROUP_N; j++) {
			int fd;

			if (!wants(&t[i], j))
				continue;
			cgp_link_pin_path(path, sizeof(path), p, t[i].cgid, j);
			fd = bpf_obj_get(path);
			if (fd >= 0) {
				bool alive = link_alive(fd);

				close(fd);
				if (alive)
					continue;
				unlink(path);	/* its cgroup was removed and re-created */
			}
			t[i].new_link[j] = bpf_link_create(p->prog_fd[j], t[i].cg_fd, at[j], NULL);
			if (t[i].new_link[j] < 0 && t[i].glob) {
				pr_info("cgroup %s went away before it could be attached: skipped\n", t[i].path);
				t[i].skip = true;
				break;
			}
			if (t[i].new_link[j] < 0) {
				int err = -errno;

				pr_err("failed to attach to cgroup %s: %s%s\n", t[i].path, strerror(-err),
				       err == -EPERM ? " (another program is attached without BPF_F_ALLOW_MULTI?)" : "");
				return err;
			}
			if (bpf_obj_pin(t[i].new_link[j], path)) {
				int err = -errno;

				pr_err("failed to pin %s: %s\n", path, strerror(-err));
				return err;
			}
		}
		/* Every time: the flags (accelerate, stats) may have changed. */
		if (!t[i].skip) {
			struct cgp_cgroup cg = { .slot = t[i].slot, .flags = t[i].comp.pol.flags };

			if (bpf_map_update_elem(p->map_fd[CGP_MAP_CGROUP], &t[i].cgid, &cg, BPF_ANY)) {
				int err = -errno;

				pr_err("failed to set the policy slot of cgroup %s: %s\n", t[i].path, strerror(-err));
				return err;
			}
		}
	}
	return 0;
}

/* After the switch: links a policy no longer wants (e.g. stats turned off). */
static void detach_unwanted(const struct cgp_pins *p, const struct target *t, unsigned nt)
{
	char path[PATH_MAX];

	for (unsigned i = 0; i < nt; i++) {
		for (int j = 0; j < CGP_PROG_CGROUP_N; j++) {
			if (wants(&t[i], j))
				continue;
			cgp_link_pin_path(path, sizeof(path), p, t[i].cgid, j);
			if (unlink(path) && errno != ENOENT)
				pr_warn("cannot unpin %s: %s\n", path, strerror(errno));
		}
	}
}

static void undo_attach(const struct cgp_pins *p, struct target *t, unsigned nt)
{
	char path[PATH_MAX];

	for (unsigned i = 0; i < nt; i++) {
		for (int j = 0; j < CGP_PROG_CGROUP_N; j++) {
			if (t[i].new_link[j] < 0)
				continue;
			cgp_link_pin_path(path, sizeof(path), p, t[i].cgid, j);
			unlink(path);
			close(t[i].new_link[j]);
			t[i].new_link[j] = -1;
		}
	}
}

/* ---- guards ---- */

/* The guard entries of ancestor `anc_id`: every glob policy rooted there. */
static int guard_entries(const struct guard *g, unsigned ng, __u64 anc_id, struct cgp_guard *out)
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

/*
 * Step 4b: a guard link pair on every fixed ancestor (kept when alive), and
 * its cgroup storage: the entries of this file plus, until the switch, those
 * of the live generation's globs that this file drops (their cgroups stay
 * guarded until they are detached). New template slots are not configured in
 * the live set: those entries pass until the switch, as before the apply.
 * new_links[]: links created by this run (2 per guard), for undo.
 */
static int attach_guards(const struct cgp_config *cfg, const struct cgp_pins *p, struct guard *g,
			 unsigned ng, int *new_links)
{
	static const enum bpf_attach_type at[2] = { BPF_CGROUP_INET_INGRESS, BPF_CGROUP_INET_EGRESS };
	char path[PATH_MAX];

	for (unsigned i = 0; i < ng; i++) {
		struct cgp_guard ge, old;
		bool first = true;

		if (g[i].anc_fd < 0)
			continue;
		for (unsigned j = 0; j < i; j++)
			first = first && !(g[j].anc_fd >= 0 && g[j].anc_id == g[i].anc_id);
		if (!first)
			continue;
		if (guard_entries(g, ng, g[i].anc_id, &ge)) {
			fprintf(stderr, "%s:%d: [%s]: more than %d glob policies share the fixed ancestor %s; "
				"give some of them a longer literal prefix\n", cfg->file, g[i].pol->cgroup_line,
				g[i].pol->name, CGP_GUARDS, g[i].anc);
			return -E2BIG;
		}
		for (int d = 0; d < 2; d++) {
			int fd;

			cgp_guard_pin_path(path, sizeof(path), p, g[i].anc_id, d);
			fd = bpf_obj_get(path);
			if (fd >= 0) {
				bool alive = link_alive(fd);

				close(fd);
				if (alive)
					continue;
				unlink(path);	/* the ancestor was removed and re-created */
			}
			fd = bpf_link_create(p->prog_fd[d == CGP_DIR_IN ? CGP_PROG_GUARD_IN : CGP_PROG_GUARD_OUT],
					     g[i].anc_fd, at[d], NULL);
			if (fd < 0) {
				int err = -errno;

				pr_err("failed to attach the guard of [%s] to %s: %s%s\n", g[i].pol->name,
				       g[i].anc, strerror(-err),
				       err == -EPERM ? " (another program is attached without BPF_F_ALLOW_MULTI?)" : "");
				return err;
			}
			new_links[2 * i + d] = fd;
			if (bpf_obj_pin(fd, path)) {
				int err = -errno;

				pr_err("failed to pin %s: %s\n", path, strerror(-err));
				return err;
			}
		}
		/* Dropped globs rooted here keep their entries until the switch. */
		if (!bpf_map_lookup_elem(p->map_fd[CGP_MAP_GUARD], &g[i].anc_id, &old)) {
			for (int k = 0; k < CGP_GUARDS && old.e[k].slot; k++) {
				int n = 0, have = 0;

				for (; n < CGP_GUARDS && ge.e[n].slot; n++)
					have = have || ge.e[n].slot == old.e[k].slot;
				if (!have && n < CGP_GUARDS)
					ge.e[n] = old.e[k];
			}
		}
		if (bpf_map_update_elem(p->map_fd[CGP_MAP_GUARD], &g[i].anc_id, &ge, BPF_ANY)) {
			int err = -errno;

			pr_err("failed to configure the guard on %s: %s\n", g[i].anc, strerror(-err));
			return err;
		}
	}
	return 0;
}

static void undo_guards(const struct cgp_pins *p, const struct guard *g, unsigned ng, int *new_links)
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

/* Is cgroup `cgid` enforced by a slot of the live generation already? */
static bool live_before(const struct target *t, const struct cgp_info *inf, unsigned ninf)
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
static int write_known(const struct cgp_pins *p, struct decided *d, unsigned nd, const struct target *t,
		       const struct cgp_info *inf, unsigned ninf, bool post)
{
	for (unsigned i = 0; i < nd; i++) {
		const struct target *tt = d[i].target >= 0 ? &t[d[i].target] : NULL;
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

/* After the switch: forget the cgroups this apply has not decided (gone, or no glob reaches them). */
static void prune_known(const struct cgp_pins *p, const struct decided *d, unsigned nd)
{
	__u64 *ids = calloc(nd ? nd : 1, sizeof(*ids)), *del = NULL, key, next, *prev = NULL;
	unsigned ndel = 0, cap = 0;

	if (!ids)
		return;
	for (unsigned i = 0; i < nd; i++)
		ids[i] = d[i].cgid;
	qsort(ids, nd, sizeof(*ids), cmp_u64);
	while (!bpf_map_get_next_key(p->map_fd[CGP_MAP_KNOWN], prev, &next)) {
		if (!bsearch(&next, ids, nd, sizeof(*ids), cmp_u64)) {
			if (ndel == cap) {
				__u64 *n = realloc(del, (cap = cap ? cap * 2 : 64) * sizeof(*n));

				if (!n)
					break;
				del = n;
			}
			del[ndel++] = next;
		}
		key = next;
		prev = &key;
	}
	for (unsigned i = 0; i < ndel; i++)
		bpf_map_delete_elem(p->map_fd[CGP_MAP_KNOWN], &del[i]);
	free(del);
	free(ids);
}

/* After the switch: guard storage without dropped globs, records, dropped guards unpinned. */
static void commit_guards(const struct cgp_pins *p, const struct guard *g, unsigned ng,
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
static void reset_template_counters(const struct cgp_pins *p, const struct guard *g, unsigned ng)
{
	int ncpu = libbpf_num_possible_cpus();
	struct cgp_counters *z;

	if (ncpu <= 0 || !(z = calloc(ncpu, sizeof(*z))))
		return;
	for (unsigned i = 0; i < ng; i++)
		if (g[i].new_slot)
			bpf_map_update_elem(p->map_fd[CGP_MAP_GCNT], &g[i].slot, z, BPF_ANY);
	free(z);
}

static void print_plan(const struct cgp_config *cfg, const struct target *t, unsigned nt, bool dry)
{
	for (unsigned i = 0; i < nt; i++) {
		const struct cgp_policy *pol = t[i].pol;

		printf("%s[%s] cgroup %s (id %llu): %u rules, %zu entries, ingress %s, egress %s%s\n",
		       dry ? "would apply " : "applied ", pol->name, t[i].path, (unsigned long long)t[i].cgid,
		       pol->nrules, t[i].comp.nlpm, cgp_verdict_str(pol->def[CGP_DIR_IN]),
		       cgp_verdict_str(pol->def[CGP_DIR_OUT]),
		       t[i].comp.pol.flags & CGP_POL_F_ACCELERATE ? ", accelerate" : "");
	}
	(void)cfg;
}

static void print_guards(const struct guard *g, unsigned ng, bool dry)
{
	for (unsigned i = 0; i < ng; i++) {
		if (g[i].anc_fd < 0) {
			printf("%s[%s] no guard: %s does not exist (new cgroups are policed once attached)\n",
			       dry ? "would apply " : "", g[i].pol->name, g[i].anc);
			continue;
		}
		printf("%s[%s] guard on %s (id %llu): new cgroups at level %u judged by this policy "
		       "(template slot %u) until registered\n", dry ? "would guard " : "guarded ",
		       g[i].pol->name, g[i].anc, (unsigned long long)g[i].anc_id, g[i].level, g[i].slot);
	}
}

/* One line per generation: what changed against the previous one. */
static void print_diff(__u64 gen, const struct target *t, unsigned nt, const struct cgp_info *inf,
		       unsigned ninf)
{
	unsigned added = 0, removed = 0, changed = 0, same = 0;
	long long r_old = 0, r_new = 0;

	for (unsigned j = 0; j < ninf; j++) {
		bool found = false;

		r_old += inf[j].nrules;
		for (unsigned i = 0; i < nt && !found; i++)
			found = !t[i].skip && t[i].cgid == inf[j].cgroup_id;
		removed += !found;
	}
	for (unsigned i = 0; i < nt; i++) {
		const struct cgp_info *o = NULL;

		if (t[i].skip)
			continue;
		r_new += t[i].pol->nrules;
		for (unsigned j = 0; j < ninf && !o; j++)
			if (inf[j].cgroup_id == t[i].cgid)
				o = &inf[j];
		if (!o)
			added++;
		else if (strcmp(o->name, t[i].pol->name) || o->nrules != t[i].pol->nrules ||
			 o->def[0] != t[i].pol->def[0] || o->def[1] != t[i].pol->def[1] ||
			 o->flags != t[i].comp.pol.flags || o->gen == 0)
			changed++;
		else
			same++;
	}
	printf("generation %llu: %u added, %u removed, %u changed, %u unchanged (policy, cgroup) pairs; "
	       "rules %lld -> %lld (%+lld)\n", (unsigned long long)gen, added, removed, changed, same,
	       r_old, r_new, r_new - r_old);
}

int cgp_cmd_apply(const struct cgp_config *cfg, const char *pin_path, bool dry_run)
{
	struct cgp_info *inf = NULL;
	struct cgp_rp_cgroup *rpc = NULL;
	struct cgp_rp_plan *rp = NULL;
	struct cgp_ruleset rs = {}, cache[2] = {};
	struct target *t = NULL;
	struct guard *g = NULL;
	struct decided *dec = NULL;
	struct cgp_guard_info *ginf = NULL;
	int *glinks = NULL;
	struct cgp_pins p;
	struct cgp_state st;
	unsigned ninf = 0, nt = 0, ng = 0, nd = 0, nginf = 0;
	int known[2] = { 0, 0 };
	size_t written = 0;
	bool half_dirty = false;
	__u32 inact, state_id;
	char path[PATH_MAX];
	int rc, err;

	rc = resolve(cfg, &t, &nt, &g, &ng, &dec, &nd);
	if (rc)
		return rc;
	cgp_pins_init(&p, pin_path);
	rpc = calloc(nt ? nt : 1, sizeof(*rpc));
	glinks = malloc(2 * (ng ? ng : 1) * sizeof(*glinks));
	if (!rpc || !glinks) {
		rc = CGP_EXIT_SYSTEM;
		goto out;
	}
	for (unsigned i = 0; i < 2 * ng; i++)
		glinks[i] = -1;
	for (unsigned i = 0; i < nt; i++)
		rpc[i] = (struct cgp_rp_cgroup){ .policy = t[i].pol->name, .path = t[i].path,
						 .cgid = t[i].cgid, .cg_fd = t[i].cg_fd };

	if (dry_run) {
		/* Slots as a fresh apply would give them; nothing is opened for writing. */
		for (unsigned i = 0; i < nt; i++)
			t[i].slot = i + 1;
		for (unsigned i = 0; i < ng; i++)
			g[i].slot = nt + i + 1;
		rc = compile_all(cfg, t, nt, g, ng);
		if (!rc && cgp_reuseport_prepare(&p, cfg, rpc, nt, true, &rp))
			rc = CGP_EXIT_POLICY;
		if (!rc) {
			print_plan(cfg, t, nt, true);
			print_guards(g, ng, true);
		}
		goto out;
	}

	err = cgp_pins_lock(&p, true);
	if (err) {
		if (err != -EINVAL)
			pr_err("cannot lock pin path %s: %s\n", pin_path, strerror(-err));
		rc = CGP_EXIT_SYSTEM;
		goto out;
	}
	err = cgp_pins_open(&p);
	if (err == -ENOENT) {
		err = cgp_pins_create(&p);
		if (!err)
			err = cgp_pins_open(&p);
	}
	if (err) {
		rc = CGP_EXIT_SYSTEM;
		goto out;
	}
	if (cgp_state_read(&p, &st) || read_infos(&p, &inf, &ninf) || read_guard_infos(&p, &ginf, &nginf)) {
		pr_err("cannot read the pinned state under %s: %s\n", pin_path, strerror(errno));
		rc = CGP_EXIT_SYSTEM;
		goto out;
	}
	if (assign_slots(t, nt, inf, ninf, g, ng, ginf, nginf)) {
		fprintf(stderr, "%s: too many policies (at most %d cgroups and glob templates at once)\n",
			cfg->file, CGP_MAX_POLICIES);
		rc = CGP_EXIT_POLICY;
		goto out;
	}
	rc = compile_all(cfg, t, nt, g, ng);
	if (rc)
		goto out;
	for (unsigned i = 0; i < nd; i++)
		dec[i].slot = dec[i].target >= 0 ? t[dec[i].target].slot : 0;

	rc = CGP_EXIT_SYSTEM;
	/* What each half holds, if the last apply left a trustworthy record of it. */
	state_id = map_id(p.map_fd[CGP_MAP_STATE]);
	cgp_ruleset_cache_load(pin_path, state_id, st.gen, cache, known);
	inact = (__u32)((st.gen + 1) & 1);
	half_dirty = true;	/* until the switch, the cache no longer describes half inact */
	if (build_set(&p, t, nt, g, ng, inact, known[inact] ? &cache[inact] : NULL, &rs, &written))
		goto out;
	if (attach_new(&p, t, nt)) {
		undo_attach(&p, t, nt);
		pr_err("nothing was changed: the policy in force is the previous one\n");
		goto out;
	}
	/* Step 4b: guards, template counters, the cgroups decided already. */
	reset_template_counters(&p, g, ng);
	err = attach_guards(cfg, &p, g, ng, glinks);
	if (!err)
		err = write_known(&p, dec, nd, t, inf, ninf, false);
	if (err) {
		undo_guards(&p, g, ng, glinks);
		undo_attach(&p, t, nt);
		if (err == -E2BIG)
			rc = CGP_EXIT_POLICY;
		pr_err("nothing was changed: the policy in force is the previous one\n");
		goto out;
	}
	err = cgp_reuseport_prepare(&p, cfg, rpc, nt, false, &rp);
	if (err) {
		undo_guards(&p, g, ng, glinks);
		undo_attach(&p, t, nt);
		rc = err == -EINVAL || err == -EOPNOTSUPP ? CGP_EXIT_POLICY : CGP_EXIT_SYSTEM;
		pr_err("nothing was changed: the policy in force is the previous one\n");
		goto out;
	}

	/* Step 5: the switch. */
	st.gen++;
	{
		__u32 zero = 0;

		if (bpf_map_update_elem(p.map_fd[CGP_MAP_STATE], &zero, &st, BPF_ANY)) {
			pr_err("failed to switch to the new policy: %s\n", strerror(errno));
			undo_guards(&p, g, ng, glinks);
			undo_attach(&p, t, nt);
			cgp_reuseport_abort(rp);
			rp = NULL;
			goto out;
		}
	}
	/* The new matches are live: now they may be known. */
	if (write_known(&p, dec, nd, t, inf, ninf, true))
		pr_warn("new cgroups stay under their glob's template until the next apply\n");
	cgp_reuseport_commit(rp);
	rp = NULL;
	/* The half just switched to holds rs; the other still holds what it held. */
	half_dirty = false;
	cgp_ruleset_free(&cache[inact]);
	cache[inact] = rs;
	known[inact] = 1;
	memset(&rs, 0, sizeof(rs));
	if (cgp_ruleset_cache_save(pin_path, state_id, st.gen, cache, known))
		pr_debug("cannot save the rule set cache: the next apply writes the rule maps whole\n");

	/* Step 6: detach dropped cgroups and unwanted programs, refresh info. */
	commit_guards(&p, g, ng, ginf, nginf, st.gen);
	prune_known(&p, dec, nd);
	detach_unwanted(&p, t, nt);
	for (unsigned j = 0; j < ninf; j++) {
		bool keep = false;

		for (unsigned i = 0; i < nt && !keep; i++)
			keep = !t[i].skip && t[i].cgid == inf[j].cgroup_id;
		if (keep)
			continue;
		for (int k = 0; k < CGP_PROG_CGROUP_N; k++) {
			cgp_link_pin_path(path, sizeof(path), &p, inf[j].cgroup_id, k);
			if (unlink(path) && errno != ENOENT)
				pr_warn("cannot unpin %s: %s\n", path, strerror(errno));
		}
		bpf_map_delete_elem(p.map_fd[CGP_MAP_INFO], &inf[j].slot);
		bpf_map_delete_elem(p.map_fd[CGP_MAP_CGSLOTS], &inf[j].cgroup_id);
		pr_info("detached [%s] from %s\n", inf[j].name, inf[j].cgroup);
	}
	for (unsigned i = 0; i < nt; i++) {
		struct cgp_info in = {
			.cgroup_id = t[i].cgid,
			.gen = st.gen,
			.slot = t[i].slot,
			.nrules = t[i].pol->nrules,
			.def = { t[i].pol->def[0], t[i].pol->def[1] },
			.flags = t[i].comp.pol.flags,
		};

		struct cgp_cgslot cs = { .slot = t[i].slot };

		if (t[i].skip)
			continue;
		if (t[i].pol->stats)
			bpf_map_update_elem(p.map_fd[CGP_MAP_CGSLOTS], &t[i].cgid, &cs, BPF_ANY);
		else
			bpf_map_delete_elem(p.map_fd[CGP_MAP_CGSLOTS], &t[i].cgid);
		snprintf(in.name, sizeof(in.name), "%s", t[i].pol->name);
		snprintf(in.cgroup, sizeof(in.cgroup), "%s", t[i].path);
		if (bpf_map_update_elem(p.map_fd[CGP_MAP_INFO], &t[i].slot, &in, BPF_ANY))
			pr_warn("cannot record [%s] in the info map: %s\n", in.name, strerror(errno));
	}
	print_plan(cfg, t, nt, false);
	print_guards(g, ng, false);
	printf("generation %llu in force at %s (%zu map entries written)\n", (unsigned long long)st.gen,
	       pin_path, written);
	print_diff(st.gen, t, nt, inf, ninf);
	rc = CGP_EXIT_OK;
out:
	if (rp)
		cgp_reuseport_abort(rp);
	if (half_dirty)
		cgp_ruleset_cache_remove(pin_path);	/* the next apply writes the maps whole */
	cgp_ruleset_free(&rs);
	cgp_ruleset_free(&cache[0]);
	cgp_ruleset_free(&cache[1]);
	free(rpc);
	free(inf);
	free(ginf);
	if (glinks)
		for (unsigned i = 0; i < 2 * ng; i++)
			if (glinks[i] >= 0)
				close(glinks[i]);
	free(glinks);
	free(dec);
	guards_free(g, ng);
	targets_free(t, nt);
	cgp_pins_close(&p);
	return rc;
}

int cgp_cmd_remove(const char *pin_path)
{
	struct cgp_pins p;
	int err;

	cgp_pins_init(&p, pin_path);
	err = cgp_pins_lock(&p, false);
	if (err == -ENOENT) {
		printf("nothing to remove at %s\n", pin_path);
		return CGP_EXIT_OK;
	}
	if (err) {
		pr_err("cannot lock pin path %s: %s\n", pin_path, strerror(-err));
		return CGP_EXIT_SYSTEM;
	}
	err = cgp_reuseport_remove(&p);
	if (!err)
		err = cgp_pins_remove(&p);
	cgp_ruleset_cache_remove(pin_path);
	if (!err && rmdir(pin_path) && errno != ENOENT)
		err = -errno;
	cgp_pins_close(&p);
	if (err) {
		pr_err("could not remove everything under %s: %s\n", pin_path, strerror(-err));
		return CGP_EXIT_SYSTEM;
	}
	printf("removed %s: all programs detached\n", pin_path);
	return CGP_EXIT_OK;
}
