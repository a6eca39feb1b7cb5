// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * explain_print.c - what explain prints: the flow, each judge with its
 * verdict, deciding rule (file:line and text), set member or exclusion and
 * precedence step in words, then the overall verdict; or the same as one
 * JSON object (--json).
 */
#include <stdio.h>
#include <string.h>

#include "agent/explain.h"
#include "policy/explain.h"
#include "util/addr.h"
#include "util/json.h"

static unsigned shown_plen(const struct explain *e, unsigned plen)
{
	return e->f.v4 && plen >= 96 ? plen - 96 : plen;
}

static const char *text_of(const struct explain *e, uint32_t line)
{
	const char *t = e->src && line ? cgp_srcfile_line(e->src, line) : NULL;

	return t ? t : "";
}

static const char *def_key(uint8_t dir)
{
	return dir == CGP_DIR_IN ? "default_ingress" : "default_egress";
}

static const struct set_name *set_of(const struct explain *e, uint16_t id)
{
	for (unsigned i = 0; i < e->nsets; i++)
		if (e->sets[i].id == id)
			return &e->sets[i];
	return NULL;
}

static const char *set_name(const struct explain *e, uint16_t id, char *buf, size_t len)
{
	const struct set_name *n = set_of(e, id);

	if (n && cgp_set_is_dns(n->name))
		snprintf(buf, len, "@%s (the DNS names of the rule)", n->name);
	else if (n)
		snprintf(buf, len, "@%s", n->name);
	else
		snprintf(buf, len, "set id %u", id);
	return buf;
}

/* The entry of a set that matched the address, as "10.1.0.0/16" (masked to its prefix). */
static void member_str(const struct explain *e, const struct cgp_set_match *m, char *buf, size_t len)
{
	uint8_t a[16];
	char s[CGP_ADDR_STRLEN];
	bool v4 = e->f.v4 && m->plen >= 96;

	memcpy(a, e->f.addr, 16);
	cgp_mask_addr(a, m->plen);
	cgp_addr_str(a, v4, s, sizeof(s));
	snprintf(buf, len, "%s/%u", s, v4 ? m->plen - 96u : m->plen);
}

/* "over /N of line L" for the best candidate that lost, "" if none. */
static void over_text(const struct explain *e, const struct judge *j, char *buf, size_t len)
{
	const struct cgp_decision *d = &j->d;
	char sn[CGP_NAME_MAX + 16];

	if (!d->other.found)
		buf[0] = '\0';
	else if (d->other_set >= 0)
		snprintf(buf, len, " (over /%u of line %u, member of %s)", shown_plen(e, d->other.plen), d->other.line,
			 set_name(e, d->sets[d->other_set].id, sn, sizeof(sn)));
	else
		snprintf(buf, len, " (over /%u of line %u)", shown_plen(e, d->other.plen), d->other.line);
}

/* The precedence step, in words. */
static void step_words(const struct explain *e, const struct judge *j, enum cgp_why why, char *buf, size_t len)
{
	const struct cgp_decision *d = &j->d;
	char over[128];

	over_text(e, j, over, sizeof(over));
	switch (why) {
	case CGP_WHY_DEFAULT:
		snprintf(buf, len, "no rule matches: %s = %s", def_key(e->f.dir), cgp_verdict_str(d->verdict));
		break;
	case CGP_WHY_PREFIX:
		snprintf(buf, len, "longest prefix /%u%s", shown_plen(e, d->plen), over);
		break;
	case CGP_WHY_SET_MEMBER:
		snprintf(buf, len, "set member /%u%s", shown_plen(e, d->plen), over);
		break;
	case CGP_WHY_PORT:
		snprintf(buf, len, "port rule over portless (line %u) at equal prefix /%u", d->other.line,
			 shown_plen(e, d->plen));
		break;
	case CGP_WHY_TIE_DENY:
		snprintf(buf, len, "deny on a tie with line %u (same prefix /%u%s)", d->tie_line,
			 shown_plen(e, d->plen), d->port_rule ? ", both with ports" : ", both without ports");
		break;
	case CGP_WHY_SET_EXCLUDED:
		snprintf(buf, len, "?");
		break;
	}
}

