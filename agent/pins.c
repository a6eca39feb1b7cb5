// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * pins.c - open, create, check and remove a pinned state from its list of
 * maps and programs (agent/pins.h). Written once for every state: the
 * enforcement state (agent/state.c) and the steering state (agent/rp_state.c).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "agent/log.h"
#include "agent/pins.h"

static const char *const subdirs[] = { "maps", "progs", "links" };

void cgp_pinset_fds_init(const struct cgp_pinset *s, int *map_fd, int *prog_fd)
{
	for (unsigned i = 0; i < s->nmaps; i++)
		map_fd[i] = -1;
	for (unsigned i = 0; i < s->nprogs; i++)
		prog_fd[i] = -1;
}

void cgp_pinset_close(const struct cgp_pinset *s, int *map_fd, int *prog_fd)
{
	for (unsigned i = 0; i < s->nmaps; i++)
		if (map_fd[i] >= 0)
			close(map_fd[i]);
	for (unsigned i = 0; i < s->nprogs; i++)
		if (prog_fd[i] >= 0)
			close(prog_fd[i]);
	cgp_pinset_fds_init(s, map_fd, prog_fd);
}

int cgp_pinset_path(char *buf, size_t len, const struct cgp_pinset *s, const char *pin_dir,
		    const char *sub, const char *name)
{
	const char *set = s->sub ? s->sub : "";
	const char *sep = s->sub ? "/" : "";
	int n;

	if (sub && name)
		n = snprintf(buf, len, "%s%s%s/%s/%s", pin_dir, sep, set, sub, name);
	else if (sub)
		n = snprintf(buf, len, "%s%s%s/%s", pin_dir, sep, set, sub);
	else
		n = snprintf(buf, len, "%s%s%s", pin_dir, sep, set);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int cgp_pinset_link_path(char *buf, size_t len, const struct cgp_pinset *s, const char *pin_dir,
			 __u64 cgid, unsigned prog)
{
	char name[64];

	snprintf(name, sizeof(name), "%llu_%s", (unsigned long long)cgid, s->progs[prog].name);
	return cgp_pinset_path(buf, len, s, pin_dir, "links", name);
}

/* ------------------------------------------------------------ open */

static bool has_entries(const struct cgp_pinset *s, const char *pin_dir, const char *sub)
{
	char path[PATH_MAX];
	struct dirent *de;
	bool any = false;
	DIR *d;

	if (cgp_pinset_path(path, sizeof(path), s, pin_dir, sub, NULL))
		return false;
	d = opendir(path);
	if (!d)
		return false;
	while (!any && (de = readdir(d)))
		any = strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	closedir(d);
	return any;
}

/* Report a missing or unreadable pin; the error open returns for it. */
static int damaged(const struct cgp_pinset *s, const char *pin_dir, const char *what,
		   const char *path, int err)
{
	if (s->strict) {
		pr_err("%s%s %s is missing or unreadable (%s): the pin path is damaged. Nothing was "
		       "changed; run 'cgpolicy remove --pin-path %s' (it detaches what is left) and "
		       "apply again\n", s->prefix, what, path, strerror(-err), pin_dir);
		return -EUCLEAN;
	}
	pr_err("%s%s %s is missing (%s): run 'cgpolicy remove --pin-path %s' and apply again\n",
	       s->prefix, what, path, strerror(-err), pin_dir);
	return err;
}

static int find_marker(const struct cgp_pinset *s)
{
	for (unsigned i = 0; i < s->nmaps; i++)
		if (s->maps[i].flags & CGP_PIN_MARKER)
			return (int)i;
	return -1;
}

static int open_marker(const struct cgp_pinset *s, const char *pin_dir, int *map_fd, unsigned m)
{
	char path[PATH_MAX];
	int err;

	if (cgp_pinset_path(path, sizeof(path), s, pin_dir, "maps", s->maps[m].name))
		return -ENAMETOOLONG;
	map_fd[m] = bpf_obj_get(path);
	if (map_fd[m] < 0) {
		err = -errno;
		if (err == -ENOENT && (!s->strict || (!has_entries(s, pin_dir, "links") &&
						      !has_entries(s, pin_dir, "progs") &&
						      !has_entries(s, pin_dir, "maps"))))
			return -ENOENT;
		return damaged(s, pin_dir, "pinned map", path, err);
	}
	err = s->check_marker ? s->check_marker(pin_dir, map_fd[m]) : 0;
	if (err && err != -EPROTO)
		return damaged(s, pin_dir, "pinned map", path, err);
	return err;
}

static int open_list(const struct cgp_pinset *s, const char *pin_dir, bool maps, int *fd,
		     unsigned flags)
{
	const struct cgp_pin *list = maps ? s->maps : s->progs;
	unsigned n = maps ? s->nmaps : s->nprogs;
	char path[PATH_MAX];

	for (unsigned i = 0; i < n; i++) {
		if (fd[i] >= 0)	/* the marker */
			continue;
		if (cgp_pinset_path(path, sizeof(path), s, pin_dir, maps ? "maps" : "progs", list[i].name))
			return -ENAMETOOLONG;
		fd[i] = bpf_obj_get(path);
		if (fd[i] >= 0)
			continue;
		if ((list[i].flags & CGP_PIN_NEWER) && errno == ENOENT) {
			if (flags & CGP_PIN_OPEN_ANY_LAYOUT)
				continue;
			return -ESTALE;
		}
		return damaged(s, pin_dir, maps ? "pinned map" : "pinned program", path, -errno);
	}
	return 0;
}

int cgp_pinset_open(const struct cgp_pinset *s, const char *pin_dir, int *map_fd, int *prog_fd,
		    unsigned flags)
{
	int m = find_marker(s), err;

	cgp_pinset_fds_init(s, map_fd, prog_fd);
	err = m < 0 ? -EINVAL : open_marker(s, pin_dir, map_fd, m);
	if (!err)
		err = open_list(s, pin_dir, true, map_fd, flags);
	if (!err)
		err = open_list(s, pin_dir, false, prog_fd, flags);
	if (err)
		cgp_pinset_close(s, map_fd, prog_fd);
	return err;
}

/* ------------------------------------------------------------ remove */

/* Remove DIR/sub/ and everything pinned in it. */
static int unpin_dir(const struct cgp_pinset *s, const char *pin_dir, const char *sub)
{
	char path[PATH_MAX], f[PATH_MAX + 256];
	struct dirent *de;
	DIR *d;
	int err = 0;

	if (cgp_pinset_path(path, sizeof(path), s, pin_dir, sub, NULL))
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
			pr_err("%scannot unpin %s: %s\n", s->prefix, f, strerror(errno));
		}
	}
	closedir(d);
	if (rmdir(path) && errno != ENOENT && !err)
		err = -errno;
	return err;
}

