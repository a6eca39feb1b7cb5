// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_policy.c - unit tests of policy/ (parser, validator, compiler).
 * No root, no BPF. Prints "ok N - name" / "not ok N - name: detail" and a
 * closing "N passed, N failed"; exits non-zero if anything failed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "policy/explain.h"
#include "policy/fileline.h"
#include "policy/policy.h"

#include "tests/tap.h"

/* Check helpers for the valid-input table: set *why and return false. */
#define EXPECT(cond)                                                   \
	do {                                                           \
		if (!(cond)) {                                         \
			snprintf(why, whylen, "line %d: %s", __LINE__, #cond); \
			return false;                                  \
		}                                                      \
	} while (0)

static bool is_zero(const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

static void v4map(uint8_t a[16], unsigned x0, unsigned x1, unsigned x2, unsigned x3)
{
	memset(a, 0, 16);
	a[10] = a[11] = 0xff;
	a[12] = (uint8_t)x0;
	a[13] = (uint8_t)x1;
	a[14] = (uint8_t)x2;
	a[15] = (uint8_t)x3;
}

/* ------------------------------------------------------------ valid inputs */

static bool chk_design(const struct cgp_config *c, char *why, size_t whylen)
{
	const struct cgp_policy *p = cgp_config_find(c, "web");
	const struct cgp_rule *r;
	uint8_t a[16];

	EXPECT(c->npolicies == 2 && c->nreuseports == 1);
	EXPECT(!strcmp(c->agent.pin_path, "/sys/fs/bpf/cgpolicy") && c->agent.pin_path_line == 2);
	EXPECT(c->agent.stats_interval == 10 && c->agent.stats_format == CGP_STATS_JSON);
	EXPECT(!strcmp(c->agent.stats_output, "-"));
	EXPECT(p && p->line == 7 && !strcmp(p->cgroup, "/web") && p->cgroup_line == 8);
	EXPECT(p->def[CGP_DIR_IN] == CGP_DENY && p->def[CGP_DIR_OUT] == CGP_ALLOW);
	EXPECT(p->accelerate && p->stats && p->nrules == 5);
	r = &p->rules[0];
	EXPECT(r->line == 11 && r->verdict == CGP_ALLOW && r->dirs == CGP_DIR_BIT(CGP_DIR_IN));
	EXPECT(r->proto == CGP_PROTO_TCP && r->plen == 0 && is_zero(r->addr, 16) && !r->is_v4);
	EXPECT(r->nports == 2 && r->ports[0].lo == 80 && r->ports[0].hi == 80);
	EXPECT(r->ports[1].lo == 443 && r->ports[1].hi == 443);
	r = &p->rules[1];
	v4map(a, 10, 0, 0, 0);
	EXPECT(r->plen == 104 && !memcmp(r->addr, a, 16) && r->is_v4 && r->nports == 1);
	r = &p->rules[2];
	v4map(a, 192, 168, 0, 0);
	EXPECT(r->verdict == CGP_DENY && r->dirs == CGP_DIR_BIT(CGP_DIR_OUT) && r->plen == 112);
	EXPECT(!memcmp(r->addr, a, 16) && r->ports[0].lo == 1 && r->ports[0].hi == 1024);
	r = &p->rules[3];
	EXPECT(r->proto == CGP_PROTO_UDP && r->ports[0].lo == 53);
	r = &p->rules[4];
	EXPECT(r->proto == CGP_PROTO_ICMP && r->nports == 0);
	EXPECT(r->dirs == (CGP_DIR_BIT(CGP_DIR_IN) | CGP_DIR_BIT(CGP_DIR_OUT)));
	p = cgp_config_find(c, "canary");
	EXPECT(p && p->nrules == 0 && p->def[0] == CGP_ALLOW && p->def[1] == CGP_ALLOW);
	EXPECT(!p->accelerate && p->stats);
	EXPECT(!strcmp(c->reuseports[0].name, "api") && c->reuseports[0].port == 8080);
	EXPECT(c->reuseports[0].proto == CGP_PROTO_TCP && !c->reuseports[0].has_addr);
	EXPECT(c->reuseports[0].nbackends == 2);
	EXPECT(!strcmp(c->reuseports[0].backends[0].policy, "web"));
	EXPECT(c->reuseports[0].backends[0].weight == 90 && c->reuseports[0].backends[0].line == 21);
	EXPECT(c->reuseports[0].backends[1].weight == 10);
	EXPECT(cgp_config_find(c, "api") == NULL && cgp_config_find(c, "agent") == NULL);
	return true;
}

static bool chk_addrs(const struct cgp_config *c, char *why, size_t whylen)
{
	const struct cgp_policy *p = &c->policies[0];
	uint8_t a[16];

	EXPECT(p->nrules == 8);
	EXPECT(p->rules[0].plen == 0 && is_zero(p->rules[0].addr, 16));	/* any */
	v4map(a, 0, 0, 0, 0);
	EXPECT(p->rules[1].plen == 96 && !memcmp(p->rules[1].addr, a, 16));	/* 0.0.0.0/0 */
	v4map(a, 10, 0, 0, 0);
	EXPECT(p->rules[2].plen == 104 && !memcmp(p->rules[2].addr, a, 16));	/* host bits */
	v4map(a, 1, 2, 3, 4);
	EXPECT(p->rules[3].plen == 128 && !memcmp(p->rules[3].addr, a, 16) && p->rules[3].is_v4);
	memset(a, 0, 16);
	a[0] = 0x20; a[1] = 0x01; a[2] = 0x0d; a[3] = 0xb8;
	EXPECT(p->rules[4].plen == 32 && !memcmp(p->rules[4].addr, a, 16) && !p->rules[4].is_v4);
	memset(a, 0, 16);
	a[15] = 1;
	EXPECT(p->rules[5].plen == 128 && !memcmp(p->rules[5].addr, a, 16));	/* ::1 */
	EXPECT(p->rules[6].plen == 0 && is_zero(p->rules[6].addr, 16));		/* ::/0 */
	v4map(a, 10, 1, 2, 0);
	EXPECT(p->rules[7].plen == 121 && !memcmp(p->rules[7].addr, a, 16));	/* ::ffff:10.1.2.3/121 */
	return true;
}

static bool chk_ports(const struct cgp_config *c, char *why, size_t whylen)
{
	const struct cgp_rule *r = &c->policies[0].rules[0];

	EXPECT(r->nports == 4);
	EXPECT(r->ports[0].lo == 1 && r->ports[0].hi == 1);
	EXPECT(r->ports[1].lo == 80 && r->ports[1].hi == 443);
	EXPECT(r->ports[2].lo == 8080 && r->ports[2].hi == 8080);
	EXPECT(r->ports[3].lo == 65535 && r->ports[3].hi == 65535);
	r = &c->policies[0].rules[1];
	EXPECT(r->nports == 64 && r->proto == CGP_PROTO_UDP);
	return true;
}

static bool chk_bools(const struct cgp_config *c, char *why, size_t whylen)
{
	static const bool want[8][2] = {
		{ true, false }, { true, false }, { true, false }, { true, false },
		{ false, true }, { false, true }, { false, true }, { false, true },
	};
	EXPECT(c->npolicies == 8);
	for (int i = 0; i < 8; i++) {
		EXPECT(c->policies[i].accelerate == want[i][0]);
		EXPECT(c->policies[i].stats == want[i][1]);
	}
	return true;
}

static bool chk_agent(const struct cgp_config *c, char *why, size_t whylen)
{
	EXPECT(!strcmp(c->agent.pin_path, "/sys/fs/bpf/t1") && c->agent.pin_path_line == 2);
	EXPECT(c->agent.stats_interval == 0 && c->agent.stats_format == CGP_STATS_TABLE);
	EXPECT(!strcmp(c->agent.stats_output, "/var/log/cgp.json"));
	EXPECT(c->npolicies == 1 && !strcmp(c->policies[0].cgroup, "/"));
	return true;
}

static bool chk_defaults(const struct cgp_config *c, char *why, size_t whylen)
{
	EXPECT(!strcmp(c->file, "t.ini"));
	EXPECT(!strcmp(c->agent.pin_path, CGP_DEFAULT_PIN_PATH) && c->agent.pin_path_line == 0);
	EXPECT(c->agent.stats_interval == 10 && c->agent.stats_format == CGP_STATS_JSON);
	EXPECT(!strcmp(c->agent.stats_output, "-"));
	EXPECT(c->npolicies == 1 && c->nreuseports == 0 && c->policies[0].nrules == 0);
	EXPECT(!strcmp(c->policies[0].name, "a-b_c.9") && !strcmp(c->policies[0].cgroup, "/x/y.z"));
	return true;
}

static bool chk_reuse(const struct cgp_config *c, char *why, size_t whylen)
{
	const struct cgp_reuseport *r = &c->reuseports[0];
	uint8_t a[16] = { 0 };

	EXPECT(c->nreuseports == 2);
	EXPECT(r->port == 53 && r->proto == CGP_PROTO_UDP && r->has_addr);
	a[15] = 1;
	EXPECT(!memcmp(r->addr, a, 16));
	EXPECT(r->nbackends == 2 && r->backends[1].weight == 0);
	r = &c->reuseports[1];
	v4map(a, 127, 0, 0, 1);
	EXPECT(r->port == 53 && r->proto == CGP_PROTO_UDP && r->has_addr && !memcmp(r->addr, a, 16));
	return true;
}

static bool chk_comments(const struct cgp_config *c, char *why, size_t whylen)
{
	const struct cgp_policy *p = &c->policies[0];

	EXPECT(c->npolicies == 1 && !strcmp(p->cgroup, "/p") && p->cgroup_line == 5);
	EXPECT(p->nrules == 2 && p->rules[0].line == 7 && p->rules[0].nports == 1);
	EXPECT(p->rules[0].ports[0].lo == 80 && p->rules[1].line == 9);
	EXPECT(p->def[CGP_DIR_IN] == CGP_DENY);
	return true;
}

static bool chk_one_rule(const struct cgp_config *c, char *why, size_t whylen)
{
	EXPECT(c->npolicies == 1 && c->policies[0].nrules == 1);
	EXPECT(c->policies[0].rules[0].line == 3);
	return true;
}

static bool chk_two_pols(const struct cgp_config *c, char *why, size_t whylen)
{
	EXPECT(c->npolicies == 1 && c->nreuseports == 1 && c->reuseports[0].line == 3);
	return true;
}

static bool chk_long_names(const struct cgp_config *c, char *why, size_t whylen)
{
	EXPECT(c->npolicies == 1 && strlen(c->policies[0].name) == 63 && c->policies[0].nrules == 1);
	EXPECT(c->nreuseports == 1 && strlen(c->reuseports[0].name) == 63);
	EXPECT(!strcmp(c->reuseports[0].backends[0].policy, c->policies[0].name));
	return true;
}

static bool chk_icmp(const struct cgp_config *c, char *why, size_t whylen)
{
	const struct cgp_policy *p = &c->policies[0];
	const struct cgp_rule *r = p->rules;

	EXPECT(p->nrules == 10);
	/* echo-request, any: both families */
	EXPECT(r[0].has_type && r[0].nports == 0 && r[0].proto == CGP_PROTO_ICMP);
	EXPECT(r[0].icmp_type[0] == 8 && r[0].icmp_code[0] == -1);
	EXPECT(r[0].icmp_type[1] == 128 && r[0].icmp_code[1] == -1);
	/* numeric with code, IPv4 address: ICMP only */
	EXPECT(r[1].icmp_type[0] == 3 && r[1].icmp_code[0] == 4 && r[1].icmp_type[1] == -1);
	/* packet-too-big: ICMPv6 only */
	EXPECT(r[2].icmp_type[0] == -1 && r[2].icmp_type[1] == 2 && r[2].icmp_code[1] == -1);
	/* numeric, any: both families, the same number */
	EXPECT(r[3].icmp_type[0] == 3 && r[3].icmp_type[1] == 3 && r[3].icmp_code[0] == -1);
	/* a name of both families with an IPv4 address: ICMP only */
	EXPECT(r[4].icmp_type[0] == 8 && r[4].icmp_type[1] == -1);
	/* fragmentation-needed: ICMP type 3 code 4 only */
	EXPECT(r[5].icmp_type[0] == 3 && r[5].icmp_code[0] == 4 && r[5].icmp_type[1] == -1);
	/* a name with a code: the code in both families */
	EXPECT(r[6].icmp_type[0] == 3 && r[6].icmp_code[0] == 4);
	EXPECT(r[6].icmp_type[1] == 1 && r[6].icmp_code[1] == 4);
	/* ::/0 can match both families */
	EXPECT(r[7].icmp_type[0] == 128 && r[7].icmp_type[1] == 128);
	/* neighbour/neighbor spellings, v6 address */
	EXPECT(r[8].icmp_type[0] == -1 && r[8].icmp_type[1] == 135);
	EXPECT(r[9].icmp_type[1] == 136 && r[9].verdict == CGP_DENY && !r[9].is_v4);
	return true;
}

struct valid_case {
	const char *name;
	const char *text;
	bool (*check)(const struct cgp_config *, char *, size_t);
};

static const struct valid_case valid_cases[] = {
	{ "design example", "[agent]\n"
	  "pin_path = /sys/fs/bpf/cgpolicy      ; default\n"
	  "stats_interval = 10\n"
	  "stats_format = json                  ; json | table\n"
	  "stats_output = -\n"
	  "\n"
	  "[web]                                ; every other section is one cgroup policy\n"
	  "cgroup = /web\n"
	  "default_ingress = deny\n"
	  "default_egress = allow\n"
	  "allow = in tcp any port 80,443\n"
	  "allow = in tcp 10.0.0.0/8 port 22\n"
	  "deny  = out tcp 192.168.0.0/16 port 1-1024\n"
	  "allow = out udp any port 53\n"
	  "allow = both icmp any\n"
	  "accelerate = yes                     ; redirect between local accelerated sockets\n"
	  "stats = yes\n"
	  "\n"
	  "[reuseport api]\n"
	  "port = 8080\n"
	  "backend = web 90                     ; <policy section> <weight>\n"
	  "backend = canary 10\n"
	  "[canary]\n"
	  "cgroup = /canary\n", chk_design },
	{ "addresses any, v4, v6, masking", "[p]\ncgroup = /p\n"
	  "allow = in any any\n"
	  "allow = in any 0.0.0.0/0\n"
	  "allow = in any 10.1.2.3/8\n"
	  "allow = in any 1.2.3.4\n"
	  "allow = in any 2001:db8:ffff::1/32\n"
	  "allow = in any ::1\n"
	  "allow = in any ::/0\n"
	  "allow = in any ::ffff:10.1.2.3/121\n", chk_addrs },
	{ "port lists", "[p]\ncgroup = /p\n"
	  "allow = in tcp any port 1,80-443,8080,65535\n"
	  "deny = out udp any port 1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,"
	  "1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1\n", chk_ports },
	{ "booleans", "[a]\ncgroup=/a\naccelerate=yes\nstats=no\n"
	  "[b]\ncgroup=/b\naccelerate=true\nstats=false\n"
	  "[c]\ncgroup=/c\naccelerate=1\nstats=0\n"
	  "[d]\ncgroup=/d\naccelerate=on\nstats=off\n"
	  "[e]\ncgroup=/e\naccelerate=no\nstats=yes\n"
	  "[f]\ncgroup=/f\naccelerate=false\nstats=true\n"
	  "[g]\ncgroup=/g\naccelerate=0\nstats=1\n"
	  "[h]\ncgroup=/h\naccelerate=off\nstats=on\n", chk_bools },
	{ "agent keys", "[agent]\npin_path = /sys/fs/bpf/t1\nstats_interval = 0\n"
	  "stats_format = table\nstats_output = /var/log/cgp.json\n[root]\ncgroup = /\n", chk_agent },
	{ "defaults, no trailing newline", "[a-b_c.9]\ncgroup = /x/y.z", chk_defaults },
	{ "reuseport udp with addresses", "[a]\ncgroup=/a\n[b]\ncgroup=/b\n"
	  "[reuseport dns6]\nport = 53\nproto = udp\naddress = ::1\nbackend = a 100\nbackend = b 0\n"
	  "[reuseport dns4]\nport=53\nproto=udp\naddress=127.0.0.1\nbackend=a 1\n", chk_reuse },
	{ "comments, blank lines, indented comments, CRLF, inline comments",
	  "; leading comment\r\n# hash comment\r\n\r\n[p] ; trailing comment\r\n"
	  "cgroup = /p   ; comment\r\n   ; indented comment\r\n"
	  "allow = in tcp any port 80 ; web\r\n\t# tab comment\r\n"
	  "deny=out udp 10.0.0.0/8\r\ndefault_ingress = deny\r\n", chk_comments },
	{ "UTF-8 BOM and UTF-8 comment", "\xef\xbb\xbf[p]\ncgroup = /p\n"
	  "allow = in tcp any ; caf\xc3\xa9 \xe2\x82\xac\n", chk_one_rule },
	{ "line of exactly 199 characters", "[p]\ncgroup = /p\n"
	  /* 24 + 170 + 5 = 199 */
	  "allow = in tcp any port "
	  "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,"
	  "31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,48,49,50,51,52,53,54,55,56,57,"
	  "58,59,60,6100\n", chk_one_rule },
	{ "tabs between tokens, spaces in section header", "[ p ]\ncgroup = /p\n"
	  "allow =\tin\ttcp  any\tport\t22\n", chk_one_rule },
	{ "63-character section names (inih's own section buffer is 50)",
	  "[aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa]\ncgroup = /a\n"
	  "allow = in tcp any\n[reuseport bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb]\n"
	  "port = 1\nbackend = aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 5\n", chk_long_names },
	{ "same name for reuseport and policy", "[api]\ncgroup = /api\n[reuseport api]\nport = 1\n"
	  "backend = api 1\n", chk_two_pols },
	{ "icmp types", "[p]\ncgroup = /p\n"
	  "allow = in icmp any type echo-request\n"
	  "allow = in icmp 10.0.0.0/8 type 3 code 4\n"
	  "allow = out icmp 2001:db8::/32 type packet-too-big\n"
	  "allow = out icmp any type 3\n"
	  "allow = in icmp 10.0.0.0/8 type echo-request\n"
	  "allow = in icmp any type fragmentation-needed\n"
	  "allow = both icmp any type destination-unreachable code 4\n"
	  "allow = in icmp ::/0 type 128\n"
	  "allow = in icmp fe80::/10 type neighbour-solicitation\n"
	  "deny = in icmp fe80::/10\ttype  neighbor-advertisement ; comment\n", chk_icmp },
};

/* ------------------------------------------------------------ invalid inputs */

struct invalid_case {
	const char *text;
	size_t len;			/* 0: strlen(text) */
	const char *want;		/* substring of the error */
};

#define P "[p]\ncgroup = /p\n"		/* rules start at line 3 */
#define LONG_PORTS "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30," \
	"31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,48,49,50,51,52,53,54,55,56,57," \
	"58,59,60,61,62,63,64000"

static const struct invalid_case invalid_cases[] = {
	/* addresses */
	{ P "allow = in tcp 10.0.0.256\n", 0, "t.ini:3: bad IPv4 address '10.0.0.256'" },
	{ P "allow = in tcp 1.2.3\n", 0, "t.ini:3: bad IPv4 address '1.2.3'" },
	{ P "allow = in tcp 1.2.3.4.5\n", 0, "t.ini:3: bad IPv4 address" },
	{ P "allow = in tcp 01.2.3.4\n", 0, "t.ini:3: bad IPv4 address" },
	{ P "allow = in tcp 10.0.0.0/33\n", 0, "t.ini:3: prefix length /33 too long in '10.0.0.0/33' (IPv4: 0-32)" },
	{ P "allow = in tcp 10.0.0.0/\n", 0, "t.ini:3: bad prefix length in '10.0.0.0/'" },
	{ P "allow = in tcp 10.0.0.0/x\n", 0, "t.ini:3: bad prefix length" },
	{ P "allow = in tcp 10.0.0.0/-1\n", 0, "t.ini:3: bad prefix length" },
	{ P "allow = in tcp 10.0.0.0/8/8\n", 0, "t.ini:3: bad prefix length" },
	{ P "allow = in tcp 10.0.0.0/0008\n", 0, "t.ini:3: bad prefix length" },
	{ P "allow = in tcp 2001:db8::/129\n", 0, "t.ini:3: prefix length /129 too long in '2001:db8::/129' (IPv6: 0-128)" },
	{ P "allow = in tcp 2001:db8:::1\n", 0, "t.ini:3: bad IPv6 address '2001:db8:::1'" },
	{ P "allow = in tcp fe80::1%eth0\n", 0, "t.ini:3: bad IPv6 address" },
	{ P "allow = in tcp 1:2:3:4:5:6:7:8:9\n", 0, "t.ini:3: bad IPv6 address" },
	{ P "allow = in tcp /24\n", 0, "t.ini:3: bad address '/24'" },
	{ P "deny = in tcp example.com\n", 0, "t.ini:3: a deny rule cannot name a DNS name ('example.com')" },
	{ P "allow = in tcp ANY\n", 0, "t.ini:3: bad address 'ANY': not an IP address, CIDR or any, nor a DNS name" },
	/* ports */
	{ P "allow = in tcp any port 0\n", 0, "t.ini:3: bad port '0' (1-65535)" },
	{ P "allow = in tcp any port 65536\n", 0, "t.ini:3: bad port '65536' (1-65535)" },
	{ P "allow = in tcp any port 70000\n", 0, "t.ini:3: bad port '70000' (1-65535)" },
	{ P "allow = in tcp any port 0-10\n", 0, "t.ini:3: bad port '0' (1-65535)" },
	{ P "allow = in tcp any port 10-65536\n", 0, "t.ini:3: bad port '65536' (1-65535)" },
	{ P "allow = in tcp any port 90-80\n", 0, "t.ini:3: bad port range '90-80' (start above end)" },
	{ P "allow = in tcp any port 80,,443\n", 0, "t.ini:3: empty item in port list '80,,443'" },
	{ P "allow = in tcp any port 80,\n", 0, "t.ini:3: empty item in port list" },
	{ P "allow = in tcp any port ,80\n", 0, "t.ini:3: empty item in port list" },
	{ P "allow = in tcp any port abc\n", 0, "t.ini:3: bad port 'abc' (1-65535)" },
	{ P "allow = in tcp any port 80-\n", 0, "t.ini:3: bad port '' (1-65535)" },
	{ P "allow = in tcp any port -80\n", 0, "t.ini:3: bad port '' (1-65535)" },
	{ P "allow = in tcp any port 1-2-3\n", 0, "t.ini:3: bad port '2-3' (1-65535)" },
	{ P "allow = in tcp any port +80\n", 0, "t.ini:3: bad port '+80'" },
	{ P "allow = in tcp any port 0x50\n", 0, "t.ini:3: bad port '0x50'" },
	{ P "allow = in tcp any port 80, 443\n", 0,
	  "t.ini:3: unexpected '443' at end of rule (no spaces inside a port list)" },
	{ P "allow = in tcp any port 80 443\n", 0, "t.ini:3: unexpected '443' at end of rule" },
	{ P "allow = in tcp any port\n", 0, "t.ini:3: 'port' needs a list of ports" },
	{ P "allow = in icmp any port 80\n", 0, "t.ini:3: ports need tcp or udp (not icmp)" },
	{ P "allow = in any any port 80\n", 0, "t.ini:3: ports need tcp or udp (not any)" },
	{ P "allow = in tcp any ports 80\n", 0, "t.ini:3: unexpected 'ports' after address" },
	{ P "allow = in tcp any 80\n", 0, "t.ini:3: unexpected '80' after address" },
	{ P "allow = in tcp any port "
	  "1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,"
	  "1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1\n", 0,
	  "t.ini:3: more than 64 items in port list" },
	/* rule words */
	{ P "allow = in tcp\n", 0, "t.ini:3: incomplete rule" },
	{ P "allow = up tcp any\n", 0, "t.ini:3: unknown direction 'up' (in, out or both)" },
	{ P "allow = IN tcp any\n", 0, "t.ini:3: unknown direction 'IN'" },
	{ P "allow = in sctp any\n", 0, "t.ini:3: unknown protocol 'sctp' (tcp, udp, icmp or any)" },
	{ P "allow = in tcp any port 80 # web\n", 0, "t.ini:3: unexpected '#' at end of rule" },
	{ P "permit = in tcp any\n", 0, "t.ini:3: unknown key 'permit' in [p]" },
	{ P "Allow = in tcp any\n", 0, "t.ini:3: unknown key 'Allow' in [p]" },
	{ P "allow =\n", 0, "t.ini:3: empty value for 'allow' in [p]" },
	/* scalar values */
	{ P "default_ingress = maybe\n", 0, "t.ini:3: bad default_ingress 'maybe' (allow or deny)" },
	{ P "default_egress = drop\n", 0, "t.ini:3: bad default_egress 'drop'" },
	{ P "accelerate = perhaps\n", 0, "t.ini:3: bad accelerate 'perhaps'" },
	{ P "stats = 2\n", 0, "t.ini:3: bad stats '2'" },
	{ P "foo = bar\n", 0, "t.ini:3: unknown key 'foo' in [p]" },
	{ P "foo =\n", 0, "t.ini:3: unknown key 'foo' in [p]" },
	{ P "stats = yes\nstats = no\n", 0, "t.ini:4: duplicate key 'stats' in [p] (first at line 3)" },
	{ "[p]\ncgroup = /p\ncgroup = /q\n", 0, "t.ini:3: duplicate key 'cgroup' in [p] (first at line 2)" },
	{ P "default_ingress = deny\ndefault_ingress = deny\n", 0, "t.ini:4: duplicate key 'default_ingress'" },
	/* cgroup */
	{ "[p]\nallow = in tcp any\n", 0, "t.ini:1: [p] missing cgroup =" },
	{ "[p]\ncgroup =\n", 0, "t.ini:2: empty value for 'cgroup' in [p]" },
	{ "[p]\ncgroup = web\n", 0, "t.ini:2: bad cgroup 'web': must start with '/'" },
	{ "[p]\ncgroup = /a/../b\n", 0, "t.ini:2: bad cgroup '/a/../b': must not contain '.' or '..' components" },
	{ "[p]\ncgroup = /a/./b\n", 0, "t.ini:2: bad cgroup" },
	{ "[p]\ncgroup = /..\n", 0, "t.ini:2: bad cgroup" },
	{ "[p]\ncgroup = /a//b\n", 0, "t.ini:2: bad cgroup '/a//b': must not contain '//'" },
	{ "[p]\ncgroup = /a/\n", 0, "t.ini:2: bad cgroup '/a/': must not end with '/'" },
	{ "[p]\ncgroup = /a b\n", 0, "t.ini:2: bad cgroup '/a b': must not contain spaces" },
	{ "[a]\ncgroup = /x\n[b]\ncgroup = /x\n", 0, "t.ini:4: cgroup '/x' already used by [a] (line 2)" },
	/* sections */
	{ "[web]\n[p]\ncgroup = /p\n", 0, "t.ini:1: [web] missing cgroup =" },
	{ P "[web]\n", 0, "t.ini:3: [web] missing cgroup =" },
	{ P "[web]\n; only a comment\n\n", 0, "t.ini:3: [web] missing cgroup =" },
	{ P "[p]\ncgroup = /q\n", 0, "t.ini:3: duplicate section [p] (first at line 1)" },
	{ P "[p]\n", 0, "t.ini:3: duplicate section [p] (first at line 1)" },
	{ "[agent]\n[agent]\n" P, 0, "t.ini:2: duplicate section [agent] (first at line 1)" },
	{ P "[reuseport r]\nport=1\nbackend=p 1\n[reuseport  r]\n", 0,
	  "t.ini:6: duplicate section [reuseport r] (first at line 3)" },
	{ P "[web app]\n", 0, "t.ini:3: bad section name '[web app]'" },
	{ P "[we/b]\ncgroup = /w\n", 0, "t.ini:3: bad section name '[we/b]'" },
	{ P "[]\n", 0, "t.ini:3: bad section name '[]'" },
	{ P "[aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa]\n", 0,
	  "t.ini:3: bad section name" },		/* 64 characters */
	{ P "[reuseport]\n", 0, "t.ini:3: [reuseport] needs a name: [reuseport NAME]" },
	{ P "[reuseport a b]\n", 0, "t.ini:3: bad reuseport name 'a b'" },
	{ P "[q] junk\ncgroup = /q\n", 0, "t.ini:3: unexpected text after section header" },
	{ P "[q\n", 0, "t.ini:3: not a key = value line or [section] header" },
	{ "cgroup = /x\n[p]\ncgroup = /p\n", 0, "t.ini:1: key 'cgroup' outside any section" },
	{ "\n\nfoo = 1\n" P, 0, "t.ini:3: key 'foo' outside any section" },
	/* lines */
	{ P "just some words\n", 0, "t.ini:3: not a key = value line or [section] header" },
	{ P "cgroup: /p\n", 0, "t.ini:3: not a key = value line or [section] header" },
	{ P "= in tcp any\n", 0, "t.ini:3: not a key = value line or [section] header" },
	{ P "allow ;x = in tcp any\n", 0, "t.ini:3: not a key = value line or [section] header" },
	{ P "allow = in tcp any port 80\n  ,443\n", 0,
	  "t.ini:4: continuation lines are not supported" },
	{ P "allow = in tcp any\n\tdeny = in tcp any\n", 0,
	  "t.ini:4: continuation lines are not supported" },
	{ "  [p]\ncgroup = /p\n", 0, "t.ini:1: continuation lines are not supported" },
	{ P "allow = in tcp any port " LONG_PORTS "\n", 0,
	  "t.ini:3: line longer than 199 characters" },
	{ P "; " LONG_PORTS LONG_PORTS "\n", 0, "t.ini:3: line longer than 199 characters" },
	{ "[p]\ncgroup = /p\0junk\n", 18, "t.ini:2: NUL byte" },
	{ "\x7f" "ELF\x02\x01\x01\0\0\0", 10, "t.ini:1: control character 0x7f" },
	{ P "allow = in tcp any\x1b[0m\n", 0, "t.ini:3: control character 0x1b" },
	{ P "\xff\xfe\xfd\n", 0, "t.ini:3: invalid UTF-8" },
	{ P "; caf\xc3\n", 0, "t.ini:3: invalid UTF-8" },
	{ P "; \xed\xa0\x80 surrogate\n", 0, "t.ini:3: invalid UTF-8" },
	{ P "allow = in tcp any\rdeny = in tcp any\n", 0, "t.ini:3: control character 0x0d" },
	/* whole file */
	{ "", 0, "t.ini: empty policy file" },
	{ "; nothing but a comment\n\n", 0, "t.ini: no policy sections" },
	{ "[agent]\nstats_interval = 5\n", 0, "t.ini: no policy sections" },
	/* agent */
	{ "[agent]\npin_path = sys/fs/bpf\n" P, 0, "t.ini:2: bad pin_path 'sys/fs/bpf'" },
	{ "[agent]\nstats_interval = 86401\n" P, 0, "t.ini:2: bad stats_interval '86401' (seconds, 0-86400)" },
	{ "[agent]\nstats_interval = -1\n" P, 0, "t.ini:2: bad stats_interval '-1'" },
	{ "[agent]\nstats_interval = 10s\n" P, 0, "t.ini:2: bad stats_interval '10s'" },
	{ "[agent]\nstats_format = xml\n" P, 0, "t.ini:2: bad stats_format 'xml' (json or table)" },
	{ "[agent]\ncgroup = /x\n" P, 0, "t.ini:2: unknown key 'cgroup' in [agent]" },
	{ "[agent]\nstats_output = a b\n" P, 0, "t.ini:2: bad stats_output 'a b'" },
	/* reuseport */
	{ P "[reuseport r]\nport = 80\nbackend = p 50\nbackend = q 50\n", 0,
	  "t.ini:6: backend 'q' of [reuseport r] is not a policy section" },
	{ P "[reuseport r]\nport = 80\nbackend = agent 50\n[agent]\n", 0,
	  "t.ini:5: backend 'agent' of [reuseport r] is not a policy section" },
	{ P "[reuseport r]\nport = 80\nbackend = p 101\n", 0, "t.ini:5: bad weight '101' (0-100)" },
	{ P "[reuseport r]\nport = 80\nbackend = p -1\n", 0, "t.ini:5: bad weight '-1' (0-100)" },
	{ P "[reuseport r]\nport = 80\nbackend = p x\n", 0, "t.ini:5: bad weight 'x' (0-100)" },
	{ P "[reuseport r]\nport = 80\nbackend = p\n", 0, "t.ini:5: bad backend 'p' (expected: POLICY WEIGHT)" },
	{ P "[reuseport r]\nport = 80\nbackend = p 1 2\n", 0, "t.ini:5: bad backend" },
	{ P "[reuseport r]\nport = 80\nbackend = p 1\nbackend = p 2\n", 0,
	  "t.ini:6: duplicate backend 'p' in [reuseport r] (first at line 5)" },
	{ P "[reuseport r]\nbackend = p 1\n", 0, "t.ini:3: [reuseport r] missing port =" },
	{ P "[reuseport r]\nport = 80\n", 0, "t.ini:3: [reuseport r] needs at least one backend" },
	{ P "[reuseport r]\nport = 80\nbackend = p 0\n", 0, "t.ini:3: [reuseport r] all backend weights are 0" },
	{ P "[reuseport r]\nport = 0\n", 0, "t.ini:4: bad port '0' (1-65535)" },
	{ P "[reuseport r]\nport = 65536\n", 0, "t.ini:4: bad port '65536' (1-65535)" },
	{ P "[reuseport r]\nport = 80\nproto = icmp\n", 0, "t.ini:5: bad proto 'icmp' (tcp or udp)" },
	{ P "[reuseport r]\nport = 80\naddress = 10.0.0.0/8\n", 0, "t.ini:5: bad address '10.0.0.0/8'" },
	{ P "[reuseport r]\nport = 80\naddress = any\n", 0, "t.ini:5: bad address 'any'" },
	{ P "[reuseport r]\nport = 80\naddress = 10.0.0\n", 0, "t.ini:5: bad IPv4 address '10.0.0'" },
	{ P "[reuseport r]\nport = 80\nfoo = 1\n", 0, "t.ini:5: unknown key 'foo' in [reuseport r]" },
	{ P "[reuseport r]\nport = 80\nport = 81\n", 0, "t.ini:5: duplicate key 'port' in [reuseport r]" },
	{ P "[reuseport r]\nport = 80\nbackend = p 1\n[reuseport s]\nport = 80\nbackend = p 1\n", 0,
	  "t.ini:6: [reuseport s] has the same port, proto and address as [reuseport r] (line 3)" },
	/* lockout */
	{ P "lockout = yes\n", 0, "t.ini:3: bad lockout 'yes' (refuse or accept)" },
	{ P "lockout = accept\nlockout = refuse\n", 0, "t.ini:4: duplicate key 'lockout' in [p] (first at line 3)" },
	{ "[agent]\nlockout = accept\n", 0, "t.ini:2: unknown key 'lockout' in [agent]" },
	/* ICMP types */
	{ P "allow = in tcp any type 8\n", 0, "t.ini:3: 'type' needs proto icmp (not tcp)" },
	{ P "allow = in udp any type echo-request\n", 0, "t.ini:3: 'type' needs proto icmp (not udp)" },
	{ P "allow = in any any type 8\n", 0, "t.ini:3: 'type' needs proto icmp (not any)" },
	{ P "allow = in icmp any code 4\n", 0, "t.ini:3: 'code' needs a type before it" },
	{ P "allow = in icmp any type 256\n", 0, "t.ini:3: bad ICMP type '256' (0-255" },
	{ P "allow = in icmp any type 0x8\n", 0, "t.ini:3: bad ICMP type '0x8'" },
	{ P "allow = in icmp any type echo\n", 0, "t.ini:3: unknown ICMP type 'echo'" },
	{ P "allow = in icmp any type -1\n", 0, "t.ini:3: unknown ICMP type '-1'" },
	{ P "allow = in icmp any type\n", 0, "t.ini:3: 'type' needs an ICMP type" },
	{ P "allow = in icmp any type 3 code\n", 0, "t.ini:3: 'code' needs an ICMP code (0-255)" },
	{ P "allow = in icmp any type 3 code 256\n", 0, "t.ini:3: bad ICMP code '256' (0-255)" },
	{ P "allow = in icmp any type 3 code x\n", 0, "t.ini:3: bad ICMP code 'x'" },
	{ P "allow = in icmp any type 3 kode 4\n", 0, "t.ini:3: unexpected 'kode' after the ICMP type" },
	{ P "allow = in icmp any type 3 code 4 5\n", 0, "t.ini:3: unexpected '5' at end of rule" },
	{ P "allow = in icmp any type 3 port 80\n", 0, "t.ini:3: unexpected 'port' after the ICMP type" },
	{ P "allow = in icmp any port 80\n", 0, "t.ini:3: ports need tcp or udp (not icmp)" },
	{ P "allow = in icmp 10.0.0.0/8 type packet-too-big\n", 0,
	  "t.ini:3: ICMP type 'packet-too-big' is IPv6 (ICMPv6) only, the address '10.0.0.0/8' is IPv4" },
	{ P "allow = in icmp 2001:db8::/32 type fragmentation-needed\n", 0,
	  "t.ini:3: ICMP type 'fragmentation-needed' is IPv4 (ICMP) only, the address '2001:db8::/32' is IPv6" },
	{ P "allow = in icmp 1.2.3.4 type neighbor-solicitation\n", 0, "t.ini:3: ICMP type 'neighbor-solicitation' is IPv6" },
	{ P "allow = in icmp any type fragmentation-needed code 5\n", 0,
	  "t.ini:3: ICMP type 'fragmentation-needed' already has a code (4)" },
	{ P "allow = in icmp any type echo-request\ndeny = in icmp any type 300\n", 0, "t.ini:4: bad ICMP type '300'" },
	/* first error wins */
	{ P "allow = in tcp 1.2.3\nallow = up tcp any\n", 0, "t.ini:3: bad IPv4" },
	{ P "junk line\nallow = up tcp any\n", 0, "t.ini:3: not a key = value" },
	{ P "allow = up tcp any\njunk line\n", 0, "t.ini:3: unknown direction" },
	{ "[a]\n[b]\ncgroup = /b\n[b]\n", 0, "t.ini:1: [a] missing cgroup =" },
};

static void test_valid(void)
{
	for (size_t i = 0; i < sizeof(valid_cases) / sizeof(valid_cases[0]); i++) {
		const struct valid_case *vc = &valid_cases[i];
		struct cgp_config cfg;
		char err[512] = "", why[256] = "", name[160];
		int r;

		snprintf(name, sizeof(name), "valid: %s", vc->name);
		r = cgp_config_parse("t.ini", vc->text, strlen(vc->text), &cfg, err, sizeof(err));
		if (r != 0) {
			report(false, name, "parse failed: %s", err);
			continue;
		}
		report(vc->check(&cfg, why, sizeof(why)), name, "%s", why);
		cgp_config_free(&cfg);
	}
}

static void test_invalid(void)
{
	for (size_t i = 0; i < sizeof(invalid_cases) / sizeof(invalid_cases[0]); i++) {
		const struct invalid_case *ic = &invalid_cases[i];
		size_t len = ic->len ? ic->len : strlen(ic->text);
		struct cgp_config cfg;
		char err[512] = "", name[160];
		int r;

		snprintf(name, sizeof(name), "invalid #%zu: %s", i, ic->want);
		memset(&cfg, 0xa5, sizeof(cfg));
		r = cgp_config_parse("t.ini", ic->text, len, &cfg, err, sizeof(err));
		if (r != -1)
			report(false, name, "accepted");
		else if (!strstr(err, ic->want))
			report(false, name, "got \"%s\"", err);
		else if (cfg.policies || cfg.npolicies || cfg.reuseports || cfg.nreuseports)
			report(false, name, "config not freed/zeroed on failure");
		else
			report(true, name, "%s", "");
		if (r == 0)
			cgp_config_free(&cfg);
	}
}

/* ------------------------------------------------------------ limits */

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
		b->cap = b->cap ? b->cap * 2 : 4096;
		while (b->cap - b->n <= (size_t)n)
			b->cap *= 2;
		b->s = realloc(b->s, b->cap);
		if (!b->s) {
			perror("realloc");
			exit(2);
		}
	}
}

