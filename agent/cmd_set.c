// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * cmd_set.c - cgpolicy set add|del NAME ADDRESS... [timeout SECONDS],
 * set add|del NAME - (addresses from stdin), set list NAME [--json].
 *
 * A dynamic set's members are entries of the pinned `dsets` trie under the
 * set's id (the `sets` records say which): an add or del is one batch of
 * map writes, in force for the next packet, no apply. A timed member
 * carries its deadline (CLOCK_BOOTTIME, the clock of
 * bpf_ktime_get_boot_ns): the BPF program ignores it once passed; every
 * set command deletes the expired members of its set first.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "agent/log.h"
#include "agent/mapiter.h"
#include "agent/sets.h"
#include "util/addr.h"

#define MAX_TIMEOUT	(10u * 365 * 86400)	/* seconds */

struct addrs {
	struct cgp_lpm_key *k;
	size_t n, cap;
};

static int usage(const char *msg, const char *arg)
{
	fprintf(stderr, "cgpolicy: ");
	fprintf(stderr, msg, arg);
	fprintf(stderr, "\nUsage: cgpolicy set add|del NAME ADDRESS... [timeout SECONDS]\n"
			"       cgpolicy set add|del NAME -      (addresses from stdin)\n"
			"       cgpolicy set list NAME [--json]\n");
	return CGP_EXIT_POLICY;
}

/* One ADDRESS (CIDR, IPv4 or IPv6) as a member key of set id. 0, or -1 (reported). */
static int add_addr(struct addrs *a, const char *s, __u16 id)
{
	struct cgp_lpm_key *k;
	__u8 addr[16], plen;
	bool v4;

	if (!strcmp(s, "any") || cgp_parse_addr(s, addr, &plen, &v4)) {
		fprintf(stderr, "cgpolicy: bad address '%s' (an IPv4 or IPv6 address or CIDR); "
			"nothing was changed\n", s);
		return -1;
	}
	if (a->n == a->cap) {
		k = realloc(a->k, (a->cap = a->cap * 2 + 256) * sizeof(*k));
		if (!k) {
			fprintf(stderr, "cgpolicy: out of memory\n");
			return -1;
		}
		a->k = k;
	}
	k = &a->k[a->n++];
	memset(k, 0, sizeof(*k));
	cgp_mask_addr(addr, plen);
	k->prefixlen = CGP_LPM_FIXED_BITS + plen;
	k->dir = CGP_DIR_SET;
	k->slot = id;
	memcpy(k->addr, addr, 16);
	return 0;
}

/* Addresses from stdin: separated by blanks, commas or newlines; # starts a comment. */
static int read_stdin(struct addrs *a, __u16 id)
{
	char line[4096];

	while (fgets(line, sizeof(line), stdin)) {
		char *save, *tok, *hash = strchr(line, '#');

		if (hash)
			*hash = 0;
		for (tok = strtok_r(line, " \t\r\n,", &save); tok; tok = strtok_r(NULL, " \t\r\n,", &save))
			if (add_addr(a, tok, id))
				return -1;
	}
	return 0;
}

static void fmt_member(const struct cgp_lpm_key *k, char *buf, size_t len)
{
	unsigned plen = k->prefixlen - CGP_LPM_FIXED_BITS;
	bool v4 = cgp_addr_v4mapped(k->addr) && plen >= 96;
	char a[CGP_ADDR_STRLEN];

	cgp_addr_str(k->addr, v4, a, sizeof(a));
	snprintf(buf, len, "%s/%u", a, v4 ? plen - 96 : plen);
}

/* The live half's rule trie (static members), or -errno. */
static int live_rules_fd(const struct cgp_pins *p)
{
	struct cgp_state st;
	__u32 half, id;

	if (cgp_state_read(p, &st))
		return -errno;
	half = (__u32)(st.gen & 1);
	if (bpf_map_lookup_elem(p->map_fd[CGP_MAP_RULES], &half, &id))
		return -errno;
	id = (__u32)bpf_map_get_fd_by_id(id);
	return (int)id;
}

