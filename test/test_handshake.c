/* The opening handshake (RFC 6455 §4), both roles: the RFC §1.3 example, every
 * validation failure with its error and HTTP answer, heads split everywhere,
 * limits, a slow sender, accept/reject, the client's request and its checks of
 * the response, and the public helpers. */
#include <stdlib.h>
#include <string.h>
#include "harness.h"
#include "ws_internal.h"

/* RFC 6455 §1.3 */
#define RL "GET /chat HTTP/1.1\r\n"
#define H_HOST "Host: server.example.com\r\n"
#define H_UP "Upgrade: websocket\r\n"
#define H_CONN "Connection: Upgrade\r\n"
#define H_KEY "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
#define H_VER "Sec-WebSocket-Version: 13\r\n"
#define H_ORIGIN "Origin: http://example.com\r\n"
#define H_PROTO "Sec-WebSocket-Protocol: chat, superchat\r\n"
#define RFC_REQUEST RL H_HOST H_UP H_CONN H_KEY H_ORIGIN H_PROTO H_VER "\r\n"
#define RFC_ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
#define RFC_RESPONSE "HTTP/1.1 101 Switching Protocols\r\n" \
	"Upgrade: websocket\r\n" \
	"Connection: Upgrade\r\n" \
	"Sec-WebSocket-Accept: " RFC_ACCEPT "\r\n" \
	"Sec-WebSocket-Protocol: chat\r\n" \
	"\r\n"
#define RFC_REQUEST_LOG "request target=\"/chat\" host=\"server.example.com\" " \
	"origin=\"http://example.com\" key=\"dGhlIHNhbXBsZSBub25jZQ==\"\n"

/* The key t_rand gives a client (bytes 0x37 * k + 0x11, k = 1..16), and the
 * server's answer to it, computed independently (Python hashlib/base64). */
#define T_KEY "SH+27SRbkskAN26l3BNKgQ=="
#define T_ACCEPT "dIa79pksorwh0u3XPmgS6D+KY/U="
#define R101 "HTTP/1.1 101 Switching Protocols\r\n"
#define R_UP "Upgrade: websocket\r\n"
#define R_CONN "Connection: Upgrade\r\n"
#define R_ACC "Sec-WebSocket-Accept: " T_ACCEPT "\r\n"

static uint32_t rand_ctr;

static ws_config server_cfg(void)
{
	ws_config cfg;
	ws_config_init(&cfg, WS_ROLE_SERVER);
	return cfg;
}

static ws_config client_cfg(void)
{
	ws_config cfg;
	ws_config_init(&cfg, WS_ROLE_CLIENT);
	cfg.rand = t_rand;
	cfg.rand_ctx = &rand_ctr;
	return cfg;
}

/* What the harness logs for a text payload (long ones by length and hash). */
static void log_text(t_log *l, const void *p, size_t n)
{
	const uint8_t *b = p;
	if (n > 64) {
		uint32_t h = 2166136261u;
		for (size_t i = 0; i < n; i++)
			h = (h ^ b[i]) * 16777619u;
		t_log_add(l, "len=%zu fnv=%08x", n, (unsigned)h);
		return;
	}
	t_log_add(l, "\"");
	for (size_t i = 0; i < n; i++) {
		if (b[i] >= 0x20 && b[i] < 0x7f && b[i] != '"' && b[i] != '\\')
			t_log_add(l, "%c", b[i]);
		else
			t_log_add(l, "\\x%02x", b[i]);
	}
	t_log_add(l, "\"");
}

static const char *reason(unsigned status)
{
	switch (status) {
	case 400: return "Bad Request";
	case 426: return "Upgrade Required";
	case 431: return "Request Header Fields Too Large";
	}
	return "?";
}

/* The response ws_conn_fail() must write for a server handshake error. */
static size_t fail_response(int err, char *out, size_t cap)
{
	unsigned st = ws_status_http(err);
	const char *why = ws_status_str(err);
	int n = snprintf(out, cap,
	                 "HTTP/1.1 %u %s\r\nConnection: close\r\nContent-Length: %zu\r\n"
	                 "Content-Type: text/plain\r\n%s\r\n%s",
	                 st, reason(st), strlen(why), st == 426 ? "Sec-WebSocket-Version: 13\r\n" : "",
	                 why);
	return (size_t)n;
}

/* The log of a server handshake that fails with err. */
static char *error_log(int err)
{
	char resp[512];
	size_t n = fail_response(err, resp, sizeof resp);
	t_log l = {0};
	t_log_add(&l, "error %s\nfail-> ", ws_status_name(err));
	t_log_hex(&l, resp, n);
	t_log_add(&l, "\n");
	return l.s;
}

static void expect_log(const ws_config *cfg, const t_feed_opts *o, const char *in, size_t len,
                       const char *want, size_t max3)
{
	free(t_feed_all(cfg, o, in, len, want, max3));
}

/* ---- ws_accept_key ---- */

