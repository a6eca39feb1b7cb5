// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * cgroup.c - cgroup2 paths (cgroup.h): the mount and its root from
 * mountinfo, resolving a policy's `cgroup =`, glob matching and walks (one
 * subdirectory step, util/dirwalk.h), cgroup levels.
 */
#include <errno.h>
#include <fnmatch.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/magic.h>

#include "agent/cgroup.h"
#include "util/dirwalk.h"

/* Unescape mountinfo's octal escapes (\040 for space ...) in place. */
static void unescape(char *s)
{
	char *w = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*w++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*w++ = *s;
		}
	}
	*w = 0;
}

/* The first cgroup2 line of mountinfo whose mount point is mnt (any, with mnt
 * NULL): its root in the hierarchy (field 4) and mount point (field 5),
 * unescaped. 0, -ENOENT (none) or -errno. */
static int cgroup2_mountinfo(const char *mnt, char root[PATH_MAX], char mp[PATH_MAX])
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL;
	size_t cap = 0;
	int ret = -ENOENT;

	if (!f)
		return -errno;
	while (getline(&line, &cap, f) > 0) {
		/* id parent maj:min root mountpoint opts [optional...] - fstype source superopts */
		char *sep = strstr(line, " - ");
		char fstype[64];

		if (!sep || sscanf(sep + 3, "%63s", fstype) != 1 || strcmp(fstype, "cgroup2"))
			continue;
		if (sscanf(line, "%*s %*s %*s %4095s %4095s", root, mp) != 2)
			continue;
		unescape(root);
		unescape(mp);
		if (mnt && strcmp(mp, mnt))
			continue;
		ret = 0;
		break;
	}
	free(line);
	fclose(f);
	return ret;
}

static int copy_path(char *buf, size_t len, const char *s)
{
	if (strlen(s) >= len)
		return -ENAMETOOLONG;
	strcpy(buf, s);
	return 0;
}

int cgp_cgroup2_mount(char *buf, size_t len)
{
	char root[PATH_MAX], mp[PATH_MAX];
	int ret = cgroup2_mountinfo(NULL, root, mp);

	return ret ? ret : copy_path(buf, len, mp);
}

int cgp_cgroup_self(char *rel, size_t len)
{
	char root[PATH_MAX], mp[PATH_MAX], *line = NULL;
	size_t cap = 0, rl;
	int ret = cgroup2_mountinfo(NULL, root, mp);
	FILE *f;

	if (ret)
		return ret;
	f = fopen("/proc/self/cgroup", "re");
	if (!f)
		return -errno;
	ret = -ENOENT;
	while (getline(&line, &cap, f) > 0) {
		char *p = line;

		if (strncmp(p, "0::", 3))
			continue;
		p += 3;
		p[strcspn(p, "\n")] = '\0';
		/* the mount shows the hierarchy from `root` down: our path below it */
		rl = strcmp(root, "/") ? strlen(root) : 0;
		if (rl && (strncmp(p, root, rl) || (p[rl] && p[rl] != '/')))
			break;		/* our cgroup is not under the mount: unknown */
		ret = copy_path(rel, len, p[rl] ? p + rl : "/");
		break;
	}
	free(line);
	fclose(f);
	return ret;
}

int cgp_cgroup_resolve(const char *mnt, const char *spec, char *path, size_t pathlen,
		       int *fd, __u64 *id, char *err, size_t errlen)
{
	size_t ml = strlen(mnt);
	struct statfs sfs;
	struct stat st;
	int n, f;

	/* An absolute path already under the mount is taken as is. */
	if (!strncmp(spec, mnt, ml) && (spec[ml] == '/' || spec[ml] == 0))
		n = snprintf(path, pathlen, "%s", spec);
	else
		n = snprintf(path, pathlen, "%s%s", mnt, strcmp(spec, "/") ? spec : "");
	if (n < 0 || (size_t)n >= pathlen) {
		snprintf(err, errlen, "cgroup path '%s' is too long", spec);
		return -ENAMETOOLONG;
	}
	f = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (f < 0) {
		int e = errno;

		if (e == ENOENT)
			snprintf(err, errlen, "cgroup %s does not exist (%s); create it first", spec, path);
		else
			snprintf(err, errlen, "cannot open cgroup %s (%s): %s", spec, path, strerror(e));
		return -e;
	}
	if (fstatfs(f, &sfs) || sfs.f_type != CGROUP2_SUPER_MAGIC) {
		snprintf(err, errlen, "%s is not a cgroup2 directory (cgroup v1 is not supported; cgroup2 is at %s)",
			 path, mnt);
		close(f);
		return -EINVAL;
	}
	if (fstat(f, &st)) {
		int e = errno;

		snprintf(err, errlen, "cannot stat %s: %s", path, strerror(e));
		close(f);
		return -e;
	}
	*fd = f;
	*id = st.st_ino;	/* the cgroup id on cgroup2 (kernfs node id) */
	return 0;
}

