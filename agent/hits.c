// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * hits.c - the per-rule hit counters and the applied file's record (hits.h).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ctype.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

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

int cgp_hits_carry(const struct cgp_pins *p, __u32 parity, const bool keep[CGP_MAX_SLOTS])
{
	int ncpu = libbpf_num_possible_cpus();
	struct cgp_hit *h = NULL;
	size_t n = 0;
	__u64 overflow, *v;
	int err = 0;

	if (ncpu <= 0)
		return -EINVAL;
	v = calloc((size_t)ncpu, sizeof(*v));
	if (!v || cgp_hits_read(p, parity ^ 1, &h, &n, &overflow)) {
		free(v);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		struct cgp_hit_key k = h[i].key;

		if (k.slot >= CGP_MAX_SLOTS || !keep[k.slot])
			continue;
		k.parity = (__u8)parity;
		v[0] = h[i].n;	/* the sum on CPU 0, the others 0 */
		if (bpf_map_update_elem(p->map_fd[CGP_MAP_HITS], &k, v, BPF_ANY))
			err = -errno;
	}
	free(h);
	free(v);
	return err;
}

bool cgp_applied_same(const struct cgp_pins *p, const char *file, __u64 hash, __u64 size,
		      struct cgp_applied *old)
{
	char abs[PATH_MAX];

	if (cgp_applied_read(p, old))
		return false;
	if (!realpath(file, abs))
		snprintf(abs, sizeof(abs), "%s", file);
	return old->hash == hash && old->size == size && !strcmp(old->path, abs);
}

int cgp_applied_write(const struct cgp_pins *p, const char *file, __u64 hash, __u64 size, __u64 gen,
		      __u64 since)
{
	struct cgp_applied a = { .gen = gen, .since = since, .hash = hash, .size = size };
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

int cgp_srcfile_read(const char *path, struct cgp_srcfile *f)
{
	FILE *fp = fopen(path, "rb");
	size_t cap = 0, n;
	char chunk[65536];

	memset(f, 0, sizeof(*f));
	if (!fp)
		return -errno;
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0) {
		char *nb;

		if (f->size + n + 1 > cap) {
			cap = 2 * (f->size + n + 1);
			nb = realloc(f->buf, cap);
			if (!nb) {
				fclose(fp);
				cgp_srcfile_free(f);
				return -ENOMEM;
			}
			f->buf = nb;
		}
		memcpy(f->buf + f->size, chunk, n);
		f->size += n;
		if (f->size > CGP_MAX_FILE_SIZE)
			break;
	}
	fclose(fp);
	if (!f->buf && !(f->buf = calloc(1, 1)))
		return -ENOMEM;
	f->buf[f->size] = '\0';
	f->hash = cgp_hash64(f->buf, f->size);
	/* split into lines (after hashing: this writes NULs into buf) */
	for (size_t i = 0; i <= f->size; i++)
		if (i == f->size || f->buf[i] == '\n')
			f->nlines++;
	f->line = calloc(f->nlines ? f->nlines : 1, sizeof(*f->line));
	if (!f->line) {
		cgp_srcfile_free(f);
		return -ENOMEM;
	}
	for (size_t i = 0, start = 0, l = 0; i <= f->size; i++) {
		char *b, *e;

		if (i < f->size && f->buf[i] != '\n')
			continue;
		f->buf[i] = '\0';
		b = f->buf + start;
		while (isspace((unsigned char)*b))
			b++;
		e = b + strlen(b);
		while (e > b && isspace((unsigned char)e[-1]))
			*--e = '\0';
		f->line[l++] = b;
		start = i + 1;
	}
	return 0;
}

const char *cgp_srcfile_line(const struct cgp_srcfile *f, unsigned line)
{
	if (!line || line > f->nlines)
		return NULL;
	return f->line[line - 1];
}

void cgp_srcfile_free(struct cgp_srcfile *f)
{
	free(f->buf);
	free(f->line);
	memset(f, 0, sizeof(*f));
}

void cgp_live_file_load(const struct cgp_pins *p, struct cgp_live_file *lf)
{
	char err[512];

	memset(lf, 0, sizeof(*lf));
	lf->changed = true;
	if (cgp_applied_read(p, &lf->rec))
		return;
	lf->have_record = true;
	if (cgp_srcfile_read(lf->rec.path, &lf->src))
		return;
	lf->readable = true;
	lf->changed = lf->src.hash != lf->rec.hash || lf->src.size != lf->rec.size;
	if (!lf->changed && !cgp_config_load(lf->rec.path, &lf->cfg, err, sizeof(err))) {
		lf->parsed = true;
		if (lf->cfg.hash != lf->rec.hash) {	/* changed in between */
			lf->changed = true;
			cgp_config_free(&lf->cfg);
			lf->parsed = false;
		}
	}
}

void cgp_live_file_free(struct cgp_live_file *lf)
{
	cgp_srcfile_free(&lf->src);
	if (lf->parsed)
		cgp_config_free(&lf->cfg);
	lf->parsed = false;
}
