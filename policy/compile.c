// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * compile.c - one validated policy -> LPM trie entries + port class maps.
 *
 * Encoding (see bpf/cgpolicy.h):
 *   - rules without ports: key cls 0;
 *   - for each (dir, proto) with port rules, the port boundaries lo and hi+1
 *     of all its ranges split 1..65535 into intervals ("classes"); class of
 *     port p = 1 + (number of bounds <= p). A rule's range lo..hi covers the
 *     classes class(lo)..class(hi) and gets one entry per covered class;
 *   - identical keys merge, deny winning (then the first line).
 * Output order: (dir, proto, slot, cls, prefixlen, addr), cgp_lpm_key_cmp().
 * Cost: one sort of the rules by address (O(R log R)), then each (dir, proto)
 * is a linear walk plus a counting sort of port entries into class buckets,
 * and O(65536) per (dir, proto) with ports for the class table. Nothing is
 * quadratic in the number of rules.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

/* Guard against memory blow-up (e.g. thousands of wide port rules over
 * thousands of boundaries): refuse policies that need more trie entries. */
#define CGP_COMPILE_MAX_LPM	(4u << 20)

static const char *dname(int d)
{
	return d == CGP_DIR_IN ? "in" : "out";
}

struct vec {
	struct cgp_lpm_entry *e;
	size_t n, cap;
};

/* A rule's address part, sorted once. */
struct arec {
	uint8_t addr[16];	/* masked */
	uint32_t line;
	uint32_t idx;		/* index into p->rules */
	uint8_t plen, verdict;
	uint8_t dirs, proto;	/* copies of the rule's, to keep the walks in cache */
	bool ports;
};

static int arec_cmp(const void *pa, const void *pb)
{
	const struct arec *a = pa, *b = pb;
	int r;

	if (a->plen != b->plen)
		return a->plen < b->plen ? -1 : 1;
	r = memcmp(a->addr, b->addr, 16);
	if (r)
		return r;
	if (a->verdict != b->verdict)
		return a->verdict < b->verdict ? -1 : 1;	/* deny (0) first */
	if (a->line != b->line)
		return a->line < b->line ? -1 : 1;
	return 0;
}

/* Append unless the previous entry of this group has the same address key. */
static void emit(struct vec *v, size_t gstart, uint16_t slot, int d, int pr, unsigned cls,
		 const struct arec *a)
{
	struct cgp_lpm_entry *e;

	if (v->n > gstart) {
		e = &v->e[v->n - 1];
		if (e->val.plen == a->plen && !memcmp(e->key.addr, a->addr, 16))
			return;
	}
	e = &v->e[v->n++];		/* v->cap is an upper bound of all entries */
	memset(e, 0, sizeof(*e));
	e->key.prefixlen = CGP_LPM_FIXED_BITS + a->plen;
	e->key.dir = (uint8_t)d;
	e->key.proto = (uint8_t)pr;
	e->key.slot = slot;
	e->key.cls = (uint16_t)cls;
	memcpy(e->key.addr, a->addr, 16);
	e->val.verdict = a->verdict;
	e->val.plen = a->plen;
	e->val.line = a->line;
}

int cgp_lpm_key_cmp(const struct cgp_lpm_key *a, const struct cgp_lpm_key *b)
{
	int r;

	if (a->dir != b->dir)
		return a->dir < b->dir ? -1 : 1;
	if (a->proto != b->proto)
		return a->proto < b->proto ? -1 : 1;
	if (a->slot != b->slot)
		return a->slot < b->slot ? -1 : 1;
	if (a->cls != b->cls)
		return a->cls < b->cls ? -1 : 1;
	if (a->prefixlen != b->prefixlen)
		return a->prefixlen < b->prefixlen ? -1 : 1;
	r = memcmp(a->addr, b->addr, 16);
	if (r)
		return r;
	if (a->pad != b->pad)
		return a->pad < b->pad ? -1 : 1;
	return 0;
}