static void accept_key_rfc(void)
{
	char out[WS_ACCEPT_KEY_LEN + 1];
	CHECK_INT(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", 24, out), WS_OK);
	CHECK_STR(out, RFC_ACCEPT); /* RFC 6455 §1.3 */
	CHECK_INT(ws_accept_key(T_KEY, 24, out), WS_OK);
	CHECK_STR(out, T_ACCEPT);
	/* Only key_len bytes count. */
	CHECK_INT(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==garbage", 24, out), WS_OK);
	CHECK_STR(out, RFC_ACCEPT);
}

/* ---- server: the request ---- */

static void rfc_example(void)
{
	ws_config cfg = server_cfg();
	static const char req[] = RFC_REQUEST;
	uint8_t buf[sizeof req];
	char out[256];
	size_t used, n;
	ws_event ev;
	ws_conn c;

	memcpy(buf, req, sizeof req);
	CHECK_INT(ws_conn_init(&c, sizeof c, &cfg), WS_OK);
	CHECK_INT(ws_conn_recv(&c, buf, sizeof req - 1, &used, &ev), WS_OK);
	CHECK_INT(ev.type, WS_EV_REQUEST);
	CHECK_INT(used, sizeof req - 1);
	CHECK(ev.http.head.ptr == (const char *)buf && ev.http.head.len == sizeof req - 1);
	CHECK(ws__eq(ev.http.target, "/chat"));
	CHECK(ws__eq(ev.http.host, "server.example.com"));
	CHECK(ws__eq(ev.http.origin, "http://example.com"));
	CHECK(ws__eq(ev.http.key, "dGhlIHNhbXBsZSBub25jZQ=="));
	CHECK_INT(ws_conn_state(&c), WS_STATE_HANDSHAKE);
	{
		static const char *const prefs[] = {"chat", NULL};
		ws_accept_opts ao = {.protocol = ws_select_protocol(&ev.http, prefs)};
		CHECK_STR(ao.protocol, "chat");
		/* Async accept: the head's buffer is gone by the time we answer. */
		memset(buf, 0, sizeof buf);
		CHECK_INT(ws_conn_accept(&c, &ao, out, sizeof out, &n), WS_OK);
	}
	CHECK_INT(n, strlen(RFC_RESPONSE));
	CHECK_MEM(out, RFC_RESPONSE, n);
	CHECK_INT(ws_conn_state(&c), WS_STATE_OPEN);
	/* The frame state, which shares memory with the handshake's, starts clean. */
	CHECK(c.u_.f.frame_left == 0 && c.u_.f.msg_len == 0 && c.u_.f.utf8 == 0 &&
	      c.u_.f.fragments == 0);
	CHECK_INT(ws_conn_accept(&c, NULL, out, sizeof out, &n), WS_E_STATE);

	/* The same through the harness: whole, byte by byte, every split. */
	{
		static const char plain[] = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
		                            "Connection: Upgrade\r\nSec-WebSocket-Accept: " RFC_ACCEPT
		                            "\r\n\r\n";
		t_feed_opts o = {.accept = 1};
		t_log want = {0};
		t_log_add(&want, RFC_REQUEST_LOG "accept-> ");
		log_text(&want, plain, sizeof plain - 1);
		t_log_add(&want, "\n");
		expect_log(&cfg, &o, req, sizeof req - 1, want.s, 300);
		t_log_free(&want);
	}
}

/* Frames in the same buffer as the request are not lost: they wait while the
 * application decides, and come after the accept. */
static void request_then_frames(void)
{
	ws_config cfg = server_cfg();
	uint8_t in[512], fr[64];
	size_t n = strlen(RFC_REQUEST), fn;
	t_feed_opts o = {.accept = 1};
	char *log;

	memcpy(in, RFC_REQUEST, n);
	/* RFC 6455 §5.7: masked "Hello", then a masked empty ping. */
	fn = t_unhex("81 85 37 fa 21 3d 7f 9f 4d 51 58  89 80 01 02 03 04", fr, sizeof fr);
	memcpy(in + n, fr, fn);
	log = t_feed_all(&cfg, &o, in, n + fn, NULL, 0);
	CHECK(strstr(log, RFC_REQUEST_LOG "accept-> len=129 ") == log);
	CHECK(strstr(log, "\ntext \"Hello\"\nping  reply\n-> 8a00\n") != NULL);
	CHECK(strstr(log, "VIOLATION") == NULL);
	free(log);

	/* Unanswered: the request, then the frames stay unconsumed. */
	o.accept = 0;
	{
		char want[128];
		snprintf(want, sizeof want, RFC_REQUEST_LOG "rest %zu\n", fn);
		expect_log(&cfg, &o, (const char *)in, n + fn, want, 0);
	}

	/* Unanswered, followed by a frame longer than max_head whose bytes on the
	 * wire (zero mask key) hold LFs and CRLFCRLFs: none of it is a head. */
	{
		ws_config small = server_cfg();
		uint8_t big[1024];
		size_t bn = n;
		char want[128];
		small.max_head = 300;
		memcpy(big, RFC_REQUEST, n);
		memcpy(big + bn, "\x82\xfe\x02\x58\0\0\0\0", 8); /* masked binary, 600 bytes */
		bn += 8;
		for (int i = 0; i < 150; i++, bn += 4)
			memcpy(big + bn, i & 1 ? "\r\n\r\n" : "a\nb\n", 4);
		snprintf(want, sizeof want, RFC_REQUEST_LOG "rest %zu\n", bn - n);
		expect_log(&small, &o, (const char *)big, bn, want, 0);
		o.accept = 1;
		free(t_feed_all(&small, &o, big, bn, NULL, 0));
		o.accept = 0;
	}

	/* By hand: in SERVER_ANSWER, recv consumes nothing, however often. */
	{
		ws_conn c;
		ws_event ev;
		size_t used;
		char out[256];
		ws_conn_init(&c, sizeof c, &cfg);
		CHECK_INT(ws_conn_recv(&c, in, n + fn, &used, &ev), WS_OK);
		CHECK_INT(ev.type, WS_EV_REQUEST);
		CHECK_INT(used, n);
		for (int i = 0; i < 3; i++) {
			CHECK_INT(ws_conn_recv(&c, in + n, fn, &used, &ev), WS_OK);
			CHECK_INT(ev.type, WS_EV_NONE);
			CHECK_INT(used, 0);
		}
		CHECK_INT(ws_conn_accept(&c, NULL, out, sizeof out, &used), WS_OK);
		CHECK_INT(ws_conn_recv(&c, in + n, fn, &used, &ev), WS_OK);
		CHECK_INT(ev.type, WS_EV_TEXT);
		CHECK(ev.len == 5 && memcmp(ev.data, "Hello", 5) == 0);
	}
}

/* Header names in any case and any order; token lists with spaces, empty
 * elements, and tokens split across fields; whitespace around values. */
static void request_variants(void)
{
	static const struct {
		const char *req, *log;
	} v[] = {
		{"GET / HTTP/1.1\r\nsec-websocket-version: 13\r\nCONNECTION: upgrade\r\n"
		 "sec-websocket-KEY: dGhlIHNhbXBsZSBub25jZQ==\r\nuPgRaDe: WebSocket\r\nhost: a\r\n\r\n",
		 "request target=\"/\" host=\"a\" origin=\"\" key=\"dGhlIHNhbXBsZSBub25jZQ==\"\n"},
		{"GET /x?y=1&z HTTP/1.1\r\nHost:   h:8080 \t\r\nUpgrade: h2c,  websocket ,\r\n"
		 "Connection: keep-alive, Upgrade\r\nX-Empty:\r\nSec-WebSocket-Key:dGhlIHNhbXBsZSBub25jZQ==\r\n"
		 "Sec-WebSocket-Version:\t13\r\nOrigin: https://EXAMPLE.com\r\n\r\n",
		 "request target=\"/x?y=1&z\" host=\"h:8080\" origin=\"https://EXAMPLE.com\" "
		 "key=\"dGhlIHNhbXBsZSBub25jZQ==\"\n"},
		/* "Upgrade" in a second Connection field; ",," and tabs in lists. */
		{"GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\nUpgrade: ,,websocket\r\n"
		 "Connection: ,\tUpgrade\t\r\nSec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\n"
		 "Sec-WebSocket-Version: 13\r\nX-Tab: a\tb\r\nX-Obs-Text: \xc3\xa9\r\n\r\n",
		 "request target=\"/\" host=\"a\" origin=\"\" key=\"AAAAAAAAAAAAAAAAAAAAAA==\"\n"},
		/* Later HTTP/1.x versions, absolute-form targets, tchars in names. */
		{"GET ws://a/b HTTP/1.9\r\nHost: a\r\n" H_UP H_CONN H_KEY H_VER
		 "X-!#$%&'*+-.^_`|~09azAZ: v\r\n\r\n",
		 "request target=\"ws://a/b\" host=\"a\" origin=\"\" key=\"dGhlIHNhbXBsZSBub25jZQ==\"\n"},
	};
	ws_config cfg = server_cfg();
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
		expect_log(&cfg, NULL, v[i].req, strlen(v[i].req), v[i].log, 0);
}

/* Every validation failure: its error, its HTTP status, and the response. */
static void request_errors(void)
{
	static const struct {
		const char *req;
		int err;
		unsigned http;
	} v[] = {
		/* RFC 6455 §4.2.1 item 1: GET, HTTP/1.1 or later. */
		{"POST /chat HTTP/1.1\r\n" H_HOST H_UP H_CONN H_KEY H_VER "\r\n", WS_E_HTTP_METHOD, 400},
		{"get /chat HTTP/1.1\r\n" H_HOST H_UP H_CONN H_KEY H_VER "\r\n", WS_E_HTTP_METHOD, 400},
		{"GET /chat HTTP/1.0\r\n" H_HOST H_UP H_CONN H_KEY H_VER "\r\n", WS_E_HTTP_VERSION, 400},
		{"GET /chat HTTP/2.0\r\n" H_HOST H_UP H_CONN H_KEY H_VER "\r\n", WS_E_HTTP_VERSION, 400},
		{"GET /chat HTTP/0.9\r\n" H_HOST H_UP H_CONN H_KEY H_VER "\r\n", WS_E_HTTP_VERSION, 400},
		/* Malformed request lines (RFC 9112 §3). */
		{"GET /chat http/1.1\r\n" H_HOST H_UP H_CONN H_KEY H_VER "\r\n", WS_E_HTTP_MALFORMED, 400},
		{"GET /chat HTTP/1.10\r\n" H_HOST H_UP H_CONN H_KEY H_VER "\r\n", WS_E_HTTP_MALFORMED, 400},
		{"GET /chat HTTP/1.1 \r\n" H_HOST H_UP H_CONN H_KEY H_VER "\r\n", WS_E_HTTP_MALFORMED, 400},
		{"GET  /chat HTTP/1.1\r\n" H_HOST H_UP H_CONN H_KEY H_VER "\r\n", WS_E_HTTP_MALFORMED, 400},
		{"GET /c\thost HTTP/1.1\r\n" H_HOST H_UP H_CONN H_KEY H_VER "\r\n", WS_E_HTTP_MALFORMED, 400},
		{"GET /chat\r\n" H_HOST H_UP H_CONN H_KEY H_VER "\r\n", WS_E_HTTP_MALFORMED, 400},
		{"G(T /chat HTTP/1.1\r\n" H_HOST H_UP H_CONN H_KEY H_VER "\r\n", WS_E_HTTP_MALFORMED, 400},
		/* Leading empty lines: see leading_empty_lines(). */
		{"\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\nGET /chat HTTP/1.1\r\n" H_HOST H_UP H_CONN H_KEY
		 H_VER "\r\n", WS_E_HTTP_MALFORMED, 400},
		{"\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n", WS_E_HTTP_MALFORMED, 400},
		{"\nGET /chat HTTP/1.1\r\n" H_HOST H_UP H_CONN H_KEY H_VER "\r\n", WS_E_HTTP_MALFORMED, 400},
		{"\r\n\nGET /chat HTTP/1.1\r\n" H_HOST H_UP H_CONN H_KEY H_VER "\r\n", WS_E_HTTP_MALFORMED, 400},
		{"\r\rGET /chat HTTP/1.1\r\n" H_HOST H_UP H_CONN H_KEY H_VER "\r\n", WS_E_HTTP_MALFORMED, 400},
		{" \r\nGET /chat HTTP/1.1\r\n" H_HOST H_UP H_CONN H_KEY H_VER "\r\n", WS_E_HTTP_MALFORMED, 400},
		/* Bare LF anywhere, even as the terminator (RFC 9112 §2.2). */
		{"GET /chat HTTP/1.1\n" H_HOST H_UP H_CONN H_KEY H_VER "\r\n", WS_E_HTTP_MALFORMED, 400},
		{RL H_HOST "Upgrade: websocket\n" H_CONN H_KEY H_VER "\r\n", WS_E_HTTP_MALFORMED, 400},
		{RL H_HOST H_UP H_CONN H_KEY H_VER "\n", WS_E_HTTP_MALFORMED, 400},
		{"\n", WS_E_HTTP_MALFORMED, 400},
		/* Field syntax (RFC 9112 §5): obs-fold, whitespace before the colon or
		 * before the first field, non-token names, controls in values. */
		{RL H_HOST "X-A: a\r\n b\r\n" H_UP H_CONN H_KEY H_VER "\r\n", WS_E_HTTP_MALFORMED, 400},
		{RL H_HOST "X-A: a\r\n\tb\r\n" H_UP H_CONN H_KEY H_VER "\r\n", WS_E_HTTP_MALFORMED, 400},
		{RL " " H_HOST H_UP H_CONN H_KEY H_VER "\r\n", WS_E_HTTP_MALFORMED, 400},
		{RL "Host : server.example.com\r\n" H_UP H_CONN H_KEY H_VER "\r\n", WS_E_HTTP_MALFORMED, 400},
		{RL H_HOST "Up grade: websocket\r\n" H_CONN H_KEY H_VER "\r\n", WS_E_HTTP_MALFORMED, 400},
		{RL H_HOST "X(y): 1\r\n" H_UP H_CONN H_KEY H_VER "\r\n", WS_E_HTTP_MALFORMED, 400},
		{RL H_HOST ": empty name\r\n" H_UP H_CONN H_KEY H_VER "\r\n", WS_E_HTTP_MALFORMED, 400},
		{RL H_HOST "no colon\r\n" H_UP H_CONN H_KEY H_VER "\r\n", WS_E_HTTP_MALFORMED, 400},
		{RL "Host: a\x01" "b\r\n" H_UP H_CONN H_KEY H_VER "\r\n", WS_E_HTTP_MALFORMED, 400},
		{RL "Host: a\x7f\r\n" H_UP H_CONN H_KEY H_VER "\r\n", WS_E_HTTP_MALFORMED, 400},
		{RL "Host: a\rb\r\n" H_UP H_CONN H_KEY H_VER "\r\n", WS_E_HTTP_MALFORMED, 400},
		{RL H_HOST "X-\xc3\xa9: 1\r\n" H_UP H_CONN H_KEY H_VER "\r\n", WS_E_HTTP_MALFORMED, 400},
		/* Two Origins: which would the application check? */
		{RL H_HOST H_ORIGIN "Origin: http://evil.example\r\n" H_UP H_CONN H_KEY H_VER "\r\n",
		 WS_E_HTTP_MALFORMED, 400},
		/* RFC 6455 §4.2.1 item 2: exactly one non-empty Host. */
		{RL H_UP H_CONN H_KEY H_VER "\r\n", WS_E_HTTP_HOST, 400},
		{RL H_HOST H_UP H_CONN H_KEY H_VER "Host: other.example\r\n\r\n", WS_E_HTTP_HOST, 400},
		{RL "Host: \r\n" H_UP H_CONN H_KEY H_VER "\r\n", WS_E_HTTP_HOST, 400},
		/* Items 3 and 4: the tokens, not substrings. */
		{RL H_HOST H_CONN H_KEY H_VER "\r\n", WS_E_HTTP_UPGRADE, 400},
		{RL H_HOST "Upgrade: h2c\r\n" H_CONN H_KEY H_VER "\r\n", WS_E_HTTP_UPGRADE, 400},
		{RL H_HOST "Upgrade: websockets\r\n" H_CONN H_KEY H_VER "\r\n", WS_E_HTTP_UPGRADE, 400},
		{RL H_HOST "Upgrade: websocket/13\r\n" H_CONN H_KEY H_VER "\r\n", WS_E_HTTP_UPGRADE, 400},
		{RL H_HOST "X-Upgrade: websocket\r\n" H_CONN H_KEY H_VER "\r\n", WS_E_HTTP_UPGRADE, 400},
		{RL H_HOST H_UP H_KEY H_VER "\r\n", WS_E_HTTP_CONNECTION, 400},
		{RL H_HOST H_UP "Connection: keep-alive\r\n" H_KEY H_VER "\r\n", WS_E_HTTP_CONNECTION, 400},
		{RL H_HOST H_UP "Connection: upgrader, keepupgrade\r\n" H_KEY H_VER "\r\n",
		 WS_E_HTTP_CONNECTION, 400},
		/* Item 6: one "13", else 426 with the versions we speak (§4.4). */
		{RL H_HOST H_UP H_CONN H_KEY "\r\n", WS_E_HTTP_WS_VERSION, 426},
		{RL H_HOST H_UP H_CONN H_KEY "Sec-WebSocket-Version: 8\r\n\r\n", WS_E_HTTP_WS_VERSION, 426},
		{RL H_HOST H_UP H_CONN H_KEY "Sec-WebSocket-Version: 13, 8\r\n\r\n", WS_E_HTTP_WS_VERSION,
		 426},
		{RL H_HOST H_UP H_CONN H_KEY H_VER H_VER "\r\n", WS_E_HTTP_WS_VERSION, 426},
		/* Item 5: one key, base64 of exactly 16 bytes, canonical. */
		{RL H_HOST H_UP H_CONN H_VER "\r\n", WS_E_HTTP_KEY, 400},
		{RL H_HOST H_UP H_CONN H_KEY H_KEY H_VER "\r\n", WS_E_HTTP_KEY, 400},
		{RL H_HOST H_UP H_CONN "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAA\r\n" H_VER "\r\n",
		 WS_E_HTTP_KEY, 400}, /* 15 bytes */
		{RL H_HOST H_UP H_CONN "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAAA=\r\n" H_VER "\r\n",
		 WS_E_HTTP_KEY, 400}, /* 17 bytes */
		{RL H_HOST H_UP H_CONN "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZR==\r\n" H_VER "\r\n",
		 WS_E_HTTP_KEY, 400}, /* non-zero padding bits */
		{RL H_HOST H_UP H_CONN "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub2*jZQ==\r\n" H_VER "\r\n",
		 WS_E_HTTP_KEY, 400},
		{RL H_HOST H_UP H_CONN "Sec-WebSocket-Key: dGhlIHNhbXBs ZSBub25jZQ==\r\n" H_VER "\r\n",
		 WS_E_HTTP_KEY, 400},
		{RL H_HOST H_UP H_CONN "Sec-WebSocket-Key: \r\n" H_VER "\r\n", WS_E_HTTP_KEY, 400},
	};
	ws_config cfg = server_cfg();

	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		char *want = error_log(v[i].err);
		size_t len = strlen(v[i].req);
		CHECK_INT(ws_status_http(v[i].err), v[i].http);
		expect_log(&cfg, NULL, v[i].req, len, want, i < 3 ? 200 : 0);
		free(want);
	}
	/* NUL in a value, and in a name. */
	{
		static const char r1[] = RL "Host: a\0b\r\n" H_UP H_CONN H_KEY H_VER "\r\n";
		static const char r2[] = RL H_HOST "X\0: b\r\n" H_UP H_CONN H_KEY H_VER "\r\n";
		static const char r3[] = RL H_HOST H_UP H_CONN H_KEY H_VER "X: \0\r\n\r\n";
		char *want = error_log(WS_E_HTTP_MALFORMED);
		expect_log(&cfg, NULL, r1, sizeof r1 - 1, want, 0);
		expect_log(&cfg, NULL, r2, sizeof r2 - 1, want, 0);
		expect_log(&cfg, NULL, r3, sizeof r3 - 1, want, 0);
		free(want);
	}
}

/* The exact bytes of each kind of HTTP error response. */
static void fail_response_bytes(void)
{
	static const struct {
		const char *req;
		const char *resp;
		uint32_t max_headers;
	} v[] = {
		{"POST / HTTP/1.1\r\n\r\n",
		 "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 25\r\n"
		 "Content-Type: text/plain\r\n\r\nrequest method is not GET", 64},
		{RL H_HOST H_UP H_CONN H_KEY "Sec-WebSocket-Version: 8\r\n\r\n",
		 "HTTP/1.1 426 Upgrade Required\r\nConnection: close\r\nContent-Length: 31\r\n"
		 "Content-Type: text/plain\r\nSec-WebSocket-Version: 13\r\n\r\n"
		 "Sec-WebSocket-Version is not 13", 64},
		{RL "X: 1\r\nX: 2\r\n\r\n",
		 "HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n"
		 "Content-Length: 43\r\nContent-Type: text/plain\r\n\r\n"
		 "more HTTP headers than the configured limit", 1},
	};
	ws_config cfg = server_cfg();
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		ws_conn c;
		ws_event ev;
		char out[256];
		size_t used, n, need;
		size_t len = strlen(v[i].req);
		char *buf = malloc(len);
		memcpy(buf, v[i].req, len);
		cfg.max_headers = v[i].max_headers;
		ws_conn_init(&c, sizeof c, &cfg);
		CHECK(ws_conn_recv(&c, buf, len, &used, &ev) < 0);
		CHECK_INT(used, 0);
		CHECK_INT(ws_conn_state(&c), WS_STATE_FAILED);
		/* Too small: the size needed, and nothing changes. */
		CHECK_INT(ws_conn_fail(&c, out, 10, &need), WS_E_BUFFER);
		CHECK_INT(need, strlen(v[i].resp));
		CHECK_INT(ws_conn_should_close_transport(&c), 0);
		CHECK_INT(ws_conn_fail(&c, out, sizeof out, &n), WS_OK);
		CHECK_INT(n, strlen(v[i].resp));
		CHECK_MEM(out, v[i].resp, n);
		CHECK_INT(ws_conn_should_close_transport(&c), 1);
		/* Sticky. */
		CHECK(ws_conn_recv(&c, buf, len, &used, &ev) == ws_conn_error(&c));
		CHECK_INT(ws_conn_accept(&c, NULL, out, sizeof out, &n), WS_E_STATE);
		free(buf);
	}
}

/* Every error with an HTTP status fits the 256 bytes conn.h promises, and
 * only the handshake errors have one. */
static void fail_response_sizes(void)
{
	ws_config cfg = server_cfg();
#define ROW(name, value, close, http, text) \
	if (http) { \
		ws_conn c; \
		char out[256], line[32]; \
		size_t n; \
		ws_conn_init(&c, sizeof c, &cfg); \
		c.error_ = value; \
		CHECK(value <= -200 && value > -300); \
		CHECK_INT(ws_conn_fail(&c, out, sizeof out, &n), WS_OK); \
		snprintf(line, sizeof line, "HTTP/1.1 %d ", http); \
		CHECK(n > strlen(line) && memcmp(out, line, strlen(line)) == 0); \
		CHECK(n >= strlen(text) && memcmp(out + n - strlen(text), text, strlen(text)) == 0); \
	}
	WS_STATUS_TABLE(ROW)
#undef ROW
}

/* picohttpparser-style: every proper prefix of a head is "need more", read
 * from a buffer of exactly that size (ASan catches any overread). */
static void every_prefix_waits(void)
{
	static const char req[] = RFC_REQUEST;
	static const char resp[] = R101 R_UP R_CONN R_ACC "\r\n";
	ws_config scfg = server_cfg(), ccfg = client_cfg();
	static const ws_connect_opts co = {.host = "h"};

	for (size_t k = 0; k < sizeof req - 1; k++) {
		ws_conn c;
		ws_event ev;
		size_t used = 99;
		char *buf = malloc(k ? k : 1);
		memcpy(buf, req, k);
		ws_conn_init(&c, sizeof c, &scfg);
		CHECK_INT(ws_conn_recv(&c, buf, k, &used, &ev), WS_OK);
		CHECK_INT(ev.type, WS_EV_NONE);
		CHECK_INT(used, 0);
		CHECK_INT(c.u_.h.scanned, k);
		free(buf);
	}
	for (size_t k = 0; k < sizeof resp - 1; k++) {
		ws_conn c;
		ws_event ev;
		size_t used = 99;
		char out[256];
		char *buf = malloc(k ? k : 1);
		memcpy(buf, resp, k);
		ws_conn_init(&c, sizeof c, &ccfg);
		ws_conn_connect(&c, &co, out, sizeof out, &used);
		CHECK_INT(ws_conn_recv(&c, buf, k, &used, &ev), WS_OK);
		CHECK_INT(ev.type, WS_EV_NONE);
		CHECK_INT(used, 0);
		free(buf);
	}
}

