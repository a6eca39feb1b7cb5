// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * status.c - `cgpolicy status [--json]`: the policies in force at a pin path
 * (the `info` map, sorted by name) with their summed per-CPU counters, the
 * guards of glob policies, the address sets in force (members counted in
 * the live maps), the listener steering (reuseport) and what the kernel
 * lacks. Only reads pins; changes nothing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "agent/features.h"
#include "agent/log.h"
#include "agent/mapiter.h"
#include "agent/reuseport.h"
#include "agent/sets.h"
#include "agent/state.h"
#include "bpf/enforce.h"
#include "bpf/sockstat.h"
#include "agent/status_dns.h"
#include "util/json.h"

struct row {
	struct cgp_info info;
	struct cgp_counters sum;
	struct cgp_redir_cnt redir;	/* sends redirected to local peers */
	bool have_counters;	/* false when the cgroup is gone (link defunct) */
};

static int cmp_slot(const void *a, const void *b)
{
	const struct row *x = a, *y = b;

	return strcmp(x->info.name, y->info.name);
}

static void read_counters(const struct cgp_pins *p, struct row *r)
{
	__u64 key = r->info.cgroup_id;
	__u32 slot = r->info.slot;

	if (!cgp_percpu_lookup_sum(p->map_fd[CGP_MAP_COUNTERS], &key, &r->sum, sizeof(r->sum)))
		r->have_counters = true;
	cgp_percpu_lookup_sum(p->map_fd[CGP_MAP_REDIR], &slot, &r->redir, sizeof(r->redir));
}

static void print_json_dir(const struct cgp_counters *c, int d)
{
	printf("{\"allowed_packets\": %llu, \"allowed_bytes\": %llu, \"denied_packets\": %llu, "
	       "\"denied_bytes\": %llu}",
	       (unsigned long long)c->packets[d][CGP_ALLOW], (unsigned long long)c->bytes[d][CGP_ALLOW],
	       (unsigned long long)c->packets[d][CGP_DENY], (unsigned long long)c->bytes[d][CGP_DENY]);
}

/* Guards of glob policies: where, and the template's counters ("pending":
 * packets judged before the agent registered the cgroup). */
static void print_guards(const struct cgp_pins *p, bool json)
{
	struct cgp_map_iter it = CGP_MAP_ITER(p->map_fd[CGP_MAP_GUARDS]);
	struct cgp_guard_info gi;
	unsigned n = 0;
	__u32 key;

	if (libbpf_num_possible_cpus() <= 0)
		return;
	while (cgp_map_next(&it, &key, sizeof(key))) {
		struct cgp_counters c = {};

		if (bpf_map_lookup_elem(it.fd, &key, &gi))
			continue;
		cgp_percpu_lookup_sum(p->map_fd[CGP_MAP_GCNT], &key, &c, sizeof(c));
		if (json) {
			printf("%s{\"policy\": ", n ? ", " : "");
			cgp_json_str(stdout, gi.name);
			printf(", \"glob\": ");
			cgp_json_str(stdout, gi.glob);
			printf(", \"ancestor\": ");
			cgp_json_str(stdout, gi.ancestor);
			printf(", \"ancestor_id\": %llu, \"guarded\": %s, \"level\": %u, \"template_slot\": %u, "
			       "\"pending\": {\"ingress\": ", (unsigned long long)gi.ancestor_id,
			       gi.ancestor_id ? "true" : "false", gi.level, gi.slot);
			print_json_dir(&c, CGP_DIR_IN);
			printf(", \"egress\": ");
			print_json_dir(&c, CGP_DIR_OUT);
			printf("}}");
		} else {
			if (!n)
				printf("\nguards (new cgroups judged by their glob's policy until registered):\n"
				       "%-16s %-5s %12s %12s %12s %12s  %s\n", "POLICY", "LEVEL", "PEND-IN-OK",
				       "PEND-IN-DENY", "PEND-OUT-OK", "PEND-OUT-DENY", "ANCESTOR");
			printf("%-16s %-5u %12llu %12llu %12llu %12llu  %s%s\n", gi.name, gi.level,
			       (unsigned long long)c.packets[CGP_DIR_IN][CGP_ALLOW],
			       (unsigned long long)c.packets[CGP_DIR_IN][CGP_DENY],
			       (unsigned long long)c.packets[CGP_DIR_OUT][CGP_ALLOW],
			       (unsigned long long)c.packets[CGP_DIR_OUT][CGP_DENY], gi.ancestor,
			       gi.ancestor_id ? "" : " (missing: no guard)");
		}
		n++;
	}
}