static int list(const struct cgp_pins *p, const char *name, const struct cgp_set_rec *r, bool json)
{
	int fd = r->dynamic ? p->map_fd[CGP_MAP_DSETS] : live_rules_fd(p);
	struct cgp_map_iter it;
	struct cgp_lpm_key k;
	__u64 now = cgp_boot_ns();
	unsigned n = 0;

	if (fd < 0) {
		pr_err("cannot read the rule maps: %s\n", strerror(-fd));
		return CGP_EXIT_SYSTEM;
	}
	it = CGP_MAP_ITER(fd);
	if (json)
		printf("{\"set\":\"%s\",\"dynamic\":%s,\"members\":[", name, r->dynamic ? "true" : "false");
	while (cgp_map_next(&it, &k, sizeof(k))) {
		char m[CGP_ADDR_STRLEN + 8];
		bool member;
		long left = -1;

		if (k.dir != CGP_DIR_SET || k.slot != r->id)
			continue;
		if (r->dynamic) {
			struct cgp_dset_val v;

			if (bpf_map_lookup_elem(fd, &k, &v))
				continue;
			if (v.expires && v.expires <= now)
				continue;
			member = v.member;
			if (v.expires)
				left = (long)((v.expires - now + 999999999ull) / 1000000000ull);
		} else {
			struct cgp_lpm_val v;

			if (bpf_map_lookup_elem(fd, &k, &v))
				continue;
			member = v.verdict;
		}
		fmt_member(&k, m, sizeof(m));
		if (json) {
			printf("%s{\"address\":\"%s\",\"exclude\":%s,\"expires_in\":", n ? "," : "", m,
			       member ? "false" : "true");
			if (left >= 0)
				printf("%ld}", left);
			else
				printf("null}");
		} else if (left >= 0) {
			printf("%s%s timeout %ld\n", member ? "" : "!", m, left);
		} else {
			printf("%s%s\n", member ? "" : "!", m);
		}
		n++;
	}
	if (json)
		printf("]}\n");
	if (!r->dynamic)
		close(fd);
	return CGP_EXIT_OK;
}

static int change(const struct cgp_pins *p, bool add, const char *name, const struct cgp_set_rec *r,
		  struct addrs *a, unsigned long timeout)
{
	int fd = p->map_fd[CGP_MAP_DSETS];
	size_t gone = 0;

	if (add) {
		struct cgp_dset_val *v = calloc(a->n ? a->n : 1, sizeof(*v));
		__u64 exp = timeout ? cgp_boot_ns() + (__u64)timeout * 1000000000ull : 0;
		int err;

		if (!v)
			return CGP_EXIT_SYSTEM;
		for (size_t i = 0; i < a->n; i++) {
			v[i].member = 1;
			v[i].plen = (__u8)(a->k[i].prefixlen - CGP_LPM_FIXED_BITS);
			v[i].expires = exp;
		}
		err = cgp_dset_put(fd, a->k, v, a->n);
		free(v);
		if (err) {
			pr_err("cannot add to set '%s': %s%s\n", name, strerror(-err),
			       err == -E2BIG || err == -ENOSPC ? " (the dynamic sets are full)" : "");
			return CGP_EXIT_SYSTEM;
		}
		pr_info("set %s: %zu added\n", name, a->n);
		return CGP_EXIT_OK;
	}
	for (size_t i = 0; i < a->n; i++) {
		if (!bpf_map_delete_elem(fd, &a->k[i]))
			gone++;
		else if (errno != ENOENT) {
			pr_err("cannot delete from set '%s': %s\n", name, strerror(errno));
			return CGP_EXIT_SYSTEM;
		}
	}
	(void)r;
	pr_info("set %s: %zu deleted (%zu not members)\n", name, gone, a->n - gone);
	return CGP_EXIT_OK;
}

/* The command line of `set`, checked. */
struct set_cli {
	const char *op;		/* add, del or list */
	bool add, list, stdin_input;
	unsigned long timeout;	/* seconds; 0: none */
	int argc;		/* argv[2..argc-1]: the addresses (timeout taken off) */
};

