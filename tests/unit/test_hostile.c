// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_hostile.c - hostile input for policy/ (issue 7): every malformed value
 * is refused with an error that STARTS with "FILE:LINE: message" (or
 * "FILE: message" when no line applies), the config is left zeroed, and each
 * documented limit (docs/POLICY.md, policy/policy.h) is accepted exactly at
 * the limit and refused one past it with a clear message.
 * No root, no BPF. "ok N - name" lines and "N passed, N failed".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy/policy.h"

#include "tests/tap.h"

static bool starts_with(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

static bool cfg_zeroed(const struct cgp_config *c)
{
	return !c->policies && !c->npolicies && !c->reuseports && !c->nreuseports;
}

/* ------------------------------------------------------------ table */

struct bad {
	const char *what;
	const char *text;
	size_t len;		/* 0: strlen(text) */
	const char *want;	/* the error must start with this */
};

#define P "[p]\ncgroup = /p\n"	/* the next line is line 3 */

static const struct bad bad_cases[] = {
	/* IPv4 */
	{ "v4: octet > 255", P "allow = in tcp 256.1.1.1\n", 0, "t.ini:3: bad IPv4 address '256.1.1.1'" },
	{ "v4: three octets", P "allow = out udp 10.1.1\n", 0, "t.ini:3: bad IPv4 address '10.1.1'" },
	{ "v4: empty octet", P "allow = in tcp 10..1.1\n", 0, "t.ini:3: bad IPv4 address '10..1.1'" },
	{ "v4: trailing dot", P "allow = in tcp 10.1.1.1.\n", 0, "t.ini:3: bad IPv4 address '10.1.1.1.'" },
	{ "v4: negative octet", P "allow = in tcp 10.-1.1.1\n", 0, "t.ini:3: bad IPv4 address" },
	{ "v4: hex octet", P "allow = in tcp 0x0a.0.0.1\n", 0, "t.ini:3: bad IPv4 address" },
	{ "v4: integer form", P "allow = in tcp 167772161\n", 0, "t.ini:3: bad IPv4 address '167772161'" },
	{ "v4: prefix /33", P "deny = in tcp 10.0.0.0/33\n", 0,
	  "t.ini:3: prefix length /33 too long in '10.0.0.0/33' (IPv4: 0-32)" },
	{ "v4: prefix /64 (a v6 length)", P "deny = in tcp 10.0.0.0/64\n", 0,
	  "t.ini:3: prefix length /64 too long in '10.0.0.0/64' (IPv4: 0-32)" },
	{ "v4: prefix /255", P "deny = in tcp 10.0.0.0/255\n", 0, "t.ini:3: prefix length /255 too long" },
	{ "v4: prefix /256", P "deny = in tcp 10.0.0.0/256\n", 0, "t.ini:3: bad prefix length in '10.0.0.0/256'" },
	{ "v4: prefix 99999999999", P "deny = in tcp 10.0.0.0/99999999999\n", 0, "t.ini:3: bad prefix length" },
	{ "v4: prefix with space-less junk", P "deny = in tcp 10.0.0.0/8x\n", 0, "t.ini:3: bad prefix length in '10.0.0.0/8x'" },
	{ "v4: prefix +8", P "deny = in tcp 10.0.0.0/+8\n", 0, "t.ini:3: bad prefix length" },
	{ "v4: empty address", P "deny = in tcp /8\n", 0, "t.ini:3: bad address '/8'" },
	/* IPv6 */
	{ "v6: two ::", P "allow = in tcp 1::2::3\n", 0, "t.ini:3: bad IPv6 address '1::2::3'" },
	{ "v6: group > ffff", P "allow = in tcp 2001:db8::10000\n", 0, "t.ini:3: bad IPv6 address" },
	{ "v6: bad hex", P "allow = in tcp 2001:dg8::1\n", 0, "t.ini:3: bad IPv6 address '2001:dg8::1'" },
	{ "v6: nine groups", P "allow = in tcp 1:2:3:4:5:6:7:8:9\n", 0, "t.ini:3: bad IPv6 address" },
	{ "v6: one colon", P "allow = in tcp :1\n", 0, "t.ini:3: bad IPv6 address ':1'" },
	{ "v6: brackets", P "allow = in tcp [::1]\n", 0, "t.ini:3: bad IPv6 address '[::1]'" },
	{ "v6: zone id", P "allow = in tcp fe80::1%lo\n", 0, "t.ini:3: bad IPv6 address 'fe80::1%lo'" },
	{ "v6: prefix /129", P "allow = in tcp fd00::/129\n", 0,
	  "t.ini:3: prefix length /129 too long in 'fd00::/129' (IPv6: 0-128)" },
	{ "v6: prefix /-1", P "allow = in tcp fd00::/-1\n", 0, "t.ini:3: bad prefix length in 'fd00::/-1'" },
	{ "v6: empty prefix", P "allow = in tcp fd00::/\n", 0, "t.ini:3: bad prefix length in 'fd00::/'" },
	{ "v6: overlong text", P "allow = in tcp 0000:0000:0000:0000:0000:0000:0000:0000:0000:0001\n", 0,
	  "t.ini:3: bad IPv6 address '0000:0000:0000:0000:0000:0000:0000:0000:0000:0001'" },
	{ "v6: longer than any address", P "allow = in tcp 0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:0001\n", 0,
	  "t.ini:3: bad address '0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:0001'" },
	/* ports */
	{ "port 0", P "allow = in tcp any port 0\n", 0, "t.ini:3: bad port '0' (1-65535)" },
	{ "port 65536", P "allow = in udp any port 65536\n", 0, "t.ini:3: bad port '65536' (1-65535)" },
	{ "port 4294967296 (32-bit wrap)", P "allow = in udp any port 4294967296\n", 0,
	  "t.ini:3: bad port '4294967296' (1-65535)" },
	{ "port 99999999999999999999", P "allow = in udp any port 99999999999999999999\n", 0,
	  "t.ini:3: bad port '99999999999999999999' (1-65535)" },
	{ "port range reversed", P "allow = in tcp any port 443-80\n", 0,
	  "t.ini:3: bad port range '443-80' (start above end)" },
	{ "port range to 65536", P "allow = in tcp any port 1-65536\n", 0, "t.ini:3: bad port '65536' (1-65535)" },
	{ "port range from 0", P "allow = in tcp any port 0-80\n", 0, "t.ini:3: bad port '0' (1-65535)" },
	{ "negative port", P "allow = in tcp any port -1\n", 0, "t.ini:3: bad port '' (1-65535)" },
	{ "port with spaces in list", P "allow = in tcp any port 80, 81\n", 0,
	  "t.ini:3: unexpected '81' at end of rule (no spaces inside a port list)" },
	{ "ports with icmp", P "allow = in icmp any port 8\n", 0, "t.ini:3: ports need tcp or udp (not icmp)" },
	{ "ports with any", P "deny = out any 10.0.0.0/8 port 22\n", 0, "t.ini:3: ports need tcp or udp (not any)" },
	{ "65 items in a port list", P "allow = in tcp any port "
	  "1,2,3,4,5,6,7,8,9,1,2,3,4,5,6,7,8,9,1,2,3,4,5,6,7,8,9,1,2,3,4,5,6,7,8,9,1,2,3,4,5,6,7,8,9,"
	  "1,2,3,4,5,6,7,8,9,1,2,3,4,5,6,7,8,9,1,2\n",
	  0, "t.ini:3: more than 64 items in port list" },
	/* words */
	{ "unknown direction", P "allow = inbound tcp any\n", 0, "t.ini:3: unknown direction 'inbound' (in, out or both)" },
	{ "unknown protocol", P "allow = in gre any\n", 0, "t.ini:3: unknown protocol 'gre' (tcp, udp, icmp or any)" },
	{ "protocol number", P "allow = in 6 any\n", 0, "t.ini:3: unknown protocol '6'" },
	{ "upper-case protocol", P "allow = in TCP any\n", 0, "t.ini:3: unknown protocol 'TCP'" },
	{ "missing address", P "allow = in tcp\n", 0, "t.ini:3: incomplete rule, expected: DIRECTION PROTO ADDRESS [port PORTS]" },
	{ "unknown key", P "alow = in tcp any\n", 0, "t.ini:3: unknown key 'alow' in [p]" },
	{ "unknown key in [agent]", "[agent]\nverbose = 1\n" P, 0, "t.ini:2: unknown key 'verbose' in [agent]" },
	{ "unknown key in [reuseport]", P "[reuseport r]\nweight = 1\n", 0, "t.ini:4: unknown key 'weight' in [reuseport r]" },
	{ "bad verdict", P "default_ingress = reject\n", 0, "t.ini:3: bad default_ingress 'reject' (allow or deny)" },
	{ "verdict in upper case", P "default_egress = DENY\n", 0, "t.ini:3: bad default_egress 'DENY' (allow or deny)" },
	{ "bad boolean", P "accelerate = y\n", 0,
	  "t.ini:3: bad accelerate 'y' (yes, no, true, false, on, off, 1 or 0)" },
	{ "boolean in upper case", P "stats = YES\n", 0, "t.ini:3: bad stats 'YES'" },
	{ "bad stats_interval", "[agent]\nstats_interval = 1e3\n" P, 0, "t.ini:2: bad stats_interval '1e3' (seconds, 0-86400)" },
	/* sections */
	{ "duplicate section", P "allow = in tcp any\n[p]\ncgroup = /q\n", 0,
	  "t.ini:4: duplicate section [p] (first at line 1)" },
	{ "duplicate section, spaced", P "[ p ]\n", 0, "t.ini:3: duplicate section [p] (first at line 1)" },
	{ "duplicate [agent]", "[agent]\n" P "[agent]\n", 0, "t.ini:4: duplicate section [agent] (first at line 1)" },
	{ "section name with /", P "[a/b]\n", 0, "t.ini:3: bad section name '[a/b]'" },
	{ "section name 64 characters", P
	  "[1234567890123456789012345678901234567890123456789012345678901234]\n", 0, "t.ini:3: bad section name" },
	{ "empty section name", P "[ ]\n", 0, "t.ini:3: bad section name '[]'" },
	{ "empty section", P "[q]\n", 0, "t.ini:3: [q] missing cgroup =" },
	{ "unterminated header", P "[q\n", 0, "t.ini:3: not a key = value line or [section] header" },
	/* cgroup values */
	{ "relative cgroup", "[p]\ncgroup = p\n", 0, "t.ini:2: bad cgroup 'p': must start with '/'" },
	{ "cgroup with ..", "[p]\ncgroup = /../../etc\n", 0, "t.ini:2: bad cgroup '/../../etc': must not contain '.' or '..' components" },
	{ "cgroup too long", NULL, 0, "t.ini:2: line longer than 199 characters" },	/* built below */
	/* lines that are not INI */
	{ "plain words", P "hello world\n", 0, "t.ini:3: not a key = value line or [section] header" },
	{ "colon separator", P "allow: in tcp any\n", 0, "t.ini:3: not a key = value line or [section] header" },
	{ "no key", P " = x\n", 0, "t.ini:3: continuation lines are not supported (remove the indentation)" },
	{ "JSON", "{\"p\": {\"cgroup\": \"/p\"}}\n", 0, "t.ini:1: not a key = value line or [section] header" },
	{ "YAML", "p:\n  cgroup: /p\n", 0, "t.ini:1: not a key = value line or [section] header" },
	{ "shell script", "#!/bin/sh\nrm -rf /\n", 0, "t.ini:2: not a key = value line or [section] header" },
	{ "key before any section", "allow = in tcp any\n" P, 0, "t.ini:1: key 'allow' outside any section" },
	{ "indented key", P "  allow = in tcp any\n", 0, "t.ini:3: continuation lines are not supported" },
	/* binary junk, NUL, encodings */
	{ "ELF header", "\x7f" "ELF\x02\x01\x01\x00\x00\x00\x00\x00", 12, "t.ini:1: control character 0x7f (not a text file?)" },
	{ "PNG header", "\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16, "t.ini:1: invalid UTF-8 (not a text file?)" },
	{ "gzip header", "\x1f\x8b\x08\x00\x00\x00\x00\x00", 8, "t.ini:1: control character 0x1f (not a text file?)" },
	{ "only NUL bytes", "\0\0\0\0\0\0\0\0", 8, "t.ini:1: NUL byte (not a text file?)" },
	{ "NUL in a value", P "allow = in tcp any\0port 22\n", sizeof(P "allow = in tcp any\0port 22\n") - 1,
	  "t.ini:3: NUL byte (not a text file?)" },
	{ "NUL at end of file", P "\0", sizeof(P), "t.ini:3: NUL byte" },
	{ "NUL after a valid line hides nothing", P "allow = in tcp any\n\0deny = in tcp any\n",
	  sizeof(P "allow = in tcp any\n\0deny = in tcp any\n") - 1, "t.ini:4: NUL byte" },
	{ "UTF-16LE text", "\xff\xfe[\0p\0]\0\n\0", 10, "t.ini:1: invalid UTF-8 (not a text file?)" },
	{ "overlong UTF-8 '/'", P "cgroup2 = /\xc0\xaf\n", 0, "t.ini:3: invalid UTF-8" },
	{ "UTF-8 above U+10FFFF", P "; \xf4\x90\x80\x80\n", 0, "t.ini:3: invalid UTF-8" },
	{ "truncated UTF-8 at end of file", P "; \xe2\x82", 0, "t.ini:3: invalid UTF-8" },
	{ "escape sequence", P "; \x1b]0;owned\x07\n", 0, "t.ini:3: control character 0x1b" },
	{ "bare CR line ends", "[p]\rcgroup = /p\r", 0, "t.ini:1: control character 0x0d" },
	{ "form feed", P "\f\n", 0, "t.ini:3: control character 0x0c" },
	{ "DEL", P "allow = in tcp any\x7f\n", 0, "t.ini:3: control character 0x7f" },
	/* whole file */
	{ "empty file", "", 0, "t.ini: empty policy file" },
	{ "only newlines", "\n\n\n\n", 0, "t.ini: no policy sections" },
	{ "only a BOM", "\xef\xbb\xbf", 0, "t.ini: no policy sections" },
	{ "only [agent]", "[agent]\n", 0, "t.ini: no policy sections" },
};

static char *long_cgroup_case(void)
{
	/* cgroup = /aaaa... with the line at 200 characters */
	static char buf[512];
	size_t n = (size_t)snprintf(buf, sizeof(buf), "[p]\ncgroup = /");
	while (n < 4 + 200)
		buf[n++] = 'a';
	buf[n++] = '\n';
	buf[n] = '\0';
	return buf;
}

static void check_bad(const char *what, const char *text, size_t len, const char *want)
{
	struct cgp_config cfg;
	char err[1024] = "", name[256];
	int r;

	snprintf(name, sizeof(name), "refused: %s", what);
	memset(&cfg, 0x5a, sizeof(cfg));
	r = cgp_config_parse("t.ini", text, len, &cfg, err, sizeof(err));
	if (r != -1)
		report(false, name, "accepted (r=%d)", r);
	else if (!starts_with(err, want))
		report(false, name, "got \"%s\", want prefix \"%s\"", err, want);
	else if (!cfg_zeroed(&cfg))
		report(false, name, "config not zeroed on failure");
	else
		report(true, name, "%s", "");
	if (r == 0)
		cgp_config_free(&cfg);
}

static void test_table(void)
{
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad *b = &bad_cases[i];
		const char *text = b->text ? b->text : long_cgroup_case();
		size_t len = b->len ? b->len : strlen(text);

		check_bad(b->what, text, len, b->want);
	}
}

/* ------------------------------------------------------------ big inputs */

static void test_big_inputs(void)
{
	size_t n = 1u << 20;
	char *buf = malloc(CGP_MAX_FILE_SIZE + 2);
	struct cgp_config cfg;
	char err[1024];
	int r;

	if (!buf) {
		report(false, "big inputs", "malloc");
		return;
	}
	/* one 1 MiB line without a newline: refused at line 1, never truncated */
	memset(buf, 'a', n);
	memcpy(buf, "[p]", 3);
	check_bad("1 MiB line without newline", buf, n, "t.ini:1: line longer than 199 characters");
	/* exactly 200 characters: refused; 199 is the limit (tested in test_policy) */
	n = (size_t)snprintf(buf, 512, P "; ");
	memset(buf + n, 'x', 198);
	buf[n + 198] = '\n';
	check_bad("200-character comment line", buf, n + 199, "t.ini:3: line longer than 199 characters");
	/* 1 MiB of random bytes */
	{
		uint32_t s = 12345;
		for (size_t i = 0; i < (1u << 20); i++) {
			s = s * 1103515245u + 12345u;
			buf[i] = (char)(s >> 24);
		}
		r = cgp_config_parse("t.ini", buf, 1u << 20, &cfg, err, sizeof(err));
		report(r == -1 && starts_with(err, "t.ini:") && cfg_zeroed(&cfg), "refused: 1 MiB of random bytes",
		       "r=%d \"%s\"", r, err);
	}
	/* file size limit through the buffer API: 16 MiB ok-sized, 16 MiB + 1 refused */
	memset(buf, '\n', CGP_MAX_FILE_SIZE + 1);
	memcpy(buf, P, strlen(P));
	r = cgp_config_parse("t.ini", buf, CGP_MAX_FILE_SIZE, &cfg, err, sizeof(err));
	report(r == 0 && cfg.npolicies == 1, "limit: 16 MiB file accepted", "r=%d \"%s\"", r, err);
	if (r == 0)
		cgp_config_free(&cfg);
	r = cgp_config_parse("t.ini", buf, CGP_MAX_FILE_SIZE + 1, &cfg, err, sizeof(err));
	report(r == -1 && !strcmp(err, "t.ini: larger than 16777216 bytes") && cfg_zeroed(&cfg),
	       "limit: 16 MiB + 1 byte refused", "r=%d \"%s\"", r, err);
	free(buf);
}

/* ------------------------------------------------------------ files */

static void test_files(void)
{
	struct cgp_config cfg;
	char err[1024], dir[] = "/tmp/test_hostile_XXXXXX", path[256];
	int r, fd;

	if (!mkdtemp(dir)) {
		report(false, "files: mkdtemp", "%s", strerror(errno));
		return;
	}
	/* a device that never ends: read up to the limit, then refused */
	r = cgp_config_load("/dev/zero", &cfg, err, sizeof(err));
	report(r == -1 && !strcmp(err, "/dev/zero: larger than 16777216 bytes"),
	       "files: endless device (/dev/zero) refused at the size limit", "got \"%s\"", err);
	r = cgp_config_load("/dev/null", &cfg, err, sizeof(err));
	report(r == -1 && !strcmp(err, "/dev/null: empty policy file"), "files: /dev/null is empty",
	       "got \"%s\"", err);
	r = cgp_config_load(dir, &cfg, err, sizeof(err));
	report(r == -1 && starts_with(err, dir) && strstr(err, ": is a directory, not a policy file"),
	       "files: a directory", "got \"%s\"", err);
	snprintf(path, sizeof(path), "%s/missing.ini", dir);
	r = cgp_config_load(path, &cfg, err, sizeof(err));
	report(r == -1 && starts_with(err, path) && strstr(err, ": cannot open: No such file or directory"),
	       "files: missing file", "got \"%s\"", err);
	snprintf(path, sizeof(path), "%s/nul.ini", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd >= 0) {
		static const char t[] = "[p]\ncgroup = /p\nallow = in tcp any\0\n";
		char want[300];
		if (write(fd, t, sizeof(t) - 1) != (ssize_t)(sizeof(t) - 1))
			report(false, "files: write", "%s", strerror(errno));
		close(fd);
		r = cgp_config_load(path, &cfg, err, sizeof(err));
		snprintf(want, sizeof(want), "%s:3: NUL byte", path);
		report(r == -1 && starts_with(err, want), "files: NUL byte reported as FILE:LINE",
		       "got \"%s\"", err);
		unlink(path);
	}
	/* a FIFO without a writer: must not block (it reads as empty) */
	snprintf(path, sizeof(path), "%s/fifo.ini", dir);
	if (mkfifo(path, 0600) == 0) {
		char want[300];
		r = cgp_config_load(path, &cfg, err, sizeof(err));
		snprintf(want, sizeof(want), "%s: empty policy file", path);
		report(r == -1 && !strcmp(err, want), "files: FIFO without a writer does not hang",
		       "got \"%s\"", err);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/sub", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/link.ini", dir);
	{
		char target[256];
		snprintf(target, sizeof(target), "%s/sub", dir);
		if (symlink(target, path) == 0) {
			r = cgp_config_load(path, &cfg, err, sizeof(err));
			report(r == -1 && strstr(err, "is a directory"), "files: symlink to a directory",
			       "got \"%s\"", err);
			unlink(path);
		}
		rmdir(target);
	}
	rmdir(dir);
}

/* ------------------------------------------------------------ limits */

struct sbuf {
	char *s;
	size_t n, cap;
};

static void sb_add(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_add(struct sbuf *b, const char *fmt, ...)
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
		b->s = realloc(b->s, b->cap);
		if (!b->s)
			abort();
	}
}

