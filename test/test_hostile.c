/* A hostile-input battery through the public API: what an attacker sends to
 * make a parser slow, big, confused or quiet. Each case must end in its
 * defined error (and the HTTP response or close frame ws_conn_fail() writes
 * for it) with bounded memory: the library allocates nothing, and the work is
 * shown to be linear by counting calls and consumed bytes, never by timing.
 *
 * Handshake: heads of 100 KiB and of 10 000 fields (431), NUL, bare LF, bare
 * CR, obs-fold, duplicate or missing keys (400), a slow sender (one byte per
 * call), the same against a client. Frames: 2^63 and 2^63-1 lengths, a
 * million empty fragments, a ping flood inside a fragmented message, a close
 * whose reason is invalid UTF-8, a 126-byte close, and the other protocol
 * violations a peer can commit, each with its close code. */
#include <stdlib.h>
#include <string.h>
#include "harness.h"
#include "ws_internal.h"

static uint32_t rng;

static ws_config cfg_of(int role, unsigned flags)
{
	ws_config cfg;
	ws_config_init(&cfg, role);
	cfg.flags = flags;
	cfg.rand = t_rand;
	cfg.rand_ctx = &rng;
	return cfg;
}

/* ---- helpers: frames as a peer sends them ---- */

static const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};

/* A frame header (+ payload) as a client sends it (masked), or a server
 * (masked = 0). Returns the bytes written. */
static size_t put_frame(uint8_t *out, unsigned b0, const void *pay, size_t len, int masked)
{
	size_t n = ws_frame_header_encode(out, b0 & 0xf0, b0 & 0x0f, len, masked ? key : NULL);
	if (len)
		memcpy(out + n, pay, len);
	if (masked)
		ws_mask(out + n, len, key, 0);
	return n + len;
}

/* Presents buf[0..len) until no event is left; returns the first error (or
 * WS_OK), counting events and calls. */
typedef struct counts {
	size_t calls, events, consumed;
} counts;

static int drain(ws_conn *c, uint8_t *buf, size_t len, counts *k, ws_event *last)
{
	size_t off = 0, used;
	ws_event ev;
	int rc;

	for (;;) {
		rc = ws_conn_recv(c, buf + off, len - off, &used, &ev);
		k->calls++;
		CHECK(used <= len - off);
		off += used;
		k->consumed += used;
		if (rc != WS_OK || ev.type == WS_EV_NONE)
			break;
		k->events++;
		if (last)
			*last = ev;
	}
	return rc;
}

/* The connection failed with err: sticky, and ws_conn_fail() writes a close
 * frame with the error's close code (or nothing if ours was sent). */
static void expect_failed(ws_conn *c, int err, unsigned close_code)
{
	uint8_t out[WS_CONTROL_FRAME_MAX], junk[4] = {0x81, 0x80, 0, 0};
	size_t n, used;
	ws_event ev;
	ws_frame_header h;
	int hl;

	CHECK_INT(ws_conn_error(c), err);
	CHECK_INT(ws_conn_state(c), WS_STATE_FAILED);
	CHECK_INT(ws_status_close_code(err), close_code);
	CHECK_INT(ws_conn_recv(c, junk, sizeof junk, &used, &ev), err);
	CHECK_INT(used, 0);
	CHECK_INT(ws_conn_recv(c, junk, 0, &used, &ev), err);
	CHECK_INT(ws_conn_fail(c, out, sizeof out, &n), WS_OK);
	CHECK(n >= 4);
	hl = ws_frame_header_decode(&h, out, n, 0);
	CHECK(hl > 0);
	CHECK_INT((size_t)hl + h.len, n);
	CHECK_INT(h.opcode, WS_OP_CLOSE);
	CHECK_INT(h.masked, c->cfg_->role == WS_ROLE_CLIENT);
	if (h.masked)
		ws_mask(out + n - h.len, (size_t)h.len, h.mask, 0);
	CHECK_INT((unsigned)out[n - h.len] << 8 | out[n - h.len + 1], close_code);
	CHECK_INT(ws_conn_should_close_transport(c), 1);
	CHECK_INT(ws_conn_recv(c, junk, sizeof junk, &used, &ev), err);
}

/* ---- handshake ---- */

#define RL "GET /chat HTTP/1.1\r\n"
#define H_HOST "Host: server.example.com\r\n"
#define H_UP "Upgrade: websocket\r\n"
#define H_CONN "Connection: Upgrade\r\n"
#define H_KEY "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
#define H_VER "Sec-WebSocket-Version: 13\r\n"
#define GOOD RL H_HOST H_UP H_CONN H_KEY H_VER

/* A server fed head[0..len) whole must fail with err without consuming, and
 * ws_conn_fail() must write "HTTP/1.1 <status> ..." and let the transport go. */
static void expect_http_error(const ws_config *cfg, const void *head, size_t len, int err,
                              unsigned status)
{
	uint8_t *buf = malloc(len ? len : 1);
	char out[512], want[16];
	ws_conn c;
	ws_event ev;
	size_t used = 1, n;

	memcpy(buf, head, len);
	CHECK_INT(ws_conn_init(&c, sizeof c, cfg), WS_OK);
	CHECK_INT(ws_conn_recv(&c, buf, len, &used, &ev), err);
	CHECK_INT(used, 0);
	CHECK_INT(ev.type, WS_EV_NONE);
	CHECK_INT(ws_conn_state(&c), WS_STATE_FAILED);
	CHECK_INT(ws_status_http(err), status);
	CHECK_INT(ws_conn_fail(&c, out, sizeof out, &n), WS_OK);
	snprintf(want, sizeof want, "HTTP/1.1 %u ", status);
	CHECK(n > strlen(want) && memcmp(out, want, strlen(want)) == 0);
	out[n < sizeof out ? n : sizeof out - 1] = 0;
	if (status == 426)
		CHECK(strstr(out, "Sec-WebSocket-Version: 13\r\n") != NULL);
	CHECK_INT(ws_conn_should_close_transport(&c), 1);
	CHECK_INT(ws_conn_recv(&c, buf, len, &used, &ev), err);
	free(buf);
}

static void expect_http_error_str(const char *head, int err, unsigned status)
{
	ws_config cfg = cfg_of(WS_ROLE_SERVER, 0);
	expect_http_error(&cfg, head, strlen(head), err, status);
}

/* 100 KiB of head: refused once max_head bytes are in, whether the end is
 * there or not, whole or through a read loop of 4 KiB reads. */
static void head_100k(void)
{
	enum { SIZE = 100 * 1024 };
	char *head = malloc(SIZE);
	ws_config cfg = cfg_of(WS_ROLE_SERVER, 0);
	size_t len = 0;

	len += (size_t)sprintf(head, "%s", GOOD);
	while (len + 40 < SIZE)
		len += (size_t)sprintf(head + len, "X-Filler-%06zu: %020zu\r\n", len, len);
	memset(head + len, 'a', SIZE - len);
	expect_http_error(&cfg, head, SIZE, WS_E_HTTP_HEAD_TOO_BIG, 431);
	/* With its end: still too big. */
	memcpy(head + SIZE - 4, "\r\n\r\n", 4);
	memset(head + len, 'a', SIZE - 4 - len); /* the tail is one long field value */
	memcpy(head + len, "X-Tail: ", 8);
	expect_http_error(&cfg, head, SIZE, WS_E_HTTP_HEAD_TOO_BIG, 431);
	/* A read loop of 4 KiB reads: the error comes with the read that
	 * reaches 8 KiB, not later, and nothing is consumed before it. */
	{
		static uint8_t buf[16384];
		size_t have = 0, given = 0, calls = 0, used;
		ws_conn c;
		ws_event ev;
		int rc = WS_OK;
		ws_conn_init(&c, sizeof c, &cfg);
		while (given < SIZE && rc == WS_OK) {
			memcpy(buf + have, head + given, 4096);
			have += 4096;
			given += 4096;
			rc = ws_conn_recv(&c, buf, have, &used, &ev);
			calls++;
			CHECK_INT(used, 0);
		}
		CHECK_INT(rc, WS_E_HTTP_HEAD_TOO_BIG);
		CHECK_INT(calls, WS_DEFAULT_MAX_HEAD / 4096);
	}
	/* A client answered with 100 KiB: the same error; it writes nothing. */
	{
		ws_config ccfg = cfg_of(WS_ROLE_CLIENT, 0);
		ws_connect_opts o = {"server.example.com", "/", NULL, NULL, NULL};
		uint8_t req[512], out[512];
		size_t n, used;
		ws_conn c;
		ws_event ev;
		memcpy(head, "HTTP/1.1 101 Switching Protocols\r\n", 34);
		ws_conn_init(&c, sizeof c, &ccfg);
		CHECK_INT(ws_conn_connect(&c, &o, req, sizeof req, &n), WS_OK);
		CHECK_INT(ws_conn_recv(&c, head, SIZE, &used, &ev), WS_E_HTTP_HEAD_TOO_BIG);
		CHECK_INT(used, 0);
		CHECK_INT(ws_conn_fail(&c, out, sizeof out, &n), WS_OK);
		CHECK_INT(n, 0);
		CHECK_INT(ws_conn_should_close_transport(&c), 1);
	}
	free(head);
}

