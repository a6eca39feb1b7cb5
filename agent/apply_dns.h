/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * apply_dns.h - DNS-name rules in the pinned state: what apply writes
 * (apply_dns.c) and the agent's own resolving (dns_agent.c, `dns = agent`).
 * bpf/dns.h has the maps; docs/POLICY.md "DNS names".
 */
#ifndef CGP_AGENT_APPLY_DNS_H
#define CGP_AGENT_APPLY_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "agent/apply_steps.h"
#include "bpf/dns.h"

/* The nameserver addresses of a resolv.conf (IPv4 v4-mapped), at most max. */
int cgp_dns_resolv_conf(const char *path, __u8 addr[][16], unsigned max);
/* The resolvers pol trusts: its dns_servers, else [agent]'s, else resolv.conf's. */
unsigned cgp_dns_policy_servers(const struct cgp_config *cfg, const struct cgp_policy *pol,
				__u8 addr[CGP_DNS_MAX_SERVERS][16]);

struct dns_undo;
struct apply_dns {
	struct dns_undo *log;		/* what each write before the switch replaced */
	size_t nlog, caplog;
	struct cgp_dnsname_key *names;	/* the entries of the new file */
	size_t nnames, capnames;
	struct cgp_dnssrv_key *srv;
	size_t nsrv, capsrv;
	bool pending;			/* written, not yet committed: abort undoes */
};

/* Before the switch: names, resolvers, the TTL clamp written (logged). 0 or -errno. */
int apply_dns_prepare(struct apply_dns *d, const struct cgp_pins *p, const struct cgp_config *cfg,
		      const struct apply_target *t, unsigned nt, const struct apply_guard *g,
		      unsigned ng);
/* A failure before the switch: every write of prepare undone. */
void apply_dns_abort(struct apply_dns *d, const struct cgp_pins *p);
/* After the switch: what the new file no longer has deleted, learned members pruned. */
void apply_dns_commit(struct apply_dns *d, const struct cgp_pins *p, const struct cgp_config *cfg,
		      const struct apply_target *t, unsigned nt, const struct apply_guard *g,
		      unsigned ng);
void apply_dns_free(struct apply_dns *d);
/* What apply prints: the name rules per policy, if any. */
void apply_dns_print(const struct cgp_config *cfg);
/* Warnings at apply: wildcards in `dns = agent` policies. */
void apply_dns_warn(const struct cgp_config *cfg);

#endif
