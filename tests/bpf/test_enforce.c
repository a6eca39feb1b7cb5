// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_enforce.c - BPF_PROG_TEST_RUN of the real cgp_ingress/cgp_egress
 * programs on crafted packets.
 *
 * Every policy goes the real way: INI text -> cgp_config_parse ->
 * cgp_compile -> cgp_install_set into the inactive set of the skeleton's
 * outer maps -> one write of cgp_state.gen switches to it. The programs run
 * with test_slot = 1 (test_run gives them a fresh, zeroed cgroup storage).
 *
 * Packet conventions (see parse()/svc_port() in bpf/enforce.bpf.c):
 *   ingress: remote = source address, service port = destination port;
 *   egress:  remote = destination address, service port = destination port.
 * The local address (LOCAL4/LOCAL6) and the other port (40000 unless a case
 * says otherwise) never match a rule, so a program that mixed up source and
 * destination would fail the tables.
 *
 * TCP under test_run: the skb carries a dummy full socket in TCP_CLOSE, so
 * verdict_tcp() treats the connection as predating the policy and allows if
 * either the `in` (local port) or the `out` (remote port) reading allows.
 * The rule logic itself is checked with UDP, ICMP and other protocols.
 *
 * Three oracles: the hand-written tables; cgp_compiled_eval (the compiler's
 * reference evaluator); spec_eval() below, which applies the precedence of
 * docs/POLICY.md to the parsed rules with nothing of the compiler's
 * encoding. Random policies (fixed seed) are probed with all three kinds of
 * packets.
 *
 * Output: tests/tap.h ("ok N - ..." / "not ok N - ...: detail", then
 * "P passed, F failed"). Exit 0, 1 on failures, 77 when it cannot run here
 * (not root, no BPF).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "agent/cgroup.h"
#include "agent/sets.h"
#include "agent/state.h"
#include "policy/policy.h"
#include "enforce.skel.h"
#include "tests/tap.h"

/* Steering: the BPF limit and the parser's must agree. */
_Static_assert(CGP_RP_MAX_BACKENDS == CGP_MAX_BACKENDS, "bpf/reuseport.h and policy/policy.h");

#define SKIP_RC 77

#define LOCAL4 "198.18.0.1"
#define LOCAL6 "fd00:ffff::1"
#define OPORT  40000	/* the non-service port of a packet, matches no rule */

enum { P_TCP, P_UDP, P_ICMP, P_GRE, P_SCTP };

/* Packet shape variations. */
#define X_HBH		(1u << 0)	/* IPv6: hop-by-hop options (8 bytes) */
#define X_HBH16_DST	(1u << 1)	/* IPv6: hop-by-hop (16 bytes) + destination options (8) */
#define X_FRAG0		(1u << 2)	/* IPv6: fragment header, offset 0 (first fragment) */
#define X_V4OPT		(1u << 3)	/* IPv4: 4 bytes of options (ihl 6) */
#define X_TRUNC		(1u << 4)	/* cut 2 bytes into the L4 header */
#define X_FRAGN		(1u << 5)	/* non-first fragment (offset 1480): no L4 header */
#define X_ICMPT		(1u << 6)	/* ICMP: svc is type << 8 | code (else an echo request) */

/* ------------------------------------------------------------------ packets */

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static const char *proto_name(int proto)
{
	static const char *const n[] = { "tcp", "udp", "icmp", "gre", "sctp" };

	return n[proto];
}

/* addr as 16 bytes, IPv4 as ::ffff:a.b.c.d; returns 4 or 6, 0 if invalid. */
static int addr16(const char *s, uint8_t a[16])
{
	memset(a, 0, 16);
	if (inet_pton(AF_INET6, s, a) == 1)
		return 6;
	if (inet_pton(AF_INET, s, a + 12) == 1) {
		a[10] = a[11] = 0xff;
		return 4;
	}
	return 0;
}

static bool is_v4mapped(const uint8_t a[16])
{
	static const uint8_t pfx[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	return !memcmp(a, pfx, 12);
}

/*
 * Ethernet + IP (+ extension headers) + L4 header for a packet of direction
 * `dir` whose remote is `raddr` (16 bytes, v4-mapped for IPv4). Service port
 * svc is the destination port, oport the source port.
 */
static size_t build_pkt(uint8_t *buf, size_t cap, int dir, const uint8_t raddr[16], int proto,
			uint16_t svc, uint16_t oport, unsigned x)
{
	bool v6 = !is_v4mapped(raddr);
	uint8_t local[16], *ip, *l4, l4proto, tcpflags = 0x02;	/* SYN */
	const uint8_t *src, *dst;
	size_t iplen, extlen = 0, l4len, len;

	memset(buf, 0, cap);
	addr16(v6 ? LOCAL6 : LOCAL4, local);
	src = dir == CGP_DIR_IN ? raddr : local;
	dst = dir == CGP_DIR_IN ? local : raddr;

	switch (proto) {
	case P_TCP:  l4proto = 6;  l4len = 20; break;
	case P_UDP:  l4proto = 17; l4len = 8 + 16; break;
	case P_ICMP: l4proto = v6 ? 58 : 1; l4len = 8 + 16; break;
	case P_GRE:  l4proto = 47; l4len = 4 + 20; break;
	default:     l4proto = 132; l4len = 12 + 16; break;
	}

	/* Ethernet */
	memset(buf, 0x02, 12);
	put16(buf + 12, v6 ? 0x86DD : 0x0800);
	ip = buf + 14;

	if (!v6) {
		iplen = (x & X_V4OPT) ? 24 : 20;
		ip[0] = (uint8_t)(0x40 | (iplen / 4));
		ip[8] = 64;
		ip[9] = l4proto;
		memcpy(ip + 12, src + 12, 4);
		memcpy(ip + 16, dst + 12, 4);
		if (x & X_V4OPT)
			ip[20] = 1, ip[21] = 1, ip[22] = 1, ip[23] = 0;	/* NOP NOP NOP EOL */
		if (x & X_FRAGN)
			put16(ip + 6, 1480 / 8);
		l4 = ip + iplen;
	} else {
		uint8_t *e = ip + 40;
		uint8_t first = l4proto;

		iplen = 40;
		ip[0] = 0x60;
		ip[7] = 64;
		memcpy(ip + 8, src, 16);
		memcpy(ip + 24, dst, 16);
		if (x & X_HBH) {
			first = 0;
			e[0] = l4proto;
			e[1] = 0;
			e[2] = 1, e[3] = 4;		/* PadN, 4 bytes of padding */
			memset(e + 4, 0xaa, 4);
			extlen = 8;
		} else if (x & X_HBH16_DST) {
			first = 0;
			e[0] = 60;			/* next: destination options */
			e[1] = 1;			/* 16 bytes */
			e[2] = 1, e[3] = 12;		/* PadN, 12 bytes of 0xaa (not 0: */
			memset(e + 4, 0xaa, 12);	/* a parser off by 8 must not luck out) */
			e[16] = l4proto;
			e[17] = 0;
			e[18] = 1, e[19] = 4;
			extlen = 24;
		} else if (x & (X_FRAG0 | X_FRAGN)) {
			first = 44;
			e[0] = l4proto;
			if (x & X_FRAGN)
				put16(e + 2, 1480);	/* offset 185 * 8, M=0 */
			else
				e[3] = 1;		/* offset 0, M=1 */
			e[4] = 0x12, e[5] = 0x34, e[6] = 0x56, e[7] = 0x78;
			extlen = 8;
		}
		ip[6] = first;
		l4 = e + extlen;
	}

	switch (proto) {
	case P_TCP:
		put16(l4, oport);
		put16(l4 + 2, svc);
		l4[4] = 0x11;			/* seq */
		l4[12] = 5 << 4;		/* doff */
		l4[13] = tcpflags;
		put16(l4 + 14, 65535);		/* window */
		break;
	case P_UDP:
		put16(l4, oport);
		put16(l4 + 2, svc);
		put16(l4 + 4, (uint16_t)l4len);
		memset(l4 + 8, 'u', l4len - 8);
		break;
	case P_ICMP:
		l4[0] = v6 ? 128 : 8;		/* echo request */
		if (x & X_ICMPT)
			l4[0] = (uint8_t)(svc >> 8), l4[1] = (uint8_t)svc;
		put16(l4 + 4, 0x4242);		/* id */
		put16(l4 + 6, 1);		/* seq */
		memset(l4 + 8, 'i', l4len - 8);
		break;
	case P_GRE:
		put16(l4 + 2, 0x0800);
		memset(l4 + 4, 'g', l4len - 4);
		break;
	default:	/* SCTP common header: ports like UDP, ignored by the policy */
		put16(l4, oport);
		put16(l4 + 2, svc);
		memset(l4 + 12, 's', l4len - 12);
		break;
	}
	if (x & X_TRUNC)
		l4len = 2;
	len = (size_t)(l4 - buf) + l4len;
	if (!v6) {
		put16(ip + 2, (uint16_t)(len - 14));
	} else {
		put16(ip + 4, (uint16_t)(len - 14 - 40));
	}
	return len;
}

/* ------------------------------------------------------------------ harness */

struct env {
	struct cgp_enforce *skel;
	int prog_fd[CGP_DIR_MAX];
	int outer[3];		/* rules, ports, pols */
	int state_fd;
	__u64 gen;
};

static int env_open(struct env *e, __u32 test_slot, char *why, size_t whylen)
{
	int err;

	memset(e, 0, sizeof(*e));
	e->skel = cgp_enforce__open();
	if (!e->skel) {
		snprintf(why, whylen, "cannot open the BPF skeleton: %s", strerror(errno));
		return -1;
	}
	e->skel->rodata->test_slot = test_slot;
	err = cgp_enforce__load(e->skel);
	if (err) {
		snprintf(why, whylen, "cannot load the BPF object: %s", strerror(-err));
		cgp_enforce__destroy(e->skel);
		e->skel = NULL;
		return -1;
	}
	e->prog_fd[CGP_DIR_IN] = bpf_program__fd(e->skel->progs.cgp_ingress);
	e->prog_fd[CGP_DIR_OUT] = bpf_program__fd(e->skel->progs.cgp_egress);
	e->outer[0] = bpf_map__fd(e->skel->maps.cgp_rules);
	e->outer[1] = bpf_map__fd(e->skel->maps.cgp_ports);
	e->outer[2] = bpf_map__fd(e->skel->maps.cgp_pols);
	e->state_fd = bpf_map__fd(e->skel->maps.cgp_state);
	return 0;
}

static void env_close(struct env *e)
{
	if (e->skel)
		cgp_enforce__destroy(e->skel);
	e->skel = NULL;
}

static int set_gen(struct env *e, __u64 gen)
{
	struct cgp_state st = { .gen = gen, .layout = CGP_LAYOUT_VERSION };
	__u32 zero = 0;

	if (bpf_map_update_elem(e->state_fd, &zero, &st, BPF_ANY))
		return -errno;
	e->gen = gen;
	return 0;
}

/* Program verdict: 1 pass, 0 drop, -errno when the run itself failed. */
static int run_pkt(const struct env *e, int dir, const uint8_t *pkt, size_t len)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = (__u32)len, .repeat = 1);
	int err;

	err = bpf_prog_test_run_opts(e->prog_fd[dir], &o);
	if (err)
		return err < 0 ? err : -EINVAL;
	return (int)o.retval;
}

struct policy {
	struct cgp_config cfg;
	struct cgp_compiled comp;
	bool ok;
};

/* INI body (without cgroup =) -> compiled for `slot`. */
static int policy_build(struct policy *p, const char *body, uint16_t slot, char *err, size_t errlen)
{
	char *text;
	size_t len;
	int r;

	memset(p, 0, sizeof(*p));
	len = strlen(body) + 64;
	text = malloc(len);
	if (!text) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	snprintf(text, len, "[t]\ncgroup = /cgp-test\n%s", body);
	r = cgp_config_parse("test.ini", text, strlen(text), &p->cfg, err, errlen);
	free(text);
	if (r)
		return -1;
	if (cgp_compile(p->cfg.file, &p->cfg.policies[0], slot, &p->comp, err, errlen)) {
		cgp_config_free(&p->cfg);
		return -1;
	}
	p->ok = true;
	return 0;
}

static void policy_free(struct policy *p)
{
	if (!p->ok)
		return;
	cgp_compiled_free(&p->comp);
	cgp_config_free(&p->cfg);
	p->ok = false;
}

/* Install into the inactive set, then switch: gen + 1. */
static int install_and_switch(struct env *e, const struct cgp_compiled *const *comps,
			      const __u32 *slots, unsigned n)
{
	__u64 gen = e->gen + 1;
	int err;

	err = cgp_install_set(e->outer, comps, slots, n, (__u32)(gen & 1));
	if (err)
		return err;
	return set_gen(e, gen);
}

/* ------------------------------------------------------------------ tables */

