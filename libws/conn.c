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
	if (cfg->deflate && (!cfg->deflate->alloc.alloc || !cfg->deflate->alloc.free ||
	                     !cfg->deflate->inflate_buf || cfg->deflate->inflate_cap < 1024))
		return WS_E_ARG;
	memset(c, 0, sizeof *c);
	c->cfg_ = cfg;
	if (cfg->flags & WS_CFG_START_OPEN)
		c->state_ = WS__OPEN;
	else
		c->state_ = cfg->role == WS_ROLE_SERVER ? WS__SERVER_WAIT : WS__CLIENT_IDLE;
	return WS_OK;
}

/* A complete control frame: header of hl bytes, then len payload bytes at p + hl.
 * RFC 6455 §5.5. */
static int recv_control(ws_conn *c, uint8_t *p, size_t hl, size_t len, unsigned op, ws_event *ev)
{
	uint8_t *d = p + hl;

	if (c->cfg_->role == WS_ROLE_SERVER)
		ws_mask(d, len, p + hl - 4, 0);
	ev->data = d;
	ev->len = len;
	if (op == WS_OP_PING) {
		ev->type = WS_EV_PING;
		if (!(c->bits_ & WS__CLOSE_SENT))
			ev->flags = WS_EVF_REPLY; /* RFC 6455 §5.5.2 */
		return WS_OK;
	}
	if (op == WS_OP_PONG) {
		ev->type = WS_EV_PONG;
		return WS_OK;
	}
	/* Close, RFC 6455 §5.5.1 and §7.1.5. */
	if (len == 1)
		return ws__fail(c, WS_E_CLOSE_LENGTH);
	ev->code = WS_CLOSE_NO_STATUS;
	if (len >= 2) {
		uint32_t st = 0;
		ev->code = (unsigned)d[0] << 8 | d[1];
		if (!ws_close_code_valid(ev->code))
			return ws__fail(c, WS_E_CLOSE_CODE);
		if (!(c->cfg_->flags & WS_CFG_NO_UTF8_CHECK) &&
		    (ws_utf8_validate(&st, d + 2, len - 2) != len - 2 || st != 0))
			return ws__fail(c, WS_E_CLOSE_UTF8);
		ev->data = d + 2;
		ev->len = len - 2;
	}
	ev->type = WS_EV_CLOSE;
	c->bits_ |= WS__CLOSE_RECV;
	if (!(c->bits_ & WS__CLOSE_SENT))
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
		if ((b0 & 0x70 & ~c->rsv_) || op == WS_OP_CONTINUATION || (op & 8))
			return WS_E_RSV;
	}
	if (WS_UNLIKELY(!(WS__OPCODES_KNOWN >> op & 1)))
		return WS_E_OPCODE;
	if (WS_UNLIKELY((b1 >> 7) != (cfg->role == WS_ROLE_SERVER))) /* RFC 6455 §5.1 */
		return cfg->role == WS_ROLE_SERVER ? WS_E_MASK_REQUIRED : WS_E_MASK_UNEXPECTED;
	if (op & 8) {
		if (WS_UNLIKELY(!(b0 & WS_FIN)))
			return WS_E_CONTROL_FRAGMENTED;
		if (WS_UNLIKELY((b1 & 0x7f) > WS_CONTROL_PAYLOAD_MAX))
			return WS_E_CONTROL_TOO_LONG;
	} else if (op == WS_OP_CONTINUATION) { /* RFC 6455 §5.4 */
		if (WS_UNLIKELY(!c->msg_))
			return WS_E_UNEXPECTED_CONTINUATION;
	} else if (WS_UNLIKELY(c->msg_)) {
		return WS_E_EXPECTED_CONTINUATION;
	}
	n = ws__header_rest(p, avail, cfg->flags & WS_CFG_LENIENT_LENGTH, plen);
	if (n <= 0 || (op & 8))
		return n;
	if (WS_UNLIKELY(*plen > cfg->max_frame))
		return WS_E_FRAME_TOO_BIG;
	if (WS_UNLIKELY(*plen > cfg->max_message - c->u_.f.msg_len))
		return WS_E_MESSAGE_TOO_BIG;
	if (WS_UNLIKELY(c->u_.f.fragments >= cfg->max_fragments))
		return WS_E_TOO_MANY_FRAGMENTS;
	return n;
}

