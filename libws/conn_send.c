#include "ws_internal.h"

/* Checks that a frame may be sent now (RFC 6455 §5.4, §5.5.1). */
WS_INLINE int send_allowed(const ws_conn *c, unsigned opcode, unsigned flags, uint64_t len)
{
	if (c->error_)
		return c->error_;
	if (!ws__may_send(c))
		return WS_E_STATE;
	if (flags & ~(unsigned)(WS_SEND_MORE | WS_SEND_NO_COMPRESS))
		return WS_E_ARG;
	if (len >> 63)
		return WS_E_ARG; /* RFC 6455 §5.2: "the most significant bit MUST be 0" */
	switch (opcode) {
	case WS_OP_TEXT:
	case WS_OP_BINARY:
		return c->send_ != WS__TX_IDLE ? WS_E_STATE : WS_OK;
	case WS_OP_CONTINUATION:
		return c->send_ != WS__TX_IDLE ? WS_OK : WS_E_STATE;
	case WS_OP_PING:
	case WS_OP_PONG:
		return (flags & WS_SEND_MORE) || len > WS_CONTROL_PAYLOAD_MAX ? WS_E_ARG : WS_OK;
	}
	return WS_E_ARG;
}

/* Every public writer returns through here: on an error other than
 * WS_E_BUFFER (which reports the size needed), nothing was written. */
static int written(int rc, size_t *out_len)
{
	if (rc != WS_OK && rc != WS_E_BUFFER)
		*out_len = 0;
	return rc;
}

/* 1 if out[0..cap) has room for a header of hl bytes and more bytes after
 * it; if not, *out_len gets the bytes needed (for WS_E_BUFFER). */
WS_INLINE int has_room(size_t cap, size_t hl, uint64_t more, size_t *out_len)
{
	if (WS_UNLIKELY(cap < hl || cap - hl < more)) {
		*out_len = hl + (size_t)more;
		return 0;
	}
	return 1;
}

/* A client's key for its next frame: fresh and unpredictable for each frame
 * (RFC 6455 §5.3). Nonzero if the random callback failed. */
WS_INLINE int fresh_key(ws_conn *c, int client, uint8_t key[4])
{
	return client && ws__random(c, key, 4);
}

/* Writes a whole frame into out, which has room for it: the header, then
 * the payload copied, or for a client masked into out. client: the role, a
 * constant where the caller knows it. Every frame but a compressed one is
 * written here, ws_conn_send()'s shortcut included. */
WS_INLINE int send_whole(ws_conn *c, int client, unsigned b0, const void *data, size_t len,
                         uint8_t *out, size_t *out_len)
{
	uint8_t key[4];
	size_t hl;

	if (WS_UNLIKELY(fresh_key(c, client, key))) {
		*out_len = 0;
		return WS_E_RAND;
	}
	hl = ws__header_write(out, b0, len, client ? key : NULL);
	*out_len = hl + len;
	if (!len)
		; /* data may be NULL: neither copy may see it */
	else if (client)
		ws__mask(out + hl, data, len, ws__key32(key));
	else
		memcpy(out + hl, data, len); /* last: nothing is kept across it */
	return WS_OK;
}

static int write_frame(ws_conn *c, unsigned b0, const void *data, size_t len, uint8_t *out,
                       size_t cap, size_t *out_len)
{
	int client = c->cfg_->role == WS_ROLE_CLIENT;

	if (!has_room(cap, ws__header_size(len, client), len, out_len))
		return WS_E_BUFFER;
	return send_whole(c, client, b0, data, len, out, out_len);
}

/* After a frame of opcode went out: where the send path now is. */
static void note_sent(ws_conn *c, unsigned opcode, unsigned flags)
{
	if (!ws__is_control(opcode))
		c->send_ = flags & WS_SEND_MORE ? WS__TX_FRAGMENTED : WS__TX_IDLE;
}

static unsigned first_byte(unsigned opcode, unsigned flags)
{
	return (flags & WS_SEND_MORE ? 0 : WS_FIN) | opcode;
}

#if WS_DEFLATE
/* A frame of a compressed message (RFC 7692 §6): RSV1 on the first frame only.
 * Compresses behind the largest header it could need, then writes the real
 * header and moves the payload up to it. Returns 1 if compression is not
 * available for this message (zlib memory), to send it plain instead. */
