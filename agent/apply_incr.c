// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * apply_incr.c - steps 1 and 3 without the unchanged work: the new rule set
 * is the live one (the rule-set cache of the live half, agent/ruleset.c)
 * with the entries of the changed address groups compiled again
 * (policy/incr_compile.c), instead of every policy compiled and the whole
 * set sorted.
 *
 * Only when everything it rests on is what the record of the last apply
 * (applycache.h) says: the file was parsed through that record (a change of
 * allow/deny lines of one policy), the pinned state is the one it went into
 * (state map id, live generation, pin path), the live half's content is
 * known, every policy keeps its slot, the sets keep their ids, and the
 * changed groups' compile has the port classes and policy header in force.
 * Anything else, and apply compiles every policy as before.
 */
#include <stdlib.h>
#include <string.h>

#include "agent/apply_steps.h"
#include "agent/applycache.h"
#include "agent/features.h"
#include "policy/incr.h"
#include "policy/ports.h"

static int raw_lpm(const void *a, const void *b)
{
	return memcmp(&((const struct cgp_lpm_entry *)a)->key, &((const struct cgp_lpm_entry *)b)->key,
		      sizeof(struct cgp_lpm_key));
}

static int raw_port(const void *a, const void *b)
{
	return memcmp(&((const struct cgp_portlpm_entry *)a)->key,
		      &((const struct cgp_portlpm_entry *)b)->key, sizeof(struct cgp_portlpm_key));
}

static int cmp_slotrec(const void *a, const void *b)
{
	const struct cgp_slotrec *x = a, *y = b;

	return x->slot != y->slot ? (x->slot < y->slot ? -1 : 1) : (x->policy > y->policy) - (x->policy < y->policy);
}

/* The (slot, policy) of every target and template, sorted; NULL when out of memory. */
struct cgp_slotrec *apply_slotrecs(const struct cgp_config *cfg, const struct apply_target *t,
				   unsigned nt, const struct apply_guard *g, unsigned ng)
{
	struct cgp_slotrec *s = malloc((nt + ng + 1) * sizeof(*s));

	for (unsigned i = 0; s && i < nt + ng; i++) {
		const struct cgp_policy *p = i < nt ? t[i].pol : g[i - nt].pol;

		s[i] = (struct cgp_slotrec){ .slot = i < nt ? t[i].slot : g[i - nt].slot,
					     .policy = (__u32)(p - cfg->policies) };
	}
	if (s)
		qsort(s, nt + ng, sizeof(*s), cmp_slotrec);
	return s;
}

/* Is the pinned state, with these slots and set ids, the one the record describes? */
static bool record_holds(const struct cgp_config *cfg, const struct cgp_applycache *ac,
			 const struct apply_incr_in *in, const struct cgp_slotrec *now, unsigned n)
{
	if (!ac || !ac->incr || !in->state_id || ac->state_id != in->state_id || ac->gen != in->gen ||
	    strcmp(ac->pin_path, in->pin_path) || !in->live || ac->nslots != n ||
	    in->live->npol != n || ac->nset_ids != cfg->nsets)
		return false;
	if (n && memcmp(ac->slots, now, n * sizeof(*now)))
		return false;
	for (unsigned i = 0; i < n; i++)
		if (in->live->pol[i].slot != now[i].slot)	/* both sorted by slot, unique */
			return false;
	for (unsigned i = 0; i < cfg->nsets; i++)
		if (ac->set_ids[i] != cfg->sets[i].id)
			return false;
	return true;
}

/* a's port and pol entries; its lpm entries too unless patching makes them (lpm NULL then). */
static int copy_ruleset(const struct cgp_ruleset *a, bool lpm, struct cgp_ruleset *b)
{
	*b = (struct cgp_ruleset){ .nlpm = lpm ? a->nlpm : 0, .nport = a->nport, .npol = a->npol };
	b->lpm = lpm ? malloc((a->nlpm + 1) * sizeof(*b->lpm)) : NULL;
	b->port = malloc((a->nport + 1) * sizeof(*b->port));
	b->pol = malloc((a->npol + 1) * sizeof(*b->pol));
	if ((lpm && !b->lpm) || !b->port || !b->pol) {
		cgp_ruleset_free(b);
		return -1;
	}
	if (lpm)
		memcpy(b->lpm, a->lpm, a->nlpm * sizeof(*b->lpm));
	memcpy(b->port, a->port, a->nport * sizeof(*b->port));
	memcpy(b->pol, a->pol, a->npol * sizeof(*b->pol));
	return 0;
}

/* The port trie entries of slot in rs, or of a compiled policy: equal? (the classes in force) */
static bool same_classes(const struct cgp_ruleset *rs, __u32 slot, const struct cgp_compiled *c)
{
	struct cgp_portlpm_entry *b = NULL;
	size_t n = 0, cap = 0, k = 0;
	bool eq = true;

	for (size_t i = 0; i < c->nportmaps; i++)
		if (cgp_port_blocks(&c->portmaps[i], &b, &n, &cap)) {
			free(b);
			return false;
		}
	if (n)
		qsort(b, n, sizeof(*b), raw_port);
	for (size_t i = 0; eq && i < rs->nport; i++)
		if (rs->port[i].key.slot == slot)
			eq = k < n && !memcmp(&rs->port[i], &b[k++], sizeof(*b));
	free(b);
	return eq && k == n;
}

/* The header the full compile would give (accelerate dropped as apply_compile_all does). */
static bool same_header(struct cgp_pol got, struct cgp_pol live)
{
	if ((got.flags & CGP_POL_F_ACCELERATE) && !cgp_feature_ok(CGP_FEAT_ACCEL))
		got.flags &= (__u8)~CGP_POL_F_ACCELERATE;
	got.nrules = live.nrules = 0;
	memset(got.sets, 0, sizeof(got.sets));
	memset(live.sets, 0, sizeof(live.sets));
	return !memcmp(&got, &live, sizeof(got));
}

