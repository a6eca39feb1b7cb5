/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * cgpolicy.h - every structure that crosses the kernel/user boundary.
 *
 * Included by the BPF programs (after vmlinux.h) and by user space (after
 * <linux/types.h>). Plain __u8..__u64 fields only; no pointers.
 *
 * Rule semantics (see docs/POLICY.md):
 *   Each cgroup policy owns a slot (1..CGP_MAX_SLOTS-1). Slot 0 means "not
 *   configured": traffic passes untouched, exactly as before the first apply.
 *   A packet is matched on (slot, direction, protocol, port class, remote
 *   address). Precedence, highest first:
 *     1. the longest remote-address prefix;
 *     2. at equal prefix, a rule with ports beats a rule without;
 *     3. at a full tie, deny beats allow (resolved when compiling);
 *     4. no match: the policy's default verdict for the direction.
 *   IPv4 addresses are matched as IPv4-mapped IPv6 (::ffff:a.b.c.d), so one
 *   trie serves both families and v4-mapped sockets of dual-stack servers.
 */
#ifndef CGPOLICY_H
#define CGPOLICY_H

#define CGP_LAYOUT_VERSION	4	/* bump when a pinned map layout changes */

#define CGP_MAX_SLOTS		1024	/* policies (cgroups) per pin path, slot 0 reserved */
#define CGP_MAX_PORT_BOUNDS	4096	/* interval boundaries per (policy, dir, proto) */

enum cgp_dir {
	CGP_DIR_IN	= 0,	/* ingress: connections/packets arriving */
	CGP_DIR_OUT	= 1,	/* egress: leaving */
	CGP_DIR_MAX	= 2,
};

enum cgp_proto {
	CGP_PROTO_TCP	= 0,
	CGP_PROTO_UDP	= 1,
	CGP_PROTO_ICMP	= 2,	/* ICMP and ICMPv6 */
	CGP_PROTO_OTHER	= 3,	/* any other IP protocol; only `any` rules match it */
	CGP_PROTO_MAX	= 4,
};

enum cgp_verdict {
	CGP_DENY	= 0,
	CGP_ALLOW	= 1,
};

/* Bits of the LPM key in front of the address: dir, proto, slot, cls. */
#define CGP_LPM_FIXED_BITS	48
/* prefixlen of an IPv4 /n rule: fixed bits + 96 (::ffff:0:0/96) + n */
#define CGP_LPM_V4_OFFSET	(CGP_LPM_FIXED_BITS + 96)

/*
 * Key of the rule trie (BPF_MAP_TYPE_LPM_TRIE, inner map of cgp_rules).
 * cls 0 holds rules without ports; cls k>0 holds rules whose ports cover
 * port interval k-1 of cgp_portmap for (slot, dir, proto).
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

struct cgp_lpm_val {
	__u8  verdict;		/* enum cgp_verdict */
	__u8  plen;		/* address prefix length 0..128 (v4 mapped) */
	__u16 pad;
	__u32 line;		/* line of the winning rule in the policy file */
};

/*
 * Port classes of (slot, dir, proto), proto TCP or UDP (inner map of
 * cgp_ports, a hash keyed by cgp_portmap_key). bound[] is sorted ascending;
 * the class of port p is 1 + (number of bounds <= p), so interval i is
 * [bound[i-1], bound[i]) with bound[-1] = 0. Ports before bound[0] get
 * class 1 and never match a port rule unless one covers them.
 */
struct cgp_portmap_key {
	__u16 slot;
	__u8  dir;
	__u8  proto;
};

struct cgp_portmap {
	__u32 n;		/* bounds in use, <= CGP_MAX_PORT_BOUNDS */
	__u16 bound[CGP_MAX_PORT_BOUNDS];
};

/*
 * What the kernel holds instead of bound[]: the port -> class function as an
 * LPM trie (inner map of cgp_ports). Each class interval is split into
 * aligned power-of-two blocks; the block containing a port is its longest
 * match, so a port's class costs one lookup and no loop.
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

struct cgp_portlpm_val {
	__u32 cls;
};

/* Per slot, per generation (inner array of cgp_pols, index = slot). */
struct cgp_pol {
	__u8  configured;	/* 0: slot unused in this generation -> pass */
	__u8  def[CGP_DIR_MAX];	/* default verdict per direction */
	__u8  flags;		/* CGP_POL_F_* */
	__u32 nrules;
};

