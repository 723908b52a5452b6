/* adapter: the byte pump and the deadlines; see adapter.h. */
#include "ad_policy.h" /* and adapter.h */
#include <stdlib.h>
#include <string.h>

/* Bytes read or queued per ad_io(): beyond it the connection yields (its
 * deadline is "now"), so one fast or compressing peer cannot starve the rest. */
#define BUDGET (64u << 10)

static void spend(ad_loop *l, size_t n) { l->turn -= n < l->turn ? n : l->turn; }

int ad_init(ad_conn *c, ad_loop *loop, const ws_config *cfg, const ad_opts *o, ad_transport t)
{
	memset(c, 0, sizeof *c);
	c->t = t, c->o = o, c->loop = loop;
	c->start_at = c->act_at = ad_loop_now(c->loop);
	return ws_conn_init(&c->ws, sizeof c->ws, cfg);
}

size_t ad_pending(const ad_conn *c) { return c->len - c->off; }

uint8_t *ad_reserve(ad_conn *c, size_t n)
{
	size_t cap = c->cap ? c->cap : 4096;
	uint8_t *p;

	if (c->off && c->cap - c->len < n) { /* one span, so that a batch goes out in one write */
		memmove(c->out, c->out + c->off, c->len - c->off);
		c->len -= c->off, c->off = 0;
	}
	if (c->cap - c->len >= n)
		return c->out + c->len;
	while (cap - c->len < n)
		cap *= 2;
	if (!(p = realloc(c->out, cap)))
		return NULL;
	c->out = p, c->cap = cap;
	return p + c->len;
}

void ad_commit(ad_conn *c, size_t n)
{
	if (!ad_pending(c))
		c->tx_at = ad_loop_now(c->loop); /* the write deadline counts from here */
	c->len += n;
	spend(c->loop, n);
}

/* A wake-up's answers (pongs, echoes, several messages' worth) are one span
 * of out[], so they go out in one write. */
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
		c->tx_at = c->act_at = ad_loop_now(c->loop); /* a peer that reads is not idle */
		if ((size_t)n < want && c->t.ops->short_is_all)
			break;
	}
	if (c->closing && !c->close_at && c->off == c->len)
		c->close_at = ad_loop_now(c->loop); /* our close frame has left */
	if (c->off == c->len) { /* an idle connection holds no output buffer */
		free(c->out);
		c->out = NULL, c->off = c->len = c->cap = 0;
	}
	return 0;
}

/* The read loop of conn.h over buf[0..len): the bytes used, -1 to hang up. */
static long input(ad_conn *c, uint8_t *buf, size_t len)
{
	size_t off = 0, used;
	ws_event ev;
	int rc;

	c->held = 0;
	for (;;) {
		if (ws_conn_should_close_transport(&c->ws))
			return (long)len; /* nothing more is read after the close (RFC 6455 §1.4) */
		/* Backpressure: input stays unconsumed until the peer reads its output;
		 * even with every byte used, inflated data may wait. */
		if (ad_pending(c) > c->o->high_water || !c->loop->turn)
			return c->held = 1, (long)off;
		rc = ws_conn_recv(&c->ws, buf + off, len - off, &used, &ev);
		off += used;
		if (rc < 0)
			return ad_policy_error(c, rc, &ev), (long)len;
		if (ev.type == WS_EV_NONE)
			return (long)off;
		if (ad_policy_event(c, &ev))
			return -1;
	}
}

/* Events point into buf only until ad_io() returns: what input() leaves of
 * buf[0..len) is carried in the connection's own buffer. */
static int input_keep(ad_conn *c, uint8_t *buf, size_t len)
{
	long u = input(c, buf, len);

	if (u < 0 || ((size_t)u < len && !c->in && !(c->in = malloc(AD_RBUF))))
		return -1;
	if ((size_t)u < len)
		memmove(c->in, buf + u, len - (size_t)u);
	else
		free(c->in), c->in = NULL;
	c->in_len = (uint32_t)(len - (size_t)u);
	return 0;
}

