// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_ports.c - unit tests of the port classes (policy/compile.c steps 1-2,
 * policy/ports.c) at scale: every port 1..65535 its own class, ranges over
 * many classes beside them, ICMP types beside TCP, the ICMP class limit, and
 * random many-port policies against a spec evaluator that knows nothing of
 * classes. No root, no BPF. TAP-ish output (tests/tap.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "policy/explain.h"
#include "policy/policy.h"
#include "policy/ports.h"

#include "tests/tap.h"

struct sbuf {
	char *s;
	size_t n, cap;
};

static void __attribute__((format(printf, 2, 3))) sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		size_t room = b->cap - b->n;

		va_start(ap, fmt);
		n = vsnprintf(b->s ? b->s + b->n : NULL, room, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < room) {
			b->n += (size_t)n;
			return;
		}
		b->cap = b->cap ? b->cap * 2 : 1 << 16;
		while (b->cap - b->n <= (size_t)n)
			b->cap *= 2;
		b->s = realloc(b->s, b->cap);
		if (!b->s) {
			perror("realloc");
			exit(2);
		}
	}
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static uint64_t rs = 0x2545f4914f6cdd1dull;

static uint32_t rn(uint32_t n)
{
	rs ^= rs << 13;
	rs ^= rs >> 7;
	rs ^= rs << 17;
	return (uint32_t)(rs >> 11) % n;
}

static void v4(uint8_t a[16], uint32_t ip)
{
	memset(a, 0, 16);
	a[10] = a[11] = 0xff;
	a[12] = (uint8_t)(ip >> 24);
	a[13] = (uint8_t)(ip >> 16);
	a[14] = (uint8_t)(ip >> 8);
	a[15] = (uint8_t)ip;
}

static const struct cgp_portmap *find_map(const struct cgp_compiled *c, int dir, int proto)
{
	for (size_t i = 0; i < c->nportmaps; i++)
		if (c->portmaps[i].key.dir == dir && c->portmaps[i].key.proto == proto)
			return &c->portmaps[i].map;
	return NULL;
}

/* The port trie blocks of map m (proto pr, out) in a table port -> class; -1: two blocks of one length overlap. */
static int block_table(const struct cgp_compiled *c, int dir, int pr, int32_t *tab)
{
	struct cgp_portlpm_entry *e = NULL;
	size_t n = 0, cap = 0;
	uint8_t *len = calloc(65536, 1);
	int bad = 0;

	for (size_t i = 0; i < c->nportmaps; i++)
		if (c->portmaps[i].key.dir == dir && c->portmaps[i].key.proto == pr &&
		    cgp_port_blocks(&c->portmaps[i], &e, &n, &cap))
			bad = 1;
	for (unsigned p = 0; p < 65536; p++)
		tab[p] = 0;
	/* longest prefix wins: the blocks of one interval never overlap, so any order works */
	for (size_t i = 0; i < n && len; i++) {
		unsigned bits = e[i].key.prefixlen - CGP_PORTLPM_FIXED_BITS;
		unsigned base = (unsigned)e[i].key.port[0] << 8 | e[i].key.port[1];

		for (unsigned p = base; p < base + (1u << (16 - bits)) && p < 65536; p++) {
			if (len[p] == bits + 1)
				bad = 1;
			if (len[p] < bits + 1) {
				len[p] = (uint8_t)(bits + 1);
				tab[p] = (int32_t)e[i].val.cls;
			}
		}
	}
	free(len);
	free(e);
	return bad || !len ? -1 : (int)n;
}