static int parse_sb(struct sbuf *b, struct cgp_config *cfg, char *err, size_t errlen)
{
	return cgp_config_parse("t.ini", b->s, b->n, cfg, err, errlen);
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void test_limits(void)
{
	struct cgp_config cfg;
	struct cgp_compiled cc;
	struct sbuf b = { 0 };
	char err[512] = "";
	double t0, t1, t2;
	int r;

	/* CGP_MAX_POLICIES policies ok, one more refused */
	for (int i = 0; i < CGP_MAX_POLICIES; i++)
		sb_printf(&b, "[p%d]\ncgroup = /p%d\n", i, i);
	r = parse_sb(&b, &cfg, err, sizeof(err));
	report(r == 0 && cfg.npolicies == CGP_MAX_POLICIES, "limit: 1023 policies accepted", "%s", err);
	cgp_config_free(&cfg);
	sb_printf(&b, "[last]\ncgroup = /last\n");
	r = parse_sb(&b, &cfg, err, sizeof(err));
	report(r == -1 && strstr(err, "t.ini:2047: too many policy sections (max 1023)"),
	       "limit: 1024th policy refused", "got \"%s\"", err);

	/* CGP_MAX_RULES rules ok and fast to compile, one more refused */
	b.n = 0;
	sb_printf(&b, "[big]\ncgroup = /big\ndefault_ingress = deny\n");
	for (int i = 0; i < CGP_MAX_RULES; i++)
		sb_printf(&b, "%s = in tcp 10.%d.%d.%d/%d port %d\n", i % 7 ? "allow" : "deny",
			  (i >> 16) & 255, (i >> 8) & 255, i & 255, 24 + i % 9, 1 + i % 2000);
	t0 = now_ms();
	r = parse_sb(&b, &cfg, err, sizeof(err));
	t1 = now_ms();
	report(r == 0 && cfg.policies[0].nrules == CGP_MAX_RULES, "limit: 100000 rules accepted",
	       "%s", err);
	if (r == 0) {
		r = cgp_compile("t.ini", &cfg.policies[0], 7, &cc, err, sizeof(err));
		t2 = now_ms();
		printf("# parse of 100000 rules: %.1f ms, compile: %.1f ms, %zu trie entries\n",
		       t1 - t0, t2 - t1, r == 0 ? cc.nlpm : 0);
		/* timing is printed, never asserted (bench/ measures speed) */
		report(r == 0 && cc.nlpm > 0, "compile: 100000 rules", "r=%d %s", r, err);
		if (r == 0)
			cgp_compiled_free(&cc);
		cgp_config_free(&cfg);
	}
	sb_printf(&b, "allow = out udp any\n");
	r = parse_sb(&b, &cfg, err, sizeof(err));
	report(r == -1 && strstr(err, "t.ini:100004: [big] has more than 100000 rules"),
	       "limit: 100001st rule refused", "got \"%s\"", err);

	/* more than CGP_MAX_PORT_BOUNDS boundaries for one (dir, proto) */
	b.n = 0;
	sb_printf(&b, "[ok]\ncgroup = /ok\n[p]\ncgroup = /p\n");
	for (int i = 0; i < 2048; i++)		/* 4096 bounds: {2i+1, 2i+2} */
		sb_printf(&b, "allow = in tcp any port %d\n", 2 * i + 1);
	r = parse_sb(&b, &cfg, err, sizeof(err));
	if (r == 0) {
		r = cgp_compile("t.ini", &cfg.policies[1], 1, &cc, err, sizeof(err));
		report(r == 0 && cc.nportmaps == 1 && cc.portmaps[0].map.n == 4096,
		       "compile: exactly 4096 port boundaries accepted", "r=%d %s", r, err);
		if (r == 0)
			cgp_compiled_free(&cc);
		cgp_config_free(&cfg);
	} else {
		report(false, "compile: exactly 4096 port boundaries accepted", "%s", err);
	}
	sb_printf(&b, "deny = both tcp 10.0.0.0/8 port 60000\n");
	r = parse_sb(&b, &cfg, err, sizeof(err));
	if (r == 0) {
		memset(&cc, 0x5a, sizeof(cc));
		r = cgp_compile("t.ini", &cfg.policies[1], 1, &cc, err, sizeof(err));
		report(r == -1 && !strcmp(err, "t.ini:3: policy [p] has more than 4096 distinct port "
					  "boundaries for in tcp") && !cc.lpm && !cc.portmaps,
		       "compile: 4097 port boundaries refused", "r=%d \"%s\"", r, err);
		cgp_config_free(&cfg);
	} else {
		report(false, "compile: 4097 port boundaries refused", "%s", err);
	}
	free(b.s);
}

/* ------------------------------------------------------------ files */

static void test_files(void)
{
	char path[] = "/tmp/test_policy_XXXXXX";
	struct cgp_config cfg;
	char err[512], want[600];
	int fd, r;
	const char *ok = "[p]\ncgroup = /p\nallow = in tcp any port 22\n";

	fd = mkstemp(path);
	if (fd < 0) {
		report(false, "files: mkstemp", "%s", strerror(errno));
		return;
	}
	close(fd);

	r = cgp_config_load(path, &cfg, err, sizeof(err));
	snprintf(want, sizeof(want), "%s: empty policy file", path);
	report(r == -1 && !strcmp(err, want), "files: empty file", "got \"%s\"", err);

	fd = open(path, O_WRONLY | O_TRUNC);
	if (fd < 0 || write(fd, ok, strlen(ok)) != (ssize_t)strlen(ok))
		report(false, "files: write", "%s", strerror(errno));
	if (fd >= 0)
		close(fd);
	r = cgp_config_load(path, &cfg, err, sizeof(err));
	report(r == 0 && cfg.npolicies == 1 && !strcmp(cfg.file, path) &&
	       cfg.policies[0].rules[0].line == 3, "files: valid file", "r=%d %s", r, err);
	if (r == 0)
		cgp_config_free(&cfg);

	fd = open(path, O_WRONLY | O_APPEND);
	if (fd < 0 || write(fd, "bogus\n", 6) != 6)
		report(false, "files: append", "%s", strerror(errno));
	if (fd >= 0)
		close(fd);
	r = cgp_config_load(path, &cfg, err, sizeof(err));
	snprintf(want, sizeof(want), "%s:4: not a key = value line or [section] header", path);
	report(r == -1 && !strcmp(err, want), "files: error names the file and line", "got \"%s\"", err);

	if (truncate(path, (off_t)CGP_MAX_FILE_SIZE + 1) == 0) {
		r = cgp_config_load(path, &cfg, err, sizeof(err));
		report(r == -1 && strstr(err, "larger than"), "files: too large", "got \"%s\"", err);
	}

	if (geteuid() != 0) {
		chmod(path, 0);
		r = cgp_config_load(path, &cfg, err, sizeof(err));
		report(r == -1 && strstr(err, "Permission denied"), "files: unreadable",
		       "got \"%s\"", err);
	}
	unlink(path);

	r = cgp_config_load(path, &cfg, err, sizeof(err));
	snprintf(want, sizeof(want), "%s: cannot open: No such file or directory", path);
	report(r == -1 && !strcmp(err, want), "files: missing file", "got \"%s\"", err);

	r = cgp_config_load("/tmp", &cfg, err, sizeof(err));
	report(r == -1 && strstr(err, "/tmp: is a directory"), "files: directory", "got \"%s\"", err);
}

/* ------------------------------------------------------------ cgp_parse_addr */

static void test_parse_addr(void)
{
	uint8_t a[16], w[16];
	uint8_t plen;
	bool v4;
	bool ok = true;

	ok &= cgp_parse_addr("192.0.2.1/24", a, &plen, &v4) == 0 && plen == 120 && v4;
	v4map(w, 192, 0, 2, 0);
	ok &= !memcmp(a, w, 16);
	ok &= cgp_parse_addr("any", a, &plen, &v4) == 0 && plen == 0 && !v4 && is_zero(a, 16);
	ok &= cgp_parse_addr("2001:db8::1", a, &plen, &v4) == 0 && plen == 128 && !v4;
	ok &= cgp_parse_addr("2001:db8::1/", a, &plen, &v4) == -1;
	ok &= cgp_parse_addr("300.1.1.1", a, &plen, &v4) == -1;
	ok &= cgp_parse_addr("", a, &plen, &v4) == -1;
	report(ok, "cgp_parse_addr", "%s", "mismatch");
	report(!strcmp(cgp_verdict_str(CGP_ALLOW), "allow") && !strcmp(cgp_verdict_str(CGP_DENY), "deny") &&
	       !strcmp(cgp_proto_str(CGP_PROTO_ICMP), "icmp") &&
	       !strcmp(cgp_proto_str(CGP_RULE_PROTO_ANY), "any"), "verdict/proto strings", "%s", "mismatch");
}

/* ------------------------------------------------------------ FILE:LINE formatter */

static void test_fileline(void)
{
	char b[64], big[64], small[8];
	FILE *f = tmpfile();
	bool ok = true;
	int n;

	n = cgp_fileline_snprintf(b, sizeof(b), "p.ini", 7, "bad %s '%d'", "port", 0);
	ok &= n == (int)strlen("p.ini:7: bad port '0'") && !strcmp(b, "p.ini:7: bad port '0'");
	n = cgp_fileline_snprintf(b, sizeof(b), "p.ini", 0, "no policy sections");
	ok &= !strcmp(b, "p.ini: no policy sections") && n == (int)strlen(b);
	n = cgp_fileline_snprintf(small, sizeof(small), "p.ini", 12, "%s", "message");
	ok &= !strcmp(small, "p.ini:1") && n == (int)strlen("p.ini:12: message");
	n = cgp_fileline_snprintf(small, sizeof(small), "p.i", 1, "%s", "message");
	ok &= !strcmp(small, "p.i:1: ") && n == (int)strlen("p.i:1: message");
	ok &= cgp_fileline_snprintf(NULL, 0, "p.ini", 1, "x") == 0;
	if (f) {
		n = cgp_fileline_fprintf(f, "p.ini", 3, "[%s]: gone\n", "web");
		rewind(f);
		ok &= fgets(big, sizeof(big), f) && !strcmp(big, "p.ini:3: [web]: gone\n") &&
		      n == (int)strlen(big);
		fclose(f);
	} else {
		ok = false;
	}
	report(ok, "FILE:LINE formatter (line, no line, cut, NULL buffer, stream)", "got \"%s\"", b);
}

/* ------------------------------------------------------------ compiler */

static int parse_text(const char *text, struct cgp_config *cfg)
{
	char err[512];

	if (cgp_config_parse("t.ini", text, strlen(text), cfg, err, sizeof(err)) < 0) {
		printf("# parse error: %s\n", err);
		return -1;
	}
	return 0;
}

static void test_compile_basic(void)
{
	struct cgp_config cfg;
	struct cgp_compiled cc, cc2;
	char err[512];
	uint8_t a[16];
	const char *text =
		"[p]\ncgroup = /p\ndefault_ingress = deny\naccelerate = on\nstats = off\n"
		"allow = in tcp any port 80,443\n"		/* 6 */
		"deny = in tcp any port 443\n"			/* 7 */
		"allow = in tcp any port 100-200\n"		/* 8 */
		"allow = in tcp any port 150-300\n"		/* 9 */
		"allow = both any 10.0.0.0/8\n"			/* 10 */
		"deny = in tcp 10.0.0.0/8\n"			/* 11 */
		"allow = in tcp 10.0.0.0/8\n";			/* 12 */
	int r;

	if (parse_text(text, &cfg) < 0) {
		report(false, "compile: basic", "parse");
		return;
	}
	r = cgp_compile("t.ini", &cfg.policies[0], 42, &cc, err, sizeof(err));
	if (r < 0) {
		report(false, "compile: basic", "%s", err);
		cgp_config_free(&cfg);
		return;
	}
	report(cc.pol.configured == 1 && cc.pol.def[CGP_DIR_IN] == CGP_DENY &&
	       cc.pol.def[CGP_DIR_OUT] == CGP_ALLOW && cc.pol.flags == CGP_POL_F_ACCELERATE &&
	       cc.pol.nrules == 7, "compile: pol fields", "flags %u nrules %u", cc.pol.flags,
	       cc.pol.nrules);
	{
		/* bounds: 80,81,443,444,100,201,150,301 -> 80 81 100 150 201 301 443 444 */
		static const uint16_t want[] = { 80, 81, 100, 150, 201, 301, 443, 444 };
		bool ok = cc.nportmaps == 1 && cc.portmaps[0].key.slot == 42 &&
			  cc.portmaps[0].key.dir == CGP_DIR_IN && cc.portmaps[0].key.proto == CGP_PROTO_TCP &&
			  cc.portmaps[0].map.n == 8 && !memcmp(cc.portmaps[0].map.bound, want, sizeof(want)) &&
			  is_zero(&cc.portmaps[0].map.bound[8], sizeof(uint16_t) * (CGP_MAX_PORT_BOUNDS - 8));
		report(ok, "compile: portmap bounds", "nportmaps %zu n %u", cc.nportmaps,
		       cc.nportmaps ? cc.portmaps[0].map.n : 0);
	}
	{
		/* every entry well formed, sorted, unique */
		bool ok = true;
		for (size_t i = 0; i < cc.nlpm; i++) {
			const struct cgp_lpm_entry *e = &cc.lpm[i];
			ok &= e->key.slot == 42 && e->key.pad == 0 && e->val.pad == 0;
			ok &= e->key.prefixlen == (uint32_t)CGP_LPM_FIXED_BITS + e->val.plen;
			if (i)
				ok &= cgp_lpm_key_cmp(&cc.lpm[i - 1].key, &e->key) < 0;
		}
		report(ok, "compile: entries sorted, unique, well formed", "%s", "bad entry");
	}
	{
		/* dedupe: 10.0.0.0/8 in tcp cls 0 has allow@10 (any), deny@11, allow@12 -> deny@11 */
		const struct cgp_lpm_entry *hit = NULL;
		int n = 0;
		v4map(a, 10, 0, 0, 0);
		for (size_t i = 0; i < cc.nlpm; i++) {
			const struct cgp_lpm_entry *e = &cc.lpm[i];
			if (e->key.dir == CGP_DIR_IN && e->key.proto == CGP_PROTO_TCP && e->key.cls == 0 &&
			    e->val.plen == 104 && !memcmp(e->key.addr, a, 16)) {
				hit = e;
				n++;
			}
		}
		report(n == 1 && hit->val.verdict == CGP_DENY && hit->val.line == 11,
		       "compile: identical keys merge, deny wins, its line kept", "n=%d", n);
		/* 443 in class of [443,444): allow@6 and deny@7 -> deny@7 */
		n = 0;
		for (size_t i = 0; i < cc.nlpm; i++) {
			const struct cgp_lpm_entry *e = &cc.lpm[i];
			if (e->key.cls == 1 + 7) {
				hit = e;
				n++;
			}
		}
		report(n == 1 && hit->val.verdict == CGP_DENY && hit->val.line == 7 && hit->val.plen == 0,
		       "compile: port class entries merge", "n=%d", n);
	}
	{
		uint8_t x[16];
		bool ok = true;
		v4map(x, 192, 0, 2, 1);
		ok &= cgp_compiled_eval(&cc, CGP_DIR_IN, CGP_PROTO_TCP, x, 80) == CGP_ALLOW;
		ok &= cgp_compiled_eval(&cc, CGP_DIR_IN, CGP_PROTO_TCP, x, 81) == CGP_DENY;
		ok &= cgp_compiled_eval(&cc, CGP_DIR_IN, CGP_PROTO_TCP, x, 443) == CGP_DENY;
		ok &= cgp_compiled_eval(&cc, CGP_DIR_IN, CGP_PROTO_TCP, x, 250) == CGP_ALLOW;
		ok &= cgp_compiled_eval(&cc, CGP_DIR_IN, CGP_PROTO_TCP, x, 0) == CGP_DENY;
		ok &= cgp_compiled_eval(&cc, CGP_DIR_IN, CGP_PROTO_UDP, x, 80) == CGP_DENY;
		ok &= cgp_compiled_eval(&cc, CGP_DIR_OUT, CGP_PROTO_UDP, x, 80) == CGP_ALLOW;
		v4map(x, 10, 9, 9, 9);
		/* /8 deny (no ports, longer prefix) beats `any port 80` */
		ok &= cgp_compiled_eval(&cc, CGP_DIR_IN, CGP_PROTO_TCP, x, 80) == CGP_DENY;
		ok &= cgp_compiled_eval(&cc, CGP_DIR_IN, CGP_PROTO_UDP, x, 80) == CGP_ALLOW;
		ok &= cgp_compiled_eval(&cc, CGP_DIR_IN, CGP_PROTO_OTHER, x, 0) == CGP_ALLOW;
		report(ok, "compile: eval spot checks", "%s", "mismatch");
	}
	r = cgp_compile("t.ini", &cfg.policies[0], 42, &cc2, err, sizeof(err));
	report(r == 0 && cc2.nlpm == cc.nlpm && !memcmp(cc.lpm, cc2.lpm, cc.nlpm * sizeof(*cc.lpm)) &&
	       cc2.nportmaps == cc.nportmaps &&
	       !memcmp(cc.portmaps, cc2.portmaps, cc.nportmaps * sizeof(*cc.portmaps)),
	       "compile: deterministic", "%s", "differs");
	if (r == 0)
		cgp_compiled_free(&cc2);
	cgp_compiled_free(&cc);
	cgp_compiled_free(&cc);		/* idempotent */
	cgp_config_free(&cfg);
	cgp_config_free(&cfg);

	/* a policy without rules: no entries, defaults only */
	if (parse_text("[e]\ncgroup = /e\ndefault_egress = deny\n", &cfg) == 0) {
		uint8_t x[16] = { 0 };
		r = cgp_compile("t.ini", &cfg.policies[0], 1, &cc, err, sizeof(err));
		report(r == 0 && cc.nlpm == 0 && cc.nportmaps == 0 && cc.pol.flags == CGP_POL_F_STATS &&
		       cgp_compiled_eval(&cc, CGP_DIR_OUT, CGP_PROTO_TCP, x, 1) == CGP_DENY &&
		       cgp_compiled_eval(&cc, CGP_DIR_IN, CGP_PROTO_TCP, x, 1) == CGP_ALLOW,
		       "compile: empty policy", "r=%d", r);
		if (r == 0)
			cgp_compiled_free(&cc);
		cgp_config_free(&cfg);
	}
}

/* ICMP types: port classes per family, precedence with typeless rules. */
static void test_compile_icmp(void)
{
	struct cgp_config cfg;
	struct cgp_compiled cc;
	char err[512];
	const char *text =
		"[p]\ncgroup = /p\ndefault_ingress = deny\n"
		"allow = in icmp any type echo-request\n"		/* 4 */
		"deny = in icmp 10.0.0.0/8 type echo-request\n"	/* 5 */
		"allow = in icmp 10.1.0.0/16\n"			/* 6 */
		"allow = in icmp any type fragmentation-needed\n"	/* 7 */
		"allow = in icmp any type 0\n"				/* 8 */
		"deny = in icmp 10.3.0.0/16 type 0 code 7\n"		/* 9 */
		"allow = in icmp 10.3.0.0/16\n";			/* 10 */
	static const struct {
		const char *addr;
		uint8_t proto;
		uint32_t port;
		int want;
	} probes[] = {
		{ "11.1.1.1", CGP_PROTO_ICMP, 0x0800, CGP_ALLOW },
		{ "2001:db8::1", CGP_PORTPROTO_ICMP6, 0x8000, CGP_ALLOW },
		{ "2001:db8::1", CGP_PORTPROTO_ICMP6, 0x0800, CGP_DENY },	/* v6 type 8 */
		{ "11.1.1.1", CGP_PROTO_ICMP, 0x8000, CGP_DENY },		/* v4 type 128 */
		{ "10.2.0.1", CGP_PROTO_ICMP, 0x0800, CGP_DENY },		/* /8 deny beats any */
		{ "10.1.2.3", CGP_PROTO_ICMP, 0x0800, CGP_ALLOW },		/* typeless /16 is longer */
		{ "10.1.2.3", CGP_PROTO_ICMP, CGP_NO_ICMP_TYPE, CGP_ALLOW },
		{ "11.1.1.1", CGP_PROTO_ICMP, 0x0304, CGP_ALLOW },
		{ "11.1.1.1", CGP_PROTO_ICMP, 0x0303, CGP_DENY },
		{ "2001:db8::1", CGP_PORTPROTO_ICMP6, 0x0304, CGP_DENY },
		{ "11.1.1.1", CGP_PROTO_ICMP, 0x0000, CGP_ALLOW },
		{ "2001:db8::1", CGP_PORTPROTO_ICMP6, 0x0001, CGP_ALLOW },	/* type 0 code 1, both */
		{ "11.1.1.1", CGP_PROTO_ICMP, 0x00ff, CGP_ALLOW },
		{ "11.1.1.1", CGP_PROTO_ICMP, 0x0100, CGP_DENY },
		{ "11.1.1.1", CGP_PROTO_ICMP, CGP_NO_ICMP_TYPE, CGP_DENY },	/* no header: no type */
		{ "10.3.0.1", CGP_PROTO_ICMP, 0x0007, CGP_DENY },		/* typed beats typeless */
		{ "10.3.0.1", CGP_PROTO_ICMP, 0x0008, CGP_ALLOW },
		{ "10.3.0.1", CGP_PROTO_ICMP, 0x0800, CGP_ALLOW },		/* /16 typeless over /0 */
	};
	unsigned bad = 0, n6 = 0, nmaps = 0;
	char first[200] = "";

	if (parse_text(text, &cfg) < 0) {
		report(false, "compile: icmp types", "parse");
		return;
	}
	if (cgp_compile("t.ini", &cfg.policies[0], 7, &cc, err, sizeof(err)) < 0) {
		report(false, "compile: icmp types", "%s", err);
		cgp_config_free(&cfg);
		return;
	}
	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		uint8_t a[16];
		int got;

		if (strchr(probes[i].addr, ':')) {
			inet_pton(AF_INET6, probes[i].addr, a);
		} else {
			unsigned x[4];
			sscanf(probes[i].addr, "%u.%u.%u.%u", &x[0], &x[1], &x[2], &x[3]);
			v4map(a, x[0], x[1], x[2], x[3]);
		}
		got = cgp_compiled_eval(&cc, CGP_DIR_IN, probes[i].proto, a, probes[i].port);
		if (got != probes[i].want && !bad++)
			snprintf(first, sizeof(first), "probe %zu (%s %#x): got %d", i, probes[i].addr,
				 probes[i].port, got);
	}
	report(!bad, "compile: icmp types, both families, precedence (18 probes)", "%u wrong; first %s",
	       bad, first);
	for (size_t i = 0; i < cc.nportmaps; i++)
		nmaps += cc.portmaps[i].key.dir == CGP_DIR_IN &&
			 (cc.portmaps[i].key.proto == CGP_PROTO_ICMP ||
			  cc.portmaps[i].key.proto == CGP_PORTPROTO_ICMP6);
	for (size_t i = 0; i < cc.nlpm; i++)
		n6 += cc.lpm[i].key.proto == CGP_PROTO_ICMP && cc.lpm[i].key.cls > CGP_ICMP6_CLS_BASE;
	report(cc.nportmaps == 2 && nmaps == 2 && n6 > 0,
	       "compile: icmp types: one port map per family, ICMPv6 classes above the base",
	       "nportmaps %zu, icmp %u, v6 entries %u", cc.nportmaps, nmaps, n6);
	cgp_compiled_free(&cc);
	cgp_config_free(&cfg);
}

