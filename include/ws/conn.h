/* A WebSocket connection as a sans-I/O state machine.
 *
 * The caller owns every byte of memory: the ws_conn, the receive buffer and the
 * output buffers. ws_conn_recv() consumes bytes and returns at most one event;
 * bytes it did not consume (a partial frame header, an incomplete control
 * frame, an incomplete HTTP head) must be presented again with more appended.
 * Output functions write complete frames into a buffer the caller sends; one
 * that fails writes nothing into it and changes nothing, and sets *out_len to
 * the size needed on WS_E_BUFFER, to 0 on any other error.
 *
 *     for (;;) {
 *         have += read(fd, buf + have, sizeof buf - have);
 *         size_t off = 0, used;
 *         ws_event ev;
 *         do {
 *             int rc = ws_conn_recv(&c, buf + off, have - off, &used, &ev);
 *             off += used;
 *             if (rc < 0) { ws_conn_fail(&c, out, sizeof out, &n); send; close; }
 *             handle(&ev);              // spans in ev point into buf
 *         } while (ev.type != WS_EV_NONE);
 *         memmove(buf, buf + off, have - off);
 *         have -= off;
 *     }
 */
#ifndef WS_CONN_H
#define WS_CONN_H

#include <stddef.h>
#include <stdint.h>
#include "frame.h"

enum { WS_ROLE_SERVER = 0, WS_ROLE_CLIENT = 1 };

/* ws_config.flags */
enum {
	/* The connection starts OPEN: the handshake was done elsewhere (another
	 * HTTP stack, HTTP/2 extended CONNECT per RFC 8441, HTTP/3 per RFC 9220). */
	WS_CFG_START_OPEN = 0x1,
	/* Accept non-minimal payload length encodings. SECURITY: see
	 * WS_DECODE_LENIENT_LENGTH in frame.h. */
	WS_CFG_LENIENT_LENGTH = 0x2,
	/* Do not validate UTF-8 in text messages and close reasons. SECURITY: the
	 * application then receives whatever bytes the peer sent as "text" and
	 * must not pass them on to anything that trusts them to be UTF-8. */
	WS_CFG_NO_UTF8_CHECK = 0x4
};

/* Default limits set by ws_config_init(). */
#define WS_DEFAULT_MAX_MESSAGE (16u * 1024 * 1024)
#define WS_DEFAULT_MAX_FRAME (16u * 1024 * 1024)
#define WS_DEFAULT_MAX_FRAGMENTS 65536u
#define WS_DEFAULT_MAX_HEAD 8192u
#define WS_DEFAULT_MAX_HEADERS 64u

/* Fills *buf with len random bytes; returns 0 on success, nonzero on failure.
 * Called for each client frame's mask key (4 bytes) and for the client's
 * Sec-WebSocket-Key (16 bytes). Use a CSPRNG (RFC 6455 §5.3, §10.3). */
typedef int (*ws_rand_fn)(void *ctx, void *buf, size_t len);

/* Shared by pointer among any number of connections; must outlive them and not
 * change while they use it. Set with ws_config_init(), then adjust. */
typedef struct ws_config {
	int role;               /* WS_ROLE_SERVER or WS_ROLE_CLIENT */
	unsigned flags;         /* WS_CFG_* */
	uint64_t max_message;   /* largest message the application receives, after inflating (1009 beyond) */
	uint64_t max_frame;     /* largest single frame payload accepted (1009 beyond) */
	uint32_t max_fragments; /* most frames in one message (1009 beyond); >= 1 */
	uint32_t max_head;      /* largest HTTP handshake head in bytes (431 beyond) */
	uint32_t max_headers;   /* most header fields in a handshake head (431 beyond) */
	ws_rand_fn rand;        /* required for clients; unused by servers */
	void *rand_ctx;
	/* permessage-deflate settings (see deflate.h), or NULL to never use it. */
	const struct ws_deflate_config *deflate;
} ws_config;

/* Events returned by ws_conn_recv(). */
enum {
	WS_EV_NONE = 0,   /* no event: everything presented that can be used was consumed */
	WS_EV_TEXT,       /* a chunk of a text message (valid UTF-8 so far) */
	WS_EV_BINARY,     /* a chunk of a binary message */
	WS_EV_PING,       /* a ping; WS_EVF_REPLY means ws_conn_reply() should send the pong */
	WS_EV_PONG,       /* a pong */
	WS_EV_CLOSE,      /* the peer's close frame, or the transport's end (code 1006) */
	WS_EV_REQUEST,    /* server: a valid upgrade request; answer with ws_conn_accept/reject */
	WS_EV_OPEN,       /* client: the server accepted; frames follow */
	WS_EV_REJECTED    /* client: the server answered with a status other than 101 */
};

