// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_enforce_ports.c - BPF_PROG_TEST_RUN cross-check of the kernel's verdict
 * against the reference evaluator (cgp_compiled_eval) on policies with
 * thousands of distinct ports: the random-port shape of bench/genrules.py
 * (one random port per rule, random CIDRs) at 10,000 and 100,000 rules with
 * wide ranges, portless rules and ICMP types beside, and a policy with every
 * port 1..65535 in a rule of its own. Random packets (fixed seed), half of
 * them aimed at a rule's address and port. Also prints the cost of one
 * judged datagram (test_run overhead included) and the inner maps' memory.
 *
 * UDP and ICMP only: under test_run a TCP packet carries a dummy socket in
 * TCP_CLOSE, judged both ways (test_enforce covers that). Egress packets go
 * to service ports other than OPORT and ingress packets come from OPORT, so
 * the datagram flow cache (a reply to an allowed flow passes) never turns a
 * probe into a reply.
 *
 * Output: tests/tap.h. Exit 0, 1 on failures, 77 when it cannot run here.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "agent/state.h"
#include "policy/policy.h"
#include "enforce.skel.h"
#include "tests/tap.h"

#define SKIP_RC	77
#define OPORT	40000		/* source port of ingress probes; never an egress service port */

struct env {
	struct cgp_enforce *skel;
	int prog[CGP_DIR_MAX];
	int outer[3];		/* rules, ports, pols */
	int state;
	__u64 gen;
};

static uint64_t rs = 0x9e3779b97f4a7c15ull;

static uint32_t rn(uint32_t n)
{
	rs ^= rs << 13;
	rs ^= rs >> 7;
	rs ^= rs << 17;
	return (uint32_t)(rs >> 11) % n;
}

static void put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Ethernet + IPv4 + UDP (port: destination, the service port) or ICMP (port: type << 8 | code). */
static size_t build(uint8_t *b, int dir, uint32_t remote, bool icmp, unsigned port)
{
	uint32_t local = 0xc6120001;	/* 198.18.0.1: matches no rule */
	uint32_t src = dir == CGP_DIR_IN ? remote : local, dst = dir == CGP_DIR_IN ? local : remote;
	uint8_t *ip = b + 14, *l4 = ip + 20;
	size_t len = 14 + 20 + 8 + 16;

	memset(b, 0, len);
	memset(b, 0x02, 12);
	put16(b + 12, 0x0800);
	ip[0] = 0x45;
	put16(ip + 2, (unsigned)len - 14);
	ip[8] = 64;
	ip[9] = icmp ? 1 : 17;
	for (int i = 0; i < 4; i++) {
		ip[12 + i] = (uint8_t)(src >> (24 - 8 * i));
		ip[16 + i] = (uint8_t)(dst >> (24 - 8 * i));
	}
	if (icmp) {
		put16(l4, port);
		put16(l4 + 4, 0x4242);
	} else {
		put16(l4, dir == CGP_DIR_IN ? OPORT : 40001 + rn(20000));
		put16(l4 + 2, port);
		put16(l4 + 4, 8 + 16);
	}
	return len;
}

static int run(const struct env *e, int dir, const uint8_t *pkt, size_t len, __u32 repeat,
	       __u32 *ns)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = (__u32)len,
		    .repeat = repeat);

	if (bpf_prog_test_run_opts(e->prog[dir], &o))
		return -errno;
	if (ns)
		*ns = o.duration;
	return (int)o.retval;
}

static int install(struct env *e, const struct cgp_compiled *c)
{
	struct cgp_state st = { .gen = e->gen + 1, .layout = CGP_LAYOUT_VERSION };
	__u32 slot = 1, zero = 0;
	int err = cgp_install_set(e->outer, &c, &slot, 1, (__u32)(st.gen & 1));

	if (err)
		return err;
	if (bpf_map_update_elem(e->state, &zero, &st, BPF_ANY))
		return -errno;
	e->gen = st.gen;
	return 0;
}

/* memlock of the live generation's inner map of outer map i (fdinfo), bytes; 0 when unknown. */
static unsigned long long inner_memlock(const struct env *e, int i)
{
	__u32 set = (__u32)(e->gen & 1), id;
	unsigned long long v = 0;
	char path[64], line[128];
	FILE *f;
	int fd;

	if (bpf_map_lookup_elem(e->outer[i], &set, &id) || (fd = bpf_map_get_fd_by_id(id)) < 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "memlock: %llu", &v) == 1)
			break;
	if (f)
		fclose(f);
	close(fd);
	return v;
}

