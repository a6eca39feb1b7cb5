// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/magic.h>

#include "agent/cgroup.h"

/* Unescape mountinfo's octal escapes (\040 for space ...) in place. */
static void unescape(char *s)
{
	char *w = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*w++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*w++ = *s;
		}
	}
	*w = 0;
}

int cgp_cgroup2_mount(char *buf, size_t len)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL;
	size_t cap = 0;
	int ret = -ENOENT;

	if (!f)
		return -errno;
	while (getline(&line, &cap, f) > 0) {
		/* id parent maj:min root mountpoint opts [optional...] - fstype source superopts */
		char *sep = strstr(line, " - ");
		char mnt[PATH_MAX], fstype[64];

		if (!sep || sscanf(sep + 3, "%63s", fstype) != 1 || strcmp(fstype, "cgroup2"))
			continue;
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1)
			continue;
		unescape(mnt);
		if (strlen(mnt) >= len) {
			ret = -ENAMETOOLONG;
			break;
		}
		strcpy(buf, mnt);
		ret = 0;
		break;
	}
	free(line);
	fclose(f);
	return ret;
}

int cgp_cgroup_resolve(const char *mnt, const char *spec, char *path, size_t pathlen,
		       int *fd, __u64 *id, char *err, size_t errlen)
{
	size_t ml = strlen(mnt);
	struct statfs sfs;
	struct stat st;
	int n, f;

	/* An absolute path already under the mount is taken as is. */
	if (!strncmp(spec, mnt, ml) && (spec[ml] == '/' || spec[ml] == 0))
		n = snprintf(path, pathlen, "%s", spec);
	else
		n = snprintf(path, pathlen, "%s%s", mnt, strcmp(spec, "/") ? spec : "");
	if (n < 0 || (size_t)n >= pathlen) {
		snprintf(err, errlen, "cgroup path '%s' is too long", spec);
		return -ENAMETOOLONG;
	}
	f = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (f < 0) {
		int e = errno;

		if (e == ENOENT)
			snprintf(err, errlen, "cgroup %s does not exist (%s); create it first", spec, path);
		else
			snprintf(err, errlen, "cannot open cgroup %s (%s): %s", spec, path, strerror(e));
		return -e;
	}
	if (fstatfs(f, &sfs) || sfs.f_type != CGROUP2_SUPER_MAGIC) {
		snprintf(err, errlen, "%s is not a cgroup2 directory (cgroup v1 is not supported; cgroup2 is at %s)",
			 path, mnt);
		close(f);
		return -EINVAL;
	}
	if (fstat(f, &st)) {
		int e = errno;

		snprintf(err, errlen, "cannot stat %s: %s", path, strerror(e));
		close(f);
		return -e;
	}
	*fd = f;
	*id = st.st_ino;	/* the cgroup id on cgroup2 (kernfs node id) */
	return 0;
}
