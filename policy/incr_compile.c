// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * incr_compile.c - the entries of a few address groups of a policy, without
 * compiling the others (incr.h, cgp_compile_groups).
 *
 * The entries of the rules at one (prefix length, address) depend on those
 * rules and on the port classes of the whole policy, and on nothing else:
 * identical keys merge only within a group, and every key holds the group's
 * prefix and address. The classes come from the set of port ranges (and
 * ICMP types) of every rule, never from addresses, verdicts or order. So the
 * groups are compiled by cgp_compile() itself, on a policy made of the
 * groups' rules plus one "carrier" rule per distinct (directions, protocol,
 * range) of the whole policy at an address outside the groups: the classes
 * come out as for the whole policy, and the carriers' entries are dropped.
 * The caller compares the classes with those in force: when they differ,
 * every entry may have moved and it compiles the policy whole.
 */
#include <stdlib.h>
#include <string.h>

#include "policy/incr.h"

int cgp_group_cmp(const void *a, const void *b)
{
	const struct cgp_group *x = a, *y = b;

	return x->plen != y->plen ? (x->plen < y->plen ? -1 : 1) : memcmp(x->addr, y->addr, 16);
}

bool cgp_group_has(const struct cgp_group *g, unsigned ng, const struct cgp_lpm_key *k, uint16_t slot)
{
	struct cgp_group key;

	if (k->slot != slot || k->dir >= CGP_DIR_MAX || (k->proto & CGP_SET_RULE) ||
	    k->prefixlen < CGP_LPM_FIXED_BITS || k->prefixlen > CGP_LPM_FIXED_BITS + 128)
		return false;
	key.plen = (uint8_t)(k->prefixlen - CGP_LPM_FIXED_BITS);
	memcpy(key.addr, k->addr, 16);
	return bsearch(&key, g, ng, sizeof(*g), cgp_group_cmp) != NULL;
}

static bool in_groups(const struct cgp_group *g, unsigned ng, const struct cgp_rule *r)
{
	struct cgp_group key = { .plen = r->plen };

	memcpy(key.addr, r->addr, 16);
	return bsearch(&key, g, ng, sizeof(*g), cgp_group_cmp) != NULL;
}

/* What a carrier stands for: one range (or one ICMP type) in some directions. */
struct spec {
	uint8_t dirs, proto, has_type, pad;
	uint16_t lo, hi;
	int16_t type[2], code[2];
};

