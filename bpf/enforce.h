/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * enforce.h - the types enforce.bpf.c (cgroup_skb policy programs and guards)
 * shares with user space: rule and port tries, per-slot policy, counters,
 * deny events, guards.
 *
 * Rule semantics (see docs/POLICY.md):
 *   Each cgroup policy owns a slot (1..CGP_MAX_SLOTS-1). Slot 0 means "not
 *   configured": traffic passes untouched, exactly as before the first apply.
 *   A packet is matched on (slot, direction, protocol, port class, remote
 *   address). Precedence, highest first:
 *     1. the longest remote-address prefix;
 *     2. at equal prefix, a rule with ports (ICMP: a type) beats a rule without;
 *     3. at a full tie, deny beats allow (resolved when compiling);
 *     4. no match: the policy's default verdict for the direction.
 *   IPv4 addresses are matched as IPv4-mapped IPv6 (::ffff:a.b.c.d), so one
 *   trie serves both families and v4-mapped sockets of dual-stack servers.
 */
#ifndef CGP_BPF_ENFORCE_H
#define CGP_BPF_ENFORCE_H

#include "bpf/common.h"

/* Bits of the LPM key in front of the address: dir, proto, slot, cls. */
#define CGP_LPM_FIXED_BITS	48

/*
 * Key of the rule trie (BPF_MAP_TYPE_LPM_TRIE, inner map of cgp_rules).
 * cls 0 holds rules without ports; cls k>0 holds rules whose ports cover
 * port class k of (slot, dir, proto) (the port trie below gives a port's
 * class).
 */
struct cgp_lpm_key {
	__u32 prefixlen;
	__u8  dir;
	__u8  proto;
	__u16 slot;
	__u16 cls;
	__u8  addr[16];		/* network order, IPv4 as ::ffff:a.b.c.d */
	__u16 pad;		/* always 0, beyond every prefix */
};
CGP_ASSERT_SIZE(struct cgp_lpm_key, 28);
CGP_ASSERT_OFFSET(struct cgp_lpm_key, dir, 4);
CGP_ASSERT_OFFSET(struct cgp_lpm_key, addr, 10);
/* the LPM data starts after prefixlen: the fixed bits end where addr begins */
_Static_assert(CGP_LPM_FIXED_BITS == 8 * (__builtin_offsetof(struct cgp_lpm_key, addr) - 4),
	       "CGP_LPM_FIXED_BITS: bits of cgp_lpm_key between prefixlen and addr");

struct cgp_lpm_val {
	__u8  verdict;		/* enum cgp_verdict */
	__u8  plen;		/* address prefix length 0..128 (v4 mapped) */
	__u16 pad;
	__u32 line;		/* line of the winning rule in the policy file */
};
CGP_ASSERT_SIZE(struct cgp_lpm_val, 8);

/*
 * The port -> class function of (slot, dir, proto), proto TCP, UDP, ICMP or
 * CGP_PORTPROTO_ICMP6 (below), as an
 * LPM trie (inner map of cgp_ports). The port specs of a (slot, dir, proto)
 * cut 0..65535 into intervals; each interval some rule covers is a class
 * (numbered in port order, 1..65535), split into aligned power-of-two blocks,
 * and the block containing a port is its longest match, so a port's class
 * costs one lookup and no loop; a port no rule covers has no entry.
 * prefixlen = CGP_PORTLPM_FIXED_BITS + block prefix (0..16).
 */
#define CGP_PORTLPM_FIXED_BITS	32

struct cgp_portlpm_key {
	__u32 prefixlen;
	__u16 slot;
	__u8  dir;
	__u8  proto;
	__u8  port[2];		/* big endian: most significant bits first */
	__u16 pad;
};
CGP_ASSERT_SIZE(struct cgp_portlpm_key, 12);
CGP_ASSERT_OFFSET(struct cgp_portlpm_key, port, 8);
_Static_assert(CGP_PORTLPM_FIXED_BITS == 8 * (__builtin_offsetof(struct cgp_portlpm_key, port) - 4),
	       "CGP_PORTLPM_FIXED_BITS: bits of cgp_portlpm_key between prefixlen and port");

