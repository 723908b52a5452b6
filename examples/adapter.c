/* adapter: see adapter.h. */
#define _GNU_SOURCE
#include "adapter.h"
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

/* Input goes here first, for every connection of the thread: events point into
 * it only until ad_io() returns, and whatever could not be used is copied
 * out (keep), so an idle connection holds no receive buffer. */
static uint8_t rbuf[AD_RBUF];
/* Bytes read or queued per ad_io(): beyond it the connection yields (its
 * deadline becomes "now"), so that one fast or compressing peer cannot
 * starve the rest. */
#define BUDGET (64u << 10)

static long sock_read(void *ctx, void *buf, size_t len);
static long sock_write(void *ctx, const void *buf, size_t len);

int64_t ad_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One clock reading serves a stretch of ad_io() (timestamps of what it read
 * and wrote are the same millisecond anyway); outside ad_io() (the program
 * calling ad_send() from a timer) every call reads the clock. */
static int64_t clock_ms;
static unsigned char in_io, clock_valid;

static int64_t now_ms(void)
{
	if (!in_io)
		return ad_now();
	if (!clock_valid)
		clock_ms = ad_now(), clock_valid = 1;
	return clock_ms;
}

int ad_timeout(int64_t deadline, int64_t now)
{
	if (deadline < 0)
		return -1;
	return deadline <= now ? 0 : deadline - now > INT_MAX ? INT_MAX : (int)(deadline - now);
}

int ad_init(ad_conn *c, const ws_config *cfg, const ad_opts *o, ad_transport t, void *user)
{
	memset(c, 0, sizeof *c);
	c->t = t;
	c->o = o;
	c->user = user;
	c->start_at = c->rx_at = c->msg_at = now_ms();
	return ws_conn_init(&c->ws, sizeof c->ws, cfg);
}

size_t ad_pending(const ad_conn *c) { return c->len - c->off; }

uint8_t *ad_reserve(ad_conn *c, size_t n)
{
	size_t cap = c->cap ? c->cap : 4096;
	uint8_t *p;

	if (c->cap - c->len >= n)
		return c->out + c->len;
	if (c->off) { /* the queue is one span, so a batch goes out in one write */
		memmove(c->out, c->out + c->off, c->len - c->off);
		c->len -= c->off;
		c->off = 0;
		if (c->cap - c->len >= n)
			return c->out + c->len;
	}
	while (cap - c->len < n)
		cap *= 2;
	if (!(p = realloc(c->out, cap)))
		return NULL;
	c->out = p;
	c->cap = cap;
	return p + c->len;
}

void ad_commit(ad_conn *c, size_t n)
{
	if (!ad_pending(c))
		c->tx_at = now_ms(); /* the write deadline counts from here */
	c->len += n;
	c->budget -= n < c->budget ? n : c->budget;
}

int ad_send(ad_conn *c, unsigned opcode, unsigned flags, const void *data, size_t len)
{
	uint8_t *p = ad_reserve(c, WS_SEND_SIZE_COMPRESSED(len)); /* compressing may expand a little */
	size_t n;
	int rc = p ? ws_conn_send(&c->ws, opcode, flags, data, len, p, c->cap - c->len, &n) : WS_E_ALLOC;

	if (rc == WS_OK)
		ad_commit(c, n);
	return rc;
}

int ad_close(ad_conn *c, unsigned code, const void *reason, size_t reason_len)
{
	uint8_t *p = ad_reserve(c, WS_CONTROL_FRAME_MAX);
	size_t n;
	int rc = p ? ws_conn_close(&c->ws, code, reason, reason_len, p, WS_CONTROL_FRAME_MAX, &n) : WS_E_ALLOC;

	if (rc == WS_OK)
		ad_commit(c, n);
	if (!c->close_at)
		c->close_at = now_ms(); /* the closing handshake has close_ms */
	return rc;
}

/* Everything queued goes out in one write: a wake-up's answers (pongs,
 * echoes, several messages' worth) are one span of out[]. */
static int flush(ad_conn *c)
{
	while (c->off < c->len) {
		size_t want = c->len - c->off;
		long n = c->t.write(c->t.ctx, c->out + c->off, want);
		if (n == AD_AGAIN)
			break;
		if (n < 0)
			return -1;
		c->off += (size_t)n;
		c->tx_at = now_ms();
		/* A socket that took less is full: asking again would only
		 * say EAGAIN. (TLS writes a record at a time, so it is asked.) */
		if ((size_t)n < want && c->t.write == sock_write)
			break;
	}
	if (c->off == c->len) { /* drained: give the memory back (an idle connection holds none) */
		free(c->out);
		c->out = NULL;
		c->off = c->len = c->cap = 0;
	}
	return 0;
}

/* The library's answers: pongs, and the echo of a peer's close with its code
 * and reason (RFC 6455 §5.5.1). Our close may already be out (E_STATE). */
