/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * test_dns_cases.h - the cases of test_dns.c (included once, after its
 * harness): what is learned, what is refused, the malformed corpus, the
 * fuzz, the costs.
 */

static void run_verifier_counts(void)
{
	struct bpf_program *p;

	bpf_object__for_each_program(p, E.skel->obj) {
		struct bpf_prog_info info;
		__u32 len = sizeof(info);

		memset(&info, 0, sizeof(info));
		if (!bpf_obj_get_info_by_fd(bpf_program__fd(p), &info, &len))
			printf("# verifier: %s: %u instructions processed, %u translated\n",
			       bpf_program__name(p), info.verified_insns, info.xlated_prog_len / 8);
	}
}

#define A1 "93.184.216.34"
#define A2 "93.184.216.35"

/* The answer of api.example.com: A1 TTL 300, A2 TTL 30. */
static void basic_answer(struct msg *m, const struct q *q)
{
	answer_start(m, q, 2);
	m_addr_rr(m, 12, A1, 300);
	m_addr_rr(m, 12, A2, 30);
}

static void run_basic(void)
{
	struct q q = { RES4, false, 0x1234, DNS_A, "api.example.com" };
	struct q q6 = { RES6, false, 0x2222, DNS_AAAA, "api.example.com" };
	struct cgp_dnsaddr_key ak = { .slot = 1 };
	struct cgp_dnsaddr_val av;
	struct cgp_dns_stats s;
	struct member mb[32];
	const struct member *a, *b;
	uint64_t t0, t1;
	struct msg m;
	int v, n;

	reset();
	report(reach(A1, 443) == 0, "before any answer: udp out to " A1 ":443 denied", "passed");
	v = ask(&q);
	s = stats();
	report(v == 1 && s.queries == 1, "v4 udp: the query to the trusted resolver passes, recorded",
	       "verdict %d, queries %llu", v, (unsigned long long)s.queries);
	basic_answer(&m, &q);
	t0 = boot_ns();
	v = deliver(&q, NULL, &m, -1, NULL);
	t1 = boot_ns();
	n = members(mb, 32);
	a = find(mb, n, E.web, A1);
	b = find(mb, n, E.web, A2);
	report(v == 1 && n == 2 && a && b, "v4 udp: exactly the 2 answered addresses learned, into the name's set",
	       "verdict %d, %d members", v, n);
	report(a && a->v.member == 1 && a->v.plen == 128 && a->v.line == 100 && a->v.pad == CGP_DNS_SRC_PACKET,
	       "learned member: member 1, /128, the name's line, source packet", "fields differ");
	report(a && a->v.expires >= t0 + 360 * NS && a->v.expires <= t1 + 360 * NS,
	       "learned member: expires in TTL 300 + grace 60 s", "off by %lld ms",
	       a ? (long long)(a->v.expires - t0 - 360 * NS) / 1000000 : 0);
	report(b && b->v.expires >= t0 + 90 * NS && b->v.expires <= t1 + 90 * NS,
	       "learned member: its own TTL (30 + 60 s)", "wrong expiry");
	s = stats();
	report(s.answers == 1 && s.matched == 1 && s.learned == 2 && !s.malformed && !s.unsolicited,
	       "counters: 1 answer, 1 matched, 2 learned", "%llu %llu %llu", (unsigned long long)s.answers,
	       (unsigned long long)s.matched, (unsigned long long)s.learned);
	addr16(A1, ak.addr);
	v = bpf_map_lookup_elem(E.dnsaddr, &ak, &av);
	report(!v && !strcmp((char *)av.name, "moc.elpmaxe.ipa") && av.len == 16 && av.line == 100 &&
	       av.source == CGP_DNS_SRC_PACKET && a && av.expires == a->v.expires,
	       "cgp_dnsaddr: the address's name (reversed), line, source, expiry", "lookup %d name %.40s", v,
	       v ? "" : (char *)av.name);
	report(reach(A1, 443) == 1 && reach(A2, 443) == 1, "after the answer: both addresses reach port 443",
	       "denied");
	report(reach("93.184.216.36", 443) == 0 && reach(A1, 8443) == 0,
	       "an address not answered, and the other set's rule: still denied", "passed");
	report(bpf_map_get_next_key(E.dnsq, NULL, &ak) != 0, "the query in flight is consumed", "still there");

	v = ask(&q6);
	answer_start(&m, &q6, 1);
	m_addr_rr(&m, 12, "2001:db8::1", 100);
	v = v == 1 ? deliver(&q6, NULL, &m, -1, NULL) : v;
	n = members(mb, 32);
	report(v == 1 && n == 3 && find(mb, n, E.web, "2001:db8::1") && reach("2001:db8::1", 443) == 1,
	       "v6 udp: AAAA learned, reaches port 443", "verdict %d, %d members", v, n);
}

