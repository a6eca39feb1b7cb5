// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * enforce.bpf.c - cgroup_skb ingress/egress policy enforcement, and the
 * guards of glob policies.
 *
 * cgp_ingress/cgp_egress: one program pair, attached (bpf_link, multi) to
 * every policy cgroup. The attach point's CGROUP_STORAGE says which policy
 * slot the instance serves; nested policies simply run one after the other
 * and the kernel drops the packet if any of them says so.
 *
 * Per packet:
 *   TCP with a full socket: the verdict cached in SK_STORAGE for the current
 *     generation (one lookup for established flows). On a miss the connection
 *     is evaluated once, by who opened it: accepted sockets (storage cloned
 *     from the listener, which marked itself PASSIVE) are judged by `in`
 *     rules, connect()ed ones (first seen in SYN_SENT) by `out` rules. The
 *     verdict covers both directions, so replies never need their own rule.
 *   TCP without a full socket: a request or time-wait socket's egress passes
 *     (its connection was judged on its listener or socket), its ingress is
 *     judged by `in` rules; no socket at all: judged by the packet's
 *     direction.
 *   Everything else (UDP, ICMP, raw): evaluated per packet; an allowed packet
 *     records its flow in an LRU, so a reply to it passes while the original
 *     direction is still allowed.
 *
 * cgp_guard_in/cgp_guard_out: attached to the fixed ancestor of glob
 * policies; a cgroup below it that the last apply has not decided yet is
 * judged by the glob policy's template slot (guard(), at the end).
 *
 * Types shared with user space: bpf/enforce.h. Packet parsing: packet.bpf.h;
 * deny events of `log = deny` policies: events.bpf.h.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "bpf/enforce.h"
#include "bpf/shared.bpf.h"
#include "bpf/shared_maps.bpf.h"
#include "bpf/packet.bpf.h"

/* Set by the BPF unit tests only: BPF_PROG_TEST_RUN has a fresh, zeroed cgroup storage. */
const volatile __u32 test_slot = 0;
/* ... and for the guard programs: one guard entry (template slot, candidate level). */
const volatile __u32 test_guard_slot = 0;
const volatile __u32 test_guard_level = 0;

struct cgp_rules_inner {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1);		/* real size chosen per generation */
	__uint(map_flags, BPF_F_NO_PREALLOC);
	/* sizes, not __type(): clang emits only forward declarations for types
	 * reached through an inner-map template */
	__uint(key_size, sizeof(struct cgp_lpm_key));
	__uint(value_size, sizeof(struct cgp_lpm_val));
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 2);
	__type(key, __u32);
	__array(values, struct cgp_rules_inner);
} cgp_rules SEC(".maps");

struct cgp_ports_inner {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(key_size, sizeof(struct cgp_portlpm_key));
	__uint(value_size, sizeof(struct cgp_portlpm_val));
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 2);
	__type(key, __u32);
	__array(values, struct cgp_ports_inner);
} cgp_ports SEC(".maps");

struct cgp_pols_inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, CGP_MAX_SLOTS);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(struct cgp_pol));
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 2);
	__type(key, __u32);
	__array(values, struct cgp_pols_inner);
} cgp_pols SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE);
	__type(key, __u64);
	__type(value, struct cgp_counters);
} cgp_counters SEC(".maps");

/*
 * SK_STORAGE cgp_sk: verdict cache of a TCP socket, one entry per policy on
 * its cgroup's path (nested policies each judge the connection themselves).
 * More than CGP_SK_SLOTS nested policies still work, their entries take turns.
 */
#define CGP_SK_SLOTS	4

struct cgp_sk_verdict {
	__u64 gen;		/* generation the verdict was taken in; 0 = none */
	__u16 slot;		/* policy that took it; 0 = free entry */
	__u8  verdict;
	__u8  pad[5];
};

enum cgp_conn {
	CGP_CONN_UNKNOWN  = 0,	/* socket predates the policy: either direction may allow */
	CGP_CONN_PASSIVE  = 1,	/* accepted from a listener: `in` rules decide */
	CGP_CONN_ACTIVE   = 2,	/* connect()ed from here: `out` rules decide */
};