/* Members and exclusions of set id in the counts below. */
struct set_count {
	__u16 id;
	__u64 members, excl;
};

static struct set_count *count_of(struct set_count *c, unsigned n, __u16 id)
{
	for (unsigned i = 0; i < n; i++)
		if (c[i].id == id)
			return &c[i];
	return NULL;
}

/* Count the entries of the sets in fd (rule trie: static; dsets: dynamic, expired skipped). */
static void count_entries(int fd, bool dynamic, struct set_count *c, unsigned n)
{
	struct cgp_map_iter it = CGP_MAP_ITER(fd);
	struct cgp_lpm_key k;
	__u64 now = cgp_boot_ns();

	while (cgp_map_next(&it, &k, sizeof(k))) {
		struct set_count *sc;
		bool member;

		if (k.dir != CGP_DIR_SET || !!(k.slot & CGP_SET_DYNAMIC) != dynamic ||
		    !(sc = count_of(c, n, k.slot)))
			continue;
		if (dynamic) {
			struct cgp_dset_val v;

			if (bpf_map_lookup_elem(fd, &k, &v) || (v.expires && v.expires <= now))
				continue;
			member = v.member;
		} else {
			struct cgp_lpm_val v;

			if (bpf_map_lookup_elem(fd, &k, &v))
				continue;
			member = v.verdict;
		}
		if (member)
			sc->members++;
		else
			sc->excl++;
	}
}

static int cmp_set(const void *a, const void *b)
{
	return strcmp(((const struct cgp_set_entry *)a)->key.name, ((const struct cgp_set_entry *)b)->key.name);
}

/* The sets in force: name, kind, members (dynamic: live, not expired), exclusions. */
static void print_sets(const struct cgp_pins *p, const struct cgp_state *st, bool json)
{
	struct cgp_set_entry *e = NULL;
	struct set_count *c;
	unsigned n = 0;
	__u32 half = (__u32)(st->gen & 1), id;
	int rules_fd = -1;

	if (cgp_sets_read(p, &e, &n) || !n || !(c = calloc(n, sizeof(*c)))) {
		free(e);
		return;
	}
	qsort(e, n, sizeof(*e), cmp_set);
	for (unsigned i = 0; i < n; i++)
		c[i].id = e[i].rec.id;
	if (!bpf_map_lookup_elem(p->map_fd[CGP_MAP_RULES], &half, &id))
		rules_fd = bpf_map_get_fd_by_id(id);
	if (rules_fd >= 0) {
		count_entries(rules_fd, false, c, n);
		close(rules_fd);
	}
	count_entries(p->map_fd[CGP_MAP_DSETS], true, c, n);
	for (unsigned i = 0; i < n; i++) {
		if (json) {
			printf("%s{\"name\": ", i ? ", " : "");
			cgp_json_str(stdout, e[i].key.name);
			printf(", \"id\": %u, \"dynamic\": %s, \"members\": %llu, \"exclusions\": %llu}", e[i].rec.id,
			       e[i].rec.dynamic ? "true" : "false", (unsigned long long)c[i].members,
			       (unsigned long long)c[i].excl);
			continue;
		}
		if (!i)
			printf("\nsets (members: in the kernel now; dynamic: changed by cgpolicy set; "
			       "dns: learned for DNS-name rules):\n"
			       "%-16s %-8s %12s %12s\n", "SET", "KIND", "MEMBERS", "EXCLUSIONS");
		printf("%-16s %-8s %12llu %12llu\n", e[i].key.name,
		       cgp_set_is_dns(e[i].key.name) ? "dns" : e[i].rec.dynamic ? "dynamic" : "static",
		       (unsigned long long)c[i].members, (unsigned long long)c[i].excl);
	}
	free(c);
	free(e);
}

