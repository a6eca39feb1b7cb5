/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * applycache.h - what the last apply to a pin path parsed and where it put
 * each policy, kept in /run/cgpolicy so that the next apply there (the
 * command or the agent's reload) re-reads only the lines that differ and
 * compiles only the rules they touch (docs/ARCHITECTURE.md, "Incremental
 * apply"). The parse is a pure function of the text: any earlier text is a
 * valid starting point, whatever file it came from.
 *
 * The record is a pure function of the text (its config and line hashes),
 * plus the slots the apply gave and the pinned state it went into (the id of
 * the state map, the generation it made live, the pin path). The parse is
 * reused whenever the record is intact; compiled entries only when the
 * pinned state is still the one the record describes (then the rule-set
 * cache of agent/ruleset.c holds exactly what that apply compiled).
 */
#ifndef CGP_APPLYCACHE_H
#define CGP_APPLYCACHE_H

#include <stdbool.h>
#include <linux/types.h>

#include "policy/incr.h"
#include "policy/policy.h"

/* Where a policy went: a target (a cgroup) or a glob's template. */
struct cgp_slotrec {
	__u32 slot;
	__u32 policy;		/* index into cfg->policies */
};

struct cgp_applycache {
	bool incr;			/* cfg came from the record: ch says what changed */
	struct cgp_change ch;
	struct cgp_lines lines;		/* of the file parsed */
	/* what the record says the last apply did */
	char pin_path[CGP_PATH_MAX];
	__u32 state_id;
	__u64 gen;
	struct cgp_slotrec *slots;
	unsigned nslots;
	__u16 *set_ids;			/* cfg->sets[i].id as that apply gave them */
	unsigned nset_ids;
};

/*
 * Load and parse FILE like cgp_config_load, through the record of the last
 * apply to pin_path when there is a trustworthy one (ac->incr then). ac is
 * filled either way (lines for the next record); free with
 * cgp_applycache_free. CGP_NO_APPLY_CACHE=1: never through a record.
 */
int cgp_config_load_cached(const char *path, const char *pin_path, struct cgp_config *cfg,
			   char *err, size_t errlen, struct cgp_applycache *ac);
void cgp_applycache_free(struct cgp_applycache *ac);

/* After a successful apply: the record of cfg, its slots, the state it made live. */
void cgp_applycache_save(const struct cgp_config *cfg, const struct cgp_applycache *ac,
			 const char *pin_path, __u32 state_id, __u64 gen,
			 const struct cgp_slotrec *slots, unsigned nslots);
/* cgp_cmd_apply (state.h) with the record ac (NULL: none) of the file's last apply. */
int cgp_cmd_apply_cached(const struct cgp_config *cfg, const struct cgp_applycache *ac,
			 const char *pin_path, bool dry_run);

/* Forget the record of pin_path (its pins are gone). */
void cgp_applycache_remove(const char *pin_path);

#endif