static void run_tcp(void)
{
	struct q q = { RES4, true, 0x3333, DNS_A, "api.example.com" };
	struct q q6 = { RES6, true, 0x4444, DNS_AAAA, "api.example.com" };
	struct cgp_dns_stats s;
	struct member mb[32];
	struct msg m;
	int v, n;

	reset();
	v = ask(&q);
	basic_answer(&m, &q);
	v = v == 1 ? deliver(&q, NULL, &m, (int)m.n + 40, NULL) : v;
	s = stats();
	n = members(mb, 32);
	report(v == 1 && n == 0 && s.truncated == 1 && s.queries == 1,
	       "v4 tcp: a message that continues in the next segment: truncated, nothing", "verdict %d, %d members, "
	       "truncated %llu", v, n, (unsigned long long)s.truncated);
	v = deliver(&q, NULL, &m, -1, NULL);
	n = members(mb, 32);
	report(v == 1 && n == 2 && find(mb, n, E.web, A1) && find(mb, n, E.web, A2),
	       "v4 tcp: the whole message in one segment: learned (the query still waited)", "%d members", n);

	reset();
	v = ask(&q6);
	answer_start(&m, &q6, 2);
	m_addr_rr(&m, 12, "2001:db8::7", 100);
	m_addr_rr(&m, 12, "2001:db8::8", 100);
	v = v == 1 ? deliver(&q6, NULL, &m, -1, NULL) : v;
	n = members(mb, 32);
	report(v == 1 && n == 2 && find(mb, n, E.web, "2001:db8::8"), "v6 tcp: AAAA learned", "%d members", n);
}

/*
 * api.example.com CNAME api.edge.example.net CNAME e1.cdnprov.example.net (compressed),
 * A 1.2.3.4;
 * AAAA 2001:db8::5 of the middle name; other.example.com A 6.6.6.6; TXT of
 * the question. *x, *y: offsets of the two CNAME targets.
 */
static void chain_answer(struct msg *m, const struct q *q, unsigned *x, unsigned *y)
{
	size_t rd;

	answer_start(m, q, 6);
	m_u16(m, 0xc00c);
	rd = m_rr_begin(m, DNS_CNAME, 60);
	*x = (unsigned)m->n;
	m_name(m, "api.edge.example.net");
	m_rr_end(m, rd);
	m_u16(m, 0xc000 | *x);
	rd = m_rr_begin(m, DNS_CNAME, 60);
	*y = (unsigned)m->n;
	m_name_ptr(m, "e1.cdnprov", *x + 9);	/* + "example.net" of x: not the same name */
	m_rr_end(m, rd);
	m_addr_rr(m, *y, "1.2.3.4", 120);
	m_name(m, "other.example.com");
	rd = m_rr_begin(m, DNS_A, 120);
	m_bytes(m, "\x06\x06\x06\x06", 4);
	m_rr_end(m, rd);
	m_addr_rr(m, *x, "2001:db8::5", 120);
	m_u16(m, 0xc00c);
	rd = m_rr_begin(m, DNS_TXT, 120);
	m_bytes(m, "\x04" "abcd", 5);
	m_rr_end(m, rd);
}

