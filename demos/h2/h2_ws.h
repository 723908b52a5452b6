/* h2_ws: WebSockets over HTTP/2 (RFC 8441) with nghttp2 and libws, for one
 * HTTP/2 connection over any byte transport (adapter.h's ad_transport: a
 * socket, or tls.h's session after ALPN chose "h2"). Copy h2_ws.h and h2_ws.c.
 *
 * The server sends SETTINGS_ENABLE_CONNECT_PROTOCOL = 1 (RFC 8441 §3); each
 * extended CONNECT (:method CONNECT, :protocol websocket) to the WebSocket
 * path becomes one stream carrying one ws_conn started OPEN
 * (WS_CFG_START_OPEN), which echoes text and binary messages chunk by chunk,
 * answers pings and the close handshake. GET / serves a small page (so that a
 * browser has an HTTP/2 connection to reuse); everything else is refused with
 * the status the RFCs name (see h2_ws.c).
 *
 * Backpressure is HTTP/2 flow control: nghttp2 sends WINDOW_UPDATE only for
 * the bytes libws consumed (nghttp2_session_consume), and a stream whose
 * output queue is above high_water is not fed, so its window closes and the
 * peer must stop sending on it. A stream whose output makes no progress for
 * write_ms (the peer keeps its window shut) is reset, RST_STREAM CANCEL, and
 * its buffers freed at once; a connection whose frames the transport does
 * not take for write_ms is closed. Streams are bounded one by one, so one
 * that stalls holds up no other.
 *
 * Memory per connection is bounded by max_streams x (window of input + the
 * output queue: high_water + the echo of one event, which carries at most
 * window bytes, or the inflate buffer's with permessage-deflate + a close
 * frame), plus: the frame being written (16 KiB); nghttp2's queue of control
 * frames (what one 16 KiB read asks for: no more is read while anything
 * waits for the transport, and nghttp2 ends a session that lets more than
 * 1000 ACKs queue up); a few hundred bytes per stream (2.6 KiB more while
 * its request arrives); with permessage-deflate, each stream's zlib state.
 * With h2-server's numbers (32 streams, window and high_water 64 KiB, a
 * 64 KiB inflate buffer) that is 32 x 192 KiB = 6 MiB of buffers, held for
 * write_ms at most by a peer that reads nothing (test/e2e/h2/run.mjs, "stall",
 * holds the server's RSS to it).
 *
 * The host loop drives it like ad_conn: h2_io() after any readiness (1: done,
 * call h2_free() and close the transport), then h2_wants() and
 * h2_deadline(). */
#ifndef H2_WS_H
#define H2_WS_H

#include "adapter.h"

typedef struct h2_opts {
	const ws_config *ws;            /* per stream: a server config with WS_CFG_START_OPEN;
	                                 * its deflate config, if any, is offered as agreed */
	const char *scheme;             /* the :scheme of our resources: "https" over TLS */
	const char *ws_path;            /* the WebSocket endpoint (":path"), e.g. "/echo" */
	const char *const *protocols;   /* subprotocols in our order of preference, NULL-terminated, or NULL */
	const char *page;               /* served for GET / (text/html) */
	uint32_t max_streams;           /* SETTINGS_MAX_CONCURRENT_STREAMS */
	uint32_t window;                /* SETTINGS_INITIAL_WINDOW_SIZE: input held per stream at most */
	size_t high_water;              /* stop feeding a stream while more output than this is queued */
	int idle_ms;                    /* a WebSocket that moves no byte either way for this long: close
	                                 * 1001; a connection without streams that moves none: GOAWAY */
	int close_ms;                   /* a close (or our END_STREAM) not answered in this long after our
	                                 * close frame left (or the peer ended): RST_STREAM */
	int ping_ms;                    /* no byte moved for this long: PING; then no ACK, and none of
	                                 * our bytes leaving, for as long: dead */
	int write_ms;                   /* queued output that makes no progress for this long: RST_STREAM
	                                 * CANCEL (a stream's), close (the transport's) */
	int no_connect_protocol;        /* tests only: do not send SETTINGS_ENABLE_CONNECT_PROTOCOL */
} h2_opts;

typedef struct h2_conn h2_conn;

/* A server session over t (whose handshake, if any, is done); id names the
 * connection in logs. Queues our SETTINGS. NULL when out of memory. */
h2_conn *h2_new(const h2_opts *o, ad_transport t, int id);
/* Reads, runs the streams, writes. 0: go on; 1: finished. */
int h2_io(h2_conn *h);
unsigned h2_wants(const h2_conn *h);
/* When h2_io() must run again at the latest (ad_now() time), -1 for never. */
int64_t h2_deadline(const h2_conn *h);
/* Graceful shutdown: close 1001 on every WebSocket, GOAWAY; h2_io() returns 1
 * once the streams are done. */
void h2_shutdown(h2_conn *h);
/* Frees the session and its streams (not the transport). */
void h2_free(h2_conn *h);

#endif
