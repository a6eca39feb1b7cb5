// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * explain.c - `cgpolicy explain [FILE] --cgroup PATH|--policy NAME in|out
 * PROTO ADDRESS [PORT | type NAME|N [code M]] [--json]`: the verdict for
 * one flow and why.
 *
 * Every policy on the cgroup's path judges (its own, then its ancestors',
 * in the order the kernel runs their programs; a glob's template where a
 * guard judges a cgroup the last apply has not registered): any deny drops.
 * Each decision is cgp_decide() (policy/explain.h) over one of two lookups:
 *   live (no FILE): the pinned maps of the live generation, looked up from
 *     user space as the BPF program does (bpf_map_lookup_elem on an LPM
 *     trie is a longest-prefix match): what the kernel does now;
 *   FILE: the file compiled (policy/compile.c): what it would do.
 * The rule text comes from the file (live: the applied file, when it has
 * not changed since). Set rules (@NAME): the set member that matched (live:
 * the static members in the generation's rule trie, the dynamic ones in
 * `dsets`, expired ones skipped as the BPF program does), or the exclusion
 * that made the address a non-member.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <bpf/bpf.h>

#include "agent/cgroup.h"
#include "agent/cmd.h"
#include "agent/hits.h"
#include "agent/log.h"
#include "agent/mapiter.h"
#include "agent/sets.h"
#include "agent/state.h"
#include "policy/explain.h"
#include "util/addr.h"
#include "util/json.h"

#define MAX_JUDGES 64

/* The flow, from the command line. */
struct flow {
	uint8_t dir, proto;
	uint8_t addr[16];
	bool v4;
	uint32_t port;		/* tcp/udp: the port; icmp: type << 8 | code, or CGP_NO_ICMP_TYPE */
	int type, code;		/* icmp: -1 when not given */
	const char *addr_s;
};

/* A set's name by id (live: the `sets` records; FILE: the file's sets). */
struct set_name {
	uint16_t id;
	bool dynamic;
	char name[CGP_NAME_MAX + 1];
};

/* One policy that judges the flow, and its decision. */
struct judge {
	char name[CGP_NAME_MAX + 1];
	char cgroup[CGP_PATH_MAX];	/* where it is attached (template: the glob) */
	__u32 slot;
	bool tmpl, configured;
	const struct cgp_policy *pol;	/* its rules, when the file is known */
	struct cgp_decision d;
};

struct explain {
	const struct cgp_cmd_args *a;
	struct flow f;
	const char *file;		/* FILE, or the applied file (live) */
	bool live, file_changed;
	__u64 gen;
	char cgpath[CGP_PATH_MAX];	/* --cgroup resolved ("" with --policy) */
	struct judge j[MAX_JUDGES];
	unsigned nj;
	const struct cgp_srcfile *src;	/* rule text, or NULL */
	struct set_name *sets;
	unsigned nsets;
};

#define USAGE "Usage: cgpolicy explain [FILE] --cgroup PATH|--policy NAME in|out PROTO ADDRESS\n" \
	      "         [PORT | type NAME|N [code M]] [--json]\n"

static int bad(const char *fmt, const char *arg)
{
	fprintf(stderr, "cgpolicy: explain: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n" USAGE);
	return CGP_EXIT_POLICY;
}

/* icmp: [type NAME|N [code M]] from args[i]: the next index, or -1 (reported) */
static int parse_icmp(struct flow *f, int nargs, char **args, int i)
{
	int fam = f->v4 ? CGP_ICMP_V4 : CGP_ICMP_V6, code = -1;
	char *end;
	long n;

	f->type = f->code = -1;
	f->port = CGP_NO_ICMP_TYPE;
	if (i >= nargs)
		return i;
	if (strcmp(args[i], "type") || i + 1 >= nargs) {
		bad("icmp takes 'type NAME|N [code M]' after ADDRESS, not '%s'", args[i]);
		return -1;
	}
	i++;
	errno = 0;
	n = strtol(args[i], &end, 10);
	if (!errno && *args[i] && !*end) {
		if (n < 0 || n > 255) {
			bad("ICMP type must be 0..255, not '%s'", args[i]);
			return -1;
		}
		f->type = (int)n;
	} else if (cgp_icmp_type_name(args[i], fam, &f->type, &code)) {
		bad(cgp_icmp_type_known(args[i]) ? "ICMP type '%s' does not exist in the family of ADDRESS"
						 : "unknown ICMP type '%s' (see docs/POLICY.md, \"ICMP types\")",
		    args[i]);
		return -1;
	}
	i++;
	if (i + 1 < nargs && !strcmp(args[i], "code")) {
		errno = 0;
		n = strtol(args[i + 1], &end, 10);
		if (errno || !*args[i + 1] || *end || n < 0 || n > 255) {
			bad("ICMP code must be 0..255, not '%s'", args[i + 1]);
			return -1;
		}
		code = (int)n;
		i += 2;
	}
	f->code = code < 0 ? 0 : code;
	f->port = (uint32_t)f->type << 8 | (uint32_t)f->code;
	return i;
}

/* [FILE] in|out PROTO ADDRESS [PORT | type NAME|N [code M]] */
static int parse_flow(struct explain *e, int nargs, char **args)
{
	struct flow *f = &e->f;
	uint8_t plen;
	int i = 0;

	if (nargs > 0 && strcmp(args[0], "in") && strcmp(args[0], "out"))
		e->file = args[i++];
	if (nargs - i < 3)
		return bad("%s", "needs in|out, PROTO and ADDRESS (and PORT for tcp and udp)");
	if (!strcmp(args[i], "in"))
		f->dir = CGP_DIR_IN;
	else if (!strcmp(args[i], "out"))
		f->dir = CGP_DIR_OUT;
	else
		return bad("direction must be in or out, not '%s'", args[i]);
	i++;
	if (!strcmp(args[i], "tcp"))
		f->proto = CGP_PROTO_TCP;
	else if (!strcmp(args[i], "udp"))
		f->proto = CGP_PROTO_UDP;
	else if (!strcmp(args[i], "icmp") || !strcmp(args[i], "icmpv6"))
		f->proto = CGP_PROTO_ICMP;
	else if (!strcmp(args[i], "other"))
		f->proto = CGP_PROTO_OTHER;
	else
		return bad("PROTO must be tcp, udp, icmp or other, not '%s'", args[i]);
	i++;
	f->addr_s = args[i];
	if (strchr(args[i], '/') || !strcmp(args[i], "any") ||
	    cgp_parse_addr(args[i], f->addr, &plen, &f->v4) || plen != 128)
		return bad("ADDRESS must be one IPv4 or IPv6 address, not '%s'", args[i]);
	i++;
	if (f->proto == CGP_PROTO_TCP || f->proto == CGP_PROTO_UDP) {
		char *end;
		long p;

		if (i >= nargs)
			return bad("%s", "tcp and udp need a PORT (the service port: local for in, remote for out)");
		errno = 0;
		p = strtol(args[i], &end, 10);
		if (errno || *end || end == args[i] || p < 1 || p > 65535)
			return bad("PORT must be a number from 1 to 65535, not '%s'", args[i]);
		f->port = (uint16_t)p;
		i++;
	} else if (f->proto == CGP_PROTO_ICMP) {
		i = parse_icmp(f, nargs, args, i);
		if (i < 0)
			return CGP_EXIT_POLICY;
	}
	if (i < nargs)
		return bad("unexpected argument '%s'", args[i]);
	return 0;
}

/* ---- what judges: the path of a cgroup, deepest first ---- */

/* path, then each ancestor up to the mount (all absolute): count */
static unsigned path_chain(const char *mnt, const char *path, char chain[][CGP_PATH_MAX], unsigned max)
{
	size_t ml = strlen(mnt);
	unsigned n = 0;
	char cur[CGP_PATH_MAX];

	snprintf(cur, sizeof(cur), "%s", path);
	while (n < max) {
		char *slash;

		snprintf(chain[n++], CGP_PATH_MAX, "%s", cur);
		if (strlen(cur) <= ml)
			break;
		slash = strrchr(cur, '/');
		if (!slash || (size_t)(slash - cur) < ml)
			break;
		*slash = '\0';
		if (strlen(cur) < ml)
			snprintf(cur, sizeof(cur), "%s", mnt);
	}
	return n;
}

static struct judge *add_judge(struct explain *e, const char *name, const char *cgroup, __u32 slot, bool tmpl)
{
	struct judge *j;

	if (e->nj >= MAX_JUDGES)
		return NULL;
	j = &e->j[e->nj++];
	memset(j, 0, sizeof(*j));
	snprintf(j->name, sizeof(j->name), "%s", name);
	snprintf(j->cgroup, sizeof(j->cgroup), "%s", cgroup);
	j->slot = slot;
	j->tmpl = tmpl;
	return j;
}

/* ---- live: the pinned maps of the live generation ---- */

struct live_lookup {
	int rules_fd, ports_fd, dsets_fd;
	__u16 slot;
	__u64 now;		/* CLOCK_BOOTTIME ns, for timed dynamic members */
};

static int live_port_class(void *ctx, uint8_t dir, uint8_t proto, uint16_t port, uint32_t *cls)
{
	const struct live_lookup *l = ctx;
	struct cgp_portlpm_key k = { .prefixlen = CGP_PORTLPM_FIXED_BITS + 16, .slot = l->slot,
				     .dir = dir, .proto = proto, .port = { port >> 8, port & 0xff } };
	struct cgp_portlpm_val v;

	if (l->ports_fd < 0 || bpf_map_lookup_elem(l->ports_fd, &k, &v))
		return -1;
	*cls = v.cls;
	return 0;
}

static int live_rule(void *ctx, uint8_t dir, uint8_t proto, uint32_t cls, const uint8_t addr[16],
		     struct cgp_lpm_val *val)
{
	const struct live_lookup *l = ctx;
	struct cgp_lpm_key k = { .prefixlen = CGP_LPM_FIXED_BITS + 128, .dir = dir, .proto = proto,
				 .slot = l->slot, .cls = (__u16)cls };

	memcpy(k.addr, addr, 16);
	if (l->rules_fd < 0 || bpf_map_lookup_elem(l->rules_fd, &k, val))
		return -1;
	return 0;
}

/*
 * Membership as set_member() of bpf/enforce.bpf.c: static sets in the rule
 * trie; dynamic sets in dsets, an expired entry skipped by looking again one
 * bit shorter (at most CGP_EXPIRED_SKIPS times).
 */
#define EXPIRED_SKIPS 4

static int live_member(void *ctx, uint16_t id, const uint8_t addr[16], struct cgp_set_match *m)
{
	const struct live_lookup *l = ctx;
	struct cgp_lpm_key k = { .prefixlen = CGP_LPM_FIXED_BITS + 128, .dir = CGP_DIR_SET, .slot = id };

	memset(m, 0, sizeof(*m));
	memcpy(k.addr, addr, 16);
	m->expires_in = -1;
	m->dynamic = !!(id & CGP_SET_DYNAMIC);
	if (!m->dynamic) {
		struct cgp_lpm_val v;

		if (l->rules_fd < 0 || bpf_map_lookup_elem(l->rules_fd, &k, &v))
			return 0;
		*m = (struct cgp_set_match){ true, v.verdict != 0, false, v.plen, v.line, -1, 0 };
		return 0;
	}
	for (int i = 0; i < EXPIRED_SKIPS; i++) {
		struct cgp_dset_val v;

		if (l->dsets_fd < 0 || bpf_map_lookup_elem(l->dsets_fd, &k, &v))
			return 0;
		if (!v.expires || v.expires > l->now) {
			m->found = true;
			m->member = v.member != 0;
			m->plen = v.plen;
			m->line = v.line;
			if (v.expires)
				m->expires_in = (int64_t)((v.expires - l->now + 999999999ull) / 1000000000ull);
			return 0;
		}
		m->expired++;
		if (!v.plen)
			return 0;
		k.prefixlen = CGP_LPM_FIXED_BITS + v.plen - 1;
	}
	return 0;
}

/* The inner map of set `set` in an outer ARRAY_OF_MAPS: an fd, or -1. */
static int inner_fd(int outer_fd, __u32 set)
{
	__u32 id;

	if (bpf_map_lookup_elem(outer_fd, &set, &id))
		return -1;
	return bpf_map_get_fd_by_id(id);
}

/* The guards' templates: a cgroup below a guard that `known` does not list is judged by it. */
static void live_guards(struct explain *e, const struct cgp_pins *p, const char *mnt,
			char chain[][CGP_PATH_MAX], unsigned nchain, int at)
{
	struct cgp_map_iter it = CGP_MAP_ITER(p->map_fd[CGP_MAP_GUARDS]);
	struct cgp_guard_info gi;
	__u32 key;

	while (cgp_map_next(&it, &key, sizeof(key))) {
		unsigned lvl;
		struct stat sb;
		struct cgp_known kn;
		__u64 id;

		if (bpf_map_lookup_elem(it.fd, &key, &gi) || !gi.ancestor_id || strcmp(gi.ancestor, chain[at]))
			continue;
		/* the candidate: the element of the path at the guard's level */
		for (unsigned c = 0; c < nchain; c++) {
			if (cgp_cgroup_level(mnt, chain[c], &lvl) || lvl != gi.level)
				continue;
			if (stat(chain[c], &sb))
				break;
			id = sb.st_ino;
			if (!bpf_map_lookup_elem(p->map_fd[CGP_MAP_KNOWN], &id, &kn))
				break;	/* registered: its own programs judge it (or none) */
			add_judge(e, gi.name, gi.glob, gi.slot, true);
			break;
		}
	}
}

static int live_judges(struct explain *e, const struct cgp_pins *p, const char *mnt)
{
	struct cgp_info *inf = calloc(CGP_MAX_SLOTS, sizeof(*inf));
	static char chain[64][CGP_PATH_MAX];
	unsigned ninf, nchain;

	if (!inf)
		return -ENOMEM;
	ninf = cgp_info_read(p, inf, CGP_MAX_SLOTS);
	if (e->a->policy) {
		struct cgp_map_iter it = CGP_MAP_ITER(p->map_fd[CGP_MAP_GUARDS]);
		struct cgp_guard_info gi;
		const struct cgp_info *best = NULL;
		__u32 key;

		for (unsigned i = 0; i < ninf; i++)
			if (!strcmp(inf[i].name, e->a->policy) && (!best || strcmp(inf[i].cgroup, best->cgroup) < 0))
				best = &inf[i];
		if (best)
			add_judge(e, best->name, best->cgroup, best->slot, false);
		else
			while (cgp_map_next(&it, &key, sizeof(key)))
				if (!bpf_map_lookup_elem(it.fd, &key, &gi) && !strcmp(gi.name, e->a->policy)) {
					add_judge(e, gi.name, gi.glob, gi.slot, true);
					break;
				}
		free(inf);
		return 0;
	}
	nchain = path_chain(mnt, e->cgpath, chain, 64);
	for (unsigned c = 0; c < nchain; c++) {
		struct stat sb;

		if (stat(chain[c], &sb))
			continue;
		for (unsigned i = 0; i < ninf; i++)
			if (!strcmp(inf[i].cgroup, chain[c]) && inf[i].cgroup_id == sb.st_ino)
				add_judge(e, inf[i].name, inf[i].cgroup, inf[i].slot, false);
		/* a guard runs where it is attached: after the programs of the cgroups below */
		if (c > 0)
			live_guards(e, p, mnt, chain, nchain, (int)c);
	}
	free(inf);
	return 0;
}

/* id -> name of the sets in force (the `sets` records) */
static void live_set_names(struct explain *e, const struct cgp_pins *p)
{
	struct cgp_set_entry *r = NULL;
	unsigned n = 0;

	if (cgp_sets_read(p, &r, &n) || !n) {
		free(r);
		return;
	}
	e->sets = calloc(n, sizeof(*e->sets));
	for (unsigned i = 0; e->sets && i < n; i++) {
		e->sets[i].id = r[i].rec.id;
		e->sets[i].dynamic = r[i].rec.dynamic;
		snprintf(e->sets[i].name, sizeof(e->sets[i].name), "%s", r[i].key.name);
	}
	e->nsets = e->sets ? n : 0;
	free(r);
}

static int explain_live(struct explain *e, const char *pin_path, const char *mnt, struct cgp_live_file *lf)
{
	struct cgp_state st = {};
	struct cgp_pins p;
	int fds[3] = { -1, -1, -1 }, err, rc = 0;
	__u32 set;

	cgp_pins_init(&p, pin_path);
	err = cgp_pins_open(&p);
	if (err == -ENOENT) {
		fprintf(stderr, "cgpolicy: explain: no policy applied at %s (give a FILE to explain what it would do)\n",
			pin_path);
		cgp_pins_close(&p);
		return CGP_EXIT_POLICY;
	}
	if (err || cgp_state_read(&p, &st)) {
		cgp_pins_close(&p);
		return CGP_EXIT_SYSTEM;
	}
	e->gen = st.gen;
	set = (__u32)(st.gen & 1);
	cgp_live_file_load(&p, lf);
	if (lf->have_record)
		e->file = lf->rec.path;
	e->file_changed = !lf->have_record || lf->changed;
	e->src = lf->readable && !lf->changed ? &lf->src : NULL;
	if (live_judges(e, &p, mnt)) {
		rc = CGP_EXIT_SYSTEM;
		goto out;
	}
	if (e->a->policy && !e->nj) {
		fprintf(stderr, "cgpolicy: explain: no policy named '%s' in force at %s\n", e->a->policy, pin_path);
		rc = CGP_EXIT_POLICY;
		goto out;
	}
	fds[0] = inner_fd(p.map_fd[CGP_MAP_RULES], set);
	fds[1] = inner_fd(p.map_fd[CGP_MAP_PORTS], set);
	fds[2] = inner_fd(p.map_fd[CGP_MAP_POLS], set);
	live_set_names(e, &p);
	for (unsigned i = 0; i < e->nj; i++) {
		struct judge *j = &e->j[i];
		struct live_lookup l = { fds[0], fds[1], p.map_fd[CGP_MAP_DSETS], (__u16)j->slot, cgp_boot_ns() };
		struct cgp_lookup lk = { &l, live_port_class, live_rule, live_member };
		struct cgp_pol pol = {};

		if (fds[2] < 0 || bpf_map_lookup_elem(fds[2], &j->slot, &pol) || !pol.configured)
			continue;	/* not configured in the live set: passes */
		j->configured = true;
		j->pol = lf->parsed ? cgp_config_find(&lf->cfg, j->name) : NULL;
		if (cgp_decide(&lk, &pol, j->pol, e->f.dir, e->f.proto, e->f.addr, e->f.port, &j->d)) {
			rc = CGP_EXIT_SYSTEM;
			goto out;
		}
	}
out:
	for (int i = 0; i < 3; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	cgp_pins_close(&p);
	return rc;
}

/* ---- FILE: what it would do ---- */

/* The policy of cgroup `abs` in the file: an exact path first, else the first glob that matches. */
static const struct cgp_policy *file_policy_of(const struct cgp_config *cfg, const char *mnt, const char *abs)
{
	size_t ml = strlen(mnt);
	const char *rel = abs + ml;

	if (!*rel)
		rel = "/";
	for (unsigned i = 0; i < cfg->npolicies; i++) {
		const struct cgp_policy *p = &cfg->policies[i];
		char spec[CGP_PATH_MAX];
		size_t l;

		if (cgp_cgroup_is_glob(p->cgroup))
			continue;
		/* `cgroup =` under the mount, or already absolute on it */
		snprintf(spec, sizeof(spec), "%s", p->cgroup);
		l = strlen(spec);
		while (l > 1 && spec[l - 1] == '/')
			spec[--l] = '\0';
		if (!strcmp(spec, rel) || !strcmp(spec, abs))
			return p;
	}
	for (unsigned i = 0; i < cfg->npolicies; i++)
		if (cgp_cgroup_is_glob(cfg->policies[i].cgroup) &&
		    cgp_cgroup_glob_match(mnt, cfg->policies[i].cgroup, abs))
			return &cfg->policies[i];
	return NULL;
}

static int explain_file(struct explain *e, const char *mnt, struct cgp_config *cfg, struct cgp_srcfile *src,
			struct cgp_lpm_entry **setm, size_t *nsetm)
{
	static char chain[64][CGP_PATH_MAX];
	char err[512];

	if (cgp_config_load(e->file, cfg, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return CGP_EXIT_POLICY;
	}
	if (!cgp_srcfile_read(e->file, src))
		e->src = src;
	if (e->a->policy) {
		const struct cgp_policy *p = cgp_config_find(cfg, e->a->policy);
		struct judge *j;

		if (!p) {
			fprintf(stderr, "cgpolicy: explain: %s has no policy named '%s'\n", e->file, e->a->policy);
			return CGP_EXIT_POLICY;
		}
		j = add_judge(e, p->name, p->cgroup, 0, false);
		j->pol = p;
	} else {
		unsigned n = path_chain(mnt, e->cgpath, chain, 64);

		for (unsigned c = 0; c < n; c++) {
			const struct cgp_policy *p = file_policy_of(cfg, mnt, chain[c]);
			struct judge *j;

			if (p && (j = add_judge(e, p->name, chain[c], 0, false)))
				j->pol = p;
		}
	}
	/* the members of every set (a dynamic set: the file's, its initial content) */
	if (cfg->nsets && !(e->sets = calloc(cfg->nsets, sizeof(*e->sets))))
		return CGP_EXIT_SYSTEM;
	for (unsigned i = 0; i < cfg->nsets; i++) {
		struct cgp_lpm_entry *m, *all;
		size_t nm;

		e->sets[i].id = cfg->sets[i].id;
		e->sets[i].dynamic = cfg->sets[i].dynamic;
		snprintf(e->sets[i].name, sizeof(e->sets[i].name), "%s", cfg->sets[i].name);
		e->nsets++;
		if (cgp_set_flatten(cfg, i, &m, &nm))
			return CGP_EXIT_SYSTEM;
		all = realloc(*setm, (*nsetm + nm + 1) * sizeof(*all));
		if (!all) {
			free(m);
			return CGP_EXIT_SYSTEM;
		}
		memcpy(all + *nsetm, m, nm * sizeof(*m));
		*setm = all;
		*nsetm += nm;
		free(m);
	}
	for (unsigned i = 0; i < e->nj; i++) {
		struct judge *j = &e->j[i];
		struct cgp_compiled comp;
		struct cgp_compiled_sets cs;
		struct cgp_lookup lk;
		int r;

		if (cgp_compile(cfg->file, j->pol, 1, &comp, err, sizeof(err))) {
			fprintf(stderr, "%s\n", err);
			return CGP_EXIT_POLICY;
		}
		cs = (struct cgp_compiled_sets){ &comp, *setm, *nsetm };
		lk = cgp_compiled_lookup(&cs);
		j->configured = true;
		r = cgp_decide(&lk, &comp.pol, j->pol, e->f.dir, e->f.proto, e->f.addr, e->f.port, &j->d);
		cgp_compiled_free(&comp);
		if (r)
			return CGP_EXIT_SYSTEM;
	}
	return 0;
}

/* ---- output ---- */

static unsigned shown_plen(const struct explain *e, unsigned plen)
{
	return e->f.v4 && plen >= 96 ? plen - 96 : plen;
}

static const char *text_of(const struct explain *e, uint32_t line)
{
	const char *t = e->src && line ? cgp_srcfile_line(e->src, line) : NULL;

	return t ? t : "";
}

static const char *def_key(uint8_t dir)
{
	return dir == CGP_DIR_IN ? "default_ingress" : "default_egress";
}

static const struct set_name *set_of(const struct explain *e, uint16_t id)
{
	for (unsigned i = 0; i < e->nsets; i++)
		if (e->sets[i].id == id)
			return &e->sets[i];
	return NULL;
}

static const char *set_name(const struct explain *e, uint16_t id, char *buf, size_t len)
{
	const struct set_name *n = set_of(e, id);

	if (n)
		snprintf(buf, len, "@%s", n->name);
	else
		snprintf(buf, len, "set id %u", id);
	return buf;
}

/* The entry of a set that matched the address, as "10.1.0.0/16" (masked to its prefix). */
static void member_str(const struct explain *e, const struct cgp_set_match *m, char *buf, size_t len)
{
	uint8_t a[16];
	char s[CGP_ADDR_STRLEN];
	bool v4 = e->f.v4 && m->plen >= 96;

	memcpy(a, e->f.addr, 16);
	cgp_mask_addr(a, m->plen);
	cgp_addr_str(a, v4, s, sizeof(s));
	snprintf(buf, len, "%s/%u", s, v4 ? m->plen - 96u : m->plen);
}

/* "over /N of line L" for the best candidate that lost, "" if none. */
static void over_text(const struct explain *e, const struct judge *j, char *buf, size_t len)
{
	const struct cgp_decision *d = &j->d;
	char sn[CGP_NAME_MAX + 16];

	if (!d->other.found)
		buf[0] = '\0';
	else if (d->other_set >= 0)
		snprintf(buf, len, " (over /%u of line %u, member of %s)", shown_plen(e, d->other.plen), d->other.line,
			 set_name(e, d->sets[d->other_set].id, sn, sizeof(sn)));
	else
		snprintf(buf, len, " (over /%u of line %u)", shown_plen(e, d->other.plen), d->other.line);
}

/* The precedence step, in words. */
static void step_words(const struct explain *e, const struct judge *j, enum cgp_why why, char *buf, size_t len)
{
	const struct cgp_decision *d = &j->d;
	char over[128];

	over_text(e, j, over, sizeof(over));
	switch (why) {
	case CGP_WHY_DEFAULT:
		snprintf(buf, len, "no rule matches: %s = %s", def_key(e->f.dir), cgp_verdict_str(d->verdict));
		break;
	case CGP_WHY_PREFIX:
		snprintf(buf, len, "longest prefix /%u%s", shown_plen(e, d->plen), over);
		break;
	case CGP_WHY_SET_MEMBER:
		snprintf(buf, len, "set member /%u%s", shown_plen(e, d->plen), over);
		break;
	case CGP_WHY_PORT:
		snprintf(buf, len, "port rule over portless (line %u) at equal prefix /%u", d->other.line,
			 shown_plen(e, d->plen));
		break;
	case CGP_WHY_TIE_DENY:
		snprintf(buf, len, "deny on a tie with line %u (same prefix /%u%s)", d->tie_line,
			 shown_plen(e, d->plen), d->port_rule ? ", both with ports" : ", both without ports");
		break;
	case CGP_WHY_SET_EXCLUDED:
		snprintf(buf, len, "?");
		break;
	}
}

static void step_text(const struct explain *e, const struct judge *j, char *buf, size_t len)
{
	const struct cgp_decision *d = &j->d;

	if (d->why == CGP_WHY_SET_EXCLUDED) {
		const struct cgp_set_cand *s = &d->sets[d->excluded];
		char m[CGP_ADDR_STRLEN + 8], sn[CGP_NAME_MAX + 16], then[200];

		member_str(e, &s->m, m, sizeof(m));
		step_words(e, j, d->then, then, sizeof(then));
		snprintf(buf, len, "excluded from set %s by !%s (line %u does not apply); then %s",
			 set_name(e, s->id, sn, sizeof(sn)), m,
			 s->with_port.found ? s->with_port.line : s->portless.line, then);
		return;
	}
	step_words(e, j, d->why, buf, len);
}

/* "set @office member 10.1.0.0/16 (static, line 3)" for a set rule that decided. */
static void set_text(const struct explain *e, const struct judge *j, char *buf, size_t len)
{
	const struct cgp_set_cand *s = &j->d.sets[j->d.set];
	char m[CGP_ADDR_STRLEN + 8], sn[CGP_NAME_MAX + 16], src[64];

	member_str(e, &s->m, m, sizeof(m));
	if (s->m.line)
		snprintf(src, sizeof(src), "line %u", s->m.line);
	else
		snprintf(src, sizeof(src), "added by cgpolicy set add");
	if (!s->m.dynamic)
		snprintf(buf, len, "set %s: member %s (static, %s)", set_name(e, s->id, sn, sizeof(sn)), m, src);
	else if (s->m.expires_in >= 0)
		snprintf(buf, len, "set %s: member %s (dynamic, %s%s, expires in %llds)", set_name(e, s->id, sn, sizeof(sn)),
			 m, e->live ? "live, " : "", src, (long long)s->m.expires_in);
	else
		snprintf(buf, len, "set %s: member %s (dynamic, %s%s, no timeout)", set_name(e, s->id, sn, sizeof(sn)), m,
			 e->live ? "live, " : "initial content of the file, ", src);
}

/* " type echo-request (8 code 0)" for icmp, "" otherwise. */
static void icmp_text(const struct explain *e, char *buf, size_t len)
{
	const char *n;

	buf[0] = '\0';
	if (e->f.proto != CGP_PROTO_ICMP)
		return;
	if (e->f.type < 0) {
		snprintf(buf, len, " (no type given: the rules without a type)");
		return;
	}
	n = cgp_icmp_type_str(e->f.v4 ? CGP_ICMP_V4 : CGP_ICMP_V6, e->f.type, e->f.code);
	snprintf(buf, len, " type %s%s%d code %d%s", n ? n : "", n ? " (" : "", e->f.type, e->f.code, n ? ")" : "");
}

static uint8_t overall(const struct explain *e)
{
	for (unsigned i = 0; i < e->nj; i++)
		if (e->j[i].configured && e->j[i].d.verdict != CGP_ALLOW)
			return CGP_DENY;
	return CGP_ALLOW;
}

static void print_text(const struct explain *e)
{
	const char *dirs = e->f.dir == CGP_DIR_IN ? "in" : "out";
	char step[512];

	char ic[128];

	icmp_text(e, ic, sizeof(ic));
	printf("%s %s %s", dirs, e->f.proto == CGP_PROTO_ICMP && !e->f.v4 ? "icmpv6" : cgp_proto_str(e->f.proto),
	       e->f.addr_s);
	if (e->f.proto == CGP_PROTO_TCP || e->f.proto == CGP_PROTO_UDP)
		printf(" port %u", e->f.port);
	printf("%s", ic);
	if (e->a->policy)
		printf(", policy %s", e->a->policy);
	else
		printf(", cgroup %s", e->cgpath);
	if (e->live)
		printf(" (live, generation %llu%s%s)\n", (unsigned long long)e->gen, e->file ? ", " : "",
		       e->file ? e->file : "");
	else
		printf(" (as %s would do)\n", e->file);
	if (e->live && e->file && e->file_changed)
		printf("note: %s changed since it was applied: rule text not shown\n", e->file);
	if (e->f.proto == CGP_PROTO_TCP)
		printf("TCP: the verdict of a connection opened %s; its replies pass\n",
		       e->f.dir == CGP_DIR_IN ? "from ADDRESS to this cgroup (ingress)" : "from this cgroup to ADDRESS (egress)");
	if (!e->nj)
		printf("no policy on this cgroup's path: passes\n");
	for (unsigned i = 0; i < e->nj; i++) {
		const struct judge *j = &e->j[i];

		printf("  [%s] %s %s: ", j->name, j->tmpl ? "template of glob" : "cgroup", j->cgroup);
		if (!j->configured) {
			printf("not configured in the live generation: passes\n");
			continue;
		}
		printf("%s\n", cgp_verdict_str(j->d.verdict));
		if (j->d.line)
			printf("      %s:%u  %s\n", e->file ? e->file : "?", j->d.line, text_of(e, j->d.line));
		if (j->d.set >= 0) {
			set_text(e, j, step, sizeof(step));
			printf("      %s\n", step);
		}
		for (unsigned k = 0; k < j->d.nsets; k++)
			if (j->d.sets[k].m.expired) {
				char sn[CGP_NAME_MAX + 16];

				printf("      set %s: %u expired member%s skipped (the kernel ignores %s)\n",
				       set_name(e, j->d.sets[k].id, sn, sizeof(sn)), j->d.sets[k].m.expired,
				       j->d.sets[k].m.expired > 1 ? "s" : "", j->d.sets[k].m.expired > 1 ? "them" : "it");
			}
		step_text(e, j, step, sizeof(step));
		printf("      step: %s\n", step);
	}
	printf("verdict: %s%s\n", cgp_verdict_str(overall(e)),
	       e->nj > 1 ? " (every policy on the path judges; any deny drops)" : "");
}

/* , "key": {"name": "office", "id": 1, "dynamic": false, "member": "10.1.0.0/16", "exclusion": false,
 *   "line": 3, "expires_in": null, "expired_skipped": 0, "rule_line": 12} */
static void print_set_json(const struct explain *e, const char *key, const struct cgp_set_cand *s, uint32_t rule_line)
{
	const struct set_name *n = set_of(e, s->id);
	char m[CGP_ADDR_STRLEN + 8];

	member_str(e, &s->m, m, sizeof(m));
	printf(", \"%s\": {\"name\": ", key);
	cgp_json_str(stdout, n ? n->name : NULL);
	printf(", \"id\": %u, \"dynamic\": %s, \"member\": \"%s\", \"exclusion\": %s, \"line\": %u, \"expires_in\": ",
	       s->id, s->m.dynamic ? "true" : "false", m, s->m.member ? "false" : "true", s->m.line);
	if (s->m.expires_in >= 0)
		printf("%lld", (long long)s->m.expires_in);
	else
		printf("null");
	printf(", \"expired_skipped\": %u, \"rule_line\": %u}", s->m.expired, rule_line);
}

static void print_json(const struct explain *e)
{
	char step[512];

	printf("{\"mode\": \"%s\", \"file\": ", e->live ? "live" : "file");
	cgp_json_str(stdout, e->file);
	printf(", \"file_changed\": %s", e->live && e->file_changed ? "true" : "false");
	if (e->live)
		printf(", \"generation\": %llu", (unsigned long long)e->gen);
	printf(", \"dir\": \"%s\", \"proto\": \"%s\", \"address\": ", e->f.dir == CGP_DIR_IN ? "in" : "out",
	       cgp_proto_str(e->f.proto));
	cgp_json_str(stdout, e->f.addr_s);
	printf(", \"port\": %u", e->f.proto == CGP_PROTO_TCP || e->f.proto == CGP_PROTO_UDP ? e->f.port : 0);
	if (e->f.proto == CGP_PROTO_ICMP && e->f.type >= 0) {
		const char *n = cgp_icmp_type_str(e->f.v4 ? CGP_ICMP_V4 : CGP_ICMP_V6, e->f.type, e->f.code);

		printf(", \"icmp\": {\"family\": \"%s\", \"type\": %d, \"code\": %d, \"name\": ",
		       e->f.v4 ? "icmp" : "icmpv6", e->f.type, e->f.code);
		cgp_json_str(stdout, n);
		printf("}");
	} else if (e->f.proto == CGP_PROTO_ICMP) {
		printf(", \"icmp\": {\"family\": \"%s\", \"type\": null, \"code\": null, \"name\": null}",
		       e->f.v4 ? "icmp" : "icmpv6");
	}
	printf(", \"cgroup\": ");
	cgp_json_str(stdout, e->a->policy ? NULL : e->cgpath);
	printf(", \"policy\": ");
	cgp_json_str(stdout, e->a->policy);
	printf(", \"connection\": %s, \"verdict\": \"%s\", \"policies\": [", e->f.proto == CGP_PROTO_TCP ? "true" : "false",
	       cgp_verdict_str(overall(e)));
	for (unsigned i = 0; i < e->nj; i++) {
		const struct judge *j = &e->j[i];

		printf("%s{\"name\": ", i ? ", " : "");
		cgp_json_str(stdout, j->name);
		printf(", \"cgroup\": ");
		cgp_json_str(stdout, j->cgroup);
		printf(", \"template\": %s, \"configured\": %s", j->tmpl ? "true" : "false",
		       j->configured ? "true" : "false");
		if (j->configured) {
			step_text(e, j, step, sizeof(step));
			printf(", \"verdict\": \"%s\", \"step\": \"%s\", \"why\": ", cgp_verdict_str(j->d.verdict),
			       cgp_why_str(j->d.why));
			cgp_json_str(stdout, step);
			if (j->d.line) {
				printf(", \"rule\": {\"file\": ");
				cgp_json_str(stdout, e->file);
				printf(", \"line\": %u, \"text\": ", j->d.line);
				if (e->src)
					cgp_json_str(stdout, text_of(e, j->d.line));
				else
					printf("null");
				printf(", \"prefix\": %u, \"ports\": %s}", shown_plen(e, j->d.plen),
				       j->d.port_rule ? "true" : "false");
			} else {
				printf(", \"rule\": null");
			}
			if (j->d.tie_line)
				printf(", \"tie_line\": %u", j->d.tie_line);
			{
				unsigned x = 0;

				for (unsigned k = 0; k < j->d.nsets; k++)
					x += j->d.sets[k].m.expired;
				printf(", \"expired_skipped\": %u", x);
			}
			if (j->d.set >= 0)
				print_set_json(e, "set", &j->d.sets[j->d.set], j->d.line);
			if (j->d.why == CGP_WHY_SET_EXCLUDED) {
				const struct cgp_set_cand *x = &j->d.sets[j->d.excluded];

				print_set_json(e, "excluded_from", x, x->with_port.found ? x->with_port.line : x->portless.line);
				printf(", \"then\": \"%s\"", cgp_why_str(j->d.then));
			}
		}
		printf("}");
	}
	printf("]}\n");
}

int cgp_cmd_explain(const struct cgp_cmd_args *a)
{
	static struct explain e;
	struct cgp_live_file lf = {};
	struct cgp_config cfg = {};
	struct cgp_srcfile src = {};
	struct cgp_lpm_entry *setm = NULL;
	size_t nsetm = 0;
	char mnt[PATH_MAX] = "";
	int rc;

	memset(&e, 0, sizeof(e));
	e.a = a;
	rc = parse_flow(&e, a->argc, a->argv);
	if (rc)
		return rc;
	if (!!a->cgroup == !!a->policy)
		return bad("%s", "needs one of --cgroup PATH and --policy NAME");
	e.live = !e.file;
	if (cgp_cgroup2_mount(mnt, sizeof(mnt))) {
		if (a->cgroup) {
			fprintf(stderr, "cgpolicy: explain: no cgroup2 mount\n");
			return CGP_EXIT_SYSTEM;
		}
	}
	if (a->cgroup) {
		char err[512];
		__u64 id;
		int fd = -1;

		if (cgp_cgroup_resolve(mnt, a->cgroup, e.cgpath, sizeof(e.cgpath), &fd, &id, err, sizeof(err))) {
			if (e.live) {
				fprintf(stderr, "cgpolicy: explain: unknown cgroup %s: %s\n", a->cgroup, err);
				return CGP_EXIT_POLICY;
			}
			/* FILE: the cgroup may not exist yet; explain by its path */
			if (a->cgroup[0] != '/')
				return bad("--cgroup needs an absolute path, not '%s'", a->cgroup);
			snprintf(e.cgpath, sizeof(e.cgpath), "%s%s", strncmp(a->cgroup, mnt, strlen(mnt)) ? mnt : "",
				 strcmp(a->cgroup, "/") ? a->cgroup : "");
		}
		if (fd >= 0)
			close(fd);
	}
	if (e.live)
		rc = explain_live(&e, a->pin_path ? a->pin_path : CGP_DEFAULT_PIN_PATH, mnt, &lf);
	else
		rc = explain_file(&e, mnt, &cfg, &src, &setm, &nsetm);
	if (!rc) {
		if (a->json)
			print_json(&e);
		else
			print_text(&e);
	}
	cgp_live_file_free(&lf);
	cgp_srcfile_free(&src);
	free(setm);
	free(e.sets);
	if (cfg.policies || cfg.npolicies)
		cgp_config_free(&cfg);
	return rc;
}
