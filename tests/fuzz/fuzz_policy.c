// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * fuzz_policy.c - libFuzzer harness for policy/: parse -> compile -> eval.
 *
 * Built with clang -fsanitize=fuzzer,address,undefined (make fuzz). For every
 * input:
 *   1. cgp_config_parse() must either succeed, or fail with an error that
 *      starts with the file name ("fuzz.ini:LINE: ..." or "fuzz.ini: ...")
 *      and leave the config zeroed;
 *   2. every policy that parsed is compiled (cgp_compile) for a slot; a
 *      compile error must also name the file;
 *   3. the compiled entries are checked (sorted, unique, well formed) and
 *      cgp_compiled_eval() is compared with a brute-force evaluation of the
 *      rules (the precedence of docs/POLICY.md) on probe addresses and ports
 *      taken from the rules themselves, their edges, and the input bytes;
 *   4. the port -> class blocks of policy/ports.c (what the kernel holds)
 *      give the same class as the sorted boundaries for the probe ports.
 * Any mismatch aborts, so libFuzzer records the input as a crash.
 *
 * Regression inputs live in tests/fuzz/regress/ and are replayed by
 * tests/fuzz/fuzz.sh in `make test`.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"
#include "policy/ports.h"

#define NAME "fuzz.ini"
#define MAX_COMPILED_POLICIES 8	/* compile cost is O(65536) per (dir, proto) with ports */

static void die(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz_policy: %s: %s\n", what, detail ? detail : "");
	abort();
}

static bool pmatch(const uint8_t *a, const uint8_t *net, unsigned plen)
{
	for (unsigned b = 0; b < plen; b++) {
		unsigned m = 0x80u >> (b % 8);
		if ((a[b / 8] & m) != (net[b / 8] & m))
			return false;
	}
	return true;
}

/* Set membership by the spec: the longest entry over the set and its includes
 * (an exclusion wins a tie); -1 when not a member. */
static void member_walk(const struct cgp_config *cfg, unsigned idx, const uint8_t a[16], int *best,
			bool *excl, unsigned depth)
{
	const struct cgp_set *s = &cfg->sets[idx];

	if (depth > cfg->nsets)
		die("include loop accepted", s->name);
	for (unsigned i = 0; i < s->n; i++) {
		if (!pmatch(a, s->m[i].addr, s->m[i].plen))
			continue;
		if ((int)s->m[i].plen > *best || ((int)s->m[i].plen == *best && s->m[i].exclude)) {
			*best = s->m[i].plen;
			*excl = s->m[i].exclude;
		}
	}
	for (unsigned k = 0; k < s->ninc; k++)
		member_walk(cfg, s->inc[k].idx, a, best, excl, depth + 1);
}

/* Precedence: longest prefix (a set rule: its member's), then a rule with ports (or an
 * ICMP type), then deny; else default. ICMP: port = type << 8 | code of family v4 (IPv4
 * address) or v6. */
static int oracle(const struct cgp_config *cfg, const struct cgp_policy *p, uint8_t dir,
		  uint8_t proto, const uint8_t addr[16], uint16_t port)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	int best = -1, bplen = -1, bports = 0, fam = memcmp(addr, mapped, 12) ? 1 : 0;

	for (unsigned i = 0; i < p->nrules; i++) {
		const struct cgp_rule *r = &p->rules[i];
		int hasp = r->nports > 0 || r->has_type;
		bool in = r->has_type && r->icmp_type[fam] == port >> 8 &&
			  (r->icmp_code[fam] < 0 || r->icmp_code[fam] == (port & 0xff));
		int plen = r->plen;

		if (!(r->dirs & CGP_DIR_BIT(dir)))
			continue;
		if (r->proto != CGP_RULE_PROTO_ANY && r->proto != proto)
			continue;
		if (r->set) {
			bool excl = false;

			plen = -1;
			member_walk(cfg, r->set - 1u, addr, &plen, &excl, 0);
			if (plen < 0 || excl)
				continue;
		} else if (!pmatch(addr, r->addr, r->plen)) {
			continue;
		}
		for (unsigned k = 0; k < r->nports; k++)
			in |= port >= r->ports[k].lo && port <= r->ports[k].hi;
		if (hasp && !in)
			continue;
		if (plen > bplen || (plen == bplen && hasp > bports) ||
		    (plen == bplen && hasp == bports && r->verdict == CGP_DENY)) {
			best = r->verdict;
			bplen = plen;
			bports = hasp;
		}
	}
	return best < 0 ? p->def[dir] : best;
}

