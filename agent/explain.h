/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * explain.h - the state of one `cgpolicy explain` run, shared by the files
 * that implement it; not used outside explain*.c.
 *
 *   explain.c        the command: the flow from the command line, the path of
 *                    the cgroup (what judges), cgp_cmd_explain
 *   explain_live.c   live (no FILE): the judges and cgp_decide() over the
 *                    pinned maps of the live generation
 *   explain_file.c   FILE: the judges and cgp_decide() over the file compiled
 *   explain_print.c  the output: text and --json
 */
#ifndef CGP_EXPLAIN_H
#define CGP_EXPLAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>

#include "agent/cmd.h"
#include "agent/hits.h"
#include "agent/state.h"
#include "policy/explain.h"
#include "policy/policy.h"

#define MAX_JUDGES 64

/* The flow, from the command line. */
struct flow {
	uint8_t dir, proto;
	uint8_t addr[16];
	bool v4;
	uint32_t port;		/* tcp/udp: the port; icmp: type << 8 | code, or CGP_NO_ICMP_TYPE */
	int type, code;		/* icmp: -1 when not given */
	const char *addr_s;
};

/* A set's name by id (live: the `sets` records; FILE: the file's sets). */
struct set_name {
	uint16_t id;
	bool dynamic;
	char name[CGP_NAME_MAX + 1];
};

/* One policy that judges the flow, and its decision. */
struct judge {
	char name[CGP_NAME_MAX + 1];
	char cgroup[CGP_PATH_MAX];	/* where it is attached (template: the glob) */
	__u32 slot;
	bool tmpl, configured;
	const struct cgp_policy *pol;	/* its rules, when the file is known */
	struct cgp_decision d;
};

struct explain {
	const struct cgp_cmd_args *a;
	struct flow f;
	const char *file;		/* FILE, or the applied file (live) */
	bool live, file_changed;
	__u64 gen;
	char cgpath[CGP_PATH_MAX];	/* --cgroup resolved ("" with --policy) */
	struct judge j[MAX_JUDGES];
	unsigned nj;
	const struct cgp_srcfile *src;	/* rule text, or NULL */
	struct set_name *sets;
	unsigned nsets;
};

/* ---- explain.c: what judges ---- */

/* path, then each ancestor up to the mount (all absolute): count */
unsigned explain_path_chain(const char *mnt, const char *path, char chain[][CGP_PATH_MAX], unsigned max);
/* a judge appended to e->j (zeroed, then named): NULL when MAX_JUDGES are there */
struct judge *explain_add_judge(struct explain *e, const char *name, const char *cgroup, __u32 slot, bool tmpl);

/* ---- explain_live.c, explain_file.c: the judges and their decisions; 0 or a CGP_EXIT_* ---- */

int explain_live(struct explain *e, const char *pin_path, const char *mnt, struct cgp_live_file *lf);
/* cfg, src, setm: the caller's, freed by it (also on failure) */
int explain_file(struct explain *e, const char *mnt, struct cgp_config *cfg, struct cgp_srcfile *src,
		 struct cgp_lpm_entry **setm, size_t *nsetm);

/* ---- explain_print.c ---- */

void explain_print_text(const struct explain *e);
void explain_print_json(const struct explain *e);

#endif