static void step_text(const struct explain *e, const struct judge *j, char *buf, size_t len)
{
	const struct cgp_decision *d = &j->d;

	if (d->why == CGP_WHY_SET_EXCLUDED) {
		const struct cgp_set_cand *s = &d->sets[d->excluded];
		char m[CGP_ADDR_STRLEN + 8], sn[CGP_NAME_MAX + 16], then[200];

		member_str(e, &s->m, m, sizeof(m));
		step_words(e, j, d->then, then, sizeof(then));
		snprintf(buf, len, "excluded from set %s by !%s (line %u does not apply); then %s",
			 set_name(e, s->id, sn, sizeof(sn)), m,
			 s->with_port.found ? s->with_port.line : s->portless.line, then);
		return;
	}
	step_words(e, j, d->why, buf, len);
}

/* "set @office member 10.1.0.0/16 (static, line 3)" for a set rule that decided. */
static void set_text(const struct explain *e, const struct judge *j, char *buf, size_t len)
{
	const struct cgp_set_cand *s = &j->d.sets[j->d.set];
	char m[CGP_ADDR_STRLEN + 8], sn[CGP_NAME_MAX + 16], src[64];

	member_str(e, &s->m, m, sizeof(m));
	if (s->m.line)
		snprintf(src, sizeof(src), "line %u", s->m.line);
	else
		snprintf(src, sizeof(src), "added by cgpolicy set add");
	if (!s->m.dynamic)
		snprintf(buf, len, "set %s: member %s (static, %s)", set_name(e, s->id, sn, sizeof(sn)), m, src);
	else if (s->m.expires_in >= 0)
		snprintf(buf, len, "set %s: member %s (dynamic, %s%s, expires in %llds)", set_name(e, s->id, sn, sizeof(sn)),
			 m, e->live ? "live, " : "", src, (long long)s->m.expires_in);
	else
		snprintf(buf, len, "set %s: member %s (dynamic, %s%s, no timeout)", set_name(e, s->id, sn, sizeof(sn)), m,
			 e->live ? "live, " : "initial content of the file, ", src);
}

/* " type echo-request (8 code 0)" for icmp, "" otherwise. */
static void icmp_text(const struct explain *e, char *buf, size_t len)
{
	const char *n;

	buf[0] = '\0';
	if (e->f.proto != CGP_PROTO_ICMP)
		return;
	if (e->f.type < 0) {
		snprintf(buf, len, " (no type given: the rules without a type)");
		return;
	}
	n = cgp_icmp_type_str(e->f.v4 ? CGP_ICMP_V4 : CGP_ICMP_V6, e->f.type, e->f.code);
	snprintf(buf, len, " type %s%s%d code %d%s", n ? n : "", n ? " (" : "", e->f.type, e->f.code, n ? ")" : "");
}

static uint8_t overall(const struct explain *e)
{
	for (unsigned i = 0; i < e->nj; i++)
		if (e->j[i].configured && e->j[i].d.verdict != CGP_ALLOW)
			return CGP_DENY;
	return CGP_ALLOW;
}

