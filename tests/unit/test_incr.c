// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_incr.c - the incremental parse and compile (policy/incr.c,
 * incr_compile.c) against the full ones, over random edit sequences:
 * every step's incremental parse gives the config the full parse gives
 * (rule by rule, line kinds too), or declines; and the entries of the
 * previous full compile, patched with the changed groups, are exactly the
 * full compile of the new file whenever the port classes stayed the same.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/incr.h"
#include "policy/ports.h"
#include "tests/tap.h"

static uint64_t seed = 88172645463325252ull;

static unsigned rn(unsigned n)
{
	seed ^= seed << 13;
	seed ^= seed >> 7;
	seed ^= seed << 17;
	return (unsigned)(seed % n);
}

#define MAXL 400
static char *lines[MAXL];
static unsigned nlines, first_b;	/* first_b: index of the [b] header */

static char *random_rule(void)
{
	static const char *dirs[] = { "in", "out", "both" };
	static const char *addrs[] = { "10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "192.0.2.1",
				       "2001:db8::/32", "2001:db8:1::/48", "any", "172.16.0.0/12" };
	static const char *ports[] = { "22", "80", "443", "80,443", "1000-2000", "1500", "53", "8080-8090" };
	char buf[160];
	unsigned k = rn(10);

	if (k < 6)
		snprintf(buf, sizeof(buf), "%s = %s %s %s port %s", rn(4) ? "allow" : "deny", dirs[rn(3)],
			 rn(2) ? "tcp" : "udp", addrs[rn(8)], ports[rn(8)]);
	else if (k < 8)
		snprintf(buf, sizeof(buf), "%s = %s %s %s", rn(3) ? "allow" : "deny", dirs[rn(3)],
			 rn(2) ? "any" : "tcp", addrs[rn(8)]);
	else if (k < 9)
		snprintf(buf, sizeof(buf), "allow = %s icmp %s type %s", dirs[rn(3)], rn(2) ? "10.1.0.0/16" : "0.0.0.0/0",
			 rn(2) ? "echo-request" : "3");
	else
		snprintf(buf, sizeof(buf), "deny = out tcp %s port %u", addrs[rn(8)], 1 + rn(65535));
	return strdup(buf);
}

static void initial(void)
{
	const char *head[] = { "; test_incr", "[a]", "cgroup = /t/a", "default_egress = deny" };

	nlines = 0;
	for (unsigned i = 0; i < 4; i++)
		lines[nlines++] = strdup(head[i]);
	for (unsigned i = 0; i < 40; i++)
		lines[nlines++] = rn(8) ? random_rule() : strdup("; note");
	first_b = nlines;
	lines[nlines++] = strdup("[b]");
	lines[nlines++] = strdup("cgroup = /t/b");
	for (unsigned i = 0; i < 20; i++)
		lines[nlines++] = random_rule();
}

static char *text(size_t *len)
{
	size_t n = 0;
	char *b;

	for (unsigned i = 0; i < nlines; i++)
		n += strlen(lines[i]) + 1;
	b = malloc(n + 1);
	n = 0;
	for (unsigned i = 0; i < nlines; i++)
		n += (size_t)sprintf(b + n, "%s\n", lines[i]);
	*len = n;
	return b;
}

/* One random edit: replace, insert or delete a rule line (or a comment), or a broken rule. */
static void edit(void)
{
	unsigned k = rn(10), at;
	bool in_b = rn(3) == 0;
	unsigned lo = in_b ? first_b + 2 : 4, hi = in_b ? nlines : first_b;

	at = lo + rn(hi - lo);
	if (k < 5 && at < hi) {
		free(lines[at]);
		lines[at] = rn(20) ? random_rule() : strdup("allow = out tcp 10.0.0.0/33");
	} else if (k < 8 && nlines < MAXL - 1) {
		memmove(lines + at + 1, lines + at, (nlines - at) * sizeof(*lines));
		lines[at] = rn(6) ? random_rule() : strdup("# added");
		nlines++;
		first_b += !in_b;
	} else if (at < hi && hi - lo > 2) {
		free(lines[at]);
		memmove(lines + at, lines + at + 1, (nlines - at - 1) * sizeof(*lines));
		nlines--;
		first_b -= !in_b;
	}
}