struct tcase {
	const char *desc;
	int dir;
	int proto;
	const char *raddr;
	uint16_t svc;		/* destination port */
	uint16_t oport;		/* source port; 0 = OPORT */
	unsigned x;
	int expect;
};

struct tpolicy {
	const char *name;
	const char *body;
	const struct tcase *cases;
};

#define IN  CGP_DIR_IN
#define OUT CGP_DIR_OUT
#define END { NULL, 0, 0, NULL, 0, 0, 0, 0 }

static const struct tcase c_def_in_deny[] = {
	{ "default ingress deny: udp v4 in", IN, P_UDP, "10.1.2.3", 53, 0, 0, 0 },
	{ "default ingress deny: icmpv6 in", IN, P_ICMP, "2001:db8::1", 0, 0, 0, 0 },
	{ "default ingress deny: gre v4 in", IN, P_GRE, "10.1.2.3", 0, 0, 0, 0 },
	{ "default ingress deny: udp v6 in", IN, P_UDP, "2001:db8::1", 53, 0, 0, 0 },
	{ "default egress allow: udp v4 out", OUT, P_UDP, "10.1.2.3", 53, 0, 0, 1 },
	{ "default egress allow: sctp v6 out", OUT, P_SCTP, "2001:db8::1", 53, 0, 0, 1 },
	{ "default egress allow: icmp v4 out", OUT, P_ICMP, "10.1.2.3", 0, 0, 0, 1 },
	END
};

static const struct tcase c_def_out_deny[] = {
	{ "default ingress allow: udp v4 in", IN, P_UDP, "10.1.2.3", 53, 0, 0, 1 },
	{ "default ingress allow: icmpv6 in", IN, P_ICMP, "2001:db8::1", 0, 0, 0, 1 },
	{ "default egress deny: udp v4 out", OUT, P_UDP, "10.1.2.3", 53, 0, 0, 0 },
	{ "default egress deny: udp v6 out", OUT, P_UDP, "2001:db8::1", 53, 0, 0, 0 },
	{ "default egress deny: gre v6 out", OUT, P_GRE, "2001:db8::1", 0, 0, 0, 0 },
	{ "default egress deny: icmp v4 out", OUT, P_ICMP, "10.1.2.3", 0, 0, 0, 0 },
	END
};

static const struct tcase c_lpm4[] = {
	{ "lpm v4: /8 deny", IN, P_UDP, "10.9.9.9", 53, 0, 0, 0 },
	{ "lpm v4: /16 allow inside /8 deny", IN, P_UDP, "10.1.9.9", 53, 0, 0, 1 },
	{ "lpm v4: /24 deny inside /16 allow", IN, P_UDP, "10.1.2.9", 53, 0, 0, 0 },
	{ "lpm v4: /32 allow inside /24 deny", IN, P_UDP, "10.1.2.3", 53, 0, 0, 1 },
	{ "lpm v4: /32 neighbour .2 still /24", IN, P_UDP, "10.1.2.2", 53, 0, 0, 0 },
	{ "lpm v4: /25 deny upper half of /24", IN, P_UDP, "10.1.3.200", 53, 0, 0, 0 },
	{ "lpm v4: lower half of /24 allow", IN, P_UDP, "10.1.3.127", 53, 0, 0, 1 },
	{ "lpm v4: /12 last address", IN, P_UDP, "172.31.255.255", 53, 0, 0, 0 },
	{ "lpm v4: just past /12", IN, P_UDP, "172.32.0.0", 53, 0, 0, 1 },
	{ "lpm v4: just before /8", IN, P_UDP, "9.255.255.255", 53, 0, 0, 1 },
	{ "lpm v4: in /32 allow does not apply out (egress uses the destination)", OUT, P_UDP, "10.1.2.3", 53, 0, 0, 0 },
	{ "lpm v4: out /16 allow", OUT, P_UDP, "10.9.9.9", 53, 0, 0, 1 },
	{ "lpm v4: ingress uses the source, not the local address", IN, P_UDP, "11.0.0.1", 53, 0, 0, 1 },
	END
};

static const struct tcase c_lpm6[] = {
	{ "lpm v6: /32 allow", IN, P_UDP, "2001:db8:9::1", 53, 0, 0, 1 },
	{ "lpm v6: /48 deny inside /32", IN, P_UDP, "2001:db8:1:9::1", 53, 0, 0, 0 },
	{ "lpm v6: /64 allow inside /48", IN, P_UDP, "2001:db8:1:2::1", 53, 0, 0, 1 },
	{ "lpm v6: /128 deny inside /64", IN, P_UDP, "2001:db8:1:2::5", 53, 0, 0, 0 },
	{ "lpm v6: /128 neighbour", IN, P_UDP, "2001:db8:1:2::4", 53, 0, 0, 1 },
	{ "lpm v6: /65 deny (upper half of /64)", IN, P_UDP, "2001:db8:1:2:8000::1", 53, 0, 0, 0 },
	{ "lpm v6: below /65 (lower half of /64)", IN, P_UDP, "2001:db8:1:2:7fff:ffff:ffff:ffff", 53, 0, 0, 1 },
	{ "lpm v6: outside /32: default deny", IN, P_UDP, "2001:db9::1", 53, 0, 0, 0 },
	{ "lpm v6: just before /32: default deny", IN, P_UDP, "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", 53, 0, 0, 0 },
	{ "lpm v6: out /128 deny", OUT, P_UDP, "2001:db8:1:2::5", 53, 0, 0, 0 },
	{ "lpm v6: out: the in-only /48 deny does not apply", OUT, P_UDP, "2001:db8:1:2::6", 53, 0, 0, 1 },
	END
};

static const struct tcase c_prec[] = {
	{ "equal prefix: port deny beats portless allow (port 53)", IN, P_UDP, "10.5.5.5", 53, 0, 0, 0 },
	{ "equal prefix: portless allow for other ports (54)", IN, P_UDP, "10.5.5.5", 54, 0, 0, 1 },
	{ "equal prefix: port allow beats portless deny (53)", IN, P_UDP, "172.16.1.1", 53, 0, 0, 1 },
	{ "equal prefix: portless deny for other ports (52)", IN, P_UDP, "172.16.1.1", 52, 0, 0, 0 },
	{ "longer portless allow beats shorter port deny", IN, P_UDP, "10.2.0.1", 53, 0, 0, 1 },
	{ "longer port rule beats shorter portless", IN, P_UDP, "10.3.0.1", 8080, 0, 0, 0 },
	{ "longer port rule: other port falls to shorter portless", IN, P_UDP, "10.3.0.1", 8081, 0, 0, 1 },
	{ "tie, port rules: deny 150 wins over allow 100-200", IN, P_UDP, "192.168.1.1", 150, 0, 0, 0 },
	{ "tie, port rules: 149 allowed", IN, P_UDP, "192.168.1.1", 149, 0, 0, 1 },
	{ "tie, port rules: 151 allowed", IN, P_UDP, "192.168.1.1", 151, 0, 0, 1 },
	{ "tie, port rules: 300 deny only", IN, P_UDP, "192.168.1.1", 300, 0, 0, 0 },
	{ "tie, port rules: 100 allowed", IN, P_UDP, "192.168.1.1", 100, 0, 0, 1 },
	{ "tie, portless: allow then deny -> deny", IN, P_UDP, "192.0.2.77", 9, 0, 0, 0 },
	{ "tie, portless: deny then allow -> deny", IN, P_UDP, "198.51.100.77", 9, 0, 0, 0 },
	{ "tie, v6 /128: deny wins", IN, P_ICMP, "2001:db8::77", 0, 0, 0, 0 },
	{ "no match: default allow", IN, P_UDP, "203.0.113.1", 9, 0, 0, 1 },
	END
};

static const struct tcase c_ports[] = {
	{ "port list: 52 not listed", IN, P_UDP, "10.0.0.1", 52, 0, 0, 0 },
	{ "port list: 53 single", IN, P_UDP, "10.0.0.1", 53, 0, 0, 1 },
	{ "port list: 54 not listed", IN, P_UDP, "10.0.0.1", 54, 0, 0, 0 },
	{ "port range 100-199: lo-1", IN, P_UDP, "10.0.0.1", 99, 0, 0, 0 },
	{ "port range 100-199: lo", IN, P_UDP, "10.0.0.1", 100, 0, 0, 1 },
	{ "port range 100-199: middle", IN, P_UDP, "10.0.0.1", 150, 0, 0, 1 },
	{ "port range 100-199: hi", IN, P_UDP, "10.0.0.1", 199, 0, 0, 1 },
	{ "port range 100-199: hi+1", IN, P_UDP, "10.0.0.1", 200, 0, 0, 0 },
	{ "port range 1000-1000: 999", IN, P_UDP, "10.0.0.1", 999, 0, 0, 0 },
	{ "port range 1000-1000: 1000", IN, P_UDP, "10.0.0.1", 1000, 0, 0, 1 },
	{ "port range 1000-1000: 1001", IN, P_UDP, "10.0.0.1", 1001, 0, 0, 0 },
	{ "port 65535: 65534", IN, P_UDP, "10.0.0.1", 65534, 0, 0, 0 },
	{ "port 65535: 65535", IN, P_UDP, "10.0.0.1", 65535, 0, 0, 1 },
	{ "port list on any address: v6 53", IN, P_UDP, "2001:db8::1", 53, 0, 0, 1 },
	{ "in uses the destination port, not the source (sport 53)", IN, P_UDP, "10.0.0.1", 40001, 53, 0, 0 },
	{ "in: out rule ports do not apply (5)", IN, P_UDP, "10.0.0.1", 5, 0, 0, 0 },
	{ "out range 1-10: port 1", OUT, P_UDP, "10.0.0.1", 1, 0, 0, 1 },
	{ "out range 1-10: port 10", OUT, P_UDP, "10.0.0.1", 10, 0, 0, 1 },
	{ "out range 1-10: port 11", OUT, P_UDP, "10.0.0.1", 11, 0, 0, 0 },
	{ "out range 500-600: 499", OUT, P_UDP, "10.0.0.1", 499, 0, 0, 0 },
	{ "out range 500-600: 500", OUT, P_UDP, "10.0.0.1", 500, 0, 0, 1 },
	{ "out range 500-600: 549", OUT, P_UDP, "10.0.0.1", 549, 0, 0, 1 },
	{ "out deny 550 inside allow 500-600 (tie)", OUT, P_UDP, "10.0.0.1", 550, 0, 0, 0 },
	{ "out range 500-600: 551", OUT, P_UDP, "10.0.0.1", 551, 0, 0, 1 },
	{ "out range 500-600: 600", OUT, P_UDP, "10.0.0.1", 600, 0, 0, 1 },
	{ "out range 500-600: 601", OUT, P_UDP, "10.0.0.1", 601, 0, 0, 0 },
	{ "out uses the destination port, not the source (sport 500)", OUT, P_UDP, "10.0.0.1", 40001, 500, 0, 0 },
	{ "udp port 53 rule does not match tcp 53 (in and out readings deny)", IN, P_TCP, "10.0.0.1", 53, 0, 0, 0 },
	{ "tcp port rule 8443 in", IN, P_TCP, "10.0.0.1", 8443, 0, 0, 1 },
	{ "tcp port rule does not match udp 8443", IN, P_UDP, "10.0.0.1", 8443, 0, 0, 0 },
	END
};

static const struct tcase c_family[] = {
	{ "any proto rule: gre from 10/8", IN, P_GRE, "10.1.1.1", 0, 0, 0, 1 },
	{ "any proto rule: sctp from 10/8", IN, P_SCTP, "10.1.1.1", 80, 0, 0, 1 },
	{ "any proto rule: udp from 10/8", IN, P_UDP, "10.1.1.1", 9, 0, 0, 1 },
	{ "any proto rule: icmp from 10/8", IN, P_ICMP, "10.1.1.1", 0, 0, 0, 1 },
	{ "any proto rule: gre outside 10/8", IN, P_GRE, "11.1.1.1", 0, 0, 0, 0 },
	{ "0.0.0.0/0 port 53: any IPv4", IN, P_UDP, "11.1.1.1", 53, 0, 0, 1 },
	{ "0.0.0.0/0 port 53: 255.255.255.255", IN, P_UDP, "255.255.255.255", 53, 0, 0, 1 },
	{ "0.0.0.0/0 port 53: not IPv6", IN, P_UDP, "2001:db9::1", 53, 0, 0, 0 },
	{ "0.0.0.0/0 port 53: not IPv6 ::", IN, P_UDP, "::2", 53, 0, 0, 0 },
	{ "v4 rule 10/8 vs v6 a01:101::1", IN, P_UDP, "a01:101::1", 9, 0, 0, 0 },
	{ "v4 rule 10/8 vs v6 2001:db9::a01:101", IN, P_UDP, "2001:db9::a01:101", 9, 0, 0, 0 },
	{ "v6 rule 2001:db8::/32 allows v6", IN, P_UDP, "2001:db8:5::1", 9, 0, 0, 1 },
	{ "v6 rule 2001:db8::/32 vs v4 32.1.13.184", IN, P_UDP, "32.1.13.184", 9, 0, 0, 0 },
	{ "icmp any: ICMP v4", IN, P_ICMP, "11.1.1.1", 0, 0, 0, 1 },
	{ "icmp any: ICMPv6", IN, P_ICMP, "2001:db9::1", 0, 0, 0, 1 },
	{ "icmp rule does not match gre v6", IN, P_GRE, "2001:db9::1", 0, 0, 0, 0 },
	{ "icmp rule does not match udp v6", IN, P_UDP, "2001:db9::1", 9, 0, 0, 0 },
	{ "out any any: gre v6", OUT, P_GRE, "2001:db9::1", 0, 0, 0, 1 },
	{ "out any any: udp v4", OUT, P_UDP, "11.1.1.1", 9, 0, 0, 1 },
	{ "out any any: sctp v4", OUT, P_SCTP, "11.1.1.1", 9, 0, 0, 1 },
	{ "out any any: deny v6 /64 udp", OUT, P_UDP, "2001:db8:bad::1", 9, 0, 0, 0 },
	{ "out any any: deny v6 /64 icmpv6", OUT, P_ICMP, "2001:db8:bad::1", 0, 0, 0, 0 },
	{ "out any any: v6 deny does not hit v4", OUT, P_ICMP, "32.1.13.184", 0, 0, 0, 1 },
	END
};