static void run_chain(void)
{
	struct q q = { RES4, false, 0x5555, DNS_A, "api.example.com" };
	struct member mb[32];
	struct msg m;
	unsigned x, y;
	size_t rd;
	int v, n;

	reset();
	v = ask(&q);
	chain_answer(&m, &q, &x, &y);
	v = v == 1 ? deliver(&q, NULL, &m, -1, NULL) : v;
	n = members(mb, 32);
	report(v == 1 && n == 2 && find(mb, n, E.web, "1.2.3.4") && find(mb, n, E.web, "2001:db8::5"),
	       "CNAME chain: the addresses of the chain's names learned", "verdict %d, %d members", v, n);
	report(!find(mb, n, E.web, "6.6.6.6"), "CNAME chain: a record of another owner is not", "learned");

	/* an address of a target before the CNAME that names it: not in the chain yet */
	reset();
	q.id++;
	v = ask(&q);
	answer_start(&m, &q, 2);
	x = (unsigned)m.n;
	m_name(&m, "t.example.net");
	rd = m_rr_begin(&m, DNS_A, 60);
	m_bytes(&m, "\x07\x07\x07\x07", 4);
	m_rr_end(&m, rd);
	m_u16(&m, 0xc00c);
	rd = m_rr_begin(&m, DNS_CNAME, 60);
	m_u16(&m, 0xc000 | x);
	m_rr_end(&m, rd);
	v = v == 1 ? deliver(&q, NULL, &m, -1, NULL) : v;
	report(v == 1 && members(mb, 32) == 0 && stats().answers == 1,
	       "CNAME chain: a record before the CNAME that makes it part of the chain is not", "learned");
}

/* Ask `name` (A) and answer it with `addr`: the members after. */
static int ask_answer(const char *name, unsigned id, const char *addr, struct member *mb)
{
	struct q q = { RES4, false, id, DNS_A, name };
	struct msg m;

	if (ask(&q) != 1)
		return -1;
	answer_start(&m, &q, 1);
	m_addr_rr(&m, 12, addr, 60);
	if (deliver(&q, NULL, &m, -1, NULL) != 1)
		return -1;
	return members(mb, 32);
}

static void run_names(void)
{
	const struct cgp_compiled *cp = &E.comp;
	struct member mb[32];
	__u32 slot = 1, zero = 0;
	struct cgp_state st = { .gen = 2, .layout = CGP_LAYOUT_VERSION };
	int n;

	reset();
	n = ask_answer("x.cdn.example.net", 1, "10.20.0.1", mb);
	report(n == 1 && find(mb, n, E.cdn, "10.20.0.1") && reach("10.20.0.1", 8443) == 1,
	       "wildcard *.cdn.example.net: x.cdn.example.net learned into its set", "%d members", n);
	n = ask_answer("a.b.cdn.example.net", 2, "10.20.0.2", mb);
	report(n == 2 && find(mb, n, E.cdn, "10.20.0.2"), "wildcard: two labels deep too", "%d members", n);
	n = ask_answer("cdn.example.net", 3, "10.20.0.3", mb);
	report(n == 2 && stats().matched == 2, "wildcard: not the suffix itself", "%d members", n);
	n = ask_answer("xcdn.example.net", 4, "10.20.0.4", mb);
	report(n == 2, "wildcard: not across a label boundary (xcdn.example.net)", "%d members", n);
	n = ask_answer("API.Example.COM", 5, "10.20.0.5", mb);
	report(n == 3 && find(mb, n, E.web, "10.20.0.5"), "exact name: any case (API.Example.COM)", "%d members", n);
	n = ask_answer("api.example.com.evil.org", 6, "10.20.0.6", mb);
	report(n == 3, "exact name: not as a prefix of another name", "%d members", n);
	n = ask_answer("www.api.example.com", 7, "10.20.0.7", mb);
	report(n == 3, "exact name: not its subdomains", "%d members", n);
	n = ask_answer("multi.example.org", 8, "10.20.0.8", mb);
	report(n == 5 && find(mb, n, E.web, "10.20.0.8") && find(mb, n, E.cdn, "10.20.0.8"),
	       "a name of two sets: learned into both", "%d members", n);
	report(stats().answers == 8 && stats().matched == 4, "counters: 8 answers, 4 of them matched", "%llu %llu",
	       (unsigned long long)stats().answers, (unsigned long long)stats().matched);

	/* the same policy without CGP_POL_F_DNS: nothing recorded, nothing learned */
	reset();
	E.comp.pol.flags &= (uint8_t)~CGP_POL_F_DNS;
	cgp_install_set(E.outer, &cp, &slot, 1, 0);
	bpf_map_update_elem(bpf_map__fd(E.skel->maps.cgp_state), &zero, &st, BPF_ANY);
	n = ask_answer("api.example.com", 9, "10.20.0.9", mb);
	report(n == 0 && stats().queries == 0, "a policy without name rules: no query recorded, nothing learned",
	       "%d members", n);
	E.comp.pol.flags |= CGP_POL_F_DNS;
	st.gen = 3;
	cgp_install_set(E.outer, &cp, &slot, 1, 1);
	bpf_map_update_elem(bpf_map__fd(E.skel->maps.cgp_state), &zero, &st, BPF_ANY);
}

