// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * features_cache.c - the probed feature table of this boot, kept in
 * /run/cgpolicy/features so that apply does not load ~25 probe programs and
 * parse the kernel's BTF on every run (15 ms of a 10,000-rule one-rule
 * change, docs/PERFORMANCE.md).
 *
 * A kernel's BPF features do not change while it runs, so the table is
 * trusted only for the same boot (boot_id), the same kernel (uname) and the
 * same cgpolicy binary (its inode, size and mtime: a rebuilt binary may
 * probe differently) and the same table (names of the rows). Anything else,
 * a short or foreign file included, and the probes run again. Only a table
 * probed as root with every row known is saved; the test hook
 * (CGP_TEST_DISABLE_FEATURES) is applied after loading, never saved.
 * CGP_NO_FEATURE_CACHE=1 probes every time.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "agent/features.h"

#define FEAT_DIR	"/run/cgpolicy"
#define FEAT_FILE	FEAT_DIR "/features"
#define FEAT_MAGIC	0x3154414546504743ull	/* "CGPFEAT1" */

struct feat_key {
	__uint64_t magic;
	char boot_id[40];
	char release[65], version[65];
	char pad[6];
	__uint64_t exe_ino, exe_size, exe_mtime;
	__uint64_t names;	/* hash of the row names, in order */
	__uint32_t nrows, rowsize;
};

struct feat_rec {
	__uint8_t supported, unknown;
	char why[256];
};

static __uint64_t hash_names(const struct cgp_feature_row *rows, unsigned n)
{
	__uint64_t h = 0xcbf29ce484222325ull;

	for (unsigned i = 0; i < n; i++)
		for (const char *s = rows[i].name; s && *s; s++)
			h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return h;
}

/* The identity of this boot, kernel and binary; -1 when one cannot be read. */
static int make_key(struct feat_key *k, const struct cgp_feature_row *rows, unsigned n)
{
	struct utsname u;
	struct stat st;
	ssize_t len;
	int fd;

	memset(k, 0, sizeof(*k));
	k->magic = FEAT_MAGIC;
	fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	len = read(fd, k->boot_id, sizeof(k->boot_id) - 1);
	close(fd);
	if (len < 32 || uname(&u) || stat("/proc/self/exe", &st))
		return -1;
	k->boot_id[len] = 0;
	snprintf(k->release, sizeof(k->release), "%s", u.release);
	snprintf(k->version, sizeof(k->version), "%s", u.version);
	k->exe_ino = st.st_ino;
	k->exe_size = (__uint64_t)st.st_size;
	k->exe_mtime = (__uint64_t)st.st_mtim.tv_sec * 1000000000ull + (__uint64_t)st.st_mtim.tv_nsec;
	k->names = hash_names(rows, n);
	k->nrows = n;
	k->rowsize = sizeof(struct feat_rec);
	return 0;
}

static bool cache_off(void)
{
	const char *e = getenv("CGP_NO_FEATURE_CACHE");

	return (e && *e && strcmp(e, "0")) || geteuid() != 0;
}

int cgp_features_cache_load(struct cgp_feature_row *rows, unsigned n)
{
	struct feat_key want, have;
	struct feat_rec rec[CGP_FEAT_N];
	int fd, ok;

	if (n > CGP_FEAT_N || cache_off() || make_key(&want, rows, n))
		return -1;
	fd = open(FEAT_FILE, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ok = read(fd, &have, sizeof(have)) == (ssize_t)sizeof(have) &&
	     !memcmp(&have, &want, sizeof(want)) &&
	     read(fd, rec, n * sizeof(*rec)) == (ssize_t)(n * sizeof(*rec));
	close(fd);
	if (!ok)
		return -1;
	for (unsigned i = 0; i < n; i++) {
		rows[i].supported = rec[i].supported;
		rows[i].unknown = rec[i].unknown;
		memcpy(rows[i].why, rec[i].why, sizeof(rows[i].why));
		rows[i].why[sizeof(rows[i].why) - 1] = 0;
	}
	return 0;
}

void cgp_features_cache_save(const struct cgp_feature_row *rows, unsigned n)
{
	struct feat_key k;
	struct feat_rec rec[CGP_FEAT_N];
	char tmp[64];
	int fd, ok;

	if (n > CGP_FEAT_N || cache_off() || make_key(&k, rows, n))
		return;
	memset(rec, 0, sizeof(rec));
	for (unsigned i = 0; i < n; i++) {
		if (rows[i].unknown)
			return;		/* not allowed to probe: nothing worth keeping */
		rec[i].supported = rows[i].supported;
		snprintf(rec[i].why, sizeof(rec[i].why), "%s", rows[i].why);
	}
	if (mkdir(FEAT_DIR, 0700) && errno != EEXIST)
		return;
	snprintf(tmp, sizeof(tmp), FEAT_FILE ".%d", (int)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	ok = write(fd, &k, sizeof(k)) == (ssize_t)sizeof(k) &&
	     write(fd, rec, n * sizeof(*rec)) == (ssize_t)(n * sizeof(*rec));
	if (close(fd) || !ok || rename(tmp, FEAT_FILE))
		unlink(tmp);
}
