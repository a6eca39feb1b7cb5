// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * rp_status.c - `cgpolicy status`'s [reuseport] part: per service its
 * address and port, per backend its weight, registered listeners and steered
 * connections, and the connections left to the kernel's choice; as a text
 * table or as the JSON value of "reuseport" (an array). Reads the pinned
 * steering state of either layout (agent/rp_state.h), changes nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <bpf/bpf.h>

#include "agent/reuseport.h"
#include "agent/rp_state.h"
#include "agent/mapiter.h"
#include "util/json.h"

struct rp_row {
	struct cgp_rp_svc svc;
	struct cgp_rp_info info;
	unsigned listeners[CGP_RP_MAX_BACKENDS];
	__u64 steered[CGP_RP_MAX_BACKENDS];
	__u64 unsteered;
	unsigned groups;
};

static int cmp_row(const void *a, const void *b)
{
	return strcmp(((const struct rp_row *)a)->info.name, ((const struct rp_row *)b)->info.name);
}

/* The services in the map, with their listeners, counters and attached groups. */
static unsigned collect_rows(const struct rp_state *st, struct rp_row *rows, unsigned max)
{
	struct cgp_map_iter it = CGP_MAP_ITER(st->map[RPM_SVCS]);
	struct cgp_map_iter git = CGP_MAP_ITER(st->map[RPM_GROUPS]);
	struct cgp_rp_key k;
	struct cgp_rp_group g;
	struct cgp_rp_groupval gv;
	unsigned n = 0;

	while (n < max && cgp_map_next(&it, &k, sizeof(k))) {
		struct rp_row *r = &rows[n];

		if (bpf_map_lookup_elem(st->map[RPM_SVCS], &k, &r->svc) || r->svc.id >= CGP_RP_MAX_SVCS)
			continue;
		if (bpf_map_lookup_elem(st->map[RPM_INFO], &r->svc.id, &r->info))
			r->info.key = k;
		for (int b = 0; b < CGP_RP_MAX_BACKENDS; b++) {
			if (!(r->svc.present & (1u << b)))
				continue;
			r->listeners[b] = __builtin_popcountll(rp_occupied(st, CGP_RP_BIDX(r->svc.id, b)));
			r->steered[b] = rp_counter(st, r->svc.id * CGP_RP_CNT_PER_SVC + b);
		}
		r->unsteered = rp_counter(st, r->svc.id * CGP_RP_CNT_PER_SVC + CGP_RP_MAX_BACKENDS);
		n++;
	}
	while (cgp_map_next(&git, &g, sizeof(g))) {
		if (bpf_map_lookup_elem(st->map[RPM_GROUPS], &g, &gv))
			continue;
		for (unsigned i = 0; i < n; i++)
			if (rows[i].svc.id == gv.svc)
				rows[i].groups++;
	}
	return n;
}

static void print_row(FILE *f, const struct rp_row *r, bool json, bool first_row)
{
	char a[INET6_ADDRSTRLEN] = "any";
	bool first = true;

	if (r->info.key.has_addr)
		rp_fmt_addr(r->info.key.addr, a, sizeof(a));
	if (json) {
		fprintf(f, "%s{\"name\": ", first_row ? "" : ", ");
		cgp_json_str(f, r->info.name);
		fprintf(f, ", \"proto\": \"tcp\", \"port\": %u, \"address\": ", r->info.key.port);
		cgp_json_str(f, r->info.key.has_addr ? a : NULL);
		fprintf(f, ", \"groups\": %u, \"unsteered\": %llu, \"backends\": [", r->groups,
			(unsigned long long)r->unsteered);
	}
	for (int b = 0; b < CGP_RP_MAX_BACKENDS; b++) {
		if (!(r->svc.present & (1u << b)))
			continue;
		if (json) {
			fprintf(f, "%s{\"policy\": ", first ? "" : ", ");
			cgp_json_str(f, r->info.backend[b]);
			fprintf(f, ", \"cgroup_id\": %llu, \"weight\": %u, \"listeners\": %u, \"steered\": %llu}",
				(unsigned long long)r->svc.cgid[b], r->svc.weight[b], r->listeners[b],
				(unsigned long long)r->steered[b]);
		} else
			fprintf(f, "%-16s %-5s %-15s %5u  %-16s %6u %9u %12llu\n", first ? r->info.name : "",
				first ? "tcp" : "", first ? a : "", r->info.key.port, r->info.backend[b],
				r->svc.weight[b], r->listeners[b], (unsigned long long)r->steered[b]);
		first = false;
	}
	if (json)
		fputs("]}", f);
	else
		fprintf(f, "%-16s %-5s %-15s %5s  %-16s %6s %9s %12llu%s\n", "", "", "", "",
			"(kernel choice)", "", "", (unsigned long long)r->unsteered,
			r->groups ? "" : "  no listener group attached yet: apply again once listening");
}

void cgp_reuseport_status(const struct cgp_pins *p, FILE *f, bool json)
{
	struct rp_row *rows;
	struct rp_state st;
	unsigned n = 0;

	if (rp_state_open(p, &st, true)) {
		if (json)
			fputs("[]", f);
		return;
	}
	rows = calloc(CGP_RP_MAX_SVCS * 2, sizeof(*rows));
	if (rows) {
		n = collect_rows(&st, rows, CGP_RP_MAX_SVCS * 2);
		qsort(rows, n, sizeof(*rows), cmp_row);
	}
	if (json)
		fputc('[', f);
	else if (n)
		fprintf(f, "\n%-16s %-5s %-15s %5s  %-16s %6s %9s %12s\n", "REUSEPORT", "PROTO", "ADDRESS",
			"PORT", "BACKEND", "WEIGHT", "LISTENERS", "STEERED");
	for (unsigned i = 0; i < n; i++)
		print_row(f, &rows[i], json, i == 0);
	if (json)
		fputc(']', f);
	free(rows);
	rp_state_close(&st);
}
