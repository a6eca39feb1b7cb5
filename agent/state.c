// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <dirent.h>
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

const char *const cgp_map_names[CGP_MAP_N] = {
	"state", "rules", "ports", "pols", "cgroup", "counters", "sk", "flows", "info", "sockstat",
	"cgslots", "socks", "redir", "events", "rl", "guard", "known", "gcnt", "guards",
};
const char *const cgp_prog_names[CGP_PROG_N] = {
	"ingress", "egress", "sockops", "dump", "redir", "guard_in", "guard_out",
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
	char name[64];

	snprintf(name, sizeof(name), "%llu_%s", (unsigned long long)cgid, cgp_prog_names[prog]);
	return cgp_pin_join(buf, len, p, "links", name);
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
	for (int i = 0; i < CGP_MAP_N; i++) {
		if (p->map_fd[i] >= 0)
			close(p->map_fd[i]);
		p->map_fd[i] = -1;
	}
	for (int i = 0; i < CGP_PROG_N; i++) {
		if (p->prog_fd[i] >= 0)
			close(p->prog_fd[i]);
		p->prog_fd[i] = -1;
	}
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

static bool has_entries(const struct cgp_pins *p, const char *sub)
{
	char path[PATH_MAX];
	struct dirent *de;
	bool any = false;
	DIR *d;

	if (cgp_pin_join(path, sizeof(path), p, sub, NULL))
		return false;
	d = opendir(path);
	if (!d)
		return false;
	while (!any && (de = readdir(d)))
		any = strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	closedir(d);
	return any;
}

static int damaged(const struct cgp_pins *p, const char *what, const char *path, int err)
{
	pr_err("%s %s is missing or unreadable (%s): the pin path is damaged. Nothing was changed; "
	       "run 'cgpolicy remove --pin-path %s' (it detaches what is left) and apply again\n",
	       what, path, strerror(-err), p->dir);
	return -EUCLEAN;
}

/*
 * -ENOENT: nothing pinned here. -EPROTO: pins of another layout version.
 * -EUCLEAN: a partial or damaged layout (never taken for "nothing here": a
 * fresh create would detach what is still enforced).
 */
int cgp_pins_open(struct cgp_pins *p)
{
	char path[PATH_MAX];
	struct cgp_state st;
	int err;

	/* The state map first: its layout version says how to read the rest. */
	if (cgp_pin_join(path, sizeof(path), p, "maps", cgp_map_names[CGP_MAP_STATE]))
		return -ENAMETOOLONG;
	p->map_fd[CGP_MAP_STATE] = bpf_obj_get(path);
	if (p->map_fd[CGP_MAP_STATE] < 0) {
		err = -errno;
		if (err == -ENOENT && !has_entries(p, "links") && !has_entries(p, "progs") &&
		    !has_entries(p, "maps"))
			return -ENOENT;
		return damaged(p, "pinned map", path, err);
	}
	err = cgp_state_read(p, &st);
	if (err)
		return damaged(p, "pinned map", path, err);
	if (st.layout != CGP_LAYOUT_VERSION) {
		pr_err("%s holds pins of layout %u, this cgpolicy uses layout %u: remove them with the "
		       "cgpolicy that created them ('cgpolicy remove --pin-path %s'), or by hand "
		       "(rm -r %s), then apply again\n",
		       p->dir, st.layout, CGP_LAYOUT_VERSION, p->dir, p->dir);
		return -EPROTO;
	}
	for (int i = 0; i < CGP_MAP_N; i++) {
		if (i == CGP_MAP_STATE)
			continue;
		if (cgp_pin_join(path, sizeof(path), p, "maps", cgp_map_names[i]))
			return -ENAMETOOLONG;
		p->map_fd[i] = bpf_obj_get(path);
		if (p->map_fd[i] < 0)
			return damaged(p, "pinned map", path, -errno);
	}
	for (int i = 0; i < CGP_PROG_N; i++) {
		if (cgp_pin_join(path, sizeof(path), p, "progs", cgp_prog_names[i]))
			return -ENAMETOOLONG;
		p->prog_fd[i] = bpf_obj_get(path);
		if (p->prog_fd[i] < 0)
			return damaged(p, "pinned program", path, -errno);
	}
	return 0;
}

/* Remove DIR/sub/ and everything pinned in it. */
static int unpin_dir(const struct cgp_pins *p, const char *sub)
{
	char path[PATH_MAX], f[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int err = 0;

	if (cgp_pin_join(path, sizeof(path), p, sub, NULL))
		return -ENAMETOOLONG;
	d = opendir(path);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (snprintf(f, sizeof(f), "%s/%s", path, de->d_name) >= (int)sizeof(f))
			continue;
		if (unlink(f) && errno != ENOENT) {
			err = -errno;
			pr_err("cannot unpin %s: %s\n", f, strerror(errno));
		}
	}
	closedir(d);
	if (rmdir(path) && errno != ENOENT && !err)
		err = -errno;
	return err;
}

int cgp_pins_remove(struct cgp_pins *p)
{
	int err = 0, e;

	/* Links first: enforcement stops as a whole before maps disappear. */
	if ((e = unpin_dir(p, "links")))
		err = e;
	if ((e = unpin_dir(p, "progs")) && !err)
		err = e;
	if ((e = unpin_dir(p, "maps")) && !err)
		err = e;
	return err;
}

static int create_info_map(void)
{
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = BPF_F_NO_PREALLOC);

	return bpf_map_create(BPF_MAP_TYPE_HASH, "cgp_info", sizeof(__u32), sizeof(struct cgp_info),
			      CGP_MAX_SLOTS, &o);
}

