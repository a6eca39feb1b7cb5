// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * apply_dns.c - DNS-name rules at apply (bpf/dns.h): the names of every
 * policy (cgp_dnsnames), the resolvers each trusts (cgp_dnssrv) and the
 * TTL clamp (cgp_dnsconf).
 *
 * These maps are not generational. Before the switch, apply writes what the
 * new file needs, logging what each write replaced; a failure up to the
 * switch plays the log back, so the names in force are the old ones again.
 * After the switch it deletes the entries the new file no longer has, and
 * the learned members (cgp_dsets, pad CGP_DNS_SRC_*) of the implicit sets
 * whose last answered name (cgp_dnsaddr) no longer matches a name of their
 * set. The implicit sets themselves are dynamic sets (apply_sets.c): a set
 * the file still has keeps its id, and so its learned members.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "agent/apply_dns.h"
#include "agent/log.h"
#include "agent/mapiter.h"
#include "agent/sets.h"

struct dns_undo {
	int map;			/* CGP_MAP_DNSNAMES / DNSSRV / DNSCONF */
	bool had;			/* the key had a value: restore it, else delete */
	struct cgp_dnsname_key nk;	/* the key of DNSNAMES */
	struct cgp_dnssrv_key sk;	/* ... of DNSSRV */
	union {
		struct cgp_dnsname_val nv;
		struct cgp_dnsconf conf;
	} old;
};

int cgp_dns_resolv_conf(const char *path, __u8 addr[][16], unsigned max)
{
	FILE *f = fopen(path, "re");
	char line[512];
	unsigned n = 0;

	if (!f)
		return 0;
	while (n < max && fgets(line, sizeof(line), f)) {
		char word[32], a[INET6_ADDRSTRLEN + 16], *pct;

		if (sscanf(line, "%31s %63s", word, a) != 2 || strcmp(word, "nameserver"))
			continue;
		if ((pct = strchr(a, '%')))
			*pct = 0;	/* a zone index: the address alone */
		memset(addr[n], 0, 16);
		if (inet_pton(AF_INET6, a, addr[n]) == 1) {
			n++;
		} else if (inet_pton(AF_INET, a, addr[n] + 12) == 1) {
			addr[n][10] = addr[n][11] = 0xff;
			n++;
		}
	}
	fclose(f);
	return (int)n;
}

unsigned cgp_dns_policy_servers(const struct cgp_config *cfg, const struct cgp_policy *pol,
				__u8 addr[CGP_DNS_MAX_SERVERS][16])
{
	const struct cgp_dns_servers *sv = pol->dns_servers.n ? &pol->dns_servers :
					   cfg->agent.dns_servers.n ? &cfg->agent.dns_servers : NULL;

	if (!sv)
		return (unsigned)cgp_dns_resolv_conf("/etc/resolv.conf", addr, CGP_DNS_MAX_SERVERS);
	memcpy(addr, sv->addr, sv->n * 16);
	return sv->n;
}

