// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * icmp.c - ICMP types in rules: `type NAME|N [code M]` after the address of
 * an icmp rule (docs/POLICY.md, "ICMP types"). The names, and the families
 * a type applies to. The compiler turns a type into the "port" range
 * type << 8 | code of each family (docs/ARCHITECTURE.md, "ICMP types").
 */
#include <stdio.h>
#include <string.h>

#include "policy/parser.h"

/* A name, its ICMP (v4) and ICMPv6 type and code: -1 type = not in that family, -1 code = any. */
struct icmp_name {
	const char *name;
	int16_t t4, c4, t6, c6;
};

static const struct icmp_name icmp_names[] = {
	{ "echo-reply",			  0, -1, 129, -1 },
	{ "destination-unreachable",	  3, -1,   1, -1 },
	{ "fragmentation-needed",	  3,  4,  -1, -1 },
	{ "source-quench",		  4, -1,  -1, -1 },
	{ "redirect",			  5, -1, 137, -1 },
	{ "echo-request",		  8, -1, 128, -1 },
	{ "router-advertisement",	  9, -1, 134, -1 },
	{ "router-solicitation",	 10, -1, 133, -1 },
	{ "time-exceeded",		 11, -1,   3, -1 },
	{ "parameter-problem",		 12, -1,   4, -1 },
	{ "timestamp-request",		 13, -1,  -1, -1 },
	{ "timestamp-reply",		 14, -1,  -1, -1 },
	{ "info-request",		 15, -1,  -1, -1 },
	{ "info-reply",			 16, -1,  -1, -1 },
	{ "address-mask-request",	 17, -1,  -1, -1 },
	{ "address-mask-reply",		 18, -1,  -1, -1 },
	{ "packet-too-big",		 -1, -1,   2, -1 },
	{ "mld-listener-query",		 -1, -1, 130, -1 },
	{ "mld-listener-report",	 -1, -1, 131, -1 },
	{ "mld-listener-done",		 -1, -1, 132, -1 },
	{ "neighbour-solicitation",	 -1, -1, 135, -1 },
	{ "neighbor-solicitation",	 -1, -1, 135, -1 },
	{ "neighbour-advertisement",	 -1, -1, 136, -1 },
	{ "neighbor-advertisement",	 -1, -1, 136, -1 },
	{ "mld2-listener-report",	 -1, -1, 143, -1 },
	{ NULL, 0, 0, 0, 0 }
};

static const struct icmp_name *find_name(const char *name)
{
	for (const struct icmp_name *n = icmp_names; n->name; n++)
		if (!strcmp(n->name, name))
			return n;
	return NULL;
}

int cgp_icmp_type_name(const char *name, int fam, int *type, int *code)
{
	const struct icmp_name *n = find_name(name);
	int t;

	if (!n)
		return -1;
	t = fam == CGP_ICMP_V4 ? n->t4 : n->t6;
	if (t < 0)
		return -1;
	*type = t;
	*code = fam == CGP_ICMP_V4 ? n->c4 : n->c6;
	return 0;
}

const char *cgp_icmp_type_str(int fam, int type, int code)
{
	const char *any = NULL;

	for (const struct icmp_name *n = icmp_names; n->name; n++) {
		int t = fam == CGP_ICMP_V4 ? n->t4 : n->t6, c = fam == CGP_ICMP_V4 ? n->c4 : n->c6;

		if (t != type)
			continue;
		if (c == code)
			return n->name;
		if (c < 0 && !any)
			any = n->name;
	}
	return any;
}

bool cgp_icmp_type_known(const char *name)
{
	return find_name(name) != NULL;
}

/* Which families can the rule's address match: bit 0 IPv4 (::ffff:0:0/96), bit 1 IPv6. */
static unsigned addr_families(const struct cgp_rule *r)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	unsigned n = r->plen < 96 ? r->plen : 96, full = n / 8, rem = n % 8;
	bool v4 = !memcmp(r->addr, mapped, full) &&
		  (!rem || !((r->addr[full] ^ mapped[full]) & (uint8_t)(0xff00u >> rem)));
	bool only_v4 = r->plen >= 96 && v4;

	return (v4 ? 1u : 0u) | (only_v4 ? 0u : 2u);
}

/*
 * tok: the words after the address, from `type` on (n of them). A numeric
 * type applies to the families the address can match (an IPv4 address:
 * ICMP; IPv6: ICMPv6; `any`: both, the same number); a name to the
 * families that have it, among those.
 */