/* ws_event.flags */
enum {
	WS_EVF_MSG_BEGIN = 0x1, /* first chunk of a message */
	WS_EVF_MSG_END = 0x2,   /* last chunk of a message */
	WS_EVF_REPLY = 0x4,     /* PING/CLOSE: pass the event to ws_conn_reply() */
	WS_EVF_COMPRESSED = 0x8 /* the message arrived compressed (permessage-deflate) */
};

/* A span of bytes in the caller's buffer; not NUL-terminated. */
typedef struct ws_str {
	const char *ptr;
	size_t len;
} ws_str;

/* Handshake details of REQUEST, OPEN and REJECTED events. Spans point into the
 * head, which lies in the bytes ws_conn_recv() just consumed. */
typedef struct ws_http {
	ws_str head;     /* the whole head through its final CRLFCRLF; see ws_header_next() */
	ws_str target;   /* REQUEST: request-target, e.g. "/chat?room=1" */
	ws_str host;     /* REQUEST: Host */
	ws_str origin;   /* REQUEST: Origin; empty if absent */
	ws_str key;      /* REQUEST: Sec-WebSocket-Key */
	ws_str protocol; /* OPEN: the subprotocol the server chose; empty if none */
	unsigned status; /* OPEN, REJECTED: the HTTP status code */
} ws_http;

typedef struct ws_event {
	int type;       /* WS_EV_* */
	unsigned flags; /* WS_EVF_* */
	/* TEXT/BINARY: this chunk of payload (may be empty on MSG_BEGIN or MSG_END);
	 * PING/PONG: the whole payload; CLOSE: the reason (valid UTF-8).
	 * Unmasked in place in the caller's buffer (or, for compressed messages, in
	 * the inflate buffer); valid until the caller reuses those bytes. */
	uint8_t *data;
	size_t len;
	unsigned code;  /* CLOSE: close code, 1005 if the frame had none, 1006 at transport end */
	/* REQUEST, OPEN, REJECTED. Also when ws_conn_recv() fails a server's
	 * handshake with an HTTP error once the whole head has arrived: head,
	 * and target when the request line has a well-formed one (else empty),
	 * so that a server may answer a plain HTTP request itself (a page on
	 * the same port; then it writes its own response, not ws_conn_fail's).
	 * Not set for other events. */
	ws_http http;
} ws_event;

/* Connection state as ws_conn_state() reports it. */
enum {
	WS_STATE_HANDSHAKE = 0, /* opening handshake in progress */
	WS_STATE_OPEN,          /* frames flow both ways */
	WS_STATE_CLOSE_SENT,    /* we sent a close frame and await the peer's */
	WS_STATE_CLOSE_RECEIVED,/* the peer sent a close frame; we have not answered yet */
	WS_STATE_CLOSED,        /* close frames went both ways, or the transport ended */
	WS_STATE_FAILED         /* a sticky error; see ws_conn_error() */
};

/* ws_conn_send() flags */
enum {
	WS_SEND_MORE = 0x1,       /* not the final fragment: more of this message follows */
	WS_SEND_NO_COMPRESS = 0x2 /* first fragment or whole message: send it uncompressed */
};

/* Output bytes that always suffice to send a frame with len payload bytes;
 * the second also covers compression (permessage-deflate may expand
 * incompressible data slightly). */
#define WS_SEND_SIZE(len) ((size_t)(len) + WS_FRAME_HEADER_MAX)
#define WS_SEND_SIZE_COMPRESSED(len) ((size_t)(len) + (size_t)(len) / 8 + (size_t)(len) / 64 + 64)

/* The connection. Allocate it anywhere (static, stack, arrays); the fields are
 * private and public only so that sizeof works. At most 64 bytes, and 48 on
 * 32-bit targets: the fields only framing needs share memory with those only
 * the handshake needs, and the pointers come first so no padding is wasted. */