/* Probes of test_all_ports' policy: TCP beside ranges over many classes, UDP, ICMP types. */
static void all_ports_verdicts(const struct cgp_compiled *cc)
{
	static const struct { uint32_t ip; uint8_t proto; uint32_t port; int want; } pr[] = {
		{ 0x0a010203, CGP_PROTO_TCP, 1500, CGP_DENY },		/* /16 deny over the /8 */
		{ 0x0a010203, CGP_PROTO_TCP, 2000, CGP_DENY },		/* default: 10.1.2 is 258's */
		{ 0x0a010203, CGP_PROTO_TCP, 258, CGP_ALLOW },		/* its /24 */
		{ 0x0a020001, CGP_PROTO_TCP, 7, CGP_ALLOW },		/* 1-65535 on the /16 */
		{ 0x0a020001, CGP_PROTO_TCP, 65535, CGP_ALLOW },
		{ 0x0aff0001, CGP_PROTO_TCP, 65280, CGP_ALLOW },	/* 10.255.0 is 65280 */
		{ 0x0aff0001, CGP_PROTO_TCP, 65281, CGP_DENY },
		{ 0x0b000001, CGP_PROTO_TCP, 80, CGP_DENY },		/* default */
		{ 0x0a000001, CGP_PROTO_UDP, 53, CGP_ALLOW },
		{ 0x0a000001, CGP_PROTO_UDP, 54, CGP_DENY },
		{ 0x0b000001, CGP_PROTO_ICMP, 0x0800, CGP_ALLOW },
		{ 0x0a000001, CGP_PROTO_ICMP, 0x0304, CGP_DENY },
		{ 0x0a000001, CGP_PROTO_ICMP, 0x0800, CGP_ALLOW },
		{ 0x0b000001, CGP_PROTO_ICMP, 0x0304, CGP_DENY },	/* default */
	};
	int bad = -1;

	for (unsigned i = 0; i < sizeof(pr) / sizeof(pr[0]) && bad < 0; i++) {
		uint8_t a[16];

		v4(a, pr[i].ip);
		if (cgp_compiled_eval(cc, CGP_DIR_OUT, pr[i].proto, a, pr[i].port) != pr[i].want)
			bad = (int)i;
	}
	report(bad < 0, "ports: verdicts at 65,535 classes (TCP, UDP, ICMP types)",
	       "probe %d", bad);
}

/* Every port 1..65535 in a rule of its own, ranges and ICMP types beside. */
static void test_all_ports(void)
{
	struct sbuf b = { 0 };
	struct cgp_config cfg;
	struct cgp_compiled cc;
	char err[512] = "";
	uint16_t *perm = malloc(65535 * sizeof(*perm));
	int32_t *tab = malloc(65536 * sizeof(*tab));
	double t0, t1, t2;
	int r, nblk;

	for (unsigned i = 0; i < 65535; i++)
		perm[i] = (uint16_t)(i + 1);
	for (unsigned i = 65534; i > 0; i--) {
		unsigned j = rn(i + 1);
		uint16_t t = perm[i];

		perm[i] = perm[j];
		perm[j] = t;
	}
	sb_printf(&b, "[p]\ncgroup = /p\ndefault_egress = deny\n");
	sb_printf(&b, "deny = out tcp 10.1.0.0/16 port 1000-1999\n");		/* 4 */
	sb_printf(&b, "allow = out tcp 10.2.0.0/16 port 1-65535\n");		/* 5 */
	sb_printf(&b, "allow = out icmp any type echo-request\n");		/* 6 */
	sb_printf(&b, "deny = out icmp 10.0.0.0/8 type 3 code 4\n");		/* 7 */
	sb_printf(&b, "allow = out udp 10.0.0.0/8 port 53\n");			/* 8 */
	for (unsigned i = 0; i < 65535; i++)					/* 9.. */
		sb_printf(&b, "allow = out tcp 10.%u.%u.0/24 port %u\n", perm[i] >> 8, perm[i] & 0xff,
			  perm[i]);
	t0 = now_ms();
	r = cgp_config_parse("t.ini", b.s, b.n, &cfg, err, sizeof(err));
	t1 = now_ms();
	if (r == 0)
		r = cgp_compile("t.ini", &cfg.policies[0], 1, &cc, err, sizeof(err));
	t2 = now_ms();
	free(b.s);
	report(r == 0, "ports: 65,535 single ports and ranges over them compile", "%s", err);
	if (r) {
		free(perm);
		free(tab);
		return;
	}
	printf("# 65,540 rules: parse %.1f ms, compile %.1f ms, %zu rule trie entries\n",
	       t1 - t0, t2 - t1, cc.nlpm);
	{
		const struct cgp_portmap *m = find_map(&cc, CGP_DIR_OUT, CGP_PROTO_TCP);
		bool ok = m && m->ncls == 65535 && cgp_portmap_class(m, 0) == 0;

		for (unsigned p = 1; ok && p < 65536; p++)
			ok = cgp_portmap_class(m, p) == p;
		report(ok, "ports: every port its own class, 1..65535 in the u16 cls", "ncls %u",
		       m ? m->ncls : 0);
	}
	nblk = block_table(&cc, CGP_DIR_OUT, CGP_PROTO_TCP, tab);
	{
		bool ok = nblk == 65535 && tab[0] == 0;

		for (unsigned p = 1; ok && p < 65536; p++)
			ok = tab[p] == (int32_t)p;
		report(ok, "ports: one port trie entry per port, the port's class", "%d blocks", nblk);
	}
	/* 65,535 single-port entries, the 1000-1999 deny over 1000 classes, the 1-65535 allow
	 * over all; echo-request (ICMP and ICMPv6), type 3 code 4, udp 53 */
	report(cc.nlpm == 65535 + 1000 + 65535 + 3 + 1, "ports: entries = classes each rule covers",
	       "%zu entries", cc.nlpm);
	all_ports_verdicts(&cc);
	{
		const struct cgp_portmap *m = find_map(&cc, CGP_DIR_OUT, CGP_PROTO_ICMP);

		report(m && m->ncls == 2 && cgp_portmap_class(m, 0x0304) == 1 &&
		       cgp_portmap_class(m, 0x0800) == 2 && cgp_portmap_class(m, 0x0305) == 0,
		       "ports: ICMP types keep their own classes beside", "ncls %u", m ? m->ncls : 0);
	}
	cgp_compiled_free(&cc);
	cgp_config_free(&cfg);
	free(perm);
	free(tab);
}

