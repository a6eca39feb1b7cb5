// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * cmd_remove.c - cgpolicy remove: every link detached and every pin under
 * the pin path removed ([reuseport] state first), the rule-set cache too.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "agent/log.h"
#include "agent/reuseport.h"
#include "agent/ruleset.h"
#include "agent/state.h"

int cgp_cmd_remove(const char *pin_path)
{
	struct cgp_pins p;
	int err;

	cgp_pins_init(&p, pin_path);
	err = cgp_pins_lock(&p, false);
	if (err == -ENOENT) {
		printf("nothing to remove at %s\n", pin_path);
		return CGP_EXIT_OK;
	}
	if (err) {
		pr_err("cannot lock pin path %s: %s\n", pin_path, strerror(-err));
		return CGP_EXIT_SYSTEM;
	}
	err = cgp_reuseport_remove(&p);
	if (!err)
		err = cgp_pins_remove(&p);
	cgp_ruleset_cache_remove(pin_path);
	if (!err && rmdir(pin_path) && errno != ENOENT)
		err = -errno;
	cgp_pins_close(&p);
	if (err) {
		pr_err("could not remove everything under %s: %s\n", pin_path, strerror(-err));
		return CGP_EXIT_SYSTEM;
	}
	printf("removed %s: all programs detached\n", pin_path);
	return CGP_EXIT_OK;
}