/* No lock-out by mistake: policy/lockout.c against a given mount and own cgroup. */
static void test_lockout(void)
{
	static const struct {
		const char *cgroup, *defs, *self;
		bool accept;
		int want;
	} cases[] = {
		{ "/", "default_ingress = deny", "/user.slice/s.scope", false, 1 },
		{ "/", "default_egress = deny", NULL, false, 1 },		/* own cgroup unknown */
		{ "/", "default_ingress = allow", "/", false, 0 },
		{ "/", "default_egress = deny", "/", true, 0 },
		{ "/sys/fs/cgroup/unified", "default_egress = deny", "/a", false, 1 },	/* the mount */
		{ "/sys/fs/cgroup/unified/user.slice", "default_egress = deny", "/user.slice/b", false, 1 },
		{ "/user.slice", "default_ingress = deny", "/user.slice/user-0.slice/session-1.scope", false, 1 },
		{ "/user.slice/user-0.slice/session-1.scope", "default_egress = deny",
		  "/user.slice/user-0.slice/session-1.scope", false, 1 },
		{ "/user.slice/user-0.slice/session-1.scope/sub", "default_egress = deny",
		  "/user.slice/user-0.slice/session-1.scope", false, 0 },	/* below us */
		{ "/user.slice/user-1.slice", "default_egress = deny", "/user.slice/user-0.slice/s", false, 0 },
		{ "/user", "default_egress = deny", "/user.slice/s", false, 0 },	/* a prefix, not a component */
		{ "/user.slice", "default_egress = deny", "/user.slice/s", true, 0 },
		{ "/user.slice", "default_ingress = allow", "/user.slice/s", false, 0 },
		{ "/user.slice", "default_egress = deny", NULL, false, 0 },
		{ "/", "default_egress = deny\nmode = audit", "/", false, 0 },	/* audit drops nothing */
		{ "/user.slice/*", "default_egress = deny", "/user.slice/user-0.slice/s", false, 1 },
		{ "/*", "default_ingress = deny", "/system.slice/sshd.service", false, 1 },
		{ "/*/ssh?.service", "default_ingress = deny", "/system.slice/sshd.service", false, 1 },
		{ "/*/ssh?.service/x", "default_ingress = deny", "/system.slice/sshd.service", false, 0 },
		{ "/system.slice/*", "default_ingress = deny", "/user.slice/s", false, 0 },
		{ "/user.slice/*/foo", "default_ingress = deny", "/user.slice/u/s", false, 0 },
		{ "/*", "default_ingress = deny", "/.hidden/s", false, 0 },	/* a wildcard never matches a leading '.' */
	};
	unsigned bad = 0;
	char first[600] = "";

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[512], msg[1024] = "";
		struct cgp_config cfg;
		int got;

		snprintf(text, sizeof(text), "[agent]\n[p]\ncgroup = %s\n%s\n%s", cases[i].cgroup,
			 cases[i].defs, cases[i].accept ? "lockout = accept\n" : "");
		if (parse_text(text, &cfg) < 0) {
			bad++;
			continue;
		}
		got = cgp_lockout_check("t.ini", &cfg.policies[0], "/sys/fs/cgroup/unified", cases[i].self,
					msg, sizeof(msg));
		if (got != cases[i].want || (got && (strncmp(msg, "t.ini:2: [p] ", 13) ||
						     !strstr(msg, "lockout = accept")))) {
			if (!bad)
				snprintf(first, sizeof(first), "case %zu (%s, self %s): got %d \"%s\"", i,
					 cases[i].cgroup, cases[i].self ? cases[i].self : "-", got, msg);
			bad++;
		}
		cgp_config_free(&cfg);
	}
	report(!bad, "lockout: root cgroup, own cgroup and its ancestors, globs, lockout = accept, audit (22 cases)",
	       "%u wrong; first: %s", bad, first);
}

