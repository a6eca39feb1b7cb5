// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * reuseport.bpf.c - listener steering by cgroup ([reuseport NAME]).
 *
 * cgp_rp_listen (sockops, one link on every backend cgroup): at
 * BPF_SOCK_OPS_TCP_LISTEN_CB finds the service of the new listener (its bound
 * address and port) and the backend from the attach point: the cgroup storage
 * cgp_rp_backend of the cgroup this copy of the program is attached to says
 * which backend of each service that cgroup is. The program runs once per
 * backend cgroup on the socket's cgroup path, the socket's own cgroup first,
 * then its ancestors; the first run whose cgroup is a backend of the service
 * claims the socket (SK_STORAGE cgp_rp_sk), so the deepest backend wins. It
 * puts the socket in the lowest free slot of that backend in the sockmap
 * cgp_rp_socks. The kernel removes a listener from the sockmap when it
 * closes, so its slot becomes empty by itself.
 *
 * Only helpers that sockops has had since 5.x (bpf_get_local_storage,
 * bpf_sk_storage_get, bpf_sock_map_update): 6.1 does not offer
 * bpf_current_task_under_cgroup to sockops (newer kernels do).
 *
 * cgp_rp_select (sk_reuseport, attached to the reuseport group of the port):
 *   1. the service of the group (exact address, then port only); none: pass;
 *   2. a backend drawn by weight from the flow hash (stable per flow), among
 *      the weighted backends not yet tried;
 *   3. a listener of that backend, also from the flow hash: the first live
 *      slot from hash % (highest used slot + 1); bpf_sk_select_reuseport
 *      fails on an empty slot or a socket of another group: try the next;
 *   4. backend without a listener: back to 2 without it. Nothing left:
 *      SK_PASS without a selection, the kernel's own reuseport choice.
 * Never SK_DROP: the policy never refuses a connection.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "bpf/reuseport.h"
#include "bpf/shared.bpf.h"

/* IPPROTO_TCP and SK_PASS come from vmlinux.h (enums). */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CGP_RP_MAX_SVCS * 2);
	__type(key, struct cgp_rp_key);
	__type(value, struct cgp_rp_svc);
} cgp_rp_svcs SEC(".maps");

/* Per backend cgroup (written by apply once the link exists): its backend
 * index in each service. Keyed by cgroup id alone (shared by attach types). */
struct {
	__uint(type, BPF_MAP_TYPE_CGROUP_STORAGE);
	__type(key, __u64);
	__type(value, struct cgp_rp_cgback);
} cgp_rp_backend SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, CGP_RP_MAX_SVCS * CGP_RP_MAX_BACKENDS * CGP_RP_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} cgp_rp_socks SEC(".maps");

/* Per backend: bit k set once slot k was used (cleared by apply when empty). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, CGP_RP_MAX_SVCS * CGP_RP_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, __u64);
} cgp_rp_occ SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CGP_RP_MAX_SVCS * CGP_RP_CNT_PER_SVC);
	__type(key, __u32);
	__type(value, __u64);
} cgp_rp_steered SEC(".maps");

/* SK_STORAGE of a listener the sockops program has registered. */
struct cgp_rp_sk {
	__u32 slot;		/* CGP_RP_SLOT() + 1; 0 = not claimed yet; CGP_RP_SK_FULL */
	__u32 pad;
};
CGP_ASSERT_SIZE(struct cgp_rp_sk, 8);
/* cgp_rp_sk.slot of a listener claimed by a backend whose slots were all taken. */
#define CGP_RP_SK_FULL		0xffffffffu

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct cgp_rp_sk);
} cgp_rp_sk SEC(".maps");

