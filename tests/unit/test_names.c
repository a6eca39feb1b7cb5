// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_names.c - DNS names in rules (policy/names.c, policy/compile_dns.c):
 * the syntax and its errors, the implicit sets, the keys, and the
 * cgp_dnsnames entries against a reference matcher (random names and
 * patterns: the longest match over the generated keys gives exactly the
 * sets of every pattern that matches the name).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"
#include "tests/tap.h"

static int parse(const char *text, struct cgp_config *cfg, char *err, size_t errlen)
{
	return cgp_config_parse("t.ini", text, strlen(text), cfg, err, errlen);
}

static void test_name_syntax(void)
{
	static const struct { const char *in, *out; bool wild; } ok[] = {
		{ "api.example.com", "api.example.com", false },
		{ "API.Example.COM.", "api.example.com", false },
		{ "*.example.com", "*.example.com", true },
		{ "*.Example.com.", "*.example.com", true },
		{ "xn--bcher-kva.example", "xn--bcher-kva.example", false },
		{ "_srv._tcp.example.org", "_srv._tcp.example.org", false },
		{ "a-1.b2.c0m", "a-1.b2.c0m", false },
		{ "*.com", "*.com", true },
	};
	static const char *const bad[] = {
		"localhost", "anyy", "10.0.0.1a", "1.2.3.4x.5", "a..com", ".a.com", "a*.x.com",
		"*.*.x.com", "*x.com", "b\xc3\xbc.com", "a b.com", "x.com..", "*", "*.",
		"a.123", "a.-b", "a.b!c.com",
	};
	char out[CGP_DNS_NAME_MAX + 1], msg[400], big[300];
	bool wild;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		int r = cgp_dns_name_parse(ok[i].in, out, &wild, msg, sizeof(msg));

		report(r == 0 && !strcmp(out, ok[i].out) && wild == ok[i].wild,
		       tap_name("name '%s' -> '%s'", ok[i].in, ok[i].out), "r=%d out=%s msg=%s", r, out,
		       msg);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = cgp_dns_name_parse(bad[i], out, &wild, msg, sizeof(msg));

		report(r < 0 && strstr(msg, "bad"), tap_name("bad name '%s' refused", bad[i]), "%s",
		       r < 0 ? msg : out);
	}
	/* 253 characters: ok; 254: refused; a label of 64: refused */
	memset(big, 'a', sizeof(big));
	for (int i = 63; i < 253; i += 64)
		big[i] = '.';
	big[253] = 0;
	report(!cgp_dns_name_parse(big, out, &wild, msg, sizeof(msg)), "253 characters: a name", "%s", msg);
	big[253] = 'a', big[254] = 0;
	report(cgp_dns_name_parse(big, out, &wild, msg, sizeof(msg)) < 0, "254 characters: refused", "%s", "");
	memset(big, 'b', 64);
	strcpy(big + 64, ".com");
	report(cgp_dns_name_parse(big, out, &wild, msg, sizeof(msg)) < 0 && strstr(msg, "63"),
	       "a label of 64 characters: refused", "%s", msg);
	report(cgp_dns_looks_like_name("api.x.com") && !cgp_dns_looks_like_name("10.0.0.1") &&
	       !cgp_dns_looks_like_name("any") && !cgp_dns_looks_like_name("fe80::1") &&
	       !cgp_dns_looks_like_name("10.0.0.0/8") && cgp_dns_looks_like_name("anyy") &&
	       !cgp_dns_looks_like_name("10.-1.1.1") && !cgp_dns_looks_like_name("0x0a.0.0.1") &&
	       cgp_dns_looks_like_name("10.0.0.1a") && cgp_dns_looks_like_name("example.com."),
	       "names told from addresses", "%s", "");
}