struct cgp_sk {
	__u8  conn_dir;		/* enum cgp_conn */
	__u8  pad[7];
	struct cgp_sk_verdict e[CGP_SK_SLOTS];
};
CGP_ASSERT_SIZE(struct cgp_sk, 72);

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC | BPF_F_CLONE);	/* children inherit PASSIVE */
	__type(key, int);
	__type(value, struct cgp_sk);
} cgp_sk SEC(".maps");

/* LRU cgp_flows of datagram flows (UDP, ICMP, raw): who spoke first. */
struct cgp_flow_key {
	__u64 cookie;		/* socket cookie */
	__u8  raddr[16];
	__u16 rport;		/* remote port (UDP); 0 for ICMP and other protocols */
	__u8  proto;
	__u8  pad[5];
};
CGP_ASSERT_SIZE(struct cgp_flow_key, 32);

/* value: bit (1 << dir) set when a packet of that direction was allowed first */
typedef __u8 cgp_flow_val;

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct cgp_flow_key);
	__type(value, cgp_flow_val);
} cgp_flows SEC(".maps");

/*
 * Guards (fail-closed glob policies). Only the guard programs use these: the
 * guard's attach point data lives in its own cgroup storage, so an ancestor
 * that is also a policy cgroup keeps its slot and counters apart.
 */
struct {
	__uint(type, BPF_MAP_TYPE_CGROUP_STORAGE);
	__type(key, __u64);
	__type(value, struct cgp_guard);
} cgp_guard SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CGP_MAX_KNOWN);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);
	__type(value, struct cgp_known);
} cgp_known SEC(".maps");

/* Counters of the template slots: packets judged before the cgroup was registered. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CGP_MAX_SLOTS);
	__type(key, __u32);
	__type(value, struct cgp_counters);
} cgp_gcnt SEC(".maps");

struct ctx {
	__u32 set;
	__u16 slot;
	__u8  dir;		/* direction of this packet */
	__u8  def[CGP_DIR_MAX];	/* the policy's default verdicts */
	__u8  hit;		/* count the last cgp_eval's decision (cgp_hits): 1 + the
				 * direction whose rules decided; 0: not counted. One byte,
				 * so the fast path zeroes ctx with the stores of before */
	__u32 line;		/* rule line of the last cgp_eval (0: default) */
};

#include "bpf/hits.bpf.h"

/*
 * Rule lookup, precedence (see enforce.h):
 *   1. longest remote prefix; 2. at equal prefix a port rule beats a portless
 *   one; 3. deny beats allow at a full tie (merged at compile time);
 *   4. no match: the direction's default.
 * Two rule-trie lookups (after one port-trie lookup for TCP, UDP and typed
 * ICMP; three when the port is in a wide range's class too), whatever the
 * number of rules.
 */
/*
 * A candidate rule as one number, higher wins: prefix length, then a port
 * rule over a portless one, then deny over allow (the documented precedence);
 * +1 so that 0 means none.
 */
static __always_inline __u32 cand(const struct cgp_lpm_val *v, __u32 plen, __u32 port,
				  __u32 *line)
{
	if (!v)
		return 0;
	*line = v->line;
	return (plen & 0xff) << 3 | (port & 1) << 2 | (v->verdict == CGP_DENY) << 1 | 1;
}

static __always_inline __u32 cand_max(__u32 best, __u32 c2, __u32 *line, __u32 line2)
{
	if (c2 > best) {
		*line = line2;
		return c2;
	}
	return best;
}

#include "bpf/sets.bpf.h"
#include "bpf/dns.bpf.h"

