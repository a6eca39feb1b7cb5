/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * cmd.h - one command of the command line (main.c's cmds[]) and the
 * arguments main() hands it, parsed and checked against what it takes.
 */
#ifndef CGP_CMD_H
#define CGP_CMD_H

#include <stdbool.h>

/* Options only some commands take (cgp_cmd.opts). */
#define CGP_OPT_DRY_RUN	(1u << 0)	/* --dry-run */
#define CGP_OPT_JSON	(1u << 1)	/* --json */
#define CGP_OPT_STATS	(1u << 2)	/* --policy, --watch */

struct cgp_cmd_args {
	const char *pin_path;	/* --pin-path, NULL: the command's default */
	const char *file;	/* the policy FILE of a command that needs one */
	const char *policy;	/* stats --policy */
	long watch;		/* stats --watch SECONDS, 0: once */
	int argc;		/* a command with its own arguments (set): them */
	char **argv;
	bool dry_run, json, version;
};

struct cgp_cmd {
	const char *name;
	int (*run)(const struct cgp_cmd_args *a);	/* returns the exit status */
	const char *usage;	/* "apply [--dry-run] FILE": the left column of --help */
	const char *help;	/* its text in --help, lines ending in '\n' */
	unsigned opts;		/* CGP_OPT_* it takes */
	bool needs_file;
	bool probe;
	bool takes_args;	/* its arguments are its own (argc/argv) */
};

/* cmd_apply.c: the command-line side of apply and check. */
int cgp_cmd_apply_cli(const struct cgp_cmd_args *a);
int cgp_cmd_check_cli(const struct cgp_cmd_args *a);
struct cgp_config;
/*
 * The lock-out check of every policy of cfg (policy/lockout.c) against the
 * cgroup this process runs in: each refusal printed as FILE:LINE, then
 * CGP_EXIT_POLICY; 0 when none. check, apply (also --dry-run) and the agent.
 */
int cgp_lockout_refuse(const struct cgp_config *cfg);

#endif /* CGP_CMD_H */