static const struct tcase c_other[] = {
	{ "other proto: gre v4 vs tcp/udp/icmp any", IN, P_GRE, "10.1.1.1", 0, 0, 0, 0 },
	{ "other proto: sctp v6 vs tcp/udp/icmp any", IN, P_SCTP, "2001:db8::1", 53, 0, 0, 0 },
	{ "other proto: udp v4 allowed", IN, P_UDP, "10.1.1.1", 53, 0, 0, 1 },
	{ "other proto: icmp v4 allowed", IN, P_ICMP, "10.1.1.1", 0, 0, 0, 1 },
	{ "other proto: out any 2001:db8::/32 gre", OUT, P_GRE, "2001:db8::1", 0, 0, 0, 1 },
	{ "other proto: out any 2001:db8::/32 sctp", OUT, P_SCTP, "2001:db8::1", 0, 0, 0, 1 },
	{ "other proto: out outside /32 sctp", OUT, P_SCTP, "2001:db9::1", 0, 0, 0, 0 },
	{ "other proto: out any 2001:db8::/32 udp", OUT, P_UDP, "2001:db8::1", 9, 0, 0, 1 },
	{ "other proto: out udp port rule does not cover gre", OUT, P_GRE, "10.1.1.1", 0, 0, 0, 0 },
	END
};

static const struct tcase c_ext[] = {
	{ "v6 hop-by-hop + udp 53", IN, P_UDP, "2001:db9::1", 53, 0, X_HBH, 1 },
	{ "v6 hop-by-hop + udp 54", IN, P_UDP, "2001:db9::1", 54, 0, X_HBH, 0 },
	{ "v6 hop-by-hop(16) + dstopts + udp 53", IN, P_UDP, "2001:db9::1", 53, 0, X_HBH16_DST, 1 },
	{ "v6 hop-by-hop(16) + dstopts + udp 54", IN, P_UDP, "2001:db9::1", 54, 0, X_HBH16_DST, 0 },
	{ "v6 fragment header (first) + udp 53", IN, P_UDP, "2001:db9::1", 53, 0, X_FRAG0, 1 },
	{ "v6 hop-by-hop + icmpv6 from 2001:db8::/32", IN, P_ICMP, "2001:db8::1", 0, 0, X_HBH, 1 },
	{ "v6 hop-by-hop + icmpv6 from outside", IN, P_ICMP, "2001:db9::1", 0, 0, X_HBH, 0 },
	{ "v6 hop-by-hop + udp out 53 (out rule)", OUT, P_UDP, "2001:db9::1", 53, 0, X_HBH, 1 },
	{ "v6 hop-by-hop + udp out 54", OUT, P_UDP, "2001:db9::1", 54, 0, X_HBH, 0 },
	{ "v4 options (ihl 6) + udp 53", IN, P_UDP, "10.1.1.1", 53, 0, X_V4OPT, 1 },
	{ "v4 options (ihl 6) + udp 54", IN, P_UDP, "10.1.1.1", 54, 0, X_V4OPT, 0 },
	{ "truncated udp header from allowed 10.9/16: default deny", IN, P_UDP, "10.9.0.1", 53, 0, X_TRUNC, 0 },
	{ "complete udp from allowed 10.9/16", IN, P_UDP, "10.9.0.1", 54, 0, 0, 1 },
	{ "v4 non-first fragment: no ports, port rule 53 cannot match", IN, P_UDP, "10.1.1.1", 53, 0, X_FRAGN, 0 },
	{ "v4 non-first fragment: portless rule 10.9/16 matches", IN, P_UDP, "10.9.0.1", 53, 0, X_FRAGN, 1 },
	{ "v6 non-first fragment: no ports, port rule 53 cannot match", IN, P_UDP, "2001:db9::1", 53, 0, X_FRAGN, 0 },
	{ "v6 non-first fragment icmpv6 from 2001:db8::/32", IN, P_ICMP, "2001:db8::1", 0, 0, X_FRAGN, 1 },
	END
};

static const struct tcase c_tcp[] = {
	{ "tcp in :80 (in allows)", IN, P_TCP, "1.2.3.4", 80, 40000, 0, 1 },
	{ "tcp in :81 from 1.2.3.4 (in and out deny)", IN, P_TCP, "1.2.3.4", 81, 40000, 0, 0 },
	{ "tcp in :5555 sport 443 from 10/8 (in denies, out allows)", IN, P_TCP, "10.1.1.1", 5555, 443, 0, 1 },
	{ "tcp in :80 from 10.66/16 (in deny /16 port 80, out reading denies)", IN, P_TCP, "10.66.0.1", 80, 40000, 0, 0 },
	{ "tcp in :80 sport 443 from 10.66/16 (in denies, out allows)", IN, P_TCP, "10.66.0.1", 80, 443, 0, 1 },
	{ "tcp out :443 to 10/8 (out allows)", OUT, P_TCP, "10.1.1.1", 443, 40000, 0, 1 },
	{ "tcp out :443 to 1.2.3.4 (out denies, in denies)", OUT, P_TCP, "1.2.3.4", 443, 40000, 0, 0 },
	{ "tcp out :5555 sport 80 to 1.2.3.4 (out denies, in allows)", OUT, P_TCP, "1.2.3.4", 5555, 80, 0, 1 },
	{ "tcp v6 in :80 (in allows)", IN, P_TCP, "2001:db8::1", 80, 40000, 0, 1 },
	{ "tcp v6 in :22 (both deny)", IN, P_TCP, "2001:db8::1", 22, 40000, 0, 0 },
	{ "tcp v6 out :22 to 2001:db8::/32 (out allows)", OUT, P_TCP, "2001:db8::1", 22, 40000, 0, 1 },
	{ "tcp v6 in :5555 sport 22 from 2001:db8::/32 (in denies, out allows)", IN, P_TCP, "2001:db8::1", 5555, 22, 0, 1 },
	{ "tcp v6 hop-by-hop in :80", IN, P_TCP, "2001:db9::1", 80, 40000, X_HBH, 1 },
	{ "udp is per packet: in :443 sport 443 from 10/8 denied", IN, P_UDP, "10.1.1.1", 5555, 443, 0, 0 },
	END
};

static const struct tcase c_both[] = {
	{ "both icmp 10/8: in", IN, P_ICMP, "10.1.1.1", 0, 0, 0, 1 },
	{ "both icmp 10/8: out", OUT, P_ICMP, "10.1.1.1", 0, 0, 0, 1 },
	{ "both icmp 10/8: out 11.1.1.1 denied", OUT, P_ICMP, "11.1.1.1", 0, 0, 0, 0 },
	{ "both udp v6 7000-7001: in 7001", IN, P_UDP, "2001:db8::1", 7001, 0, 0, 1 },
	{ "both udp v6 7000-7001: out 7000", OUT, P_UDP, "2001:db8::1", 7000, 0, 0, 1 },
	{ "both udp v6 7000-7001: out 7002", OUT, P_UDP, "2001:db8::1", 7002, 0, 0, 0 },
	{ "both udp v6 7000-7001: in 6999", IN, P_UDP, "2001:db8::1", 6999, 0, 0, 0 },
	END
};

#define T(t, c) ((uint16_t)((t) << 8 | (c)))
static const struct tcase c_icmpt[] = {
	{ "echo-request v4 in", IN, P_ICMP, "11.1.1.1", T(8, 0), 0, X_ICMPT, 1 },
	{ "echo-request v6 in (type 128)", IN, P_ICMP, "2001:db9::1", T(128, 0), 0, X_ICMPT, 1 },
	{ "echo request without X_ICMPT (8 / 128)", IN, P_ICMP, "2001:db9::1", 0, 0, 0, 1 },
	{ "v6 type 8 is not echo-request", IN, P_ICMP, "2001:db9::1", T(8, 0), 0, X_ICMPT, 0 },
	{ "v4 type 128 is not echo-request", IN, P_ICMP, "11.1.1.1", T(128, 0), 0, X_ICMPT, 0 },
	{ "echo-reply v4 in: default deny", IN, P_ICMP, "11.1.1.1", T(0, 0), 0, X_ICMPT, 0 },
	{ "10/8 deny echo-request", IN, P_ICMP, "10.2.0.1", T(8, 0), 0, X_ICMPT, 0 },
	{ "10.1/16 typeless beats /8 typed", IN, P_ICMP, "10.1.2.3", T(8, 0), 0, X_ICMPT, 1 },
	{ "fragmentation-needed v4", IN, P_ICMP, "11.1.1.1", T(3, 4), 0, X_ICMPT, 1 },
	{ "type 3 code 3 v4 denied", IN, P_ICMP, "11.1.1.1", T(3, 3), 0, X_ICMPT, 0 },
	{ "v6 type 3 code 4 denied", IN, P_ICMP, "2001:db9::1", T(3, 4), 0, X_ICMPT, 0 },
	{ "packet-too-big v6", IN, P_ICMP, "2001:db9::1", T(2, 0), 0, X_ICMPT, 1 },
	{ "v4 type 2 denied", IN, P_ICMP, "11.1.1.1", T(2, 0), 0, X_ICMPT, 0 },
	{ "v6 neighbour solicitation from fe80::/10", IN, P_ICMP, "fe80::1", T(135, 0), 0, X_ICMPT, 1 },
	{ "v6 neighbour advertisement from fe80::/10 denied", IN, P_ICMP, "fe80::1", T(136, 0), 0, X_ICMPT, 0 },
	{ "v6 non-first fragment: no type, typeless deny /0", IN, P_ICMP, "2001:db9::1", T(128, 0), 0, X_ICMPT | X_FRAGN, 0 },
	{ "v4 non-first fragment from 10.1/16: typeless allow", IN, P_ICMP, "10.1.2.3", T(8, 0), 0, X_ICMPT | X_FRAGN, 1 },
	{ "truncated v6 header still has type/code", IN, P_ICMP, "2001:db9::1", T(128, 0), 0, X_ICMPT | X_TRUNC, 1 },
	{ "out: type 3 code 9 v4 (numeric, both families)", OUT, P_ICMP, "11.1.1.1", T(3, 9), 0, X_ICMPT, 1 },
	{ "out: type 3 code 9 v6", OUT, P_ICMP, "2001:db9::1", T(3, 9), 0, X_ICMPT, 1 },
	{ "out: type 3 code 8 v6 denied", OUT, P_ICMP, "2001:db9::1", T(3, 8), 0, X_ICMPT, 0 },
	{ "out: udp unaffected", OUT, P_UDP, "11.1.1.1", 53, 0, 0, 0 },
	END
};
#undef T