static void test_limits(void)
{
	struct sbuf b = { 0 };
	struct cgp_config cfg;
	struct cgp_compiled cc;
	char err[1024];
	int r;

	/* reuseport sections share the 1023 limit */
	sb_add(&b, P);
	for (int i = 0; i < CGP_MAX_POLICIES; i++)
		sb_add(&b, "[reuseport r%d]\nport = %d\nbackend = p 1\n", i, i + 1);
	r = cgp_config_parse("t.ini", b.s, b.n, &cfg, err, sizeof(err));
	report(r == 0 && cfg.nreuseports == CGP_MAX_POLICIES, "limit: 1023 reuseport sections accepted",
	       "r=%d \"%s\"", r, err);
	if (r == 0)
		cgp_config_free(&cfg);
	sb_add(&b, "[reuseport last]\n");
	r = cgp_config_parse("t.ini", b.s, b.n, &cfg, err, sizeof(err));
	report(r == -1 && !strcmp(err, "t.ini:3072: too many reuseport sections (max 1023)"),
	       "limit: 1024th reuseport section refused", "got \"%s\"", err);

	/* 16 backends per reuseport */
	b.n = 0;
	for (int i = 0; i < 17; i++)
		sb_add(&b, "[b%d]\ncgroup = /b%d\n", i, i);
	sb_add(&b, "[reuseport r]\nport = 80\n");
	for (int i = 0; i < 16; i++)
		sb_add(&b, "backend = b%d 1\n", i);
	r = cgp_config_parse("t.ini", b.s, b.n, &cfg, err, sizeof(err));
	report(r == 0, "limit: 16 backends accepted", "\"%s\"", err);
	if (r == 0)
		cgp_config_free(&cfg);
	sb_add(&b, "backend = b16 1\n");
	r = cgp_config_parse("t.ini", b.s, b.n, &cfg, err, sizeof(err));
	report(r == -1 && !strcmp(err, "t.ini:53: more than 16 backends in [reuseport r]"),
	       "limit: 17th backend refused", "got \"%s\"", err);

	/* the compiler's trie entry guard: wide port rules over many classes. Wide ranges
	 * get classes of their own (policy/compile_ports.c), so they multiply only when
	 * many of them overlap: 3000 nested ranges, ~6000 wide classes, ~9M entries */
	b.n = 0;
	sb_add(&b, P);
	for (int i = 0; i < 2048; i++)		/* 4096 boundaries */
		sb_add(&b, "allow = in tcp any port %d\n", 2 * i + 1);
	for (int i = 0; i < 3000; i++)
		sb_add(&b, "deny = in tcp 10.%d.%d.0/24 port %d-%d\n", i / 256, i % 256, 10 + 2 * i,
		       65000 - 2 * i);
	r = cgp_config_parse("t.ini", b.s, b.n, &cfg, err, sizeof(err));
	if (r == 0) {
		r = cgp_compile("t.ini", &cfg.policies[0], 1, &cc, err, sizeof(err));
		report(r == -1 && !strcmp(err, "t.ini:1: policy [p] needs more than 4194304 rule trie entries") &&
		       !cc.lpm && !cc.nlpm, "limit: more than 4M trie entries refused by the compiler",
		       "r=%d \"%s\" (%zu entries)", r, err, r == 0 ? cc.nlpm : 0);
		if (r == 0)
			cgp_compiled_free(&cc);
		cgp_config_free(&cfg);
	} else {
		report(false, "limit: more than 4M trie entries refused by the compiler", "parse: %s", err);
	}
	free(b.s);
}

int main(void)
{
	test_table();
	test_big_inputs();
	test_files();
	test_limits();
	printf("%d passed, %d failed\n", npass, nfail);
	return nfail ? 1 : 0;
}
