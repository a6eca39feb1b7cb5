// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * dns_agent.c - `dns = agent|both`: the agent resolves the exact names of
 * such policies itself, for when the answers do not pass the policy's
 * cgroup (nscd, a host resolver over D-Bus or varlink, DNS over TLS/HTTPS).
 *
 * The libc resolver (res_nquery) asks for A and AAAA of each name, as is
 * (no search list), and ns_initparse/ns_parserr read the answer's records
 * and their TTLs: no DNS parsing of our own. Each address goes into the
 * name's implicit sets as the kernel's learning would write it
 * (cgp_dsets, pad CGP_DNS_SRC_AGENT, expiry now + clamp(TTL) + grace;
 * cgp_dnsaddr), for every slot of the policy; the name is asked again once
 * its TTL (clamped) is over, before the members expire. Resolving happens
 * without the pin lock (a slow resolver must not hold up an apply); the
 * writes take it. Wildcards cannot be resolved (apply warns).
 */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <errno.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "agent/apply_steps.h"
#include "agent/dns_agent.h"
#include "agent/log.h"
#include "agent/mapiter.h"
#include "agent/sets.h"

#define DNS_MAX_ADDRS	32	/* addresses kept per name and round */

struct dns_name {
	char name[CGP_DNS_NAME_MAX + 1];
	__u64 due;			/* boot ns: ask again then */
	bool seen;			/* still in the file (this round) */
	bool fresh;			/* resolved this round: write */
	unsigned naddr;
	__u8 addr[DNS_MAX_ADDRS][16];
	__u32 ttl;			/* the smallest TTL of the answers, clamped */
};

struct cgp_dns_agent {
	struct dns_name *v;
	size_t n, cap;
};

struct cgp_dns_agent *cgp_dns_agent_new(void)
{
	return calloc(1, sizeof(struct cgp_dns_agent));
}

void cgp_dns_agent_free(struct cgp_dns_agent *a)
{
	if (a)
		free(a->v);
	free(a);
}

static bool agent_mode(const struct cgp_policy *pol)
{
	return (pol->dns_mode & CGP_DNS_AGENT) && pol->nnames;
}

bool cgp_dns_agent_wanted(const struct cgp_config *cfg)
{
	for (unsigned i = 0; i < cfg->npolicies; i++)
		if (agent_mode(&cfg->policies[i]))
			return true;
	return false;
}

static struct dns_name *find_or_add(struct cgp_dns_agent *a, const char *name)
{
	for (size_t i = 0; i < a->n; i++)
		if (!strcmp(a->v[i].name, name))
			return &a->v[i];
	if (a->n == a->cap) {
		size_t cap = a->cap ? 2 * a->cap : 16;
		struct dns_name *v = realloc(a->v, cap * sizeof(*v));

		if (!v)
			return NULL;
		a->v = v;
		a->cap = cap;
	}
	memset(&a->v[a->n], 0, sizeof(a->v[0]));
	snprintf(a->v[a->n].name, sizeof(a->v[0].name), "%s", name);
	return &a->v[a->n++];
}

/* The exact names of agent-mode policies marked seen; the others dropped. */
static void mark_names(struct cgp_dns_agent *a, const struct cgp_config *cfg)
{
	size_t k = 0;

	for (size_t i = 0; i < a->n; i++)
		a->v[i].seen = a->v[i].fresh = false;
	for (unsigned i = 0; i < cfg->npolicies; i++) {
		const struct cgp_policy *pol = &cfg->policies[i];

		for (unsigned j = 0; agent_mode(pol) && j < pol->nnames; j++) {
			struct dns_name *d;

			if (pol->names[j].wild || !(d = find_or_add(a, pol->names[j].name)))
				continue;
			d->seen = true;
		}
	}
	for (size_t i = 0; i < a->n; i++)
		if (a->v[i].seen)
			a->v[i - k] = a->v[i];
		else
			k++;
	a->n -= k;
}

/* The A or AAAA records of one answer into d; the smallest TTL into *ttl. */
static void query(res_state rs, struct dns_name *d, int type, __u32 *ttl)
{
	unsigned char buf[8192];
	int len = res_nquery(rs, d->name, ns_c_in, type, buf, sizeof(buf));
	ns_msg msg;

	if (len < 0 || ns_initparse(buf, len, &msg) < 0)
		return;		/* NXDOMAIN, no data, no answer: nothing learned */
	for (int i = 0; i < ns_msg_count(msg, ns_s_an); i++) {
		ns_rr rr;
		bool a4;

		if (ns_parserr(&msg, ns_s_an, i, &rr) < 0)
			break;
		if (ns_rr_class(rr) != ns_c_in)
			continue;
		if (ns_rr_ttl(rr) < *ttl)
			*ttl = ns_rr_ttl(rr);	/* CNAMEs of the chain count too */
		a4 = ns_rr_type(rr) == ns_t_a && ns_rr_rdlen(rr) == 4;
		if ((!a4 && !(ns_rr_type(rr) == ns_t_aaaa && ns_rr_rdlen(rr) == 16)) ||
		    d->naddr == DNS_MAX_ADDRS)
			continue;
		memset(d->addr[d->naddr], 0, 16);
		if (a4) {
			d->addr[d->naddr][10] = d->addr[d->naddr][11] = 0xff;
			memcpy(d->addr[d->naddr] + 12, ns_rr_rdata(rr), 4);
		} else {
			memcpy(d->addr[d->naddr], ns_rr_rdata(rr), 16);
		}
		d->naddr++;
	}
}

