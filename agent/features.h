/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * features.h - what this kernel can do for cgpolicy, found by probing: each
 * feature is tested by creating a map or loading a tiny program (and reading
 * the verifier's answer), never by comparing kernel versions.
 *
 * The table is probed once per process, on first use (main does it before
 * running a command whose table entry asks for it: apply, agent, status...). Each row: name, supported, who needs it, and
 * when not supported, why (the errno or the verifier's line).
 *
 * Test hook: CGP_TEST_DISABLE_FEATURES="steering,acceleration" (names of
 * rows, separated by commas or spaces) reports those rows as not supported,
 * and every composite row that needs them. For tests of the refusal path
 * only; the real probes still run.
 */
#ifndef CGP_FEATURES_H
#define CGP_FEATURES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Exit status of apply when the file was applied but sections were refused
 * because the kernel lacks a feature they need (see cgp_feature_refuse). */
#define CGP_EXIT_PARTIAL	3

enum cgp_feature {
	CGP_FEAT_CGROUP_SKB,		/* cgroup_skb programs */
	CGP_FEAT_CGROUP_LINK,		/* bpf_link for cgroup attachments */
	CGP_FEAT_CGROUP_STORAGE,	/* (PERCPU_)CGROUP_STORAGE + bpf_get_local_storage */
	CGP_FEAT_LPM_TRIE,
	CGP_FEAT_ARRAY_OF_MAPS,
	CGP_FEAT_SK_STORAGE,		/* SK_STORAGE + bpf_sk_storage_get in cgroup_skb */
	CGP_FEAT_RINGBUF,		/* RINGBUF + bpf_ringbuf_reserve in cgroup_skb */
	CGP_FEAT_ANCESTOR_CGID,		/* bpf_skb_ancestor_cgroup_id in cgroup_skb */
	CGP_FEAT_SOCKOPS,		/* sockops programs + bpf_sk_storage_get in them */
	CGP_FEAT_ITER_TCP,		/* iter/tcp programs (stats dump) */
	CGP_FEAT_SOCKHASH,		/* SOCKHASH + bpf_sock_hash_update in sockops */
	CGP_FEAT_SK_MSG,		/* sk_msg programs + bpf_msg_redirect_hash */
	CGP_FEAT_SK_REUSEPORT,		/* sk_reuseport + bpf_sk_select_reuseport on a SOCKMAP */
	CGP_FEAT_SOCKMAP,		/* SOCKMAP + bpf_sock_map_update in sockops */
	CGP_FEAT_SOCKOPS_STORAGE,	/* bpf_get_local_storage in sockops */
	CGP_FEAT_ACCEL,			/* acceleration: cgp_probe_accel() */
	CGP_FEAT_STEERING,		/* listener steering: all that reuseport.bpf.c needs */
	CGP_FEAT_N
};

struct cgp_feature_row {
	const char *name;		/* stable, used in JSON and CGP_TEST_DISABLE_FEATURES */
	const char *needed_by;		/* what of the policy needs it */
	bool supported;
	bool unknown;			/* the probe was not allowed (not root): not supported,
					 * but not known to be missing either */
	char why[256];			/* empty when supported */
};

/* The probed table (CGP_FEAT_N rows); probes on first call. Never NULL. */
const struct cgp_feature_row *cgp_features(void);
/* Supported, or unknown (then the load itself will say what is wrong). */
bool cgp_feature_ok(enum cgp_feature f);

/*
 * features_cache.c: the probed rows of this boot, kernel and binary, kept in
 * /run/cgpolicy/features (composite rows and the test hook are not: they are
 * derived again). load: 0 with rows filled, -1 when there is no such record.
 */
int cgp_features_cache_load(struct cgp_feature_row *rows, unsigned n);
void cgp_features_cache_save(const struct cgp_feature_row *rows, unsigned n);

/* `--version --verbose`: the table. */
void cgp_features_print(FILE *f);
/* `status`: one line, the missing features or "all ... supported". */
void cgp_features_print_short(FILE *f);
/* `status --json`: the value of "kernel" ({"release": ..., "features": {...}}). */
void cgp_features_json(FILE *f);

/*
 * A section of FILE that needs feature f, which is missing: say so on stderr
 * (FILE:LINE: SECTION refused: WHAT needs ...), count it. The caller leaves
 * the section out and applies the rest; main exits with CGP_EXIT_PARTIAL.
 */
void cgp_feature_refuse(const char *file, int line, const char *section, const char *what,
			enum cgp_feature f, bool dry_run);
unsigned cgp_feature_refusals(void);

/*
 * Acceleration (accelerate = yes): 0 when it is available and safe on this
 * kernel, else a negative errno with the reason in why. The SOCKHASH map, an
 * sk_msg program redirecting through it and a sockops program adding to it
 * must load, then a redirected connection must behave like TCP
 * (accel_probe.c: FIONREAD, EOF after the payload, no spurious EAGAIN).
 */
int cgp_probe_accel(char *why, size_t len);

#endif