/* 10 000 header fields: 431 at the field limit (the head limit raised so
 * it is the count that fails), and 431 for size with the defaults. */
static void headers_10000(void)
{
	size_t cap = sizeof GOOD + 10000 * 16 + 8, len = 0;
	char *head = malloc(cap);
	ws_config cfg = cfg_of(WS_ROLE_SERVER, 0);

	len += (size_t)sprintf(head, "%s", GOOD);
	for (int i = 0; i < 10000; i++)
		len += (size_t)sprintf(head + len, "X-%d: %d\r\n", i, i);
	len += (size_t)sprintf(head + len, "\r\n");
	cfg.max_head = (uint32_t)len;
	expect_http_error(&cfg, head, len, WS_E_HTTP_TOO_MANY_HEADERS, 431);
	cfg.max_headers = 10005; /* 5 required fields + 10 000 */
	{
		ws_conn c;
		ws_event ev;
		size_t used;
		ws_conn_init(&c, sizeof c, &cfg);
		CHECK_INT(ws_conn_recv(&c, head, len, &used, &ev), WS_OK);
		CHECK_INT(ev.type, WS_EV_REQUEST);
		CHECK_INT(used, len);
	}
	cfg.max_headers = 10004;
	expect_http_error(&cfg, head, len, WS_E_HTTP_TOO_MANY_HEADERS, 431);
	cfg = cfg_of(WS_ROLE_SERVER, 0);
	expect_http_error(&cfg, head, len, WS_E_HTTP_HEAD_TOO_BIG, 431);
	free(head);
}

/* Bytes a head may not contain: each is a way to make two parsers disagree. */
static void head_bytes(void)
{
	static const char nul_value[] = RL H_HOST "X-A: a\0b\r\n" H_UP H_CONN H_KEY H_VER "\r\n";
	static const char nul_name[] = RL H_HOST "X\0A: ab\r\n" H_UP H_CONN H_KEY H_VER "\r\n";
	static const char nul_target[] = "GET /ch\0t HTTP/1.1\r\n" H_HOST H_UP H_CONN H_KEY H_VER "\r\n";
	ws_config cfg = cfg_of(WS_ROLE_SERVER, 0);

	expect_http_error(&cfg, nul_value, sizeof nul_value - 1, WS_E_HTTP_MALFORMED, 400);
	expect_http_error(&cfg, nul_name, sizeof nul_name - 1, WS_E_HTTP_MALFORMED, 400);
	expect_http_error(&cfg, nul_target, sizeof nul_target - 1, WS_E_HTTP_MALFORMED, 400);
	/* Bare LF: in the request line, between fields, as the final line. */
	expect_http_error_str("GET /chat HTTP/1.1\n" H_HOST H_UP H_CONN H_KEY H_VER "\r\n",
	                      WS_E_HTTP_MALFORMED, 400);
	expect_http_error_str(RL H_HOST "X-A: 1\n" H_UP H_CONN H_KEY H_VER "\r\n", WS_E_HTTP_MALFORMED, 400);
	expect_http_error_str(GOOD "\n", WS_E_HTTP_MALFORMED, 400);
	expect_http_error_str(GOOD "\n\n", WS_E_HTTP_MALFORMED, 400);
	/* Bare CR inside a value, and CR CR LF. */
	expect_http_error_str(RL H_HOST "X-A: a\rb\r\n" H_UP H_CONN H_KEY H_VER "\r\n",
	                      WS_E_HTTP_MALFORMED, 400);
	expect_http_error_str(RL H_HOST "X-A: ab\r\r\n" H_UP H_CONN H_KEY H_VER "\r\n",
	                      WS_E_HTTP_MALFORMED, 400);
	/* obs-fold (RFC 9112 §5.2), and whitespace before the first field or
	 * before a colon (§2.2, §5.1): request smuggling vectors. */
	expect_http_error_str(RL H_HOST "X-A: a\r\n b\r\n" H_UP H_CONN H_KEY H_VER "\r\n",
	                      WS_E_HTTP_MALFORMED, 400);
	expect_http_error_str(RL H_HOST "X-A: a\r\n\tb\r\n" H_UP H_CONN H_KEY H_VER "\r\n",
	                      WS_E_HTTP_MALFORMED, 400);
	expect_http_error_str(RL " " H_HOST H_UP H_CONN H_KEY H_VER "\r\n", WS_E_HTTP_MALFORMED, 400);
	expect_http_error_str(RL "Host : server.example.com\r\n" H_UP H_CONN H_KEY H_VER "\r\n",
	                      WS_E_HTTP_MALFORMED, 400);
	/* DEL and other controls in a value. */
	expect_http_error_str(RL H_HOST "X-A: a\x7f\r\n" H_UP H_CONN H_KEY H_VER "\r\n",
	                      WS_E_HTTP_MALFORMED, 400);
	expect_http_error_str(RL H_HOST "X-A: a\x01\r\n" H_UP H_CONN H_KEY H_VER "\r\n",
	                      WS_E_HTTP_MALFORMED, 400);
	/* High bytes (obs-text) in a value are allowed by RFC 9110 §5.5. */
	{
		static const char obs[] = RL H_HOST "X-A: caf\xc3\xa9\r\n" H_UP H_CONN H_KEY H_VER "\r\n";
		ws_conn c;
		ws_event ev;
		size_t used;
		ws_conn_init(&c, sizeof c, &cfg);
		CHECK_INT(ws_conn_recv(&c, (void *)obs, sizeof obs - 1, &used, &ev), WS_OK);
		CHECK_INT(ev.type, WS_EV_REQUEST);
	}
}

/* Keys and other fields that must appear exactly once. */
static void head_fields(void)
{
	expect_http_error_str(RL H_HOST H_UP H_CONN H_VER "\r\n", WS_E_HTTP_KEY, 400);
	expect_http_error_str(GOOD H_KEY "\r\n", WS_E_HTTP_KEY, 400);
	expect_http_error_str(GOOD "Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEA==\r\n\r\n", WS_E_HTTP_KEY, 400);
	expect_http_error_str(RL H_HOST H_UP H_CONN "Sec-WebSocket-Key: \r\n" H_VER "\r\n", WS_E_HTTP_KEY, 400);
	/* 15 bytes, 17 bytes, not canonical, not base64. */
	expect_http_error_str(RL H_HOST H_UP H_CONN "Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4P\r\n" H_VER "\r\n",
	                      WS_E_HTTP_KEY, 400);
	expect_http_error_str(RL H_HOST H_UP H_CONN "Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEBE=\r\n" H_VER
	                      "\r\n", WS_E_HTTP_KEY, 400);
	expect_http_error_str(RL H_HOST H_UP H_CONN "Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEB==\r\n" H_VER
	                      "\r\n", WS_E_HTTP_KEY, 400);
	expect_http_error_str(RL H_HOST H_UP H_CONN "Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PE!==\r\n" H_VER
	                      "\r\n", WS_E_HTTP_KEY, 400);
	expect_http_error_str(RL H_UP H_CONN H_KEY H_VER "\r\n", WS_E_HTTP_HOST, 400);
	expect_http_error_str(GOOD H_HOST "\r\n", WS_E_HTTP_HOST, 400);
	expect_http_error_str(RL H_HOST H_UP H_CONN H_KEY H_VER H_VER "\r\n", WS_E_HTTP_WS_VERSION, 426);
	expect_http_error_str(RL H_HOST H_UP H_CONN H_KEY "Sec-WebSocket-Version: 8\r\n\r\n",
	                      WS_E_HTTP_WS_VERSION, 426);
	expect_http_error_str(RL H_HOST H_CONN H_KEY H_VER "\r\n", WS_E_HTTP_UPGRADE, 400);
	expect_http_error_str(RL H_HOST "Upgrade: websocketx\r\n" H_CONN H_KEY H_VER "\r\n",
	                      WS_E_HTTP_UPGRADE, 400);
	expect_http_error_str(RL H_HOST H_UP "Connection: keep-alive\r\n" H_KEY H_VER "\r\n",
	                      WS_E_HTTP_CONNECTION, 400);
	expect_http_error_str("POST /chat HTTP/1.1\r\n" H_HOST H_UP H_CONN H_KEY H_VER "\r\n",
	                      WS_E_HTTP_METHOD, 400);
	expect_http_error_str("GET /chat HTTP/1.0\r\n" H_HOST H_UP H_CONN H_KEY H_VER "\r\n",
	                      WS_E_HTTP_VERSION, 400);
	expect_http_error_str("GET  /chat HTTP/1.1\r\n" H_HOST H_UP H_CONN H_KEY H_VER "\r\n",
	                      WS_E_HTTP_MALFORMED, 400);
	/* Before the request line: a bare LF; more empty lines than are
	 * ignored (RFC 9112 §2.2, test_handshake.c: leading_empty_lines). */
	expect_http_error_str("\n" GOOD "\r\n", WS_E_HTTP_MALFORMED, 400);
#define CRLF11 "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n"
	expect_http_error_str(CRLF11 GOOD "\r\n", WS_E_HTTP_MALFORMED, 400);
	expect_http_error_str(CRLF11 "\r\n", WS_E_HTTP_MALFORMED, 400);
#undef CRLF11
}

