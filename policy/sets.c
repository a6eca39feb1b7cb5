// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * sets.c - named address sets: [set NAME] sections (address = CIDR,
 * !CIDR, @OTHER; dynamic = yes), @NAME in rules, the checks across
 * sections (unknown names, cycles, limits) and the flattened members
 * (docs/POLICY.md "Address sets", docs/ARCHITECTURE.md "Address sets").
 *
 * Membership of an address is its longest-prefix match over the set's
 * entries, its own and those of the sets it includes: a member matches
 * with its prefix, an exclusion is a longer non-match, and at an equal
 * prefix an exclusion wins. So an included set's member longer than an
 * exclusion of the including set is a member again.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/parser.h"

int cgp_config_find_set(const struct cgp_config *cfg, const char *name)
{
	for (unsigned i = 0; i < cfg->nsets; i++)
		if (!strcmp(cfg->sets[i].name, name))
			return (int)i;
	return -1;
}

void cgp_config_set_ids(struct cgp_config *cfg)
{
	for (unsigned i = 0; i < cfg->npolicies; i++) {
		struct cgp_policy *p = &cfg->policies[i];

		for (unsigned j = 0; j < p->nrules; j++)
			if (p->rules[j].set && p->rules[j].set <= cfg->nsets)
				p->rules[j].set_id = cfg->sets[p->rules[j].set - 1].id;
	}
}

/* ------------------------------------------------------------------ parsing */

int cgp_set_start(struct cgp_pctx *c, int line, const char *name)
{
	struct cgp_config *cfg = c->cfg;
	struct cgp_set *s;

	if (cfg->nsets >= CGP_MAX_SETS) {
		cgp_perr(c, line, "too many set sections (max %d)", CGP_MAX_SETS);
		return -1;
	}
	s = cgp_grow(c, line, cfg->sets, cfg->nsets, &c->cap_sets, 4, UINT_MAX, sizeof(*s));
	if (!s)
		return -1;
	cfg->sets = s;
	s = &s[cfg->nsets];
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->line = line;
	c->cur = cfg->nsets++;
	return 0;
}

static int add_member(struct cgp_pctx *c, int line, struct cgp_set *s, const char *value)
{
	struct cgp_set_member *m;
	bool exclude = value[0] == '!', v4;
	char msg[256];

	if (s->n >= CGP_MAX_SET_ENTRIES) {
		cgp_perr(c, line, "[set %s] has more than %u addresses", s->name, CGP_MAX_SET_ENTRIES);
		return -1;
	}
	m = cgp_grow(c, line, s->m, s->n, &s->cap, 8, CGP_MAX_SET_ENTRIES, sizeof(*m));
	if (!m)
		return -1;
	s->m = m;
	m = &m[s->n];
	memset(m, 0, sizeof(*m));
	if (cgp_dns_looks_like_name(value + exclude)) {
		cgp_perr(c, line, "bad set member '%s': DNS names are not set members (write the "
			 "name in a rule instead: allow = out tcp %s port 443)", value, value + exclude);
		return -1;
	}
	if (cgp_parse_addr_msg(value + exclude, m->addr, &m->plen, &v4, msg, sizeof(msg)) < 0) {
		cgp_perr(c, line, "bad set member '%s': %s (expected CIDR, !CIDR or @SET)", value, msg);
		return -1;
	}
	cgp_mask_addr(m->addr, m->plen);
	m->exclude = exclude;
	m->line = line;
	s->n++;
	return 0;
}

static int add_include(struct cgp_pctx *c, int line, struct cgp_set *s, const char *value)
{
	struct cgp_set_inc *inc;

	if (!cgp_valid_name(value + 1)) {
		cgp_perr(c, line, "bad set name '%s' (@ then 1-%d of A-Z a-z 0-9 _ . -)", value,
			 CGP_NAME_MAX);
		return -1;
	}
	inc = cgp_grow(c, line, s->inc, s->ninc, &s->capinc, 4, CGP_MAX_SETS, sizeof(*inc));
	if (!inc)
		return -1;
	s->inc = inc;
	inc = &inc[s->ninc++];
	memset(inc, 0, sizeof(*inc));
	snprintf(inc->name, sizeof(inc->name), "%s", value + 1);
	inc->line = line;
	return 0;
}

