/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * dns.bpf.h - DNS-name rules in the kernel (enforce.bpf.c only): the maps
 * of bpf/dns.h, the query recorder (egress, cgp_dns_query) and the answer
 * learner (ingress, cgp_dns_answer); the message parser is dns_parse.bpf.h.
 * docs/ARCHITECTURE.md, "DNS names: the kernel side".
 *
 * judge() calls cgp_dns() for a packet it allowed when the policy has name
 * rules (CGP_POL_F_DNS): one flag test for every other packet. Included
 * after sets.bpf.h (cgp_dsets) and packet.bpf.h (struct pkt).
 */
#ifndef CGP_DNS_BPF_H
#define CGP_DNS_BPF_H

#include "bpf/dns.h"

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, CGP_MAX_DNS_NAMES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct cgp_dnsname_key);
	__type(value, struct cgp_dnsname_val);
} cgp_dnsnames SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CGP_MAX_DNS_SERVERS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct cgp_dnssrv_key);
	__type(value, __u8);
} cgp_dnssrv SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cgp_dnsconf);
} cgp_dnsconf SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, CGP_MAX_DNS_QUERIES);
	__type(key, struct cgp_dnsq_key);
	__type(value, struct cgp_dnsq_val);
} cgp_dnsq SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, CGP_MAX_DNS_ADDRS);
	__type(key, struct cgp_dnsaddr_key);
	__type(value, struct cgp_dnsaddr_val);
} cgp_dnsaddr SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CGP_MAX_SLOTS);
	__type(key, __u32);
	__type(value, struct cgp_dns_stats);
} cgp_dnsstat SEC(".maps");

#include "bpf/dns_parse.bpf.h"

/*
 * Set by the BPF tests only: BPF_PROG_TEST_RUN gives every run a fresh dummy
 * socket, so a new socket cookie; a test sets the cookie its query and its
 * answer share (or two different ones: a socket that did not ask). 0: the
 * socket's own cookie.
 */
volatile __u64 test_dns_cookie;

static __always_inline __u64 dns_cookie(struct __sk_buff *skb)
{
	return test_dns_cookie ? test_dns_cookie : bpf_get_socket_cookie(skb);
}

/* Does policy `slot` trust the resolver `addr`? */
static __always_inline bool dns_trusted(__u32 slot, const __u8 addr[16])
{
	struct cgp_dnssrv_key k = { .slot = (__u16)slot };

	__builtin_memcpy(k.addr, addr, 16);
	return bpf_map_lookup_elem(&cgp_dnssrv, &k) != NULL;
}

#define DNS_NONE	1	/* no DNS message in the packet (a bare TCP ACK...) */
#define DNS_SPLIT	2	/* TCP: the message continues in later segments */

/*
 * Where the DNS message of the UDP datagram or TCP segment lies: *off, *len
 * (bytes present). UDP: the payload (as the UDP length says, within the
 * packet). TCP: a segment whose payload starts a message: the 2-byte length
 * prefix, then the message; DNS_SPLIT when it does not end in this segment
 * (*len: the bytes present). 0 when it is all there.
 */
static __always_inline int dns_locate(struct __sk_buff *skb, const struct pkt *p, __u32 *off,
				      __u32 *len)
{
	__u32 l4 = p->l4off, slen = skb->len, o;
	__u16 v;
	__u8 doff;

	if (!l4)
		return DNS_NONE;
	if (p->proto == CGP_PROTO_UDP) {
		if (bpf_skb_load_bytes(skb, l4 + 4, &v, 2))
			return DNS_NONE;
		o = l4 + 8;
		v = bpf_ntohs(v);
		if (v < 8 || slen < o)
			return DNS_NONE;
		*off = o;
		*len = v - 8u < slen - o ? v - 8u : slen - o;
		return 0;
	}
	if (bpf_skb_load_bytes(skb, l4 + 12, &doff, 1))
		return DNS_NONE;
	o = l4 + (doff >> 4) * 4;
	if ((doff >> 4) < 5 || slen < o + 2 || bpf_skb_load_bytes(skb, o, &v, 2))
		return DNS_NONE;
	*off = o + 2;
	*len = bpf_ntohs(v);
	if (*len > slen - o - 2) {
		*len = slen - o - 2;
		return DNS_SPLIT;
	}
	return 0;
}

/*
 * Egress: a query (QR 0, opcode 0, one question) to a resolver the policy
 * trusts is recorded in cgp_dnsq, keyed by the asking socket, the resolver
 * and the message id, with the hash of its question. Only the header and
 * the question are read. Returns 1 when recorded.
 */