/* A sender dribbling a 100 KiB head (the limit raised to allow it) one byte
 * per call, each call presenting the whole head so far, as the read loop
 * does. The library's work is the bytes it searches: `scanned` must grow by
 * exactly one per call (linear in total, though the caller presents
 * n(n+1)/2 bytes), nothing is consumed, and the last byte completes it. */
static void slow_sender(void)
{
	enum { SIZE = 100 * 1024 };
	char *head = malloc(SIZE);
	ws_config cfg = cfg_of(WS_ROLE_SERVER, 0);
	size_t len = 0, used, searched = 0, calls = 0;
	unsigned long long presented = 0;
	uint32_t before;
	ws_conn c;
	ws_event ev;
	int bad = 0;

	len += (size_t)sprintf(head, "%s", GOOD);
	while (len + 64 < SIZE)
		len += (size_t)sprintf(head + len, "X-Pad: %040zu\r\n", len);
	len += (size_t)sprintf(head + len, "\r\n");
	cfg.max_head = SIZE;
	cfg.max_headers = 10000;
	ws_conn_init(&c, sizeof c, &cfg);
	for (size_t k = 1; k < len && !bad; k++) {
		int rc;
		before = c.u_.h.scanned;
		rc = ws_conn_recv(&c, head, k, &used, &ev);
		calls++;
		presented += k;
		searched += c.u_.h.scanned - before;
		if (rc != WS_OK || used || ev.type != WS_EV_NONE || c.u_.h.scanned != k) {
			CHECK_INT(rc, WS_OK);
			CHECK_INT(used, 0);
			CHECK_INT(c.u_.h.scanned, k);
			bad = 1;
		}
	}
	CHECK_INT(ws_conn_recv(&c, head, len, &used, &ev), WS_OK);
	CHECK_INT(ev.type, WS_EV_REQUEST);
	CHECK_INT(used, len);
	CHECK_INT(calls, len - 1);
	CHECK_INT(searched, len - 1);
	CHECK(presented > (unsigned long long)len * len / 3); /* what a rescan would cost */
	/* Dribbled past the limit: 431 at the byte that reaches it. */
	cfg.max_head = 4096;
	ws_conn_init(&c, sizeof c, &cfg);
	for (size_t k = 1; k <= 4096; k++) {
		int rc = ws_conn_recv(&c, head, k, &used, &ev);
		if (rc != (k < 4096 ? WS_OK : WS_E_HTTP_HEAD_TOO_BIG)) {
			CHECK_INT(k, 4096);
			break;
		}
	}
	CHECK_INT(ws_conn_error(&c), WS_E_HTTP_HEAD_TOO_BIG);
	free(head);
}

/* ---- frames ---- */

/* Bytes for a connection that starts OPEN; returns the error it ends in. */
static int feed_open(ws_config *cfg, ws_conn *c, uint8_t *buf, size_t len, counts *k)
{
	counts none = {0, 0, 0};
	ws_conn_init(c, sizeof *c, cfg);
	return drain(c, buf, len, k ? k : &none, NULL);
}

static void lengths_2e63(void)
{
	uint8_t b[32];
	ws_config cfg = cfg_of(WS_ROLE_SERVER, WS_CFG_START_OPEN);
	ws_config ccfg = cfg_of(WS_ROLE_CLIENT, WS_CFG_START_OPEN);
	ws_conn c;
	counts k = {0, 0, 0};

	/* 2^63: the top bit, refused from the header alone (no payload needed). */
	size_t n = t_unhex("82 ff 80 00 00 00 00 00 00 00 37 fa 21 3d", b, sizeof b);
	CHECK_INT(feed_open(&cfg, &c, b, n, &k), WS_E_LENGTH_TOP_BIT);
	CHECK_INT(k.consumed, 0);
	expect_failed(&c, WS_E_LENGTH_TOP_BIT, 1002);
	n = t_unhex("82 7f ff ff ff ff ff ff ff ff", b, sizeof b);
	CHECK_INT(feed_open(&ccfg, &c, b, n, NULL), WS_E_LENGTH_TOP_BIT);
	expect_failed(&c, WS_E_LENGTH_TOP_BIT, 1002);
	/* 2^63 - 1 is a valid length, and far beyond the default frame limit. */
	n = t_unhex("82 ff 7f ff ff ff ff ff ff ff 37 fa 21 3d", b, sizeof b);
	k.consumed = 0;
	CHECK_INT(feed_open(&cfg, &c, b, n, &k), WS_E_FRAME_TOO_BIG);
	CHECK_INT(k.consumed, 0);
	expect_failed(&c, WS_E_FRAME_TOO_BIG, 1009);
	/* Also with every limit at its maximum: the message limit catches it... */
	cfg.max_frame = UINT64_MAX;
	CHECK_INT(feed_open(&cfg, &c, b, n, NULL), WS_E_MESSAGE_TOO_BIG);
	expect_failed(&c, WS_E_MESSAGE_TOO_BIG, 1009);
	/* ...and with none, the header is accepted and the payload awaited. */
	cfg.max_message = UINT64_MAX;
	CHECK_INT(feed_open(&cfg, &c, b, n, &k), WS_OK);
	CHECK_INT(ws_conn_state(&c), WS_STATE_OPEN);
	/* Minimal encodings only: 16 bits for < 126... */
	cfg = cfg_of(WS_ROLE_SERVER, WS_CFG_START_OPEN);
	n = t_unhex("82 fe 00 05 37 fa 21 3d", b, sizeof b);
	CHECK_INT(feed_open(&cfg, &c, b, n, NULL), WS_E_LENGTH_NOT_MINIMAL);
	expect_failed(&c, WS_E_LENGTH_NOT_MINIMAL, 1002);
	n = t_unhex("82 ff 00 00 00 00 00 00 ff ff 37 fa 21 3d", b, sizeof b);
	CHECK_INT(feed_open(&cfg, &c, b, n, NULL), WS_E_LENGTH_NOT_MINIMAL);
	/* ...unless lenient. */
	cfg.flags |= WS_CFG_LENIENT_LENGTH;
	n = t_unhex("82 fe 00 01 37 fa 21 3d 00", b, sizeof b);
	{
		ws_event ev;
		counts kk = {0, 0, 0};
		ws_conn_init(&c, sizeof c, &cfg);
		CHECK_INT(drain(&c, b, n, &kk, &ev), WS_OK);
		CHECK_INT(kk.events, 1);
		CHECK_INT(ev.len, 1);
		CHECK_INT(ev.data[0], 0x37);
	}
}

/* A generator of frames, fed through a read loop with a small buffer: the
 * stream can be millions of frames long while memory stays constant. */
typedef struct gen {
	ws_conn *c;
	uint8_t buf[4096];
	size_t have;
	counts k;
	int rc;
	size_t frames;
	ws_event last;
} gen;

static void gen_push(gen *g, const uint8_t *p, size_t n)
{
	if (g->rc != WS_OK)
		return;
	if (g->have + n > sizeof g->buf) {
		size_t before = g->k.consumed, used;
		g->rc = drain(g->c, g->buf, g->have, &g->k, &g->last);
		used = g->k.consumed - before;
		memmove(g->buf, g->buf + used, g->have - used);
		g->have -= used;
		if (g->rc != WS_OK)
			return;
		CHECK(g->have + n <= sizeof g->buf);
	}
	memcpy(g->buf + g->have, p, n);
	g->have += n;
	g->frames++;
}

static int gen_end(gen *g)
{
	if (g->rc == WS_OK) {
		size_t before = g->k.consumed;
		g->rc = drain(g->c, g->buf, g->have, &g->k, &g->last);
		g->have -= g->k.consumed - before;
	}
	return g->rc;
}

