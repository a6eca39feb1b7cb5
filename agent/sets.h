/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * sets.h - address sets in the pinned state: the `sets` records (name ->
 * id, kind), the members of dynamic sets (map `dsets`), what apply does
 * with them (apply_sets.c) and the `cgpolicy set` command (cmd_set.c).
 * docs/ARCHITECTURE.md, "Address sets".
 */
#ifndef CGP_AGENT_SETS_H
#define CGP_AGENT_SETS_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "agent/cmd.h"
#include "agent/state.h"
#include "policy/policy.h"

struct cgp_set_entry {
	struct cgp_set_key key;
	struct cgp_set_rec rec;
};

/* Every record of the `sets` map into *out (malloc'ed). 0 or -errno. */
int cgp_sets_read(const struct cgp_pins *p, struct cgp_set_entry **out, unsigned *n);
/* CLOCK_BOOTTIME in ns: the clock of bpf_ktime_get_boot_ns(). */
__u64 cgp_boot_ns(void);
/* Delete the members of dynamic set `id` (all, or only the expired ones). Count
 * deleted; *next (if not NULL): the earliest deadline of the timed members left, 0 none. */
size_t cgp_dset_purge(int dsets_fd, __u16 id, bool expired_only, __u64 *next);
/* The expired members of the dynamic sets in force deleted, where a set's
 * record says one is due (cheap otherwise: no walk). Count deleted. */
size_t cgp_sets_sweep(const struct cgp_pins *p);
/* The same on the state at pin_path, locked (the agent's housekeeping round). */
void cgp_sets_sweep_pin(const char *pin_path);
/*
 * Keys of dsets to delete once a walk is over (deleting under get_next_key
 * would restart it): cgp_dkeys_add while walking, cgp_dkeys_delete after.
 */
struct cgp_dkeys {
	struct cgp_lpm_key *k;
	size_t n, cap;
};
/* Remember k; false when memory runs out (the walk should stop). */
bool cgp_dkeys_add(struct cgp_dkeys *d, const struct cgp_lpm_key *k);
/* Delete every key remembered from fd, free the list: how many were deleted. */
size_t cgp_dkeys_delete(int fd, struct cgp_dkeys *d);
/* Write n member entries (key + dset value) into dsets, batched. 0 or -errno. */
int cgp_dset_put(int dsets_fd, const struct cgp_lpm_key *keys, const struct cgp_dset_val *vals,
		 size_t n);

/* apply_sets.c: the steps of apply for sets (see apply.c). */
struct apply_sets {
	struct cgp_set_entry *old;	/* the records before this apply */
	unsigned nold;
	struct cgp_lpm_entry *setm;	/* the static sets' members, for the rule set */
	size_t nsetm;
};
/* Dynamic sets keep their pinned ids; ids copied into the rules (before compiling). */
int apply_sets_plan(const struct cgp_pins *p, struct cgp_config *cfg, struct apply_sets *as);
/* Before the switch: the file's members of every dynamic set written (kept: the others;
 * a set new under its id starts empty: what a failed apply may have left is dropped). */
int apply_sets_prepare(const struct cgp_pins *p, const struct cgp_config *cfg,
		       const struct apply_sets *as);
/* After the switch: the records, and the members of dynamic sets no longer in force dropped. */
void apply_sets_commit(const struct cgp_pins *p, const struct cgp_config *cfg,
		       const struct apply_sets *as, __u64 gen);
/* What apply prints: one line naming the sets in force, if any. */
void apply_sets_print(const struct cgp_config *cfg, const struct apply_sets *as);
void apply_sets_free(struct apply_sets *as);

/* cmd_set.c: cgpolicy set add|del|list (args: after "set"). */
int cgp_cmd_set(const struct cgp_cmd_args *a);

#endif
