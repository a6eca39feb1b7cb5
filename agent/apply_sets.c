// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * apply_sets.c - address sets at apply, and what `cgpolicy set` shares
 * with it: the `sets` records and the members of dynamic sets.
 *
 * Static sets are generational: their members are entries of the rule trie
 * of the half being written (cgp_static_sets), so they change with the
 * generation switch and only their difference is written, like rules.
 * Dynamic sets are not: their members live in `dsets` under an id that a
 * set keeps, by name, for as long as applies keep it dynamic, so the
 * members added at run time survive an apply of the same file. The file's
 * members of a dynamic set are (re)written at every apply; a dynamic set
 * the new file no longer has loses its members after the switch.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>

#include "agent/apply_steps.h"
#include "agent/dns_agent.h"
#include "agent/log.h"
#include "agent/mapiter.h"
#include "agent/sets.h"

__u64 cgp_boot_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
}

int cgp_sets_read(const struct cgp_pins *p, struct cgp_set_entry **out, unsigned *n)
{
	struct cgp_map_iter it = CGP_MAP_ITER(p->map_fd[CGP_MAP_SETS]);
	struct cgp_set_entry e, *v = NULL;
	unsigned cap = 0;

	*out = NULL;
	*n = 0;
	while (cgp_map_next(&it, &e.key, sizeof(e.key))) {
		if (bpf_map_lookup_elem(it.fd, &e.key, &e.rec))
			continue;
		if (*n == cap) {
			struct cgp_set_entry *nv = realloc(v, (cap = cap * 2 + 16) * sizeof(*v));

			if (!nv) {
				free(v);
				return -ENOMEM;
			}
			v = nv;
		}
		e.key.name[sizeof(e.key.name) - 1] = 0;
		v[(*n)++] = e;
	}
	*out = v;
	return 0;
}

bool cgp_dkeys_add(struct cgp_dkeys *d, const struct cgp_lpm_key *k)
{
	if (d->n == d->cap) {
		struct cgp_lpm_key *nk = realloc(d->k, (d->cap * 2 + 64) * sizeof(*nk));

		if (!nk)
			return false;
		d->k = nk;
		d->cap = d->cap * 2 + 64;
	}
	d->k[d->n++] = *k;
	return true;
}

size_t cgp_dkeys_delete(int fd, struct cgp_dkeys *d)
{
	size_t done = 0;

	for (size_t i = 0; i < d->n; i++)
		done += !bpf_map_delete_elem(fd, &d->k[i]);
	free(d->k);
	memset(d, 0, sizeof(*d));
	return done;
}

size_t cgp_dset_purge(int fd, __u16 id, bool expired_only, __u64 *next)
{
	struct cgp_map_iter it = CGP_MAP_ITER(fd);
	struct cgp_dkeys del = {};
	struct cgp_lpm_key k;
	__u64 now = cgp_boot_ns();

	if (next)
		*next = 0;
	while (cgp_map_next(&it, &k, sizeof(k))) {
		struct cgp_dset_val v;

		if (k.slot != id || k.dir != CGP_DIR_SET)
			continue;
		if (expired_only && (bpf_map_lookup_elem(fd, &k, &v) || !v.expires || v.expires > now)) {
			if (next && !bpf_map_lookup_elem(fd, &k, &v) && v.expires &&
			    (!*next || v.expires < *next))
				*next = v.expires;
			continue;
		}
		if (!cgp_dkeys_add(&del, &k))
			break;
	}
	return cgp_dkeys_delete(fd, &del);
}

size_t cgp_sets_sweep(const struct cgp_pins *p)
{
	struct cgp_set_entry *s;
	unsigned n;
	size_t done = 0;
	__u64 now = cgp_boot_ns();

	if (cgp_sets_read(p, &s, &n))
		return 0;
	for (unsigned i = 0; i < n; i++) {
		if (!s[i].rec.dynamic || !s[i].rec.next_expiry || s[i].rec.next_expiry > now)
			continue;
		done += cgp_dset_purge(p->map_fd[CGP_MAP_DSETS], s[i].rec.id, true, &s[i].rec.next_expiry);
		bpf_map_update_elem(p->map_fd[CGP_MAP_SETS], &s[i].key, &s[i].rec, BPF_EXIST);
	}
	free(s);
	return done;
}

