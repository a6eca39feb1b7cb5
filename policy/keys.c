// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * keys.c - one `key = value` line, as inih hands it over: dispatched by the
 * kind of the current section to the keys of [agent], of a policy [NAME]
 * and of [reuseport NAME] (docs/POLICY.md). A scalar key may appear once
 * per section; allow/deny and backend repeat.
 */
#include <stdio.h>
#include <string.h>

#include "policy/parser.h"

static const char *const policy_scalars[] = {
	"cgroup", "default_ingress", "default_egress", "accelerate", "stats", "log", "mode",
	"lockout", "dns", "dns_servers", NULL
};
static const char *const agent_scalars[] = {
	"pin_path", "stats_interval", "stats_format", "stats_output", "events_output",
	"metrics_file", "dns_servers", "dns_ttl_min", "dns_ttl_max", "dns_grace", NULL
};
static const char *const reuse_scalars[] = { "port", "proto", "address", NULL };

static int scalar_index(const char *const *tab, const char *key)
{
	for (int i = 0; tab[i]; i++)
		if (!strcmp(tab[i], key))
			return i;
	return -1;
}

/* A single-valued key of the section (tab): -1 (error set) if unknown here or given before. */
static int scalar_key(struct cgp_pctx *c, int line, const char *const *tab, const char *key)
{
	int i = scalar_index(tab, key);

	if (i < 0) {
		cgp_perr(c, line, "unknown key '%s' in %s", key, c->curhdr);
		return -1;
	}
	if (c->seen[i]) {
		cgp_perr(c, line, "duplicate key '%s' in %s (first at line %d)", key, c->curhdr,
			 c->seen[i]);
		return -1;
	}
	c->seen[i] = line;
	return 0;
}

/* KEY = one of the words of table; else "bad KEY 'VALUE' (choices)". */
static int word_key(struct cgp_pctx *c, int line, const char *key, const char *value,
		    const struct cgp_word *table, const char *choices, int *v)
{
	if (cgp_parse_word(value, table, v) == 0)
		return 0;
	cgp_perr(c, line, "bad %s '%s' (%s)", key, value, choices);
	return -1;
}

static const struct cgp_word log_words[] = { { "deny", 1 }, { "off", 0 }, { NULL, 0 } };
static const struct cgp_word mode_words[] = { { "audit", 1 }, { "enforce", 0 }, { NULL, 0 } };
static const struct cgp_word lockout_words[] = { { "accept", 1 }, { "refuse", 0 }, { NULL, 0 } };
static const struct cgp_word dns_words[] = {
	{ "packet", CGP_DNS_PACKET }, { "agent", CGP_DNS_AGENT }, { "both", CGP_DNS_BOTH },
	{ NULL, 0 }
};
static const struct cgp_word stats_format_words[] = {
	{ "json", CGP_STATS_JSON }, { "table", CGP_STATS_TABLE }, { NULL, 0 }
};
static const struct cgp_word reuse_proto_words[] = {
	{ "tcp", CGP_PROTO_TCP }, { "udp", CGP_PROTO_UDP }, { NULL, 0 }
};

/* ------------------------------------------------------------------ [NAME] */

static int add_rule(struct cgp_pctx *c, int line, struct cgp_policy *p, uint8_t verdict,
		    const char *value)
{
	struct cgp_rule *r;

	if (p->nrules >= CGP_MAX_RULES) {
		cgp_perr(c, line, "[%s] has more than %d rules", p->name, CGP_MAX_RULES);
		return -1;
	}
	r = cgp_grow(c, line, p->rules, p->nrules, &p->cap_rules, 8, CGP_MAX_RULES, sizeof(*r));
	if (!r)
		return -1;
	p->rules = r;
	if (cgp_parse_rule(c, line, verdict, value, &p->rules[p->nrules]) < 0)
		return -1;
	p->nrules++;
	return 0;
}