/* User space only (status, apply, remove). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CGP_RP_MAX_SVCS);
	__type(key, __u32);
	__type(value, struct cgp_rp_info);
} cgp_rp_info SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct cgp_rp_group);
	__type(value, struct cgp_rp_groupval);
} cgp_rp_groups SEC(".maps");

static __always_inline struct cgp_rp_svc *find_svc(__u32 family, __u32 ip4, const __u32 *ip6, __u32 port)
{
	struct cgp_rp_key k = {};
	struct cgp_rp_svc *s;

	k.port = port;
	k.proto = CGP_PROTO_TCP;
	k.has_addr = 1;
	if (family == AF_INET) {
		cgp_v4mapped(k.addr, ip4);
	} else {
		__builtin_memcpy(k.addr, ip6, 16);
	}
	s = bpf_map_lookup_elem(&cgp_rp_svcs, &k);
	if (s)
		return s;
	__builtin_memset(k.addr, 0, 16);
	k.has_addr = 0;
	return bpf_map_lookup_elem(&cgp_rp_svcs, &k);
}

static __always_inline void count(__u32 idx)
{
	__u64 *c = bpf_map_lookup_elem(&cgp_rp_steered, &idx);

	if (c)
		*c += 1;
}

/* A stable 32-bit mix of the flow hash for round r (murmur3 finaliser). */
static __always_inline __u32 mix(__u32 h, __u32 r)
{
	h ^= r * 0x9e3779b9u;
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

/* Highest set bit + 1 of a non-zero word, without a loop. */
static __always_inline __u32 fls64(__u64 x)
{
	__u32 n = 1;

	if (x >> 32) { n += 32; x >>= 32; }
	if (x >> 16) { n += 16; x >>= 16; }
	if (x >> 8) { n += 8; x >>= 8; }
	if (x >> 4) { n += 4; x >>= 4; }
	if (x >> 2) { n += 2; x >>= 2; }
	if (x >> 1) n += 1;
	return n;
}

/*
 * Try the listeners of backend bidx, from a hash-chosen slot on. 0 when one
 * was selected. A global function: the verifier checks it once, not once per
 * caller path.
 */
__noinline int cgp_rp_pick(struct sk_reuseport_md *md, __u32 bidx, __u32 h)
{
	__u32 hw, start, key;
	__u64 *occp, occ;

	if (!md || bidx >= CGP_RP_MAX_SVCS * CGP_RP_MAX_BACKENDS)
		return -1;
	occp = bpf_map_lookup_elem(&cgp_rp_occ, &bidx);
	if (!occp || !*occp)
		return -1;
	occ = *occp;
	hw = fls64(occ);
	start = h % hw;
	for (__u32 j = 0; j < CGP_RP_SLOTS; j++) {
		__u32 k = start + j;

		if (j >= hw)
			break;
		if (k >= hw)
			k -= hw;
		if (k >= CGP_RP_SLOTS || !(occ & (1ull << k)))
			continue;
		key = bidx * CGP_RP_SLOTS + k;
		if (!bpf_sk_select_reuseport(md, &cgp_rp_socks, &key, 0))
			return 0;
	}
	return -1;
}

/* A backend of `mask` drawn by weight with hash h; -1 when their weights sum to 0. */
__noinline int cgp_rp_draw(const struct cgp_rp_svc *s, __u32 mask, __u32 h)
{
	__u32 total = 0, r;

	if (!s)
		return -1;
	for (__u32 b = 0; b < CGP_RP_MAX_BACKENDS; b++)
		if (mask & (1u << b))
			total += s->weight[b];
	if (!total)
		return -1;
	r = h % total;
	for (__u32 b = 0; b < CGP_RP_MAX_BACKENDS; b++) {
		if (!(mask & (1u << b)))
			continue;
		if (r < s->weight[b])
			return b;
		r -= s->weight[b];
	}
	return -1;
}

SEC("sk_reuseport")
int cgp_rp_select(struct sk_reuseport_md *md)
{
	struct bpf_sock *sk = md->sk;
	struct cgp_rp_svc *s;
	__u32 ip6[4], mask = 0, id;

	if (!sk || md->ip_protocol != IPPROTO_TCP)
		return SK_PASS;
	CGP_CTX_IP6(ip6, sk, src_ip6);
	s = find_svc(sk->family, sk->src_ip4, ip6, sk->src_port);
	if (!s)
		return SK_PASS;
	id = s->id;
	if (id >= CGP_RP_MAX_SVCS)
		return SK_PASS;
	/* backends with weight 0 are never drawn (drain) */
	mask = s->present;

	for (__u32 round = 0; round < CGP_RP_MAX_BACKENDS && mask; round++) {
		int pick = cgp_rp_draw(s, mask, mix(md->hash, round));

		if (pick < 0 || pick >= CGP_RP_MAX_BACKENDS)
			break;
		if (!cgp_rp_pick(md, CGP_RP_BIDX(id, pick), mix(md->hash, round + 0x100))) {
			count(id * CGP_RP_CNT_PER_SVC + pick);
			return SK_PASS;
		}
		mask &= ~(1u << pick);
	}
	count(id * CGP_RP_CNT_PER_SVC + CGP_RP_MAX_BACKENDS);
	return SK_PASS;
}

SEC("sockops")
int cgp_rp_listen(struct bpf_sock_ops *skops)
{
	struct cgp_rp_cgback *cb;
	struct cgp_rp_sk *st;
	struct cgp_rp_svc *s;
	struct bpf_sock *sk;
	__u32 ip6[4], id, b, bidx;
	__u64 *occ;

	if (skops->op != BPF_SOCK_OPS_TCP_LISTEN_CB)
		return 1;
	sk = skops->sk;
	if (!sk)
		return 1;
	CGP_CTX_IP6(ip6, skops, local_ip6);
	s = find_svc(skops->family, skops->local_ip4, ip6, skops->local_port);
	if (!s)
		return 1;
	id = s->id;
	if (id >= CGP_RP_MAX_SVCS)
		return 1;
	/* Nested backend cgroups run this once each, deepest first: the first claims. */
	st = bpf_sk_storage_get(&cgp_rp_sk, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!st || st->slot)
		return 1;
	cb = bpf_get_local_storage(&cgp_rp_backend, 0);
	b = cb->backend[id];
	if (!b || b > CGP_RP_MAX_BACKENDS)
		return 1;	/* this cgroup is no backend of this service: an ancestor may be */
	b--;
	/* Claimed even without a free slot: an ancestor backend must not take it. */
	st->slot = CGP_RP_SK_FULL;
	bidx = CGP_RP_BIDX(id, b);
	occ = bpf_map_lookup_elem(&cgp_rp_occ, &bidx);
	if (!occ)
		return 1;
	for (__u32 k = 0; k < CGP_RP_SLOTS; k++) {
		__u32 key = CGP_RP_SLOT(id, b, k);

		if (bpf_sock_map_update(skops, &cgp_rp_socks, &key, BPF_NOEXIST))
			continue;
		st->slot = key + 1;
		/* Only this listener owns slot k now (BPF_NOEXIST): no lost update of its bit
		 * unless two listeners take two new slots at the same instant, which the next
		 * apply repairs. */
		if (!(*occ & (1ull << k)))
			__sync_fetch_and_or(occ, 1ull << k);
		break;
	}
	return 1;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
