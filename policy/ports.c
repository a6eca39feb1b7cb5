// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * ports.c - the port classes of one (slot, dir, proto), as cgp_compile()
 * returns them (struct cgp_portmap), -> the entries of the port -> class LPM
 * trie the kernel looks ports up in (docs/ARCHITECTURE.md, "Port classes");
 * and the class of one port, for the reference evaluator and explain.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "policy/ports.h"

static int push(struct cgp_portlpm_entry **out, size_t *n, size_t *cap, const struct cgp_portmap_key *k,
		unsigned port, unsigned bits, unsigned cls)
{
	struct cgp_portlpm_entry *e;

	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 64;
		void *p = realloc(*out, nc * sizeof(**out));

		if (!p)
			return -ENOMEM;
		*out = p;
		*cap = nc;
	}
	e = &(*out)[(*n)++];
	memset(e, 0, sizeof(*e));
	e->key.prefixlen = CGP_PORTLPM_FIXED_BITS + bits;
	e->key.slot = k->slot;
	e->key.dir = k->dir;
	e->key.proto = k->proto;
	e->key.port[0] = (uint8_t)(port >> 8);
	e->key.port[1] = (uint8_t)port;
	e->val.cls = cls;
	return 0;
}

/*
 * The port trie of one portmap: the fewest entries we cheaply find, using
 * that the longest prefix wins. Over the binary trie of the 16 port bits,
 * from the top: a block inside one interval needs an entry only if its value
 * differs from what an enclosing entry gives (inherited); a block spanning
 * several intervals gets an entry with the value covering most of its ports
 * (if that differs from the inherited one), and its halves are done the same
 * way. A wide range with thousands of single ports inside then costs a few
 * blocks plus one entry per single port, not the blocks of every gap between
 * them. Value 0 (no class) is what a miss gives: at the top nothing is
 * inherited but 0, and a 0 entry appears only under an enclosing non-0 one.
 */
struct blocks {
	const struct cgp_portmap_key *key;
	struct cgp_portlpm_entry **out;
	size_t *n, *cap;
	unsigned m;		/* non-empty intervals: */
	uint32_t *lo, *val;	/* their first port, their value */
	/* the weight of each value in one block: open addressing, a stamp per use */
	uint32_t *hkey, *hstamp, stamp, hmask;
	uint64_t *hw;
};

/* The interval holding port (bisection over the first ports). */
static unsigned find_iv(const struct blocks *b, unsigned port)
{
	unsigned lo = 0, hi = b->m;

	while (hi - lo > 1) {
		unsigned mid = lo + (hi - lo) / 2;

		if (b->lo[mid] <= port)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/* The value covering most ports of [blo, bhi] (intervals i..j); on a tie the inherited one
 * (no entry needed), else the first in port order. */
static uint32_t majority(struct blocks *b, unsigned i, unsigned j, unsigned blo, unsigned bhi,
			 uint32_t inh)
{
	uint64_t bestw = 0, inhw = 0;
	uint32_t best = 0;

	b->stamp++;
	for (unsigned k = i; k <= j; k++) {
		unsigned s = b->lo[k] > blo ? b->lo[k] : blo;
		unsigned e = k + 1 < b->m ? b->lo[k + 1] - 1 : 65535;
		unsigned h = (b->val[k] * 2654435761u) & b->hmask;

		if (e > bhi)
			e = bhi;
		while (b->hstamp[h] == b->stamp && b->hkey[h] != b->val[k])
			h = (h + 1) & b->hmask;
		if (b->hstamp[h] != b->stamp) {
			b->hstamp[h] = b->stamp;
			b->hkey[h] = b->val[k];
			b->hw[h] = 0;
		}
		b->hw[h] += e - s + 1;
		if (b->val[k] == inh)
			inhw = b->hw[h];
		if (b->hw[h] > bestw) {
			bestw = b->hw[h];
			best = b->val[k];
		}
	}
	return inhw == bestw ? inh : best;
}

static int block(struct blocks *b, unsigned lo, unsigned bits, uint32_t inh)
{
	unsigned hi = lo + (1u << (16 - bits)) - 1, i = find_iv(b, lo), j = find_iv(b, hi);
	uint32_t v = i == j ? b->val[i] : majority(b, i, j, lo, hi, inh);

	if (v != inh && push(b->out, b->n, b->cap, b->key, lo, bits, v))
		return -ENOMEM;
	if (i == j)
		return 0;
	if (block(b, lo, bits + 1, v) || block(b, lo + (1u << (15 - bits)), bits + 1, v))
		return -ENOMEM;
	return 0;
}

int cgp_port_blocks(const struct cgp_portmap_entry *pm, struct cgp_portlpm_entry **out,
		    size_t *n, size_t *cap)
{
	const struct cgp_portmap *m = &pm->map;
	struct blocks b = { .key = &pm->key, .out = out, .n = n, .cap = cap };
	unsigned hsize = 4;
	int ret = -ENOMEM;

	while (hsize < 2 * (m->n + 1))
		hsize *= 2;
	b.lo = malloc((m->n + 1) * sizeof(*b.lo));
	b.val = malloc((m->n + 1) * sizeof(*b.val));
	b.hkey = malloc(hsize * sizeof(*b.hkey));
	b.hstamp = calloc(hsize, sizeof(*b.hstamp));
	b.hw = malloc(hsize * sizeof(*b.hw));
	b.hmask = hsize - 1;
	if (!b.lo || !b.val || !b.hkey || !b.hstamp || !b.hw)
		goto out;
	/* interval i is [bound[i-1], bound[i]) with bound[-1] = 0, bound[n] = 65536 */
	for (unsigned i = 0; i <= m->n; i++) {
		unsigned lo = i ? m->bound[i - 1] : 0;

		if (i < m->n && m->bound[i] <= lo)
			continue;	/* empty */
		b.lo[b.m] = lo;
		b.val[b.m++] = m->cls[i];
	}
	ret = b.m ? block(&b, 0, 0, 0) : 0;
out:
	free(b.lo);
	free(b.val);
	free(b.hkey);
	free(b.hstamp);
	free(b.hw);
	return ret;
}

unsigned cgp_portmap_class(const struct cgp_portmap *m, unsigned port)
{
	unsigned lo = 0, hi = m->n;

	/* the number of bounds <= port, by bisection: that interval's class */
	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;

		if (m->bound[mid] <= port)
			lo = mid + 1;
		else
			hi = mid;
	}
	return port > 0xffff ? 0 : m->cls[lo];
}
