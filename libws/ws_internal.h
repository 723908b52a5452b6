/* The one private header that every file in libws/ includes. */
#ifndef WS_INTERNAL_H
#define WS_INTERNAL_H

#include <string.h>
#include "ws/ws.h"

#if defined(__GNUC__) || defined(__clang__)
#define WS_LIKELY(x) __builtin_expect(!!(x), 1)
#define WS_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define WS_INLINE static inline __attribute__((always_inline))
#else
#define WS_LIKELY(x) (x)
#define WS_UNLIKELY(x) (x)
#define WS_INLINE static inline
#endif

/* ws_conn.state_ */
enum {
	WS__CLIENT_IDLE = 0,   /* client before ws_conn_connect() */
	WS__CLIENT_WAIT,       /* client awaiting the 101 */
	WS__SERVER_WAIT,       /* server awaiting the request */
	WS__SERVER_ANSWER,     /* server returned REQUEST, awaiting accept/reject */
	WS__OPEN               /* framing; everything from here on is OPEN or later */
};

/* ws_conn.bits_ */
enum {
	WS__CLOSE_SENT = 0x01,
	WS__CLOSE_RECV = 0x02,
	WS__BEGIN_PENDING = 0x04, /* a message began but MSG_BEGIN was not reported yet */
	WS__DONE = 0x08,          /* the transport may close (EOF, fail written, rejected) */
	WS__INFLATE = 0x10,       /* the current message is compressed */
	WS__FLUSHING = 0x20       /* a compressed message's input is in; output remains */
};

/* The connection's lifecycle, asked in one way everywhere. */

/* The opening handshake is over (or was done elsewhere): frames flow. */
WS_INLINE int ws__handshake_done(const ws_conn *c)
{
	return c->state_ >= WS__OPEN;
}

/* Frames of any kind may be written: open, our close not sent, the
 * transport not given up. A sticky error is checked apart, since callers
 * return it rather than WS_E_STATE. */
WS_INLINE int ws__may_send(const ws_conn *c)
{
	return ws__handshake_done(c) && !(c->bits_ & (WS__CLOSE_SENT | WS__DONE));
}

/* Nothing more may arrive: the peer's close was received, or the
 * transport ended (EOF, failure written, rejection). */
WS_INLINE int ws__recv_over(const ws_conn *c)
{
	return (c->bits_ & (WS__CLOSE_RECV | WS__DONE)) != 0;
}

/* Opcodes that exist: 0, 1, 2, 8, 9, 10 (RFC 6455 §5.2). */
#define WS__OPCODES_KNOWN 0x0707u

/* Decodes the extended length and mask key of a header at p[0..avail), whose
 * first two bytes were already judged. Returns the header length, 0 if more
 * bytes are needed, or a negative status. */
WS_INLINE int ws__header_rest(const uint8_t *p, size_t avail, unsigned lenient, uint64_t *len)
{
	unsigned b1 = p[1];
	unsigned n = 2 + ((b1 & 0x80) >> 5); /* + 4 for a mask key */
	uint64_t l = b1 & 0x7f;

	if (l < 126) {
		if (avail < n)
			return 0;
	} else if (l == 126) {
		n += 2;
		if (avail < n)
			return 0;
		l = (uint64_t)p[2] << 8 | p[3];
		if (l < 126 && !lenient)
			return WS_E_LENGTH_NOT_MINIMAL; /* RFC 6455 §5.2: "the minimal number of bytes" */
	} else {
		n += 8;
		if (avail < n)
			return 0;
		if (p[2] & 0x80)
			return WS_E_LENGTH_TOP_BIT; /* RFC 6455 §5.2: "the most significant bit MUST be 0" */
		l = 0;
		for (int i = 2; i < 10; i++)
			l = l << 8 | p[i];
		if (l < 65536 && !lenient)
			return WS_E_LENGTH_NOT_MINIMAL;
	}
	*len = l;
	return (int)n;
}

/* Writes a header; out has room for WS_FRAME_HEADER_MAX bytes. */
WS_INLINE size_t ws__header_write(uint8_t *out, unsigned b0, uint64_t len, const uint8_t *mask)
{
	size_t n;
	unsigned m = mask ? 0x80 : 0;

	out[0] = (uint8_t)b0;
	if (len < 126) {
		out[1] = (uint8_t)(m | len);
		n = 2;
	} else if (len < 65536) {
		out[1] = (uint8_t)(m | 126);
		out[2] = (uint8_t)(len >> 8);
		out[3] = (uint8_t)len;
		n = 4;
	} else {
		out[1] = (uint8_t)(m | 127);
		for (int i = 0; i < 8; i++)
			out[2 + i] = (uint8_t)(len >> (56 - 8 * i));
		n = 10;
	}
	if (mask) {
		memcpy(out + n, mask, 4);
		n += 4;
	}
	return n;
}

