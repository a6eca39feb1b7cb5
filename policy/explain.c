// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * explain.c - cgp_decide(): the deciding rule and the precedence step
 * (explain.h), and the lookups over a compiled policy.
 */
#include <string.h>

#include "policy/explain.h"

static bool in_prefix(const uint8_t a[16], const uint8_t net[16], unsigned plen)
{
	unsigned full = plen / 8, rem = plen % 8;

	if (memcmp(a, net, full))
		return false;
	return !rem || !((a[full] ^ net[full]) & (uint8_t)(0xff00u >> rem));
}

static const struct cgp_rule *rule_at(const struct cgp_policy *pol, uint32_t line)
{
	for (unsigned i = 0; i < pol->nrules; i++)
		if ((uint32_t)pol->rules[i].line == line)
			return &pol->rules[i];
	return NULL;
}

/* Does rule r have ports (ICMP: a type) covering port (fam: ICMP family)? */
static bool covers(const struct cgp_rule *r, uint8_t proto, int fam, uint32_t port)
{
	struct cgp_port_range pr;

	if (proto == CGP_PROTO_ICMP) {
		if (!r->has_type || cgp_rule_icmp_range(r, fam, &pr))
			return false;
		return port >= pr.lo && port <= pr.hi;
	}
	for (unsigned i = 0; i < r->nports; i++)
		if (port >= r->ports[i].lo && port <= r->ports[i].hi)
			return true;
	return false;
}

static bool has_ports(const struct cgp_rule *r)
{
	return r->nports || r->has_type;
}

/*
 * The compiler merged rules with the same (dir, proto, prefix or set, port
 * class) into one entry, deny first: an allow rule of that same key is the
 * one the deny won against.
 */
static uint32_t find_tie(const struct cgp_policy *pol, const struct cgp_decision *d, uint8_t dir,
			 uint8_t proto, int fam, uint32_t port)
{
	const struct cgp_rule *w = rule_at(pol, d->line);

	if (!w || d->verdict != CGP_DENY)
		return 0;
	for (unsigned i = 0; i < pol->nrules; i++) {
		const struct cgp_rule *r = &pol->rules[i];

		if (r == w || r->verdict == CGP_DENY || !(r->dirs & CGP_DIR_BIT(dir)))
			continue;
		if (r->proto != proto && r->proto != CGP_RULE_PROTO_ANY)
			continue;
		if (r->set != w->set || (!w->set && (r->plen != w->plen || memcmp(r->addr, w->addr, 16))))
			continue;
		if (d->port_rule ? !(has_ports(r) && covers(r, proto, fam, port)) : has_ports(r))
			continue;
		return (uint32_t)r->line;
	}
	return 0;
}

static uint32_t score(const struct cgp_cand *c, bool port)
{
	return c->found ? (uint32_t)c->plen << 3 | (uint32_t)port << 2 | (c->verdict == CGP_DENY) << 1 | 1 : 0;
}

struct ent {
	const struct cgp_cand *c;
	bool port;
	int set;		/* index in d->sets, -1: an address rule */
};

static void set_key_addr(uint8_t a[16], uint16_t id)
{
	memset(a, 0, 16);
	a[0] = (uint8_t)(id >> 8);
	a[1] = (uint8_t)(id & 0xff);
}

/* The step between the winner w and the best loser o (NULL: none). */
static enum cgp_why step_of(const struct ent *w, const struct ent *o)
{
	if (!o || o->c->plen < w->c->plen)
		return CGP_WHY_PREFIX;
	if (w->port && !o->port)
		return CGP_WHY_PORT;
	if (w->c->verdict == CGP_DENY && o->c->verdict != CGP_DENY)
		return CGP_WHY_TIE_DENY;
	return CGP_WHY_PREFIX;	/* the same score: the first looked up */
}

/*
 * The address rules: the port class of the port (ICMP: type << 8 | code, an
 * ICMPv6 address its own classes), the longest entry of that class and of
 * its wide-layer class (the better one), then the portless one. The class
 * (the set rules'), 0 if none.
 */
static uint32_t address_cands(const struct cgp_lookup *lk, uint8_t dir, uint8_t proto, uint8_t pproto,
			      const uint8_t addr[16], uint32_t port, struct cgp_decision *d)
{
	struct cgp_lpm_val v;
	uint32_t cls = 0, wcls;

	if ((proto == CGP_PROTO_TCP || proto == CGP_PROTO_UDP || (proto == CGP_PROTO_ICMP && port <= 0xffff)) &&
	    !lk->port_class(lk->ctx, dir, pproto, (uint16_t)port, &cls) && cls) {
		wcls = cls >> CGP_CLS_WIDE_SHIFT;
		cls &= 0xffff;
		d->cls = cls ? cls : wcls;
		if (cls && !lk->rule(lk->ctx, dir, proto, cls, addr, &v))
			d->with_port = (struct cgp_cand){ true, v.verdict, v.plen, v.line };
		/* the wide layer: its rule is the port candidate if it scores higher (the kernel's order) */
		if (wcls && !lk->rule(lk->ctx, dir, proto, wcls, addr, &v)) {
			struct cgp_cand c = { true, v.verdict, v.plen, v.line };

			if (score(&c, true) > score(&d->with_port, true))
				d->with_port = c;
		}
	}
	if (!lk->rule(lk->ctx, dir, proto, 0, addr, &v))
		d->portless = (struct cgp_cand){ true, v.verdict, v.plen, v.line };
	return cls;
}

