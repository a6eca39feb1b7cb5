// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_util.c - util/: JSON strings and Prometheus labels, v4-mapped
 * addresses as text, per-CPU sums, the subdirectory walk. No kernel, no libbpf.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/addr.h"
#include "util/dirwalk.h"
#include "util/json.h"
#include "util/percpu.h"

#include "tests/tap.h"

/* What fn wrote for s, in a static buffer. */
static const char *written(int (*fn)(FILE *, const char *), const char *s)
{
	static char out[1024];
	FILE *f = fmemopen(out, sizeof(out), "w");

	if (!f)
		return "(fmemopen failed)";
	fn(f, s);
	fclose(f);
	return out;
}

static void check_str(int (*fn)(FILE *, const char *), const char *what, const char *in, const char *want)
{
	const char *got = written(fn, in);

	report(!strcmp(got, want), tap_name("%s of %s", what, want), "got %s", got);
}

static void test_json(void)
{
	check_str(cgp_json_str, "json", "web", "\"web\"");
	check_str(cgp_json_str, "json", "", "\"\"");
	check_str(cgp_json_str, "json", "a\"b\\c", "\"a\\\"b\\\\c\"");
	check_str(cgp_json_str, "json", "tab\there\nnl\x01\x1f", "\"tab\\u0009here\\u000anl\\u0001\\u001f\"");
	check_str(cgp_json_str, "json", "/sys/fs/cgroup/caf\xc3\xa9 \x7f", "\"/sys/fs/cgroup/caf\xc3\xa9 \x7f\"");
	check_str(cgp_json_str, "json", NULL, "null");
	check_str(cgp_prom_label, "label", "a\"b\\c\nd\te", "\"a\\\"b\\\\c\\nd\te\"");
}

static void check_addr(const uint8_t a[16], int v4, const char *want)
{
	char buf[CGP_ADDR_STRLEN];

	if (v4 < 0)
		cgp_addr_auto_str(a, buf, sizeof(buf));
	else
		cgp_addr_str(a, v4, buf, sizeof(buf));
	report(!strcmp(buf, want), tap_name("address %s (v4 %d)", want, v4), "got %s", buf);
}