static int policy_key(struct cgp_pctx *c, int line, const char *key, const char *value)
{
	struct cgp_policy *p = &c->cfg->policies[c->cur];
	int v;

	if (!strcmp(key, "allow") || !strcmp(key, "deny"))
		return add_rule(c, line, p, key[0] == 'a' ? CGP_ALLOW : CGP_DENY, value);
	if (scalar_key(c, line, policy_scalars, key) < 0)
		return -1;
	if (!strcmp(key, "cgroup")) {
		const char *why = cgp_check_cgroup_path(value);
		if (why) {
			cgp_perr(c, line, "bad cgroup '%s': %s", value, why);
			return -1;
		}
		snprintf(p->cgroup, sizeof(p->cgroup), "%s", value);
		p->cgroup_line = line;
	} else if (!strcmp(key, "default_ingress") || !strcmp(key, "default_egress")) {
		if (word_key(c, line, key, value, cgp_verdict_words, "allow or deny", &v) < 0)
			return -1;
		p->def[key[8] == 'i' ? CGP_DIR_IN : CGP_DIR_OUT] = (uint8_t)v;
	} else if (!strcmp(key, "log")) {
		if (word_key(c, line, key, value, log_words, "deny or off", &v) < 0)
			return -1;
		p->log_deny = v;
	} else if (!strcmp(key, "mode")) {
		if (word_key(c, line, key, value, mode_words, "enforce or audit", &v) < 0)
			return -1;
		p->audit = v;
	} else if (!strcmp(key, "dns")) {
		if (word_key(c, line, key, value, dns_words, "packet, agent or both", &v) < 0)
			return -1;
		p->dns_mode = (uint8_t)v;
	} else if (!strcmp(key, "dns_servers")) {
		return cgp_parse_dns_servers(c, line, value, &p->dns_servers);
	} else if (!strcmp(key, "lockout")) {
		if (word_key(c, line, key, value, lockout_words, "refuse or accept", &v) < 0)
			return -1;
		p->lockout_accept = v;
	} else if (word_key(c, line, key, value, cgp_bool_words,	/* accelerate, stats */
			    "yes, no, true, false, on, off, 1 or 0", &v) < 0) {
		return -1;
	} else if (!strcmp(key, "accelerate")) {
		p->accelerate = v;
	} else {
		p->stats = v;
	}
	return 0;
}

/* ------------------------------------------------------------------ [agent] */

/* events_output, metrics_file: an absolute path, or '-' (events_output only, the log) */
static int agent_output(struct cgp_pctx *c, int line, const char *key, const char *value)
{
	struct cgp_agent_conf *a = &c->cfg->agent;
	bool events = key[0] == 'e';

	if (cgp_has_space(value) || strlen(value) >= sizeof(a->events_output) ||
	    (value[0] != '/' && strcmp(value, "-"))) {
		cgp_perr(c, line, "bad %s '%s' (an absolute path without spaces%s)", key, value,
			 events ? ", or '-' for the log" : "");
		return -1;
	}
	snprintf(events ? a->events_output : a->metrics_file, CGP_PATH_MAX, "%s", value);
	return 0;
}

/* dns_servers, dns_ttl_min, dns_ttl_max (seconds, 1-604800), dns_grace (0-86400) */
static int agent_dns_key(struct cgp_pctx *c, int line, const char *key, const char *value)
{
	struct cgp_agent_conf *a = &c->cfg->agent;
	bool grace = !strcmp(key, "dns_grace");
	unsigned long max = grace ? 86400 : 604800, v;

	if (!strcmp(key, "dns_servers"))
		return cgp_parse_dns_servers(c, line, value, &a->dns_servers);
	if (cgp_parse_uint(value, max, &v) < 0 || (!grace && !v)) {
		cgp_perr(c, line, "bad %s '%s' (seconds, %d-%lu)", key, value, !grace, max);
		return -1;
	}
	if (grace)
		a->dns_grace = (unsigned)v;
	else if (!strcmp(key, "dns_ttl_min"))
		a->dns_ttl_min = (unsigned)v;
	else
		a->dns_ttl_max = (unsigned)v;
	if (!grace)
		c->dns_ttl_line = line;
	return 0;
}

static int agent_key(struct cgp_pctx *c, int line, const char *key, const char *value)
{
	struct cgp_agent_conf *a = &c->cfg->agent;
	unsigned long v;

	if (scalar_key(c, line, agent_scalars, key) < 0)	/* curhdr: "[agent]" */
		return -1;
	if (!strcmp(key, "pin_path")) {
		if (value[0] != '/' || cgp_has_space(value) || strlen(value) >= sizeof(a->pin_path)) {
			cgp_perr(c, line, "bad pin_path '%s' (an absolute path without spaces)", value);
			return -1;
		}
		snprintf(a->pin_path, sizeof(a->pin_path), "%s", value);
		a->pin_path_line = line;
	} else if (!strcmp(key, "stats_interval")) {
		if (cgp_parse_uint(value, 86400, &v) < 0) {
			cgp_perr(c, line, "bad stats_interval '%s' (seconds, 0-86400)", value);
			return -1;
		}
		a->stats_interval = (unsigned)v;
	} else if (!strcmp(key, "stats_format")) {
		int f;
		if (word_key(c, line, key, value, stats_format_words, "json or table", &f) < 0)
			return -1;
		a->stats_format = (enum cgp_stats_format)f;
	} else if (!strcmp(key, "events_output") || !strcmp(key, "metrics_file")) {
		return agent_output(c, line, key, value);
	} else if (!strncmp(key, "dns_", 4)) {
		return agent_dns_key(c, line, key, value);
	} else {				/* stats_output */
		if (cgp_has_space(value) || strlen(value) >= sizeof(a->stats_output)) {
			cgp_perr(c, line, "bad stats_output '%s' ('-' or a path without spaces)", value);
			return -1;
		}
		snprintf(a->stats_output, sizeof(a->stats_output), "%s", value);
	}
	return 0;
}

/* ------------------------------------------------------------------ [reuseport NAME] */

