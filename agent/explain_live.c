// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * explain_live.c - explain without FILE: what the kernel does now. The
 * judges are the policies in force on the cgroup's path (the `info`
 * records, and the guards' templates for a cgroup the last apply has not
 * registered); each decides by cgp_decide() over the pinned maps of the
 * live generation (the inner maps of `gen & 1`, opened by id), looked up
 * from user space as the BPF program does (bpf_map_lookup_elem on an LPM
 * trie is a longest-prefix match). Dynamic set members from `dsets`,
 * expired ones skipped as the BPF program does; the rule text from the
 * applied file, when it has not changed since.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <bpf/bpf.h>

#include "agent/cgroup.h"
#include "agent/explain.h"
#include "agent/hits.h"
#include "agent/log.h"
#include "agent/mapiter.h"
#include "agent/sets.h"
#include "agent/state.h"

/* ---- the lookups of cgp_decide(): the pinned maps of one generation ---- */

struct live_lookup {
	int rules_fd, ports_fd, dsets_fd;
	__u16 slot;
	__u64 now;		/* CLOCK_BOOTTIME ns, for timed dynamic members */
};

static int live_port_class(void *ctx, uint8_t dir, uint8_t proto, uint16_t port, uint32_t *cls)
{
	const struct live_lookup *l = ctx;
	struct cgp_portlpm_key k = { .prefixlen = CGP_PORTLPM_FIXED_BITS + 16, .slot = l->slot,
				     .dir = dir, .proto = proto, .port = { port >> 8, port & 0xff } };
	struct cgp_portlpm_val v;

	if (l->ports_fd < 0 || bpf_map_lookup_elem(l->ports_fd, &k, &v))
		return -1;
	*cls = v.cls;
	return 0;
}

static int live_rule(void *ctx, uint8_t dir, uint8_t proto, uint32_t cls, const uint8_t addr[16],
		     struct cgp_lpm_val *val)
{
	const struct live_lookup *l = ctx;
	struct cgp_lpm_key k = { .prefixlen = CGP_LPM_FIXED_BITS + 128, .dir = dir, .proto = proto,
				 .slot = l->slot, .cls = (__u16)cls };

	memcpy(k.addr, addr, 16);
	if (l->rules_fd < 0 || bpf_map_lookup_elem(l->rules_fd, &k, val))
		return -1;
	return 0;
}

/*
 * Membership as set_member() of bpf/sets.bpf.h: static sets in the rule
 * trie; dynamic sets in dsets, an expired entry skipped by looking again one
 * bit shorter (at most CGP_EXPIRED_SKIPS times).
 */
#define EXPIRED_SKIPS 4

static int live_member(void *ctx, uint16_t id, const uint8_t addr[16], struct cgp_set_match *m)
{
	const struct live_lookup *l = ctx;
	struct cgp_lpm_key k = { .prefixlen = CGP_LPM_FIXED_BITS + 128, .dir = CGP_DIR_SET, .slot = id };

	memset(m, 0, sizeof(*m));
	memcpy(k.addr, addr, 16);
	m->expires_in = -1;
	m->dynamic = !!(id & CGP_SET_DYNAMIC);
	if (!m->dynamic) {
		struct cgp_lpm_val v;

		if (l->rules_fd < 0 || bpf_map_lookup_elem(l->rules_fd, &k, &v))
			return 0;
		*m = (struct cgp_set_match){ true, v.verdict != 0, false, v.plen, v.line, -1, 0 };
		return 0;
	}
	for (int i = 0; i < EXPIRED_SKIPS; i++) {
		struct cgp_dset_val v;

		if (l->dsets_fd < 0 || bpf_map_lookup_elem(l->dsets_fd, &k, &v))
			return 0;
		if (!v.expires || v.expires > l->now) {
			m->found = true;
			m->member = v.member != 0;
			m->plen = v.plen;
			m->line = v.line;
			if (v.expires)
				m->expires_in = (int64_t)((v.expires - l->now + 999999999ull) / 1000000000ull);
			return 0;
		}
		m->expired++;
		if (!v.plen)
			return 0;
		k.prefixlen = CGP_LPM_FIXED_BITS + v.plen - 1;
	}
	return 0;
}

/* The inner map of set `set` in an outer ARRAY_OF_MAPS: an fd, or -1. */
static int inner_fd(int outer_fd, __u32 set)
{
	__u32 id;

	if (bpf_map_lookup_elem(outer_fd, &set, &id))
		return -1;
	return bpf_map_get_fd_by_id(id);
}

/* The guards' templates: a cgroup below a guard that `known` does not list is judged by it. */
static void live_guards(struct explain *e, const struct cgp_pins *p, const char *mnt,
			char chain[][CGP_PATH_MAX], unsigned nchain, int at)
{
	struct cgp_map_iter it = CGP_MAP_ITER(p->map_fd[CGP_MAP_GUARDS]);
	struct cgp_guard_info gi;
	__u32 key;

	while (cgp_map_next(&it, &key, sizeof(key))) {
		unsigned lvl;
		struct stat sb;
		struct cgp_known kn;
		__u64 id;

		if (bpf_map_lookup_elem(it.fd, &key, &gi) || !gi.ancestor_id || strcmp(gi.ancestor, chain[at]))
			continue;
		/* the candidate: the element of the path at the guard's level */
		for (unsigned c = 0; c < nchain; c++) {
			if (cgp_cgroup_level(mnt, chain[c], &lvl) || lvl != gi.level)
				continue;
			if (stat(chain[c], &sb))
				break;
			id = sb.st_ino;
			if (!bpf_map_lookup_elem(p->map_fd[CGP_MAP_KNOWN], &id, &kn))
				break;	/* registered: its own programs judge it (or none) */
			explain_add_judge(e, gi.name, gi.glob, gi.slot, true);
			break;
		}
	}
}

