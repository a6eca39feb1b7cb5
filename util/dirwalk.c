// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* dirwalk.c - the subdirectories of a directory (dirwalk.h). */
#include <dirent.h>
#include <stdio.h>
#include <string.h>

#include "util/dirwalk.h"

int cgp_subdirs(char *path, size_t len, cgp_subdir_cb fn, void *ctx)
{
	size_t base = strlen(path);
	struct dirent *de;
	DIR *d = opendir(path);
	int err = 0;

	if (!d)
		return 0;
	while (!err && (de = readdir(d))) {
		if (de->d_type != DT_DIR || !strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (base + 1 + strlen(de->d_name) >= len)
			continue;
		snprintf(path + base, len - base, "/%s", de->d_name);
		err = fn(path, len, path + base + 1, ctx);
		path[base] = 0;
	}
	closedir(d);
	return err;
}