/*
 * cls: the class of the port's interval (bits 0-15) and its class in the
 * wide layer (bits 16-31), 0 for none. Ranges that cover many classes (more
 * than 64 in one layer) get classes of their own, cut by the wide ranges'
 * bounds only, numbered above the others: such a rule costs one entry per
 * wide class, not one per class of the single ports under it, and the rule
 * lookup does one more trie lookup when the wide class is not 0. Set rules
 * are never wide. (Layout 9: older programs read the low 16 bits only.)
 */
#define CGP_CLS_WIDE_SHIFT	16

struct cgp_portlpm_val {
	__u32 cls;
};
CGP_ASSERT_SIZE(struct cgp_portlpm_val, 4);

/*
 * ICMP types reuse the port classes: the "port" of an ICMP packet is
 * type << 8 | code (`type 3` is 0x0300-0x03ff, `type 3 code 4` is 0x0304).
 * The two families have their own type numbers, so the port trie keys ICMPv6
 * with proto CGP_PORTPROTO_ICMP6 (this trie only), and its classes are
 * numbered from CGP_ICMP6_CLS_BASE + 1 in the trie's values: in the rule
 * trie both families stay CGP_PROTO_ICMP, their classes never collide
 * (at most 0x7fff classes per family, both layers).
 */
#define CGP_PORTPROTO_ICMP6	4
#define CGP_ICMP6_CLS_BASE	0x8000

/*
 * Named address sets (docs/POLICY.md "Address sets", docs/ARCHITECTURE.md
 * "Address sets"). A set has an id: 1..0x7fff a static set, whose members
 * are entries of the rule trie of the generation (key dir CGP_DIR_SET,
 * slot = id, cls 0; value verdict 1 member / 0 exclusion, plen the member's
 * prefix); CGP_SET_DYNAMIC | n a dynamic set, whose members live in the
 * one non-generational trie cgp_dsets (same key, value cgp_dset_val).
 * A set rule is an entry of the rule trie with proto | CGP_SET_RULE and the
 * set id in addr[0..1] at the full prefix: no address rule can cover it.
 * cgp_pol.sets lists, per (dir, proto), the sets the slot's rules use.
 */
#define CGP_DIR_SET		CGP_DIR_MAX	/* key dir of set members */
#define CGP_SET_RULE		0x80		/* key proto bit of set rules */
#define CGP_SET_DYNAMIC		0x8000		/* set id bit: members in cgp_dsets */
#define CGP_SET_REFS		8		/* sets per (policy, dir, proto) */
#define CGP_MAX_DSET_ENTRIES	(1u << 22)	/* members of all dynamic sets */

struct cgp_dset_val {
	__u8  member;		/* 1 member, 0 exclusion */
	__u8  plen;		/* member prefix length 0..128 (v4 mapped) */
	__u16 pad;
	__u32 line;		/* line in the policy file; 0: added by `cgpolicy set add` */
	__u64 expires;		/* bpf_ktime_get_boot_ns deadline; 0: never */
};
CGP_ASSERT_SIZE(struct cgp_dset_val, 16);

/* Per slot, per generation (inner array of cgp_pols, index = slot). */
struct cgp_pol {
	__u8  configured;	/* 0: slot unused in this generation -> pass */
	__u8  def[CGP_DIR_MAX];	/* default verdict per direction */
	__u8  flags;		/* CGP_POL_F_* */
	__u32 nrules;
	/* set ids the rules of (dir, proto) use, 0-terminated */
	__u16 sets[CGP_DIR_MAX][CGP_PROTO_MAX][CGP_SET_REFS];
};
CGP_ASSERT_SIZE(struct cgp_pol, 136);

/* PERCPU_CGROUP_STORAGE cgp_counters (and cgp_gcnt): packets/bytes per direction and verdict. */
struct cgp_counters {
	__u64 packets[CGP_DIR_MAX][2];	/* [dir][verdict] */
	__u64 bytes[CGP_DIR_MAX][2];
};
CGP_ASSERT_SIZE(struct cgp_counters, 64);

