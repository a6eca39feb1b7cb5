// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * names.c - DNS names in rules (docs/POLICY.md "DNS names"): the syntax of
 * a name or wildcard, the name rules of a policy, the keys `dns` and
 * `dns_servers`, and the implicit dynamic sets name rules compile to.
 *
 * A name rule is a set rule: its set is an implicit dynamic set of the
 * policy, one per (direction, protocol, ports or ICMP type) signature,
 * named CGP_DNS_SET_PREFIX + 16 hex digits of a hash of the policy name and
 * the signature. '~' and ':' cannot start or be in a user's set name, so the
 * names never clash, and they are the same at every apply of the same
 * policy, so apply keeps the sets' ids and their learned members (the kernel
 * and the agent write them; bpf/dns.h).
 */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "policy/parser.h"

bool cgp_set_is_dns(const char *set_name)
{
	return !strncmp(set_name, CGP_DNS_SET_PREFIX, sizeof(CGP_DNS_SET_PREFIX) - 1);
}

/*
 * An address has only digits and dots, or ':' or '/'; a name's last label
 * has a letter. So `10.-1.1.1` or `0x0a.0.0.1` (last label numeric) are
 * reported as bad IPv4 addresses, `10.0.0.1a` or `anyy` as bad names.
 */
bool cgp_dns_looks_like_name(const char *s)
{
	const char *last;
	size_t n = strlen(s);

	if (!strcmp(s, "any") || strpbrk(s, ":/") || strspn(s, "0123456789.") == n)
		return false;
	if (n && s[n - 1] == '.')
		n--;		/* one trailing dot */
	last = memrchr(s, '.', n);
	last = last ? last + 1 : s;
	return strspn(last, "0123456789") < (size_t)(s + n - last);
}

/* One label of len bytes at s: 1..63 of [a-z0-9-_]; NULL or what is wrong. */
static const char *bad_label(const char *s, size_t len)
{
	if (!len)
		return "an empty label: two dots in a row, or a leading dot";
	if (len > 63)
		return "a label is longer than 63 characters";
	for (size_t i = 0; i < len; i++)
		if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) &&
		    s[i] != '-' && s[i] != '_')
			return s[i] == '*' ? "'*' only as the whole first label: *.example.com" :
			       "labels are a-z 0-9 - _; IDN in its punycode form, xn--...";
	return NULL;
}

/* The labels of out (normalized), wildcard label first if wild: NULL or what is wrong. */
static const char *check_labels(const char *out, bool wild)
{
	const char *p = wild ? out + 2 : out, *last = p, *why;
	unsigned nlabels = wild;

	for (;;) {
		const char *dot = strchr(p, '.');
		size_t len = dot ? (size_t)(dot - p) : strlen(p);

		if ((why = bad_label(p, len)))
			return why;
		nlabels++;
		last = p;
		if (!dot)
			break;
		p = dot + 1;
	}
	if (nlabels < 2)
		return "a name has at least two labels: api.example.com";
	if (!islower((unsigned char)last[0]))
		return "its last label starts with a letter; a typo of an IP address?";
	return NULL;
}

int cgp_dns_name_parse(const char *s, char out[CGP_DNS_NAME_MAX + 1], bool *wild, char *msg,
		       size_t msglen)
{
	size_t n = strlen(s);
	const char *why;

	if (n && s[n - 1] == '.')
		n--;			/* one trailing dot: the root */
	if (n > CGP_DNS_NAME_MAX) {
		snprintf(msg, msglen, "bad DNS name '%s': longer than %d characters", s,
			 CGP_DNS_NAME_MAX);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)s[i]);
	out[n] = '\0';
	*wild = n >= 2 && out[0] == '*' && out[1] == '.';
	why = check_labels(out, *wild);
	if (why) {
		snprintf(msg, msglen, "bad address '%s': not an IP address, CIDR or any, nor a DNS "
			 "name (%s)", s, why);
		return -1;
	}
	return 0;
}

unsigned cgp_dns_key_bytes(const char *name, bool wild, uint8_t out[CGP_DNS_NAME_MAX + 1])
{
	const char *p = wild ? name + 1 : name;	/* a wildcard: ".SUFFIX" */
	size_t n = strlen(p);

	memset(out, 0, CGP_DNS_NAME_MAX + 1);
	for (size_t i = 0; i < n; i++)
		out[i] = (uint8_t)p[n - 1 - i];
	return (unsigned)(wild ? n : n + 1);
}

void cgp_dns_key_name(const uint8_t *rev, unsigned len, char *out, size_t outlen)
{
	unsigned n = 0;
	size_t k = 0;

	while (n < len && n < CGP_DNS_NAME_MAX + 1 && rev[n])
		n++;
	if (n == len && n && rev[n - 1] == '.' && k + 1 < outlen)
		out[k++] = '*';		/* a wildcard key: ".SUFFIX" reversed, no 0 byte */
	for (unsigned i = 0; i < n && k + 1 < outlen; i++)
		out[k++] = (char)rev[n - 1 - i];
	if (outlen)
		out[k] = '\0';
}

bool cgp_dns_match(const char *pattern, bool wild, const char *name)
{
	size_t ln = strlen(name), ls;

	if (!wild)
		return !strcmp(pattern, name);
	ls = strlen(pattern + 1);		/* ".SUFFIX" */
	return ln > ls && !strcmp(name + ln - ls, pattern + 1);
}

