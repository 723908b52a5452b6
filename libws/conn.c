#include "ws_internal.h"

void ws_config_init(ws_config *cfg, int role)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->role = role;
	cfg->max_message = WS_DEFAULT_MAX_MESSAGE;
	cfg->max_frame = WS_DEFAULT_MAX_FRAME;
	cfg->max_fragments = WS_DEFAULT_MAX_FRAGMENTS;
	cfg->max_head = WS_DEFAULT_MAX_HEAD;
	cfg->max_headers = WS_DEFAULT_MAX_HEADERS;
}

int ws_conn_init(ws_conn *c, size_t size, const ws_config *cfg)
{
	if (size != sizeof(ws_conn))
		return WS_E_ABI;
	if (!c || !cfg || (cfg->role != WS_ROLE_SERVER && cfg->role != WS_ROLE_CLIENT) ||
	    (cfg->role == WS_ROLE_CLIENT && !cfg->rand) || cfg->max_fragments == 0)
		return WS_E_ARG;
	if (cfg->deflate && !ws__deflate_config_ok(cfg->deflate))
		return WS_E_ARG;
	memset(c, 0, sizeof *c);
	c->cfg_ = cfg;
	if (cfg->flags & WS_CFG_START_OPEN)
		c->state_ = WS__OPEN;
	else
		c->state_ = cfg->role == WS_ROLE_SERVER ? WS__SERVER_WAIT : WS__CLIENT_IDLE;
	return WS_OK;
}

/* No event: *ev as ws_conn_recv() leaves it with WS_EV_NONE and with every
 * error (conn.h), whichever path got there. */
WS_INLINE void ev_none(ws_event *ev)
{
	ev->type = WS_EV_NONE;
	ev->flags = 0;
	ev->data = NULL;
	ev->len = 0;
	ev->code = 0;
}

/* A complete control frame: header of hl bytes, then len payload bytes at p + hl.
 * RFC 6455 §5.5. The event is written only once the frame is judged good. */
static int recv_control(ws_conn *c, uint8_t *p, size_t hl, size_t len, unsigned op, ws_event *ev)
{
	uint8_t *d = p + hl;
	unsigned code = 0;

	if (c->cfg_->role == WS_ROLE_SERVER)
		ws_mask(d, len, p + hl - 4, 0);
	if (op == WS_OP_CLOSE) { /* RFC 6455 §5.5.1 and §7.1.5 */
		uint32_t st = 0;
		if (len == 1)
			return ws__fail(c, WS_E_CLOSE_LENGTH);
		code = WS_CLOSE_NO_STATUS;
		if (len >= 2) {
			code = (unsigned)d[0] << 8 | d[1];
			d += 2;
			len -= 2;
			if (!ws_close_code_valid(code))
				return ws__fail(c, WS_E_CLOSE_CODE);
			if (!(c->cfg_->flags & WS_CFG_NO_UTF8_CHECK) &&
			    (ws_utf8_validate(&st, d, len) != len || st != 0))
				return ws__fail(c, WS_E_CLOSE_UTF8);
		}
		c->bits_ |= WS__CLOSE_RECV;
	}
	ev->type = op == WS_OP_PING ? WS_EV_PING : op == WS_OP_PONG ? WS_EV_PONG : WS_EV_CLOSE;
	ev->data = d;
	ev->len = len;
	ev->code = code;
	/* RFC 6455 §5.5.2, §5.5.1: a pong or a close echo is due, unless our
	 * close went out. */
	if (op != WS_OP_PONG && !(c->bits_ & WS__CLOSE_SENT))
		ev->flags = WS_EVF_REPLY;
	return WS_OK;
}

/* Judges a frame header at p[0..avail). Returns the header length (the
 * payload length in *plen), 0 if more bytes are needed, or an error. Every
 * check the first two bytes allow comes before waiting for more. */