int cgp_pinset_remove(const struct cgp_pinset *s, const char *pin_dir)
{
	char path[PATH_MAX];
	int err = 0, e;

	/* Links first: what is attached stops as a whole before maps disappear. */
	for (int i = 2; i >= 0; i--)
		if ((e = unpin_dir(s, pin_dir, subdirs[i])) && !err)
			err = e;
	if (s->sub && !cgp_pinset_path(path, sizeof(path), s, pin_dir, NULL, NULL) &&
	    rmdir(path) && errno != ENOENT && !err)
		err = -errno;
	return err;
}

/* ------------------------------------------------------------ create */

#define MAX_OBJS 4
#define MAX_MAPS 64
#define MAX_PROGS 16

struct loaded {
	void *skel[MAX_OBJS];
	struct bpf_object *obj[MAX_OBJS];
	int map_fd[MAX_MAPS];	/* owned for user maps only */
	int prog_fd[MAX_PROGS];	/* not owned */
};

/* The fds of the maps and programs the list has in object o (loaded). */
static int object_fds(const struct cgp_pinset *s, struct loaded *ld, unsigned o)
{
	for (unsigned i = 0; i < s->nmaps + s->nprogs; i++) {
		bool is_map = i < s->nmaps;
		const struct cgp_pin *e = is_map ? &s->maps[i] : &s->progs[i - s->nmaps];
		struct bpf_map *m = NULL;
		struct bpf_program *pr = NULL;

		if (e->obj != (int)o)
			continue;
		if (is_map)
			m = bpf_object__find_map_by_name(ld->obj[o], e->bpf_name);
		else
			pr = bpf_object__find_program_by_name(ld->obj[o], e->bpf_name);
		if (!m && !pr) {
			pr_err("%sthe %s BPF object has no %s %s (pin %s)\n", s->prefix, s->objs[o].what,
			       is_map ? "map" : "program", e->bpf_name, e->name);
			return -ENOENT;
		}
		if (is_map)
			ld->map_fd[i] = bpf_map__fd(m);
		else
			ld->prog_fd[i - s->nmaps] = bpf_program__fd(pr);
	}
	return 0;
}

/* Open object o, hand it the shared maps of earlier objects, load it, take its fds. */
static int load_object(const struct cgp_pinset *s, struct loaded *ld, unsigned o)
{
	int err = 0;

	ld->skel[o] = s->objs[o].open(&ld->obj[o]);
	if (!ld->skel[o]) {
		err = -errno;
		pr_err("%sfailed to open the %s BPF object: %s\n", s->prefix, s->objs[o].what,
		       strerror(-err));
		return err;
	}
	for (unsigned i = 0; i < s->nmaps && !err; i++) {
		const struct cgp_pin *m = &s->maps[i];
		struct bpf_map *here;

		if (!(m->flags & CGP_PIN_SHARED) || m->obj < 0 || (unsigned)m->obj >= o)
			continue;
		here = bpf_object__find_map_by_name(ld->obj[o], m->bpf_name);
		if (here)
			err = bpf_map__reuse_fd(here, ld->map_fd[i]);
	}
	if (!err)
		err = s->objs[o].load(ld->skel[o]);
	if (err) {
		pr_err("%sfailed to load the %s BPF programs into the kernel: %s (run with -v for the "
		       "verifier log)\n", s->prefix, s->objs[o].what, strerror(-err));
		return err;
	}
	return object_fds(s, ld, o);
}