/* cfg->max_head and cfg->max_headers: 431 beyond either. */
static void head_limits(void)
{
	static const char req[] = RL H_HOST H_UP H_CONN H_KEY H_VER "\r\n";
	char *too_big = error_log(WS_E_HTTP_HEAD_TOO_BIG);
	char *too_many = error_log(WS_E_HTTP_TOO_MANY_HEADERS);
	static const char ok_log[] = "request target=\"/chat\" host=\"server.example.com\" origin=\"\" "
	                             "key=\"dGhlIHNhbXBsZSBub25jZQ==\"\n";
	ws_config cfg = server_cfg();
	size_t len = sizeof req - 1;

	CHECK_INT(ws_status_http(WS_E_HTTP_HEAD_TOO_BIG), 431);
	CHECK_INT(ws_status_http(WS_E_HTTP_TOO_MANY_HEADERS), 431);
	/* A head of exactly max_head bytes fits; one more does not. */
	cfg.max_head = (uint32_t)len;
	expect_log(&cfg, NULL, req, len, ok_log, 0);
	cfg.max_head = (uint32_t)len - 1;
	expect_log(&cfg, NULL, req, len, too_big, 0);
	/* No end in sight: the error comes as soon as max_head bytes are in,
	 * without waiting for the rest. */
	cfg.max_head = 64;
	expect_log(&cfg, NULL, req, 64, too_big, 64);
	{
		t_feed_opts o = {0};
		char *log = t_feed(&cfg, &o, req, 63, NULL, 0);
		CHECK_STR(log, "rest 63\n");
		free(log);
	}
	/* Five fields are required; the sixth is one too many for a limit of 5. */
	cfg = server_cfg();
	cfg.max_headers = 5;
	expect_log(&cfg, NULL, req, len, ok_log, 0);
	cfg.max_headers = 4;
	expect_log(&cfg, NULL, req, len, too_many, 0);
	{
		static const char req7[] = RL H_HOST H_UP H_CONN H_KEY H_VER "X: 1\r\n\r\n";
		cfg.max_headers = 6;
		expect_log(&cfg, NULL, req7, sizeof req7 - 1, ok_log, 0);
		cfg.max_headers = 5;
		expect_log(&cfg, NULL, req7, sizeof req7 - 1, too_many, 0);
	}
	free(too_big);
	free(too_many);
}

/* A server fed head[0..len) one byte more per call, as the read loop presents
 * a head that trickles in: each call searches only the new byte (`scanned`
 * grows by one) and consumes nothing; the whole head is then the request,
 * consumed. */
static void dribble_request(const ws_config *cfg, char *head, size_t len)
{
	ws_conn c;
	ws_event ev;
	size_t used;

	ws_conn_init(&c, sizeof c, cfg);
	for (size_t k = 1; k < len; k++) {
		int rc = ws_conn_recv(&c, head, k, &used, &ev);
		if (rc != WS_OK || used != 0 || ev.type != WS_EV_NONE || c.u_.h.scanned != k) {
			CHECK_INT(c.u_.h.scanned, k);
			break;
		}
	}
	CHECK_INT(ws_conn_recv(&c, head, len, &used, &ev), WS_OK);
	CHECK_INT(ev.type, WS_EV_REQUEST);
	CHECK_INT(used, len);
}

/* A sender dribbling a head of nearly max_head bytes one byte at a time.
 * Measured in work, not time: each call must search only the new byte, so
 * `scanned` advances by one per call, and a terminator planted in bytes
 * already searched is never seen (a re-search from the start would find it). */
static void slow_sender_linear(void)
{
	ws_config cfg = server_cfg();
	static char head[WS_DEFAULT_MAX_HEAD];
	size_t len = 0;
	ws_conn c;
	ws_event ev;
	size_t used;

	len += (size_t)sprintf(head + len, "%s", RL H_HOST H_UP H_CONN H_KEY H_VER);
	for (int i = 0; i < 49; i++)
		len += (size_t)sprintf(head + len, "X-Pad-%02d: %0150d\r\n", i, i);
	len += (size_t)sprintf(head + len, "\r\n");
	CHECK(len > WS_DEFAULT_MAX_HEAD - 400 && len <= WS_DEFAULT_MAX_HEAD);

	dribble_request(&cfg, head, len);

	/* The planted terminator. */
	{
		char buf[256];
		memcpy(buf, head, sizeof buf);
		ws_conn_init(&c, sizeof c, &cfg);
		CHECK_INT(ws_conn_recv(&c, buf, 100, &used, &ev), WS_OK);
		CHECK_INT(c.u_.h.scanned, 100);
		memcpy(buf + 20, "\r\n\r\n", 4);
		CHECK_INT(ws_conn_recv(&c, buf, 101, &used, &ev), WS_OK);
		CHECK_INT(ev.type, WS_EV_NONE);
		CHECK_INT(used, 0);
		CHECK_INT(c.u_.h.scanned, 101);
	}
	/* A terminator split across calls is found: "\r\n\r" then "\n". */
	{
		static const char req[] = RFC_REQUEST;
		ws_conn_init(&c, sizeof c, &cfg);
		CHECK_INT(ws_conn_recv(&c, (void *)req, sizeof req - 2, &used, &ev), WS_OK);
		CHECK_INT(ev.type, WS_EV_NONE);
		CHECK_INT(ws_conn_recv(&c, (void *)req, sizeof req - 1, &used, &ev), WS_OK);
		CHECK_INT(ev.type, WS_EV_REQUEST);
	}
}

/* RFC 9112 §2.2: "a server that is expecting to receive and parse a
 * request-line SHOULD ignore at least one empty line (CRLF) received prior
 * to the request-line". A server ignores up to 10 (CRLF only: a bare LF is
 * malformed wherever it is, above); they count toward max_head, are
 * consumed with the head (the frames after it are all there), and
 * ev.http.head starts after them. A client is strict: RFC 9112 §2.2 speaks
 * of servers, and a response has no earlier message to trail after. */
static void leading_empty_lines(void)
{
	static const char req[] = RL H_HOST H_UP H_CONN H_KEY H_VER "\r\n";
	static const char ok_log[] = "request target=\"/chat\" host=\"server.example.com\" origin=\"\" "
	                             "key=\"dGhlIHNhbXBsZSBub25jZQ==\"\n";
	static const char frame[] = "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58"; /* "Hello" */
	char *too_big = error_log(WS_E_HTTP_HEAD_TOO_BIG);
	char *malformed = error_log(WS_E_HTTP_MALFORMED);
	ws_config cfg = server_cfg();
	char in[1024], want[1024];
	size_t rl = sizeof req - 1;

	for (size_t k = 1; k <= 10; k++) {
		size_t n = 0;
		char *plain;
		t_feed_opts o = {.accept = 1};
		for (size_t i = 0; i < k; i++)
			memcpy(in + n, "\r\n", 2), n += 2;
		memcpy(in + n, req, rl), n += rl;
		/* Unanswered: the request, and only the frames left over. */
		expect_log(&cfg, NULL, in, n, ok_log, k == 1 ? 200 : 0);
		memcpy(in + n, frame, sizeof frame - 1);
		snprintf(want, sizeof want, "%srest %zu\n", ok_log, sizeof frame - 1);
		expect_log(&cfg, NULL, in, n + sizeof frame - 1, want, 0);
		/* Answered: the same 101 as without them, then the frame. */
		memcpy(want, req, rl);
		memcpy(want + rl, frame, sizeof frame - 1);
		plain = t_feed_all(&cfg, &o, want, rl + sizeof frame - 1, NULL, 0);
		CHECK(strstr(plain, "accept-> len=129 ") && strstr(plain, "\ntext \"Hello\"\n"));
		free(t_feed_all(&cfg, &o, in, n + sizeof frame - 1, plain, 0));
		free(plain);
		/* max_head counts them: exactly at the limit fits, one byte less
		 * is a 431. */
		cfg.max_head = (uint32_t)n;
		expect_log(&cfg, NULL, in, n, ok_log, 0);
		cfg.max_head = (uint32_t)n - 1;
		expect_log(&cfg, NULL, in, n, too_big, 0);
		cfg = server_cfg();
	}
	/* By hand: the head reported starts at the request line, and the bytes
	 * consumed are all of them. */
	{
		ws_conn c;
		ws_event ev;
		size_t used, n = 0;
		memcpy(in, "\r\n\r\n", 4), n = 4;
		memcpy(in + n, req, rl), n += rl;
		ws_conn_init(&c, sizeof c, &cfg);
		CHECK_INT(ws_conn_recv(&c, in, n, &used, &ev), WS_OK);
		CHECK_INT(ev.type, WS_EV_REQUEST);
		CHECK_INT(used, n);
		CHECK(ev.http.head.ptr == in + 4 && ev.http.head.len == rl);
	}
	/* Empty lines alone wait for the request, up to the limit; a flood is a
	 * 400 at the eleventh, or a 431 at max_head if that comes first. */
	{
		t_feed_opts o = {0};
		char *log;
		memset(in, 0, sizeof in);
		for (size_t i = 0; i < 400; i++)
			memcpy(in + 2 * i, "\r\n", 2);
		log = t_feed(&cfg, &o, in, 20, NULL, 0);
		CHECK_STR(log, "rest 20\n");
		free(log);
		expect_log(&cfg, NULL, in, 24, malformed, 24);
		expect_log(&cfg, NULL, in, 800, malformed, 0);
		cfg.max_head = 16;
		expect_log(&cfg, NULL, in, 800, too_big, 0);
		expect_log(&cfg, NULL, in, 16, too_big, 0);
		log = t_feed(&cfg, &o, in, 15, NULL, 0);
		CHECK_STR(log, "rest 15\n");
		free(log);
		cfg = server_cfg();
	}
	/* A slow sender: each call searches only the new byte. */
	{
		size_t n = 0;
		for (size_t i = 0; i < 10; i++)
			memcpy(in + n, "\r\n", 2), n += 2;
		memcpy(in + n, req, rl), n += rl;
		dribble_request(&cfg, in, n);
	}
	/* A client: a response preceded by an empty line is malformed. */
	{
		static const ws_connect_opts co = {.host = "h"};
		static const char resp[] = "\r\n" R101 R_UP R_CONN R_ACC "\r\n";
		ws_config ccfg = client_cfg();
		t_feed_opts o = {.connect = &co};
		expect_log(&ccfg, &o, resp, sizeof resp - 1, "error E_HTTP_STATUS\n", 0);
		expect_log(&ccfg, &o, resp + 2, sizeof resp - 3, "open 101 protocol=\"\"\n", 0);
	}
	free(too_big);
	free(malformed);
}

/* ---- server: the answer ---- */

static int to_request(ws_conn *c, const ws_config *cfg, const char *req)
{
	static char buf[1024];
	ws_event ev;
	size_t used, len = strlen(req);
	memcpy(buf, req, len);
	ws_conn_init(c, sizeof *c, cfg);
	return ws_conn_recv(c, buf, len, &used, &ev) == WS_OK && ev.type == WS_EV_REQUEST;
}

static void accept_options(void)
{
	static const char want[] = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
	                           "Connection: Upgrade\r\nSec-WebSocket-Accept: " RFC_ACCEPT "\r\n"
	                           "Sec-WebSocket-Protocol: superchat\r\n"
	                           "Set-Cookie: sid=1; HttpOnly\r\nX-Two: a\tb\r\n\r\n";
	static const struct {
		const char *protocol, *headers;
	} bad[] = {
		{"chat\r\nSet-Cookie: x=1", NULL},
		{"chat\n", NULL},
		{"", NULL},
		{"two words", NULL},
		{"chat,superchat", NULL},
		{NULL, "Set-Cookie: a=1"},           /* no CRLF */
		{NULL, "Set-Cookie: a=1\n"},         /* bare LF */
		{NULL, "Set-Cookie: a=1\r\nX: 2"},   /* last line unterminated */
		{NULL, "Set-Cookie: a=1\r\n\r\n"},   /* an empty line ends the head early */
		{NULL, "\r\n"},
		{NULL, "Bad Name: 1\r\n"},
		{NULL, "X : 1\r\n"},
		{NULL, " X: 1\r\n"},
		{NULL, "X: a\rb\r\n"},
		{NULL, "X: a\x01\r\n"},
		{NULL, "NoColon\r\n"},
	};
	ws_config cfg = server_cfg();
	char out[512];
	size_t n, need;
	ws_conn c;

	CHECK(to_request(&c, &cfg, RFC_REQUEST));
	{
		ws_accept_opts ao = {.protocol = "superchat", .headers = "Set-Cookie: sid=1; HttpOnly\r\nX-Two: a\tb\r\n"};
		for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
			ws_accept_opts b = {.protocol = bad[i].protocol, .headers = bad[i].headers};
			CHECK_INT(ws_conn_accept(&c, &b, out, sizeof out, &n), WS_E_ARG);
		}
		CHECK_INT(ws_conn_accept(&c, &ao, out, 50, &need), WS_E_BUFFER);
		CHECK_INT(need, sizeof want - 1);
		CHECK_INT(ws_conn_state(&c), WS_STATE_HANDSHAKE);
		CHECK_INT(ws_conn_accept(&c, &ao, out, need, &n), WS_OK);
		CHECK_INT(n, sizeof want - 1);
		CHECK_MEM(out, want, n);
		CHECK_INT(ws_conn_state(&c), WS_STATE_OPEN);
		CHECK_INT(ws_conn_accept(&c, &ao, out, sizeof out, &n), WS_E_STATE);
		CHECK_INT(ws_conn_reject(&c, 403, NULL, NULL, 0, out, sizeof out, &n), WS_E_STATE);
	}
	/* Frames may be sent once open. */
	CHECK_INT(ws_conn_send(&c, WS_OP_TEXT, 0, "hi", 2, out, sizeof out, &n), WS_OK);
	CHECK_INT(n, 4);

	/* Before any request: nothing to answer. */
	ws_conn_init(&c, sizeof c, &cfg);
	CHECK_INT(ws_conn_accept(&c, NULL, out, sizeof out, &n), WS_E_STATE);
	CHECK_INT(ws_conn_reject(&c, 400, NULL, NULL, 0, out, sizeof out, &n), WS_E_STATE);
	CHECK_INT(ws_conn_send(&c, WS_OP_TEXT, 0, "hi", 2, out, sizeof out, &n), WS_E_STATE);
}

