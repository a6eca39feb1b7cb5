// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * eval.c - the reference evaluator: the verdict for one packet, computed
 * from a policy's compiled entries the way the BPF program does it (port
 * class, then the longest prefix with the class and with class 0, a port
 * rule winning a tie; docs/ARCHITECTURE.md, "Per packet"), by a linear scan.
 * The tests compare it with the rules (fuzz), with the kernel (tests/bpf).
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

int cgp_compiled_eval(const struct cgp_compiled *c, uint8_t dir, uint8_t proto,
		      const uint8_t addr[16], uint32_t port)
{
	const struct cgp_portmap *pm = NULL;
	const struct cgp_lpm_entry *A = NULL, *B = NULL;
	unsigned cls = 0, base = proto == CGP_PORTPROTO_ICMP6 ? CGP_ICMP6_CLS_BASE : 0;
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
		unsigned ub = 0;
		while (ub < pm->n && pm->bound[ub] <= port)
			ub++;
		cls = base + 1 + ub;
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
	/* A: best port rule, B: best portless rule; deny already won ties in compile */
	if (A && (!B || A->val.plen >= B->val.plen))
		return A->val.verdict;
	if (B)
		return B->val.verdict;
	return c->pol.def[dir < CGP_DIR_MAX ? dir : 0];
}
