/* ad_policy: see ad_policy.h. */
#include "ad_policy.h"
#include <stdint.h>

int ad_send(ad_conn *c, unsigned opcode, unsigned flags, const void *data, size_t len)
{
	uint8_t *p = ad_reserve(c, WS_SEND_SIZE_COMPRESSED(len)); /* compressing may expand a little */
	size_t n;
	int rc = p ? ws_conn_send(&c->ws, opcode, flags, data, len, p, c->cap - c->len, &n) : WS_E_ALLOC;

	if (rc == WS_OK)
		ad_commit(c, n);
	return rc;
}

/* Our close frame (or the answer to an error) is the last of the output:
 * c->closing starts the closing handshake's time once the queue has drained,
 * not while the frame waits behind a long queue. */
int ad_close(ad_conn *c, unsigned code, const void *reason, size_t reason_len)
{
	uint8_t *p = ad_reserve(c, WS_CONTROL_FRAME_MAX);
	size_t n;
	int rc = p ? ws_conn_close(&c->ws, code, reason, reason_len, p, WS_CONTROL_FRAME_MAX, &n) : WS_E_ALLOC;

	if (rc == WS_OK)
		ad_commit(c, n), c->closing = 1;
	return rc;
}

int ad_finish(ad_conn *c, const char *why)
{
	c->why = c->why ? c->why : why;
	return 1;
}

/* The closing handshake's time runs from the first of: our close frame left
 * (the pump), the peer ended, we ended. */
static void close_clock(ad_conn *c, int64_t now)
{
	c->close_at = c->close_at ? c->close_at : now;
}

/* Pongs, and the echo of a peer's close with its code and reason (RFC 6455
 * §5.5.1). Our close may already be out (E_STATE). */
int ad_policy_event(ad_conn *c, ws_event *ev)
{
	uint8_t *p;
	size_t n = 0;
	int rc;

	if (c->o->on_event(c, ev))
		return c->why = "local error", -1;
	if (!(ev->flags & WS_EVF_REPLY))
		return 0;
	if (!(p = ad_reserve(c, WS_CONTROL_FRAME_MAX)))
		return -1;
	if (ev->type == WS_EV_PING)
		rc = ws_conn_reply(&c->ws, ev, p, WS_CONTROL_FRAME_MAX, &n);
	else if ((rc = ad_close(c, ev->code == WS_CLOSE_NO_STATUS ? 0 : ev->code, ev->data,
	                        ev->code == WS_CLOSE_NO_STATUS ? 0 : ev->len)) == WS_E_STATE)
		rc = WS_OK;
	if (rc != WS_OK)
		return -1;
	ad_commit(c, n);
	return 0;
}

void ad_policy_error(ad_conn *c, int rc, ws_event *ev)
{
	uint8_t *p, scratch[256];
	size_t n;

	if (c->o->on_http_error && ws_status_http(rc) && c->o->on_http_error(c, rc, ev)) {
		/* Answered by the program: the error response is written only to
		 * mark the connection done. */
		ws_conn_fail(&c->ws, scratch, sizeof scratch, &n);
	} else {
		c->err = rc;
		if ((p = ad_reserve(c, 256)) && ws_conn_fail(&c->ws, p, 256, &n) == WS_OK)
			ad_commit(c, n);
	}
	c->closing = 1;
}

int ad_policy_eof(ad_conn *c)
{
	ws_event ev;

	close_clock(c, ad_loop_now(c->loop)); /* queued output gets close_ms */
	ws_conn_recv_eof(&c->ws, &ev);
	return ev.type == WS_EV_CLOSE && c->o->on_event(c, &ev) ? -1 : 0;
}

/* Did the transport's send queue change since liveness last looked? Our
 * writes may all have gone into megabytes of socket buffer that a slow
 * reader drains for long after: it is moving, not idle nor dead. Asked only
 * when a liveness deadline is due, not per write. */
static int moved_below(ad_conn *c)
{
	long q = c->t.ops->unsent ? c->t.ops->unsent(c->t.ctx) : -1;
	uint32_t u = q < 0 ? c->unsent : q > (long)UINT32_MAX ? UINT32_MAX : (uint32_t)q;
	int moved = u != c->unsent;

	c->unsent = u;
	return moved;
}

int ad_policy_due(ad_conn *c, int kind, int64_t now)
{
	if ((kind == AD_D_IDLE || kind == AD_D_PING || kind == AD_D_PONG) && moved_below(c)) {
		c->act_at = c->tx_at = now; /* the peer took bytes from the send queue */
		return 0;
	}
	if (kind == AD_D_HANDSHAKE)
		return ad_finish(c, "opening handshake timed out");
	if (kind == AD_D_CLOSE)
		return ad_finish(c, ws_conn_should_close_transport(&c->ws) ? NULL : "closing handshake timed out");
	if (kind == AD_D_WRITE)
		return ad_finish(c, "peer does not read");
	if (kind == AD_D_PONG)
		return ad_finish(c, "no pong: connection dead");
	if (kind == AD_D_IDLE && ad_close(c, WS_CLOSE_GOING_AWAY, "idle timeout", 12) != WS_OK)
		return ad_finish(c, "idle timeout");
	if (kind == AD_D_PING && ad_send(c, WS_OP_PING, 0, NULL, 0) != WS_OK)
		return ad_finish(c, "local error");
	c->ping_at = kind == AD_D_PING ? now : c->ping_at;
	return 0;
}

int ad_policy_end(ad_conn *c, int64_t now)
{
	if (!ad_pending(c) && c->eof && !c->held) /* what is carried now is an incomplete frame */
		return ad_finish(c, NULL);
	if (!ad_pending(c) && ws_conn_should_close_transport(&c->ws) && !c->shut) {
		if (c->t.ops->shutdown) /* lingering close: our FIN, then read until the peer's */
			c->t.ops->shutdown(c->t.ctx);
		c->shut = 1;
		close_clock(c, now);
	}
	return 0;
}
