/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * sets.bpf.h - named address sets in the rule lookup (enforce.bpf.c only):
 * the dynamic sets' member trie, a set's membership of an address, and the
 * set rules of a (slot, dir, proto) as candidates of cgp_eval (docs/ARCHITECTURE.md,
 * "Address sets"). Included once, after struct ctx and cand()/cand_max().
 */
#ifndef CGP_SETS_BPF_H
#define CGP_SETS_BPF_H

/* Members of the dynamic sets (`dynamic = yes`): not generational, written by
 * `cgpolicy set add|del` and apply; an expired member counts as absent. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, CGP_MAX_DSET_ENTRIES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct cgp_lpm_key);
	__type(value, struct cgp_dset_val);
} cgp_dsets SEC(".maps");

/*
 * Set membership of the remote address in set `id`: the member prefix length
 * of its longest match, or -1 when it is not a member (no match, an
 * exclusion, or only expired members). Static sets: the generation's rule
 * trie; dynamic sets: cgp_dsets, where an expired member is skipped by
 * looking again one bit shorter (bounded).
 */
#define CGP_EXPIRED_SKIPS	4

static __always_inline int set_member(void *rules, __u32 id, const __u8 addr[16])
{
	struct cgp_lpm_key mk = {
		.prefixlen = CGP_LPM_FIXED_BITS + 128, .dir = CGP_DIR_SET, .slot = (__u16)id,
	};

	__builtin_memcpy(mk.addr, addr, 16);
	if (!(id & CGP_SET_DYNAMIC)) {
		struct cgp_lpm_val *m = bpf_map_lookup_elem(rules, &mk);

		return m && m->verdict ? m->plen : -1;
	}
	for (int i = 0; i < CGP_EXPIRED_SKIPS; i++) {
		struct cgp_dset_val *d = bpf_map_lookup_elem(&cgp_dsets, &mk);

		if (!d)
			return -1;
		if (!d->expires || d->expires > bpf_ktime_get_boot_ns())
			return d->member ? d->plen : -1;
		if (!d->plen)
			return -1;
		mk.prefixlen = CGP_LPM_FIXED_BITS + d->plen - 1;
	}
	return -1;
}

/*
 * The set rules of (slot, dir, proto): for each set the slot's rules of
 * this direction and protocol use (cgp_pol.sets, at most CGP_SET_REFS), one
 * membership lookup, then the set rule for the port class and for class 0,
 * each a candidate with the prefix of the member that matched. A loop over
 * the referenced sets only, never over rules or members.
 */
static __always_inline __u32 eval_sets(struct ctx *c, void *rules, __u32 dir, const struct pkt *p,
				       __u32 cls, __u32 best, __u32 *line)
{
	struct cgp_lpm_key k = {};
	struct cgp_lpm_val *v;
	struct cgp_pol *pol;
	__u32 set = c->set, slot = c->slot, proto = p->proto & (CGP_PROTO_MAX - 1), l2 = 0;
	__u64 li = (dir & 1) * CGP_PROTO_MAX + proto;
	const __u16 *list;
	void *pols;

	pols = bpf_map_lookup_elem(&cgp_pols, &set);
	if (!pols)
		return best;
	pol = bpf_map_lookup_elem(pols, &slot);
	if (!pol)
		return best;
	/* the list of (dir, proto): an explicit bound the 6.1 verifier can follow
	 * (clang otherwise ORs the two indexes, whose bounds 6.1 loses) */
	asm volatile("%0 &= 7" : "+r"(li));
	list = &pol->sets[0][0][0] + li * CGP_SET_REFS;
	if (!list[0])
		return best;
	k.prefixlen = CGP_LPM_FIXED_BITS + 128;
	k.dir = dir & 1;
	k.proto = (__u8)(proto | CGP_SET_RULE);
	k.slot = (__u16)slot;
	for (int i = 0; i < CGP_SET_REFS; i++) {
		__u32 id = list[i];
		int plen;

		if (!id)
			break;
		plen = set_member(rules, id, p->raddr);
		if (plen < 0)
			continue;
		k.addr[0] = id >> 8;
		k.addr[1] = id & 0xff;
		if (cls) {
			k.cls = (__u16)cls;
			v = bpf_map_lookup_elem(rules, &k);
			best = cand_max(best, cand(v, plen, 1, &l2), line, l2);
		}
		k.cls = 0;
		v = bpf_map_lookup_elem(rules, &k);
		best = cand_max(best, cand(v, plen, 0, &l2), line, l2);
	}
	return best;
}

#endif /* CGP_SETS_BPF_H */