static void million_empty_fragments(void)
{
	ws_config cfg = cfg_of(WS_ROLE_SERVER, WS_CFG_START_OPEN);
	gen *g = calloc(1, sizeof *g);
	ws_conn c;
	uint8_t f[16];
	size_t n;

	ws_conn_init(&c, sizeof c, &cfg);
	g->c = &c;
	n = put_frame(f, WS_OP_BINARY, NULL, 0, 1);
	gen_push(g, f, n);
	n = put_frame(f, WS_OP_CONTINUATION, NULL, 0, 1);
	for (size_t i = 1; i < 1000000 && g->rc == WS_OK; i++)
		gen_push(g, f, n);
	CHECK_INT(gen_end(g), WS_E_TOO_MANY_FRAGMENTS);
	/* The 65537th frame is refused: 65536 headers of 6 bytes were consumed. */
	CHECK_INT(g->k.consumed, 65536 * 6);
	/* One event: the (empty) beginning; empty middle fragments say nothing. */
	CHECK_INT(g->k.events, 1);
	CHECK_INT(g->last.flags, WS_EVF_MSG_BEGIN);
	/* Calls: a few per 4 KiB buffer, not one per frame. */
	CHECK(g->k.calls <= 3 * (65536 * 6 / 4096 + 2));
	expect_failed(&c, WS_E_TOO_MANY_FRAGMENTS, 1009);

	/* With the limit raised, a million of them end in one message. */
	cfg.max_fragments = 2000000;
	memset(g, 0, sizeof *g);
	ws_conn_init(&c, sizeof c, &cfg);
	g->c = &c;
	n = put_frame(f, WS_OP_TEXT, NULL, 0, 1);
	gen_push(g, f, n);
	n = put_frame(f, WS_OP_CONTINUATION, NULL, 0, 1);
	for (size_t i = 2; i < 1000000; i++)
		gen_push(g, f, n);
	n = put_frame(f, WS_FIN | WS_OP_CONTINUATION, "ok", 2, 1);
	gen_push(g, f, n);
	CHECK_INT(gen_end(g), WS_OK);
	CHECK_INT(g->frames, 1000000);
	CHECK_INT(g->k.consumed, 999999 * 6 + 8);
	CHECK_INT(g->k.events, 2);
	CHECK_INT(g->last.flags, WS_EVF_MSG_END);
	CHECK_INT(g->last.len, 2);
	CHECK(g->k.calls <= 3 * (1000000 * 6 / 4096 + 2));
	free(g);
}

/* Pings between the fragments of a message: each answered, the message whole. */
static void ping_flood(void)
{
	enum { PINGS = 20000 };
	ws_config cfg = cfg_of(WS_ROLE_SERVER, WS_CFG_START_OPEN);
	uint8_t *stream = malloc(16 + PINGS * 30), out[WS_CONTROL_FRAME_MAX];
	size_t len = 0, off = 0, used, n, pings = 0, calls = 0;
	char msg[16] = "";
	ws_conn c;
	ws_event ev;
	int bad = 0;

	len += put_frame(stream + len, WS_OP_TEXT, "Hel", 3, 1);
	for (int i = 0; i < PINGS; i++) {
		char p[24];
		int pl = sprintf(p, "ping %d", i);
		len += put_frame(stream + len, WS_FIN | WS_OP_PING, p, (size_t)pl, 1);
	}
	len += put_frame(stream + len, WS_FIN | WS_OP_CONTINUATION, "lo", 2, 1);
	ws_conn_init(&c, sizeof c, &cfg);
	for (;;) {
		int rc = ws_conn_recv(&c, stream + off, len - off, &used, &ev);
		calls++;
		off += used;
		if (rc != WS_OK) {
			CHECK_INT(rc, WS_OK);
			break;
		}
		if (ev.type == WS_EV_NONE)
			break;
		if (ev.type == WS_EV_PING) {
			char want[24];
			ws_frame_header h;
			int wl = sprintf(want, "ping %zu", pings);
			if (ev.len != (size_t)wl || memcmp(ev.data, want, ev.len) || ev.flags != WS_EVF_REPLY)
				bad++;
			CHECK_INT(ws_conn_reply(&c, &ev, out, sizeof out, &n), WS_OK);
			if (ws_frame_header_decode(&h, out, n, 0) != 2 || h.opcode != WS_OP_PONG ||
			    h.len != ev.len || memcmp(out + 2, want, ev.len))
				bad++;
			pings++;
		} else {
			CHECK(ev.type == WS_EV_TEXT);
			CHECK(strlen(msg) + ev.len < sizeof msg);
			strncat(msg, (const char *)ev.data, ev.len);
			if (ev.flags & WS_EVF_MSG_END)
				CHECK_STR(msg, "Hello");
		}
	}
	CHECK_INT(bad, 0);
	CHECK_INT(pings, PINGS);
	CHECK_INT(off, len);
	CHECK_STR(msg, "Hello");
	CHECK_INT(calls, PINGS + 3); /* one per event, and the last finding nothing */
	free(stream);
}

static void close_frames(void)
{
	ws_config cfg = cfg_of(WS_ROLE_SERVER, WS_CFG_START_OPEN);
	uint8_t pay[200], f[256];
	ws_conn c;
	size_t n;

	/* 124 bytes: code 1000 and a 122-byte reason whose last byte is not UTF-8. */
	pay[0] = 0x03;
	pay[1] = 0xe8;
	memset(pay + 2, 'r', 121);
	pay[123] = 0xff;
	n = put_frame(f, WS_FIN | WS_OP_CLOSE, pay, 124, 1);
	CHECK_INT(feed_open(&cfg, &c, f, n, NULL), WS_E_CLOSE_UTF8);
	expect_failed(&c, WS_E_CLOSE_UTF8, 1007);
	/* A reason ending inside a sequence, and a surrogate. */
	memcpy(pay + 2, "ok \xe2\x82", 5);
	n = put_frame(f, WS_FIN | WS_OP_CLOSE, pay, 7, 1);
	CHECK_INT(feed_open(&cfg, &c, f, n, NULL), WS_E_CLOSE_UTF8);
	memcpy(pay + 2, "\xed\xa0\x80", 3);
	n = put_frame(f, WS_FIN | WS_OP_CLOSE, pay, 5, 1);
	CHECK_INT(feed_open(&cfg, &c, f, n, NULL), WS_E_CLOSE_UTF8);
	/* The same reason valid: 125 bytes is the most a close may carry. */
	memset(pay + 2, 'r', 123);
	n = put_frame(f, WS_FIN | WS_OP_CLOSE, pay, 125, 1);
	{
		counts k = {0, 0, 0};
		ws_event ev;
		ws_conn_init(&c, sizeof c, &cfg);
		CHECK_INT(drain(&c, f, n, &k, &ev), WS_OK);
		CHECK_INT(ev.type, WS_EV_CLOSE);
		CHECK_INT(ev.code, 1000);
		CHECK_INT(ev.len, 123);
	}
	/* 126 bytes (16-bit length): too long for a control frame, refused from
	 * the first two bytes. */
	memset(pay + 2, 'r', 124);
	n = put_frame(f, WS_FIN | WS_OP_CLOSE, pay, 126, 1);
	CHECK_INT(f[1], 0x80 | 126);
	CHECK_INT(feed_open(&cfg, &c, f, 2, NULL), WS_E_CONTROL_TOO_LONG);
	expect_failed(&c, WS_E_CONTROL_TOO_LONG, 1002);
	CHECK_INT(feed_open(&cfg, &c, f, n, NULL), WS_E_CONTROL_TOO_LONG);
	/* One byte of payload; codes that may not be on the wire. */
	n = put_frame(f, WS_FIN | WS_OP_CLOSE, pay, 1, 1);
	CHECK_INT(feed_open(&cfg, &c, f, n, NULL), WS_E_CLOSE_LENGTH);
	expect_failed(&c, WS_E_CLOSE_LENGTH, 1002);
	{
		static const unsigned bad[] = {0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535};
		for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
			pay[0] = (uint8_t)(bad[i] >> 8);
			pay[1] = (uint8_t)bad[i];
			n = put_frame(f, WS_FIN | WS_OP_CLOSE, pay, 2, 1);
			CHECK_INT(feed_open(&cfg, &c, f, n, NULL), WS_E_CLOSE_CODE);
		}
		expect_failed(&c, WS_E_CLOSE_CODE, 1002);
	}
	/* Anything after the close frame. */
	n = put_frame(f, WS_FIN | WS_OP_CLOSE, "\x03\xe8", 2, 1);
	n += put_frame(f + n, WS_FIN | WS_OP_PING, "", 0, 1);
	CHECK_INT(feed_open(&cfg, &c, f, n, NULL), WS_E_DATA_AFTER_CLOSE);
}