static void reject_responses(void)
{
	static const struct {
		unsigned status;
		const char *headers, *body, *want;
	} v[] = {
		{401, "WWW-Authenticate: Bearer realm=\"chat\"\r\n", "log in first",
		 "HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 12\r\n"
		 "WWW-Authenticate: Bearer realm=\"chat\"\r\n\r\nlog in first"},
		{403, "Content-Type: text/plain\r\n", "origin not allowed\n",
		 "HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 19\r\n"
		 "Content-Type: text/plain\r\n\r\norigin not allowed\n"},
		{404, NULL, NULL, "HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"},
		{429, "Retry-After: 5\r\n", NULL,
		 "HTTP/1.1 429 Too Many Requests\r\nConnection: close\r\nContent-Length: 0\r\n"
		 "Retry-After: 5\r\n\r\n"},
		{503, NULL, "", "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n"
		                "Content-Length: 0\r\n\r\n"},
		{418, NULL, NULL, "HTTP/1.1 418 Client Error\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"},
		{599, NULL, NULL, "HTTP/1.1 599 Server Error\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"},
	};
	static const char *const reasons[][2] = {
		{"400", "Bad Request"}, {"405", "Method Not Allowed"}, {"409", "Conflict"},
		{"426", "Upgrade Required"}, {"431", "Request Header Fields Too Large"},
		{"500", "Internal Server Error"}, {"501", "Not Implemented"}, {"502", "Bad Gateway"},
	};
	ws_config cfg = server_cfg();
	char out[512], line[64];
	size_t n, need, used;
	ws_event ev;
	ws_conn c;

	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		size_t blen = v[i].body ? strlen(v[i].body) : 0;
		CHECK(to_request(&c, &cfg, RFC_REQUEST));
		CHECK_INT(ws_conn_reject(&c, v[i].status, v[i].headers, v[i].body, blen, out, 20, &need),
		          WS_E_BUFFER);
		CHECK_INT(need, strlen(v[i].want));
		CHECK_INT(ws_conn_should_close_transport(&c), 0);
		CHECK_INT(ws_conn_reject(&c, v[i].status, v[i].headers, v[i].body, blen, out, need, &n),
		          WS_OK);
		CHECK_INT(n, strlen(v[i].want));
		CHECK_MEM(out, v[i].want, n);
		CHECK_INT(ws_conn_should_close_transport(&c), 1);
		CHECK_INT(ws_conn_state(&c), WS_STATE_CLOSED);
		CHECK_INT(ws_conn_reject(&c, v[i].status, NULL, NULL, 0, out, sizeof out, &n), WS_E_STATE);
		CHECK_INT(ws_conn_accept(&c, NULL, out, sizeof out, &n), WS_E_STATE);
		CHECK_INT(ws_conn_recv(&c, out, 10, &used, &ev), WS_OK);
		CHECK_INT(used, 0);
		CHECK_INT(ev.type, WS_EV_NONE);
	}
	for (size_t i = 0; i < sizeof reasons / sizeof reasons[0]; i++) {
		CHECK(to_request(&c, &cfg, RFC_REQUEST));
		CHECK_INT(ws_conn_reject(&c, (unsigned)atoi(reasons[i][0]), NULL, NULL, 0, out, sizeof out,
		                         &n), WS_OK);
		snprintf(line, sizeof line, "HTTP/1.1 %s %s\r\n", reasons[i][0], reasons[i][1]);
		CHECK(n > strlen(line) && memcmp(out, line, strlen(line)) == 0);
	}
	CHECK(to_request(&c, &cfg, RFC_REQUEST));
	CHECK_INT(ws_conn_reject(&c, 399, NULL, NULL, 0, out, sizeof out, &n), WS_E_ARG);
	CHECK_INT(ws_conn_reject(&c, 600, NULL, NULL, 0, out, sizeof out, &n), WS_E_ARG);
	CHECK_INT(ws_conn_reject(&c, 101, NULL, NULL, 0, out, sizeof out, &n), WS_E_ARG);
	CHECK_INT(ws_conn_reject(&c, 400, "X: 1\r\n\r\n", NULL, 0, out, sizeof out, &n), WS_E_ARG);
	CHECK_INT(ws_conn_reject(&c, 400, "X: 1\nY: 2\r\n", NULL, 0, out, sizeof out, &n), WS_E_ARG);
	CHECK_INT(ws_conn_reject(&c, 400, NULL, NULL, 3, out, sizeof out, &n), WS_E_ARG);
	CHECK_INT(ws_conn_should_close_transport(&c), 0);
	CHECK_INT(ws_conn_accept(&c, NULL, out, sizeof out, &n), WS_OK);
}

/* ---- public helpers ---- */

static void select_protocol_and_origin(void)
{
	static const char req[] = RL H_HOST H_UP H_CONN H_KEY H_VER
		"Sec-WebSocket-Protocol: chat, superchat\r\nOrigin: HTTP://Example.COM\r\n"
		"sec-websocket-protocol: v2.json\r\n\r\n";
	static const char *const p1[] = {"superchat", "chat", NULL};
	static const char *const p2[] = {"mqtt", "v2.json", "chat", NULL};
	static const char *const p3[] = {"Chat", "SUPERCHAT", "v2", "json", NULL};
	static const char *const none[] = {NULL};
	static const char *const allowed[] = {"https://example.com", "http://example.com", NULL};
	static const char *const other[] = {"http://example.com.evil", "http://example", NULL};
	static const char *const empty[] = {"", NULL};
	ws_config cfg = server_cfg();
	char buf[sizeof req];
	ws_event ev;
	size_t used;
	ws_conn c;

	memcpy(buf, req, sizeof req);
	ws_conn_init(&c, sizeof c, &cfg);
	CHECK_INT(ws_conn_recv(&c, buf, sizeof req - 1, &used, &ev), WS_OK);
	CHECK_INT(ev.type, WS_EV_REQUEST);
	/* The server's preference wins, across every field, exact case. */
	CHECK(ws_select_protocol(&ev.http, p1) == p1[0]);
	CHECK(ws_select_protocol(&ev.http, p2) == p2[1]);
	CHECK(ws_select_protocol(&ev.http, p3) == NULL);
	CHECK(ws_select_protocol(&ev.http, none) == NULL);
	CHECK(ws_select_protocol(&ev.http, NULL) == NULL);
	CHECK_INT(ws_origin_allowed(&ev.http, allowed), 1);
	CHECK_INT(ws_origin_allowed(&ev.http, other), 0);
	CHECK_INT(ws_origin_allowed(&ev.http, none), 0);
	CHECK_INT(ws_origin_allowed(&ev.http, NULL), 0);

	/* No Sec-WebSocket-Protocol, no Origin. */
	{
		static const char r2[] = RL H_HOST H_UP H_CONN H_KEY H_VER "\r\n";
		char b2[sizeof r2];
		memcpy(b2, r2, sizeof r2);
		ws_conn_init(&c, sizeof c, &cfg);
		CHECK_INT(ws_conn_recv(&c, b2, sizeof r2 - 1, &used, &ev), WS_OK);
		CHECK_INT(ev.type, WS_EV_REQUEST);
		CHECK_INT(ev.http.origin.len, 0);
		CHECK(ws_select_protocol(&ev.http, p1) == NULL);
		CHECK_INT(ws_origin_allowed(&ev.http, allowed), 0);
		CHECK_INT(ws_origin_allowed(&ev.http, empty), 0);
	}
}

static void iterators(void)
{
	static const char head[] = "HTTP/1.1 401 Unauthorized\r\nA:1\r\nB-b :  two words \t\r\n"
	                           "Empty:\r\nno colon\r\nC: x:y\r\n\r\nBody: not a header\r\n";
	ws_str h = {head, sizeof head - 1}, name, value, item;
	size_t pos = 0;
	t_log l = {0};

	while (ws_header_next(h, &pos, &name, &value))
		t_log_add(&l, "[%.*s=%.*s]", (int)name.len, name.ptr, (int)value.len, value.ptr);
	CHECK_STR(l.s, "[A=1][B-b =two words][Empty=][C=x:y]");
	CHECK_INT(ws_header_next(h, &pos, &name, &value), 0);
	t_log_free(&l);

	/* Bare LF and a missing last line ending are tolerated by the iterator. */
	{
		ws_str h2 = {"X\nA: 1\nB: 2", 11};
		t_log_add(&l, "%s", "");
		for (pos = 0; ws_header_next(h2, &pos, &name, &value);)
			t_log_add(&l, "[%.*s=%.*s]", (int)name.len, name.ptr, (int)value.len, value.ptr);
		CHECK_STR(l.s, "[A=1][B=2]");
		t_log_free(&l);
	}
	{
		ws_str e = {NULL, 0}, one = {"GET / HTTP/1.1\r\n", 16};
		pos = 0;
		CHECK_INT(ws_header_next(e, &pos, &name, &value), 0);
		pos = 0;
		CHECK_INT(ws_header_next(one, &pos, &name, &value), 0);
	}

	/* Lists: empty elements and whitespace skipped; commas in quotes kept. */
	{
		static const char ls[] = " , a ,, b\t,\t\"x,\\\"y\" , foo; p=\"1,2\" ,";
		ws_str list = {ls, sizeof ls - 1};
		t_log_add(&l, "%s", "");
		for (pos = 0; ws_list_next(list, &pos, &item);)
			t_log_add(&l, "[%.*s]", (int)item.len, item.ptr);
		CHECK_STR(l.s, "[a][b][\"x,\\\"y\"][foo; p=\"1,2\"]");
		t_log_free(&l);
		list.len = 0;
		pos = 0;
		CHECK_INT(ws_list_next(list, &pos, &item), 0);
	}

	/* Tokens: any case, any field of that name, whole elements only. */
	{
		static const char h3[] = "GET / HTTP/1.1\r\nConnection: keep-alive\r\n"
		                         "connection: UPGRADE\r\nX: websocket\r\n\r\n";
		ws_str s = {h3, sizeof h3 - 1};
		CHECK_INT(ws_header_has_token(s, "Connection", "upgrade"), 1);
		CHECK_INT(ws_header_has_token(s, "CONNECTION", "Keep-Alive"), 1);
		CHECK_INT(ws_header_has_token(s, "Connection", "keep"), 0);
		CHECK_INT(ws_header_has_token(s, "Upgrade", "websocket"), 0);
		CHECK_INT(ws_header_has_token(s, "X", "websocket"), 1);
	}
}

/* ---- client ---- */

static void client_request(void)
{
	static const char *const protos[] = {"chat", "superchat", NULL};
	static const ws_connect_opts full = {"server.example.com", "/chat", protos,
	                                     "http://example.com", "Authorization: Bearer x\r\n"};
	static const char want_full[] =
		"GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n"
		"Connection: Upgrade\r\nSec-WebSocket-Key: " T_KEY "\r\nSec-WebSocket-Version: 13\r\n"
		"Origin: http://example.com\r\nSec-WebSocket-Protocol: chat, superchat\r\n"
		"Authorization: Bearer x\r\n\r\n";
	static const ws_connect_opts bare = {.host = "h:8080"};
	static const char want_bare[] =
		"GET / HTTP/1.1\r\nHost: h:8080\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		"Sec-WebSocket-Key: " T_KEY "\r\nSec-WebSocket-Version: 13\r\n\r\n";
	static const char *const bad_proto[] = {"chat", "two words", NULL};
	static const char *const bad_proto2[] = {"", NULL};
	static const char *const no_protos[] = {NULL};
	static const ws_connect_opts bad[] = {
		{.host = NULL},
		{.host = ""},
		{.host = "a\r\nX: 1"},
		{.host = "a b"},
		{.host = "h", .target = "/a b"},
		{.host = "h", .target = "/a\r\n"},
		{.host = "h", .target = ""},
		{.host = "h", .origin = "http://a\r\nX: y"},
		{.host = "h", .protocols = bad_proto},
		{.host = "h", .protocols = bad_proto2},
		{.host = "h", .headers = "Authorization: x"},
		{.host = "h", .headers = "A: 1\r\n\r\n"},
		{.host = "h", .headers = "A\r\n"},
	};
	ws_config cfg = client_cfg();
	char out[512];
	size_t n, need, used;
	ws_event ev;
	ws_conn c;

	ws_conn_init(&c, sizeof c, &cfg);
	/* recv before connect is a call out of order: not sticky. */
	CHECK_INT(ws_conn_recv(&c, out, 0, &used, &ev), WS_E_STATE);
	CHECK_INT(ws_conn_error(&c), WS_OK);
	CHECK_INT(ws_conn_connect(&c, NULL, out, sizeof out, &n), WS_E_ARG);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECK_INT(ws_conn_connect(&c, &bad[i], out, sizeof out, &n), WS_E_ARG);

	/* Too small: the size needed, no nonce drawn, nothing changes. */
	rand_ctr = 0;
	CHECK_INT(ws_conn_connect(&c, &full, out, 30, &need), WS_E_BUFFER);
	CHECK_INT(need, sizeof want_full - 1);
	CHECK_INT(rand_ctr, 0);
	CHECK_INT(ws_conn_recv(&c, out, 0, &used, &ev), WS_E_STATE);
	CHECK_INT(ws_conn_connect(&c, &full, out, need, &n), WS_OK);
	CHECK_INT(n, sizeof want_full - 1);
	CHECK_MEM(out, want_full, n);
	CHECK_INT(ws_conn_state(&c), WS_STATE_HANDSHAKE);
	CHECK(memcmp(c.u_.h.key, "\x48\x7f\xb6\xed\x24\x5b\x92\xc9\x00\x37\x6e\xa5\xdc\x13\x4a\x81",
	             16) == 0);
	CHECK(c.u_.h.opts == &full);
	CHECK_INT(ws_conn_connect(&c, &full, out, sizeof out, &n), WS_E_STATE);
	CHECK_INT(ws_conn_recv(&c, out, 0, &used, &ev), WS_OK);

	rand_ctr = 0;
	ws_conn_init(&c, sizeof c, &cfg);
	CHECK_INT(ws_conn_connect(&c, &bare, out, sizeof out, &n), WS_OK);
	CHECK_INT(n, sizeof want_bare - 1);
	CHECK_MEM(out, want_bare, n);
	{
		ws_connect_opts o = bare;
		o.protocols = no_protos;
		rand_ctr = 0;
		ws_conn_init(&c, sizeof c, &cfg);
		CHECK_INT(ws_conn_connect(&c, &o, out, sizeof out, &n), WS_OK);
		CHECK_INT(n, sizeof want_bare - 1);
		CHECK_MEM(out, want_bare, n);
	}

	/* A server cannot connect. */
	{
		ws_config s = server_cfg();
		ws_conn_init(&c, sizeof c, &s);
		CHECK_INT(ws_conn_connect(&c, &bare, out, sizeof out, &n), WS_E_STATE);
	}
}

static int failing_rand(void *ctx, void *buf, size_t len)
{
	(void)ctx, (void)buf, (void)len;
	return -1;
}

static void client_rand_failure(void)
{
	static const ws_connect_opts o = {.host = "h"};
	ws_config cfg = client_cfg();
	char out[256];
	size_t n;
	ws_conn c;

	cfg.rand = failing_rand;
	ws_conn_init(&c, sizeof c, &cfg);
	CHECK_INT(ws_conn_connect(&c, &o, out, sizeof out, &n), WS_E_RAND);
	CHECK_INT(ws_conn_error(&c), WS_OK);
	cfg.rand = t_rand;
	CHECK_INT(ws_conn_connect(&c, &o, out, sizeof out, &n), WS_OK);
}