static bool same_rule(const struct cgp_rule *x, const struct cgp_rule *y)
{
	return x->line == y->line && x->set == y->set && x->verdict == y->verdict && x->dirs == y->dirs &&
	       x->proto == y->proto && x->plen == y->plen && !memcmp(x->addr, y->addr, 16) &&
	       x->is_v4 == y->is_v4 && x->has_type == y->has_type && x->nports == y->nports &&
	       !memcmp(x->icmp_type, y->icmp_type, sizeof(x->icmp_type)) &&
	       !memcmp(x->icmp_code, y->icmp_code, sizeof(x->icmp_code)) &&
	       (!x->nports || !memcmp(x->ports, y->ports, x->nports * sizeof(*x->ports)));
}

/* "" when equal, else what differs. */
static const char *same_config(const struct cgp_config *x, const struct cgp_config *y)
{
	if (x->npolicies != y->npolicies || x->hash != y->hash || x->size != y->size)
		return "file or policies";
	for (unsigned i = 0; i < x->npolicies; i++) {
		const struct cgp_policy *p = &x->policies[i], *q = &y->policies[i];

		if (strcmp(p->name, q->name) || p->line != q->line || p->nrules != q->nrules ||
		    strcmp(p->cgroup, q->cgroup) || memcmp(p->def, q->def, sizeof(p->def)))
			return "a policy's header";
		for (unsigned k = 0; k < p->nrules; k++)
			if (!same_rule(&p->rules[k], &q->rules[k]))
				return tap_name("rule %u of [%s] (line %d vs %d)", k, p->name,
						p->rules[k].line, q->rules[k].line);
	}
	return "";
}

static int cmp_key(const void *a, const void *b)
{
	return cgp_lpm_key_cmp(&((const struct cgp_lpm_entry *)a)->key, &((const struct cgp_lpm_entry *)b)->key);
}

/* The port trie blocks of a compiled policy, sorted: the classes, as the kernel gets them. */
static struct cgp_portlpm_entry *blocks(const struct cgp_compiled *c, size_t *n)
{
	struct cgp_portlpm_entry *b = NULL;
	size_t cap = 0;

	*n = 0;
	for (size_t i = 0; i < c->nportmaps; i++)
		cgp_port_blocks(&c->portmaps[i], &b, n, &cap);
	return b;
}

static bool same_blocks(const struct cgp_compiled *x, const struct cgp_compiled *y)
{
	size_t nx, ny;
	struct cgp_portlpm_entry *a = blocks(x, &nx), *b = blocks(y, &ny);
	bool eq = nx == ny && (!nx || !memcmp(a, b, nx * sizeof(*a)));

	free(a);
	free(b);
	return eq;
}

/* The previous compile patched with the change == the full compile of the new policy? */
static void check_compile(const struct cgp_change *ch, const struct cgp_policy *np,
			  const struct cgp_compiled *oldc, const struct cgp_compiled *newc, int *checked)
{
	struct cgp_compiled part;
	struct cgp_group *g;
	struct cgp_lpm_entry *e;
	unsigned ng;
	size_t n;
	char err[256];
	bool ok;

	if (cgp_change_groups(ch, np, &g, &ng) || cgp_compile_groups("t.ini", np, 1, g, ng, &part, err, sizeof(err))) {
		report(false, "compile groups", "%s", err);
		free(g);
		return;
	}
	if (!same_blocks(&part, newc)) {
		report(false, "compile groups: classes", "the groups' compile has other classes than the full one");
	} else if (same_blocks(oldc, newc)) {
		cgp_patch_entries(oldc->lpm, oldc->nlpm, g, ng, 1, ch->a + ch->nold, ch->nnew - ch->nold,
				  part.lpm, part.nlpm, cmp_key, &e, &n);
		ok = n == newc->nlpm && !memcmp(e, newc->lpm, n * sizeof(*e));
		(*checked)++;
		if (!ok)
			report(false, "patched entries", "%zu entries vs %zu of the full compile", n, newc->nlpm);
		free(e);
	}
	cgp_compiled_free(&part);
	free(g);
}

