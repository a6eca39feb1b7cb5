// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * apply_slots.c - what the pinned records say (the info and guards maps), the
 * slot of every target and template from them, and every policy compiled for
 * its slot.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "agent/apply_steps.h"
#include "agent/features.h"
#include "agent/mapiter.h"
#include "policy/fileline.h"

/* The records of a map keyed by slot (info, guards): at most CGP_MAX_SLOTS of `size` bytes. */
static int read_slot_records(int map_fd, size_t size, void **out, unsigned *n)
{
	char *v = calloc(CGP_MAX_SLOTS, size);
	struct cgp_map_iter it = CGP_MAP_ITER(map_fd);
	__u32 key;
	unsigned cnt = 0;

	if (!v)
		return -ENOMEM;
	while (cgp_map_next(&it, &key, sizeof(key)))
		if (cnt < CGP_MAX_SLOTS && !bpf_map_lookup_elem(map_fd, &key, v + cnt * size))
			cnt++;
	*out = v;
	*n = cnt;
	return 0;
}

/* Existing slot assignments: info map, slot -> record. */
int apply_read_infos(const struct cgp_pins *p, struct cgp_info **out, unsigned *n)
{
	return read_slot_records(p->map_fd[CGP_MAP_INFO], sizeof(**out), (void **)out, n);
}

/* Existing guards: guards map, template slot -> record. */
int apply_read_guard_infos(const struct cgp_pins *p, struct cgp_guard_info **out, unsigned *n)
{
	return read_slot_records(p->map_fd[CGP_MAP_GUARDS], sizeof(**out), (void **)out, n);
}

/*
 * The slot of every target and template: kept from the records where they
 * have one (a template by its policy's name, a cgroup by its id), else the
 * lowest free one; slots of dropped cgroups stay reserved until after the
 * switch. -ENOSPC: more than CGP_MAX_SLOTS - 1 in all.
 */
int apply_assign_slots(struct apply_target *t, unsigned nt, const struct cgp_info *inf,
		       unsigned ninf, struct apply_guard *g, unsigned ng,
		       const struct cgp_guard_info *ginf, unsigned nginf)
{
	bool used[CGP_MAX_SLOTS] = { true };	/* slot 0 reserved */

	/* A glob policy keeps its template slot (by name) across applies. */
	for (unsigned i = 0; i < ng; i++) {
		for (unsigned j = 0; j < nginf; j++) {
			if (!strcmp(ginf[j].name, g[i].pol->name) && ginf[j].slot < CGP_MAX_SLOTS &&
			    !used[ginf[j].slot]) {
				g[i].slot = ginf[j].slot;
				used[ginf[j].slot] = true;
				break;
			}
		}
	}
	for (unsigned j = 0; j < nginf; j++)
		if (ginf[j].slot < CGP_MAX_SLOTS)
			used[ginf[j].slot] = true;

	/* Keep the slot of a cgroup that is already attached. */
	for (unsigned i = 0; i < nt; i++) {
		for (unsigned j = 0; j < ninf; j++) {
			if (inf[j].cgroup_id == t[i].cgid && inf[j].slot < CGP_MAX_SLOTS) {
				t[i].slot = inf[j].slot;
				used[inf[j].slot] = true;
				break;
			}
		}
	}
	/* Slots of cgroups being dropped stay reserved until after the switch. */
	for (unsigned j = 0; j < ninf; j++)
		if (inf[j].slot < CGP_MAX_SLOTS)
			used[inf[j].slot] = true;
	for (unsigned i = 0, s = 1; i < nt + ng; i++) {
		__u32 *slot = i < nt ? &t[i].slot : &g[i - nt].slot;

		if (*slot)
			continue;
		while (s < CGP_MAX_SLOTS && used[s])
			s++;
		if (s >= CGP_MAX_SLOTS)
			return -ENOSPC;
		*slot = s;
		used[s] = true;
		if (i >= nt)
			g[i - nt].new_slot = true;
	}
	return 0;
}

/* Every target and template compiled for its slot; a compile error is the file's (exit 1). */
int apply_compile_all(const struct cgp_config *cfg, struct apply_target *t, unsigned nt,
		      struct apply_guard *g, unsigned ng)
{
	char err[512];

	for (unsigned i = 0; i < nt; i++) {
		if (cgp_compile(cfg->file, t[i].pol, (uint16_t)t[i].slot, &t[i].comp, err, sizeof(err))) {
			fprintf(stderr, "%s\n", err);
			return CGP_EXIT_POLICY;
		}
		/* socket redirection failing its check here: enforce the rest, say so once a section */
		if ((t[i].comp.pol.flags & CGP_POL_F_ACCELERATE) && !cgp_feature_ok(CGP_FEAT_ACCEL)) {
			t[i].comp.pol.flags &= (uint8_t)~CGP_POL_F_ACCELERATE;
			if (!i || t[i - 1].pol != t[i].pol)
				cgp_fileline_fprintf(stderr, cfg->file, t[i].pol->line,
					"[%s]: warning: accelerate = yes is not applied: the kernel "
					"feature 'acceleration' fails its check here (%s); the policy is enforced "
					"without acceleration\n", t[i].pol->name,
					cgp_features()[CGP_FEAT_ACCEL].why);
		}
	}
	for (unsigned i = 0; i < ng; i++) {
		if (cgp_compile(cfg->file, g[i].pol, (uint16_t)g[i].slot, &g[i].comp, err, sizeof(err))) {
			fprintf(stderr, "%s\n", err);
			return CGP_EXIT_POLICY;
		}
	}
	return 0;
}