void explain_print_text(const struct explain *e)
{
	const char *dirs = e->f.dir == CGP_DIR_IN ? "in" : "out";
	char step[512];

	char ic[128];

	icmp_text(e, ic, sizeof(ic));
	printf("%s %s %s", dirs, e->f.proto == CGP_PROTO_ICMP && !e->f.v4 ? "icmpv6" : cgp_proto_str(e->f.proto),
	       e->f.addr_s);
	if (e->f.proto == CGP_PROTO_TCP || e->f.proto == CGP_PROTO_UDP)
		printf(" port %u", e->f.port);
	printf("%s", ic);
	if (e->a->policy)
		printf(", policy %s", e->a->policy);
	else
		printf(", cgroup %s", e->cgpath);
	if (e->live)
		printf(" (live, generation %llu%s%s)\n", (unsigned long long)e->gen, e->file ? ", " : "",
		       e->file ? e->file : "");
	else
		printf(" (as %s would do)\n", e->file);
	if (e->live && e->file && e->file_changed)
		printf("note: %s changed since it was applied: rule text not shown\n", e->file);
	if (e->f.proto == CGP_PROTO_TCP)
		printf("TCP: the verdict of a connection opened %s; its replies pass\n",
		       e->f.dir == CGP_DIR_IN ? "from ADDRESS to this cgroup (ingress)" : "from this cgroup to ADDRESS (egress)");
	if (!e->nj)
		printf("no policy on this cgroup's path: passes\n");
	for (unsigned i = 0; i < e->nj; i++) {
		const struct judge *j = &e->j[i];

		printf("  [%s] %s %s: ", j->name, j->tmpl ? "template of glob" : "cgroup", j->cgroup);
		if (!j->configured) {
			printf("not configured in the live generation: passes\n");
			continue;
		}
		printf("%s\n", cgp_verdict_str(j->d.verdict));
		if (j->d.line)
			printf("      %s:%u  %s\n", e->file ? e->file : "?", j->d.line, text_of(e, j->d.line));
		if (j->d.set >= 0) {
			set_text(e, j, step, sizeof(step));
			printf("      %s\n", step);
		}
		for (unsigned k = 0; k < j->d.nsets; k++)
			if (j->d.sets[k].m.expired) {
				char sn[CGP_NAME_MAX + 16];

				printf("      set %s: %u expired member%s skipped (the kernel ignores %s)\n",
				       set_name(e, j->d.sets[k].id, sn, sizeof(sn)), j->d.sets[k].m.expired,
				       j->d.sets[k].m.expired > 1 ? "s" : "", j->d.sets[k].m.expired > 1 ? "them" : "it");
			}
		step_text(e, j, step, sizeof(step));
		printf("      step: %s\n", step);
		if (!e->live && j->pol && j->pol->nnames)
			printf("      note: name rules match only the addresses learned at run time (DNS "
			       "answers, or the agent): none in FILE mode\n");
	}
	printf("verdict: %s%s\n", cgp_verdict_str(overall(e)),
	       e->nj > 1 ? " (every policy on the path judges; any deny drops)" : "");
}

/* , "key": {"name": "office", "id": 1, "dynamic": false, "member": "10.1.0.0/16", "exclusion": false,
 *   "line": 3, "expires_in": null, "expired_skipped": 0, "rule_line": 12} */
static void print_set_json(const struct explain *e, const char *key, const struct cgp_set_cand *s, uint32_t rule_line)
{
	const struct set_name *n = set_of(e, s->id);
	char m[CGP_ADDR_STRLEN + 8];

	member_str(e, &s->m, m, sizeof(m));
	printf(", \"%s\": {\"name\": ", key);
	cgp_json_str(stdout, n ? n->name : NULL);
	printf(", \"id\": %u, \"dynamic\": %s, \"member\": \"%s\", \"exclusion\": %s, \"line\": %u, \"expires_in\": ",
	       s->id, s->m.dynamic ? "true" : "false", m, s->m.member ? "false" : "true", s->m.line);
	if (s->m.expires_in >= 0)
		printf("%lld", (long long)s->m.expires_in);
	else
		printf("null");
	printf(", \"expired_skipped\": %u, \"rule_line\": %u}", s->m.expired, rule_line);
}

