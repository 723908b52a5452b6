/* The read loop and contract checks shared by the connection fuzz targets. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fuzz_common.h"

/* FZ_TRACE=1 in the environment prints every event and error (to see what a
 * seed or a crash input does). */
static int trace(void)
{
	static int t = -1;
	if (t < 0)
		t = getenv("FZ_TRACE") != NULL;
	return t;
}

void fz_fail(const char *file, int line, const char *what)
{
	fprintf(stderr, "fuzz contract violated at %s:%d: %s\n", file, line, what);
	fflush(stderr);
	abort();
}

unsigned fz_byte(fz_in *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

unsigned fz_u16(fz_in *in)
{
	unsigned lo = fz_byte(in);
	return lo | fz_byte(in) << 8;
}

uint32_t fz_rand32(uint32_t *s)
{
	uint32_t x = *s ? *s : 0x9e3779b9u;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*s = x;
	return x;
}

int fz_rand(void *ctx, void *buf, size_t len)
{
	uint32_t *ctr = ctx;
	uint8_t *b = buf;
	for (size_t i = 0; i < len; i++)
		b[i] = (uint8_t)(0x5b * ++*ctr + 0x13);
	return 0;
}

size_t fz_split_next(fz_split *s, size_t pos)
{
	size_t left = s->total - pos, k;
	uint32_t param = s->seed & 31;

	switch (s->mode) {
	case 0: /* whole */
		k = left;
		break;
	case 1: /* one byte at a time */
		k = 1;
		break;
	case 2: /* fixed size 1..32 */
		k = param + 1;
		break;
	case 3: /* random 1..16 */
		k = fz_rand32(&s->seed) % 16 + 1;
		break;
	case 4: /* random 1..256 */
		k = fz_rand32(&s->seed) % 256 + 1;
		break;
	case 5: /* two pieces */
		k = pos == 0 ? s->total * param / 32 : left;
		break;
	case 6: /* random 1..4: headers split everywhere */
		k = fz_rand32(&s->seed) % 4 + 1;
		break;
	default: /* three pieces at random points */
		k = fz_rand32(&s->seed) % (s->total / 2 + 1);
		break;
	}
	if (k == 0)
		k = 1;
	return k < left ? k : left;
}

static const char *const offered[] = {"chat", "superchat", NULL};

const ws_connect_opts fz_connect_opts = {
	"server.example.com", "/chat?room=1", offered, "http://example.com",
	"Authorization: Bearer x\r\n"
};

const char *const fz_server_protocols[] = {"superchat", "chat", NULL};

/* ---- the connection driver ---- */

/* The deflate allocator: malloc, counting what is live, failing on request. */
typedef struct fz_alloc {
	long live, calls, fail_at;
} fz_alloc;

static void *fz_alloc_fn(void *ctx, size_t size)
{
	fz_alloc *a = ctx;
	void *p;

	if (++a->calls == a->fail_at)
		return NULL;
	p = malloc(size);
	if (p)
		a->live++;
	return p;
}

static void fz_free_fn(void *ctx, void *ptr)
{
	fz_alloc *a = ctx;

	if (ptr)
		a->live--;
	free(ptr);
}

typedef struct fz_run {
	const fz_conn_opts *o;
	ws_config cfg;
	ws_deflate_config dcfg;
	fz_alloc alloc;
	int deflate;         /* permessage-deflate may be in use */
	int pending;         /* the error noticed before ws_conn_recv() returned it */
	/* ws_assembler over the data events, against the harness's own copy. */
	ws_assembler as;
	uint8_t *as_buf, *msg_copy;
	size_t msg_len, msg_cap;
	int as_over;         /* the current message did not fit */
	ws_conn c;
	uint32_t rng;
	unsigned flags, app;
	/* The model of what the connection has done. */
	int opened, requested, close_recv, close_sent, done, failed, stopped;
	ct_model model;      /* the per-call contract (test/contract.h) */
	int echo_open;       /* our echo of the message in progress is open (sent with MORE) */
	unsigned events;
	/* The read buffer and the stream it came from. */
	const uint8_t *src;
	uint8_t *buf;
	size_t cap, have, base;
} fz_run;

/* Each piece presented to ws_conn_recv ends at a PROT_NONE page; on the
 * second run of an input, the bytes each call left unconsumed on the first
 * run are read-only (trace: the consumed counts of the first run). */
static ct_arena arena;
static size_t *calls, ncalls, calls_cap, ncall;
static int ro_run;

static void calls_add(size_t used)
{
	if (ncalls == calls_cap) {
		calls_cap = calls_cap ? calls_cap * 2 : 256;
		calls = realloc(calls, calls_cap * sizeof *calls);
		FZ_ASSERT(calls != NULL);
	}
	calls[ncalls++] = used;
}

static int within(const void *p, size_t n, const uint8_t *lo, const uint8_t *hi)
{
	const uint8_t *q = p;
	return n == 0 || (q >= lo && q <= hi && n <= (size_t)(hi - q));
}

static int ieq(ws_str a, const char *b)
{
	size_t n = strlen(b);
	if (a.len != n)
		return 0;
	for (size_t i = 0; i < n; i++) {
		int x = (unsigned char)a.ptr[i], y = (unsigned char)b[i];
		if (x >= 'A' && x <= 'Z')
			x += 32;
		if (y >= 'A' && y <= 'Z')
			y += 32;
		if (x != y)
			return 0;
	}
	return 1;
}

static int is_wire_error(int rc)
{
	return ws_status_close_code(rc) != 0 || ws_status_http(rc) != 0 ||
	       (rc <= WS_E_HTTP_MALFORMED && rc >= WS_E_HTTP_EXTENSION);
}

/* 1 if s occurs in p[0..n). */
static int has(const uint8_t *p, size_t n, const char *s)
{
	size_t k = strlen(s);
	for (size_t i = 0; i + k <= n; i++)
		if (memcmp(p + i, s, k) == 0)
			return 1;
	return 0;
}

/* A frame the connection wrote: one complete frame of the expected opcode,
 * masked exactly when we are a client. Returns the unmasked payload in pay. */
static size_t check_frame(const fz_run *r, const uint8_t *out, size_t n, unsigned op, uint8_t *pay)
{
	ws_frame_header h;
	int hl = ws_frame_header_decode(&h, out, n, 0);

	FZ_ASSERT(hl > 0);
	FZ_ASSERT(h.opcode == op && h.fin == 1 && h.rsv == 0);
	FZ_ASSERT(h.masked == (r->cfg.role == WS_ROLE_CLIENT));
	FZ_ASSERT(h.len == n - (size_t)hl);
	FZ_ASSERT(h.len <= WS_CONTROL_PAYLOAD_MAX || !(op & 8));
	if (pay) {
		memcpy(pay, out + hl, (size_t)h.len);
		if (h.masked)
			ws_mask(pay, (size_t)h.len, h.mask, 0);
	}
	return (size_t)h.len;
}

static void check_close_frame(const fz_run *r, const uint8_t *out, size_t n, unsigned code)
{
	uint8_t pay[WS_CONTROL_PAYLOAD_MAX];
	size_t len = check_frame(r, out, n, WS_OP_CLOSE, pay);
	uint32_t st = 0;

	if (code == 0 || code == WS_CLOSE_NO_STATUS) {
		FZ_ASSERT(len == 0);
		return;
	}
	FZ_ASSERT(len >= 2);
	FZ_ASSERT((unsigned)(pay[0] << 8 | pay[1]) == code);
	FZ_ASSERT(ws_utf8_validate(&st, pay + 2, len - 2) == len - 2 && st == 0);
}

static void check_state(const fz_run *r)
{
	int st = ws_conn_state(&r->c);

	if (r->failed) {
		FZ_ASSERT(st == WS_STATE_FAILED);
		return;
	}
	FZ_ASSERT(ws_conn_error(&r->c) == WS_OK);
	if (r->done)
		return;
	if (!r->opened) {
		FZ_ASSERT(st == WS_STATE_HANDSHAKE);
		return;
	}
	if (r->close_recv && r->close_sent) {
		FZ_ASSERT(st == WS_STATE_CLOSED);
		FZ_ASSERT(ws_conn_should_close_transport(&r->c));
	} else if (r->close_sent) {
		FZ_ASSERT(st == WS_STATE_CLOSE_SENT);
	} else if (r->close_recv) {
		FZ_ASSERT(st == WS_STATE_CLOSE_RECEIVED);
	} else {
		FZ_ASSERT(st == WS_STATE_OPEN);
		FZ_ASSERT(!ws_conn_should_close_transport(&r->c));
	}
}

/* The connection failed with rc: the error is sticky, and ws_conn_fail writes
 * what it calls for. */
static void on_error(fz_run *r, int rc, size_t off)
{
	uint8_t out[1024];
	size_t n = 0, small;
	const char *why;
	int was_handshake = !r->opened, frc;

	FZ_ASSERT(is_wire_error(rc));
	FZ_ASSERT(!r->failed || rc == r->pending);
	FZ_ASSERT(ws_conn_error(&r->c) == rc);
	r->failed = 1;
	check_state(r);
	/* Sticky: the same error with the same bytes, with none, with others. */
	why = ct_check_sticky(&r->c, r->buf + off, r->have - off, rc);
	if (why)
		fz_fail(__FILE__, __LINE__, why);
	/* A buffer that may be too small first: it fails cleanly or fits. */
	small = r->app % 24;
	frc = ws_conn_fail(&r->c, out, small, &n);
	FZ_ASSERT(frc == WS_OK || frc == WS_E_BUFFER);
	if (frc == WS_OK) {
		FZ_ASSERT(n <= small);
	} else {
		FZ_ASSERT(!ws_conn_should_close_transport(&r->c));
		FZ_ASSERT(ws_conn_fail(&r->c, out, sizeof out, &n) == WS_OK);
		FZ_ASSERT(n <= sizeof out);
	}
	FZ_ASSERT(ws_conn_should_close_transport(&r->c));
	if (n) {
		if (was_handshake && r->cfg.role == WS_ROLE_SERVER) {
			char want[32];
			FZ_ASSERT(ws_status_http(rc) != 0);
			snprintf(want, sizeof want, "HTTP/1.1 %u ", ws_status_http(rc));
			FZ_ASSERT(n > strlen(want) && memcmp(out, want, strlen(want)) == 0);
			FZ_ASSERT(has(out, n, "\r\n\r\n")); /* a head, maybe a body after it */
		} else {
			/* A client's handshake error has no reply, except when the
			 * server did switch protocols and we could not allocate the
			 * inflater: then it is a 1011 close. */
			FZ_ASSERT(!was_handshake || rc == WS_E_ALLOC);
			FZ_ASSERT(!r->close_sent);
			check_close_frame(r, out, n, ws_status_close_code(rc));
		}
	} else if (!was_handshake) {
		FZ_ASSERT(r->close_sent); /* a close frame is due unless one was sent */
	}
	/* Nothing more is written once the close frame or the HTTP error
	 * response went out. */
	frc = ws_conn_fail(&r->c, out, sizeof out, &n);
	FZ_ASSERT(frc == WS_OK);
	FZ_ASSERT(n == 0);
	FZ_ASSERT(ws_conn_error(&r->c) == rc);
	r->stopped = 1;
}

static void app_send(fz_run *r, unsigned op, unsigned flags, const void *data, size_t len, int want)
{
	size_t cap = r->deflate ? WS_SEND_SIZE_COMPRESSED(len) : WS_SEND_SIZE(len), n;
	uint8_t *out = malloc(cap);
	int rc;

	FZ_ASSERT(out != NULL);
	rc = ws_conn_send(&r->c, op, flags, data, len, out, cap, &n);
	if (rc == WS_E_ALLOC && (r->flags & FZ_ALLOC_FAIL) && want == WS_OK) {
		/* A compressor that could not be allocated: the connection failed. */
		FZ_ASSERT(ws_conn_error(&r->c) == WS_E_ALLOC);
		r->failed = 1;
		r->pending = WS_E_ALLOC;
		free(out);
		return;
	}
	FZ_ASSERT(rc == want);
	if (rc == WS_OK) {
		ws_frame_header h;
		int hl = ws_frame_header_decode(&h, out, n, 0);
		FZ_ASSERT(n <= cap);
		FZ_ASSERT(hl > 0 && h.len == n - (size_t)hl);
		FZ_ASSERT(h.fin == !(flags & WS_SEND_MORE) && h.opcode == op);
		FZ_ASSERT(h.masked == (r->cfg.role == WS_ROLE_CLIENT));
		if (h.rsv) /* compressed: RSV1 on a message's first frame only */
			FZ_ASSERT(r->deflate && h.rsv == WS_RSV1 && op != WS_OP_CONTINUATION);
		else if (!r->deflate)
			FZ_ASSERT(h.len == len);
	}
	free(out);
}

/* Echoes a data chunk as the app would, one outgoing fragment per chunk. */
static void app_echo(fz_run *r, const ws_event *ev)
{
	int begin = ev->flags & WS_EVF_MSG_BEGIN, end = ev->flags & WS_EVF_MSG_END;
	unsigned op = begin ? (ev->type == WS_EV_TEXT ? WS_OP_TEXT : WS_OP_BINARY) : WS_OP_CONTINUATION;
	int want = r->failed ? ws_conn_error(&r->c) : r->close_sent ? WS_E_STATE : WS_OK;

	if (!begin && !r->echo_open)
		return; /* the beginning was not echoed (sent before our close) */
	app_send(r, op, end ? 0 : WS_SEND_MORE, ev->data, ev->len, want);
	if (want == WS_OK)
		r->echo_open = !end;
}

/* ws_assembler_add() joins what the harness joins, up to its capacity. */
static void check_assembler(fz_run *r, const ws_event *ev)
{
	int rc;

	if (ev->flags & WS_EVF_MSG_BEGIN) {
		r->msg_len = 0;
		r->as_over = 0;
	}
	if (r->msg_len + ev->len > r->msg_cap) {
		r->msg_cap = (r->msg_len + ev->len) * 2 + 64;
		r->msg_copy = realloc(r->msg_copy, r->msg_cap);
		FZ_ASSERT(r->msg_copy != NULL);
	}
	if (ev->len)
		memcpy(r->msg_copy + r->msg_len, ev->data, ev->len);
	r->msg_len += ev->len;
	rc = ws_assembler_add(&r->as, ev);
	if (r->as_over) {
		/* The rest of a refused message is refused too, its end included. */
		FZ_ASSERT(rc == WS_E_MESSAGE_TOO_BIG && r->as.len == 0);
		return;
	}
	if (r->msg_len > r->as.cap) {
		FZ_ASSERT(rc == WS_E_MESSAGE_TOO_BIG);
		r->as_over = 1;
		return;
	}
	FZ_ASSERT(rc == !!(ev->flags & WS_EVF_MSG_END));
	FZ_ASSERT(r->as.len == r->msg_len && r->as.type == ev->type);
	FZ_ASSERT(r->msg_len == 0 || memcmp(r->as.buf, r->msg_copy, r->msg_len) == 0);
}

static void on_request(fz_run *r, const ws_event *ev, const uint8_t *lo, const uint8_t *hi)
{
	const ws_http *h = &ev->http;

	FZ_ASSERT(r->cfg.role == WS_ROLE_SERVER && !r->opened && !r->requested);
	r->requested = 1;
	FZ_ASSERT(within(h->head.ptr, h->head.len, lo, hi));
	FZ_ASSERT(h->head.len >= 4 && memcmp(h->head.ptr + h->head.len - 4, "\r\n\r\n", 4) == 0);
	FZ_ASSERT(h->head.len <= r->cfg.max_head);
	lo = (const uint8_t *)h->head.ptr;
	hi = lo + h->head.len;
	FZ_ASSERT(h->target.len > 0 && within(h->target.ptr, h->target.len, lo, hi));
	FZ_ASSERT(within(h->host.ptr, h->host.len, lo, hi));
	FZ_ASSERT(within(h->origin.ptr, h->origin.len, lo, hi));
	FZ_ASSERT(h->key.len == 24 && within(h->key.ptr, h->key.len, lo, hi));
	FZ_ASSERT(ws_conn_state(&r->c) == WS_STATE_HANDSHAKE);
	{
		static const char *const origins[] = {"http://example.com", NULL};
		uint8_t out[2048];
		size_t n, pos = 0, count = 0;
		ws_str name, value;
		char accept[WS_ACCEPT_KEY_LEN + 1];
		const char *proto;
		int rc;

		while (ws_header_next(h->head, &pos, &name, &value)) {
			FZ_ASSERT(within(name.ptr, name.len, lo, hi) && within(value.ptr, value.len, lo, hi));
			FZ_ASSERT(++count <= r->cfg.max_headers);
		}
		(void)ws_origin_allowed(h, origins);
		proto = ws_select_protocol(h, fz_server_protocols);
		FZ_ASSERT(!proto || ws_header_has_token(h->head, "Sec-WebSocket-Protocol", proto));
		/* Calls that are not allowed now change nothing. */
		FZ_ASSERT(ws_conn_send(&r->c, WS_OP_TEXT, 0, "x", 1, out, sizeof out, &n) == WS_E_STATE);
		if (r->flags & FZ_REJECT) {
			rc = ws_conn_reject(&r->c, 403, "X-Why: fuzz\r\n", "no", 2, out, sizeof out, &n);
			FZ_ASSERT(rc == WS_OK);
			FZ_ASSERT(n > 13 && memcmp(out, "HTTP/1.1 403 ", 13) == 0);
			FZ_ASSERT(ws_conn_should_close_transport(&r->c));
			r->done = 1;
			r->stopped = 1;
			return;
		}
		/* A quarter of the answers decline permessage-deflate per request. */
		ws_accept_opts ao = {.protocol = proto, .headers = r->app & 1 ? "Set-Cookie: a=b\r\n" : NULL,
		                     .no_deflate = (r->app & 0x60) == 0x60};
		rc = ws_conn_accept(&r->c, &ao, out, 8, &n);
		FZ_ASSERT(rc == WS_E_BUFFER && n > 8 && n <= sizeof out);
		FZ_ASSERT(ws_conn_state(&r->c) == WS_STATE_HANDSHAKE);
		rc = ws_conn_accept(&r->c, &ao, out, sizeof out, &n);
		FZ_ASSERT(rc == WS_OK && n <= sizeof out);
		FZ_ASSERT(n > 13 && memcmp(out, "HTTP/1.1 101 ", 13) == 0);
		FZ_ASSERT(memcmp(out + n - 4, "\r\n\r\n", 4) == 0);
		FZ_ASSERT(ws_accept_key(h->key.ptr, h->key.len, accept) == WS_OK);
		{
			ws_str resp = {(const char *)out, n};
			size_t p2 = 0;
			int found = 0;
			/* Skip the status line: ws_header_next starts after it. */
			while (ws_header_next(resp, &p2, &name, &value))
				if (ieq(name, "Sec-WebSocket-Accept"))
					found += value.len == WS_ACCEPT_KEY_LEN &&
					         memcmp(value.ptr, accept, WS_ACCEPT_KEY_LEN) == 0;
			FZ_ASSERT(found == 1);
			/* An extension agreed is one a client can read back. */
			p2 = 0;
			while (ws_header_next(resp, &p2, &name, &value))
				if (ieq(name, "Sec-WebSocket-Extensions")) {
					ws_deflate_config any;
					ws_deflate_params dp;
					ws_deflate_config_init(&any);
					FZ_ASSERT(r->deflate);
					FZ_ASSERT(ws_deflate_check_response(&any, value, &dp) == 1);
				}
		}
		FZ_ASSERT(ws_conn_accept(&r->c, &ao, out, sizeof out, &n) == WS_E_STATE);
	}
	r->opened = 1;
}

/* Handles one event: the model's checks, then what an application does. */
static void on_event(fz_run *r, ws_event *ev, const uint8_t *lo, const uint8_t *hi)
{
	uint8_t out[WS_CONTROL_FRAME_MAX + 16], pay[WS_CONTROL_PAYLOAD_MAX];
	size_t n;
	int rc;

	/* Flags, spans, message order and UTF-8 were checked by ct_check_recv. */
	r->events++;
	switch (ev->type) {
	case WS_EV_TEXT:
	case WS_EV_BINARY:
		FZ_ASSERT(r->opened && !r->close_recv);
		FZ_ASSERT(!(ev->flags & WS_EVF_COMPRESSED) || r->deflate);
		check_assembler(r, ev);
		if (r->flags & FZ_ACT)
			app_echo(r, ev);
		break;
	case WS_EV_PING:
	case WS_EV_PONG:
		FZ_ASSERT(r->opened && !r->close_recv);
		if (ev->type == WS_EV_PONG) {
			FZ_ASSERT(ev->flags == 0);
			break;
		}
		FZ_ASSERT(ev->flags == (r->close_sent ? 0u : (unsigned)WS_EVF_REPLY));
		if (r->app & 2)
			break; /* an application need not answer every ping */
		rc = ws_conn_reply(&r->c, ev, out, sizeof out, &n);
		FZ_ASSERT(rc == WS_OK);
		if (ev->flags & WS_EVF_REPLY) {
			FZ_ASSERT(check_frame(r, out, n, WS_OP_PONG, pay) == ev->len);
			FZ_ASSERT(ev->len == 0 || memcmp(pay, ev->data, ev->len) == 0);
		} else {
			FZ_ASSERT(n == 0);
		}
		break;
	case WS_EV_CLOSE:
		FZ_ASSERT(r->opened && !r->close_recv);
		FZ_ASSERT(ev->flags == (r->close_sent ? 0u : (unsigned)WS_EVF_REPLY));
		r->close_recv = 1;
		check_state(r);
		/* We may still send data until we answer. */
		if (!r->close_sent && (r->flags & FZ_ACT) && !r->echo_open)
			app_send(r, WS_OP_TEXT, 0, "last", 4, WS_OK);
		rc = ws_conn_reply(&r->c, ev, out, sizeof out, &n);
		FZ_ASSERT(rc == WS_OK);
		if (ev->flags & WS_EVF_REPLY) {
			check_close_frame(r, out, n, ev->code);
			r->close_sent = 1;
			FZ_ASSERT(ws_conn_should_close_transport(&r->c));
			/* A second reply writes nothing. */
			FZ_ASSERT(ws_conn_reply(&r->c, ev, out, sizeof out, &n) == WS_OK && n == 0);
		} else {
			FZ_ASSERT(n == 0);
		}
		break;
	case WS_EV_REQUEST:
		on_request(r, ev, lo, hi);
		break;
	case WS_EV_OPEN:
	case WS_EV_REJECTED: {
		const ws_http *h = &ev->http;
		FZ_ASSERT(r->cfg.role == WS_ROLE_CLIENT && !r->opened);
		FZ_ASSERT(within(h->head.ptr, h->head.len, lo, hi));
		FZ_ASSERT(h->head.len >= 4 && memcmp(h->head.ptr + h->head.len - 4, "\r\n\r\n", 4) == 0);
		FZ_ASSERT(h->head.len <= r->cfg.max_head);
		if (ev->type == WS_EV_REJECTED) {
			FZ_ASSERT(h->status != 101 && h->status >= 100 && h->status <= 999);
			r->done = 1;
			r->stopped = 1;
			break;
		}
		FZ_ASSERT(h->status == 101);
		if (h->protocol.len) {
			int ok = 0;
			FZ_ASSERT(within(h->protocol.ptr, h->protocol.len, (const uint8_t *)h->head.ptr,
			                 (const uint8_t *)h->head.ptr + h->head.len));
			for (const char *const *p = fz_connect_opts.protocols; *p; p++)
				ok |= strlen(*p) == h->protocol.len && memcmp(*p, h->protocol.ptr, h->protocol.len) == 0;
			FZ_ASSERT(ok);
		}
		r->opened = 1;
		break;
	}
	default:
		FZ_ASSERT(!"unknown event type");
	}
	if (r->o->heads_only && r->opened)
		r->stopped = 1;
	check_state(r);
	/* App activity: a ping now and then, and our own close after some events. */
	if ((r->flags & FZ_ACT) && r->opened && !r->stopped && !r->close_sent && !r->failed) {
		if ((r->events & 3) == 1)
			app_send(r, WS_OP_PING, 0, "p", 1, WS_OK);
		if (r->events == (r->app >> 4) && r->app >> 4) {
			rc = ws_conn_close(&r->c, 1000, "bye", 3, out, sizeof out, &n);
			FZ_ASSERT(rc == WS_OK);
			check_close_frame(r, out, n, 1000);
			r->close_sent = 1;
			check_state(r);
		}
	}
}

/* Presents buf[off..have) until no event is left; returns the new offset. */
static size_t drain(fz_run *r, size_t off)
{
	unsigned idle = 0;

	while (!r->stopped) {
		ws_event ev;
		size_t used = (size_t)-1, len = r->have - off;
		const uint8_t *lo;
		int rc;

		const uint8_t *after;
		size_t nafter;
		size_t tail = CT_END;
		uint8_t *at;
		const char *why;
		ct_call k;

		if (ro_run && ncall < ncalls && calls[ncall] <= len)
			tail = len - calls[ncall];
		at = ct_place(&arena, r->buf + off, len, tail, &after, &nafter);
		memset(&ev, 0x5a, sizeof ev);
		rc = ws_conn_recv(&r->c, at, len, &used, &ev);
		ct_unplace(&arena);
		if (!ro_run)
			calls_add(used);
		else
			FZ_ASSERT(ncall < ncalls && calls[ncall] == used); /* the same calls as the first run */
		ncall++;
		if (trace())
			fprintf(stderr, "recv %zu of %zu: rc %s, event %d flags %x len %zu code %u\n", used,
			        len, ws_status_name(rc), ev.type, ev.flags, ev.type ? ev.len : 0,
			        ev.type ? ev.code : 0);
		k.c = &r->c;
		k.buf = at;
		k.len = len;
		k.orig = r->src + r->base + off;
		k.consumed = used;
		k.rc = rc;
		k.ev = &ev;
		k.after = after;
		k.nafter = nafter;
		if ((why = ct_check_recv(&r->model, &k)) != NULL)
			fz_fail(__FILE__, __LINE__, why);
		lo = at;
		if (rc < 0) {
			on_error(r, rc, off + used);
			break;
		}
		if (ws_conn_error(&r->c) != WS_OK && !r->failed) {
			r->failed = 1; /* the valid prefix of a text chunk; the error comes next */
			r->pending = ws_conn_error(&r->c);
		}
		off += used;
		if (ev.type == WS_EV_NONE) {
			/* Nothing more: the same bytes again give nothing again. */
			FZ_ASSERT(ev.len == 0);
			if (ws_conn_error(&r->c) == WS_OK) {
				FZ_ASSERT(ws_conn_recv(&r->c, r->buf + off, r->have - off, &used, &ev) == WS_OK);
				FZ_ASSERT(used == 0 && ev.type == WS_EV_NONE);
			}
			break;
		}
		/* Events without progress cannot go on forever. (Inflating, output is
		 * progress too: zlib may hold input while the buffer drains.) */
		idle = used || ((ev.flags & WS_EVF_COMPRESSED) && ev.len) ? 0 : idle + 1;
		FZ_ASSERT(idle < 4);
		on_event(r, &ev, lo, lo + used);
	}
	return off;
}

static void conn_run(const fz_conn_opts *o, const uint8_t *data, size_t size);

/* Twice: the second time with the bytes every call left unconsumed the first
 * time on read-only pages, so a write to them crashes even if it puts back
 * the byte it found (conn.h: nothing outside buf[0..*consumed) is written). */
void fz_conn_run(const fz_conn_opts *o, const uint8_t *data, size_t size)
{
	ro_run = 0;
	ncalls = ncall = 0;
	conn_run(o, data, size);
	ro_run = 1;
	ncall = 0;
	conn_run(o, data, size);
	ro_run = 0;
}

static void conn_run(const fz_conn_opts *o, const uint8_t *data, size_t size)
{
	static const uint64_t frames[8] = {0, 1, 2, 125, 126, 65535, 65536, UINT64_MAX};
	static const uint64_t messages[8] = {0, 1, 3, 125, 126, 200, 65536, WS_DEFAULT_MAX_MESSAGE};
	static const uint32_t fragments[4] = {1, 2, 3, 1000};
	static const uint32_t heads[4] = {64, 200, 512, WS_DEFAULT_MAX_HEAD};
	static const uint32_t nheaders[4] = {1, 3, 8, WS_DEFAULT_MAX_HEADERS};
	fz_in in = {data, size};
	fz_split sp;
	fz_run *r = calloc(1, sizeof *r);
	unsigned b1, b2;
	size_t given = 0;

	FZ_ASSERT(r != NULL);
	r->o = o;
	r->flags = fz_byte(&in);
	b1 = fz_byte(&in);
	b2 = fz_byte(&in);
	r->app = fz_byte(&in);
	ws_config_init(&r->cfg, o->role);
	r->cfg.rand = fz_rand;
	r->cfg.rand_ctx = &r->rng;
	if (r->flags & FZ_START_OPEN)
		r->cfg.flags |= WS_CFG_START_OPEN;
	if (r->flags & FZ_LENIENT)
		r->cfg.flags |= WS_CFG_LENIENT_LENGTH;
	if (r->flags & FZ_NO_UTF8)
		r->cfg.flags |= WS_CFG_NO_UTF8_CHECK;
	if ((r->flags & FZ_DEFLATE) || o->deflate) {
		static const long fail_at[4] = {1, 2, 3, 5};
		ws_deflate_config_init(&r->dcfg);
		r->dcfg.alloc.alloc = fz_alloc_fn;
		r->dcfg.alloc.free = fz_free_fn;
		r->dcfg.alloc.ctx = &r->alloc;
		r->dcfg.server_max_window_bits = (uint8_t)(8 + (b2 & 7));
		r->dcfg.client_max_window_bits = (uint8_t)(8 + (b2 >> 3 & 7));
		r->dcfg.server_no_context_takeover = b2 >> 6 & 1;
		r->dcfg.client_no_context_takeover = b2 >> 7;
		r->dcfg.mem_level = (uint8_t)(1 + (r->app >> 2 & 7));
		r->dcfg.threshold = r->app & 0x20 ? 0 : 64;
		r->dcfg.inflate_cap = (size_t)1024 << (r->app & 3);
		r->dcfg.inflate_buf = malloc(r->dcfg.inflate_cap);
		FZ_ASSERT(r->dcfg.inflate_buf != NULL);
		if (r->flags & FZ_ALLOC_FAIL)
			r->alloc.fail_at = fail_at[r->app >> 6];
		r->cfg.deflate = &r->dcfg;
		r->deflate = 1;
		if (o->deflate)
			r->cfg.flags |= WS_CFG_START_OPEN;
	}
	if ((r->flags & FZ_SMALL) && r->deflate)
		r->cfg.max_message = 1000; /* byte 2 is taken: a fixed small limit, for bombs */
	if ((r->flags & FZ_SMALL) && !r->deflate) {
		r->cfg.max_frame = frames[b2 & 7];
		r->cfg.max_message = messages[b2 >> 3 & 7];
		r->cfg.max_fragments = fragments[b2 >> 6];
		r->cfg.max_head = heads[r->app >> 2 & 3];
		r->cfg.max_headers = nheaders[r->app >> 4 & 3];
	}
	FZ_ASSERT(ws_conn_init(&r->c, sizeof r->c, &r->cfg) == WS_OK);
	ct_model_init(&r->model, &r->cfg);
	r->opened = (r->cfg.flags & WS_CFG_START_OPEN) != 0;
	{
		size_t cap = (size_t)16 << (r->app >> 5 & 7);
		r->as_buf = malloc(cap);
		FZ_ASSERT(r->as_buf != NULL);
		ws_assembler_init(&r->as, r->as_buf, cap);
		{
			ws_event none;
			memset(&none, 0, sizeof none);
			none.type = WS_EV_PING;
			FZ_ASSERT(ws_assembler_add(&r->as, &none) == 0); /* other events are ignored */
		}
	}
	if (r->deflate && r->opened) {
		/* Agreed elsewhere (RFC 8441): the parameters as configured. */
		ws_deflate_params p = {r->dcfg.server_no_context_takeover, r->dcfg.client_no_context_takeover,
		                       r->dcfg.server_max_window_bits, r->dcfg.client_max_window_bits};
		int rc = ws_conn_enable_deflate(&r->c, &p);
		FZ_ASSERT(rc == WS_OK || (rc == WS_E_ALLOC && (r->flags & FZ_ALLOC_FAIL)));
		if (rc != WS_OK)
			goto out;
		FZ_ASSERT(ws_conn_enable_deflate(&r->c, &p) == WS_E_STATE);
	}
	check_state(r);
	if (o->role == WS_ROLE_CLIENT && !r->opened) {
		uint8_t req[4096];
		size_t n;
		int rc = ws_conn_connect(&r->c, &fz_connect_opts, req, sizeof req, &n);
		FZ_ASSERT(rc == WS_OK && n <= sizeof req);
		FZ_ASSERT(n > 4 && memcmp(req, "GET /chat?room=1 HTTP/1.1\r\n", 27) == 0);
		FZ_ASSERT(memcmp(req + n - 4, "\r\n\r\n", 4) == 0);
		/* With deflate configured, the request offers it, whatever the
		 * parameters asked for. */
		if (r->deflate && ws_deflate_available())
			FZ_ASSERT(has(req, n, "\r\nSec-WebSocket-Extensions: permessage-deflate"));
		FZ_ASSERT(ws_conn_connect(&r->c, &fz_connect_opts, req, sizeof req, &n) == WS_E_STATE);
	}

	r->src = in.p;
	r->cap = in.n + 1;
	r->buf = malloc(r->cap);
	FZ_ASSERT(r->buf != NULL);
	sp.mode = (b1 & 7);
	sp.seed = (b1 >> 3) | (uint32_t)r->app << 5 | 0x10000u;
	sp.total = in.n;
	while (given < in.n && !r->stopped) {
		size_t k = fz_split_next(&sp, given), off;
		FZ_ASSERT(k > 0 && k <= in.n - given);
		memcpy(r->buf + r->have, in.p + given, k);
		r->have += k;
		given += k;
		off = drain(r, 0);
		/* The read loop of conn.h: keep the tail. */
		memmove(r->buf, r->buf + off, r->have - off);
		r->have -= off;
		r->base += off;
	}
	if (!r->stopped) {
		ws_event ev;
		int closed = r->close_recv;
		FZ_ASSERT(ws_conn_recv_eof(&r->c, &ev) == WS_OK);
		if (!closed) {
			FZ_ASSERT(ev.type == WS_EV_CLOSE && ev.code == WS_CLOSE_ABNORMAL);
		} else {
			FZ_ASSERT(ev.type == WS_EV_NONE);
		}
		FZ_ASSERT(ws_conn_should_close_transport(&r->c));
		FZ_ASSERT(ws_conn_state(&r->c) == WS_STATE_CLOSED);
	}
out:
	ws_conn_release(&r->c);
	ws_conn_release(&r->c); /* safe twice */
	FZ_ASSERT(r->alloc.live == 0); /* everything taken was given back */
	free(r->dcfg.inflate_buf);
	free(r->as_buf);
	free(r->msg_copy);
	free(r->buf);
	free(r);
}