static const struct { const char *text, *err; } errs[] = {
	{ "[w]\ncgroup=/x\ndeny = out tcp api.example.com port 443\n",
	  "t.ini:3: a deny rule cannot name a DNS name" },
	{ "[w]\ncgroup=/x\nallow = out tcp anyy port 443\n", "t.ini:3: bad address 'anyy'" },
	{ "[w]\ncgroup=/x\nallow = out tcp 10.0.0.1a\n", "t.ini:3: bad address '10.0.0.1a'" },
	{ "[set s]\naddress = api.example.com\n[w]\ncgroup=/x\n",
	  "t.ini:2: bad set member 'api.example.com': DNS names are not set members" },
	{ "[w]\ncgroup=/x\ndns = proxy\n", "t.ini:3: bad dns 'proxy' (packet, agent or both)" },
	{ "[w]\ncgroup=/x\ndns_servers = 10.0.0.0/8\n", "t.ini:3: bad dns_servers address '10.0.0.0/8'" },
	{ "[w]\ncgroup=/x\ndns_servers = 1.1.1.1, resolver\n", "t.ini:3: bad dns_servers address 'resolver'" },
	{ "[agent]\ndns_ttl_min = 0\n[w]\ncgroup=/x\n", "t.ini:2: bad dns_ttl_min '0'" },
	{ "[agent]\ndns_grace = 1d\n[w]\ncgroup=/x\n", "t.ini:2: bad dns_grace '1d'" },
	{ "[agent]\ndns_ttl_min = 600\ndns_ttl_max = 60\n[w]\ncgroup=/x\n",
	  "t.ini:3: dns_ttl_min (600) is above dns_ttl_max (60)" },
	{ "[agent]\ndns_servers = 1,2,3,4,5,6,7,8,9\n[w]\ncgroup=/x\n", "t.ini:2: bad dns_servers" },
	{ "[w]\ncgroup=/x\ndns = agent\ndns = both\n", "t.ini:4: duplicate key 'dns'" },
};

static void test_errors(void)
{
	for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
		struct cgp_config cfg;
		char err[512] = "";
		int r = parse(errs[i].text, &cfg, err, sizeof(err));

		report(r < 0 && !strncmp(err, errs[i].err, strlen(errs[i].err)),
		       tap_name("error: %s", errs[i].err), "got '%s'", err);
		if (!r)
			cgp_config_free(&cfg);
	}
	/* nine port lists of out tcp name rules: more than CGP_SET_REFS sets */
	{
		char text[2048] = "[w]\ncgroup=/x\n", err[512] = "";
		struct cgp_config cfg;
		int r;

		for (int i = 0; i < 9; i++)
			snprintf(text + strlen(text), sizeof(text) - strlen(text),
				 "allow = out tcp n%d.example.com port %d\n", i, 1000 + i);
		r = parse(text, &cfg, err, sizeof(err));
		report(r < 0 && strstr(err, "t.ini:11: [w] uses more than 8 sets for out tcp") &&
		       strstr(err, "name rules"), "nine port lists: FILE:LINE error", "%s", err);
		if (!r)
			cgp_config_free(&cfg);
	}
}

static int count_dns_sets(const struct cgp_config *cfg)
{
	int n = 0;

	for (unsigned i = 0; i < cfg->nsets; i++)
		n += cgp_set_is_dns(cfg->sets[i].name) && cfg->sets[i].dynamic;
	return n;
}