#define CGP_POL_F_ACCELERATE	(1u << 0)
#define CGP_POL_F_STATS		(1u << 1)
#define CGP_POL_F_LOG		(1u << 2)	/* log = deny: ring buffer event per denied packet */
#define CGP_POL_F_AUDIT		(1u << 3)	/* mode = audit: count and log denies, drop nothing */

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
	__u8  pad[2];
	__u8  laddr[16];	/* local address, IPv4 as ::ffff:a.b.c.d */
	__u8  raddr[16];	/* remote address */
};

struct cgp_rl {
	__u64 last_ns;
	__u64 credit_ns;
	__u64 suppressed;
};

/*
 * Single element of cgp_state. gen increases by one per applied policy;
 * gen & 1 selects which of the two inner-map sets is live. One 8-byte
 * store switches every policy at once.
 */
struct cgp_state {
	__u64 gen;
	__u32 layout;		/* CGP_LAYOUT_VERSION of who created the pins */
	__u32 pad;
};

/* CGROUP_STORAGE (shared by all attach types, keyed by cgroup id). */
struct cgp_cgroup {
	__u32 slot;
	__u32 flags;		/* CGP_POL_F_* of the policy (read by sockops) */
};

/* PERCPU_CGROUP_STORAGE: counters of the cgroup the program is attached to. */
struct cgp_counters {
	__u64 packets[CGP_DIR_MAX][2];	/* [dir][verdict] */
	__u64 bytes[CGP_DIR_MAX][2];
};

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

/* Value of cgp_known (HASH, key: cgroup id of a candidate the last apply decided). */
struct cgp_known {
	__u32 slot;		/* its own policy slot, 0 when it matches no glob (free) */
	__u32 pad;
};

/*
 * SK_STORAGE: verdict cache of a TCP socket, one entry per policy on its
 * cgroup's path (nested policies each judge the connection themselves). More
 * than CGP_SK_SLOTS nested policies still work, their entries take turns.
 */
#define CGP_SK_SLOTS	4

struct cgp_sk_verdict {
	__u64 gen;		/* generation the verdict was taken in; 0 = none */
	__u16 slot;		/* policy that took it; 0 = free entry */
	__u8  verdict;
	__u8  pad[5];
};

struct cgp_sk {
	__u8  conn_dir;		/* CGP_CONN_* */
	__u8  pad[7];
	struct cgp_sk_verdict e[CGP_SK_SLOTS];
};

enum cgp_conn {
	CGP_CONN_UNKNOWN  = 0,	/* socket predates the policy: either direction may allow */
	CGP_CONN_PASSIVE  = 1,	/* accepted from a listener: `in` rules decide */
	CGP_CONN_ACTIVE   = 2,	/* connect()ed from here: `out` rules decide */
};

/* LRU of datagram flows (UDP, ICMP, raw): who spoke first. */
struct cgp_flow_key {
	__u64 cookie;		/* socket cookie */
	__u8  raddr[16];
	__u16 rport;		/* remote port; ICMP echo id; 0 otherwise */
	__u8  proto;
	__u8  pad[5];
};

/* value: bit (1 << dir) set when a packet of that direction was allowed first */
typedef __u8 cgp_flow_val;

/* ---- per-socket TCP stats (sockstat.bpf.c) ---- */

/* SK_STORAGE of a socket of a stats (or accelerate) policy cgroup. */
struct cgp_skstat {
	__u64 cookie;		/* socket cookie */
	__u64 since_ns;		/* bpf_ktime_get_ns() when listening/established */
	__u32 slot;		/* policy slot of the deepest policy cgroup */
	__u8  flags;		/* CGP_SS_F_* */
	__u8  sends;		/* redirected sends, wrapping (sk_msg) */
	__u8  waits;		/* sends that waited for the peer to read what came by TCP */
	__u8  pad;
	__u64 gen;		/* policy generation it was accelerated under */
};

