/* adapter: the byte pump between a libws connection and a transport, and the
 * connection's deadlines, for any event loop; with ad_loop.c (what a thread's
 * connections share), ad_policy.c (what the connection says and when) and a
 * transport (ad_socket.c, tls.c). After any readiness the host loop calls
 * ad_io(), then waits for ad_wants() until ad_deadline(); once ad_io()
 * returns 1 it calls ad_free() and closes the transport. Input is read into
 * the loop's buffer; only what cannot be used yet is carried by the
 * connection, in a buffer freed once empty, as the output queue is once
 * drained: an idle connection holds only its ad_conn. */
#ifndef ADAPTER_H
#define ADAPTER_H

#include "ad_loop.h"
#include "ad_transport.h"
#include <ws/ws.h>

struct ad_conn;

/* Shared by connections; timeouts in ms, 0 for none. */
typedef struct ad_opts {
	/* Every event but WS_EV_NONE; pongs and close replies are written after
	 * it returns. Nonzero hangs up at once (a local error). */
	int (*on_event)(struct ad_conn *c, ws_event *ev);
	size_t high_water;  /* stop receiving while more output than this is queued */
	int handshake_ms;   /* opening handshake */
	int idle_ms;        /* nothing moved either way for this long: close 1001 */
	int ping_ms;        /* nothing moved either way for this long: send a ping */
	int pong_ms;        /* then nothing moved for this long after it: dead */
	int close_ms;       /* closing handshake from when our close frame left, and the peer's FIN after it */
	int write_ms;       /* queued output that makes no progress for this long: dead */
	/* Optional: answers a head that ws_conn_recv() refused (ad_policy.h). */
	int (*on_http_error)(struct ad_conn *c, int status, ws_event *ev);
} ad_opts;

typedef struct ad_conn {
	ws_conn ws;
	ad_transport t;
	const ad_opts *o;
	ad_loop *loop;
	uint8_t *in, *out;  /* carried input in[0..in_len); output out[off..len) of cap */
	size_t off, len, cap;
	/* act_at: bytes moved either way; close_at: our close frame left (or the
	 * peer ended), 0 before */
	int64_t start_at, act_at, tx_at, ping_at, close_at;
	uint32_t in_len;    /* at most AD_RBUF: beside err, 8 bytes for both */
	int err;            /* the ws_status that failed the connection, or 0 */
	const char *why;    /* why ad_io() finished, for logs */
	uint32_t unsent;    /* the transport's unsent bytes when liveness last looked */
	unsigned char eof, shut, more, held; /* held: events wait (backpressure or budget) */
	unsigned char closing; /* our close frame is queued: the last of the output */
} ad_conn;

/* A connection's deadlines, in the order that breaks ties. */
enum { AD_D_NONE, AD_D_HANDSHAKE, AD_D_CLOSE, AD_D_WRITE, AD_D_IDLE, AD_D_PONG, AD_D_PING };

/* Returns ws_conn_init()'s status. The loop, cfg and o must outlive the
 * connection; to find your own state from an ad_conn, embed it in that. */
int ad_init(ad_conn *c, ad_loop *loop, const ws_config *cfg, const ad_opts *o, ad_transport t);
/* Room for n more output bytes (NULL: out of memory); ad_commit() queues the
 * n <= requested bytes written there. */
uint8_t *ad_reserve(ad_conn *c, size_t n);
void ad_commit(ad_conn *c, size_t n);
size_t ad_pending(const ad_conn *c);
/* Writes, reads, runs events and deadlines. 0: go on; 1: finished (c->why). */
int ad_io(ad_conn *c);
unsigned ad_wants(const ad_conn *c);
/* When ad_io() must run again at the latest (ad_now() time), -1 for never. */
int64_t ad_deadline(const ad_conn *c);
/* Frees the buffers and zlib state; the transport is the caller's. */
void ad_free(ad_conn *c);

#endif
