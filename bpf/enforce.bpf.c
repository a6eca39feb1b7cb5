// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * enforce.bpf.c - cgroup_skb ingress/egress policy enforcement.
 *
 * One program pair, attached (bpf_link, multi) to every policy cgroup. The
 * attach point's CGROUP_STORAGE says which policy slot the instance serves;
 * nested policies simply run one after the other and the kernel drops the
 * packet if any of them says so.
 *
 * Per packet:
 *   TCP with a full socket: the verdict cached in SK_STORAGE for the current
 *     generation (one lookup for established flows). On a miss the connection
 *     is evaluated once, by who opened it: accepted sockets (storage cloned
 *     from the listener, which marked itself PASSIVE) are judged by `in`
 *     rules, connect()ed ones (first seen in SYN_SENT) by `out` rules. The
 *     verdict covers both directions, so replies never need their own rule.
 *   Everything else (UDP, ICMP, raw, TCP without a full socket): evaluated per
 *     packet; an allowed packet records its flow in an LRU, so a reply to it
 *     passes while the original direction is still allowed.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "bpf/cgpolicy.h"
#include "bpf/shared.bpf.h"

#define ETH_P_IP	0x0800
#define ETH_P_IPV6	0x86DD
#define IPPROTO_HOPOPTS_ 0
#define IPPROTO_ROUTING_ 43
#define IPPROTO_FRAGMENT_ 44
#define IPPROTO_DSTOPTS_ 60
#define IPPROTO_ICMPV6_	58

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

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC | BPF_F_CLONE);	/* children inherit PASSIVE */
	__type(key, int);
	__type(value, struct cgp_sk);
} cgp_sk SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct cgp_flow_key);
	__type(value, cgp_flow_val);
} cgp_flows SEC(".maps");

/* Deny events: only the deny path of log/audit policies touches these. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} cgp_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, CGP_MAX_SLOTS);
	__type(key, __u32);
	__type(value, struct cgp_rl);
} cgp_rl SEC(".maps");

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

struct pkt {
	__u8  proto;		/* enum cgp_proto */
	__u8  l4proto;		/* IPPROTO_* */
	__u16 lport;		/* host order; 0 when not TCP/UDP */
	__u16 rport;
	__u8  raddr[16];
};

struct ctx {
	__u32 set;
	__u16 slot;
	__u8  dir;		/* direction of this packet */
	__u8  def[CGP_DIR_MAX];	/* the policy's default verdicts */
	__u32 line;		/* rule line of the last cgp_eval (0: default) */
};

static __always_inline int parse(struct __sk_buff *skb, __u8 dir, struct pkt *p)
{
	__u32 off, l4off;
	__u8 nexthdr;

	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		struct iphdr ip;

		if (bpf_skb_load_bytes(skb, 0, &ip, sizeof(ip)))
			return -1;
		__builtin_memset(p->raddr, 0, 10);
		p->raddr[10] = 0xff;
		p->raddr[11] = 0xff;
		__builtin_memcpy(&p->raddr[12], dir == CGP_DIR_IN ? &ip.saddr : &ip.daddr, 4);
		nexthdr = ip.protocol;
		l4off = (ip.ihl & 0xf) * 4;
		/* Non-first fragments carry no L4 header (cgroup_skb normally sees whole datagrams). */
		if (ip.frag_off & bpf_htons(0x1fff))
			l4off = 0;
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr ip6;

		if (bpf_skb_load_bytes(skb, 0, &ip6, sizeof(ip6)))
			return -1;
		__builtin_memcpy(p->raddr, dir == CGP_DIR_IN ? &ip6.saddr : &ip6.daddr, 16);
		nexthdr = ip6.nexthdr;
		off = sizeof(ip6);
		l4off = off;
#pragma unroll
		for (int i = 0; i < 4; i++) {
			struct { __u8 nh, len; __u16 frag; } ext;

			if (nexthdr != IPPROTO_HOPOPTS_ && nexthdr != IPPROTO_ROUTING_ &&
			    nexthdr != IPPROTO_DSTOPTS_ && nexthdr != IPPROTO_FRAGMENT_)
				break;
			if (bpf_skb_load_bytes(skb, off, &ext, sizeof(ext)))
				return -1;
			if (nexthdr == IPPROTO_FRAGMENT_) {
				if (ext.frag & bpf_htons(0xfff8)) {	/* offset != 0 */
					nexthdr = ext.nh;
					off = 0;
					break;
				}
				off += 8;
			} else {
				off += (ext.len + 1) * 8;
			}
			nexthdr = ext.nh;
		}
		l4off = off;
	} else {
		return -1;
	}

	p->l4proto = nexthdr;
	p->lport = p->rport = 0;
	switch (nexthdr) {
	case IPPROTO_TCP:
		p->proto = CGP_PROTO_TCP;
		break;
	case IPPROTO_UDP:
		p->proto = CGP_PROTO_UDP;
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6_:
		p->proto = CGP_PROTO_ICMP;
		return 0;
	default:
		p->proto = CGP_PROTO_OTHER;
		return 0;
	}
	if (l4off) {
		__u16 ports[2];

		if (bpf_skb_load_bytes(skb, l4off, ports, sizeof(ports)))
			return -1;
		p->lport = bpf_ntohs(dir == CGP_DIR_IN ? ports[1] : ports[0]);
		p->rport = bpf_ntohs(dir == CGP_DIR_IN ? ports[0] : ports[1]);
	}
	return 0;
}

