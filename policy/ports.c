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

/* Split [lo, hi] (inclusive, within 0..65535) into aligned blocks. */
static int split(struct cgp_portlpm_entry **out, size_t *n, size_t *cap, const struct cgp_portmap_key *k,
		 unsigned lo, unsigned hi, unsigned cls)
{
	while (lo <= hi) {
		unsigned size = 1, bits = 16;

		/* the largest block aligned at lo that stays within [lo, hi] */
		while (bits > 0 && !(lo & size) && lo + size * 2 - 1 <= hi) {
			size *= 2;
			bits--;
		}
		if (push(out, n, cap, k, lo, bits, cls))
			return -ENOMEM;
		if (lo + size > 65535)
			break;
		lo += size;
	}
	return 0;
}

int cgp_port_blocks(const struct cgp_portmap_entry *pm, struct cgp_portlpm_entry **out,
		    size_t *n, size_t *cap)
{
	const struct cgp_portmap *m = &pm->map;

	/* interval i is [bound[i-1], bound[i]) with bound[-1] = 0, bound[n] = 65536 */
	for (unsigned i = 0; i <= m->n; i++) {
		unsigned lo = i ? m->bound[i - 1] : 0;
		unsigned hi = i < m->n ? (unsigned)m->bound[i] - 1 : 65535;

		if (!m->cls[i] || (i < m->n && m->bound[i] <= lo))
			continue;	/* no class (no entry: a miss), or empty */
		if (split(out, n, cap, &pm->key, lo, hi, m->cls[i]))
			return -ENOMEM;
	}
	return 0;
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