/* Header length for a payload of len bytes. */
WS_INLINE size_t ws__header_size(uint64_t len, int masked)
{
	return (len < 126 ? 2 : len < 65536 ? 4 : 10) + (masked ? 4 : 0);
}

/* Records err as the connection's sticky error and returns it. */
WS_INLINE int ws__fail(ws_conn *c, int err)
{
	c->error_ = (int16_t)err;
	return err;
}

/* n bytes from the caller's random callback; nonzero on failure. */
WS_INLINE int ws__random(const ws_conn *c, void *buf, size_t n)
{
	return c->cfg_->rand(c->cfg_->rand_ctx, buf, n);
}

/* Writes a close frame (code 0: empty payload) and marks it sent. */
int ws__write_close(ws_conn *c, unsigned code, const void *reason, size_t reason_len,
                    void *out, size_t cap, size_t *out_len);

/* The opening handshake, RFC 6455 §4 (http.c, handshake_server.c,
 * handshake_client.c, sha1_mbedtls.c). */

/* Called by ws_conn_recv() while state_ < WS__OPEN; ev is already cleared. */
int ws__handshake_recv(ws_conn *c, uint8_t *buf, size_t len, size_t *consumed, ws_event *ev);
/* Called by ws_conn_fail() for a connection that failed during the handshake. */
int ws__handshake_fail(ws_conn *c, void *out, size_t cap, size_t *out_len);
/* Judge a complete head (through its CRLFCRLF) and fill in ev. */
int ws__server_head(ws_conn *c, ws_str head, ws_event *ev);
int ws__client_head(ws_conn *c, ws_str head, ws_event *ev);

/* RFC 9110 §5.6.2 token: one or more tchars. */
int ws__is_token(const char *s, size_t n);
/* Non-empty and only visible ASCII (no SP, CTL or obs-text). */
int ws__is_vchars(const char *s);
/* a equals b exactly / ASCII case-insensitively. */
int ws__eq(ws_str a, const char *b);
int ws__ieq(ws_str a, const char *b);
/* The start line of head (without its CRLF); 0 if it has no CRLF. */
int ws__start_line(ws_str head, ws_str *line);
/* RFC 9112 §2.3: HTTP-version "HTTP/" DIGIT "." DIGIT, exactly n = 8 bytes;
 * returns 10 * major + minor, or -1. */
int ws__http_version(const char *p, size_t n);
/* Checks every field line after the start line (RFC 9112 §5) and their count. */
int ws__fields_check(ws_str head, size_t pos, uint32_t max_headers);
/* 1 if s is NULL or well-formed "Name: value\r\n" lines (caller's extra headers). */
int ws__lines_ok(const char *s);

/* Output that counts what it could not write, so one pass both writes and
 * measures: ws__out_end() gives WS_E_BUFFER and the size needed. */
typedef struct ws__out {
	char *p;
	size_t len, cap;
} ws__out;
void ws__put(ws__out *o, const void *s, size_t n);
void ws__puts(ws__out *o, const char *s);
void ws__put_uint(ws__out *o, size_t v);
int ws__out_end(const ws__out *o, size_t *out_len);

/* Sec-WebSocket-Key <-> its 16 bytes. Decoding accepts only the canonical
 * 24-character form; returns 0 on success. */
int ws__key_decode(const char *s, size_t n, uint8_t key[16]);
void ws__key_encode(const uint8_t key[16], char out[25]);

/* permessage-deflate (deflate.c), compiled in when WS_DEFLATE is 1. */
#ifndef WS_DEFLATE
#define WS_DEFLATE 0
#endif
/* Inflates the next piece of a compressed message at buf[*pos..len), advancing
 * *pos. Returns 0 (no event), 1 (an event in *ev), 2 (the message's last
 * event), or an error. */
int ws__inflate_recv(ws_conn *c, uint8_t *buf, size_t len, size_t *pos, ws_event *ev);
/* 1 if a message (or first fragment) of len bytes with these flags is to be compressed. */
int ws__deflate_wanted(const ws_conn *c, size_t len, unsigned flags);
/* Picks and readies the compressor for a message; returns the most bytes
 * ws__deflate_frame() may write for len bytes, or 0 if zlib memory could not be had. */
size_t ws__deflate_bound(ws_conn *c, size_t len, int whole);
/* Compresses one frame's payload into out[0..cap); *out_len gets its length. */
int ws__deflate_frame(ws_conn *c, const void *data, size_t len, int final, uint8_t *out, size_t cap,
                      size_t *out_len);

#endif

/* Unmasking and UTF-8 validation (mask.c, utf8.c, simd_*.c): their own
 * private header, in layers. */
#include "simd.h"
