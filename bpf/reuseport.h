/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * reuseport.h - the types of listener steering, [reuseport NAME]
 * (reuseport.bpf.c, agent/reuseport.c): limits, map indexes, services,
 * backends, and the user-space records the object's maps hold.
 */
#ifndef CGP_BPF_REUSEPORT_H
#define CGP_BPF_REUSEPORT_H

#include "bpf/common.h"

#define CGP_RP_MAX_SVCS		64	/* reuseport services per pin path */
#define CGP_RP_MAX_BACKENDS	16	/* = CGP_MAX_BACKENDS of policy.h */
#define CGP_RP_SLOTS		64	/* listeners per backend (bits of cgp_rp_occ) */
#define CGP_RP_NAME_MAX		64

/* cgp_rp_svc.present is a 32-bit mask of backends, cgp_rp_occ a 64-bit mask of slots. */
_Static_assert(CGP_RP_MAX_BACKENDS <= 32, "CGP_RP_MAX_BACKENDS: bits of cgp_rp_svc.present");
_Static_assert(CGP_RP_SLOTS == 64, "CGP_RP_SLOTS: bits of a cgp_rp_occ entry");

/* Index of backend b of service id in cgp_rp_occ, cgp_rp_steered. */
#define CGP_RP_BIDX(id, b)	((id) * CGP_RP_MAX_BACKENDS + (b))
/* Slot k of backend b of service id in the sockmap cgp_rp_socks. */
#define CGP_RP_SLOT(id, b, k)	(CGP_RP_BIDX(id, b) * CGP_RP_SLOTS + (k))
/* cgp_rp_steered: per service, the backends, then one counter of connections
 * left to the kernel's own choice (no listener in any weighted backend). */
#define CGP_RP_CNT_PER_SVC	(CGP_RP_MAX_BACKENDS + 1)

/*
 * Key of a service (hash cgp_rp_svcs): the address a listener is bound to
 * (IPv4 as ::ffff:a.b.c.d) and its port. A service without `address =` has
 * has_addr 0 and a zero address: it covers every listener on the port. The
 * programs look up the exact key first, then the port-only one.
 */
struct cgp_rp_key {
	__u8  addr[16];
	__u16 port;		/* host order */
	__u8  proto;		/* CGP_PROTO_TCP */
	__u8  has_addr;
};
CGP_ASSERT_SIZE(struct cgp_rp_key, 20);

/*
 * A service. Replaced as a whole (hash update), so the programs never see
 * half-written weights. Backend index b is stable for a backend cgroup across
 * applies (its listener slots keep their meaning).
 */
struct cgp_rp_svc {
	__u32 id;				/* 0..CGP_RP_MAX_SVCS-1 */
	__u32 present;				/* bit b: backend b is configured */
	__u8  weight[CGP_RP_MAX_BACKENDS];	/* 0..100, 0 = drain */
	__u8  level[CGP_RP_MAX_BACKENDS];	/* cgroup depth: the deepest match wins (apply) */
	__u64 cgid[CGP_RP_MAX_BACKENDS];	/* backend cgroup ids (user space) */
};
CGP_ASSERT_SIZE(struct cgp_rp_svc, 168);
CGP_ASSERT_OFFSET(struct cgp_rp_svc, weight, 8);

/*
 * CGROUP_STORAGE of a backend cgroup (map cgp_rp_backend, one per cgroup the
 * sockops program is attached to): backend[id] = b + 1 when the cgroup is
 * backend b of service id, 0 when it is no backend of that service.
 */
struct cgp_rp_cgback {
	__u8  backend[CGP_RP_MAX_SVCS];
};
CGP_ASSERT_SIZE(struct cgp_rp_cgback, 64);
_Static_assert(CGP_RP_MAX_BACKENDS < 255, "cgp_rp_cgback.backend holds b + 1 in a byte");

/*
 * User-space records. The programs never read them; they are declared in
 * reuseport.bpf.c only so that the skeleton creates their maps.
 */
/* cgp_rp_info, keyed by service id. */
struct cgp_rp_info {
	char  name[CGP_RP_NAME_MAX];
	char  backend[CGP_RP_MAX_BACKENDS][CGP_RP_NAME_MAX];	/* policy names */
	struct cgp_rp_key key;
};
CGP_ASSERT_SIZE(struct cgp_rp_info, 1108);

/* A reuseport group our program was attached to (hash cgp_rp_groups). */
struct cgp_rp_group {
	__u8  addr[16];		/* bound address, IPv4 as ::ffff:a.b.c.d */
	__u16 port;
	__u16 family;		/* AF_INET | AF_INET6 */
	__u32 ifindex;		/* SO_BINDTODEVICE, 0 = none */
};
CGP_ASSERT_SIZE(struct cgp_rp_group, 24);

struct cgp_rp_groupval {
	__u64 cookie;		/* the listener the program was attached through */
	__u32 svc;
	__u32 pad;
};
CGP_ASSERT_SIZE(struct cgp_rp_groupval, 16);

#endif /* CGP_BPF_REUSEPORT_H */