static const struct tpolicy tables[] = {
	{ "defaults in deny / out allow",
	  "default_ingress = deny\n"
	  "default_egress = allow\n",
	  c_def_in_deny },
	{ "defaults in allow / out deny",
	  "default_ingress = allow\n"
	  "default_egress = deny\n",
	  c_def_out_deny },
	{ "longest prefix v4",
	  "default_ingress = allow\n"
	  "default_egress = deny\n"
	  "deny = in udp 10.0.0.0/8\n"
	  "allow = in udp 10.1.0.0/16\n"
	  "deny = in udp 10.1.2.0/24\n"
	  "allow = in udp 10.1.2.3\n"
	  "allow = in udp 10.1.3.0/24\n"
	  "deny = in udp 10.1.3.128/25\n"
	  "deny = in udp 172.16.0.0/12\n"
	  "allow = out udp 10.9.0.0/16\n"
	  "deny = in udp 198.18.0.0/16\n"
	  "allow = out udp 198.18.0.0/16\n",
	  c_lpm4 },
	{ "longest prefix v6",
	  "default_ingress = deny\n"
	  "default_egress = deny\n"
	  "allow = both udp 2001:db8::/32\n"
	  "deny = in udp 2001:db8:1::/48\n"
	  "allow = in udp 2001:db8:1:2::/64\n"
	  "deny = both udp 2001:db8:1:2::5/128\n"
	  "deny = in udp 2001:db8:1:2:8000::/65\n",
	  c_lpm6 },
	{ "precedence: prefix, ports, deny ties",
	  "default_ingress = allow\n"
	  "allow = in udp 10.0.0.0/8\n"
	  "deny = in udp 10.0.0.0/8 port 53\n"
	  "allow = in udp 10.2.0.0/16\n"
	  "deny = in udp 10.3.0.0/16 port 8080\n"
	  "deny = in udp 172.16.0.0/12\n"
	  "allow = in udp 172.16.0.0/12 port 53\n"
	  "allow = in udp 192.168.0.0/16 port 100-200\n"
	  "deny = in udp 192.168.0.0/16 port 150,300\n"
	  "allow = in udp 192.0.2.0/24\n"
	  "deny = in udp 192.0.2.0/24\n"
	  "deny = in udp 198.51.100.0/24\n"
	  "allow = in udp 198.51.100.0/24\n"
	  "deny = in icmp 2001:db8::77\n"
	  "allow = in icmp 2001:db8::77/128\n",
	  c_prec },
	{ "port ranges and lists",
	  "default_ingress = deny\n"
	  "default_egress = deny\n"
	  "allow = in udp any port 53,100-199,1000-1000,65535\n"
	  "allow = in tcp any port 8443\n"
	  "allow = out udp any port 1-10,500-600\n"
	  "deny = out udp any port 550\n",
	  c_ports },
	{ "any address / any proto / families",
	  "default_ingress = deny\n"
	  "default_egress = deny\n"
	  "allow = in any 10.0.0.0/8\n"
	  "allow = in udp 0.0.0.0/0 port 53\n"
	  "allow = in udp 2001:db8::/32\n"
	  "allow = in icmp any\n"
	  "allow = out any any\n"
	  "deny = out any 2001:db8:bad::/64\n",
	  c_family },
	{ "other protocols",
	  "default_ingress = deny\n"
	  "default_egress = deny\n"
	  "allow = in tcp any\n"
	  "allow = in udp any\n"
	  "allow = in icmp any\n"
	  "allow = out any 2001:db8::/32\n"
	  "allow = out udp any port 1-65535\n",
	  c_other },
	{ "extension headers and options",
	  "default_ingress = deny\n"
	  "default_egress = deny\n"
	  "allow = in udp any port 53\n"
	  "allow = out udp any port 53\n"
	  "allow = in icmp 2001:db8::/32\n"
	  "allow = in udp 10.9.0.0/16\n",
	  c_ext },
	{ "tcp under test_run (connection predates the policy)",
	  "default_ingress = deny\n"
	  "default_egress = deny\n"
	  "allow = in tcp any port 80\n"
	  "deny = in tcp 10.66.0.0/16 port 80\n"
	  "allow = out tcp 10.0.0.0/8 port 443\n"
	  "allow = out tcp 2001:db8::/32 port 22\n",
	  c_tcp },
	{ "both directions",
	  "default_ingress = deny\n"
	  "default_egress = deny\n"
	  "allow = both icmp 10.0.0.0/8\n"
	  "allow = both udp 2001:db8::/32 port 7000-7001\n",
	  c_both },
	{ "icmp types",
	  "default_ingress = deny\n"
	  "default_egress = deny\n"
	  "allow = in icmp any type echo-request\n"
	  "deny = in icmp 10.0.0.0/8 type echo-request\n"
	  "allow = in icmp 10.1.0.0/16\n"
	  "allow = in icmp any type fragmentation-needed\n"
	  "allow = in icmp any type packet-too-big\n"
	  "allow = in icmp fe80::/10 type neighbour-solicitation\n"
	  "deny = in icmp ::/0\n"
	  "allow = in icmp 0.0.0.0/0 type echo-request\n"
	  "allow = out icmp any type 3 code 9\n",
	  c_icmpt },
};

static int run_case(const struct env *e, const struct tcase *c, int *got)
{
	uint8_t pkt[256], ra[16];
	size_t len;

	if (!addr16(c->raddr, ra))
		return -EINVAL;
	len = build_pkt(pkt, sizeof(pkt), c->dir, ra, c->proto, c->svc, c->oport ? c->oport : OPORT, c->x);
	*got = run_pkt(e, c->dir, pkt, len);
	return *got < 0 ? *got : 0;
}

/*
 * The precedence of docs/POLICY.md applied to the parsed rules directly, with
 * nothing of the compiler's encoding (port classes, trie keys): longest
 * prefix, then a rule with ports beats one without, then deny; no match: the
 * direction's default. proto is CGP_PROTO_*; port 0 = no L4 port known.
 */
static int spec_eval(const struct cgp_policy *pol, int dir, int proto, const uint8_t a[16], uint32_t port)
{
	const struct cgp_rule *best = NULL;
	int fam = is_v4mapped(a) ? CGP_ICMP_V4 : CGP_ICMP_V6;

	for (unsigned i = 0; i < pol->nrules; i++) {
		const struct cgp_rule *r = &pol->rules[i];
		unsigned full = r->plen / 8, rem = r->plen % 8;
		/* an ICMP type: `port` is type << 8 | code of the packet's family */
		bool inports = r->has_type && port <= 0xffff && r->icmp_type[fam] == (int)(port >> 8) &&
			       (r->icmp_code[fam] < 0 || r->icmp_code[fam] == (int)(port & 0xff));
		bool hasp = r->nports || r->has_type, bestp = best && (best->nports || best->has_type);

		if (!(r->dirs & CGP_DIR_BIT(dir)))
			continue;
		if (r->proto != CGP_RULE_PROTO_ANY && r->proto != proto)
			continue;
		if (memcmp(a, r->addr, full))
			continue;
		if (rem && ((a[full] ^ r->addr[full]) & (uint8_t)(0xff00u >> rem)))
			continue;
		for (unsigned k = 0; k < r->nports; k++)
			inports |= port >= r->ports[k].lo && port <= r->ports[k].hi;
		if (hasp && !inports)
			continue;
		if (!best || r->plen > best->plen ||
		    (r->plen == best->plen && hasp && !bestp) ||
		    (r->plen == best->plen && hasp == bestp && r->verdict == CGP_DENY))
			best = r;
	}
	return best ? best->verdict : pol->def[dir];
}

static uint8_t cgp_proto_of(int proto)
{
	switch (proto) {
	case P_TCP:  return CGP_PROTO_TCP;
	case P_UDP:  return CGP_PROTO_UDP;
	case P_ICMP: return CGP_PROTO_ICMP;
	default:     return CGP_PROTO_OTHER;
	}
}

/*
 * What the program should answer for a packet, by both user-space
 * evaluators. TCP under test_run: allowed if the `in` reading (local port)
 * or the `out` reading (remote port) allows.
 */
static void probe_refs(const struct policy *p, int dir, int proto, const uint8_t a[16],
		       uint16_t dport, uint16_t sport, unsigned x, int *ref, int *spec)
{
	const struct cgp_policy *pol = &p->cfg.policies[0];
	uint8_t pr = cgp_proto_of(proto);
	bool ports = (pr == CGP_PROTO_TCP || pr == CGP_PROTO_UDP) && !(x & X_FRAGN);
	uint16_t lport = 0, rport = 0;

	if (ports) {
		lport = dir == CGP_DIR_IN ? dport : sport;
		rport = dir == CGP_DIR_IN ? sport : dport;
	}
	if (pr == CGP_PROTO_TCP) {
		*ref = cgp_compiled_eval(&p->comp, CGP_DIR_IN, pr, a, lport) |
		       cgp_compiled_eval(&p->comp, CGP_DIR_OUT, pr, a, rport);
		*spec = spec_eval(pol, CGP_DIR_IN, pr, a, lport) | spec_eval(pol, CGP_DIR_OUT, pr, a, rport);
	} else if (pr == CGP_PROTO_ICMP) {
		/* type << 8 | code: the packet's (an echo request without X_ICMPT); none in a fragment */
		uint32_t t = (x & X_FRAGN) ? CGP_NO_ICMP_TYPE : (x & X_ICMPT) ? dport :
			     is_v4mapped(a) ? 0x0800 : 0x8000;

		*ref = cgp_compiled_eval(&p->comp, (uint8_t)dir,
					 is_v4mapped(a) ? CGP_PROTO_ICMP : CGP_PORTPROTO_ICMP6, a, t);
		*spec = spec_eval(pol, dir, pr, a, t);
	} else {
		*ref = cgp_compiled_eval(&p->comp, (uint8_t)dir, pr, a, ports ? dport : 0);
		*spec = spec_eval(pol, dir, pr, a, ports ? dport : 0);
	}
}

static void case_refs(const struct policy *p, const struct tcase *c, int *ref, int *spec)
{
	uint8_t ra[16];

	addr16(c->raddr, ra);
	probe_refs(p, c->dir, c->proto, ra, c->svc, c->oport ? c->oport : OPORT, c->x, ref, spec);
}

static void check_case(const struct env *e, const char *pname, const struct tcase *c)
{
	int got = -1, err = run_case(e, c, &got);

	if (err) {
		report(false, tap_name("[%s] %s", pname, c->desc), "test run failed: %s", strerror(-err));
		return;
	}
	report(got == c->expect, tap_name("[%s] %s", pname, c->desc), "got %d expected %d (%s %s %s svc %u)",
	       got, c->expect, c->dir == IN ? "in" : "out", proto_name(c->proto), c->raddr, c->svc);
}

static void run_tables(struct env *e)
{
	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		const struct tpolicy *t = &tables[i];
		const struct cgp_compiled *cp;
		struct policy p;
		char err[512];
		__u32 slot = 1;
		unsigned nrefs = 0, badrefs = 0;
		char first[256] = "";
		int r;

		if (policy_build(&p, t->body, 1, err, sizeof(err))) {
			report(false, tap_name("[%s] parse/compile", t->name), "%s", err);
			continue;
		}
		cp = &p.comp;
		r = install_and_switch(e, &cp, &slot, 1);
		if (r) {
			report(false, tap_name("[%s] install", t->name), "%s", strerror(-r));
			policy_free(&p);
			continue;
		}
		for (const struct tcase *c = t->cases; c->desc; c++) {
			int ref, spec;

			check_case(e, t->name, c);
			/* The two user-space evaluators must give the table's answer too. */
			if (c->x & X_TRUNC)
				continue;
			case_refs(&p, c, &ref, &spec);
			nrefs++;
			if (ref != c->expect || spec != c->expect) {
				if (!badrefs++)
					snprintf(first, sizeof(first), "%s: cgp_compiled_eval %d, spec %d, expected %d",
						 c->desc, ref, spec, c->expect);
			}
		}
		report(!badrefs, tap_name("[%s] cgp_compiled_eval and the spec oracle agree with the table (%u cases)",
					  t->name, nrefs), "first mismatch: %s", first);
		policy_free(&p);
	}
}

/* ------------------------------------------------------------------ generations */

static int quick(const struct env *e, int dir, int proto, const char *raddr, uint16_t svc)
{
	struct tcase c = { "", dir, proto, raddr, svc, 0, 0, 0 };
	int got = -1;

	if (run_case(e, &c, &got))
		return -1;
	return got;
}

static void run_generations(struct env *e)
{
	struct policy deny_in, allow_in;
	const struct cgp_compiled *cp;
	char err[512];
	__u32 slot = 1;
	int r, v;

	/* Nothing installed at gen 0: the program must pass everything. */
	r = set_gen(e, 0);
	v = quick(e, IN, P_UDP, "10.1.1.1", 53);
	report(!r && v == 1, "gen 0, no rule set installed: in passes", "got %d", v);
	v = quick(e, OUT, P_ICMP, "2001:db8::1", 0);
	report(v == 1, "gen 0, no rule set installed: out passes", "got %d", v);

	if (policy_build(&deny_in, "default_ingress = deny\n", 1, err, sizeof(err))) {
		report(false, "generations: parse/compile", "%s", err);
		return;
	}
	if (policy_build(&allow_in, "default_ingress = deny\nallow = in udp 10.0.0.0/8\n", 1, err, sizeof(err))) {
		report(false, "generations: parse/compile", "%s", err);
		policy_free(&deny_in);
		return;
	}

	cp = &deny_in.comp;
	r = install_and_switch(e, &cp, &slot, 1);		/* gen 1, set 1 */
	v = quick(e, IN, P_UDP, "10.1.1.1", 53);
	report(!r && v == 0, tap_name("gen %llu (set 1) deny-all in: udp dropped", (unsigned long long)e->gen),
	       "got %d", v);

	/* Build the next set without switching: invisible. */
	cp = &allow_in.comp;
	r = cgp_install_set(e->outer, &cp, &slot, 1, (__u32)((e->gen + 1) & 1));
	v = quick(e, IN, P_UDP, "10.1.1.1", 53);
	report(!r && v == 0, "inactive set written, gen not switched: still dropped", "got %d", v);
	r = set_gen(e, e->gen + 1);				/* gen 2, set 0 */
	v = quick(e, IN, P_UDP, "10.1.1.1", 53);
	report(!r && v == 1, tap_name("switch to gen %llu (set 0): allowed", (unsigned long long)e->gen),
	       "got %d", v);
	v = quick(e, IN, P_UDP, "11.1.1.1", 53);
	report(v == 0, tap_name("gen %llu: outside the rule still dropped", (unsigned long long)e->gen),
	       "got %d", v);
	r = set_gen(e, e->gen + 1);				/* gen 3, set 1: deny-all again */
	v = quick(e, IN, P_UDP, "10.1.1.1", 53);
	report(!r && v == 0, tap_name("gen %llu selects set 1 again: dropped", (unsigned long long)e->gen),
	       "got %d", v);

	policy_free(&deny_in);
	policy_free(&allow_in);
}