bool cgp_cgroup_is_glob(const char *spec)
{
	return strpbrk(spec, "*?[") != NULL;
}

/* The pattern relative to the mount ("" for the root), like resolve() does. */
static const char *rel_pattern(const char *mnt, const char *spec)
{
	size_t ml = strlen(mnt);

	if (!strncmp(spec, mnt, ml) && (spec[ml] == '/' || spec[ml] == 0))
		spec += ml;
	return spec;
}

static int glob_walk(char *dir, size_t dlen, const char *pat, cgp_glob_cb on_match,
		     cgp_glob_cb on_dir, void *ctx);

/* One level of a glob walk: its component and what follows it. */
struct glob_step {
	const char *comp;
	const char *rest;	/* NULL: comp is the last component */
	cgp_glob_cb on_match, on_dir;
	void *ctx;
};

static int glob_child(char *dir, size_t dlen, const char *name, void *ctx)
{
	const struct glob_step *g = ctx;

	if (fnmatch(g->comp, name, FNM_PERIOD))
		return 0;
	if (g->rest)
		return glob_walk(dir, dlen, g->rest, g->on_match, g->on_dir, g->ctx);
	return g->on_match(dir, g->ctx);
}

/* dir: an existing directory matching the first components; pat: the rest (no leading '/'). */
static int glob_walk(char *dir, size_t dlen, const char *pat, cgp_glob_cb on_match,
		     cgp_glob_cb on_dir, void *ctx)
{
	const char *slash = strchr(pat, '/');
	size_t clen = slash ? (size_t)(slash - pat) : strlen(pat);
	char comp[NAME_MAX + 1];
	struct glob_step g = { comp, slash ? slash + 1 : NULL, on_match, on_dir, ctx };
	int err;

	if (clen > NAME_MAX)
		return 0;
	memcpy(comp, pat, clen);
	comp[clen] = 0;
	if (on_dir && (err = on_dir(dir, ctx)))
		return err;
	return cgp_subdirs(dir, dlen, glob_child, &g);	/* removed meanwhile: nothing below it */
}

int cgp_cgroup_glob(const char *mnt, const char *spec, cgp_glob_cb on_match, cgp_glob_cb on_dir,
		    void *ctx)
{
	const char *pat = rel_pattern(mnt, spec), *first;
	char dir[PATH_MAX];
	size_t n;

	/* The literal prefix: components without glob characters. */
	snprintf(dir, sizeof(dir), "%s", mnt);
	while (*pat == '/') {
		const char *next = strchr(pat + 1, '/');
		size_t clen = next ? (size_t)(next - pat - 1) : strlen(pat + 1);

		if (memchr(pat + 1, '*', clen) || memchr(pat + 1, '?', clen) || memchr(pat + 1, '[', clen))
			break;
		n = strlen(dir);
		if (n + 1 + clen >= sizeof(dir))
			return -ENAMETOOLONG;
		snprintf(dir + n, sizeof(dir) - n, "/%.*s", (int)clen, pat + 1);
		if (!next) {	/* no glob at all: the path itself */
			struct stat st;

			return stat(dir, &st) ? 0 : on_match(dir, ctx);
		}
		pat = next;
	}
	first = pat + 1;
	{
		struct stat st;

		if (stat(dir, &st) || !S_ISDIR(st.st_mode)) {
			/* Not there yet: watch the nearest existing ancestor. */
			while (on_dir && strlen(dir) > strlen(mnt) && stat(dir, &st)) {
				char *sl = strrchr(dir, '/');

				if (!sl)
					break;
				*sl = 0;
			}
			return on_dir && !stat(dir, &st) ? on_dir(dir, ctx) : 0;
		}
	}
	return glob_walk(dir, sizeof(dir), first, on_match, on_dir, ctx);
}

static bool has_glob(const char *s, size_t n)
{
	return memchr(s, '*', n) || memchr(s, '?', n) || memchr(s, '[', n);
}

int cgp_cgroup_glob_root(const char *mnt, const char *spec, char *anc, size_t anclen, unsigned *depth)
{
	const char *pat = rel_pattern(mnt, spec);
	struct stat st;
	unsigned d = 0;
	size_t n;

	if (snprintf(anc, anclen, "%s", mnt) >= (int)anclen)
		return -ENAMETOOLONG;
	while (*pat == '/') {
		const char *next = strchr(pat + 1, '/');
		size_t clen = next ? (size_t)(next - pat - 1) : strlen(pat + 1);

		if (has_glob(pat + 1, clen))
			break;
		n = strlen(anc);
		if (n + 1 + clen >= anclen)
			return -ENAMETOOLONG;
		if (clen)
			snprintf(anc + n, anclen - n, "/%.*s", (int)clen, pat + 1);
		if (!next)
			return -EINVAL;	/* no glob at all */
		pat = next;
	}
	for (const char *c = pat; *c; c++)
		d += *c == '/';
	if (!d)
		return -EINVAL;
	*depth = d;
	return stat(anc, &st) || !S_ISDIR(st.st_mode) ? -ENOENT : 0;
}

