// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * ports.c - the sorted port boundaries of one (slot, dir, proto), as
 * cgp_compile() returns them, -> the entries of the port -> class LPM trie
 * the kernel looks ports up in (docs/ARCHITECTURE.md, "Port classes").
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
	unsigned lo = 0, nb = pm->map.n > CGP_MAX_PORT_BOUNDS ? CGP_MAX_PORT_BOUNDS : pm->map.n;
	unsigned base = pm->key.proto == CGP_PORTPROTO_ICMP6 ? CGP_ICMP6_CLS_BASE : 0;

	/* class of p = 1 + number of bounds <= p */
	for (unsigned i = 0; i <= nb; i++) {
		unsigned hi = i < nb ? (unsigned)pm->map.bound[i] - 1 : 65535;

		if (i < nb && pm->map.bound[i] == 0)
			continue;	/* empty interval */
		if (hi >= lo && split(out, n, cap, &pm->key, lo, hi, base + i + 1))
			return -ENOMEM;
		if (i < nb)
			lo = pm->map.bound[i];
	}
	return 0;
}
