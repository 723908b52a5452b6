/* ad_socket: the plain socket transport; see ad_transport.h. */
#define _GNU_SOURCE
#include "ad_transport.h"
#include <errno.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#ifdef __linux__
#include <linux/sockios.h> /* SIOCOUTQ */
#endif

static long sock_read(void *ctx, void *buf, size_t len)
{
	ssize_t n;
	while ((n = recv((int)(intptr_t)ctx, buf, len, 0)) < 0 && errno == EINTR)
		;
	return n >= 0 ? (long)n : errno == EAGAIN || errno == EWOULDBLOCK ? AD_AGAIN : AD_ERROR;
}

static long sock_write(void *ctx, const void *buf, size_t len)
{
	ssize_t n;
	while ((n = send((int)(intptr_t)ctx, buf, len, MSG_NOSIGNAL)) < 0 && errno == EINTR)
		;
	return n >= 0 ? (long)n : errno == EAGAIN || errno == EWOULDBLOCK ? AD_AGAIN : AD_ERROR;
}

static void sock_shutdown(void *ctx) { shutdown((int)(intptr_t)ctx, SHUT_WR); }

long ad_unsent(int fd)
{
#ifdef SIOCOUTQ
	int n;
	return ioctl(fd, SIOCOUTQ, &n) ? -1 : n; /* TCP: written, not yet acknowledged */
#else
	(void)fd;
	return -1;
#endif
}

static long sock_unsent(void *ctx) { return ad_unsent((int)(intptr_t)ctx); }

/* A socket that moved less than asked is empty / full: short_is_all. */
static const ad_transport_ops sock_ops = { sock_read, sock_write, NULL, sock_shutdown, sock_unsent, 1 };

ad_transport ad_socket(int fd)
{
	ad_transport t = { &sock_ops, (void *)(intptr_t)fd };
	return t;
}