struct state {
	struct cgp_config cfg;
	struct cgp_lines lines;
	struct cgp_compiled comp[2];
};

static int full_state(const char *b, size_t len, struct state *s, char *err, size_t errlen)
{
	memset(s, 0, sizeof(*s));
	if (cgp_config_parse("t.ini", b, len, &s->cfg, err, errlen))
		return -1;
	cgp_lines_build(b, len, &s->cfg, &s->lines);
	for (unsigned i = 0; i < 2; i++)
		if (cgp_compile("t.ini", &s->cfg.policies[i], 1, &s->comp[i], err, errlen))
			return -1;
	return 0;
}

static void free_state(struct state *s)
{
	cgp_config_free(&s->cfg);
	cgp_lines_free(&s->lines);
	cgp_compiled_free(&s->comp[0]);
	cgp_compiled_free(&s->comp[1]);
}

static unsigned n_incr, n_declined, n_steps;
static int n_compiled;

/* One step: the incremental parse of the new text (consuming cur) against the full one. */
static bool step(struct state *cur, const char *b, size_t len, bool *broken)
{
	struct state full;
	struct cgp_config inc;
	struct cgp_lines nl;
	struct cgp_change ch;
	char err[512];
	int fr = full_state(b, len, &full, err, sizeof(err));
	int ir = cgp_config_parse_incr("t.ini", b, len, &cur->cfg, &cur->lines, &inc, &nl, &ch);
	const char *d;
	bool ok = true;

	n_steps++;
	*broken = fr != 0;
	if (ir == 0 && fr) {
		report(false, "incremental parse", "accepted a file the full parse refuses: %s", err);
		ok = false;
	} else if (ir == 0) {
		n_incr++;
		d = same_config(&inc, &full.cfg);
		if (*d || nl.n != full.lines.n || memcmp(nl.kind, full.lines.kind, nl.n)) {
			report(false, "incremental parse", "differs from the full parse: %s", *d ? d : "line kinds");
			ok = false;
		} else if (!ch.same) {
			check_compile(&ch, &inc.policies[ch.policy], &cur->comp[ch.policy],
				      &full.comp[ch.policy], &n_compiled);
		}
	} else {
		n_declined++;
	}
	if (ir == 0)
		cgp_config_free(&inc);
	cgp_lines_free(&nl);
	cgp_change_free(&ch);
	free_state(cur);
	*cur = full;
	return ok;
}

int main(void)
{
	unsigned bad = 0;

	for (int run = 0; run < 30 && !bad; run++) {
		struct state cur;
		size_t len;
		char err[512], *b;

		initial();
		b = text(&len);
		if (full_state(b, len, &cur, err, sizeof(err))) {
			report(false, "random file parses", "%s", err);
			return tap_done();
		}
		for (int k = 0; k < 80 && !bad; k++) {
			bool broken;

			edit();
			free(b);
			b = text(&len);
			bad += !step(&cur, b, len, &broken);
			if (broken) {	/* back to a valid file, parsed whole */
				for (unsigned i = 0; i < nlines; i++)
					if (strstr(lines[i], "/33"))
						lines[i][0] = ';';
				free(b);
				b = text(&len);
				free_state(&cur);
				if (full_state(b, len, &cur, err, sizeof(err)))
					return report(false, "repaired file", "%s", err), tap_done();
			}
		}
		free_state(&cur);
		free(b);
		for (unsigned i = 0; i < nlines; i++)
			free(lines[i]);
	}
	printf("# %u steps: %u incremental, %u declined, %d patched compiles compared\n", n_steps, n_incr,
	       n_declined, n_compiled);
	report(!bad, "incremental parse == full parse over random edits",
	       "%u of %u steps differ", bad, n_steps);
	report(n_incr > n_steps / 3 && n_declined > 0, "both paths are taken",
	       "%u incremental, %u declined of %u", n_incr, n_declined, n_steps);
	report(n_compiled > (int)n_steps / 5, "patched compiles checked against full compiles",
	       "only %d", n_compiled);
	return tap_done();
}
