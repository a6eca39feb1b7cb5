// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* addr.c - v4-mapped addresses as text (addr.h). */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "util/addr.h"

bool cgp_addr_v4mapped(const uint8_t a[16])
{
	static const uint8_t v4pre[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	return !memcmp(a, v4pre, sizeof(v4pre));
}

const char *cgp_addr_str(const uint8_t a[16], bool v4, char *buf, size_t len)
{
	if (!inet_ntop(v4 ? AF_INET : AF_INET6, v4 ? a + 12 : a, buf, (socklen_t)len) && len)
		snprintf(buf, len, "?");
	return buf;
}

const char *cgp_addr_auto_str(const uint8_t a[16], char *buf, size_t len)
{
	return cgp_addr_str(a, cgp_addr_v4mapped(a), buf, len);
}
