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
 *
 * This file: the flow from the command line, the path of the cgroup (what
 * judges), the command. explain_live.c and explain_file.c find the judges
 * and their decisions, explain_print.c prints them (explain.h: the state
 * they share).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/cgroup.h"
#include "agent/cmd.h"
#include "agent/explain.h"
#include "agent/log.h"
#include "util/addr.h"

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
unsigned explain_path_chain(const char *mnt, const char *path, char chain[][CGP_PATH_MAX], unsigned max)
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

struct judge *explain_add_judge(struct explain *e, const char *name, const char *cgroup, __u32 slot, bool tmpl)
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

/* ---- the command ---- */

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
			explain_print_json(&e);
		else
			explain_print_text(&e);
	}
	cgp_live_file_free(&lf);
	cgp_srcfile_free(&src);
	free(setm);
	free(e.sets);
	if (cfg.policies || cfg.npolicies)
		cgp_config_free(&cfg);
	return rc;
}
