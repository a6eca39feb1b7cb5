// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * state.c - the enforcement state: its pinned objects (the list in state.h,
 * opened, created and removed by agent/pins.c), the pin path lock, bpffs.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "agent/log.h"
#include "agent/state.h"
#include "enforce.skel.h"
#include "sockstat.skel.h"

CGP_PIN_SKEL_OPS(cgp_enforce)
CGP_PIN_SKEL_OPS(cgp_sockstat)

static const struct cgp_pin_obj enforce_objs[CGP_OBJ_N] = {
	[CGP_OBJ_ENFORCE] = CGP_PIN_SKEL(cgp_enforce, "enforcement"),
	[CGP_OBJ_SOCKSTAT] = CGP_PIN_SKEL(cgp_sockstat, "stats"),
};
static const struct cgp_pin enforce_maps[CGP_MAP_N] = { CGP_ENFORCE_MAPS(CGP_PIN_MAP) };
static const struct cgp_pin enforce_progs[CGP_PROG_N] = { CGP_ENFORCE_PROGS(CGP_PIN_PROG) };

static int check_state(const char *pin_dir, int fd);
static int setup_state(const int *map_fd, const int *prog_fd);

static const struct cgp_pinset enforce_pins = {
	.sub = NULL,
	.prefix = "",
	.strict = true,
	.objs = enforce_objs, .nobjs = CGP_OBJ_N,
	.maps = enforce_maps, .nmaps = CGP_MAP_N,
	.progs = enforce_progs, .nprogs = CGP_PROG_N,
	.check_marker = check_state,
	.setup = setup_state,
};

#define BPFFS_DEFAULT "/sys/fs/bpf"

void cgp_pins_init(struct cgp_pins *p, const char *dir)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->dir, sizeof(p->dir), "%s", dir);
	p->lock_fd = -1;
	for (int i = 0; i < CGP_MAP_N; i++)
		p->map_fd[i] = -1;
	for (int i = 0; i < CGP_PROG_N; i++)
		p->prog_fd[i] = -1;
}

