// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * apply.c - validated config -> kernel, atomically.
 *
 * cgp_cmd_apply runs the steps of apply_steps.h in this order:
 * 1. Resolve every cgroup and compile every policy (errors: exit 1, nothing touched).
 * 2. Lock the pin path; open the pinned state or create it.
 * 3. Write the new rule set into the inactive half of the rule maps (rules,
 *    ports, pols): only the difference, in place, when the rule-set cache
 *    says what that half holds; else whole, into fresh inner maps plugged
 *    into the outer arrays (agent/ruleset.c). Invisible to packets.
 * 4. Attach the programs to cgroups that have no link yet and tell them their
 *    slot. Their slot is not configured in the live set, so they still pass
 *    everything, as before apply.
 * 5. Switch: one write of state.gen makes the new set live for every cgroup.
 * 6. Detach cgroups that left the policy; refresh the info map.
 * A failure before 5 undoes 4 and leaves the live policy as it was.
 *
 * Glob policies also get a guard on their fixed ancestor (4b) and a template
 * slot with their rules: a cgroup below it that this apply has not decided
 * (not in the `known` map) is judged by the template from its first packet.
 * Decided cgroups are written to `known` only once what decides them is in
 * force: before the switch when that is already the case (non-matching
 * cgroups, matches enforced by the live generation), after it for new matches.
 * [reuseport] sections are prepared before the switch and committed after it
 * (agent/reuseport.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "agent/apply_dns.h"
#include "agent/apply_steps.h"
#include "agent/hits.h"
#include "agent/reuseport.h"
#include "agent/sets.h"
#include "bpf/enforce.h"
#include "policy/fileline.h"

/* Everything one apply holds, from resolving to the report. */
struct apply_run {
	const struct cgp_config *cfg;
	const char *pin_path;
	struct cgp_pins p;
	struct cgp_state st;
	struct apply_target *t;
	struct apply_guard *g;
	struct apply_decided *dec;
	struct cgp_info *inf;		/* the records of the live generation */
	struct cgp_guard_info *ginf;
	unsigned nt, ng, nd, ninf, nginf;
	int *glinks;			/* guard links created by this run (2 per guard), for undo */
	struct cgp_rp_cgroup *rpc;	/* the targets, as [reuseport] sees them */
	struct cgp_rp_plan *rp;
	struct cgp_ruleset rs;		/* the rule set written to half inact */
	struct cgp_ruleset cache[2];	/* what each half holds, where known[] */
	int known[2];
	struct apply_sets sets;		/* address sets: records, static members */
	struct apply_dns dns;		/* DNS names: what was written, for undo and commit */
	size_t written;			/* map entries written */
	__u64 hits_since;		/* generation the rule hit counters count from */
	bool half_dirty;		/* the cache no longer describes half inact */
	__u32 inact, state_id;
};

static int run_init(struct apply_run *r)
{
	r->glinks = malloc(2 * (r->ng ? r->ng : 1) * sizeof(*r->glinks));
	for (unsigned i = 0; r->glinks && i < 2 * r->ng; i++)
		r->glinks[i] = -1;	/* before any failure: run_free closes what is >= 0 */
	r->rpc = calloc(r->nt ? r->nt : 1, sizeof(*r->rpc));
	if (!r->rpc || !r->glinks)
		return CGP_EXIT_SYSTEM;
	for (unsigned i = 0; i < r->nt; i++)
		r->rpc[i] = (struct cgp_rp_cgroup){ .policy = r->t[i].pol->name, .path = r->t[i].path,
						    .cgid = r->t[i].cgid, .cg_fd = r->t[i].cg_fd };
	return 0;
}

static void run_free(struct apply_run *r)
{
	apply_dns_abort(&r->dns, &r->p);	/* unless committed */
	apply_dns_free(&r->dns);
	if (r->rp)
		cgp_reuseport_abort(r->rp);
	if (r->half_dirty)
		cgp_ruleset_cache_remove(r->pin_path);	/* the next apply writes the maps whole */
	apply_sets_free(&r->sets);
	cgp_ruleset_free(&r->rs);
	cgp_ruleset_free(&r->cache[0]);
	cgp_ruleset_free(&r->cache[1]);
	free(r->rpc);
	free(r->inf);
	free(r->ginf);
	if (r->glinks)
		for (unsigned i = 0; i < 2 * r->ng; i++)
			if (r->glinks[i] >= 0)
				close(r->glinks[i]);
	free(r->glinks);
	free(r->dec);
	apply_guards_free(r->g, r->ng);
	apply_targets_free(r->t, r->nt);
	cgp_pins_close(&r->p);
}

/* --dry-run: slots as a fresh apply would give them; nothing is opened for writing. */
static int plan_dry_run(struct apply_run *r)
{
	int rc;

	for (unsigned i = 0; i < r->nt; i++)
		r->t[i].slot = i + 1;
	for (unsigned i = 0; i < r->ng; i++)
		r->g[i].slot = r->nt + i + 1;
	rc = apply_compile_all(r->cfg, r->t, r->nt, r->g, r->ng);
	if (!rc && cgp_reuseport_prepare(&r->p, r->cfg, r->rpc, r->nt, true, &r->rp))
		rc = CGP_EXIT_POLICY;
	if (!rc) {
		apply_print_plan(r->t, r->nt, true);
		apply_print_guards(r->g, r->ng, true);
		apply_dns_print(r->cfg);
	}
	return rc;
}

/* Step 2: the pinned state, locked, opened (created the first time) and read back. */
static int open_state(struct apply_run *r)
{
	int err = cgp_pins_lock(&r->p, true);

	if (err) {
		if (err != -EINVAL)
			pr_err("cannot lock pin path %s: %s\n", r->pin_path, strerror(-err));
		return CGP_EXIT_SYSTEM;
	}
	err = cgp_pins_open(&r->p);
	if (err == -ENOENT) {
		err = cgp_pins_create(&r->p);
		if (!err)
			err = cgp_pins_open(&r->p);
	}
	if (err)
		return CGP_EXIT_SYSTEM;
	if (cgp_state_read(&r->p, &r->st) || apply_read_infos(&r->p, &r->inf, &r->ninf) ||
	    apply_read_guard_infos(&r->p, &r->ginf, &r->nginf)) {
		pr_err("cannot read the pinned state under %s: %s\n", r->pin_path, strerror(errno));
		return CGP_EXIT_SYSTEM;
	}
	return 0;
}

/* Slots (kept where the live generation has them), then every policy compiled for its slot. */
static int plan(struct apply_run *r)
{
	int rc;

	if (apply_assign_slots(r->t, r->nt, r->inf, r->ninf, r->g, r->ng, r->ginf, r->nginf)) {
		cgp_fileline_fprintf(stderr, r->cfg->file, 0,
				     "too many policies (at most %d cgroups and glob templates at once)\n",
				     CGP_MAX_POLICIES);
		return CGP_EXIT_POLICY;
	}
	/* the sets' ids are the pinned state's: apply writes them into its own config */
	if (apply_sets_plan(&r->p, (struct cgp_config *)r->cfg, &r->sets)) {
		pr_err("cannot plan the address sets: %s\n", strerror(errno ? errno : ENOMEM));
		return CGP_EXIT_SYSTEM;
	}
	rc = apply_compile_all(r->cfg, r->t, r->nt, r->g, r->ng);
	if (rc)
		return rc;
	for (unsigned i = 0; i < r->nd; i++)
		r->dec[i].slot = r->dec[i].target >= 0 ? r->t[r->dec[i].target].slot : 0;
	return 0;
}

/* A failure after step 4 began: links of this run undone, the live policy untouched. */
static int undo(struct apply_run *r, int rc)
{
	apply_undo_guards(&r->p, r->g, r->ng, r->glinks);
	apply_undo_attach(&r->p, r->t, r->nt);
	pr_err("nothing was changed: the policy in force is the previous one\n");
	return rc;
}

/*
 * The rule hit counters of the half switched to: its entries are two
 * generations old and go; when the file is the one in force (a re-apply, the
 * agent registering a new cgroup), the counts of the cgroups that keep their
 * slot are carried over, so they count since the file was first applied.
 */
static void prepare_hits(struct apply_run *r)
{
	bool *keep = calloc(CGP_MAX_SLOTS, sizeof(*keep));
	struct cgp_applied old;
	bool same = cgp_applied_same(&r->p, r->cfg->file, r->cfg->hash, r->cfg->size, &old);

	r->hits_since = same ? old.since : r->st.gen + 1;
	if (cgp_hits_clear(&r->p, r->inact))
		pr_warn("cannot clear the rule hit counters: status --rules may count from an older apply\n");
	if (same && keep) {
		for (unsigned i = 0; i < r->nt; i++)
			for (unsigned j = 0; j < r->ninf; j++)
				if (!r->t[i].skip && r->inf[j].cgroup_id == r->t[i].cgid &&
				    r->inf[j].slot == r->t[i].slot && r->t[i].slot < CGP_MAX_SLOTS)
					keep[r->t[i].slot] = true;
		for (unsigned i = 0; i < r->ng; i++)
			if (!r->g[i].new_slot && r->g[i].slot < CGP_MAX_SLOTS)
				keep[r->g[i].slot] = true;
		if (cgp_hits_carry(&r->p, r->inact, keep))
			pr_warn("cannot carry the rule hit counters over: they count from this apply\n");
	}
	free(keep);
}

/* Steps 3, 4 and 4b, and [reuseport] prepared: all that precedes the switch. */
static int prepare(struct apply_run *r)
{
	int err;

	/* What each half holds, if the last apply left a trustworthy record of it. */
	r->state_id = apply_map_id(r->p.map_fd[CGP_MAP_STATE]);
	cgp_ruleset_cache_load(r->pin_path, r->state_id, r->st.gen, r->cache, r->known);
	r->inact = (__u32)((r->st.gen + 1) & 1);
	r->half_dirty = true;	/* until the switch */
	if (apply_sets_prepare(&r->p, r->cfg, &r->sets) ||
	    apply_build_set(&r->p, r->t, r->nt, r->g, r->ng, r->inact,
			    r->known[r->inact] ? &r->cache[r->inact] : NULL, r->sets.setm,
			    r->sets.nsetm, &r->rs, &r->written))
		return CGP_EXIT_SYSTEM;
	prepare_hits(r);
	if (apply_attach_new(&r->p, r->t, r->nt)) {
		apply_undo_attach(&r->p, r->t, r->nt);
		pr_err("nothing was changed: the policy in force is the previous one\n");
		return CGP_EXIT_SYSTEM;
	}
	/* Step 4b: guards, template counters, the cgroups decided already. */
	apply_reset_template_counters(&r->p, r->g, r->ng);
	err = apply_attach_guards(r->cfg, &r->p, r->g, r->ng, r->glinks);
	if (!err)
		err = apply_write_known(&r->p, r->dec, r->nd, r->t, r->inf, r->ninf, false);
	if (err)
		return undo(r, err == -E2BIG ? CGP_EXIT_POLICY : CGP_EXIT_SYSTEM);
	err = cgp_reuseport_prepare(&r->p, r->cfg, r->rpc, r->nt, false, &r->rp);
	if (err)
		return undo(r, err == -EINVAL || err == -EOPNOTSUPP ? CGP_EXIT_POLICY : CGP_EXIT_SYSTEM);
	/* last: nothing after it can fail before the switch but the switch itself */
	if (apply_dns_prepare(&r->dns, &r->p, r->cfg, r->t, r->nt, r->g, r->ng))
		return undo(r, CGP_EXIT_SYSTEM);
	return 0;
}

/* Step 5: one write of the generation; then what may only follow it. */
static int switch_generation(struct apply_run *r)
{
	__u32 zero = 0;

	r->st.gen++;
	if (bpf_map_update_elem(r->p.map_fd[CGP_MAP_STATE], &zero, &r->st, BPF_ANY)) {
		pr_err("failed to switch to the new policy: %s\n", strerror(errno));
		apply_undo_guards(&r->p, r->g, r->ng, r->glinks);
		apply_undo_attach(&r->p, r->t, r->nt);
		cgp_reuseport_abort(r->rp);
		r->rp = NULL;
		return CGP_EXIT_SYSTEM;
	}
	apply_sets_commit(&r->p, r->cfg, &r->sets, r->st.gen);
	apply_dns_commit(&r->dns, &r->p, r->cfg, r->t, r->nt, r->g, r->ng);
	/* The new matches are live: now they may be known. */
	if (apply_write_known(&r->p, r->dec, r->nd, r->t, r->inf, r->ninf, true))
		pr_warn("new cgroups stay under their glob's template until the next apply\n");
	cgp_reuseport_commit(r->rp);
	r->rp = NULL;
	/* The half just switched to holds rs; the other still holds what it held. */
	r->half_dirty = false;
	cgp_ruleset_free(&r->cache[r->inact]);
	r->cache[r->inact] = r->rs;
	r->known[r->inact] = 1;
	memset(&r->rs, 0, sizeof(r->rs));
	if (cgp_ruleset_cache_save(r->pin_path, r->state_id, r->st.gen, r->cache, r->known))
		pr_debug("cannot save the rule set cache: the next apply writes the rule maps whole\n");
	return 0;
}

/* Step 6: detach dropped cgroups and unwanted programs, refresh the records; report. */
static void finish(struct apply_run *r)
{
	apply_commit_guards(&r->p, r->g, r->ng, r->ginf, r->nginf, r->st.gen);
	apply_prune_known(&r->p, r->dec, r->nd);
	apply_detach_unwanted(&r->p, r->t, r->nt);
	apply_detach_dropped(&r->p, r->t, r->nt, r->inf, r->ninf);
	apply_record_infos(&r->p, r->t, r->nt, r->st.gen);
	if (cgp_applied_write(&r->p, r->cfg->file, r->cfg->hash, r->cfg->size, r->st.gen, r->hits_since))
		pr_warn("cannot record the applied file: status --rules and explain will lack its rule text\n");
	apply_print_plan(r->t, r->nt, false);
	apply_print_guards(r->g, r->ng, false);
	apply_sets_print(r->cfg, &r->sets);
	apply_dns_print(r->cfg);
	printf("generation %llu in force at %s (%zu map entries written)\n",
	       (unsigned long long)r->st.gen, r->pin_path, r->written);
	apply_print_diff(r->st.gen, r->t, r->nt, r->inf, r->ninf);
}

/* Steps 2 to 6; a failure stops at its step (undone by it) and is the exit status. */
static int run_steps(struct apply_run *r)
{
	int rc = open_state(r);

	if (!rc)
		rc = plan(r);
	if (!rc)
		rc = prepare(r);
	if (!rc)
		rc = switch_generation(r);
	if (!rc)
		finish(r);
	return rc;
}

int cgp_cmd_apply(const struct cgp_config *cfg, const char *pin_path, bool dry_run)
{
	struct apply_run r = { .cfg = cfg, .pin_path = pin_path };
	int rc;

	rc = apply_resolve(cfg, &r.t, &r.nt, &r.g, &r.ng, &r.dec, &r.nd);
	if (rc)
		return rc;
	apply_dns_warn(cfg);
	cgp_pins_init(&r.p, pin_path);
	rc = run_init(&r);
	if (!rc)
		rc = dry_run ? plan_dry_run(&r) : run_steps(&r);
	run_free(&r);
	return rc;
}
