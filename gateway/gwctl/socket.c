/* Which gatewayd socket gwctl talks to: --socket, --gateway, $GWCTL_SOCKET,
 * or the only socket in the run directory. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gw/gwctl.h"
#include "gwctl-int.h"

#define LISTED_MAX 16 /* sockets named in "several gateways" */

static int path_copy(const char *path, char *buf, size_t size, FILE *err)
{
	size_t len = strlen(path);

	if (len >= size || len >= SOCK_PATH_MAX) {
		fprintf(err, "gwctl: socket path too long (at most %zu bytes): %s\n",
			SOCK_PATH_MAX - 1, path);
		return -ENAMETOOLONG;
	}
	memcpy(buf, path, len + 1);
	return 0;
}

static int gateway_name_ok(const char *name)
{
	size_t i, len = strlen(name);

	if (!len || len > GWCTL_NAME_MAX || name[0] == '.' || name[0] == '-')
		return 0;
	for (i = 0; i < len; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-",
			    name[i]))
			return 0;
	return 1;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int is_socket(DIR *d, const struct dirent *de)
{
	struct stat st;

	if (de->d_type == DT_SOCK)
		return 1;
	if (de->d_type != DT_UNKNOWN && de->d_type != DT_LNK)
		return 0;
	return fstatat(dirfd(d), de->d_name, &st, 0) == 0 && S_ISSOCK(st.st_mode);
}

int gwctl_socket_resolve(const char *opt_socket, const char *opt_gateway, const char *env_socket,
			 const char *run_dir, char *buf, size_t size, FILE *err)
{
	char path[PATH_MAX], *names[LISTED_MAX];
	const struct dirent *de;
	size_t n = 0, len, i;
	DIR *d;
	int r;

	if (opt_socket && *opt_socket)
		return path_copy(opt_socket, buf, size, err);
	if (opt_gateway && *opt_gateway) {
		if (!gateway_name_ok(opt_gateway)) {
			fprintf(err,
				"gwctl: bad gateway name \"%s\": use letters, digits, '.', '_' "
				"and '-' (at most %d)\n",
				opt_gateway, GWCTL_NAME_MAX);
			return -EINVAL;
		}
		snprintf(path, sizeof(path), "%s/%s.sock", run_dir, opt_gateway);
		return path_copy(path, buf, size, err);
	}
	if (env_socket && *env_socket)
		return path_copy(env_socket, buf, size, err);

	d = opendir(run_dir);
	while (d && (de = readdir(d))) {
		len = strlen(de->d_name);
		if (len <= 5 || strcmp(de->d_name + len - 5, ".sock") || !is_socket(d, de))
			continue;
		if (n < LISTED_MAX) {
			names[n] = strdup(de->d_name);
			if (!names[n])
				break;
		}
		n++;
	}
	if (d)
		closedir(d);
	if (n == 1) {
		snprintf(path, sizeof(path), "%s/%s", run_dir, names[0]);
		r = path_copy(path, buf, size, err);
	} else if (n == 0) {
		fprintf(err,
			"gwctl: no gatewayd socket in %s: is gatewayd running?\n"
			"gwctl: (or name one with --gateway NAME, --socket PATH or "
			"$" GWCTL_SOCKET_ENV ")\n",
			run_dir);
		r = -ENOENT;
	} else {
		if (n <= LISTED_MAX)
			qsort(names, n, sizeof(names[0]), name_cmp);
		fprintf(err, "gwctl: several gateways run here, choose one with --gateway NAME:");
		for (i = 0; i < n && i < LISTED_MAX; i++)
			fprintf(err, " %.*s", (int)(strlen(names[i]) - 5), names[i]);
		fprintf(err, "%s\n", n > LISTED_MAX ? " ..." : "");
		r = -ENOTUNIQ;
	}
	for (i = 0; i < n && i < LISTED_MAX; i++)
		free(names[i]);
	return r;
}
