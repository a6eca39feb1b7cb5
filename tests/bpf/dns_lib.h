/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * dns_lib.h - for test_dns.c: DNS messages built byte by byte, the packets
 * that carry them (Ethernet + IPv4/IPv6 + UDP/TCP, as BPF_PROG_TEST_RUN
 * takes them), and a reference reader of answers, written apart from the
 * BPF parser, that says which addresses an answer should teach.
 */
#ifndef CGP_TEST_DNS_LIB_H
#define CGP_TEST_DNS_LIB_H

#include <arpa/inet.h>
#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define DNS_A		1
#define DNS_CNAME	5
#define DNS_TXT		16
#define DNS_AAAA	28
#define F_QUERY		0x0100		/* RD */
#define F_ANSWER	0x8180		/* QR RD RA, NOERROR */

struct msg {
	uint8_t b[4096];
	size_t n;
};

static void m_u8(struct msg *m, unsigned v)
{
	if (m->n < sizeof(m->b))
		m->b[m->n++] = (uint8_t)v;
}

static void m_u16(struct msg *m, unsigned v)
{
	m_u8(m, v >> 8);
	m_u8(m, v & 0xff);
}

static void m_u32(struct msg *m, uint32_t v)
{
	m_u16(m, v >> 16);
	m_u16(m, v & 0xffff);
}

static void m_bytes(struct msg *m, const void *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		m_u8(m, ((const uint8_t *)p)[i]);
}

/* "a.b.c" as labels and the root; "" is the root alone. No compression. */
static void m_name(struct msg *m, const char *name)
{
	while (*name) {
		const char *dot = strchr(name, '.');
		size_t l = dot ? (size_t)(dot - name) : strlen(name);

		m_u8(m, (unsigned)l);
		m_bytes(m, name, l);
		name += l + (dot ? 1 : 0);
	}
	m_u8(m, 0);
}

/* Labels of `prefix` (may be ""), then a compression pointer to `off`. */
static void m_name_ptr(struct msg *m, const char *prefix, unsigned off)
{
	while (*prefix) {
		const char *dot = strchr(prefix, '.');
		size_t l = dot ? (size_t)(dot - prefix) : strlen(prefix);

		m_u8(m, (unsigned)l);
		m_bytes(m, prefix, l);
		prefix += l + (dot ? 1 : 0);
	}
	m_u16(m, 0xc000 | off);
}

static void m_hdr(struct msg *m, unsigned id, unsigned flags, unsigned qd, unsigned an)
{
	m->n = 0;
	m_u16(m, id);
	m_u16(m, flags);
	m_u16(m, qd);
	m_u16(m, an);
	m_u16(m, 0);
	m_u16(m, 0);
}

static void m_question(struct msg *m, const char *name, unsigned qtype)
{
	m_name(m, name);
	m_u16(m, qtype);
	m_u16(m, 1);
}

/* After the owner name: type, class IN, ttl, rdlength (patched by m_rr_end). */
static size_t m_rr_begin(struct msg *m, unsigned type, uint32_t ttl)
{
	m_u16(m, type);
	m_u16(m, 1);
	m_u32(m, ttl);
	m_u16(m, 0);
	return m->n;
}

static void m_rr_end(struct msg *m, size_t rd)
{
	size_t l = m->n - rd;

	m->b[rd - 2] = (uint8_t)(l >> 8);
	m->b[rd - 1] = (uint8_t)l;
}

/* An A or AAAA record (by the address's family) owned by the name at `owner` (a pointer). */
static void m_addr_rr(struct msg *m, unsigned owner, const char *addr, uint32_t ttl)
{
	uint8_t a[16];
	size_t rd;

	m_u16(m, 0xc000 | owner);
	if (inet_pton(AF_INET, addr, a) == 1) {
		rd = m_rr_begin(m, DNS_A, ttl);
		m_bytes(m, a, 4);
	} else {
		inet_pton(AF_INET6, addr, a);
		rd = m_rr_begin(m, DNS_AAAA, ttl);
		m_bytes(m, a, 16);
	}
	m_rr_end(m, rd);
}

/* 16-byte form, IPv4 as ::ffff:a.b.c.d */
static void addr16(const char *s, uint8_t a[16])
{
	memset(a, 0, 16);
	if (inet_pton(AF_INET6, s, a) == 1)
		return;
	a[10] = a[11] = 0xff;
	inet_pton(AF_INET, s, a + 12);
}

static void put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

#define LOCAL4	"198.18.0.1"
#define LOCAL6	"fd00:ffff::1"
#define CPORT	40000

/*
 * The packet of a DNS message between the local client port and `peer` port
 * 53: dir 0 (ingress) from the peer, 1 (egress) to it. TCP: a PSH+ACK
 * segment whose payload is the 2-byte length `prefix` (< 0: the message's
 * length) and the message.
 */