/* The other things a peer can get wrong, each with its close code. */
static void protocol_violations(void)
{
	static const struct {
		const char *hex;
		int role, err;
		unsigned code;
	} v[] = {
		{"81 05 48 65 6c 6c 6f", WS_ROLE_SERVER, WS_E_MASK_REQUIRED, 1002},
		{"81 85 37 fa 21 3d 7f 9f 4d 51 58", WS_ROLE_CLIENT, WS_E_MASK_UNEXPECTED, 1002},
		{"c1 80 00 00 00 00", WS_ROLE_SERVER, WS_E_RSV, 1002},
		{"a1 80 00 00 00 00", WS_ROLE_SERVER, WS_E_RSV, 1002},
		{"91 80 00 00 00 00", WS_ROLE_SERVER, WS_E_RSV, 1002},
		{"83 80 00 00 00 00", WS_ROLE_SERVER, WS_E_OPCODE, 1002},
		{"87 80 00 00 00 00", WS_ROLE_SERVER, WS_E_OPCODE, 1002},
		{"8b 80 00 00 00 00", WS_ROLE_SERVER, WS_E_OPCODE, 1002},
		{"8f 80 00 00 00 00", WS_ROLE_SERVER, WS_E_OPCODE, 1002},
		{"09 80 00 00 00 00", WS_ROLE_SERVER, WS_E_CONTROL_FRAGMENTED, 1002},
		{"80 80 00 00 00 00", WS_ROLE_SERVER, WS_E_UNEXPECTED_CONTINUATION, 1002},
		{"01 80 00 00 00 00 81 80 00 00 00 00", WS_ROLE_SERVER, WS_E_EXPECTED_CONTINUATION, 1002},
		{"81 82 00 00 00 00 c0 af", WS_ROLE_SERVER, WS_E_UTF8, 1007},
		{"01 81 00 00 00 00 e2 80 81 00 00 00 00 28", WS_ROLE_SERVER, WS_E_UTF8, 1007},
		{"01 81 00 00 00 00 e2 80 80 00 00 00 00", WS_ROLE_SERVER, WS_E_UTF8, 1007},
		{"81 01 ff", WS_ROLE_CLIENT, WS_E_UTF8, 1007},
	};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		ws_config cfg = cfg_of(v[i].role, WS_CFG_START_OPEN);
		uint8_t b[64];
		ws_conn c;
		size_t n = t_unhex(v[i].hex, b, sizeof b);
		int rc = feed_open(&cfg, &c, b, n, NULL);
		if (rc != v[i].err)
			t_fail(__FILE__, __LINE__, "case %zu (%s): %s, want %s", i, v[i].hex,
			       ws_status_name(rc), ws_status_name(v[i].err));
		else
			expect_failed(&c, v[i].err, v[i].code);
	}
}

/* A text message whose valid prefix is delivered before the error, then the
 * error, on the next call: the application never sees an invalid byte. */
static void utf8_prefix_then_error(void)
{
	ws_config cfg = cfg_of(WS_ROLE_SERVER, WS_CFG_START_OPEN);
	uint8_t f[64];
	size_t n = put_frame(f, WS_FIN | WS_OP_TEXT, "valid \xce\xba then \xff!", 16, 1), used;
	ws_conn c;
	ws_event ev;

	ws_conn_init(&c, sizeof c, &cfg);
	CHECK_INT(ws_conn_recv(&c, f, n, &used, &ev), WS_OK);
	CHECK_INT(ev.type, WS_EV_TEXT);
	CHECK_INT(ev.len, 14);
	CHECK_MEM(ev.data, "valid \xce\xba then ", 14);
	CHECK_INT(ev.flags, WS_EVF_MSG_BEGIN);
	CHECK_INT(ws_conn_recv(&c, f + used, n - used, &used, &ev), WS_E_UTF8);
	expect_failed(&c, WS_E_UTF8, 1007);
}

/* A message just over the limit, sent as 16 fragments of 1 MiB: refused at
 * the header of the fragment that would cross it, after streaming 16 MiB
 * through a 4 KiB buffer. */
static void message_limit_streamed(void)
{
	ws_config cfg = cfg_of(WS_ROLE_SERVER, WS_CFG_START_OPEN);
	gen *g = calloc(1, sizeof *g);
	static uint8_t chunk[1024];
	uint8_t h[16];
	ws_conn c;
	size_t n;

	ws_conn_init(&c, sizeof c, &cfg);
	g->c = &c;
	for (int i = 0; i < 17 && g->rc == WS_OK; i++) {
		n = ws_frame_header_encode(h, 0, i ? WS_OP_CONTINUATION : WS_OP_BINARY, 1 << 20, key);
		gen_push(g, h, n);
		for (int j = 0; j < 1024 && g->rc == WS_OK; j++)
			gen_push(g, chunk, sizeof chunk);
	}
	CHECK_INT(gen_end(g), WS_E_MESSAGE_TOO_BIG);
	CHECK_INT(g->k.consumed, 16 * (14 + (1 << 20)));
	CHECK(g->k.calls < 3 * (16 * (1 << 20) / 4096));
	expect_failed(&c, WS_E_MESSAGE_TOO_BIG, 1009);
	free(g);
}

/* ---- a careless or hostile caller, and the corners of the status table ---- */

static int fail_rand(void *ctx, void *buf, size_t len)
{
	(void)ctx, (void)buf, (void)len;
	return -1;
}

static int stop_at_ping(void *ud, ws_conn *c, ws_event *ev)
{
	(void)c;
	++*(int *)ud;
	return ev->type == WS_EV_PING ? 42 : 0;
}