/* ---- randomized: compiled encoding vs brute force over the original rules ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 16);
}

static unsigned rn(unsigned n)
{
	return rnd() % n;
}

struct orule {
	uint8_t verdict, dirs, proto, plen;
	uint8_t addr[16];
	unsigned nports;
	uint16_t lo[8], hi[8];
	bool typed;			/* icmp with a type: */
	int t[2], code[2];		/* per family (v4, v6): type, -1 none; code, -1 any */
};

static bool is_v4m(const uint8_t a[16])
{
	static const uint8_t m[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	return !memcmp(a, m, 12);
}

static bool oprefix(const uint8_t *a, const uint8_t *net, unsigned plen)
{
	for (unsigned b = 0; b < plen; b++) {
		unsigned m = 0x80u >> (b % 8);
		if ((a[b / 8] & m) != (net[b / 8] & m))
			return false;
	}
	return true;
}

/* precedence: longest prefix, then ports (ICMP: a type) beat no ports, then deny.
 * ICMP: proto CGP_PROTO_ICMP with fam 0/1, port = type << 8 | code (above 0xffff: none). */
static int oracle(const struct orule *rs, unsigned n, const uint8_t def[2], uint8_t dir,
		  uint8_t proto, const uint8_t addr[16], uint32_t port, int fam)
{
	int best = -1, bplen = -1, bports = 0;

	for (unsigned i = 0; i < n; i++) {
		const struct orule *r = &rs[i];
		int hasp = r->nports > 0 || r->typed;
		bool in = false;

		if (!(r->dirs & (1u << dir)))
			continue;
		if (r->proto != CGP_RULE_PROTO_ANY && r->proto != proto)
			continue;
		if (!oprefix(addr, r->addr, r->plen))
			continue;
		for (unsigned k = 0; k < r->nports; k++)
			in |= port >= r->lo[k] && port <= r->hi[k];
		if (r->typed && port <= 0xffff && r->t[fam] == (int)(port >> 8))
			in = r->code[fam] < 0 || r->code[fam] == (int)(port & 0xff);
		if (hasp && !in)
			continue;
		if (r->plen > bplen || (r->plen == bplen && hasp > bports) ||
		    (r->plen == bplen && hasp == bports && r->verdict == CGP_DENY)) {
			best = r->verdict;
			bplen = r->plen;
			bports = hasp;
		}
	}
	return best < 0 ? def[dir] : best;
}

/* random address from a small pool so prefixes overlap */
static void rand_addr(uint8_t a[16], bool *v4)
{
	unsigned k = rn(10);

	if (k < 6) {
		v4map(a, rn(4) == 0 ? 192 : 10, rn(3), rn(3), rn(4) * 64 + rn(3));
		*v4 = true;
	} else {
		memset(a, 0, 16);
		a[0] = 0x20; a[1] = 0x01; a[2] = 0x0d; a[3] = 0xb8;
		a[4] = (uint8_t)rn(3);
		a[8] = (uint8_t)(rn(2) << 7);
		a[15] = (uint8_t)rn(4);
		if (k == 9) {			/* ::1 */
			memset(a, 0, 16);
			a[15] = 1;
		}
		*v4 = false;
	}
}

static uint16_t rand_port(void)
{
	switch (rn(4)) {
	case 0: return (uint16_t)(1 + rn(30));
	case 1: return (uint16_t)(65530 + rn(6));
	case 2: return (uint16_t)(1 + rn(65535));
	default: return (uint16_t)(1000 + rn(40));
	}
}

/* cgp_decide with ICMP types and address sets: the step, the set member, the exclusion; verdicts
 * as cgp_compiled_eval_sets (ICMPv6: its port proto) over random probes. */
static void test_explain_sets_icmp(void)
{
	const char *text =
		"[set office]\naddress = 10.1.0.0/16\naddress = !10.1.99.0/24\naddress = 2001:db8:1::/48\n"	/* 2-4 */
		"[set block]\ndynamic = yes\naddress = 10.1.5.0/24\n"					/* 5-7 */
		"[p]\ncgroup = /p\ndefault_ingress = deny\n"						/* 8-10 */
		"allow = in tcp @office port 22\n"			/* 11 */
		"deny = in any @block\n"				/* 12 */
		"allow = in tcp 10.0.0.0/8\n"				/* 13 */
		"allow = in icmp any type echo-request\n"		/* 14 */
		"deny = in icmp 10.1.0.0/16 type echo-request\n"	/* 15 */
		"allow = in icmp @office\n"				/* 16 */
		"allow = in icmp 10.0.0.0/8 type 3 code 4\n";		/* 17 */
	static const struct {
		const char *addr;
		uint8_t proto;
		uint32_t port;
		uint8_t verdict;
		uint32_t line;
		enum cgp_why why;
		int member_plen;	/* shown: the set rule's member /N; -1 not a set rule */
	} cases[] = {
		{ "10.1.2.3", CGP_PROTO_TCP, 22, CGP_ALLOW, 11, CGP_WHY_SET_MEMBER, 112 },
		{ "10.1.99.3", CGP_PROTO_TCP, 22, CGP_ALLOW, 13, CGP_WHY_SET_EXCLUDED, -1 },
		{ "10.1.5.3", CGP_PROTO_TCP, 22, CGP_DENY, 12, CGP_WHY_SET_MEMBER, 120 },
		{ "10.1.2.3", CGP_PROTO_TCP, 80, CGP_ALLOW, 13, CGP_WHY_PREFIX, -1 },
		{ "11.0.0.1", CGP_PROTO_ICMP, 8 << 8, CGP_ALLOW, 14, CGP_WHY_PREFIX, -1 },
		{ "11.0.0.1", CGP_PROTO_ICMP, 0 << 8, CGP_DENY, 0, CGP_WHY_DEFAULT, -1 },
		{ "2001:db9::1", CGP_PROTO_ICMP, 128 << 8, CGP_ALLOW, 14, CGP_WHY_PREFIX, -1 },
		{ "2001:db9::1", CGP_PROTO_ICMP, 8 << 8, CGP_DENY, 0, CGP_WHY_DEFAULT, -1 },
		{ "2001:db8:1::1", CGP_PROTO_ICMP, 1 << 8, CGP_ALLOW, 16, CGP_WHY_SET_MEMBER, 48 },
		{ "10.1.2.3", CGP_PROTO_ICMP, 8 << 8, CGP_DENY, 15, CGP_WHY_PORT, -1 },
		{ "10.1.2.3", CGP_PROTO_ICMP, 0 << 8, CGP_ALLOW, 16, CGP_WHY_SET_MEMBER, 112 },
		{ "10.1.99.3", CGP_PROTO_ICMP, 0 << 8, CGP_DENY, 0, CGP_WHY_SET_EXCLUDED, -1 },
		{ "10.9.0.1", CGP_PROTO_ICMP, 3 << 8 | 4, CGP_ALLOW, 17, CGP_WHY_PREFIX, -1 },
		{ "10.9.0.1", CGP_PROTO_ICMP, CGP_NO_ICMP_TYPE, CGP_DENY, 0, CGP_WHY_DEFAULT, -1 },
	};
	struct cgp_config cfg;
	struct cgp_compiled cc;
	struct cgp_compiled_sets cs;
	struct cgp_lpm_entry *setm = NULL;
	size_t nsetm = 0;
	struct cgp_lookup lk;
	char err[512];
	int bad = 0;

	if (parse_text(text, &cfg) < 0) {
		report(false, "explain sets/icmp: parse", "parse");
		return;
	}
	for (unsigned i = 0; i < cfg.nsets; i++) {
		struct cgp_lpm_entry *m;
		size_t nm;

		if (cgp_set_flatten(&cfg, i, &m, &nm))
			break;
		setm = realloc(setm, (nsetm + nm + 1) * sizeof(*setm));
		memcpy(setm + nsetm, m, nm * sizeof(*m));
		nsetm += nm;
		free(m);
	}
	if (cgp_compile("t.ini", &cfg.policies[0], 1, &cc, err, sizeof(err)) < 0) {
		report(false, "explain sets/icmp: compile", "%s", err);
		cgp_config_free(&cfg);
		free(setm);
		return;
	}
	cs = (struct cgp_compiled_sets){ &cc, setm, nsetm };
	lk = cgp_compiled_lookup(&cs);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cgp_decision d;
		uint8_t a[16], plen;
		bool v4;
		int mp;

		cgp_parse_addr(cases[i].addr, a, &plen, &v4);
		cgp_decide(&lk, &cc.pol, &cfg.policies[0], CGP_DIR_IN, cases[i].proto, a, cases[i].port, &d);
		mp = d.set >= 0 ? d.sets[d.set].m.plen : -1;
		report(d.verdict == cases[i].verdict && d.line == cases[i].line && d.why == cases[i].why &&
		       mp == cases[i].member_plen,
		       tap_name("explain: in %s %s port 0x%x: %s by line %u (%s)", cgp_proto_str(cases[i].proto),
				cases[i].addr, cases[i].port, cgp_verdict_str(cases[i].verdict), cases[i].line,
				cgp_why_str(cases[i].why)),
		       "got %s line %u %s member /%d", cgp_verdict_str(d.verdict), d.line, cgp_why_str(d.why), mp);
	}
	for (int q = 0; q < 5000; q++) {
		uint8_t a[16] = { [10] = 0xff, [11] = 0xff, [12] = (uint8_t)(10 + rn(2)), [13] = (uint8_t)rn(3),
				  [14] = (uint8_t)(rn(2) ? 99 : rn(8)), [15] = (uint8_t)rn(256) };
		uint8_t dir = (uint8_t)rn(2), proto = (uint8_t)rn(4), eproto = proto;
		uint32_t port = (uint32_t)(rn(2) ? 22 + rn(60) : rn(65536));
		struct cgp_decision d;

		if (rn(3) == 0) {	/* IPv6: 2001:db8:0..2::x */
			static const uint8_t v6[6] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0 };

			memset(a, 0, 16);
			memcpy(a, v6, 6);
			a[5] = (uint8_t)rn(3);
			a[15] = (uint8_t)rn(256);
			if (proto == CGP_PROTO_ICMP)
				eproto = CGP_PORTPROTO_ICMP6;
		}
		if (proto == CGP_PROTO_ICMP && rn(2))
			port = (uint32_t)(rn(2) ? (rn(2) ? 8 : 128) : rn(256)) << 8 | (uint32_t)rn(2) * 4;
		if (proto == CGP_PROTO_ICMP && rn(10) == 0)
			port = CGP_NO_ICMP_TYPE;
		cgp_decide(&lk, &cc.pol, &cfg.policies[0], dir, proto, a, port, &d);
		bad += d.verdict != cgp_compiled_eval_sets(&cc, setm, nsetm, dir, eproto, a, port);
	}
	report(!bad, "explain sets/icmp: 5000 random probes, cgp_decide's verdict = cgp_compiled_eval_sets",
	       "%d differ", bad);
	cgp_compiled_free(&cc);
	cgp_config_free(&cfg);
	free(setm);
}