static void client_open(void)
{
	static const char *const protos[] = {"chat", "superchat", NULL};
	static const ws_connect_opts with = {.host = "h", .protocols = protos};
	static const ws_connect_opts without = {.host = "h"};
	ws_config cfg = client_cfg();
	t_feed_opts o = {.connect = &without};
	/* Then frames from the server in the same buffer (RFC 6455 §5.7). */
	static const char resp[] = R101 R_UP R_CONN R_ACC "\r\n\x81\x05Hello\x82\x02\x01\x02";
	static const char variants[] =
		"HTTP/1.1 101 \r\nconnection: keep-alive, UPGRADE\r\nUPGRADE: WebSocket\r\n"
		"sec-websocket-accept:   " T_ACCEPT "  \r\nX-Other: 1\r\n\r\n";
	static const char noreason[] = "HTTP/1.1 101\r\n" R_UP R_CONN R_ACC "\r\n";

	expect_log(&cfg, &o, resp, sizeof resp - 1,
	           "open 101 protocol=\"\"\ntext \"Hello\"\nbinary 0102\n", 250);
	expect_log(&cfg, &o, variants, sizeof variants - 1, "open 101 protocol=\"\"\n", 0);
	expect_log(&cfg, &o, noreason, sizeof noreason - 1, "open 101 protocol=\"\"\n", 0);

	/* The chosen subprotocol, a span into the head. */
	{
		static const char r[] = R101 R_UP R_CONN R_ACC "Sec-WebSocket-Protocol: superchat\r\n\r\n";
		o.connect = &with;
		expect_log(&cfg, &o, r, sizeof r - 1, "open 101 protocol=\"superchat\"\n", 0);
	}
	/* By hand: the event and the state. */
	{
		char buf[sizeof resp], out[256];
		size_t used, n;
		ws_event ev;
		ws_conn c;
		memcpy(buf, resp, sizeof resp);
		rand_ctr = 0;
		ws_conn_init(&c, sizeof c, &cfg);
		ws_conn_connect(&c, &without, out, sizeof out, &n);
		CHECK_INT(ws_conn_recv(&c, buf, sizeof resp - 1, &used, &ev), WS_OK);
		CHECK_INT(ev.type, WS_EV_OPEN);
		CHECK_INT(ev.http.status, 101);
		CHECK_INT(used, strlen(R101 R_UP R_CONN R_ACC "\r\n"));
		CHECK(ev.http.head.ptr == buf && ev.http.head.len == used);
		CHECK_INT(ev.http.protocol.len, 0);
		CHECK_INT(ws_conn_state(&c), WS_STATE_OPEN);
		CHECK(c.u_.f.frame_left == 0 && c.u_.f.msg_len == 0 && c.u_.f.utf8 == 0 &&
		      c.u_.f.fragments == 0);
		CHECK_INT(ws_conn_send(&c, WS_OP_TEXT, 0, "hi", 2, out, sizeof out, &n), WS_OK);
	}
}

static void client_errors(void)
{
	static const char *const protos[] = {"chat", "superchat", NULL};
	static const ws_connect_opts with = {.host = "h", .protocols = protos};
	static const ws_connect_opts without = {.host = "h"};
	static const struct {
		const char *resp;
		int err;
		int offered;
	} v[] = {
		/* RFC 6455 §4.1, client items 2-6. */
		{R101 R_CONN R_ACC "\r\n", WS_E_HTTP_UPGRADE, 0},
		{R101 "Upgrade: h2c\r\n" R_CONN R_ACC "\r\n", WS_E_HTTP_UPGRADE, 0},
		{R101 R_UP R_ACC "\r\n", WS_E_HTTP_CONNECTION, 0},
		{R101 R_UP "Connection: close\r\n" R_ACC "\r\n", WS_E_HTTP_CONNECTION, 0},
		{R101 R_UP R_CONN "\r\n", WS_E_HTTP_ACCEPT, 0},
		{R101 R_UP R_CONN "Sec-WebSocket-Accept: " RFC_ACCEPT "\r\n\r\n", WS_E_HTTP_ACCEPT, 0},
		{R101 R_UP R_CONN "Sec-WebSocket-Accept: dia79pksorwh0u3xpmgs6d+ky/u=\r\n\r\n",
		 WS_E_HTTP_ACCEPT, 0},
		{R101 R_UP R_CONN R_ACC R_ACC "\r\n", WS_E_HTTP_ACCEPT, 0},
		{R101 R_UP R_CONN R_ACC "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n",
		 WS_E_HTTP_EXTENSION, 0},
		{R101 R_UP R_CONN R_ACC "Sec-WebSocket-Extensions: \r\n\r\n", WS_E_HTTP_EXTENSION, 0},
		{R101 R_UP R_CONN R_ACC "Sec-WebSocket-Protocol: chat\r\n\r\n", WS_E_HTTP_PROTOCOL, 0},
		{R101 R_UP R_CONN R_ACC "Sec-WebSocket-Protocol: other\r\n\r\n", WS_E_HTTP_PROTOCOL, 1},
		{R101 R_UP R_CONN R_ACC "Sec-WebSocket-Protocol: Chat\r\n\r\n", WS_E_HTTP_PROTOCOL, 1},
		{R101 R_UP R_CONN R_ACC "Sec-WebSocket-Protocol: chat, superchat\r\n\r\n",
		 WS_E_HTTP_PROTOCOL, 1},
		{R101 R_UP R_CONN R_ACC "Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Protocol: chat\r\n\r\n",
		 WS_E_HTTP_PROTOCOL, 1},
		{R101 R_UP R_CONN R_ACC "Sec-WebSocket-Protocol: \r\n\r\n", WS_E_HTTP_PROTOCOL, 1},
		/* Status lines (RFC 9112 §4). */
		{"HTTP/1.1 10 Switching\r\n\r\n", WS_E_HTTP_STATUS, 0},
		{"HTTP/1.1 1011 Switching\r\n\r\n", WS_E_HTTP_STATUS, 0},
		{"HTTP/1.1101 Switching\r\n\r\n", WS_E_HTTP_STATUS, 0},
		{"HTTP/1.1  101 Switching\r\n\r\n", WS_E_HTTP_STATUS, 0},
		{"HTTP/1.1 1o1 Switching\r\n\r\n", WS_E_HTTP_STATUS, 0},
		{"HTTP/1.1 099 Low\r\n\r\n", WS_E_HTTP_STATUS, 0},
		{"HTTP/1.1 600 High\r\n\r\n", WS_E_HTTP_STATUS, 0},
		{"HTTP/2 101 Switching\r\n\r\n", WS_E_HTTP_STATUS, 0},
		{"HTTP/2.0 101 Switching\r\n\r\n", WS_E_HTTP_STATUS, 0},
		{"http/1.1 101 Switching\r\n\r\n", WS_E_HTTP_STATUS, 0},
		{"ICY 200 OK\r\n\r\n", WS_E_HTTP_STATUS, 0},
		{"HTTP/1.1 101 Swi\x01tching\r\n" R_UP R_CONN R_ACC "\r\n", WS_E_HTTP_STATUS, 0},
		{"HTTP/1.0 101 Switching Protocols\r\n" R_UP R_CONN R_ACC "\r\n", WS_E_HTTP_STATUS, 0},
		{"\r\n\r\n", WS_E_HTTP_STATUS, 0},
		/* Field syntax, as for requests. */
		{R101 R_UP " " R_CONN R_ACC "\r\n", WS_E_HTTP_MALFORMED, 0},
		{R101 "Upgrade : websocket\r\n" R_CONN R_ACC "\r\n", WS_E_HTTP_MALFORMED, 0},
		{R101 R_UP "Connection: Upgrade\n" R_ACC "\r\n", WS_E_HTTP_MALFORMED, 0},
		{R101 R_UP R_CONN R_ACC "\n", WS_E_HTTP_MALFORMED, 0},
		{"HTTP/1.1 403 Forbidden\r\nX: a\x01\r\n\r\n", WS_E_HTTP_MALFORMED, 0},
	};
	ws_config cfg = client_cfg();

	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		t_feed_opts o = {.connect = v[i].offered ? &with : &without};
		char want[64];
		/* A client that fails the handshake writes nothing: no "fail->". */
		snprintf(want, sizeof want, "error %s\n", ws_status_name(v[i].err));
		expect_log(&cfg, &o, v[i].resp, strlen(v[i].resp), want, 0);
	}
	/* By hand: ws_conn_fail() writes nothing, and the transport may close. */
	{
		static const char r[] = R101 R_UP R_CONN "Sec-WebSocket-Accept: " RFC_ACCEPT "\r\n\r\n";
		char buf[sizeof r], out[256];
		size_t used, n = 99;
		ws_event ev;
		ws_conn c;
		memcpy(buf, r, sizeof r);
		ws_conn_init(&c, sizeof c, &cfg);
		ws_conn_connect(&c, &without, out, sizeof out, &n);
		CHECK_INT(ws_conn_recv(&c, buf, sizeof r - 1, &used, &ev), WS_E_HTTP_ACCEPT);
		CHECK_INT(ws_conn_state(&c), WS_STATE_FAILED);
		CHECK_INT(ws_conn_fail(&c, out, sizeof out, &n), WS_OK);
		CHECK_INT(n, 0);
		CHECK_INT(ws_conn_should_close_transport(&c), 1);
	}
	/* Limits apply to responses too. */
	{
		static const char r[] = R101 R_UP R_CONN R_ACC "\r\n";
		t_feed_opts o = {.connect = &without};
		cfg.max_head = 40;
		expect_log(&cfg, &o, r, sizeof r - 1, "error E_HTTP_HEAD_TOO_BIG\n", 0);
		cfg = client_cfg();
		cfg.max_headers = 2;
		expect_log(&cfg, &o, r, sizeof r - 1, "error E_HTTP_TOO_MANY_HEADERS\n", 0);
	}
}

/* Any status but 101: REJECTED with the status and the head readable; the
 * body after the head is not consumed; the transport may close. */