/* ------------------------------------------------------------------ hit counters */

/* The per-CPU sum of one cgp_hits entry (0 when absent). */
static __u64 hits_sum(int fd, __u32 slot, __u32 parity, int dir, __u32 line)
{
	struct cgp_hit_key k = { .slot = (__u16)slot, .parity = (__u8)parity, .dir = (__u8)dir, .line = line };
	int ncpu = libbpf_num_possible_cpus();
	__u64 *pc = ncpu > 0 ? calloc(ncpu, sizeof(*pc)) : NULL, sum = 0;

	if (pc && !bpf_map_lookup_elem(fd, &k, pc))
		for (int c = 0; c < ncpu; c++)
			sum += pc[c];
	free(pc);
	return sum;
}

static __u64 hitsx_sum(int fd, __u32 parity)
{
	int ncpu = libbpf_num_possible_cpus();
	__u64 *pc = ncpu > 0 ? calloc(ncpu, sizeof(*pc)) : NULL, sum = 0;

	if (pc && !bpf_map_lookup_elem(fd, &parity, pc))
		for (int c = 0; c < ncpu; c++)
			sum += pc[c];
	free(pc);
	return sum;
}

/*
 * Every datagram decision counts once, under (slot, parity of the
 * generation, direction, line of the deciding rule; 0 = default); a full map
 * counts in cgp_hitsx and the packet is judged as ever.
 */
static void run_hits(struct env *e)
{
	/* lines: 1 [t], 2 cgroup, 3 default_ingress, 4 allow, 5 deny */
	static const char body[] = "default_ingress = deny\n"
				   "allow = in udp 10.0.0.0/8 port 53\n"
				   "deny = in udp 10.1.0.0/16\n";
	int hfd = bpf_map__fd(e->skel->maps.cgp_hits), xfd = bpf_map__fd(e->skel->maps.cgp_hitsx);
	const struct cgp_compiled *cp;
	struct policy pol;
	char err[512];
	__u32 slot = 1, par;
	int r, ok = 1;

	struct cgp_hit_key k;

	/* the earlier tests counted too: start empty, as apply does for its parity */
	while (!bpf_map_get_next_key(hfd, NULL, &k))
		if (bpf_map_delete_elem(hfd, &k))
			break;
	if (policy_build(&pol, body, 1, err, sizeof(err))) {
		report(false, "hits: parse/compile", "%s", err);
		return;
	}
	cp = &pol.comp;
	r = install_and_switch(e, &cp, &slot, 1);
	par = (__u32)(e->gen & 1);
	for (int i = 0; i < 3; i++)
		ok &= quick(e, IN, P_UDP, "10.2.2.2", 53) == 1;
	for (int i = 0; i < 2; i++)
		ok &= quick(e, IN, P_UDP, "10.1.1.1", 53) == 0;
	ok &= quick(e, IN, P_UDP, "11.0.0.1", 53) == 0;
	ok &= quick(e, OUT, P_UDP, "11.0.0.1", 53) == 1;
	report(!r && ok, "hits: verdicts of the counted packets", "install %d", r);
	report(hits_sum(hfd, 1, par, IN, 4) == 3, "hits: allow rule (line 4) counted 3 times", "got %llu",
	       (unsigned long long)hits_sum(hfd, 1, par, IN, 4));
	report(hits_sum(hfd, 1, par, IN, 5) == 2, "hits: longer-prefix deny (line 5) counted twice", "got %llu",
	       (unsigned long long)hits_sum(hfd, 1, par, IN, 5));
	report(hits_sum(hfd, 1, par, IN, 0) == 1 && hits_sum(hfd, 1, par, OUT, 0) == 1,
	       "hits: default in and default out counted once each", "in %llu out %llu",
	       (unsigned long long)hits_sum(hfd, 1, par, IN, 0), (unsigned long long)hits_sum(hfd, 1, par, OUT, 0));
	report(hits_sum(hfd, 1, par ^ 1, IN, 4) == 0, "hits: the other parity is untouched", "got %llu",
	       (unsigned long long)hits_sum(hfd, 1, par ^ 1, IN, 4));
	report(hitsx_sum(xfd, par) == 0, "hits: no overflow", "got %llu", (unsigned long long)hitsx_sum(xfd, par));
	policy_free(&pol);
}

/* cgp_hits with room for 2 entries: the third distinct decision overflows, the packet is still judged. */
static void run_hits_full(void)
{
	struct env e;
	const struct cgp_compiled *cp;
	struct policy pol;
	char err[512];
	__u32 slot = 1, par;
	int r, v1, v2, v3, xfd;

	memset(&e, 0, sizeof(e));
	e.skel = cgp_enforce__open();
	if (!e.skel) {
		report(false, "hits full: open", "%s", strerror(errno));
		return;
	}
	e.skel->rodata->test_slot = 1;
	bpf_map__set_max_entries(e.skel->maps.cgp_hits, 2);
	if (cgp_enforce__load(e.skel)) {
		report(false, "hits full: load", "%s", strerror(errno));
		cgp_enforce__destroy(e.skel);
		return;
	}
	e.prog_fd[CGP_DIR_IN] = bpf_program__fd(e.skel->progs.cgp_ingress);
	e.prog_fd[CGP_DIR_OUT] = bpf_program__fd(e.skel->progs.cgp_egress);
	e.outer[0] = bpf_map__fd(e.skel->maps.cgp_rules);
	e.outer[1] = bpf_map__fd(e.skel->maps.cgp_ports);
	e.outer[2] = bpf_map__fd(e.skel->maps.cgp_pols);
	e.state_fd = bpf_map__fd(e.skel->maps.cgp_state);
	xfd = bpf_map__fd(e.skel->maps.cgp_hitsx);
	if (policy_build(&pol, "default_ingress = deny\nallow = in udp 10.0.0.0/8\ndeny = in udp 10.1.0.0/16\n",
			 1, err, sizeof(err))) {
		report(false, "hits full: parse/compile", "%s", err);
		env_close(&e);
		return;
	}
	cp = &pol.comp;
	r = install_and_switch(&e, &cp, &slot, 1);
	par = (__u32)(e.gen & 1);
	v1 = quick(&e, IN, P_UDP, "10.2.2.2", 53);	/* line 4 */
	v2 = quick(&e, IN, P_UDP, "10.1.1.1", 53);	/* line 5 */
	v3 = quick(&e, IN, P_UDP, "11.0.0.1", 53);	/* default: no room */
	v3 |= quick(&e, IN, P_UDP, "11.0.0.1", 53) << 1;
	report(!r && v1 == 1 && v2 == 0 && v3 == 0, "hits full: packets judged as ever", "%d %d %d", v1, v2, v3);
	report(hitsx_sum(xfd, par) == 2, "hits full: the decisions without room counted as overflow",
	       "got %llu", (unsigned long long)hitsx_sum(xfd, par));
	policy_free(&pol);
	env_close(&e);
}

/* A program serving a slot that the live set does not configure passes everything. */
static void run_slots(void)
{
	struct policy p1, p2;
	const struct cgp_compiled *cps[2];
	__u32 slots[2] = { 1, 2 };
	struct env e2;
	char err[512];
	int r, v;

	if (env_open(&e2, 2, err, sizeof(err))) {
		report(false, "slot 2 skeleton", "%s", err);
		return;
	}
	if (policy_build(&p1, "default_ingress = deny\ndefault_egress = deny\n", 1, err, sizeof(err))) {
		report(false, "slots: parse/compile", "%s", err);
		env_close(&e2);
		return;
	}
	if (policy_build(&p2, "default_ingress = deny\ndefault_egress = deny\n", 2, err, sizeof(err))) {
		report(false, "slots: parse/compile", "%s", err);
		policy_free(&p1);
		env_close(&e2);
		return;
	}
	cps[0] = &p1.comp;
	cps[1] = &p2.comp;
	r = install_and_switch(&e2, cps, slots, 1);		/* only slot 1 */
	v = quick(&e2, IN, P_UDP, "10.1.1.1", 53);
	report(!r && v == 1, "test_slot 2, only slot 1 configured: in passes", "got %d", v);
	v = quick(&e2, OUT, P_TCP, "2001:db8::1", 443);
	report(v == 1, "test_slot 2, only slot 1 configured: out passes", "got %d", v);
	r = install_and_switch(&e2, cps, slots, 2);		/* slots 1 and 2 */
	v = quick(&e2, IN, P_UDP, "10.1.1.1", 53);
	report(!r && v == 0, "test_slot 2, slot 2 configured deny-all: in dropped", "got %d", v);
	v = quick(&e2, OUT, P_ICMP, "2001:db8::1", 0);
	report(v == 0, "test_slot 2, slot 2 configured deny-all: out dropped", "got %d", v);
	r = install_and_switch(&e2, cps, slots, 1);		/* slot 2 unconfigured again */
	v = quick(&e2, IN, P_UDP, "10.1.1.1", 53);
	report(!r && v == 1, "test_slot 2, slot 2 dropped from the live set: passes again",
	       "got %d", v);

	policy_free(&p1);
	policy_free(&p2);
	env_close(&e2);
}

/* ------------------------------------------------------------------ guards */

/*
 * The guard programs (cgp_guard_in/out) under BPF_PROG_TEST_RUN. test_run's
 * skb carries a dummy socket made in this process, so it belongs to this
 * process's cgroup: the test moves itself into a fresh cgroup, makes the
 * guard look at that cgroup's level (test_guard_slot/test_guard_level stand
 * for the guard's cgroup storage, which test_run gives zeroed) and checks
 * what bpf_skb_ancestor_cgroup_id() and the `known` map decide.
 */
static int write_str(const char *path, const char *s)
{
	FILE *f = fopen(path, "we");
	int err = 0;

	if (!f)
		return -errno;
	if (fputs(s, f) < 0)
		err = -EIO;
	if (fclose(f) && !err)
		err = -errno;
	return err;
}

static __u64 counter_sum(int fd, __u32 slot, int dir, int v)
{
	int ncpu = libbpf_num_possible_cpus();
	struct cgp_counters *pc = ncpu > 0 ? calloc(ncpu, sizeof(*pc)) : NULL;
	__u64 sum = 0;

	if (pc && !bpf_map_lookup_elem(fd, &slot, pc))
		for (int c = 0; c < ncpu; c++)
			sum += pc[c].packets[dir][v];
	free(pc);
	return sum;
}

struct genv {
	struct cgp_enforce *skel;
	struct env e;		/* prog_fd[] = the guard programs */
};

static int genv_open(struct genv *g, __u32 slot, __u32 level, __u32 tslot, char *why, size_t whylen)
{
	int err;

	memset(g, 0, sizeof(*g));
	g->skel = cgp_enforce__open();
	if (!g->skel) {
		snprintf(why, whylen, "cannot open the BPF skeleton: %s", strerror(errno));
		return -1;
	}
	g->skel->rodata->test_guard_slot = slot;
	g->skel->rodata->test_guard_level = level;
	g->skel->rodata->test_slot = tslot;
	err = cgp_enforce__load(g->skel);
	if (err) {
		snprintf(why, whylen, "cannot load the BPF object: %s", strerror(-err));
		cgp_enforce__destroy(g->skel);
		g->skel = NULL;
		return -1;
	}
	g->e.skel = g->skel;
	g->e.prog_fd[CGP_DIR_IN] = bpf_program__fd(g->skel->progs.cgp_guard_in);
	g->e.prog_fd[CGP_DIR_OUT] = bpf_program__fd(g->skel->progs.cgp_guard_out);
	g->e.outer[0] = bpf_map__fd(g->skel->maps.cgp_rules);
	g->e.outer[1] = bpf_map__fd(g->skel->maps.cgp_ports);
	g->e.outer[2] = bpf_map__fd(g->skel->maps.cgp_pols);
	g->e.state_fd = bpf_map__fd(g->skel->maps.cgp_state);
	return 0;
}

