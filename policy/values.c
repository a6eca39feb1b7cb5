// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * values.c - the values of single keys: keywords (booleans, verdicts and
 * the other word tables), numbers, ports, names, cgroup paths, IPv4/IPv6
 * addresses and CIDRs; and the names of verdicts and protocols for output.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "policy/parser.h"

const char *cgp_verdict_str(uint8_t v)
{
	switch (v) {
	case CGP_ALLOW: return "allow";
	case CGP_DENY: return "deny";
	default: return "?";
	}
}

const char *cgp_proto_str(uint8_t proto)
{
	switch (proto) {
	case CGP_PROTO_TCP: return "tcp";
	case CGP_PROTO_UDP: return "udp";
	case CGP_PROTO_ICMP: return "icmp";
	case CGP_PROTO_OTHER: return "other";
	case CGP_RULE_PROTO_ANY: return "any";
	default: return "?";
	}
}

/* Strict unsigned decimal: digits only, value <= max. */
int cgp_parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;
	size_t i;

	if (!*s || strlen(s) > 10)
		return -1;
	for (i = 0; s[i]; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

int cgp_parse_word(const char *s, const struct cgp_word *table, int *value)
{
	for (const struct cgp_word *w = table; w->name; w++) {
		if (!strcmp(s, w->name)) {
			*value = w->value;
			return 0;
		}
	}
	return -1;
}

const struct cgp_word cgp_bool_words[] = {
	{ "yes", 1 }, { "no", 0 }, { "true", 1 }, { "false", 0 },
	{ "1", 1 }, { "0", 0 }, { "on", 1 }, { "off", 0 }, { NULL, 0 }
};

const struct cgp_word cgp_verdict_words[] = {
	{ "allow", CGP_ALLOW }, { "deny", CGP_DENY }, { NULL, 0 }
};

int cgp_parse_port(struct cgp_pctx *c, int line, const char *s, unsigned long *port)
{
	if (cgp_parse_uint(s, 65535, port) < 0 || *port == 0) {
		cgp_perr(c, line, "bad port '%s' (1-65535)", s);
		return -1;
	}
	return 0;
}

bool cgp_valid_name(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > CGP_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '.' && s[i] != '-')
			return false;
	return true;
}

bool cgp_has_space(const char *s)
{
	return strpbrk(s, " \t") != NULL;
}

/* A sane cgroup path: absolute, no empty, "." or ".." components, no trailing '/'. */
const char *cgp_check_cgroup_path(const char *s)
{
	size_t n = strlen(s);

	if (s[0] != '/')
		return "must start with '/'";
	if (n >= CGP_PATH_MAX)
		return "is too long";
	if (cgp_has_space(s))
		return "must not contain spaces";
	if (n == 1)
		return NULL;
	if (s[n - 1] == '/')
		return "must not end with '/'";
	for (const char *p = s; *p; ) {
		const char *q;
		size_t clen;

		p++;			/* skip '/' */
		q = strchr(p, '/');
		clen = q ? (size_t)(q - p) : strlen(p);
		if (clen == 0)
			return "must not contain '//'";
		if ((clen == 1 && p[0] == '.') || (clen == 2 && p[0] == '.' && p[1] == '.'))
			return "must not contain '.' or '..' components";
		p += clen;
	}
	return NULL;
}

unsigned cgp_tokenize(char *s, char **tok, unsigned max)
{
	unsigned n = 0;
	char *save = NULL;

	for (char *t = strtok_r(s, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
		if (n < max)
			tok[n] = t;
		n++;
	}
	return n;
}

/* ------------------------------------------------------------------ addresses */

void cgp_mask_addr(uint8_t addr[16], unsigned plen)
{
	for (unsigned i = 0; i < 16; i++) {
		unsigned bits = i * 8;
		if (plen >= bits + 8)
			continue;
		if (plen <= bits)
			addr[i] = 0;
		else
			addr[i] &= (uint8_t)(0xff00u >> (plen - bits));
	}
}

int cgp_parse_addr_msg(const char *s, uint8_t addr[16], uint8_t *plen, bool *is_v4,
		       char *msg, size_t msglen)
{
	char tmp[INET6_ADDRSTRLEN + 8];
	const char *slash;
	unsigned long pl;
	bool v6;
	size_t alen;

	memset(addr, 0, 16);
	if (!strcmp(s, "any")) {
		*plen = 0;
		*is_v4 = false;
		return 0;
	}
	v6 = strchr(s, ':') != NULL;
	slash = strchr(s, '/');
	alen = slash ? (size_t)(slash - s) : strlen(s);
	if (alen == 0 || alen >= sizeof(tmp)) {
		snprintf(msg, msglen, "bad address '%s'", s);
		return -1;
	}
	memcpy(tmp, s, alen);
	tmp[alen] = '\0';
	if (v6) {
		if (inet_pton(AF_INET6, tmp, addr) != 1) {
			snprintf(msg, msglen, "bad IPv6 address '%s'", s);
			return -1;
		}
	} else {
		if (inet_pton(AF_INET, tmp, addr + 12) != 1) {
			snprintf(msg, msglen, "bad IPv4 address '%s'", s);
			return -1;
		}
		addr[10] = addr[11] = 0xff;
	}
	pl = v6 ? 128 : 32;
	if (slash) {
		const char *p = slash + 1;
		if (!*p || strlen(p) > 3 || cgp_parse_uint(p, 255, &pl) < 0) {
			snprintf(msg, msglen, "bad prefix length in '%s'", s);
			return -1;
		}
		if (pl > (v6 ? 128u : 32u)) {
			snprintf(msg, msglen, "prefix length /%lu too long in '%s' (%s: 0-%d)",
				 pl, s, v6 ? "IPv6" : "IPv4", v6 ? 128 : 32);
			return -1;
		}
	}
	*plen = (uint8_t)(v6 ? pl : 96 + pl);
	*is_v4 = !v6;
	cgp_mask_addr(addr, *plen);
	return 0;
}

int cgp_parse_addr(const char *s, uint8_t addr[16], uint8_t *plen, bool *is_v4)
{
	char msg[160];

	return cgp_parse_addr_msg(s, addr, plen, is_v4, msg, sizeof(msg));
}
