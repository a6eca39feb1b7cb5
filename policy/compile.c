// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * compile.c - one validated policy -> LPM trie entries + port boundaries.
 *
 * Encoding (struct cgp_lpm_key, cgp_lpm_val, from bpf/enforce.h):
 *   - rules without ports: key cls 0;
 *   - for each (dir, proto) with port rules, the port boundaries lo and hi+1
 *     of all its ranges split 1..65535 into intervals ("classes"); class of
 *     port p = 1 + (number of bounds <= p). A rule's range lo..hi covers the
 *     classes class(lo)..class(hi) and gets one entry per covered class. The
 *     boundaries are returned too (cgp_compiled.portmaps); policy/ports.c
 *     turns them into the port -> class trie the kernel holds;
 *   - identical keys merge, deny winning (then the first line).
 * Output order: (dir, proto, slot, cls, prefixlen, addr), cgp_lpm_key_cmp().
 *
 * cgp_compile() runs these steps in order:
 *   1. mark_port_bounds    the boundaries of each (dir, tcp/udp/icmp/icmpv6) with
 *                          port rules (ICMP types: "ports" type << 8 | code)
 *   2. build_port_classes  boundaries -> portmaps, and a port -> class table
 *   3. size_entries        an upper bound of the entries, allocated once
 *   4. sort_rules          the rules by (prefix length, address, deny first, line)
 *   5. emit_entries        per (dir, proto): portless rules (class 0), then the
 *                          port rules bucketed by class (one counting sort)
 *   6. cgp_comp_set_rules  rules on @NAME (compile_sets.c): one entry per (dir, proto, class) in
 *                          the set-rule key space (bpf/enforce.h), then all
 *                          entries sorted again
 * Cost: one sort of the rules (O(R log R)), then a linear walk per
 * (dir, proto) plus the counting sort of port entries into class buckets,
 * and O(65536) per (dir, proto) with ports for the class table. Nothing is
 * quadratic in the number of rules.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/fileline.h"
#include "policy/compile.h"
#include "policy/policy.h"

static const char *dname(int d)
{
	return d == CGP_DIR_IN ? "in" : "out";
}

int cgp_comp_fail(struct comp *s, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cgp_fileline_vsnprintf(s->err, s->errlen, s->file, line, fmt, ap);
	va_end(ap);
	return -1;
}

int cgp_comp_oom(struct comp *s)
{
	return cgp_comp_fail(s, s->p->line, "policy [%s]: out of memory", s->p->name);
}

int cgp_comp_toobig(struct comp *s)
{
	return cgp_comp_fail(s, s->p->line, "policy [%s] needs more than %u rule trie entries",
		    s->p->name, CGP_COMPILE_MAX_LPM);
}

int cgp_lpm_key_cmp(const struct cgp_lpm_key *a, const struct cgp_lpm_key *b)
{
	return cmp_uint(a->dir, b->dir) ?: cmp_uint(a->proto, b->proto) ?:
	       cmp_uint(a->slot, b->slot) ?: cmp_uint(a->cls, b->cls) ?:
	       cmp_uint(a->prefixlen, b->prefixlen) ?: memcmp(a->addr, b->addr, 16) ?:
	       cmp_uint(a->pad, b->pad);
}

/* The policy's own entry of the `pols` map: defaults and flags. */
static void policy_header(const struct cgp_policy *p, struct cgp_pol *pol)
{
	pol->configured = 1;
	pol->def[CGP_DIR_IN] = p->def[CGP_DIR_IN];
	pol->def[CGP_DIR_OUT] = p->def[CGP_DIR_OUT];
	pol->flags = (uint8_t)((p->accelerate ? CGP_POL_F_ACCELERATE : 0) |
			       (p->stats ? CGP_POL_F_STATS : 0) |
			       (p->log_deny ? CGP_POL_F_LOG : 0) |
			       (p->audit ? CGP_POL_F_AUDIT : 0) |
			       (p->nnames && (p->dns_mode & CGP_DNS_PACKET) ? CGP_POL_F_DNS : 0));
	pol->nrules = p->nrules;
	/* the sets of each (dir, proto), in rule order (the parser checked the limit) */
	for (unsigned i = 0; i < p->nrules; i++) {
		const struct cgp_rule *r = &p->rules[i];

		if (!r->set)
			continue;
		for (int d = 0; d < CGP_DIR_MAX; d++) {
			for (int pr = 0; pr < CGP_PROTO_MAX; pr++) {
				__u16 *l = pol->sets[d][pr];
				unsigned k;

				if (!(r->dirs & CGP_DIR_BIT(d)) ||
				    (r->proto != pr && r->proto != CGP_RULE_PROTO_ANY))
					continue;
				for (k = 0; k < CGP_SET_REFS && l[k] && l[k] != r->set_id; k++)
					;
				if (k < CGP_SET_REFS)
					l[k] = r->set_id;
			}
		}
	}
}