/* The names due (all when `all`) resolved; the next due time set. Count resolved. */
static unsigned resolve_due(struct cgp_dns_agent *a, const struct cgp_agent_conf *ac, bool all)
{
	struct __res_state rs;
	__u64 now = cgp_boot_ns();
	unsigned n = 0;

	memset(&rs, 0, sizeof(rs));
	if (res_ninit(&rs)) {	/* reads resolv.conf again: a changed one counts */
		pr_warn("agent: dns: cannot initialise the resolver\n");
		return 0;
	}
	/* the agent's loop waits for this: 2 s per server and query, not libc's 5 x 2 */
	rs.retrans = 2;
	rs.retry = 1;
	for (size_t i = 0; i < a->n; i++) {
		struct dns_name *d = &a->v[i];
		__u32 ttl = UINT32_MAX;

		if (!all && d->due > now)
			continue;
		d->naddr = 0;
		query(&rs, d, ns_t_a, &ttl);
		query(&rs, d, ns_t_aaaa, &ttl);
		if (ttl < ac->dns_ttl_min || !d->naddr)
			ttl = ac->dns_ttl_min;	/* no answer: asked again after the floor */
		if (ttl > ac->dns_ttl_max)
			ttl = ac->dns_ttl_max;
		d->ttl = ttl;
		/* asked again a little before the TTL ends: the members live TTL + grace */
		d->due = now + (__u64)(ttl - ttl / 8) * 1000000000ull;
		d->fresh = d->naddr > 0;
		n++;
		pr_debug("agent: dns: %s: %u addresses, ttl %u\n", d->name, d->naddr, ttl);
	}
	res_nclose(&rs);
	return n;
}

/* One learned member of set `id` (longer expiry wins: the kernel's may be later). */
static int put_member(int fd, __u16 id, const __u8 addr[16], __u32 line, __u64 expires)
{
	struct cgp_lpm_key k = { .prefixlen = CGP_LPM_FIXED_BITS + 128, .dir = CGP_DIR_SET,
				 .slot = id };
	struct cgp_dset_val v = { .member = 1, .plen = 128, .pad = CGP_DNS_SRC_AGENT,
				  .line = line, .expires = expires }, old;

	memcpy(k.addr, addr, 16);
	if (!bpf_map_lookup_elem(fd, &k, &old) && (!old.expires || old.expires >= expires))
		return 0;	/* a file member, or learned for longer */
	return bpf_map_update_elem(fd, &k, &v, BPF_ANY) ? -errno : 0;
}

/* The addresses of d for entry (k, v) of cgp_dnsnames: members and cgp_dnsaddr. */
static int write_name(const struct cgp_pins *p, const struct cgp_config *cfg,
		      const struct dns_name *d, const struct cgp_dnsname_key *k,
		      const struct cgp_dnsname_val *v)
{
	const struct cgp_agent_conf *ac = &cfg->agent;
	__u64 exp = cgp_boot_ns() + ((__u64)d->ttl + ac->dns_grace) * 1000000000ull;
	int err = 0;

	for (unsigned i = 0; !err && i < d->naddr; i++) {
		struct cgp_dnsaddr_key ak = { .slot = k->slot };
		struct cgp_dnsaddr_val av = { .expires = exp, .line = v->line,
					      .source = CGP_DNS_SRC_AGENT };

		for (int s = 0; !err && s < CGP_DNS_SETS && v->sets[s]; s++)
			err = put_member(p->map_fd[CGP_MAP_DSETS], v->sets[s], d->addr[i], v->line, exp);
		memcpy(ak.addr, d->addr[i], 16);
		av.len = (__u8)cgp_dns_key_bytes(d->name, false, av.name) - 1;
		if (!err)
			bpf_map_update_elem(p->map_fd[CGP_MAP_DNSADDR], &ak, &av, BPF_ANY);
	}
	return err;
}