int cgp_cgroup_guard_point(const char *mnt, const char *spec, char *anc, size_t anclen, unsigned *depth,
			   bool *exists)
{
	size_t ml = strlen(mnt);
	struct stat st;
	int e = cgp_cgroup_glob_root(mnt, spec, anc, anclen, depth);

	*exists = !e;
	if (e != -ENOENT)
		return e;
	while (strlen(anc) > ml && (stat(anc, &st) || !S_ISDIR(st.st_mode))) {
		char *sl = strrchr(anc, '/');

		if (!sl)
			return -ENOENT;
		*sl = 0;
	}
	if (strlen(anc) < ml)
		return -ENOENT;
	*depth = 1;
	return 0;
}

bool cgp_cgroup_glob_match(const char *mnt, const char *spec, const char *path)
{
	const char *pat = rel_pattern(mnt, spec), *rel;
	size_t ml = strlen(mnt);

	if (strncmp(path, mnt, ml) || (path[ml] != '/' && path[ml]))
		return false;
	rel = path + ml;
	for (;;) {
		char pc[NAME_MAX + 1], nc[NAME_MAX + 1];
		size_t pl, nl;

		while (*pat == '/')
			pat++;
		while (*rel == '/')
			rel++;
		if (!*pat || !*rel)
			return !*pat && !*rel;
		pl = strcspn(pat, "/");
		nl = strcspn(rel, "/");
		if (pl > NAME_MAX || nl > NAME_MAX)
			return false;
		memcpy(pc, pat, pl);
		pc[pl] = 0;
		memcpy(nc, rel, nl);
		nc[nl] = 0;
		if (fnmatch(pc, nc, FNM_PERIOD))
			return false;
		pat += pl;
		rel += nl;
	}
}

/* The root of the cgroup2 mount inside the hierarchy (mountinfo field 4). */
static int mount_root(const char *mnt, char *buf, size_t len)
{
	char root[PATH_MAX], mp[PATH_MAX];
	int ret = cgroup2_mountinfo(mnt, root, mp);

	return ret ? ret : copy_path(buf, len, root);
}

static unsigned components(const char *s)
{
	unsigned n = 0;

	for (; *s; s++)
		if (*s != '/' && (s[1] == '/' || !s[1]))
			n++;
	return n;
}

int cgp_cgroup_level(const char *mnt, const char *path, unsigned *level)
{
	size_t ml = strlen(mnt);
	char root[PATH_MAX];
	int err;

	if (strncmp(path, mnt, ml) || (path[ml] != '/' && path[ml]))
		return -EINVAL;
	err = mount_root(mnt, root, sizeof(root));
	if (err)
		return err;
	/* Inside a cgroup namespace whose root is not the mount's, the root reads
	 * "/.." and the level cannot be known from here. */
	if (strstr(root, "/.."))
		return -EXDEV;
	*level = components(root) + components(path + ml);
	return 0;
}

static int cand_walk(char *dir, size_t dlen, unsigned depth, cgp_glob_cb on_cand, cgp_glob_cb on_dir,
		     void *ctx);

struct cand_step {
	unsigned depth;		/* of the children */
	cgp_glob_cb on_cand, on_dir;
	void *ctx;
};

static int cand_child(char *dir, size_t dlen, const char *name, void *ctx)
{
	const struct cand_step *c = ctx;

	(void)name;
	return cand_walk(dir, dlen, c->depth, c->on_cand, c->on_dir, c->ctx);
}

static int cand_walk(char *dir, size_t dlen, unsigned depth, cgp_glob_cb on_cand, cgp_glob_cb on_dir,
		     void *ctx)
{
	struct cand_step c = { depth - 1, on_cand, on_dir, ctx };
	int err;

	if (!depth)
		return on_cand(dir, ctx);
	if (on_dir && (err = on_dir(dir, ctx)))
		return err;
	return cgp_subdirs(dir, dlen, cand_child, &c);	/* removed meanwhile: nothing below */
}

int cgp_cgroup_candidates(const char *anc, unsigned depth, cgp_glob_cb on_cand, cgp_glob_cb on_dir,
			  void *ctx)
{
	char dir[PATH_MAX];

	if (!depth || snprintf(dir, sizeof(dir), "%s", anc) >= (int)sizeof(dir))
		return -EINVAL;
	return cand_walk(dir, sizeof(dir), depth, on_cand, on_dir, ctx);
}
