/* adapter: one libws connection over any byte transport, for any event loop.
 * Copy adapter.h and adapter.c into your program.
 *
 * The host loop owns the descriptor and the clock. After any readiness it
 * calls ad_io(); then it asks ad_wants() what to wait for and ad_deadline()
 * when to call ad_io() again even if nothing happens. ad_io() returns 1 once
 * the connection is finished: the loop then calls ad_free() and closes the
 * transport. Everything protocol-shaped (pongs, close replies, close frames
 * for errors, timeouts, backpressure) is done here; the program sees only
 * the events it cares about through ad_opts.on_event.
 *
 * Memory: an idle connection holds only its ad_conn (ws_conn included).
 * Input is read into one buffer shared by every connection of the thread;
 * only bytes that could not be used yet (an incomplete frame header, or
 * input held back by backpressure) are carried in a per-connection buffer,
 * which is freed once empty. The output queue is freed once drained. */
#ifndef ADAPTER_H
#define ADAPTER_H

#include <stddef.h>
#include <stdint.h>
#include <ws/ws.h>

enum { AD_AGAIN = -1, AD_ERROR = -2 }; /* transport results besides byte counts */
enum { AD_READ = 1, AD_WRITE = 2 };    /* what to wait for */
#define AD_RBUF (64 * 1024)             /* largest read; a carry buffer's size */

/* The transport: plain sockets (ad_socket) and TLS sessions (tls.h) alike. */
typedef struct ad_transport {
	/* Bytes moved (> 0), 0 at the end of the stream (read only), AD_AGAIN when
	 * it would block, AD_ERROR when the transport is broken. */
	long (*read)(void *ctx, void *buf, size_t len);
	long (*write)(void *ctx, const void *buf, size_t len);
	/* AD_READ / AD_WRITE the transport itself needs before it can go on (a TLS
	 * handshake or a half-written record), or 0. NULL means always 0. */
	unsigned (*wants)(void *ctx);
	/* Ends our direction once the last byte is out (TCP FIN, TLS close_notify). */
	void (*shutdown)(void *ctx);
	void *ctx;
} ad_transport;

struct ad_conn;

/* Shared by connections; timeouts in ms, 0 for none. */
typedef struct ad_opts {
	/* Every event but WS_EV_NONE. Pongs and close replies are written after
	 * it returns. Nonzero hangs up at once (a local error). */
	int (*on_event)(struct ad_conn *c, ws_event *ev);
	size_t high_water;  /* stop receiving while more output than this is queued */
	int handshake_ms;   /* opening handshake */
	int idle_ms;        /* no complete message from the peer for this long: close 1001 */
	int ping_ms;        /* nothing received for this long: send a ping */
	int pong_ms;        /* then nothing received for this long after it: dead */
	int close_ms;       /* closing handshake, and the peer's FIN after it */
	int write_ms;       /* queued output that makes no progress for this long: dead */
	/* Optional: a head that ws_conn_recv() refused (status is the WS_E_HTTP_*
	 * error, ev as it left it: for WS_E_HTTP_UPGRADE, a well-formed GET that
	 * asks for no upgrade, ev->http.head and .target are set). Return 1 after
	 * queueing an answer of your own (ad_reserve/ad_commit), such as a web
	 * page; 0 to have ws_conn_fail()'s error response sent. */
	int (*on_http_error)(struct ad_conn *c, int status, ws_event *ev);
} ad_opts;

typedef struct ad_conn {
	ws_conn ws;
	ad_transport t;
	const ad_opts *o;
	void *user;
	uint8_t *in, *out;  /* carried input in[0..in_len); output out[off..len) of cap */
	size_t in_len, off, len, cap, budget; /* budget: work left in this ad_io() */
	int64_t start_at, rx_at, msg_at, tx_at, ping_at, close_at;
	int err;            /* the ws_status that failed the connection, or 0 */
	const char *why;    /* why ad_io() finished, for logs */
	unsigned char eof, shut, more, held; /* held: events wait (backpressure or budget) */
} ad_conn;

/* Monotonic milliseconds. */
int64_t ad_now(void);
/* Milliseconds from now until deadline, for poll()/epoll_wait(): never
 * negative, -1 for no deadline (deadline < 0). */
int ad_timeout(int64_t deadline, int64_t now);
/* Returns ws_conn_init()'s status. */
int ad_init(ad_conn *c, const ws_config *cfg, const ad_opts *o, ad_transport t, void *user);
/* Room for n more output bytes (NULL: out of memory); ad_commit() queues the
 * n <= requested bytes written there. */
uint8_t *ad_reserve(ad_conn *c, size_t n);
void ad_commit(ad_conn *c, size_t n);
/* ws_conn_send() / ws_conn_close() into the output queue; ws_status. */
int ad_send(ad_conn *c, unsigned opcode, unsigned flags, const void *data, size_t len);
int ad_close(ad_conn *c, unsigned code, const void *reason, size_t reason_len);
/* Writes, reads, runs events and timers. 0: go on; 1: finished (see c->why). */
int ad_io(ad_conn *c);
unsigned ad_wants(const ad_conn *c);
/* When ad_io() must run again at the latest (ad_now() time), -1 for never. */
int64_t ad_deadline(const ad_conn *c);
size_t ad_pending(const ad_conn *c);
/* Frees the buffers and zlib state; the transport is the caller's. */
void ad_free(ad_conn *c);
/* A transport over a connected non-blocking socket. */
ad_transport ad_socket(int fd);

#endif