static void client_rejected(void)
{
	static const ws_connect_opts co = {.host = "h"};
	/* The body has a bare LF and a CRLFCRLF: no head of ours. */
	static const char r401[] = "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"x\"\r\n"
	                           "Content-Length: 9\r\n\r\nhi\nyo\r\n\r\n";
	static const char r403[] = "HTTP/1.0 403 Forbidden\r\n\r\n";
	static const char r200[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
	ws_config cfg = client_cfg();
	t_feed_opts o = {.connect = &co};

	expect_log(&cfg, &o, r401, sizeof r401 - 1, "rejected 401\nrest 9\n", 300);
	expect_log(&cfg, &o, r403, sizeof r403 - 1, "rejected 403\n", 0);
	expect_log(&cfg, &o, r200, sizeof r200 - 1, "rejected 200\nrest 2\n", 0);
	{
		char buf[sizeof r401], out[256];
		size_t used, n, pos = 0;
		ws_str name, value;
		ws_event ev;
		ws_conn c;
		int found = 0;
		memcpy(buf, r401, sizeof r401);
		ws_conn_init(&c, sizeof c, &cfg);
		ws_conn_connect(&c, &co, out, sizeof out, &n);
		CHECK_INT(ws_conn_recv(&c, buf, sizeof r401 - 1, &used, &ev), WS_OK);
		CHECK_INT(ev.type, WS_EV_REJECTED);
		CHECK_INT(ev.http.status, 401);
		CHECK_INT(used, sizeof r401 - 1 - 9);
		CHECK(ev.http.head.ptr == buf && ev.http.head.len == used);
		while (ws_header_next(ev.http.head, &pos, &name, &value))
			if (ws__ieq(name, "www-authenticate") && ws__eq(value, "Basic realm=\"x\""))
				found = 1;
		CHECK(found);
		CHECK_INT(ws_conn_should_close_transport(&c), 1);
		CHECK_INT(ws_conn_state(&c), WS_STATE_CLOSED);
		CHECK_INT(ws_conn_error(&c), WS_OK);
		/* Whatever follows is not ours. */
		CHECK_INT(ws_conn_recv(&c, buf + used, 9, &used, &ev), WS_OK);
		CHECK_INT(used, 0);
		CHECK_INT(ev.type, WS_EV_NONE);
		CHECK_INT(ws_conn_send(&c, WS_OP_TEXT, 0, "x", 1, out, sizeof out, &n), WS_E_STATE);
	}
}

/* ---- issue 9: the negotiation table, interim responses, Host, bodies, writers ---- */

/* RFC 7692 §7 for a server answering offers (ws_deflate_negotiate, then
 * ws_deflate_format): each row is the server's configuration, an offer, the
 * answer (NULL: declined) and the sentence of the RFC it checks. */
static void deflate_negotiation_server(void)
{
	static const struct {
		uint8_t snct, cnct, smwb, cmwb; /* the server's ws_deflate_config */
		const char *offer, *answer, *rfc;
	} v[] = {
		/* §7.1.1.1 server_no_context_takeover */
		{0, 0, 15, 15, "permessage-deflate; server_no_context_takeover",
		 "permessage-deflate; server_no_context_takeover",
		 "7.1.1.1: A server accepts an extension negotiation offer that includes the "
		 "server_no_context_takeover extension parameter by including the "
		 "server_no_context_takeover extension parameter in the corresponding response"},
		{1, 0, 15, 15, "permessage-deflate", "permessage-deflate; server_no_context_takeover",
		 "7.1.1.1: A server MAY include the server_no_context_takeover extension parameter in an "
		 "extension negotiation response even if the offer didn't include it"},
		{0, 0, 15, 15, "permessage-deflate; server_no_context_takeover=1", NULL,
		 "7.1.1.1: This extension parameter has no value; 7.1: a server MUST decline an offer "
		 "with an extension parameter with an invalid value"},
		{0, 0, 15, 15, "permessage-deflate; server_no_context_takeover=\"\"", NULL,
		 "7.1.1.1: no value; 7.1: MUST decline (invalid value)"},
		/* §7.1.1.2 client_no_context_takeover */
		{0, 0, 15, 15, "permessage-deflate; client_no_context_takeover",
		 "permessage-deflate; client_no_context_takeover",
		 "7.1.1.2: the server may ... use the parameter ... by including the "
		 "client_no_context_takeover extension parameter in the corresponding response"},
		{0, 1, 15, 15, "permessage-deflate", "permessage-deflate; client_no_context_takeover",
		 "7.1.1.2: A server MAY include the client_no_context_takeover extension parameter in an "
		 "extension negotiation response"},
		{0, 0, 15, 15, "permessage-deflate; client_no_context_takeover=x", NULL,
		 "7.1.1.2: This extension parameter has no value; 7.1: MUST decline (invalid value)"},
		/* §7.1.2.1 server_max_window_bits */
		{0, 0, 15, 15, "permessage-deflate; server_max_window_bits=15",
		 "permessage-deflate; server_max_window_bits=14",
		 "7.1.2.1: A server accepts an extension negotiation offer with this parameter by including "
		 "the server_max_window_bits extension parameter in the extension negotiation response ... "
		 "with the same or smaller value as the offer"},
		{0, 0, 15, 15, "permessage-deflate; server_max_window_bits=\"15\"",
		 "permessage-deflate; server_max_window_bits=14", "7.1.2.1: the same, quoted (RFC 6455 9.1)"},
		{0, 0, 15, 15, "permessage-deflate; server_max_window_bits=14",
		 "permessage-deflate; server_max_window_bits=14", "7.1.2.1: the same or smaller value"},
		{0, 0, 15, 15, "permessage-deflate; server_max_window_bits=10",
		 "permessage-deflate; server_max_window_bits=10", "7.1.2.1: the same or smaller value"},
		{0, 0, 15, 15, "permessage-deflate; server_max_window_bits=8",
		 "permessage-deflate; server_max_window_bits=8", "7.1.2.1: the same or smaller value"},
		{0, 0, 12, 15, "permessage-deflate; server_max_window_bits=15",
		 "permessage-deflate; server_max_window_bits=12", "7.1.2.1: the same or smaller value"},
		{0, 0, 12, 15, "permessage-deflate", "permessage-deflate; server_max_window_bits=12",
		 "7.1.2.1: A server MAY include the server_max_window_bits extension parameter in an "
		 "extension negotiation response even if the offer ... didn't include it"},
		{0, 0, 15, 15, "permessage-deflate; server_max_window_bits", NULL,
		 "7.1.2.1: This parameter has a decimal integer value; 7.1: MUST decline (invalid value)"},
		{0, 0, 15, 15, "permessage-deflate; server_max_window_bits=16", NULL,
		 "7.1.2.1: a value between 8 to 15; 7.1: MUST decline (invalid value)"},
		{0, 0, 15, 15, "permessage-deflate; server_max_window_bits=7", NULL,
		 "7.1.2.1: a value between 8 to 15; 7.1: MUST decline (invalid value)"},
		{0, 0, 15, 15, "permessage-deflate; server_max_window_bits=010", NULL,
		 "7.1.2.1: without leading zeroes; 7.1: MUST decline (invalid value)"},
		/* §7.1.2.2 client_max_window_bits */
		{0, 0, 15, 15, "permessage-deflate; client_max_window_bits", "permessage-deflate",
		 "7.1.2.2: the server MAY include the client_max_window_bits extension parameter in the "
		 "corresponding extension negotiation response"},
		{0, 0, 15, 10, "permessage-deflate; client_max_window_bits",
		 "permessage-deflate; client_max_window_bits=10",
		 "7.1.2.2: By including this extension parameter in a response, a server limits the LZ77 "
		 "sliding window size that the client uses"},
		{0, 0, 15, 15, "permessage-deflate; client_max_window_bits=10",
		 "permessage-deflate; client_max_window_bits=10",
		 "7.1.2.2: ... by including the client_max_window_bits extension parameter ... with a value "
		 "equal to or smaller than the received value"},
		{0, 0, 15, 9, "permessage-deflate; client_max_window_bits=10",
		 "permessage-deflate; client_max_window_bits=9", "7.1.2.2: equal to or smaller"},
		{0, 0, 15, 10, "permessage-deflate", "permessage-deflate",
		 "7.1.2.2: If a received extension negotiation offer doesn't have the client_max_window_bits "
		 "extension parameter, the corresponding response MUST NOT include it"},
		{0, 0, 15, 15, "permessage-deflate; client_max_window_bits=16", NULL,
		 "7.1.2.2: a value between 8 to 15; 7.1: MUST decline (invalid value)"},
		{0, 0, 15, 15, "permessage-deflate; client_max_window_bits=", NULL,
		 "7.1.2.2: no value or a decimal integer value; 7.1: MUST decline"},
		/* §7.1: the reasons to decline, and the next offer. */
		{0, 0, 15, 15, "permessage-deflate; foo", NULL,
		 "7.1: MUST decline ... an extension parameter not defined for use in an offer"},
		{0, 0, 15, 15, "permessage-deflate; client_max_window_bits; client_max_window_bits=10", NULL,
		 "7.1: MUST decline ... multiple extension parameters with the same name"},
		{0, 0, 15, 15, "permessage-deflate; foo, permessage-deflate; client_no_context_takeover",
		 "permessage-deflate; client_no_context_takeover",
		 "5: a server accepts one of the offers; a declined element does not decline the next"},
	};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		ws_deflate_config d;
		ws_deflate_params p;
		ws_str offer = {v[i].offer, strlen(v[i].offer)};
		char answer[WS_DEFLATE_FORMAT_MAX] = "";
		int ok;
		ws_deflate_config_init(&d);
		d.server_no_context_takeover = v[i].snct;
		d.client_no_context_takeover = v[i].cnct;
		d.server_max_window_bits = v[i].smwb;
		d.client_max_window_bits = v[i].cmwb;
		ok = ws_deflate_negotiate(&d, offer, &p);
		if (ok)
			ws_deflate_format(&d, &p, answer, sizeof answer);
		if (ok != (v[i].answer != NULL) || (ok && strcmp(answer, v[i].answer)))
			t_fail(__FILE__, __LINE__, "offer \"%s\": answered \"%s\", want \"%s\"\n    RFC 7692 %s",
			       v[i].offer, ok ? answer : "(declined)", v[i].answer ? v[i].answer : "(declined)",
			       v[i].rfc);
	}
}

/* RFC 7692 §7 for a client checking answers (ws_deflate_check_response)
 * against the offer its configuration makes (ws_deflate_format). */
static void deflate_negotiation_client(void)
{
	static const struct {
		uint8_t snct, cnct, smwb, cmwb; /* the client's ws_deflate_config */
		const char *answer;
		int ok;
		ws_deflate_params p; /* agreed: snct, cnct, smwb, cmwb */
		const char *rfc;
	} v[] = {
		{0, 0, 15, 15, "permessage-deflate", 1, {0, 0, 15, 15},
		 "7.1.2.1/7.1.2.2: absence ... indicates ... a sliding window of up to 32,768 bytes"},
		/* §7.1.1.1 */
		{0, 0, 15, 15, "permessage-deflate; server_no_context_takeover", 1, {1, 0, 15, 15},
		 "7.1.1.1: A server MAY include the server_no_context_takeover extension parameter ... even "
		 "if the offer ... didn't include it"},
		{1, 0, 15, 15, "permessage-deflate; server_no_context_takeover", 1, {1, 0, 15, 15},
		 "7.1.1.1: A server accepts an offer that includes server_no_context_takeover by including it"},
		{1, 0, 15, 15, "permessage-deflate", 0, {0, 0, 0, 0},
		 "7.1.1.1: an answer without it did not accept our only offer; 7.1: the client does not "
		 "support the configuration, MUST Fail"},
		{0, 0, 15, 15, "permessage-deflate; server_no_context_takeover=1", 0, {0, 0, 0, 0},
		 "7.1: a client MUST Fail ... an extension parameter with an invalid value"},
		/* §7.1.1.2 */
		{0, 0, 15, 15, "permessage-deflate; client_no_context_takeover", 1, {0, 1, 15, 15},
		 "7.1.1.2: A client MUST support the client_no_context_takeover extension parameter in an "
		 "extension negotiation response"},
		{0, 1, 15, 15, "permessage-deflate", 1, {0, 1, 15, 15},
		 "7.1.1.2: a hint that even if the server doesn't include it ... the client is not going to "
		 "use context takeover"},
		{0, 0, 15, 15, "permessage-deflate; client_no_context_takeover=\"x\"", 0, {0, 0, 0, 0},
		 "7.1: MUST Fail ... invalid value"},
		/* §7.1.2.1 */
		{0, 0, 15, 15, "permessage-deflate; server_max_window_bits=10", 1, {0, 0, 10, 15},
		 "7.1.2.1: A server MAY include the server_max_window_bits extension parameter ... even if "
		 "the offer ... didn't include it"},
		{0, 0, 15, 15, "permessage-deflate; server_max_window_bits=15", 1, {0, 0, 15, 15},
		 "7.1.2.1: the same, at 15"},
		{0, 0, 10, 15, "permessage-deflate; server_max_window_bits=10", 1, {0, 0, 10, 15},
		 "7.1.2.1: A server accepts ... with the same or smaller value as the offer"},
		{0, 0, 10, 15, "permessage-deflate; server_max_window_bits=9", 1, {0, 0, 9, 15},
		 "7.1.2.1: the same or smaller value"},
		{0, 0, 10, 15, "permessage-deflate; server_max_window_bits=11", 0, {0, 0, 0, 0},
		 "7.1.2.1: the same or smaller value; 7.1: MUST Fail"},
		{0, 0, 10, 15, "permessage-deflate", 0, {0, 0, 0, 0},
		 "7.1.2.1: A server accepts an offer with this parameter by including it"},
		{0, 0, 15, 15, "permessage-deflate; server_max_window_bits", 0, {0, 0, 0, 0},
		 "7.1.2.1: in a response has a decimal integer value; 7.1: MUST Fail"},
		{0, 0, 15, 15, "permessage-deflate; server_max_window_bits=16", 0, {0, 0, 0, 0},
		 "7.1.2.1: between 8 to 15; 7.1: MUST Fail"},
		/* §7.1.2.2 (the offer always has client_max_window_bits) */
		{0, 0, 15, 15, "permessage-deflate; client_max_window_bits=10", 1, {0, 0, 15, 10},
		 "7.1.2.2: By including this extension parameter in a response, a server limits the LZ77 "
		 "sliding window size that the client uses"},
		{0, 0, 15, 15, "permessage-deflate; client_max_window_bits", 0, {0, 0, 0, 0},
		 "7.1.2.2: in a response has a decimal integer value; 7.1: MUST Fail"},
		{0, 0, 15, 15, "permessage-deflate; client_max_window_bits=7", 0, {0, 0, 0, 0},
		 "7.1.2.2: between 8 to 15; 7.1: MUST Fail"},
		{0, 0, 15, 10, "permessage-deflate", 1, {0, 0, 15, 10},
		 "7.1.2.2: a hint that ... the client is not going to use an LZ77 sliding window size "
		 "greater than the size specified by the value in the offer"},
		{0, 0, 15, 10, "permessage-deflate; client_max_window_bits=9", 1, {0, 0, 15, 9},
		 "7.1.2.2: with a value equal to or smaller than the received value"},
		{0, 0, 15, 10, "permessage-deflate; client_max_window_bits=12", 0, {0, 0, 0, 0},
		 "7.1.2.2: equal to or smaller than the received value; 7.1: MUST Fail"},
		/* §7.1 */
		{0, 0, 15, 15, "permessage-deflate; x=1", 0, {0, 0, 0, 0},
		 "7.1: MUST Fail ... an extension parameter not defined for use in a response"},
		{0, 0, 15, 15, "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
		 0, {0, 0, 0, 0}, "7.1: MUST Fail ... multiple extension parameters with the same name"},
		{0, 0, 15, 15, "permessage-deflate, permessage-deflate", 0, {0, 0, 0, 0},
		 "5: one offer made, one element accepted at most"},
	};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		ws_deflate_config d;
		ws_deflate_params p;
		ws_str answer = {v[i].answer, strlen(v[i].answer)};
		int ok;
		ws_deflate_config_init(&d);
		d.server_no_context_takeover = v[i].snct;
		d.client_no_context_takeover = v[i].cnct;
		d.server_max_window_bits = v[i].smwb;
		d.client_max_window_bits = v[i].cmwb;
		memset(&p, 0, sizeof p);
		ok = ws_deflate_check_response(&d, answer, &p);
		if (ok != v[i].ok || (ok && memcmp(&p, &v[i].p, sizeof p)))
			t_fail(__FILE__, __LINE__, "answer \"%s\": %d {%d %d %d %d}, want %d\n    RFC 7692 %s",
			       v[i].answer, ok, p.server_no_context_takeover, p.client_no_context_takeover,
			       p.server_max_window_bits, p.client_max_window_bits, v[i].ok, v[i].rfc);
	}
	/* The offers those configurations make (7.1.2.2: "By including this
	 * parameter in an offer, a client informs the peer server that the client
	 * supports the client_max_window_bits extension parameter"). */
	{
		ws_deflate_config d;
		char offer[WS_DEFLATE_FORMAT_MAX];
		ws_deflate_config_init(&d);
		ws_deflate_format(&d, NULL, offer, sizeof offer);
		CHECK_STR(offer, "permessage-deflate; client_max_window_bits");
		d.server_no_context_takeover = 1;
		d.server_max_window_bits = 10;
		d.client_max_window_bits = 12;
		ws_deflate_format(&d, NULL, offer, sizeof offer);
		CHECK_STR(offer, "permessage-deflate; server_no_context_takeover; server_max_window_bits=10; "
		                 "client_max_window_bits=12");
	}
}

static void *std_alloc(void *ctx, size_t n)
{
	(void)ctx;
	return malloc(n);
}

static void std_free(void *ctx, void *p)
{
	(void)ctx;
	free(p);
}

/* Defect 2 through the handshake: an offer naming server_max_window_bits=15
 * (as Python websockets sends when asked to) gets an answer that names it,
 * and the client that offered it accepts that answer. */
static void deflate_offer_names_server_window(void)
{
	static uint8_t ibuf[1024];
	static const char req[] = RL H_HOST H_UP H_CONN H_KEY H_VER
		"Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=15; "
		"client_max_window_bits\r\n\r\n";
	ws_deflate_config d;
	ws_config cfg = server_cfg();
	char out[512];
	size_t n, pos = 0;
	ws_str name, value, head;
	ws_conn c;
	int found = 0;

	if (!ws_deflate_available())
		return;
	ws_deflate_config_init(&d);
	d.alloc.alloc = std_alloc;
	d.alloc.free = std_free;
	d.inflate_buf = ibuf;
	d.inflate_cap = sizeof ibuf;
	cfg.deflate = &d;
	CHECK(to_request(&c, &cfg, req));
	CHECK_INT(ws_conn_accept(&c, NULL, out, sizeof out, &n), WS_OK);
	head.ptr = out;
	head.len = n;
	while (ws_header_next(head, &pos, &name, &value)) {
		ws_deflate_config client;
		ws_deflate_params p;
		if (!ws__ieq(name, "Sec-WebSocket-Extensions"))
			continue;
		found++;
		CHECK(ws__eq(value, "permessage-deflate; server_max_window_bits=14"));
		/* The client that asked for at most 15 bits. */
		ws_deflate_config_init(&client);
		CHECK_INT(ws_deflate_check_response(&client, value, &p), 1);
		CHECK_INT(p.server_max_window_bits, 14);
	}
	CHECK_INT(found, 1);
	ws_conn_release(&c);
	/* Whole, byte by byte, every split: the same request and answer. */
	{
		t_feed_opts o = {.accept = 1};
		char *log = t_feed_all(&cfg, &o, req, sizeof req - 1, NULL, 0);
		CHECK(strstr(log, "accept-> ") != NULL);
		free(log);
	}
}

