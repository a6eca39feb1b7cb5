/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * dns_parse.bpf.h - the DNS message parser of dns.bpf.h: names (labels,
 * compression pointers), the question, the answer section. It works on a
 * copy of the message in a per-CPU buffer (struct dns_buf), never on the
 * skb, so every read is one masked array access.
 *
 * Each step is a global function: the verifier checks it once, whatever
 * calls it, with every argument unknown; the loops are bounded and keep the
 * counters the verifier would otherwise track per path in the buffer.
 * Every offset is checked against the message length before it is read: a
 * read past the message, a forward or looping pointer, a label of a reserved
 * type, a name longer than 255 wire bytes are errors (-1), which the caller
 * counts as `malformed` and which insert nothing.
 */
#ifndef CGP_DNS_PARSE_BPF_H
#define CGP_DNS_PARSE_BPF_H

#define CGP_DNS_PORT		53
#define CGP_DNS_MSG_MAX		4096	/* bytes of a response copied (power of 2); longer: truncated */
#define CGP_DNS_MSG_MASK	(CGP_DNS_MSG_MAX - 1)
#define CGP_DNS_QUERY_READ	288	/* bytes of a query copied: header + the longest question */
#define CGP_DNS_RR_MAX		32	/* answer records walked; more: `truncated`, nothing learned */
#define CGP_DNS_ADDR_MAX	16	/* addresses learned from one answer; more: `truncated` */
#define CGP_DNS_CHAIN_MAX	8	/* names of an answer chain: the question + CNAME targets */
#define CGP_DNS_WIRE_MAX	255	/* wire bytes of a name, the final 0 included (RFC 1035) */
#define CGP_DNS_PTR_MAX		16	/* compression pointers followed in one name */
#define CGP_DNS_HDR		12

#define DNS_T_A			1
#define DNS_T_CNAME		5
#define DNS_T_AAAA		28
#define DNS_C_IN		1

/* FNV-1a 64, the hash of cgp_dnsq_val.qhash (see dns_question) */
#define CGP_FNV_BASIS		0xcbf29ce484222325ull
#define CGP_FNV_PRIME		0x100000001b3ull

struct dns_rr_addr {
	__u8  addr[16];		/* IPv4 as ::ffff:a.b.c.d */
	__u32 ttl;
};

/*
 * Per-CPU scratch (cgp_dnsbuf): [0] for ingress (softirq: one answer at a
 * time per CPU), [1] for egress queries (process context, which a softirq
 * may interrupt: it never shares the ingress entry).
 */
/* The state of a name walk (dns_name, dns_question). */
struct dns_walk {
	__u32 pos;		/* next byte to read */
	__u32 seg;		/* where the labels being read start: pointers go below */
	__u32 end;		/* offset after the name where it started; 0: no pointer yet */
	__u32 rem;		/* characters left in the label being read */
	__u32 wire;		/* wire bytes of the name so far (question: characters of the text) */
	__u32 ptrs;		/* pointers followed */
};

struct dns_buf {
	__u8  msg[CGP_DNS_MSG_MAX];
	struct dns_walk w;
	struct cgp_dnsname_key key;	/* the question as looked up in cgp_dnsnames */
	__u32 pad0;
	struct cgp_dnsaddr_val aval;	/* what cgp_dnsaddr gets */
	struct cgp_dnsname_val nval;	/* the cgp_dnsnames entry that matched */
	__u64 chain[CGP_DNS_CHAIN_MAX];	/* name hashes of the answer chain */
	struct dns_rr_addr addr[CGP_DNS_ADDR_MAX];
	__u64 nh;			/* name hash of the last dns_name() / the question */
	__u64 qhash;			/* the question's name + qtype */
	__u32 nchain, naddr;
	__u32 tlen;			/* characters of the question's text in key.name */
	__u16 qtype, qclass;
	__u8  badchar;			/* the question has a byte outside [a-z0-9-_] */
	__u8  addr_over;		/* more than CGP_DNS_ADDR_MAX addresses in the chain */
	__u8  pad1[2];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct dns_buf);
} cgp_dnsbuf SEC(".maps");

