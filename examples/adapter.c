/* adapter: see adapter.h. */
#define _GNU_SOURCE
#include "adapter.h"
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#ifdef __linux__
#include <linux/sockios.h> /* SIOCOUTQ */
#endif

/* Bytes read or queued per ad_io(): beyond it the connection yields (its
 * deadline becomes "now"), so that one fast or compressing peer cannot
 * starve the rest. Input goes to the loop's rbuf first: events point into
 * it only until ad_io() returns, and whatever could not be used is copied
 * out (keep), so an idle connection holds no receive buffer. */
#define BUDGET (64u << 10)

int64_t ad_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One clock reading serves a stretch of ad_io() (timestamps of what it read
 * and wrote are the same millisecond anyway); outside ad_io() (the program
 * calling ad_send() from a timer) every call reads the clock. */
static int64_t now_ms(ad_conn *c)
{
	ad_loop *l = c->loop;

	if (!l->in_io)
		return ad_now();
	if (!l->now_valid)
		l->now = ad_now(), l->now_valid = 1;
	return l->now;
}

void ad_loop_init(ad_loop *l)
{
	l->in_io = l->now_valid = 0;
	ad_loop_wake(l);
}

void ad_loop_wake(ad_loop *l)
{
	l->handshakes = AD_WAKE_HANDSHAKES;
	l->accepts = AD_WAKE_ACCEPTS;
}

int ad_loop_accept(ad_loop *l)
{
	return l->accepts && l->handshakes ? (l->accepts--, 1) : 0;
}

void ad_loop_handshake(ad_loop *l)
{
	l->handshakes -= l->handshakes ? 1 : 0;
}

/* Bytes read or queued: charged to the connection's turn. */
static void spend(ad_conn *c, size_t n)
{
	ad_loop *l = c->loop;

	l->turn -= n < l->turn ? n : l->turn;
}

int ad_timeout(int64_t deadline, int64_t now)
{
	if (deadline < 0)
		return -1;
	return deadline <= now ? 0 : deadline - now > INT_MAX ? INT_MAX : (int)(deadline - now);
}

