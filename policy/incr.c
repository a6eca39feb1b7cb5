// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * incr.c - the parse of a new version of a file, re-reading only the lines
 * that changed (incr.h).
 *
 * The lines of the two versions are compared by hash: the common head and
 * tail are kept, the lines between (one hunk: a one-rule change, an insert,
 * a delete, or several edits close together) are read again. That is done
 * here only when the hunk holds nothing but allow/deny and blank lines of one
 * policy on both sides, with no set reference (those are resolved across the
 * file), and, when the line count changes, when only that policy's rules
 * follow (nothing else has line numbers to move). The hunk goes through the
 * parser's own reader and key handler (reader.c, keys.c), so its rules are
 * checked and built exactly as in a full parse; any error, and the full
 * parse runs and reports it. Everything else of the config is the old one.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "policy/incr.h"
#include "policy/parser.h"

#define CGP_LINE_HEADER	3	/* a [section] header (lines only) */
#define HUNK_MAX_RULES	256	/* beyond this, the full parse is as cheap */

static uint8_t text_kind(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r'))
		i++;
	if (i == n || s[i] == ';' || s[i] == '#')
		return CGP_LINE_BLANK;
	return s[i] == '[' ? CGP_LINE_HEADER : CGP_LINE_OTHER;
}

/* Hashes and text kinds of every line (as the reader splits them: '\n', last one may lack it). */
static int split_lines(const char *buf, size_t len, struct cgp_lines *l)
{
	size_t cap = 1024, pos = 0;

	memset(l, 0, sizeof(*l));
	l->h = malloc(cap * sizeof(*l->h));
	l->kind = malloc(cap);
	while (l->h && l->kind && pos < len) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (buf + pos)) : len - pos;

		if (l->n == cap) {
			void *h = realloc(l->h, 2 * cap * sizeof(*l->h)), *k;

			if (h)
				l->h = h;
			k = h ? realloc(l->kind, 2 * cap) : NULL;
			if (!k)
				break;
			l->kind = k;
			cap *= 2;
		}
		l->h[l->n] = cgp_hash64(buf + pos, n);
		l->kind[l->n++] = text_kind(buf + pos, n);
		pos += n + (nl ? 1 : 0);
	}
	if (pos < len || !l->h || !l->kind) {
		cgp_lines_free(l);
		return -ENOMEM;
	}
	return 0;
}

void cgp_lines_free(struct cgp_lines *l)
{
	free(l->h);
	free(l->kind);
	memset(l, 0, sizeof(*l));
}

int cgp_lines_build(const char *buf, size_t len, const struct cgp_config *cfg, struct cgp_lines *l)
{
	int err = split_lines(buf, len, l);

	for (unsigned i = 0; !err && i < cfg->npolicies; i++)
		for (unsigned k = 0; k < cfg->policies[i].nrules; k++) {
			int line = cfg->policies[i].rules[k].line;

			if (line >= 1 && (uint32_t)line <= l->n)
				l->kind[line - 1] = CGP_LINE_RULE;
		}
	return err;
}

void cgp_change_free(struct cgp_change *ch)
{
	free(ch->removed);
	free(ch->removed_ports);
	memset(ch, 0, sizeof(*ch));
}

/* allow/deny = ... or blank: what the hunk may hold on the new side. */
static bool rule_text(const char *s, size_t n)
{
	size_t k = n >= 5 && !memcmp(s, "allow", 5) ? 5 : n >= 4 && !memcmp(s, "deny", 4) ? 4 : 0;

	if (text_kind(s, n) == CGP_LINE_BLANK)
		return true;
	if (!k || memchr(s, '@', n))
		return false;	/* another key; a set reference is resolved across the file */
	while (k < n && (s[k] == ' ' || s[k] == '\t'))
		k++;
	return k < n && s[k] == '=';
}

/* The byte offset of line i (0-based) of buf. */
static size_t line_offset(const char *buf, size_t len, uint32_t i)
{
	size_t pos = 0;

	while (i-- && pos < len) {
		const char *nl = memchr(buf + pos, '\n', len - pos);

		pos = nl ? (size_t)(nl - buf) + 1 : len;
	}
	return pos;
}

/* The index of the policy whose section holds old line `a` (1-based), or -1. */
static int hunk_policy(const struct cgp_config *old, const struct cgp_lines *ol, int a)
{
	int h = a - 1;

	while (h >= 1 && ol->kind[h - 1] != CGP_LINE_HEADER)
		h--;
	for (unsigned i = 0; h >= 1 && i < old->npolicies; i++)
		if (old->policies[i].line == h)
			return (int)i;
	return -1;
}

