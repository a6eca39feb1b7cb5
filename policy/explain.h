/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * explain.h - why a policy decides a packet the way it does: the deciding
 * rule (or the default) and the precedence step that chose it
 * (docs/POLICY.md, "Precedence"). One function, cgp_decide(), over two
 * lookups that answer like the kernel's maps do: the port class of a port,
 * the longest-prefix rule entry of a class. cgp_compiled_lookup() answers
 * them from a compiled policy (what a file would do); the agent answers
 * them from the pinned maps of the live generation (what the kernel does).
 *
 * New precedence steps (address sets, ICMP types ...) add a value to enum
 * cgp_why and, where they need it, a field to struct cgp_decision.
 */
#ifndef CGP_POLICY_EXPLAIN_H
#define CGP_POLICY_EXPLAIN_H

#include <stdbool.h>
#include <stdint.h>

#include "policy/policy.h"

enum cgp_why {
	CGP_WHY_DEFAULT = 0,	/* no rule matches: the direction's default */
	CGP_WHY_PREFIX,		/* the longest matching prefix */
	CGP_WHY_PORT,		/* equal prefix: the rule with ports over the portless one */
	CGP_WHY_TIE_DENY,	/* equal prefix, both with or both without ports: deny wins */
};

/* One candidate: the longest-prefix entry of a port class (or of class 0). */
struct cgp_cand {
	bool found;
	uint8_t verdict;
	uint8_t plen;		/* 0..128, IPv4 as 96 + n */
	uint32_t line;
};

struct cgp_decision {
	uint8_t verdict;
	uint32_t line;		/* the deciding rule's line; 0: the default */
	uint8_t plen;		/* its prefix (0..128, IPv4 as 96 + n) */
	bool port_rule;		/* it has ports */
	enum cgp_why why;
	uint32_t cls;		/* the port's class, 0: no port rule covers it */
	struct cgp_cand with_port, portless;	/* the two lookups */
	uint32_t tie_line;	/* CGP_WHY_TIE_DENY: an allow rule that lost the tie */
};

struct cgp_lookup {
	void *ctx;
	/* port class of (dir, proto, port): 0 and *cls, or -1 when none */
	int (*port_class)(void *ctx, uint8_t dir, uint8_t proto, uint16_t port, uint32_t *cls);
	/* longest-prefix entry of (dir, proto, cls) containing addr: 0, or -1 when none */
	int (*rule)(void *ctx, uint8_t dir, uint8_t proto, uint32_t cls, const uint8_t addr[16],
		    struct cgp_lpm_val *val);
};

/*
 * The decision of one policy for a packet of direction dir (TCP: the
 * direction of the connection), protocol proto (CGP_PROTO_*), remote address
 * addr (IPv4 as v4-mapped) and service port (0: none). def: the policy's
 * default verdicts. pol: its rules, when known, to name the rule a deny won
 * a tie against (NULL: the tie is not looked for). 0, or -1 on a lookup error.
 */
int cgp_decide(const struct cgp_lookup *lk, const uint8_t def[CGP_DIR_MAX], const struct cgp_policy *pol,
	       uint8_t dir, uint8_t proto, const uint8_t addr[16], uint16_t port, struct cgp_decision *d);

/* A lookup over compiled entries (cgp_compile's output). */
struct cgp_lookup cgp_compiled_lookup(const struct cgp_compiled *c);

/* "longest prefix", "port rule over portless", "deny on a tie", "default". */
const char *cgp_why_str(enum cgp_why w);

#endif