int ad_init(ad_conn *c, ad_loop *loop, const ws_config *cfg, const ad_opts *o, ad_transport t)
{
	memset(c, 0, sizeof *c);
	c->t = t;
	c->o = o;
	c->loop = loop;
	c->start_at = c->act_at = now_ms(c);
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
		c->tx_at = now_ms(c); /* the write deadline counts from here */
	c->len += n;
	spend(c, n);
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

/* Our close frame (or the answer to an error) is queued, the last bytes we
 * send: the closing handshake's time starts once the queue is empty (flush),
 * not while the frame waits behind a long queue. */
static void mark_closing(ad_conn *c)
{
	c->closing = 1;
}

int ad_close(ad_conn *c, unsigned code, const void *reason, size_t reason_len)
{
	uint8_t *p = ad_reserve(c, WS_CONTROL_FRAME_MAX);
	size_t n;
	int rc = p ? ws_conn_close(&c->ws, code, reason, reason_len, p, WS_CONTROL_FRAME_MAX, &n) : WS_E_ALLOC;

	if (rc == WS_OK)
		ad_commit(c, n);
	if (rc == WS_OK)
		mark_closing(c);
	return rc;
}

/* Everything queued goes out in one write: a wake-up's answers (pongs,
 * echoes, several messages' worth) are one span of out[]. */
static int flush(ad_conn *c)
{
	while (c->off < c->len) {
		size_t want = c->len - c->off;
		long n = c->t.ops->write(c->t.ctx, c->out + c->off, want);
		if (n == AD_AGAIN)
			break;
		if (n < 0)
			return -1;
		c->off += (size_t)n;
		c->tx_at = c->act_at = now_ms(c); /* a peer that reads is not idle */
		/* A socket that took less is full: asking again would only
		 * say EAGAIN. (TLS writes a record at a time, so it is asked.) */
		if ((size_t)n < want && c->t.ops->short_is_all)
			break;
	}
	if (c->closing && !c->close_at && c->off == c->len)
		c->close_at = now_ms(c); /* our close frame has left */
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
		if (ad_pending(c) > c->o->high_water || !c->loop->turn)
			return c->held = 1, (long)off; /* even with every byte used, inflated data may wait */
		rc = ws_conn_recv(&c->ws, buf + off, len - off, &used, &ev);
		off += used;
		if (rc < 0) { /* the close frame (or HTTP error) this error calls for, then hang up */
			uint8_t *p, scratch[256];
			if (c->o->on_http_error && ws_status_http(rc) && c->o->on_http_error(c, rc, &ev)) {
				/* Answered by the application: the error response is
				 * written only to mark the connection done. */
				ws_conn_fail(&c->ws, scratch, sizeof scratch, &n);
				mark_closing(c);
				return (long)len;
			}
			p = ad_reserve(c, 256);
			c->err = rc;
			if (p && ws_conn_fail(&c->ws, p, 256, &n) == WS_OK)
				ad_commit(c, n);
			mark_closing(c);
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
	uint8_t *rbuf = c->loop->rbuf;
	long r, u;
	size_t want;

	c->loop->turn = BUDGET;
	if (c->held) { /* events held back by backpressure or the budget come first */
		uint8_t *buf = c->in ? c->in : rbuf;
		if ((u = input(c, buf, c->in_len)) < 0 || keep(c, buf, c->in_len, (size_t)u))
			return -1;
	}
	while (!c->eof && c->loop->turn && ad_pending(c) <= c->o->high_water) {
		uint8_t *buf = c->in ? c->in : rbuf;
		if (c->in_len == AD_RBUF)
			return c->why = "input stuck", -1; /* heads are capped far below */
		want = AD_RBUF - c->in_len;
		if ((r = c->t.ops->read(c->t.ctx, buf + c->in_len, want)) == AD_AGAIN)
			break;
		if (r < 0)
			return c->why = "connection reset", -1;
		if (r == 0) {
			ws_event ev;
			c->eof = 1;
			c->close_at = c->close_at ? c->close_at : now_ms(c); /* queued output gets close_ms */
			ws_conn_recv_eof(&c->ws, &ev);
			return ev.type == WS_EV_CLOSE && c->o->on_event(c, &ev) ? -1 : 0;
		}
		c->act_at = now_ms(c);
		c->ping_at = 0; /* any byte shows the peer alive */
		spend(c, (size_t)r);
		if ((u = input(c, buf, c->in_len + (size_t)r)) < 0 || keep(c, buf, c->in_len + (size_t)r, (size_t)u))
			return -1;
		/* A plain socket that gave less than asked is drained: the read
		 * after it would only say EAGAIN, a third of the syscalls of a
		 * small echo. Level-triggered readiness brings us back for what
		 * comes later, and for the FIN. (TLS hands out a record at a time
		 * and may hold more: it is read until it says AD_AGAIN, which
		 * tls.c answers without a syscall when the socket was empty.) */
		if ((size_t)r < want && c->t.ops->short_is_all)
			break;
	}
	c->more = !c->loop->turn;
	return 0;
}

static int done(ad_conn *c, const char *why)
{
	c->why = c->why ? c->why : why;
	return 1;
}

/* The policy: every deadline of a connection, in one place, read by io() to
 * act and by ad_deadline() to tell the host loop when to call. */
enum { D_NONE, D_HANDSHAKE, D_CLOSE, D_WRITE, D_IDLE, D_PONG, D_PING };

static void earliest(int64_t *d, int *kind, int64_t t, int k)
{
	if (*kind == D_NONE || t < *d)
		*d = t, *kind = k;
}

/* The earliest deadline in *at and what it is, or D_NONE. */
static int next_deadline(const ad_conn *c, int64_t *at)
{
	const ad_opts *o = c->o;
	int kind = D_NONE;

	if (ws_conn_state(&c->ws) == WS_STATE_HANDSHAKE && o->handshake_ms)
		earliest(at, &kind, c->start_at + o->handshake_ms, D_HANDSHAKE);
	if (c->close_at && o->close_ms)
		earliest(at, &kind, c->close_at + o->close_ms, D_CLOSE);
	if (ad_pending(c) && o->write_ms)
		earliest(at, &kind, c->tx_at + o->write_ms, D_WRITE);
	/* Liveness while open: bytes moving either way, and frames arriving
	 * (pongs count), keep a connection; a peer reading our output is alive
	 * even while we hold back its input and cannot see its pong. */
	if (ws_conn_state(&c->ws) == WS_STATE_OPEN && !c->closing && !c->close_at) {
		if (o->idle_ms)
			earliest(at, &kind, c->act_at + o->idle_ms, D_IDLE);
		if (o->ping_ms && c->ping_at)
			earliest(at, &kind, (c->tx_at > c->ping_at ? c->tx_at : c->ping_at) + o->pong_ms, D_PONG);
		else if (o->ping_ms)
			earliest(at, &kind, c->act_at + o->ping_ms, D_PING);
	}
	return kind;
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

static int io(ad_conn *c)
{
	int64_t now, at;
	int kind;

	/* A step of the transport's handshake costs milliseconds: counted, and
	 * the wake-up accepts no more once it had its share. A step is never
	 * put off: the listen queue, first come first served, is where new
	 * connections wait, and a handshake once begun is finished. */
	if (c->t.ops->wants && (c->t.ops->wants(c->t.ctx) & AD_SETUP))
		ad_loop_handshake(c->loop);
	if (flush(c) || pump(c) || flush(c))
		return done(c, "connection reset");
	/* Deadlines after reading: a process that stalled must not take a peer
	 * whose answer waits in the socket for a dead one. */
	c->loop->now_valid = 0;
	now = now_ms(c);
	while ((kind = next_deadline(c, &at)) != D_NONE && at <= now) {
		if ((kind == D_IDLE || kind == D_PING || kind == D_PONG) && moved_below(c)) {
			c->act_at = c->tx_at = now; /* the peer took bytes from the send queue */
			continue;
		}
		if (kind == D_HANDSHAKE)
			return done(c, "opening handshake timed out");
		if (kind == D_CLOSE)
			return done(c, ws_conn_should_close_transport(&c->ws) ? NULL : "closing handshake timed out");
		if (kind == D_WRITE)
			return done(c, "peer does not read");
		if (kind == D_PONG)
			return done(c, "no pong: connection dead");
		if (kind == D_IDLE && ad_close(c, WS_CLOSE_GOING_AWAY, "idle timeout", 12) != WS_OK)
			return done(c, "idle timeout");
		if (kind == D_PING && ad_send(c, WS_OP_PING, 0, NULL, 0) != WS_OK)
			return done(c, "local error");
		c->ping_at = kind == D_PING ? now : c->ping_at;
		if (flush(c))
			return done(c, "connection reset");
	}
	if (!ad_pending(c) && c->eof && !c->held) /* what is carried now is an incomplete frame */
		return done(c, NULL);
	if (!ad_pending(c) && ws_conn_should_close_transport(&c->ws) && !c->shut) {
		if (c->t.ops->shutdown) /* lingering close: our FIN, then read until the peer's */
			c->t.ops->shutdown(c->t.ctx);
		c->shut = 1;
		c->close_at = c->close_at ? c->close_at : now;
	}
	return 0;
}

int ad_io(ad_conn *c)
{
	ad_loop *l = c->loop;
	unsigned char outer = l->in_io; /* an on_event may run another connection */
	size_t turn = l->turn;
	int rc;

	l->in_io = 1;
	l->now_valid = 0;
	rc = io(c);
	l->in_io = outer;
	l->turn = turn;
	l->now_valid = 0;
	return rc;
}

unsigned ad_wants(const ad_conn *c)
{
	unsigned tw = c->t.ops->wants ? c->t.ops->wants(c->t.ctx) & (AD_READ | AD_WRITE) : 0, w = 0;

	if (ad_pending(c))
		w |= AD_WRITE;
	if (!c->eof && ad_pending(c) <= c->o->high_water)
		w |= AD_READ;
	/* A TLS handshake waiting for the peer: a writable socket is no news. */
	return tw == AD_READ ? AD_READ : w | tw;
}

int64_t ad_deadline(const ad_conn *c)
{
	int64_t at = -1;

	if (c->more)
		return 0;
	return next_deadline(c, &at) == D_NONE ? -1 : at;
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

long ad_unsent(int fd)
{
#ifdef SIOCOUTQ
	int n;
	return ioctl(fd, SIOCOUTQ, &n) ? -1 : n; /* TCP: written, not yet acknowledged */
#else
	(void)fd;
	return -1;
#endif
}

static long sock_unsent(void *ctx) { return ad_unsent((int)(intptr_t)ctx); }

static const ad_transport_ops sock_ops = { sock_read, sock_write, NULL, sock_shutdown, sock_unsent, 1 };

ad_transport ad_socket(int fd)
{
	ad_transport t = { &sock_ops, (void *)(intptr_t)fd };
	return t;
}