static void test_sets_keys(void)
{
	static const char text[] =
		"[agent]\ndns_servers = 127.0.0.53 ::1\ndns_ttl_min = 2\ndns_ttl_max = 100\ndns_grace = 0\n"
		"[set mine]\naddress = 10.0.0.0/8\n"
		"[w]\ncgroup=/x\ndefault_egress = deny\ndns = both\ndns_servers = 127.0.0.11\n"
		"allow = out tcp api.example.com port 443\n"		/* 13 */
		"allow = out tcp *.example.com port 443\n"		/* 14: same set */
		"allow = out tcp web.example.org port 80,443\n"	/* 15: another */
		"allow = out udp api.example.com port 443\n"		/* 16: another */
		"allow = out tcp @mine port 22\n"
		"[v]\ncgroup=/y\nallow = out tcp api.example.com port 443\n";	/* 20: v's own */
	struct cgp_config cfg, cfg2;
	char err[512];
	const struct cgp_policy *w, *v;

	if (parse(text, &cfg, err, sizeof(err)) < 0) {
		report(false, "name policy parses", "%s", err);
		return;
	}
	w = cgp_config_find(&cfg, "w");
	v = cgp_config_find(&cfg, "v");
	report(cfg.agent.dns_servers.n == 2 && cfg.agent.dns_ttl_min == 2 && cfg.agent.dns_ttl_max == 100 &&
	       cfg.agent.dns_grace == 0 && w->dns_mode == CGP_DNS_BOTH && w->dns_servers.n == 1 &&
	       v->dns_mode == CGP_DNS_PACKET && !v->dns_servers.n, "dns keys parsed", "%s", "");
	report(w->nnames == 4 && !strcmp(w->names[0].name, "api.example.com") && w->names[1].wild,
	       "names of the rules", "n=%u", w->nnames);
	report(count_dns_sets(&cfg) == 4 && cfg.nsets == 5, "one implicit dynamic set per signature",
	       "dns sets %d, sets %u", count_dns_sets(&cfg), cfg.nsets);
	report(w->rules[0].set == w->rules[1].set && w->rules[0].set != w->rules[2].set &&
	       w->rules[0].set != w->rules[3].set && v->rules[0].set != w->rules[0].set &&
	       strlen(cfg.sets[w->rules[0].set - 1].name) == strlen(CGP_DNS_SET_PREFIX) + 16,
	       "name rules share a set by signature, per policy", "%s", cfg.sets[w->rules[0].set - 1].name);
	if (!parse(text, &cfg2, err, sizeof(err))) {
		report(!strcmp(cfg.sets[w->rules[2].set - 1].name, cfg2.sets[w->rules[2].set - 1].name),
		       "implicit set names are stable", "%s", "");
		cgp_config_free(&cfg2);
	}
	{
		struct cgp_compiled c, cv;

		if (!cgp_compile("t.ini", w, 3, &c, err, sizeof(err))) {
			report((c.pol.flags & CGP_POL_F_DNS) && c.ndns == 3,
			       "compiled: the DNS flag, one entry per distinct pattern", "ndns=%zu", c.ndns);
			cgp_compiled_free(&c);
		}
		if (!cgp_compile("t.ini", v, 4, &cv, err, sizeof(err))) {
			report(cv.ndns == 1 && cv.dns[0].key.slot == 4 &&
			       cv.dns[0].key.prefixlen == CGP_DNSNAME_FIXED_BITS + 8 * 16 &&
			       !memcmp(cv.dns[0].key.name, "moc.elpmaxe.ipa\0", 16) &&
			       cv.dns[0].val.line == 20 && cv.dns[0].val.sets[0] == v->rules[0].set_id &&
			       !cv.dns[0].val.sets[1], "exact entry: reversed, 0 byte, slot, line, set", "%s", "");
			cgp_compiled_free(&cv);
		}
	}
	cgp_config_free(&cfg);
	if (!parse("[w]\ncgroup=/x\ndns = agent\nallow = out tcp a.example.com port 1\n", &cfg, err,
		   sizeof(err))) {
		struct cgp_compiled c;

		if (!cgp_compile("t.ini", &cfg.policies[0], 1, &c, err, sizeof(err))) {
			report(!(c.pol.flags & CGP_POL_F_DNS) && c.ndns == 1,
			       "dns = agent: entries, no kernel parsing", "%s", "");
			cgp_compiled_free(&c);
		}
		cgp_config_free(&cfg);
	}
}

/* ------------------------------------------------------------------ random */

static uint64_t rs = 0x243f6a8885a308d3ull;

static unsigned rn(unsigned n)
{
	rs ^= rs << 13, rs ^= rs >> 7, rs ^= rs << 17;
	return (unsigned)(rs % n);
}

static const char *const labels[] = { "a", "b", "api", "eu", "x-1", "_s" };
#define NLABELS (sizeof(labels) / sizeof(labels[0]))
static const char *const tlds[] = { "com", "org" };

/* A random name of 2..5 labels (the last a TLD). */
static void rand_name(char *out, size_t len)
{
	unsigned n = 1 + rn(4);

	out[0] = 0;
	for (unsigned i = 0; i < n; i++)
		snprintf(out + strlen(out), len - strlen(out), "%s.", labels[rn(NLABELS)]);
	snprintf(out + strlen(out), len - strlen(out), "%s", tlds[rn(2)]);
}

