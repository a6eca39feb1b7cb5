// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * ruleset.c - one half of the rule maps: built whole, or changed in place.
 *
 * A full install creates fresh inner maps (with room to grow) and fills them
 * with batched updates. When the content of the inactive half is known (the
 * cache file of the last apply, trusted only while the live generation is the
 * one it was saved with), the new content is merged against it and only the
 * difference is written, in place: a one-rule change is a handful of map
 * writes. The half is not live while it is written; apply switches to it with
 * one write of the generation.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "agent/applycache.h"
#include "agent/log.h"
#include "agent/ruleset.h"
#include "bpf/enforce.h"

#define CACHE_DIR	"/run/cgpolicy"
#define CACHE_MAGIC	0x33545352504743ull	/* "CGPRST3" */

static int cmp_lpm(const void *a, const void *b)
{
	return memcmp(&((const struct cgp_lpm_entry *)a)->key, &((const struct cgp_lpm_entry *)b)->key,
		      sizeof(struct cgp_lpm_key));
}

static int cmp_port(const void *a, const void *b)
{
	return memcmp(&((const struct cgp_portlpm_entry *)a)->key,
		      &((const struct cgp_portlpm_entry *)b)->key, sizeof(struct cgp_portlpm_key));
}

static int cmp_pol(const void *a, const void *b)
{
	__u32 x = ((const struct cgp_slot_pol *)a)->slot, y = ((const struct cgp_slot_pol *)b)->slot;

	return x < y ? -1 : x > y;
}


int cgp_ruleset_build(const struct cgp_compiled *const *comps, const __u32 *slots, unsigned n,
		      struct cgp_ruleset *rs)
{
	size_t nlpm = 0, pcap = 0;

	memset(rs, 0, sizeof(*rs));
	for (unsigned i = 0; i < n; i++)
		nlpm += comps[i]->nlpm;
	rs->lpm = malloc((nlpm ? nlpm : 1) * sizeof(*rs->lpm));
	rs->pol = malloc((n ? n : 1) * sizeof(*rs->pol));
	if (!rs->lpm || !rs->pol)
		goto oom;
	for (unsigned i = 0; i < n; i++) {
		memcpy(rs->lpm + rs->nlpm, comps[i]->lpm, comps[i]->nlpm * sizeof(*rs->lpm));
		rs->nlpm += comps[i]->nlpm;
		rs->pol[rs->npol++] = (struct cgp_slot_pol){ .slot = slots[i], .pol = comps[i]->pol };
		for (size_t j = 0; j < comps[i]->nportmaps; j++)
			if (cgp_port_blocks(&comps[i]->portmaps[j], &rs->port, &rs->nport, &pcap))
				goto oom;
	}
	qsort(rs->lpm, rs->nlpm, sizeof(*rs->lpm), cmp_lpm);
	qsort(rs->port, rs->nport, sizeof(*rs->port), cmp_port);
	qsort(rs->pol, rs->npol, sizeof(*rs->pol), cmp_pol);
	return 0;
oom:
	cgp_ruleset_free(rs);
	return -ENOMEM;
}