/* Random-port rules as bench/genrules.py --random-ports writes them, and a few of every other kind. */
static char *gen_policy(unsigned n, bool every_port, bool wide, size_t *len)
{
	size_t cap = (size_t)n * 64 + 4096, off = 0;
	char *s = malloc(cap);

#define P(...) (off += (size_t)snprintf(s + off, cap - off, __VA_ARGS__))
	if (!s)
		return NULL;
	P("[t]\ncgroup = /cgp-test\ndefault_ingress = deny\ndefault_egress = %s\n",
	  every_port ? "allow" : "deny");
	P("deny = out udp 10.1.0.0/16 port 1000-1999\nallow = both udp 10.2.0.0/16 port 1-39999\n");
	P("allow = out icmp any type echo-request\ndeny = out icmp 10.0.0.0/8 type 3 code 4\n");
	P("allow = out icmp 10.3.0.0/16\nallow = in udp 10.4.0.0/16\n");
	for (unsigned i = 0; i < n && off + 128 < cap; i++) {
		unsigned port = every_port ? 1 + i : 1 + rn(65535);

		if (port == OPORT)
			port++;
		if (every_port)
			P("%s = out udp 10.%u.%u.0/24 port %u\n", i % 7 ? "allow" : "deny", port >> 8,
			  port & 0xff, port);
		else if (wide && rn(200) == 0)
			P("allow = out udp 10.%u.%u.0/24 port %u-%u\n", rn(256), rn(256), port,
			  port + rn(65536 - port));
		else
			P("%s = %s udp 10.%u.%u.%u/%u port %u\n", rn(5) ? "allow" : "deny",
			  rn(4) ? "out" : "in", rn(256), rn(256), rn(256), 20 + rn(13), port);
	}
#undef P
	*len = off;
	return s;
}

/* Half the probes at a rule (address inside its prefix, one of its ports), half anywhere in 10/8. */
static void probe(const struct cgp_policy *p, int *dir, uint32_t *ip, bool *icmp, unsigned *port)
{
	const struct cgp_rule *r = &p->rules[rn(p->nrules)];

	*icmp = rn(10) == 0;
	*dir = *icmp ? CGP_DIR_OUT : (int)rn(2);
	*ip = 0x0a000000 | rn(1u << 24);
	if (rn(2) && !r->set) {
		uint32_t net = (uint32_t)r->addr[12] << 24 | r->addr[13] << 16 | r->addr[14] << 8 |
			       r->addr[15];
		unsigned host = 128 - r->plen;

		*ip = net | (host >= 32 ? rn(1u << 31) : host ? rn(1u << host) : 0);
		if (r->dirs != CGP_DIR_BIT(CGP_DIR_IN) + CGP_DIR_BIT(CGP_DIR_OUT))
			*dir = r->dirs & CGP_DIR_BIT(CGP_DIR_IN) ? CGP_DIR_IN : CGP_DIR_OUT;
	}
	if (*icmp) {
		static const unsigned types[] = { 0x0800, 0x0803, 0x0304, 0x0305, 0x0000, 0x0b00 };

		*port = types[rn(6)];
	} else if (rn(2) && r->nports) {
		*port = r->ports[0].lo + rn(r->ports[0].hi - r->ports[0].lo + 1u);
	} else {
		*port = 1 + rn(65535);
	}
	if (!*icmp && *port == OPORT)
		*port = OPORT + 1;
}

