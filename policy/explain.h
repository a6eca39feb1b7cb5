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
 * Address sets: per set the rules of (dir, proto) use, one membership
 * lookup, then its set rules with the member's prefix (cgp_eval's order and
 * scoring). ICMP: the port is type << 8 | code, ICMPv6 with its own classes.
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
	CGP_WHY_SET_MEMBER,	/* a set rule, by the prefix of the member that matched */
	CGP_WHY_SET_EXCLUDED,	/* a set rule would apply, an exclusion made the address a non-member */
};

/* One candidate: the longest-prefix entry of a port class (or of class 0). */
struct cgp_cand {
	bool found;
	uint8_t verdict;
	uint8_t plen;		/* 0..128, IPv4 as 96 + n (set rules: the member's) */
	uint32_t line;
};

/* The entry of a set that matched an address (the longest; an exclusion wins a tie). */
struct cgp_set_match {
	bool found;		/* a member or an exclusion matched */
	bool member;		/* a member; false: an exclusion (not a member) */
	bool dynamic;		/* the set is dynamic (cgp_dsets) */
	uint8_t plen;		/* the entry's prefix (0..128, IPv4 as 96 + n) */
	uint32_t line;		/* its line in the file; 0: `cgpolicy set add` */
	int64_t expires_in;	/* dynamic, timed: seconds left; -1: no timeout */
	unsigned expired;	/* expired entries skipped before it (live, dynamic) */
};

/* One set the policy's rules of (dir, proto) use (cgp_pol.sets). */
struct cgp_set_cand {
	uint16_t id;
	struct cgp_set_match m;
	struct cgp_cand with_port, portless;	/* its set rules (looked up even when not a member) */
};

struct cgp_decision {
	uint8_t verdict;
	uint32_t line;		/* the deciding rule's line; 0: the default */
	uint8_t plen;		/* its prefix (0..128, IPv4 as 96 + n; set rule: the member's) */
	bool port_rule;		/* it has ports */
	enum cgp_why why;
	uint32_t cls;		/* the port's class, 0: no port rule covers it */
	struct cgp_cand with_port, portless;	/* the two address lookups */
	uint32_t tie_line;	/* CGP_WHY_TIE_DENY: an allow rule that lost the tie */
	struct cgp_cand other;	/* the best candidate that lost (found: there was one) */
	int other_set;		/* index in sets[] of the loser's set; -1: an address rule */
	unsigned nsets;
	struct cgp_set_cand sets[CGP_SET_REFS];
	int set;		/* index in sets[] of the deciding set rule; -1: none */
	int excluded;		/* index in sets[] of a set whose exclusion skipped an applicable set rule; -1 */
	enum cgp_why then;	/* CGP_WHY_SET_EXCLUDED: the step that then decided */
};

struct cgp_lookup {
	void *ctx;
	/* port class of (dir, port proto, port): 0 and *cls, or -1 when none. The
	 * port proto of ICMPv6 is CGP_PORTPROTO_ICMP6 (its classes above CGP_ICMP6_CLS_BASE) */
	int (*port_class)(void *ctx, uint8_t dir, uint8_t proto, uint16_t port, uint32_t *cls);
	/* longest-prefix entry of (dir, proto, cls) containing addr: 0, or -1 when none
	 * (set rules: proto | CGP_SET_RULE, addr the set id in bytes 0..1, the rest 0) */
	int (*rule)(void *ctx, uint8_t dir, uint8_t proto, uint32_t cls, const uint8_t addr[16],
		    struct cgp_lpm_val *val);
	/* membership of addr in set id, as the BPF program looks it up (expired members
	 * skipped): *m (m->found false: no entry). 0, or -1 on error */
	int (*member)(void *ctx, uint16_t id, const uint8_t addr[16], struct cgp_set_match *m);
};

/*
 * The decision of one policy for a packet of direction dir (TCP: the
 * direction of the connection), protocol proto (CGP_PROTO_*), remote address
 * addr (IPv4 as v4-mapped) and service port (ICMP: type << 8 | code, or
 * CGP_NO_ICMP_TYPE; ICMPv6 when addr is not v4-mapped). kpol: the policy's
 * kernel record (defaults, the sets its rules use). pol: its rules, when
 * known, to name the rule a deny won a tie against (NULL: the tie is not
 * looked for). 0, or -1 on a lookup error.
 */
int cgp_decide(const struct cgp_lookup *lk, const struct cgp_pol *kpol, const struct cgp_policy *pol,
	       uint8_t dir, uint8_t proto, const uint8_t addr[16], uint32_t port, struct cgp_decision *d);

/* A lookup over compiled entries (cgp_compile's output) and set members (cgp_set_flatten's). */
struct cgp_compiled_sets {
	const struct cgp_compiled *c;
	const struct cgp_lpm_entry *setm;
	size_t nsetm;
};
struct cgp_lookup cgp_compiled_lookup(const struct cgp_compiled_sets *cs);

/* "longest prefix", "port rule over portless", "deny on a tie", "default",
 * "set member", "excluded from set". */
const char *cgp_why_str(enum cgp_why w);

#endif
