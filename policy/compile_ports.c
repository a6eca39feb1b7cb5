// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * compile_ports.c - steps 1 and 2 of cgp_compile(): the port classes of each
 * (dir, port protocol) with port rules (docs/ARCHITECTURE.md, "Port classes").
 *
 *   1. mark_port_bounds: lo and hi + 1 of every range (ICMP: type << 8 | code)
 *      and how many ranges start/end there;
 *   2. port_classes: the intervals between bounds; only those some range
 *      covers get a class, numbered 1, 2, ... in port order, so that every
 *      port 1..65535 can have a class of its own in the u16 cls of the rule
 *      trie. A rule gets one entry per class its range covers: a range over
 *      many classes (`port 1024-65535` among thousands of single ports)
 *      would multiply entries, so when some range covers more than
 *      CGP_WIDE_CLASSES classes the (dir, proto) gets two layers: the narrow
 *      ranges' classes (1..F) and, above them, the wide ranges' own classes
 *      (F+1..F+C, cut by the wide ranges' bounds only). The port trie gives
 *      both (cgp_portlpm_val.cls: narrow | wide << 16) and the kernel looks
 *      each up: a wide range costs entries per wide class, not per class of
 *      the single ports under it. Set rules stay narrow (one class per set
 *      rule lookup). No room for both layers in the u16: one layer.
 */
#include <stdlib.h>
#include <string.h>

#include "policy/compile.h"
#include "policy/policy.h"

static int newmarks(uint8_t **m, int32_t **dl)
{
	*m = calloc(65537, 1);
	*dl = calloc(65537, sizeof(int32_t));
	return *m && *dl ? 0 : -1;
}

static void mark(uint8_t *m, int32_t *dl, const struct cgp_port_range *rg)
{
	m[rg->lo] = 1;
	m[(unsigned)rg->hi + 1] = 1;
	dl[rg->lo]++;
	dl[(unsigned)rg->hi + 1]--;
}

/* Step 1: mark lo and hi + 1 of every port range, per (dir, port protocol). */
static int mark_port_bounds(struct comp *s)
{
	const struct cgp_policy *p = s->p;

	for (unsigned i = 0; i < p->nrules; i++) {
		const struct cgp_rule *r = &p->rules[i];

		if (!r->nports && !r->has_type)
			continue;
		/* the parser refuses this; a policy built by hand may not */
		if (r->nports && r->proto != CGP_PROTO_TCP && r->proto != CGP_PROTO_UDP)
			return cgp_comp_fail(s, r->line, "ports need tcp or udp");
		if (r->has_type && (r->proto != CGP_PROTO_ICMP || r->nports))
			return cgp_comp_fail(s, r->line, "a type needs icmp and no ports");
		for (int d = 0; d < CGP_DIR_MAX; d++) {
			for (int pp = 0; (r->dirs & CGP_DIR_BIT(d)) && pp < NPORTPROTO; pp++) {
				struct cgp_port_range one;
				const struct cgp_port_range *rg;
				unsigned nr = rule_ranges(r, pp, &one, &rg);

				if (nr && !s->mark[d][pp] && newmarks(&s->mark[d][pp], &s->delta[d][pp]))
					return cgp_comp_oom(s);
				for (unsigned k = 0; k < nr; k++)
					mark(s->mark[d][pp], s->delta[d][pp], &rg[k]);
			}
		}
	}
	return 0;
}

/* Classes first+1, first+2, ... of the covered intervals (bounds m, coverage deltas dl) into
 * cm[port], 0 where no range covers; the number of classes. */
static unsigned number_classes(const uint8_t *m, const int32_t *dl, uint16_t *cm, unsigned first)
{
	unsigned ncls = 0, cur = 0;
	int32_t cov = 0;

	for (unsigned port = 0; port < 65536; port++) {
		cov += dl[port];
		if (m[port])
			cur = cov > 0 ? first + ++ncls : 0;
		cm[port] = (uint16_t)cur;
	}
	return ncls;
}

bool cgp_comp_wide(const struct comp *s, int d, int pp, const struct cgp_rule *r,
		   const struct cgp_port_range *rg)
{
	const uint16_t *ca = s->clsall[d][pp];

	return ca && !r->set && (unsigned)(ca[rg->hi] - ca[rg->lo]) + 1 > CGP_WIDE_CLASSES;
}

const uint16_t *cgp_comp_cls_table(const struct comp *s, int d, int pp, const struct cgp_rule *r,
				   const struct cgp_port_range *rg)
{
	return cgp_comp_wide(s, d, pp, r, rg) ? s->clsw[d][pp] : s->clsmap[d][pp];
}

/* The narrow and the wide ranges of (d, pp) marked apart, each layer numbered: 1 if they fit. */
static int two_layers(struct comp *s, int d, int pp, unsigned limit)
{
	uint8_t *m[2] = { NULL, NULL };
	int32_t *dl[2] = { NULL, NULL };
	uint16_t *cf = malloc(65536 * sizeof(uint16_t)), *cw = malloc(65536 * sizeof(uint16_t));
	unsigned nf = 0, nw = 0;
	int ret = -1;

	if (!cf || !cw || newmarks(&m[0], &dl[0]) || newmarks(&m[1], &dl[1]))
		goto out;
	s->clsall[d][pp] = s->clsmap[d][pp];	/* what cgp_comp_wide() decides by */
	for (unsigned i = 0; i < s->p->nrules; i++) {
		const struct cgp_rule *r = &s->p->rules[i];
		struct cgp_port_range one;
		const struct cgp_port_range *rg;
		unsigned nr = (r->dirs & CGP_DIR_BIT(d)) ? rule_ranges(r, pp, &one, &rg) : 0;

		for (unsigned k = 0; k < nr; k++) {
			bool w = cgp_comp_wide(s, d, pp, r, &rg[k]);

			mark(m[w], dl[w], &rg[k]);
		}
	}
	m[0][65536] = m[1][65536] = 0;
	nf = number_classes(m[0], dl[0], cf, 0);
	nw = number_classes(m[1], dl[1], cw, nf);
	ret = nf + nw <= limit;
	if (ret) {
		s->clsmap[d][pp] = cf;
		s->clsw[d][pp] = cw;
		s->ncls[d][pp] = nf;
		s->nclsw[d][pp] = nw;
		cf = cw = NULL;
	} else {
		s->clsall[d][pp] = NULL;
	}
out:
	for (int k = 0; k < 2; k++) {
		free(m[k]);
		free(dl[k]);
	}
	free(cf);
	free(cw);
	return ret;
}

/* The portmap of (d, pp): the bounds of every range, each interval's narrow | wide << 16 class. */
static int fill_portmap(struct comp *s, int d, int pp)
{
	struct cgp_portmap_entry *pe = &s->out->portmaps[s->out->nportmaps];
	const uint8_t *m = s->mark[d][pp];
	const uint16_t *cf = s->clsmap[d][pp], *cw = s->clsw[d][pp];
	unsigned n = 0, ni = 0, base = pp_cls_base(pp);

	for (unsigned port = 0; port < 65536; port++)	/* 0: ICMP type 0 (echo-reply) */
		n += m[port];
	pe->map.bound = malloc(((size_t)n ? n : 1) * sizeof(uint16_t));
	pe->map.cls = malloc(((size_t)n + 1) * sizeof(uint32_t));
	if (!pe->map.bound || !pe->map.cls) {
		free(pe->map.bound);
		free(pe->map.cls);
		return cgp_comp_oom(s);
	}
	pe->key = (struct cgp_portmap_key){ .slot = s->slot, .dir = (uint8_t)d, .proto = pp_trie_proto(pp) };
	pe->map.n = n;
	pe->map.ncls = s->ncls[d][pp] + s->nclsw[d][pp];
	pe->map.nwide = s->nclsw[d][pp];
	pe->map.cls[0] = 0;			/* [0, bound[0]): before every range */
	s->out->nportmaps++;
	for (unsigned port = 0; port < 65536; port++) {
		uint32_t f, w;

		if (!m[port])
			continue;
		f = cf[port] ? base + cf[port] : 0;
		w = cw && cw[port] ? base + cw[port] : 0;
		pe->map.bound[ni++] = (uint16_t)port;
		pe->map.cls[ni] = f | w << CGP_CLS_WIDE_SHIFT;
	}
	return 0;
}

/* Step 2 for one (dir, proto): classes in one or two layers, the portmap. */
static int port_classes(struct comp *s, int d, int pp)
{
	unsigned limit = pp >= PP_ICMP ? CGP_MAX_ICMP_CLASSES : 65535, n, wide = 0;

	s->mark[d][pp][65536] = 0;	/* hi + 1 == 65536 is not a boundary */
	s->clsmap[d][pp] = malloc(65536 * sizeof(uint16_t));
	if (!s->clsmap[d][pp])
		return cgp_comp_oom(s);
	n = s->ncls[d][pp] = number_classes(s->mark[d][pp], s->delta[d][pp], s->clsmap[d][pp], 0);
	/* a wide range: two layers, if they fit */
	for (unsigned i = 0; i < s->p->nrules && !wide; i++) {
		const struct cgp_rule *r = &s->p->rules[i];
		struct cgp_port_range one;
		const struct cgp_port_range *rg;
		unsigned nr = (r->dirs & CGP_DIR_BIT(d)) ? rule_ranges(r, pp, &one, &rg) : 0;

		for (unsigned k = 0; k < nr && !wide; k++)
			wide = !r->set && (unsigned)(s->clsmap[d][pp][rg[k].hi] -
						     s->clsmap[d][pp][rg[k].lo]) + 1 > CGP_WIDE_CLASSES;
	}
	if (wide && n <= limit && two_layers(s, d, pp, limit) < 0)
		return cgp_comp_oom(s);
	if (s->ncls[d][pp] + s->nclsw[d][pp] > limit)
		return cgp_comp_fail(s, s->p->line,
			    "policy [%s] has more than %u distinct ICMP%s type ranges for %s",
			    s->p->name, CGP_MAX_ICMP_CLASSES, pp == PP_ICMP6 ? "v6" : "",
			    d == CGP_DIR_IN ? "in" : "out");
	return fill_portmap(s, d, pp);
}

/* Steps 1 and 2: one portmap per (dir, proto) that has port rules, in (dir, proto) order. */
int cgp_comp_port_classes(struct comp *s)
{
	size_t nmaps = 0;

	if (mark_port_bounds(s) < 0)
		return -1;
	for (int d = 0; d < CGP_DIR_MAX; d++)
		for (int pp = 0; pp < NPORTPROTO; pp++)
			nmaps += s->mark[d][pp] != NULL;
	if (nmaps) {
		s->out->portmaps = calloc(nmaps, sizeof(*s->out->portmaps));
		if (!s->out->portmaps)
			return cgp_comp_oom(s);
	}
	for (int d = 0; d < CGP_DIR_MAX; d++)
		for (int pp = 0; pp < NPORTPROTO; pp++)
			if (s->mark[d][pp] && port_classes(s, d, pp) < 0)
				return -1;
	return 0;
}

void cgp_comp_ports_free(struct comp *s)
{
	for (int d = 0; d < CGP_DIR_MAX; d++) {
		for (int pp = 0; pp < NPORTPROTO; pp++) {
			if (s->clsall[d][pp] != s->clsmap[d][pp])
				free(s->clsall[d][pp]);
			free(s->mark[d][pp]);
			free(s->delta[d][pp]);
			free(s->clsmap[d][pp]);
			free(s->clsw[d][pp]);
		}
	}
}