static int send_compressed(ws_conn *c, unsigned opcode, unsigned flags, const void *data, size_t len,
                           uint8_t *out, size_t cap, size_t *out_len)
{
	int client = c->cfg_->role == WS_ROLE_CLIENT, first = opcode != WS_OP_CONTINUATION;
	int final = !(flags & WS_SEND_MORE);
	size_t bound, hmax, m, hl;
	uint8_t key[4];
	int rc;

	/* zlib counts in 32 bits (uInt, and uLong on LLP64): send such payloads
	 * in pieces. Checked before anything reaches zlib. */
	if (len > (1u << 30))
		return WS_E_ARG;
	bound = ws__deflate_bound(c, len, first && final);
	if (!bound)
		return 1;
	hmax = ws__header_size(bound, client);
	if (!has_room(cap, hmax, bound, out_len))
		return WS_E_BUFFER;
	if (fresh_key(c, client, key))
		return WS_E_RAND;
	rc = ws__deflate_frame(c, data, len, final, out + hmax, bound, &m);
	if (rc != WS_OK)
		return rc;
	hl = ws__header_write(out, first_byte(opcode, flags) | (first ? WS_RSV1 : 0), m,
	                      client ? key : NULL);
	memmove(out + hl, out + hmax, m);
	if (client)
		ws_mask(out + hl, m, key, 0);
	*out_len = hl + m;
	c->send_ = final ? WS__TX_IDLE : WS__TX_COMPRESSED;
	return WS_OK;
}
#endif

/* Everything but the common case. */
WS_NOINLINE static int send_general(ws_conn *c, unsigned opcode, unsigned flags, const void *data,
                                    size_t len, void *out, size_t cap, size_t *out_len)
{
	int rc = send_allowed(c, opcode, flags, len);

	*out_len = 0;
	if (rc != WS_OK)
		return rc;
#if WS_DEFLATE
	if (!ws__is_control(opcode) && c->send_ == WS__TX_COMPRESSED && !c->ext_)
		return WS_E_STATE; /* ws_conn_release() took the compressor mid-message */
	if (!ws__is_control(opcode) &&
	    (c->send_ == WS__TX_COMPRESSED ||
	     (c->send_ == WS__TX_IDLE && ws__deflate_wanted(c, len, flags)))) {
		rc = send_compressed(c, opcode, flags, data, len, out, cap, out_len);
		if (rc <= 0)
			return written(rc, out_len);
	}
#endif
	rc = write_frame(c, first_byte(opcode, flags), data, len, out, cap, out_len);
	if (rc == WS_OK)
		note_sent(c, opcode, flags);
	return written(rc, out_len);
}

int ws_conn_send_header(ws_conn *c, unsigned opcode, unsigned flags, uint64_t len, void *out,
                        size_t cap, size_t *out_len)
{
	int rc = send_allowed(c, opcode, flags, len), client = c->cfg_->role == WS_ROLE_CLIENT;
	uint8_t key[4];

	*out_len = 0;
	if (WS_UNLIKELY(rc != WS_OK))
		return rc;
	/* The caller's bytes cannot join a compressed message; control frames
	 * are never compressed (RFC 7692 §6.1), so they may go between its
	 * fragments as between any others (RFC 6455 §5.4). */
	if (WS_UNLIKELY(c->send_ == WS__TX_COMPRESSED && !ws__is_control(opcode)))
		return WS_E_STATE;
	/* Room for the largest header settles it without sizing this one. */
	if (WS_UNLIKELY(cap < WS_FRAME_HEADER_MAX) &&
	    !has_room(cap, ws__header_size(len, client), 0, out_len))
		return WS_E_BUFFER;
	if (WS_UNLIKELY(fresh_key(c, client, key)))
		return WS_E_RAND;
	/* Each role its own copy of the inline writer, its mask a constant. */
	*out_len = client ? ws__header_write(out, first_byte(opcode, flags), len, key)
	                  : ws__header_write(out, first_byte(opcode, flags), len, NULL);
	note_sent(c, opcode, flags);
	return WS_OK;
}

int ws__write_close(ws_conn *c, unsigned code, const void *reason, size_t reason_len, void *out,
                    size_t cap, size_t *out_len)
{
	uint8_t payload[WS_CONTROL_PAYLOAD_MAX];
	size_t n = 0;
	int rc;

	if (code) {
		payload[0] = (uint8_t)(code >> 8);
		payload[1] = (uint8_t)code;
		if (reason_len)
			memcpy(payload + 2, reason, reason_len);
		n = 2 + reason_len;
	}
	rc = write_frame(c, WS_FIN | WS_OP_CLOSE, payload, n, out, cap, out_len);
	if (rc == WS_OK)
		c->bits_ |= WS__CLOSE_SENT;
	return rc;
}