int cgp_ruleset_add_lpm(struct cgp_ruleset *rs, const struct cgp_lpm_entry *e, size_t n)
{
	struct cgp_lpm_entry *v;

	if (!n)
		return 0;
	v = realloc(rs->lpm, (rs->nlpm + n) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	memcpy(v + rs->nlpm, e, n * sizeof(*e));
	rs->lpm = v;
	rs->nlpm += n;
	qsort(rs->lpm, rs->nlpm, sizeof(*rs->lpm), cmp_lpm);
	return 0;
}

/* Batched writes (one syscall for many entries), element by element where
 * the kernel has no batch operation for the map. */
static int put(int fd, const void *keys, const void *vals, size_t n, size_t ksz, size_t vsz)
{
	LIBBPF_OPTS(bpf_map_batch_opts, o);
	__u32 cnt = (__u32)n;

	if (!n)
		return 0;
	if (!bpf_map_update_batch(fd, keys, vals, &cnt, &o))
		return 0;
	if (errno != EINVAL && errno != ENOTSUP && errno != EOPNOTSUPP)
		return -errno;
	for (size_t i = 0; i < n; i++)
		if (bpf_map_update_elem(fd, (const char *)keys + i * ksz, (const char *)vals + i * vsz, BPF_ANY))
			return -errno;
	return 0;
}

static int del(int fd, const void *keys, size_t n, size_t ksz)
{
	for (size_t i = 0; i < n; i++)
		if (bpf_map_delete_elem(fd, (const char *)keys + i * ksz) && errno != ENOENT)
			return -errno;
	return 0;
}

/* Entries of n {key, val} structs (esz bytes each) split into parallel key
 * and value arrays, written in one batch by put(). */
static int put_split(int fd, const void *entries, size_t n, size_t esz, size_t koff, size_t ksz,
		     size_t voff, size_t vsz)
{
	const char *e = entries;
	char *k = malloc((n ? n : 1) * ksz), *v = malloc((n ? n : 1) * vsz);
	int err = -ENOMEM;

	if (k && v) {
		for (size_t i = 0; i < n; i++) {
			memcpy(k + i * ksz, e + i * esz + koff, ksz);
			memcpy(v + i * vsz, e + i * esz + voff, vsz);
		}
		err = put(fd, k, v, n, ksz, vsz);
	}
	free(k);
	free(v);
	return err;
}

/* n entries of type (struct cgp_lpm_entry or cgp_portlpm_entry) at arr. */
#define put_entries(fd, type, arr, n)								\
	put_split(fd, arr, n, sizeof(type), offsetof(type, key), sizeof(((type *)0)->key),	\
		  offsetof(type, val), sizeof(((type *)0)->val))

static int put_pols(int fd, const struct cgp_slot_pol *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (bpf_map_update_elem(fd, &p[i].slot, &p[i].pol, BPF_ANY))
			return -errno;
	return 0;
}

static size_t room(size_t n)
{
	return n + n / 2 + 1024;	/* in-place changes need space to grow */
}

static int install_full(const int outer_fd[3], __u32 set, const struct cgp_ruleset *rs, size_t *written)
{
	LIBBPF_OPTS(bpf_map_create_opts, np, .map_flags = BPF_F_NO_PREALLOC);
	int fds[3], err = 0;

	fds[0] = bpf_map_create(BPF_MAP_TYPE_LPM_TRIE, "cgp_rules_g", sizeof(struct cgp_lpm_key),
				sizeof(struct cgp_lpm_val), room(rs->nlpm), &np);
	fds[1] = bpf_map_create(BPF_MAP_TYPE_LPM_TRIE, "cgp_ports_g", sizeof(struct cgp_portlpm_key),
				sizeof(struct cgp_portlpm_val), room(rs->nport), &np);
	fds[2] = bpf_map_create(BPF_MAP_TYPE_ARRAY, "cgp_pols_g", sizeof(__u32), sizeof(struct cgp_pol),
				CGP_MAX_SLOTS, NULL);
	if (fds[0] < 0 || fds[1] < 0 || fds[2] < 0)
		err = -errno;
	if (!err)
		err = put_entries(fds[0], struct cgp_lpm_entry, rs->lpm, rs->nlpm);
	if (!err)
		err = put_entries(fds[1], struct cgp_portlpm_entry, rs->port, rs->nport);
	if (!err)
		err = put_pols(fds[2], rs->pol, rs->npol);
	for (int k = 0; k < 3 && !err; k++)
		if (bpf_map_update_elem(outer_fd[k], &set, &fds[k], BPF_ANY))
			err = -errno;
	for (int k = 0; k < 3; k++)
		if (fds[k] >= 0)
			close(fds[k]);
	*written = rs->nlpm + rs->nport + rs->npol;
	return err;
}

static int inner_fd(int outer, __u32 set, __u32 *max)
{
	struct bpf_map_info info = {};
	__u32 id, len = sizeof(info);
	int fd;

	if (bpf_map_lookup_elem(outer, &set, &id))
		return -errno;
	fd = bpf_map_get_fd_by_id(id);
	if (fd < 0)
		return -errno;
	if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
		close(fd);
		return -errno;
	}
	*max = info.max_entries;
	return fd;
}