static void check_entries(const struct cgp_compiled *cc, uint16_t slot)
{
	for (size_t i = 0; i < cc->nlpm; i++) {
		const struct cgp_lpm_entry *e = &cc->lpm[i];

		bool setrule = e->key.proto & CGP_SET_RULE;	/* @NAME: full prefix, set id */

		if (e->key.slot != slot || e->key.pad || e->val.pad || e->key.dir >= CGP_DIR_MAX ||
		    (e->key.proto & ~CGP_SET_RULE) >= CGP_PROTO_MAX || e->val.plen > 128 ||
		    e->key.prefixlen != (uint32_t)CGP_LPM_FIXED_BITS + (setrule ? 128 : e->val.plen) ||
		    (e->val.verdict != CGP_ALLOW && e->val.verdict != CGP_DENY))
			die("malformed trie entry", NULL);
		if (i && cgp_lpm_key_cmp(&cc->lpm[i - 1].key, &e->key) >= 0)
			die("trie entries not sorted/unique", NULL);
	}
	for (size_t i = 0; i < cc->nportmaps; i++) {
		const struct cgp_portmap_entry *pm = &cc->portmaps[i];

		if (pm->map.n > 65536 || pm->key.slot != slot)
			die("malformed port map", NULL);
		for (unsigned k = 1; k < pm->map.n; k++)
			if (pm->map.bound[k - 1] >= pm->map.bound[k])
				die("port bounds not sorted", NULL);
	}
}

/* Class of `port` from the LPM blocks, as the kernel would find it. */
static int block_class(const struct cgp_portlpm_entry *e, size_t n, uint16_t port)
{
	int best = -1, blen = -1;

	for (size_t i = 0; i < n; i++) {
		unsigned bits = e[i].key.prefixlen - CGP_PORTLPM_FIXED_BITS;
		unsigned base = ((unsigned)e[i].key.port[0] << 8) | e[i].key.port[1];
		unsigned mask = bits ? (0xffffu << (16 - bits)) & 0xffffu : 0;

		if (bits > 16)
			die("port block prefix > 16", NULL);
		if ((port & mask) == (base & mask) && (int)bits > blen) {
			blen = (int)bits;
			best = (int)e[i].val.cls;
		}
	}
	return best;
}

static void check_ports(const struct cgp_compiled *cc, const uint8_t *data, size_t size)
{
	for (size_t i = 0; i < cc->nportmaps; i++) {
		const struct cgp_portmap *m = &cc->portmaps[i].map;
		struct cgp_portlpm_entry *e = NULL;
		size_t n = 0, cap = 0;
		uint16_t probes[64 + 8];
		unsigned np = 0;

		if (cgp_port_blocks(&cc->portmaps[i], &e, &n, &cap))
			die("cgp_port_blocks", "ENOMEM");
		probes[np++] = 0;
		probes[np++] = 1;
		probes[np++] = 65535;
		if (size >= 2)
			probes[np++] = (uint16_t)(data[0] << 8 | data[size - 1]);
		for (unsigned k = 0; k < m->n && np + 2 <= sizeof(probes) / sizeof(probes[0]); k += 1 + m->n / 32) {
			probes[np++] = m->bound[k];
			probes[np++] = (uint16_t)(m->bound[k] - 1);
		}
		for (unsigned k = 0; k < np; k++) {
			int got = block_class(e, n, probes[k]);
			unsigned want = cgp_portmap_class(m, probes[k]);	/* 0: no block */

			if ((got < 0 ? 0u : (unsigned)got) != want) {	/* a 0 entry is a miss */
				char d[96];
				snprintf(d, sizeof(d), "port %u: blocks say %d, bounds say %u", probes[k], got, want);
				die("port class mismatch", d);
			}
		}
		free(e);
	}
}