/* One policy of `status --json` (i: its index, for the separator). */
static void print_json_row(const struct cgp_pins *p, const struct row *r, unsigned i)
{
	const struct cgp_info *in = &r->info;

	printf("%s{\"name\": ", i ? ", " : "");
	cgp_json_str(stdout, in->name);
	printf(", \"cgroup\": ");
	cgp_json_str(stdout, in->cgroup);
	printf(", \"cgroup_id\": %llu, \"attached\": %s, \"rules\": %u, \"default_ingress\": \"%s\", "
	       "\"default_egress\": \"%s\", \"accelerate\": %s, \"stats\": %s, \"audit\": %s, \"log\": \"%s\", "
	       "\"counters\": {\"ingress\": ",
	       (unsigned long long)in->cgroup_id, r->have_counters ? "true" : "false", in->nrules,
	       cgp_verdict_str(in->def[CGP_DIR_IN]), cgp_verdict_str(in->def[CGP_DIR_OUT]),
	       in->flags & CGP_POL_F_ACCELERATE ? "true" : "false",
	       in->flags & CGP_POL_F_STATS ? "true" : "false",
	       in->flags & CGP_POL_F_AUDIT ? "true" : "false",
	       in->flags & CGP_POL_F_LOG ? "deny" : "off");
	print_json_dir(&r->sum, CGP_DIR_IN);
	printf(", \"egress\": ");
	print_json_dir(&r->sum, CGP_DIR_OUT);
	printf("}, \"redirected\": {\"messages\": %llu, \"bytes\": %llu, \"to_tcp\": "
	       "{\"policy_change\": %llu, \"small_writes\": %llu, \"slow_reader\": %llu, "
	       "\"peer_gone\": %llu, \"blocking_reader\": %llu}, \"not_accelerated\": "
	       "{\"blocking_reader\": %llu, \"rcvlowat\": %llu}}",
	       (unsigned long long)r->redir.msgs, (unsigned long long)r->redir.bytes,
	       (unsigned long long)r->redir.to_tcp[CGP_TCP_POLICY],
	       (unsigned long long)r->redir.to_tcp[CGP_TCP_STREAM],
	       (unsigned long long)r->redir.to_tcp[CGP_TCP_SLOW],
	       (unsigned long long)r->redir.to_tcp[CGP_TCP_GONE],
	       (unsigned long long)r->redir.to_tcp[CGP_TCP_BLOCKING],
	       (unsigned long long)r->redir.not_accel[CGP_NA_BLOCKING],
	       (unsigned long long)r->redir.not_accel[CGP_NA_RCVLOWAT]);
	cgp_status_dns(p, in, true);	/* only a policy with name rules */
	printf("}");
}

/* One policy of the table. */
static void print_table_row(const struct row *r)
{
	const struct cgp_info *in = &r->info;
	const struct cgp_counters *c = &r->sum;

	printf("%-16s %-6u %-6s %-6s %-5s %12llu %12llu %12llu %12llu %12llu  %s%s%s\n", in->name, in->nrules,
	       cgp_verdict_str(in->def[CGP_DIR_IN]), cgp_verdict_str(in->def[CGP_DIR_OUT]),
	       in->flags & CGP_POL_F_ACCELERATE ? "yes" : "no",
	       (unsigned long long)c->packets[CGP_DIR_IN][CGP_ALLOW],
	       (unsigned long long)c->packets[CGP_DIR_IN][CGP_DENY],
	       (unsigned long long)c->packets[CGP_DIR_OUT][CGP_ALLOW],
	       (unsigned long long)c->packets[CGP_DIR_OUT][CGP_DENY],
	       (unsigned long long)r->redir.msgs, in->cgroup,
	       r->have_counters ? "" : " (cgroup gone: not enforced)",
	       in->flags & CGP_POL_F_AUDIT ? " (audit: denies counted, not dropped)" : "");
}

