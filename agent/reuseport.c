// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* reuseport.c - listener steering. Not implemented yet: refuses the sections. */
#include <errno.h>
#include <stdlib.h>

#include "agent/log.h"
#include "agent/reuseport.h"

int cgp_reuseport_prepare(const struct cgp_pins *p, const struct cgp_config *cfg,
			  const struct cgp_rp_cgroup *cgs, unsigned ncgs, bool dry_run,
			  struct cgp_rp_plan **plan)
{
	(void)p; (void)cgs; (void)ncgs; (void)dry_run;
	*plan = NULL;
	if (cfg->nreuseports) {
		fprintf(stderr, "%s:%d: [reuseport %s]: listener steering is not supported by this version\n",
			cfg->file, cfg->reuseports[0].line, cfg->reuseports[0].name);
		return -EOPNOTSUPP;
	}
	return 0;
}

void cgp_reuseport_commit(struct cgp_rp_plan *plan)
{
	(void)plan;
}

void cgp_reuseport_abort(struct cgp_rp_plan *plan)
{
	(void)plan;
}

int cgp_reuseport_remove(const struct cgp_pins *p)
{
	(void)p;
	return 0;
}

void cgp_reuseport_status(const struct cgp_pins *p, FILE *f, bool json)
{
	(void)p;
	if (json)
		fputs("[]", f);
}
