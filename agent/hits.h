/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * hits.h - the per-rule hit counters (maps `hits`, `hitsx`) and the record
 * of the applied file (map `applied`): cleared and written by apply, read
 * by `status --rules` and `explain`.
 */
#ifndef CGP_HITS_H
#define CGP_HITS_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "agent/state.h"

/* One counter: its key and the sum over every CPU. */
struct cgp_hit {
	struct cgp_hit_key key;
	__u64 n;
};

/* apply, before the switch to generation parity `parity`: drop that parity's
 * entries (two generations old) and zero its overflow counter. */
int cgp_hits_clear(const struct cgp_pins *p, __u32 parity);
/* Every counter of `parity`, sorted by (slot, line, dir): *out (free()), *n;
 * *overflow: decisions of that parity the full map could not count. */
int cgp_hits_read(const struct cgp_pins *p, __u32 parity, struct cgp_hit **out, size_t *n,
		  __u64 *overflow);
/* The count of (slot, dir, line) in a sorted array from cgp_hits_read. */
__u64 cgp_hits_get(const struct cgp_hit *h, size_t n, __u32 slot, __u8 dir, __u32 line);

/* apply, after the switch: the file of generation gen (its absolute path and fingerprint). */
int cgp_applied_write(const struct cgp_pins *p, const char *file, __u64 hash, __u64 size, __u64 gen);
/* -ENOENT: no record (applied by an older cgpolicy, or never). */
int cgp_applied_read(const struct cgp_pins *p, struct cgp_applied *a);

#endif