/* 1 if d[0..n) is all ASCII; reads nothing past d + n. */
WS_INLINE int ascii_only(const uint8_t *d, size_t n)
{
	uint64_t acc = 0, w;
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		memcpy(&w, d + i, 8);
		acc |= w;
	}
	for (; i < n; i++)
		acc |= d[i];
	return !(acc & 0x8080808080808080u);
}

/* The common case in a few dozen instructions: a whole single-frame data
 * message of at most 125 bytes, FIN and no RSV bits, masked as the role
 * requires, no message in progress, all of it in p[0..avail). Everything the
 * general path would check holds for it. Returns the bytes used with *ev
 * set, 0 to take the general path, or an error. */
WS_INLINE size_t recv_small(ws_conn *c, uint8_t *p, size_t avail, ws_event *ev, int *rc)
{
	const ws_config *cfg = c->cfg_;
	unsigned b0 = p[0], b1 = p[1], len = b1 & 0x7f, server = cfg->role == WS_ROLE_SERVER;
	size_t hl = 2 + 4 * server;
	uint8_t *d = p + hl;

	if (!((b0 - (WS_FIN | WS_OP_TEXT) < 2) & !c->msg_ & ((b1 >> 7) == server) & (len < 126)) ||
	    avail < hl + len || len > cfg->max_frame || len > cfg->max_message)
		return 0;
	ev->data = d;
	ev->len = len;
	ev->flags = WS_EVF_MSG_BEGIN | WS_EVF_MSG_END;
	ev->type = b0 & 1 ? WS_EV_TEXT : WS_EV_BINARY;
	if ((b0 & 1) && !(cfg->flags & WS_CFG_NO_UTF8_CHECK)) {
		uint32_t st = 0;
		size_t ok = len;

		if (server && len >= 64) {
			ok = ws__unmask_utf8(d, len, ws__key32(p + 2), &st); /* one pass */
		} else {
			if (server)
				ws__unmask(d, len, ws__key32(p + 2));
			if (!ascii_only(d, len))
				ok = ws_utf8_validate(&st, d, len);
		}
		if (ok < len || st) {
			/* As on the general path: the valid prefix, then the error. */
			ev->len = ok;
			ev->flags = WS_EVF_MSG_BEGIN;
			c->msg_ = WS_OP_TEXT;
			*rc = ws__fail(c, WS_E_UTF8);
			if (ok == 0) {
				/* No prefix to deliver: the error alone, no event. */
				ev->type = WS_EV_NONE;
				ev->flags = 0;
				ev->data = NULL;
				return hl + len;
			}
			*rc = WS_OK;
		}
	} else if (server) {
		ws__unmask(d, len, ws__key32(p + 2));
	}
	return hl + len;
}

