/* Writes the seed corpora of the fuzz targets into DIR/<target>/ from the
 * test vectors: RFC 6455 §1.2/§4 handshake heads, §5.7 frames, close frames,
 * UTF-8 edge cases. Each seed starts with its target's configuration bytes.
 * Frames a client must mask, and the Sec-WebSocket-Accept answering the fixed
 * key of fuzz_client, are computed with the library itself.
 * Usage: gen_seeds DIR  (make fuzz-seeds). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "fuzz_common.h"

static const char *root;

static void seed(const char *target, const char *name, const uint8_t *cfg, size_t ncfg,
                 const void *data, size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", root, target);
	mkdir(path, 0777);
	snprintf(path, sizeof path, "%s/%s/%s", root, target, name);
	f = fopen(path, "wb");
	if (!f || fwrite(cfg, 1, ncfg, f) != ncfg || (len && fwrite(data, 1, len, f) != len) || fclose(f)) {
		perror(path);
		exit(1);
	}
}

/* A growable byte string. */
typedef struct bytes {
	uint8_t p[70000];
	size_t n;
} bytes;

static void add(bytes *b, const void *p, size_t n)
{
	if (b->n + n > sizeof b->p)
		abort();
	memcpy(b->p + b->n, p, n);
	b->n += n;
}

static void adds(bytes *b, const char *s)
{
	add(b, s, strlen(s));
}

static void addhex(bytes *b, const char *hex)
{
	int hi = -1;
	for (; *hex; hex++) {
		int v = *hex >= '0' && *hex <= '9' ? *hex - '0'
		      : *hex >= 'a' && *hex <= 'f' ? *hex - 'a' + 10 : -1;
		if (v < 0)
			continue;
		if (hi < 0) {
			hi = v;
		} else {
			uint8_t x = (uint8_t)(hi << 4 | v);
			add(b, &x, 1);
			hi = -1;
		}
	}
}

/* Frames as a peer of the given role sends them (a client masks). */
typedef struct peer {
	ws_config cfg;
	ws_conn c;
	uint32_t rng;
} peer;

static void peer_init(peer *p, int role)
{
	ws_config_init(&p->cfg, role);
	p->cfg.flags = WS_CFG_START_OPEN;
	p->cfg.rand = fz_rand;
	p->cfg.rand_ctx = &p->rng;
	p->rng = 1000;
	if (ws_conn_init(&p->c, sizeof p->c, &p->cfg))
		abort();
}

static void *gen_alloc(void *ctx, size_t size)
{
	(void)ctx;
	return malloc(size);
}

static void gen_free(void *ctx, void *ptr)
{
	(void)ctx;
	free(ptr);
}

static void peer_init_deflate(peer *p, int role, const ws_deflate_config *d)
{
	ws_config_init(&p->cfg, role);
	p->cfg.flags = WS_CFG_START_OPEN;
	p->cfg.rand = fz_rand;
	p->cfg.rand_ctx = &p->rng;
	p->cfg.deflate = d;
	p->rng = 1000;
	if (ws_conn_init(&p->c, sizeof p->c, &p->cfg))
		abort();
}

static void frame(peer *p, bytes *b, unsigned op, unsigned flags, const void *data, size_t len)
{
	static uint8_t out[WS_SEND_SIZE(66000)];
	size_t n;

	if (ws_conn_send(&p->c, op, flags, data, len, out, sizeof out, &n))
		abort();
	add(b, out, n);
}

static void close_frame(peer *p, bytes *b, unsigned code, const char *reason)
{
	uint8_t out[WS_CONTROL_FRAME_MAX];
	size_t n;

	if (ws_conn_close(&p->c, code, reason, strlen(reason), out, sizeof out, &n))
		abort();
	add(b, out, n);
}

/* A conversation as role's peer sends it: texts, fragments, pings between
 * fragments, binary at each length class, a close. */