/*
 * The set rules of kpol for (dir, proto): each set's membership and its two
 * rules (with the port class, portless); a member's rules are candidates at
 * the member's prefix (appended to ents), the first set whose exclusion
 * matched with a rule of its own is d->excluded. -1 if a lookup failed.
 */
static int set_cands(const struct cgp_lookup *lk, const struct cgp_pol *kpol, uint8_t dir, uint8_t proto,
		     uint32_t cls, const uint8_t addr[16], struct cgp_decision *d, struct ent *ents, unsigned *ne)
{
	struct cgp_lpm_val v;

	for (unsigned i = 0; kpol && lk->member && proto < CGP_PROTO_MAX && i < CGP_SET_REFS; i++) {
		struct cgp_set_cand *s = &d->sets[d->nsets];
		uint16_t id = kpol->sets[dir][proto][i];
		uint8_t ka[16];

		if (!id)
			break;
		d->nsets++;
		s->id = id;
		if (lk->member(lk->ctx, id, addr, &s->m))
			return -1;
		set_key_addr(ka, id);
		/* the set rules, also for a non-member (to say what an exclusion skipped) */
		if (cls && !lk->rule(lk->ctx, dir, proto | CGP_SET_RULE, cls, ka, &v))
			s->with_port = (struct cgp_cand){ true, v.verdict, 0, v.line };
		if (!lk->rule(lk->ctx, dir, proto | CGP_SET_RULE, 0, ka, &v))
			s->portless = (struct cgp_cand){ true, v.verdict, 0, v.line };
		if (!s->m.found || !s->m.member) {
			if (s->m.found && d->excluded < 0 && (s->with_port.found || s->portless.found))
				d->excluded = (int)d->nsets - 1;
			continue;
		}
		s->with_port.plen = s->portless.plen = s->m.plen;
		ents[(*ne)++] = (struct ent){ &s->with_port, true, (int)d->nsets - 1 };
		ents[(*ne)++] = (struct ent){ &s->portless, false, (int)d->nsets - 1 };
	}
	return 0;
}

/* The first highest score of ents but ents[skip] (cand_max keeps the first of equals): 0 if none. */
static uint32_t best_of(const struct ent *ents, unsigned ne, unsigned skip, unsigned *at)
{
	uint32_t best = 0;

	*at = 0;
	for (unsigned i = 0; i < ne; i++) {
		uint32_t sc = score(ents[i].c, ents[i].port);

		if (i != skip && sc > best) {
			best = sc;
			*at = i;
		}
	}
	return best;
}

/*
 * The decision of winner w over the best loser o (NULL: none): the step,
 * then a deny's tie found in the rules (pol: the compiler merged it away),
 * a set member's prefix, an exclusion that let a shorter prefix decide.
 */
static void decide_step(struct cgp_decision *d, const struct ent *w, const struct ent *o,
			const struct cgp_policy *pol, uint8_t dir, uint8_t proto, int fam, uint32_t port)
{
	d->verdict = w->c->verdict;
	d->line = w->c->line;
	d->plen = w->c->plen;
	d->port_rule = w->port;
	d->set = w->set;
	d->why = step_of(w, o);
	if (o) {
		d->other = *o->c;
		d->other_set = o->set;
	}
	if (d->why == CGP_WHY_TIE_DENY)
		d->tie_line = d->other.line;
	else if (pol && (d->tie_line = find_tie(pol, d, dir, proto, fam, port)))
		d->why = CGP_WHY_TIE_DENY;
	if (d->why == CGP_WHY_PREFIX && d->set >= 0)
		d->why = CGP_WHY_SET_MEMBER;
	else if (d->why == CGP_WHY_PREFIX && d->excluded >= 0) {
		d->then = d->why;
		d->why = CGP_WHY_SET_EXCLUDED;
	}
}

