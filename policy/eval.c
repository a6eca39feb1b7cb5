// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * eval.c - the reference evaluator: the verdict for one packet, computed
 * from a policy's compiled entries the way the BPF program does it (port
 * class, then the longest prefix with the class, with the wide-layer class
 * and with class 0, a port rule winning a tie; docs/ARCHITECTURE.md, "Per
 * packet"), by a linear scan.
 * The tests compare it with the rules (fuzz), with the kernel (tests/bpf).
 * Set rules: per set the policy uses for (dir, proto), the longest member
 * (an exclusion is a non-member), then its set rules with that prefix.
 */
#include <string.h>

#include "policy/policy.h"

static bool prefix_match(const uint8_t a[16], const uint8_t net[16], unsigned plen)
{
	unsigned full = plen / 8, rem = plen % 8;

	if (memcmp(a, net, full))
		return false;
	if (rem && ((a[full] ^ net[full]) & (uint8_t)(0xff00u >> rem)))
		return false;
	return true;
}

/* A candidate as one number, higher wins: prefix, port over portless, deny; 0: none. */
static unsigned score(const struct cgp_lpm_entry *e, unsigned plen, bool port)
{
	return e ? (plen << 3 | (unsigned)port << 2 | (e->val.verdict == CGP_DENY) << 1 | 1) : 0;
}

/* Member prefix length of addr in set `id` (longest match over setm), or -1. */
static int set_member(const struct cgp_lpm_entry *setm, size_t nsetm, uint16_t id,
		      const uint8_t addr[16])
{
	const struct cgp_lpm_entry *best = NULL;

	for (size_t i = 0; i < nsetm; i++) {
		const struct cgp_lpm_entry *e = &setm[i];
		unsigned plen = e->key.prefixlen - CGP_LPM_FIXED_BITS;

		if (e->key.dir != CGP_DIR_SET || e->key.slot != id || !prefix_match(addr, e->key.addr, plen))
			continue;
		if (!best || e->key.prefixlen > best->key.prefixlen ||
		    (e->key.prefixlen == best->key.prefixlen && !e->val.verdict))
			best = e;
	}
	return best && best->val.verdict ? best->val.plen : -1;
}

int cgp_compiled_eval(const struct cgp_compiled *c, uint8_t dir, uint8_t proto,
		      const uint8_t addr[16], uint32_t port)
{
	return cgp_compiled_eval_sets(c, NULL, 0, dir, proto, addr, port);
}

int cgp_compiled_eval_sets(const struct cgp_compiled *c, const struct cgp_lpm_entry *setm,
			   size_t nsetm, uint8_t dir, uint8_t proto, const uint8_t addr[16],
			   uint32_t port)
{
	unsigned best;
	const struct cgp_portmap *pm = NULL;
	const struct cgp_lpm_entry *A = NULL, *W = NULL, *B = NULL;
	unsigned cls = 0, wcls = 0;
	uint8_t pproto = proto;

	/* ICMPv6 has its own port (type) classes; its rules are ICMP rules */
	if (proto == CGP_PORTPROTO_ICMP6)
		proto = CGP_PROTO_ICMP;
	if ((proto == CGP_PROTO_TCP || proto == CGP_PROTO_UDP || proto == CGP_PROTO_ICMP) &&
	    port <= 0xffff) {
		for (size_t i = 0; i < c->nportmaps; i++)
			if (c->portmaps[i].key.dir == dir && c->portmaps[i].key.proto == pproto)
				pm = &c->portmaps[i].map;
	}
	if (pm) {
		cls = cgp_portmap_class(pm, port);	/* 0: no port rule covers it */
		wcls = cls >> CGP_CLS_WIDE_SHIFT;	/* the wide layer's class */
		cls &= 0xffff;
	}
	for (size_t i = 0; i < c->nlpm; i++) {
		const struct cgp_lpm_entry *e = &c->lpm[i];
		unsigned plen = e->key.prefixlen - CGP_LPM_FIXED_BITS;

		if (e->key.dir != dir || e->key.proto != proto)	/* set rules: below */
			continue;
		if (!prefix_match(addr, e->key.addr, plen))
			continue;
		if (cls && e->key.cls == cls) {
			if (!A || e->val.plen > A->val.plen)
				A = e;
		} else if (wcls && e->key.cls == wcls) {
			if (!W || e->val.plen > W->val.plen)
				W = e;
		} else if (e->key.cls == 0) {
			if (!B || e->val.plen > B->val.plen)
				B = e;
		}
	}
	/* A: best port rule, B: best portless rule; deny already won ties in compile */
	best = score(A, A ? A->val.plen : 0, true);
	if (score(W, W ? W->val.plen : 0, true) > best)
		best = score(W, W->val.plen, true);
	if (score(B, B ? B->val.plen : 0, false) > best)
		best = score(B, B->val.plen, false);
	/* set rules: each set the slot uses for (dir, proto), with the member's prefix */
	for (unsigned k = 0; dir < CGP_DIR_MAX && proto < CGP_PROTO_MAX && k < CGP_SET_REFS; k++) {
		uint16_t id = c->pol.sets[dir][proto][k];
		int plen;

		if (!id)
			break;
		plen = set_member(setm, nsetm, id, addr);
		if (plen < 0)
			continue;
		for (size_t i = 0; i < c->nlpm; i++) {
			const struct cgp_lpm_entry *e = &c->lpm[i];
			unsigned sc;

			if (e->key.dir != dir || e->key.proto != (proto | CGP_SET_RULE) ||
			    e->key.addr[0] != (id >> 8) || e->key.addr[1] != (id & 0xff) ||
			    (e->key.cls && e->key.cls != cls))
				continue;
			sc = score(e, (unsigned)plen, e->key.cls != 0);
			if (sc > best)
				best = sc;
		}
	}
	if (best)
		return (best & 2) ? CGP_DENY : CGP_ALLOW;
	return c->pol.def[dir < CGP_DIR_MAX ? dir : 0];
}