/* Install the policy, then nprobe random packets: kernel verdict against cgp_compiled_eval. */
static void cross_check(struct env *e, const char *name, unsigned n, bool every_port, bool wide,
			unsigned nprobe)
{
	struct cgp_config cfg;
	struct cgp_compiled cc;
	char err[512] = "", *text;
	uint8_t *seen = calloc(65536, 1), pkt[128];
	unsigned bad = 0, runerr = 0, nports = 0, denied = 0, ncls = 0;
	size_t len;
	int r;

	text = gen_policy(n, every_port, wide, &len);
	r = text && seen ? cgp_config_parse("test.ini", text, len, &cfg, err, sizeof(err)) : -1;
	free(text);
	if (!r && cgp_compile("test.ini", &cfg.policies[0], 1, &cc, err, sizeof(err))) {
		cgp_config_free(&cfg);
		r = -1;
	}
	if (!r && (r = install(e, &cc)) != 0) {
		snprintf(err, sizeof(err), "install: %s", strerror(-r));
		cgp_compiled_free(&cc);
		cgp_config_free(&cfg);
	}
	if (r) {
		report(false, name, "%s", err);
		free(seen);
		return;
	}
	for (unsigned k = 0; k < nprobe; k++) {
		int dir, want, got;
		uint32_t ip;
		bool icmp;
		unsigned port;
		uint8_t a[16] = { [10] = 0xff, [11] = 0xff };

		probe(&cfg.policies[0], &dir, &ip, &icmp, &port);
		for (int i = 0; i < 4; i++)
			a[12 + i] = (uint8_t)(ip >> (24 - 8 * i));
		want = cgp_compiled_eval(&cc, (uint8_t)dir, icmp ? CGP_PROTO_ICMP : CGP_PROTO_UDP, a, port);
		got = run(e, dir, pkt, build(pkt, dir, ip, icmp, port), 1, NULL);
		if (got < 0) {
			runerr++;
			continue;
		}
		if (got != (want == CGP_ALLOW) && bad++ < 3)
			printf("# %s: %s %s %u.%u.%u.%u port %#x: kernel %d, reference %d\n", name,
			       dir == CGP_DIR_IN ? "in" : "out", icmp ? "icmp" : "udp", ip >> 24,
			       (ip >> 16) & 0xff, (ip >> 8) & 0xff, ip & 0xff, port, got, want);
		nports += !icmp && !seen[port];
		seen[port] |= !icmp;
		denied += got == 0;
	}
	report(!bad && !runerr, name, "%u of %u probes differ, %u runs failed", bad, nprobe, runerr);
	for (size_t i = 0; i < cc.nportmaps; i++)
		if (cc.portmaps[i].key.dir == CGP_DIR_OUT && cc.portmaps[i].key.proto == CGP_PROTO_UDP)
			ncls = cc.portmaps[i].map.ncls;
	printf("# %s: %u port classes (out udp), %zu rule trie entries, %u probes at %u distinct "
	       "ports, %u denied; inner maps, memlock: rules %llu KiB, ports %llu KiB\n", name,
	       ncls, cc.nlpm, nprobe, nports,
	       denied, inner_memlock(e, 0) >> 10, inner_memlock(e, 1) >> 10);
	cgp_compiled_free(&cc);
	cgp_config_free(&cfg);
	free(seen);
}

/* ns per run of a datagram judged by a port rule, at the current policy (2e5 runs). */
static void cost(const struct env *e, const char *what)
{
	uint8_t pkt[128];
	__u32 ns = 0;
	size_t len = build(pkt, CGP_DIR_OUT, 0x0a020304, false, 5000);	/* 10.2/16 port 1-39999 */

	if (run(e, CGP_DIR_OUT, pkt, len, 200000, &ns) >= 0)
		printf("# cost, %s: %u ns per judged datagram (test_run)\n", what, ns);
}

static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_DEBUG || !getenv("CGP_TEST_VERBOSE") ? 0 : vfprintf(stderr, fmt, ap);
}

int main(void)
{
	struct env e = { 0 };
	uint8_t pkt[128];
	int err;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (geteuid() != 0) {
		printf("SKIP: test_enforce_ports needs root (BPF_PROG_TEST_RUN)\n");
		return SKIP_RC;
	}
	libbpf_set_print(quiet);
	e.skel = cgp_enforce__open();
	if (!e.skel) {
		printf("SKIP: cannot open the BPF skeleton\n");
		return SKIP_RC;
	}
	e.skel->rodata->test_slot = 1;
	err = cgp_enforce__load(e.skel);
	if (err) {
		printf("SKIP: cannot load the BPF object: %s\n", strerror(-err));
		cgp_enforce__destroy(e.skel);
		return SKIP_RC;
	}
	e.prog[CGP_DIR_IN] = bpf_program__fd(e.skel->progs.cgp_ingress);
	e.prog[CGP_DIR_OUT] = bpf_program__fd(e.skel->progs.cgp_egress);
	e.outer[0] = bpf_map__fd(e.skel->maps.cgp_rules);
	e.outer[1] = bpf_map__fd(e.skel->maps.cgp_ports);
	e.outer[2] = bpf_map__fd(e.skel->maps.cgp_pols);
	e.state = bpf_map__fd(e.skel->maps.cgp_state);
	if (run(&e, CGP_DIR_OUT, pkt, build(pkt, CGP_DIR_OUT, 0x0a010101, false, 53), 1, NULL) < 0) {
		printf("SKIP: BPF_PROG_TEST_RUN of cgroup_skb fails here\n");
		cgp_enforce__destroy(e.skel);
		return SKIP_RC;
	}
	cross_check(&e, "kernel = reference: 10,000 random-port rules", 10000, false, false, 6000);
	cost(&e, "10,000 random-port rules");
	cross_check(&e, "kernel = reference: 10,000 random-port rules, 1 in 200 a wide range",
		    10000, false, true, 4000);
	cross_check(&e, "kernel = reference: every port 1..65535 a rule", 65535, true, false, 3000);
	cross_check(&e, "kernel = reference: 100,000 random-port rules", 100000 - 6, false, false,
		    1500);
	cost(&e, "100,000 random-port rules");
	cgp_enforce__destroy(e.skel);
	return tap_done();
}