static void conversation(int sender_role, bytes *b, int with_close)
{
	static uint8_t big[66000];
	peer p;

	for (size_t i = 0; i < sizeof big; i++)
		big[i] = (uint8_t)(i * 7);
	peer_init(&p, sender_role);
	frame(&p, b, WS_OP_TEXT, 0, "Hello", 5);
	frame(&p, b, WS_OP_TEXT, WS_SEND_MORE, "Hel", 3);
	frame(&p, b, WS_OP_PING, 0, "Hello", 5);
	frame(&p, b, WS_OP_CONTINUATION, WS_SEND_MORE, "", 0);
	frame(&p, b, WS_OP_CONTINUATION, 0, "lo", 2);
	frame(&p, b, WS_OP_TEXT, 0, "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5", 11);
	frame(&p, b, WS_OP_BINARY, 0, big, 126);
	frame(&p, b, WS_OP_PONG, 0, "", 0);
	frame(&p, b, WS_OP_BINARY, 0, "", 0);
	if (with_close)
		close_frame(&p, b, 1000, "bye");
}

static void big_binary(int sender_role, bytes *b)
{
	static uint8_t big[65536];
	peer p;

	peer_init(&p, sender_role);
	frame(&p, b, WS_OP_BINARY, 0, big, 65536);
}

static const char request[] =
	"GET /chat HTTP/1.1\r\n"
	"Host: server.example.com\r\n"
	"Upgrade: websocket\r\n"
	"Connection: Upgrade\r\n"
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	"Origin: http://example.com\r\n"
	"Sec-WebSocket-Protocol: chat, superchat\r\n"
	"Sec-WebSocket-Version: 13\r\n\r\n";