/* Why an accelerated socket's sends went back to TCP (cgp_redir_cnt.to_tcp). */
enum {
	CGP_TCP_POLICY,		/* the policy changed: cgroup_skb judges it again */
	CGP_TCP_STREAM,		/* a stream of small writes: TCP coalesces them */
	CGP_TCP_SLOW,		/* its reader fell behind: TCP flow control */
	CGP_TCP_GONE,		/* the peer closed */
	CGP_TCP_BLOCKING,	/* its reader turned to blocking reads or SO_RCVLOWAT */
	CGP_TCP_MAX,
};

/*
 * Why a connection between two accelerated sockets was not accelerated
 * (cgp_redir_cnt.not_accel): an end whose reads can block (the kernel's
 * tcp_bpf_recvmsg() returns EAGAIN to a blocked reader on a wake-up without
 * data, and ignores MSG_WAITALL for redirected data), or one that set
 * SO_RCVLOWAT (ignored for redirected data too). See docs/ARCHITECTURE.md.
 */
enum {
	CGP_NA_BLOCKING,	/* an end's socket is in blocking mode (no O_NONBLOCK) */
	CGP_NA_RCVLOWAT,	/* an end set SO_RCVLOWAT above 1 */
	CGP_NA_MAX,
};

/* PERCPU_ARRAY cgp_redir, index slot: sends redirected to a local peer. */
struct cgp_redir_cnt {
	__u64 msgs;
	__u64 bytes;
	__u64 to_tcp[CGP_TCP_MAX];	/* sockets whose sends went back to TCP, by reason */
	__u64 not_accel[CGP_NA_MAX];	/* connections never accelerated, by reason */
};

/*
 * Key of cgp_socks (SOCKHASH of accelerated sockets): the connection as seen
 * from the socket, addresses as IPv6 (IPv4 as ::ffff:a.b.c.d, so an IPv4
 * client and the v4-mapped socket of a dual-stack server find each other).
 * A sender looks up its peer with local and remote swapped.
 */
struct cgp_sockkey {
	__u8  laddr[16];
	__u8  raddr[16];
	__u16 lport;		/* host order */
	__u16 rport;
	__u32 pad;
};

#define CGP_SS_F_ACCELERATED	(1u << 0)	/* in cgp_socks: sends may be redirected */
#define CGP_SS_F_ADOPTED	(1u << 1)	/* predates the policy: found by the dump */
#define CGP_SS_F_STATS		(1u << 2)	/* its policy has stats = yes */
#define CGP_SS_F_REDIRECTING	(1u << 3)	/* sends go straight to the peer socket */
#define CGP_SS_F_PASSING	(1u << 4)	/* sends take the normal TCP path */
#define CGP_SS_F_PASSIVE	(1u << 5)	/* the accepted end of its connection */

/* cgslots (hash, cgroup id -> slot) of every policy cgroup with `stats = yes`,
 * for the dump to adopt sockets that existed before the policy. */
struct cgp_cgslot {
	__u32 slot;
	__u32 pad;
};

/*
 * One record per socket, streamed by the iterator in a single read(). The
 * numbers are the tcp_sock's own, converted as tcp_get_info() does (the
 * values `ss -tin` prints).
 */
struct cgp_sockrec {
	__u64 cookie;
	__u64 since_ns;
	__u64 bytes_acked;
	__u64 bytes_received;
	__u32 slot;
	__u16 family;		/* AF_INET | AF_INET6 */
	__u8  state;		/* TCP_ESTABLISHED ... (include/net/tcp_states.h) */
	__u8  flags;		/* CGP_SS_F_* */
	__u8  saddr[16];	/* IPv4 as ::ffff:a.b.c.d */
	__u8  daddr[16];
	__u16 sport;		/* host order */
	__u16 dport;
	__u32 srtt_us;		/* srtt_us >> 3 */
	__u32 rttvar_us;	/* mdev_us >> 2 */
	__u32 snd_cwnd;
	__u32 snd_ssthresh;
	__u32 total_retrans;
	__u32 segs_in;
	__u32 segs_out;
	__u32 delivered;
	__u32 pad;
};