/* Deliver m for q from `from`: verdict 1, nothing learned, and which counter went up. */
static void refused(const char *what, const struct q *q, const char *from, const struct msg *m,
		    __u64 want_unsol, __u64 want_untr)
{
	struct member mb[8];
	struct cgp_dns_stats s;
	int v = deliver(q, from, m, -1, NULL), n = members(mb, 8);

	s = stats();
	report(v == 1 && n == 0 && s.unsolicited == want_unsol && s.untrusted == want_untr && !s.learned,
	       what, "verdict %d, %d members, unsolicited %llu, untrusted %llu", v, n,
	       (unsigned long long)s.unsolicited, (unsigned long long)s.untrusted);
}

static void run_refused(void)
{
	struct q q = { RES4, false, 0x0101, DNS_A, "api.example.com" };
	struct q rogue = { ROGUE4, false, 0x0202, DNS_A, "api.example.com" };
	struct q other;
	struct member mb[8];
	struct msg m;

	reset();
	report(ask(&rogue) == 1 && stats().queries == 0, "a query to an untrusted resolver is not recorded",
	       "recorded");
	basic_answer(&m, &rogue);
	refused("an answer from an untrusted resolver: untrusted, nothing", &rogue, NULL, &m, 0, 1);
	ask(&q);
	basic_answer(&m, &q);
	refused("a forged answer from another source to a real query: untrusted", &q, ROGUE4, &m, 0, 2);
	other = q;
	other.id = 0x0909;
	basic_answer(&m, &other);
	refused("an answer with no query in flight: unsolicited", &other, NULL, &m, 1, 2);
	other = q;
	other.name = "multi.example.org";
	basic_answer(&m, &other);
	refused("an answer to another question with the id of a query: unsolicited", &other, NULL, &m, 2, 2);
	other = q;
	other.qtype = DNS_AAAA;
	basic_answer(&m, &other);
	refused("an answer to another qtype: unsolicited", &other, NULL, &m, 3, 2);
	E.skel->bss->test_dns_cookie = 0xbad;
	basic_answer(&m, &q);
	refused("the right answer to a socket that did not ask: unsolicited", &q, NULL, &m, 4, 2);
	E.skel->bss->test_dns_cookie = 0x5eed;
	report(deliver(&q, NULL, &m, -1, NULL) == 1 && members(mb, 8) == 2,
	       "after all that, the answer to the asking socket still teaches", "nothing learned");
	reset();
	deliver(&q, NULL, &m, -1, NULL);
	report(members(mb, 8) == 0 && stats().unsolicited == 1, "the same answer again (replay): unsolicited",
	       "learned");
	ask(&q);
	basic_answer(&m, &q);
	m.b[3] = 0x83;				/* NXDOMAIN */
	deliver(&q, NULL, &m, -1, NULL);
	report(members(mb, 8) == 0 && stats().answers == 1 && !stats().matched,
	       "an error answer (NXDOMAIN) with records: answered, nothing learned", "learned");
}

