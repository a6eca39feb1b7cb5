// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * section.c - [section] headers: [agent], [NAME] (a cgroup policy), [set NAME]
 * (sets.c) and [reuseport NAME]. The line reader (reader.c) calls cgp_section_start() for
 * every header, also for sections without keys, which inih never reports.
 * A header ends the section before it (its checks run first), is refused if
 * the same section was seen before, and starts a policy or reuseport entry
 * with its defaults.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "policy/parser.h"

static bool is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

/*
 * The kind of section `hdr` (trimmed in place) starts, its normalized header
 * (norm: "agent", "web", "reuseport api") and *name: the policy or reuseport
 * name inside hdr.
 */
static int header_kind(struct cgp_pctx *c, int line, char *hdr, char norm[CGP_NAME_MAX + 16],
		       char **name, enum cgp_sec_kind *kind)
{
	char *s = hdr;
	size_t n;

	while (is_blank(*s))
		s++;
	n = strlen(s);
	while (n && is_blank(s[n - 1]))
		s[--n] = '\0';

	if (!strcmp(s, "agent")) {
		*kind = CGP_SEC_AGENT;
		snprintf(norm, CGP_NAME_MAX + 16, "agent");
	} else if (!strncmp(s, "set", 3) && is_blank(s[3])) {
		s += 3;
		while (is_blank(*s))
			s++;
		if (!cgp_valid_name(s)) {
			cgp_perr(c, line, "bad set name '%s' (1-%d of A-Z a-z 0-9 _ . -)", s, CGP_NAME_MAX);
			return -1;
		}
		*kind = CGP_SEC_SET;
		snprintf(norm, CGP_NAME_MAX + 16, "set %s", s);
	} else if (!strncmp(s, "reuseport", 9) && (s[9] == '\0' || is_blank(s[9]))) {
		s += 9;
		while (is_blank(*s))
			s++;
		if (!*s) {
			cgp_perr(c, line, "[reuseport] needs a name: [reuseport NAME]");
			return -1;
		}
		if (!cgp_valid_name(s)) {
			cgp_perr(c, line, "bad reuseport name '%s' (1-%d of A-Z a-z 0-9 _ . -)",
				 s, CGP_NAME_MAX);
			return -1;
		}
		*kind = CGP_SEC_REUSEPORT;
		snprintf(norm, CGP_NAME_MAX + 16, "reuseport %s", s);
	} else {
		if (!cgp_valid_name(s)) {
			cgp_perr(c, line, "bad section name '[%s]' (1-%d of A-Z a-z 0-9 _ . -)",
				 s, CGP_NAME_MAX);
			return -1;
		}
		*kind = CGP_SEC_POLICY;
		snprintf(norm, CGP_NAME_MAX + 16, "%s", s);
	}
	*name = s;
	return 0;
}

/* Record the section; -1 (error set) if it was seen before. */
static int remember_section(struct cgp_pctx *c, int line, const char *norm)
{
	struct cgp_sec_seen *s;

	for (unsigned i = 0; i < c->nsecs; i++) {
		if (!strcmp(c->secs[i].hdr, norm)) {
			cgp_perr(c, line, "duplicate section [%s] (first at line %d)", norm,
				 c->secs[i].line);
			return -1;
		}
	}
	s = cgp_grow(c, line, c->secs, c->nsecs, &c->capsecs, 16, UINT_MAX, sizeof(*s));
	if (!s)
		return -1;
	c->secs = s;
	snprintf(c->secs[c->nsecs].hdr, sizeof(c->secs[0].hdr), "%s", norm);
	c->secs[c->nsecs].line = line;
	c->nsecs++;
	return 0;
}

static void policy_defaults(struct cgp_policy *p, const char *name, int line)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->line = line;
	p->def[CGP_DIR_IN] = CGP_ALLOW;
	p->def[CGP_DIR_OUT] = CGP_ALLOW;
	p->dns_mode = CGP_DNS_PACKET;
	p->accelerate = false;
	p->stats = true;
}

static void reuseport_defaults(struct cgp_reuseport *rp, const char *name, int line)
{
	memset(rp, 0, sizeof(*rp));
	snprintf(rp->name, sizeof(rp->name), "%s", name);
	rp->line = line;
	rp->proto = CGP_PROTO_TCP;
}

/* A new entry in cfg->policies or cfg->reuseports, with its defaults; c->cur is its index. */
static int new_entry(struct cgp_pctx *c, int line, enum cgp_sec_kind kind, const char *name)
{
	struct cgp_config *cfg = c->cfg;
	bool policy = kind == CGP_SEC_POLICY;
	unsigned *n = policy ? &cfg->npolicies : &cfg->nreuseports;

	if (*n >= CGP_MAX_POLICIES) {
		cgp_perr(c, line, "too many %s sections (max %d)", policy ? "policy" : "reuseport",
			 CGP_MAX_POLICIES);
		return -1;
	}
	/* doubling: growing by one is quadratic over 1023 x 4 KiB policies */
	if (policy) {
		struct cgp_policy *p = cgp_grow(c, line, cfg->policies, *n, &c->cap_policies, 4,
						UINT_MAX, sizeof(*p));
		if (!p)
			return -1;
		cfg->policies = p;
		policy_defaults(&p[*n], name, line);
	} else {
		struct cgp_reuseport *rp = cgp_grow(c, line, cfg->reuseports, *n,
						    &c->cap_reuseports, 4, UINT_MAX, sizeof(*rp));
		if (!rp)
			return -1;
		cfg->reuseports = rp;
		reuseport_defaults(&rp[*n], name, line);
	}
	c->cur = (*n)++;
	return 0;
}

int cgp_section_start(struct cgp_pctx *c, char *hdr, int line)
{
	char norm[sizeof(c->secs[0].hdr)];
	enum cgp_sec_kind kind;
	char *name;

	cgp_finish_section(c);
	if (c->failed)
		return -1;
	c->kind = CGP_SEC_NONE;
	if (header_kind(c, line, hdr, norm, &name, &kind) < 0 ||
	    remember_section(c, line, norm) < 0)
		return -1;

	for (int i = 0; i < CGP_MAX_SCALARS; i++)
		c->seen[i] = 0;
	snprintf(c->curhdr, sizeof(c->curhdr), "[%s]", norm);

	if ((kind == CGP_SEC_POLICY || kind == CGP_SEC_REUSEPORT) && new_entry(c, line, kind, name) < 0)
		return -1;
	if (kind == CGP_SEC_SET && cgp_set_start(c, line, name) < 0)
		return -1;
	c->kind = kind;
	return 0;
}
