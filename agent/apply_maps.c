// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * apply_maps.c - the maps apply writes: the rule set of the inactive half
 * (step 3) and, after the switch, the info and cgslots records (step 6).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "agent/apply_steps.h"
#include "bpf/sockstat.h"

/*
 * Step 3 helpers: comps[i] is the compiled policy of slot slots[i]. Used by
 * the BPF tests to fill a half without an apply.
 */
int cgp_install_set(const int outer_fd[3], const struct cgp_compiled *const *comps,
		    const __u32 *slots, unsigned n, __u32 set)
{
	return cgp_install_set_members(outer_fd, comps, slots, n, NULL, 0, set);
}

int cgp_install_set_members(const int outer_fd[3], const struct cgp_compiled *const *comps,
			    const __u32 *slots, unsigned n, const struct cgp_lpm_entry *setm,
			    size_t nsetm, __u32 set)
{
	struct cgp_ruleset rs;
	size_t written;
	int err = cgp_ruleset_build(comps, slots, n, &rs);

	if (!err)
		err = cgp_ruleset_add_lpm(&rs, setm, nsetm);
	if (!err)
		err = cgp_ruleset_install(outer_fd, set, &rs, NULL, &written);
	cgp_ruleset_free(&rs);
	return err;
}

/* The kernel's id of a map (unique until reboot): 0 if unknown. */
__u32 apply_map_id(int fd)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.id;
}

/* Step 3: the new content of half `set`, written whole or as a difference against `old`. */
int apply_build_set(const struct cgp_pins *p, struct apply_target *t, unsigned nt,
		    const struct apply_guard *g, unsigned ng, __u32 set,
		    const struct cgp_ruleset *old, const struct cgp_lpm_entry *setm, size_t nsetm,
		    struct cgp_ruleset *rs, size_t *written)
{
	const int outer[3] = { p->map_fd[CGP_MAP_RULES], p->map_fd[CGP_MAP_PORTS],
			       p->map_fd[CGP_MAP_POLS] };
	const struct cgp_compiled **comps = calloc(nt + ng ? nt + ng : 1, sizeof(*comps));
	__u32 *slots = calloc(nt + ng ? nt + ng : 1, sizeof(*slots));
	int err = -ENOMEM;

	if (comps && slots) {
		for (unsigned i = 0; i < nt; i++) {
			comps[i] = &t[i].comp;
			slots[i] = t[i].slot;
		}
		/* template slots: configured like any other, attached to no cgroup */
		for (unsigned i = 0; i < ng; i++) {
			comps[nt + i] = &g[i].comp;
			slots[nt + i] = g[i].slot;
		}
		err = cgp_ruleset_build(comps, slots, nt + ng, rs);
		if (!err)	/* the members of the static sets: once, whatever uses them */
			err = cgp_ruleset_add_lpm(rs, setm, nsetm);
		if (err)
			pr_err("out of memory building the rule set\n");
		else
			err = cgp_ruleset_install(outer, set, rs, old, written);
	}
	free(comps);
	free(slots);
	return err;
}

/*
 * Step 6: what is in force, per slot: the info map (status reads it, the
 * next apply keeps slots by it) and cgslots (the slot of a stats = yes cgroup).
 */
void apply_record_infos(const struct cgp_pins *p, const struct apply_target *t, unsigned nt,
			__u64 gen)
{
	for (unsigned i = 0; i < nt; i++) {
		struct cgp_info in = {
			.cgroup_id = t[i].cgid,
			.gen = gen,
			.slot = t[i].slot,
			.nrules = t[i].pol->nrules,
			.def = { t[i].pol->def[0], t[i].pol->def[1] },
			.flags = t[i].comp.pol.flags,
			.dns = t[i].pol->nnames ? t[i].pol->dns_mode : 0,
		};
		struct cgp_cgslot cs = { .slot = t[i].slot };

		if (t[i].skip)
			continue;
		if (t[i].pol->stats)
			bpf_map_update_elem(p->map_fd[CGP_MAP_CGSLOTS], &t[i].cgid, &cs, BPF_ANY);
		else
			bpf_map_delete_elem(p->map_fd[CGP_MAP_CGSLOTS], &t[i].cgid);
		snprintf(in.name, sizeof(in.name), "%s", t[i].pol->name);
		snprintf(in.cgroup, sizeof(in.cgroup), "%s", t[i].path);
		if (bpf_map_update_elem(p->map_fd[CGP_MAP_INFO], &t[i].slot, &in, BPF_ANY))
			pr_warn("cannot record [%s] in the info map: %s\n", in.name, strerror(errno));
	}
}
