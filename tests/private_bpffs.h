/* A mount namespace of the calling process with its own bpffs on
 * /sys/fs/bpf, for the test and benchmark programs that load the gateway:
 * their pins live and die with the process, and never meet a running
 * gatewayd's. Call before starting threads; needs root. */
#ifndef GW_TESTS_PRIVATE_BPFFS_H
#define GW_TESTS_PRIVATE_BPFFS_H

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>

/* 0, or -errno with the reason on stderr; who prefixes the message. */
static inline int private_bpffs(const char *who)
{
	if (unshare(CLONE_NEWNS)) {
		fprintf(stderr, "%s: unshare(CLONE_NEWNS): %s (run as root)\n", who,
			strerror(errno));
		return -errno;
	}
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700")) {
		fprintf(stderr, "%s: private bpffs: %s\n", who, strerror(errno));
		return -errno;
	}
	return 0;
}

#endif
