/* The private header of libws/: every file includes it, except the SIMD
 * kernels, which include only simd.h beneath it. */
#ifndef WS_INTERNAL_H
#define WS_INTERNAL_H

#include <string.h>
#include "ws/ws.h"
#include "simd.h" /* the bottom layer: inline helpers, WS_INLINE */

/* A freestanding build (WS_FREESTANDING=1, make mcu) may rely only on the
 * four functions GCC itself emits calls to even with -ffreestanding:
 * memcpy, memmove, memset, memcmp (GCC manual, "C Language" / "Standards").
 * The three other <string.h> functions the core uses go by these names: the
 * C library's when there is one, else the plain loops the standard
 * describes. */
#if defined(WS_FREESTANDING) && WS_FREESTANDING
static inline size_t ws__strlen(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}
static inline char *ws__strchr(const char *s, int ch)
{
	for (;; s++) {
		if (*s == (char)ch)
			return (char *)(uintptr_t)s;
		if (!*s)
			return NULL;
	}
}
static inline void *ws__memchr(const void *s, int ch, size_t n)
{
	const unsigned char *p = s;
	for (size_t i = 0; i < n; i++)
		if (p[i] == (unsigned char)ch)
			return (void *)(uintptr_t)(p + i);
	return NULL;
}
#else
#define ws__strlen strlen
#define ws__strchr strchr
#define ws__memchr memchr
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
	WS__INFLATE = 0x10        /* the current message is compressed */
};

/* Where the receive path is inside the frame stream (ws_conn.u_.f.rx). */
enum {
	WS__RX_HEADER = 0, /* the next bytes are a frame header */
	WS__RX_PAYLOAD,    /* inside a data frame: u_.f.frame_left bytes to go */
	WS__RX_FLUSH       /* a compressed message's bytes are all in; inflated output remains */
};

/* Where the send path is between frames (ws_conn.send_). */
enum {
	WS__TX_IDLE = 0,    /* between messages (0: ws_conn_send() tests send_ as a truth value) */
	WS__TX_FRAGMENTED,  /* inside a fragmented message sent plain */
	WS__TX_COMPRESSED   /* inside a fragmented compressed message */
};

/* The connection's lifecycle, asked in one way everywhere. */

/* The opening handshake is over (or was done elsewhere): frames flow. */
WS_INLINE int ws__handshake_done(const ws_conn *c)
{
	return c->state_ >= WS__OPEN;
}

/* Nothing more may be sent: our close went out, or the transport was
 * given up. Nonzero if so, with no branch, as ws__recv_over(). */
WS_INLINE int ws__send_over(const ws_conn *c)
{
	return c->bits_ & (WS__CLOSE_SENT | WS__DONE);
}

/* Frames of any kind may be written: open, our close not sent, the
 * transport not given up. A sticky error is checked apart, since callers
 * return it rather than WS_E_STATE. */
WS_INLINE int ws__may_send(const ws_conn *c)
{
	return ws__handshake_done(c) && !ws__send_over(c);
}

/* Nothing more may arrive: the peer's close was received, or the
 * transport ended (EOF, failure written, rejection). Nonzero if so, with
 * no branch, so that a fast path may or it with other tests. */
WS_INLINE int ws__recv_over(const ws_conn *c)
{
	return c->bits_ & (WS__CLOSE_RECV | WS__DONE);
}

/* The close handshake is over: close frames went both ways. */
WS_INLINE int ws__close_done(const ws_conn *c)
{
	return (c->bits_ & (WS__CLOSE_SENT | WS__CLOSE_RECV)) == (WS__CLOSE_SENT | WS__CLOSE_RECV);
}

/* Opcodes 8-15 are control frames (RFC 6455 §5.5). */
WS_INLINE int ws__is_control(unsigned op)
{
	return (op & 8) != 0;
}

/* The checks of a frame header that its first two bytes b0, b1 allow and
 * no connection state affects, for ws_frame_header_decode() and the
 * connection alike (RFC 6455 §5.2, §5.5). */

