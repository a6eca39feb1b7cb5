// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_dns.c - the DNS-name learning of cgp_egress/cgp_ingress (bpf/dns.bpf.h,
 * bpf/dns_parse.bpf.h) under BPF_PROG_TEST_RUN, on crafted queries and
 * answers (IPv4/IPv6, UDP/TCP).
 *
 * The policy goes the real way (INI -> cgp_config_parse -> cgp_compile ->
 * cgp_install_set); its two dynamic sets stand for the implicit sets of name
 * rules, CGP_POL_F_DNS is set on the compiled policy, and the test writes
 * cgp_dnsnames and cgp_dnssrv as apply will. Every answer follows a query
 * the egress program recorded, as on a real socket: test_run gives each run
 * a fresh dummy socket (net/bpf/test_run.c: sk_alloc per run, so a new
 * cookie), so the programs take the cookie from test_dns_cookie, which the
 * test sets (and changes, for "a socket that did not ask").
 *
 * Checks: exactly the answered addresses are learned, into the right sets,
 * with the right expiry; CNAME chains, other owners; exact and wildcard
 * names; every reason to learn nothing, with its counter; a corpus of
 * malformed answers; a seeded fuzz of mutated answers against a reference
 * reader (dns_lib.h). Prints the verifier's instruction counts and the cost
 * of a parsed answer.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "agent/sets.h"
#include "agent/state.h"
#include "bpf/dns.h"
#include "policy/policy.h"
#include "enforce.skel.h"
#include "tests/tap.h"
#include "tests/bpf/dns_lib.h"

#define SKIP_RC	77
#define RES4	"10.0.0.53"
#define RES6	"fd00::53"
#define ROGUE4	"10.0.0.99"	/* allowed by the rules, not a trusted resolver */
#define NS	1000000000ull

static const char policy_text[] =
	"[set web]\ndynamic = yes\n"
	"[set cdn]\ndynamic = yes\n"
	"[t]\ncgroup = /cgp-test\n"
	"default_ingress = allow\ndefault_egress = deny\n"
	"allow = out udp " RES4 " port 53\nallow = out tcp " RES4 " port 53\n"
	"allow = out udp " RES6 " port 53\nallow = out tcp " RES6 " port 53\n"
	"allow = out udp " ROGUE4 " port 53\n"
	"allow = out udp @web port 443\nallow = out udp @cdn port 8443\n";

static struct {
	struct cgp_enforce *skel;
	int prog[2], outer[3], dsets, dnsq, dnsaddr, dnsstat, dnsnames, dnssrv, dnsconf;
	__u16 web, cdn;
	struct cgp_config cfg;
	struct cgp_compiled comp;
} E;

static uint64_t boot_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

/* Verdict of one run (1 pass, 0 drop, <0 error); *ns: its duration. */
static int run(int dir, const uint8_t *pkt, size_t len, __u32 repeat, __u32 *ns)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = (__u32)len, .repeat = repeat);
	int err = bpf_prog_test_run_opts(E.prog[dir], &o);

	if (ns)
		*ns = o.duration;
	return err ? -errno : (int)o.retval;
}

/* ------------------------------------------------------------------ state */

static void name_entry(const char *pattern, unsigned line, __u16 s1, __u16 s2)
{
	struct cgp_dnsname_key k = { .slot = 1 };
	struct cgp_dnsname_val v = { .line = line, .sets = { s1, s2 } };
	const char *p = pattern[0] == '*' ? pattern + 1 : pattern;	/* "*.x" -> ".x" */
	size_t n = strlen(p);

	for (size_t i = 0; i < n; i++)
		k.name[i] = (__u8)p[n - 1 - i];
	if (pattern[0] != '*')
		n++;				/* exact: the 0 byte is part of the prefix */
	k.prefixlen = CGP_DNSNAME_FIXED_BITS + 8 * (__u32)n;
	bpf_map_update_elem(E.dnsnames, &k, &v, BPF_ANY);
}

static void trust(const char *addr)
{
	struct cgp_dnssrv_key k = { .slot = 1 };
	__u8 one = 1;

	addr16(addr, k.addr);
	bpf_map_update_elem(E.dnssrv, &k, &one, BPF_ANY);
}

