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
/* Then, for an apply of the same file: copy the live parity's counters of the
 * slots keep[] marks (same cgroup, same slot) into `parity`, so counting goes
 * on across the switch. */
int cgp_hits_carry(const struct cgp_pins *p, __u32 parity, const bool keep[CGP_MAX_SLOTS]);
/* Every counter of `parity`, sorted by (slot, line, dir): *out (free()), *n;
 * *overflow: decisions of that parity the full map could not count. */
int cgp_hits_read(const struct cgp_pins *p, __u32 parity, struct cgp_hit **out, size_t *n,
		  __u64 *overflow);
/* The count of (slot, dir, line) in a sorted array from cgp_hits_read. */
__u64 cgp_hits_get(const struct cgp_hit *h, size_t n, __u32 slot, __u8 dir, __u32 line);

/* apply, after the switch: the file of generation gen (its absolute path and
 * fingerprint); since: the generation its hit counters count from. */
int cgp_applied_write(const struct cgp_pins *p, const char *file, __u64 hash, __u64 size, __u64 gen,
		      __u64 since);
/* apply, before: is `file` (hash, size) the one the live generation was applied from? */
bool cgp_applied_same(const struct cgp_pins *p, const char *file, __u64 hash, __u64 size,
		      struct cgp_applied *old);
/* -ENOENT: no record (applied by an older cgpolicy, or never). */
int cgp_applied_read(const struct cgp_pins *p, struct cgp_applied *a);

/* A policy file's text by line (rule text for status --rules and explain). */
struct cgp_srcfile {
	char *buf;
	char **line;		/* line[i]: line i + 1, trimmed; NUL-terminated in buf */
	size_t nlines;
	__u64 size, hash;	/* hash: cgp_hash64 of the bytes */
};

int cgp_srcfile_read(const char *path, struct cgp_srcfile *f);
/* Line `line` (1-based), trimmed; NULL when there is none. */
const char *cgp_srcfile_line(const struct cgp_srcfile *f, unsigned line);
void cgp_srcfile_free(struct cgp_srcfile *f);

/*
 * The live generation's file: its record, its text, and (when the file is
 * unchanged since apply) its parsed policies. changed: the file is gone or
 * differs from what was applied.
 */
struct cgp_live_file {
	bool have_record, readable, changed, parsed;
	struct cgp_applied rec;
	struct cgp_srcfile src;
	struct cgp_config cfg;
};

void cgp_live_file_load(const struct cgp_pins *p, struct cgp_live_file *lf);
void cgp_live_file_free(struct cgp_live_file *lf);

#endif