/* 0, or the exit code of a usage error (printed). */
static int parse_set_args(const struct cgp_cmd_args *a, struct set_cli *c, struct cgp_set_key *key)
{
	char **argv = a->argv;

	c->argc = a->argc;
	if (c->argc < 1 || (strcmp(argv[0], "add") && strcmp(argv[0], "del") && strcmp(argv[0], "list")))
		return usage("set needs add, del or list%s", "");
	c->op = argv[0];
	c->add = !strcmp(c->op, "add");
	c->list = !strcmp(c->op, "list");
	if (c->argc < 2)
		return usage("set %s needs a set NAME", c->op);
	if (c->list && c->argc > 2)
		return usage("unexpected argument '%s'", argv[2]);
	if (!c->list && a->json)
		return usage("--json is an option of set list, not of set %s", c->op);
	if (strlen(argv[1]) >= sizeof(key->name))
		return usage("unknown set '%s'", argv[1]);
	snprintf(key->name, sizeof(key->name), "%s", argv[1]);
	if (c->list)
		return 0;
	if (c->argc >= 4 && !strcmp(argv[c->argc - 2], "timeout")) {
		const char *t = argv[c->argc - 1];
		char *end;

		if (!c->add)
			return usage("timeout is for set add, not set %s", c->op);
		errno = 0;
		c->timeout = strtoul(t, &end, 10);
		if (errno || *end || end == t || t[0] == '-' || !c->timeout || c->timeout > MAX_TIMEOUT)
			return usage("bad timeout '%s' (seconds, 1-315360000)", t);
		c->argc -= 2;
	}
	if (c->argc < 3)
		return usage("set %s needs at least one ADDRESS (or - for stdin)", c->op);
	c->stdin_input = c->argc == 3 && !strcmp(argv[2], "-");
	return 0;
}

/* The pinned state at pin, opened (locked shared). 0, or the exit code (reported). */
static int open_state(struct cgp_pins *p, const char *pin, const char *name)
{
	int err;

	cgp_pins_init(p, pin);
	err = cgp_pins_lock(p, false);
	if (!err)
		err = cgp_pins_open(p);
	if (!err)
		return 0;
	if (err == -ENOENT)
		fprintf(stderr, "cgpolicy: no policy in force at %s (unknown set '%s')\n", pin, name);
	else
		pr_err("cannot open the pinned state at %s: %s\n", pin, strerror(-err));
	cgp_pins_close(p);
	return err == -ENOENT ? CGP_EXIT_POLICY : CGP_EXIT_SYSTEM;
}

int cgp_cmd_set(const struct cgp_cmd_args *a)
{
	const char *pin = a->pin_path ? a->pin_path : CGP_DEFAULT_PIN_PATH;
	struct set_cli c = {};
	struct addrs ad = {};
	struct cgp_set_key key = {};
	struct cgp_set_rec rec;
	struct cgp_pins p;
	int rc;

	rc = parse_set_args(a, &c, &key);
	if (rc)
		return rc;
	rc = open_state(&p, pin, key.name);
	if (rc)
		return rc;
	if (bpf_map_lookup_elem(p.map_fd[CGP_MAP_SETS], &key, &rec)) {
		fprintf(stderr, "cgpolicy: unknown set '%s' (the policy in force at %s has no [set %s])\n",
			key.name, pin, key.name);
		rc = CGP_EXIT_POLICY;
		goto out;
	}
	/* expired members deleted: by list (it walks the set anyway), else when one is due */
	if (rec.dynamic && (c.list || (rec.next_expiry && rec.next_expiry <= cgp_boot_ns()))) {
		cgp_dset_purge(p.map_fd[CGP_MAP_DSETS], rec.id, true, &rec.next_expiry);
		bpf_map_update_elem(p.map_fd[CGP_MAP_SETS], &key, &rec, BPF_EXIST);
	}
	if (c.list) {
		rc = list(&p, key.name, &rec, a->json);
		goto out;
	}
	if (!rec.dynamic) {
		fprintf(stderr, "cgpolicy: set '%s' is static: change it in the policy file and apply "
			"(only sets with dynamic = yes change at run time)\n", key.name);
		rc = CGP_EXIT_POLICY;
		goto out;
	}
	if (cgp_set_is_dns(key.name)) {
		fprintf(stderr, "cgpolicy: set '%s' holds the addresses learned for DNS-name rules: "
			"they change with the DNS answers (set list shows them)\n", key.name);
		rc = CGP_EXIT_POLICY;
		goto out;
	}
	rc = CGP_EXIT_POLICY;
	if (c.stdin_input) {
		if (read_stdin(&ad, rec.id))
			goto out;
	} else {
		for (int i = 2; i < c.argc; i++)
			if (add_addr(&ad, a->argv[i], rec.id))
				goto out;
	}
	rc = change(&p, c.add, key.name, &rec, &ad, c.timeout);
	if (!rc && c.timeout) {	/* the sweep is due at the earliest deadline */
		__u64 exp = cgp_boot_ns() + (__u64)c.timeout * 1000000000ull;

		if (!rec.next_expiry || exp < rec.next_expiry) {
			rec.next_expiry = exp;
			bpf_map_update_elem(p.map_fd[CGP_MAP_SETS], &key, &rec, BPF_EXIST);
		}
	}
out:
	free(ad.k);
	cgp_pins_close(&p);
	return rc;
}