/* cgp_decide over compiled entries: the deciding line and step, and the verdict of cgp_compiled_eval. */
static void test_explain(void)
{
	const char *text =
		"[p]\ncgroup = /p\ndefault_ingress = deny\n"
		"allow = in tcp 10.0.0.0/8\n"			/* 4 */
		"allow = in tcp 10.1.0.0/16 port 80\n"		/* 5 */
		"deny = in tcp 10.1.0.0/16 port 80\n"		/* 6 */
		"deny = in tcp 10.2.0.0/16\n"			/* 7 */
		"allow = in tcp 10.2.0.0/16 port 22\n"		/* 8 */
		"allow = in tcp 10.3.0.0/16 port 22\n"		/* 9 */
		"deny = in any 10.3.3.0/24\n";			/* 10 */
	static const struct {
		const char *addr;
		uint16_t port;
		uint8_t verdict;
		uint32_t line;
		enum cgp_why why;
		uint32_t tie;
	} cases[] = {
		{ "11.0.0.1", 80, CGP_DENY, 0, CGP_WHY_DEFAULT, 0 },
		{ "10.9.0.1", 80, CGP_ALLOW, 4, CGP_WHY_PREFIX, 0 },
		{ "10.1.0.1", 80, CGP_DENY, 6, CGP_WHY_TIE_DENY, 5 },
		{ "10.1.0.1", 81, CGP_ALLOW, 4, CGP_WHY_PREFIX, 0 },
		{ "10.2.0.1", 22, CGP_ALLOW, 8, CGP_WHY_PORT, 0 },
		{ "10.2.0.1", 23, CGP_DENY, 7, CGP_WHY_PREFIX, 0 },
		{ "10.3.3.1", 22, CGP_DENY, 10, CGP_WHY_PREFIX, 0 },
		{ "10.3.4.1", 22, CGP_ALLOW, 9, CGP_WHY_PREFIX, 0 },
	};
	struct cgp_config cfg;
	struct cgp_compiled cc;
	struct cgp_compiled_sets cs;
	struct cgp_lookup lk;
	char err[512];
	int bad = 0;

	if (parse_text(text, &cfg) < 0) {
		report(false, "explain: parse", "parse");
		return;
	}
	if (cgp_compile("t.ini", &cfg.policies[0], 1, &cc, err, sizeof(err)) < 0) {
		report(false, "explain: compile", "%s", err);
		cgp_config_free(&cfg);
		return;
	}
	cs = (struct cgp_compiled_sets){ &cc, NULL, 0 };
	lk = cgp_compiled_lookup(&cs);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cgp_decision d;
		uint8_t a[16], plen;
		bool v4;

		cgp_parse_addr(cases[i].addr, a, &plen, &v4);
		cgp_decide(&lk, &cc.pol, &cfg.policies[0], CGP_DIR_IN, CGP_PROTO_TCP, a, cases[i].port, &d);
		report(d.verdict == cases[i].verdict && d.line == cases[i].line && d.why == cases[i].why &&
		       d.tie_line == cases[i].tie,
		       tap_name("explain: in tcp %s port %u: %s by line %u (%s)", cases[i].addr, cases[i].port,
				cgp_verdict_str(cases[i].verdict), cases[i].line, cgp_why_str(cases[i].why)),
		       "got %s line %u %s tie %u", cgp_verdict_str(d.verdict), d.line, cgp_why_str(d.why), d.tie_line);
	}
	/* every verdict as the reference evaluator's */
	for (int q = 0; q < 5000; q++) {
		uint8_t a[16] = { [10] = 0xff, [11] = 0xff, [12] = 10, [13] = (uint8_t)rn(5),
				  [14] = (uint8_t)rn(6), [15] = (uint8_t)rn(256) };
		uint8_t dir = (uint8_t)rn(2), proto = (uint8_t)rn(4);
		uint16_t port = (uint16_t)(rn(2) ? 22 + rn(60) : rn(65536));
		struct cgp_decision d;

		cgp_decide(&lk, &cc.pol, &cfg.policies[0], dir, proto, a, port, &d);
		bad += d.verdict != cgp_compiled_eval(&cc, dir, proto, a, port);
	}
	report(!bad, "explain: 5000 random probes, cgp_decide's verdict = cgp_compiled_eval", "%d differ", bad);
	report(cgp_hash64("abc", 3) == 0xe71fa2190541574bull && cgp_hash64("", 0) == 0xcbf29ce484222325ull,
	       "cgp_hash64: FNV-1a 64 test vectors", "got %llx", (unsigned long long)cgp_hash64("abc", 3));
	cgp_compiled_free(&cc);
	cgp_config_free(&cfg);
}