static void probe_policy(const struct cgp_config *cfg, const struct cgp_policy *p,
			 const struct cgp_compiled *cc, const struct cgp_lpm_entry *setm, size_t nsetm,
			 const uint8_t *data, size_t size)
{
	unsigned nprobe = p->nrules < 16 ? 2 * p->nrules + 4 : 36;

	for (unsigned q = 0; q < nprobe; q++) {
		uint8_t a[16] = { 0 };
		uint8_t seed = size ? data[(q * 7) % size] : 0;
		uint16_t port = (uint16_t)(seed * 257u);

		if (p->nrules) {
			const struct cgp_rule *r = &p->rules[(q / 2) % p->nrules];

			memcpy(a, r->addr, 16);
			if (r->set && cfg->sets[r->set - 1].n) {	/* near a member of its set */
				const struct cgp_set *s = &cfg->sets[r->set - 1];
				const struct cgp_set_member *m = &s->m[seed % s->n];

				memcpy(a, m->addr, 16);
				if (m->plen < 128)
					a[15] ^= seed;
			}
			/* flip host bits, or a bit of the prefix on odd probes */
			if (r->plen < 128)
				a[15] ^= seed;
			if ((q & 1) && r->plen)
				a[(r->plen - 1) / 8] ^= (uint8_t)(0x80u >> ((r->plen - 1) % 8));
			if (r->nports) {
				const struct cgp_port_range *pr = &r->ports[seed % r->nports];
				switch (q % 4) {
				case 0: port = pr->lo; break;
				case 1: port = pr->hi; break;
				case 2: port = (uint16_t)(pr->lo - 1); break;
				default: port = (uint16_t)(pr->hi + 1); break;
				}
			}
		}
		for (uint8_t dir = 0; dir < CGP_DIR_MAX; dir++) {
			for (uint8_t proto = 0; proto < CGP_PROTO_MAX; proto++) {
				int want = oracle(cfg, p, dir, proto, a, port);
				int got = cgp_compiled_eval_sets(cc, setm, nsetm, dir, proto == CGP_PROTO_ICMP &&
								 memcmp(a, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) ?
								 CGP_PORTPROTO_ICMP6 : proto, a, port);

				if (want != got) {
					char d[160];
					snprintf(d, sizeof(d), "[%s] dir %u proto %u port %u: oracle %d, compiled %d",
						 p->name, dir, proto, port, want, got);
					die("verdict mismatch", d);
				}
			}
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cgp_config cfg;
	struct cgp_lpm_entry *setm = NULL;
	size_t nsetm = 0;
	char err[1024];
	int r;

	memset(err, 'x', sizeof(err));
	r = cgp_config_parse(NAME, (const char *)data, size, &cfg, err, sizeof(err));
	if (!memchr(err, '\0', sizeof(err)))
		die("error message not terminated", NULL);
	if (r < 0) {
		if (r != -1 || strncmp(err, NAME ":", strlen(NAME) + 1) || strlen(err) < strlen(NAME) + 3)
			die("parse error without FILE: prefix", err);
		if (cfg.policies || cfg.npolicies || cfg.reuseports || cfg.nreuseports)
			die("config not zeroed on failure", err);
		return 0;
	}
	if (r != 0 || err[0])
		die("success with an error message", err);
	if (!cfg.npolicies || cfg.npolicies > CGP_MAX_POLICIES)
		die("bad policy count", NULL);

	/* every set's members, flattened (what the kernel holds, static and dynamic) */
	for (unsigned i = 0; i < cfg.nsets; i++) {
		struct cgp_lpm_entry *e, *all;
		size_t n;

		if (cgp_set_flatten(&cfg, i, &e, &n))
			die("cgp_set_flatten", "ENOMEM");
		all = realloc(setm, (nsetm + n + 1) * sizeof(*all));
		if (!all)
			die("realloc", "ENOMEM");
		memcpy(all + nsetm, e, n * sizeof(*e));
		setm = all;
		nsetm += n;
		free(e);
	}
	for (unsigned i = 0; i < cfg.npolicies && i < MAX_COMPILED_POLICIES; i++) {
		const struct cgp_policy *p = &cfg.policies[i];
		struct cgp_compiled cc;
		uint16_t slot = (uint16_t)(i + 1);

		if (!p->cgroup[0] || p->cgroup[0] != '/' || p->nrules > CGP_MAX_RULES)
			die("accepted a policy without a valid cgroup", p->name);
		if (cgp_compile(NAME, p, slot, &cc, err, sizeof(err)) < 0) {
			if (strncmp(err, NAME ":", strlen(NAME) + 1))
				die("compile error without FILE:LINE prefix", err);
			if (cc.lpm || cc.portmaps || cc.nlpm || cc.nportmaps)
				die("compiled output not freed on failure", err);
			continue;
		}
		check_entries(&cc, slot);
		check_ports(&cc, data, size);
		probe_policy(&cfg, p, &cc, setm, nsetm, data, size);
		cgp_compiled_free(&cc);
	}
	free(setm);
	cgp_config_free(&cfg);
	return 0;
}