static int setup(char *why, size_t n)
{
	const struct cgp_compiled *cp = &E.comp;
	int *outer = E.outer;
	__u32 slot = 1, zero = 0;
	struct cgp_state st = { .gen = 1, .layout = CGP_LAYOUT_VERSION };

	E.skel = cgp_enforce__open();
	if (!E.skel) {
		snprintf(why, n, "cannot open the BPF skeleton: %s", strerror(errno));
		return -1;
	}
	E.skel->rodata->test_slot = 1;
	if (cgp_enforce__load(E.skel)) {
		snprintf(why, n, "cannot load the BPF object: %s", strerror(errno));
		return -1;
	}
	E.prog[0] = bpf_program__fd(E.skel->progs.cgp_ingress);
	E.prog[1] = bpf_program__fd(E.skel->progs.cgp_egress);
	E.dsets = bpf_map__fd(E.skel->maps.cgp_dsets);
	E.dnsq = bpf_map__fd(E.skel->maps.cgp_dnsq);
	E.dnsaddr = bpf_map__fd(E.skel->maps.cgp_dnsaddr);
	E.dnsstat = bpf_map__fd(E.skel->maps.cgp_dnsstat);
	E.dnsnames = bpf_map__fd(E.skel->maps.cgp_dnsnames);
	E.dnssrv = bpf_map__fd(E.skel->maps.cgp_dnssrv);
	E.dnsconf = bpf_map__fd(E.skel->maps.cgp_dnsconf);
	outer[0] = bpf_map__fd(E.skel->maps.cgp_rules);
	outer[1] = bpf_map__fd(E.skel->maps.cgp_ports);
	outer[2] = bpf_map__fd(E.skel->maps.cgp_pols);
	if (cgp_config_parse("dns.ini", policy_text, sizeof(policy_text) - 1, &E.cfg, why, n) ||
	    cgp_compile(E.cfg.file, &E.cfg.policies[0], 1, &E.comp, why, n))
		return -1;
	E.web = E.cfg.sets[0].id;
	E.cdn = E.cfg.sets[1].id;
	E.comp.pol.flags |= CGP_POL_F_DNS;
	if (cgp_install_set(outer, &cp, &slot, 1, 1) ||
	    bpf_map_update_elem(bpf_map__fd(E.skel->maps.cgp_state), &zero, &st, BPF_ANY)) {
		snprintf(why, n, "cannot install the policy: %s", strerror(errno));
		return -1;
	}
	name_entry("api.example.com", 100, E.web, 0);
	name_entry("*.cdn.example.net", 200, E.cdn, 0);
	name_entry("multi.example.org", 300, E.web, E.cdn);
	trust(RES4);
	trust(RES6);
	return 0;
}

static void map_clear(int fd, size_t ksize)
{
	uint8_t k[512];

	(void)ksize;
	while (!bpf_map_get_next_key(fd, NULL, k))
		bpf_map_delete_elem(fd, k);
}

static struct cgp_dns_stats *stats_buf(void)
{
	static struct cgp_dns_stats *v;

	if (!v)
		v = calloc((size_t)libbpf_num_possible_cpus(), sizeof(*v));
	return v;
}

/* Fresh learned state: no members, names of addresses, queries, counters. */
static void reset(void)
{
	__u32 slot = 1;

	map_clear(E.dsets, sizeof(struct cgp_lpm_key));
	map_clear(E.dnsq, sizeof(struct cgp_dnsq_key));
	map_clear(E.dnsaddr, sizeof(struct cgp_dnsaddr_key));
	memset(stats_buf(), 0, (size_t)libbpf_num_possible_cpus() * sizeof(struct cgp_dns_stats));
	bpf_map_update_elem(E.dnsstat, &slot, stats_buf(), BPF_ANY);
	E.skel->bss->test_dns_cookie = 0x5eed;
}

static struct cgp_dns_stats stats(void)
{
	struct cgp_dns_stats s = { 0 }, *v = stats_buf();
	__u32 slot = 1;

	if (bpf_map_lookup_elem(E.dnsstat, &slot, v))
		return s;
	for (int i = 0; i < libbpf_num_possible_cpus(); i++) {
		s.queries += v[i].queries;
		s.answers += v[i].answers;
		s.matched += v[i].matched;
		s.learned += v[i].learned;
		s.malformed += v[i].malformed;
		s.untrusted += v[i].untrusted;
		s.unsolicited += v[i].unsolicited;
		s.truncated += v[i].truncated;
	}
	return s;
}

/* Members of cgp_dsets: address + set id + value, at most `cap`. */
struct member {
	__u16 set;
	uint8_t addr[16];
	struct cgp_dset_val v;
};