/* Frames, RFC 6455 §5. */
static int recv_frames(ws_conn *c, uint8_t *buf, size_t len, size_t *consumed, ws_event *ev)
{
	size_t pos = 0;

	for (;;) {
		if (c->u_.f.frame_left == 0 && !(c->bits_ & WS__FLUSHING)) {
			uint8_t *p = buf + pos;
			size_t avail = len - pos;
			uint64_t plen;
			unsigned b0, op;
			int n;

			if (avail < 2)
				break;
			{
				int rc = WS_OK;
				size_t used = recv_small(c, p, avail, ev, &rc);
				if (used) {
					*consumed = pos + used;
					return rc;
				}
			}
			n = parse_header(c, p, avail, &plen);
			if (n <= 0) {
				if (n < 0) {
					*consumed = pos;
					return ws__fail(c, n);
				}
				break;
			}
			b0 = p[0];
			op = b0 & 0x0f;
			if (op & 8) {
				if (avail - (size_t)n < plen)
					break; /* control frames are delivered whole */
				pos += (size_t)n + (size_t)plen;
				*consumed = pos;
				return recv_control(c, p, (size_t)n, (size_t)plen, op, ev);
			}
			pos += (size_t)n;
			if (op) {
				c->msg_ = (uint8_t)op;
				c->bits_ = (uint8_t)((c->bits_ & ~WS__INFLATE) | WS__BEGIN_PENDING |
				                     (b0 & WS_RSV1 ? WS__INFLATE : 0));
			}
			c->frame_ = (uint8_t)(b0 & WS_FIN);
			c->u_.f.fragments++;
			c->u_.f.msg_len += plen;
			c->u_.f.frame_left = plen;
			if (n > 2 && c->cfg_->role == WS_ROLE_SERVER)
				memcpy(c->mask_, p + n - 4, 4);
			if (plen == 0 && !(c->bits_ & WS__INFLATE)) {
				if (!(c->bits_ & WS__BEGIN_PENDING) && !(b0 & WS_FIN))
					continue; /* an empty middle fragment says nothing */
				goto deliver_empty;
			}
		}

#if WS_DEFLATE
		if (c->bits_ & WS__INFLATE) {
			int r = ws__inflate_recv(c, buf, len, &pos, ev);
			*consumed = pos;
			if (r < 0)
				return r;
			if (r == 0) {
				if (c->u_.f.frame_left == 0 && !(c->frame_ & WS_FIN))
					continue; /* on to the next fragment */
				break;
			}
			ev->type = c->msg_ == WS_OP_TEXT ? WS_EV_TEXT : WS_EV_BINARY;
			ev->flags |= c->bits_ & WS__BEGIN_PENDING ? WS_EVF_MSG_BEGIN : 0;
			c->bits_ &= (uint8_t)~WS__BEGIN_PENDING;
			if (r == 2) {
				ev->flags |= WS_EVF_MSG_END;
				c->bits_ &= (uint8_t)~(WS__INFLATE | WS__FLUSHING);
				c->msg_ = 0;
				c->u_.f.msg_len = 0;
				c->u_.f.fragments = 0;
				c->u_.f.utf8 = 0;
			} else if (c->u_.f.frame_left == 0 && (c->frame_ & WS_FIN)) {
				c->bits_ |= WS__FLUSHING; /* input done, output still to come */
			}
			return WS_OK;
		}
#endif
		/* Payload of a data frame. */
		{
			size_t n = len - pos, ok;
			uint8_t *d = buf + pos;
			int err = 0, text;

			if (n == 0)
				break;
			if (n > c->u_.f.frame_left)
				n = (size_t)c->u_.f.frame_left;
			text = c->msg_ == WS_OP_TEXT && !(c->cfg_->flags & WS_CFG_NO_UTF8_CHECK);
			ok = n;
			if (c->cfg_->role == WS_ROLE_SERVER) {
				uint32_t k = ws__key32(c->mask_);
				if (text && n >= 64) {
					/* Unmask and validate in one pass while the bytes are hot. */
					ok = ws__unmask_utf8(d, n, k, &c->u_.f.utf8);
					text = 2;
				} else {
					ws__unmask(d, n, k);
				}
				/* Rotate the key so the next piece starts at phase 0 (unless
				 * the frame ends here: the next header brings a new key). */
				if (n != c->u_.f.frame_left) {
					k = ws__key_rotate(k, n);
					memcpy(c->mask_, &k, 4);
				}
			}
			pos += n;
			c->u_.f.frame_left -= n;
			ev->data = d;
			ev->len = n;
			if (text) {
				/* Short ASCII text at a sequence boundary needs no call. */
				if (text == 1 && (c->u_.f.utf8 || n > 32 || !ws__ascii_small(d, n)))
					ok = ws_utf8_validate(&c->u_.f.utf8, d, n);
				if (ok < n) {
					err = WS_E_UTF8;
					ev->len = ok;
				} else if (c->u_.f.frame_left == 0 && (c->frame_ & WS_FIN) && c->u_.f.utf8) {
					err = WS_E_UTF8; /* the message ends inside a sequence */
				}
			}
			*consumed = pos;
			if (WS_UNLIKELY(err)) {
				/* The valid prefix first, the error on the next call. */
				ws__fail(c, err);
				if (ev->len == 0)
					return err;
				ev->type = c->msg_ == WS_OP_TEXT ? WS_EV_TEXT : WS_EV_BINARY;
				ev->flags = c->bits_ & WS__BEGIN_PENDING ? WS_EVF_MSG_BEGIN : 0;
				return WS_OK;
			}
			goto deliver;
		}

	deliver_empty:
		ev->data = buf + pos;
		ev->len = 0;
		if (c->msg_ == WS_OP_TEXT && (c->frame_ & WS_FIN) && c->u_.f.utf8 &&
		    !(c->cfg_->flags & WS_CFG_NO_UTF8_CHECK)) {
			*consumed = pos;
			return ws__fail(c, WS_E_UTF8);
		}
	deliver:
		ev->type = c->msg_ == WS_OP_TEXT ? WS_EV_TEXT : WS_EV_BINARY;
		ev->flags = c->bits_ & WS__BEGIN_PENDING ? WS_EVF_MSG_BEGIN : 0;
		c->bits_ &= (uint8_t)~WS__BEGIN_PENDING;
		if (c->u_.f.frame_left == 0 && (c->frame_ & WS_FIN)) {
			ev->flags |= WS_EVF_MSG_END;
			c->msg_ = 0;
			c->u_.f.msg_len = 0;
			c->u_.f.fragments = 0;
			c->u_.f.utf8 = 0;
		}
		*consumed = pos;
		return WS_OK;
	}
	*consumed = pos;
	return WS_OK;
}