int cgp_set_key(struct cgp_pctx *c, int line, const char *key, const char *value)
{
	struct cgp_set *s = &c->cfg->sets[c->cur];
	int v;

	if (!strcmp(key, "address"))
		return value[0] == '@' ? add_include(c, line, s, value) : add_member(c, line, s, value);
	if (strcmp(key, "dynamic")) {
		cgp_perr(c, line, "unknown key '%s' in %s (address, dynamic)", key, c->curhdr);
		return -1;
	}
	if (c->seen[0]) {
		cgp_perr(c, line, "duplicate key 'dynamic' in %s (first at line %d)", c->curhdr,
			 c->seen[0]);
		return -1;
	}
	c->seen[0] = line;
	if (cgp_parse_word(value, cgp_bool_words, &v) < 0) {
		cgp_perr(c, line, "bad dynamic '%s' (yes, no, true, false, on, off, 1 or 0)", value);
		return -1;
	}
	s->dynamic = v;
	return 0;
}

void cgp_finish_set(struct cgp_pctx *c)
{
	const struct cgp_set *s = &c->cfg->sets[c->cur];
	unsigned members = 0;

	for (unsigned i = 0; i < s->n; i++)
		members += !s->m[i].exclude;
	if (!s->dynamic && !members && !s->ninc)
		cgp_perr(c, s->line, "[set %s] is empty: a static set needs a member (address = CIDR "
			 "or @SET); dynamic = yes for a set filled at run time", s->name);
}

int cgp_parse_set_ref(struct cgp_pctx *c, int line, const char *tok, struct cgp_rule *r)
{
	struct cgp_set_ref *ref;

	if (!cgp_valid_name(tok + 1)) {
		cgp_perr(c, line, "bad set name '%s' (@ then 1-%d of A-Z a-z 0-9 _ . -)", tok,
			 CGP_NAME_MAX);
		return -1;
	}
	ref = cgp_grow(c, line, c->refs, c->nrefs, &c->caprefs, 16, UINT_MAX, sizeof(*ref));
	if (!ref)
		return -1;
	c->refs = ref;
	ref = &ref[c->nrefs++];
	ref->policy = c->cur;
	ref->rule = (unsigned)(r - c->cfg->policies[c->cur].rules);
	ref->line = line;
	snprintf(ref->name, sizeof(ref->name), "%s", tok + 1);
	r->set = UINT16_MAX;	/* resolved by cgp_check_sets */
	return 0;
}

/* ------------------------------------------------------------------ checks */

/*
 * Depth-first walk of the includes from set i; state: 0 new, 1 on the
 * stack, 2 done. A set met again while on the stack closes a cycle: the
 * error names it, from the first set on the stack that is in it.
 */
static bool find_cycle(struct cgp_pctx *c, unsigned i, unsigned char *state, unsigned *stack,
		       unsigned depth)
{
	const struct cgp_config *cfg = c->cfg;
	const struct cgp_set *s = &cfg->sets[i];

	state[i] = 1;
	stack[depth] = i;
	for (unsigned k = 0; k < s->ninc; k++) {
		unsigned j = s->inc[k].idx;

		if (state[j] == 1) {
			char path[1024] = "";
			size_t len = 0;
			unsigned from = 0;

			while (stack[from] != j)
				from++;
			for (unsigned d = from; d <= depth && len < sizeof(path); d++)
				len += (size_t)snprintf(path + len, sizeof(path) - len, "%s -> ",
							cfg->sets[stack[d]].name);
			if (len < sizeof(path))
				snprintf(path + len, sizeof(path) - len, "%s", cfg->sets[j].name);
			cgp_perr(c, s->inc[k].line, "set '%s' includes itself: %s", cfg->sets[j].name,
				 path);
			return true;
		}
		if (!state[j] && find_cycle(c, j, state, stack, depth + 1))
			return true;
	}
	state[i] = 2;
	return false;
}

