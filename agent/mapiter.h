/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * mapiter.h - walking a BPF map's keys, reading per-CPU sums and the `info`
 * map (libbpf). The pure pieces (the per-CPU sum itself) are in util/.
 *
 *	struct cgp_map_iter it = CGP_MAP_ITER(fd);
 *	__u32 key;
 *
 *	while (cgp_map_next(&it, &key, sizeof(key)))
 *		... use key ...
 */
#ifndef CGP_MAPITER_H
#define CGP_MAPITER_H

#include <stdbool.h>
#include <stddef.h>

#include "agent/state.h"

#define CGP_MAP_KEY_MAX 272	/* the largest key walked (cgp_dnsname_key: 260 bytes) */

struct cgp_map_iter {
	int fd;
	bool started;
	unsigned char prev[CGP_MAP_KEY_MAX];
};

#define CGP_MAP_ITER(map_fd) ((struct cgp_map_iter){ .fd = (map_fd) })

/* The next key into key (key_size <= CGP_MAP_KEY_MAX). false at the end or
 * on an error (errno set; ENOENT at the end). */
bool cgp_map_next(struct cgp_map_iter *it, void *key, size_t key_size);

/* Looks up key in a per-CPU map whose values are arrays of 64-bit counters
 * (value_size bytes) and adds the sum over every possible CPU to sum.
 * 0, or -errno (-ENOENT: no such key; sum unchanged). */
int cgp_percpu_lookup_sum(int map_fd, const void *key, void *sum, size_t value_size);

/* Every readable entry of the pinned `info` map (slot -> struct cgp_info),
 * in the map's order, at most max of them, into out. Returns the count. */
/* Set every CPU's copy of key's value (value_size bytes, a multiple of 8) in a
 * per-CPU map to zero. Returns 0 or -errno. */
int cgp_percpu_zero(int map_fd, const void *key, size_t value_size);

unsigned cgp_info_read(const struct cgp_pins *p, struct cgp_info *out, unsigned max);

#endif
