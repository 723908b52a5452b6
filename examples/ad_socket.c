/* ad_socket: the plain socket transport; see ad_transport.h. */
#define _GNU_SOURCE
#include "ad_sock.h" /* and ad_transport.h */
#include <limits.h>
#ifdef __linux__
#include <sys/ioctl.h>
#include <linux/sockios.h> /* SIOCOUTQ */
#endif

/* Winsock counts in int: a longer buffer goes in pieces (a short write). */
#define CHUNK(len) ((len) > INT_MAX ? INT_MAX : (len))

static long sock_read(void *ctx, void *buf, size_t len)
{
	long n;
	int e = 0;
	while ((n = (long)recv((ad_fd)(intptr_t)ctx, buf, CHUNK(len), 0)) < 0 && (e = ad_sock_errno()) == EINTR)
		;
	return n >= 0 ? n : e == EAGAIN || e == EWOULDBLOCK ? AD_AGAIN : AD_ERROR;
}

static long sock_write(void *ctx, const void *buf, size_t len)
{
	long n;
	int e = 0;
	while ((n = (long)send((ad_fd)(intptr_t)ctx, buf, CHUNK(len), MSG_NOSIGNAL)) < 0 && (e = ad_sock_errno()) == EINTR)
		;
	return n >= 0 ? n : e == EAGAIN || e == EWOULDBLOCK ? AD_AGAIN : AD_ERROR;
}

static void sock_shutdown(void *ctx) { shutdown((ad_fd)(intptr_t)ctx, SHUT_WR); }

long ad_unsent(ad_fd fd)
{
#ifdef SIOCOUTQ
	int n;
	return ioctl(fd, SIOCOUTQ, &n) ? -1 : n; /* TCP: written, not yet acknowledged */
#else
	(void)fd;
	return -1;
#endif
}

static long sock_unsent(void *ctx) { return ad_unsent((ad_fd)(intptr_t)ctx); }

/* A socket that moved less than asked is empty / full: short_is_all. */
static const ad_transport_ops sock_ops = { sock_read, sock_write, NULL, sock_shutdown, sock_unsent, 1 };

ad_transport ad_socket(ad_fd fd)
{
	ad_transport t = { &sock_ops, (void *)(intptr_t)fd };
	return t;
}
