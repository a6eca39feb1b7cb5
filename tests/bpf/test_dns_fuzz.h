/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * test_dns_fuzz.h - the hostile part of test_dns.c (included once, after
 * test_dns_cases.h): a corpus of malformed answers, a seeded fuzz of mutated
 * answers checked against the reference reader, and the costs.
 */

static void a_tail(struct msg *m, const char *ip4)
{
	uint8_t a[4];
	size_t rd = m_rr_begin(m, DNS_A, 60);

	inet_pton(AF_INET, ip4, a);
	m_bytes(m, a, 4);
	m_rr_end(m, rd);
}

static void c_loop_self(struct msg *m, const struct q *q)
{
	answer_start(m, q, 1);
	m_u16(m, 0xc000 | (unsigned)m->n);
	a_tail(m, "1.1.1.1");
}

static void c_loop_back(struct msg *m, const struct q *q)
{
	answer_start(m, q, 1);
	m_name_ptr(m, "a", (unsigned)m->n);	/* "a", then back to its own start */
	a_tail(m, "1.1.1.1");
}

static void c_forward(struct msg *m, const struct q *q)
{
	answer_start(m, q, 1);
	m_u16(m, 0xc000 | (unsigned)(m->n + 2));
	a_tail(m, "1.1.1.1");
}

static void c_outside(struct msg *m, const struct q *q)
{
	answer_start(m, q, 1);
	m_u16(m, 0xffff);
	a_tail(m, "1.1.1.1");
}

static void c_header(struct msg *m, const struct q *q)
{
	answer_start(m, q, 1);
	m_u16(m, 0xc004);
	a_tail(m, "1.1.1.1");
}

static void c_label_end(struct msg *m, const struct q *q)
{
	answer_start(m, q, 1);
	m_u8(m, 60);
	m_bytes(m, "abc", 3);
}

static void c_short_header(struct msg *m, const struct q *q)
{
	answer_start(m, q, 0);
	m->n = 8;
}

static void c_short_record(struct msg *m, const struct q *q)
{
	answer_start(m, q, 1);
	m_u16(m, 0xc00c);
	m_u16(m, DNS_A);
}

static void c_rdlen_a(struct msg *m, const struct q *q)
{
	size_t rd;

	answer_start(m, q, 1);
	m_u16(m, 0xc00c);
	rd = m_rr_begin(m, DNS_A, 60);
	m_bytes(m, "\x01\x02\x03\x04\x05", 5);
	m_rr_end(m, rd);
}

static void c_rdlen_past(struct msg *m, const struct q *q)
{
	size_t rd;

	answer_start(m, q, 1);
	m_u16(m, 0xc00c);
	rd = m_rr_begin(m, DNS_TXT, 60);
	m_bytes(m, "\x02hi", 3);
	m->b[rd - 1] = 40;
}

static void c_cname_short(struct msg *m, const struct q *q)
{
	size_t rd;

	answer_start(m, q, 2);
	m_u16(m, 0xc00c);
	rd = m_rr_begin(m, DNS_CNAME, 60);
	m_name(m, "x.example.net");
	m_u8(m, 0);				/* one byte more than the name */
	m_rr_end(m, rd);
	m_addr_rr(m, 12, "1.1.1.1", 60);
}

static void c_many(struct msg *m, const struct q *q)
{
	char a[32];

	answer_start(m, q, 40);
	for (int i = 0; i < 40; i++) {
		snprintf(a, sizeof(a), "1.1.1.%d", i + 1);
		m_addr_rr(m, 12, a, 60);
	}
}

static void c_ancount_over(struct msg *m, const struct q *q)
{
	answer_start(m, q, 3);
	m_addr_rr(m, 12, "1.1.1.1", 60);
	m_addr_rr(m, 12, "1.1.1.2", 60);
}

static void c_qd2(struct msg *m, const struct q *q)
{
	m_hdr(m, q->id, F_ANSWER, 2, 1);
	m_question(m, q->name, q->qtype);
	m_question(m, q->name, q->qtype);
	m_addr_rr(m, 12, "1.1.1.1", 60);
}

static void c_qd0(struct msg *m, const struct q *q)
{
	m_hdr(m, q->id, F_ANSWER, 0, 1);
	m_name(m, q->name);
	a_tail(m, "1.1.1.1");
}

static void c_long_name(struct msg *m, const struct q *q)
{
	char name[300];

	memset(name, 'a', 255);
	name[63] = name[127] = name[191] = '.';	/* 4 labels, 255 characters */
	name[255] = 0;
	m_hdr(m, q->id, F_ANSWER, 1, 1);
	m_question(m, name, q->qtype);
	m_addr_rr(m, 12, "1.1.1.1", 60);
}