static int log_push(struct apply_dns *d, const struct dns_undo *u)
{
	if (d->nlog == d->caplog) {
		size_t cap = d->caplog ? 2 * d->caplog : 64;
		struct dns_undo *n = realloc(d->log, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		d->log = n;
		d->caplog = cap;
	}
	d->log[d->nlog++] = *u;
	return 0;
}

/* One write into map m, logged first: 0 or -errno. */
static int put(struct apply_dns *d, const struct cgp_pins *p, int m, const void *key,
	       const void *val)
{
	int fd = p->map_fd[m];
	struct dns_undo u = { .map = m };
	const void *k = key;

	if (m == CGP_MAP_DNSNAMES)
		u.nk = *(const struct cgp_dnsname_key *)key;
	else if (m == CGP_MAP_DNSSRV)
		u.sk = *(const struct cgp_dnssrv_key *)key;
	u.had = !bpf_map_lookup_elem(fd, k, &u.old);
	if (log_push(d, &u))
		return -ENOMEM;
	return bpf_map_update_elem(fd, k, val, BPF_ANY) ? -errno : 0;
}

static int want_push(struct apply_dns *d, const void *key, bool srv)
{
	void **arr = srv ? (void **)&d->srv : (void **)&d->names;
	size_t *n = srv ? &d->nsrv : &d->nnames, *cap = srv ? &d->capsrv : &d->capnames;
	size_t sz = srv ? sizeof(*d->srv) : sizeof(*d->names);

	if (*n == *cap) {
		size_t c = *cap ? 2 * *cap : 64;
		void *a = realloc(*arr, c * sz);

		if (!a)
			return -ENOMEM;
		*arr = a;
		*cap = c;
	}
	memcpy((char *)*arr + *n * sz, key, sz);
	(*n)++;
	return 0;
}

/* The names and resolvers of one slot. */
static int prepare_slot(struct apply_dns *d, const struct cgp_pins *p,
			const struct cgp_config *cfg, const struct cgp_policy *pol,
			const struct cgp_compiled *c, __u32 slot)
{
	__u8 sv[CGP_DNS_MAX_SERVERS][16];
	unsigned nsv;
	int err = 0;

	if (!c->ndns)
		return 0;
	for (size_t i = 0; !err && i < c->ndns; i++) {
		err = put(d, p, CGP_MAP_DNSNAMES, &c->dns[i].key, &c->dns[i].val);
		if (!err)
			err = want_push(d, &c->dns[i].key, false);
	}
	nsv = cgp_dns_policy_servers(cfg, pol, sv);
	if (!nsv && (pol->dns_mode & CGP_DNS_PACKET))
		pr_warn("[%s]: no DNS resolver to trust (no dns_servers and no nameserver in "
			"/etc/resolv.conf): its names learn nothing from answers\n", pol->name);
	for (unsigned i = 0; !err && i < nsv; i++) {
		struct cgp_dnssrv_key k = { .slot = (__u16)slot };
		__u8 one = 1;

		memcpy(k.addr, sv[i], 16);
		err = put(d, p, CGP_MAP_DNSSRV, &k, &one);
		if (!err)
			err = want_push(d, &k, true);
	}
	return err;
}

int apply_dns_prepare(struct apply_dns *d, const struct cgp_pins *p, const struct cgp_config *cfg,
		      const struct apply_target *t, unsigned nt, const struct apply_guard *g,
		      unsigned ng)
{
	struct cgp_dnsconf conf = {
		.ttl_min = cfg->agent.dns_ttl_min, .ttl_max = cfg->agent.dns_ttl_max,
		.grace = cfg->agent.dns_grace,
	};
	__u32 zero = 0;
	int err;

	d->pending = true;
	err = put(d, p, CGP_MAP_DNSCONF, &zero, &conf);
	for (unsigned i = 0; !err && i < nt; i++)
		if (!t[i].skip)
			err = prepare_slot(d, p, cfg, t[i].pol, &t[i].comp, t[i].slot);
	for (unsigned i = 0; !err && i < ng; i++)
		err = prepare_slot(d, p, cfg, g[i].pol, &g[i].comp, g[i].slot);
	/* test hook: a failure after the writes, before the switch (dns_agent.sh) */
	if (!err && getenv("CGP_TEST_DNS_FAIL_PREPARE"))
		err = -EIO;
	if (err)
		pr_err("cannot write the DNS names: %s\n", strerror(-err));
	return err;
}

void apply_dns_abort(struct apply_dns *d, const struct cgp_pins *p)
{
	if (!d->pending)
		return;
	for (size_t i = d->nlog; i-- > 0;) {
		const struct dns_undo *u = &d->log[i];
		int fd = p->map_fd[u->map];
		__u32 zero = 0;
		const void *k = u->map == CGP_MAP_DNSNAMES ? (const void *)&u->nk :
				u->map == CGP_MAP_DNSSRV ? (const void *)&u->sk : (const void *)&zero;

		if (u->had)
			bpf_map_update_elem(fd, k, &u->old, BPF_ANY);
		else
			bpf_map_delete_elem(fd, k);
	}
	d->pending = false;
}

void apply_dns_free(struct apply_dns *d)
{
	free(d->log);
	free(d->names);
	free(d->srv);
	memset(d, 0, sizeof(*d));
}

/* ------------------------------------------------------------------ after the switch */

static int names_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct cgp_dnsname_key));
}

static int srv_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct cgp_dnssrv_key));
}