/* A global function: verified once, with every argument unknown. */
__noinline int cgp_eval(struct ctx *c, __u32 dir, const struct pkt *p, __u32 port)
{
	struct cgp_lpm_key k = {};
	struct cgp_lpm_val *a = NULL, *w = NULL, *b;
	void *rules, *ports;
	__u32 set, cls = 0, wcls, best, line = 0, bline = 0;

	if (!c || !p)
		return CGP_DENY;
	set = c->set;
	dir &= 1;
	c->hit = 1 + dir;
	rules = bpf_map_lookup_elem(&cgp_rules, &set);
	if (!rules)
		return c->def[dir];
	k.prefixlen = CGP_LPM_FIXED_BITS + 128;
	k.dir = dir;
	k.proto = p->proto;
	k.slot = c->slot;
	__builtin_memcpy(k.addr, p->raddr, 16);

	/* ICMP: port is type << 8 | code (CGP_NO_ICMP: no header, no class) */
	if (p->proto == CGP_PROTO_TCP || p->proto == CGP_PROTO_UDP ||
	    (p->proto == CGP_PROTO_ICMP && port <= 0xffff)) {
		ports = bpf_map_lookup_elem(&cgp_ports, &set);
		if (ports) {
			struct cgp_portlpm_key pk = {
				.prefixlen = CGP_PORTLPM_FIXED_BITS + 16,
				.slot = c->slot, .dir = dir, .proto = p->proto,
				.port = { port >> 8, port & 0xff },
			};

			if (p->l4proto == IPPROTO_ICMPV6_)
				pk.proto = CGP_PORTPROTO_ICMP6;	/* its own type classes */
			struct cgp_portlpm_val *pc = bpf_map_lookup_elem(ports, &pk);

			if (pc) {
				cls = pc->cls & 0xffff;
				wcls = pc->cls >> CGP_CLS_WIDE_SHIFT;
				if (cls) {
					k.cls = (__u16)cls;
					a = bpf_map_lookup_elem(rules, &k);
				}
				if (wcls) {	/* the wide layer: ranges over many classes */
					k.cls = (__u16)wcls;
					w = bpf_map_lookup_elem(rules, &k);
				}
				k.cls = 0;
			}
		}
	}
	b = bpf_map_lookup_elem(rules, &k);
	best = cand(a, a ? a->plen : 0, 1, &line);
	best = cand_max(best, cand(w, w ? w->plen : 0, 1, &bline), &line, bline);
	best = cand_max(best, cand(b, b ? b->plen : 0, 0, &bline), &line, bline);
	best = eval_sets(c, rules, dir, p, cls, best, &line);
	if (!best) {
		c->line = 0;
		return c->def[dir];
	}
	c->line = line;
	return (best & 2) ? CGP_DENY : CGP_ALLOW;
}

static __always_inline __u8 eval(struct ctx *c, __u8 dir, const struct pkt *p, __u32 port)
{
	return (__u8)cgp_eval(c, dir, p, port);
}

/* Service port: the local port for `in`, the remote port for `out`; ICMP: type << 8 | code. */
static __always_inline __u32 svc_port(__u8 dir, const struct pkt *p)
{
	if (p->proto == CGP_PROTO_ICMP)
		return p->icmp;
	return dir == CGP_DIR_IN ? p->lport : p->rport;
}

/*
 * The port a reply is judged by in its flow's first direction. ICMP: the
 * request of a reply type and the reply of a request type (echo, timestamp,
 * information, address mask; ICMPv6 echo), so `allow = out icmp any type
 * echo-request` lets the echo replies in and not the peer's own requests;
 * any other type as it is.
 */
static __always_inline __u32 reply_port(__u8 odir, const struct pkt *p)
{
	__u32 t = p->icmp >> 8, code = p->icmp & 0xff;

	if (p->proto != CGP_PROTO_ICMP || p->icmp > 0xffff)
		return svc_port(odir, p);
	if (p->l4proto == IPPROTO_ICMPV6_) {
		if (t == 128 || t == 129)		/* echo request, reply */
			t ^= 1;
	} else if (t == 0 || t == 8) {			/* echo reply, request */
		t ^= 8;
	} else if (t >= 13 && t <= 18) {		/* timestamp, info, mask: 13/14, 15/16, 17/18 */
		t = t & 1 ? t + 1 : t - 1;
	}
	return t << 8 | code;
}