/* Includes resolved; a static set may include only static sets. */
static void resolve_includes(struct cgp_pctx *c)
{
	struct cgp_config *cfg = c->cfg;

	for (unsigned i = 0; i < cfg->nsets && !c->failed; i++) {
		struct cgp_set *s = &cfg->sets[i];

		for (unsigned k = 0; k < s->ninc && !c->failed; k++) {
			int j = cgp_config_find_set(cfg, s->inc[k].name);

			if (j < 0)
				cgp_perr(c, s->inc[k].line, "unknown set '@%s' (no [set %s] section)",
					 s->inc[k].name, s->inc[k].name);
			else if (cfg->sets[j].dynamic)
				cgp_perr(c, s->inc[k].line, "[set %s] cannot include dynamic set '@%s' "
					 "(its members change at run time)", s->name, s->inc[k].name);
			else
				s->inc[k].idx = (unsigned)j;
		}
	}
}

/* The rules' @NAME resolved to sets. */
static void resolve_refs(struct cgp_pctx *c)
{
	struct cgp_config *cfg = c->cfg;

	for (unsigned i = 0; i < c->nrefs && !c->failed; i++) {
		const struct cgp_set_ref *ref = &c->refs[i];
		int j = cgp_config_find_set(cfg, ref->name);

		if (j < 0) {
			cgp_perr(c, ref->line, "unknown set '@%s' (no [set %s] section)", ref->name,
				 ref->name);
			return;
		}
		cfg->policies[ref->policy].rules[ref->rule].set = (uint16_t)(j + 1);
	}
}

/* At most CGP_SET_REFS distinct sets per (policy, dir, proto). */
static void check_refs_limit(struct cgp_pctx *c, const struct cgp_policy *p)
{
	uint16_t used[CGP_DIR_MAX][CGP_PROTO_MAX][CGP_SET_REFS + 1];
	unsigned n[CGP_DIR_MAX][CGP_PROTO_MAX] = {};

	for (unsigned i = 0; i < p->nrules && !c->failed; i++) {
		const struct cgp_rule *r = &p->rules[i];

		if (!r->set)
			continue;
		for (int d = 0; d < CGP_DIR_MAX; d++) {
			for (int pr = 0; pr < CGP_PROTO_MAX; pr++) {
				unsigned k;

				if (!(r->dirs & CGP_DIR_BIT(d)) ||
				    (r->proto != pr && r->proto != CGP_RULE_PROTO_ANY))
					continue;
				for (k = 0; k < n[d][pr] && used[d][pr][k] != r->set; k++)
					;
				if (k < n[d][pr])
					continue;
				if (n[d][pr] == CGP_SET_REFS) {
					cgp_perr(c, r->line, "[%s] uses more than %d sets for %s %s rules "
						 "(the limit per direction and protocol%s)", p->name,
						 CGP_SET_REFS, d == CGP_DIR_IN ? "in" : "out",
						 cgp_proto_str((uint8_t)pr), r->dns ? "; name rules "
						 "use one set per distinct direction, protocol and port "
						 "list: merge their port lists" : "");
					return;
				}
				used[d][pr][n[d][pr]++] = r->set;
			}
		}
	}
}

void cgp_check_sets(struct cgp_pctx *c)
{
	struct cgp_config *cfg = c->cfg;
	unsigned char *state;
	unsigned *stack;

	resolve_refs(c);
	resolve_includes(c);
	if (c->failed || !cfg->nsets)
		return;
	state = calloc(cfg->nsets, 1);
	stack = calloc(cfg->nsets, sizeof(*stack));
	if (!state || !stack) {
		cgp_perr(c, 0, "out of memory");
	} else {
		for (unsigned i = 0; i < cfg->nsets && !c->failed; i++)
			if (!state[i])
				find_cycle(c, i, state, stack, 0);
	}
	free(state);
	free(stack);
	for (unsigned i = 0; i < cfg->npolicies && !c->failed; i++)
		check_refs_limit(c, &cfg->policies[i]);
	for (unsigned i = 0; i < cfg->nsets; i++)
		cfg->sets[i].id = (uint16_t)((cfg->sets[i].dynamic ? CGP_SET_DYNAMIC : 0) | (i + 1));
	cgp_config_set_ids(cfg);
}