/* 0x7fff type/code values per ICMP family fit below CGP_ICMP6_CLS_BASE; one more is refused. */
static void test_icmp_limit(void)
{
	for (unsigned n = CGP_MAX_ICMP_CLASSES; n <= CGP_MAX_ICMP_CLASSES + 1; n++) {
		struct sbuf b = { 0 };
		struct cgp_config cfg;
		struct cgp_compiled cc;
		char err[512] = "";
		int r;

		sb_printf(&b, "[p]\ncgroup = /p\n");
		for (unsigned v = 0; v < n; v++)
			sb_printf(&b, "allow = in icmp any type %u code %u\n", v >> 8, v & 0xff);
		r = cgp_config_parse("t.ini", b.s, b.n, &cfg, err, sizeof(err));
		free(b.s);
		if (r) {
			report(false, tap_name("ports: %u ICMP type classes", n), "%s", err);
			continue;
		}
		r = cgp_compile("t.ini", &cfg.policies[0], 1, &cc, err, sizeof(err));
		if (n == CGP_MAX_ICMP_CLASSES) {
			const struct cgp_portmap *m = r ? NULL : find_map(&cc, CGP_DIR_IN, CGP_PORTPROTO_ICMP6);

			report(m && m->ncls == n && cgp_portmap_class(m, n - 1) == CGP_ICMP6_CLS_BASE + n,
			       "ports: 32,767 ICMP and ICMPv6 type classes accepted", "r=%d %s", r, err);
			if (!r)
				cgp_compiled_free(&cc);
		} else {
			report(r == -1 && !strcmp(err, "t.ini:1: policy [p] has more than 32767 distinct "
						  "ICMP type ranges for in") && !cc.lpm && !cc.portmaps,
			       "ports: 32,768 ICMP type classes refused", "r=%d \"%s\"", r, err);
		}
		cgp_config_free(&cfg);
	}
}

/* The documented precedence over the parsed rules, nothing of the compiler's encoding. */
static int spec(const struct cgp_policy *p, int dir, int proto, const uint8_t a[16], unsigned port)
{
	unsigned best = 0;

	for (unsigned i = 0; i < p->nrules; i++) {
		const struct cgp_rule *r = &p->rules[i];
		uint8_t m[16];
		bool in = !r->nports;
		unsigned sc;

		if (!(r->dirs & CGP_DIR_BIT(dir)) || (r->proto != proto && r->proto != CGP_RULE_PROTO_ANY))
			continue;
		memcpy(m, a, 16);
		cgp_mask_addr(m, r->plen);
		if (memcmp(m, r->addr, 16))
			continue;
		for (unsigned k = 0; k < r->nports && !in; k++)
			in = port >= r->ports[k].lo && port <= r->ports[k].hi;
		if (!in)
			continue;
		sc = (unsigned)r->plen << 3 | (r->nports > 0) << 2 | (r->verdict == CGP_DENY) << 1 | 1;
		if (sc > best)
			best = sc;
	}
	return best ? ((best & 2) ? CGP_DENY : CGP_ALLOW) : p->def[dir];
}