/*
 * Merge two sorted arrays of entries of size esz with a key of ksz bytes at
 * offset 0: collect what to write (new or changed) and what to delete.
 */
static int diff(const void *oldv, size_t nold, const void *newv, size_t nnew, size_t esz, size_t ksz,
		void **put_out, size_t *nput, void **del_out, size_t *ndel)
{
	const char *o = oldv, *n = newv;
	char *pu = malloc((nnew ? nnew : 1) * esz), *de = malloc((nold ? nold : 1) * esz);
	size_t i = 0, j = 0;

	*nput = *ndel = 0;
	if (!pu || !de) {
		free(pu);
		free(de);
		return -ENOMEM;
	}
	while (i < nold || j < nnew) {
		int c = i == nold ? 1 : j == nnew ? -1 : memcmp(o + i * esz, n + j * esz, ksz);

		if (c < 0) {
			memcpy(de + (*ndel)++ * esz, o + i++ * esz, esz);
		} else if (c > 0) {
			memcpy(pu + (*nput)++ * esz, n + j++ * esz, esz);
		} else {
			if (memcmp(o + i * esz, n + j * esz, esz))
				memcpy(pu + (*nput)++ * esz, n + j * esz, esz);
			i++;
			j++;
		}
	}
	*put_out = pu;
	*del_out = de;
	return 0;
}

static int install_diff(const int outer_fd[3], __u32 set, const struct cgp_ruleset *rs,
			const struct cgp_ruleset *old, size_t *written)
{
	void *lp = NULL, *ld = NULL, *pp = NULL, *pd = NULL;
	size_t nlp = 0, nld = 0, npp = 0, npd = 0;
	__u32 max[3];
	int fds[3] = { -1, -1, -1 }, err = 0;

	for (int k = 0; k < 3 && !err; k++) {
		fds[k] = inner_fd(outer_fd[k], set, &max[k]);
		if (fds[k] < 0)
			err = fds[k];
	}
	if (!err && (rs->nlpm > max[0] || rs->nport > max[1]))
		err = -E2BIG;	/* no room: a full install sizes new maps */
	if (!err)
		err = diff(old->lpm, old->nlpm, rs->lpm, rs->nlpm, sizeof(*rs->lpm), sizeof(struct cgp_lpm_key),
			   &lp, &nlp, &ld, &nld);
	if (!err)
		err = diff(old->port, old->nport, rs->port, rs->nport, sizeof(*rs->port),
			   sizeof(struct cgp_portlpm_key), &pp, &npp, &pd, &npd);
	/* deletes first: an entry that moved between keys never needs two slots */
	if (!err)
		err = del(fds[0], ld, nld, sizeof(struct cgp_lpm_entry));
	if (!err)
		err = del(fds[1], pd, npd, sizeof(struct cgp_portlpm_entry));
	if (!err)
		err = put_entries(fds[0], struct cgp_lpm_entry, lp, nlp);
	if (!err)
		err = put_entries(fds[1], struct cgp_portlpm_entry, pp, npp);
	if (!err) {
		/* defaults: every slot of the new set, and zero for slots it dropped */
		size_t i = 0, j = 0;

		while (!err && (i < old->npol || j < rs->npol)) {
			if (j == rs->npol || (i < old->npol && old->pol[i].slot < rs->pol[j].slot)) {
				struct cgp_pol none = {};

				if (bpf_map_update_elem(fds[2], &old->pol[i].slot, &none, BPF_ANY))
					err = -errno;
				i++;
			} else {
				if (i < old->npol && old->pol[i].slot == rs->pol[j].slot)
					i++;
				if (bpf_map_update_elem(fds[2], &rs->pol[j].slot, &rs->pol[j].pol, BPF_ANY))
					err = -errno;
				j++;
			}
		}
	}
	*written = nlp + nld + npp + npd + rs->npol;
	free(lp);
	free(ld);
	free(pp);
	free(pd);
	for (int k = 0; k < 3; k++)
		if (fds[k] >= 0)
			close(fds[k]);
	return err;
}