/* ------------------------------------------------------------------ 1, 2: port classes */

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
			if (!(r->dirs & CGP_DIR_BIT(d)))
				continue;
			for (int pp = 0; pp < NPORTPROTO; pp++) {
				struct cgp_port_range one;
				const struct cgp_port_range *rg;
				unsigned nr = rule_ranges(r, pp, &one, &rg);
				uint8_t *m;

				if (!nr)
					continue;
				if (!s->mark[d][pp]) {
					s->mark[d][pp] = calloc(65537, 1);
					if (!s->mark[d][pp])
						return cgp_comp_oom(s);
				}
				m = s->mark[d][pp];
				for (unsigned k = 0; k < nr; k++) {
					m[rg[k].lo] = 1;
					m[(unsigned)rg[k].hi + 1] = 1;
				}
			}
		}
	}
	return 0;
}

/* Step 2 for one (dir, proto): the sorted boundaries and the port -> class table. */
static int port_classes(struct comp *s, int d, int pr)
{
	struct cgp_portmap_entry *pm;
	uint8_t *m = s->mark[d][pr];
	uint16_t *cm;
	unsigned n = 0;

	m[65536] = 0;		/* hi + 1 == 65536 is not a boundary */
	for (unsigned port = 0; port < 65536; port++)	/* 0: ICMP type 0 (echo-reply) */
		n += m[port];
	if (n > CGP_MAX_PORT_BOUNDS)
		return cgp_comp_fail(s, s->p->line,
			    "policy [%s] has more than %u distinct port boundaries for %s %s%s",
			    s->p->name, CGP_MAX_PORT_BOUNDS, dname(d), cgp_proto_str(pp_proto(pr)),
			    pr == PP_ICMP6 ? "v6" : "");
	cm = s->clsmap[d][pr] = malloc(65536 * sizeof(uint16_t));
	if (!cm)
		return cgp_comp_oom(s);
	pm = &s->out->portmaps[s->out->nportmaps++];
	pm->key.slot = s->slot;
	pm->key.dir = (uint8_t)d;
	pm->key.proto = pp_trie_proto(pr);
	n = 0;
	for (unsigned port = 0; port < 65536; port++) {
		if (m[port])
			pm->map.bound[n++] = (uint16_t)port;
		cm[port] = (uint16_t)(1 + n);
	}
	pm->map.n = n;
	return 0;
}

/* Step 2: one portmap per (dir, proto) that has port rules, in (dir, proto) order. */
static int build_port_classes(struct comp *s)
{
	size_t nmaps = 0;

	for (int d = 0; d < CGP_DIR_MAX; d++)
		for (int pr = 0; pr < NPORTPROTO; pr++)
			nmaps += s->mark[d][pr] != NULL;
	if (nmaps) {
		s->out->portmaps = calloc(nmaps, sizeof(*s->out->portmaps));
		if (!s->out->portmaps)
			return cgp_comp_oom(s);
	}
	for (int d = 0; d < CGP_DIR_MAX; d++)
		for (int pr = 0; pr < NPORTPROTO; pr++)
			if (s->mark[d][pr] && port_classes(s, d, pr) < 0)
				return -1;
	return 0;
}

/* ------------------------------------------------------------------ 3, 4: sizes, order */