/* One random policy of n rules over many distinct ports (a few wide ranges, lists). */
static void random_policy(struct sbuf *b, unsigned n)
{
	sb_printf(b, "[r]\ncgroup = /r\ndefault_egress = %s\n", rn(2) ? "deny" : "allow");
	for (unsigned i = 0; i < n; i++) {
		unsigned lo = 1 + rn(65535), k = rn(20);
		const char *v = rn(5) ? "allow" : "deny", *pr = rn(4) ? "tcp" : "udp";
		unsigned plen = 8 + rn(25);

		sb_printf(b, "%s = out %s 10.%u.%u.%u/%u", v, pr, rn(4), rn(256), rn(256), plen);
		if (k == 0)
			sb_printf(b, "\n");	/* portless */
		if (k == 1)
			sb_printf(b, " port %u-%u\n", lo, lo + rn(65536 - lo));		/* wide */
		else if (k == 2)
			sb_printf(b, " port %u,%u,%u\n", lo, 1 + rn(65535), 1 + rn(65535));
		else if (k > 2)
			sb_printf(b, " port %u\n", lo);
	}
}

/* Random policies with thousands of distinct ports: classes, blocks and verdicts against spec(). */
static void test_random(void)
{
	int32_t *tab = malloc(65536 * sizeof(*tab));

	for (int t = 0; t < 6; t++) {
		struct sbuf b = { 0 };
		struct cgp_config cfg;
		struct cgp_compiled cc;
		char err[512] = "";
		unsigned n = t < 3 ? 300 : 3000, bad = 0, badcls = 0, nwide = 0;
		const struct cgp_portmap *m;
		int r;

		random_policy(&b, n);
		r = cgp_config_parse("t.ini", b.s, b.n, &cfg, err, sizeof(err));
		free(b.s);
		if (!r)
			r = cgp_compile("t.ini", &cfg.policies[0], 1, &cc, err, sizeof(err));
		else
			cgp_config_free(&cfg);
		if (r) {
			report(false, tap_name("ports: random policy %d", t), "%s", err);
			continue;
		}
		/* the trie's class of every port is the map's; a class is one interval */
		m = find_map(&cc, CGP_DIR_OUT, CGP_PROTO_TCP);
		if (m && block_table(&cc, CGP_DIR_OUT, CGP_PROTO_TCP, tab) >= 0) {
			unsigned prev = 0, nf = m->ncls - m->nwide;

			/* classes in port order in each layer, narrow ones first */
			for (unsigned p = 0; p < 65536; p++) {
				unsigned c = cgp_portmap_class(m, p), f = c & 0xffff, w = c >> 16;

				badcls += (unsigned)tab[p] != c || (f && f < prev) || f > nf ||
					  (w && (w <= nf || w > m->ncls));
				prev = f ? f : prev;
			}
			nwide += m->nwide;
		} else {
			badcls++;
		}
		for (int k = 0; k < 3000; k++) {
			uint8_t a[16];
			int proto = rn(2) ? CGP_PROTO_TCP : CGP_PROTO_UDP;
			const struct cgp_rule *r = &cfg.policies[0].rules[rn(n)];
			unsigned port = rn(3) || !r->nports ? 1 + rn(65535) : r->ports[0].lo;

			v4(a, 0x0a000000 | rn(4) << 16 | rn(256) << 8 | rn(256));
			bad += cgp_compiled_eval(&cc, CGP_DIR_OUT, (uint8_t)proto, a, port) !=
			       spec(&cfg.policies[0], CGP_DIR_OUT, proto, a, port);
		}
		report(!bad && !badcls, tap_name("ports: random policy %d (%u rules, %u tcp classes, "
						  "%u wide)", t, n, m ? m->ncls : 0, nwide),
		       "%u verdicts differ from the spec, %u classes wrong", bad, badcls);
		cgp_compiled_free(&cc);
		cgp_config_free(&cfg);
	}
	free(tab);
}

