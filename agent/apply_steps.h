/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * apply_steps.h - the steps of apply (apply.c runs them in order), shared by
 * the files that implement them; not used outside apply_*.c and apply.c.
 *
 *   apply_resolve.c  step 1: policy cgroups and glob matches -> targets, guards, decided
 *   apply_slots.c    the pinned records read back, slots assigned, policies compiled
 *   apply_maps.c     step 3: the inactive half of the rule maps; step 6: the info records
 *   apply_attach.c   step 4: links of the policy cgroups; step 6: detach what left
 *   apply_guards.c   step 4b: guards of glob policies and the `known` map
 *   apply_report.c   what apply prints
 */
#ifndef CGP_APPLY_STEPS_H
#define CGP_APPLY_STEPS_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "agent/log.h"
#include "agent/ruleset.h"
#include "agent/state.h"
#include "bpf/enforce.h"
#include "policy/policy.h"

/* A cgroup under a policy: named by the file, or matched by a glob. */
struct apply_target {
	const struct cgp_policy *pol;
	char path[CGP_PATH_MAX];
	int cg_fd;
	__u64 cgid;
	__u32 slot;
	int new_link[CGP_PROG_CGROUP_N];	/* created by this run */
	bool glob;		/* matched by a glob: may vanish at any time */
	bool skip;		/* a glob match that could not be attached (gone) */
	struct cgp_compiled comp;
};

/* A glob policy's guard: the template slot and where it is attached. */
struct apply_guard {
	const struct cgp_policy *pol;
	char anc[CGP_PATH_MAX];	/* fixed ancestor, absolute */
	int anc_fd;		/* -1: the ancestor does not exist (no guard) */
	__u64 anc_id;
	unsigned level;		/* cgroup level of the candidates */
	__u32 slot;		/* template slot */
	bool new_slot;		/* slot given by this run: its counters start at 0 */
	struct cgp_compiled comp;
};

/* A candidate of a guard (a cgroup at its level below its ancestor). */
struct apply_decided {
	__u64 cgid;
	__u32 slot;		/* filled after slots are assigned; 0: matches no glob */
	int target;		/* index in the targets, -1 when it matches no policy */
};

/* apply_resolve.c. Errors are the user's (FILE:LINE, exit 1) or the system's (exit 2). */
int apply_resolve(const struct cgp_config *cfg, struct apply_target **out, unsigned *nout,
		  struct apply_guard **gout, unsigned *ngout, struct apply_decided **dout,
		  unsigned *ndout);
void apply_targets_free(struct apply_target *t, unsigned n);
void apply_guards_free(struct apply_guard *g, unsigned n);

/* apply_slots.c */
int apply_read_infos(const struct cgp_pins *p, struct cgp_info **out, unsigned *n);
int apply_read_guard_infos(const struct cgp_pins *p, struct cgp_guard_info **out, unsigned *n);
int apply_assign_slots(struct apply_target *t, unsigned nt, const struct cgp_info *inf,
		       unsigned ninf, struct apply_guard *g, unsigned ng,
		       const struct cgp_guard_info *ginf, unsigned nginf);
int apply_compile_all(const struct cgp_config *cfg, struct apply_target *t, unsigned nt,
		      struct apply_guard *g, unsigned ng);

/* apply_maps.c */
__u32 apply_map_id(int fd);
int apply_build_set(const struct cgp_pins *p, struct apply_target *t, unsigned nt,
		    const struct apply_guard *g, unsigned ng, __u32 set,
		    const struct cgp_ruleset *old, const struct cgp_lpm_entry *setm, size_t nsetm,
		    struct cgp_ruleset *rs, size_t *written);
/* Step 3 with a rule set built already (apply_incr.c). */
int apply_install_set(const struct cgp_pins *p, __u32 set, const struct cgp_ruleset *rs,
		      const struct cgp_ruleset *old, size_t *written);
void apply_record_infos(const struct cgp_pins *p, const struct apply_target *t, unsigned nt,
			__u64 gen);

/* apply_incr.c: the rule set from the live one and the record of the last apply */
struct cgp_applycache;
struct cgp_slotrec;
struct apply_incr_in {
	const char *pin_path;
	__u32 state_id;
	__u64 gen;				/* live */
	const struct cgp_ruleset *live;		/* NULL: the live half is not known */
};
/* 0: rs built, every target's comp.pol and comp.nlpm set; 1: compile as usual. */
int apply_incr_ruleset(const struct cgp_config *cfg, const struct cgp_applycache *ac,
		       const struct apply_incr_in *in, struct apply_target *t, unsigned nt,
		       struct apply_guard *g, unsigned ng, struct cgp_ruleset *rs);
/* The (slot, policy) of every target and template, sorted by slot (malloc'ed). */
struct cgp_slotrec *apply_slotrecs(const struct cgp_config *cfg, const struct apply_target *t,
				   unsigned nt, const struct apply_guard *g, unsigned ng);

/* apply_attach.c */
bool apply_link_pinned_alive(const char *path);
int apply_attach_new(const struct cgp_pins *p, struct apply_target *t, unsigned nt);
void apply_detach_unwanted(const struct cgp_pins *p, const struct apply_target *t, unsigned nt);
void apply_undo_attach(const struct cgp_pins *p, struct apply_target *t, unsigned nt);
void apply_detach_dropped(const struct cgp_pins *p, const struct apply_target *t, unsigned nt,
			  const struct cgp_info *inf, unsigned ninf);

/* apply_guards.c */
int apply_attach_guards(const struct cgp_config *cfg, const struct cgp_pins *p,
			struct apply_guard *g, unsigned ng, int *new_links);
void apply_undo_guards(const struct cgp_pins *p, const struct apply_guard *g, unsigned ng,
		       int *new_links);
int apply_write_known(const struct cgp_pins *p, struct apply_decided *d, unsigned nd,
		      const struct apply_target *t, const struct cgp_info *inf, unsigned ninf,
		      bool post);
void apply_prune_known(const struct cgp_pins *p, const struct apply_decided *d, unsigned nd);
void apply_commit_guards(const struct cgp_pins *p, const struct apply_guard *g, unsigned ng,
			 const struct cgp_guard_info *ginf, unsigned nginf, __u64 gen);
void apply_reset_template_counters(const struct cgp_pins *p, const struct apply_guard *g,
				   unsigned ng);

/* apply_report.c */
void apply_print_plan(const struct apply_target *t, unsigned nt, bool dry);
void apply_print_guards(const struct apply_guard *g, unsigned ng, bool dry);
void apply_print_diff(__u64 gen, const struct apply_target *t, unsigned nt,
		      const struct cgp_info *inf, unsigned ninf);

#endif /* CGP_APPLY_STEPS_H */