int cgp_ruleset_install(const int outer_fd[3], __u32 set, const struct cgp_ruleset *rs,
			const struct cgp_ruleset *old, size_t *written)
{
	int err;

	if (old) {
		err = install_diff(outer_fd, set, rs, old, written);
		if (!err)
			return 0;
		/* The half is not live: whatever the failed attempt wrote is replaced whole. */
		pr_debug("in-place update of the inactive rule maps failed (%s): writing them whole\n",
			 strerror(-err));
	}
	err = install_full(outer_fd, set, rs, written);
	if (err)
		pr_err("failed to write the new rule set (%zu rule entries): %s; the policy in force is "
		       "unchanged\n", rs->nlpm, strerror(-err));
	return err;
}

/* ---- the cache files: one per half ---- */

struct cache_hdr {
	__u64 magic;
	__u32 layout;
	__u32 half;
	__u32 state_id;		/* id of the pinned state map it describes */
	__u32 pad;
	__u64 gen;		/* the live generation it was saved with */
	__u64 n[3];		/* nlpm, nport, npol */
	__u64 sum[3];		/* checksums of the three arrays: a damaged file is not used */
};

static void cache_path(const char *pin_path, int half, char *buf, size_t len)
{
	char esc[PATH_MAX];
	size_t j = 0;

	for (const char *s = pin_path; *s && j + 1 < sizeof(esc); s++)
		esc[j++] = *s == '/' ? '_' : *s;
	esc[j] = 0;
	snprintf(buf, len, CACHE_DIR "/ruleset%d%s", half, esc);
}

void cgp_ruleset_cache_forget(const char *pin_path, __u32 half)
{
	char path[PATH_MAX];

	cache_path(pin_path, (int)(half & 1), path, sizeof(path));
	unlink(path);
}

void cgp_ruleset_cache_remove(const char *pin_path)
{
	char path[PATH_MAX];

	cache_path(pin_path, 0, path, sizeof(path));
	memmove(path + sizeof(CACHE_DIR "/ruleset") - 1, path + sizeof(CACHE_DIR "/ruleset"),
		strlen(path + sizeof(CACHE_DIR "/ruleset")) + 1);
	unlink(path);		/* the one file of both halves of older versions */
	cgp_ruleset_cache_forget(pin_path, 0);
	cgp_ruleset_cache_forget(pin_path, 1);
	cgp_applycache_remove(pin_path);	/* the pins' other record (applycache.h) */
}

void cgp_ruleset_free(struct cgp_ruleset *rs)
{
	if (rs->map) {
		munmap(rs->map, rs->maplen);
	} else {
		free(rs->lpm);
		free(rs->port);
		free(rs->pol);
	}
	memset(rs, 0, sizeof(*rs));
}

