/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * hits.bpf.h - per-rule hit counters (enforce.bpf.c only): the maps and the
 * one function judge() calls off the fast path when a rule lookup took a
 * decision to count (docs/ARCHITECTURE.md, "Per-rule hit counters").
 * Included once, after struct ctx.
 */
#ifndef CGP_HITS_BPF_H
#define CGP_HITS_BPF_H

/* Per-rule hit counters (enforce.h): counted in judge() when c->hit is set. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, CGP_MAX_HITS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct cgp_hit_key);
	__type(value, __u64);
} cgp_hits SEC(".maps");

/* Decisions not counted in cgp_hits because it was full, per parity. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} cgp_hitsx SEC(".maps");

/*
 * One decision of the rule lookup for the hit counters (off the fast path).
 * A global function, like cgp_eval: verified once, not once per call site.
 */
__noinline int cgp_count_hit(const struct ctx *c)
{
	struct cgp_hit_key k = {};
	__u64 one = 1, *n;
	__u32 par;

	if (!c)
		return 0;
	par = c->set & 1;
	k.slot = c->slot;
	k.parity = par;
	k.dir = (c->hit - 1) & 1;
	k.line = c->line;
	n = bpf_map_lookup_elem(&cgp_hits, &k);
	if (n) {
		(*n)++;		/* per-CPU value: no atomic needed */
		return 1;
	}
	if (!bpf_map_update_elem(&cgp_hits, &k, &one, BPF_NOEXIST))
		return 1;
	n = bpf_map_lookup_elem(&cgp_hits, &k);	/* another CPU just created it */
	if (!n)
		n = bpf_map_lookup_elem(&cgp_hitsx, &par);	/* full: counted as overflow */
	if (n)
		(*n)++;
	return 0;
}

#endif /* CGP_HITS_BPF_H */