__noinline int cgp_dns_query(struct __sk_buff *skb, __u32 slot, const struct pkt *p)
{
	struct cgp_dnsq_key qk = {};
	struct cgp_dnsq_val qv = {};
	struct cgp_dns_stats *st;
	struct dns_buf *b;
	__u32 one = 1, off = 0, len = 0;

	if (!skb || !p || !dns_trusted(slot, p->raddr))
		return 0;
	if (dns_locate(skb, p, &off, &len) == DNS_NONE || len < CGP_DNS_HDR)
		return 0;
	if (len > CGP_DNS_QUERY_READ)
		len = CGP_DNS_QUERY_READ;
	b = bpf_map_lookup_elem(&cgp_dnsbuf, &one);
	if (!b || dns_copy(skb, off, b->msg, len, CGP_DNS_QUERY_READ))
		return 0;
	if ((b->msg[2] & 0xf8) || rd16(b, 4) != 1 || dns_question(b, len) < 0)
		return 0;
	qk.cookie = dns_cookie(skb);
	if (!qk.cookie)
		return 0;
	__builtin_memcpy(qk.server, p->raddr, 16);
	qk.id = (__u16)rd16(b, 0);
	qk.slot = (__u16)slot;
	qv.qhash = b->qhash;
	qv.ts = bpf_ktime_get_boot_ns();
	bpf_map_update_elem(&cgp_dnsq, &qk, &qv, BPF_ANY);
	st = bpf_map_lookup_elem(&cgp_dnsstat, &slot);
	if (st)
		st->queries++;
	return 1;
}

/*
 * The learned addresses (b->addr, of the answer in cgp_dnsbuf[0]) into every
 * dynamic set of the name entry (b->nval): a member /128 expiring at now +
 * clamp(TTL) + grace, unless the set already has this address as an
 * exclusion, a permanent member or one expiring later; the name into
 * cgp_dnsaddr. Returns the number of addresses learned.
 */
__noinline int dns_learn(__u32 slot)
{
	struct cgp_lpm_key mk = { .prefixlen = CGP_LPM_FIXED_BITS + 128, .dir = CGP_DIR_SET };
	struct cgp_dset_val nv = { .member = 1, .plen = 128, .pad = CGP_DNS_SRC_PACKET };
	struct cgp_dnsaddr_key ak = { .slot = (__u16)slot };
	__u32 zero = 0, tmin = 5, tmax = 86400, grace = 60, learned = 0;
	struct cgp_dnsconf *cf;
	struct dns_buf *b;
	__u64 now;

	b = bpf_map_lookup_elem(&cgp_dnsbuf, &zero);
	if (!b)
		return 0;
	cf = bpf_map_lookup_elem(&cgp_dnsconf, &zero);
	if (cf && (cf->ttl_min || cf->ttl_max || cf->grace)) {
		tmin = cf->ttl_min;
		tmax = cf->ttl_max < tmin ? tmin : cf->ttl_max;
		grace = cf->grace;
	}
	now = bpf_ktime_get_boot_ns();
	nv.line = b->nval.line;
	b->aval.line = b->nval.line;
	b->aval.source = CGP_DNS_SRC_PACKET;
	b->aval.len = (__u8)(b->tlen + 1);	/* the text and its 0 byte */
	__builtin_memcpy(b->aval.name, b->key.name, sizeof(b->aval.name));
	for (int i = 0; i < CGP_DNS_ADDR_MAX; i++) {
		struct dns_rr_addr *a = &b->addr[i];
		__u32 ttl = a->ttl;

		if ((__u32)i >= b->naddr)
			break;
		ttl = ttl < tmin ? tmin : ttl > tmax ? tmax : ttl;
		nv.expires = now + ((__u64)ttl + grace) * 1000000000ull;
		__builtin_memcpy(mk.addr, a->addr, 16);
		__builtin_memcpy(ak.addr, a->addr, 16);
		for (int k = 0; k < CGP_DNS_SETS; k++) {
			struct cgp_dset_val *old;
			__u16 id = b->nval.sets[k];

			if (!id)
				break;
			if (!(id & CGP_SET_DYNAMIC))
				continue;
			mk.slot = id;
			old = bpf_map_lookup_elem(&cgp_dsets, &mk);
			if (old && old->plen == 128 &&
			    (!old->member || !old->expires || old->expires >= nv.expires))
				continue;	/* never shorten, never turn an exclusion into a member */
			bpf_map_update_elem(&cgp_dsets, &mk, &nv, BPF_ANY);
		}
		b->aval.expires = nv.expires;
		bpf_map_update_elem(&cgp_dnsaddr, &ak, &b->aval, BPF_ANY);
		learned++;
	}
	return (int)learned;
}

