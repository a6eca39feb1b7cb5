/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef CGP_STATS_H
#define CGP_STATS_H

#include <stdbool.h>
#include <stdio.h>

#include "agent/state.h"
#include "bpf/sockstat.h"

/* One dump: every socket of every stats policy, and who owns which slot. */
struct cgp_snapshot {
	struct cgp_sockrec *rec;
	size_t n, cap;
	struct cgp_info *info;	/* the applied policies, ninfo of them */
	unsigned ninfo;
	unsigned short idx[CGP_MAX_SLOTS];	/* slot -> 1 + index in info; 0: unknown */
	unsigned long long ts_ns;	/* CLOCK_REALTIME of the dump */
	unsigned long long mono_ns;	/* CLOCK_MONOTONIC of the dump (ages) */
};

/* Read every socket record through the pinned iterator (all network
 * namespaces that processes of policy cgroups live in). 0 or -errno. */
int cgp_stats_snapshot(const struct cgp_pins *p, struct cgp_snapshot *s);
void cgp_snapshot_free(struct cgp_snapshot *s);
/* The policy of a slot, or NULL. */
const struct cgp_info *cgp_snapshot_policy(const struct cgp_snapshot *s, __u32 slot);

/* Print one round. `policy` NULL: all. Returns -1 on a write error (errno set). */
int cgp_stats_print(FILE *f, const struct cgp_snapshot *s, bool json, const char *policy);

int cgp_cmd_stats(const char *pin_path, bool json, const char *policy, unsigned watch);

#endif