/* Issue 25: the answer chooses permessage-deflate per request
 * (ws_accept_opts.deflate, .no_deflate), with one ws_config. Each row runs a
 * real client (offering "permessage-deflate; client_max_window_bits") against
 * a server through both handshakes, then a compressible message each way:
 * the 101's extension line, whether each side then compresses (RSV1 on the
 * wire), the payload intact, and whose allocator paid for it. */
static long alloc_count[2]; /* [0] the ws_config's deflate config, [1] the per-request one */
static void *count_alloc(void *ctx, size_t n)
{
	++*(long *)ctx;
	return malloc(n);
}

static void deflate_per_request(void)
{
	enum { CFG_NONE, CFG_DEFAULT }; /* the server ws_config's deflate */
	enum { OPT_NULL, OPT_ZERO, OPT_OFF, OPT_ALT, OPT_ALT_OFF, OPT_BAD };
	static const struct {
		int cfg, opt, offer;
		const char *ext; /* the 101's Sec-WebSocket-Extensions, NULL: none */
		int payer;       /* whose allocator: 0 ws_config's, 1 per-request, -1 none */
		int rc;
	} v[] = {
		{CFG_DEFAULT, OPT_NULL, 1, "permessage-deflate", 0, WS_OK},
		{CFG_DEFAULT, OPT_ZERO, 1, "permessage-deflate", 0, WS_OK},
		{CFG_DEFAULT, OPT_OFF, 1, NULL, -1, WS_OK},
		{CFG_DEFAULT, OPT_ALT, 1,
		 "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
		 "server_max_window_bits=10; client_max_window_bits=11", 1, WS_OK},
		{CFG_DEFAULT, OPT_ALT_OFF, 1, NULL, -1, WS_OK}, /* no_deflate wins */
		{CFG_DEFAULT, OPT_BAD, 1, NULL, -1, WS_E_ARG},
		{CFG_DEFAULT, OPT_ALT, 0, NULL, -1, WS_OK},   /* nothing offered: nothing agreed */
		{CFG_NONE, OPT_NULL, 1, NULL, -1, WS_OK},
		{CFG_NONE, OPT_OFF, 1, NULL, -1, WS_OK},
		{CFG_NONE, OPT_ALT, 1,
		 "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
		 "server_max_window_bits=10; client_max_window_bits=11", 1, WS_OK},
	};
	static uint8_t ibuf[3][1024];
	static const ws_connect_opts co = {.host = "h"};
	ws_deflate_config dcfg, alt, bad, ccfg;

	if (!ws_deflate_available())
		return;
	ws_deflate_config_init(&dcfg);
	dcfg.alloc = (ws_allocator){count_alloc, std_free, &alloc_count[0]};
	dcfg.inflate_buf = ibuf[0];
	dcfg.inflate_cap = sizeof ibuf[0];
	alt = dcfg;
	alt.alloc.ctx = &alloc_count[1];
	alt.inflate_buf = ibuf[1];
	alt.server_no_context_takeover = alt.client_no_context_takeover = 1;
	alt.server_max_window_bits = 10;
	alt.client_max_window_bits = 11;
	bad = alt;
	bad.inflate_buf = NULL;
	ws_deflate_config_init(&ccfg);
	ccfg.alloc = (ws_allocator){std_alloc, std_free, NULL};
	ccfg.inflate_buf = ibuf[2];
	ccfg.inflate_cap = sizeof ibuf[2];
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		ws_config scfg = server_cfg(), cc = client_cfg();
		ws_accept_opts ao = {0};
		ws_conn s, c;
		ws_event ev;
		char req[512], out[512], msg[600];
		uint8_t wire[1024];
		size_t n, used, wn;
		const char *ext = NULL;
		size_t ext_len = 0, pos = 0;
		ws_str name, value, head;
		long before[2] = {alloc_count[0], alloc_count[1]};
		int rc, payer = -1;

		scfg.deflate = v[i].cfg == CFG_DEFAULT ? &dcfg : NULL;
		cc.deflate = v[i].offer ? &ccfg : NULL;
		ao.no_deflate = v[i].opt == OPT_OFF || v[i].opt == OPT_ALT_OFF;
		ao.deflate = v[i].opt == OPT_ALT || v[i].opt == OPT_ALT_OFF ? &alt : v[i].opt == OPT_BAD ? &bad : NULL;
		ws_conn_init(&s, sizeof s, &scfg);
		ws_conn_init(&c, sizeof c, &cc);
		CHECK_INT(ws_conn_connect(&c, &co, req, sizeof req, &n), WS_OK);
		CHECK_INT(ws_conn_recv(&s, req, n, &used, &ev), WS_OK);
		CHECK_INT(ev.type, WS_EV_REQUEST);
		rc = ws_conn_accept(&s, v[i].opt == OPT_NULL ? NULL : &ao, out, sizeof out, &n);
		if (rc != v[i].rc) {
			t_fail(__FILE__, __LINE__, "row %zu: accept returned %d, want %d", i, rc, v[i].rc);
			continue;
		}
		if (rc != WS_OK) {
			CHECK_INT(n, 0);
			CHECK_INT(ws_conn_state(&s), WS_STATE_HANDSHAKE);
			CHECK_INT(alloc_count[0] + alloc_count[1], before[0] + before[1]);
			/* The same request answered without the bad config. */
			ao.deflate = NULL;
			CHECK_INT(ws_conn_accept(&s, &ao, out, sizeof out, &n), WS_OK);
			ws_conn_release(&s);
			ws_conn_release(&c);
			continue;
		}
		head.ptr = out;
		head.len = n;
		while (ws_header_next(head, &pos, &name, &value))
			if (ws__ieq(name, "Sec-WebSocket-Extensions"))
				ext = value.ptr, ext_len = value.len;
		if ((ext == NULL) != (v[i].ext == NULL) ||
		    (ext && (ext_len != strlen(v[i].ext) || memcmp(ext, v[i].ext, ext_len))))
			t_fail(__FILE__, __LINE__, "row %zu: answered \"%.*s\", want \"%s\"", i, (int)ext_len,
			       ext ? ext : "", v[i].ext ? v[i].ext : "(none)");
		if (alloc_count[0] != before[0])
			payer = 0;
		if (alloc_count[1] != before[1])
			payer = payer < 0 ? 1 : 2;
		if (payer != v[i].payer)
			t_fail(__FILE__, __LINE__, "row %zu: allocator %d paid, want %d", i, payer, v[i].payer);
		/* The client judges the answer; then a message each way. */
		CHECK_INT(ws_conn_recv(&c, out, n, &used, &ev), WS_OK);
		CHECK_INT(ev.type, WS_EV_OPEN);
		memset(msg, 'a', sizeof msg);
		for (int dir = 0; dir < 2; dir++) {
			ws_conn *from = dir ? &s : &c, *to = dir ? &c : &s;
			CHECK_INT(ws_conn_send(from, WS_OP_TEXT, 0, msg, sizeof msg, wire, sizeof wire, &wn), WS_OK);
			CHECK_INT(!!(wire[0] & WS_RSV1), v[i].ext != NULL);
			if (v[i].ext)
				CHECK(wn < sizeof msg / 4); /* compressed: 600 'a's are a few bytes */
			CHECK_INT(ws_conn_recv(to, wire, wn, &used, &ev), WS_OK);
			CHECK_INT(used, wn);
			CHECK_INT(ev.type, WS_EV_TEXT);
			CHECK(ev.flags & WS_EVF_MSG_END);
			CHECK(ev.len == sizeof msg && !memcmp(ev.data, msg, sizeof msg));
		}
		ws_conn_release(&s);
		ws_conn_release(&c);
	}
}

/* Defect 9: a second ws_conn_fail() after a failed server handshake writes
 * nothing; the HTTP error went out once. */
/* A plain GET (no Upgrade) fails the handshake, and the head and target
 * stay in the event, as conn.h documents, so that a server can serve a page
 * on the same port; a head that never completed leaves them empty. */
static void plain_request_described(void)
{
	static const char req[] = "GET /index.html?x=1 HTTP/1.1\r\nHost: a\r\n\r\nrest";
	ws_config cfg = server_cfg();
	char buf[sizeof req];
	size_t used;
	ws_event ev;
	ws_conn c;

	memcpy(buf, req, sizeof req);
	ws_conn_init(&c, sizeof c, &cfg);
	CHECK_INT(ws_conn_recv(&c, buf, sizeof req - 1, &used, &ev), WS_E_HTTP_UPGRADE);
	CHECK_INT(ev.type, WS_EV_NONE);
	CHECK(ev.http.head.ptr == buf && ev.http.head.len == sizeof req - 1 - 4);
	CHECK(ws__eq(ev.http.target, "/index.html?x=1"));
	/* Malformed request line: the head, no target. */
	memcpy(buf, "GET  / HTTP/1.1\r\n\r\n", 19);
	ws_conn_init(&c, sizeof c, &cfg);
	CHECK_INT(ws_conn_recv(&c, buf, 19, &used, &ev), WS_E_HTTP_MALFORMED);
	CHECK_INT(ev.http.head.len, 19);
	CHECK_INT(ev.http.target.len, 0);
}

static void fail_twice_writes_once(void)
{
	static const char req[] = "POST / HTTP/1.1\r\n\r\n";
	ws_config cfg = server_cfg();
	char buf[sizeof req], out[256];
	size_t used, n;
	ws_event ev;
	ws_conn c;

	memcpy(buf, req, sizeof req);
	ws_conn_init(&c, sizeof c, &cfg);
	CHECK_INT(ws_conn_recv(&c, buf, sizeof req - 1, &used, &ev), WS_E_HTTP_METHOD);
	CHECK_INT(ws_conn_fail(&c, out, 10, &n), WS_E_BUFFER); /* too small: nothing written yet */
	CHECK(n > 10);
	CHECK_INT(ws_conn_fail(&c, out, sizeof out, &n), WS_OK);
	CHECK(n > 0 && memcmp(out, "HTTP/1.1 400 ", 13) == 0);
	CHECK_INT(ws_conn_should_close_transport(&c), 1);
	n = 99;
	CHECK_INT(ws_conn_fail(&c, out, sizeof out, &n), WS_OK);
	CHECK_INT(n, 0);
	n = 99;
	CHECK_INT(ws_conn_fail(&c, out, 0, &n), WS_OK);
	CHECK_INT(n, 0);
	CHECK_INT(ws_conn_error(&c), WS_E_HTTP_METHOD);
}

/* Defect 12: 1xx responses other than 101 are interim (RFC 9110 §15.2): the
 * client consumes them and waits for the final one. */
static void client_interim_responses(void)
{
	static const ws_connect_opts co = {.host = "h"};
	static const char r100[] = "HTTP/1.1 100 Continue\r\n\r\n";
	static const char r103[] = "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n";
	static const char open[] = "HTTP/1.1 100 Continue\r\n\r\n"
		"HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n"
		R101 R_UP R_CONN R_ACC "\r\n\x81\x05Hello";
	static const char rejected[] = "HTTP/1.1 102 Processing\r\n\r\n"
		"HTTP/1.1 401 Unauthorized\r\nContent-Length: 2\r\n\r\nno";
	static const char *const bad[][2] = {
		{"HTTP/1.0 100 Continue\r\n\r\n" R101 R_UP R_CONN R_ACC "\r\n", "error E_HTTP_STATUS\n"},
		{"HTTP/1.1 100 Continue\r\nX: a\x01\r\n\r\n" R101 R_UP R_CONN R_ACC "\r\n",
		 "error E_HTTP_MALFORMED\n"},
		{"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 101 Switching Protocols\r\n\r\n",
		 "error E_HTTP_UPGRADE\n"},
		{"HTTP/1.1 100 Continue\r\n\n", "error E_HTTP_MALFORMED\n"},
	};
	ws_config cfg = client_cfg();
	t_feed_opts o = {.connect = &co};

	expect_log(&cfg, &o, open, sizeof open - 1, "open 101 protocol=\"\"\ntext \"Hello\"\n", 250);
	expect_log(&cfg, &o, rejected, sizeof rejected - 1, "rejected 401\nrest 2\n", 0);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		expect_log(&cfg, &o, bad[i][0], strlen(bad[i][0]), bad[i][1], 0);
	/* By hand: an interim head alone is consumed without an event; the next
	 * head is searched from its own start, one new byte per call. */
	{
		char buf[512], out[256];
		size_t used, n, len = 0, k;
		ws_event ev;
		ws_conn c;
		int bad_step = 0;
		memcpy(buf + len, r100, sizeof r100 - 1), len += sizeof r100 - 1;
		memcpy(buf + len, r103, sizeof r103 - 1), len += sizeof r103 - 1;
		memcpy(buf + len, "HTTP/", 5);
		rand_ctr = 0; /* the key T_ACCEPT answers */
		ws_conn_init(&c, sizeof c, &cfg);
		ws_conn_connect(&c, &co, out, sizeof out, &n);
		CHECK_INT(ws_conn_recv(&c, buf, len + 5, &used, &ev), WS_OK); /* "HTTP/" of a third */
		CHECK_INT(ev.type, WS_EV_NONE);
		CHECK_INT(used, len);
		CHECK_INT(c.u_.h.scanned, 5);
		CHECK_INT(ws_conn_state(&c), WS_STATE_HANDSHAKE);
		memcpy(buf, R101 R_UP R_CONN R_ACC "\r\n", strlen(R101 R_UP R_CONN R_ACC "\r\n"));
		len = strlen(R101 R_UP R_CONN R_ACC "\r\n");
		for (k = 6; k < len && !bad_step; k++) {
			if (ws_conn_recv(&c, buf, k, &used, &ev) != WS_OK || used || ev.type ||
			    c.u_.h.scanned != k) {
				CHECK_INT(c.u_.h.scanned, k);
				bad_step = 1;
			}
		}
		CHECK_INT(ws_conn_recv(&c, buf, len, &used, &ev), WS_OK);
		CHECK_INT(ev.type, WS_EV_OPEN);
		CHECK_INT(ev.http.status, 101);
		CHECK(ev.http.head.ptr == buf && ev.http.head.len == len);
	}
	/* A server sending nothing but interim responses: each is consumed, so
	 * none can grow past max_head. */
	{
		static char buf[4096];
		size_t used, n, len = 0;
		char out[256];
		ws_event ev;
		ws_conn c;
		ws_config small = client_cfg();
		small.max_head = 64;
		while (len + sizeof r100 - 1 <= sizeof buf)
			memcpy(buf + len, r100, sizeof r100 - 1), len += sizeof r100 - 1;
		ws_conn_init(&c, sizeof c, &small);
		ws_conn_connect(&c, &co, out, sizeof out, &n);
		CHECK_INT(ws_conn_recv(&c, buf, len, &used, &ev), WS_OK);
		CHECK_INT(ev.type, WS_EV_NONE);
		CHECK_INT(used, len);
	}
}

