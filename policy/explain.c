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

static bool covers(const struct cgp_rule *r, uint16_t port)
{
	for (unsigned i = 0; i < r->nports; i++)
		if (port >= r->ports[i].lo && port <= r->ports[i].hi)
			return true;
	return false;
}

/*
 * The compiler merged rules with the same (dir, proto, prefix, port class)
 * into one entry, deny first: an allow rule of that same key is the one the
 * deny won against.
 */
static uint32_t find_tie(const struct cgp_policy *pol, const struct cgp_decision *d, uint8_t dir,
			 uint8_t proto, uint16_t port)
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
		if (r->plen != w->plen || memcmp(r->addr, w->addr, 16))
			continue;
		if (d->port_rule ? !(r->nports && covers(r, port)) : r->nports != 0)
			continue;
		return (uint32_t)r->line;
	}
	return 0;
}

static void take(struct cgp_decision *d, const struct cgp_cand *c, bool port_rule, enum cgp_why why)
{
	d->verdict = c->verdict;
	d->line = c->line;
	d->plen = c->plen;
	d->port_rule = port_rule;
	d->why = why;
}

int cgp_decide(const struct cgp_lookup *lk, const uint8_t def[CGP_DIR_MAX], const struct cgp_policy *pol,
	       uint8_t dir, uint8_t proto, const uint8_t addr[16], uint16_t port, struct cgp_decision *d)
{
	struct cgp_lpm_val v;
	uint32_t cls = 0;

	memset(d, 0, sizeof(*d));
	dir &= 1;
	/* the order of cgp_eval (bpf/enforce.bpf.c): port class, its rules, portless rules */
	if ((proto == CGP_PROTO_TCP || proto == CGP_PROTO_UDP) &&
	    !lk->port_class(lk->ctx, dir, proto, port, &cls) && cls) {
		d->cls = cls;
		if (!lk->rule(lk->ctx, dir, proto, cls, addr, &v))
			d->with_port = (struct cgp_cand){ true, v.verdict, v.plen, v.line };
	}
	if (!lk->rule(lk->ctx, dir, proto, 0, addr, &v))
		d->portless = (struct cgp_cand){ true, v.verdict, v.plen, v.line };

	if (d->with_port.found && (!d->portless.found || d->with_port.plen >= d->portless.plen))
		take(d, &d->with_port, true,
		     d->portless.found && d->portless.plen == d->with_port.plen ? CGP_WHY_PORT : CGP_WHY_PREFIX);
	else if (d->portless.found)
		take(d, &d->portless, false, CGP_WHY_PREFIX);
	else {
		d->verdict = def[dir];
		d->why = CGP_WHY_DEFAULT;
		return 0;
	}
	if (pol) {
		d->tie_line = find_tie(pol, d, dir, proto, port);
		if (d->tie_line)
			d->why = CGP_WHY_TIE_DENY;
	}
	return 0;
}

/* ---- lookups over compiled entries ---- */

static int comp_port_class(void *ctx, uint8_t dir, uint8_t proto, uint16_t port, uint32_t *cls)
{
	const struct cgp_compiled *c = ctx;

	for (size_t i = 0; i < c->nportmaps; i++) {
		const struct cgp_portmap *pm = &c->portmaps[i].map;
		unsigned ub = 0;

		if (c->portmaps[i].key.dir != dir || c->portmaps[i].key.proto != proto)
			continue;
		while (ub < pm->n && pm->bound[ub] <= port)
			ub++;
		*cls = 1 + ub;
		return 0;
	}
	return -1;
}

static int comp_rule(void *ctx, uint8_t dir, uint8_t proto, uint32_t cls, const uint8_t addr[16],
		     struct cgp_lpm_val *val)
{
	const struct cgp_compiled *c = ctx;
	const struct cgp_lpm_entry *best = NULL;

	for (size_t i = 0; i < c->nlpm; i++) {
		const struct cgp_lpm_entry *e = &c->lpm[i];

		if (e->key.dir != dir || e->key.proto != proto || e->key.cls != cls)
			continue;
		if (!in_prefix(addr, e->key.addr, e->key.prefixlen - CGP_LPM_FIXED_BITS))
			continue;
		if (!best || e->val.plen > best->val.plen)
			best = e;
	}
	if (!best)
		return -1;
	*val = best->val;
	return 0;
}

struct cgp_lookup cgp_compiled_lookup(const struct cgp_compiled *c)
{
	return (struct cgp_lookup){ (void *)c, comp_port_class, comp_rule };
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
	}
	return "?";
}