/*
 * Rule lookup, precedence (see cgpolicy.h):
 *   1. longest remote prefix; 2. at equal prefix a port rule beats a portless
 *   one; 3. deny beats allow at a full tie (merged at compile time);
 *   4. no match: the direction's default.
 * Two trie lookups, whatever the number of rules.
 */
/* A global function: verified once, with every argument unknown. */
__noinline int cgp_eval(struct ctx *c, __u32 dir, const struct pkt *p, __u32 port)
{
	struct cgp_lpm_key k = {};
	struct cgp_lpm_val *a = NULL, *b;
	void *rules, *ports;
	__u32 set;

	if (!c || !p)
		return CGP_DENY;
	set = c->set;
	dir &= 1;
	rules = bpf_map_lookup_elem(&cgp_rules, &set);
	if (!rules)
		return c->def[dir];
	k.prefixlen = CGP_LPM_FIXED_BITS + 128;
	k.dir = dir;
	k.proto = p->proto;
	k.slot = c->slot;
	__builtin_memcpy(k.addr, p->raddr, 16);
	port &= 0xffff;

	if (p->proto == CGP_PROTO_TCP || p->proto == CGP_PROTO_UDP) {
		ports = bpf_map_lookup_elem(&cgp_ports, &set);
		if (ports) {
			struct cgp_portlpm_key pk = {
				.prefixlen = CGP_PORTLPM_FIXED_BITS + 16,
				.slot = c->slot, .dir = dir, .proto = p->proto,
				.port = { port >> 8, port & 0xff },
			};
			struct cgp_portlpm_val *pc = bpf_map_lookup_elem(ports, &pk);

			if (pc) {
				k.cls = pc->cls;
				a = bpf_map_lookup_elem(rules, &k);
				k.cls = 0;
			}
		}
	}
	b = bpf_map_lookup_elem(rules, &k);
	if (a && (!b || a->plen >= b->plen)) {
		c->line = a->line;
		return a->verdict;
	}
	if (b) {
		c->line = b->line;
		return b->verdict;
	}
	c->line = 0;
	return c->def[dir];
}

static __always_inline __u8 eval(struct ctx *c, __u8 dir, const struct pkt *p, __u16 port)
{
	return (__u8)cgp_eval(c, dir, p, port);
}

/* Service port: the local port for `in`, the remote port for `out`. */
static __always_inline __u16 svc_port(__u8 dir, const struct pkt *p)
{
	return dir == CGP_DIR_IN ? p->lport : p->rport;
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
		return eval(c, odir, p, svc_port(odir, p));
	return v;
}

