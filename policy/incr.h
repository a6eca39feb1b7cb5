/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * incr.h - apply from the text down without redoing unchanged work: the
 * lines of the file last parsed, the parse of a new version of it that
 * re-reads only the changed lines, and the compile of only the rules those
 * lines touch (docs/ARCHITECTURE.md, "Incremental apply").
 *
 * Pure C like the rest of policy/: the caller (agent/applycache.c) keeps the
 * previous config and lines where they survive the process, and checks they
 * describe what is pinned before trusting compiled entries.
 */
#ifndef CGP_INCR_H
#define CGP_INCR_H

#include <stdint.h>
#include "policy/policy.h"

enum cgp_line_kind {
	CGP_LINE_BLANK = 0,	/* empty or comment */
	CGP_LINE_RULE = 1,	/* allow/deny of a policy */
	CGP_LINE_OTHER = 2,	/* a header, any other key */
};

/* The lines of a file: a hash and a kind each. */
struct cgp_lines {
	uint32_t n;
	uint64_t *h;
	uint8_t *kind;
};

/* The lines of buf, parsed into cfg (kinds from cfg's rules). 0 or -ENOMEM. */
int cgp_lines_build(const char *buf, size_t len, const struct cgp_config *cfg, struct cgp_lines *l);
void cgp_lines_free(struct cgp_lines *l);

/*
 * What changed between the old parse and the new one: the lines [a, a + nold)
 * of the old file (1-based) became [a, a + nnew) of the new one, all rule or
 * blank lines of policy `policy`; its rules [ra, ra + nremoved) went and
 * [ra, ra + nadded) came. Lines after the hunk moved by nnew - nold (only
 * when nothing but that policy's rules follows). same: the file is unchanged.
 */
struct cgp_change {
	bool same;
	unsigned policy;
	int a, nold, nnew;
	unsigned ra, nadded, nremoved;
	struct cgp_rule *removed;		/* copies, ports in removed_ports */
	struct cgp_port_range *removed_ports;
};
void cgp_change_free(struct cgp_change *ch);

/*
 * Parse buf (the new text of the file `old` came from) by re-reading only
 * the lines that differ from oldl. Consumes *old (its arrays move into cfg,
 * whatever the result). 0: cfg, newl and ch filled, exactly what
 * cgp_config_parse would give; 1: not possible here (a header or another key
 * changed, a set reference, an error: the full parse says which), cfg empty.
 */
int cgp_config_parse_incr(const char *name, const char *buf, size_t len, struct cgp_config *old,
			  const struct cgp_lines *oldl, struct cgp_config *cfg, struct cgp_lines *newl,
			  struct cgp_change *ch);

/* An address group: the rules at one (prefix length, address). */
struct cgp_group {
	uint8_t plen;
	uint8_t addr[16];
};

/*
 * Compile only the rules of p at the groups g[ng] (sorted by
 * cgp_group_cmp), with the port classes of the whole policy. out->lpm: their
 * entries, as cgp_compile() of all of p gives them; out->portmaps and
 * out->pol: as cgp_compile() of all of p gives them, except pol.nrules and
 * pol.sets (the caller has them). 0; 1: out of memory; -1: err filled.
 */
int cgp_compile_groups(const char *file, const struct cgp_policy *p, uint16_t slot,
		       const struct cgp_group *g, unsigned ng, struct cgp_compiled *out, char *err,
		       size_t errlen);
int cgp_group_cmp(const void *a, const void *b);
/* Is lpm key k an address-rule entry of slot at one of g[ng]? */
bool cgp_group_has(const struct cgp_group *g, unsigned ng, const struct cgp_lpm_key *k, uint16_t slot);

/*
 * old (sorted by cmp) with the entries of slot at the groups g[ng] replaced
 * by add (sorted by cmp, the groups' new entries), and the lines >= from of
 * slot's other entries moved by delta: into *out (malloc'ed). 0 or -1.
 */
int cgp_patch_entries(const struct cgp_lpm_entry *old, size_t nold, const struct cgp_group *g,
		      unsigned ng, uint16_t slot, int from, int delta, const struct cgp_lpm_entry *add,
		      size_t nadd, int (*cmp)(const void *, const void *), struct cgp_lpm_entry **out,
		      size_t *nout);
/* The groups of the rules a change removed and added (of policy p), sorted, unique. */
int cgp_change_groups(const struct cgp_change *ch, const struct cgp_policy *p, struct cgp_group **g,
		      unsigned *ng);

#endif