static void __attribute__((format(printf, 5, 6)))
errf(char *err, size_t errlen, const char *file, int line, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(err, errlen, "%s:%d: %s", file, line, msg);
}

int cgp_compile(const char *file, const struct cgp_policy *p, uint16_t slot,
		struct cgp_compiled *out, char *err, size_t errlen)
{
	uint8_t *mark[CGP_DIR_MAX][2] = { { NULL } };	/* [dir][tcp/udp], 65537 */
	uint16_t *clsmap[CGP_DIR_MAX][2] = { { NULL } };	/* port -> class */
	struct vec v = { 0 };
	struct arec *recs = NULL;
	size_t nmaps = 0;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	out->pol.configured = 1;
	out->pol.def[CGP_DIR_IN] = p->def[CGP_DIR_IN];
	out->pol.def[CGP_DIR_OUT] = p->def[CGP_DIR_OUT];
	out->pol.flags = (uint8_t)((p->accelerate ? CGP_POL_F_ACCELERATE : 0) |
				   (p->stats ? CGP_POL_F_STATS : 0));
	out->pol.flags |= (uint8_t)((p->log_deny ? CGP_POL_F_LOG : 0) | (p->audit ? CGP_POL_F_AUDIT : 0));
	out->pol.nrules = p->nrules;

	/* 1. port boundaries per (dir, proto) */
	for (unsigned i = 0; i < p->nrules; i++) {
		const struct cgp_rule *r = &p->rules[i];
		if (!r->nports)
			continue;
		if (r->proto != CGP_PROTO_TCP && r->proto != CGP_PROTO_UDP) {
			errf(err, errlen, file, r->line, "ports need tcp or udp");
			goto out;
		}
		for (int d = 0; d < CGP_DIR_MAX; d++) {
			uint8_t *m;
			if (!(r->dirs & CGP_DIR_BIT(d)))
				continue;
			if (!mark[d][r->proto]) {
				mark[d][r->proto] = calloc(65537, 1);
				if (!mark[d][r->proto])
					goto oom;
			}
			m = mark[d][r->proto];
			for (unsigned k = 0; k < r->nports; k++) {
				m[r->ports[k].lo] = 1;
				m[(unsigned)r->ports[k].hi + 1] = 1;
			}
		}
	}
	for (int d = 0; d < CGP_DIR_MAX; d++)
		for (int pr = 0; pr < 2; pr++)
			nmaps += mark[d][pr] != NULL;
	if (nmaps) {
		out->portmaps = calloc(nmaps, sizeof(*out->portmaps));
		if (!out->portmaps)
			goto oom;
	}
	for (int d = 0; d < CGP_DIR_MAX; d++) {
		for (int pr = 0; pr < 2; pr++) {
			struct cgp_portmap_entry *pm;
			uint8_t *m = mark[d][pr];
			uint16_t *cm;
			unsigned n = 0;

			if (!m)
				continue;
			m[65536] = 0;		/* hi + 1 == 65536 is not a boundary */
			for (unsigned port = 1; port < 65536; port++)
				n += m[port];
			if (n > CGP_MAX_PORT_BOUNDS) {
				errf(err, errlen, file, p->line,
				     "policy [%s] has more than %u distinct port boundaries for %s %s",
				     p->name, CGP_MAX_PORT_BOUNDS, dname(d), cgp_proto_str((uint8_t)pr));
				goto out;
			}
			cm = clsmap[d][pr] = malloc(65536 * sizeof(uint16_t));
			if (!cm)
				goto oom;
			pm = &out->portmaps[out->nportmaps++];
			pm->key.slot = slot;
			pm->key.dir = (uint8_t)d;
			pm->key.proto = (uint8_t)pr;
			n = 0;
			for (unsigned port = 0; port < 65536; port++) {
				if (m[port])
					pm->map.bound[n++] = (uint16_t)port;
				cm[port] = (uint16_t)(1 + n);
			}
			pm->map.n = n;
		}
	}