typedef struct ws_conn {
	const ws_config *cfg_;
	void *ext_;         /* extension state (permessage-deflate) */
	union {
		struct {
			uint64_t frame_left; /* payload bytes of the current frame not yet consumed */
			uint64_t msg_len;    /* bytes of the current message delivered so far */
			uint32_t utf8;       /* UTF-8 validator state */
			uint32_t fragments;  /* frames of the current message */
			uint8_t mask[4];     /* mask key of the current frame */
			uint8_t rx;          /* where the frame stream is: header, payload, flush */
			uint8_t frame;       /* FIN bit (0x80) of the current data frame */
			uint8_t msg;         /* opcode of the message in progress; 0 if none */
		} f;
		struct {
			uint8_t key[16];     /* client: Sec-WebSocket-Key nonce; server: decoded key */
			const void *opts;    /* client: the connect options, to validate the answer */
			uint32_t scanned;    /* bytes of the head already searched for CRLFCRLF */
			uint8_t deflate[4];  /* server: agreed permessage-deflate parameters */
		} h;
	} u_;
	uint8_t state_;     /* internal state */
	uint8_t bits_;      /* internal flags */
	int16_t error_;     /* sticky error, 0 if none */
	uint8_t send_;      /* outgoing: nonzero inside a fragmented message */
	uint8_t rsv_;       /* RSV bits the peer may set (negotiated extensions) */
} ws_conn;