/* backend = POLICY WEIGHT */
static int add_backend(struct cgp_pctx *c, int line, struct cgp_reuseport *rp, const char *value)
{
	char tmp[CGP_MAX_LINE + 1];
	char *tok[3];
	struct cgp_backend *b;
	unsigned long w;

	snprintf(tmp, sizeof(tmp), "%s", value);
	if (cgp_tokenize(tmp, tok, 3) != 2) {
		cgp_perr(c, line, "bad backend '%s' (expected: POLICY WEIGHT)", value);
		return -1;
	}
	if (!cgp_valid_name(tok[0])) {
		cgp_perr(c, line, "bad backend policy name '%s'", tok[0]);
		return -1;
	}
	if (cgp_parse_uint(tok[1], 100, &w) < 0) {
		cgp_perr(c, line, "bad weight '%s' (0-100)", tok[1]);
		return -1;
	}
	for (unsigned i = 0; i < rp->nbackends; i++) {
		if (!strcmp(rp->backends[i].policy, tok[0])) {
			cgp_perr(c, line, "duplicate backend '%s' in %s (first at line %d)",
				 tok[0], c->curhdr, rp->backends[i].line);
			return -1;
		}
	}
	if (rp->nbackends >= CGP_MAX_BACKENDS) {
		cgp_perr(c, line, "more than %d backends in %s", CGP_MAX_BACKENDS, c->curhdr);
		return -1;
	}
	b = &rp->backends[rp->nbackends++];
	snprintf(b->policy, sizeof(b->policy), "%s", tok[0]);
	b->weight = (unsigned)w;
	b->line = line;
	return 0;
}

/* address = one IP address (no prefix, not any) */
static int reuse_address(struct cgp_pctx *c, int line, struct cgp_reuseport *rp,
			 const char *value)
{
	char msg[256];
	uint8_t plen;
	bool v4;

	if (strchr(value, '/') || !strcmp(value, "any")) {
		cgp_perr(c, line, "bad address '%s' (a single IP address; leave address out for any)",
			 value);
		return -1;
	}
	if (cgp_parse_addr_msg(value, rp->addr, &plen, &v4, msg, sizeof(msg)) < 0) {
		cgp_perr(c, line, "%s", msg);
		return -1;
	}
	rp->has_addr = true;
	return 0;
}

static int reuse_key(struct cgp_pctx *c, int line, const char *key, const char *value)
{
	struct cgp_reuseport *rp = &c->cfg->reuseports[c->cur];
	unsigned long port;
	int proto;

	if (!strcmp(key, "backend"))
		return add_backend(c, line, rp, value);
	if (scalar_key(c, line, reuse_scalars, key) < 0)
		return -1;
	if (!strcmp(key, "address"))
		return reuse_address(c, line, rp, value);
	if (!strcmp(key, "port")) {
		if (cgp_parse_port(c, line, value, &port) < 0)
			return -1;
		rp->port = (uint16_t)port;
		return 0;
	}
	if (word_key(c, line, key, value, reuse_proto_words, "tcp or udp", &proto) < 0)
		return -1;
	rp->proto = (uint8_t)proto;		/* proto */
	return 0;
}

/* ------------------------------------------------------------------ dispatch */

/* An empty value: "empty value" for a key of the section, else "unknown key". */
static void empty_value(struct cgp_pctx *c, int line, const char *key)
{
	const char *const *tab = c->kind == CGP_SEC_AGENT ? agent_scalars :
				 c->kind == CGP_SEC_REUSEPORT ? reuse_scalars : policy_scalars;
	bool known = (c->kind != CGP_SEC_SET && scalar_index(tab, key) >= 0) ||
		     (c->kind == CGP_SEC_SET && (!strcmp(key, "address") || !strcmp(key, "dynamic"))) ||
		     (c->kind == CGP_SEC_POLICY && (!strcmp(key, "allow") || !strcmp(key, "deny"))) ||
		     (c->kind == CGP_SEC_REUSEPORT && !strcmp(key, "backend"));

	if (known)
		cgp_perr(c, line, "empty value for '%s' in %s", key, c->curhdr);
	else
		cgp_perr(c, line, "unknown key '%s' in %s", key, c->curhdr);
}

/* inih's handler: nonzero to go on. inih's own section name is not used (see reader.c). */
int cgp_ini_key(void *user, const char *section, const char *key, const char *value)
{
	struct cgp_pctx *c = user;
	int line = c->lineno;

	(void)section;
	if (c->failed)
		return 1;
	if (c->kind == CGP_SEC_NONE) {
		cgp_perr(c, line, "key '%s' outside any section", key);
		return 0;
	}
	if (!*value) {
		empty_value(c, line, key);
		return 0;
	}
	switch (c->kind) {
	case CGP_SEC_AGENT:
		return agent_key(c, line, key, value) == 0;
	case CGP_SEC_POLICY:
		return policy_key(c, line, key, value) == 0;
	case CGP_SEC_REUSEPORT:
		return reuse_key(c, line, key, value) == 0;
	case CGP_SEC_SET:
		return cgp_set_key(c, line, key, value) == 0;
	default:
		return 0;
	}
}