WS_INLINE int parse_header(ws_conn *c, const uint8_t *p, size_t avail, uint64_t *plen)
{
	const ws_config *cfg = c->cfg_;
	unsigned b0 = p[0], b1 = p[1], op = b0 & 0x0f;
	int n;

	if (WS_UNLIKELY(b0 & 0x70)) {
		/* RFC 6455 §5.2; RFC 7692 §6.1: RSV1 only on a message's first frame */
		if ((b0 & 0x70 & ~c->rsv_) || op == WS_OP_CONTINUATION || ws__is_control(op))
			return WS_E_RSV;
	}
	if (WS_UNLIKELY(!ws__opcode_known(op)))
		return WS_E_OPCODE;
	if (WS_UNLIKELY((b1 >> 7) != (cfg->role == WS_ROLE_SERVER))) /* RFC 6455 §5.1 */
		return cfg->role == WS_ROLE_SERVER ? WS_E_MASK_REQUIRED : WS_E_MASK_UNEXPECTED;
	if (ws__is_control(op)) {
		if ((n = ws__control_check(b0, b1)) != 0)
			return n;
	} else if (op == WS_OP_CONTINUATION) { /* RFC 6455 §5.4 */
		if (WS_UNLIKELY(!c->u_.f.msg))
			return WS_E_UNEXPECTED_CONTINUATION;
	} else if (WS_UNLIKELY(c->u_.f.msg)) {
		return WS_E_EXPECTED_CONTINUATION;
	}
	n = ws__header_rest(p, avail, cfg->flags & WS_CFG_LENIENT_LENGTH, plen);
	if (n <= 0 || ws__is_control(op))
		return n;
	if (WS_UNLIKELY(*plen > cfg->max_frame))
		return WS_E_FRAME_TOO_BIG;
	/* A plain message's size is known from its headers, so it fails here,
	 * before its bytes come. A compressed one is limited by what it inflates
	 * to, in deliver(): its size on the wire is not what the limit is for. */
	if (WS_UNLIKELY(*plen > cfg->max_message - c->u_.f.msg_len) &&
	    !((b0 & WS_RSV1) || (c->bits_ & WS__INFLATE && !op)))
		return WS_E_MESSAGE_TOO_BIG;
	if (WS_UNLIKELY(c->u_.f.fragments >= cfg->max_fragments))
		return WS_E_TOO_MANY_FRAGMENTS;
	return n;
}

/* A chunk of a message on its way to the application: d[0..n), still
 * masked with key (the key for d[0]) while masked is set; end: the
 * message's last byte is in it; err: a fault found right after these
 * bytes, or 0. */
typedef struct chunk {
	uint8_t *d;
	size_t n;
	uint32_t key;
	int masked;
	int end;
	int err;
} chunk;

/* What every chunk of a message of opcode op goes through, in two steps
 * (RFC 6455 §5.3 and §8.1): chunk_unmask(), then text_rest() if it says
 * so. Text is UTF-8, validated incrementally from the state st: short
 * text (up to WS__UNMASK_INLINE bytes) at a sequence boundary (st 0) is
 * judged ASCII in the unmasking pass and needs no call; the rest is
 * validated by text_rest(), longer masked text unmasked in the same pass.
 * Other chunks are unmasked.
 * Returns 1 if text_rest() is to run. The whole-message path takes the
 * second step out of line, deliver() inline: the rules are the same. */
WS_INLINE int chunk_unmask(const ws_conn *c, chunk *k, unsigned op, uint32_t st)
{
	int ascii;

	if (op != WS_OP_TEXT || (c->cfg_->flags & WS_CFG_NO_UTF8_CHECK)) {
		if (k->masked)
			ws__unmask(k->d, k->n, k->key);
		k->masked = 0;
		return 0;
	}
	if (k->n > WS__UNMASK_INLINE)
		return 1;
	if (k->masked)
		ascii = ws__unmask_ascii(k->d, k->n, k->key);
	else
		ascii = ws__ascii_small(k->d, k->n);
	k->masked = 0;
	return !ascii || st;
}