static void c_any(struct msg *m, const struct q *q)	/* the question's own bytes */
{
	answer_start(m, q, 1);
	m_addr_rr(m, 12, "1.1.1.1", 60);
}

static void c_tc(struct msg *m, const struct q *q)
{
	c_any(m, q);
	m->b[2] |= 0x02;
}

static void c_qr0(struct msg *m, const struct q *q)
{
	c_any(m, q);
	m->b[2] &= 0x7f;
}

static void c_qptr(struct msg *m, const struct q *q)
{
	m_hdr(m, q->id, F_ANSWER, 1, 1);
	m_name_ptr(m, "api", 12);
	m_u16(m, q->qtype);
	m_u16(m, 1);
	m_addr_rr(m, 12, "1.1.1.1", 60);
}

static void c_type40(struct msg *m, const struct q *q)
{
	answer_start(m, q, 1);
	m_u8(m, 0x41);
	m_u16(m, 0xc00c);
	a_tail(m, "1.1.1.1");
}

/* npt pointers: each name a pointer to the one before, the first to the question. */
static void ptr_chain(struct msg *m, const struct q *q, int npt)
{
	unsigned prev = 12;
	size_t rd;

	answer_start(m, q, 2);
	m_u16(m, 0xc00c);
	rd = m_rr_begin(m, DNS_TXT, 60);
	for (int i = 0; i < npt - 1; i++) {
		unsigned here = (unsigned)m->n;

		m_u16(m, 0xc000 | prev);
		prev = here;
	}
	m_rr_end(m, rd);
	m_u16(m, 0xc000 | prev);
	a_tail(m, "1.1.1.1");
}

static void c_ptr17(struct msg *m, const struct q *q)
{
	ptr_chain(m, q, 17);
}

static void c_bad_third(struct msg *m, const struct q *q)
{
	answer_start(m, q, 3);
	m_addr_rr(m, 12, "1.1.1.1", 60);
	m_addr_rr(m, 12, "1.1.1.2", 60);
	m_u16(m, 0xc00c);
	m_u16(m, DNS_A);
	m_u16(m, 1);
	m_u32(m, 60);
	m_u16(m, 4);
	m_u16(m, 0x0101);			/* 2 of 4 bytes */
}

static void c_wire_long(struct msg *m, const struct q *q)
{
	char l63[64];
	unsigned n1;
	size_t rd;

	memset(l63, 'b', 63);
	l63[63] = 0;
	answer_start(m, q, 2);
	m_u16(m, 0xc00c);
	rd = m_rr_begin(m, DNS_TXT, 60);
	n1 = (unsigned)m->n;
	m_name(m, "cccccccccccccccccccccccccccccccccccccccc.dddddddddddddddddddddddddddddddddddddddd");
	m_rr_end(m, rd);
	for (int i = 0; i < 3; i++) {		/* 3 x 64 wire bytes, then 82 more */
		m_u8(m, 63);
		m_bytes(m, l63, 63);
	}
	m_u16(m, 0xc000 | n1);
	a_tail(m, "1.1.1.1");
}

enum { C_MALFORMED, C_TRUNCATED };

static const struct corpus {
	const char *what;
	const char *qname;		/* the query's name; NULL: api.example.com */
	void (*build)(struct msg *m, const struct q *q);
	int counter;
} corpus[] = {
	{ "compression pointer to itself", NULL, c_loop_self, C_MALFORMED },
	{ "pointer back to the start of its own labels (a loop)", NULL, c_loop_back, C_MALFORMED },
	{ "forward pointer", NULL, c_forward, C_MALFORMED },
	{ "pointer out of the packet", NULL, c_outside, C_MALFORMED },
	{ "pointer into the header", NULL, c_header, C_MALFORMED },
	{ "label length past the end", NULL, c_label_end, C_MALFORMED },
	{ "truncated header (8 bytes)", NULL, c_short_header, C_MALFORMED },
	{ "truncated record", NULL, c_short_record, C_MALFORMED },
	{ "A record with rdlength 5", NULL, c_rdlen_a, C_MALFORMED },
	{ "rdlength past the end", NULL, c_rdlen_past, C_MALFORMED },
	{ "CNAME whose name does not fill its rdata", NULL, c_cname_short, C_MALFORMED },
	{ "ancount 3, 2 records", NULL, c_ancount_over, C_MALFORMED },
	{ "qdcount 2", NULL, c_qd2, C_MALFORMED },
	{ "qdcount 0", NULL, c_qd0, C_MALFORMED },
	{ "question of 255 characters", NULL, c_long_name, C_MALFORMED },
	{ "question with a byte outside [a-z0-9-_]", "api.exa*mple.com", c_any, C_MALFORMED },
	{ "question with a compression pointer", NULL, c_qptr, C_MALFORMED },
	{ "QR 0 from port 53", NULL, c_qr0, C_MALFORMED },
	{ "label type 01", NULL, c_type40, C_MALFORMED },
	{ "17 compression pointers", NULL, c_ptr17, C_MALFORMED },
	{ "2 good A records, a cut third one (all or nothing)", NULL, c_bad_third, C_MALFORMED },
	{ "owner name over 255 wire bytes through a pointer", NULL, c_wire_long, C_MALFORMED },
	{ "40 records (more than 32)", NULL, c_many, C_TRUNCATED },
	{ "TC bit", NULL, c_tc, C_TRUNCATED },
};