	/* 2. rules sorted once by (plen, addr, deny first, line) */
	{
		size_t total = 0;
		for (unsigned i = 0; i < p->nrules; i++) {
			const struct cgp_rule *r = &p->rules[i];
			unsigned nd = !!(r->dirs & CGP_DIR_BIT(CGP_DIR_IN)) +
				      !!(r->dirs & CGP_DIR_BIT(CGP_DIR_OUT));
			if (r->plen > 128) {
				errf(err, errlen, file, r->line, "bad prefix length %u", r->plen);
				goto out;
			}
			if (!r->nports) {
				total += (size_t)nd * (r->proto == CGP_RULE_PROTO_ANY ? CGP_PROTO_MAX : 1);
				continue;
			}
			for (int d = 0; d < CGP_DIR_MAX; d++) {
				const uint16_t *cm = clsmap[d][r->proto];
				if (!(r->dirs & CGP_DIR_BIT(d)))
					continue;
				for (unsigned q = 0; q < r->nports; q++)
					total += (size_t)(cm[r->ports[q].hi] - cm[r->ports[q].lo]) + 1;
			}
			if (total > 2 * (size_t)CGP_COMPILE_MAX_LPM)
				goto toobig;
		}
		if (total) {
			v.e = malloc(total * sizeof(*v.e));
			if (!v.e)
				goto oom;
			v.cap = total;
		}
	}
	if (p->nrules) {
		recs = malloc(p->nrules * sizeof(*recs));
		if (!recs)
			goto oom;
	}
	for (unsigned i = 0; i < p->nrules; i++) {
		const struct cgp_rule *r = &p->rules[i];
		struct arec *a = &recs[i];
		memcpy(a->addr, r->addr, 16);
		cgp_mask_addr(a->addr, r->plen);
		a->plen = r->plen;
		a->verdict = r->verdict;
		a->line = (uint32_t)r->line;
		a->idx = i;
		a->dirs = r->dirs;
		a->proto = r->proto;
		a->ports = r->nports > 0;
	}
	if (p->nrules)
		qsort(recs, p->nrules, sizeof(*recs), arec_cmp);

