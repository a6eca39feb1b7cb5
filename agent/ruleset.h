/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * ruleset.h - the content of one half of the rule maps (rules trie, port
 * classes trie, per-slot defaults), sorted, and how to get it into the kernel:
 * whole (fresh inner maps) or as a difference against what that half holds.
 */
#ifndef CGP_RULESET_H
#define CGP_RULESET_H

#include <stddef.h>
#include <linux/types.h>

#include "bpf/enforce.h"
#include "policy/policy.h"
#include "policy/ports.h"

struct cgp_slot_pol {
	__u32 slot;
	struct cgp_pol pol;
};

struct cgp_ruleset {
	struct cgp_lpm_entry *lpm;	/* sorted by key bytes */
	size_t nlpm;
	struct cgp_portlpm_entry *port;	/* sorted by key bytes */
	size_t nport;
	struct cgp_slot_pol *pol;	/* sorted by slot */
	size_t npol;
	void *map;			/* non-NULL: the arrays point into this mapping of a cache file */
	size_t maplen;
};

/* comps[i] is the compiled policy of slot slots[i]. 0 or -ENOMEM. */
int cgp_ruleset_build(const struct cgp_compiled *const *comps, const __u32 *slots, unsigned n,
		      struct cgp_ruleset *rs);
void cgp_ruleset_free(struct cgp_ruleset *rs);
/* Add entries that belong to no slot (the members of static address sets). 0 or -ENOMEM. */
int cgp_ruleset_add_lpm(struct cgp_ruleset *rs, const struct cgp_lpm_entry *e, size_t n);

/*
 * Install `rs` into half `set` of the outer maps { rules, ports, pols }.
 * With `old` (what that half holds now, or NULL when unknown), only the
 * difference is written into its inner maps, if they have room; otherwise
 * fresh inner maps are filled and plugged in. Either way the half is not
 * live: nothing a packet sees changes. *written: map entries written.
 */
int cgp_ruleset_install(const int outer_fd[3], __u32 set, const struct cgp_ruleset *rs,
			const struct cgp_ruleset *old, size_t *written);

/*
 * The cache of what each half holds, a file per half and pin path
 * (/run/cgpolicy/ruleset<half>_<pin path>), so the next apply can write only
 * the difference. Trusted only for the same pinned state (state_id: the
 * kernel's id of its state map, new whenever the pins are re-created): the
 * live half's file must have been saved at the live generation, the other's
 * one generation earlier. Loaded by mapping the files (the arrays are not
 * copied). known[i] == 0: half i unknown.
 */
int cgp_ruleset_cache_load(const char *pin_path, __u32 state_id, __u64 live_gen,
			   struct cgp_ruleset half[2], int known[2]);
/* rs went live at live_gen (in half live_gen & 1): its file. */
int cgp_ruleset_cache_save(const char *pin_path, __u32 state_id, __u64 live_gen,
			   const struct cgp_ruleset *rs);
/* Half `half` is about to be written: its file goes first (a crash midway leaves none). */
void cgp_ruleset_cache_forget(const char *pin_path, __u32 half);
void cgp_ruleset_cache_remove(const char *pin_path);

#endif