/* ------------------------------------------------------------------ members */

struct flat {
	struct cgp_set_member *m;
	size_t n, cap;
	unsigned char *seen;
};

static int collect(const struct cgp_config *cfg, unsigned idx, struct flat *f)
{
	const struct cgp_set *s = &cfg->sets[idx];

	if (f->seen[idx])
		return 0;
	f->seen[idx] = 1;
	if (f->n + s->n > f->cap) {
		size_t ncap = (f->n + s->n) * 2 + 16;
		struct cgp_set_member *m = realloc(f->m, ncap * sizeof(*m));

		if (!m)
			return -ENOMEM;
		f->m = m;
		f->cap = ncap;
	}
	if (s->n)
		memcpy(f->m + f->n, s->m, s->n * sizeof(*s->m));
	f->n += s->n;
	for (unsigned k = 0; k < s->ninc; k++)
		if (s->inc[k].idx < cfg->nsets && collect(cfg, s->inc[k].idx, f))
			return -ENOMEM;
	return 0;
}

/* (plen, addr, exclusion first, line) */
static int member_cmp(const void *pa, const void *pb)
{
	const struct cgp_set_member *a = pa, *b = pb;

	if (a->plen != b->plen)
		return a->plen < b->plen ? -1 : 1;
	return memcmp(a->addr, b->addr, 16) ?: (int)b->exclude - (int)a->exclude ?:
	       (a->line > b->line) - (a->line < b->line);
}

int cgp_set_flatten(const struct cgp_config *cfg, unsigned idx, struct cgp_lpm_entry **out,
		    size_t *n)
{
	struct flat f = { .seen = calloc(cfg->nsets ? cfg->nsets : 1, 1) };
	struct cgp_lpm_entry *e = NULL;
	size_t k = 0;
	int err = -ENOMEM;

	*out = NULL;
	*n = 0;
	if (!f.seen || collect(cfg, idx, &f))
		goto out;
	if (f.n)
		qsort(f.m, f.n, sizeof(*f.m), member_cmp);
	e = calloc(f.n ? f.n : 1, sizeof(*e));
	if (!e)
		goto out;
	for (size_t i = 0; i < f.n; i++) {
		const struct cgp_set_member *m = &f.m[i];

		if (k && e[k - 1].val.plen == m->plen && !memcmp(e[k - 1].key.addr, m->addr, 16))
			continue;	/* the same prefix: the first (the exclusion) wins */
		e[k].key.prefixlen = CGP_LPM_FIXED_BITS + m->plen;
		e[k].key.dir = CGP_DIR_SET;
		e[k].key.slot = cfg->sets[idx].id;
		memcpy(e[k].key.addr, m->addr, 16);
		e[k].val.verdict = !m->exclude;
		e[k].val.plen = m->plen;
		e[k].val.line = (uint32_t)m->line;
		k++;
	}
	*out = e;
	*n = k;
	e = NULL;
	err = 0;
out:
	free(e);
	free(f.m);
	free(f.seen);
	return err;
}

int cgp_static_sets(const struct cgp_config *cfg, struct cgp_lpm_entry **out, size_t *n)
{
	for (unsigned i = 0; i < cfg->nsets; i++) {
		struct cgp_lpm_entry *e, *all;
		size_t ne;

		if (cfg->sets[i].dynamic)
			continue;
		if (cgp_set_flatten(cfg, i, &e, &ne))
			return -ENOMEM;
		all = realloc(*out, (*n + ne + 1) * sizeof(*all));
		if (!all) {
			free(e);
			return -ENOMEM;
		}
		memcpy(all + *n, e, ne * sizeof(*e));
		*out = all;
		*n += ne;
		free(e);
	}
	return 0;
}