/* Learn A1 from api.example.com with `ttl`: its member's expiry - now, in s (-1: none). */
static long long learn_ttl(unsigned id, uint32_t ttl)
{
	struct q q = { RES4, false, id, DNS_A, "api.example.com" };
	struct member mb[8];
	const struct member *a;
	uint64_t t0 = boot_ns();
	struct msg m;
	int n;

	ask(&q);
	answer_start(&m, &q, 1);
	m_addr_rr(&m, 12, A1, ttl);
	deliver(&q, NULL, &m, -1, NULL);
	n = members(mb, 8);
	a = find(mb, n, E.web, A1);
	if (!a)
		return -1;
	return a->v.expires ? (long long)((a->v.expires - t0 + NS / 2) / NS) : 0;
}

static void run_expiry(void)
{
	struct cgp_dnsconf conf = { .ttl_min = 30, .ttl_max = 100, .grace = 0 };
	struct cgp_lpm_key k = { .prefixlen = CGP_LPM_FIXED_BITS + 128, .dir = CGP_DIR_SET };
	struct cgp_dset_val pv = { .member = 1, .plen = 128 }, xv = { .member = 0, .plen = 128 }, got;
	__u32 zero = 0;
	long long s;

	reset();
	s = learn_ttl(1, 3600);
	report(s == 3660, "TTL 3600: expires in 3660 s", "%lld", s);
	s = learn_ttl(2, 10);
	report(s == 3660, "a later answer with a shorter TTL never shortens the expiry", "%lld", s);
	s = learn_ttl(3, 7200);
	report(s == 7260, "a longer TTL extends it", "%lld", s);
	reset();
	s = learn_ttl(4, 0);
	report(s == 65, "TTL 0: the floor (5 s) + grace", "%lld", s);
	reset();
	s = learn_ttl(5, 0x80000005u);
	report(s == 65, "TTL with the top bit set counts as 0 (RFC 2181)", "%lld", s);
	reset();
	s = learn_ttl(6, 1000000);
	report(s == 86460, "TTL 1e6: the ceiling (1 day) + grace", "%lld", s);
	bpf_map_update_elem(E.dnsconf, &zero, &conf, BPF_ANY);
	reset();
	s = learn_ttl(7, 5);
	report(s == 30, "cgp_dnsconf 30/100/0: TTL 5 -> 30 s", "%lld", s);
	reset();
	s = learn_ttl(8, 1000);
	report(s == 100, "cgp_dnsconf 30/100/0: TTL 1000 -> 100 s", "%lld", s);
	memset(&conf, 0, sizeof(conf));
	bpf_map_update_elem(E.dnsconf, &zero, &conf, BPF_ANY);

	reset();
	k.slot = E.web;
	addr16(A1, k.addr);
	bpf_map_update_elem(E.dsets, &k, &pv, BPF_ANY);
	addr16(A2, k.addr);
	bpf_map_update_elem(E.dsets, &k, &xv, BPF_ANY);
	learn_ttl(9, 60);
	addr16(A1, k.addr);
	bpf_map_lookup_elem(E.dsets, &k, &got);
	report(got.member == 1 && got.expires == 0 && got.pad == 0,
	       "a permanent member of the set stays permanent", "expires %llu", (unsigned long long)got.expires);
	{
		struct q q = { RES4, false, 10, DNS_A, "api.example.com" };
		struct msg m;

		ask(&q);
		answer_start(&m, &q, 1);
		m_addr_rr(&m, 12, A2, 60);
		deliver(&q, NULL, &m, -1, NULL);
	}
	addr16(A2, k.addr);
	bpf_map_lookup_elem(E.dsets, &k, &got);
	report(got.member == 0 && got.expires == 0, "an exclusion of the set stays an exclusion", "member %u",
	       got.member);
}