int ws_conn_recv(ws_conn *c, void *buf, size_t len, size_t *consumed, ws_event *ev)
{
	ev->type = WS_EV_NONE;
	ev->flags = 0;
	ev->data = NULL;
	ev->len = 0;
	ev->code = 0;
	*consumed = 0;
	if (WS_UNLIKELY(c->error_))
		return c->error_;
	if (WS_UNLIKELY(c->state_ < WS__OPEN))
		return ws__handshake_recv(c, buf, len, consumed, ev);
	if (WS_UNLIKELY(c->bits_ & (WS__CLOSE_RECV | WS__DONE))) {
		/* RFC 6455 §5.5.1: nothing may follow a close frame. */
		if (len && !(c->bits_ & WS__DONE))
			return ws__fail(c, WS_E_DATA_AFTER_CLOSE);
		return WS_OK;
	}
	return recv_frames(c, buf, len, consumed, ev);
}

int ws_conn_recv_eof(ws_conn *c, ws_event *ev)
{
	ev->type = WS_EV_NONE;
	ev->flags = 0;
	ev->data = NULL;
	ev->len = 0;
	ev->code = 0;
	if (!(c->bits_ & (WS__CLOSE_RECV | WS__DONE))) {
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
	if (c->state_ < WS__OPEN)
		return WS_STATE_HANDSHAKE;
	if ((b & (WS__CLOSE_SENT | WS__CLOSE_RECV)) == (WS__CLOSE_SENT | WS__CLOSE_RECV))
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
	unsigned b = c->bits_;

	if (b & WS__DONE)
		return 1;
	return !c->error_ && (b & (WS__CLOSE_SENT | WS__CLOSE_RECV)) == (WS__CLOSE_SENT | WS__CLOSE_RECV);
}