/* The second step: UTF-8 for text that chunk_unmask() did not settle. On a
 * fault k->n becomes the valid prefix's length and k->err WS_E_UTF8. */
WS_INLINE void text_rest(chunk *k, uint32_t *st)
{
	size_t ok = k->masked ? ws__unmask_utf8(k->d, k->n, k->key, st) : ws_utf8_validate(st, k->d, k->n);

	k->masked = 0;
	if (WS_UNLIKELY(ok < k->n)) {
		k->n = ok;
		k->err = WS_E_UTF8;
	} else if (WS_UNLIKELY(k->end && *st && !k->err)) {
		k->err = WS_E_UTF8; /* the message ends inside a sequence */
	}
}

/* The event for a judged chunk of a message of opcode op, with flags
 * (MSG_BEGIN, COMPRESSED) and MSG_END if it ends the message. On a fault
 * the valid bytes before it come as an event and the error on the next
 * call (it is sticky, so no state after it is ever read), so that events
 * do not depend on how the input was split: k->end is cleared then. With no
 * such bytes, the error now, with no event (ev_none()). */
WS_INLINE int chunk_event(ws_conn *c, ws_event *ev, chunk *k, unsigned op, unsigned flags)
{
	if (WS_UNLIKELY(k->err)) {
		ws__fail(c, k->err);
		if (!k->n) {
			ev_none(ev);
			return k->err;
		}
		k->end = 0;
	}
	ev->type = op == WS_OP_TEXT ? WS_EV_TEXT : WS_EV_BINARY;
	ev->flags = flags | (k->end ? WS_EVF_MSG_END : 0);
	ev->data = k->d;
	ev->len = k->n;
	ev->code = 0;
	return WS_OK;
}

/* The one way a chunk of a message opened by the frame loop reaches the
 * application (DESIGN.md, "Inside the receive path"): the limit on what the
 * application receives, the two steps above, the event, MSG_BEGIN/END and
 * the end-of-message reset. */
WS_INLINE int deliver(ws_conn *c, ws_event *ev, chunk k)
{
	uint64_t room = c->cfg_->max_message - c->u_.f.msg_len;
	unsigned op = c->u_.f.msg;
	int rc;

	if (WS_UNLIKELY(k.n > room)) { /* only inflated output gets here */
		k.n = (size_t)room;
		k.err = WS_E_MESSAGE_TOO_BIG;
	}
	if (chunk_unmask(c, &k, op, c->u_.f.utf8))
		text_rest(&k, &c->u_.f.utf8);
	rc = chunk_event(c, ev, &k, op,
	                 (c->bits_ & WS__BEGIN_PENDING ? WS_EVF_MSG_BEGIN : 0) |
	                         (c->bits_ & WS__INFLATE ? WS_EVF_COMPRESSED : 0));
	if (rc)
		return rc;
	c->u_.f.msg_len += k.n;
	c->bits_ &= (uint8_t)~WS__BEGIN_PENDING;
	if (k.end) {
		c->bits_ &= (uint8_t)~WS__INFLATE;
		c->u_.f.msg = 0;
		c->u_.f.msg_len = 0;
		c->u_.f.fragments = 0;
	}
	return WS_OK;
}

/* The common case: a whole single-frame text or binary message, all of it in
 * p[0..avail): FIN, no RSV bits, masked as the role requires, a minimal
 * length (any size), no message in progress, within max_frame and
 * max_message. Everything the general path would check holds for it, and it
 * needs no state of its own: recv_whole() does the rest. Returns the header's
 * length (the payload's in *plen), or 0 to take the general path. Frames of
 * 126 bytes and up come here too (JSON of a few hundred bytes to a few KiB is
 * most traffic), so that they pay a header decode and an unmask, not the
 * frame machinery. */