static int live_judges(struct explain *e, const struct cgp_pins *p, const char *mnt)
{
	struct cgp_info *inf = calloc(CGP_MAX_SLOTS, sizeof(*inf));
	static char chain[64][CGP_PATH_MAX];
	unsigned ninf, nchain;

	if (!inf)
		return -ENOMEM;
	ninf = cgp_info_read(p, inf, CGP_MAX_SLOTS);
	if (e->a->policy) {
		struct cgp_map_iter it = CGP_MAP_ITER(p->map_fd[CGP_MAP_GUARDS]);
		struct cgp_guard_info gi;
		const struct cgp_info *best = NULL;
		__u32 key;

		for (unsigned i = 0; i < ninf; i++)
			if (!strcmp(inf[i].name, e->a->policy) && (!best || strcmp(inf[i].cgroup, best->cgroup) < 0))
				best = &inf[i];
		if (best)
			explain_add_judge(e, best->name, best->cgroup, best->slot, false);
		else
			while (cgp_map_next(&it, &key, sizeof(key)))
				if (!bpf_map_lookup_elem(it.fd, &key, &gi) && !strcmp(gi.name, e->a->policy)) {
					explain_add_judge(e, gi.name, gi.glob, gi.slot, true);
					break;
				}
		free(inf);
		return 0;
	}
	nchain = explain_path_chain(mnt, e->cgpath, chain, 64);
	for (unsigned c = 0; c < nchain; c++) {
		struct stat sb;

		if (stat(chain[c], &sb))
			continue;
		for (unsigned i = 0; i < ninf; i++)
			if (!strcmp(inf[i].cgroup, chain[c]) && inf[i].cgroup_id == sb.st_ino)
				explain_add_judge(e, inf[i].name, inf[i].cgroup, inf[i].slot, false);
		/* a guard runs where it is attached: after the programs of the cgroups below */
		if (c > 0)
			live_guards(e, p, mnt, chain, nchain, (int)c);
	}
	free(inf);
	return 0;
}

/* id -> name of the sets in force (the `sets` records) */
static void live_set_names(struct explain *e, const struct cgp_pins *p)
{
	struct cgp_set_entry *r = NULL;
	unsigned n = 0;

	if (cgp_sets_read(p, &r, &n) || !n) {
		free(r);
		return;
	}
	e->sets = calloc(n, sizeof(*e->sets));
	for (unsigned i = 0; e->sets && i < n; i++) {
		e->sets[i].id = r[i].rec.id;
		e->sets[i].dynamic = r[i].rec.dynamic;
		snprintf(e->sets[i].name, sizeof(e->sets[i].name), "%s", r[i].key.name);
	}
	e->nsets = e->sets ? n : 0;
	free(r);
}

int explain_live(struct explain *e, const char *pin_path, const char *mnt, struct cgp_live_file *lf)
{
	struct cgp_state st = {};
	struct cgp_pins p;
	int fds[3] = { -1, -1, -1 }, err, rc = 0;
	__u32 set;

	cgp_pins_init(&p, pin_path);
	err = cgp_pins_open(&p);
	if (err == -ENOENT) {
		fprintf(stderr, "cgpolicy: explain: no policy applied at %s (give a FILE to explain what it would do)\n",
			pin_path);
		cgp_pins_close(&p);
		return CGP_EXIT_POLICY;
	}
	if (err || cgp_state_read(&p, &st)) {
		cgp_pins_close(&p);
		return CGP_EXIT_SYSTEM;
	}
	e->gen = st.gen;
	set = (__u32)(st.gen & 1);
	cgp_live_file_load(&p, lf);
	if (lf->have_record)
		e->file = lf->rec.path;
	e->file_changed = !lf->have_record || lf->changed;
	e->src = lf->readable && !lf->changed ? &lf->src : NULL;
	if (live_judges(e, &p, mnt)) {
		rc = CGP_EXIT_SYSTEM;
		goto out;
	}
	if (e->a->policy && !e->nj) {
		fprintf(stderr, "cgpolicy: explain: no policy named '%s' in force at %s\n", e->a->policy, pin_path);
		rc = CGP_EXIT_POLICY;
		goto out;
	}
	fds[0] = inner_fd(p.map_fd[CGP_MAP_RULES], set);
	fds[1] = inner_fd(p.map_fd[CGP_MAP_PORTS], set);
	fds[2] = inner_fd(p.map_fd[CGP_MAP_POLS], set);
	live_set_names(e, &p);
	for (unsigned i = 0; i < e->nj; i++) {
		struct judge *j = &e->j[i];
		struct live_lookup l = { fds[0], fds[1], p.map_fd[CGP_MAP_DSETS], (__u16)j->slot, cgp_boot_ns() };
		struct cgp_lookup lk = { &l, live_port_class, live_rule, live_member };
		struct cgp_pol pol = {};

		if (fds[2] < 0 || bpf_map_lookup_elem(fds[2], &j->slot, &pol) || !pol.configured)
			continue;	/* not configured in the live set: passes */
		j->configured = true;
		j->pol = lf->parsed ? cgp_config_find(&lf->cfg, j->name) : NULL;
		if (cgp_decide(&lk, &pol, j->pol, e->f.dir, e->f.proto, e->f.addr, e->f.port, &j->d)) {
			rc = CGP_EXIT_SYSTEM;
			goto out;
		}
	}
out:
	for (int i = 0; i < 3; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	cgp_pins_close(&p);
	return rc;
}