/* Read new lines [off, end) of buf (the first is line p + 1) as rules of a copy of policy P. */
static int parse_hunk(const char *name, const char *buf, size_t off, size_t end, uint32_t p,
		      const struct cgp_policy *P, struct cgp_policy *T)
{
	struct cgp_config tc;
	struct cgp_pctx c;
	char err[256];
	int r;

	memset(&tc, 0, sizeof(tc));
	memset(&c, 0, sizeof(c));
	memset(T, 0, sizeof(*T));
	snprintf(T->name, sizeof(T->name), "%s", P->name);
	T->line = P->line;
	tc.policies = T;
	tc.npolicies = 1;
	c.name = name;
	c.buf = buf + off;
	c.len = end - off;
	c.lineno = (int)p;
	c.err = err;
	c.errlen = sizeof(err);
	c.cfg = &tc;
	c.kind = CGP_SEC_POLICY;
	snprintf(c.curhdr, sizeof(c.curhdr), "[%s]", P->name);
	r = ini_parse_stream(cgp_ini_reader, &c, cgp_ini_key, &c);
	free(c.refs);
	free(c.secs);
	return r || c.failed || c.nrefs ? -1 : 0;
}

/* The removed rules [ra, rb) of P, copied (with their ports) into ch. */
static int keep_removed(const struct cgp_policy *P, unsigned ra, unsigned rb, struct cgp_change *ch)
{
	unsigned np = 0;

	for (unsigned i = ra; i < rb; i++) {
		if (P->rules[i].set || P->rules[i].dns)
			return -1;	/* set and name rules: resolved and compiled across the file */
		np += P->rules[i].nports;
	}
	ch->removed = malloc((rb - ra + 1) * sizeof(*ch->removed));
	ch->removed_ports = malloc((np + 1) * sizeof(*ch->removed_ports));
	if (!ch->removed || !ch->removed_ports)
		return -1;
	np = 0;
	for (unsigned i = ra; i < rb; i++) {
		struct cgp_rule *r = &ch->removed[i - ra];

		*r = P->rules[i];
		if (r->nports)
			memcpy(ch->removed_ports + np, P->pranges + r->port_at,
			       r->nports * sizeof(*ch->removed_ports));
		r->port_at = np;
		np += r->nports;
	}
	for (unsigned i = 0; i < rb - ra; i++)
		ch->removed[i].ports = ch->removed[i].nports ? ch->removed_ports + ch->removed[i].port_at : NULL;
	ch->nremoved = rb - ra;
	return 0;
}

/* P's rules [ra, rb) replaced by T's, the rules after them moved by delta lines. */
static int splice(struct cgp_policy *P, unsigned ra, unsigned rb, const struct cgp_policy *T, int delta)
{
	unsigned n2 = P->nrules - (rb - ra) + T->nrules, base = P->npranges;

	if (n2 > CGP_MAX_RULES)
		return -1;	/* the full parse says so, at the right line */
	if (n2 > P->cap_rules) {
		struct cgp_rule *r = realloc(P->rules, n2 * sizeof(*r));

		if (!r)
			return -1;
		P->rules = r;
		P->cap_rules = n2;
	}
	if (P->npranges + T->npranges > P->cap_pranges) {
		unsigned cap = P->npranges + T->npranges + 64;
		struct cgp_port_range *pr = realloc(P->pranges, cap * sizeof(*pr));

		if (!pr)
			return -1;
		P->pranges = pr;
		P->cap_pranges = cap;
	}
	if (T->npranges)
		memcpy(P->pranges + base, T->pranges, T->npranges * sizeof(*T->pranges));
	P->npranges += T->npranges;
	memmove(P->rules + ra + T->nrules, P->rules + rb, (P->nrules - rb) * sizeof(*P->rules));
	for (unsigned i = ra + T->nrules; i < n2; i++)
		P->rules[i].line += delta;
	for (unsigned i = 0; i < T->nrules; i++) {
		P->rules[ra + i] = T->rules[i];
		P->rules[ra + i].port_at += base;
	}
	P->nrules = n2;
	return 0;
}

