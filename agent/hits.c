// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * hits.c - the per-rule hit counters and the applied file's record (hits.h).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "agent/hits.h"
#include "agent/mapiter.h"

int cgp_hits_clear(const struct cgp_pins *p, __u32 parity)
{
	struct cgp_map_iter it = CGP_MAP_ITER(p->map_fd[CGP_MAP_HITS]);
	struct cgp_hit_key k, *del = NULL;
	size_t n = 0, cap = 0;
	int err = 0;

	/* keys first, deletes after: a delete during the walk would restart it */
	while (cgp_map_next(&it, &k, sizeof(k))) {
		if (k.parity != parity)
			continue;
		if (n == cap) {
			struct cgp_hit_key *nd = realloc(del, (cap = cap ? 2 * cap : 256) * sizeof(*del));

			if (!nd) {
				free(del);
				return -ENOMEM;
			}
			del = nd;
		}
		del[n++] = k;
	}
	for (size_t i = 0; i < n; i++)
		if (bpf_map_delete_elem(it.fd, &del[i]) && errno != ENOENT)
			err = -errno;
	free(del);
	cgp_percpu_zero(p->map_fd[CGP_MAP_HITSX], &parity, sizeof(__u64));
	return err;
}

static int cmp_hit(const void *a, const void *b)
{
	const struct cgp_hit_key *x = &((const struct cgp_hit *)a)->key;
	const struct cgp_hit_key *y = &((const struct cgp_hit *)b)->key;

	if (x->slot != y->slot)
		return x->slot < y->slot ? -1 : 1;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return (int)x->dir - (int)y->dir;
}

int cgp_hits_read(const struct cgp_pins *p, __u32 parity, struct cgp_hit **out, size_t *n,
		  __u64 *overflow)
{
	struct cgp_map_iter it = CGP_MAP_ITER(p->map_fd[CGP_MAP_HITS]);
	struct cgp_hit *h = NULL;
	struct cgp_hit_key k;
	size_t cnt = 0, cap = 0;

	*overflow = 0;
	cgp_percpu_lookup_sum(p->map_fd[CGP_MAP_HITSX], &parity, overflow, sizeof(*overflow));
	while (cgp_map_next(&it, &k, sizeof(k))) {
		__u64 sum = 0;

		if (k.parity != parity)
			continue;
		if (cgp_percpu_lookup_sum(it.fd, &k, &sum, sizeof(sum)))
			continue;	/* deleted meanwhile */
		if (cnt == cap) {
			struct cgp_hit *nh = realloc(h, (cap = cap ? 2 * cap : 256) * sizeof(*h));

			if (!nh) {
				free(h);
				return -ENOMEM;
			}
			h = nh;
		}
		h[cnt].key = k;
		h[cnt++].n = sum;
	}
	if (cnt)
		qsort(h, cnt, sizeof(*h), cmp_hit);
	*out = h;
	*n = cnt;
	return 0;
}

__u64 cgp_hits_get(const struct cgp_hit *h, size_t n, __u32 slot, __u8 dir, __u32 line)
{
	struct cgp_hit want = { .key = { .slot = (__u16)slot, .dir = dir, .line = line } };
	const struct cgp_hit *f;

	if (!n)
		return 0;
	f = bsearch(&want, h, n, sizeof(*h), cmp_hit);
	return f ? f->n : 0;
}

int cgp_applied_write(const struct cgp_pins *p, const char *file, __u64 hash, __u64 size, __u64 gen)
{
	struct cgp_applied a = { .gen = gen, .hash = hash, .size = size };
	char abs[PATH_MAX];
	__u32 zero = 0;

	if (!realpath(file, abs))
		snprintf(abs, sizeof(abs), "%s", file);
	snprintf(a.path, sizeof(a.path), "%s", abs);
	if (bpf_map_update_elem(p->map_fd[CGP_MAP_APPLIED], &zero, &a, BPF_ANY))
		return -errno;
	return 0;
}

int cgp_applied_read(const struct cgp_pins *p, struct cgp_applied *a)
{
	__u32 zero = 0;

	if (p->map_fd[CGP_MAP_APPLIED] < 0)
		return -ENOENT;
	if (bpf_map_lookup_elem(p->map_fd[CGP_MAP_APPLIED], &zero, a))
		return -errno;
	return 0;
}