/* Step 3: an upper bound of the entries (before merging), allocated at once. */
static int size_entries(struct comp *s)
{
	const struct cgp_policy *p = s->p;
	size_t total = 0;

	for (unsigned i = 0; i < p->nrules; i++) {
		const struct cgp_rule *r = &p->rules[i];
		unsigned nd = !!(r->dirs & CGP_DIR_BIT(CGP_DIR_IN)) +
			      !!(r->dirs & CGP_DIR_BIT(CGP_DIR_OUT));
		/* the parser gives 0..128; a policy built by hand may not */
		if (r->plen > 128)
			return cgp_comp_fail(s, r->line, "bad prefix length %u", r->plen);
		if (r->set)
			continue;	/* emit_set_rules */
		if (!r->nports && !r->has_type) {
			total += (size_t)nd * (r->proto == CGP_RULE_PROTO_ANY ? CGP_PROTO_MAX : 1);
			continue;
		}
		for (int d = 0; d < CGP_DIR_MAX; d++) {
			if (!(r->dirs & CGP_DIR_BIT(d)))
				continue;
			for (int pp = 0; pp < NPORTPROTO; pp++) {
				const uint16_t *cm = s->clsmap[d][pp];
				struct cgp_port_range one;
				const struct cgp_port_range *rg;
				unsigned nr = rule_ranges(r, pp, &one, &rg);

				for (unsigned q = 0; q < nr; q++)
					total += (size_t)(cm[rg[q].hi] - cm[rg[q].lo]) + 1;
			}
		}
		if (total > 2 * (size_t)CGP_COMPILE_MAX_LPM)
			return cgp_comp_toobig(s);
	}
	if (total) {
		s->e = malloc(total * sizeof(*s->e));
		if (!s->e)
			return cgp_comp_oom(s);
		s->cap = total;
	}
	return 0;
}

/* (plen, addr, deny first, line) */
static int arec_cmp(const void *pa, const void *pb)
{
	const struct arec *a = pa, *b = pb;

	return cmp_uint(a->plen, b->plen) ?: memcmp(a->addr, b->addr, 16) ?:
	       cmp_uint(a->verdict, b->verdict) ?: cmp_uint(a->line, b->line);	/* deny is 0 */
}

/* Step 4: the rules sorted once by (plen, addr, deny first, line). */
static int sort_rules(struct comp *s)
{
	const struct cgp_policy *p = s->p;

	if (!p->nrules)
		return 0;
	s->recs = malloc(p->nrules * sizeof(*s->recs));
	if (!s->recs)
		return cgp_comp_oom(s);
	for (unsigned i = 0; i < p->nrules; i++) {
		const struct cgp_rule *r = &p->rules[i];
		struct arec *a = &s->recs[i];
		memcpy(a->addr, r->addr, 16);
		cgp_mask_addr(a->addr, r->plen);
		a->plen = r->plen;
		a->verdict = r->verdict;
		a->line = (uint32_t)r->line;
		a->idx = i;
		a->dirs = r->dirs;
		a->proto = r->proto;
		a->ports = r->nports > 0 || r->has_type;
		a->set = r->set ? r->set_id : 0;
	}
	qsort(s->recs, p->nrules, sizeof(*s->recs), arec_cmp);
	return 0;
}

/* ------------------------------------------------------------------ 5: entries */

/*
 * Append the entry of rule a for (d, pr, cls), unless the previous entry of
 * this group (entries from gstart on) has the same address key: in sorted
 * rule order that one is the deny, or the lower line, and wins.
 */
static void emit(struct comp *s, size_t gstart, int d, int pr, unsigned cls, const struct arec *a)
{
	struct cgp_lpm_entry *e;

	if (s->n > gstart) {
		e = &s->e[s->n - 1];
		if (e->val.plen == a->plen && !memcmp(e->key.addr, a->addr, 16))
			return;
	}
	e = &s->e[s->n++];		/* s->cap (step 3) bounds all entries */
	memset(e, 0, sizeof(*e));
	e->key.prefixlen = CGP_LPM_FIXED_BITS + a->plen;
	e->key.dir = (uint8_t)d;
	e->key.proto = (uint8_t)pr;
	e->key.slot = s->slot;
	e->key.cls = (uint16_t)cls;
	memcpy(e->key.addr, a->addr, 16);
	e->val.verdict = a->verdict;
	e->val.plen = a->plen;
	e->val.line = a->line;
}

/* The rules without ports of (d, pr) (proto any included): class 0. */
static void emit_portless(struct comp *s, int d, int pr)
{
	size_t gstart = s->n;

	for (unsigned i = 0; i < s->p->nrules; i++) {
		const struct arec *a = &s->recs[i];
		if (a->ports || a->set || !(a->dirs & CGP_DIR_BIT(d)) ||
		    (a->proto != pr && a->proto != CGP_RULE_PROTO_ANY))
			continue;
		emit(s, gstart, d, pr, 0, a);
	}
}

/*
 * The walk over every (port rule of (d, pr), class it covers), in sorted
 * rule order, for the counting sort: without items it counts the rules of
 * class cl in cnt[cl + 1]; with items it places them, items[cnt[cl]++].
 */
