// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * parse.c - policy INI file -> validated struct cgp_config.
 *
 * inih does the key = value splitting (and inline " ;" comments). Everything
 * inih cannot tell us is done in our own line reader, which sees every raw
 * line before inih does:
 *   - line numbers (Debian's inih has INI_HANDLER_LINENO 0);
 *   - overlong lines (inih would cut them at 199 characters and read the tail
 *     as a new line), NUL bytes, control characters, invalid UTF-8;
 *   - indented lines (inih would treat them as continuations of the previous
 *     key and call the handler again);
 *   - [section] headers, including sections without keys, which Debian's inih
 *     (INI_CALL_HANDLER_ON_NEW_SECTION 0) never reports.
 * The first error wins: the reader stops feeding inih as soon as one is set.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>

#include "policy.h"

enum sec_kind { S_NONE, S_AGENT, S_POLICY, S_REUSE };

struct sec_seen {
	char hdr[CGP_NAME_MAX + 16];	/* "web", "agent", "reuseport api" */
	int line;
};

#define MAX_SCALARS 8

struct pctx {
	const char *name;
	const char *buf;
	size_t len, pos;
	int lineno;

	char *err;
	size_t errlen;
	int errline;
	bool failed;

	struct cgp_config *cfg;
	enum sec_kind kind;
	unsigned cur;			/* index into policies / reuseports */
	char curhdr[CGP_NAME_MAX + 20];	/* for messages: "[web]" */
	int seen[MAX_SCALARS];		/* line of each scalar key in this section */

	struct sec_seen *secs;
	unsigned nsecs, capsecs;
	unsigned cap_policies, cap_reuseports;	/* allocated in cfg (grown x2) */
};

static void __attribute__((format(printf, 3, 4)))
perr(struct pctx *c, int line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (c->failed)
		return;
	c->failed = true;
	c->errline = line;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!c->err || !c->errlen)
		return;
	if (line > 0)
		snprintf(c->err, c->errlen, "%s:%d: %s", c->name, line, msg);
	else
		snprintf(c->err, c->errlen, "%s: %s", c->name, msg);
}

/* ------------------------------------------------------------------ helpers */

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
static int parse_uint(const char *s, unsigned long max, unsigned long *out)
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

