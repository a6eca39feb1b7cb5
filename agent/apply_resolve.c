// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * apply_resolve.c - step 1 of apply: every policy cgroup resolved, every glob
 * matched (its matches become targets, its fixed ancestor a guard, every
 * candidate below it a decided cgroup). Nothing is touched yet.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "agent/apply_steps.h"
#include "agent/cgroup.h"
#include "policy/fileline.h"

void apply_guards_free(struct apply_guard *g, unsigned n)
{
	for (unsigned i = 0; g && i < n; i++) {
		if (g[i].anc_fd >= 0)
			close(g[i].anc_fd);
		cgp_compiled_free(&g[i].comp);
	}
	free(g);
}

void apply_targets_free(struct apply_target *t, unsigned n)
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
	struct apply_target *t;
	unsigned n, cap, matched;
	struct apply_guard *g;
	unsigned ng;
	struct apply_decided *d;
	unsigned nd, dcap;
};

static struct apply_target *new_target(struct resolve_ctx *r)
{
	struct apply_target *t;

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
	struct apply_target *t = new_target(r);

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
				cgp_log_at(CGP_LOG_WARN, r->cfg->file, r->pol->cgroup_line,
					   "[%s]: %s already has the policy of [%s]; skipped\n",
					   r->pol->name, t->path, r->t[j].pol->name);
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
	struct apply_decided *d;
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
	struct apply_guard *g = realloc(r->g, (r->ng + 1) * sizeof(*g)), *n;
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
		cgp_log_at(CGP_LOG_WARN, r->cfg->file, p->cgroup_line,
			   "[%s]: no existing ancestor of %s: no guard\n", p->name, p->cgroup);
		snprintf(n->anc, sizeof(n->anc), "%s", anc);
		return 0;
	}
	if (e)
		return e;
	if (!exists)
		cgp_log_at(CGP_LOG_INFO, r->cfg->file, p->cgroup_line,
			   "[%s]: the glob's fixed ancestor does not exist yet: guarded from %s, "
			   "where a new cgroup is judged by this policy until an apply has seen it\n",
			   p->name, anc);
	if (cgp_cgroup_resolve(r->mnt, anc, n->anc, sizeof(n->anc), &n->anc_fd, &n->anc_id, err,
			       sizeof(err))) {
		cgp_log_at(CGP_LOG_WARN, r->cfg->file, p->cgroup_line, "[%s]: no guard: %s\n",
			   p->name, err);
		return 0;
	}
	e = cgp_cgroup_level(r->mnt, n->anc, &alevel);
	if (e) {
		cgp_log_at(CGP_LOG_WARN, r->cfg->file, p->cgroup_line,
			   "[%s]: cannot tell the cgroup level of %s (%s): no guard; new cgroups "
			   "are policed once the agent has attached to them\n",
			   p->name, n->anc, strerror(-e));
		close(n->anc_fd);
		n->anc_fd = -1;
		return 0;
	}
	n->level = alevel + depth;
	return cgp_cgroup_candidates(n->anc, depth, add_candidate, NULL, r);
}

static void resolve_ctx_free(struct resolve_ctx *r)
{
	apply_targets_free(r->t, r->n);
	apply_guards_free(r->g, r->ng);
	free(r->d);
}

/* An exact `cgroup =` path: it must exist and be no other policy's. */
static int resolve_exact(struct resolve_ctx *r, const struct cgp_policy *p)
{
	char err[CGP_PATH_MAX + 256];
	struct apply_target *t = new_target(r);

	if (!t)
		return CGP_EXIT_SYSTEM;
	if (cgp_cgroup_resolve(r->mnt, p->cgroup, t->path, sizeof(t->path), &t->cg_fd, &t->cgid, err,
			       sizeof(err))) {
		cgp_fileline_fprintf(stderr, r->cfg->file, p->cgroup_line, "[%s]: %s\n", p->name, err);
		return CGP_EXIT_POLICY;
	}
	r->n++;
	for (unsigned j = 0; j + 1 < r->n; j++) {
		if (r->t[j].cgid == t->cgid) {
			cgp_fileline_fprintf(stderr, r->cfg->file, p->cgroup_line,
					     "[%s]: cgroup %s is already used by [%s] (line %d)\n", p->name,
					     t->path, r->t[j].pol->name, r->t[j].pol->cgroup_line);
			return CGP_EXIT_POLICY;
		}
	}
	return 0;
}

/* A glob `cgroup =`: its guard and matches; matching nothing (yet) is only a warning. */
static int resolve_glob_policy(struct resolve_ctx *r, const struct cgp_policy *p)
{
	int e;

	r->matched = 0;
	e = resolve_glob(r, p);
	if (e) {
		cgp_log_at(CGP_LOG_ERR, r->cfg->file, p->cgroup_line,
			   "[%s]: cannot match cgroup glob %s: %s\n", p->name, p->cgroup, strerror(-e));
		return CGP_EXIT_SYSTEM;
	}
	if (!r->matched)
		cgp_log_at(CGP_LOG_WARN, r->cfg->file, p->cgroup_line,
			   "[%s]: cgroup glob %s matches no cgroup (yet)\n", p->name, p->cgroup);
	return 0;
}

/*
 * Step 1: resolve cgroups. An error in the file is reported as FILE:LINE
 * (exit 1); no cgroup2 mount or a glob that cannot be walked is exit 2. A
 * policy with a glob gets one target per cgroup that matches now (none: a
 * warning).
 */
int apply_resolve(const struct cgp_config *cfg, struct apply_target **out, unsigned *nout,
		  struct apply_guard **gout, unsigned *ngout, struct apply_decided **dout,
		  unsigned *ndout)
{
	char mnt[CGP_PATH_MAX];
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

			if (glob != (pass == 1))
				continue;
			r.pol = p;
			e = glob ? resolve_glob_policy(&r, p) : resolve_exact(&r, p);
			if (e) {
				resolve_ctx_free(&r);
				return e;
			}
		}
	}
	if (!r.t && !(r.t = calloc(1, sizeof(*r.t)))) {
		resolve_ctx_free(&r);
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
