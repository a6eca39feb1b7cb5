// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * apply_report.c - what apply prints: the plan, the guards, one line of
 * difference per generation.
 */
#include <stdio.h>
#include <string.h>

#include "agent/apply_steps.h"

void apply_print_plan(const struct apply_target *t, unsigned nt, bool dry)
{
	for (unsigned i = 0; i < nt; i++) {
		const struct cgp_policy *pol = t[i].pol;

		printf("%s[%s] cgroup %s (id %llu): %u rules, %zu entries, ingress %s, egress %s%s\n",
		       dry ? "would apply " : "applied ", pol->name, t[i].path, (unsigned long long)t[i].cgid,
		       pol->nrules, t[i].comp.nlpm, cgp_verdict_str(pol->def[CGP_DIR_IN]),
		       cgp_verdict_str(pol->def[CGP_DIR_OUT]),
		       t[i].comp.pol.flags & CGP_POL_F_ACCELERATE ? ", accelerate" : "");
	}
}

void apply_print_guards(const struct apply_guard *g, unsigned ng, bool dry)
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
void apply_print_diff(__u64 gen, const struct apply_target *t, unsigned nt,
		      const struct cgp_info *inf, unsigned ninf)
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
