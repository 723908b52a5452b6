/* client_util.h: what the epoll load clients written against libws's client
 * role share: bench/loadgen.c, bench/fanout.c and
 * test/e2e/adapters/deflate_clients.c. Header only (static inline), for one
 * program each; define _GNU_SOURCE before including it (SOCK_NONBLOCK).
 *
 *   cu_rand       ws_config.rand from xorshift64* over cu_rng: mask keys and
 *                 Sec-WebSocket-Key for a test or benchmark client against
 *                 our own servers, not for a real one (use a CSPRNG);
 *   cu_want       an epoll registration changed only when the wanted events do;
 *   cu_dial       a non-blocking TCP connect (TCP_NODELAY, optional SO_RCVBUF);
 *   cu_connected  whether that connect has completed without an error;
 *   struct cu_out the output not yet written, out[off..len), with
 *                 cu_reserve (room for n more bytes at buf + len) and
 *                 cu_handshake, cu_reply, cu_close (write the opening
 *                 handshake, the answer to a ping or close, our close). */
#ifndef BENCH_CLIENT_UTIL_H
#define BENCH_CLIENT_UTIL_H

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <ws/ws.h>

static uint64_t cu_rng = 0x9e3779b97f4a7c15ull;

static inline int cu_rand(void *ctx, void *buf, size_t len)
{
	uint8_t *p = buf;

	(void)ctx;
	while (len) {
		uint64_t x;
		size_t n = len < 8 ? len : 8;
		cu_rng ^= cu_rng >> 12;
		cu_rng ^= cu_rng << 25;
		cu_rng ^= cu_rng >> 27;
		x = cu_rng * 0x2545f4914f6cdd1dull;
		memcpy(p, &x, n);
		p += n;
		len -= n;
	}
	return 0;
}

/* Registers want for fd (data: ptr) in ep unless *events already says so. */
static inline void cu_want(int ep, int fd, void *ptr, unsigned *events, unsigned want)
{
	if (want != *events) {
		struct epoll_event ev;
		ev.events = want;
		ev.data.ptr = ptr;
		epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
		*events = want;
	}
}

/* A non-blocking socket connecting to sa (rcvbuf: its SO_RCVBUF, 0 leaves
 * it); -1 with errno set if it could not be made or the connect failed. */
static inline int cu_dial(const struct sockaddr_in *sa, int rcvbuf)
{
	int fd, one = 1, err;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (rcvbuf)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
	if (connect(fd, (const struct sockaddr *)sa, sizeof *sa) && errno != EINPROGRESS) {
		err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

/* 0 once the connect of cu_dial() succeeded (the socket is writable); else
 * its error (or errno if that could not be read). */
static inline int cu_connected(int fd)
{
	int err = 0;
	socklen_t len = sizeof err;

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len))
		return errno;
	return err;
}

struct cu_out {
	uint8_t *buf; /* output not yet written: buf[off..len) */
	size_t off, len, cap;
};

/* Room for n more bytes at buf + len: moves what is left to the front, or
 * grows the buffer (by doubling, from 4 KiB). */
static inline int cu_reserve(struct cu_out *o, size_t n)
{
	size_t cap;
	uint8_t *p;

	if (o->cap - o->len >= n)
		return 0;
	if (o->off) {
		memmove(o->buf, o->buf + o->off, o->len - o->off);
		o->len -= o->off;
		o->off = 0;
		if (o->cap - o->len >= n)
			return 0;
	}
	for (cap = o->cap ? o->cap : 4096; cap - o->len < n; cap *= 2)
		;
	if (!(p = realloc(o->buf, cap)))
		return -1;
	o->buf = p;
	o->cap = cap;
	return 0;
}

/* The opening handshake of ws (co: its host and target) into o. */
static inline int cu_handshake(ws_conn *ws, const ws_connect_opts *co, struct cu_out *o)
{
	size_t n;

	if (cu_reserve(o, 1024) || ws_conn_connect(ws, co, o->buf + o->len, o->cap - o->len, &n) != WS_OK)
		return -1;
	o->len += n;
	return 0;
}

/* The answer to a ping or a close (ev) into o. */
static inline int cu_reply(ws_conn *ws, const ws_event *ev, struct cu_out *o)
{
	size_t n;

	if (cu_reserve(o, WS_CONTROL_FRAME_MAX) ||
	    ws_conn_reply(ws, ev, o->buf + o->len, o->cap - o->len, &n) != WS_OK)
		return -1;
	o->len += n;
	return 0;
}

/* Our close frame (code, reason[0..len)) into o. */
static inline int cu_close(ws_conn *ws, unsigned code, const char *reason, size_t len, struct cu_out *o)
{
	size_t n;

	if (cu_reserve(o, WS_CONTROL_FRAME_MAX) ||
	    ws_conn_close(ws, code, reason, len, o->buf + o->len, o->cap - o->len, &n) != WS_OK)
		return -1;
	o->len += n;
	return 0;
}

#endif
