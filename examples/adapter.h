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
 * Input is read into its loop's buffer (ad_loop: one per thread, shared by
 * the connections of that thread); only bytes that could not be used yet (an
 * incomplete frame header, or input held back by backpressure) are carried
 * in a per-connection buffer, which is freed once empty. The output queue is
 * freed once drained.
 *
 * Fairness: each ad_io() reads and queues at most 64 KiB before it yields;
 * each wake-up of the host loop (ad_loop_wake) accepts at most
 * AD_WAKE_ACCEPTS connections, and none once AD_WAKE_HANDSHAKES steps of
 * transports' own handshakes ran (a TLS step costs public-key operations,
 * milliseconds). So a wake-up's handshake work is bounded by what its
 * accepts and the handshakes under way bring, and a flood of ClientHellos
 * delays a connected peer's echo by about that: new connections wait in the
 * listen queue, in order, not in our loop. Bytes are not counted against
 * accepts: under heavy traffic new peers would wait for a quiet moment. */
#ifndef ADAPTER_H
#define ADAPTER_H

#include <stddef.h>
#include <stdint.h>
#include <ws/ws.h>

enum { AD_AGAIN = -1, AD_ERROR = -2 }; /* transport results besides byte counts */
enum { AD_READ = 1, AD_WRITE = 2 };    /* what to wait for */
enum { AD_SETUP = 4 };                  /* ad_transport.wants: its own handshake runs */
#define AD_RBUF (64 * 1024)             /* largest read; a carry buffer's size */
#define AD_WAKE_ACCEPTS 16              /* connections one wake-up may accept */
#define AD_WAKE_HANDSHAKES 4            /* handshake steps after which it accepts no more */

/* The host loop's state that its connections share: one per thread. */
typedef struct ad_loop {
	uint8_t rbuf[AD_RBUF]; /* every read lands here first */
	size_t turn;           /* bytes left in the running ad_io()'s turn */
	unsigned accepts, handshakes; /* left in this wake-up */
	int64_t now;           /* the clock, read once per stretch of ad_io() */
	unsigned char in_io, now_valid;
} ad_loop;

/* What a kind of transport does: one table per kind, shared by all its
 * connections (ad_socket_ops; tls.c's for TLS sessions). */
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
	/* Ends our direction once the last byte is out (TCP FIN, TLS close_notify). */
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
	int idle_ms;        /* nothing moved either way for this long: close 1001 */
	int ping_ms;        /* nothing moved either way for this long: send a ping */
	int pong_ms;        /* then nothing moved for this long after it: dead */
	int close_ms;       /* closing handshake from when our close frame left, and the peer's FIN after it */
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

/* Monotonic milliseconds. */
int64_t ad_now(void);
/* Milliseconds from now until deadline, for poll()/epoll_wait(): never
 * negative, -1 for no deadline (deadline < 0). */
int ad_timeout(int64_t deadline, int64_t now);
void ad_loop_init(ad_loop *l);
/* At each wake-up of the host loop, before its connections run: a fresh
 * allowance of work and accepts. */
void ad_loop_wake(ad_loop *l);
/* Takes one accept from the wake-up's allowance: 1, or 0 when it is spent
 * or the wake-up's work is (leave the rest in the listen queue, first come
 * first served; level-triggered readiness brings the loop back for them
 * after the connected peers had their turn). */
int ad_loop_accept(ad_loop *l);
/* Counts a step of a transport's handshake (done by ad_io(); call it for
 * handshakes you drive yourself, as h2-server does before ALPN). */
void ad_loop_handshake(ad_loop *l);
/* Returns ws_conn_init()'s status. The loop, cfg and o must outlive the
 * connection; to find your own state from an ad_conn in on_event, embed the
 * ad_conn in it. */
int ad_init(ad_conn *c, ad_loop *loop, const ws_config *cfg, const ad_opts *o, ad_transport t);
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
/* The bytes socket fd holds for its peer, written but not yet acknowledged
 * (Linux's SIOCOUTQ), or -1 where that cannot be told: for transports'
 * unsent(). */
long ad_unsent(int fd);

#endif
