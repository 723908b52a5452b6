/* LD_PRELOAD shim for test/e2e/adapters/run.py: counts the process's recv()
 * calls, and those that failed with EAGAIN, in the file named by
 * COUNT_RECV_FILE as "calls eagain\n", rewritten after every call (so it
 * holds whatever the process is doing, and survives SIGKILL). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static ssize_t (*real_recv)(int, void *, size_t, int);
static unsigned long calls, eagain;
static int out = -1;

ssize_t recv(int fd, void *buf, size_t len, int flags)
{
	char line[64];
	ssize_t n;
	int e, k;

	if (!real_recv) {
		const char *f = getenv("COUNT_RECV_FILE");
		void *sym = dlsym(RTLD_NEXT, "recv");
		memcpy(&real_recv, &sym, sizeof sym); /* ISO C has no object-to-function cast */
		out = f ? open(f, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600) : -1;
	}
	n = real_recv(fd, buf, len, flags);
	e = errno;
	calls++;
	eagain += n < 0 && (e == EAGAIN || e == EWOULDBLOCK);
	k = snprintf(line, sizeof line, "%lu %lu\n", calls, eagain);
	if (out >= 0 && k > 0 && pwrite(out, line, (size_t)k, 0) < 0)
		out = -1;
	errno = e;
	return n;
}
