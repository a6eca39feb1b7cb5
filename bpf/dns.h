/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * dns.h - egress by DNS name (`allow = out tcp api.example.com port 443`):
 * the types the ingress DNS parser (bpf/dns.bpf.h, in enforce.bpf.c) shares
 * with user space. docs/ARCHITECTURE.md, "DNS names".
 *
 * Design in one paragraph. A name rule is compiled as a set rule (see
 * "Named address sets" in enforce.h) whose set is an implicit dynamic set
 * of the policy: one per (policy, proto, ports) signature, so a policy with
 * many names and a few port lists references a few sets. The names of a
 * policy are entries of cgp_dnsnames, an LPM trie over the reversed,
 * lower-cased name text: `api.example.com` is the exact entry
 * "moc.elpmaxe.ipa\0", `*.example.com` the prefix "moc.elpmaxe." (one or
 * more labels). Its value lists every implicit set the name belongs to
 * (the compiler folds covering wildcards into longer entries, so the longest
 * match is enough). The egress program records each DNS query a policy
 * socket sends to a trusted resolver (cgp_dnssrv) in cgp_dnsq; the ingress
 * program, for a response from a trusted resolver (source port 53) to the
 * socket that asked the same question, looks the question up in
 * cgp_dnsnames and writes each A/AAAA address of the answer chain into the
 * listed sets' members (cgp_dsets, enforce.h; plen 128, expiry = now +
 * clamp(TTL) + grace), and the name into cgp_dnsaddr. This happens in the
 * socket's receive path, before the application can read the answer, so
 * its first connect() to the address is allowed.
 */
#ifndef CGP_BPF_DNS_H
#define CGP_BPF_DNS_H

#include "bpf/common.h"

#define CGP_DNS_NAME_MAX	253		/* characters of a name, no trailing dot */
#define CGP_DNS_SETS		8		/* implicit sets per name entry */
#define CGP_MAX_DNS_NAMES	65536		/* entries of cgp_dnsnames (all policies) */
#define CGP_MAX_DNS_SERVERS	4096		/* entries of cgp_dnssrv (all policies) */
#define CGP_MAX_DNS_ADDRS	16384		/* entries of cgp_dnsaddr (LRU) */
#define CGP_MAX_DNS_QUERIES	8192		/* entries of cgp_dnsq (LRU) */

/*
 * cgp_dnsnames (LPM_TRIE, not generational: apply writes new entries before
 * the generation switch and deletes obsolete ones after it).
 * name[]: the name lower-cased, without trailing dot, byte-reversed; an
 * exact name is followed by a 0 byte (which is part of its prefix), a
 * wildcard `*.SUFFIX` is the reversed ".SUFFIX" (no 0 byte).
 * prefixlen = CGP_DNSNAME_FIXED_BITS + 8 * (bytes of the pattern).
 * The lookup key: the reversed question name, a 0 byte, zero padding,
 * prefixlen = CGP_DNSNAME_FIXED_BITS + 8 * (CGP_DNS_NAME_MAX + 1).
 */
#define CGP_DNSNAME_FIXED_BITS	16

struct cgp_dnsname_key {
	__u32 prefixlen;
	__u16 slot;
	__u8  name[CGP_DNS_NAME_MAX + 1];
};
CGP_ASSERT_SIZE(struct cgp_dnsname_key, 260);
CGP_ASSERT_OFFSET(struct cgp_dnsname_key, name, 6);

struct cgp_dnsname_val {
	__u32 line;			/* the most specific pattern's rule line */
	__u16 sets[CGP_DNS_SETS];	/* implicit dynamic set ids, 0-terminated */
	__u32 pad;
};
CGP_ASSERT_SIZE(struct cgp_dnsname_val, 24);

/* cgp_dnssrv (HASH): the resolvers policy `slot` trusts (answers from port 53). */
struct cgp_dnssrv_key {
	__u16 slot;
	__u16 pad;
	__u8  addr[16];			/* IPv4 as ::ffff:a.b.c.d */
};
CGP_ASSERT_SIZE(struct cgp_dnssrv_key, 20);

/* cgp_dnsconf (ARRAY, 1 entry), from [agent]: TTL clamp and grace, seconds.
 * All 0 (never written): 5, 86400, 60. */
struct cgp_dnsconf {
	__u32 ttl_min;
	__u32 ttl_max;
	__u32 grace;
	__u32 pad;
};
CGP_ASSERT_SIZE(struct cgp_dnsconf, 16);

/*
 * cgp_dnsq (LRU_HASH): queries in flight, written by egress, consumed
 * (deleted) by the first matching response on ingress.
 */
struct cgp_dnsq_key {
	__u64 cookie;			/* the asking socket */
	__u8  server[16];		/* the resolver it asked */
	__u16 id;			/* DNS message id */
	__u16 slot;
	__u32 pad;
};
CGP_ASSERT_SIZE(struct cgp_dnsq_key, 32);

struct cgp_dnsq_val {
	__u64 qhash;			/* FNV-1a 64 of the lower-cased question name + qtype */
	__u64 ts;			/* bpf_ktime_get_boot_ns of the query */
};
CGP_ASSERT_SIZE(struct cgp_dnsq_val, 16);

/* How a learned member came in: cgp_dset_val.pad (0: the file or `cgpolicy set add`). */
#define CGP_DNS_SRC_PACKET	1		/* parsed from an answer by the ingress program */
#define CGP_DNS_SRC_AGENT	2		/* resolved by the agent (`dns = agent`) */

/* cgp_dnsaddr (LRU_HASH): the last name answered for an address, per policy. */
struct cgp_dnsaddr_key {
	__u16 slot;
	__u16 pad;
	__u8  addr[16];
};
CGP_ASSERT_SIZE(struct cgp_dnsaddr_key, 20);

struct cgp_dnsaddr_val {
	__u64 expires;			/* boot ns, as the member's */
	__u32 line;			/* the name rule's line */
	__u8  source;			/* CGP_DNS_SRC_* */
	__u8  len;			/* bytes of name[] in use */
	__u8  name[CGP_DNS_NAME_MAX + 1];	/* the question, as the key: reversed, 0-terminated */
	__u8  pad[4];
};
CGP_ASSERT_SIZE(struct cgp_dnsaddr_val, 272);

/* cgp_dnsstat (PERCPU_ARRAY, index slot): what the parser saw, per policy. */
struct cgp_dns_stats {
	__u64 queries;			/* queries recorded (egress) */
	__u64 answers;			/* responses from a trusted resolver to a query in flight */
	__u64 matched;			/* ... whose question matched a name of the policy */
	__u64 learned;			/* addresses written into sets */
	__u64 malformed;		/* responses skipped: bad lengths, pointers, labels */
	__u64 untrusted;		/* responses from a source the policy does not trust */
	__u64 unsolicited;		/* responses no query of that socket is waiting for */
	__u64 truncated;		/* records past the parser's bound, TC bit, split TCP */
};
CGP_ASSERT_SIZE(struct cgp_dns_stats, 64);

#endif /* CGP_BPF_DNS_H */