static size_t dns_pkt(uint8_t *buf, size_t cap, int dir, const char *peer, bool tcp,
		      const struct msg *m, int prefix)
{
	uint8_t p[16], l[16], *ip = buf + 14, *l4;
	bool v6 = strchr(peer, ':') != NULL;
	const uint8_t *src, *dst;
	size_t hl = v6 ? 40 : 20, l4len = tcp ? 20 + 2 : 8, len;

	addr16(peer, p);
	addr16(v6 ? LOCAL6 : LOCAL4, l);
	src = dir ? l : p;
	dst = dir ? p : l;
	len = 14 + hl + l4len + m->n;
	if (len > cap)
		return 0;
	memset(buf, 0, len);
	memset(buf, 0x02, 12);
	put16(buf + 12, v6 ? 0x86dd : 0x0800);
	if (v6) {
		ip[0] = 0x60;
		put16(ip + 4, (unsigned)(l4len + m->n));
		ip[6] = tcp ? 6 : 17;
		ip[7] = 64;
		memcpy(ip + 8, src, 16);
		memcpy(ip + 24, dst, 16);
	} else {
		ip[0] = 0x45;
		put16(ip + 2, (unsigned)(hl + l4len + m->n));
		ip[8] = 64;
		ip[9] = tcp ? 6 : 17;
		memcpy(ip + 12, src + 12, 4);
		memcpy(ip + 16, dst + 12, 4);
	}
	l4 = ip + hl;
	put16(l4, dir ? CPORT : 53);
	put16(l4 + 2, dir ? 53 : CPORT);
	if (tcp) {
		l4[4] = 0x11;
		l4[12] = 5 << 4;
		l4[13] = 0x18;			/* PSH ACK */
		put16(l4 + 14, 65535);
		put16(l4 + 20, prefix < 0 ? (unsigned)m->n : (unsigned)prefix);
	} else {
		put16(l4 + 4, (unsigned)(8 + m->n));
	}
	memcpy(l4 + l4len, m->b, m->n);
	return len;
}

/* ------------------------------------------------------- reference reader */

/*
 * The name at `off`, uncompressed into text (lower-cased, labels joined by
 * '.'): returns the offset after the name where it starts, -1 when
 * malformed. Pointers: after the header, before the labels being read (the
 * name's start or the last target), at most 16.
 */
static int ref_name(const uint8_t *b, size_t len, size_t off, char *out, size_t cap)
{
	size_t pos = off, lim = off, o = 0, wire = 0;
	int end = -1, ptrs = 0;

	for (;;) {
		unsigned c;

		if (pos >= len)
			return -1;
		c = b[pos];
		if (c == 0) {
			out[o] = 0;
			return end >= 0 ? end : (int)(pos + 1);
		}
		if ((c & 0xc0) == 0xc0) {
			size_t t;

			if (pos + 1 >= len || ++ptrs > 16)
				return -1;
			t = (c & 0x3f) << 8 | b[pos + 1];
			if (t < 12 || t >= lim)
				return -1;
			if (end < 0)
				end = (int)(pos + 2);
			pos = lim = t;
			continue;
		}
		if (c & 0xc0)
			return -1;
		wire += c + 1;
		if (wire > 254 || pos + 1 + c > len)
			return -1;
		if (o && o < cap - 1)
			out[o++] = '.';
		for (unsigned i = 0; i < c; i++)	/* a '.' in a label is not a separator */
			if (o < cap - 1)
				out[o++] = b[pos + 1 + i] == '.' ? 1 : (char)tolower(b[pos + 1 + i]);
		pos += 1 + c;
	}
}

struct ref_q {
	unsigned id, qtype;
	const char *name;	/* lower case */
};

/*
 * Which addresses (16 bytes each, into out, at most 16) the answer `b` to
 * query q should teach, when q's name is a policy name: -1 nothing (not an
 * answer to q, malformed, truncated, error), else the count.
 */
static int ref_answer(const uint8_t *b, size_t len, const struct ref_q *q, uint8_t out[16][16])
{
	char names[8][300], nm[300];
	unsigned an, nch = 1, n = 0;
	int off;

	if (len < 12 || (unsigned)(b[0] << 8 | b[1]) != q->id || !(b[2] & 0x80) || (b[4] << 8 | b[5]) != 1)
		return -1;
	for (size_t p = 12; p < len && b[p]; p += 1 + b[p])	/* the question: no pointer */
		if (b[p] & 0xc0)
			return -1;
	off = ref_name(b, len, 12, names[0], sizeof(names[0]));
	if (off < 0 || (size_t)off + 4 > len || strlen(names[0]) > 253)
		return -1;
	if (strcmp(names[0], q->name) || (unsigned)(b[off] << 8 | b[off + 1]) != q->qtype)
		return -1;
	if ((b[2] & 0x7a) || (b[3] & 0x0f) || (b[off + 2] << 8 | b[off + 3]) != 1)
		return -1;	/* TC, opcode, RCODE, class */
	an = b[6] << 8 | b[7];
	if (an > 32)
		return -1;
	off += 4;
	for (unsigned r = 0; r < an; r++) {
		unsigned type, class, rdlen, rd;
		bool chain = false;

		off = ref_name(b, len, (size_t)off, nm, sizeof(nm));
		if (off < 0 || (size_t)off + 10 > len)
			return -1;
		type = b[off] << 8 | b[off + 1];
		class = b[off + 2] << 8 | b[off + 3];
		rdlen = b[off + 8] << 8 | b[off + 9];
		rd = (unsigned)off + 10;
		if (rd + rdlen > len)
			return -1;
		off = (int)(rd + rdlen);
		if (class != 1)
			continue;
		if ((type == DNS_A && rdlen != 4) || (type == DNS_AAAA && rdlen != 16))
			return -1;
		for (unsigned k = 0; k < nch; k++)
			chain |= !strcmp(nm, names[k]);
		if (!chain)
			continue;
		if (type == DNS_CNAME) {
			char t[300];

			if (ref_name(b, len, rd, t, sizeof(t)) != (int)(rd + rdlen))
				return -1;
			if (nch < 8)
				strcpy(names[nch++], t);
		} else if ((type == DNS_A || type == DNS_AAAA) && n < 16) {
			memset(out[n], 0, 16);
			if (type == DNS_A) {
				out[n][10] = out[n][11] = 0xff;
				memcpy(out[n] + 12, b + rd, 4);
			} else {
				memcpy(out[n], b + rd, 16);
			}
			n++;
		}
	}
	return (int)n;
}

#endif