/* ---- listener steering, [reuseport NAME] (reuseport.bpf.c, agent/reuseport.c) ---- */

#define CGP_RP_MAX_SVCS		64	/* reuseport services per pin path */
#define CGP_RP_MAX_BACKENDS	16	/* = CGP_MAX_BACKENDS of policy.h */
#define CGP_RP_SLOTS		64	/* listeners per backend (bits of cgp_rp_occ) */
#define CGP_RP_NAME_MAX		64

/* Index of backend b of service id in cgp_rp_occ, cgp_rp_steered. */
#define CGP_RP_BIDX(id, b)	((id) * CGP_RP_MAX_BACKENDS + (b))
/* Slot k of backend b of service id in the sockmap cgp_rp_socks. */
#define CGP_RP_SLOT(id, b, k)	(CGP_RP_BIDX(id, b) * CGP_RP_SLOTS + (k))
/* cgp_rp_steered: per service, the backends, then one counter of connections
 * left to the kernel's own choice (no listener in any weighted backend). */
#define CGP_RP_CNT_PER_SVC	(CGP_RP_MAX_BACKENDS + 1)

/*
 * Key of a service (hash cgp_rp_svcs): the address a listener is bound to
 * (IPv4 as ::ffff:a.b.c.d) and its port. A service without `address =` has
 * has_addr 0 and a zero address: it covers every listener on the port. The
 * programs look up the exact key first, then the port-only one.
 */
struct cgp_rp_key {
	__u8  addr[16];
	__u16 port;		/* host order */
	__u8  proto;		/* CGP_PROTO_TCP */
	__u8  has_addr;
};

/*
 * A service. Replaced as a whole (hash update), so the programs never see
 * half-written weights. Backend index b is stable for a backend cgroup across
 * applies (its listener slots keep their meaning).
 */
struct cgp_rp_svc {
	__u32 id;				/* 0..CGP_RP_MAX_SVCS-1 */
	__u32 present;				/* bit b: backend b is configured */
	__u8  weight[CGP_RP_MAX_BACKENDS];	/* 0..100, 0 = drain */
	__u8  level[CGP_RP_MAX_BACKENDS];	/* cgroup depth: the deepest match wins (apply) */
	__u64 cgid[CGP_RP_MAX_BACKENDS];	/* backend cgroup ids (user space) */
};

/* SK_STORAGE of a listener the sockops program has registered. */
struct cgp_rp_sk {
	__u32 slot;		/* CGP_RP_SLOT() + 1; 0 = not claimed yet; CGP_RP_SK_FULL */
	__u32 pad;
};
/* cgp_rp_sk.slot of a listener claimed by a backend whose slots were all taken. */
#define CGP_RP_SK_FULL		0xffffffffu

/*
 * CGROUP_STORAGE of a backend cgroup (map cgp_rp_backend, one per cgroup the
 * sockops program is attached to): backend[id] = b + 1 when the cgroup is
 * backend b of service id, 0 when it is no backend of that service.
 */
struct cgp_rp_cgback {
	__u8  backend[CGP_RP_MAX_SVCS];
};

/* User-space records (maps cgp_rp_info, keyed by service id). */
struct cgp_rp_info {
	char  name[CGP_RP_NAME_MAX];
	char  backend[CGP_RP_MAX_BACKENDS][CGP_RP_NAME_MAX];	/* policy names */
	struct cgp_rp_key key;
};

/* A reuseport group our program was attached to (hash cgp_rp_groups). */
struct cgp_rp_group {
	__u8  addr[16];		/* bound address, IPv4 as ::ffff:a.b.c.d */
	__u16 port;
	__u16 family;		/* AF_INET | AF_INET6 */
	__u32 ifindex;		/* SO_BINDTODEVICE, 0 = none */
};

struct cgp_rp_groupval {
	__u64 cookie;		/* the listener the program was attached through */
	__u32 svc;
	__u32 pad;
};

#endif /* CGPOLICY_H */