	/*
	 * 3. emit group by group in (dir, proto, cls) order; inside a group the
	 * rule order gives (prefixlen, addr) order, so identical keys are
	 * adjacent and the first one (deny, then lowest line) is kept.
	 */
	for (int d = 0; d < CGP_DIR_MAX; d++) {
		for (int pr = 0; pr < CGP_PROTO_MAX; pr++) {
			const uint16_t *cm = pr < 2 ? clsmap[d][pr] : NULL;
			size_t start = v.n;
			unsigned ncls, *cnt = NULL, *items = NULL;
			size_t nitems = 0;

			for (unsigned i = 0; i < p->nrules; i++) {
				const struct arec *a = &recs[i];
				if (a->ports || !(a->dirs & CGP_DIR_BIT(d)) ||
				    (a->proto != pr && a->proto != CGP_RULE_PROTO_ANY))
					continue;
				emit(&v, start, slot, d, pr, 0, a);
			}
			if (!cm)
				continue;
			/* port rules: counting sort into class buckets, stable in rule order */
			ncls = (unsigned)cm[65535] + 1;
			cnt = calloc((size_t)ncls + 1, sizeof(*cnt));
			if (!cnt)
				goto oom;
			for (unsigned i = 0; i < p->nrules; i++) {
				const struct cgp_rule *r;
				if (!recs[i].ports || recs[i].proto != pr || !(recs[i].dirs & CGP_DIR_BIT(d)))
					continue;
				r = &p->rules[recs[i].idx];
				for (unsigned q = 0; q < r->nports; q++)
					for (unsigned cl = cm[r->ports[q].lo]; cl <= cm[r->ports[q].hi]; cl++)
						cnt[cl + 1]++;
			}
			for (unsigned cl = 1; cl <= ncls; cl++)
				cnt[cl] += cnt[cl - 1];
			nitems = cnt[ncls];
			items = malloc((nitems ? nitems : 1) * sizeof(*items));
			if (!items) {
				free(cnt);
				goto oom;
			}
			for (unsigned i = 0; i < p->nrules; i++) {
				const struct cgp_rule *r;
				if (!recs[i].ports || recs[i].proto != pr || !(recs[i].dirs & CGP_DIR_BIT(d)))
					continue;
				r = &p->rules[recs[i].idx];
				for (unsigned q = 0; q < r->nports; q++)
					for (unsigned cl = cm[r->ports[q].lo]; cl <= cm[r->ports[q].hi]; cl++)
						items[cnt[cl]++] = i;
			}
			/* cnt[cl] is now the end of bucket cl; bucket cl starts at cnt[cl - 1] */
			for (unsigned cl = 1; cl < ncls; cl++) {
				size_t gstart = v.n;
				for (unsigned k = cnt[cl - 1]; k < cnt[cl]; k++)
					emit(&v, gstart, slot, d, pr, cl, &recs[items[k]]);
			}
			free(items);
			free(cnt);
		}
	}
	if (v.n > CGP_COMPILE_MAX_LPM)
		goto toobig;
	out->lpm = v.e;
	out->nlpm = v.n;
	v.e = NULL;
	ret = 0;
	goto out;

toobig:
	errf(err, errlen, file, p->line, "policy [%s] needs more than %u rule trie entries",
	     p->name, CGP_COMPILE_MAX_LPM);
	goto out;
oom:
	errf(err, errlen, file, p->line, "policy [%s]: out of memory", p->name);
out:
	for (int d = 0; d < CGP_DIR_MAX; d++) {
		for (int pr = 0; pr < 2; pr++) {
			free(mark[d][pr]);
			free(clsmap[d][pr]);
		}
	}
	free(v.e);
	free(recs);
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
	memset(c, 0, sizeof(*c));
}

static bool prefix_match(const uint8_t a[16], const uint8_t net[16], unsigned plen)
{
	unsigned full = plen / 8, rem = plen % 8;

	if (memcmp(a, net, full))
		return false;
	if (rem && ((a[full] ^ net[full]) & (uint8_t)(0xff00u >> rem)))
		return false;
	return true;
}

int cgp_compiled_eval(const struct cgp_compiled *c, uint8_t dir, uint8_t proto,
		      const uint8_t addr[16], uint16_t port)
{
	const struct cgp_portmap *pm = NULL;
	const struct cgp_lpm_entry *A = NULL, *B = NULL;
	unsigned cls = 0;

	if (proto == CGP_PROTO_TCP || proto == CGP_PROTO_UDP) {
		for (size_t i = 0; i < c->nportmaps; i++)
			if (c->portmaps[i].key.dir == dir && c->portmaps[i].key.proto == proto)
				pm = &c->portmaps[i].map;
	}
	if (pm) {
		unsigned ub = 0;
		while (ub < pm->n && pm->bound[ub] <= port)
			ub++;
		cls = 1 + ub;
	}
	for (size_t i = 0; i < c->nlpm; i++) {
		const struct cgp_lpm_entry *e = &c->lpm[i];
		unsigned plen = e->key.prefixlen - CGP_LPM_FIXED_BITS;

		if (e->key.dir != dir || e->key.proto != proto)
			continue;
		if (!prefix_match(addr, e->key.addr, plen))
			continue;
		if (cls && e->key.cls == cls) {
			if (!A || e->val.plen > A->val.plen)
				A = e;
		} else if (e->key.cls == 0) {
			if (!B || e->val.plen > B->val.plen)
				B = e;
		}
	}
	if (A && (!B || A->val.plen >= B->val.plen))
		return A->val.verdict;
	if (B)
		return B->val.verdict;
	return c->pol.def[dir < CGP_DIR_MAX ? dir : 0];
}