static __always_inline __u8 verdict_dgram(struct __sk_buff *skb, struct ctx *c, const struct pkt *p)
{
	struct cgp_flow_key fk = {};
	cgp_flow_val *fv, nv;
	__u8 dir = c->dir, odir = dir ^ 1;
	__u8 v = eval(c, dir, p, svc_port(dir, p));

	fk.cookie = bpf_get_socket_cookie(skb);
	if (!fk.cookie)
		return v;
	__builtin_memcpy(fk.raddr, p->raddr, 16);
	fk.rport = p->rport;
	fk.proto = p->proto;
	fv = bpf_map_lookup_elem(&cgp_flows, &fk);
	if (v == CGP_ALLOW) {
		if (!fv || !(*fv & (1u << dir))) {
			nv = (fv ? *fv : 0) | (1u << dir);
			bpf_map_update_elem(&cgp_flows, &fk, &nv, BPF_ANY);
		}
		return v;
	}
	/* A reply to a flow started the other way, which the policy still allows. */
	if (fv && (*fv & (1u << odir)))
		return eval(c, odir, p, reply_port(odir, p));
	return v;
}

static __always_inline __u8 verdict_tcp(struct __sk_buff *skb, struct ctx *c,
					const struct pkt *p, __u64 gen)
{
	struct bpf_sock *sk = skb->sk;
	struct cgp_sk *st;
	int i, k = -1;
	__u8 v, conn, old = 0xff;

	if (!sk)
		return eval(c, c->dir, p, svc_port(c->dir, p));
	sk = bpf_sk_fullsock(sk);
	if (!sk) {
		/* request or time-wait socket: SYN-ACK, ACK, RST of a handshake or
		 * connection whose own verdict was taken on its listener or socket. */
		if (c->dir == CGP_DIR_OUT)
			return CGP_ALLOW;
		v = eval(c, CGP_DIR_IN, p, p->lport);
		c->hit = 0;	/* its connection is counted on the listener or socket */
		return v;
	}
	if (sk->state == BPF_TCP_LISTEN) {
		/* SYN and handshake ACK in, SYN-ACK out: the kernel runs egress
		 * for request sockets on their listener. All of it belongs to an
		 * incoming connection. Mark the listener so its children inherit
		 * PASSIVE (BPF_F_CLONE). */
		st = bpf_sk_storage_get(&cgp_sk, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
		if (st && st->conn_dir != CGP_CONN_PASSIVE)
			st->conn_dir = CGP_CONN_PASSIVE;
		v = eval(c, CGP_DIR_IN, p, p->lport);
		/* hits: an allowed connection is counted once, by its accepted
		 * socket below; a denied one here, per SYN that arrives */
		c->hit = c->dir == CGP_DIR_IN && v != CGP_ALLOW;
		return v;
	}
	st = bpf_sk_storage_get(&cgp_sk, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!st)
		return eval(c, c->dir, p, svc_port(c->dir, p));
	/* this policy's entry: an established flow costs this loop of <= 4 */
	for (i = 0; i < CGP_SK_SLOTS; i++) {
		if (st->e[i].slot == c->slot) {
			if (st->e[i].gen == gen)
				return st->e[i].verdict;
			k = i;
			old = st->e[i].verdict;	/* judged again: a new generation */
			break;
		}
	}
	if (k < 0) {
		for (i = 0; i < CGP_SK_SLOTS; i++) {
			if (!st->e[i].slot) {
				k = i;
				break;
			}
		}
	}
	if (k < 0)
		k = c->slot & (CGP_SK_SLOTS - 1);	/* > 4 nested policies: take turns */

	conn = st->conn_dir;
	if (conn == CGP_CONN_UNKNOWN && sk->state == BPF_TCP_SYN_SENT)
		conn = CGP_CONN_ACTIVE;
	if (conn == CGP_CONN_PASSIVE)
		v = eval(c, CGP_DIR_IN, p, p->lport);
	else if (conn == CGP_CONN_ACTIVE)
		v = eval(c, CGP_DIR_OUT, p, p->rport);
	else {	/* predates the policy: who opened it is unknown; either may allow
		 * (the last eval is the decision that stood, for the hit counters) */
		v = eval(c, CGP_DIR_IN, p, p->lport);
		if (v != CGP_ALLOW)
			v = eval(c, CGP_DIR_OUT, p, p->rport);
	}
	/* hits: a connection judged again after a policy change counts only when its verdict changes */
	if (v == old)
		c->hit = 0;
	st->conn_dir = conn;
	k &= CGP_SK_SLOTS - 1;
	st->e[k].slot = c->slot;
	st->e[k].verdict = v;
	st->e[k].gen = gen;
	return v;
}

/* deny events: rate_ok(), deny_event() and their maps (they need eval() above) */
#include "bpf/events.bpf.h"

/*
 * The counters of the policy judging the packet: the attach point's per-CPU
 * cgroup storage for the programs attached to policy cgroups, the template
 * slot's entry of cgp_gcnt for the guards (which must not touch
 * cgp_counters: that would give the ancestor a second counter set). `guard`
 * is a constant: each program references only its own map.
 */
static __always_inline struct cgp_counters *counters(bool guard, __u32 slot)
{
	if (guard)
		return bpf_map_lookup_elem(&cgp_gcnt, &slot);
	return bpf_get_local_storage(&cgp_counters, 0);
}

static __always_inline void count(struct cgp_counters *cnt, __u8 dir, __u8 v, __u32 len)
{
	if (!cnt)	/* a map lookup (guards); the cgroup storage is never NULL */
		return;
	cnt->packets[dir & 1][v & 1]++;
	cnt->bytes[dir & 1][v & 1] += len;
}

/* The whole judgement of a packet by policy slot `slot`. */
static __always_inline int judge(struct __sk_buff *skb, __u8 dir, __u32 slot, bool guard)
{
	struct cgp_state *s;
	struct ctx c = { .dir = dir };
	struct cgp_pol *pol;
	struct bpf_sock *sk0;
	struct pkt p = {};
	void *pols;
	__u32 zero = 0;
	__u8 v;

	if (!slot || slot >= CGP_MAX_SLOTS)
		return 1;		/* not configured (yet): as before apply */
	s = bpf_map_lookup_elem(&cgp_state, &zero);
	if (!s)
		return 1;
	/*
	 * Fast path, before any parsing: a TCP socket whose connection this
	 * policy allowed in the live generation (most packets end here). Only an
	 * allow is taken from the cache here; a deny goes the whole way (counted,
	 * logged, audited). DNS over TCP (remote port 53) goes the whole way too:
	 * its answers are read after the verdict (cgp_dns).
	 */
	sk0 = skb->sk;
	if (sk0) {
		struct bpf_sock *fsk = bpf_sk_fullsock(sk0);

		if (fsk && fsk->protocol == IPPROTO_TCP && fsk->state != BPF_TCP_LISTEN &&
		    fsk->dst_port != bpf_htons(CGP_DNS_PORT)) {
			struct cgp_sk *st = bpf_sk_storage_get(&cgp_sk, fsk, 0, 0);

			for (int i = 0; st && i < CGP_SK_SLOTS; i++) {
				if (st->e[i].slot != slot)
					continue;
				if (st->e[i].gen == s->gen && st->e[i].verdict == CGP_ALLOW) {
					count(counters(guard, slot), dir, 1, skb->len);
					return 1;
				}
				break;
			}
		}
	}

	c.set = s->gen & 1;
	c.slot = slot;
	pols = bpf_map_lookup_elem(&cgp_pols, &c.set);
	if (!pols)
		return 1;
	pol = bpf_map_lookup_elem(pols, &slot);
	if (!pol || !pol->configured)
		return 1;
	c.def[CGP_DIR_IN] = pol->def[CGP_DIR_IN];
	c.def[CGP_DIR_OUT] = pol->def[CGP_DIR_OUT];

	if (parse(skb, dir, &p))
		v = c.def[dir & 1];	/* not IP: default of the direction */
	else if (p.proto == CGP_PROTO_TCP)
		v = verdict_tcp(skb, &c, &p, s->gen);
	else
		v = verdict_dgram(skb, &c, &p);

	v = v == CGP_ALLOW;
	if (v && (pol->flags & CGP_POL_F_DNS))
		cgp_dns(skb, dir, slot, &p);	/* record a query, learn from an answer */
	count(counters(guard, slot), dir, v, skb->len);
	if (c.hit)
		cgp_count_hit(&c);
	if (!v && (pol->flags & (CGP_POL_F_LOG | CGP_POL_F_AUDIT))) {
		/* off the fast path: only denies of log/audit policies get here */
		if (pol->flags & CGP_POL_F_LOG)
			deny_event(skb, &c, &p, !!(pol->flags & CGP_POL_F_AUDIT));
		if (pol->flags & CGP_POL_F_AUDIT)
			return 1;	/* counted as denied, let through */
	}
	return v;
}

static __always_inline int handle(struct __sk_buff *skb, __u8 dir)
{
	struct cgp_cgroup *cg = bpf_get_local_storage(&cgp_cgroup, 0);

	return judge(skb, dir, test_slot ? test_slot : cg->slot, false);
}

SEC("cgroup_skb/ingress")
int cgp_ingress(struct __sk_buff *skb)
{
	return handle(skb, CGP_DIR_IN);
}

SEC("cgroup_skb/egress")
int cgp_egress(struct __sk_buff *skb)
{
	return handle(skb, CGP_DIR_OUT);
}

/*
 * Guards: attached to the fixed ancestor of glob policies, so they run for
 * every socket below it, from the first packet of a cgroup created a moment
 * ago. Per glob rooted here: the socket's ancestor at the glob's candidate
 * level; none (the socket lives above that level): not ours. A candidate the
 * last apply decided (cgp_known) passes: a match is judged by the programs
 * attached to it, the others are free. Any other candidate is new: the glob
 * policy's template slot judges it, with that policy's rules and verdicts.
 */
/*
 * Subprograms: judge()'s code is in each guard program once, not once per
 * guard entry (the verifier still walks it per entry: about 19,000
 * instructions processed against 2,800 for cgp_ingress). One per direction:
 * judge() wants a constant direction.
 */
static __noinline int guard_judge_in(struct __sk_buff *skb, __u32 slot)
{
	return judge(skb, CGP_DIR_IN, slot, true);
}

static __noinline int guard_judge_out(struct __sk_buff *skb, __u32 slot)
{
	return judge(skb, CGP_DIR_OUT, slot, true);
}

static __always_inline int guard(struct __sk_buff *skb, __u8 dir)
{
	struct cgp_guard *g = bpf_get_local_storage(&cgp_guard, 0);
	int ret = 1;

	for (int i = 0; i < CGP_GUARDS; i++) {
		__u32 slot = g->e[i].slot, level = g->e[i].level;
		__u64 id;

		if (test_guard_slot && i == 0) {
			slot = test_guard_slot;
			level = test_guard_level;
		}
		if (!slot)
			break;
		id = bpf_skb_ancestor_cgroup_id(skb, (int)level);
		if (!id || bpf_map_lookup_elem(&cgp_known, &id))
			continue;
		if (!(dir == CGP_DIR_IN ? guard_judge_in(skb, slot) : guard_judge_out(skb, slot)))
			ret = 0;
	}
	return ret;
}

SEC("cgroup_skb/ingress")
int cgp_guard_in(struct __sk_buff *skb)
{
	return guard(skb, CGP_DIR_IN);
}

SEC("cgroup_skb/egress")
int cgp_guard_out(struct __sk_buff *skb)
{
	return guard(skb, CGP_DIR_OUT);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