static void test_compile_random(void)
{
	static const char *const dname[] = { "", "in", "out", "both" };
	static const char *const pname[] = { "tcp", "udp", "icmp", "any" };
	static const uint8_t pval[] = { CGP_PROTO_TCP, CGP_PROTO_UDP, CGP_PROTO_ICMP, CGP_RULE_PROTO_ANY };
	static const unsigned v4plens[] = { 0, 8, 16, 23, 24, 25, 30, 32 };
	static const unsigned v6plens[] = { 0, 32, 40, 64, 65, 126, 128 };
	const int npol = 50, nprobe = 2000;
	int bad_pols = 0, total_bad = 0;
	char first[512] = "";

	for (int pi = 0; pi < npol; pi++) {
		struct orule rs[80];
		unsigned n = 1 + rn(pi < 5 ? 8 : 80);
		uint8_t def[2] = { (uint8_t)rn(2), (uint8_t)rn(2) };
		struct sbuf b = { 0 };
		struct cgp_config cfg;
		struct cgp_compiled cc;
		char err[512];
		int bad = 0;

		sb_printf(&b, "[r%d]\ncgroup = /r%d\ndefault_ingress = %s\ndefault_egress = %s\n", pi, pi,
			  cgp_verdict_str(def[0]), cgp_verdict_str(def[1]));
		for (unsigned i = 0; i < n; i++) {
			struct orule *r = &rs[i];
			unsigned d = 1 + rn(3), p = rn(4);
			char abuf[80], ports[160];
			bool v4;

			memset(r, 0, sizeof(*r));
			r->verdict = (uint8_t)rn(2);
			r->dirs = (uint8_t)d;
			r->proto = pval[p];
			rand_addr(r->addr, &v4);
			if (rn(8) == 0) {
				snprintf(abuf, sizeof(abuf), "any");
				memset(r->addr, 0, 16);
				r->plen = 0;
			} else if (v4) {
				unsigned pl = v4plens[rn(8)];
				/* host bits set on purpose: the parser masks them */
				snprintf(abuf, sizeof(abuf), "%u.%u.%u.%u/%u", r->addr[12], r->addr[13],
					 r->addr[14], r->addr[15], pl);
				r->plen = (uint8_t)(96 + pl);
			} else {
				unsigned pl = v6plens[rn(7)];
				inet_ntop(AF_INET6, r->addr, abuf, sizeof(abuf));
				snprintf(abuf + strlen(abuf), sizeof(abuf) - strlen(abuf), "/%u", pl);
				r->plen = (uint8_t)pl;
			}
			ports[0] = '\0';
			if (p == 2 && rn(2)) {		/* icmp with a type */
				/* families the address can match: any / ::/0 both, else its own */
				/* (an IPv6 prefix of /96 or less may cover ::ffff:0:0/96) */
				static const uint8_t mapped[16] = { [10] = 0xff, [11] = 0xff };
				unsigned fams = r->plen == 0 ? 3 : v4 && strcmp(abuf, "any") ? 1 :
						2 | (r->plen <= 96 && oprefix(mapped, r->addr, r->plen));
				static const struct { const char *n; int t4, c4, t6; } nm[] = {
					{ "echo-request", 8, -1, 128 }, { "echo-reply", 0, -1, 129 },
					{ "packet-too-big", -1, -1, 2 }, { "fragmentation-needed", 3, 4, -1 },
					{ "time-exceeded", 11, -1, 3 }, { "destination-unreachable", 3, -1, 1 },
				};
				unsigned k = rn(10);

				r->typed = true;
				r->t[0] = r->t[1] = r->code[0] = r->code[1] = -1;
				if (k < 6 && ((fams & 1 && nm[k].t4 >= 0) || (fams & 2 && nm[k].t6 >= 0))) {
					if (fams & 1 && nm[k].t4 >= 0)
						r->t[0] = nm[k].t4, r->code[0] = nm[k].c4;
					if (fams & 2)
						r->t[1] = nm[k].t6;
					snprintf(ports, sizeof(ports), " type %s", nm[k].n);
				} else {
					int t = rn(3) ? (int)rn(4) : (int)rn(256);
					for (int f = 0; f < 2; f++)
						if (fams & (1u << f))
							r->t[f] = t;
					snprintf(ports, sizeof(ports), " type %d", t);
				}
				if (rn(2) && r->code[0] < 0 && (k != 3 || (fams & 1) == 0)) {
					int cd = rn(2) ? (int)rn(3) : (int)rn(256);
					for (int f = 0; f < 2; f++)
						if (r->t[f] >= 0)
							r->code[f] = cd;
					snprintf(ports + strlen(ports), sizeof(ports) - strlen(ports), " code %d", cd);
				}
			} else if (p < 2 && rn(3)) {
				unsigned k = 1 + rn(4);
				size_t o = 0;
				o += (size_t)snprintf(ports, sizeof(ports), " port ");
				for (unsigned j = 0; j < k; j++) {
					uint16_t lo = rand_port(), hi = lo;
					if (rn(2)) {
						hi = (uint16_t)(lo + rn(rn(2) ? 5 : 2000));
						if (hi < lo)
							hi = 65535;
					}
					r->lo[j] = lo;
					r->hi[j] = hi;
					if (lo == hi)
						o += (size_t)snprintf(ports + o, sizeof(ports) - o, "%s%u",
								      j ? "," : "", lo);
					else
						o += (size_t)snprintf(ports + o, sizeof(ports) - o, "%s%u-%u",
								      j ? "," : "", lo, hi);
				}
				r->nports = k;
			}
			sb_printf(&b, "%s = %s %s %s%s\n", cgp_verdict_str(r->verdict), dname[d], pname[p],
				  abuf, ports);
		}
		if (cgp_config_parse("t.ini", b.s, b.n, &cfg, err, sizeof(err)) < 0) {
			report(false, "compile: random policies vs brute force", "parse: %s", err);
			free(b.s);
			return;
		}
		if (cgp_compile("t.ini", &cfg.policies[0], (uint16_t)(pi + 1), &cc, err, sizeof(err)) < 0) {
			report(false, "compile: random policies vs brute force", "compile: %s", err);
			cgp_config_free(&cfg);
			free(b.s);
			return;
		}
		for (int q = 0; q < nprobe; q++) {
			uint8_t a[16], dir = (uint8_t)rn(2), proto = (uint8_t)rn(4), eproto;
			uint32_t port = rn(50) ? rand_port() : 0;
			bool v4;
			int want, got;

			rand_addr(a, &v4);
			if (proto == CGP_PROTO_ICMP)	/* type << 8 | code, near the rules' */
				port = rn(20) ? (rn(3) ? rn(4) : rn(256)) << 8 | (rn(2) ? rn(3) : rn(256))
					      : CGP_NO_ICMP_TYPE;
			if (rn(5) == 0) {		/* a random host inside a rule's prefix */
				const struct orule *r = &rs[rn(n)];
				memcpy(a, r->addr, 16);
				for (unsigned bit = r->plen; bit < 128; bit++)
					if (rn(2))
						a[bit / 8] ^= (uint8_t)(0x80u >> (bit % 8));
				if (rn(2) && r->nports) {
					unsigned k = rn(r->nports);
					port = (uint16_t)(r->lo[k] + rn((unsigned)(r->hi[k] - r->lo[k]) + 1));
					proto = r->proto;
				}
				if (rn(2) && r->typed) {
					int f = r->t[0] >= 0 ? 0 : 1;
					proto = CGP_PROTO_ICMP;
					port = (uint32_t)r->t[f] << 8 | (r->code[f] >= 0 ? (uint32_t)r->code[f] : rn(256));
				}
			}
			eproto = proto == CGP_PROTO_ICMP && !is_v4m(a) ? CGP_PORTPROTO_ICMP6 : proto;
			want = oracle(rs, n, def, dir, proto, a, port, is_v4m(a) ? 0 : 1);
			got = cgp_compiled_eval(&cc, dir, eproto, a, port);
			if (want != got) {
				if (!bad && !first[0]) {
					char as[64];
					inet_ntop(AF_INET6, a, as, sizeof(as));
					snprintf(first, sizeof(first), "policy %d: %s %s %s port %u: want %s got %s",
						 pi, dir ? "out" : "in", cgp_proto_str(proto), as, port,
						 cgp_verdict_str((uint8_t)want), cgp_verdict_str((uint8_t)got));
				}
				bad++;
			}
		}
		if (bad) {
			if (!bad_pols)	/* the first failing policy, to reproduce it */
				for (char *l = strtok(b.s, "\n"); l; l = strtok(NULL, "\n"))
					printf("# policy %d: %s\n", pi, l);
			bad_pols++;
			total_bad += bad;
		}
		cgp_compiled_free(&cc);
		cgp_config_free(&cfg);
		free(b.s);
	}
	report(bad_pols == 0, "compile: 50 random policies x 2000 probes vs brute force",
	       "%d policies, %d probes differ; first: %s", bad_pols, total_bad, first);
}

