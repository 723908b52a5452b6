/* h2_ws: see h2_ws.h. Log lines (stderr) name each WebSocket by its
 * connection and stream: "ws conn=N h2 stream=S open|closed ..."; other
 * requests "conn=N h2 stream=S GET / 200", "... refused 404: /x". These
 * per-stream lines are rate-limited per connection (LOG_BURST, LOG_PER_S);
 * the lines held back are counted: "conn=N: K log lines suppressed". */
#define _GNU_SOURCE
#include "h2_ws.h"
#include <nghttp2/nghttp2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUDGET (256u << 10)   /* bytes read per h2_io(): then yield to other connections */
#define HEADER_BYTES 8192u    /* request header bytes per stream (as SETTINGS_MAX_HEADER_LIST_SIZE) */
#define HEADER_COUNT 64u      /* request header fields per stream; beyond either: 431 */
/* A connection may log LOG_BURST per-stream lines at once (an open and a
 * close line for each of 32 streams), then LOG_PER_S a second: a peer that
 * opens and resets thousands of streams a second (rapid reset) would
 * otherwise write two lines for each. */
#define LOG_BURST 64
#define LOG_PER_S 10

/* The request fields we look at, copied as they arrive (nghttp2 hands them
 * one by one); freed once the request is answered. */
struct req {
	char method[16], protocol[32], scheme[16], version[16], authority[256], path[1024];
	char subprotocols[512], extensions[512];
	size_t bytes, count;
	int too_big, has_protocol, has_authority;
};

enum { S_NEW, S_WS, S_DONE }; /* S_DONE: answered (page, refusal); input is dropped */

struct stream {
	struct stream *next, *prev;
	struct h2_conn *h;
	int32_t id;
	int kind;
	struct req *req;
	ws_conn ws;
	uint8_t *in;               /* DATA not consumed by libws yet: at most the stream window */
	size_t in_len;
	uint8_t *out;              /* output out[off..len) of cap (WebSocket frames, or the page), read by out_read */
	size_t off, len, cap;
	size_t close_end;          /* our close frame ends at out[close_end - 1] until it has left */
	unsigned char held;        /* not fed: output above high_water */
	unsigned char deferred;    /* the data provider said NGHTTP2_ERR_DEFERRED */
	unsigned char fin;         /* done: END_STREAM once out is drained */
	unsigned char peer_ended;  /* the peer's END_STREAM: its transport end (RFC 8441 §5) */
	unsigned char eof_seen;    /* ws_conn_recv_eof() called */
	unsigned char reset;       /* we sent RST_STREAM: input is dropped */
	unsigned char closing;     /* our close frame is queued or out */
	/* act_at: WebSocket bytes moved either way (the idle timeout); tx_at:
	 * the output queue last moved, or began to wait (the write timeout);
	 * close_at: our close frame left, or the peer ended the stream (the
	 * close timeout), 0 before. */
	int64_t act_at, tx_at, close_at;
};

struct h2_conn {
	const h2_opts *o;
	ad_transport t;
	nghttp2_session *s;
	int id;
	struct stream *streams;
	uint8_t *w;                /* what nghttp2 produced and the transport did not take: w[woff..wlen) */
	size_t woff, wlen;
	/* act_at: bytes moved either way; tx_at: w[] last moved, or began to
	 * wait; ping_at: our PING awaits its ACK since then, 0 when none */
	int64_t act_at, tx_at, ping_at;
	int64_t log_at, log_credit; /* the log's token bucket, in ms of LOG_PER_S */
	unsigned long log_dropped;
	unsigned char eof, more, unheld;
	const char *why;
};

static uint8_t rbuf[16384]; /* input of every connection of the thread, used at once */
static uint8_t nothing[1];

static size_t pending(const struct stream *st) { return st->len - st->off; }

static int is(const char *s, const char *lit) { return !strcmp(s, lit); }

/* Whether a per-stream log line may be written now: a token bucket of
 * LOG_BURST lines refilled with LOG_PER_S a second. The count of the lines
 * held back goes out before the next line that passes, and at the end. */
static int log_pass(struct h2_conn *h)
{
	const int64_t cost = 1000 / LOG_PER_S, now = ad_now();

	h->log_credit += now - h->log_at;
	h->log_at = now;
	if (h->log_credit > LOG_BURST * cost)
		h->log_credit = LOG_BURST * cost;
	if (h->log_credit < cost)
		return h->log_dropped++, 0;
	h->log_credit -= cost;
	if (h->log_dropped)
		fprintf(stderr, "h2-server: conn=%d: %lu log lines suppressed\n", h->id, h->log_dropped);
	h->log_dropped = 0;
	return 1;
}

