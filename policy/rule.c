// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * rule.c - one rule: allow/deny = DIRECTION PROTO ADDRESS [port PORTS | type TYPE [code N]]
 * (docs/POLICY.md, "Rules"), into a struct cgp_rule. ICMP types: icmp.c.
 */
#include <stdio.h>
#include <string.h>

#include "policy/parser.h"

/* One item of a port list: N or N-M, 1..65535. */
static int parse_port_item(struct cgp_pctx *c, int line, char *item, unsigned long *lo,
			   unsigned long *hi)
{
	char *dash = strchr(item, '-');

	if (dash)
		*dash = '\0';
	if (cgp_parse_port(c, line, item, lo) < 0)
		return -1;
	if (!dash) {
		*hi = *lo;
		return 0;
	}
	if (cgp_parse_port(c, line, dash + 1, hi) < 0)
		return -1;
	if (*lo > *hi) {
		cgp_perr(c, line, "bad port range '%lu-%lu' (start above end)", *lo, *hi);
		return -1;
	}
	return 0;
}

/* PORTS: a comma list of port items, no spaces, at most CGP_MAX_PORT_RANGES. */
static int parse_ports(struct cgp_pctx *c, int line, const char *s, struct cgp_rule *r)
{
	char tmp[CGP_MAX_LINE + 1];
	char *p;

	if (strlen(s) >= sizeof(tmp)) {
		cgp_perr(c, line, "port list too long");
		return -1;
	}
	strcpy(tmp, s);
	r->nports = 0;
	p = tmp;
	for (;;) {
		char *comma = strchr(p, ',');
		unsigned long lo, hi;

		if (comma)
			*comma = '\0';
		if (!*p) {
			cgp_perr(c, line, "empty item in port list '%s'", s);
			return -1;
		}
		if (r->nports >= CGP_MAX_PORT_RANGES) {
			cgp_perr(c, line, "more than %d items in port list", CGP_MAX_PORT_RANGES);
			return -1;
		}
		if (parse_port_item(c, line, p, &lo, &hi) < 0)
			return -1;
		r->ports[r->nports].lo = (uint16_t)lo;
		r->ports[r->nports].hi = (uint16_t)hi;
		r->nports++;
		if (!comma)
			break;
		p = comma + 1;
	}
	return 0;
}

static const struct cgp_word dir_words[] = {
	{ "in", CGP_DIR_BIT(CGP_DIR_IN) },
	{ "out", CGP_DIR_BIT(CGP_DIR_OUT) },
	{ "both", CGP_DIR_BIT(CGP_DIR_IN) | CGP_DIR_BIT(CGP_DIR_OUT) },
	{ NULL, 0 }
};

static const struct cgp_word proto_words[] = {
	{ "tcp", CGP_PROTO_TCP }, { "udp", CGP_PROTO_UDP }, { "icmp", CGP_PROTO_ICMP },
	{ "any", CGP_RULE_PROTO_ANY }, { NULL, 0 }
};

int cgp_parse_rule(struct cgp_pctx *c, int line, uint8_t verdict, const char *value,
		   struct cgp_rule *r)
{
	char tmp[CGP_MAX_LINE + 1];
	char *tok[8];
	char msg[256];
	unsigned n;
	int v;

	memset(r, 0, sizeof(*r));
	r->line = line;
	r->verdict = verdict;
	snprintf(tmp, sizeof(tmp), "%s", value);
	n = cgp_tokenize(tmp, tok, 8);
	if (n < 3) {
		cgp_perr(c, line, "incomplete rule, expected: DIRECTION PROTO ADDRESS [port PORTS]");
		return -1;
	}
	if (cgp_parse_word(tok[0], dir_words, &v) < 0) {
		cgp_perr(c, line, "unknown direction '%s' (in, out or both)", tok[0]);
		return -1;
	}
	r->dirs = (uint8_t)v;
	if (cgp_parse_word(tok[1], proto_words, &v) < 0) {
		cgp_perr(c, line, "unknown protocol '%s' (tcp, udp, icmp or any)", tok[1]);
		return -1;
	}
	r->proto = (uint8_t)v;
	if (tok[2][0] == '@') {
		if (cgp_parse_set_ref(c, line, tok[2], r) < 0)
			return -1;
	} else if (cgp_dns_looks_like_name(tok[2])) {
		if (cgp_parse_rule_name(c, line, tok[2], r) < 0)
			return -1;
	} else if (cgp_parse_addr_msg(tok[2], r->addr, &r->plen, &r->is_v4, msg, sizeof(msg)) < 0) {
		cgp_perr(c, line, "%s", msg);
		return -1;
	}
	if (n == 3)
		return 0;
	if (!strcmp(tok[3], "type"))
		return cgp_parse_icmp_type(c, line, tok + 3, n - 3, tok[2], r);
	if (!strcmp(tok[3], "code")) {
		cgp_perr(c, line, "'code' needs a type before it (type N|NAME code M)");
		return -1;
	}
	if (strcmp(tok[3], "port") != 0) {
		cgp_perr(c, line, "unexpected '%s' after address (expected 'port PORTS', 'type TYPE' or end of rule)",
			 tok[3]);
		return -1;
	}
	if (r->proto != CGP_PROTO_TCP && r->proto != CGP_PROTO_UDP) {
		cgp_perr(c, line, "ports need tcp or udp (not %s)", cgp_proto_str(r->proto));
		return -1;
	}
	if (n == 4) {
		cgp_perr(c, line, "'port' needs a list of ports (N, N-M or a comma list)");
		return -1;
	}
	if (n > 5) {
		cgp_perr(c, line, "unexpected '%s' at end of rule (no spaces inside a port list)",
			 tok[5]);
		return -1;
	}
	return parse_ports(c, line, tok[4], r);
}