/* Defect 13: Host is uri-host [":" port] (RFC 9112 §3.2, RFC 3986 §3.2.2);
 * anything else is a 400. */
static void host_values(void)
{
	static const char *const good[] = {
		"a", "server.example.com:8080", "127.0.0.1", "127.0.0.1:80", "[::1]", "[::1]:443",
		"[2001:db8::ff00:42:8329]", "[::ffff:192.0.2.1]:9", "[v1.fe:x]", "a:", "a%20b",
		"xn--bcher-kva.example", "ex_am-ple~!$&'()*+,;=.com", "[1:2:3:4:5:6:7:8]", "[1::]",
		"[::]",
	};
	static const char *const bad[] = {
		"a b", "a/b", "a@b", "user@host:80", "a?b", "a#b", "[::1", "::1", "[::1]x", "[::1]:x",
		"a:b", "a:80:80", "a:8o", "[zz]", "[1:2:3:4:5:6:7:8:9]", "[1::2::3]", "[12345::]",
		"[::1.2.3]", "[v1]", "[vz.a]", "a%2", "a%zz", "a\"b", "a<b", "a\\b", "[]", ":80",
		"a{b}", "a|b", "a^b", "a`b",
	};
	ws_config cfg = server_cfg();
	char req[512];
	char *want = error_log(WS_E_HTTP_HOST);

	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		char log[256];
		int len = snprintf(req, sizeof req, RL "Host: %s\r\n" H_UP H_CONN H_KEY H_VER "\r\n", good[i]);
		snprintf(log, sizeof log, "request target=\"/chat\" host=\"%s\" origin=\"\" "
		                          "key=\"dGhlIHNhbXBsZSBub25jZQ==\"\n", good[i]);
		expect_log(&cfg, NULL, req, (size_t)len, log, 0);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int len = snprintf(req, sizeof req, RL "Host: %s\r\n" H_UP H_CONN H_KEY H_VER "\r\n", bad[i]);
		char *log = t_feed_all(&cfg, NULL, req, (size_t)len, want, 0);
		if (strcmp(log, want))
			t_fail(__FILE__, __LINE__, "Host: %s\n    got:  %s", bad[i], log);
		free(log);
	}
	free(want);
	/* A client refuses to send one. */
	{
		ws_config ccfg = client_cfg();
		ws_conn c;
		char out[512];
		size_t n;
		for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
			ws_connect_opts co = {.host = bad[i]};
			ws_conn_init(&c, sizeof c, &ccfg);
			if (ws_conn_connect(&c, &co, out, sizeof out, &n) != WS_E_ARG)
				t_fail(__FILE__, __LINE__, "connect to host \"%s\" is not WS_E_ARG", bad[i]);
		}
		for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
			ws_connect_opts co = {.host = good[i]};
			ws_conn_init(&c, sizeof c, &ccfg);
			if (ws_conn_connect(&c, &co, out, sizeof out, &n) != WS_OK)
				t_fail(__FILE__, __LINE__, "connect to host \"%s\" fails", good[i]);
		}
	}
}

/* Defect 16: an upgrade request announcing a body is refused with 400, since
 * the body would be read as frames; "Content-Length: 0" announces none. */
static void request_with_body(void)
{
	static const struct {
		const char *fields;
		int err;
	} v[] = {
		{"Content-Length: 5\r\n", WS_E_HTTP_BODY},
		{"content-length: 1\r\n", WS_E_HTTP_BODY},
		{"Content-Length: 0, 5\r\n", WS_E_HTTP_BODY},
		{"Content-Length: 0\r\nContent-Length: 7\r\n", WS_E_HTTP_BODY},
		{"Content-Length: x\r\n", WS_E_HTTP_BODY},
		{"Content-Length: \r\n", WS_E_HTTP_BODY},
		{"Transfer-Encoding: chunked\r\n", WS_E_HTTP_BODY},
		{"Transfer-Encoding: identity\r\n", WS_E_HTTP_BODY},
		{"Transfer-Encoding: \r\n", WS_E_HTTP_BODY},
		{"Content-Length: 0\r\nTransfer-Encoding: chunked\r\n", WS_E_HTTP_BODY},
		{"Content-Length: 0\r\n", WS_OK},
		{"Content-Length: 000\r\n", WS_OK},
		{"X-Content-Length: 5\r\n", WS_OK},
	};
	ws_config cfg = server_cfg();
	char req[512];

	CHECK_INT(ws_status_http(WS_E_HTTP_BODY), 400);
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		int len = snprintf(req, sizeof req, RL H_HOST H_UP H_CONN H_KEY H_VER "%s\r\n", v[i].fields);
		char *want = v[i].err ? error_log(v[i].err) : NULL;
		char *log = t_feed_all(&cfg, NULL, req, (size_t)len, want, 0);
		if (v[i].err ? strcmp(log, want) != 0 : strncmp(log, "request ", 8) != 0)
			t_fail(__FILE__, __LINE__, "%s    got:  %s", v[i].fields, log);
		free(log);
		free(want);
	}
}

/* One rule for every handshake writer: on an error other than WS_E_BUFFER,
 * *out_len is 0, whatever it held before. */
static void writers_zero_out_len(void)
{
	static const ws_connect_opts co = {.host = "h"};
	static const ws_connect_opts no_host = {.host = NULL};
	ws_config scfg = server_cfg(), ccfg = client_cfg();
	char out[512];
	size_t n;
	ws_conn c;

#define STALE(call, want) \
	do { \
		n = 12345; \
		CHECK_INT(call, want); \
		CHECK_INT(n, 0); \
	} while (0)
	/* Server, before any request, then with one. */
	ws_conn_init(&c, sizeof c, &scfg);
	STALE(ws_conn_accept(&c, NULL, out, sizeof out, &n), WS_E_STATE);
	STALE(ws_conn_reject(&c, 403, NULL, NULL, 0, out, sizeof out, &n), WS_E_STATE);
	STALE(ws_conn_fail(&c, out, sizeof out, &n), WS_E_STATE);
	STALE(ws_conn_connect(&c, &co, out, sizeof out, &n), WS_E_STATE);
	CHECK(to_request(&c, &scfg, RFC_REQUEST));
	{
		ws_accept_opts bad = {.protocol = "two words"};
		STALE(ws_conn_accept(&c, &bad, out, sizeof out, &n), WS_E_ARG);
	}
	STALE(ws_conn_reject(&c, 200, NULL, NULL, 0, out, sizeof out, &n), WS_E_ARG);
	STALE(ws_conn_reject(&c, 403, "X\r\n", NULL, 0, out, sizeof out, &n), WS_E_ARG);
	n = 0;
	CHECK_INT(ws_conn_accept(&c, NULL, out, 10, &n), WS_E_BUFFER);
	CHECK(n > 10); /* the size needed */
	/* Client. */
	ws_conn_init(&c, sizeof c, &ccfg);
	STALE(ws_conn_connect(&c, &no_host, out, sizeof out, &n), WS_E_ARG);
	STALE(ws_conn_accept(&c, NULL, out, sizeof out, &n), WS_E_STATE);
	STALE(ws_conn_reject(&c, 403, NULL, NULL, 0, out, sizeof out, &n), WS_E_STATE);
	ccfg.rand = failing_rand;
	STALE(ws_conn_connect(&c, &co, out, sizeof out, &n), WS_E_RAND);
	ccfg.rand = t_rand;
	CHECK_INT(ws_conn_connect(&c, &co, out, sizeof out, &n), WS_OK);
	STALE(ws_conn_connect(&c, &co, out, sizeof out, &n), WS_E_STATE);
#undef STALE
}

/* A handshake writer on a connection brought to where it may answer. */
typedef struct answer_case {
	const char *name;
	void (*ready)(ws_conn *c);
	int (*write)(ws_conn *c, void *out, size_t cap, size_t *n);
} answer_case;

static const ws_config *answer_server_cfg(void)
{
	static ws_config cfg;
	cfg = server_cfg();
	return &cfg;
}

static void ready_request(ws_conn *c)
{
	CHECK(to_request(c, answer_server_cfg(), RFC_REQUEST));
}

static void ready_bad_request(ws_conn *c)
{
	static char buf[] = "POST / HTTP/1.1\r\n\r\n";
	ws_event ev;
	size_t used;

	ws_conn_init(c, sizeof *c, answer_server_cfg());
	CHECK_INT(ws_conn_recv(c, buf, sizeof buf - 1, &used, &ev), WS_E_HTTP_METHOD);
}

static void ready_old_version(ws_conn *c)
{
	static char buf[] = RL H_HOST H_UP H_CONN H_KEY "Sec-WebSocket-Version: 8\r\n\r\n";
	ws_event ev;
	size_t used;

	ws_conn_init(c, sizeof *c, answer_server_cfg());
	CHECK_INT(ws_conn_recv(c, buf, sizeof buf - 1, &used, &ev), WS_E_HTTP_WS_VERSION);
}

static void ready_client(ws_conn *c)
{
	static ws_config cfg;
	cfg = client_cfg();
	rand_ctr = 0; /* the same key every time */
	ws_conn_init(c, sizeof *c, &cfg);
}

static int write_accept(ws_conn *c, void *out, size_t cap, size_t *n)
{
	return ws_conn_accept(c, NULL, out, cap, n);
}

static int write_accept_opts(ws_conn *c, void *out, size_t cap, size_t *n)
{
	static const ws_accept_opts ao = {.protocol = "chat", .headers = "Set-Cookie: sid=1\r\n"};
	return ws_conn_accept(c, &ao, out, cap, n);
}

static int write_reject(ws_conn *c, void *out, size_t cap, size_t *n)
{
	return ws_conn_reject(c, 403, "Content-Type: text/plain\r\n", "no", 2, out, cap, n);
}

static int write_fail(ws_conn *c, void *out, size_t cap, size_t *n)
{
	return ws_conn_fail(c, out, cap, n);
}

static int write_connect(ws_conn *c, void *out, size_t cap, size_t *n)
{
	static const char *const protos[] = {"chat", NULL};
	static const ws_connect_opts co = {"server.example.com", "/chat", protos, "http://example.com",
	                                   "Authorization: Bearer x\r\n"};
	return ws_conn_connect(c, &co, out, cap, n);
}

/* handshake.h: WS_E_BUFFER sets *out_len to the size needed and changes
 * nothing else; out is not written. For every cap from 0 to the answer's
 * length, guard bytes over the whole buffer must survive a WS_E_BUFFER, and
 * the same call with room enough must then write the same answer a fresh
 * connection writes. (The writers used to leave the prefix that fit.) */
static void writers_leave_out_untouched(void)
{
	enum { GUARD = 16, CAP = 1024 };
	static const answer_case v[] = {
		{"accept", ready_request, write_accept},
		{"accept with options", ready_request, write_accept_opts},
		{"reject", ready_request, write_reject},
		{"fail (400)", ready_bad_request, write_fail},
		{"fail (426)", ready_old_version, write_fail},
		{"connect", ready_client, write_connect},
	};
	static uint8_t ref[CAP], out[CAP + GUARD];

	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		ws_conn c;
		size_t len = 0, n;
		int bad = 0;

		v[i].ready(&c);
		CHECK_INT(v[i].write(&c, ref, CAP, &len), WS_OK);
		for (size_t cap = 0; cap <= len && !bad; cap++) {
			size_t touched = 0;
			int rc;
			v[i].ready(&c);
			memset(out, 0xA5, len + GUARD);
			n = 12345;
			rc = v[i].write(&c, out, cap, &n);
			for (size_t k = 0; k < len + GUARD; k++)
				touched += out[k] != 0xA5;
			if (cap < len && (rc != WS_E_BUFFER || n != len || touched)) {
				t_fail(__FILE__, __LINE__, "%s, cap %zu of %zu: %s, *out_len %zu, %zu bytes written",
				       v[i].name, cap, len, ws_status_name(rc), n, touched);
				bad = 1;
			}
			/* Nothing changed: room enough now gives the whole answer. */
			if (cap < len)
				rc = v[i].write(&c, out, len, &n);
			if (rc != WS_OK || n != len || memcmp(out, ref, len) ||
			    out[len] != 0xA5 || out[len + GUARD - 1] != 0xA5) {
				t_fail(__FILE__, __LINE__, "%s, cap %zu of %zu: then %s, %zu bytes", v[i].name, cap,
				       len, ws_status_name(rc), n);
				bad = 1;
			}
		}
	}
	/* ws_deflate_format() too: 0 when cap is too small, out not written. */
	{
		ws_deflate_config d;
		char fref[WS_DEFLATE_FORMAT_MAX], fout[WS_DEFLATE_FORMAT_MAX + GUARD];
		size_t len;
		ws_deflate_config_init(&d);
		d.server_no_context_takeover = 1;
		d.client_max_window_bits = 10;
		int bad = 0;
		len = ws_deflate_format(&d, NULL, fref, sizeof fref);
		CHECK(len > 0);
		for (size_t cap = 0; cap <= len + 1 && !bad; cap++) {
			size_t touched = 0, got;
			memset(fout, 0xA5, sizeof fout);
			got = ws_deflate_format(&d, NULL, fout, cap);
			for (size_t k = 0; k < sizeof fout; k++)
				touched += (uint8_t)fout[k] != 0xA5;
			if (cap <= len ? got != 0 || touched
			               : got != len || memcmp(fout, fref, len + 1) || touched != len + 1)
				bad = 1, t_fail(__FILE__, __LINE__, "ws_deflate_format, cap %zu of %zu + NUL: %zu, "
				                "%zu bytes written", cap, len, got, touched);
		}
	}
}

static void conn_size(void)
{
	CHECK(sizeof(ws_conn) <= 64);
}

int main(int argc, char **argv)
{
	(void)argc;
	RUN(accept_key_rfc);
	RUN(rfc_example);
	RUN(request_then_frames);
	RUN(request_variants);
	RUN(request_errors);
	RUN(fail_response_bytes);
	RUN(fail_response_sizes);
	RUN(every_prefix_waits);
	RUN(head_limits);
	RUN(slow_sender_linear);
	RUN(leading_empty_lines);
	RUN(accept_options);
	RUN(reject_responses);
	RUN(select_protocol_and_origin);
	RUN(iterators);
	RUN(client_request);
	RUN(client_rand_failure);
	RUN(client_open);
	RUN(client_errors);
	RUN(client_rejected);
	RUN(deflate_negotiation_server);
	RUN(deflate_negotiation_client);
	RUN(deflate_offer_names_server_window);
	RUN(deflate_per_request);
	RUN(plain_request_described);
	RUN(fail_twice_writes_once);
	RUN(client_interim_responses);
	RUN(host_values);
	RUN(request_with_body);
	RUN(writers_zero_out_len);
	RUN(writers_leave_out_untouched);
	RUN(conn_size);
	return t_done(argv[0]);
}
