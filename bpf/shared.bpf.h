/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * shared.bpf.h - helpers every BPF object of cgpolicy uses (after vmlinux.h
 * and bpf_helpers.h). No maps: an object that included a map it does not use
 * would still create it at load. The maps two objects share are in
 * shared_maps.bpf.h.
 */
#ifndef CGP_SHARED_BPF_H
#define CGP_SHARED_BPF_H

/* Not in vmlinux.h (macros of the uapi headers). */
#define AF_INET		2
#define AF_INET6	10

/*
 * a = ::ffff:ip4, the IPv4-mapped IPv6 address every key and record of
 * cgpolicy uses for IPv4 (one trie, one key format for both families; the
 * v4-mapped sockets of dual-stack servers match their IPv4 peers). ip4 in
 * network order, as the kernel keeps it. Into memory whose alignment the
 * compiler does not know (a ring buffer record) it stores byte by byte:
 * build the address on the stack and copy it there.
 */
static __always_inline void cgp_v4mapped(__u8 a[16], __u32 ip4)
{
	__builtin_memset(a, 0, 10);
	a[10] = a[11] = 0xff;
	__builtin_memcpy(&a[12], &ip4, 4);
}

/*
 * Copy an IPv6 address from a context field (bpf_sock_ops.local_ip6,
 * sk_msg_md.remote_ip6, bpf_sock.src_ip6 ...) into 16 bytes at dst. A macro,
 * word by word, each read written as ctx->field[i]: the verifier refuses a
 * copy through a pointer into the context ("dereference of modified ctx
 * ptr"), which is what clang made of a macro taking the array itself.
 */
#define CGP_CTX_IP6(dst, ctx, field) do {		\
		__u32 *d_ = (__u32 *)(dst);		\
		d_[0] = (ctx)->field[0];		\
		d_[1] = (ctx)->field[1];		\
		d_[2] = (ctx)->field[2];		\
		d_[3] = (ctx)->field[3];		\
	} while (0)

#endif /* CGP_SHARED_BPF_H */