/* Delete every key of map m (key size ks) not among the n sorted `want`. */
static void delete_unwanted(const struct cgp_pins *p, int m, size_t ks, const void *want, size_t n,
			    int (*cmp)(const void *, const void *))
{
	struct cgp_map_iter it = CGP_MAP_ITER(p->map_fd[m]);
	unsigned char k[sizeof(struct cgp_dnsname_key)];
	unsigned char *del = NULL;
	size_t nd = 0, cap = 0;

	memset(k, 0, sizeof(k));
	while (cgp_map_next(&it, k, ks)) {
		if (want && bsearch(k, want, n, ks, cmp))
			continue;
		if (nd == cap) {
			unsigned char *nb = realloc(del, (cap = cap * 2 + 64) * ks);

			if (!nb)
				break;
			del = nb;
		}
		memcpy(del + nd++ * ks, k, ks);
	}
	for (size_t i = 0; i < nd; i++)	/* after the walk: a delete under it restarts it */
		bpf_map_delete_elem(p->map_fd[m], del + i * ks);
	free(del);
}

/* Is `name` (the text of a cgp_dnsaddr entry) one of the names of implicit set `set`? */
static bool set_has_name(const struct cgp_policy *pol, unsigned set, const char *name)
{
	for (unsigned i = 0; i < pol->nrules; i++) {
		const struct cgp_rule *r = &pol->rules[i];

		if (r->dns && r->set == set + 1 &&
		    cgp_dns_match(pol->names[r->dns - 1].name, pol->names[r->dns - 1].wild, name))
			return true;
	}
	return false;
}

/* The last name answered for addr at any slot of pol, into name: false when none. */
static bool last_name(const struct cgp_pins *p, const struct apply_target *t, unsigned nt,
		      const struct cgp_policy *pol, const __u8 addr[16], char *name, size_t len)
{
	for (unsigned i = 0; i < nt; i++) {
		struct cgp_dnsaddr_key k = { .slot = (__u16)t[i].slot };
		struct cgp_dnsaddr_val v;

		if (t[i].pol != pol || t[i].skip)
			continue;
		memcpy(k.addr, addr, 16);
		if (!bpf_map_lookup_elem(p->map_fd[CGP_MAP_DNSADDR], &k, &v)) {
			cgp_dns_key_name(v.name, v.len, name, len);
			return true;
		}
	}
	return false;
}

/* The policy whose name rules use set i, or NULL. */
static const struct cgp_policy *set_policy(const struct cgp_config *cfg, unsigned i)
{
	for (unsigned j = 0; j < cfg->npolicies; j++)
		for (unsigned k = 0; k < cfg->policies[j].nrules; k++)
			if (cfg->policies[j].rules[k].dns && cfg->policies[j].rules[k].set == i + 1)
				return &cfg->policies[j];
	return NULL;
}

/* Learned members whose last name no longer matches a name of their set: deleted. */
static size_t prune_learned(const struct cgp_pins *p, const struct cgp_config *cfg,
			    const struct apply_target *t, unsigned nt)
{
	int fd = p->map_fd[CGP_MAP_DSETS];
	struct cgp_map_iter it = CGP_MAP_ITER(fd);
	short *idx = malloc(CGP_SET_DYNAMIC * sizeof(*idx));
	struct cgp_dkeys del = {};
	struct cgp_lpm_key k;
	size_t done = 0;
	bool any = false;

	if (!idx)
		return 0;
	memset(idx, 0xff, CGP_SET_DYNAMIC * sizeof(*idx));
	for (unsigned i = 0; i < cfg->nsets; i++)
		if (cgp_set_is_dns(cfg->sets[i].name) && (cfg->sets[i].id & CGP_SET_DYNAMIC))
			idx[cfg->sets[i].id & ~CGP_SET_DYNAMIC] = (short)i, any = true;
	while (any && cgp_map_next(&it, &k, sizeof(k))) {
		struct cgp_dset_val v;
		const struct cgp_policy *pol;
		char name[CGP_DNS_NAME_MAX + 2];
		short i;

		if (k.dir != CGP_DIR_SET || !(k.slot & CGP_SET_DYNAMIC) ||
		    (i = idx[k.slot & ~CGP_SET_DYNAMIC]) < 0 || bpf_map_lookup_elem(fd, &k, &v) ||
		    (v.pad != CGP_DNS_SRC_PACKET && v.pad != CGP_DNS_SRC_AGENT))
			continue;
		pol = set_policy(cfg, (unsigned)i);
		if (!pol || !last_name(p, t, nt, pol, k.addr, name, sizeof(name)) ||
		    set_has_name(pol, (unsigned)i, name))
			continue;	/* no name known: its expiry bounds it */
		if (!cgp_dkeys_add(&del, &k))
			break;
	}
	done = cgp_dkeys_delete(fd, &del);
	free(idx);
	return done;
}