static int pump(ad_conn *c)
{
	ad_loop *l = c->loop;
	size_t want;
	long r;

	l->turn = BUDGET;
	if (c->held && input_keep(c, c->in ? c->in : l->rbuf, c->in_len))
		return -1; /* events held back by backpressure or the budget come first */
	while (!c->eof && l->turn && ad_pending(c) <= c->o->high_water) {
		uint8_t *buf = c->in ? c->in : l->rbuf;
		if (c->in_len == AD_RBUF)
			return c->why = "input stuck", -1; /* heads are capped far below */
		want = AD_RBUF - c->in_len;
		if ((r = c->t.ops->read(c->t.ctx, buf + c->in_len, want)) == AD_AGAIN)
			break;
		if (r < 0)
			return c->why = "connection reset", -1;
		if (r == 0)
			return c->eof = 1, ad_policy_eof(c);
		c->act_at = ad_loop_now(c->loop);
		c->ping_at = 0; /* any byte shows the peer alive */
		spend(l, (size_t)r);
		if (input_keep(c, buf, c->in_len + (size_t)r))
			return -1;
		/* Short from a plain socket: drained, another read would be a wasted
		 * syscall; level-triggered readiness brings us back. */
		if ((size_t)r < want && c->t.ops->short_is_all)
			break;
	}
	c->more = !l->turn;
	return 0;
}

/* Every deadline of a connection, one row each: io() acts on the earliest
 * due, and ad_deadline() tells the host loop when that is. Liveness counts
 * only while open: bytes moving either way, and frames arriving (pongs
 * count), keep a connection; a peer reading our output is alive even while
 * we hold back its input and cannot see its pong. */
static int next_deadline(const ad_conn *c, int64_t *at)
{
	const ad_opts *o = c->o;
	int live = ws_conn_state(&c->ws) == WS_STATE_OPEN && !c->closing && !c->close_at, k, kind = AD_D_NONE;
	const struct { int on; int64_t at; } d[] = {
		[AD_D_HANDSHAKE] = { ws_conn_state(&c->ws) == WS_STATE_HANDSHAKE && o->handshake_ms,
		                     c->start_at + o->handshake_ms },
		[AD_D_CLOSE] = { c->close_at && o->close_ms, c->close_at + o->close_ms },
		[AD_D_WRITE] = { ad_pending(c) && o->write_ms, c->tx_at + o->write_ms },
		[AD_D_IDLE] = { live && o->idle_ms, c->act_at + o->idle_ms },
		[AD_D_PONG] = { live && o->ping_ms && c->ping_at, (c->tx_at > c->ping_at ? c->tx_at : c->ping_at) + o->pong_ms },
		[AD_D_PING] = { live && o->ping_ms && !c->ping_at, c->act_at + o->ping_ms },
	};

	for (k = AD_D_HANDSHAKE; k <= AD_D_PING; k++)
		if (d[k].on && (kind == AD_D_NONE || d[k].at < *at))
			*at = d[k].at, kind = k;
	return kind;
}

static int io(ad_conn *c)
{
	int64_t now, at;
	int kind, rc;

	if (c->t.ops->wants && (c->t.ops->wants(c->t.ctx) & AD_SETUP))
		ad_loop_handshake(c->loop);
	if (flush(c) || pump(c) || flush(c))
		return ad_finish(c, "connection reset");
	/* Deadlines after reading: a process that stalled must not take a peer
	 * whose answer waits in the socket for a dead one. */
	c->loop->now_valid = 0;
	now = ad_loop_now(c->loop);
	while ((kind = next_deadline(c, &at)) != AD_D_NONE && at <= now)
		if ((rc = ad_policy_due(c, kind, now)) || flush(c))
			return rc ? 1 : ad_finish(c, "connection reset");
	return ad_policy_end(c, now);
}

int ad_io(ad_conn *c)
{
	ad_loop *l = c->loop;
	unsigned char outer = l->in_io; /* an on_event may run another connection */
	size_t turn = l->turn;
	int rc;

	l->in_io = 1, l->now_valid = 0;
	rc = io(c);
	l->in_io = outer, l->turn = turn, l->now_valid = 0;
	return rc;
}

unsigned ad_wants(const ad_conn *c)
{
	unsigned tw = c->t.ops->wants ? c->t.ops->wants(c->t.ctx) & (AD_READ | AD_WRITE) : 0;
	unsigned w = (ad_pending(c) ? AD_WRITE : 0) | (!c->eof && ad_pending(c) <= c->o->high_water ? AD_READ : 0);

	return tw == AD_READ ? AD_READ : w | tw; /* a TLS handshake waiting for the peer: writable is no news */
}

int64_t ad_deadline(const ad_conn *c)
{
	int64_t at = -1;

	return c->more ? 0 : next_deadline(c, &at) == AD_D_NONE ? -1 : at;
}

void ad_free(ad_conn *c)
{
	ws_conn_release(&c->ws);
	free(c->in), free(c->out);
	c->in = c->out = NULL;
}
