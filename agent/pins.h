/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * pins.h - a pinned state declared once, as a list, and the code that opens,
 * creates, checks and removes any state from its list.
 *
 * A pinned state (the enforcement state under PIN/, agent/state.h; the
 * steering state under PIN/reuseport/, agent/rp_state.h) is a struct
 * cgp_pinset: the BPF objects it loads (skeletons), and one entry per map and
 * per program. On bpffs it is
 *
 *   DIR/maps/<map name>  DIR/progs/<prog name>  DIR/links/<cgroup id>_<prog name>
 *
 * (DIR: the pin path, or PIN/<sub>). Each state writes its entries as a list
 * macro, one line per object, from which both its enum (the index of the fd
 * in its fd arrays) and its table are made:
 *
 *   #define MY_MAPS(X)  X(ID, "pin name", OBJECT, "name in the object", FLAGS, USER_MAP)
 *   #define MY_PROGS(X) X(ID, "pin name", OBJECT, "name in the object", FLAGS)
 *
 * OBJECT is an index into the set's objects, or CGP_PIN_BY_USER for a map that
 * user space creates itself (USER_MAP says how, e.g. CGP_PIN_UHASH(...);
 * NULL for the others). Adding a map or a program is one line in that list.
 */
#ifndef CGP_PINS_H
#define CGP_PINS_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

struct bpf_object;

enum cgp_pin_flags {
	/* Pinned last and opened first: its presence marks a complete state (one per set). */
	CGP_PIN_MARKER = 1u << 0,
	/* Maps: also declared by the set's later objects, which use this one (reuse_fd). */
	CGP_PIN_SHARED = 1u << 1,
	/* Maps: absent from the pins of an older cgpolicy: open fails with -ESTALE,
	 * or leaves the fd at -1 with CGP_PIN_OPEN_ANY_LAYOUT. */
	CGP_PIN_NEWER = 1u << 2,
	/* Programs: attached by one link per cgroup, pinned as links/<cgroup id>_<name>. */
	CGP_PIN_PER_CGROUP = 1u << 3,
	/* Programs (iterators): create also makes one BPF_TRACE_ITER link and pins it as
	 * progs/<name>_link (creating a link per use costs a grace period, ~10 ms). */
	CGP_PIN_ITER_LINK = 1u << 4,
};

#define CGP_PIN_BY_USER (-1)

/* A map user space creates (never touched by a BPF program's declaration). */
struct cgp_pin_umap {
	__u32 type;		/* enum bpf_map_type */
	__u32 key_size;
	__u32 value_size;
	__u32 max_entries;
	__u32 map_flags;
};

/* A HASH with BPF_F_NO_PREALLOC (only the entries in use cost memory). */
#define CGP_PIN_UHASH(key_t, value_t, n) \
	(&(const struct cgp_pin_umap){ BPF_MAP_TYPE_HASH, sizeof(key_t), sizeof(value_t), (n), BPF_F_NO_PREALLOC })

struct cgp_pin {
	const char *name;	/* pin name under maps/ or progs/ */
	int obj;		/* index into cgp_pinset.objs, or CGP_PIN_BY_USER */
	const char *bpf_name;	/* name in the object; for a user map, its kernel name */
	unsigned flags;		/* enum cgp_pin_flags */
	const struct cgp_pin_umap *umap;	/* CGP_PIN_BY_USER maps only */
};

/* Table entries from list lines (see above). */
#define CGP_PIN_MAP(id, name, obj, bpf_name, flags, umap) { name, obj, bpf_name, flags, umap },
#define CGP_PIN_PROG(id, name, obj, bpf_name, flags) { name, obj, bpf_name, flags, NULL },

/* A BPF object, through its skeleton. CGP_PIN_SKEL_OPS(skel) writes the three wrappers. */
struct cgp_pin_obj {
	const char *what;			/* for messages: "enforcement", "stats", "steering" */
	void *(*open)(struct bpf_object **obj);	/* NULL (errno) on failure */
	int (*load)(void *skel);
	void (*destroy)(void *skel);
};

#define CGP_PIN_SKEL_OPS(skel)								\
	static void *skel##__pins_open(struct bpf_object **o)				\
	{										\
		struct skel *s = skel##__open();					\
											\
		if (s)									\
			*o = s->obj;							\
		return s;								\
	}										\
	static int skel##__pins_load(void *s) { return skel##__load(s); }		\
	static void skel##__pins_destroy(void *s) { skel##__destroy(s); }
#define CGP_PIN_SKEL(skel, what) { what, skel##__pins_open, skel##__pins_load, skel##__pins_destroy }

struct cgp_pinset {
	const char *sub;		/* NULL: the pin path itself; else PIN/<sub>/ */
	const char *prefix;		/* of its messages: "" or "reuseport: " */
	/*
	 * strict: pins without the marker, or a missing object, are a damaged
	 * state (-EUCLEAN: never taken for "nothing here", since a fresh create
	 * would detach what is still enforced). Otherwise a missing marker is
	 * -ENOENT and a missing object its errno: the caller rebuilds.
	 */
	bool strict;
	const struct cgp_pin_obj *objs;
	unsigned nobjs;
	const struct cgp_pin *maps;
	unsigned nmaps;
	const struct cgp_pin *progs;
	unsigned nprogs;
	/* Open: checks the marker map (layout version). -EPROTO: refused and
	 * reported; another error: reported as a damaged marker. May be NULL. */
	int (*check_marker)(const char *pin_dir, int marker_fd);
	/* Create, after load, before anything is pinned: what the list cannot say
	 * (attachments to maps, initial values). fds indexed like the lists. May be NULL. */
	int (*setup)(const int *map_fd, const int *prog_fd);
};

#define CGP_PIN_OPEN_ANY_LAYOUT 1u

/* map_fd[nmaps], prog_fd[nprogs] := -1 */
void cgp_pinset_fds_init(const struct cgp_pinset *s, int *map_fd, int *prog_fd);
void cgp_pinset_close(const struct cgp_pinset *s, int *map_fd, int *prog_fd);

/* DIR[/sub[/name]] of the set. -ENAMETOOLONG. */
int cgp_pinset_path(char *buf, size_t len, const struct cgp_pinset *s, const char *pin_dir,
		    const char *sub, const char *name);
/* DIR/links/<cgid>_<name of program prog> */
int cgp_pinset_link_path(char *buf, size_t len, const struct cgp_pinset *s, const char *pin_dir,
			 __u64 cgid, unsigned prog);

/*
 * Open every map and program: the marker first (then check_marker), the
 * rest in list order. -ENOENT: no state. On failure everything is closed;
 * errors are reported (see `strict`), except -ENOENT and -ESTALE.
 */
int cgp_pinset_open(const struct cgp_pinset *s, const char *pin_dir, int *map_fd, int *prog_fd,
		    unsigned flags);
/*
 * Load the objects and pin everything, the marker last; removes leftovers
 * first and its own pins on failure. Does not open: call cgp_pinset_open.
 */
int cgp_pinset_create(const struct cgp_pinset *s, const char *pin_dir);
/* Unpin links, then programs, then maps (each directory and what is in it,
 * pinned by the list or not), then the set's own directory (sub sets). */
int cgp_pinset_remove(const struct cgp_pinset *s, const char *pin_dir);

#endif
