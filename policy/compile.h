/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * compile.h - what the steps of cgp_compile() share (compile.c, steps 1-5;
 * compile_sets.c, step 6): the port protocols, the compiler's state, its
 * error helpers. Private to policy/compile*.c.
 */
#ifndef CGP_POLICY_COMPILE_H
#define CGP_POLICY_COMPILE_H

#include <stdbool.h>
#include <stdint.h>

#include "policy/policy.h"

/* Guard against memory blow-up (e.g. thousands of wide port rules over
 * thousands of boundaries): refuse policies that need more trie entries. */
#define CGP_COMPILE_MAX_LPM	(4u << 20)

/* A range over more classes than this goes to the wide layer (compile_ports.c). */
#define CGP_WIDE_CLASSES	64

/*
 * Port protocols: what has port classes. TCP and UDP ports, and ICMP types
 * (type << 8 | code), one per family: both share the rule trie's
 * CGP_PROTO_ICMP, the port trie tells them apart (CGP_PORTPROTO_ICMP6) and
 * ICMPv6 classes start above CGP_ICMP6_CLS_BASE (bpf/enforce.h).
 */
enum { PP_TCP = CGP_PROTO_TCP, PP_UDP = CGP_PROTO_UDP, PP_ICMP, PP_ICMP6, NPORTPROTO };

/* The rule trie's proto of port protocol pp, the port trie's, its first class - 1. */
static inline uint8_t pp_proto(int pp)
{
	return pp < PP_ICMP ? (uint8_t)pp : CGP_PROTO_ICMP;
}

static inline uint8_t pp_trie_proto(int pp)
{
	return pp == PP_ICMP6 ? CGP_PORTPROTO_ICMP6 : pp_proto(pp);
}

static inline unsigned pp_cls_base(int pp)
{
	return pp == PP_ICMP6 ? CGP_ICMP6_CLS_BASE : 0;
}

/* The ranges of rule r in port protocol pp (*out; one ICMP range goes in *one); 0: none. */
static inline unsigned rule_ranges(const struct cgp_rule *r, int pp, struct cgp_port_range *one,
			    const struct cgp_port_range **out)
{
	if (pp < PP_ICMP) {
		*out = r->ports;
		return r->proto == pp ? r->nports : 0;
	}
	*out = one;
	return cgp_rule_icmp_range(r, pp == PP_ICMP ? CGP_ICMP_V4 : CGP_ICMP_V6, one) == 0;
}

/* A rule's address part, sorted once. */
struct arec {
	uint8_t addr[16];	/* masked */
	uint32_t line;
	uint32_t idx;		/* index into p->rules */
	uint8_t plen, verdict;
	uint8_t dirs, proto;	/* copies of the rule's, to keep the walks in cache */
	bool ports;
	uint16_t set;		/* a set rule (@NAME): the set's id; emitted by emit_set_rules */
};

/* The state of one cgp_compile() call. */
struct comp {
	const char *file;
	const struct cgp_policy *p;
	uint16_t slot;
	struct cgp_compiled *out;
	char *err;
	size_t errlen;

	/* port classes (compile_ports.c), per (dir, port protocol) with port rules */
	uint8_t *mark[CGP_DIR_MAX][NPORTPROTO];		/* 65537 flags: port is a boundary */
	int32_t *delta[CGP_DIR_MAX][NPORTPROTO];	/* 65537: ranges starting - ending at port */
	uint16_t *clsmap[CGP_DIR_MAX][NPORTPROTO];	/* port -> (narrow) class less the base, 0: none */
	uint16_t *clsw[CGP_DIR_MAX][NPORTPROTO];	/* two layers: port -> wide class (above ncls) */
	uint16_t *clsall[CGP_DIR_MAX][NPORTPROTO];	/* two layers: the one-layer classes (which range is wide) */
	unsigned ncls[CGP_DIR_MAX][NPORTPROTO];		/* (narrow) classes */
	unsigned nclsw[CGP_DIR_MAX][NPORTPROTO];	/* wide classes, 0: one layer */
	struct arec *recs;				/* the rules, sorted (step 4) */
	struct cgp_lpm_entry *e;			/* the entries (step 5) */
	size_t n, cap;					/* cap: the bound of step 3 */
};

static inline int cmp_uint(unsigned a, unsigned b)
{
	return a < b ? -1 : a > b;
}

/* FILE:LINE error into s->err; returns -1. */
int __attribute__((format(printf, 3, 4)))
cgp_comp_fail(struct comp *s, int line, const char *fmt, ...);
int cgp_comp_oom(struct comp *s);		/* "out of memory", -1 */
int cgp_comp_toobig(struct comp *s);		/* more than CGP_COMPILE_MAX_LPM entries, -1 */

/* Steps 1-2 (compile_ports.c): the port classes and cgp_compiled.portmaps. 0 or -1. */
int cgp_comp_port_classes(struct comp *s);
void cgp_comp_ports_free(struct comp *s);
/* Is range rg of rule r (dir d, port protocol pp) in the wide layer? */
bool cgp_comp_wide(const struct comp *s, int d, int pp, const struct cgp_rule *r,
		   const struct cgp_port_range *rg);
/* The port -> class table range rg of rule r uses: its classes are cm[lo]..cm[hi]. */
const uint16_t *cgp_comp_cls_table(const struct comp *s, int d, int pp, const struct cgp_rule *r,
				   const struct cgp_port_range *rg);

/* Step 6 (compile_sets.c): the entries of the set rules (@NAME). 0 or -1. */
int cgp_comp_set_rules(struct comp *s);

#endif /* CGP_POLICY_COMPILE_H */