/* Average ns per run of prog over `repeat` runs of one packet. */
static double time_run(int prog_fd, const uint8_t *pkt, size_t len, __u32 repeat)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = (__u32)len, .repeat = repeat);

	if (bpf_prog_test_run_opts(prog_fd, &o))
		return -1;
	return o.duration;
}

static void run_guards(void)
{
	char mnt[CGP_PATH_MAX], top[CGP_PATH_MAX + 64], leaf[CGP_PATH_MAX + 80], orig[CGP_PATH_MAX + 64];
	char line[CGP_PATH_MAX + 16], why[512], pid[32];
	const struct cgp_compiled *cp;
	struct policy tpl;
	struct genv g[4];
	struct stat st;
	unsigned lvl = 0;
	__u64 top_id, leaf_id, d0;
	__u32 slot = 3;
	struct cgp_known kn = { .slot = 0 };
	FILE *f;
	int known_fd, v, r;

	if (cgp_cgroup2_mount(mnt, sizeof(mnt))) {
		printf("# guards: no cgroup2 mount, skipped\n");
		return;
	}
	/* Where this process is, to come back. */
	orig[0] = 0;
	f = fopen("/proc/self/cgroup", "re");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "0::", 3)) {
			line[strcspn(line, "\n")] = 0;
			snprintf(orig, sizeof(orig), "%s%s/cgroup.procs", mnt, line + 3);
		}
	if (f)
		fclose(f);
	snprintf(top, sizeof(top), "%s/cgp-test-guard-%d", mnt, (int)getpid());
	snprintf(leaf, sizeof(leaf), "%s/c", top);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	if (mkdir(top, 0755) || mkdir(leaf, 0755) || stat(leaf, &st) || cgp_cgroup_level(mnt, leaf, &lvl)) {
		report(false, "guards: make test cgroups", "under %s: %s", mnt, strerror(errno));
		rmdir(leaf);
		rmdir(top);
		return;
	}
	leaf_id = st.st_ino;
	stat(top, &st);
	top_id = st.st_ino;
	memset(g, 0, sizeof(g));
	if (policy_build(&tpl, "default_egress = deny\nallow = out udp 10.0.0.0/8\n", (uint16_t)slot, why,
			 sizeof(why))) {
		report(false, "guards: parse/compile", "%s", why);
		goto out;
	}
	/* g[0]: the leaf's level; g[1]: deeper than the process; g[2]: the top's level;
	 * g[3]: the policy programs as the template's slot (timing only) */
	if (genv_open(&g[0], slot, lvl, 0, why, sizeof(why)) || genv_open(&g[1], slot, lvl + 1, 0, why, sizeof(why)) ||
	    genv_open(&g[2], slot, lvl - 1, 0, why, sizeof(why)) || genv_open(&g[3], 0, 0, slot, why, sizeof(why))) {
		report(false, "guards: skeletons", "%s", why);
		goto out;
	}
	snprintf(line, sizeof(line), "%s/cgroup.procs", leaf);
	r = write_str(line, pid);
	if (r) {
		report(false, "guards: move into the test cgroup", "%s: %s", leaf, strerror(-r));
		goto out;
	}
	cp = &tpl.comp;
	for (int i = 0; i < 3; i++) {
		/* template slot not configured in the live set: as before apply */
		set_gen(&g[i].e, 1);
		v = quick(&g[i].e, OUT, P_UDP, "11.1.1.1", 53);
		report(v == 1, tap_name("guard level %u, template not configured yet: passes", i == 0 ? lvl : i == 1 ? lvl + 1 : lvl - 1),
		       "got %d", v);
		install_and_switch(&g[i].e, &cp, &slot, 1);
	}
	set_gen(&g[3].e, 1);
	install_and_switch(&g[3].e, &cp, &slot, 1);
	known_fd = bpf_map__fd(g[0].skel->maps.cgp_known);
	d0 = counter_sum(bpf_map__fd(g[0].skel->maps.cgp_gcnt), slot, CGP_DIR_OUT, CGP_DENY);
	v = quick(&g[0].e, OUT, P_UDP, "11.1.1.1", 53);
	report(v == 0, "unknown cgroup at the guard's level: template denies what the policy denies",
	       "got %d", v);
	v = quick(&g[0].e, OUT, P_UDP, "10.1.1.1", 53);
	report(v == 1, "unknown cgroup at the guard's level: template allows what the policy allows",
	       "got %d", v);
	v = quick(&g[0].e, IN, P_UDP, "11.1.1.1", 53);
	report(v == 1, "unknown cgroup: template's own default for ingress (allow)", "got %d", v);
	report(counter_sum(bpf_map__fd(g[0].skel->maps.cgp_gcnt), slot, CGP_DIR_OUT, CGP_DENY) == d0 + 1,
	       "template denies counted in cgp_gcnt[template slot]", "counter unchanged");
	r = bpf_map_update_elem(known_fd, &leaf_id, &kn, BPF_ANY);
	v = quick(&g[0].e, OUT, P_UDP, "11.1.1.1", 53);
	report(!r && v == 1, "cgroup in known (decided): the guard passes", "got %d", v);
	bpf_map_delete_elem(known_fd, &leaf_id);
	v = quick(&g[0].e, OUT, P_UDP, "11.1.1.1", 53);
	report(v == 0, "removed from known: judged by the template again", "got %d", v);
	v = quick(&g[1].e, OUT, P_UDP, "11.1.1.1", 53);
	report(v == 1, "socket above the guard's level (ancestor id 0): passes", "got %d", v);
	v = quick(&g[2].e, OUT, P_UDP, "11.1.1.1", 53);
	report(v == 0, "guard one level up: the socket's ancestor there is unknown: template",
	       "got %d", v);
	r = bpf_map_update_elem(bpf_map__fd(g[2].skel->maps.cgp_known), &top_id, &kn, BPF_ANY);
	v = quick(&g[2].e, OUT, P_UDP, "11.1.1.1", 53);
	report(!r && v == 1, "guard one level up, that ancestor known: passes", "got %d", v);

	/* Cost: a registered cgroup (known) pays storage + helper + hash lookup. */
	{
		uint8_t pkt[256], a[16];
		size_t len;
		double known_ns, tpl_ns, above_ns, reg_ns;

		addr16("11.1.1.1", a);
		len = build_pkt(pkt, sizeof(pkt), OUT, a, P_UDP, 53, OPORT, 0);
		bpf_map_update_elem(known_fd, &leaf_id, &kn, BPF_ANY);
		known_ns = time_run(g[0].e.prog_fd[OUT], pkt, len, 1000000);
		bpf_map_delete_elem(known_fd, &leaf_id);
		tpl_ns = time_run(g[0].e.prog_fd[OUT], pkt, len, 1000000);
		above_ns = time_run(g[1].e.prog_fd[OUT], pkt, len, 1000000);
		/* for scale: the policy program itself judging the same packet (slot 3) */
		reg_ns = time_run(bpf_program__fd(g[3].skel->progs.cgp_egress), pkt, len,
				  1000000);
		printf("# guard cost (BPF_PROG_TEST_RUN, 1e6 runs, test_run overhead included): registered "
		       "cgroup %.0f ns/packet, socket above the level %.0f, unregistered (template judges "
		       "UDP) %.0f; the policy program judging it %.0f\n", known_ns, above_ns, tpl_ns, reg_ns);
	}
out:
	if (orig[0])
		write_str(orig, pid);
	for (int i = 0; i < 4; i++)
		if (g[i].skel)
			cgp_enforce__destroy(g[i].skel);
	policy_free(&tpl);
	rmdir(leaf);
	rmdir(top);
}

/* ------------------------------------------------------------------ random */

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

static uint32_t rndn(uint32_t n)
{
	return rnd() % n;
}

static const char *const bases4[] = { "10.20.30.40", "10.20.200.1", "192.168.7.9", "172.16.5.5" };
static const char *const bases6[] = { "2001:db8:abcd:12::1", "2001:db8:abcd:12:8000::9",
				      "2001:db8:ab00::7", "fe80::1:2:3:4" };
static const uint16_t port_pool[] = { 1, 2, 53, 54, 80, 100, 443, 1000, 1024, 1025, 5000,
				      8080, 8443, 32768, 65534, 65535 };
#define NPOOL (sizeof(port_pool) / sizeof(port_pool[0]))

static void gen_policy(char *buf, size_t cap, unsigned *nrules_out)
{
	unsigned nrules = 3 + rndn(30), off = 0;

	off += (unsigned)snprintf(buf + off, cap - off, "default_ingress = %s\ndefault_egress = %s\n",
				  rndn(2) ? "allow" : "deny", rndn(2) ? "allow" : "deny");
	for (unsigned i = 0; i < nrules && off < cap - 200; i++) {
		static const char *const dirs[] = { "in", "out", "both" };
		static const char *const protos[] = { "udp", "udp", "udp", "tcp", "icmp", "any" };
		const char *proto = protos[rndn(6)];
		char addr[80];
		unsigned k = rndn(20);

		if (k == 0)
			snprintf(addr, sizeof(addr), "any");
		else if (k < 11)
			snprintf(addr, sizeof(addr), "%s/%u", bases4[rndn(4)],
				 rndn(4) ? 8 + rndn(25) : rndn(33));
		else
			snprintf(addr, sizeof(addr), "%s/%u", bases6[rndn(4)],
				 rndn(4) ? 16 + rndn(113) : rndn(129));
		off += (unsigned)snprintf(buf + off, cap - off, "%s = %s %s %s",
					  rndn(2) ? "allow" : "deny", dirs[rndn(3)], proto, addr);
		if (!strcmp(proto, "icmp") && rndn(3)) {
			/* names valid for every address family, or numbers near the probes' */
			static const char *const names[] = { "echo-request", "echo-reply", "time-exceeded",
							     "destination-unreachable" };
			if (rndn(2))
				off += (unsigned)snprintf(buf + off, cap - off, " type %s", names[rndn(4)]);
			else
				off += (unsigned)snprintf(buf + off, cap - off, " type %u", rndn(4) ? rndn(4) : rndn(256));
			if (rndn(3) == 0)
				off += (unsigned)snprintf(buf + off, cap - off, " code %u", rndn(3));
		}
		if ((!strcmp(proto, "udp") || !strcmp(proto, "tcp")) && rndn(5) < 3) {
			unsigned items = 1 + rndn(4);

			off += (unsigned)snprintf(buf + off, cap - off, " port ");
			for (unsigned j = 0; j < items; j++) {
				uint16_t a = port_pool[rndn(NPOOL)], b = port_pool[rndn(NPOOL)];

				if (rndn(3) == 0)
					a = (uint16_t)(1 + rndn(65535));
				if (rndn(3) == 0)
					b = (uint16_t)(1 + rndn(65535));

				if (rndn(3) == 0)
					b = a;
				if (a > b) {
					uint16_t t = a;
					a = b;
					b = t;
				}
				if (a == b)
					off += (unsigned)snprintf(buf + off, cap - off, "%s%u", j ? "," : "", a);
				else
					off += (unsigned)snprintf(buf + off, cap - off, "%s%u-%u", j ? "," : "", a, b);
			}
		}
		off += (unsigned)snprintf(buf + off, cap - off, "\n");
	}
	*nrules_out = nrules;
}

static void rand_addr(uint8_t a[16])
{
	bool v4 = rndn(2);
	unsigned total = v4 ? 32 : 128, keep;

	if (v4)
		addr16(bases4[rndn(4)], a);
	else
		addr16(bases6[rndn(4)], a);
	if (rndn(10) == 0) {
		keep = 0;			/* anything of that family */
	} else {
		keep = rndn(total + 1);		/* keep a prefix, randomize the rest */
	}
	for (unsigned bit = keep; bit < total; bit++) {
		unsigned b = (v4 ? 96 : 0) + bit;

		if (rndn(2))
			a[b / 8] ^= (uint8_t)(0x80u >> (b % 8));
	}
	if (rndn(4) == 0) {			/* or flip exactly one bit */
		unsigned b = (v4 ? 96 : 0) + rndn(total);

		if (v4)
			addr16(bases4[rndn(4)], a);
		else
			addr16(bases6[rndn(4)], a);
		a[b / 8] ^= (uint8_t)(0x80u >> (b % 8));
	}
	if (!v4 && is_v4mapped(a))
		a[0] = 0x20;			/* keep it a real IPv6 address */
}

/* A probe port: near an edge of the policy's port ranges, near a power of two
 * (the kernel splits port intervals into aligned blocks), or anything. */