/* The answer in cgp_dnsbuf[0] (len bytes) from a question we asked: learn what matches. */
static __always_inline void dns_use_answer(struct dns_buf *b, __u32 slot, __u32 len, __u32 qend,
					   struct cgp_dns_stats *st)
{
	struct cgp_dnsname_val *nv;
	__u32 ancount = rd16(b, 6);

	if (b->msg[2] & 0x02) {			/* TC: the client asks again over TCP */
		st->truncated++;
		return;
	}
	if ((b->msg[2] & 0x78) || (b->msg[3] & 0x0f) || b->qclass != DNS_C_IN || !ancount)
		return;				/* opcode, RCODE (NXDOMAIN...), class: nothing to learn */
	if (b->badchar) {
		st->malformed++;
		return;
	}
	b->key.prefixlen = CGP_DNSNAME_FIXED_BITS + 8 * (CGP_DNS_NAME_MAX + 1);
	b->key.slot = (__u16)slot;
	nv = bpf_map_lookup_elem(&cgp_dnsnames, &b->key);
	if (!nv)
		return;
	st->matched++;
	if (ancount > CGP_DNS_RR_MAX) {	/* cannot check the whole answer: take none of it */
		st->truncated++;
		return;
	}
	b->nval = *nv;
	if (dns_answers(b, len, qend, ancount) < 0) {
		st->malformed++;
		return;
	}
	if (b->addr_over)
		st->truncated++;
	st->learned += dns_learn(slot);
}

/*
 * Ingress: a response from port 53. From a resolver the policy trusts, to
 * the socket that asked the same question with the same id: the pending
 * query is consumed, and when its name is one of the policy's, the answer
 * chain's addresses are learned (dns_use_answer). Every skip is counted.
 */
__noinline int cgp_dns_answer(struct __sk_buff *skb, __u32 slot, const struct pkt *p)
{
	struct cgp_dnsq_key qk = {};
	struct cgp_dns_stats *st;
	struct cgp_dnsq_val *pq;
	struct dns_buf *b;
	__u32 zero = 0, off = 0, len = 0;
	int r, qend;
	__u16 id;

	if (!skb || !p)
		return 0;
	st = bpf_map_lookup_elem(&cgp_dnsstat, &slot);
	r = dns_locate(skb, p, &off, &len);
	if (!st || r == DNS_NONE)
		return 0;
	if (!dns_trusted(slot, p->raddr)) {
		st->untrusted++;
		return 0;
	}
	if (r == DNS_SPLIT) {
		st->truncated++;
		return 0;
	}
	if (len < CGP_DNS_HDR || bpf_skb_load_bytes(skb, off, &id, 2)) {
		st->malformed++;
		return 0;
	}
	qk.cookie = dns_cookie(skb);
	__builtin_memcpy(qk.server, p->raddr, 16);
	qk.id = bpf_ntohs(id);
	qk.slot = (__u16)slot;
	pq = bpf_map_lookup_elem(&cgp_dnsq, &qk);
	if (!qk.cookie || !pq) {
		st->unsolicited++;
		return 0;
	}
	if (len > CGP_DNS_MSG_MAX) {
		st->truncated++;
		return 0;
	}
	b = bpf_map_lookup_elem(&cgp_dnsbuf, &zero);
	if (!b || dns_copy(skb, off, b->msg, len, CGP_DNS_MSG_MAX))
		return 0;
	qend = -1;
	if ((b->msg[2] & 0x80) && rd16(b, 4) == 1)	/* QR, one question */
		qend = dns_question(b, len);
	if (qend < 0) {
		st->malformed++;
		return 0;
	}
	if (b->qhash != pq->qhash) {
		st->unsolicited++;
		return 0;
	}
	bpf_map_delete_elem(&cgp_dnsq, &qk);
	st->answers++;
	dns_use_answer(b, slot, len, (__u32)qend, st);
	return 1;
}

/* judge()'s hook: packets it allowed, of a policy with name rules (CGP_POL_F_DNS). */
static __always_inline void cgp_dns(struct __sk_buff *skb, __u8 dir, __u32 slot, const struct pkt *p)
{
	if (p->rport != CGP_DNS_PORT || (p->proto != CGP_PROTO_UDP && p->proto != CGP_PROTO_TCP))
		return;
	if (dir == CGP_DIR_OUT)
		cgp_dns_query(skb, slot, p);
	else
		cgp_dns_answer(skb, slot, p);
}

#endif /* CGP_DNS_BPF_H */