static __always_inline __u8 verdict_tcp(struct __sk_buff *skb, struct ctx *c,
					const struct pkt *p, __u64 gen)
{
	struct bpf_sock *sk = skb->sk;
	struct cgp_sk *st;
	int i, k = -1;
	__u8 v, conn;

	if (!sk)
		return eval(c, c->dir, p, svc_port(c->dir, p));
	sk = bpf_sk_fullsock(sk);
	if (!sk) {
		/* request or time-wait socket: SYN-ACK, ACK, RST of a handshake or
		 * connection whose own verdict was taken on its listener or socket. */
		if (c->dir == CGP_DIR_OUT)
			return CGP_ALLOW;
		return eval(c, CGP_DIR_IN, p, p->lport);
	}
	if (sk->state == BPF_TCP_LISTEN) {
		/* SYN and handshake ACK in, SYN-ACK out: the kernel runs egress
		 * for request sockets on their listener. All of it belongs to an
		 * incoming connection. Mark the listener so its children inherit
		 * PASSIVE (BPF_F_CLONE). */
		st = bpf_sk_storage_get(&cgp_sk, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
		if (st && st->conn_dir != CGP_CONN_PASSIVE)
			st->conn_dir = CGP_CONN_PASSIVE;
		return eval(c, CGP_DIR_IN, p, p->lport);
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
	else	/* predates the policy: who opened it is unknown */
		v = eval(c, CGP_DIR_IN, p, p->lport) | eval(c, CGP_DIR_OUT, p, p->rport);
	st->conn_dir = conn;
	k &= CGP_SK_SLOTS - 1;
	st->e[k].slot = c->slot;
	st->e[k].verdict = v;
	st->e[k].gen = gen;
	return v;
}

/* Token bucket per slot: may this deny send an event? Approximate under races. */
static __always_inline bool rate_ok(__u32 slot, __u32 *suppressed)
{
	const __u64 period = 1000000000ull / CGP_EVENT_RATE, cap = period * CGP_EVENT_BURST;
	struct cgp_rl *rl = bpf_map_lookup_elem(&cgp_rl, &slot);
	__u64 now = bpf_ktime_get_ns(), credit;

	if (!rl)
		return false;
	credit = rl->credit_ns + (now - rl->last_ns);
	if (credit > cap)
		credit = cap;
	rl->last_ns = now;
	if (credit < period) {
		rl->credit_ns = credit;
		rl->suppressed++;
		return false;
	}
	rl->credit_ns = credit - period;
	*suppressed = (__u32)rl->suppressed;
	rl->suppressed = 0;
	return true;
}

/* The deny path of a `log = deny` policy: which rule decided, then one event. */
static __noinline void deny_event(struct __sk_buff *skb, struct ctx *c, struct pkt *p, __u8 audit)
{
	struct cgp_event *e;
	struct bpf_sock *sk = skb->sk;
	__u32 suppressed = 0;
	__u8 rdir = c->dir & 1;

	if (!rate_ok(c->slot, &suppressed))
		return;
	/* A TCP connection is judged by who opened it. */
	if (p->proto == CGP_PROTO_TCP && sk) {
		sk = bpf_sk_fullsock(sk);
		if (sk) {
			struct cgp_sk *st = bpf_sk_storage_get(&cgp_sk, sk, 0, 0);

			if (sk->state == BPF_TCP_LISTEN || (st && st->conn_dir == CGP_CONN_PASSIVE))
				rdir = CGP_DIR_IN;
			else if (st && st->conn_dir == CGP_CONN_ACTIVE)
				rdir = CGP_DIR_OUT;
		} else {
			rdir = CGP_DIR_IN;
		}
	}
	eval(c, rdir, p, svc_port(rdir, p));
	e = bpf_ringbuf_reserve(&cgp_events, sizeof(*e), 0);
	if (!e)
		return;
	__builtin_memset(e, 0, sizeof(*e));
	e->ts_ns = bpf_ktime_get_ns();
	e->cgroup_id = bpf_skb_cgroup_id(skb);
	e->slot = c->slot;
	e->line = c->line;
	e->len = skb->len;
	e->suppressed = suppressed;
	e->dir = c->dir;
	e->rule_dir = rdir;
	e->proto = p->proto;
	e->l4proto = p->l4proto;
	e->audit = audit;
	e->lport = p->lport;
	e->rport = p->rport;
	__builtin_memcpy(e->raddr, p->raddr, 16);
	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		struct iphdr ip;

		e->family = 4;
		e->laddr[10] = 0xff;
		e->laddr[11] = 0xff;
		if (!bpf_skb_load_bytes(skb, 0, &ip, sizeof(ip)))
			__builtin_memcpy(&e->laddr[12], c->dir == CGP_DIR_IN ? &ip.daddr : &ip.saddr, 4);
	} else {
		struct ipv6hdr ip6;

		e->family = 6;
		if (!bpf_skb_load_bytes(skb, 0, &ip6, sizeof(ip6)))
			__builtin_memcpy(e->laddr, c->dir == CGP_DIR_IN ? &ip6.daddr : &ip6.saddr, 16);
	}
	bpf_ringbuf_submit(e, 0);
}

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
	 * logged, audited).
	 */
	sk0 = skb->sk;
	if (sk0) {
		struct bpf_sock *fsk = bpf_sk_fullsock(sk0);

		if (fsk && fsk->protocol == IPPROTO_TCP && fsk->state != BPF_TCP_LISTEN) {
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
	count(counters(guard, slot), dir, v, skb->len);
	if (!v && (pol->flags & (CGP_POL_F_LOG | CGP_POL_F_AUDIT))) {
		/* off the fast path: only denies of log/audit policies get here */
		if ((pol->flags & CGP_POL_F_LOG) && p.proto != CGP_PROTO_MAX)
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
/* Subprograms (verified once per program, not per guard entry), one per
 * direction: judge() wants a constant direction. */
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
