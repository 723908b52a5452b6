/* ad_transport: what the adapter's pump (adapter.h) reads from and writes
 * to, and the plain socket one (ad_socket.c); tls.c has another. */
#ifndef AD_TRANSPORT_H
#define AD_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

/* A socket: a descriptor on POSIX, a SOCKET (an unsigned handle) on Windows;
 * ad_sock.h has the few other differences. */
#ifdef _WIN32
typedef uintptr_t ad_fd;
#else
typedef int ad_fd;
#endif

enum { AD_AGAIN = -1, AD_ERROR = -2 }; /* transport results besides byte counts */
enum { AD_READ = 1, AD_WRITE = 2 };    /* what to wait for */
enum { AD_SETUP = 4 };                  /* ad_transport_ops.wants: its own handshake runs */

/* What a kind of transport does: one table per kind, shared by all its
 * connections (ad_socket()'s; tls.c's for TLS sessions). */
typedef struct ad_transport_ops {
	/* Bytes moved (> 0), 0 at the end of the stream (read only), AD_AGAIN when
	 * it would block, AD_ERROR when the transport is broken. */
	long (*read)(void *ctx, void *buf, size_t len);
	long (*write)(void *ctx, const void *buf, size_t len);
	/* AD_READ / AD_WRITE the transport itself needs before it can go on (a TLS
	 * handshake or a half-written record), or 0; with AD_SETUP while its own
	 * handshake runs (TLS): each read or write then may be a costly step of
	 * it, counted by the wake-up (ad_loop_handshake). NULL means 0. */
	unsigned (*wants)(void *ctx);
	/* Ends our direction once the last byte is out (TCP FIN, TLS close_notify). NULL: nothing. */
	void (*shutdown)(void *ctx);
	/* Bytes written but still below us, not yet taken by the peer (a
	 * socket's send queue), or -1 when it cannot tell. A send queue of
	 * megabytes drains while our own queue is empty: liveness looks here
	 * before it calls a reading peer idle. NULL means -1. */
	long (*unsent)(void *ctx);
	/* 1: a read or write that moved less than asked left the transport
	 * empty / full, so the call after it would only say AD_AGAIN (a plain
	 * socket; TLS hands out a record at a time and may hold more). */
	int short_is_all;
} ad_transport_ops;

/* A transport: its kind, and the state of this one (a socket, a session). */
typedef struct ad_transport {
	const ad_transport_ops *ops;
	void *ctx; /* this one's state: a descriptor, a session */
} ad_transport;

/* A transport over a connected non-blocking socket. */
ad_transport ad_socket(ad_fd fd);
/* The bytes socket fd holds for its peer, written but not yet acknowledged
 * (Linux's SIOCOUTQ), or -1 where that cannot be told: for transports'
 * unsent(). */
long ad_unsent(ad_fd fd);

#endif