static uint16_t rand_port(const struct cgp_policy *pol)
{
	int p;

	switch (rndn(8)) {
	case 0:
	case 1:
		return (uint16_t)(1 + rndn(65535));
	case 2:
		p = (1 << rndn(17)) + (int)rndn(3) - 1;
		break;
	case 3:
		p = port_pool[rndn(NPOOL)] + (int)rndn(3) - 1;
		break;
	default: {
		const struct cgp_rule *r = pol->nrules ? &pol->rules[rndn(pol->nrules)] : NULL;

		if (!r || !r->nports)
			return (uint16_t)(1 + rndn(65535));
		const struct cgp_port_range *pr = &r->ports[rndn(r->nports)];
		p = (rndn(2) ? pr->lo : pr->hi) + (int)rndn(3) - 1;
		break;
	}
	}
	return (uint16_t)(p < 1 ? 1 : p > 65535 ? 65535 : p);
}

static void addr_str(const uint8_t a[16], char *s, size_t n)
{
	if (is_v4mapped(a))
		inet_ntop(AF_INET, a + 12, s, (socklen_t)n);
	else
		inet_ntop(AF_INET6, a, s, (socklen_t)n);
}

#define RANDOM_POLICIES	30
#define RANDOM_PROBES	4000

static void run_random(struct env *e)
{
	static char body[16384];

	for (int i = 0; i < RANDOM_POLICIES; i++) {
		const struct cgp_compiled *cp;
		struct policy p;
		unsigned nrules, bad_ref = 0, bad_spec = 0, runerr = 0, nallow = 0;
		__u32 slot = 1;
		char err[512];
		int r;

		gen_policy(body, sizeof(body), &nrules);
		if (policy_build(&p, body, 1, err, sizeof(err))) {
			report(false, tap_name("random policy %d: parse/compile", i), "%s\n%s", err, body);
			continue;
		}
		cp = &p.comp;
		r = install_and_switch(e, &cp, &slot, 1);
		if (r) {
			report(false, tap_name("random policy %d: install", i), "%s", strerror(-r));
			policy_free(&p);
			continue;
		}
		for (int k = 0; k < RANDOM_PROBES; k++) {
			static const unsigned xs6[] = { 0, 0, 0, 0, X_HBH, X_HBH16_DST, X_FRAG0, X_FRAGN };
			static const unsigned xs4[] = { 0, 0, 0, 0, 0, 0, X_V4OPT, X_FRAGN };
			uint8_t a[16], pkt[256];
			int dir = (int)rndn(2), proto, got, ref, spec;
			uint16_t dport = rand_port(&p.cfg.policies[0]), sport = OPORT;
			unsigned x;
			size_t len;

			rand_addr(a);
			switch (rndn(20)) {
			case 0: case 1: proto = P_ICMP; break;
			case 2: proto = P_GRE; break;
			case 3: proto = P_SCTP; break;
			case 4: case 5: case 6: proto = P_TCP; sport = rand_port(&p.cfg.policies[0]); break;
			default: proto = P_UDP; break;
			}
			x = is_v4mapped(a) ? xs4[rndn(8)] : xs6[rndn(8)];
			if (proto == P_ICMP && rndn(4)) {	/* a type and code near the rules' */
				static const uint8_t types[] = { 0, 1, 2, 3, 8, 11, 128, 129, 200 };
				x |= X_ICMPT;
				dport = (uint16_t)(types[rndn(9)] << 8 | (rndn(2) ? rndn(3) : rndn(256)));
			}
			len = build_pkt(pkt, sizeof(pkt), dir, a, proto, dport, sport, x);
			got = run_pkt(e, dir, pkt, len);
			if (got < 0) {
				runerr++;
				continue;
			}
			probe_refs(&p, dir, proto, a, dport, sport, x, &ref, &spec);
			nallow += got == 1;
			if (got != ref || got != spec) {
				char s[INET6_ADDRSTRLEN];

				bad_ref += got != ref;
				bad_spec += got != spec;
				if (bad_ref + bad_spec <= 5) {
					addr_str(a, s, sizeof(s));
					fprintf(stderr, "# random policy %d: %s %s %s dport %u sport %u x %#x: "
						"program %d, cgp_compiled_eval %d, spec %d\n",
						i, dir == IN ? "in" : "out", proto_name(proto), s, dport, sport,
						x, got, ref, spec);
				}
			}
		}
		if (bad_ref || bad_spec || runerr)
			fprintf(stderr, "# random policy %d was:\n%s", i, body);
		report(!bad_ref && !bad_spec && !runerr,
		       tap_name("random policy %d (%u rules, %zu entries): %d probes (%u passed), program = "
				"cgp_compiled_eval = spec", i, nrules, p.comp.nlpm, RANDOM_PROBES, nallow),
		       "%u/%u disagree, %u run errors", bad_ref, bad_spec, runerr);
		policy_free(&p);
	}
}

/* ------------------------------------------------------------------ random sets */

/*
 * Membership by the spec (docs/POLICY.md, "Address sets"), straight from the
 * parsed sections: the longest entry over the set and its includes, an
 * exclusion winning at an equal prefix; -1 when not a member.
 */
static void spec_member_walk(const struct cgp_config *cfg, unsigned idx, const uint8_t a[16],
			     int *best, bool *excl, unsigned depth)
{
	const struct cgp_set *s = &cfg->sets[idx];

	if (depth > cfg->nsets)
		return;
	for (unsigned i = 0; i < s->n; i++) {
		const struct cgp_set_member *m = &s->m[i];
		unsigned full = m->plen / 8, rem = m->plen % 8;

		if (memcmp(a, m->addr, full) ||
		    (rem && ((a[full] ^ m->addr[full]) & (uint8_t)(0xff00u >> rem))))
			continue;
		if ((int)m->plen > *best || ((int)m->plen == *best && m->exclude)) {
			*best = m->plen;
			*excl = m->exclude;
		}
	}
	for (unsigned k = 0; k < s->ninc; k++)
		spec_member_walk(cfg, s->inc[k].idx, a, best, excl, depth + 1);
}

static int spec_member(const struct cgp_config *cfg, unsigned idx, const uint8_t a[16])
{
	int best = -1;
	bool excl = false;

	spec_member_walk(cfg, idx, a, &best, &excl, 0);
	return best >= 0 && !excl ? best : -1;
}

/* spec_eval with set rules: a set rule matches with the prefix of the member. */
static int spec_eval_sets(const struct cgp_config *cfg, const struct cgp_policy *pol, int dir,
			  int proto, const uint8_t a[16], uint32_t port)
{
	const struct cgp_rule *best = NULL;
	int bplen = -1, fam = is_v4mapped(a) ? CGP_ICMP_V4 : CGP_ICMP_V6;

	for (unsigned i = 0; i < pol->nrules; i++) {
		const struct cgp_rule *r = &pol->rules[i];
		unsigned full = r->plen / 8, rem = r->plen % 8;
		/* an ICMP type: `port` is type << 8 | code of the packet's family */
		bool inports = r->has_type && port <= 0xffff && r->icmp_type[fam] == (int)(port >> 8) &&
			       (r->icmp_code[fam] < 0 || r->icmp_code[fam] == (int)(port & 0xff));
		bool hasp = r->nports || r->has_type, bestp = best && (best->nports || best->has_type);
		int plen = r->plen;

		if (!(r->dirs & CGP_DIR_BIT(dir)))
			continue;
		if (r->proto != CGP_RULE_PROTO_ANY && r->proto != proto)
			continue;
		if (r->set) {
			plen = spec_member(cfg, r->set - 1u, a);
			if (plen < 0)
				continue;
		} else if (memcmp(a, r->addr, full) ||
			   (rem && ((a[full] ^ r->addr[full]) & (uint8_t)(0xff00u >> rem)))) {
			continue;
		}
		for (unsigned k = 0; k < r->nports; k++)
			inports |= port >= r->ports[k].lo && port <= r->ports[k].hi;
		if (hasp && !inports)
			continue;
		if (!best || plen > bplen || (plen == bplen && hasp && !bestp) ||
		    (plen == bplen && hasp == bestp && r->verdict == CGP_DENY)) {
			best = r;
			bplen = plen;
		}
	}
	return best ? best->verdict : pol->def[dir];
}

static void rand_cidr(char *buf, size_t n)
{
	if (rndn(3))
		snprintf(buf, n, "%s/%u", bases4[rndn(4)], 8 + rndn(25));
	else
		snprintf(buf, n, "%s/%u", bases6[rndn(4)], 16 + rndn(113));
}

#define RSETS 5

/* Sets s0..s4 (s3, s4 dynamic), includes only of lower-numbered static sets. */
static void gen_sets_policy(char *buf, size_t cap)
{
	unsigned off = 0, nrules = 3 + rndn(20);
	char a[80];

	for (int i = 0; i < RSETS; i++) {
		unsigned nm = 1 + rndn(6);

		off += (unsigned)snprintf(buf + off, cap - off, "[set s%d]\n%s", i,
					  i >= 3 ? "dynamic = yes\n" : "");
		for (unsigned k = 0; k < nm; k++) {
			rand_cidr(a, sizeof(a));
			off += (unsigned)snprintf(buf + off, cap - off, "address = %s%s\n",
						  k && rndn(3) == 0 ? "!" : "", a);
		}
		if (i >= 1 && rndn(2))
			off += (unsigned)snprintf(buf + off, cap - off, "address = @s%u\n",
						  rndn((unsigned)(i < 3 ? i : 3)));
	}
	off += (unsigned)snprintf(buf + off, cap - off, "[t]\ncgroup = /cgp-test\n"
				  "default_ingress = %s\ndefault_egress = %s\n",
				  rndn(2) ? "allow" : "deny", rndn(2) ? "allow" : "deny");
	for (unsigned i = 0; i < nrules && off < cap - 200; i++) {
		static const char *const dirs[] = { "in", "out", "both" };
		static const char *const protos[] = { "udp", "udp", "tcp", "icmp", "any" };
		const char *proto = protos[rndn(5)];

		if (rndn(2))
			snprintf(a, sizeof(a), "@s%u", rndn(RSETS));
		else
			rand_cidr(a, sizeof(a));
		off += (unsigned)snprintf(buf + off, cap - off, "%s = %s %s %s",
					  rndn(2) ? "allow" : "deny", dirs[rndn(3)], proto, a);
		if ((!strcmp(proto, "udp") || !strcmp(proto, "tcp")) && rndn(2)) {
			uint16_t lo = port_pool[rndn(NPOOL)], hi = port_pool[rndn(NPOOL)];

			off += (unsigned)snprintf(buf + off, cap - off, " port %u-%u", lo < hi ? lo : hi,
						  lo < hi ? hi : lo);
		} else if (!strcmp(proto, "icmp") && a[0] == '@' && rndn(2)) {
			static const char *const types[] = { "echo-request", "echo-reply", "3 code 4",
							     "destination-unreachable", "3" };

			off += (unsigned)snprintf(buf + off, cap - off, " type %s", types[rndn(5)]);
		}
		off += (unsigned)snprintf(buf + off, cap - off, "\n");
	}
}

/* Every member of every dynamic set gone from the skeleton's dsets. */
static void dsets_clear(int fd)
{
	for (unsigned id = 1; id <= RSETS; id++)
		cgp_dset_purge(fd, (__u16)(CGP_SET_DYNAMIC | id), false, NULL);
}

/* The dynamic sets' members (as apply writes them) into dsets; all members into *all. */
static int sets_install(const struct cgp_config *cfg, int dfd, struct cgp_lpm_entry **all, size_t *nall)
{
	if (cgp_static_sets(cfg, all, nall))
		return -ENOMEM;
	for (unsigned i = 0; i < cfg->nsets; i++) {
		struct cgp_lpm_entry *e, *na;
		struct cgp_lpm_key k;
		struct cgp_dset_val v;
		size_t n;

		if (!cfg->sets[i].dynamic)
			continue;
		if (cgp_set_flatten(cfg, i, &e, &n))
			return -ENOMEM;
		for (size_t j = 0; j < n; j++) {
			memset(&v, 0, sizeof(v));
			k = e[j].key;
			v.member = e[j].val.verdict;
			v.plen = e[j].val.plen;
			if (bpf_map_update_elem(dfd, &k, &v, BPF_ANY)) {
				free(e);
				return -errno;
			}
		}
		na = realloc(*all, (*nall + n + 1) * sizeof(*na));
		if (!na) {
			free(e);
			return -ENOMEM;
		}
		memcpy(na + *nall, e, n * sizeof(*e));
		*all = na;
		*nall += n;
		free(e);
	}
	return 0;
}

#define RANDOM_SET_POLICIES	20
#define RANDOM_SET_PROBES	3000