/* Server seeds: config bytes, then a request and masked frames, or (START_OPEN) frames only. */
static void server_seeds(void)
{
	static const struct {
		const char *name, *head;
	} heads[] = {
		{"req-rfc6455", request},
		{"req-minimal", "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		                "Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEA==\r\nSec-WebSocket-Version: 13\r\n\r\n"},
		{"req-lists", "GET /x?y=1 HTTP/1.1\r\nhost: a:80\r\nupgrade: h2c, WebSocket\r\n"
		              "connection: keep-alive, upgrade\r\nsec-websocket-key: AQIDBAUGBwgJCgsMDQ4PEA==\r\n"
		              "sec-websocket-version: 13\r\nSec-WebSocket-Extensions: permessage-deflate; "
		              "client_max_window_bits\r\nCookie: a=b\r\n\r\n"},
		{"req-version-8", "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		                  "Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEA==\r\nSec-WebSocket-Version: 8\r\n\r\n"},
		{"req-no-key", "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		               "Sec-WebSocket-Version: 13\r\n\r\n"},
		{"req-two-keys", "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		                 "Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEA==\r\n"
		                 "Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEA==\r\nSec-WebSocket-Version: 13\r\n\r\n"},
		{"req-bare-lf", "GET / HTTP/1.1\nHost: a\r\n\r\n"},
		{"req-obs-fold", "GET / HTTP/1.1\r\nHost: a\r\n b\r\nUpgrade: websocket\r\n\r\n"},
		{"req-post", "POST / HTTP/1.1\r\nHost: a\r\n\r\n"},
		{"req-http10", "GET / HTTP/1.0\r\nHost: a\r\n\r\n"},
		/* RFC 9112 §2.2: empty lines before the request line are ignored. */
		{"req-leading-crlf", "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n"
		                     "Connection: Upgrade\r\nSec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEA==\r\n"
		                     "Sec-WebSocket-Version: 13\r\n\r\n"},
	};
	uint8_t cfg[4] = {0, 0, 0, 0};
	bytes *b = calloc(1, sizeof *b);

	for (size_t i = 0; i < sizeof heads / sizeof heads[0]; i++) {
		b->n = 0;
		adds(b, heads[i].head);
		if (i < 3)
			conversation(WS_ROLE_CLIENT, b, 1);
		cfg[0] = i == 1 ? FZ_ACT : i == 2 ? FZ_REJECT : 0;
		cfg[1] = (uint8_t)(i % 8); /* every split mode */
		seed("fuzz_server", heads[i].name, cfg, 4, b->p, b->n);
	}
	/* START_OPEN: frames only. */
	b->n = 0;
	conversation(WS_ROLE_CLIENT, b, 1);
	cfg[0] = FZ_START_OPEN;
	cfg[1] = 0;
	seed("fuzz_server", "open-conversation", cfg, 4, b->p, b->n);
	cfg[0] = FZ_START_OPEN | FZ_ACT;
	cfg[1] = 1;
	cfg[3] = 0x30;
	seed("fuzz_server", "open-conversation-act", cfg, 4, b->p, b->n);
	cfg[3] = 0;
	/* RFC 6455 §5.7, masked. */
	b->n = 0;
	addhex(b, "81 85 37 fa 21 3d 7f 9f 4d 51 58");
	addhex(b, "89 85 37 fa 21 3d 7f 9f 4d 51 58");
	addhex(b, "8a 85 37 fa 21 3d 7f 9f 4d 51 58");
	cfg[0] = FZ_START_OPEN;
	cfg[1] = 6;
	seed("fuzz_server", "open-rfc6455-5.7", cfg, 4, b->p, b->n);
	/* Small limits (frame 125, message 126, 2 fragments) and lenient lengths. */
	b->n = 0;
	conversation(WS_ROLE_CLIENT, b, 0);
	cfg[0] = FZ_START_OPEN | FZ_SMALL | FZ_LENIENT;
	cfg[1] = 3;
	cfg[2] = 3 | 4 << 3 | 1 << 6;
	seed("fuzz_server", "open-small-limits", cfg, 4, b->p, b->n);
	/* Errors: invalid UTF-8 text, close with a bad code, a 126-byte ping. */
	b->n = 0;
	addhex(b, "81 84 00 00 00 00 ce ba e1 bd");
	addhex(b, "81 82 00 00 00 00 ed a0");
	cfg[0] = FZ_START_OPEN;
	cfg[1] = 1;
	cfg[2] = 0;
	seed("fuzz_server", "open-bad-utf8", cfg, 4, b->p, b->n);
	b->n = 0;
	addhex(b, "88 82 00 00 00 00 03 ed");
	seed("fuzz_server", "open-close-1005-on-wire", cfg, 4, b->p, b->n);
	b->n = 0;
	addhex(b, "89 fe 00 7e 00 00 00 00");
	seed("fuzz_server", "open-ping-126", cfg, 4, b->p, b->n);
	b->n = 0;
	addhex(b, "82 ff 7f ff ff ff ff ff ff ff 00 00 00 00");
	seed("fuzz_server", "open-length-2e63-1", cfg, 4, b->p, b->n);
	b->n = 0;
	big_binary(WS_ROLE_CLIENT, b);
	b->n = 14 + 200; /* 64-bit length, the payload cut short */
	cfg[1] = 4;
	seed("fuzz_server", "open-64k-partial", cfg, 4, b->p, b->n);
	free(b);
}

/* The response to fuzz_client's request: connect with the fixed options and
 * the fuzz rand (reset to 0, as fz_conn_run does), then answer its key. */
static void client_response(bytes *b, const char *protocol, int good_accept)
{
	ws_config cfg;
	ws_conn c;
	uint32_t rng = 0;
	uint8_t req[4096];
	size_t n, pos = 0;
	ws_str head, name, value;
	char accept[WS_ACCEPT_KEY_LEN + 1];

	ws_config_init(&cfg, WS_ROLE_CLIENT);
	cfg.rand = fz_rand;
	cfg.rand_ctx = &rng;
	if (ws_conn_init(&c, sizeof c, &cfg) || ws_conn_connect(&c, &fz_connect_opts, req, sizeof req, &n))
		abort();
	head.ptr = (const char *)req;
	head.len = n;
	strcpy(accept, "s3pPLMBiTxaQ9kYGzzhZRrK+xOo=");
	while (ws_header_next(head, &pos, &name, &value))
		if (name.len == 17 && memcmp(name.ptr, "Sec-WebSocket-Key", 17) == 0 && good_accept)
			ws_accept_key(value.ptr, value.len, accept);
	adds(b, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
	        "Sec-WebSocket-Accept: ");
	adds(b, accept);
	adds(b, "\r\n");
	if (protocol) {
		adds(b, "Sec-WebSocket-Protocol: ");
		adds(b, protocol);
		adds(b, "\r\n");
	}
	adds(b, "\r\n");
}

static void client_seeds(void)
{
	uint8_t cfg[4] = {0, 0, 0, 0};
	bytes *b = calloc(1, sizeof *b);

	client_response(b, "chat", 1);
	conversation(WS_ROLE_SERVER, b, 1);
	seed("fuzz_client", "resp-101-chat", cfg, 4, b->p, b->n);
	b->n = 0;
	client_response(b, NULL, 1);
	conversation(WS_ROLE_SERVER, b, 0);
	cfg[0] = FZ_ACT;
	cfg[1] = 1;
	cfg[3] = 0x21;
	seed("fuzz_client", "resp-101-act", cfg, 4, b->p, b->n);
	cfg[3] = 0;
	b->n = 0;
	client_response(b, "other", 1);
	cfg[0] = 0;
	cfg[1] = 2;
	seed("fuzz_client", "resp-101-unoffered-protocol", cfg, 4, b->p, b->n);
	b->n = 0;
	client_response(b, NULL, 0);
	seed("fuzz_client", "resp-101-wrong-accept", cfg, 4, b->p, b->n);
	b->n = 0;
	adds(b, "HTTP/1.1 403 Forbidden\r\nContent-Length: 2\r\n\r\nno");
	seed("fuzz_client", "resp-403", cfg, 4, b->p, b->n);
	b->n = 0;
	adds(b, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
	        "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n");
	seed("fuzz_client", "resp-101-extension", cfg, 4, b->p, b->n);
	/* START_OPEN: the RFC 6455 §5.7 frames as a server sends them. */
	b->n = 0;
	addhex(b, "81 05 48 65 6c 6c 6f");
	addhex(b, "01 03 48 65 6c 80 02 6c 6f");
	addhex(b, "89 05 48 65 6c 6c 6f");
	addhex(b, "82 7e 01 00");
	for (int i = 0; i < 256; i++)
		add(b, "x", 1);
	addhex(b, "88 02 03 e8");
	cfg[0] = FZ_START_OPEN;
	cfg[1] = 5;
	seed("fuzz_client", "open-rfc6455-5.7", cfg, 4, b->p, b->n);
	b->n = 0;
	conversation(WS_ROLE_SERVER, b, 1);
	cfg[1] = 6;
	seed("fuzz_client", "open-conversation", cfg, 4, b->p, b->n);
	b->n = 0;
	addhex(b, "81 85 37 fa 21 3d 7f 9f 4d 51 58"); /* masked: not from a server */
	seed("fuzz_client", "open-masked", cfg, 4, b->p, b->n);
	b->n = 0;
	big_binary(WS_ROLE_SERVER, b);
	b->n = 10 + 200;
	cfg[1] = 0;
	seed("fuzz_client", "open-64k-partial", cfg, 4, b->p, b->n);
	free(b);
}

static void http_seeds(void)
{
	uint8_t cfg[5] = {0, 0, 0, 0, 0};
	bytes *b = calloc(1, sizeof *b);

	seed("fuzz_http", "req-rfc6455", cfg, 5, request, strlen(request));
	cfg[0] = 2 << 1 | 3 << 4; /* Sec-WebSocket-Protocol has superchat */
	cfg[2] = 1;
	seed("fuzz_http", "req-rfc6455-bytewise", cfg, 5, request, strlen(request));
	cfg[0] = 0;
	cfg[2] = 0;
	{
		const char *r = "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		                "Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEA==\r\nSec-WebSocket-Version: 13\r\n"
		                "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits, "
		                "x-quoted; a=\"b, c\"\r\n\r\n";
		cfg[0] = 3 << 1 | 4 << 4;
		seed("fuzz_http", "req-extensions", cfg, 5, r, strlen(r));
	}
	/* Extension offers for the negotiation checks (deflate parameters from
	 * bytes 3 and 4: windows 10/11 and no context takeover). */
	{
		static const char *const offers[] = {
			"permessage-deflate; client_max_window_bits; server_max_window_bits=\"10\"",
			"x-webkit-deflate-frame, permessage-deflate; client_no_context_takeover; a=1, "
			"permessage-deflate; server_no_context_takeover; client_max_window_bits=9",
			"permessage-deflate; server_max_window_bits=\"1\\0\"; client_max_window_bits = 12",
			"permessage-deflate; server_max_window_bits=010, permessage-deflate;",
		};
		for (size_t i = 0; i < sizeof offers / sizeof offers[0]; i++) {
			char name[32];
			b->n = 0;
			adds(b, "GET / HTTP/1.1\r\nSec-WebSocket-Extensions: ");
			adds(b, offers[i]);
			adds(b, "\r\n\r\n");
			cfg[0] = (uint8_t)(3 << 1 | 4 << 4);
			cfg[1] = FZ_DEFLATE;
			cfg[3] = (uint8_t)(2 | 3 << 3 | (i & 1) << 6);
			cfg[4] = (uint8_t)(i << 2);
			snprintf(name, sizeof name, "ext-offer-%zu", i);
			seed("fuzz_http", name, cfg, 5, b->p, b->n);
		}
		memset(cfg, 0, sizeof cfg);
		b->n = 0;
	}
	cfg[0] = 1; /* client */
	client_response(b, "chat", 1);
	seed("fuzz_http", "resp-101", cfg, 5, b->p, b->n);
	b->n = 0;
	adds(b, "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\n\r\n");
	seed("fuzz_http", "resp-404", cfg, 5, b->p, b->n);
	/* Small limits: head 64 bytes, 1 header. */
	cfg[0] = 0;
	cfg[1] = FZ_SMALL;
	cfg[4] = 0;
	seed("fuzz_http", "req-small-limits", cfg, 5, request, strlen(request));
	free(b);
}

/* permessage-deflate: the RFC 7692 §7.2.3 examples as a server sends them
 * (for a client) and masked (for a server), and messages compressed by the
 * library itself, with 15-bit windows and context takeover. */
static void inflate_seeds(void)
{
	static const struct {
		const char *name, *hex;
	} v[] = {
		{"rfc7692-7.2.3.1-hello", "c1 07 f2 48 cd c9 c9 07 00"},
		{"rfc7692-7.2.3.1-fragmented", "41 03 f2 48 cd 80 04 c9 c9 07 00"},
		{"rfc7692-7.2.3.2-shared-window", "c1 07 f2 48 cd c9 c9 07 00 c1 05 f2 00 11 00 00"},
		{"rfc7692-7.2.3.3-stored", "c1 0b 00 05 00 fa ff 48 65 6c 6c 6f 00"},
		{"rfc7692-7.2.3.4-bfinal", "c1 08 f3 48 cd c9 c9 07 00 00"},
		{"rfc7692-7.2.3.5-two-blocks", "c1 0d f2 48 05 00 00 00 ff ff ca c9 c9 07 00"},
		{"corrupt", "c1 05 ff ff ff ff ff"},
		{"rsv1-on-continuation", "41 03 f2 48 cd c0 04 c9 c9 07 00"},
	};
	uint8_t cfg[5] = {0, 0, 0, 7 | 7 << 3, 0};
	bytes *b = calloc(1, sizeof *b), *m = calloc(1, sizeof *m);

	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		char name[64];
		ws_frame_header h;
		size_t pos = 0;
		b->n = 0;
		addhex(b, v[i].hex);
		cfg[0] = 1; /* client: unmasked, as the RFC shows them */
		cfg[2] = (uint8_t)(i % 8);
		seed("fuzz_inflate", v[i].name, cfg, 5, b->p, b->n);
		/* Masked, for a server. */
		m->n = 0;
		while (pos < b->n && ws_frame_header_decode(&h, b->p + pos, b->n - pos, 0) == 2 &&
		       pos + 2 + h.len <= b->n) {
			static const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
			uint8_t hdr[WS_FRAME_HEADER_MAX];
			size_t hn = ws_frame_header_encode(hdr, b->p[pos] & 0xf0, h.opcode, h.len, key);
			add(m, hdr, hn);
			add(m, b->p + pos + 2, (size_t)h.len);
			ws_mask(m->p + m->n - h.len, (size_t)h.len, key, 0);
			pos += 2 + (size_t)h.len;
		}
		cfg[0] = 0;
		snprintf(name, sizeof name, "%s-masked", v[i].name);
		seed("fuzz_inflate", name, cfg, 5, m->p, m->n);
	}
	/* A bomb: 100 KB of zeros in one small compressed message, against a
	 * limit of 1000 bytes (FZ_SMALL). */
	{
		static uint8_t zeros[100000];
		static uint8_t out[WS_SEND_SIZE_COMPRESSED(100000)];
		static uint8_t ibuf[1024];
		ws_deflate_config d;
		ws_deflate_params p = {0, 0, 15, 15};
		peer pr;
		size_t n;
		ws_deflate_config_init(&d);
		d.alloc.alloc = gen_alloc;
		d.alloc.free = gen_free;
		d.inflate_buf = ibuf;
		d.inflate_cap = sizeof ibuf;
		peer_init_deflate(&pr, WS_ROLE_SERVER, &d);
		if (ws_conn_enable_deflate(&pr.c, &p) ||
		    ws_conn_send(&pr.c, WS_OP_BINARY, 0, zeros, sizeof zeros, out, sizeof out, &n))
			abort();
		cfg[0] = 1;
		cfg[1] = FZ_SMALL;
		cfg[2] = 0;
		seed("fuzz_inflate", "bomb-100k-zeros", cfg, 5, out, n);
		cfg[1] = 0;
		/* Two texts with context takeover, fragmented, a ping between. */
		b->n = 0;
		if (ws_conn_send(&pr.c, WS_OP_TEXT, 0, "Hello, Hello, Hello", 19, out, sizeof out, &n))
			abort();
		add(b, out, n);
		if (ws_conn_send(&pr.c, WS_OP_TEXT, WS_SEND_MORE, "\xce\xba\xe1\xbd", 4, out, sizeof out, &n))
			abort();
		add(b, out, n);
		frame(&pr, b, WS_OP_PING, 0, "p", 1);
		if (ws_conn_send(&pr.c, WS_OP_CONTINUATION, 0, "\xb9\xcf\x83 Hello", 9, out, sizeof out, &n))
			abort();
		add(b, out, n);
		cfg[2] = 3;
		seed("fuzz_inflate", "library-texts", cfg, 5, b->p, b->n);
		ws_conn_release(&pr.c);
	}
	free(b);
	free(m);
}

static void frame_header_seeds(void)
{
	static const char *const v[] = {
		"81 05 48 65 6c 6c 6f", "81 85 37 fa 21 3d 7f 9f 4d 51 58", "01 03 48 65 6c", "80 02 6c 6f",
		"89 05 48 65 6c 6c 6f", "8a 85 37 fa 21 3d 7f 9f 4d 51 58", "82 7e 01 00",
		"82 7f 00 00 00 00 00 01 00 00", "82 7f 80 00 00 00 00 00 00 00",
		"82 7e 00 7d", "82 7f 00 00 00 00 00 00 ff ff", "89 7e 00 7e", "09 00", "83 00", "88 80 00 00 00 00",
		"c1 00", "82 ff 7f ff ff ff ff ff ff ff 01 02 03 04",
	};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		bytes *b = calloc(1, sizeof *b);
		uint8_t cfg = (uint8_t)(i & 1 ? 1 : 0) | (uint8_t)(i % 8) << 1;
		char name[32];
		addhex(b, v[i]);
		snprintf(name, sizeof name, "rfc6455-%02zu", i);
		seed("fuzz_frame_header", name, &cfg, 1, b->p, b->n);
		free(b);
	}
}

static void utf8_seeds(void)
{
	static const struct {
		const char *name, *s;
	} v[] = {
		{"ascii", "Hello, world: 0123456789 abcdefghijklmnopqrstuvwxyz"},
		{"greek", "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"},
		{"edges", "\xc2\x80\xdf\xbf\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80\xef\xbf\xbf\xf0\x90\x80\x80"
		          "\xf4\x8f\xbf\xbf"},
		{"overlong", "abc\xc0\xaf"},
		{"overlong3", "abc\xe0\x80\xaf"},
		{"surrogate", "abc\xed\xa0\x80"},
		{"above-10ffff", "abc\xf4\x90\x80\x80"},
		{"f5", "\xf5\x80\x80\x80"},
		{"truncated", "abc\xf0\x90\x80"},
		{"lone-continuation", "abcdefghijklmnopqrstuvwxyz\x80"},
		{"long-ascii-then-bad", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\xff"},
		{"long-mixed", "aaaaaaaaaaaaaaa\xe2\x82\xac" "aaaaaaaaaaaaaaaa\xf0\x9f\x98\x80" "aaaaaaaaaaaaaaaaaaaa"
		               "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"},
	};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		uint8_t cfg[2] = {(uint8_t)((i & 15) | (i % 8) << 4 | (i == 11 ? 0x80 : 0)), (uint8_t)(i * 37)};
		seed("fuzz_utf8", v[i].name, cfg, 2, v[i].s, strlen(v[i].s));
	}
}

static void roundtrip_seeds(void)
{
	/* b0, b1, b2, then ops: [kind|bits, len, payload...]. */
	static const struct {
		const char *name, *hex;
	} v[] = {
		{"whole-text", "80 00 00  00 05 48 65 6c 6c 6f"},
		{"fragments-and-ping", "81 01 00  01 03 48 65 6c  04 05 48 65 6c 6c 6f  00 02 6c 6f"},
		{"binary-header-only", "08 02 00  18 04 01 02 03 04  1a 02 05 06  10 01 07"},
		{"large", "00 00 00  06 10 00  46 00 00  86 ff 01"},
		{"tiny-fragments", "30 05 00  07 30  00 00"},
		{"text-split-utf8", "88 07 00  01 01 ce  02 02 ba e1  00 03 bd b9 cf"},
		{"small-buffer-first", "20 00 00  20 03 61 62 63  24 01 7a  25 00"},
		{"exact-limits", "40 00 00  01 02 61 62  00 01 63  08 05 01 02 03 04 05"},
		/* permessage-deflate: 15-bit windows with context takeover; 9 bits without. */
		{"deflate-texts", "80 08 ff  00 08 68 65 6c 6c 6f 20 68 65  00 08 68 65 6c 6c 6f 20 68 65"},
		{"deflate-fragments-ping", "81 00 ff  01 04 61 61 61 61  04 01 70  02 04 61 61 61 61  00 01 62"},
		{"deflate-large-no-takeover", "00 18 83  06 20 00  46 10 00  80 03 61 62 63"},
		{"deflate-header-only-inside", "08 08 ff  09 03 01 02 03  19 02 04 05  10 01 06"},
		{"deflate-small-buffer", "20 08 3f  20 05 68 65 6c 6c 6f  a0 03 61 62 63"},
	};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		bytes *b = calloc(1, sizeof *b);
		addhex(b, v[i].hex);
		seed("fuzz_roundtrip", v[i].name, b->p, 0, b->p, b->n);
		free(b);
	}
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	root = argv[1];
	mkdir(root, 0777);
	server_seeds();
	client_seeds();
	http_seeds();
	inflate_seeds();
	frame_header_seeds();
	utf8_seeds();
	roundtrip_seeds();
	return 0;
}