static void test_addr(void)
{
	static const uint8_t lo4[16] = { [10] = 0xff, [11] = 0xff, 127, 0, 0, 1 };
	static const uint8_t lo6[16] = { [15] = 1 };
	static const uint8_t full[16] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
					  0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	static const uint8_t zero[16];
	char small[3];

	report(cgp_addr_v4mapped(lo4), "::ffff:127.0.0.1 is v4-mapped", "it is not");
	report(!cgp_addr_v4mapped(lo6), "::1 is not v4-mapped", "it is");
	report(!cgp_addr_v4mapped(zero), ":: is not v4-mapped", "it is");
	check_addr(lo4, -1, "127.0.0.1");
	check_addr(lo4, 1, "127.0.0.1");
	check_addr(lo4, 0, "::ffff:127.0.0.1");	/* an IPv6 socket's v4-mapped peer */
	check_addr(lo6, -1, "::1");
	check_addr(zero, 1, "0.0.0.0");
	check_addr(full, -1, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
	report(strlen("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255") < CGP_ADDR_STRLEN,
	       "CGP_ADDR_STRLEN holds the longest form", "too small");
	cgp_addr_str(lo6, 0, small, sizeof(small));
	report(!strcmp(small, "?"), "a buffer too small gives ?", "got %s", small);
}

static void test_percpu(void)
{
	struct val { uint64_t a[2][2]; uint64_t b; } pc[3], sum = { .b = 100 };
	bool ok = true;

	for (int c = 0; c < 3; c++)
		pc[c] = (struct val){ { { c + 1, 10 * (c + 1) }, { 100u * (c + 1), 1ull << (40 + c) } }, c };
	cgp_percpu_sum_u64(&sum, pc, sizeof(pc[0]), 3);
	ok = sum.a[0][0] == 6 && sum.a[0][1] == 60 && sum.a[1][0] == 600 &&
	     sum.a[1][1] == (1ull << 40) + (1ull << 41) + (1ull << 42) && sum.b == 103;
	report(ok, "per-CPU sum of 3 CPUs, added to what the sum held", "got %llu %llu %llu %llu %llu",
	       (unsigned long long)sum.a[0][0], (unsigned long long)sum.a[0][1], (unsigned long long)sum.a[1][0],
	       (unsigned long long)sum.a[1][1], (unsigned long long)sum.b);
	memset(&sum, 0, sizeof(sum));
	cgp_percpu_sum_u64(&sum, pc, sizeof(pc[0]), 0);
	report(!sum.a[0][0] && !sum.b, "per-CPU sum of 0 CPUs adds nothing", "sum changed");
}

struct seen {
	char names[16][64];
	unsigned n, stop_at;
};

/* Records path relative to the tree's root; recurses; stops the walk at call stop_at. */
static int on_subdir(char *path, size_t len, const char *name, void *ctx)
{
	struct seen *s = ctx;
	const char *rel = strstr(path, "/t/");

	if (s->n < 16)
		snprintf(s->names[s->n], sizeof(s->names[0]), "%s:%s", rel ? rel + 3 : path, name);
	if (++s->n == s->stop_at)
		return 7;
	return cgp_subdirs(path, len, on_subdir, ctx);
}

static bool seen(const struct seen *s, const char *want)
{
	for (unsigned i = 0; i < s->n && i < 16; i++)
		if (!strcmp(s->names[i], want))
			return true;
	return false;
}

static void test_dirwalk(void)
{
	char root[] = "/tmp/cgp-test-util-XXXXXX", path[256], small[64];
	struct seen s = {};
	int err;

	if (!mkdtemp(root)) {
		report(false, "dirwalk: a temporary directory", "mkdtemp failed");
		return;
	}
	snprintf(path, sizeof(path), "%s/t", root);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/t/a", root);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/t/a/b", root);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/t/.hidden", root);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/t/file", root);
	fclose(fopen(path, "w"));

	snprintf(path, sizeof(path), "%s/t", root);
	err = cgp_subdirs(path, sizeof(path), on_subdir, &s);
	report(!err && s.n == 3 && seen(&s, "a:a") && seen(&s, "a/b:b") && seen(&s, ".hidden:.hidden"),
	       "dirwalk: every subdirectory, nested ones through the callback, files left out",
	       "err %d, %u seen", err, s.n);
	report(!strcmp(path + strlen(path) - 2, "/t"), "dirwalk: the path is restored", "got %s", path);
	memset(&s, 0, sizeof(s));
	s.stop_at = 1;
	err = cgp_subdirs(path, sizeof(path), on_subdir, &s);
	report(err == 7 && s.n == 1, "dirwalk: a nonzero return stops the walk and is returned", "err %d, %u seen",
	       err, s.n);
	memset(&s, 0, sizeof(s));
	snprintf(small, sizeof(small), "%s/t", root);
	err = cgp_subdirs(small, strlen(small) + 2, on_subdir, &s);
	report(!err && s.n == 0, "dirwalk: a name that does not fit the buffer is skipped", "%u seen", s.n);
	snprintf(path, sizeof(path), "%s/gone", root);
	report(!cgp_subdirs(path, sizeof(path), on_subdir, &s), "dirwalk: a missing directory has no subdirectories",
	       "an error");

	snprintf(path, sizeof(path), "%s/t/a/b", root);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/t/a", root);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/t/.hidden", root);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/t/file", root);
	unlink(path);
	snprintf(path, sizeof(path), "%s/t", root);
	rmdir(path);
	rmdir(root);
}

int main(void)
{
	test_json();
	test_addr();
	test_percpu();
	test_dirwalk();
	return tap_done();
}