static void run_random_sets(struct env *e)
{
	static char body[16384];
	int dfd = bpf_map__fd(e->skel->maps.cgp_dsets);

	for (int i = 0; i < RANDOM_SET_POLICIES; i++) {
		struct cgp_config cfg;
		struct cgp_compiled comp;
		const struct cgp_compiled *cp = &comp;
		struct cgp_lpm_entry *setm = NULL;
		size_t nsetm = 0;
		unsigned bad_ref = 0, bad_spec = 0, runerr = 0, nallow = 0;
		__u32 slot = 1;
		__u64 gen = e->gen + 1;
		char err[512];
		int r;

		gen_sets_policy(body, sizeof(body));
		if (cgp_config_parse("sets.ini", body, strlen(body), &cfg, err, sizeof(err))) {
			report(false, tap_name("random set policy %d: parse", i), "%s\n%s", err, body);
			continue;
		}
		if (cgp_compile(cfg.file, &cfg.policies[0], 1, &comp, err, sizeof(err))) {
			report(false, tap_name("random set policy %d: compile", i), "%s", err);
			cgp_config_free(&cfg);
			continue;
		}
		dsets_clear(dfd);
		r = sets_install(&cfg, dfd, &setm, &nsetm);
		if (!r)
			r = cgp_install_set_members(e->outer, &cp, &slot, 1, setm, nsetm, (__u32)(gen & 1));
		if (!r)
			r = set_gen(e, gen);
		if (r) {
			report(false, tap_name("random set policy %d: install", i), "%s", strerror(-r));
			goto next;
		}
		for (int k = 0; k < RANDOM_SET_PROBES; k++) {
			uint8_t a[16], pkt[256];
			int dir = (int)rndn(2), proto, got, ref, spec;
			uint16_t dport = rand_port(&cfg.policies[0]), sport = OPORT;
			uint8_t pr;
			size_t len;

			rand_addr(a);
			unsigned x = 0;

			switch (rndn(6)) {
			case 0: {	/* an ICMP packet of some type: echo, its reply, unreachable codes */
				static const uint16_t t4[] = { 0x0800, 0x0000, 0x0304, 0x0301, 0x0b00 };
				static const uint16_t t6[] = { 0x8000, 0x8100, 0x0104, 0x0204, 0x0300 };

				proto = P_ICMP;
				x = X_ICMPT;
				dport = is_v4mapped(a) ? t4[rndn(5)] : t6[rndn(5)];
				break;
			}
			case 1: proto = P_TCP; sport = rand_port(&cfg.policies[0]); break;
			default: proto = P_UDP; break;
			}
			pr = cgp_proto_of(proto);
			len = build_pkt(pkt, sizeof(pkt), dir, a, proto, dport, sport, x);
			got = run_pkt(e, dir, pkt, len);
			if (got < 0) {
				runerr++;
				continue;
			}
			if (pr == CGP_PROTO_TCP) {
				uint16_t lport = dir == IN ? dport : sport, rport = dir == IN ? sport : dport;

				ref = cgp_compiled_eval_sets(&comp, setm, nsetm, IN, pr, a, lport) |
				      cgp_compiled_eval_sets(&comp, setm, nsetm, OUT, pr, a, rport);
				spec = spec_eval_sets(&cfg, &cfg.policies[0], IN, pr, a, lport) |
				       spec_eval_sets(&cfg, &cfg.policies[0], OUT, pr, a, rport);
			} else {
				uint32_t port = pr == CGP_PROTO_TCP || pr == CGP_PROTO_UDP || pr == CGP_PROTO_ICMP ?
						dport : 0;
				uint8_t epr = pr == CGP_PROTO_ICMP && !is_v4mapped(a) ? CGP_PORTPROTO_ICMP6 : pr;

				ref = cgp_compiled_eval_sets(&comp, setm, nsetm, (uint8_t)dir, epr, a, port);
				spec = spec_eval_sets(&cfg, &cfg.policies[0], dir, pr, a, port);
			}
			nallow += got == 1;
			if (got != ref || got != spec) {
				char s[INET6_ADDRSTRLEN];

				bad_ref += got != ref;
				bad_spec += got != spec;
				if (bad_ref + bad_spec <= 5) {
					addr_str(a, s, sizeof(s));
					fprintf(stderr, "# random set policy %d: %s %s %s dport %u: program %d, "
						"cgp_compiled_eval_sets %d, spec %d\n", i,
						dir == IN ? "in" : "out", proto_name(proto), s, dport, got, ref,
						spec);
				}
			}
		}
		if (bad_ref || bad_spec || runerr)
			fprintf(stderr, "# random set policy %d was:\n%s", i, body);
		report(!bad_ref && !bad_spec && !runerr,
		       tap_name("random set policy %d (%zu member entries): %d probes (%u passed), "
				"program = cgp_compiled_eval_sets = spec", i, nsetm, RANDOM_SET_PROBES, nallow),
		       "%u/%u disagree, %u run errors", bad_ref, bad_spec, runerr);
next:
		free(setm);
		cgp_compiled_free(&comp);
		cgp_config_free(&cfg);
	}
	dsets_clear(dfd);
}

/* Timed members of a dynamic set: an expired one is absent, a shorter live one still counts. */
static void run_set_expiry(struct env *e)
{
	static const char body[] =
		"[set d]\ndynamic = yes\n"
		"[t]\ncgroup = /cgp-test\ndefault_egress = allow\ndeny = out udp @d\n";
	int dfd = bpf_map__fd(e->skel->maps.cgp_dsets);
	struct cgp_config cfg;
	struct cgp_compiled comp;
	const struct cgp_compiled *cp = &comp;
	__u32 slot = 1;
	__u16 id;
	char err[512];
	struct { const char *cidr; int past; } m[] = {
		{ "10.9.0.0/16", 0 }, { "10.9.1.0/24", 1 }, { "10.9.1.128/25", 1 }, { "10.9.1.5/32", 1 },
		{ "10.8.0.0/16", 1 },
	};

	if (cgp_config_parse("exp.ini", body, sizeof(body) - 1, &cfg, err, sizeof(err)) ||
	    cgp_compile(cfg.file, &cfg.policies[0], 1, &comp, err, sizeof(err))) {
		report(false, "set expiry: parse/compile", "%s", err);
		return;
	}
	id = cfg.sets[0].id;
	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		struct cgp_lpm_key k = { .dir = CGP_DIR_SET, .slot = id };
		struct cgp_dset_val v = { .member = 1 };
		uint8_t plen;
		bool v4;

		cgp_parse_addr(m[i].cidr, k.addr, &plen, &v4);
		k.prefixlen = CGP_LPM_FIXED_BITS + plen;
		v.plen = plen;
		v.expires = m[i].past ? cgp_boot_ns() - 1000000000ull : cgp_boot_ns() + 3600000000000ull;
		bpf_map_update_elem(dfd, &k, &v, BPF_ANY);
	}
	if (cgp_install_set(e->outer, &cp, &slot, 1, (__u32)((e->gen + 1) & 1)) || set_gen(e, e->gen + 1)) {
		report(false, "set expiry: install", "%s", strerror(errno));
	} else {
		static const struct { const char *a; int expect; const char *why; } c[] = {
			{ "10.9.1.5", 0, "3 nested expired members skipped, the live /16 denies" },
			{ "10.9.2.1", 0, "live /16 member denies" },
			{ "10.8.0.1", 1, "only an expired member: absent, default allow" },
			{ "10.7.0.1", 1, "not a member: default allow" },
		};
		for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
			uint8_t a[16], pkt[256];
			size_t len;
			int got;

			addr16(c[i].a, a);
			len = build_pkt(pkt, sizeof(pkt), OUT, a, P_UDP, 53, OPORT, 0);
			got = run_pkt(e, OUT, pkt, len);
			report(got == c[i].expect, tap_name("set expiry: out udp %s: %s", c[i].a, c[i].why),
			       "got %d", got);
		}
	}
	cgp_dset_purge(dfd, id, false, NULL);
	cgp_compiled_free(&comp);
	cgp_config_free(&cfg);
}

/*
 * What a set costs per judged packet (BPF_PROG_TEST_RUN, test_run overhead
 * included; printed, not asserted): UDP out to a member of a 100,000-member
 * static set, against the same verdict from an address rule, and with the
 * policy using 8 sets (the limit) of which the last one matches.
 */
static void run_set_cost(struct env *e)
{
	static char body[8192];
	const char *variants[] = { "address rule", "1 set", "8 sets" };
	double ns[3] = { -1, -1, -1 };
	uint8_t a[16], pkt[256];
	size_t len, off;

	addr16("10.1.2.3", a);
	len = build_pkt(pkt, sizeof(pkt), OUT, a, P_UDP, 53, OPORT, 0);
	for (int v = 0; v < 3; v++) {
		struct cgp_config cfg;
		struct cgp_compiled comp;
		const struct cgp_compiled *cp = &comp;
		struct cgp_lpm_entry *setm = NULL, *big;
		size_t nsetm = 0;
		__u32 slot = 1;
		char err[512];

		off = (size_t)snprintf(body, sizeof(body), "[set big]\naddress = 10.0.0.0/32\n");
		for (int k = 1; k < 8; k++)
			off += (size_t)snprintf(body + off, sizeof(body) - off, "[set s%d]\naddress = 192.0.2.%d\n", k, k);
		off += (size_t)snprintf(body + off, sizeof(body) - off,
					"[t]\ncgroup = /cgp-test\ndefault_egress = allow\n%s",
					v == 0 ? "deny = out udp 10.1.2.3\n" : "");
		for (int k = 1; v == 2 && k < 8; k++)
			off += (size_t)snprintf(body + off, sizeof(body) - off, "deny = out udp @s%d\n", k);
		if (v)
			snprintf(body + off, sizeof(body) - off, "deny = out udp @big\n");
		if (cgp_config_parse("cost.ini", body, strlen(body), &cfg, err, sizeof(err)) ||
		    cgp_compile(cfg.file, &cfg.policies[0], 1, &comp, err, sizeof(err))) {
			report(false, "set cost: parse/compile", "%s", err);
			return;
		}
		/* big: 100,000 /32s, 10.1.0.0 .. 10.2.134.159, 10.1.2.3 among them */
		if (!cgp_static_sets(&cfg, &setm, &nsetm) && (big = realloc(setm, (nsetm + 100000) * sizeof(*big)))) {
			setm = big;
			for (unsigned k = 0; k < 100000; k++) {
				struct cgp_lpm_entry *m = &setm[nsetm++];
				unsigned x = (10u << 24) + (1u << 16) + k;

				memset(m, 0, sizeof(*m));
				m->key.prefixlen = CGP_LPM_FIXED_BITS + 128;
				m->key.dir = CGP_DIR_SET;
				m->key.slot = cfg.sets[0].id;
				m->key.addr[10] = m->key.addr[11] = 0xff;
				m->key.addr[12] = (uint8_t)(x >> 24);
				m->key.addr[13] = (uint8_t)(x >> 16);
				m->key.addr[14] = (uint8_t)(x >> 8);
				m->key.addr[15] = (uint8_t)x;
				m->val.verdict = 1;
				m->val.plen = 128;
			}
			if (!cgp_install_set_members(e->outer, &cp, &slot, 1, setm, nsetm, (__u32)((e->gen + 1) & 1)) &&
			    !set_gen(e, e->gen + 1) && run_pkt(e, OUT, pkt, len) == 0)
				ns[v] = time_run(e->prog_fd[OUT], pkt, len, 200000);
		}
		free(setm);
		cgp_compiled_free(&comp);
		cgp_config_free(&cfg);
	}
	report(ns[0] > 0 && ns[1] > 0 && ns[2] > 0,
	       "set cost: the denying rule is found by address, in 1 set and in the 8th of 8 sets",
	       "a run failed or did not deny");
	printf("# set cost (BPF_PROG_TEST_RUN, 2e5 runs, test_run overhead included; UDP out denied): "
	       "%s %.0f ns/packet, %s of 100,000 members %.0f, %s %.0f\n", variants[0], ns[0], variants[1],
	       ns[1], variants[2], ns[2]);
}

/* ------------------------------------------------------------------ main */

static int quiet_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG || !getenv("CGP_TEST_VERBOSE"))
		return 0;
	return vfprintf(stderr, fmt, ap);
}

int main(void)
{
	struct env e;
	char why[512];
	int v;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (geteuid() != 0) {
		printf("SKIP: test_enforce needs root (BPF_PROG_TEST_RUN of cgroup_skb programs)\n");
		return SKIP_RC;
	}
	libbpf_set_print(quiet_libbpf);
	if (env_open(&e, 1, why, sizeof(why))) {
		printf("SKIP: %s\n", why);
		return SKIP_RC;
	}
	/* Can test_run run here at all? */
	{
		uint8_t pkt[256], a[16];
		size_t len;

		addr16("10.1.1.1", a);
		len = build_pkt(pkt, sizeof(pkt), IN, a, P_UDP, 53, OPORT, 0);
		v = run_pkt(&e, IN, pkt, len);
		if (v < 0) {
			printf("SKIP: BPF_PROG_TEST_RUN of cgroup_skb fails here: %s\n", strerror(-v));
			env_close(&e);
			return SKIP_RC;
		}
	}

	run_generations(&e);
	run_hits(&e);
	run_tables(&e);
	run_random(&e);
	run_random_sets(&e);
	run_set_expiry(&e);
	run_set_cost(&e);
	env_close(&e);
	run_slots();
	run_guards();
	run_hits_full();

	return tap_done();
}