/* Does pol have a name matching `name`? */
static bool policy_has_name(const struct cgp_policy *pol, const char *name)
{
	for (unsigned i = 0; i < pol->nnames; i++)
		if (cgp_dns_match(pol->names[i].name, pol->names[i].wild, name))
			return true;
	return false;
}

/* The policy at slot s after this apply, or NULL. */
static const struct cgp_policy *slot_policy(const struct apply_target *t, unsigned nt,
					    const struct apply_guard *g, unsigned ng, __u32 s)
{
	for (unsigned i = 0; i < nt; i++)
		if (!t[i].skip && t[i].slot == s)
			return t[i].pol;
	for (unsigned i = 0; i < ng; i++)
		if (g[i].slot == s)
			return g[i].pol;
	return NULL;
}

/* cgp_dnsaddr entries whose slot has no policy with names now, or whose name left it. */
static void prune_addrs(const struct cgp_pins *p, const struct apply_target *t, unsigned nt,
			const struct apply_guard *g, unsigned ng)
{
	int fd = p->map_fd[CGP_MAP_DNSADDR];
	struct cgp_map_iter it = CGP_MAP_ITER(fd);
	struct cgp_dnsaddr_key k, *del = NULL;
	size_t n = 0, cap = 0;

	while (cgp_map_next(&it, &k, sizeof(k))) {
		const struct cgp_policy *pol = slot_policy(t, nt, g, ng, k.slot);
		struct cgp_dnsaddr_val v;
		char name[CGP_DNS_NAME_MAX + 2];

		if (pol && !bpf_map_lookup_elem(fd, &k, &v)) {
			cgp_dns_key_name(v.name, sizeof(v.name), name, sizeof(name));
			if (policy_has_name(pol, name))
				continue;
		}
		if (n == cap) {
			struct cgp_dnsaddr_key *nd = realloc(del, (cap = cap * 2 + 64) * sizeof(*del));

			if (!nd)
				break;
			del = nd;
		}
		del[n++] = k;
	}
	for (size_t i = 0; i < n; i++)
		bpf_map_delete_elem(fd, &del[i]);
	free(del);
}

void apply_dns_commit(struct apply_dns *d, const struct cgp_pins *p, const struct cgp_config *cfg,
		      const struct apply_target *t, unsigned nt, const struct apply_guard *g,
		      unsigned ng)
{
	size_t n;

	d->pending = false;
	if (d->nnames)
		qsort(d->names, d->nnames, sizeof(*d->names), names_cmp);
	if (d->nsrv)
		qsort(d->srv, d->nsrv, sizeof(*d->srv), srv_cmp);
	delete_unwanted(p, CGP_MAP_DNSNAMES, sizeof(*d->names), d->names, d->nnames, names_cmp);
	delete_unwanted(p, CGP_MAP_DNSSRV, sizeof(*d->srv), d->srv, d->nsrv, srv_cmp);
	n = prune_learned(p, cfg, t, nt);	/* first: it reads the last names */
	prune_addrs(p, t, nt, g, ng);
	if (n)
		printf("dns: %zu learned addresses dropped (their names left the file)\n", n);
}

void apply_dns_warn(const struct cgp_config *cfg)
{
	for (unsigned i = 0; i < cfg->npolicies; i++) {
		const struct cgp_policy *pol = &cfg->policies[i];

		if (pol->dns_mode != CGP_DNS_AGENT)
			continue;
		for (unsigned k = 0; k < pol->nnames; k++)
			if (pol->names[k].wild)
				pr_warn("%s:%d: [%s] has dns = agent: the agent cannot resolve the "
					"wildcard '%s' (only answers seen in the kernel can, dns = "
					"packet or both); it matches nothing\n", cfg->file,
					pol->names[k].line, pol->name, pol->names[k].name);
	}
}

void apply_dns_print(const struct cgp_config *cfg)
{
	static const char *const mode[] = { "", "packet", "agent", "both" };
	unsigned shown = 0;

	for (unsigned i = 0; i < cfg->npolicies; i++) {
		const struct cgp_policy *pol = &cfg->policies[i];

		if (pol->nnames)
			printf("%s [%s] %u (dns = %s)", shown++ ? "," : "dns names:", pol->name,
			       pol->nnames, mode[pol->dns_mode & 3]);
	}
	if (shown)
		printf("\n");
}