static uint64_t spec_hash(const struct spec *s)
{
	uint64_t h = 0xcbf29ce484222325ull;
	const unsigned char *b = (const unsigned char *)s;

	for (size_t i = 0; i < sizeof(*s); i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

/* Add spec s to the table (open addressing, cap a power of two) and, if new, a carrier. */
static void add_spec(struct spec *tab, bool *used, size_t cap, const struct spec *s,
		     const struct cgp_rule *proto_rule, struct cgp_rule *car, unsigned *ncar,
		     struct cgp_port_range *ranges)
{
	size_t i = spec_hash(s) & (cap - 1);

	for (; used[i]; i = (i + 1) & (cap - 1))
		if (!memcmp(&tab[i], s, sizeof(*s)))
			return;
	used[i] = true;
	tab[i] = *s;
	car[*ncar] = *proto_rule;
	car[*ncar].nports = s->has_type ? 0 : 1;
	ranges[*ncar] = (struct cgp_port_range){ s->lo, s->hi };
	(*ncar)++;
}

/* One carrier per distinct range of p (at no address yet); -1 out of memory. */
static int carriers(const struct cgp_policy *p, struct cgp_rule **out, unsigned *n,
		    struct cgp_port_range **rg)
{
	size_t want = 0, cap = 64;
	struct spec *tab;
	bool *used;

	for (unsigned i = 0; i < p->nrules; i++)
		want += p->rules[i].has_type ? 1 : p->rules[i].nports;
	while (cap < 2 * want + 2)
		cap *= 2;
	tab = malloc(cap * sizeof(*tab));
	used = calloc(cap, 1);
	*out = malloc((want + 1) * sizeof(**out));
	*rg = malloc((want + 1) * sizeof(**rg));
	*n = 0;
	if (!tab || !used || !*out || !*rg) {
		free(tab);
		free(used);
		return -1;
	}
	for (unsigned i = 0; i < p->nrules; i++) {
		const struct cgp_rule *r = &p->rules[i];
		struct spec s = { .dirs = r->dirs, .proto = r->proto, .has_type = r->has_type };

		memcpy(s.type, r->icmp_type, sizeof(s.type));
		memcpy(s.code, r->icmp_code, sizeof(s.code));
		if (r->has_type)
			add_spec(tab, used, cap, &s, r, *out, n, *rg);
		for (unsigned k = 0; !r->has_type && k < r->nports; k++) {
			s.lo = r->ports[k].lo;
			s.hi = r->ports[k].hi;
			add_spec(tab, used, cap, &s, r, *out, n, *rg);
		}
	}
	free(tab);
	free(used);
	return 0;
}

/* An address for the carriers that is none of the groups'. */
static void carrier_addr(const struct cgp_group *g, unsigned ng, struct cgp_group *c)
{
	c->plen = 128;
	memset(c->addr, 0xff, 16);
	while (bsearch(c, g, ng, sizeof(*g), cgp_group_cmp))
		c->addr[15]--;	/* at most ng tries */
}

/* The groups' rules of p, then the carriers: the policy to compile. -1 out of memory. */
static int mini_policy(const struct cgp_policy *p, const struct cgp_group *g, unsigned ng,
		       struct cgp_policy *m, struct cgp_port_range **rg)
{
	struct cgp_rule *car;
	struct cgp_group at;
	unsigned ncar, n = 0;

	if (carriers(p, &car, &ncar, rg))
		return -1;
	*m = *p;
	m->rules = malloc((ncar + p->nrules + 1) * sizeof(*m->rules));
	if (!m->rules) {
		free(car);
		return -1;
	}
	for (unsigned i = 0; i < p->nrules; i++)
		if (!p->rules[i].set && in_groups(g, ng, &p->rules[i]))
			m->rules[n++] = p->rules[i];
	carrier_addr(g, ng, &at);
	for (unsigned i = 0; i < ncar; i++) {
		struct cgp_rule *r = &m->rules[n++];

		*r = car[i];
		r->set = r->set_id = 0;
		r->verdict = CGP_ALLOW;
		r->plen = at.plen;
		memcpy(r->addr, at.addr, 16);
		r->is_v4 = false;
		r->ports = r->nports ? &(*rg)[i] : NULL;
	}
	free(car);
	m->nrules = n;
	m->pranges = NULL;
	m->npranges = m->cap_pranges = 0;
	return 0;
}

int cgp_compile_groups(const char *file, const struct cgp_policy *p, uint16_t slot,
		       const struct cgp_group *g, unsigned ng, struct cgp_compiled *out, char *err,
		       size_t errlen)
{
	struct cgp_port_range *rg = NULL;
	struct cgp_policy m;
	size_t k = 0;
	int ret;

	memset(out, 0, sizeof(*out));
	if (mini_policy(p, g, ng, &m, &rg)) {
		free(rg);
		return 1;
	}
	ret = cgp_compile(file, &m, slot, out, err, errlen);
	free(m.rules);
	free(rg);
	if (ret)
		return ret;
	for (size_t i = 0; i < out->nlpm; i++)
		if (cgp_group_has(g, ng, &out->lpm[i].key, slot))
			out->lpm[k++] = out->lpm[i];
	out->nlpm = k;
	return 0;
}

/* Is k an entry of a rule of slot (not a set member)? */
static bool of_slot(const struct cgp_lpm_key *k, uint16_t slot)
{
	return k->slot == slot && k->dir < CGP_DIR_MAX;
}

int cgp_patch_entries(const struct cgp_lpm_entry *old, size_t nold, const struct cgp_group *g,
		      unsigned ng, uint16_t slot, int from, int delta, const struct cgp_lpm_entry *add,
		      size_t nadd, int (*cmp)(const void *, const void *), struct cgp_lpm_entry **out,
		      size_t *nout)
{
	struct cgp_lpm_entry *e = malloc((nold + nadd + 1) * sizeof(*e));
	size_t i = 0, j = 0, n = 0;

	if (!e)
		return -1;
	while (i < nold || j < nadd) {
		if (i < nold && cgp_group_has(g, ng, &old[i].key, slot)) {
			i++;	/* the group is compiled again */
			continue;
		}
		if (j == nadd || (i < nold && cmp(&old[i], &add[j]) < 0)) {
			e[n] = old[i++];
			if (delta && of_slot(&e[n].key, slot) && (int)e[n].val.line >= from)
				e[n].val.line = (uint32_t)((int)e[n].val.line + delta);
		} else {
			e[n] = add[j++];
		}
		n++;
	}
	*out = e;
	*nout = n;
	return 0;
}

int cgp_change_groups(const struct cgp_change *ch, const struct cgp_policy *p, struct cgp_group **g,
		      unsigned *ng)
{
	unsigned n = 0;
	struct cgp_group *v = malloc((ch->nremoved + ch->nadded + 1) * sizeof(*v));

	if (!v)
		return -1;
	for (unsigned i = 0; i < ch->nremoved + ch->nadded; i++) {
		const struct cgp_rule *r = i < ch->nremoved ? &ch->removed[i] :
					   &p->rules[ch->ra + i - ch->nremoved];

		if (r->set)
			continue;	/* a set rule's entries are not at an address */
		v[n].plen = r->plen;
		memcpy(v[n].addr, r->addr, 16);
		n++;
	}
	qsort(v, n, sizeof(*v), cgp_group_cmp);
	*ng = 0;
	for (unsigned i = 0; i < n; i++)
		if (!*ng || cgp_group_cmp(&v[*ng - 1], &v[i]))
			v[(*ng)++] = v[i];
	*g = v;
	return 0;
}