WS_INLINE size_t whole_header(const ws_conn *c, const uint8_t *p, size_t avail, size_t *plen)
{
	const ws_config *cfg = c->cfg_;
	unsigned b0 = p[0], server = cfg->role == WS_ROLE_SERVER;
	uint64_t len;
	int hl;

	if ((b0 - (WS_FIN | WS_OP_TEXT) >= 2) | ((unsigned)p[1] >> 7 != server) | c->u_.f.msg)
		return 0;
	hl = ws__header_rest(p, avail, 0, &len); /* a length that is not minimal: the general path */
	if (hl <= 0 || avail - (size_t)hl < len || len > cfg->max_frame || len > cfg->max_message)
		return 0;
	*plen = (size_t)len;
	return (size_t)hl;
}

/* A whole message that short ASCII did not settle: the second step, out of
 * line, so that ws_conn_recv()'s shortcut makes no call of its own. */
WS_NOINLINE static int whole_text(ws_conn *c, ws_event *ev, uint8_t *d, size_t n, uint32_t key, int masked)
{
	chunk k = {d, n, key, masked, 1, 0};
	uint32_t st = 0;

	text_rest(&k, &st);
	return chunk_event(c, ev, &k, WS_OP_TEXT, WS_EVF_MSG_BEGIN);
}

/* The message whose header whole_header() took (hl bytes at p; n payload
 * bytes after it), for the shortcut in ws_conn_recv() and the frame loop
 * alike: no state is opened for it, the rest is deliver()'s. */
WS_INLINE int recv_whole(ws_conn *c, ws_event *ev, uint8_t *p, size_t hl, size_t n)
{
	int server = c->cfg_->role == WS_ROLE_SERVER;
	chunk k = {p + hl, n, server ? ws__key32(p + hl - 4) : 0, server, 1, 0};
	unsigned op = p[0] & 0x0f;

	if (chunk_unmask(c, &k, op, 0))
		return whole_text(c, ev, k.d, k.n, k.key, k.masked);
	return chunk_event(c, ev, &k, op, WS_EVF_MSG_BEGIN);
}

/* Takes a data frame's header (n bytes at p, payload length plen) as the
 * current frame. */
WS_INLINE void frame_begin(ws_conn *c, const uint8_t *p, size_t n, uint64_t plen)
{
	unsigned b0 = p[0], op = b0 & 0x0f;

	if (op) {
		c->u_.f.msg = (uint8_t)op;
		c->bits_ = (uint8_t)((c->bits_ & ~WS__INFLATE) | WS__BEGIN_PENDING |
		                     (b0 & WS_RSV1 ? WS__INFLATE : 0));
	}
	c->u_.f.frame = (uint8_t)(b0 & WS_FIN);
	c->u_.f.fragments++;
	c->u_.f.frame_left = plen;
	c->u_.f.rx = WS__RX_PAYLOAD;
	if (c->cfg_->role == WS_ROLE_SERVER)
		memcpy(c->u_.f.mask, p + n - 4, 4);
}

/* The payload of a plain data frame at d[0..avail). */
WS_INLINE int recv_payload(ws_conn *c, uint8_t *d, size_t avail, size_t *used, ws_event *ev)
{
	size_t n = avail < c->u_.f.frame_left ? avail : (size_t)c->u_.f.frame_left;
	uint32_t key = ws__key32(c->u_.f.mask);
	int end;

	*used = n;
	if (!n && c->u_.f.frame_left)
		return WS_OK; /* wait for bytes */
	c->u_.f.frame_left -= n;
	if (c->u_.f.frame_left) {
		/* The next piece starts n bytes on in the key. */
		uint32_t k = ws__key_rotate(key, n);
		memcpy(c->u_.f.mask, &k, 4);
	} else {
		c->u_.f.rx = WS__RX_HEADER;
	}
	end = !c->u_.f.frame_left && (c->u_.f.frame & WS_FIN);
	if (!n && !end && !(c->bits_ & WS__BEGIN_PENDING))
		return WS_OK; /* an empty middle fragment says nothing */
	return deliver(c, ev, (chunk){d, n, key, c->cfg_->role == WS_ROLE_SERVER, end, 0});
}