int ws_conn_close(ws_conn *c, unsigned code, const void *reason, size_t reason_len, void *out,
                  size_t cap, size_t *out_len)
{
	uint32_t st = 0;

	*out_len = 0;
	if (c->error_)
		return c->error_;
	if (!ws__may_send(c))
		return WS_E_STATE;
	if (code ? !ws_close_code_valid(code) || reason_len > WS_CONTROL_PAYLOAD_MAX - 2
	         : reason_len != 0)
		return WS_E_ARG;
	if (ws_utf8_validate(&st, reason, reason_len) != reason_len || st)
		return WS_E_ARG; /* RFC 6455 §5.5.1: the reason is UTF-8 */
	return written(ws__write_close(c, code, reason, reason_len, out, cap, out_len), out_len);
}

int ws_conn_reply(ws_conn *c, const ws_event *ev, void *out, size_t cap, size_t *out_len)
{
	*out_len = 0;
	if (!(ev->flags & WS_EVF_REPLY) || c->error_ || !ws__may_send(c))
		return WS_OK;
	if (ev->type == WS_EV_PING) /* RFC 6455 §5.5.3: same application data */
		return written(write_frame(c, WS_FIN | WS_OP_PONG, ev->data, ev->len, out, cap, out_len),
		               out_len);
	if (ev->type == WS_EV_CLOSE) /* RFC 6455 §5.5.1: echo the status code */
		return written(ws__write_close(c, ev->code == WS_CLOSE_NO_STATUS ? 0 : ev->code, NULL,
		                               0, out, cap, out_len), out_len);
	return WS_OK;
}

int ws_conn_fail(ws_conn *c, void *out, size_t cap, size_t *out_len)
{
	const char *why;
	int rc;

	*out_len = 0;
	if (!c->error_)
		return WS_E_STATE;
	if (!ws__handshake_done(c))
		rc = ws__handshake_fail(c, out, cap, out_len);
	else if (!ws__may_send(c)) /* our close went out, or the transport ended */
		rc = WS_OK;
	else {
		/* RFC 6455 §7.1.7: send the close frame the error calls for. */
		why = ws_status_str(c->error_);
		rc = ws__write_close(c, ws_status_close_code(c->error_), why, ws__strlen(why), out, cap,
		                     out_len);
	}
	if (rc == WS_OK)
		c->bits_ |= WS__DONE;
	return written(rc, out_len);
}

#ifndef __OPTIMIZE_SIZE__
/* send_whole() for a client, out of line for ws_conn_send()'s shortcut: the
 * key is drawn through a call, and the server's copy saves nothing across
 * one (see docs/performance.md). */
WS_NOINLINE static int send_masked(ws_conn *c, unsigned b0, const void *data, size_t len, uint8_t *out,
                                   size_t *out_len)
{
	return send_whole(c, 1, b0, data, len, out, out_len);
}
#endif

/* The shortcut first: a whole text or binary message under 64 KiB, sent
 * plain (no extension agreed), on a connection that may send and has no
 * fragmented message open, into a buffer with room for the largest header
 * it could need. Such a message passes send_allowed() and needs no
 * note_sent(): it goes straight to send_whole(). Larger messages are the
 * copy's time. A build for size takes no shortcut, as ws_conn_recv(). */
int ws_conn_send(ws_conn *c, unsigned opcode, unsigned flags, const void *data, size_t len,
                 void *out, size_t cap, size_t *out_len)
{
#ifndef __OPTIMIZE_SIZE__
	/* ws__may_send(), its bit test or-ed with the others; c->send_ is
	 * nonzero unless WS__TX_IDLE. */
	if (WS_LIKELY(len < 65536 && cap >= len + 8 &&
	              !((opcode - WS_OP_TEXT >= 2) | flags | c->error_ | c->send_ | ws__send_over(c)) &&
	              !c->ext_ && ws__handshake_done(c))) {
		if (c->cfg_->role == WS_ROLE_CLIENT)
			return send_masked(c, WS_FIN | opcode, data, len, out, out_len);
		return send_whole(c, 0, WS_FIN | opcode, data, len, out, out_len);
	}
#endif
	return send_general(c, opcode, flags, data, len, out, cap, out_len);
}
