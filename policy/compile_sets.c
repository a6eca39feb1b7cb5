// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * compile_sets.c - step 6 of cgp_compile(): rules whose address is a named
 * set (@NAME). Each becomes one entry per (dir, proto, port class) in the
 * key space of set rules (proto | CGP_SET_RULE, the set id in addr[0..1],
 * full prefix; bpf/enforce.h), never a copy of the set's members; the
 * kernel's cgp_eval looks the members up once per referenced set.
 */
#include <stdlib.h>
#include <string.h>

#include "policy/compile.h"

static int key_cmp(const void *a, const void *b)
{
	return cgp_lpm_key_cmp(&((const struct cgp_lpm_entry *)a)->key,
			       &((const struct cgp_lpm_entry *)b)->key);
}

/* (key, deny first, line): the first of equal keys wins */
static int set_entry_cmp(const void *pa, const void *pb)
{
	const struct cgp_lpm_entry *a = pa, *b = pb;

	return key_cmp(a, b) ?: cmp_uint(a->val.verdict, b->val.verdict) ?:
	       cmp_uint(a->val.line, b->val.line);
}

/* One set-rule entry of rule r for (d, proto, cls) into the growing array. */
static int add_set_entry(struct comp *s, struct cgp_lpm_entry **se, size_t *n, size_t *cap,
			 const struct cgp_rule *r, int d, uint8_t proto, unsigned cls)
{
	struct cgp_lpm_entry *e;

	if (*n == *cap) {
		*cap = *cap ? 2 * *cap : 64;
		if (*cap > CGP_COMPILE_MAX_LPM)
			return cgp_comp_toobig(s);
		e = realloc(*se, *cap * sizeof(**se));
		if (!e)
			return cgp_comp_oom(s);
		*se = e;
	}
	e = &(*se)[(*n)++];
	memset(e, 0, sizeof(*e));
	e->key.prefixlen = CGP_LPM_FIXED_BITS + 128;
	e->key.dir = (uint8_t)d;
	e->key.proto = (uint8_t)(proto | CGP_SET_RULE);
	e->key.slot = s->slot;
	e->key.cls = (uint16_t)cls;
	e->key.addr[0] = (uint8_t)(r->set_id >> 8);
	e->key.addr[1] = (uint8_t)r->set_id;
	e->val.verdict = r->verdict;
	e->val.line = (uint32_t)r->line;
	return 0;
}

/* The entries of set rule r: class 0 per protocol, or per class its ports (ICMP: types) cover. */
static int set_rule_entries(struct comp *s, const struct cgp_rule *r, struct cgp_lpm_entry **se,
			    size_t *n, size_t *cap)
{
	for (int d = 0; d < CGP_DIR_MAX; d++) {
		if (!(r->dirs & CGP_DIR_BIT(d)))
			continue;
		if (!r->nports && !r->has_type) {
			for (int pr = 0; pr < CGP_PROTO_MAX; pr++)
				if ((r->proto == pr || r->proto == CGP_RULE_PROTO_ANY) &&
				    add_set_entry(s, se, n, cap, r, d, (uint8_t)pr, 0))
					return -1;
			continue;
		}
		for (int pp = 0; pp < NPORTPROTO; pp++) {
			const uint16_t *cm = s->clsmap[d][pp];
			struct cgp_port_range one;
			const struct cgp_port_range *rg;
			unsigned nr = rule_ranges(r, pp, &one, &rg);

			for (unsigned q = 0; q < nr; q++)
				for (unsigned cl = cm[rg[q].lo]; cl <= cm[rg[q].hi]; cl++)
					if (add_set_entry(s, se, n, cap, r, d, pp_proto(pp), pp_cls_base(pp) + cl))
						return -1;
		}
	}
	return 0;
}

/*
 * Step 6: the set rules (@NAME), one entry per (dir, proto, class) in the key
 * space of set rules (proto | CGP_SET_RULE, the set id in addr[0..1], full
 * prefix), identical keys merged (deny, then the first line, wins); then all
 * entries put back in cgp_lpm_key_cmp order.
 */
int cgp_comp_set_rules(struct comp *s)
{
	const struct cgp_policy *p = s->p;
	struct cgp_lpm_entry *se = NULL, *e;
	size_t n = 0, cap = 0, k = 0;

	for (unsigned i = 0; i < p->nrules; i++) {
		if (p->rules[i].set && set_rule_entries(s, &p->rules[i], &se, &n, &cap)) {
			free(se);
			return -1;
		}
	}
	if (!n)
		return 0;
	qsort(se, n, sizeof(*se), set_entry_cmp);
	e = realloc(s->e, (s->n + n) * sizeof(*e));
	if (!e) {
		free(se);
		return cgp_comp_oom(s);
	}
	s->e = e;
	for (size_t i = 0; i < n; i++)
		if (!k || key_cmp(&se[i], &s->e[s->n - 1]))
			s->e[s->n++] = se[i], k++;
	free(se);
	qsort(s->e, s->n, sizeof(*s->e), key_cmp);
	return 0;
}
