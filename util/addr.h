/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * addr.h - the 16-byte addresses the BPF programs record (an IPv4 address
 * is v4-mapped: ::ffff:a.b.c.d) as text. Pure C: no libbpf.
 */
#ifndef CGP_UTIL_ADDR_H
#define CGP_UTIL_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Room for any result of cgp_addr_str, NUL included (INET6_ADDRSTRLEN). */
#define CGP_ADDR_STRLEN 46

/* a is ::ffff:a.b.c.d */
bool cgp_addr_v4mapped(const uint8_t a[16]);

/* a as text into buf (len >= CGP_ADDR_STRLEN): its last four bytes as
 * dotted IPv4 when v4, else the IPv6 form (a v4-mapped a is then
 * "::ffff:a.b.c.d"). Returns buf; "?" in buf if len is too small. */
const char *cgp_addr_str(const uint8_t a[16], bool v4, char *buf, size_t len);

/* cgp_addr_str(a, cgp_addr_v4mapped(a), ...): the address's own family. */
const char *cgp_addr_auto_str(const uint8_t a[16], char *buf, size_t len);

#endif
