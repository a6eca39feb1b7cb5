// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * status_rules.c - `cgpolicy status --rules [--policy NAME] [--json]`: per
 * policy slot (each cgroup of a policy, and each glob's template), every
 * rule of the applied file with the decisions it took since apply (maps
 * `hits`, live parity), the defaults too, and the rules never hit ("dead").
 * The rule text comes from the applied file (map `applied`); if it changed
 * since apply, that is said and the counted lines are listed without text.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "agent/cmd.h"
#include "agent/hits.h"
#include "agent/log.h"
#include "agent/mapiter.h"
#include "agent/state.h"
#include "util/json.h"

/* One policy slot: a cgroup of a policy, or a glob's template. */
struct rslot {
	char name[CGP_NAME_MAX + 1];
	const char *cgroup;	/* resolved path, or the glob as written */
	__u64 cgroup_id;
	__u32 slot;
	__u8 def[CGP_DIR_MAX];
	bool tmpl;
};

struct rctx {
	const struct cgp_live_file *lf;
	const struct cgp_hit *h;
	size_t nh;
	bool json;
	unsigned nout;		/* slots printed (JSON separators) */
};

static int cmp_rslot(const void *a, const void *b)
{
	const struct rslot *x = a, *y = b;

	return strcmp(x->name, y->name) ?: (int)x->tmpl - (int)y->tmpl ?: strcmp(x->cgroup, y->cgroup);
}

/* Rule `line` as FILE:LINE text (text "" when unknown). */
static const char *rule_text(const struct rctx *c, __u32 line)
{
	const char *t = c->lf->readable && !c->lf->changed ? cgp_srcfile_line(&c->lf->src, line) : NULL;

	return t ? t : "";
}

static void print_json_count(bool has, __u64 n)
{
	if (has)
		printf("%llu", (unsigned long long)n);
	else
		printf("null");
}

/* One rule line of a slot: dirs it applies to (bits), its counts. */
static void print_rule(struct rctx *c, const struct rslot *s, __u32 line, unsigned dirs, bool *first)
{
	__u64 n[CGP_DIR_MAX];
	bool dead;

	for (int d = 0; d < CGP_DIR_MAX; d++)
		n[d] = cgp_hits_get(c->h, c->nh, s->slot, (__u8)d, line);
	dead = !n[0] && !n[1];
	if (c->json) {
		printf("%s{\"file\": ", *first ? "" : ", ");
		cgp_json_str(stdout, c->lf->have_record ? c->lf->rec.path : NULL);
		printf(", \"line\": %u, \"text\": ", line);
		if (c->lf->readable && !c->lf->changed)
			cgp_json_str(stdout, rule_text(c, line));
		else
			printf("null");
		printf(", \"in\": ");
		print_json_count(dirs & CGP_DIR_BIT(CGP_DIR_IN), n[CGP_DIR_IN]);
		printf(", \"out\": ");
		print_json_count(dirs & CGP_DIR_BIT(CGP_DIR_OUT), n[CGP_DIR_OUT]);
		printf(", \"hits\": %llu, \"dead\": %s}", (unsigned long long)(n[0] + n[1]), dead ? "true" : "false");
	} else {
		char in[24] = "-", out[24] = "-";

		if (dirs & CGP_DIR_BIT(CGP_DIR_IN))
			snprintf(in, sizeof(in), "%llu", (unsigned long long)n[CGP_DIR_IN]);
		if (dirs & CGP_DIR_BIT(CGP_DIR_OUT))
			snprintf(out, sizeof(out), "%llu", (unsigned long long)n[CGP_DIR_OUT]);
		printf("  %12s %12s  %s:%u  %s%s\n", in, out,
		       c->lf->have_record ? c->lf->rec.path : "?", line, rule_text(c, line),
		       dead ? "   [dead: never hit since apply]" : "");
	}
	*first = false;
}

/* The rules of the slot's policy in the applied file, or, when it changed, the lines counted. */
static void print_rules(struct rctx *c, const struct rslot *s)
{
	const struct cgp_policy *pol = c->lf->parsed ? cgp_config_find(&c->lf->cfg, s->name) : NULL;
	bool first = true;

	if (pol) {
		for (unsigned i = 0; i < pol->nrules; i++)
			print_rule(c, s, (__u32)pol->rules[i].line, pol->rules[i].dirs, &first);
		return;
	}
	/* the file changed: each counted line once (the counters are sorted by slot, line) */
	for (size_t i = 0; i < c->nh; i++) {
		__u32 line = c->h[i].key.line;

		if (c->h[i].key.slot != s->slot || !line || (i && c->h[i - 1].key.slot == s->slot &&
							      c->h[i - 1].key.line == line))
			continue;
		print_rule(c, s, line, CGP_DIR_BIT(CGP_DIR_IN) | CGP_DIR_BIT(CGP_DIR_OUT), &first);
	}
}

static void print_slot(struct rctx *c, const struct rslot *s)
{
	__u64 dn[CGP_DIR_MAX];

	for (int d = 0; d < CGP_DIR_MAX; d++)
		dn[d] = cgp_hits_get(c->h, c->nh, s->slot, (__u8)d, 0);
	if (c->json) {
		printf("%s{\"name\": ", c->nout ? ", " : "");
		cgp_json_str(stdout, s->name);
		printf(", \"cgroup\": ");
		cgp_json_str(stdout, s->cgroup);
		printf(", \"cgroup_id\": %llu, \"slot\": %u, \"template\": %s, \"rules\": [",
		       (unsigned long long)s->cgroup_id, s->slot, s->tmpl ? "true" : "false");
		print_rules(c, s);
		printf("], \"default\": {\"ingress\": {\"verdict\": \"%s\", \"hits\": %llu}, "
		       "\"egress\": {\"verdict\": \"%s\", \"hits\": %llu}}}",
		       cgp_verdict_str(s->def[CGP_DIR_IN]), (unsigned long long)dn[CGP_DIR_IN],
		       cgp_verdict_str(s->def[CGP_DIR_OUT]), (unsigned long long)dn[CGP_DIR_OUT]);
	} else {
		printf("\n[%s] %s %s (slot %u)\n", s->name, s->tmpl ? "template of glob" : "cgroup", s->cgroup,
		       s->slot);
		printf("  %12s %12s  %s\n", "IN", "OUT", "RULE");
		print_rules(c, s);
		printf("  %12llu %12s  default_ingress = %s\n", (unsigned long long)dn[CGP_DIR_IN], "-",
		       cgp_verdict_str(s->def[CGP_DIR_IN]));
		printf("  %12s %12llu  default_egress = %s\n", "-", (unsigned long long)dn[CGP_DIR_OUT],
		       cgp_verdict_str(s->def[CGP_DIR_OUT]));
	}
	c->nout++;
}

/* The slots of the policies in force (records of the live generation), filtered by name. */
static int load_slots(const struct cgp_pins *p, const char *policy, struct rslot **out, unsigned *n,
		      struct cgp_info **infp, struct cgp_guard_info **ginfp)
{
	struct cgp_info *inf = calloc(CGP_MAX_SLOTS, sizeof(*inf));
	struct cgp_guard_info *ginf = calloc(CGP_MAX_SLOTS, sizeof(*ginf));
	struct rslot *s = calloc(2 * CGP_MAX_SLOTS, sizeof(*s));
	struct cgp_map_iter it = CGP_MAP_ITER(p->map_fd[CGP_MAP_GUARDS]);
	unsigned ninf, ng = 0, cnt = 0;
	__u32 key;

	*infp = inf;
	*ginfp = ginf;
	*out = s;
	if (!inf || !ginf || !s)
		return -ENOMEM;
	ninf = cgp_info_read(p, inf, CGP_MAX_SLOTS);
	while (ng < CGP_MAX_SLOTS && cgp_map_next(&it, &key, sizeof(key)))
		if (!bpf_map_lookup_elem(it.fd, &key, &ginf[ng]))
			ng++;
	for (unsigned i = 0; i < ninf; i++) {
		if (policy && strcmp(policy, inf[i].name))
			continue;
		snprintf(s[cnt].name, sizeof(s[cnt].name), "%s", inf[i].name);
		s[cnt].cgroup = inf[i].cgroup;
		s[cnt].cgroup_id = inf[i].cgroup_id;
		s[cnt].slot = inf[i].slot;
		memcpy(s[cnt].def, inf[i].def, sizeof(s[cnt].def));
		cnt++;
	}
	for (unsigned i = 0; i < ng; i++) {
		if (policy && strcmp(policy, ginf[i].name))
			continue;
		snprintf(s[cnt].name, sizeof(s[cnt].name), "%s", ginf[i].name);
		s[cnt].cgroup = ginf[i].glob;
		s[cnt].slot = ginf[i].slot;
		memcpy(s[cnt].def, ginf[i].def, sizeof(s[cnt].def));
		s[cnt].tmpl = true;
		cnt++;
	}
	qsort(s, cnt, sizeof(*s), cmp_rslot);
	*n = cnt;
	return 0;
}

/* No pinned state: nothing applied (--policy: an error). */
static int no_state(const char *pin_path, const char *policy, bool json)
{
	if (policy) {
		fprintf(stderr, "cgpolicy: no policy applied at %s\n", pin_path);
		return CGP_EXIT_POLICY;
	}
	if (json) {
		printf("{\"pin_path\": ");
		cgp_json_str(stdout, pin_path);
		printf(", \"generation\": 0, \"file\": null, \"file_changed\": false, \"overflow\": 0, "
		       "\"policies\": []}\n");
	} else {
		printf("no policy applied at %s\n", pin_path);
	}
	return CGP_EXIT_OK;
}

/* What comes before the policies: the generation, the applied file, the notes (JSON: the object's head). */
static void print_head(const char *pin_path, __u64 gen, const struct cgp_live_file *lf, __u64 overflow, bool json)
{
	if (json) {
		printf("{\"pin_path\": ");
		cgp_json_str(stdout, pin_path);
		printf(", \"generation\": %llu, \"file\": ", (unsigned long long)gen);
		cgp_json_str(stdout, lf->have_record ? lf->rec.path : NULL);
		printf(", \"file_changed\": %s, \"since_generation\": %llu, \"overflow\": %llu, \"policies\": [",
		       lf->have_record && lf->changed ? "true" : "false",
		       (unsigned long long)(lf->have_record ? lf->rec.since : gen), (unsigned long long)overflow);
	} else {
		printf("pin path %s, generation %llu: decisions per rule and cgroup since generation %llu\n"
		       "(the apply of this file; TCP: connections, others: packets)\n", pin_path,
		       (unsigned long long)gen, (unsigned long long)(lf->have_record ? lf->rec.since : gen));
		if (!lf->have_record)
			printf("note: no record of the applied file (applied by an older cgpolicy?): "
			       "rule lines only\n");
		else if (lf->changed)
			printf("note: %s changed since it was applied (or cannot be read): the rule "
			       "text is not shown, only the lines that decided something\n", lf->rec.path);
		if (overflow)
			printf("note: %llu decisions were not counted per rule: the hit map is full "
			       "(%u entries)\n", (unsigned long long)overflow, CGP_MAX_HITS);
	}
}

int cgp_cmd_status_rules(const char *pin_path, const char *policy, bool json)
{
	struct cgp_live_file lf = {};
	struct cgp_guard_info *ginf = NULL;
	struct cgp_info *inf = NULL;
	struct cgp_state st = {};
	struct rslot *s = NULL;
	struct cgp_hit *h = NULL;
	struct cgp_pins p;
	size_t nh = 0;
	__u64 overflow = 0;
	unsigned n = 0;
	int err, rc = CGP_EXIT_OK;

	cgp_pins_init(&p, pin_path);
	err = cgp_pins_open(&p);
	if (err == -ENOENT) {
		cgp_pins_close(&p);
		return no_state(pin_path, policy, json);
	}
	if (err) {
		cgp_pins_close(&p);
		return CGP_EXIT_SYSTEM;
	}
	if (cgp_state_read(&p, &st) || load_slots(&p, policy, &s, &n, &inf, &ginf) ||
	    cgp_hits_read(&p, (__u32)(st.gen & 1), &h, &nh, &overflow)) {
		pr_err("cannot read the pinned state under %s: %s\n", pin_path, strerror(errno));
		rc = CGP_EXIT_SYSTEM;
		goto out;
	}
	if (policy && !n) {
		fprintf(stderr, "cgpolicy: no policy named '%s' in force at %s\n", policy, pin_path);
		rc = CGP_EXIT_POLICY;
		goto out;
	}
	cgp_live_file_load(&p, &lf);
	{
		struct rctx c = { .lf = &lf, .h = h, .nh = nh, .json = json };

		print_head(pin_path, st.gen, &lf, overflow, json);
		for (unsigned i = 0; i < n; i++)
			print_slot(&c, &s[i]);
		if (json)
			printf("]}\n");
	}
out:
	cgp_live_file_free(&lf);
	free(h);
	free(s);
	free(inf);
	free(ginf);
	cgp_pins_close(&p);
	return rc;
}