/* Is slot s one of a policy in agent mode (the info and guard records say which)? */
static bool agent_slot(const struct cgp_config *cfg, const struct cgp_info *inf, unsigned ninf,
		       const struct cgp_guard_info *g, unsigned ng, __u32 s)
{
	const struct cgp_policy *pol = NULL;

	for (unsigned i = 0; i < ninf && !pol; i++)
		if (inf[i].slot == s)
			pol = cgp_config_find(cfg, inf[i].name);
	for (unsigned i = 0; i < ng && !pol; i++)
		if (g[i].slot == s)
			pol = cgp_config_find(cfg, g[i].name);
	return pol && agent_mode(pol);
}

/* Every entry of an agent-mode slot whose name was resolved this round: written. */
static unsigned write_fresh(struct cgp_dns_agent *a, const struct cgp_pins *p,
			    const struct cgp_config *cfg)
{
	struct cgp_map_iter it = CGP_MAP_ITER(p->map_fd[CGP_MAP_DNSNAMES]);
	struct cgp_info *inf = calloc(CGP_MAX_SLOTS, sizeof(*inf));
	struct cgp_guard_info *g = NULL;
	unsigned ninf = 0, ng = 0, n = 0;
	struct cgp_dnsname_key k;

	if (!inf)
		return 0;
	ninf = cgp_info_read(p, inf, CGP_MAX_SLOTS);
	if (apply_read_guard_infos(p, &g, &ng))
		ng = 0;
	memset(&k, 0, sizeof(k));
	while (cgp_map_next(&it, &k, sizeof(k))) {
		unsigned len = (k.prefixlen - CGP_DNSNAME_FIXED_BITS) / 8;
		struct cgp_dnsname_val v;
		char name[CGP_DNS_NAME_MAX + 2];

		if (!len || len > CGP_DNS_NAME_MAX + 1 || k.name[len - 1] ||
		    !agent_slot(cfg, inf, ninf, g, ng, k.slot) ||
		    bpf_map_lookup_elem(it.fd, &k, &v))
			continue;	/* a wildcard, or not the agent's */
		cgp_dns_key_name(k.name, len, name, sizeof(name));
		for (size_t i = 0; i < a->n; i++) {
			if (!a->v[i].fresh || strcmp(a->v[i].name, name))
				continue;
			if (write_name(p, cfg, &a->v[i], &k, &v))
				pr_warn("agent: dns: cannot write the addresses of %s: %s\n", name,
					strerror(errno));
			else
				n++;
		}
	}
	free(inf);
	free(g);
	return n;
}

long cgp_dns_agent_round(struct cgp_dns_agent *a, const char *pin_path,
			 const struct cgp_config *cfg, bool all)
{
	struct cgp_pins p;
	__u64 now, next = 0;

	mark_names(a, cfg);
	if (!a->n)
		return -1;
	if (resolve_due(a, &cfg->agent, all)) {
		cgp_pins_init(&p, pin_path);
		if (!cgp_pins_lock(&p, false) && !cgp_pins_open(&p))
			write_fresh(a, &p, cfg);
		cgp_pins_close(&p);
	}
	for (size_t i = 0; i < a->n; i++)
		if (!next || a->v[i].due < next)
			next = a->v[i].due;
	now = cgp_boot_ns();
	return next > now ? (long)((next - now) / 1000000) + 1 : 0;
}

void cgp_dns_agent_once(const struct cgp_pins *p, const struct cgp_config *cfg)
{
	struct cgp_dns_agent *a;
	unsigned n = 0;

	if (!cgp_dns_agent_wanted(cfg) || !(a = cgp_dns_agent_new()))
		return;
	mark_names(a, cfg);
	if (resolve_due(a, &cfg->agent, true))
		n = write_fresh(a, p, cfg);
	printf("dns: %zu names resolved by cgpolicy (dns = agent), %u entries written\n", a->n, n);
	cgp_dns_agent_free(a);
}

/*
 * Expired learned members (packet or agent) deleted: the lookup skips them
 * already; this keeps cgp_dsets from filling up. One walk for all sets.
 */
size_t cgp_dns_sweep(const struct cgp_pins *p)
{
	int fd = p->map_fd[CGP_MAP_DSETS];
	struct cgp_map_iter it = CGP_MAP_ITER(fd);
	struct cgp_dkeys del = {};
	struct cgp_lpm_key k;
	__u64 now = cgp_boot_ns();

	while (cgp_map_next(&it, &k, sizeof(k))) {
		struct cgp_dset_val v;

		if (k.dir != CGP_DIR_SET || bpf_map_lookup_elem(fd, &k, &v) ||
		    (v.pad != CGP_DNS_SRC_PACKET && v.pad != CGP_DNS_SRC_AGENT) ||
		    !v.expires || v.expires > now)
			continue;
		if (!cgp_dkeys_add(&del, &k))
			break;
	}
	return cgp_dkeys_delete(fd, &del);
}