/* Reload the walk state from memory: the compiler must not keep it in registers. */
#define dns_barrier()	asm volatile("" ::: "memory")

/*
 * bpf_skb_load_bytes() of n (1..max) bytes into dst, the bounds tested on
 * the register the helper gets: 6.1 loses them when the compiler reloads the
 * length from the stack for the call (a 32-bit slot it does not track), and
 * learns no lower bound from a test `n != 0`.
 */
static __always_inline int dns_copy(struct __sk_buff *skb, __u32 off, void *dst, __u32 n, __u32 max)
{
	__u32 m;

	asm volatile("" : "+r"(n));	/* forget what the compiler knows of n: test again */
	m = n - 1;			/* n 0 wraps: refused with the too long */
	if (m >= max)
		return -1;
	asm volatile("" : "+r"(m));	/* m + 1 from the tested register, not n again */
	return bpf_skb_load_bytes(skb, off, dst, m + 1);
}

static __always_inline __u64 fnv(__u64 h, __u8 c)
{
	return (h ^ c) * CGP_FNV_PRIME;
}

static __always_inline __u8 lower(__u8 c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

static __always_inline __u32 rd16(const struct dns_buf *b, __u32 off)
{
	return (__u32)b->msg[off & CGP_DNS_MSG_MASK] << 8 | b->msg[(off + 1) & CGP_DNS_MSG_MASK];
}

/*
 * The name at `off` of a message of `len` bytes: its hash into b->nh (FNV-1a
 * over the uncompressed wire form, labels lower-cased, length bytes and the
 * final 0 included: two spellings of one name hash the same, compressed or
 * not); returns the offset after the name where it starts (after its first
 * pointer), -1 when malformed. A pointer must point before the start of the
 * labels being read (the name start or the previous pointer's target) and
 * after the header, so targets strictly decrease: no loop. At most
 * CGP_DNS_PTR_MAX pointers.
 *
 * One byte per iteration. The walk's state lives in b->w, not in registers:
 * what the verifier reads back from memory is an unknown number, so the
 * states of an iteration reached by different paths are the same and the
 * loop is checked in about one pass (registers would carry a range per path,
 * and the paths multiply).
 */
__noinline int dns_name(struct dns_buf *b, __u32 len, __u32 off)
{
	__u64 h = CGP_FNV_BASIS;

	if (!b || len > CGP_DNS_MSG_MAX)
		return -1;
	b->w.pos = b->w.seg = off;
	b->w.end = b->w.rem = b->w.wire = b->w.ptrs = 0;
	for (int i = 0; i < CGP_DNS_WIRE_MAX + CGP_DNS_PTR_MAX; i++) {
		__u32 pos, rem, t;
		__u8 c;

		dns_barrier();
		pos = b->w.pos;
		rem = b->w.rem;
		if (pos >= len)
			return -1;
		c = b->msg[pos & CGP_DNS_MSG_MASK];
		b->w.pos = pos + 1;
		if (rem) {		/* a character of a label */
			h = fnv(h, lower(c));
			b->w.rem = rem - 1;
			continue;
		}
		if (!c) {		/* the root: the end */
			b->nh = fnv(h, 0);
			return b->w.end ? (int)b->w.end : (int)(pos + 1);
		}
		if ((c & 0xc0) == 0xc0) {
			if (pos + 1 >= len)
				return -1;
			t = (c & 0x3f) << 8 | b->msg[(pos + 1) & CGP_DNS_MSG_MASK];
			if (t < CGP_DNS_HDR || t >= b->w.seg || b->w.ptrs >= CGP_DNS_PTR_MAX)
				return -1;	/* into the header, forward, a loop, too many */
			b->w.ptrs++;
			if (!b->w.end)
				b->w.end = pos + 2;
			b->w.pos = b->w.seg = t;
			continue;
		}
		if (c & 0xc0)
			return -1;	/* label types 01, 10: not in use */
		t = b->w.wire + c + 1;
		if (t >= CGP_DNS_WIRE_MAX)
			return -1;
		b->w.wire = t;
		h = fnv(h, c);
		b->w.rem = c;
	}
	return -1;
}

static __always_inline bool name_char_ok(__u8 c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/*
 * The question of a message (at offset 12, no compression pointer allowed:
 * nothing precedes it): b->nh its name hash (as dns_name()), b->qhash that
 * hash continued over the 2 bytes of qtype (network order), b->qtype,
 * b->qclass, and b->key.name the text lower-cased, reversed, 0-terminated,
 * zero-padded (the cgp_dnsnames lookup key, dns.h), b->tlen its length,
 * b->badchar when a character is outside [a-z0-9-_]. Returns the offset
 * after the question, -1 when malformed (also: text over CGP_DNS_NAME_MAX).
 * The state in b->w, as in dns_name().
 */
__noinline int dns_question(struct dns_buf *b, __u32 len)
{
	__u64 h = CGP_FNV_BASIS;
	__u32 pos, t;
	int i;

	if (!b || len > CGP_DNS_MSG_MAX)
		return -1;
	__builtin_memset(&b->key, 0, sizeof(b->key));
	b->w.pos = CGP_DNS_HDR;
	b->w.rem = b->w.wire = 0;	/* wire: characters of the text so far */
	b->badchar = 0;
	for (i = 0; i < CGP_DNS_WIRE_MAX; i++) {
		__u32 rem;
		__u8 c;

		dns_barrier();
		rem = b->w.rem;
		pos = b->w.pos;
		if (pos >= len)
			return -1;
		c = b->msg[pos & CGP_DNS_MSG_MASK];
		b->w.pos = pos + 1;
		if (!rem && !c)
			break;
		if (!rem && (c & 0xc0))
			return -1;
		t = b->w.wire;
		if (t >= CGP_DNS_NAME_MAX)
			return -1;
		if (rem) {
			c = lower(c);
			if (!name_char_ok(c))
				b->badchar = 1;
			b->w.rem = rem - 1;
			b->key.name[t] = c;
			b->w.wire = t + 1;
		} else {
			if (t) {
				b->key.name[t] = '.';
				b->w.wire = t + 1;
			}
			b->w.rem = c;
		}
		h = fnv(h, c);
	}
	pos = b->w.pos;
	if (i == CGP_DNS_WIRE_MAX || pos + 4 > len)
		return -1;
	t = b->w.wire;
	b->nh = fnv(h, 0);
	b->chain[0] = b->nh;	/* the answer chain starts at the question */
	b->qhash = fnv(fnv(b->nh, b->msg[pos & CGP_DNS_MSG_MASK]), b->msg[(pos + 1) & CGP_DNS_MSG_MASK]);
	b->qtype = (__u16)rd16(b, pos);
	b->qclass = (__u16)rd16(b, pos + 2);
	b->tlen = t;
	/*
	 * Reverse the text in place: "api.example.com" -> "moc.elpmaxe.ipa".
	 * t <= 253, so j = t - 1 - i never exceeds 252 and meets i before it
	 * could wrap; the mask only tells the verifier so (6.1 derives an
	 * impossible range from a second bound test and rejects the access).
	 */
	for (i = 0; t && i < CGP_DNS_NAME_MAX / 2 + 1; i++) {
		__u32 j = t - 1 - i;
		__u8 c;

		if (j <= (__u32)i)
			break;
		j &= 0xff;
		c = b->key.name[i];
		b->key.name[i] = b->key.name[j];
		b->key.name[j] = c;
	}
	return (int)(pos + 4);
}

/* Is hash h one of the names of the answer chain so far? */
static __always_inline bool in_chain(const struct dns_buf *b, __u64 h)
{
	__u32 n = b->nchain;

	for (int k = 0; k < CGP_DNS_CHAIN_MAX; k++) {
		if ((__u32)k >= n)
			break;
		if (b->chain[k] == h)
			return true;
	}
	return false;
}

/*
 * One record of the answer section at `off`: an A/AAAA record of the chain
 * adds its address to b->addr, a CNAME of the chain its target to b->chain;
 * any other record is stepped over. Returns the offset of the next record,
 * -1 when malformed (A/AAAA with the wrong rdlength, a CNAME whose name does
 * not fill its rdata, lengths past the message).
 */
__noinline int dns_record(struct dns_buf *b, __u32 len, __u32 off)
{
	__u32 type, class, ttl, rdlen, rd, n;
	int end;
	__u64 h;

	if (!b || len > CGP_DNS_MSG_MAX)
		return -1;
	end = dns_name(b, len, off);
	if (end < 0)
		return -1;
	off = (__u32)end;
	h = b->nh;
	if (off + 10 > len)
		return -1;
	type = rd16(b, off);
	class = rd16(b, off + 2);
	ttl = rd16(b, off + 4) << 16 | rd16(b, off + 6);
	rdlen = rd16(b, off + 8);
	rd = off + 10;
	if (rd + rdlen > len)
		return -1;
	if (class != DNS_C_IN)
		return (int)(rd + rdlen);
	if ((type == DNS_T_A && rdlen != 4) || (type == DNS_T_AAAA && rdlen != 16))
		return -1;
	if (!in_chain(b, h))
		return (int)(rd + rdlen);
	if (type == DNS_T_CNAME) {
		end = dns_name(b, len, rd);
		if (end != (int)(rd + rdlen))
			return -1;
		n = b->nchain;
		if (n < CGP_DNS_CHAIN_MAX) {
			b->chain[n] = b->nh;
			b->nchain = n + 1;
		}
	} else if (type == DNS_T_A || type == DNS_T_AAAA) {
		struct dns_rr_addr *a;

		n = b->naddr;
		if (n >= CGP_DNS_ADDR_MAX) {
			b->addr_over = 1;
			return (int)(rd + rdlen);
		}
		a = &b->addr[n];
		__builtin_memset(a->addr, 0, 16);
		if (type == DNS_T_A) {
			a->addr[10] = a->addr[11] = 0xff;
			for (int k = 12; k < 16; k++)
				a->addr[k] = b->msg[(rd + k - 12) & CGP_DNS_MSG_MASK];
		} else {
			for (int k = 0; k < 16; k++)
				a->addr[k] = b->msg[(rd + k) & CGP_DNS_MSG_MASK];
		}
		a->ttl = ttl & 0x80000000u ? 0 : ttl;	/* RFC 2181: MSB set means 0 */
		b->naddr = n + 1;
	}
	return (int)(rd + rdlen);
}

/*
 * The answer section (ancount <= CGP_DNS_RR_MAX records from `off`): fills
 * b->addr/b->naddr with the addresses of the chain that starts at the
 * question. 0, or -1 when any record is malformed (then the caller inserts
 * nothing of the packet). The authority and additional sections are not
 * read: nothing is taken from them.
 */
__noinline int dns_answers(struct dns_buf *b, __u32 len, __u32 off, __u32 ancount)
{
	int next;

	if (!b)
		return -1;
	b->nchain = 1;		/* chain[0]: the question, from dns_question() */
	b->naddr = 0;
	b->addr_over = 0;
	for (int r = 0; r < CGP_DNS_RR_MAX; r++) {
		if ((__u32)r >= ancount)
			break;
		next = dns_record(b, len, off);
		if (next < 0)
			return -1;
		off = (__u32)next;
	}
	return 0;
}

#endif /* CGP_DNS_PARSE_BPF_H */