#if WS_DEFLATE
/* The payload of a compressed message (RX_PAYLOAD) or what remains of its
 * output (RX_FLUSH), through the inflate transform. */
static int recv_inflate(ws_conn *c, uint8_t *d, size_t avail, size_t *used, ws_event *ev)
{
	size_t n = avail < c->u_.f.frame_left ? avail : (size_t)c->u_.f.frame_left, made;
	int fin = c->u_.f.frame & WS_FIN, last = fin && n == c->u_.f.frame_left, r;
	uint64_t allowance = c->cfg_->max_message - c->u_.f.msg_len;
	uint8_t *out;

	*used = 0;
	if (WS_UNLIKELY(!c->ext_))
		return ws__fail(c, WS_E_RSV); /* released mid-message: the extension is off */
	if (!n && !last && !ws__inflate_owed(c->ext_)) {
		if (!c->u_.f.frame_left)
			c->u_.f.rx = WS__RX_HEADER; /* the fragment is done, nothing owed */
		return WS_OK;
	}
	/* Inflate no further than one byte past the message limit: a bomb is
	 * caught after at most max_message bytes of work. */
	r = ws__inflate(c->ext_, d, n, c->cfg_->role == WS_ROLE_SERVER ? c->u_.f.mask : NULL, last,
	                allowance < SIZE_MAX ? (size_t)allowance + 1 : SIZE_MAX, used, &out, &made);
	c->u_.f.frame_left -= *used;
	if (c->cfg_->role == WS_ROLE_SERVER) {
		uint32_t k = ws__key_rotate(ws__key32(c->u_.f.mask), *used);
		memcpy(c->u_.f.mask, &k, 4);
	}
	if (!c->u_.f.frame_left)
		c->u_.f.rx = fin ? WS__RX_FLUSH : ws__inflate_owed(c->ext_) ? WS__RX_PAYLOAD : WS__RX_HEADER;
	if (r == 1)
		c->u_.f.rx = WS__RX_HEADER;
	if (!made && !r)
		return WS_OK; /* the transform wants more input */
	return deliver(c, ev, (chunk){out, made, 0, 0, r == 1, r < 0 ? r : 0});
}
#endif

/* Frames, RFC 6455 §5: one event at most, *consumed as far as it got. */
static int recv_frames(ws_conn *c, uint8_t *buf, size_t len, size_t *consumed, ws_event *ev)
{
	size_t pos = 0, used;
	int rc = WS_OK;

	for (;;) {
		uint8_t *p = buf + pos;
		size_t avail = len - pos;

		if (c->u_.f.rx == WS__RX_HEADER) {
			uint64_t plen;
			size_t len1;
			int n;

			if (avail < 2)
				break;
			used = whole_header(c, p, avail, &len1);
			if (used) {
				rc = recv_whole(c, ev, p, used, len1);
				pos += used + len1;
				break;
			}
			n = parse_header(c, p, avail, &plen);
			if (n <= 0) {
				if (n < 0)
					rc = ws__fail(c, n);
				break;
			}
			if (ws__is_control(p[0] & 0x0f)) {
				if (avail - (size_t)n < plen)
					break; /* control frames are delivered whole */
				pos += (size_t)n + (size_t)plen;
				rc = recv_control(c, p, (size_t)n, (size_t)plen, p[0] & 0x0f, ev);
				break;
			}
			pos += (size_t)n;
			frame_begin(c, p, (size_t)n, plen);
			continue;
		}
#if WS_DEFLATE
		if (c->bits_ & WS__INFLATE)
			rc = recv_inflate(c, p, avail, &used, ev);
		else
#endif
			rc = recv_payload(c, p, avail, &used, ev);
		pos += used;
		if (rc || ev->type != WS_EV_NONE || (!used && c->u_.f.rx != WS__RX_HEADER))
			break;
	}
	*consumed = pos;
	return rc;
}