static void careless_caller(void)
{
	ws_config cfg = cfg_of(WS_ROLE_CLIENT, WS_CFG_START_OPEN);
	uint8_t out[256], f[64];
	size_t n, used;
	ws_conn c;
	ws_event ev;

	CHECK_INT(ws_conn_init(NULL, sizeof c, &cfg), WS_E_ARG);
	CHECK_INT(ws_conn_init(&c, sizeof c, NULL), WS_E_ARG);
	/* A rand callback that fails: the frame is not written and nothing
	 * changes (a fragmented message may still be continued). */
	ws_conn_init(&c, sizeof c, &cfg);
	CHECK_INT(ws_conn_send(&c, WS_OP_TEXT, WS_SEND_MORE, "a", 1, out, sizeof out, &n), WS_OK);
	cfg.rand = fail_rand;
	CHECK_INT(ws_conn_send(&c, WS_OP_CONTINUATION, 0, "b", 1, out, sizeof out, &n), WS_E_RAND);
	CHECK_INT(ws_conn_send_header(&c, WS_OP_CONTINUATION, 0, 1, out, sizeof out, &n), WS_E_RAND);
	CHECK_INT(ws_conn_close(&c, 1000, "", 0, out, sizeof out, &n), WS_E_RAND);
	CHECK_INT(ws_conn_state(&c), WS_STATE_OPEN);
	cfg.rand = t_rand;
	CHECK_INT(ws_conn_send(&c, WS_OP_CONTINUATION, 0, "b", 1, out, sizeof out, &n), WS_OK);
	/* A close reason that ends inside a UTF-8 sequence. */
	CHECK_INT(ws_conn_close(&c, 1000, "ok \xe2\x82", 5, out, sizeof out, &n), WS_E_ARG);
	/* After the transport ended, bytes are ignored, not an error. */
	CHECK_INT(ws_conn_recv_eof(&c, &ev), WS_OK);
	CHECK_INT(ev.type, WS_EV_CLOSE);
	CHECK_INT(ev.code, WS_CLOSE_ABNORMAL);
	CHECK_INT(ws_conn_recv(&c, f, t_unhex("81 01 41", f, sizeof f), &used, &ev), WS_OK);
	CHECK_INT(used, 0);
	CHECK_INT(ev.type, WS_EV_NONE);
	/* A failed connection: close, reply and send give the sticky error or nothing. */
	ws_conn_init(&c, sizeof c, &cfg);
	n = t_unhex("89 01 41 81 81 00 00 00 00 41", f, sizeof f);
	CHECK_INT(ws_conn_recv(&c, f, n, &used, &ev), WS_OK);
	CHECK_INT(ev.type, WS_EV_PING);
	CHECK_INT(ws_conn_recv(&c, f + used, n - used, &used, &ev), WS_E_MASK_UNEXPECTED);
	CHECK_INT(ws_conn_close(&c, 1000, "", 0, out, sizeof out, &n), WS_E_MASK_UNEXPECTED);
	ev.type = WS_EV_PING;
	ev.flags = WS_EVF_REPLY;
	ev.data = f + 2;
	ev.len = 1;
	CHECK_INT(ws_conn_reply(&c, &ev, out, sizeof out, &n), WS_OK);
	CHECK_INT(n, 0);
	/* A forged event with the reply flag that is neither a ping nor a close
	 * gets no reply. */
	ws_conn_init(&c, sizeof c, &cfg);
	ev.type = WS_EV_TEXT;
	ev.flags = WS_EVF_REPLY;
	CHECK_INT(ws_conn_reply(&c, &ev, out, sizeof out, &n), WS_OK);
	CHECK_INT(n, 0);
	/* Connect options with bytes a head may not carry. */
	{
		static const char *const hosts[] = {"caf\xc3\xa9.example", "a b", "a\r\nX: y", ""};
		ws_connect_opts o = {NULL, NULL, NULL, NULL, NULL};
		cfg.flags = 0;
		for (size_t i = 0; i < sizeof hosts / sizeof hosts[0]; i++) {
			o.host = hosts[i];
			ws_conn_init(&c, sizeof c, &cfg);
			CHECK_INT(ws_conn_connect(&c, &o, out, sizeof out, &n), WS_E_ARG);
		}
		o.host = "a";
		o.target = "/\x7f";
		ws_conn_init(&c, sizeof c, &cfg);
		CHECK_INT(ws_conn_connect(&c, &o, out, sizeof out, &n), WS_E_ARG);
		cfg.flags = WS_CFG_START_OPEN;
	}
	/* A client that receives before connecting: a usage error, not sticky. */
	cfg.flags = 0;
	ws_conn_init(&c, sizeof c, &cfg);
	CHECK_INT(ws_conn_recv(&c, f, 3, &used, &ev), WS_E_STATE);
	CHECK_INT(ws_conn_error(&c), WS_OK);
	CHECK_INT(ws_conn_state(&c), WS_STATE_HANDSHAKE);
	/* The callback shim: a callback's nonzero return stops it and is
	 * returned; so is an error, with the bytes consumed before it. */
	{
		ws_config scfg = cfg_of(WS_ROLE_SERVER, WS_CFG_START_OPEN);
		int calls = 0;
		ws_conn_init(&c, sizeof c, &scfg);
		n = put_frame(f, WS_FIN | WS_OP_TEXT, "hi", 2, 1);
		n += put_frame(f + n, WS_FIN | WS_OP_PING, "p", 1, 1);
		n += put_frame(f + n, WS_FIN | WS_OP_TEXT, "x", 1, 0); /* unmasked: an error */
		CHECK_INT(ws_conn_dispatch(&c, f, n, &used, stop_at_ping, &calls), 42);
		CHECK_INT(calls, 2);
		CHECK_INT(used, 8 + 7);
		CHECK_INT(ws_conn_dispatch(&c, f + used, n - used, &used, stop_at_ping, &calls),
		          WS_E_MASK_REQUIRED);
		CHECK_INT(used, 0);
		CHECK_INT(calls, 2);
	}
	/* A head presented shorter than before (the caller dropped bytes): it
	 * is searched again from the start, not misread. */
	{
		static const char req[] = GOOD "\r\n";
		ws_config scfg = cfg_of(WS_ROLE_SERVER, 0);
		ws_conn_init(&c, sizeof c, &scfg);
		CHECK_INT(ws_conn_recv(&c, (void *)req, sizeof req - 3, &used, &ev), WS_OK);
		CHECK_INT(ev.type, WS_EV_NONE);
		CHECK_INT(ws_conn_recv(&c, (void *)req, 10, &used, &ev), WS_OK);
		CHECK_INT(ev.type, WS_EV_NONE);
		CHECK_INT(ws_conn_recv(&c, (void *)req, sizeof req - 1, &used, &ev), WS_OK);
		CHECK_INT(ev.type, WS_EV_REQUEST);
		CHECK_INT(used, sizeof req - 1);
	}
}

/* WS_CFG_NO_UTF8_CHECK lets a text message end inside a sequence. */
static void no_utf8_check(void)
{
	ws_config cfg = cfg_of(WS_ROLE_SERVER, WS_CFG_START_OPEN | WS_CFG_NO_UTF8_CHECK);
	uint8_t f[64];
	size_t n = put_frame(f, WS_OP_TEXT, "\xe2", 1, 1);
	counts k = {0, 0, 0};
	ws_conn c;
	ws_event ev;

	n += put_frame(f + n, WS_FIN | WS_OP_CONTINUATION, "", 0, 1);
	n += put_frame(f + n, WS_FIN | WS_OP_CLOSE, "\x03\xe8\xff", 3, 1);
	ws_conn_init(&c, sizeof c, &cfg);
	CHECK_INT(drain(&c, f, n, &k, &ev), WS_OK);
	CHECK_INT(k.events, 3);
	CHECK_INT(ev.type, WS_EV_CLOSE);
	CHECK_INT(ev.len, 1);
}

/* Status lines a server may not send, and versions a request may not have. */
static void start_lines(void)
{
	static const struct {
		const char *line;
		int err; /* 0: REJECTED */
	} resp[] = {
		{"HTTP/1.1 1a1 Odd", WS_E_HTTP_STATUS},
		{"HTTP/1.1 101 Switching\x01Protocols", WS_E_HTTP_STATUS},
		{"HTTP/1.1 101 Switching\x7fProtocols", WS_E_HTTP_STATUS},
		{"HTTP/1.1 600 Big", WS_E_HTTP_STATUS},
		{"HTTP/1.1 099 Small", WS_E_HTTP_STATUS},
		{"HTTP/2.0 101 Switching Protocols", WS_E_HTTP_STATUS},
		{"HTTP/1.0 101 Switching Protocols", WS_E_HTTP_STATUS},
		{"HTTP/1.1  101 Switching Protocols", WS_E_HTTP_STATUS},
		{"HTTP/1.1 101", WS_E_HTTP_UPGRADE}, /* no reason: tolerated */
		{"HTTP/1.1 101\tX", WS_E_HTTP_STATUS},
		{"HTTP/1.0 403 Forbidden", 0},
		{"HTTP/1.1 404 \tNot Found", 0},
	};
	ws_config ccfg = cfg_of(WS_ROLE_CLIENT, 0);
	ws_connect_opts o = {"a", NULL, NULL, NULL, NULL};

	for (size_t i = 0; i < sizeof resp / sizeof resp[0]; i++) {
		char head[256];
		uint8_t req[512];
		size_t n, used;
		ws_conn c;
		ws_event ev;
		int rc, len = snprintf(head, sizeof head, "%s\r\nX: y\r\n\r\n", resp[i].line);
		ws_conn_init(&c, sizeof c, &ccfg);
		ws_conn_connect(&c, &o, req, sizeof req, &n);
		rc = ws_conn_recv(&c, head, (size_t)len, &used, &ev);
		if (rc != resp[i].err || (!rc && ev.type != WS_EV_REJECTED))
			t_fail(__FILE__, __LINE__, "response %zu \"%s\": %s, want %s", i, resp[i].line,
			       ws_status_name(rc), ws_status_name(resp[i].err));
	}
	expect_http_error_str("GET /ch\x80t HTTP/1.1\r\n" H_HOST H_UP H_CONN H_KEY H_VER "\r\n",
	                      WS_E_HTTP_MALFORMED, 400);
	expect_http_error_str("GET /chat HTTP/1.10\r\n" H_HOST H_UP H_CONN H_KEY H_VER "\r\n",
	                      WS_E_HTTP_MALFORMED, 400);
	expect_http_error_str("GET /chat HTTP/x.1\r\n" H_HOST H_UP H_CONN H_KEY H_VER "\r\n",
	                      WS_E_HTTP_MALFORMED, 400);
	expect_http_error_str("GET /chat HTTP/1.x\r\n" H_HOST H_UP H_CONN H_KEY H_VER "\r\n",
	                      WS_E_HTTP_MALFORMED, 400);
	expect_http_error_str("GET /chat HTTP/1,1\r\n" H_HOST H_UP H_CONN H_KEY H_VER "\r\n",
	                      WS_E_HTTP_MALFORMED, 400);
	expect_http_error_str("GET /chat http/1.1\r\n" H_HOST H_UP H_CONN H_KEY H_VER "\r\n",
	                      WS_E_HTTP_MALFORMED, 400);
	expect_http_error_str("GET /chat HTTP/2.0\r\n" H_HOST H_UP H_CONN H_KEY H_VER "\r\n",
	                      WS_E_HTTP_VERSION, 400);
	expect_http_error_str("GET /chat\r\n" H_HOST H_UP H_CONN H_KEY H_VER "\r\n", WS_E_HTTP_MALFORMED, 400);
	expect_http_error_str("G(T /chat HTTP/1.1\r\n" H_HOST H_UP H_CONN H_KEY H_VER "\r\n",
	                      WS_E_HTTP_MALFORMED, 400);
}