/* The policies in force, sorted by name, with their counters: rows[] (CGP_MAX_SLOTS), the count. */
static int load_rows(const struct cgp_pins *p, struct row *rows, unsigned *n)
{
	struct cgp_info *info = calloc(CGP_MAX_SLOTS, sizeof(*info));

	if (!info)
		return -ENOMEM;
	*n = cgp_info_read(p, info, CGP_MAX_SLOTS);
	for (unsigned i = 0; i < *n; i++) {
		rows[i].info = info[i];
		read_counters(p, &rows[i]);
	}
	free(info);
	qsort(rows, *n, sizeof(*rows), cmp_slot);
	return 0;
}

/* pinned: the pins could be opened (else nothing is applied at pin_path). */
static void print_json(const char *pin_path, const struct cgp_pins *p, bool pinned, const struct cgp_state *st,
		       const struct row *rows, unsigned n)
{
	printf("{\"pin_path\": ");
	cgp_json_str(stdout, pin_path);
	printf(", \"generation\": %llu, \"policies\": [", (unsigned long long)st->gen);
	for (unsigned i = 0; i < n; i++)
		print_json_row(p, &rows[i], i);
	printf("], \"guards\": [");
	if (pinned)
		print_guards(p, true);
	printf("], \"sets\": [");
	if (pinned)
		print_sets(p, st, true);
	printf("], \"reuseport\": ");
	if (pinned)
		cgp_reuseport_status(p, stdout, true);
	else
		printf("[]");
	printf(", \"kernel\": ");
	cgp_features_json(stdout);
	printf("}\n");
}

static void print_table(const char *pin_path, const struct cgp_pins *p, bool pinned, const struct cgp_state *st,
			const struct row *rows, unsigned n)
{
	if (!n) {
		printf("no policy applied at %s\n", pin_path);
		if (pinned)
			print_guards(p, false);	/* globs that match nothing yet */
		cgp_features_print_short(stdout);
		return;
	}
	printf("pin path %s, generation %llu, %u %s\n\n", pin_path, (unsigned long long)st->gen, n,
	       n == 1 ? "policy" : "policies");
	printf("%-16s %-6s %-6s %-6s %-5s %12s %12s %12s %12s %12s  %s\n", "POLICY", "RULES", "IN", "OUT",
	       "ACCEL", "IN-ALLOW", "IN-DENY", "OUT-ALLOW", "OUT-DENY", "REDIRECTED", "CGROUP");
	for (unsigned i = 0; i < n; i++)
		print_table_row(&rows[i]);
	printf("\ncounters are packets (REDIRECTED: messages sent straight to a local peer socket);\n"
	       "`status --json` adds bytes\n");
	for (unsigned i = 0; i < n; i++)
		cgp_status_dns(p, &rows[i].info, false);
	print_guards(p, false);
	print_sets(p, st, false);
	cgp_reuseport_status(p, stdout, false);
	cgp_features_print_short(stdout);
}

int cgp_cmd_status(const char *pin_path, bool json)
{
	struct row *rows = NULL;
	struct cgp_state st = {};
	struct cgp_pins p;
	unsigned n = 0;
	int err;

	cgp_pins_init(&p, pin_path);
	err = cgp_pins_open(&p);
	if (err && err != -ENOENT) {
		cgp_pins_close(&p);
		return CGP_EXIT_SYSTEM;
	}
	if (!err) {
		rows = calloc(CGP_MAX_SLOTS, sizeof(*rows));
		if (rows)
			cgp_state_read(&p, &st);
		if (!rows || load_rows(&p, rows, &n)) {
			free(rows);
			cgp_pins_close(&p);
			return CGP_EXIT_SYSTEM;
		}
	}
	if (json)
		print_json(pin_path, &p, !err, &st, rows, n);
	else
		print_table(pin_path, &p, !err, &st, rows, n);
	free(rows);
	cgp_pins_close(&p);
	return CGP_EXIT_OK;
}