static void run_corpus(void)
{
	struct member mb[8];
	struct msg m;

	for (size_t i = 0; i < sizeof(corpus) / sizeof(corpus[0]); i++) {
		const struct corpus *c = &corpus[i];
		struct q q = { RES4, false, 0x7000 + (unsigned)i, DNS_A, c->qname ? c->qname : "api.example.com" };
		struct cgp_dns_stats s;
		int v, n;

		reset();
		for (int tcp = 0; tcp < 2; tcp++) {
			q.tcp = tcp;
			ask(&q);
			c->build(&m, &q);
			v = deliver(&q, NULL, &m, -1, NULL);
			n = members(mb, 8);
			s = stats();
			report(v == 1 && n == 0 && !s.learned &&
			       (c->counter == C_MALFORMED ? s.malformed : s.truncated) == (__u64)tcp + 1,
			       tap_name("malformed answer (%s): %s: passes, nothing learned, counted %s",
					tcp ? "tcp" : "udp", c->what,
					c->counter == C_MALFORMED ? "malformed" : "truncated"),
			       "verdict %d, %d members, malformed %llu, truncated %llu, unsolicited %llu", v, n,
			       (unsigned long long)s.malformed, (unsigned long long)s.truncated,
			       (unsigned long long)s.unsolicited);
		}
	}
	/* the control of the pointer limit: 16 pointers are fine */
	{
		struct q q = { RES4, false, 0x7777, DNS_A, "api.example.com" };

		reset();
		ask(&q);
		ptr_chain(&m, &q, 16);
		deliver(&q, NULL, &m, -1, NULL);
		report(members(mb, 8) == 1, "16 compression pointers in one name: read", "not learned");
	}
}

/* ------------------------------------------------------------------- fuzz */

static uint64_t rng = 0x2545f4914f6cdd1dull;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

static void mutate(struct msg *m)
{
	unsigned k = rnd() % 6, n = 1 + rnd() % 4, at = (unsigned)(rnd() % m->n);

	switch (k) {
	case 0:					/* random bytes */
		for (unsigned i = 0; i < n; i++)
			m->b[rnd() % m->n] = (uint8_t)rnd();
		break;
	case 1:					/* bit flips */
		for (unsigned i = 0; i < n; i++)
			m->b[rnd() % m->n] ^= (uint8_t)(1u << (rnd() % 8));
		break;
	case 2:					/* cut */
		m->n = at;
		break;
	case 3:					/* a byte out */
		memmove(m->b + at, m->b + at + 1, m->n - at - 1);
		m->n--;
		break;
	case 4:					/* a byte in */
		memmove(m->b + at + 1, m->b + at, m->n - at);
		m->b[at] = (uint8_t)rnd();
		m->n++;
		break;
	default:				/* a pointer somewhere */
		if (at + 1 < m->n) {
			m->b[at] = (uint8_t)(0xc0 | (rnd() % 2));
			m->b[at + 1] = (uint8_t)rnd();
		}
		break;
	}
}

#define FUZZ_RUNS	20000