/* Lists and fields built to trip an iterator: quotes, escapes at the very
 * end, empty elements, whitespace only. */
static void iterator_corners(void)
{
	static const struct {
		const char *list;
		const char *items; /* joined with '|' */
	} v[] = {
		{"", ""},
		{" , ,\t,", ""},
		{"a", "a"},
		{" a ,b\t, c ", "a|b|c"},
		{"a;q=\"x,y\", b", "a;q=\"x,y\"|b"},
		{"\"a\\\"b,c\", d", "\"a\\\"b,c\"|d"},
		{"\"unterminated, x", "\"unterminated, x"},
		{"\"ends in a backslash\\", "\"ends in a backslash\\"},
		{"x\\", "x\\"},
	};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		ws_str list = {v[i].list, strlen(v[i].list)}, item;
		size_t pos = 0;
		char got[128] = "";
		while (ws_list_next(list, &pos, &item)) {
			if (got[0])
				strcat(got, "|");
			strncat(got, item.ptr, item.len);
		}
		CHECK_STR(got, v[i].items);
	}
	/* Header fields: a line without a colon is skipped, bare LF and a last
	 * line without its end are tolerated, the empty line ends them. */
	{
		static const char head[] = "GET / HTTP/1.1\r\nno colon here\r\nA:1\nB :  2 \r\n\r\nC: 3\r\n";
		ws_str h = {head, sizeof head - 1}, name, value;
		size_t pos = 0;
		CHECK_INT(ws_header_next(h, &pos, &name, &value), 1);
		CHECK(name.len == 1 && name.ptr[0] == 'A' && value.len == 1 && value.ptr[0] == '1');
		CHECK_INT(ws_header_next(h, &pos, &name, &value), 1);
		CHECK(name.len == 2 && value.len == 1 && value.ptr[0] == '2');
		CHECK_INT(ws_header_next(h, &pos, &name, &value), 0);
		CHECK_INT(ws_header_has_token(h, "c", "3"), 0);
		CHECK_INT(ws_header_has_token(h, "a", "1"), 1);
	}
	{
		static const char head[] = "start\r\nX: a\r\nX: b, c";
		ws_str h = {head, sizeof head - 1};
		CHECK_INT(ws_header_has_token(h, "x", "C"), 1);
		CHECK_INT(ws_header_has_token(h, "x", "d"), 0);
	}
	{
		ws_str h = {"", 0}, name, value;
		size_t pos = 0;
		CHECK_INT(ws_header_next(h, &pos, &name, &value), 0);
	}
}

/* Every row of the status table through every accessor, and values that are
 * in no row. */
static void status_table_rows(void)
{
#define ROW_(name, value, close, http, text) \
	CHECK_STR(ws_status_name(value), #name); \
	CHECK_STR(ws_status_str(value), text); \
	CHECK_INT(ws_status_close_code(value), close); \
	CHECK_INT(ws_status_http(value), http); \
	CHECK((value) >= 0 || (close) == 0 || (close) == 1002 || (close) == 1007 || (close) == 1009 || \
	      (close) == 1011); \
	CHECK((http) == 0 || (http) == 400 || (http) == 426 || (http) == 431);
	WS_STATUS_TABLE(ROW_)
#undef ROW_
	static const int none[] = {1, 7, -7, -99, -119, -199, -299, -1000, 1 << 30};
	for (size_t i = 0; i < sizeof none / sizeof none[0]; i++) {
		CHECK_STR(ws_status_name(none[i]), "UNKNOWN");
		CHECK_STR(ws_status_str(none[i]), "unknown status");
		CHECK_INT(ws_status_close_code(none[i]), 0);
		CHECK_INT(ws_status_http(none[i]), 0);
	}
}

/* ---- permessage-deflate negotiation with hostile offers and responses ---- */

static void *h_alloc(void *ctx, size_t n)
{
	long *budget = ctx;
	if (*budget == 0)
		return NULL;
	if (*budget > 0)
		--*budget;
	return malloc(n);
}

static void h_free(void *ctx, void *p)
{
	(void)ctx;
	free(p);
}

static void extension_offers(void)
{
	static const struct {
		const char *offer;
		int ok;
		ws_deflate_params p; /* snct, cnct, smwb, cmwb */
	} v[] = {
		{"permessage-deflate", 1, {0, 0, 15, 15}},
		{"permessage-deflate; client_max_window_bits", 1, {0, 0, 15, 15}},
		{"permessage-deflate; server_max_window_bits=10", 1, {0, 0, 10, 15}},
		{"permessage-deflate; server_max_window_bits=\"10\"", 1, {0, 0, 10, 15}},
		{"permessage-deflate; server_max_window_bits=\"1\\0\"", 1, {0, 0, 10, 15}},
		{"permessage-deflate ;client_max_window_bits = 9", 1, {0, 0, 15, 9}},
		{"PerMessage-Deflate; Client_No_Context_Takeover", 1, {0, 1, 15, 15}},
		{"permessage-deflate; x=1, permessage-deflate; server_no_context_takeover", 1, {1, 0, 15, 15}},
		{"x-webkit-deflate-frame, permessage-deflate; client_no_context_takeover", 1, {0, 1, 15, 15}},
		{", ,permessage-deflate", 1, {0, 0, 15, 15}},
		{"permessage-deflate; server_max_window_bits=7", 0, {0, 0, 0, 0}},
		{"permessage-deflate; server_max_window_bits=16", 0, {0, 0, 0, 0}},
		{"permessage-deflate; server_max_window_bits=010", 0, {0, 0, 0, 0}},
		{"permessage-deflate; server_max_window_bits", 0, {0, 0, 0, 0}},
		{"permessage-deflate; server_max_window_bits=\"123456\"", 0, {0, 0, 0, 0}},
		{"permessage-deflate; server_max_window_bits=\"1 0\"", 0, {0, 0, 0, 0}},
		{"permessage-deflate; client_no_context_takeover=1", 0, {0, 0, 0, 0}},
		{"permessage-deflate; server_no_context_takeover; server_no_context_takeover", 0, {0, 0, 0, 0}},
		{"permessage-deflate; client_max_window_bits=9; client_max_window_bits", 0, {0, 0, 0, 0}},
		{"permessage-deflate; a=\"unterminated", 0, {0, 0, 0, 0}},
		{"permessage-deflate; a=\"ends in a backslash\\", 0, {0, 0, 0, 0}},
		{"permessage-deflate;", 0, {0, 0, 0, 0}},
		{"permessage-deflate; a=", 0, {0, 0, 0, 0}},
		{"permessage-deflate x", 0, {0, 0, 0, 0}},
		{"@bad, permessage-deflate", 0, {0, 0, 0, 0}},
		{"x-other", 0, {0, 0, 0, 0}},
		{"", 0, {0, 0, 0, 0}},
	};
	ws_deflate_config d;
	ws_deflate_config_init(&d);
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		ws_str o = {v[i].offer, strlen(v[i].offer)};
		ws_deflate_params p;
		int ok = ws_deflate_negotiate(&d, o, &p);
		if (ok != v[i].ok || (ok && (p.server_no_context_takeover != v[i].p.server_no_context_takeover ||
		                             p.client_no_context_takeover != v[i].p.client_no_context_takeover ||
		                             p.server_max_window_bits != v[i].p.server_max_window_bits ||
		                             p.client_max_window_bits != v[i].p.client_max_window_bits)))
			t_fail(__FILE__, __LINE__, "offer \"%s\": %d {%d %d %d %d}", v[i].offer, ok,
			       p.server_no_context_takeover, p.client_no_context_takeover,
			       p.server_max_window_bits, p.client_max_window_bits);
	}
	/* What a server insists on is granted whatever the offer. */
	d.server_no_context_takeover = 1;
	d.client_max_window_bits = 10;
	{
		ws_str o = {"permessage-deflate; client_max_window_bits", 42};
		ws_deflate_params p;
		CHECK_INT(ws_deflate_negotiate(&d, o, &p), 1);
		CHECK_INT(p.server_no_context_takeover, 1);
		CHECK_INT(p.client_max_window_bits, 10);
		o.ptr = "permessage-deflate";
		o.len = 18;
		CHECK_INT(ws_deflate_negotiate(&d, o, &p), 1);
		CHECK_INT(p.client_max_window_bits, 15); /* it did not say it can be limited */
	}
}