static int create_user_maps(const struct cgp_pinset *s, struct loaded *ld)
{
	for (unsigned i = 0; i < s->nmaps; i++) {
		const struct cgp_pin *m = &s->maps[i];
		LIBBPF_OPTS(bpf_map_create_opts, o);

		if (m->obj != CGP_PIN_BY_USER)
			continue;
		o.map_flags = m->umap->map_flags;
		ld->map_fd[i] = bpf_map_create(m->umap->type, m->bpf_name, m->umap->key_size,
					       m->umap->value_size, m->umap->max_entries, &o);
		if (ld->map_fd[i] < 0) {
			int err = -errno;

			pr_err("%sfailed to create the map %s: %s\n", s->prefix, m->name, strerror(-err));
			return err;
		}
	}
	return 0;
}

static int make_dirs(const struct cgp_pinset *s, const char *pin_dir)
{
	char path[PATH_MAX];

	for (int i = s->sub ? -1 : 0; i < 3; i++) {
		cgp_pinset_path(path, sizeof(path), s, pin_dir, i < 0 ? NULL : subdirs[i], NULL);
		if (mkdir(path, 0700) && errno != EEXIST) {
			int err = -errno;

			pr_err("%scannot create %s: %s\n", s->prefix, path, strerror(-err));
			return err;
		}
	}
	return 0;
}

static int pin_fd(const struct cgp_pinset *s, const char *pin_dir, const char *sub, const char *name,
		  int fd)
{
	char path[PATH_MAX];
	int err;

	err = cgp_pinset_path(path, sizeof(path), s, pin_dir, sub, name);
	if (!err && bpf_obj_pin(fd, path))
		err = -errno;
	if (err)
		pr_err("%sfailed to pin %s: %s\n", s->prefix, path, strerror(-err));
	return err;
}

/* Programs (and their iterator links), then maps, the marker last. */
static int pin_all(const struct cgp_pinset *s, const char *pin_dir, const struct loaded *ld)
{
	int err = 0;

	for (unsigned i = 0; i < s->nprogs && !err; i++) {
		err = pin_fd(s, pin_dir, "progs", s->progs[i].name, ld->prog_fd[i]);
		if (!err && (s->progs[i].flags & CGP_PIN_ITER_LINK)) {
			int lfd = bpf_link_create(ld->prog_fd[i], 0, BPF_TRACE_ITER, NULL);
			char name[128];

			snprintf(name, sizeof(name), "%s_link", s->progs[i].name);
			err = lfd < 0 ? -errno : pin_fd(s, pin_dir, "progs", name, lfd);
			if (lfd < 0)
				pr_err("%sfailed to create the iterator link of %s: %s\n", s->prefix,
				       s->progs[i].name, strerror(-err));
			else
				close(lfd);
		}
	}
	for (unsigned i = 0; i < s->nmaps && !err; i++)
		if (!(s->maps[i].flags & CGP_PIN_MARKER))
			err = pin_fd(s, pin_dir, "maps", s->maps[i].name, ld->map_fd[i]);
	for (unsigned i = 0; i < s->nmaps && !err; i++)
		if (s->maps[i].flags & CGP_PIN_MARKER)
			err = pin_fd(s, pin_dir, "maps", s->maps[i].name, ld->map_fd[i]);
	return err;
}

int cgp_pinset_create(const struct cgp_pinset *s, const char *pin_dir)
{
	struct loaded ld;
	int err = 0;

	if (s->nobjs > MAX_OBJS || s->nmaps > MAX_MAPS || s->nprogs > MAX_PROGS)
		return -E2BIG;
	memset(&ld, 0, sizeof(ld));
	cgp_pinset_fds_init(s, ld.map_fd, ld.prog_fd);
	cgp_pinset_remove(s, pin_dir);	/* leftovers of an interrupted create */
	for (unsigned o = 0; o < s->nobjs && !err; o++)
		err = load_object(s, &ld, o);
	if (!err)
		err = create_user_maps(s, &ld);
	if (!err && s->setup)
		err = s->setup(ld.map_fd, ld.prog_fd);
	if (!err) {
		err = make_dirs(s, pin_dir);
		if (!err)
			err = pin_all(s, pin_dir, &ld);
		if (err)
			cgp_pinset_remove(s, pin_dir);
	}
	for (unsigned i = 0; i < s->nmaps; i++)
		if (s->maps[i].obj == CGP_PIN_BY_USER && ld.map_fd[i] >= 0)
			close(ld.map_fd[i]);
	for (int o = (int)s->nobjs - 1; o >= 0; o--)
		if (ld.skel[o])
			s->objs[o].destroy(ld.skel[o]);
	return err;
}