/*
 * Per-rule hit counters (PERCPU_HASH cgp_hits): decisions of the rule lookup
 * (cgp_eval), one per new TCP connection (per generation) and per datagram,
 * never on the established fast path. Keyed by the policy slot, the parity
 * of the generation that decided (gen & 1, the rule set in use) and the
 * deciding rule's line (0: the direction's default). apply clears the
 * entries of the parity it switches to, so the live parity counts "since
 * apply". A full map counts in cgp_hitsx[parity] instead (never drops).
 */
#define CGP_MAX_HITS		65536

struct cgp_hit_key {
	__u16 slot;
	__u8  parity;		/* generation & 1 */
	__u8  dir;		/* direction whose rules decided (TCP: who opened) */
	__u32 line;		/* line of the deciding rule; 0: default of dir */
};
CGP_ASSERT_SIZE(struct cgp_hit_key, 8);

/*
 * Deny events (ring buffer cgp_events), rate-limited per slot with a token
 * bucket in cgp_rl: CGP_EVENT_RATE events/s, bursts of CGP_EVENT_BURST. The
 * bucket holds "credit" in nanoseconds; an event costs 1e9 / rate.
 */
#define CGP_EVENT_RATE		100
#define CGP_EVENT_BURST		100

struct cgp_event {
	__u64 ts_ns;		/* bpf_ktime_get_ns (CLOCK_MONOTONIC) */
	__u64 cgroup_id;	/* the socket's cgroup (the policy cgroup or a descendant) */
	__u32 slot;		/* the policy slot that denied */
	__u32 line;		/* line of the deciding rule; 0: the direction's default */
	__u32 len;		/* packet length */
	__u32 suppressed;	/* events dropped by the rate limit since the previous one */
	__u8  dir;		/* CGP_DIR_* of the packet */
	__u8  rule_dir;		/* direction whose rules decided (TCP: who opened the connection) */
	__u8  proto;		/* CGP_PROTO_* */
	__u8  l4proto;		/* IPPROTO_* */
	__u8  audit;		/* 1: audit mode, the packet was let through */
	__u8  family;		/* 4 or 6 */
	__u16 lport, rport;	/* host order; 0 when not TCP/UDP */
	__u8  icmp_type;	/* ICMP/ICMPv6 (proto CGP_PROTO_ICMP): the type and code; */
	__u8  icmp_code;	/* 255/255: no full ICMP header; 0 when not ICMP */
	__u8  laddr[16];	/* local address, IPv4 as ::ffff:a.b.c.d */
	__u8  raddr[16];	/* remote address */
};
CGP_ASSERT_SIZE(struct cgp_event, 80);
CGP_ASSERT_OFFSET(struct cgp_event, dir, 32);
CGP_ASSERT_OFFSET(struct cgp_event, lport, 38);
CGP_ASSERT_OFFSET(struct cgp_event, icmp_type, 42);
CGP_ASSERT_OFFSET(struct cgp_event, laddr, 44);
CGP_ASSERT_OFFSET(struct cgp_event, raddr, 60);

/*
 * Fail-closed guards of glob policies (see docs/ARCHITECTURE.md, "Guards").
 * The fixed ancestor of a glob (its literal prefix) has the guard programs
 * attached; their own CGROUP_STORAGE (cgp_guard, not cgp_cgroup: storage is
 * shared by every program of an attach point using the same map) lists the
 * globs rooted there: the absolute cgroup level of their candidates and the
 * template slot that judges a candidate the last apply has not decided
 * (cgroup id not in cgp_known).
 */
#define CGP_GUARDS		4	/* glob policies sharing one fixed ancestor */
#define CGP_MAX_KNOWN		65536	/* decided cgroups (entries of cgp_known) */

struct cgp_guard_ent {
	__u16 slot;		/* template slot; 0 = unused entry (entries are packed) */
	__u16 level;		/* cgroup level of the candidates (cgroup2 root: 0) */
};

struct cgp_guard {
	struct cgp_guard_ent e[CGP_GUARDS];
};
CGP_ASSERT_SIZE(struct cgp_guard, 16);

/* Value of cgp_known (HASH, key: cgroup id of a candidate the last apply decided). */
struct cgp_known {
	__u32 slot;		/* its own policy slot, 0 when it matches no glob (free) */
	__u32 pad;
};
CGP_ASSERT_SIZE(struct cgp_known, 8);

#endif /* CGP_BPF_ENFORCE_H */