static int deliver(ad_conn *c, ws_event *ev)
{
	uint8_t *p;
	size_t n = 0;
	int rc;

	if ((ev->flags & WS_EVF_MSG_END) || ev->type >= WS_EV_CLOSE)
		c->msg_at = now_ms(); /* only complete messages hold off the idle timeout */
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

/* The read loop of conn.h over buf[0..len): returns the bytes used, -1 to hang up. */
static long input(ad_conn *c, uint8_t *buf, size_t len)
{
	size_t off = 0, used, n;
	ws_event ev;
	int rc;

	c->held = 0;
	for (;;) {
		if (ws_conn_should_close_transport(&c->ws))
			return (long)len; /* nothing more is read after the close (RFC 6455 §1.4) */
		/* Backpressure: input stays unconsumed until the peer reads its output. */
		if (ad_pending(c) > c->o->high_water || !c->budget)
			return c->held = 1, (long)off; /* even with every byte used, inflated data may wait */
		rc = ws_conn_recv(&c->ws, buf + off, len - off, &used, &ev);
		off += used;
		if (rc < 0) { /* the close frame (or HTTP error) this error calls for, then hang up */
			uint8_t *p, scratch[256];
			if (c->o->on_http_error && ws_status_http(rc) && c->o->on_http_error(c, rc, &ev)) {
				/* Answered by the application: the error response is
				 * written only to mark the connection done. */
				ws_conn_fail(&c->ws, scratch, sizeof scratch, &n);
				c->close_at = c->close_at ? c->close_at : now_ms();
				return (long)len;
			}
			p = ad_reserve(c, 256);
			c->err = rc;
			if (p && ws_conn_fail(&c->ws, p, 256, &n) == WS_OK)
				ad_commit(c, n);
			c->close_at = c->close_at ? c->close_at : now_ms();
			return (long)len;
		}
		if (ev.type == WS_EV_NONE)
			return (long)off;
		if (deliver(c, &ev))
			return -1;
	}
}

/* Keeps buf[used..len) for the next round, in a buffer of its own. */
static int keep(ad_conn *c, uint8_t *buf, size_t len, size_t used)
{
	if (used == len) {
		free(c->in);
		c->in = NULL;
		c->in_len = 0;
		return 0;
	}
	if (!c->in && !(c->in = malloc(AD_RBUF)))
		return -1;
	memmove(c->in, buf + used, len - used);
	c->in_len = len - used;
	return 0;
}

static int pump(ad_conn *c)
{
	long r, u;
	size_t want;

	c->budget = BUDGET;
	if (c->held) { /* events held back by backpressure or the budget come first */
		uint8_t *buf = c->in ? c->in : rbuf;
		if ((u = input(c, buf, c->in_len)) < 0 || keep(c, buf, c->in_len, (size_t)u))
			return -1;
	}
	while (!c->eof && c->budget && ad_pending(c) <= c->o->high_water) {
		uint8_t *buf = c->in ? c->in : rbuf;
		if (c->in_len == AD_RBUF)
			return c->why = "input stuck", -1; /* heads are capped far below */
		want = AD_RBUF - c->in_len;
		if ((r = c->t.read(c->t.ctx, buf + c->in_len, want)) == AD_AGAIN)
			break;
		if (r < 0)
			return c->why = "connection reset", -1;
		if (r == 0) {
			ws_event ev;
			c->eof = 1;
			c->close_at = c->close_at ? c->close_at : now_ms(); /* queued output gets close_ms */
			ws_conn_recv_eof(&c->ws, &ev);
			return ev.type == WS_EV_CLOSE && c->o->on_event(c, &ev) ? -1 : 0;
		}
		c->rx_at = now_ms();
		c->ping_at = 0; /* any byte shows the peer alive */
		c->budget -= (size_t)r < c->budget ? (size_t)r : c->budget;
		if ((u = input(c, buf, c->in_len + (size_t)r)) < 0 || keep(c, buf, c->in_len + (size_t)r, (size_t)u))
			return -1;
		/* A plain socket that gave less than asked is drained: the read
		 * after it would only say EAGAIN, a third of the syscalls of a
		 * small echo. Level-triggered readiness brings us back for what
		 * comes later, and for the FIN. (TLS hands out a record at a time
		 * and may hold more: it is read until it says AD_AGAIN, which
		 * tls.c answers without a syscall when the socket was empty.) */
		if ((size_t)r < want && c->t.read == sock_read)
			break;
	}
	c->more = !c->budget;
	return 0;
}

static int done(ad_conn *c, const char *why)
{
	c->why = c->why ? c->why : why;
	return 1;
}

static int io(ad_conn *c)
{
	const ad_opts *o = c->o;
	int64_t now;

	if (flush(c) || pump(c) || flush(c))
		return done(c, "connection reset");
	/* Deadlines after reading: a process that stalled must not take a peer
	 * whose answer waits in the socket for a dead one. */
	clock_valid = 0;
	now = now_ms();
	if (ws_conn_state(&c->ws) == WS_STATE_HANDSHAKE && o->handshake_ms && now >= c->start_at + o->handshake_ms)
		return done(c, "opening handshake timed out");
	if (c->close_at && o->close_ms && now >= c->close_at + o->close_ms)
		return done(c, ws_conn_should_close_transport(&c->ws) ? NULL : "closing handshake timed out");
	if (ad_pending(c) && o->write_ms && now >= c->tx_at + o->write_ms)
		return done(c, "peer does not read");
	if (ws_conn_state(&c->ws) == WS_STATE_OPEN && !c->close_at) {
		if (o->idle_ms && now >= c->msg_at + o->idle_ms) {
			ad_close(c, WS_CLOSE_GOING_AWAY, "idle timeout", 12);
		} else if (o->ping_ms && c->ping_at && now >= c->ping_at + o->pong_ms) {
			return done(c, "no pong: connection dead");
		} else if (o->ping_ms && !c->ping_at && now >= c->rx_at + o->ping_ms) {
			ad_send(c, WS_OP_PING, 0, NULL, 0);
			c->ping_at = now;
		}
		if (flush(c))
			return done(c, "connection reset");
	}
	if (!ad_pending(c) && c->eof && !c->held) /* what is carried now is an incomplete frame */
		return done(c, NULL);
	if (!ad_pending(c) && ws_conn_should_close_transport(&c->ws) && !c->shut) {
		if (c->t.shutdown) /* lingering close: our FIN, then read until the peer's */
			c->t.shutdown(c->t.ctx);
		c->shut = 1;
		c->close_at = c->close_at ? c->close_at : now;
	}
	return 0;
}

int ad_io(ad_conn *c)
{
	unsigned char outer = in_io; /* an on_event may run another connection */
	int rc;

	in_io = 1;
	clock_valid = 0;
	rc = io(c);
	in_io = outer;
	clock_valid = 0;
	return rc;
}

unsigned ad_wants(const ad_conn *c)
{
	unsigned tw = c->t.wants ? c->t.wants(c->t.ctx) : 0, w = 0;

	if (ad_pending(c))
		w |= AD_WRITE;
	if (!c->eof && ad_pending(c) <= c->o->high_water)
		w |= AD_READ;
	/* A TLS handshake waiting for the peer: a writable socket is no news. */
	return tw == AD_READ ? AD_READ : w | tw;
}

static void earliest(int64_t *d, int64_t t)
{
	if (*d < 0 || t < *d)
		*d = t;
}

int64_t ad_deadline(const ad_conn *c)
{
	const ad_opts *o = c->o;
	int64_t d = -1;

	if (c->more)
		return 0;
	if (ws_conn_state(&c->ws) == WS_STATE_HANDSHAKE && o->handshake_ms)
		earliest(&d, c->start_at + o->handshake_ms);
	if (c->close_at && o->close_ms)
		earliest(&d, c->close_at + o->close_ms);
	if (ad_pending(c) && o->write_ms)
		earliest(&d, c->tx_at + o->write_ms);
	if (ws_conn_state(&c->ws) == WS_STATE_OPEN && !c->close_at) {
		if (o->idle_ms)
			earliest(&d, c->msg_at + o->idle_ms);
		if (o->ping_ms)
			earliest(&d, c->ping_at ? c->ping_at + o->pong_ms : c->rx_at + o->ping_ms);
	}
	return d;
}

void ad_free(ad_conn *c)
{
	ws_conn_release(&c->ws);
	free(c->in);
	free(c->out);
	c->in = c->out = NULL;
}

static long sock_read(void *ctx, void *buf, size_t len)
{
	ssize_t n;
	while ((n = recv((int)(intptr_t)ctx, buf, len, 0)) < 0 && errno == EINTR)
		;
	return n >= 0 ? (long)n : errno == EAGAIN || errno == EWOULDBLOCK ? AD_AGAIN : AD_ERROR;
}

static long sock_write(void *ctx, const void *buf, size_t len)
{
	ssize_t n;
	while ((n = send((int)(intptr_t)ctx, buf, len, MSG_NOSIGNAL)) < 0 && errno == EINTR)
		;
	return n >= 0 ? (long)n : errno == EAGAIN || errno == EWOULDBLOCK ? AD_AGAIN : AD_ERROR;
}

static void sock_shutdown(void *ctx) { shutdown((int)(intptr_t)ctx, SHUT_WR); }

ad_transport ad_socket(int fd)
{
	ad_transport t = { sock_read, sock_write, NULL, sock_shutdown, (void *)(intptr_t)fd };
	return t;
}