/* Opcodes that exist: 0, 1, 2, 8, 9, 10. */
WS_INLINE int ws__opcode_known(unsigned op)
{
	return 0x0707u >> op & 1;
}

/* A control frame is not fragmented and carries at most 125 bytes. Returns
 * 0 or the error. */
WS_INLINE int ws__control_check(unsigned b0, unsigned b1)
{
	if (WS_UNLIKELY(!(b0 & WS_FIN)))
		return WS_E_CONTROL_FRAGMENTED;
	if (WS_UNLIKELY((b1 & 0x7f) > WS_CONTROL_PAYLOAD_MAX))
		return WS_E_CONTROL_TOO_LONG;
	return 0;
}

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

/* The opening handshake and the HTTP lexer (handshake*.c, http.c,
 * deflate_params.c, sha1_mbedtls.c). */
#include "http_internal.h"

/* permessage-deflate (deflate.c), compiled in when WS_DEFLATE is 1. */
#ifndef WS_DEFLATE
#define WS_DEFLATE 0
#endif
#if !WS_DEFLATE
/* Built without zlib: a constant, so that the compiler drops the handshake's
 * negotiation code and a firmware does not carry it (about 1.2 KB on a
 * Cortex-M3). deflate.c still defines the public function. */
#define ws_deflate_available() 0
#endif
/* The receive transform of permessage-deflate (RFC 7692 §7.2.2), between
 * payload and message; it knows nothing of the connection. Inflates in[0..n)
 * of a compressed message (masked with key when key is not NULL; key is for
 * in[0]) into the inflate buffer: *out, *made bytes, at most room. last: these
 * bytes end the message's payload (then the trailer is appended and the end
 * judged). *used gets the input bytes taken; in[] is never written. Returns 0
 * (more input or more output to come: call again, with n = 0 once the input
 * is all taken), 1 (the message is complete: *made is its last output), or
 * WS_E_INFLATE / WS_E_ALLOC (*made is the output decoded before the fault). */
int ws__inflate(void *ext, const uint8_t *in, size_t n, const uint8_t *key, int last, size_t room,
                size_t *used, uint8_t **out, size_t *made);
/* 1 if the last ws__inflate() filled its output: zlib may owe more for
 * input it already took, which must come out before the receive path waits
 * for input or reads the next header (else events would depend on the
 * split). */
int ws__inflate_owed(const void *ext);
/* 1 if a deflate config has what every connection needs of it. */
WS_INLINE int ws__deflate_config_ok(const ws_deflate_config *d)
{
	return d->alloc.alloc && d->alloc.free && d->inflate_buf && d->inflate_cap >= 1024;
}
/* ws_conn_enable_deflate() without the lifecycle check, for the handshake. */
int ws__deflate_enable(ws_conn *c, const ws_deflate_config *cfg, const ws_deflate_params *p);
/* Server: the first acceptable permessage-deflate offer of one
 * Sec-WebSocket-Extensions value, kept in k for the answer (1), or 0 if it
 * has none; then what cfg agrees to for it (1 with *out set; 0 if k holds
 * no offer). Splitting the two lets the answer choose the configuration. */
int ws__deflate_offer_keep(ws_str offers, uint8_t k[4]);
int ws__deflate_offer_agree(const ws_deflate_config *cfg, const uint8_t k[4], ws_deflate_params *out);
/* 1 if a message (or first fragment) of len bytes with these flags is to be compressed. */
int ws__deflate_wanted(const ws_conn *c, size_t len, unsigned flags);
/* Picks and readies the compressor for a message; returns the most bytes
 * ws__deflate_frame() may write for len bytes, or 0 if zlib memory could not be had. */
size_t ws__deflate_bound(ws_conn *c, size_t len, int whole);
/* Compresses one frame's payload into out[0..cap); *out_len gets its length. */
int ws__deflate_frame(ws_conn *c, const void *data, size_t len, int final, uint8_t *out, size_t cap,
                      size_t *out_len);

#endif