/* Address or CIDR, or "any". On error, msg says what is wrong. */
static int parse_addr_msg(const char *s, uint8_t addr[16], uint8_t *plen, bool *is_v4,
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
		if (!*p || strlen(p) > 3 || parse_uint(p, 255, &pl) < 0) {
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

	return parse_addr_msg(s, addr, plen, is_v4, msg, sizeof(msg));
}

static int parse_bool(const char *s, bool *out)
{
	static const char *const t[] = { "yes", "true", "1", "on" };
	static const char *const f[] = { "no", "false", "0", "off" };

	for (unsigned i = 0; i < 4; i++) {
		if (!strcmp(s, t[i])) {
			*out = true;
			return 0;
		}
		if (!strcmp(s, f[i])) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

static int parse_verdict(const char *s, uint8_t *out)
{
	if (!strcmp(s, "allow"))
		*out = CGP_ALLOW;
	else if (!strcmp(s, "deny"))
		*out = CGP_DENY;
	else
		return -1;
	return 0;
}

static bool valid_name(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > CGP_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '.' && s[i] != '-')
			return false;
	return true;
}

static bool has_space(const char *s)
{
	return strpbrk(s, " \t") != NULL;
}

/* A sane cgroup path: absolute, no empty, "." or ".." components, no trailing '/'. */
static const char *check_cgroup_path(const char *s)
{
	size_t n = strlen(s);

	if (s[0] != '/')
		return "must start with '/'";
	if (n >= CGP_PATH_MAX)
		return "is too long";
	if (has_space(s))
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

/* Split on spaces/tabs in place. */
static unsigned tokenize(char *s, char **tok, unsigned max)
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

/* ------------------------------------------------------------------ rules */

static int parse_ports(struct pctx *c, int line, const char *s, struct cgp_rule *r)
{
	char tmp[CGP_MAX_LINE + 1];
	char *p, *item;

	if (strlen(s) >= sizeof(tmp)) {
		perr(c, line, "port list too long");
		return -1;
	}
	strcpy(tmp, s);
	r->nports = 0;
	p = tmp;
	for (;;) {
		char *comma = strchr(p, ',');
		char *dash;
		unsigned long lo, hi;

		if (comma)
			*comma = '\0';
		item = p;
		if (!*item) {
			perr(c, line, "empty item in port list '%s'", s);
			return -1;
		}
		if (r->nports >= CGP_MAX_PORT_RANGES) {
			perr(c, line, "more than %d items in port list", CGP_MAX_PORT_RANGES);
			return -1;
		}
		dash = strchr(item, '-');
		if (dash) {
			*dash = '\0';
			if (parse_uint(item, 65535, &lo) < 0 || lo == 0) {
				perr(c, line, "bad port '%s' (1-65535)", item);
				return -1;
			}
			if (parse_uint(dash + 1, 65535, &hi) < 0 || hi == 0) {
				perr(c, line, "bad port '%s' (1-65535)", dash + 1);
				return -1;
			}
			if (lo > hi) {
				perr(c, line, "bad port range '%lu-%lu' (start above end)", lo, hi);
				return -1;
			}
		} else {
			if (parse_uint(item, 65535, &lo) < 0 || lo == 0) {
				perr(c, line, "bad port '%s' (1-65535)", item);
				return -1;
			}
			hi = lo;
		}
		r->ports[r->nports].lo = (uint16_t)lo;
		r->ports[r->nports].hi = (uint16_t)hi;
		r->nports++;
		if (!comma)
			break;
		p = comma + 1;
	}
	return 0;
}

static int parse_rule(struct pctx *c, int line, uint8_t verdict, const char *value,
		      struct cgp_rule *r)
{
	char tmp[CGP_MAX_LINE + 1];
	char *tok[6];
	char msg[256];
	unsigned n;

	memset(r, 0, sizeof(*r));
	r->line = line;
	r->verdict = verdict;
	snprintf(tmp, sizeof(tmp), "%s", value);
	n = tokenize(tmp, tok, 6);
	if (n < 3) {
		perr(c, line, "incomplete rule, expected: DIRECTION PROTO ADDRESS [port PORTS]");
		return -1;
	}
	if (!strcmp(tok[0], "in"))
		r->dirs = CGP_DIR_BIT(CGP_DIR_IN);
	else if (!strcmp(tok[0], "out"))
		r->dirs = CGP_DIR_BIT(CGP_DIR_OUT);
	else if (!strcmp(tok[0], "both"))
		r->dirs = CGP_DIR_BIT(CGP_DIR_IN) | CGP_DIR_BIT(CGP_DIR_OUT);
	else {
		perr(c, line, "unknown direction '%s' (in, out or both)", tok[0]);
		return -1;
	}
	if (!strcmp(tok[1], "tcp"))
		r->proto = CGP_PROTO_TCP;
	else if (!strcmp(tok[1], "udp"))
		r->proto = CGP_PROTO_UDP;
	else if (!strcmp(tok[1], "icmp"))
		r->proto = CGP_PROTO_ICMP;
	else if (!strcmp(tok[1], "any"))
		r->proto = CGP_RULE_PROTO_ANY;
	else {
		perr(c, line, "unknown protocol '%s' (tcp, udp, icmp or any)", tok[1]);
		return -1;
	}
	if (parse_addr_msg(tok[2], r->addr, &r->plen, &r->is_v4, msg, sizeof(msg)) < 0) {
		perr(c, line, "%s", msg);
		return -1;
	}
	if (n == 3)
		return 0;
	if (strcmp(tok[3], "port") != 0) {
		perr(c, line, "unexpected '%s' after address (expected 'port PORTS' or end of rule)",
		     tok[3]);
		return -1;
	}
	if (r->proto != CGP_PROTO_TCP && r->proto != CGP_PROTO_UDP) {
		perr(c, line, "ports need tcp or udp (not %s)", cgp_proto_str(r->proto));
		return -1;
	}
	if (n == 4) {
		perr(c, line, "'port' needs a list of ports (N, N-M or a comma list)");
		return -1;
	}
	if (n > 5) {
		perr(c, line, "unexpected '%s' at end of rule (no spaces inside a port list)",
		     tok[5]);
		return -1;
	}
	return parse_ports(c, line, tok[4], r);
}

/* ------------------------------------------------------------------ sections */

static const char *const policy_scalars[] = {
	"cgroup", "default_ingress", "default_egress", "accelerate", "stats", "log", "mode", NULL
};
static const char *const agent_scalars[] = {
	"pin_path", "stats_interval", "stats_format", "stats_output", "events_output",
	"metrics_file", NULL
};
static const char *const reuse_scalars[] = { "port", "proto", "address", NULL };

static int scalar_index(const char *const *tab, const char *key)
{
	for (int i = 0; tab[i]; i++)
		if (!strcmp(tab[i], key))
			return i;
	return -1;
}

/* Checks of a section that need all of its keys. */
static void finish_section(struct pctx *c)
{
	struct cgp_config *cfg = c->cfg;

	if (c->failed)
		return;
	if (c->kind == S_POLICY) {
		struct cgp_policy *p = &cfg->policies[c->cur];
		if (!p->cgroup[0])
			perr(c, p->line, "[%s] missing cgroup =", p->name);
	} else if (c->kind == S_REUSE) {
		struct cgp_reuseport *rp = &cfg->reuseports[c->cur];
		unsigned wsum = 0;
		if (!rp->port) {
			perr(c, rp->line, "[reuseport %s] missing port =", rp->name);
			return;
		}
		if (!rp->nbackends) {
			perr(c, rp->line, "[reuseport %s] needs at least one backend =", rp->name);
			return;
		}
		for (unsigned i = 0; i < rp->nbackends; i++)
			wsum += rp->backends[i].weight;
		if (!wsum)
			perr(c, rp->line, "[reuseport %s] all backend weights are 0", rp->name);
	}
}

static int section_start(struct pctx *c, char *hdr, int line)
{
	struct cgp_config *cfg = c->cfg;
	char norm[sizeof(c->secs[0].hdr)];
	char *name = hdr;
	size_t n;
	enum sec_kind kind;

	finish_section(c);
	if (c->failed)
		return -1;
	c->kind = S_NONE;

	/* trim */
	while (*name == ' ' || *name == '\t')
		name++;
	n = strlen(name);
	while (n && (name[n - 1] == ' ' || name[n - 1] == '\t'))
		name[--n] = '\0';

	if (!strcmp(name, "agent")) {
		kind = S_AGENT;
		snprintf(norm, sizeof(norm), "agent");
	} else if (!strncmp(name, "reuseport", 9) && (name[9] == '\0' || name[9] == ' ' || name[9] == '\t')) {
		name += 9;
		while (*name == ' ' || *name == '\t')
			name++;
		if (!*name) {
			perr(c, line, "[reuseport] needs a name: [reuseport NAME]");
			return -1;
		}
		if (!valid_name(name)) {
			perr(c, line, "bad reuseport name '%s' (1-%d of A-Z a-z 0-9 _ . -)",
			     name, CGP_NAME_MAX);
			return -1;
		}
		kind = S_REUSE;
		snprintf(norm, sizeof(norm), "reuseport %s", name);
	} else {
		if (!valid_name(name)) {
			perr(c, line, "bad section name '[%s]' (1-%d of A-Z a-z 0-9 _ . -)",
			     name, CGP_NAME_MAX);
			return -1;
		}
		kind = S_POLICY;
		snprintf(norm, sizeof(norm), "%s", name);
	}

	for (unsigned i = 0; i < c->nsecs; i++) {
		if (!strcmp(c->secs[i].hdr, norm)) {
			perr(c, line, "duplicate section [%s] (first at line %d)", norm,
			     c->secs[i].line);
			return -1;
		}
	}
	if (c->nsecs == c->capsecs) {
		unsigned cap = c->capsecs ? c->capsecs * 2 : 16;
		struct sec_seen *s = realloc(c->secs, cap * sizeof(*s));
		if (!s) {
			perr(c, line, "out of memory");
			return -1;
		}
		c->secs = s;
		c->capsecs = cap;
	}
	snprintf(c->secs[c->nsecs].hdr, sizeof(c->secs[0].hdr), "%s", norm);
	c->secs[c->nsecs].line = line;
	c->nsecs++;

	for (int i = 0; i < MAX_SCALARS; i++)
		c->seen[i] = 0;
	snprintf(c->curhdr, sizeof(c->curhdr), "[%s]", norm);

	if (kind == S_POLICY) {
		struct cgp_policy *p;
		if (cfg->npolicies >= CGP_MAX_POLICIES) {
			perr(c, line, "too many policy sections (max %d)", CGP_MAX_POLICIES);
			return -1;
		}
		if (cfg->npolicies == c->cap_policies) {
			/* doubling: growing by one is quadratic over 1023 x 4 KiB policies */
			unsigned cap = c->cap_policies ? c->cap_policies * 2 : 4;
			p = realloc(cfg->policies, cap * sizeof(*p));
			if (!p) {
				perr(c, line, "out of memory");
				return -1;
			}
			cfg->policies = p;
			c->cap_policies = cap;
		}
		p = &cfg->policies[cfg->npolicies];
		memset(p, 0, sizeof(*p));
		snprintf(p->name, sizeof(p->name), "%s", name);
		p->line = line;
		p->def[CGP_DIR_IN] = CGP_ALLOW;
		p->def[CGP_DIR_OUT] = CGP_ALLOW;
		p->accelerate = false;
		p->stats = true;
		c->cur = cfg->npolicies++;
	} else if (kind == S_REUSE) {
		struct cgp_reuseport *rp;
		if (cfg->nreuseports >= CGP_MAX_POLICIES) {
			perr(c, line, "too many reuseport sections (max %d)", CGP_MAX_POLICIES);
			return -1;
		}
		if (cfg->nreuseports == c->cap_reuseports) {
			unsigned cap = c->cap_reuseports ? c->cap_reuseports * 2 : 4;
			rp = realloc(cfg->reuseports, cap * sizeof(*rp));
			if (!rp) {
				perr(c, line, "out of memory");
				return -1;
			}
			cfg->reuseports = rp;
			c->cap_reuseports = cap;
		}
		rp = &cfg->reuseports[cfg->nreuseports];
		memset(rp, 0, sizeof(*rp));
		snprintf(rp->name, sizeof(rp->name), "%s", name);
		rp->line = line;
		rp->proto = CGP_PROTO_TCP;
		c->cur = cfg->nreuseports++;
	}
	c->kind = kind;
	return 0;
}

/* Duplicate-scalar bookkeeping; -1 (error set) when `key` was already given. */
static int once(struct pctx *c, int line, const char *const *tab, const char *key)
{
	int i = scalar_index(tab, key);

	if (i < 0)
		return 0;
	if (c->seen[i]) {
		perr(c, line, "duplicate key '%s' in %s (first at line %d)", key, c->curhdr,
		     c->seen[i]);
		return -1;
	}
	c->seen[i] = line;
	return 0;
}

static int policy_key(struct pctx *c, int line, const char *key, const char *value)
{
	struct cgp_policy *p = &c->cfg->policies[c->cur];
	uint8_t v;

	if (!strcmp(key, "allow") || !strcmp(key, "deny")) {
		struct cgp_rule *r;
		if (p->nrules >= CGP_MAX_RULES) {
			perr(c, line, "[%s] has more than %d rules", p->name, CGP_MAX_RULES);
			return -1;
		}
		if (p->nrules == p->cap_rules) {
			unsigned cap = p->cap_rules ? p->cap_rules * 2 : 8;
			if (cap > CGP_MAX_RULES)
				cap = CGP_MAX_RULES;
			r = realloc(p->rules, (size_t)cap * sizeof(*r));
			if (!r) {
				perr(c, line, "out of memory");
				return -1;
			}
			p->rules = r;
			p->cap_rules = cap;
		}
		r = &p->rules[p->nrules];
		if (parse_rule(c, line, key[0] == 'a' ? CGP_ALLOW : CGP_DENY, value, r) < 0)
			return -1;
		p->nrules++;
		return 0;
	}
	if (scalar_index(policy_scalars, key) < 0) {
		perr(c, line, "unknown key '%s' in %s", key, c->curhdr);
		return -1;
	}
	if (once(c, line, policy_scalars, key) < 0)
		return -1;
	if (!strcmp(key, "cgroup")) {
		const char *why = check_cgroup_path(value);
		if (why) {
			perr(c, line, "bad cgroup '%s': %s", value, why);
			return -1;
		}
		snprintf(p->cgroup, sizeof(p->cgroup), "%s", value);
		p->cgroup_line = line;
	} else if (!strcmp(key, "default_ingress") || !strcmp(key, "default_egress")) {
		if (parse_verdict(value, &v) < 0) {
			perr(c, line, "bad %s '%s' (allow or deny)", key, value);
			return -1;
		}
		p->def[key[8] == 'i' ? CGP_DIR_IN : CGP_DIR_OUT] = v;
	} else if (!strcmp(key, "log")) {
		if (strcmp(value, "deny") && strcmp(value, "off")) {
			perr(c, line, "bad log '%s' (deny or off)", value);
			return -1;
		}
		p->log_deny = value[0] == 'd';
	} else if (!strcmp(key, "mode")) {
		if (strcmp(value, "enforce") && strcmp(value, "audit")) {
			perr(c, line, "bad mode '%s' (enforce or audit)", value);
			return -1;
		}
		p->audit = value[0] == 'a';
	} else {
		bool b;
		if (parse_bool(value, &b) < 0) {
			perr(c, line, "bad %s '%s' (yes, no, true, false, on, off, 1 or 0)", key, value);
			return -1;
		}
		if (!strcmp(key, "accelerate"))
			p->accelerate = b;
		else
			p->stats = b;
	}
	return 0;
}

static int agent_key(struct pctx *c, int line, const char *key, const char *value)
{
	struct cgp_agent_conf *a = &c->cfg->agent;
	unsigned long v;

	if (scalar_index(agent_scalars, key) < 0) {
		perr(c, line, "unknown key '%s' in [agent]", key);
		return -1;
	}
	if (once(c, line, agent_scalars, key) < 0)
		return -1;
	if (!strcmp(key, "pin_path")) {
		if (value[0] != '/' || has_space(value) || strlen(value) >= sizeof(a->pin_path)) {
			perr(c, line, "bad pin_path '%s' (an absolute path without spaces)", value);
			return -1;
		}
		snprintf(a->pin_path, sizeof(a->pin_path), "%s", value);
		a->pin_path_line = line;
	} else if (!strcmp(key, "stats_interval")) {
		if (parse_uint(value, 86400, &v) < 0) {
			perr(c, line, "bad stats_interval '%s' (seconds, 0-86400)", value);
			return -1;
		}
		a->stats_interval = (unsigned)v;
	} else if (!strcmp(key, "stats_format")) {
		if (!strcmp(value, "json"))
			a->stats_format = CGP_STATS_JSON;
		else if (!strcmp(value, "table"))
			a->stats_format = CGP_STATS_TABLE;
		else {
			perr(c, line, "bad stats_format '%s' (json or table)", value);
			return -1;
		}
	} else if (!strcmp(key, "events_output") || !strcmp(key, "metrics_file")) {
		char *dst = key[0] == 'e' ? a->events_output : a->metrics_file;

		if (has_space(value) || strlen(value) >= sizeof(a->events_output) ||
		    (value[0] != '/' && strcmp(value, "-"))) {
			perr(c, line, "bad %s '%s' (an absolute path without spaces%s)", key, value,
			     key[0] == 'e' ? ", or '-' for the log" : "");
			return -1;
		}
		snprintf(dst, CGP_PATH_MAX, "%s", value);
	} else {
		if (has_space(value) || strlen(value) >= sizeof(a->stats_output)) {
			perr(c, line, "bad stats_output '%s' ('-' or a path without spaces)", value);
			return -1;
		}
		snprintf(a->stats_output, sizeof(a->stats_output), "%s", value);
	}
	return 0;
}

static int reuse_key(struct pctx *c, int line, const char *key, const char *value)
{
	struct cgp_reuseport *rp = &c->cfg->reuseports[c->cur];
	unsigned long v;

	if (!strcmp(key, "backend")) {
		char tmp[CGP_MAX_LINE + 1];
		char *tok[3];
		unsigned n;
		struct cgp_backend *b;

		snprintf(tmp, sizeof(tmp), "%s", value);
		n = tokenize(tmp, tok, 3);
		if (n != 2) {
			perr(c, line, "bad backend '%s' (expected: POLICY WEIGHT)", value);
			return -1;
		}
		if (!valid_name(tok[0])) {
			perr(c, line, "bad backend policy name '%s'", tok[0]);
			return -1;
		}
		if (parse_uint(tok[1], 100, &v) < 0) {
			perr(c, line, "bad weight '%s' (0-100)", tok[1]);
			return -1;
		}
		for (unsigned i = 0; i < rp->nbackends; i++) {
			if (!strcmp(rp->backends[i].policy, tok[0])) {
				perr(c, line, "duplicate backend '%s' in %s (first at line %d)",
				     tok[0], c->curhdr, rp->backends[i].line);
				return -1;
			}
		}
		if (rp->nbackends >= CGP_MAX_BACKENDS) {
			perr(c, line, "more than %d backends in %s", CGP_MAX_BACKENDS, c->curhdr);
			return -1;
		}
		b = &rp->backends[rp->nbackends++];
		snprintf(b->policy, sizeof(b->policy), "%s", tok[0]);
		b->weight = (unsigned)v;
		b->line = line;
		return 0;
	}
	if (scalar_index(reuse_scalars, key) < 0) {
		perr(c, line, "unknown key '%s' in %s", key, c->curhdr);
		return -1;
	}
	if (once(c, line, reuse_scalars, key) < 0)
		return -1;
	if (!strcmp(key, "port")) {
		if (parse_uint(value, 65535, &v) < 0 || v == 0) {
			perr(c, line, "bad port '%s' (1-65535)", value);
			return -1;
		}
		rp->port = (uint16_t)v;
	} else if (!strcmp(key, "proto")) {
		if (!strcmp(value, "tcp"))
			rp->proto = CGP_PROTO_TCP;
		else if (!strcmp(value, "udp"))
			rp->proto = CGP_PROTO_UDP;
		else {
			perr(c, line, "bad proto '%s' (tcp or udp)", value);
			return -1;
		}
	} else {
		char msg[256];
		uint8_t plen;
		bool v4;
		if (strchr(value, '/') || !strcmp(value, "any")) {
			perr(c, line, "bad address '%s' (a single IP address; leave address out for any)",
			     value);
			return -1;
		}
		if (parse_addr_msg(value, rp->addr, &plen, &v4, msg, sizeof(msg)) < 0) {
			perr(c, line, "%s", msg);
			return -1;
		}
		rp->has_addr = true;
	}
	return 0;
}

static int handler(void *user, const char *section, const char *key, const char *value)
{
	struct pctx *c = user;
	int line = c->lineno;

	(void)section;
	if (c->failed)
		return 1;
	if (c->kind == S_NONE) {
		perr(c, line, "key '%s' outside any section", key);
		return 0;
	}
	if (!*value) {
		/* let unknown keys be reported as such first */
		const char *const *tab = c->kind == S_AGENT ? agent_scalars :
					 c->kind == S_REUSE ? reuse_scalars : policy_scalars;
		bool known = scalar_index(tab, key) >= 0 ||
			     (c->kind == S_POLICY && (!strcmp(key, "allow") || !strcmp(key, "deny"))) ||
			     (c->kind == S_REUSE && !strcmp(key, "backend"));
		if (known)
			perr(c, line, "empty value for '%s' in %s", key, c->curhdr);
		else
			perr(c, line, "unknown key '%s' in %s", key, c->curhdr);
		return 0;
	}
	switch (c->kind) {
	case S_AGENT:
		return agent_key(c, line, key, value) == 0;
	case S_POLICY:
		return policy_key(c, line, key, value) == 0;
	case S_REUSE:
		return reuse_key(c, line, key, value) == 0;
	default:
		return 0;
	}
}

/* ------------------------------------------------------------------ reader */

/* NUL, control characters (other than tab), invalid UTF-8. */
static int check_text(struct pctx *c, int line, const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n; ) {
		unsigned char ch = s[i];
		unsigned need;
		uint32_t cp;

		if (ch == 0) {
			perr(c, line, "NUL byte (not a text file?)");
			return -1;
		}
		if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
			perr(c, line, "control character 0x%02x (not a text file?)", ch);
			return -1;
		}
		if (ch < 0x80) {
			i++;
			continue;
		}
		if (ch >= 0xc2 && ch <= 0xdf) {
			need = 1;
			cp = ch & 0x1f;
		} else if (ch >= 0xe0 && ch <= 0xef) {
			need = 2;
			cp = ch & 0x0f;
		} else if (ch >= 0xf0 && ch <= 0xf4) {
			need = 3;
			cp = ch & 0x07;
		} else {
			goto bad;
		}
		if (i + need >= n)
			goto bad;
		for (unsigned k = 1; k <= need; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				goto bad;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((need == 2 && cp < 0x800) || (need == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			goto bad;
		i += need + 1;
	}
	return 0;
bad:
	perr(c, line, "invalid UTF-8 (not a text file?)");
	return -1;
}

/* Classify a raw line (NUL-terminated copy); handles [section] headers. */
static int classify(struct pctx *c, int line, char *l)
{
	char *s = l, *e;

	while (*s == ' ' || *s == '\t')
		s++;
	if (!*s || *s == ';' || *s == '#')
		return 0;			/* blank or comment */
	if (s != l) {
		perr(c, line, "continuation lines are not supported (remove the indentation)");
		return -1;
	}
	if (*s == '[') {
		char hdr[CGP_MAX_LINE + 1];
		e = strchr(s, ']');
		if (!e) {
			perr(c, line, "not a key = value line or [section] header");
			return -1;
		}
		memcpy(hdr, s + 1, (size_t)(e - s - 1));
		hdr[e - s - 1] = '\0';
		for (e++; *e == ' ' || *e == '\t'; e++)
			;
		if (*e && *e != ';' && *e != '#') {
			perr(c, line, "unexpected text after section header");
			return -1;
		}
		return section_start(c, hdr, line);
	}
	/* key line: the first of '=', ':' or an inline " ;" comment must be '=' */
	for (e = s; *e; e++) {
		if (*e == '=')
			break;
		if (*e == ':' || (*e == ';' && e > s && (e[-1] == ' ' || e[-1] == '\t')))
			break;
	}
	if (*e != '=' || e == s) {
		perr(c, line, "not a key = value line or [section] header");
		return -1;
	}
	return 0;
}

static char *reader(char *str, int num, void *stream)
{
	struct pctx *c = stream;
	const char *l, *nl;
	size_t start, n;

	if (c->failed || c->pos >= c->len)
		return NULL;
	start = c->pos;
	nl = memchr(c->buf + start, '\n', c->len - start);
	n = nl ? (size_t)(nl - (c->buf + start)) : c->len - start;
	c->pos = start + n + (nl ? 1 : 0);
	c->lineno++;
	l = c->buf + start;
	if (n && l[n - 1] == '\r')
		n--;
	if (c->lineno == 1 && n >= 3 && !memcmp(l, "\xef\xbb\xbf", 3)) {
		l += 3;
		n -= 3;
	}
	if (check_text(c, c->lineno, (const unsigned char *)l, n) < 0)
		return NULL;
	if (n > CGP_MAX_LINE || n + 1 > (size_t)num) {
		perr(c, c->lineno, "line longer than %d characters", CGP_MAX_LINE);
		return NULL;
	}
	memcpy(str, l, n);
	str[n] = '\0';
	{
		char copy[CGP_MAX_LINE + 1];
		memcpy(copy, str, n + 1);
		if (classify(c, c->lineno, copy) < 0)
			return NULL;
	}
	return str;
}

/* ------------------------------------------------------------------ config */

void cgp_config_free(struct cgp_config *cfg)
{
	if (!cfg)
		return;
	for (unsigned i = 0; i < cfg->npolicies; i++)
		free(cfg->policies[i].rules);
	free(cfg->policies);
	free(cfg->reuseports);
	memset(cfg, 0, sizeof(*cfg));
}

const struct cgp_policy *cgp_config_find(const struct cgp_config *cfg, const char *name)
{
	for (unsigned i = 0; i < cfg->npolicies; i++)
		if (!strcmp(cfg->policies[i].name, name))
			return &cfg->policies[i];
	return NULL;
}

/* Checks across sections; the error with the smallest line is reported. */
static void check_global(struct pctx *c)
{
	struct cgp_config *cfg = c->cfg;
	int best = 0;
	char msg[512] = "";

	for (unsigned j = 1; j < cfg->npolicies && !best; j++) {
		for (unsigned i = 0; i < j; i++) {
			if (!strcmp(cfg->policies[i].cgroup, cfg->policies[j].cgroup)) {
				best = cfg->policies[j].cgroup_line;
				snprintf(msg, sizeof(msg),
					 "cgroup '%.200s' already used by [%s] (line %d)",
					 cfg->policies[j].cgroup, cfg->policies[i].name,
					 cfg->policies[i].cgroup_line);
				break;
			}
		}
	}
	for (unsigned i = 0; i < cfg->nreuseports; i++) {
		const struct cgp_reuseport *rp = &cfg->reuseports[i];
		for (unsigned k = 0; k < rp->nbackends; k++) {
			const struct cgp_backend *b = &rp->backends[k];
			if (cgp_config_find(cfg, b->policy))
				continue;
			if (!best || b->line < best) {
				best = b->line;
				snprintf(msg, sizeof(msg),
					 "backend '%s' of [reuseport %s] is not a policy section",
					 b->policy, rp->name);
			}
		}
		for (unsigned j = 0; j < i; j++) {
			const struct cgp_reuseport *o = &cfg->reuseports[j];
			if (o->port == rp->port && o->proto == rp->proto &&
			    o->has_addr == rp->has_addr &&
			    (!rp->has_addr || !memcmp(o->addr, rp->addr, 16)) &&
			    (!best || rp->line < best)) {
				best = rp->line;
				snprintf(msg, sizeof(msg),
					 "[reuseport %s] has the same port, proto and address as [reuseport %s] (line %d)",
					 rp->name, o->name, o->line);
			}
		}
	}
	if (best)
		perr(c, best, "%s", msg);
}

int cgp_config_parse(const char *name, const char *buf, size_t len,
		     struct cgp_config *cfg, char *err, size_t errlen)
{
	struct pctx c;
	int r;

	memset(cfg, 0, sizeof(*cfg));
	memset(&c, 0, sizeof(c));
	c.name = name;
	c.buf = buf;
	c.len = len;
	c.err = err;
	c.errlen = errlen;
	c.cfg = cfg;
	if (err && errlen)
		err[0] = '\0';

	snprintf(cfg->file, sizeof(cfg->file), "%s", name);
	snprintf(cfg->agent.pin_path, sizeof(cfg->agent.pin_path), "%s", CGP_DEFAULT_PIN_PATH);
	cfg->agent.stats_interval = 10;
	cfg->agent.stats_format = CGP_STATS_JSON;
	snprintf(cfg->agent.stats_output, sizeof(cfg->agent.stats_output), "-");

	if (len == 0) {
		perr(&c, 0, "empty policy file");
		goto fail;
	}
	if (len > CGP_MAX_FILE_SIZE) {
		perr(&c, 0, "larger than %u bytes", CGP_MAX_FILE_SIZE);
		goto fail;
	}

	r = ini_parse_stream(reader, &c, handler, &c);
	if (r > 0 && (!c.failed || r < c.errline)) {
		c.failed = false;
		perr(&c, r, "not a key = value line or [section] header");
	} else if (r < 0 && !c.failed) {
		perr(&c, 0, "cannot parse (inih error %d)", r);
	}
	if (c.failed)
		goto fail;
	finish_section(&c);
	if (c.failed)
		goto fail;
	if (cfg->npolicies == 0) {
		perr(&c, 0, "no policy sections");
		goto fail;
	}
	check_global(&c);
	if (c.failed)
		goto fail;
	free(c.secs);
	return 0;
fail:
	free(c.secs);
	cgp_config_free(cfg);
	return -1;
}

int cgp_config_load(const char *path, struct cgp_config *cfg, char *err, size_t errlen)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0, cap = 0;
	int fd, ret;

	memset(cfg, 0, sizeof(*cfg));
	/*
	 * O_NONBLOCK: opening a FIFO nobody writes to would block forever; this
	 * way it reads as empty. Cleared right after, so a pipe that has a writer
	 * (cgpolicy check <(generate)) is read to its end.
	 */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	{
		int fl = fcntl(fd, F_GETFL);
		if (fl >= 0)
			(void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	}
	if (fstat(fd, &st) < 0) {
		snprintf(err, errlen, "%s: cannot stat: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s: is a directory, not a policy file", path);
		close(fd);
		return -1;
	}
	if (S_ISREG(st.st_mode) && (unsigned long long)st.st_size > CGP_MAX_FILE_SIZE) {
		snprintf(err, errlen, "%s: larger than %u bytes", path, CGP_MAX_FILE_SIZE);
		close(fd);
		return -1;
	}
	for (;;) {
		ssize_t n;
		if (len == cap) {
			size_t ncap = cap ? cap * 2 : 65536;
			char *nb;
			if (ncap > CGP_MAX_FILE_SIZE + 1)
				ncap = CGP_MAX_FILE_SIZE + 1;
			if (ncap == cap) {
				snprintf(err, errlen, "%s: larger than %u bytes", path,
					 CGP_MAX_FILE_SIZE);
				free(buf);
				close(fd);
				return -1;
			}
			nb = realloc(buf, ncap);
			if (!nb) {
				snprintf(err, errlen, "%s: out of memory", path);
				free(buf);
				close(fd);
				return -1;
			}
			buf = nb;
			cap = ncap;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
			free(buf);
			close(fd);
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (len > CGP_MAX_FILE_SIZE) {
		snprintf(err, errlen, "%s: larger than %u bytes", path, CGP_MAX_FILE_SIZE);
		free(buf);
		return -1;
	}
	ret = cgp_config_parse(path, buf ? buf : "", len, cfg, err, errlen);
	free(buf);
	return ret;
}