static void walk_port_classes(const struct comp *s, int d, int pr, unsigned *cnt,
			      unsigned *items)
{
	const uint16_t *cm = s->clsmap[d][pr];

	for (unsigned i = 0; i < s->p->nrules; i++) {
		const struct arec *a = &s->recs[i];
		struct cgp_port_range one;
		const struct cgp_port_range *rg;
		unsigned nr;

		if (!a->ports || a->set || a->proto != pp_proto(pr) || !(a->dirs & CGP_DIR_BIT(d)))
			continue;
		nr = rule_ranges(&s->p->rules[a->idx], pr, &one, &rg);
		for (unsigned q = 0; q < nr; q++) {
			for (unsigned cl = cm[rg[q].lo]; cl <= cm[rg[q].hi]; cl++) {
				if (items)
					items[cnt[cl]++] = i;
				else
					cnt[cl + 1]++;
			}
		}
	}
}

/* The port rules of (d, pr): bucketed by class (stable in rule order), a group per class. */
static int emit_port_rules(struct comp *s, int d, int pr)
{
	unsigned ncls = (unsigned)s->clsmap[d][pr][65535] + 1;
	unsigned *cnt, *items;

	cnt = calloc((size_t)ncls + 1, sizeof(*cnt));
	if (!cnt)
		return cgp_comp_oom(s);
	walk_port_classes(s, d, pr, cnt, NULL);
	for (unsigned cl = 1; cl <= ncls; cl++)
		cnt[cl] += cnt[cl - 1];
	/* cnt[cl] is where bucket cl starts (cnt[ncls]: the total) */
	items = malloc((cnt[ncls] ? cnt[ncls] : 1) * sizeof(*items));
	if (!items) {
		free(cnt);
		return cgp_comp_oom(s);
	}
	walk_port_classes(s, d, pr, cnt, items);
	/* cnt[cl] is now the end of bucket cl; bucket cl starts at cnt[cl - 1] */
	for (unsigned cl = 1; cl < ncls; cl++) {
		size_t gstart = s->n;
		for (unsigned k = cnt[cl - 1]; k < cnt[cl]; k++)
			emit(s, gstart, d, pp_proto(pr), pp_cls_base(pr) + cl, &s->recs[items[k]]);
	}
	free(items);
	free(cnt);
	return 0;
}

/*
 * Step 5: group by group in (dir, proto, cls) order; inside a group the rule
 * order gives (prefixlen, addr) order, so identical keys are adjacent and
 * the first one (deny, then lowest line) is kept.
 */
static int emit_entries(struct comp *s)
{
	for (int d = 0; d < CGP_DIR_MAX; d++) {
		for (int pr = 0; pr < CGP_PROTO_MAX; pr++) {
			emit_portless(s, d, pr);
			/* port protocols of pr, in class order (ICMP, then ICMPv6 above its base) */
			for (int pp = 0; pp < NPORTPROTO; pp++)
				if (pp_proto(pp) == pr && s->clsmap[d][pp] && emit_port_rules(s, d, pp) < 0)
					return -1;
		}
	}
	if (s->n > CGP_COMPILE_MAX_LPM)
		return cgp_comp_toobig(s);
	return 0;
}

int cgp_compile(const char *file, const struct cgp_policy *p, uint16_t slot,
		struct cgp_compiled *out, char *err, size_t errlen)
{
	struct comp s = {
		.file = file, .p = p, .slot = slot, .out = out, .err = err, .errlen = errlen,
	};
	int ret;

	memset(out, 0, sizeof(*out));
	policy_header(p, &out->pol);
	ret = mark_port_bounds(&s);
	if (!ret)
		ret = build_port_classes(&s);
	if (!ret)
		ret = size_entries(&s);
	if (!ret)
		ret = sort_rules(&s);
	if (!ret)
		ret = emit_entries(&s);
	if (!ret)
		ret = cgp_comp_set_rules(&s);
	if (!ret)
		ret = cgp_compile_dns(file, p, slot, out, err, errlen);
	if (!ret) {
		out->lpm = s.e;
		out->nlpm = s.n;
		s.e = NULL;
	}
	for (int d = 0; d < CGP_DIR_MAX; d++) {
		for (int pr = 0; pr < NPORTPROTO; pr++) {
			free(s.mark[d][pr]);
			free(s.clsmap[d][pr]);
		}
	}
	free(s.e);
	free(s.recs);
	if (ret < 0)
		cgp_compiled_free(out);
	return ret;
}

void cgp_compiled_free(struct cgp_compiled *c)
{
	if (!c)
		return;
	free(c->lpm);
	free(c->portmaps);
	free(c->dns);
	memset(c, 0, sizeof(*c));
}