/*
 * The changed groups of policy p at slot s (index si of rs->pol) compiled into rs; the
 * entries come from live the first time (rs->lpm NULL), from rs->lpm after. 0, or 1.
 */
static int patch_slot(const struct cgp_config *cfg, const struct cgp_change *ch, const struct cgp_group *grp,
		      unsigned ngrp, __u32 slot, unsigned si, const struct cgp_ruleset *live,
		      struct cgp_ruleset *rs)
{
	const struct cgp_lpm_entry *from = rs->lpm ? rs->lpm : live->lpm;
	size_t nfrom = rs->lpm ? rs->nlpm : live->nlpm;
	const struct cgp_policy *p = &cfg->policies[ch->policy];
	struct cgp_compiled part;
	struct cgp_lpm_entry *e;
	size_t n;
	char err[512];
	int ret = 1;

	if (cgp_compile_groups(cfg->file, p, (uint16_t)slot, grp, ngrp, &part, err, sizeof(err)))
		return 1;	/* the full compile says what is wrong */
	if (same_classes(rs, slot, &part) && same_header(part.pol, rs->pol[si].pol)) {
		if (part.nlpm)
			qsort(part.lpm, part.nlpm, sizeof(*part.lpm), raw_lpm);
		if (!cgp_patch_entries(from, nfrom, grp, ngrp, (uint16_t)slot, ch->a + ch->nold,
				       ch->nnew - ch->nold, part.lpm, part.nlpm, raw_lpm, &e, &n)) {
			free(rs->lpm);
			rs->lpm = e;
			rs->nlpm = n;
			rs->pol[si].pol.nrules = p->nrules;
			ret = 0;
		}
	} else {
		pr_debug("incremental apply: [%s] has other port classes now: compiled whole\n", p->name);
	}
	cgp_compiled_free(&part);
	return ret;
}

/*
 * What the report and the records need of each target's compile: its header,
 * its entries; and what apply_dns writes: the DNS-name entries of policies
 * with name rules (compiled again: they are few, and not in the rule set).
 * 0, or 1 when a name compile fails (then apply compiles everything).
 */
static int fill_comps(const struct cgp_config *cfg, const struct cgp_ruleset *rs,
		      struct apply_target *t, unsigned nt, struct apply_guard *g, unsigned ng)
{
	size_t *cnt = calloc(CGP_MAX_SLOTS, sizeof(*cnt));
	char err[256];
	int ret = 0;

	for (size_t i = 0; cnt && i < rs->nlpm; i++)
		if (rs->lpm[i].key.dir < CGP_DIR_MAX && rs->lpm[i].key.slot < CGP_MAX_SLOTS)
			cnt[rs->lpm[i].key.slot]++;
	for (unsigned i = 0; i < nt + ng; i++) {
		struct cgp_compiled *c = i < nt ? &t[i].comp : &g[i - nt].comp;
		__u32 slot = i < nt ? t[i].slot : g[i - nt].slot;
		const struct cgp_policy *pol;

		memset(c, 0, sizeof(*c));
		for (size_t k = 0; k < rs->npol; k++)
			if (rs->pol[k].slot == slot)
				c->pol = rs->pol[k].pol;
		c->nlpm = cnt && slot < CGP_MAX_SLOTS ? cnt[slot] : 0;
		pol = i < nt ? t[i].pol : g[i - nt].pol;
		if (!ret && pol->nnames && cgp_compile_dns(cfg->file, pol, (uint16_t)slot, c, err, sizeof(err)))
			ret = 1;
	}
	free(cnt);
	for (unsigned i = 0; ret && i < nt + ng; i++)	/* the full compile starts afresh */
		cgp_compiled_free(i < nt ? &t[i].comp : &g[i - nt].comp);
	return ret;
}

int apply_incr_ruleset(const struct cgp_config *cfg, const struct cgp_applycache *ac,
		       const struct apply_incr_in *in, struct apply_target *t, unsigned nt,
		       struct apply_guard *g, unsigned ng, struct cgp_ruleset *rs)
{
	struct cgp_slotrec *now = apply_slotrecs(cfg, t, nt, g, ng);
	struct cgp_group *grp = NULL;
	unsigned ngrp = 0;
	int ret = 1;

	memset(rs, 0, sizeof(*rs));
	if (!now || !record_holds(cfg, ac, in, now, nt + ng) || copy_ruleset(in->live, false, rs))
		goto out;
	if (!ac->ch.same && cgp_change_groups(&ac->ch, &cfg->policies[ac->ch.policy], &grp, &ngrp))
		goto out;
	ret = 0;
	for (unsigned i = 0; !ret && !ac->ch.same && i < nt + ng; i++)
		if (now[i].policy == ac->ch.policy)
			ret = patch_slot(cfg, &ac->ch, grp, ngrp, now[i].slot, i, in->live, rs);
	if (!ret && !rs->lpm) {		/* nothing patched: the live entries as they are */
		struct cgp_ruleset whole;

		ret = copy_ruleset(in->live, true, &whole) ? 1 : 0;
		if (!ret) {
			cgp_ruleset_free(rs);
			*rs = whole;
		}
	}
	if (!ret)
		ret = fill_comps(cfg, rs, t, nt, g, ng);
	if (!ret) {
		pr_debug("incremental apply: %u line(s) read again, %u address group(s) compiled again\n",
			 ac->ch.same ? 0 : ac->ch.nnew, ngrp);
	}
out:
	if (ret)
		cgp_ruleset_free(rs);
	free(grp);
	free(now);
	return ret;
}
