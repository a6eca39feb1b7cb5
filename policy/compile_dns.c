// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * compile_dns.c - the cgp_dnsnames entries of a policy's name rules
 * (bpf/dns.h): one per distinct pattern, keyed by its reversed bytes.
 *
 * The kernel takes the longest match only, so an entry lists its own sets
 * and those of every shorter wildcard covering it: `*.example.com` covers
 * `api.example.com` and `*.eu.example.com`. The wildcards covering a pattern
 * are its suffixes at label boundaries, looked up in the sorted patterns,
 * so the cost is (patterns x labels x log patterns), not quadratic.
 */
#include <stdlib.h>
#include <string.h>

#include "policy/compile.h"
#include "policy/fileline.h"

struct pat {
	uint8_t key[CGP_DNS_NAME_MAX + 1];
	unsigned len;			/* bytes of key in use */
	const struct cgp_dnsname *nm;	/* the first rule's */
	uint16_t own[CGP_SET_REFS * CGP_DIR_MAX * 4];	/* the sets of its own rules */
	unsigned nown;
};

static int pat_cmp(const void *pa, const void *pb)
{
	const struct pat *a = pa, *b = pb;
	unsigned n = a->len < b->len ? a->len : b->len;

	return memcmp(a->key, b->key, n) ?: (a->len > b->len) - (a->len < b->len);
}

static void add_id(uint16_t *l, unsigned *n, unsigned max, uint16_t id)
{
	for (unsigned i = 0; i < *n; i++)
		if (l[i] == id)
			return;
	if (*n < max)
		l[(*n)++] = id;
}

/* The distinct patterns of p, sorted, each with the sets of its rules. */
static struct pat *collect(const struct cgp_policy *p, unsigned *np)
{
	struct pat *v = calloc(p->nnames ? p->nnames : 1, sizeof(*v)), key;
	unsigned n = 0;

	if (!v)
		return NULL;
	for (unsigned i = 0; i < p->nrules; i++) {
		const struct cgp_rule *r = &p->rules[i];
		const struct cgp_dnsname *nm;
		struct pat *f;

		if (!r->dns || r->dns > p->nnames)
			continue;
		nm = &p->names[r->dns - 1];
		key.len = cgp_dns_key_bytes(nm->name, nm->wild, key.key);
		f = NULL;
		for (unsigned k = 0; k < n && !f; k++)	/* rules of one name are few: linear */
			if (!pat_cmp(&v[k], &key))
				f = &v[k];
		if (!f) {
			f = &v[n++];
			memcpy(f->key, key.key, sizeof(key.key));
			f->len = key.len;
			f->nm = nm;
		}
		add_id(f->own, &f->nown, sizeof(f->own) / sizeof(f->own[0]), r->set_id);
	}
	qsort(v, n, sizeof(*v), pat_cmp);
	*np = n;
	return v;
}

/* The entry of pattern i: its sets, then those of the wildcards that cover it. */
static int entry(struct comp *s, const struct pat *v, unsigned n, unsigned i,
		 struct cgp_dnsname_entry *e)
{
	const struct pat *pt = &v[i];
	uint16_t all[CGP_DNS_SETS + 1];
	unsigned na = 0;

	for (unsigned k = 0; k < pt->nown; k++)
		add_id(all, &na, CGP_DNS_SETS + 1, pt->own[k]);
	/* covering wildcards: the key up to each '.' (shorter than the whole) */
	for (unsigned l = 1; l < pt->len; l++) {
		struct pat key;
		const struct pat *w;

		if (pt->key[l - 1] != '.')
			continue;
		memset(key.key, 0, sizeof(key.key));
		memcpy(key.key, pt->key, l);
		key.len = l;
		w = bsearch(&key, v, n, sizeof(*v), pat_cmp);
		for (unsigned k = 0; w && w != pt && k < w->nown; k++)
			add_id(all, &na, CGP_DNS_SETS + 1, w->own[k]);
	}
	if (na > CGP_DNS_SETS)
		return cgp_comp_fail(s, pt->nm->line, "DNS name '%s' is in more than %d address sets "
				     "(one per distinct direction, protocol and port list of its rules "
				     "and of the wildcards covering it): merge their port lists",
				     pt->nm->name, CGP_DNS_SETS);
	memset(e, 0, sizeof(*e));
	e->key.prefixlen = CGP_DNSNAME_FIXED_BITS + 8 * pt->len;
	e->key.slot = s->slot;
	memcpy(e->key.name, pt->key, pt->len);
	e->val.line = (uint32_t)pt->nm->line;
	memcpy(e->val.sets, all, na * sizeof(all[0]));
	return 0;
}

int cgp_compile_dns(const char *file, const struct cgp_policy *p, uint16_t slot,
		    struct cgp_compiled *out, char *err, size_t errlen)
{
	struct comp s = { .file = file, .p = p, .slot = slot, .out = out, .err = err,
			  .errlen = errlen };
	unsigned n = 0;
	struct pat *v;

	free(out->dns);
	out->dns = NULL;
	out->ndns = 0;
	if (!p->nnames)
		return 0;
	v = collect(p, &n);
	out->dns = calloc(n ? n : 1, sizeof(*out->dns));
	if (!v || !out->dns) {
		free(v);
		return cgp_comp_oom(&s);
	}
	for (unsigned i = 0; i < n; i++) {
		if (entry(&s, v, n, i, &out->dns[i])) {
			free(v);
			free(out->dns);
			out->dns = NULL;
			return -1;
		}
	}
	out->ndns = n;
	free(v);
	return 0;
}
