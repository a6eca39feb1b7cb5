/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* caps.h - least privilege for `cgpolicy agent` (caps.c). */
#ifndef CGP_CAPS_H
#define CGP_CAPS_H

#include "policy/policy.h"

/* Keep only the capabilities reload, attach and stats need. */
int cgp_drop_caps(const struct cgp_config *cfg);

#endif