int cgp_decide(const struct cgp_lookup *lk, const struct cgp_pol *kpol, const struct cgp_policy *pol,
	       uint8_t dir, uint8_t proto, const uint8_t addr[16], uint32_t port, struct cgp_decision *d)
{
	static const uint8_t v4pfx[12] = { [10] = 0xff, [11] = 0xff };
	struct ent ents[2 + 2 * CGP_SET_REFS];
	unsigned ne = 0, w, o;
	uint32_t cls;
	uint8_t pproto = proto;

	memset(d, 0, sizeof(*d));
	d->set = d->excluded = d->other_set = -1;
	dir &= 1;
	/* the order of cgp_eval (bpf/enforce.bpf.c): port class, its rules, portless rules, set rules */
	if (proto == CGP_PROTO_ICMP && memcmp(addr, v4pfx, 12))
		pproto = CGP_PORTPROTO_ICMP6;	/* ICMPv6: its own type classes */
	cls = address_cands(lk, dir, proto, pproto, addr, port, d);
	ents[ne++] = (struct ent){ &d->with_port, true, -1 };
	ents[ne++] = (struct ent){ &d->portless, false, -1 };
	if (set_cands(lk, kpol, dir, proto, cls, addr, d, ents, &ne))
		return -1;
	if (!best_of(ents, ne, ne, &w)) {
		d->verdict = kpol ? kpol->def[dir] : CGP_ALLOW;
		d->why = CGP_WHY_DEFAULT;
		if (d->excluded >= 0) {
			d->then = d->why;
			d->why = CGP_WHY_SET_EXCLUDED;
		}
		return 0;
	}
	decide_step(d, &ents[w], best_of(ents, ne, w, &o) ? &ents[o] : NULL, pol, dir, proto,
		    pproto == CGP_PORTPROTO_ICMP6 ? CGP_ICMP_V6 : CGP_ICMP_V4, port);
	return 0;
}

/* ---- lookups over compiled entries ---- */

static int comp_port_class(void *ctx, uint8_t dir, uint8_t proto, uint16_t port, uint32_t *cls)
{
	const struct cgp_compiled *c = ((const struct cgp_compiled_sets *)ctx)->c;

	for (size_t i = 0; i < c->nportmaps; i++) {
		if (c->portmaps[i].key.dir != dir || c->portmaps[i].key.proto != proto)
			continue;
		*cls = cgp_portmap_class(&c->portmaps[i].map, port);	/* 0: a miss */
		return 0;
	}
	return -1;
}

static int comp_rule(void *ctx, uint8_t dir, uint8_t proto, uint32_t cls, const uint8_t addr[16],
		     struct cgp_lpm_val *val)
{
	const struct cgp_compiled *c = ((const struct cgp_compiled_sets *)ctx)->c;
	const struct cgp_lpm_entry *best = NULL;

	for (size_t i = 0; i < c->nlpm; i++) {
		const struct cgp_lpm_entry *e = &c->lpm[i];

		if (e->key.dir != dir || e->key.proto != proto || e->key.cls != cls)
			continue;
		if (!in_prefix(addr, e->key.addr, e->key.prefixlen - CGP_LPM_FIXED_BITS))
			continue;
		if (!best || e->key.prefixlen > best->key.prefixlen)
			best = e;
	}
	if (!best)
		return -1;
	*val = best->val;
	return 0;
}

/* The longest entry of set id containing addr, an exclusion over a member of the same prefix. */
static int comp_member(void *ctx, uint16_t id, const uint8_t addr[16], struct cgp_set_match *m)
{
	const struct cgp_compiled_sets *cs = ctx;
	const struct cgp_lpm_entry *best = NULL;

	for (size_t i = 0; i < cs->nsetm; i++) {
		const struct cgp_lpm_entry *e = &cs->setm[i];

		if (e->key.dir != CGP_DIR_SET || e->key.slot != id ||
		    !in_prefix(addr, e->key.addr, e->key.prefixlen - CGP_LPM_FIXED_BITS))
			continue;
		if (!best || e->key.prefixlen > best->key.prefixlen ||
		    (e->key.prefixlen == best->key.prefixlen && !e->val.verdict))
			best = e;
	}
	memset(m, 0, sizeof(*m));
	m->dynamic = !!(id & CGP_SET_DYNAMIC);
	m->expires_in = -1;
	if (best) {
		m->found = true;
		m->member = best->val.verdict;
		m->plen = (uint8_t)(best->key.prefixlen - CGP_LPM_FIXED_BITS);
		m->line = best->val.line;
	}
	return 0;
}

struct cgp_lookup cgp_compiled_lookup(const struct cgp_compiled_sets *cs)
{
	return (struct cgp_lookup){ (void *)cs, comp_port_class, comp_rule, comp_member };
}

const char *cgp_why_str(enum cgp_why w)
{
	switch (w) {
	case CGP_WHY_DEFAULT:
		return "default";
	case CGP_WHY_PREFIX:
		return "longest prefix";
	case CGP_WHY_PORT:
		return "port rule over portless";
	case CGP_WHY_TIE_DENY:
		return "deny on a tie";
	case CGP_WHY_SET_MEMBER:
		return "set member";
	case CGP_WHY_SET_EXCLUDED:
		return "excluded from set";
	}
	return "?";
}