static void extension_responses(void)
{
	static const struct {
		const char *resp;
		int ok;
	} v[] = {
		{"permessage-deflate", 1},
		{"permessage-deflate; server_max_window_bits=9; client_max_window_bits=10", 1},
		{"permessage-deflate; client_max_window_bits", 0},
		{"permessage-deflate, permessage-deflate", 0},
		{"permessage-deflate; x=1", 0},
		{"x-other", 0},
		{"x-other, permessage-deflate", 0},
		{"", 0},
	};
	ws_deflate_config d;
	ws_deflate_params p;
	ws_deflate_config_init(&d);
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		ws_str r = {v[i].resp, strlen(v[i].resp)};
		if (ws_deflate_check_response(&d, r, &p) != v[i].ok)
			t_fail(__FILE__, __LINE__, "response \"%s\": want %d", v[i].resp, v[i].ok);
	}
	/* Asked for, so it must be granted: no context takeover, a smaller window. */
	{
		ws_str r = {"permessage-deflate", 18};
		d.server_no_context_takeover = 1;
		CHECK_INT(ws_deflate_check_response(&d, r, &p), 0);
		d.server_no_context_takeover = 0;
		d.server_max_window_bits = 10;
		CHECK_INT(ws_deflate_check_response(&d, r, &p), 0);
		r.ptr = "permessage-deflate; server_max_window_bits=11";
		r.len = strlen(r.ptr);
		CHECK_INT(ws_deflate_check_response(&d, r, &p), 0);
		r.ptr = "permessage-deflate; server_max_window_bits=10";
		r.len = strlen(r.ptr);
		CHECK_INT(ws_deflate_check_response(&d, r, &p), 1);
		d.client_max_window_bits = 10;
		r.ptr = "permessage-deflate; server_max_window_bits=10; client_max_window_bits=12";
		r.len = strlen(r.ptr);
		CHECK_INT(ws_deflate_check_response(&d, r, &p), 0);
	}
}

/* Through the handshakes: a server declines what it cannot accept (and when
 * the allocator fails) without failing; a client refuses an extension it did
 * not offer or cannot accept. */
static void extension_handshakes(void)
{
	static uint8_t ibuf[1024];
	static const char *const bad_offers[] = {
		"permessage-deflate; server_max_window_bits=7",
		"permessage-deflate; a=\"unterminated",
		"x-other",
	};
	long budget = -1;
	ws_deflate_config d;
	ws_config cfg = cfg_of(WS_ROLE_SERVER, 0);
	char req[512], out[512];
	size_t n, used;
	ws_conn c;
	ws_event ev;

	ws_deflate_config_init(&d);
	d.alloc.alloc = h_alloc;
	d.alloc.free = h_free;
	d.alloc.ctx = &budget;
	d.inflate_buf = ibuf;
	d.inflate_cap = sizeof ibuf;
	cfg.deflate = &d;
	for (size_t i = 0; i < sizeof bad_offers / sizeof bad_offers[0]; i++) {
		int len = snprintf(req, sizeof req, GOOD "Sec-WebSocket-Extensions: %s\r\n\r\n", bad_offers[i]);
		ws_conn_init(&c, sizeof c, &cfg);
		CHECK_INT(ws_conn_recv(&c, req, (size_t)len, &used, &ev), WS_OK);
		CHECK_INT(ev.type, WS_EV_REQUEST);
		CHECK_INT(ws_conn_accept(&c, NULL, out, sizeof out, &n), WS_OK);
		out[n < sizeof out ? n : sizeof out - 1] = 0;
		CHECK(!strstr(out, "Sec-WebSocket-Extensions"));
		ws_conn_release(&c);
	}
	/* A good offer, but no memory: accepted without the extension. */
	{
		int len = snprintf(req, sizeof req, GOOD "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n");
		budget = 0;
		ws_conn_init(&c, sizeof c, &cfg);
		CHECK_INT(ws_conn_recv(&c, req, (size_t)len, &used, &ev), WS_OK);
		CHECK_INT(ws_conn_accept(&c, NULL, out, sizeof out, &n), WS_OK);
		out[n < sizeof out ? n : sizeof out - 1] = 0;
		CHECK(!strstr(out, "Sec-WebSocket-Extensions"));
		/* RSV1 is then a protocol error. */
		n = put_frame((uint8_t *)req, WS_FIN | WS_RSV1 | WS_OP_TEXT, "x", 1, 1);
		CHECK_INT(ws_conn_recv(&c, req, n, &used, &ev), WS_E_RSV);
		ws_conn_release(&c);
		budget = -1;
	}
	/* A client whose rand callback fails while compressing: nothing sent. */
	{
		ws_config ccfg = cfg_of(WS_ROLE_CLIENT, WS_CFG_START_OPEN);
		ws_deflate_params p = {0, 0, 15, 15};
		static uint8_t msg[200];
		uint8_t big[WS_SEND_SIZE_COMPRESSED(200)];
		ccfg.deflate = &d;
		ws_conn_init(&c, sizeof c, &ccfg);
		CHECK_INT(ws_conn_enable_deflate(&c, &p), ws_deflate_available() ? WS_OK : WS_E_STATE);
		ccfg.rand = fail_rand;
		CHECK_INT(ws_conn_send(&c, WS_OP_BINARY, 0, msg, sizeof msg, big, sizeof big, &n), WS_E_RAND);
		ccfg.rand = t_rand;
		CHECK_INT(ws_conn_send(&c, WS_OP_BINARY, 0, msg, sizeof msg, big, sizeof big, &n), WS_OK);
		CHECK(!ws_deflate_available() || (big[0] & WS_RSV1));
		ws_conn_release(&c);
	}
	/* A shared compressor needs an allocator that works. */
	{
		ws_deflate_shared *sh = NULL;
		ws_deflate_config nd;
		ws_deflate_config_init(&nd);
		if (ws_deflate_available()) {
			sh = (ws_deflate_shared *)&nd;
			CHECK_INT(ws_deflate_shared_new(&nd, &sh), WS_E_ARG); /* no allocator */
			CHECK(sh == NULL);
			nd.alloc = d.alloc;
			nd.alloc.free = NULL;
			CHECK_INT(ws_deflate_shared_new(&nd, &sh), WS_E_ARG);
			nd.alloc = d.alloc;
			budget = 0;
			CHECK_INT(ws_deflate_shared_new(&nd, &sh), WS_E_ALLOC);
			budget = 1;
			sh = (ws_deflate_shared *)&nd;
			CHECK_INT(ws_deflate_shared_new(&nd, &sh), WS_E_ALLOC);
			CHECK(sh == NULL);
			budget = -1;
			CHECK_INT(ws_deflate_shared_new(&nd, &sh), WS_OK);
			ws_deflate_shared_free(sh);
		} else {
			CHECK_INT(ws_deflate_shared_new(&nd, &sh), WS_E_STATE);
		}
	}
	/* A client. */
	{
		static const char *const bad[] = {
			"permessage-deflate; client_max_window_bits",
			"permessage-deflate, permessage-deflate",
			"x-other",
		};
		ws_config ccfg = cfg_of(WS_ROLE_CLIENT, 0);
		ws_connect_opts o = {"a", NULL, NULL, NULL, NULL};
		uint8_t rq[512];
		for (int with = 0; with < 2; with++)
			for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
				char resp[512];
				const char *skey;
				char acc[WS_ACCEPT_KEY_LEN + 1];
				int len;
				ccfg.deflate = with ? &d : NULL;
				ws_conn_init(&c, sizeof c, &ccfg);
				CHECK_INT(ws_conn_connect(&c, &o, rq, sizeof rq, &n), WS_OK);
				rq[n] = 0;
				skey = strstr((char *)rq, "Sec-WebSocket-Key: ") + 19;
				ws_accept_key(skey, 24, acc);
				len = snprintf(resp, sizeof resp,
				               "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
				               "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n"
				               "Sec-WebSocket-Extensions: %s\r\n\r\n", acc, bad[i]);
				CHECK_INT(ws_conn_recv(&c, resp, (size_t)len, &used, &ev), WS_E_HTTP_EXTENSION);
				ws_conn_release(&c);
			}
	}
}

int main(int argc, char **argv)
{
	(void)argc;
	RUN(head_100k);
	RUN(headers_10000);
	RUN(head_bytes);
	RUN(head_fields);
	RUN(slow_sender);
	RUN(lengths_2e63);
	RUN(million_empty_fragments);
	RUN(ping_flood);
	RUN(close_frames);
	RUN(protocol_violations);
	RUN(utf8_prefix_then_error);
	RUN(message_limit_streamed);
	RUN(careless_caller);
	RUN(no_utf8_check);
	RUN(start_lines);
	RUN(iterator_corners);
	RUN(status_table_rows);
	RUN(extension_offers);
	RUN(extension_responses);
	RUN(extension_handshakes);
	return t_done(argv[0]);
}
