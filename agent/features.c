// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * features.c - kernel feature probing (features.h).
 *
 * Every probe creates a map or loads a program of a few instructions into the
 * kernel and closes it again; nothing is attached (the cgroup link probe asks
 * BPF_LINK_CREATE for a cgroup attachment to fd -1: EBADF means the kernel
 * got as far as looking for the cgroup). A helper is missing when the
 * verifier says "unknown func" (6.1), "program of this type cannot use helper"
 * (newer kernels) or "invalid func"; any other complaint about
 * a probe that only calls it (its arguments) means the helper is there.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/utsname.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "agent/accel_probe.h"
#include "agent/features.h"
#include "agent/log.h"
#include "policy/fileline.h"
#include "util/json.h"

/* ------------------------------------------------------------ instructions */

#define INSN(c, d, s, o, i) ((struct bpf_insn){ .code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i) })
#define MOV_IMM(d, i)	INSN(BPF_ALU64 | BPF_MOV | BPF_K, d, 0, 0, i)
#define MOV_REG(d, s)	INSN(BPF_ALU64 | BPF_MOV | BPF_X, d, s, 0, 0)
#define ADD_IMM(d, i)	INSN(BPF_ALU64 | BPF_ADD | BPF_K, d, 0, 0, i)
#define ST_W(d, o, i)	INSN(BPF_ST | BPF_MEM | BPF_W, d, 0, o, i)
#define LD_MAP(d, fd)	INSN(BPF_LD | BPF_DW | BPF_IMM, d, BPF_PSEUDO_MAP_FD, 0, fd), INSN(0, 0, 0, 0, 0)
#define CALL(f)		INSN(BPF_JMP | BPF_CALL, 0, 0, 0, f)
#define EXIT()		INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)
#define NINSNS(a)	(sizeof(a) / sizeof((a)[0]))