static void logf_(const struct stream *st, const char *fmt, ...)
{
	va_list ap;

	if (!log_pass(st->h))
		return;
	fprintf(stderr, "h2-server: %sconn=%d h2 stream=%d ", st->kind == S_WS ? "ws " : "", st->h->id, (int)st->id);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Room for n more output bytes on st (NULL: out of memory). */
static uint8_t *reserve(struct stream *st, size_t n)
{
	size_t cap = st->cap ? st->cap : 4096;
	uint8_t *p;

	if (st->off && st->cap - st->len < n) {
		memmove(st->out, st->out + st->off, st->len - st->off);
		st->len -= st->off;
		st->close_end = st->close_end > st->off ? st->close_end - st->off : 0;
		st->off = 0;
	}
	if (st->cap - st->len >= n)
		return st->out + st->len;
	while (cap - st->len < n)
		cap *= 2;
	if (!(p = realloc(st->out, cap)))
		return NULL;
	st->out = p;
	st->cap = cap;
	return p + st->len;
}

/* nghttp2 asks the data provider again (it said DEFERRED when empty). */
static void wake(struct stream *st)
{
	if (st->deferred) {
		st->deferred = 0;
		nghttp2_session_resume_data(st->h->s, st->id);
	}
}

/* Queues the n bytes written at reserve()'s pointer. */
static void commit(struct stream *st, size_t n)
{
	if (!pending(st))
		st->tx_at = ad_now(); /* the write timeout counts from here */
	st->len += n;
	wake(st);
}

/* Our close frame (or the one an error calls for) was just queued, up to
 * out[len]: the close timeout starts once it has left (out_read), not while
 * it waits behind the queue. */
static void mark_closing(struct stream *st)
{
	st->closing = 1;
	st->close_end = st->len;
}

/* Queues our close frame (RFC 6455 §5.5.1). A ws_status (WS_E_STATE: our
 * close was out first). */
static int send_close(struct stream *st, unsigned code, const void *reason, size_t len)
{
	uint8_t *p = reserve(st, WS_CONTROL_FRAME_MAX);
	size_t n;
	int rc = p ? ws_conn_close(&st->ws, code, reason, len, p, WS_CONTROL_FRAME_MAX, &n) : WS_E_ALLOC;

	if (rc == WS_OK) {
		commit(st, n);
		mark_closing(st);
	}
	return rc;
}

/* RST_STREAM (RFC 8441 §5: the WebSocket's abnormal end). The stream's
 * buffers go now, not when nghttp2 has sent the frame (a peer that reads
 * nothing never lets it out), and the connection window its unread input
 * held goes back. */
static void reset_stream(struct stream *st, uint32_t code)
{
	struct h2_conn *h = st->h;

	if (st->reset)
		return;
	nghttp2_submit_rst_stream(h->s, NGHTTP2_FLAG_NONE, st->id, code);
	st->reset = 1;
	st->held = 0;
	free(st->out);
	st->out = NULL;
	st->off = st->len = st->cap = 0;
	if (st->in_len)
		nghttp2_session_consume_connection(h->s, st->in_len);
	free(st->in);
	st->in = NULL;
	st->in_len = 0;
}

/* What a WebSocket event calls for: the echo (each chunk as it comes, as the
 * echo servers do), the pong, the close echo (RFC 6455 §5.5.1). 0, or -1 when
 * out of memory. */
static int on_ws_event(struct stream *st, ws_event *ev)
{
	uint8_t *p;
	size_t n = 0;
	int rc = WS_OK;

	if (ev->type == WS_EV_CLOSE)
		logf_(st, "closed code=%u%s", ev->code, ev->code == WS_CLOSE_ABNORMAL ? " (transport ended)" : "");
	if ((ev->type == WS_EV_TEXT || ev->type == WS_EV_BINARY) && ws_conn_state(&st->ws) == WS_STATE_OPEN) {
		if (!(p = reserve(st, WS_SEND_SIZE_COMPRESSED(ev->len))))
			return -1;
		rc = ws_conn_send(&st->ws, !(ev->flags & WS_EVF_MSG_BEGIN) ? WS_OP_CONTINUATION
		                           : ev->type == WS_EV_TEXT ? WS_OP_TEXT : WS_OP_BINARY,
		                  ev->flags & WS_EVF_MSG_END ? 0 : WS_SEND_MORE, ev->data, ev->len, p,
		                  st->cap - st->len, &n);
		if (rc == WS_OK)
			commit(st, n);
	} else if ((ev->flags & WS_EVF_REPLY) && ev->type == WS_EV_PING) {
		if (!(p = reserve(st, WS_CONTROL_FRAME_MAX)))
			return -1;
		if ((rc = ws_conn_reply(&st->ws, ev, p, WS_CONTROL_FRAME_MAX, &n)) == WS_OK)
			commit(st, n);
	} else if ((ev->flags & WS_EVF_REPLY) &&
	           (rc = send_close(st, ev->code == WS_CLOSE_NO_STATUS ? 0 : ev->code, ev->data,
	                            ev->code == WS_CLOSE_NO_STATUS ? 0 : ev->len)) == WS_E_STATE) {
		rc = WS_OK; /* our close was out first */
	}
	return rc == WS_OK ? 0 : -1;
}

/* Feeds st's input to libws until it is used up or the output is above
 * high_water, then gives the peer back, as window, exactly what libws
 * consumed: above the mark its input stays unconsumed, so no window goes
 * back for it (RFC 9113 §5.2) and the peer must stop sending. */
static void run(struct stream *st)
{
	struct h2_conn *h = st->h;
	size_t off = 0, used, n;
	ws_event ev;
	int rc;

	if (st->kind != S_WS || st->reset)
		return;
	st->held = 0;
	while (!ws_conn_should_close_transport(&st->ws)) {
		if (pending(st) > h->o->high_water) {
			st->held = 1; /* even with every byte used, inflated data may wait */
			break;
		}
		rc = ws_conn_recv(&st->ws, st->in ? st->in + off : nothing, st->in_len - off, &used, &ev);
		off += used;
		if (rc < 0) { /* the close frame this error calls for (RFC 6455 §7.1.7) */
			uint8_t *p = reserve(st, WS_CONTROL_FRAME_MAX);
			logf_(st, "failed: %s", ws_status_str(rc));
			if (p && ws_conn_fail(&st->ws, p, WS_CONTROL_FRAME_MAX, &n) == WS_OK) {
				commit(st, n);
				mark_closing(st);
			}
			break;
		}
		if (ev.type == WS_EV_NONE)
			break;
		if (on_ws_event(st, &ev)) { /* out of memory: RFC 8441 §5, the abnormal end */
			reset_stream(st, NGHTTP2_INTERNAL_ERROR);
			return;
		}
	}
	if (ws_conn_should_close_transport(&st->ws))
		off = st->in_len; /* nothing is read after the close (RFC 6455 §1.4) */
	if (off) {
		memmove(st->in, st->in + off, st->in_len - off);
		st->in_len -= off;
		nghttp2_session_consume(h->s, st->id, off); /* WINDOW_UPDATE for what libws took */
	}
	if (!st->in_len) {
		free(st->in);
		st->in = NULL;
	}
	/* The peer's END_STREAM is its transport's end, once its input is used. */
	if (st->peer_ended && !st->in_len && !st->held && !st->eof_seen) {
		st->eof_seen = 1;
		if (ws_conn_recv_eof(&st->ws, &ev) == WS_OK && ev.type == WS_EV_CLOSE)
			on_ws_event(st, &ev);
		st->fin = 1;
	}
	if (ws_conn_should_close_transport(&st->ws))
		st->fin = 1; /* RFC 8441 §5: the stream ends (END_STREAM) after the close frames */
	if (st->fin)
		wake(st);
}

/* The data provider of every stream we answer with a body: its output
 * queue. Bytes taken are bytes the peer's window let out: progress for the
 * write timeout (only they are: a peer that sends and never reads must not
 * hold it off), activity for the idle one. */
static ssize_t out_read(nghttp2_session *s, int32_t id, uint8_t *buf, size_t length, uint32_t *flags,
                        nghttp2_data_source *src, void *user)
{
	struct stream *st = src->ptr;
	struct h2_conn *h = st->h;
	size_t n = pending(st) < length ? pending(st) : length;

	(void)s, (void)id, (void)user;
	if (n) {
		int64_t now = ad_now();
		memcpy(buf, st->out + st->off, n);
		st->off += n;
		st->tx_at = st->act_at = now; /* a peer that reads is not idle */
		if (st->closing && !st->close_at && st->off >= st->close_end)
			st->close_at = now; /* our close frame has left */
		if (st->held && pending(st) <= h->o->high_water)
			h->unheld = 1; /* h2_io() feeds it again */
	}
	if (!pending(st)) { /* drained: an idle stream holds no buffer */
		free(st->out);
		st->out = NULL;
		st->off = st->len = st->cap = st->close_end = 0;
	}
	if (!pending(st) && st->fin)
		*flags |= NGHTTP2_DATA_FLAG_EOF;
	else if (!n)
		return st->deferred = 1, NGHTTP2_ERR_DEFERRED;
	return (ssize_t)n;
}

#define NV(n, v) { (uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), NGHTTP2_NV_FLAG_NONE }

static int refuse(struct stream *st, const char *status, const char *why)
{
	nghttp2_nv nv[] = { NV(":status", status), NV("sec-websocket-version", "13") };
	/* RFC 6455 §4.4: a version we do not speak is answered with the one we do */
	size_t n = why && !strncmp(why, "sec-websocket-version", 21) ? 2 : 1;

	logf_(st, "refused %s: %s", status, why);
	st->kind = S_DONE;
	return nghttp2_submit_response(st->h->s, st->id, nv, n, NULL);
}

/* The first of our subprotocols the client offered, or NULL. */
static const char *pick_protocol(const h2_opts *o, const char *offered)
{
	ws_str list = { offered, strlen(offered) }, item;
	size_t i;

	for (i = 0; o->protocols && o->protocols[i]; i++) {
		size_t pos = 0;
		while (ws_list_next(list, &pos, &item))
			if (item.len == strlen(o->protocols[i]) && !memcmp(item.ptr, o->protocols[i], item.len))
				return o->protocols[i];
	}
	return NULL;
}

/* A complete request: RFC 8441 §4-5 for extended CONNECT, a page for GET /. */
static int answer(struct stream *st)
{
	struct h2_conn *h = st->h;
	struct req *r = st->req;
	const char *proto;
	char ext[WS_DEFLATE_FORMAT_MAX] = "";
	ws_deflate_params p;
	nghttp2_nv nv[3] = { NV(":status", "200") };
	nghttp2_data_provider dp;
	size_t n = 1;
	uint8_t *body;

	dp.source.ptr = st;
	dp.read_callback = out_read;
	if (r->too_big)
		return refuse(st, "431", "request header fields too large");
	if (is(r->method, "GET") || is(r->method, "HEAD")) {
		nghttp2_nv page[] = { NV(":status", "200"), NV("content-type", "text/html; charset=utf-8"),
		                      NV("cache-control", "no-store") };
		if (!is(r->path, "/"))
			return refuse(st, "404", r->path);
		if (is(r->method, "HEAD")) {
			logf_(st, "%s %s 200", r->method, r->path);
			st->kind = S_DONE;
			return nghttp2_submit_response(h->s, st->id, page, 3, NULL);
		}
		/* Queued as a WebSocket's output is: the same write timeout. */
		if (!(body = reserve(st, strlen(h->o->page))))
			return refuse(st, "500", "out of memory");
		logf_(st, "%s %s 200", r->method, r->path);
		st->kind = S_DONE;
		memcpy(body, h->o->page, strlen(h->o->page));
		commit(st, strlen(h->o->page));
		st->fin = 1;
		return nghttp2_submit_response(h->s, st->id, page, 3, &dp);
	}
	/* A plain CONNECT asks for a tunnel: we are not a proxy, and the method
	 * is not one this resource supports (RFC 9110 §15.5.6). */
	if (!is(r->method, "CONNECT") || !r->has_protocol)
		return refuse(st, "405", r->method);
	/* An unknown :protocol: 501, as RFC 9220 §3 says for the same extended
	 * CONNECT over HTTP/3 (RFC 8441 leaves it open). */
	if (!is(r->protocol, "websocket"))
		return refuse(st, "501", r->protocol);
	/* RFC 8441 §4: :scheme and :path carry the target URI (5: "https" for
	 * wss://, "http" for ws://). */
	if (!is(r->scheme, h->o->scheme))
		return refuse(st, "400", ":scheme");
	if (!is(r->path, h->o->ws_path))
		return refuse(st, "404", r->path);
	if (!r->has_authority) /* nghttp2 resets such a request first (PROTOCOL_ERROR) */
		return refuse(st, "400", ":authority missing");
	/* RFC 8441 §5 keeps Sec-WebSocket-Version; a wrong one gets 400 with
	 * ours (RFC 6455 §4.4): 426 would name Upgrade, which HTTP/2 forbids
	 * (RFC 9113 §8.2.2). */
	if (!is(r->version, "13"))
		return refuse(st, "400", "sec-websocket-version is not 13");
	if (ws_conn_init(&st->ws, sizeof st->ws, h->o->ws) != WS_OK)
		return refuse(st, "500", "ws_conn_init");
	st->kind = S_WS;
	st->act_at = ad_now();
	if ((proto = pick_protocol(h->o, r->subprotocols)))
		nv[n++] = (nghttp2_nv)NV("sec-websocket-protocol", proto);
	/* RFC 8441 §5: Sec-WebSocket-Extensions as in RFC 6455, here
	 * permessage-deflate (RFC 7692) agreed without libws's handshake. */
	if (h->o->ws->deflate && r->extensions[0] &&
	    ws_deflate_negotiate(h->o->ws->deflate, (ws_str){ r->extensions, strlen(r->extensions) }, &p) &&
	    ws_conn_enable_deflate(&st->ws, &p) == WS_OK &&
	    ws_deflate_format(h->o->ws->deflate, &p, ext, sizeof ext))
		nv[n++] = (nghttp2_nv)NV("sec-websocket-extensions", ext);
	logf_(st, "open path=%s protocol=%s", r->path, proto ? proto : "");
	if (ext[0])
		logf_(st, "extensions=%s", ext);
	return nghttp2_submit_response(h->s, st->id, nv, n, &dp); /* :status 200, no 101 (RFC 8441 §5) */
}

static void unlink_free(struct stream *st)
{
	if (st->prev)
		st->prev->next = st->next;
	else
		st->h->streams = st->next;
	if (st->next)
		st->next->prev = st->prev;
	if (st->kind == S_WS)
		ws_conn_release(&st->ws);
	free(st->req);
	free(st->in);
	free(st->out);
	free(st);
}

/* nghttp2 callbacks */

static int on_begin_headers(nghttp2_session *s, const nghttp2_frame *f, void *user)
{
	struct h2_conn *h = user;
	struct stream *st;

	if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0;
	if (!(st = calloc(1, sizeof *st)) || !(st->req = calloc(1, sizeof *st->req))) {
		free(st);
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* resets the stream */
	}
	st->h = h;
	st->id = f->hd.stream_id;
	if ((st->next = h->streams))
		st->next->prev = st;
	h->streams = st;
	nghttp2_session_set_stream_user_data(s, st->id, st);
	return 0;
}

/* Appends v to dst (a comma-separated list when join), or marks r too big. */
static void put(struct req *r, char *dst, size_t cap, const uint8_t *v, size_t len, int join)
{
	size_t have = strlen(dst), sep = have && join ? 2 : 0;

	if ((have && !join) || have + sep + len >= cap) {
		r->too_big = 1; /* a duplicate where one is allowed, or longer than we take */
		return;
	}
	memcpy(dst + have, ", ", sep);
	memcpy(dst + have + sep, v, len);
	dst[have + sep + len] = 0;
}

static int on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name, size_t nlen,
                     const uint8_t *value, size_t vlen, uint8_t flags, void *user)
{
	struct stream *st = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
	struct req *r = st ? st->req : NULL;
	const char *n = (const char *)name;

	(void)flags, (void)user;
	if (!r || f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0; /* trailers: ignored */
	r->bytes += nlen + vlen + 32; /* as SETTINGS_MAX_HEADER_LIST_SIZE counts (RFC 9113 §6.5.2) */
	if (++r->count > HEADER_COUNT || r->bytes > HEADER_BYTES)
		r->too_big = 1;
	if (r->too_big)
		return 0;
	/* nghttp2 has checked the pseudo-header fields' syntax, rejected
	 * duplicates and, for :protocol, that we sent the setting (RFC 8441 §4). */
	if (!strcmp(n, ":method"))
		put(r, r->method, sizeof r->method, value, vlen, 0);
	else if (!strcmp(n, ":protocol"))
		put(r, r->protocol, sizeof r->protocol, value, vlen, 0), r->has_protocol = 1;
	else if (!strcmp(n, ":scheme"))
		put(r, r->scheme, sizeof r->scheme, value, vlen, 0);
	else if (!strcmp(n, ":path"))
		put(r, r->path, sizeof r->path, value, vlen, 0);
	else if (!strcmp(n, ":authority"))
		put(r, r->authority, sizeof r->authority, value, vlen, 0), r->has_authority = 1;
	else if (!strcmp(n, "sec-websocket-version")) /* several: "13, 13" is not 13 */
		put(r, r->version, sizeof r->version, value, vlen, 1);
	else if (!strcmp(n, "sec-websocket-protocol"))
		put(r, r->subprotocols, sizeof r->subprotocols, value, vlen, 1);
	else if (!strcmp(n, "sec-websocket-extensions"))
		put(r, r->extensions, sizeof r->extensions, value, vlen, 1);
	return 0;
}

static int on_frame_recv(nghttp2_session *s, const nghttp2_frame *f, void *user)
{
	struct stream *st = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
	int rv = 0;

	(void)user;
	if (!st)
		return 0;
	if (f->hd.type == NGHTTP2_HEADERS && f->headers.cat == NGHTTP2_HCAT_REQUEST && st->req) {
		rv = answer(st);
		free(st->req);
		st->req = NULL;
		if (rv)
			return rv == NGHTTP2_ERR_NOMEM ? rv : NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	}
	if ((f->hd.type == NGHTTP2_DATA || f->hd.type == NGHTTP2_HEADERS) && (f->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
		st->peer_ended = 1;
		if (st->kind == S_WS && !st->close_at)
			st->close_at = ad_now(); /* what we still have to send gets close_ms */
		run(st);
	}
	return 0;
}

static int on_data(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *data, size_t len, void *user)
{
	struct stream *st = nghttp2_session_get_stream_user_data(s, id);
	uint8_t *p;

	(void)flags, (void)user;
	if (!st || st->kind != S_WS || st->reset || ws_conn_should_close_transport(&st->ws)) {
		nghttp2_session_consume(s, id, len); /* dropped, but the window is given back */
		return 0;
	}
	st->act_at = ad_now(); /* bytes came: the stream is not idle, whole messages or not */
	/* Flow control keeps unconsumed input within the window (nghttp2 has
	 * checked it: FLOW_CONTROL_ERROR), so the buffer is the window's size. */
	if (st->in_len + len > st->h->o->window || (!st->in && !(st->in = malloc(st->h->o->window)))) {
		nghttp2_session_consume(s, id, len);
		reset_stream(st, NGHTTP2_INTERNAL_ERROR);
		return 0;
	}
	p = st->in + st->in_len;
	memcpy(p, data, len);
	st->in_len += len;
	if (!st->held)
		run(st);
	return 0;
}

static int on_stream_close(nghttp2_session *s, int32_t id, uint32_t code, void *user)
{
	struct stream *st = nghttp2_session_get_stream_user_data(s, id);
	ws_event ev;

	(void)user;
	if (!st)
		return 0;
	/* RFC 8441 §5: RST_STREAM is the transport's abnormal end, 1006 for the
	 * application. */
	if (st->kind == S_WS && !st->eof_seen && ws_conn_recv_eof(&st->ws, &ev) == WS_OK && ev.type == WS_EV_CLOSE)
		logf_(st, "closed code=1006 (transport ended: RST_STREAM %s)", nghttp2_http2_strerror(code));
	/* e.g. a malformed request: nghttp2 answered it (RFC 9113 §8.1.1) */
	if (st->kind == S_NEW && log_pass(st->h))
		fprintf(stderr, "h2-server: conn=%d stream=%d reset before the request was complete: %s\n", st->h->id,
		        (int)id, nghttp2_http2_strerror(code));
	if (st->in_len) /* window the stream held goes back to the connection */
		nghttp2_session_consume_connection(s, st->in_len);
	nghttp2_session_set_stream_user_data(s, id, NULL);
	unlink_free(st);
	return 0;
}

h2_conn *h2_new(const h2_opts *o, ad_transport t, int id)
{
	struct h2_conn *h = calloc(1, sizeof *h);
	nghttp2_session_callbacks *cb = NULL;
	nghttp2_option *opt = NULL;
	nghttp2_settings_entry iv[] = {
		{ NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, o->max_streams },
		{ NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, o->window },
		{ NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, HEADER_BYTES },
		{ NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL, 1 }, /* RFC 8441 §3 */
	};
	int ok;

	if (!h || nghttp2_session_callbacks_new(&cb) || nghttp2_option_new(&opt))
		goto fail;
	h->o = o;
	h->t = t;
	h->id = id;
	h->act_at = h->tx_at = h->log_at = ad_now();
	h->log_credit = LOG_BURST * (1000 / LOG_PER_S);
	nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
	nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data);
	nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
	/* Backpressure: WINDOW_UPDATE only for what libws consumed. */
	nghttp2_option_set_no_auto_window_update(opt, 1);
	nghttp2_option_set_no_closed_streams(opt, 1); /* no memory for closed streams' priorities */
	ok = !nghttp2_session_server_new2(&h->s, cb, h, opt);
	nghttp2_session_callbacks_del(cb);
	nghttp2_option_del(opt);
	if (!ok)
		goto fail;
	/* The connection window never binds, the streams' do: a stream held
	 * back cannot keep the others from their input, so all work that waits
	 * on the peer is in the streams, where the write timeout sees it. Twice
	 * their sum, as nghttp2 gives consumed bytes back to the connection
	 * half its window at a time. Memory is the streams' windows either way. */
	if (nghttp2_submit_settings(h->s, NGHTTP2_FLAG_NONE, iv, o->no_connect_protocol ? 3 : 4) ||
	    nghttp2_session_set_local_window_size(h->s, NGHTTP2_FLAG_NONE, 0,
	                                          (int32_t)(2 * o->max_streams * o->window)))
		goto fail;
	return h;
fail:
	if (h && h->s)
		nghttp2_session_del(h->s);
	free(h);
	return NULL;
}

/* Writes what is queued, then what nghttp2 has; 0, or -1 when the transport broke. */
static int flush(struct h2_conn *h)
{
	for (;;) {
		const uint8_t *d;
		ssize_t n;
		long w;

		while (h->woff < h->wlen) {
			if ((w = h->t.ops->write(h->t.ctx, h->w + h->woff, h->wlen - h->woff)) == AD_AGAIN)
				return 0;
			if (w < 0)
				return -1;
			h->woff += (size_t)w;
			h->tx_at = h->act_at = ad_now(); /* a peer that reads is not idle */
		}
		free(h->w);
		h->w = NULL;
		h->woff = h->wlen = 0;
		if ((n = nghttp2_session_mem_send(h->s, &d)) < 0)
			return -1;
		if (n == 0)
			return 0;
		/* One frame or so at a time: what the transport does not take is
		 * kept until it drains, and nothing more is produced meanwhile. */
		if (!(h->w = malloc((size_t)n)))
			return -1;
		memcpy(h->w, d, (size_t)n);
		h->wlen = (size_t)n;
		h->tx_at = ad_now(); /* the write timeout counts from here */
	}
}

static int done(struct h2_conn *h, const char *why)
{
	h->why = h->why ? h->why : why;
	if (why)
		fprintf(stderr, "h2-server: conn=%d: %s\n", h->id, why);
	return 1;
}

/* The policy: every deadline of a stream and of the connection, read by
 * h2_io() to act and by h2_deadline() to tell the host loop when to call
 * (as adapter.c's next_deadline). */
enum { D_NONE, D_WRITE, D_CLOSE, D_IDLE, D_PING, D_PONG };

static void earliest(int64_t *at, int *kind, int64_t t, int k)
{
	if (*kind == D_NONE || t < *at)
		*at = t, *kind = k;
}

/* A stream's earliest deadline in *at and what it is, or D_NONE. */
static int stream_deadline(const struct h2_conn *h, const struct stream *st, int64_t *at)
{
	const h2_opts *o = h->o;
	int kind = D_NONE;

	if (st->reset)
		return D_NONE;
	/* Any stream: output the peer's window does not let out. */
	if (pending(st) && o->write_ms)
		earliest(at, &kind, st->tx_at + o->write_ms, D_WRITE);
	if (st->kind != S_WS)
		return kind;
	if (st->close_at && o->close_ms)
		earliest(at, &kind, st->close_at + o->close_ms, D_CLOSE);
	/* Liveness while open: WebSocket bytes moving either way keep a stream
	 * (pongs count); a peer reading our output is alive. */
	if (ws_conn_state(&st->ws) == WS_STATE_OPEN && !st->closing && !st->close_at && o->idle_ms)
		earliest(at, &kind, st->act_at + o->idle_ms, D_IDLE);
	return kind;
}

/* The connection's: our frames not taken by the transport (a peer that
 * reads nothing gets no GOAWAY either: nothing more reaches it); liveness,
 * bytes moving either way, else a PING (RFC 9113 §6.7) whose ACK, or our
 * bytes leaving, must come within ping_ms; without streams, idle. */
static int conn_deadline(const struct h2_conn *h, int64_t *at)
{
	const h2_opts *o = h->o;
	int kind = D_NONE;

	if (h->woff < h->wlen && o->write_ms)
		earliest(at, &kind, h->tx_at + o->write_ms, D_WRITE);
	if (!h->streams && o->idle_ms)
		earliest(at, &kind, h->act_at + o->idle_ms, D_IDLE);
	if (o->ping_ms && h->ping_at)
		earliest(at, &kind, (h->tx_at > h->ping_at ? h->tx_at : h->ping_at) + o->ping_ms, D_PONG);
	else if (o->ping_ms)
		earliest(at, &kind, h->act_at + o->ping_ms, D_PING);
	return kind;
}

/* Runs the streams' deadlines. A stream whose output made no progress for
 * write_ms is reset with CANCEL (RFC 9113 §7: "the stream is no longer
 * needed"; keeping a window shut breaks no rule, so FLOW_CONTROL_ERROR
 * would be wrong); an idle WebSocket is closed with 1001; one whose close
 * does not complete in close_ms is reset (NO_ERROR when only the peer's
 * END_STREAM is missing). */
static void stream_timers(struct h2_conn *h, int64_t now)
{
	struct stream *st;

	for (st = h->streams; st; st = st->next) {
		int64_t at = 0; /* set whenever kind is not D_NONE */
		int kind;
		while ((kind = stream_deadline(h, st, &at)) != D_NONE && at <= now) {
			if (kind == D_WRITE) {
				logf_(st, "no progress for %d ms: RST_STREAM CANCEL", h->o->write_ms);
				reset_stream(st, NGHTTP2_CANCEL);
			} else if (kind == D_CLOSE) {
				int clean = ws_conn_state(&st->ws) == WS_STATE_CLOSED;
				logf_(st, "close timed out%s", clean ? ": no END_STREAM" : "");
				reset_stream(st, clean ? NGHTTP2_NO_ERROR : NGHTTP2_CANCEL);
			} else if (send_close(st, WS_CLOSE_GOING_AWAY, "idle timeout", 12) != WS_OK) {
				reset_stream(st, NGHTTP2_INTERNAL_ERROR);
			}
		}
	}
}

/* Feeds the streams whose output drained below high_water. 0, or -1 when
 * the transport broke. */
static int feed(struct h2_conn *h)
{
	while (h->unheld) {
		struct stream *st;
		h->unheld = 0;
		for (st = h->streams; st; st = st->next) /* run() frees no stream: on_stream_close does */
			if (st->held && pending(st) <= h->o->high_water)
				run(st);
		if (flush(h))
			return -1;
	}
	return 0;
}

int h2_io(h2_conn *h)
{
	int64_t now, at = 0;
	size_t budget = BUDGET;
	int kind;

	if (flush(h))
		return done(h, NULL);
	/* Read only while the transport takes our output: a peer that does
	 * not read cannot make us queue (pings, settings acks, echoes). */
	while (nghttp2_session_want_read(h->s) && !h->eof && h->woff == h->wlen && budget) {
		long r = h->t.ops->read(h->t.ctx, rbuf, sizeof rbuf);
		ssize_t rv;
		if (r == AD_AGAIN)
			break;
		if (r <= 0) {
			h->eof = 1;
			break;
		}
		h->act_at = ad_now();
		h->ping_at = 0; /* any byte shows the peer alive */
		budget -= (size_t)r < budget ? (size_t)r : budget;
		if ((rv = nghttp2_session_mem_recv(h->s, rbuf, (size_t)r)) < 0)
			return done(h, nghttp2_strerror((int)rv));
		if (flush(h) || feed(h))
			return done(h, NULL);
	}
	h->more = !budget;
	/* Deadlines after reading: a process that stalled must not take a peer
	 * whose answer waits in the socket for a dead one. */
	now = ad_now();
	stream_timers(h, now);
	while ((kind = conn_deadline(h, &at)) != D_NONE && at <= now) {
		if (kind == D_WRITE)
			return done(h, "peer does not read");
		if (kind == D_PONG)
			return done(h, "no PING ACK: connection dead");
		if (kind == D_IDLE) {
			nghttp2_session_terminate_session(h->s, NGHTTP2_NO_ERROR); /* GOAWAY, then close */
			flush(h);
			return done(h, NULL);
		}
		nghttp2_submit_ping(h->s, NGHTTP2_FLAG_NONE, NULL);
		h->ping_at = now;
	}
	if (feed(h) || flush(h))
		return done(h, NULL);
	if (h->woff == h->wlen && (h->eof || (!nghttp2_session_want_read(h->s) && !nghttp2_session_want_write(h->s))))
		return done(h, NULL);
	return 0;
}

unsigned h2_wants(const h2_conn *h)
{
	unsigned tw = h->t.ops->wants ? h->t.ops->wants(h->t.ctx) & (AD_READ | AD_WRITE) : 0, w = 0;

	if (h->woff < h->wlen)
		w |= AD_WRITE;
	else if (!h->eof)
		w |= AD_READ;
	return tw == AD_READ ? AD_READ : w | tw;
}

int64_t h2_deadline(const h2_conn *h)
{
	const struct stream *st;
	int64_t d = -1, at = 0;

	if (h->more || h->unheld)
		return 0;
	if (conn_deadline(h, &at) != D_NONE)
		d = at;
	for (st = h->streams; st; st = st->next)
		if (stream_deadline(h, st, &at) != D_NONE && (d < 0 || at < d))
			d = at;
	return d;
}

void h2_shutdown(h2_conn *h)
{
	struct stream *st;

	for (st = h->streams; st; st = st->next)
		if (st->kind == S_WS && !st->reset)
			send_close(st, WS_CLOSE_GOING_AWAY, "server shutting down", 20);
	nghttp2_submit_goaway(h->s, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(h->s),
	                      NGHTTP2_NO_ERROR, NULL, 0);
	flush(h);
}

void h2_free(h2_conn *h)
{
	struct stream *st;

	nghttp2_session_del(h->s);
	for (st = h->streams; st; st = st->next) /* the connection's end is every stream's */
		if (st->kind == S_WS && !st->eof_seen && ws_conn_state(&st->ws) != WS_STATE_CLOSED)
			logf_(st, "closed code=1006 (transport ended: %s)", h->eof ? "connection closed" : "connection dropped");
	if (h->log_dropped)
		fprintf(stderr, "h2-server: conn=%d: %lu log lines suppressed\n", h->id, h->log_dropped);
	while (h->streams)
		unlink_free(h->streams);
	free(h->w);
	free(h);
}