/* ------------------------------------------------------------------ parsing */

int cgp_parse_rule_name(struct cgp_pctx *c, int line, const char *tok, struct cgp_rule *r)
{
	struct cgp_policy *p = &c->cfg->policies[c->cur];
	struct cgp_dnsname *nm;
	char msg[400];

	if (r->verdict == CGP_DENY) {
		cgp_perr(c, line, "a deny rule cannot name a DNS name ('%s'): any other name of the "
			 "same host would bypass it; deny by address or set, or allow by name "
			 "with default_egress = deny", tok);
		return -1;
	}
	nm = cgp_grow(c, line, p->names, p->nnames, &p->cap_names, 4, CGP_MAX_RULES, sizeof(*nm));
	if (!nm)
		return -1;
	p->names = nm;
	nm = &nm[p->nnames];
	memset(nm, 0, sizeof(*nm));
	if (cgp_dns_name_parse(tok, nm->name, &nm->wild, msg, sizeof(msg)) < 0) {
		cgp_perr(c, line, "%s", msg);
		return -1;
	}
	nm->line = line;
	r->dns = ++p->nnames;
	return 0;
}

/* dns_servers = ADDR, ADDR ...: single addresses, comma and/or space separated. */
int cgp_parse_dns_servers(struct cgp_pctx *c, int line, const char *value,
			  struct cgp_dns_servers *sv)
{
	char tmp[CGP_MAX_LINE + 1], *save = NULL, msg[256];

	snprintf(tmp, sizeof(tmp), "%s", value);
	sv->n = 0;
	sv->line = line;
	for (char *t = strtok_r(tmp, ", \t", &save); t; t = strtok_r(NULL, ", \t", &save)) {
		uint8_t plen;
		bool v4;

		if (sv->n == CGP_DNS_MAX_SERVERS) {
			cgp_perr(c, line, "more than %d addresses in dns_servers", CGP_DNS_MAX_SERVERS);
			return -1;
		}
		if (strchr(t, '/') || !strcmp(t, "any") ||
		    cgp_parse_addr_msg(t, sv->addr[sv->n], &plen, &v4, msg, sizeof(msg)) < 0) {
			cgp_perr(c, line, "bad dns_servers address '%s' (IP addresses of resolvers, "
				 "comma separated)", t);
			return -1;
		}
		sv->n++;
	}
	if (!sv->n) {
		cgp_perr(c, line, "empty value for 'dns_servers' in %s", c->curhdr);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ implicit sets */

static uint64_t fnv(uint64_t h, const void *data, size_t len)
{
	const unsigned char *b = data;

	for (size_t i = 0; i < len; i++) {
		h ^= b[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

/* The implicit set name of rule r of policy p: its signature hashed. */
static void sig_name(const struct cgp_policy *p, const struct cgp_rule *r, char *out, size_t len)
{
	uint64_t h = fnv(0xcbf29ce484222325ull, p->name, strlen(p->name) + 1);
	uint8_t hdr[4] = { r->dirs, r->proto, r->has_type, (uint8_t)r->nports };
	int16_t icmp[4] = { r->icmp_type[0], r->icmp_type[1], r->icmp_code[0], r->icmp_code[1] };

	h = fnv(h, hdr, sizeof(hdr));
	for (unsigned i = 0; i < r->nports; i++) {
		uint8_t b[4] = { r->ports[i].lo >> 8, r->ports[i].lo & 0xff,
				 r->ports[i].hi >> 8, r->ports[i].hi & 0xff };
		h = fnv(h, b, sizeof(b));
	}
	if (r->has_type)
		for (int i = 0; i < 4; i++) {
			uint8_t b[2] = { (uint8_t)((uint16_t)icmp[i] >> 8), (uint8_t)icmp[i] };
			h = fnv(h, b, sizeof(b));
		}
	snprintf(out, len, "%s%016llx", CGP_DNS_SET_PREFIX, (unsigned long long)h);
}

/* The set of name rule r: found among the implicit sets of p (from `first`), else added. */
static int rule_set(struct cgp_pctx *c, const struct cgp_policy *p, struct cgp_rule *r,
		    unsigned first)
{
	struct cgp_config *cfg = c->cfg;
	char name[CGP_NAME_MAX + 1];

	sig_name(p, r, name, sizeof(name));
	for (unsigned i = first; i < cfg->nsets; i++) {
		if (!strcmp(cfg->sets[i].name, name)) {
			r->set = (uint16_t)(i + 1);
			return 0;
		}
	}
	if (cgp_set_start(c, r->line, name) < 0)
		return -1;
	cfg->sets[cfg->nsets - 1].dynamic = true;
	r->set = (uint16_t)cfg->nsets;
	return 0;
}

void cgp_dns_sets(struct cgp_pctx *c)
{
	struct cgp_config *cfg = c->cfg;

	for (unsigned i = 0; i < cfg->npolicies && !c->failed; i++) {
		struct cgp_policy *p = &cfg->policies[i];
		unsigned first = cfg->nsets;

		for (unsigned j = 0; j < p->nrules && !c->failed; j++)
			if (p->rules[j].dns)
				rule_set(c, p, &p->rules[j], first);
	}
}