static void set_why(char *why, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_why(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
}

/* The verifier's reason: the last line of the log that is no statistic. */
static void log_reason(const char *log, char *out, size_t len)
{
	const char *end = log + strlen(log), *b, *e;

	out[0] = 0;
	while (end > log) {
		while (end > log && (end[-1] == '\n' || end[-1] == ' '))
			end--;
		e = end;
		b = e;
		while (b > log && b[-1] != '\n')
			b--;
		if (e > b && strncmp(b, "processed ", 10) && strncmp(b, "verification time", 17) &&
		    strncmp(b, "stack depth", 11)) {
			snprintf(out, len, "%.*s", (int)(e - b), b);
			return;
		}
		end = b;
	}
}

/*
 * Load a probe program; its fd, or a negative errno with the reason in why
 * ("verifier: <line>" or the errno's text).
 */
static int load(enum bpf_prog_type type, enum bpf_attach_type eat, __u32 btf_id,
		const struct bpf_insn *insns, size_t n, char *why, size_t len)
{
	static char log[16384];
	LIBBPF_OPTS(bpf_prog_load_opts, o, .expected_attach_type = eat, .attach_btf_id = btf_id,
		    .log_buf = log, .log_size = sizeof(log), .log_level = 1);
	char reason[200];
	int fd, err;

	log[0] = 0;
	fd = bpf_prog_load(type, NULL, "GPL", insns, n, &o);
	if (fd >= 0)
		return fd;
	err = -errno;
	log_reason(log, reason, sizeof(reason));
	if (reason[0])
		set_why(why, len, "verifier: %s", reason);
	else if (err == -EINVAL)
		set_why(why, len, "%s programs: not known to this kernel (EINVAL)", libbpf_bpf_prog_type_str(type));
	else
		set_why(why, len, "%s program: %s", libbpf_bpf_prog_type_str(type), strerror(-err));
	return err;
}

static int prog_type(enum bpf_prog_type type, enum bpf_attach_type eat, int ret, char *why, size_t len)
{
	const struct bpf_insn p[] = { MOV_IMM(BPF_REG_0, ret), EXIT() };
	int fd = load(type, eat, 0, p, NINSNS(p), why, len);

	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

/* Does program type `type` offer helper `fn`? */
static int helper(enum bpf_prog_type type, enum bpf_attach_type eat, enum bpf_func_id fn,
		  const char *name, char *why, size_t len)
{
	const struct bpf_insn p[] = { CALL(fn), MOV_IMM(BPF_REG_0, 1), EXIT() };
	char r[256];
	int fd;

	r[0] = 0;
	fd = load(type, eat, 0, p, NINSNS(p), r, sizeof(r));
	if (fd >= 0) {
		close(fd);
		return 0;
	}
	if (strstr(r, "unknown func") || strstr(r, "invalid func") || strstr(r, "cannot use helper")) {
		set_why(why, len, "bpf_%s is not offered to %s programs (%s)", name, libbpf_bpf_prog_type_str(type), r);
		return -EOPNOTSUPP;
	}
	if (strncmp(r, "verifier: ", 10)) {
		set_why(why, len, "%s", r);	/* the program type itself failed */
		return fd;
	}
	return 0;	/* it complained about the arguments: the helper exists */
}

static int map_type(enum bpf_map_type type, char *why, size_t len)
{
	int r = libbpf_probe_bpf_map_type(type, NULL);

	if (r == 1)
		return 0;
	if (r == 0)
		set_why(why, len, "%s maps: not known to this kernel", libbpf_bpf_map_type_str(type));
	else
		set_why(why, len, "%s maps: %s", libbpf_bpf_map_type_str(type), strerror(-r));
	return r ? r : -EOPNOTSUPP;
}

static int new_map(enum bpf_map_type type, __u32 key, __u32 value, __u32 n, char *why, size_t len)
{
	int fd = bpf_map_create(type, "cgp_probe", key, value, n, NULL);

	if (fd < 0) {
		fd = -errno;
		set_why(why, len, "cannot create a %s map: %s", libbpf_bpf_map_type_str(type), strerror(-fd));
	}
	return fd;
}

/* A program that calls fn(ctx, map, &key (0), 0), then returns `ret`. */
static int map_call(enum bpf_prog_type type, enum bpf_attach_type eat, int map_fd, enum bpf_func_id fn,
		    int ret, char *why, size_t len)
{
	const struct bpf_insn p[] = {
		MOV_REG(BPF_REG_6, BPF_REG_1),
		ST_W(BPF_REG_10, -4, 0),
		LD_MAP(BPF_REG_2, map_fd),
		MOV_REG(BPF_REG_3, BPF_REG_10),
		ADD_IMM(BPF_REG_3, -4),
		MOV_IMM(BPF_REG_4, 0),
		MOV_REG(BPF_REG_1, BPF_REG_6),
		CALL(fn),
		MOV_IMM(BPF_REG_0, ret),
		EXIT(),
	};
	int fd = load(type, eat, 0, p, NINSNS(p), why, len);

	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

/* ------------------------------------------------------------ probes */

static int p_cgroup_skb(char *why, size_t len)
{
	return prog_type(BPF_PROG_TYPE_CGROUP_SKB, BPF_CGROUP_INET_INGRESS, 1, why, len);
}

static int p_cgroup_link(char *why, size_t len)
{
	const struct bpf_insn p[] = { MOV_IMM(BPF_REG_0, 1), EXIT() };
	int fd, lfd, err;

	fd = load(BPF_PROG_TYPE_CGROUP_SKB, BPF_CGROUP_INET_INGRESS, 0, p, NINSNS(p), why, len);
	if (fd < 0)
		return fd;
	lfd = bpf_link_create(fd, -1, BPF_CGROUP_INET_INGRESS, NULL);
	err = lfd < 0 ? -errno : 0;
	if (lfd >= 0)
		close(lfd);
	close(fd);
	if (err == -EBADF)
		return 0;	/* it looked for the cgroup: cgroup links exist */
	set_why(why, len, "BPF_LINK_CREATE for a cgroup: %s", err ? strerror(-err) : "accepted fd -1");
	return err ? err : -EINVAL;
}

/* A program of `type` calling bpf_get_local_storage on a CGROUP_STORAGE map. */
static int local_storage(enum bpf_prog_type type, enum bpf_attach_type eat, char *why, size_t len)
{
	int mfd, err;

	mfd = new_map(BPF_MAP_TYPE_CGROUP_STORAGE, sizeof(__u64), 8, 0, why, len);
	if (mfd < 0)
		return mfd;
	{
		const struct bpf_insn p[] = {
			LD_MAP(BPF_REG_1, mfd),
			MOV_IMM(BPF_REG_2, 0),
			CALL(BPF_FUNC_get_local_storage),
			MOV_IMM(BPF_REG_0, 1),
			EXIT(),
		};
		int fd = load(type, eat, 0, p, NINSNS(p), why, len);

		err = fd < 0 ? fd : 0;
		if (fd >= 0)
			close(fd);
	}
	close(mfd);
	return err;
}

static int p_cgroup_storage(char *why, size_t len)
{
	int err = map_type(BPF_MAP_TYPE_CGROUP_STORAGE, why, len);

	if (!err)
		err = map_type(BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE, why, len);
	if (!err)
		err = local_storage(BPF_PROG_TYPE_CGROUP_SKB, BPF_CGROUP_INET_INGRESS, why, len);
	return err;
}

static int p_lpm_trie(char *why, size_t len)
{
	return map_type(BPF_MAP_TYPE_LPM_TRIE, why, len);
}

static int p_array_of_maps(char *why, size_t len)
{
	return map_type(BPF_MAP_TYPE_ARRAY_OF_MAPS, why, len);
}

static int p_sk_storage(char *why, size_t len)
{
	return map_type(BPF_MAP_TYPE_SK_STORAGE, why, len) ?:
	       helper(BPF_PROG_TYPE_CGROUP_SKB, BPF_CGROUP_INET_INGRESS, BPF_FUNC_sk_storage_get, "sk_storage_get", why, len);
}

static int p_ringbuf(char *why, size_t len)
{
	return map_type(BPF_MAP_TYPE_RINGBUF, why, len) ?:
	       helper(BPF_PROG_TYPE_CGROUP_SKB, BPF_CGROUP_INET_INGRESS, BPF_FUNC_ringbuf_reserve, "ringbuf_reserve", why, len);
}

static int p_ancestor(char *why, size_t len)
{
	return helper(BPF_PROG_TYPE_CGROUP_SKB, BPF_CGROUP_INET_INGRESS, BPF_FUNC_skb_ancestor_cgroup_id,
		      "skb_ancestor_cgroup_id", why, len);
}

static int p_sockops(char *why, size_t len)
{
	int err = prog_type(BPF_PROG_TYPE_SOCK_OPS, 0, 1, why, len);

	if (!err)
		err = helper(BPF_PROG_TYPE_SOCK_OPS, 0, BPF_FUNC_sk_storage_get, "sk_storage_get", why, len);
	return err;
}

static int p_iter_tcp(char *why, size_t len)
{
	const struct bpf_insn p[] = { MOV_IMM(BPF_REG_0, 0), EXIT() };
	struct btf *btf = btf__load_vmlinux_btf();
	int id, fd;

	if (!btf) {
		set_why(why, len, "no kernel BTF (/sys/kernel/btf/vmlinux): %s", strerror(errno));
		return -errno ?: -ENOENT;
	}
	id = btf__find_by_name_kind(btf, "bpf_iter_tcp", BTF_KIND_FUNC);
	btf__free(btf);
	if (id < 0) {
		set_why(why, len, "the kernel has no TCP socket iterator (no bpf_iter_tcp in its BTF)");
		return -EOPNOTSUPP;
	}
	fd = load(BPF_PROG_TYPE_TRACING, BPF_TRACE_ITER, id, p, NINSNS(p), why, len);
	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

/* A one-slot socket map of type mt and a program of type pt calling fn on it:
 * the second half of every socket map probe. */
static int sock_map_call(enum bpf_map_type mt, enum bpf_prog_type pt, enum bpf_attach_type eat,
			 enum bpf_func_id fn, char *why, size_t len)
{
	int mfd = new_map(mt, 4, 8, 1, why, len), err;

	if (mfd < 0)
		return mfd;
	err = map_call(pt, eat, mfd, fn, 1, why, len);
	close(mfd);
	return err;
}

static int p_sockhash(char *why, size_t len)
{
	return map_type(BPF_MAP_TYPE_SOCKHASH, why, len) ?:
	       sock_map_call(BPF_MAP_TYPE_SOCKHASH, BPF_PROG_TYPE_SOCK_OPS, 0, BPF_FUNC_sock_hash_update, why, len);
}

static int p_sk_msg(char *why, size_t len)
{
	return prog_type(BPF_PROG_TYPE_SK_MSG, 0, 1, why, len) ?:
	       sock_map_call(BPF_MAP_TYPE_SOCKHASH, BPF_PROG_TYPE_SK_MSG, 0, BPF_FUNC_msg_redirect_hash, why, len);
}

/* bpf_sk_select_reuseport with a SOCKMAP (not only a REUSEPORT_SOCKARRAY). */
static int p_sk_reuseport(char *why, size_t len)
{
	return prog_type(BPF_PROG_TYPE_SK_REUSEPORT, BPF_SK_REUSEPORT_SELECT, 1, why, len) ?:
	       sock_map_call(BPF_MAP_TYPE_SOCKMAP, BPF_PROG_TYPE_SK_REUSEPORT, BPF_SK_REUSEPORT_SELECT,
			     BPF_FUNC_sk_select_reuseport, why, len);
}

static int p_sockmap(char *why, size_t len)
{
	return map_type(BPF_MAP_TYPE_SOCKMAP, why, len) ?:
	       sock_map_call(BPF_MAP_TYPE_SOCKMAP, BPF_PROG_TYPE_SOCK_OPS, 0, BPF_FUNC_sock_map_update, why, len);
}

static int p_sockops_storage(char *why, size_t len)
{
	return local_storage(BPF_PROG_TYPE_SOCK_OPS, 0, why, len);
}

int cgp_probe_accel(char *why, size_t len)
{
	int err = p_sockhash(why, len);

	if (!err)
		err = p_sk_msg(why, len);
	if (!err)
		err = p_sockops(why, len);
	return err ? err : cgp_accel_probe_behaviour(why, len);
}

static int p_accel(char *why, size_t len)
{
	return cgp_probe_accel(why, len);
}

/* ------------------------------------------------------------ table */

struct feature_def {
	const char *name;
	const char *needed_by;
	int (*probe)(char *why, size_t len);	/* NULL: composite, see needs */
	enum cgp_feature needs[6];		/* composite: these rows; end with CGP_FEAT_N */
};

#define ALL_POLICIES "every policy"

static const struct feature_def defs[CGP_FEAT_N] = {
	[CGP_FEAT_CGROUP_SKB]      = { "cgroup_skb", ALL_POLICIES, p_cgroup_skb, { CGP_FEAT_N } },
	[CGP_FEAT_CGROUP_LINK]     = { "cgroup_link", ALL_POLICIES, p_cgroup_link, { CGP_FEAT_N } },
	[CGP_FEAT_CGROUP_STORAGE]  = { "cgroup_storage", ALL_POLICIES, p_cgroup_storage, { CGP_FEAT_N } },
	[CGP_FEAT_LPM_TRIE]        = { "lpm_trie", ALL_POLICIES, p_lpm_trie, { CGP_FEAT_N } },
	[CGP_FEAT_ARRAY_OF_MAPS]   = { "array_of_maps", ALL_POLICIES, p_array_of_maps, { CGP_FEAT_N } },
	[CGP_FEAT_SK_STORAGE]      = { "sk_storage", ALL_POLICIES, p_sk_storage, { CGP_FEAT_N } },
	[CGP_FEAT_RINGBUF]         = { "ringbuf", ALL_POLICIES " (log = deny events)", p_ringbuf, { CGP_FEAT_N } },
	[CGP_FEAT_ANCESTOR_CGID]   = { "skb_ancestor_cgroup_id", ALL_POLICIES " (nested cgroups)", p_ancestor,
				       { CGP_FEAT_N } },
	[CGP_FEAT_SOCKOPS]         = { "sockops", ALL_POLICIES " (stats, accelerate, [reuseport])", p_sockops,
				       { CGP_FEAT_N } },
	[CGP_FEAT_ITER_TCP]        = { "iter_tcp", ALL_POLICIES " (stats dump)", p_iter_tcp, { CGP_FEAT_N } },
	[CGP_FEAT_SOCKHASH]        = { "sockhash", ALL_POLICIES " (accelerate)", p_sockhash, { CGP_FEAT_N } },
	[CGP_FEAT_SK_MSG]          = { "sk_msg", ALL_POLICIES " (accelerate)", p_sk_msg, { CGP_FEAT_N } },
	[CGP_FEAT_SK_REUSEPORT]    = { "sk_reuseport", "[reuseport]", p_sk_reuseport, { CGP_FEAT_N } },
	[CGP_FEAT_SOCKMAP]         = { "sockmap", "[reuseport]", p_sockmap, { CGP_FEAT_N } },
	[CGP_FEAT_SOCKOPS_STORAGE] = { "sockops_cgroup_storage", "[reuseport]", p_sockops_storage, { CGP_FEAT_N } },
	[CGP_FEAT_ACCEL]           = { "acceleration", "accelerate = yes", p_accel, { CGP_FEAT_N } },
	[CGP_FEAT_STEERING]        = { "steering", "[reuseport]", NULL,
				       { CGP_FEAT_SK_REUSEPORT, CGP_FEAT_SOCKMAP, CGP_FEAT_SOCKOPS,
					 CGP_FEAT_SOCKOPS_STORAGE, CGP_FEAT_SK_STORAGE, CGP_FEAT_N } },
};

static struct cgp_feature_row rows[CGP_FEAT_N];
static bool probed;
static unsigned refusals;

static const char disable_env[] = "CGP_TEST_DISABLE_FEATURES";

/* Is `name` in the comma/space separated list of the test hook? */
static bool disabled(const char *list, const char *name)
{
	size_t n = strlen(name);

	for (const char *s = list; s && *s;) {
		size_t w;

		s += strspn(s, ", ");
		w = strcspn(s, ", ");
		if (w == n && !strncmp(s, name, n))
			return true;
		s += w;
	}
	return false;
}

static void check_hook(const char *list)
{
	for (const char *s = list; s && *s;) {
		size_t w;
		bool known = false;

		s += strspn(s, ", ");
		w = strcspn(s, ", ");
		for (int i = 0; i < CGP_FEAT_N && w; i++)
			known |= strlen(defs[i].name) == w && !strncmp(defs[i].name, s, w);
		if (w && !known)
			pr_warn("features: %s names no feature '%.*s' (see cgpolicy --version --verbose)\n",
				disable_env, (int)w, s);
		s += w;
	}
}

const struct cgp_feature_row *cgp_features(void)
{
	const char *hook = getenv(disable_env);

	static struct cgp_feature_row raw[CGP_FEAT_N];	/* as probed, before the test hook */
	bool cached, use_cache;

	if (probed)
		return rows;
	probed = true;
	check_hook(hook);
	for (int i = 0; i < CGP_FEAT_N; i++)
		raw[i] = (struct cgp_feature_row){ .name = defs[i].name, .needed_by = defs[i].needed_by };
	/* CGP_TEST_ACCEL_PROBE changes what a probe returns: such a run neither
	 * reads nor writes this boot's cache (it would mask or poison real runs) */
	use_cache = !getenv("CGP_TEST_ACCEL_PROBE");
	cached = use_cache && !cgp_features_cache_load(raw, CGP_FEAT_N);
	/* Composite rows come after the rows they need (enum order). */
	for (int i = 0; i < CGP_FEAT_N; i++) {
		struct cgp_feature_row *r = &rows[i];
		const struct feature_def *d = &defs[i];

		r->name = d->name;
		r->needed_by = d->needed_by;
		r->why[0] = 0;
		if (d->probe && cached) {
			*r = raw[i];	/* this boot's probe (features_cache.c) */
		} else if (d->probe) {
			int err = d->probe(r->why, sizeof(r->why));

			r->supported = !err;
			/* Not allowed to probe (not root): unknown, not missing. */
			r->unknown = err == -EPERM || err == -EACCES;
		} else {
			r->supported = true;
			for (int k = 0; k < 6 && d->needs[k] != CGP_FEAT_N; k++) {
				const struct cgp_feature_row *n = &rows[d->needs[k]];

				if (n->supported)
					continue;
				r->supported = false;
				r->unknown = n->unknown;
				snprintf(r->why, sizeof(r->why), "needs %s: %s", n->name, n->why);
				break;
			}
		}
		if (d->probe && !cached)
			raw[i] = *r;
		if (disabled(hook, d->name)) {
			r->supported = false;
			r->unknown = false;
			snprintf(r->why, sizeof(r->why), "disabled by %s (test hook)", disable_env);
		}
		if (r->unknown)
			pr_debug("features: %s: cannot tell: %s\n", r->name, r->why);
		else if (!r->supported)
			pr_debug("features: %s: not supported: %s\n", r->name, r->why);
		else
			r->why[0] = 0;
	}
	if (use_cache && !cached)
		cgp_features_cache_save(raw, CGP_FEAT_N);
	return rows;
}

bool cgp_feature_ok(enum cgp_feature f)
{
	return f < CGP_FEAT_N && (cgp_features()[f].supported || cgp_features()[f].unknown);
}

static const char *release(void)
{
	static struct utsname u;

	if (!u.release[0] && uname(&u))
		snprintf(u.release, sizeof(u.release), "unknown");
	return u.release;
}

void cgp_features_print(FILE *f)
{
	const struct cgp_feature_row *r = cgp_features();

	fprintf(f, "kernel %s (features probed by creating maps and loading programs)\n", release());
	fprintf(f, "%-24s %-9s %-48s %s\n", "FEATURE", "SUPPORTED", "NEEDED BY", "WHY NOT");
	for (int i = 0; i < CGP_FEAT_N; i++)
		fprintf(f, "%-24s %-9s %-48s %s\n", r[i].name, r[i].supported ? "yes" : r[i].unknown ? "unknown" : "no",
			r[i].needed_by, r[i].why);
}

void cgp_features_print_short(FILE *f)
{
	const struct cgp_feature_row *r = cgp_features();
	bool all = true;

	for (int i = 0; i < CGP_FEAT_N; i++) {
		if (r[i].supported)
			continue;
		if (all)
			fprintf(f, "\nkernel %s lacks:\n", release());
		all = false;
		fprintf(f, "  %s (needed by %s): %s%s\n", r[i].name, r[i].needed_by,
			r[i].unknown ? "cannot tell: " : "", r[i].why);
	}
	if (all)
		fprintf(f, "\nkernel %s: every feature cgpolicy uses is supported\n", release());
}

void cgp_features_json(FILE *f)
{
	const struct cgp_feature_row *r = cgp_features();

	fputs("{\"release\": ", f);
	cgp_json_str(f, release());
	fputs(", \"features\": {", f);
	for (int i = 0; i < CGP_FEAT_N; i++) {
		fputs(i ? ", " : "", f);
		cgp_json_str(f, r[i].name);
		fprintf(f, ": {\"supported\": %s, \"needed_by\": ",
			r[i].supported ? "true" : r[i].unknown ? "null" : "false");
		cgp_json_str(f, r[i].needed_by);
		fputs(", \"reason\": ", f);
		if (r[i].supported)
			fputs("null", f);
		else
			cgp_json_str(f, r[i].why);
		fputc('}', f);
	}
	fputs("}}", f);
}

void cgp_feature_refuse(const char *file, int line, const char *section, const char *what,
			enum cgp_feature f, bool dry_run)
{
	const struct cgp_feature_row *r = &cgp_features()[f];

	refusals++;
	cgp_fileline_fprintf(stderr, file, line, "%s %s: %s needs the kernel feature '%s', which this kernel (%s) "
			     "lacks: %s; the rest of the file %s (exit status %d)\n", section,
			     dry_run ? "would be refused" : "refused", what, r->name, release(), r->why,
			     dry_run ? "would be applied" : "is applied", CGP_EXIT_PARTIAL);
}

unsigned cgp_feature_refusals(void)
{
	return refusals;
}