int cgp_dset_put(int fd, const struct cgp_lpm_key *keys, const struct cgp_dset_val *vals, size_t n)
{
	LIBBPF_OPTS(bpf_map_batch_opts, o);
	size_t done = 0;

	while (done < n) {
		__u32 cnt = (__u32)(n - done > 65536 ? 65536 : n - done);

		if (bpf_map_update_batch(fd, keys + done, vals + done, &cnt, &o)) {
			if (errno != EINVAL && errno != ENOTSUP && errno != EOPNOTSUPP)
				return -errno;
			/* no batch operation for this map: one by one */
			for (; done < n; done++)
				if (bpf_map_update_elem(fd, &keys[done], &vals[done], BPF_ANY))
					return -errno;
			return 0;
		}
		done += cnt;
	}
	return 0;
}

static const struct cgp_set_entry *find_rec(const struct apply_sets *as, const char *name)
{
	for (unsigned i = 0; i < as->nold; i++)
		if (!strcmp(as->old[i].key.name, name))
			return &as->old[i];
	return NULL;
}

int apply_sets_plan(const struct cgp_pins *p, struct cgp_config *cfg, struct apply_sets *as)
{
	bool used[CGP_SET_DYNAMIC] = { true };	/* dynamic id 0 never */
	int err;

	memset(as, 0, sizeof(*as));
	err = cgp_sets_read(p, &as->old, &as->nold);
	if (err)
		return err;
	/* a dynamic set still dynamic keeps its id (and so its members) */
	for (unsigned i = 0; i < cfg->nsets; i++) {
		const struct cgp_set_entry *o = find_rec(as, cfg->sets[i].name);

		cfg->sets[i].id = (__u16)(i + 1);
		if (!cfg->sets[i].dynamic)
			continue;
		cfg->sets[i].id = 0;
		if (o && o->rec.dynamic && (o->rec.id & CGP_SET_DYNAMIC) &&
		    !used[o->rec.id & ~CGP_SET_DYNAMIC]) {
			cfg->sets[i].id = o->rec.id;
			used[o->rec.id & ~CGP_SET_DYNAMIC] = true;
		}
	}
	/* ids of the dynamic sets being dropped stay reserved until their members are gone */
	for (unsigned i = 0; i < as->nold; i++)
		if (as->old[i].rec.dynamic && (as->old[i].rec.id & CGP_SET_DYNAMIC))
			used[as->old[i].rec.id & ~CGP_SET_DYNAMIC] = true;
	for (unsigned i = 0, next = 1; i < cfg->nsets; i++) {
		if (!cfg->sets[i].dynamic || cfg->sets[i].id)
			continue;
		while (next < CGP_SET_DYNAMIC && used[next])
			next++;
		if (next >= CGP_SET_DYNAMIC)
			return -ENOSPC;
		used[next] = true;
		cfg->sets[i].id = (__u16)(CGP_SET_DYNAMIC | next);
	}
	cgp_config_set_ids(cfg);
	return cgp_static_sets(cfg, &as->setm, &as->nsetm);
}