/*
 * The type of a rule, a number (every family of the address) or a name (the
 * families it exists in, its code with it): r->icmp_type/icmp_code set, the
 * families in *have. -1 (reported) if bad, or a name's code and `code` both.
 */
static int type_of(struct cgp_pctx *c, int line, const char *name, unsigned fams, bool has_code, const char *addr,
		   struct cgp_rule *r, unsigned *have)
{
	const struct icmp_name *nm;
	unsigned long v;

	if (name[0] >= '0' && name[0] <= '9') {
		if (cgp_parse_uint(name, 255, &v) < 0) {
			cgp_perr(c, line, "bad ICMP type '%s' (0-255 or a name such as echo-request)", name);
			return -1;
		}
		for (int f = 0; f < 2; f++) {
			if (fams & (1u << f)) {
				r->icmp_type[f] = (int16_t)v;
				*have |= 1u << f;
			}
		}
	} else {
		nm = find_name(name);
		if (!nm) {
			cgp_perr(c, line, "unknown ICMP type '%s' (0-255 or a name such as echo-request, "
				 "packet-too-big; docs/POLICY.md)", name);
			return -1;
		}
		if ((fams & 1) && nm->t4 >= 0) {
			r->icmp_type[0] = nm->t4;
			r->icmp_code[0] = nm->c4;
			*have |= 1;
		}
		if ((fams & 2) && nm->t6 >= 0) {
			r->icmp_type[1] = nm->t6;
			r->icmp_code[1] = nm->c6;
			*have |= 2;
		}
		if (!*have) {
			cgp_perr(c, line, "ICMP type '%s' is %s only, the address '%s' is %s",
				 name, nm->t4 >= 0 ? "IPv4 (ICMP)" : "IPv6 (ICMPv6)", addr,
				 fams == 1 ? "IPv4" : "IPv6");
			return -1;
		}
		if (has_code && ((*have & 1 && nm->c4 >= 0) || (*have & 2 && nm->c6 >= 0))) {
			cgp_perr(c, line, "ICMP type '%s' already has a code (%d): no 'code' after it",
				 name, *have & 1 ? nm->c4 : nm->c6);
			return -1;
		}
	}
	return 0;
}

int cgp_parse_icmp_type(struct cgp_pctx *c, int line, char **tok, unsigned n, const char *addr,
			struct cgp_rule *r)
{
	unsigned fams = addr_families(r), have = 0;
	unsigned long code = 0;
	bool has_code = false;

	if (r->proto != CGP_PROTO_ICMP) {
		cgp_perr(c, line, "'type' needs proto icmp (not %s)", cgp_proto_str(r->proto));
		return -1;
	}
	if (n < 2) {
		cgp_perr(c, line, "'type' needs an ICMP type (0-255 or a name such as echo-request)");
		return -1;
	}
	if (n >= 3) {
		if (strcmp(tok[2], "code") != 0) {
			cgp_perr(c, line, "unexpected '%s' after the ICMP type (expected 'code N' or end of rule)",
				 tok[2]);
			return -1;
		}
		if (n < 4) {
			cgp_perr(c, line, "'code' needs an ICMP code (0-255)");
			return -1;
		}
		if (n > 4) {
			cgp_perr(c, line, "unexpected '%s' at end of rule", tok[4]);
			return -1;
		}
		if (cgp_parse_uint(tok[3], 255, &code) < 0) {
			cgp_perr(c, line, "bad ICMP code '%s' (0-255)", tok[3]);
			return -1;
		}
		has_code = true;
	}
	r->icmp_type[0] = r->icmp_type[1] = -1;
	r->icmp_code[0] = r->icmp_code[1] = -1;
	if (type_of(c, line, tok[1], fams, has_code, addr, r, &have))
		return -1;
	if (has_code)
		for (int f = 0; f < 2; f++)
			if (have & (1u << f))
				r->icmp_code[f] = (int16_t)code;
	r->has_type = true;
	return 0;
}

/* The ICMP "port" range of rule r in family fam: 0, or -1 when it has none there. */
int cgp_rule_icmp_range(const struct cgp_rule *r, int fam, struct cgp_port_range *pr)
{
	int t, cd;

	if (!r->has_type || r->proto != CGP_PROTO_ICMP)
		return -1;
	t = r->icmp_type[fam];
	cd = r->icmp_code[fam];
	if (t < 0)
		return -1;
	pr->lo = (uint16_t)(t << 8 | (cd < 0 ? 0 : cd));
	pr->hi = (uint16_t)(t << 8 | (cd < 0 ? 0xff : cd));
	return 0;
}