void explain_print_json(const struct explain *e)
{
	char step[512];

	printf("{\"mode\": \"%s\", \"file\": ", e->live ? "live" : "file");
	cgp_json_str(stdout, e->file);
	printf(", \"file_changed\": %s", e->live && e->file_changed ? "true" : "false");
	if (e->live)
		printf(", \"generation\": %llu", (unsigned long long)e->gen);
	printf(", \"dir\": \"%s\", \"proto\": \"%s\", \"address\": ", e->f.dir == CGP_DIR_IN ? "in" : "out",
	       cgp_proto_str(e->f.proto));
	cgp_json_str(stdout, e->f.addr_s);
	printf(", \"port\": %u", e->f.proto == CGP_PROTO_TCP || e->f.proto == CGP_PROTO_UDP ? e->f.port : 0);
	if (e->f.proto == CGP_PROTO_ICMP && e->f.type >= 0) {
		const char *n = cgp_icmp_type_str(e->f.v4 ? CGP_ICMP_V4 : CGP_ICMP_V6, e->f.type, e->f.code);

		printf(", \"icmp\": {\"family\": \"%s\", \"type\": %d, \"code\": %d, \"name\": ",
		       e->f.v4 ? "icmp" : "icmpv6", e->f.type, e->f.code);
		cgp_json_str(stdout, n);
		printf("}");
	} else if (e->f.proto == CGP_PROTO_ICMP) {
		printf(", \"icmp\": {\"family\": \"%s\", \"type\": null, \"code\": null, \"name\": null}",
		       e->f.v4 ? "icmp" : "icmpv6");
	}
	printf(", \"cgroup\": ");
	cgp_json_str(stdout, e->a->policy ? NULL : e->cgpath);
	printf(", \"policy\": ");
	cgp_json_str(stdout, e->a->policy);
	printf(", \"connection\": %s, \"verdict\": \"%s\", \"policies\": [", e->f.proto == CGP_PROTO_TCP ? "true" : "false",
	       cgp_verdict_str(overall(e)));
	for (unsigned i = 0; i < e->nj; i++) {
		const struct judge *j = &e->j[i];

		printf("%s{\"name\": ", i ? ", " : "");
		cgp_json_str(stdout, j->name);
		printf(", \"cgroup\": ");
		cgp_json_str(stdout, j->cgroup);
		printf(", \"template\": %s, \"configured\": %s", j->tmpl ? "true" : "false",
		       j->configured ? "true" : "false");
		if (j->configured) {
			step_text(e, j, step, sizeof(step));
			printf(", \"verdict\": \"%s\", \"step\": \"%s\", \"why\": ", cgp_verdict_str(j->d.verdict),
			       cgp_why_str(j->d.why));
			cgp_json_str(stdout, step);
			if (j->d.line) {
				printf(", \"rule\": {\"file\": ");
				cgp_json_str(stdout, e->file);
				printf(", \"line\": %u, \"text\": ", j->d.line);
				if (e->src)
					cgp_json_str(stdout, text_of(e, j->d.line));
				else
					printf("null");
				printf(", \"prefix\": %u, \"ports\": %s}", shown_plen(e, j->d.plen),
				       j->d.port_rule ? "true" : "false");
			} else {
				printf(", \"rule\": null");
			}
			if (j->d.tie_line)
				printf(", \"tie_line\": %u", j->d.tie_line);
			{
				unsigned x = 0;

				for (unsigned k = 0; k < j->d.nsets; k++)
					x += j->d.sets[k].m.expired;
				printf(", \"expired_skipped\": %u", x);
			}
			if (j->d.set >= 0)
				print_set_json(e, "set", &j->d.sets[j->d.set], j->d.line);
			if (j->d.why == CGP_WHY_SET_EXCLUDED) {
				const struct cgp_set_cand *x = &j->d.sets[j->d.excluded];

				print_set_json(e, "excluded_from", x, x->with_port.found ? x->with_port.line : x->portless.line);
				printf(", \"then\": \"%s\"", cgp_why_str(j->d.then));
			}
		}
		printf("}");
	}
	printf("]}\n");
}