int apply_sets_prepare(const struct cgp_pins *p, const struct cgp_config *cfg,
		       const struct apply_sets *as)
{
	int fd = p->map_fd[CGP_MAP_DSETS];

	for (unsigned i = 0; i < cfg->nsets; i++) {
		struct cgp_lpm_entry *e;
		struct cgp_lpm_key *k;
		struct cgp_dset_val *v;
		size_t n;
		int err;

		const struct cgp_set_entry *o;

		if (!cfg->sets[i].dynamic)
			continue;
		o = find_rec(as, cfg->sets[i].name);
		if (!o || !o->rec.dynamic || o->rec.id != cfg->sets[i].id)
			cgp_dset_purge(fd, cfg->sets[i].id, false, NULL);
		if (cgp_set_flatten(cfg, i, &e, &n))
			return -ENOMEM;
		k = calloc(n ? n : 1, sizeof(*k));
		v = calloc(n ? n : 1, sizeof(*v));
		err = k && v ? 0 : -ENOMEM;
		for (size_t j = 0; !err && j < n; j++) {
			k[j] = e[j].key;
			v[j].member = e[j].val.verdict;
			v[j].plen = e[j].val.plen;
			v[j].line = e[j].val.line;
		}
		if (!err)
			err = cgp_dset_put(fd, k, v, n);
		free(k);
		free(v);
		free(e);
		if (err) {
			pr_err("cannot write the members of dynamic set '%s': %s\n", cfg->sets[i].name,
			       strerror(-err));
			return err;
		}
	}
	return 0;
}

void apply_sets_commit(const struct cgp_pins *p, const struct cgp_config *cfg,
		       const struct apply_sets *as, __u64 gen)
{
	int fd = p->map_fd[CGP_MAP_SETS];

	for (unsigned i = 0; i < as->nold; i++) {
		const struct cgp_set_entry *o = &as->old[i];
		int j = cgp_config_find_set(cfg, o->key.name);

		if (o->rec.dynamic && (j < 0 || cfg->sets[j].id != o->rec.id))
			cgp_dset_purge(p->map_fd[CGP_MAP_DSETS], o->rec.id, false, NULL);
		if (j < 0)
			bpf_map_delete_elem(fd, &o->key);
	}
	for (unsigned i = 0; i < cfg->nsets; i++) {
		struct cgp_set_key k = {};
		struct cgp_set_rec r = {
			.gen = gen, .id = cfg->sets[i].id, .dynamic = cfg->sets[i].dynamic,
			.line = (__u32)cfg->sets[i].line, .nmembers = cfg->sets[i].n,
		};

		const struct cgp_set_entry *o = find_rec(as, cfg->sets[i].name);

		if (o && o->rec.dynamic && o->rec.id == r.id)
			r.next_expiry = o->rec.next_expiry;	/* its timed members stay */
		snprintf(k.name, sizeof(k.name), "%s", cfg->sets[i].name);
		if (bpf_map_update_elem(fd, &k, &r, BPF_ANY))
			pr_warn("cannot record set '%s': %s\n", k.name, strerror(errno));
	}
}

void cgp_sets_sweep_pin(const char *pin_path)
{
	struct cgp_pins p;
	size_t n = 0;

	cgp_pins_init(&p, pin_path);
	if (!cgp_pins_lock(&p, false) && !cgp_pins_open(&p))
		n = cgp_sets_sweep(&p) + cgp_dns_sweep(&p);	/* and expired learned members */
	cgp_pins_close(&p);
	if (n)
		pr_debug("agent: %zu expired set members deleted\n", n);
}

void apply_sets_print(const struct cgp_config *cfg, const struct apply_sets *as)
{
	unsigned shown = 0;

	for (unsigned i = 0; i < cfg->nsets; i++) {
		const struct cgp_set *s = &cfg->sets[i];
		const struct cgp_set_entry *o = find_rec(as, s->name);
		size_t n = 0;

		if (cgp_set_is_dns(s->name))
			continue;	/* the implicit sets of name rules: apply_dns_print */
		printf("%s %s", shown++ ? "," : "sets:", s->name);
		if (s->dynamic) {
			bool kept = o && o->rec.dynamic && o->rec.id == s->id;

			printf(" (dynamic, %s)", kept ? "live members kept" : "new");
			continue;
		}
		for (size_t k = 0; k < as->nsetm; k++)
			n += as->setm[k].key.slot == s->id;
		printf(" (static, %zu %s)", n, n == 1 ? "entry" : "entries");
	}
	if (shown)
		printf("\n");
}

void apply_sets_free(struct apply_sets *as)
{
	free(as->old);
	free(as->setm);
	memset(as, 0, sizeof(*as));
}