static void run_fuzz(void)
{
	struct q q = { RES4, false, 0x6666, DNS_A, "api.example.com" };
	struct ref_q rq = { 0x6666, DNS_A, "api.example.com" };
	unsigned bad = 0, learned = 0, dropped = 0;
	struct msg base, m;
	unsigned x, y;

	chain_answer(&base, &q, &x, &y);
	for (int i = 0; i < FUZZ_RUNS; i++) {
		uint8_t want[16][16];
		struct member mb[40];
		int nw, n, ok = 1;

		m = base;
		for (unsigned r = 1 + rnd() % 3; r; r--)
			if (m.n > 1)
				mutate(&m);
		map_clear(E.dsets, 0);
		q.tcp = rnd() & 1;
		ask(&q);
		if (deliver(&q, NULL, &m, -1, NULL) != 1)
			dropped++;
		n = members(mb, 40);
		nw = ref_answer(m.b, m.n, &rq, want);
		if (nw < 0)
			nw = 0;
		/* both ways: every member is wanted, every wanted address a member of web */
		for (int j = 0; j < n && j < 40; j++) {
			int hit = mb[j].set == E.web;

			for (int w = 0; hit && w < nw; w++)
				if (!memcmp(mb[j].addr, want[w], 16))
					hit = 2;
			ok &= hit == 2;
		}
		for (int w = 0; w < nw; w++) {
			int hit = 0;

			for (int j = 0; j < n && j < 40; j++)
				hit |= mb[j].set == E.web && !memcmp(mb[j].addr, want[w], 16);
			ok &= hit;
		}
		learned += n > 0;
		if (!ok && bad++ < 3) {
			printf("# fuzz run %d: %d members, reference %d; message:", i, n, nw);
			for (size_t b = 0; b < m.n; b++)
				printf("%s%02x", b % 32 ? "" : "\n#  ", m.b[b]);
			printf("\n");
		}
		map_clear(E.dnsq, 0);
	}
	report(!bad && !dropped, tap_name("fuzz: %d mutated answers (seeded), learned exactly what the reference "
					  "reader takes (%u learned something), never dropped", FUZZ_RUNS, learned),
	       "%u differ, %u dropped", bad, dropped);
	report(learned > 0 && learned < FUZZ_RUNS, "fuzz: some mutations still teach, most do not", "%u", learned);
}

/* ------------------------------------------------------------------- cost */

static int cmp_u32(const void *a, const void *b)
{
	return *(const __u32 *)a < *(const __u32 *)b ? -1 : *(const __u32 *)a > *(const __u32 *)b;
}

#define COST_RUNS	2000

static void run_cost(void)
{
	static __u32 ns[COST_RUNS];
	struct q q = { RES4, false, 0x1111, DNS_A, "api.example.com" };
	struct q other = { RES4, false, 0x1112, DNS_A, "www.example.com" };
	uint8_t pkt[512];
	struct msg m;
	double sum = 0, qsum = 0;
	__u32 plain = 0, unsol = 0, ch = 0, nomatch = 0, qwarm = 0;
	unsigned x, y;
	size_t len;
	int ok = 1;

	reset();
	basic_answer(&m, &q);
	for (int i = 0; i < COST_RUNS; i++) {
		ok &= ask(&q) == 1 && deliver(&q, NULL, &m, -1, &ns[i]) == 1;
		sum += ns[i];
		qsum += ask_ns;
	}
	qsort(ns, COST_RUNS, sizeof(ns[0]), cmp_u32);
	chain_answer(&m, &q, &x, &y);
	for (int i = 0; i < 200; i++) {
		__u32 t;

		ask(&q);
		deliver(&q, NULL, &m, -1, &t);
		ch += t;
	}
	basic_answer(&m, &other);
	for (int i = 0; i < 200; i++) {
		__u32 t;

		ask(&other);
		deliver(&other, NULL, &m, -1, &t);
		nomatch += t;
	}
	chain_answer(&m, &q, &x, &y);
	len = dns_pkt(pkt, sizeof(pkt), 0, RES4, false, &m, -1);
	run(0, pkt, len, 100000, &unsol);		/* no query in flight: up to the lookup */
	pkt[14 + 20] = 0x13;				/* source port 4917: not DNS */
	run(0, pkt, len, 100000, &plain);
	m_hdr(&m, q.id, F_QUERY, 1, 0);
	m_question(&m, q.name, q.qtype);
	len = dns_pkt(pkt, sizeof(pkt), 1, RES4, false, &m, -1);
	run(1, pkt, len, 100000, &qwarm);		/* the same query again and again: warm */
	report(ok && stats().learned == 2 * COST_RUNS + 2 * 200, "cost: every timed answer learned", "failed");
	printf("# cost (BPF_PROG_TEST_RUN, test_run overhead included): ingress: answer with 2 A records "
	       "parsed and learned: median %u ns, mean %.0f ns (%d runs); CNAME chain answer (6 records): "
	       "mean %u ns; answer to a name of no rule: mean %u ns; unsolicited answer: %u ns; UDP not DNS, "
	       "same policy: %u ns; egress: query recorded: mean %.0f ns, the same query repeated %u ns\n",
	       ns[COST_RUNS / 2], sum / COST_RUNS, COST_RUNS, ch / 200, nomatch / 200, unsol, plain,
	       qsum / COST_RUNS, qwarm);
}
