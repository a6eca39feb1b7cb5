// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * cmd_apply.c - the command-line side of apply and check: load the policy
 * FILE, then hand it to cgp_cmd_apply() (apply.c) or report it valid.
 */
#include <stdio.h>
#include <unistd.h>

#include "agent/cgroup.h"
#include "agent/cmd.h"
#include "agent/dns_agent.h"
#include "agent/daemon.h"
#include "agent/features.h"
#include "agent/log.h"
#include "agent/state.h"
#include "policy/policy.h"

/* Parse FILE; strict: also refuse a file not owned by root or writable by others. */
static int load(const char *file, struct cgp_config *cfg, bool strict)
{
	char err[1024];

	if (cgp_config_load(file, cfg, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return CGP_EXIT_POLICY;
	}
	if (cgp_lockout_refuse(cfg))
		return CGP_EXIT_POLICY;
	/* After parsing: what is wrong with the content is said first. */
	if (strict && cgp_policy_file_check(file))
		return CGP_EXIT_POLICY;	/* the caller frees cfg */
	return 0;
}

int cgp_lockout_refuse(const struct cgp_config *cfg)
{
	char mnt[CGP_PATH_MAX], self[CGP_PATH_MAX], msg[2048];
	bool have_self;
	int bad = 0;

	if (cgp_cgroup2_mount(mnt, sizeof(mnt)))
		return 0;	/* no cgroup2: apply says so; check has nothing to compare */
	have_self = cgp_cgroup_self(self, sizeof(self)) == 0;
	for (unsigned i = 0; i < cfg->npolicies; i++) {
		if (cgp_lockout_check(cfg->file, &cfg->policies[i], mnt, have_self ? self : NULL,
				      msg, sizeof(msg))) {
			fprintf(stderr, "%s\n", msg);
			bad = 1;
		}
	}
	return bad ? CGP_EXIT_POLICY : 0;
}

int cgp_cmd_check_cli(const struct cgp_cmd_args *a)
{
	struct cgp_config cfg = {};
	int rc = load(a->file, &cfg, false);

	if (!rc)
		printf("%s: OK, %u %s\n", a->file, cfg.npolicies, cfg.npolicies == 1 ? "policy" : "policies");
	cgp_config_free(&cfg);
	return rc;
}

/* --dry-run reads the file as check does; a real apply refuses an unsafe one. */
int cgp_cmd_apply_cli(const struct cgp_cmd_args *a)
{
	struct cgp_config cfg = {};
	int rc = load(a->file, &cfg, !a->dry_run);

	if (!rc) {
		if (geteuid() != 0 && !a->dry_run)
			pr_warn("not running as root: attaching will probably fail\n");
		const char *pin = a->pin_path ? a->pin_path : cfg.agent.pin_path;

		rc = cgp_cmd_apply(&cfg, pin, a->dry_run);
		/* dns = agent: the names resolved once now, so the policy works before
		 * the agent's first round (or without an agent) */
		if (rc == CGP_EXIT_OK && !a->dry_run && cgp_dns_agent_wanted(&cfg)) {
			struct cgp_dns_agent *d = cgp_dns_agent_new();

			if (d && cgp_dns_agent_round(d, pin, &cfg, true) >= 0)
				printf("dns: the names of dns = agent policies resolved; `cgpolicy agent` "
				       "keeps them current\n");
			cgp_dns_agent_free(d);
		}
		if (rc == CGP_EXIT_OK && cgp_feature_refusals())
			rc = CGP_EXIT_PARTIAL;
	}
	cgp_config_free(&cfg);
	return rc;
}