/* The entry the kernel's longest-prefix match gives for `name`, or NULL. */
static const struct cgp_dnsname_entry *lpm(const struct cgp_compiled *c, const char *name)
{
	uint8_t key[CGP_DNS_NAME_MAX + 1];
	unsigned kl = cgp_dns_key_bytes(name, false, key);
	const struct cgp_dnsname_entry *best = NULL;

	for (size_t i = 0; i < c->ndns; i++) {
		unsigned bl = (c->dns[i].key.prefixlen - CGP_DNSNAME_FIXED_BITS) / 8;

		if (bl <= kl && !memcmp(c->dns[i].key.name, key, bl) &&
		    (!best || best->key.prefixlen < c->dns[i].key.prefixlen))
			best = &c->dns[i];
	}
	return best;
}

static bool has(const uint16_t *l, unsigned n, uint16_t id)
{
	for (unsigned i = 0; i < n && l[i]; i++)
		if (l[i] == id)
			return true;
	return false;
}

/* One random policy: 1..12 name rules on 1..3 port lists; 300 random questions. */
static bool random_round(char *why, size_t whylen)
{
	char text[4096] = "[w]\ncgroup=/x\n", err[512], q[128];
	unsigned nr = 1 + rn(12);
	struct cgp_config cfg;
	struct cgp_compiled c;
	const struct cgp_policy *p;
	bool ok = true;

	for (unsigned i = 0; i < nr; i++) {
		char nm[100];

		rand_name(nm, sizeof(nm));
		snprintf(text + strlen(text), sizeof(text) - strlen(text), "allow = out tcp %s%s port %u\n",
			 rn(2) ? "*." : "", nm, 80 + rn(3));
	}
	if (parse(text, &cfg, err, sizeof(err)) < 0) {
		snprintf(why, whylen, "parse: %s", err);
		return false;
	}
	p = &cfg.policies[0];
	if (cgp_compile("t.ini", p, 1, &c, err, sizeof(err))) {
		snprintf(why, whylen, "compile: %s", err);
		cgp_config_free(&cfg);
		return false;
	}
	for (int k = 0; k < 300 && ok; k++) {
		const struct cgp_dnsname_entry *e;
		uint16_t want[64];
		unsigned nw = 0, ne = 0;

		rand_name(q, sizeof(q));
		for (unsigned i = 0; i < p->nrules; i++) {
			const struct cgp_dnsname *n = &p->names[p->rules[i].dns - 1];

			if (cgp_dns_match(n->name, n->wild, q) && !has(want, nw, p->rules[i].set_id))
				want[nw++] = p->rules[i].set_id;
		}
		e = lpm(&c, q);
		while (e && ne < CGP_DNS_SETS && e->val.sets[ne])
			ne++;
		ok = (!e && !nw) || (e && ne == nw);
		for (unsigned i = 0; ok && e && i < ne; i++)
			ok = has(want, nw, e->val.sets[i]);
		if (!ok)
			snprintf(why, whylen, "question %s: %u sets expected, entry %s with %u\n%s", q, nw,
				 e ? "found" : "none", ne, text);
	}
	cgp_compiled_free(&c);
	cgp_config_free(&cfg);
	return ok;
}

static void test_random(void)
{
	char why[4096] = "";
	bool ok = true;
	int i;

	for (i = 0; i < 400 && ok; i++)
		ok = random_round(why, sizeof(why));
	report(ok, "longest match over the generated keys = the reference matcher (400 policies)",
	       "round %d: %s", i, why);
}

static void test_key_name(void)
{
	uint8_t k[CGP_DNS_NAME_MAX + 1];
	char out[300];
	unsigned n = cgp_dns_key_bytes("*.example.com", true, k);

	cgp_dns_key_name(k, n, out, sizeof(out));
	report(n == 12 && !strcmp(out, "*.example.com"), "wildcard key back to text", "%u %s", n, out);
	n = cgp_dns_key_bytes("api.example.com", false, k);
	cgp_dns_key_name(k, n, out, sizeof(out));
	report(n == 16 && !strcmp(out, "api.example.com"), "exact key back to text", "%u %s", n, out);
}

int main(void)
{
	test_name_syntax();
	test_errors();
	test_sets_keys();
	test_key_name();
	test_random();
	printf("%d passed, %d failed\n", npass, nfail);
	return nfail ? 1 : 0;
}