/* ------------------------------------------------------------ address sets */

static const struct { const char *text, *want; } set_errors[] = {
	{ "[p]\ncgroup = /p\nallow = in tcp @nope\n", "t.ini:3: unknown set '@nope' (no [set nope] section)" },
	{ "[set a]\naddress = @b\n[p]\ncgroup = /p\n", "t.ini:2: unknown set '@b'" },
	{ "[set a]\naddress = @b\n[set b]\naddress = @a\n[p]\ncgroup = /p\n",
	  "t.ini:4: set 'a' includes itself: a -> b -> a" },
	{ "[set a]\naddress = 10.0.0.0/8\naddress = @a\n[p]\ncgroup = /p\n",
	  "t.ini:3: set 'a' includes itself: a -> a" },
	{ "[set x]\naddress = @a\n[set a]\naddress = @b\n[set b]\naddress = @c\n[set c]\naddress = @b\n"
	  "[p]\ncgroup = /p\n", "t.ini:8: set 'b' includes itself: b -> c -> b" },
	{ "[set a]\n[p]\ncgroup = /p\n", "t.ini:1: [set a] is empty: a static set needs a member" },
	{ "[set a]\ndynamic = no\naddress = !10.0.0.0/8\n[p]\ncgroup = /p\n", "t.ini:1: [set a] is empty" },
	{ "[set a]\naddress = 10.0.0.256\n[p]\ncgroup = /p\n",
	  "t.ini:2: bad set member '10.0.0.256': bad IPv4 address '10.0.0.256'" },
	{ "[set a]\naddress = office\n[p]\ncgroup = /p\n", "t.ini:2: bad set member 'office'" },
	{ "[set a]\naddress = !@b\n[p]\ncgroup = /p\n", "t.ini:2: bad set member '!@b'" },
	{ "[set a]\naddress = 1.2.3.4\n[set a]\naddress = 1.2.3.5\n[p]\ncgroup = /p\n",
	  "t.ini:3: duplicate section [set a] (first at line 1)" },
	{ "[set a b]\naddress = 1.2.3.4\n[p]\ncgroup = /p\n", "t.ini:1: bad set name 'a b'" },
	{ "[p]\ncgroup = /p\nallow = in tcp @a/b\n", "t.ini:3: bad set name '@a/b'" },
	{ "[set d]\ndynamic = yes\n[set a]\naddress = @d\n[p]\ncgroup = /p\n",
	  "t.ini:4: [set a] cannot include dynamic set '@d'" },
	{ "[set a]\naddress = 1.2.3.4\nport = 80\n[p]\ncgroup = /p\n", "t.ini:3: unknown key 'port' in [set a]" },
	{ "[set a]\ndynamic = yes\ndynamic = no\n[p]\ncgroup = /p\n", "t.ini:3: duplicate key 'dynamic' in [set a]" },
	{ "[set a]\ndynamic = maybe\n[p]\ncgroup = /p\n", "t.ini:2: bad dynamic 'maybe'" },
	{ "[set a]\naddress =\n[p]\ncgroup = /p\n", "t.ini:2: empty value for 'address' in [set a]" },
	{ "[set s1]\naddress = 1.0.0.1\n[set s2]\naddress = 1.0.0.2\n[set s3]\naddress = 1.0.0.3\n"
	  "[set s4]\naddress = 1.0.0.4\n[set s5]\naddress = 1.0.0.5\n[set s6]\naddress = 1.0.0.6\n"
	  "[set s7]\naddress = 1.0.0.7\n[set s8]\naddress = 1.0.0.8\n[set s9]\naddress = 1.0.0.9\n"
	  "[p]\ncgroup = /p\n"
	  "allow = in tcp @s1\nallow = in tcp @s2\nallow = in any @s3\nallow = both tcp @s4\n"
	  "allow = in tcp @s5\nallow = in tcp @s6\nallow = in tcp @s7\nallow = in tcp @s8 port 80\n"
	  "allow = out tcp @s9\nallow = in udp @s9\nallow = in tcp @s1\nallow = in tcp @s9\n",
	  "t.ini:32: [p] uses more than 8 sets for in tcp rules (the limit per direction and protocol)" },
};