/* May the old hunk [p, p + nold) and the new one be re-read here? (kinds, text, what follows) */
static bool hunk_ok(const char *buf, size_t len, size_t off, const struct cgp_lines *ol,
		    uint32_t p, uint32_t nold, uint32_t nnew, size_t *end)
{
	size_t pos = off;

	for (uint32_t i = p; i < p + nold; i++)
		if (ol->kind[i] != CGP_LINE_BLANK && ol->kind[i] != CGP_LINE_RULE)
			return false;
	for (uint32_t i = p + nold; nold != nnew && i < ol->n; i++)
		if (ol->kind[i] != CGP_LINE_BLANK && ol->kind[i] != CGP_LINE_RULE)
			return false;	/* other lines would move: not worth the bookkeeping */
	for (uint32_t i = 0; i < nnew && pos < len; i++) {
		const char *e = memchr(buf + pos, '\n', len - pos);
		size_t n = e ? (size_t)(e - (buf + pos)) : len - pos;

		if (!rule_text(buf + pos, n))
			return false;
		pos += n + (e ? 1 : 0);
	}
	*end = pos;
	return true;
}

/* The kinds of the new lines: the old ones around the hunk, the hunk's from its rules. */
static void new_kinds(struct cgp_lines *nl, const struct cgp_lines *ol, uint32_t p, uint32_t nold,
		      uint32_t nnew, const struct cgp_policy *T)
{
	memcpy(nl->kind, ol->kind, p);
	memcpy(nl->kind + p + nnew, ol->kind + p + nold, ol->n - p - nold);
	for (unsigned i = 0; i < T->nrules; i++)
		nl->kind[T->rules[i].line - 1] = CGP_LINE_RULE;
}

/* The hunk [p, p + nold) -> [p, p + nnew) re-read into policy pi of cfg. 0, or -1. */
static int reparse(const char *name, const char *buf, size_t len, struct cgp_config *cfg,
		   const struct cgp_lines *ol, struct cgp_lines *nl, uint32_t p, uint32_t nold,
		   uint32_t nnew, struct cgp_change *ch)
{
	size_t off = line_offset(buf, len, p), end;
	int pi = hunk_policy(cfg, ol, (int)p + 1);
	struct cgp_policy *P, T;
	unsigned ra = 0, rb;
	int err = -1;

	memset(&T, 0, sizeof(T));
	if (pi < 0 || !hunk_ok(buf, len, off, ol, p, nold, nnew, &end))
		return -1;
	P = &cfg->policies[pi];
	if (P->nnames)
		return -1;	/* name rules: their names and implicit sets span the policy */
	while (ra < P->nrules && P->rules[ra].line <= (int)p)
		ra++;
	for (rb = ra; rb < P->nrules && P->rules[rb].line <= (int)(p + nold); rb++)
		;
	if (rb - ra > HUNK_MAX_RULES || parse_hunk(name, buf, off, end, p, P, &T) || T.nnames)
		goto out;
	if (T.nrules > HUNK_MAX_RULES || keep_removed(P, ra, rb, ch) ||
	    splice(P, ra, rb, &T, (int)nnew - (int)nold))
		goto out;
	new_kinds(nl, ol, p, nold, nnew, &T);
	ch->policy = (unsigned)pi;
	ch->a = (int)p + 1;
	ch->nold = (int)nold;
	ch->nnew = (int)nnew;
	ch->ra = ra;
	ch->nadded = T.nrules;
	err = 0;
out:
	free(T.rules);
	free(T.pranges);
	free(T.names);
	return err;
}

int cgp_config_parse_incr(const char *name, const char *buf, size_t len, struct cgp_config *old,
			  const struct cgp_lines *oldl, struct cgp_config *cfg, struct cgp_lines *newl,
			  struct cgp_change *ch)
{
	uint32_t p = 0, s = 0, nold, nnew;

	*cfg = *old;		/* the arrays move: old is consumed */
	memset(old, 0, sizeof(*old));
	memset(ch, 0, sizeof(*ch));
	memset(newl, 0, sizeof(*newl));
	if (!len || len > CGP_MAX_FILE_SIZE || split_lines(buf, len, newl))
		goto no;
	while (p < newl->n && p < oldl->n && newl->h[p] == oldl->h[p])
		p++;
	while (s < newl->n - p && s < oldl->n - p && newl->h[newl->n - 1 - s] == oldl->h[oldl->n - 1 - s])
		s++;
	nold = oldl->n - p - s;
	nnew = newl->n - p - s;
	if (!nold && !nnew) {
		memcpy(newl->kind, oldl->kind, oldl->n);
		ch->same = true;
	} else if (reparse(name, buf, len, cfg, oldl, newl, p, nold, nnew, ch)) {
		goto no;
	}
	cgp_config_link_ports(cfg);
	snprintf(cfg->file, sizeof(cfg->file), "%s", name);
	cfg->hash = cgp_hash64(buf, len);
	cfg->size = len;
	return 0;
no:
	cgp_config_free(cfg);
	cgp_lines_free(newl);
	cgp_change_free(ch);
	return 1;
}
