// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * explain_file.c - explain FILE: what the file would do. The judges are the
 * file's policies of the cgroup's path (an exact path first, else the first
 * glob that matches); each decides by cgp_decide() over the policy compiled
 * (policy/compile.c) and the members of the file's sets (a dynamic set: its
 * initial content).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/cgroup.h"
#include "agent/explain.h"
#include "agent/hits.h"
#include "agent/log.h"

/* The policy of cgroup `abs` in the file: an exact path first, else the first glob that matches. */
static const struct cgp_policy *file_policy_of(const struct cgp_config *cfg, const char *mnt, const char *abs)
{
	size_t ml = strlen(mnt);
	const char *rel = abs + ml;

	if (!*rel)
		rel = "/";
	for (unsigned i = 0; i < cfg->npolicies; i++) {
		const struct cgp_policy *p = &cfg->policies[i];
		char spec[CGP_PATH_MAX];
		size_t l;

		if (cgp_cgroup_is_glob(p->cgroup))
			continue;
		/* `cgroup =` under the mount, or already absolute on it */
		snprintf(spec, sizeof(spec), "%s", p->cgroup);
		l = strlen(spec);
		while (l > 1 && spec[l - 1] == '/')
			spec[--l] = '\0';
		if (!strcmp(spec, rel) || !strcmp(spec, abs))
			return p;
	}
	for (unsigned i = 0; i < cfg->npolicies; i++)
		if (cgp_cgroup_is_glob(cfg->policies[i].cgroup) &&
		    cgp_cgroup_glob_match(mnt, cfg->policies[i].cgroup, abs))
			return &cfg->policies[i];
	return NULL;
}

int explain_file(struct explain *e, const char *mnt, struct cgp_config *cfg, struct cgp_srcfile *src,
			struct cgp_lpm_entry **setm, size_t *nsetm)
{
	static char chain[64][CGP_PATH_MAX];
	char err[512];

	if (cgp_config_load(e->file, cfg, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return CGP_EXIT_POLICY;
	}
	if (!cgp_srcfile_read(e->file, src))
		e->src = src;
	if (e->a->policy) {
		const struct cgp_policy *p = cgp_config_find(cfg, e->a->policy);
		struct judge *j;

		if (!p) {
			fprintf(stderr, "cgpolicy: explain: %s has no policy named '%s'\n", e->file, e->a->policy);
			return CGP_EXIT_POLICY;
		}
		j = explain_add_judge(e, p->name, p->cgroup, 0, false);
		j->pol = p;
	} else {
		unsigned n = explain_path_chain(mnt, e->cgpath, chain, 64);

		for (unsigned c = 0; c < n; c++) {
			const struct cgp_policy *p = file_policy_of(cfg, mnt, chain[c]);
			struct judge *j;

			if (p && (j = explain_add_judge(e, p->name, chain[c], 0, false)))
				j->pol = p;
		}
	}
	/* the members of every set (a dynamic set: the file's, its initial content) */
	if (cfg->nsets && !(e->sets = calloc(cfg->nsets, sizeof(*e->sets))))
		return CGP_EXIT_SYSTEM;
	for (unsigned i = 0; i < cfg->nsets; i++) {
		struct cgp_lpm_entry *m, *all;
		size_t nm;

		e->sets[i].id = cfg->sets[i].id;
		e->sets[i].dynamic = cfg->sets[i].dynamic;
		snprintf(e->sets[i].name, sizeof(e->sets[i].name), "%s", cfg->sets[i].name);
		e->nsets++;
		if (cgp_set_flatten(cfg, i, &m, &nm))
			return CGP_EXIT_SYSTEM;
		all = realloc(*setm, (*nsetm + nm + 1) * sizeof(*all));
		if (!all) {
			free(m);
			return CGP_EXIT_SYSTEM;
		}
		memcpy(all + *nsetm, m, nm * sizeof(*m));
		*setm = all;
		*nsetm += nm;
		free(m);
	}
	for (unsigned i = 0; i < e->nj; i++) {
		struct judge *j = &e->j[i];
		struct cgp_compiled comp;
		struct cgp_compiled_sets cs;
		struct cgp_lookup lk;
		int r;

		if (cgp_compile(cfg->file, j->pol, 1, &comp, err, sizeof(err))) {
			fprintf(stderr, "%s\n", err);
			return CGP_EXIT_POLICY;
		}
		cs = (struct cgp_compiled_sets){ &comp, *setm, *nsetm };
		lk = cgp_compiled_lookup(&cs);
		j->configured = true;
		r = cgp_decide(&lk, &comp.pol, j->pol, e->f.dir, e->f.proto, e->f.addr, e->f.port, &j->d);
		cgp_compiled_free(&comp);
		if (r)
			return CGP_EXIT_SYSTEM;
	}
	return 0;
}