static void test_set_errors(void)
{
	for (size_t i = 0; i < sizeof(set_errors) / sizeof(set_errors[0]); i++) {
		struct cgp_config cfg;
		char err[512] = "", name[200];
		int r;

		snprintf(name, sizeof(name), "set error #%zu: %s", i, set_errors[i].want);
		r = cgp_config_parse("t.ini", set_errors[i].text, strlen(set_errors[i].text), &cfg, err,
				     sizeof(err));
		if (r != -1)
			report(false, name, "accepted");
		else if (!strstr(err, set_errors[i].want))
			report(false, name, "got \"%s\"", err);
		else if (cfg.sets || cfg.nsets || cfg.policies)
			report(false, name, "config not freed on failure");
		else
			report(true, name, "%s", "");
		if (!r)
			cgp_config_free(&cfg);
	}
}

static int set_verdict(const struct cgp_compiled *cc, const struct cgp_lpm_entry *m, size_t nm,
		       uint8_t dir, uint8_t proto, const char *addr, uint32_t port)
{
	uint8_t a[16], plen;
	bool v4;

	cgp_parse_addr(addr, a, &plen, &v4);
	return cgp_compiled_eval_sets(cc, m, nm, dir, proto, a, port);
}

static void test_sets(void)
{
	static const char text[] =
		"[set office]\n"
		"address = 10.1.0.0/16\n"
		"address = 2001:db8:1::/48\n"
		"address = !10.1.99.0/24     ; not a member, even inside 10.1.0.0/16\n"
		"address = @vpn\n"
		"[set vpn]\n"
		"address = 10.1.99.7        ; longer than the exclusion: a member\n"
		"address = 10.1.0.0/16      ; the same prefix as office's: merged\n"
		"[set blocklist]\n"
		"dynamic = yes\n"
		"address = 203.0.113.0/24\n"
		"[web]\n"
		"cgroup = /web\n"
		"default_ingress = deny\n"
		"allow = in tcp @office port 22\n"
		"deny = in tcp 10.1.5.0/24 port 22\n"
		"deny = out any @blocklist\n"
		"allow = out tcp 203.0.113.7\n";
	struct cgp_config cfg;
	struct cgp_compiled cc;
	struct cgp_lpm_entry *m = NULL, *d = NULL;
	size_t nm = 0, nd = 0;
	char err[512];
	bool ok;

	if (parse_text(text, &cfg) < 0) {
		report(false, "sets: the issue's example parses", "%s", "");
		return;
	}
	report(cfg.nsets == 3 && !cfg.sets[0].dynamic && cfg.sets[2].dynamic &&
	       cfg.sets[0].id == 1 && cfg.sets[2].id == (CGP_SET_DYNAMIC | 3) &&
	       cfg.policies[0].rules[0].set == 1 && cfg.policies[0].rules[0].set_id == 1 &&
	       cfg.policies[0].rules[2].set_id == (CGP_SET_DYNAMIC | 3),
	       "sets: parsed, ids (static index + 1, dynamic CGP_SET_DYNAMIC | index + 1) in the rules", "%s", "");
	ok = !cgp_static_sets(&cfg, &m, &nm);
	report(ok && nm == 6, "sets: static members flattened (office 4, vpn's /16 merged into its own; vpn 2)", "got %zu", nm);
	ok = !cgp_set_flatten(&cfg, 2, &d, &nd);
	report(ok && nd == 1 && d[0].key.slot == (CGP_SET_DYNAMIC | 3) && d[0].key.dir == CGP_DIR_SET,
	       "sets: dynamic set flattened under its id", "got %zu", nd);
	if (cgp_compile(cfg.file, &cfg.policies[0], 7, &cc, err, sizeof(err))) {
		report(false, "sets: compile", "%s", err);
	} else {
		struct cgp_lpm_entry *all = realloc(m, (nm + nd) * sizeof(*all));

		if (all) {
			memcpy(all + nm, d, nd * sizeof(*d));
			m = all;
			nm += nd;
		}
		report(cc.pol.sets[CGP_DIR_IN][CGP_PROTO_TCP][0] == 1 && !cc.pol.sets[CGP_DIR_IN][CGP_PROTO_TCP][1] &&
		       cc.pol.sets[CGP_DIR_OUT][CGP_PROTO_OTHER][0] == (CGP_SET_DYNAMIC | 3) &&
		       !cc.pol.sets[CGP_DIR_IN][CGP_PROTO_UDP][0],
		       "sets: the policy lists the sets of each (dir, proto)", "%s", "");
		report(set_verdict(&cc, m, nm, CGP_DIR_IN, CGP_PROTO_TCP, "10.1.2.3", 22) == CGP_ALLOW,
		       "sets: member /16 allowed on port 22", "%s", "");
		report(set_verdict(&cc, m, nm, CGP_DIR_IN, CGP_PROTO_TCP, "10.1.2.3", 23) == CGP_DENY,
		       "sets: port rule on a set: other port, default deny", "%s", "");
		report(set_verdict(&cc, m, nm, CGP_DIR_IN, CGP_PROTO_TCP, "10.1.99.8", 22) == CGP_DENY,
		       "sets: inside the exclusion: not a member", "%s", "");
		report(set_verdict(&cc, m, nm, CGP_DIR_IN, CGP_PROTO_TCP, "10.1.99.7", 22) == CGP_ALLOW,
		       "sets: an included set's /32 inside the exclusion: a member", "%s", "");
		report(set_verdict(&cc, m, nm, CGP_DIR_IN, CGP_PROTO_TCP, "10.1.5.9", 22) == CGP_DENY,
		       "sets: an address rule /24 beats the set member /16", "%s", "");
		report(set_verdict(&cc, m, nm, CGP_DIR_IN, CGP_PROTO_TCP, "2001:db8:1::5", 22) == CGP_ALLOW,
		       "sets: IPv6 member", "%s", "");
		report(set_verdict(&cc, m, nm, CGP_DIR_OUT, CGP_PROTO_UDP, "203.0.113.9", 53) == CGP_DENY,
		       "sets: dynamic set rule denies (out any)", "%s", "");
		report(set_verdict(&cc, m, nm, CGP_DIR_OUT, CGP_PROTO_TCP, "203.0.113.7", 80) == CGP_ALLOW,
		       "sets: an address /32 beats the set's /24", "%s", "");
		report(set_verdict(&cc, m, nm, CGP_DIR_OUT, CGP_PROTO_TCP, "198.51.100.1", 80) == CGP_ALLOW,
		       "sets: no match: default allow", "%s", "");
		cgp_compiled_free(&cc);
	}
	free(m);
	free(d);
	cgp_config_free(&cfg);
}

/* ICMP types on a set: the type classes of both families, as for address rules. */
static void test_set_icmp(void)
{
	static const char text[] =
		"[set mon]\naddress = 10.9.0.0/16\naddress = 2001:db8:9::/48\n"
		"[p]\ncgroup = /p\ndefault_ingress = deny\n"
		"allow = in icmp @mon type echo-request\n"
		"allow = in icmp 10.9.9.0/24 type 3 code 4\n";
	struct cgp_config cfg;
	struct cgp_compiled cc;
	struct cgp_lpm_entry *m = NULL;
	size_t nm = 0;
	char err[512];

	if (parse_text(text, &cfg) < 0)
		return;
	if (cgp_static_sets(&cfg, &m, &nm) || cgp_compile(cfg.file, &cfg.policies[0], 3, &cc, err, sizeof(err))) {
		report(false, "sets + icmp types: compile", "%s", err);
	} else {
		report(set_verdict(&cc, m, nm, CGP_DIR_IN, CGP_PROTO_ICMP, "10.9.1.1", 0x0800) == CGP_ALLOW,
		       "sets + icmp: v4 echo-request from a member allowed", "%s", "");
		report(set_verdict(&cc, m, nm, CGP_DIR_IN, CGP_PROTO_ICMP, "10.9.1.1", 0x0000) == CGP_DENY,
		       "sets + icmp: v4 echo-reply from a member: not that type, default deny", "%s", "");
		report(set_verdict(&cc, m, nm, CGP_DIR_IN, CGP_PORTPROTO_ICMP6, "2001:db8:9::1", 0x8000) == CGP_ALLOW,
		       "sets + icmp: ICMPv6 echo-request (128) from a v6 member allowed", "%s", "");
		report(set_verdict(&cc, m, nm, CGP_DIR_IN, CGP_PROTO_ICMP, "10.8.1.1", 0x0800) == CGP_DENY,
		       "sets + icmp: echo-request from a non-member denied", "%s", "");
		report(set_verdict(&cc, m, nm, CGP_DIR_IN, CGP_PROTO_ICMP, "10.9.9.9", 0x0800) == CGP_ALLOW &&
		       set_verdict(&cc, m, nm, CGP_DIR_IN, CGP_PROTO_ICMP, "10.9.9.9", 0x0304) == CGP_ALLOW,
		       "sets + icmp: an address /24 type rule and the set's type rule side by side", "%s", "");
		cgp_compiled_free(&cc);
	}
	free(m);
	cgp_config_free(&cfg);
}

int main(void)
{
	test_valid();
	test_invalid();
	test_parse_addr();
	test_fileline();
	test_explain();
	test_explain_sets_icmp();
	test_files();
	test_compile_basic();
	test_compile_icmp();
	test_lockout();
	test_compile_random();
	test_limits();
	test_set_errors();
	test_sets();
	test_set_icmp();
	printf("%d passed, %d failed\n", npass, nfail);
	return nfail ? 1 : 0;
}