static int members(struct member *out, int cap)
{
	struct cgp_lpm_key k, *prev = NULL;
	int n = 0;

	while (!bpf_map_get_next_key(E.dsets, prev, &k)) {
		if (n < cap) {
			out[n].set = k.slot;
			memcpy(out[n].addr, k.addr, 16);
			bpf_map_lookup_elem(E.dsets, &k, &out[n].v);
		}
		n++;
		prev = &k;
	}
	return n;
}

static const struct member *find(const struct member *m, int n, __u16 set, const char *addr)
{
	uint8_t a[16];

	addr16(addr, a);
	for (int i = 0; i < n; i++)
		if (m[i].set == set && !memcmp(m[i].addr, a, 16))
			return &m[i];
	return NULL;
}

/* ---------------------------------------------------------------- traffic */

struct q {
	const char *server;
	bool tcp;
	unsigned id, qtype;
	const char *name;
};

static __u32 ask_ns;		/* duration of the last ask() */

/* The query of q from the client socket, through cgp_egress: its verdict. */
static int ask(const struct q *q)
{
	struct msg m;
	uint8_t pkt[4400];
	size_t len;

	m_hdr(&m, q->id, F_QUERY, 1, 0);
	m_question(&m, q->name, q->qtype);
	m_u8(&m, 0);				/* EDNS OPT in the additional section */
	m_u16(&m, 41);
	m_u16(&m, 1232);
	m_u32(&m, 0);
	m_u16(&m, 0);
	m.b[11] = 1;
	len = dns_pkt(pkt, sizeof(pkt), 1, q->server, q->tcp, &m, -1);
	return run(1, pkt, len, 1, &ask_ns);
}

/* An answer message to q (header + question), records to be appended. */
static void answer_start(struct msg *m, const struct q *q, unsigned ancount)
{
	m_hdr(m, q->id, F_ANSWER, 1, ancount);
	m_question(m, q->name, q->qtype);
}

/* The answer m from `from` (q->server when NULL) to the client, through cgp_ingress. */
static int deliver(const struct q *q, const char *from, const struct msg *m, int prefix, __u32 *ns)
{
	uint8_t pkt[4400];
	size_t len = dns_pkt(pkt, sizeof(pkt), 0, from ? from : q->server, q->tcp, m, prefix);

	return run(0, pkt, len, 1, ns);
}

/* Egress UDP to addr:port (through the set rules): the verdict. */
static int reach(const char *addr, unsigned port)
{
	uint8_t pkt[128], a[16], *ip = pkt + 14, *l4;
	bool v6 = strchr(addr, ':') != NULL;

	memset(pkt, 0, sizeof(pkt));
	addr16(addr, a);
	put16(pkt + 12, v6 ? 0x86dd : 0x0800);
	if (v6) {
		ip[0] = 0x60;
		put16(ip + 4, 16);
		ip[6] = 17;
		addr16(LOCAL6, ip + 8);
		memcpy(ip + 24, a, 16);
		l4 = ip + 40;
	} else {
		uint8_t l[16];

		ip[0] = 0x45;
		put16(ip + 2, 36);
		ip[9] = 17;
		addr16(LOCAL4, l);
		memcpy(ip + 12, l + 12, 4);
		memcpy(ip + 16, a + 12, 4);
		l4 = ip + 20;
	}
	put16(l4, CPORT);
	put16(l4 + 2, port);
	put16(l4 + 4, 16);
	return run(1, pkt, (size_t)(l4 + 16 - pkt), 1, NULL);
}

#include "tests/bpf/test_dns_cases.h"
#include "tests/bpf/test_dns_fuzz.h"

/* ------------------------------------------------------------------- main */

static int quiet_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG || !getenv("CGP_TEST_VERBOSE"))
		return 0;
	return vfprintf(stderr, fmt, ap);
}

int main(void)
{
	char why[512];

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (geteuid() != 0) {
		printf("SKIP: test_dns needs root (BPF_PROG_TEST_RUN of cgroup_skb programs)\n");
		return SKIP_RC;
	}
	libbpf_set_print(quiet_libbpf);
	if (setup(why, sizeof(why))) {
		printf("SKIP: %s\n", why);
		return SKIP_RC;
	}
	reset();
	if (reach("10.1.1.1", 443) < 0) {
		printf("SKIP: BPF_PROG_TEST_RUN of cgroup_skb fails here\n");
		return SKIP_RC;
	}
	run_verifier_counts();
	run_basic();
	run_tcp();
	run_chain();
	run_names();
	run_refused();
	run_expiry();
	run_corpus();
	run_fuzz();
	run_cost();
	cgp_enforce__destroy(E.skel);
	cgp_compiled_free(&E.comp);
	cgp_config_free(&E.cfg);
	return tap_done();
}