int cgp_pin_join(char *buf, size_t len, const struct cgp_pins *p, const char *sub, const char *name)
{
	int n = name ? snprintf(buf, len, "%s/%s/%s", p->dir, sub, name)
		     : snprintf(buf, len, "%s/%s", p->dir, sub);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int cgp_link_pin_path(char *buf, size_t len, const struct cgp_pins *p, __u64 cgid, enum cgp_prog prog)
{
	return cgp_pinset_link_path(buf, len, &enforce_pins, p->dir, cgid, prog);
}

int cgp_guard_pin_path(char *buf, size_t len, const struct cgp_pins *p, __u64 cgid, int dir)
{
	char name[64];

	snprintf(name, sizeof(name), "guard_%llu_%s", (unsigned long long)cgid,
		 dir == CGP_DIR_IN ? "ingress" : "egress");
	return cgp_pin_join(buf, len, p, "links", name);
}

static bool is_bpffs(const char *path)
{
	struct statfs s;

	return !statfs(path, &s) && s.f_type == BPF_FS_MAGIC;
}

/* The nearest existing ancestor of `path` (or path itself). */
static void existing_ancestor(const char *path, char *out, size_t len)
{
	struct stat st;
	char *slash;

	snprintf(out, len, "%s", path);
	while (stat(out, &st)) {
		slash = strrchr(out, '/');
		if (!slash || slash == out) {
			snprintf(out, len, "/");
			return;
		}
		*slash = 0;
	}
}

static int mkdir_p(const char *path, mode_t mode)
{
	char tmp[PATH_MAX];

	if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	for (char *s = tmp + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		if (mkdir(tmp, mode) && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	if (mkdir(tmp, mode) && errno != EEXIST)
		return -errno;
	return 0;
}

static int ensure_bpffs(const char *dir)
{
	char anc[PATH_MAX];

	existing_ancestor(dir, anc, sizeof(anc));
	if (is_bpffs(anc))
		return 0;
	/* Only the standard location is mounted on the user's behalf. */
	if (!strncmp(dir, BPFFS_DEFAULT "/", strlen(BPFFS_DEFAULT) + 1) && !is_bpffs(BPFFS_DEFAULT)) {
		if (mkdir_p(BPFFS_DEFAULT, 0755) < 0 ||
		    mount("bpf", BPFFS_DEFAULT, "bpf", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0700")) {
			pr_err("cannot mount bpffs on %s: %s\n", BPFFS_DEFAULT, strerror(errno));
			return -errno;
		}
		pr_info("mounted bpffs on %s\n", BPFFS_DEFAULT);
		return 0;
	}
	pr_err("pin path %s is not on a bpf filesystem; mount one first: mount -t bpf bpf DIR\n", dir);
	return -EINVAL;
}

int cgp_pins_lock(struct cgp_pins *p, bool create)
{
	int err;

	if (create) {
		err = ensure_bpffs(p->dir);
		if (err)
			return err;
	}
	for (int tries = 0; tries < 10; tries++) {
		struct stat a, b;
		int fd;

		if (create) {
			err = mkdir_p(p->dir, 0700);
			if (err) {
				pr_err("cannot create pin path %s: %s\n", p->dir, strerror(-err));
				return err;
			}
		}
		fd = open(p->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		if (flock(fd, LOCK_EX)) {
			err = -errno;
			close(fd);
			return err;
		}
		/* `remove` may have deleted the directory while we waited. */
		if (!fstat(fd, &a) && !stat(p->dir, &b) && a.st_ino == b.st_ino && a.st_dev == b.st_dev) {
			p->lock_fd = fd;
			return 0;
		}
		close(fd);
		if (!create)
			return -ENOENT;
	}
	return -EAGAIN;
}

void cgp_pins_close(struct cgp_pins *p)
{
	cgp_pinset_close(&enforce_pins, p->map_fd, p->prog_fd);
	if (p->lock_fd >= 0)
		close(p->lock_fd);
	p->lock_fd = -1;
}

int cgp_state_read(const struct cgp_pins *p, struct cgp_state *st)
{
	__u32 zero = 0;

	if (bpf_map_lookup_elem(p->map_fd[CGP_MAP_STATE], &zero, st))
		return -errno;
	return 0;
}

/* The layout version in the state map says how to read the rest. */
static int check_state(const char *pin_dir, int fd)
{
	struct cgp_state st;
	__u32 zero = 0;

	if (bpf_map_lookup_elem(fd, &zero, &st))
		return -errno;
	if (st.layout != CGP_LAYOUT_VERSION) {
		pr_err("%s holds pins of layout %u, this cgpolicy uses layout %u: remove them with the "
		       "cgpolicy that created them ('cgpolicy remove --pin-path %s'), or by hand "
		       "(rm -r %s), then apply again\n",
		       pin_dir, st.layout, CGP_LAYOUT_VERSION, pin_dir, pin_dir);
		return -EPROTO;
	}
	return 0;
}

/*
 * -ENOENT: nothing pinned here. -EPROTO: pins of another layout version.
 * -EUCLEAN: a partial or damaged layout (never taken for "nothing here": a
 * fresh create would detach what is still enforced).
 */
int cgp_pins_open(struct cgp_pins *p)
{
	return cgp_pinset_open(&enforce_pins, p->dir, p->map_fd, p->prog_fd, 0);
}

int cgp_pins_remove(struct cgp_pins *p)
{
	return cgp_pinset_remove(&enforce_pins, p->dir);
}

/* At create, before pinning: the sk_msg program on its sockhash, the state's first value. */
static int setup_state(const int *map_fd, const int *prog_fd)
{
	struct cgp_state st = { .gen = 0, .layout = CGP_LAYOUT_VERSION };
	__u32 zero = 0;
	int err;

	/* The sk_msg program belongs to the sockhash (no bpf_link for that here). */
	if (bpf_prog_attach(prog_fd[CGP_PROG_REDIR], map_fd[CGP_MAP_SOCKS], BPF_SK_MSG_VERDICT, 0)) {
		err = -errno;
		pr_err("failed to attach the redirect program to its sockhash: %s\n", strerror(-err));
		return err;
	}
	if (bpf_map_update_elem(map_fd[CGP_MAP_STATE], &zero, &st, BPF_ANY)) {
		err = -errno;
		pr_err("failed to initialise the state map: %s\n", strerror(-err));
		return err;
	}
	return 0;
}

int cgp_pins_create(struct cgp_pins *p)
{
	return cgp_pinset_create(&enforce_pins, p->dir);
}