/* Half h's file, mapped (no copy: the arrays point into it), if it is for (state_id, gen). */
static int cache_map(const char *pin_path, int h, __u32 state_id, __u64 gen, struct cgp_ruleset *r)
{
	char path[PATH_MAX];
	const struct cache_hdr *hd;
	struct stat st;
	size_t need;
	void *m;
	int fd;

	cache_path(pin_path, h, path, sizeof(path));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -ENOENT;
	if (fstat(fd, &st) || st.st_size < (off_t)sizeof(*hd)) {
		close(fd);
		return -ESTALE;
	}
	m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return -errno;
	hd = m;
	need = sizeof(*hd) + hd->n[0] * sizeof(*r->lpm) + hd->n[1] * sizeof(*r->port) +
	       hd->n[2] * sizeof(*r->pol);
	if (hd->magic != CACHE_MAGIC || hd->layout != CGP_LAYOUT_VERSION || hd->half != (__u32)h ||
	    hd->state_id != state_id || hd->gen != gen || hd->n[0] > (1u << 26) ||
	    hd->n[1] > (1u << 26) || hd->n[2] > CGP_MAX_SLOTS || need != (size_t)st.st_size) {
		munmap(m, (size_t)st.st_size);
		return -ESTALE;
	}
	r->map = m;
	r->maplen = (size_t)st.st_size;
	r->nlpm = hd->n[0];
	r->nport = hd->n[1];
	r->npol = hd->n[2];
	r->lpm = (struct cgp_lpm_entry *)(hd + 1);
	r->port = (struct cgp_portlpm_entry *)(r->lpm + r->nlpm);
	r->pol = (struct cgp_slot_pol *)(r->port + r->nport);
	if (cgp_hash64(r->lpm, r->nlpm * sizeof(*r->lpm)) != hd->sum[0] ||
	    cgp_hash64(r->port, r->nport * sizeof(*r->port)) != hd->sum[1] ||
	    cgp_hash64(r->pol, r->npol * sizeof(*r->pol)) != hd->sum[2]) {
		pr_debug("rule-set cache %s is damaged: not used\n", path);
		memset(r, 0, sizeof(*r));
		munmap(m, (size_t)st.st_size);
		return -ESTALE;
	}
	return 0;
}

int cgp_ruleset_cache_load(const char *pin_path, __u32 state_id, __u64 live_gen,
			   struct cgp_ruleset half[2], int known[2])
{
	memset(half, 0, 2 * sizeof(*half));
	known[0] = known[1] = 0;
	if (!state_id)
		return -ESTALE;		/* cannot tell which pinned state it describes */
	/* the live half was saved when it went live; the other one an apply earlier */
	for (int i = 0; i < 2; i++) {
		int h = (int)((live_gen + (__u64)i) & 1);

		if (live_gen >= (__u64)i && !cache_map(pin_path, h, state_id, live_gen - (__u64)i, &half[h]))
			known[h] = 1;
	}
	return 0;
}

int cgp_ruleset_cache_save(const char *pin_path, __u32 state_id, __u64 live_gen,
			   const struct cgp_ruleset *rs)
{
	const int h = (int)(live_gen & 1);
	struct cache_hdr hd = {
		.magic = CACHE_MAGIC, .layout = CGP_LAYOUT_VERSION, .half = (__u32)h, .state_id = state_id,
		.gen = live_gen, .n = { rs->nlpm, rs->nport, rs->npol },
		.sum = { cgp_hash64(rs->lpm, rs->nlpm * sizeof(*rs->lpm)),
			 cgp_hash64(rs->port, rs->nport * sizeof(*rs->port)),
			 cgp_hash64(rs->pol, rs->npol * sizeof(*rs->pol)) },
	};
	char path[PATH_MAX], tmp[PATH_MAX + 8];
	FILE *f;
	int ok;

	cache_path(pin_path, h, path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (mkdir(CACHE_DIR, 0700) && errno != EEXIST) {
		unlink(path);
		return -errno;
	}
	f = fopen(tmp, "wbe");
	if (!f) {
		int e = -errno;

		unlink(path);
		return e;
	}
	ok = fwrite(&hd, sizeof(hd), 1, f) == 1 &&
	     fwrite(rs->lpm, sizeof(*rs->lpm), rs->nlpm, f) == rs->nlpm &&
	     fwrite(rs->port, sizeof(*rs->port), rs->nport, f) == rs->nport &&
	     fwrite(rs->pol, sizeof(*rs->pol), rs->npol, f) == rs->npol;
	/* unlinked first: see cgp_applycache_save (no forced write-out on ext4) */
	unlink(path);
	if (fclose(f) || !ok || rename(tmp, path)) {
		unlink(tmp);
		return -EIO;
	}
	return 0;
}