static int create_guards_map(void)
{
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = BPF_F_NO_PREALLOC);

	return bpf_map_create(BPF_MAP_TYPE_HASH, "cgp_guards", sizeof(__u32),
			      sizeof(struct cgp_guard_info), CGP_MAX_SLOTS, &o);
}

int cgp_pins_create(struct cgp_pins *p)
{
	struct cgp_enforce *skel = NULL;
	struct cgp_sockstat *ss = NULL;
	struct bpf_map *maps[CGP_MAP_N];
	struct bpf_program *progs[CGP_PROG_N];
	struct cgp_state st = { .gen = 0, .layout = CGP_LAYOUT_VERSION };
	char path[PATH_MAX];
	__u32 zero = 0;
	int info_fd = -1, guards_fd = -1, err;


	skel = cgp_enforce__open();
	if (!skel) {
		err = -errno;
		pr_err("failed to open the enforcement BPF object: %s\n", strerror(-err));
		return err;
	}
	err = cgp_enforce__load(skel);
	if (err) {
		pr_err("failed to load the enforcement BPF programs into the kernel: %s "
		       "(run with -v for the verifier log)\n", strerror(-err));
		goto out;
	}
	/* sockstat shares the cgroup storage (the slot of each policy cgroup) and
	 * the state (the generation). */
	ss = cgp_sockstat__open();
	if (!ss) {
		err = -errno;
		pr_err("failed to open the stats BPF object: %s\n", strerror(-err));
		goto out;
	}
	err = bpf_map__reuse_fd(ss->maps.cgp_cgroup, bpf_map__fd(skel->maps.cgp_cgroup));
	if (!err)
		err = bpf_map__reuse_fd(ss->maps.cgp_state, bpf_map__fd(skel->maps.cgp_state));
	if (!err)
		err = cgp_sockstat__load(ss);
	if (err) {
		pr_err("failed to load the stats BPF programs into the kernel: %s "
		       "(run with -v for the verifier log)\n", strerror(-err));
		goto out;
	}
	maps[CGP_MAP_STATE] = skel->maps.cgp_state;
	maps[CGP_MAP_RULES] = skel->maps.cgp_rules;
	maps[CGP_MAP_PORTS] = skel->maps.cgp_ports;
	maps[CGP_MAP_POLS] = skel->maps.cgp_pols;
	maps[CGP_MAP_CGROUP] = skel->maps.cgp_cgroup;
	maps[CGP_MAP_COUNTERS] = skel->maps.cgp_counters;
	maps[CGP_MAP_SK] = skel->maps.cgp_sk;
	maps[CGP_MAP_FLOWS] = skel->maps.cgp_flows;
	maps[CGP_MAP_INFO] = NULL;
	maps[CGP_MAP_SOCKSTAT] = ss->maps.cgp_sockstat;
	maps[CGP_MAP_CGSLOTS] = ss->maps.cgp_cgslots;
	maps[CGP_MAP_SOCKS] = ss->maps.cgp_socks;
	maps[CGP_MAP_REDIR] = ss->maps.cgp_redir;
	maps[CGP_MAP_EVENTS] = skel->maps.cgp_events;
	maps[CGP_MAP_RL] = skel->maps.cgp_rl;
	maps[CGP_MAP_GUARD] = skel->maps.cgp_guard;
	maps[CGP_MAP_KNOWN] = skel->maps.cgp_known;
	maps[CGP_MAP_GCNT] = skel->maps.cgp_gcnt;
	maps[CGP_MAP_GUARDS] = NULL;
	progs[CGP_PROG_INGRESS] = skel->progs.cgp_ingress;
	progs[CGP_PROG_EGRESS] = skel->progs.cgp_egress;
	progs[CGP_PROG_SOCKOPS] = ss->progs.cgp_sockops;
	progs[CGP_PROG_DUMP] = ss->progs.cgp_dump;
	progs[CGP_PROG_REDIR] = ss->progs.cgp_redir_msg;
	progs[CGP_PROG_GUARD_IN] = skel->progs.cgp_guard_in;
	progs[CGP_PROG_GUARD_OUT] = skel->progs.cgp_guard_out;

	/* The sk_msg program belongs to the sockhash (no bpf_link for that here). */
	if (bpf_prog_attach(bpf_program__fd(progs[CGP_PROG_REDIR]), bpf_map__fd(maps[CGP_MAP_SOCKS]),
			    BPF_SK_MSG_VERDICT, 0)) {
		err = -errno;
		pr_err("failed to attach the redirect program to its sockhash: %s\n", strerror(-err));
		goto out;
	}

	if (bpf_map_update_elem(bpf_map__fd(maps[CGP_MAP_STATE]), &zero, &st, BPF_ANY)) {
		err = -errno;
		pr_err("failed to initialise the state map: %s\n", strerror(-err));
		goto out;
	}
	info_fd = create_info_map();
	guards_fd = info_fd < 0 ? -1 : create_guards_map();
	if (info_fd < 0 || guards_fd < 0) {
		err = -errno;
		pr_err("failed to create the info maps: %s\n", strerror(-err));
		goto out;
	}
	for (int i = 0; i < 3; i++) {
		static const char *const subs[] = { "maps", "progs", "links" };

		cgp_pin_join(path, sizeof(path), p, subs[i], NULL);
		if (mkdir(path, 0700) && errno != EEXIST) {
			err = -errno;
			pr_err("cannot create %s: %s\n", path, strerror(-err));
			goto out;
		}
	}
	/* Programs, then maps, the state map last: it marks a complete layout. */
	for (int i = 0; i < CGP_PROG_N; i++) {
		cgp_pin_join(path, sizeof(path), p, "progs", cgp_prog_names[i]);
		err = bpf_program__pin(progs[i], path);
		if (err)
			goto pin_fail;
	}
	/* The dump iterator's link, made once: creating and closing one per dump
	 * costs a grace period (~10 ms) each time. */
	{
		int lfd = bpf_link_create(bpf_program__fd(progs[CGP_PROG_DUMP]), 0, BPF_TRACE_ITER, NULL);

		cgp_pin_join(path, sizeof(path), p, "progs", "dump_link");
		err = lfd < 0 ? -errno : (bpf_obj_pin(lfd, path) ? -errno : 0);
		if (lfd >= 0)
			close(lfd);
		if (err)
			goto pin_fail;
	}
	for (int i = CGP_MAP_N - 1; i >= 0; i--) {
		cgp_pin_join(path, sizeof(path), p, "maps", cgp_map_names[i]);
		if (i == CGP_MAP_INFO || i == CGP_MAP_GUARDS)
			err = bpf_obj_pin(i == CGP_MAP_INFO ? info_fd : guards_fd, path) ? -errno : 0;
		else
			err = bpf_map__pin(maps[i], path);
		if (err)
			goto pin_fail;
	}
	err = 0;
	goto out;

pin_fail:
	pr_err("failed to pin %s: %s\n", path, strerror(-err));
	cgp_pins_remove(p);
out:
	if (info_fd >= 0)
		close(info_fd);
	if (guards_fd >= 0)
		close(guards_fd);
	cgp_sockstat__destroy(ss);
	cgp_enforce__destroy(skel);
	return err;
}