/* Thousands of single ports under wide ranges: two layers, and port trie entries nested in the wide blocks. */
static void test_nested(void)
{
	int32_t *tab = malloc(65536 * sizeof(*tab));
	struct sbuf b = { 0 };
	struct cgp_config cfg;
	struct cgp_compiled cc;
	char err[512] = "";
	const struct cgp_portmap *m;
	unsigned bad = 0, nsingle = 5000;
	int r, nblk = -1;

	sb_printf(&b, "[n]\ncgroup = /n\ndefault_egress = deny\n"
		  "allow = out tcp 10.0.0.0/8 port 1024-65535\ndeny = out tcp 10.1.0.0/16 port 20000-29999\n");
	for (unsigned i = 0; i < nsingle; i++)
		sb_printf(&b, "%s = out tcp 10.%u.%u.0/24 port %u\n", i % 3 ? "allow" : "deny", rn(4), rn(256),
			  1 + rn(65535));
	r = cgp_config_parse("t.ini", b.s, b.n, &cfg, err, sizeof(err));
	free(b.s);
	if (!r && cgp_compile("t.ini", &cfg.policies[0], 1, &cc, err, sizeof(err))) {
		cgp_config_free(&cfg);
		r = -1;
	}
	if (r) {
		report(false, "ports: single ports under wide ranges", "%s", err);
		free(tab);
		return;
	}
	m = find_map(&cc, CGP_DIR_OUT, CGP_PROTO_TCP);
	if (m)
		nblk = block_table(&cc, CGP_DIR_OUT, CGP_PROTO_TCP, tab);
	for (unsigned p = 0; m && nblk >= 0 && p < 65536; p++)
		bad += (unsigned)tab[p] != cgp_portmap_class(m, p);
	/* each single port its class, the wide ranges 3 classes of their own: entries ~ rules */
	report(m && m->nwide == 3 && nblk >= 0 && !bad && nblk < (int)nsingle + 64 &&
	       cc.nlpm < nsingle + 8, "ports: single ports under wide ranges, two layers",
	       "nwide %u, %d port trie entries, %u ports wrong, %zu rule trie entries",
	       m ? m->nwide : 0, nblk, bad, cc.nlpm);
	for (int k = 0, v; k < 4000 && !bad; k++) {
		struct cgp_compiled_sets cs = { .c = &cc };
		struct cgp_lookup lk = cgp_compiled_lookup(&cs);
		struct cgp_decision d;
		uint8_t a[16];
		unsigned port = 1 + rn(65535);

		v4(a, 0x0a000000 | rn(4) << 16 | rn(256) << 8 | rn(256));
		v = cgp_compiled_eval(&cc, CGP_DIR_OUT, CGP_PROTO_TCP, a, port);
		bad += v != spec(&cfg.policies[0], CGP_DIR_OUT, CGP_PROTO_TCP, a, port);
		/* explain follows the kernel's lookups, the wide layer's included */
		bad += cgp_decide(&lk, &cc.pol, &cfg.policies[0], CGP_DIR_OUT, CGP_PROTO_TCP, a, port, &d) ||
		       d.verdict != v;
	}
	printf("# %u single ports under 2 wide ranges: %d port trie entries, %zu rule trie entries\n",
	       nsingle, nblk, cc.nlpm);
	report(!bad, "ports: two layers give the spec's verdicts, and explain's", "%u differ", bad);
	cgp_compiled_free(&cc);
	cgp_config_free(&cfg);
	free(tab);
}

/* The shape of the scale files: one random port per rule (bench/genrules.py --random-ports). */
static void test_scale(void)
{
	for (unsigned n = 10000; n <= 100000; n *= 10) {
		struct sbuf b = { 0 };
		struct cgp_config cfg;
		struct cgp_compiled cc;
		char err[512] = "";
		double t0, t1;
		int r;

		sb_printf(&b, "[s]\ncgroup = /s\ndefault_egress = deny\n");
		for (unsigned i = 0; i < n; i++)
			sb_printf(&b, "allow = out tcp %u.%u.%u.0/24 port %u\n", 11 + rn(100), rn(256),
				  rn(256), 1 + rn(65535));
		r = cgp_config_parse("t.ini", b.s, b.n, &cfg, err, sizeof(err));
		free(b.s);
		if (r) {
			report(false, tap_name("ports: %u random-port rules", n), "%s", err);
			continue;
		}
		t0 = now_ms();
		r = cgp_compile("t.ini", &cfg.policies[0], 1, &cc, err, sizeof(err));
		t1 = now_ms();
		report(r == 0 && cc.nlpm <= n, tap_name("ports: %u random-port rules compile", n), "%s", err);
		if (!r) {
			printf("# %u rules: compile %.1f ms, %u port classes, %zu rule trie entries\n", n,
			       t1 - t0, cc.portmaps[0].map.ncls, cc.nlpm);
			cgp_compiled_free(&cc);
		}
		cgp_config_free(&cfg);
	}
}

int main(void)
{
	test_all_ports();
	test_icmp_limit();
	test_random();
	test_nested();
	test_scale();
	printf("%d passed, %d failed\n", npass, nfail);
	return nfail ? 1 : 0;
}