/* Everything but the shortcut, and the event cleared first. */
WS_NOINLINE static int recv_general(ws_conn *c, void *buf, size_t len, size_t *consumed, ws_event *ev)
{
	ev_none(ev);
	*consumed = 0;
	if (WS_UNLIKELY(c->error_))
		return c->error_;
	if (WS_UNLIKELY(!ws__handshake_done(c)))
		return ws__handshake_recv(c, buf, len, consumed, ev);
	if (WS_UNLIKELY(ws__recv_over(c))) {
		/* RFC 6455 §5.5.1: nothing may follow a close frame. */
		if (len && !(c->bits_ & WS__DONE))
			return ws__fail(c, WS_E_DATA_AFTER_CLOSE);
		return WS_OK;
	}
	return recv_frames(c, buf, len, consumed, ev);
}

/* The shortcut first, with nothing else in the way: an open connection
 * between frames, and a whole message in the buffer (whole_header()), taken
 * by recv_whole() as the frame loop would take it. A build for size takes
 * no shortcut: the frame loop finds the same messages (make mcu shows what
 * that saves). */
int ws_conn_recv(ws_conn *c, void *buf, size_t len, size_t *consumed, ws_event *ev)
{
#ifndef __OPTIMIZE_SIZE__
	size_t hl, n;

	if (WS_LIKELY(len >= 2 && !(c->error_ | ws__recv_over(c) | c->u_.f.rx) && ws__handshake_done(c) &&
	              (hl = whole_header(c, buf, len, &n)))) {
		*consumed = hl + n;
		return recv_whole(c, ev, buf, hl, n);
	}
#endif
	return recv_general(c, buf, len, consumed, ev);
}

int ws_conn_recv_eof(ws_conn *c, ws_event *ev)
{
	ev_none(ev);
	if (!ws__recv_over(c)) {
		ev->type = WS_EV_CLOSE;
		ev->code = WS_CLOSE_ABNORMAL; /* RFC 6455 §7.1.5 */
	}
	c->bits_ |= WS__DONE;
	return WS_OK;
}

int ws_conn_state(const ws_conn *c)
{
	unsigned b = c->bits_;

	if (c->error_)
		return WS_STATE_FAILED;
	if (b & WS__DONE)
		return WS_STATE_CLOSED;
	if (!ws__handshake_done(c))
		return WS_STATE_HANDSHAKE;
	if (ws__close_done(c))
		return WS_STATE_CLOSED;
	if (b & WS__CLOSE_SENT)
		return WS_STATE_CLOSE_SENT;
	if (b & WS__CLOSE_RECV)
		return WS_STATE_CLOSE_RECEIVED;
	return WS_STATE_OPEN;
}

int ws_conn_error(const ws_conn *c)
{
	return c->error_;
}

int ws_conn_should_close_transport(const ws_conn *c)
{
	if (c->bits_ & WS__DONE)
		return 1;
	return !c->error_ && ws__close_done(c);
}

/* The callback shim: ws_conn_recv() in a loop. */
int ws_conn_dispatch(ws_conn *c, void *buf, size_t len, size_t *consumed,
                     int (*on_event)(void *ud, ws_conn *c, ws_event *ev), void *ud)
{
	uint8_t *p = buf;
	size_t used;
	ws_event ev;
	int rc;

	*consumed = 0;
	for (;;) {
		rc = ws_conn_recv(c, p + *consumed, len - *consumed, &used, &ev);
		*consumed += used;
		if (rc != WS_OK || ev.type == WS_EV_NONE)
			return rc;
		rc = on_event(ud, c, &ev);
		if (rc)
			return rc;
	}
}
