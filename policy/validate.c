// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * validate.c - the checks that need more than one line: those of a whole
 * section (run when the next header or the end of the file closes it) and
 * those across sections (run once, at the end).
 */
#include <stdio.h>
#include <string.h>

#include "policy/parser.h"

void cgp_finish_section(struct cgp_pctx *c)
{
	struct cgp_config *cfg = c->cfg;

	if (c->failed)
		return;
	if (c->kind == CGP_SEC_SET) {
		cgp_finish_set(c);
	} else if (c->kind == CGP_SEC_POLICY) {
		struct cgp_policy *p = &cfg->policies[c->cur];
		if (!p->cgroup[0])
			cgp_perr(c, p->line, "[%s] missing cgroup =", p->name);
	} else if (c->kind == CGP_SEC_REUSEPORT) {
		struct cgp_reuseport *rp = &cfg->reuseports[c->cur];
		unsigned wsum = 0;
		if (!rp->port) {
			cgp_perr(c, rp->line, "[reuseport %s] missing port =", rp->name);
			return;
		}
		if (!rp->nbackends) {
			cgp_perr(c, rp->line, "[reuseport %s] needs at least one backend =", rp->name);
			return;
		}
		for (unsigned i = 0; i < rp->nbackends; i++)
			wsum += rp->backends[i].weight;
		if (!wsum)
			cgp_perr(c, rp->line, "[reuseport %s] all backend weights are 0", rp->name);
	}
}

/*
 * Two policies on one cgroup, a backend that names no policy section, two
 * reuseport sections for the same port, proto and address. Of the errors
 * found, the one with the smallest line is reported (for a shared cgroup:
 * the first policy that repeats one).
 */
void cgp_check_global(struct cgp_pctx *c)
{
	struct cgp_config *cfg = c->cfg;
	int best = 0;
	char msg[512] = "";

	cgp_dns_sets(c);
	if (!c->failed)
		cgp_check_sets(c);
	if (!c->failed && c->cfg->agent.dns_ttl_min > c->cfg->agent.dns_ttl_max)
		cgp_perr(c, c->dns_ttl_line, "dns_ttl_min (%u) is above dns_ttl_max (%u)",
			 c->cfg->agent.dns_ttl_min, c->cfg->agent.dns_ttl_max);
	if (c->failed)
		return;

	for (unsigned j = 1; j < cfg->npolicies && !best; j++) {
		for (unsigned i = 0; i < j; i++) {
			if (!strcmp(cfg->policies[i].cgroup, cfg->policies[j].cgroup)) {
				best = cfg->policies[j].cgroup_line;
				snprintf(msg, sizeof(msg),
					 "cgroup '%.200s' already used by [%s] (line %d)",
					 cfg->policies[j].cgroup, cfg->policies[i].name,
					 cfg->policies[i].cgroup_line);
				break;
			}
		}
	}
	for (unsigned i = 0; i < cfg->nreuseports; i++) {
		const struct cgp_reuseport *rp = &cfg->reuseports[i];
		for (unsigned k = 0; k < rp->nbackends; k++) {
			const struct cgp_backend *b = &rp->backends[k];
			if (cgp_config_find(cfg, b->policy))
				continue;
			if (!best || b->line < best) {
				best = b->line;
				snprintf(msg, sizeof(msg),
					 "backend '%s' of [reuseport %s] is not a policy section",
					 b->policy, rp->name);
			}
		}
		for (unsigned j = 0; j < i; j++) {
			const struct cgp_reuseport *o = &cfg->reuseports[j];
			if (o->port == rp->port && o->proto == rp->proto &&
			    o->has_addr == rp->has_addr &&
			    (!rp->has_addr || !memcmp(o->addr, rp->addr, 16)) &&
			    (!best || rp->line < best)) {
				best = rp->line;
				snprintf(msg, sizeof(msg),
					 "[reuseport %s] has the same port, proto and address as [reuseport %s] (line %d)",
					 rp->name, o->name, o->line);
			}
		}
	}
	if (best)
		cgp_perr(c, best, "%s", msg);
}