#ifdef __cplusplus
extern "C" {
#endif

/* Sets *cfg to the defaults for role: the WS_DEFAULT_* limits, no flags, no rand. */
WS_API void ws_config_init(ws_config *cfg, int role);

/* Initialises c to use cfg (which must outlive it). Pass sizeof(ws_conn) as
 * size. A server starts awaiting the request; a client must call
 * ws_conn_connect() first; with WS_CFG_START_OPEN both start OPEN. A
 * connection that may use permessage-deflate holds memory from its allocator
 * until ws_conn_release().
 * Returns:
 *   WS_OK;
 *   WS_E_ABI if size differs from the library's sizeof(ws_conn);
 *   WS_E_ARG if cfg is invalid: an unknown role, a client without rand,
 *     max_fragments of 0, a deflate config without allocator or with an
 *     inflate buffer under 1024 bytes.
 * Sticky: no; after an error c is untouched. */
WS_API int ws_conn_init(ws_conn *c, size_t size, const ws_config *cfg);

/* Frees the memory a connection took from the deflate allocator (its
 * permessage-deflate state). Call it once the connection is finished; safe on
 * any connection, and more than once. Afterwards the extension is off: a
 * frame with RSV1, or the rest of a compressed message, sent or received,
 * fails (WS_E_RSV on receipt, WS_E_STATE on sending). ws_conn_enable_deflate()
 * is in deflate.h. */
WS_API void ws_conn_release(ws_conn *c);

/* Consumes bytes from buf[0..len) and returns at most one event in *ev.
 * *consumed is set to the bytes used, which may be fewer than len even with
 * no event: the rest (an incomplete header, control frame or HTTP head) must be
 * presented again with more bytes appended. Payload bytes are unmasked in
 * place in buf, only within the consumed range, never twice; nothing outside
 * buf[0..*consumed) is written. When a text chunk is followed by invalid
 * UTF-8, the valid prefix is returned first as an event and the error on the
 * next call. With an error, *ev is WS_EV_NONE with no flags, data, len or
 * code (a failed server handshake may still describe its head in ev->http).
 * Returns:
 *   WS_OK: *ev holds an event, or WS_EV_NONE when nothing more can be done
 *     with these bytes (also while a server awaits ws_conn_accept/reject,
 *     and after the transport ended or the connection was rejected);
 *   an error from the wire (every ws_status <= -100, see status.h); call
 *     ws_conn_fail();
 *   WS_E_ALLOC if zlib's inflate state (permessage-deflate) cannot be had
 *     (close code 1011);
 *   WS_E_STATE for a client that has not called ws_conn_connect(): nothing
 *     consumed, nothing changed.
 * Sticky: the errors from the wire and WS_E_ALLOC (every later call returns
 * them again); WS_E_STATE is not. */
WS_API int ws_conn_recv(ws_conn *c, void *buf, size_t len, size_t *consumed, ws_event *ev);

/* Tells the connection that the transport ended (read returned 0). Sets *ev to
 * a CLOSE event with code 1006 if no close frame had been received, else to
 * WS_EV_NONE, and moves to WS_STATE_CLOSED (unless FAILED).
 * Returns:
 *   WS_OK, always. */
WS_API int ws_conn_recv_eof(ws_conn *c, ws_event *ev);

/* Writes one frame into out[0..cap): opcode is WS_OP_TEXT or WS_OP_BINARY to
 * begin a message, WS_OP_CONTINUATION to continue one begun with WS_SEND_MORE,
 * or WS_OP_PING / WS_OP_PONG (len <= 125, no WS_SEND_MORE; allowed between the
 * fragments of a message, compressed or not). A client masks with a fresh key
 * into out; data is never modified. The caller is responsible for text being
 * valid UTF-8.
 * With permessage-deflate agreed, messages of at least the configured
 * threshold, and all fragmented ones, are compressed unless the first call has
 * WS_SEND_NO_COMPRESS; a first fragment or whole message over 1 GiB, or one
 * for which zlib's memory cannot be had, is sent uncompressed instead.
 * *out_len gets the bytes written; on WS_E_BUFFER the bytes needed (at most
 * WS_SEND_SIZE(len), or WS_SEND_SIZE_COMPRESSED(len) when compressing); on
 * any other error 0. After an error nothing was written and nothing changed.
 * Returns:
 *   WS_OK;
 *   WS_E_BUFFER if cap is too small;
 *   WS_E_ARG for a bad opcode or flags, a control payload over 125 bytes, or
 *     a continuation of a compressed message over 1 GiB (send such payloads
 *     in pieces);
 *   WS_E_STATE for a continuation without a message, a new message inside
 *     one, a connection not OPEN or whose close was sent, or the
 *     continuation of a compressed message after ws_conn_release();
 *   WS_E_RAND if the rand callback failed (client);
 *   the connection's sticky error, if it has failed.
 * Sticky: no; only a failed connection's own error is returned again. */
WS_API int ws_conn_send(ws_conn *c, unsigned opcode, unsigned flags, const void *data, size_t len,
                        void *out, size_t cap, size_t *out_len);

/* Like ws_conn_send() but writes only the header (at most WS_FRAME_HEADER_MAX
 * bytes) of a frame whose len payload bytes the caller sends itself, e.g. with
 * writev and no copy. A client's header ends with the 4-byte mask key: the
 * caller must mask the payload with ws_mask(payload, len, key, 0), where key
 * is the last 4 bytes written. Never compresses. *out_len as for
 * ws_conn_send().
 * Returns:
 *   WS_OK;
 *   WS_E_BUFFER if cap is too small;
 *   WS_E_ARG as for ws_conn_send(), and for len >= 2^63 (RFC 6455 §5.2);
 *   WS_E_STATE as for ws_conn_send(), and for a data frame inside a
 *     compressed fragmented message (PING and PONG are allowed there);
 *   WS_E_RAND if the rand callback failed (client);
 *   the connection's sticky error, if it has failed.
 * Sticky: no; only a failed connection's own error is returned again. */
WS_API int ws_conn_send_header(ws_conn *c, unsigned opcode, unsigned flags, uint64_t len,
                               void *out, size_t cap, size_t *out_len);

/* Writes the reply an event with WS_EVF_REPLY calls for: the pong for a PING
 * (its payload still in the caller's buffer), or the echo of a CLOSE (same
 * code; state becomes CLOSED). For other events, or when no reply is due any
 * more (our close sent, the connection failed), writes nothing and returns
 * WS_OK with *out_len = 0. Needs at most WS_CONTROL_FRAME_MAX bytes.
 * Returns:
 *   WS_OK;
 *   WS_E_BUFFER if cap is too small (*out_len = the bytes needed);
 *   WS_E_RAND if the rand callback failed (client; *out_len = 0).
 * Sticky: no; an error changes nothing. */
WS_API int ws_conn_reply(ws_conn *c, const ws_event *ev, void *out, size_t cap, size_t *out_len);

/* Starts (or answers) the close handshake with code and a reason of
 * reason_len bytes (UTF-8, at most 123 bytes). code 0 sends a close frame with
 * no payload (reason must then be empty). On every error but WS_E_BUFFER,
 * *out_len = 0.
 * Returns:
 *   WS_OK;
 *   WS_E_BUFFER if cap is too small (*out_len = the bytes needed);
 *   WS_E_ARG for a code that may not be sent (see ws_close_code_valid) or a
 *     reason that is too long or not UTF-8;
 *   WS_E_STATE if not OPEN or our close was already sent;
 *   WS_E_RAND if the rand callback failed (client);
 *   the connection's sticky error, if it has failed (use ws_conn_fail()).
 * Sticky: no; only a failed connection's own error is returned again. */
WS_API int ws_conn_close(ws_conn *c, unsigned code, const void *reason, size_t reason_len,
                         void *out, size_t cap, size_t *out_len);

/* After ws_conn_recv() returned an error: writes what that error calls for,
 * the close frame with its close code and description (RFC 6455 §7.1.7) or,
 * during a server handshake, the HTTP error response (400, 426, 431). Writes
 * nothing (WS_OK, *out_len = 0) if a close frame or the HTTP response was
 * already written, or the error has no reply (client handshake errors: just
 * close the transport). Afterwards ws_conn_should_close_transport() is true.
 * On every error nothing was written and nothing changed, so the call may be
 * repeated; on every error but WS_E_BUFFER, *out_len = 0.
 * Returns:
 *   WS_OK;
 *   WS_E_BUFFER if cap is too small (*out_len = the bytes needed: at most
 *     WS_CONTROL_FRAME_MAX for a close frame, 256 for an HTTP response);
 *   WS_E_STATE if the connection has not failed;
 *   WS_E_RAND if the rand callback failed (client).
 * Sticky: no; an error changes nothing. */
WS_API int ws_conn_fail(ws_conn *c, void *out, size_t cap, size_t *out_len);

/* Returns:
 *   the connection's WS_STATE_*. */
WS_API int ws_conn_state(const ws_conn *c);

/* Returns:
 *   the connection's sticky error, or WS_OK if it has not failed. */
WS_API int ws_conn_error(const ws_conn *c);

/* A client should still give the server a moment to close the TCP connection
 * first (RFC 6455 §7.1.1).
 * Returns:
 *   1 when the transport may be closed: close frames went both ways, the
 *     transport ended, or the connection failed and its close frame (or HTTP
 *     error) was written;
 *   0 otherwise. */
WS_API int ws_conn_should_close_transport(const ws_conn *c);

/* Optional helper that joins a message's chunks into a caller buffer, for
 * applications that want whole messages (streaming needs no memory; this
 * needs the largest message's size). The fields are read-only for the caller. */
typedef struct ws_assembler {
	uint8_t *buf;   /* the caller's buffer */
	size_t cap;     /* its size: the largest message accepted */
	size_t len;     /* bytes of the message so far */
	int type;       /* WS_EV_TEXT or WS_EV_BINARY of the message; 0 before the first */
	int refused;    /* 1 while the rest of a message too big is being refused */
} ws_assembler;

/* Sets up a to fill buf[0..cap). */
WS_API void ws_assembler_init(ws_assembler *a, void *buf, size_t cap);

/* Adds a TEXT or BINARY event's chunk; other events are ignored. A message
 * once refused stays refused to its end: every further chunk of it, the one
 * with WS_EVF_MSG_END included, returns WS_E_MESSAGE_TOO_BIG (never 1), and
 * a->len is 0; the next message (WS_EVF_MSG_BEGIN) is assembled normally. So
 * the caller may skip such messages, or close the connection with
 * ws_conn_close(c, 1009, ...) at the first refusal.
 * Returns:
 *   1 when the message is complete (a->buf[0..a->len), type a->type; the
 *     next call starts a new message);
 *   0 while it is not, and for other events;
 *   WS_E_MESSAGE_TOO_BIG when the message does not fit in cap.
 * Sticky: for the rest of that message only. */
WS_API int ws_assembler_add(ws_assembler *a, const ws_event *ev);

/* Callback shim over ws_conn_recv(): calls on_event for each event until the
 * bytes run out, on_event returns nonzero, or ws_conn_recv() fails. *consumed
 * is set as by ws_conn_recv().
 * Returns:
 *   WS_OK when the bytes ran out;
 *   what on_event returned, if nonzero;
 *   ws_conn_recv()'s error.
 * Sticky: as for ws_conn_recv(). */
WS_API int ws_conn_dispatch(ws_conn *c, void *buf, size_t len, size_t *consumed,
                            int (*on_event)(void *ud, ws_conn *c, ws_event *ev), void *ud);

#ifdef __cplusplus
}
#endif
#endif
