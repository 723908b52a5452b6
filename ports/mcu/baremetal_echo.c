/* A WebSocket echo server on bare metal: no OS, no heap, no sockets. It runs
 * on the emulated Cortex-M3 of `make mcu-test` (QEMU, MPS2 AN385), where a
 * loopback byte pipe stands in for the network and a libws client on the
 * other end of the pipe plays the browser. Everything is static memory:
 * one ws_conn (48 bytes on this target), a 512-byte input buffer and a
 * 256-byte output buffer per connection. Text and binary messages are echoed
 * chunk by chunk as they arrive, so a message of any size needs no buffer.
 * SHA-1 and base64 come from the crypto hook (include/ws/crypto.h): here a
 * test stand-in, on a board its hash accelerator.
 *
 * The server below is written against two calls, link_read() and
 * link_write(), so that it ports to any byte transport: a UART, a USB CDC
 * endpoint, or TCP. For TCP on lwIP's raw API (callbacks on the TCP/IP
 * thread, no sockets, a static pool of peers, flow control through
 * tcp_sndbuf()/tcp_sent() and the receive window), see examples/lwip_echo.c. */
#include <stdio.h>
#include <string.h>
#include "ws/ws.h"

/* ---- The wire: a loopback byte pipe in each direction ---- */

typedef struct pipe {
	uint8_t buf[2048];
	size_t len;
} pipe;

static pipe to_server, to_client;
static int checks_passed, checks_failed;

#define CHECK(c) do { \
	if (c) { \
		checks_passed++; \
	} else { \
		checks_failed++; \
		printf("  FAIL (line %d): %s\n", __LINE__, #c); \
	} \
} while (0)

static void pipe_write(pipe *p, const void *data, size_t n)
{
	CHECK(n <= sizeof p->buf - p->len); /* the loopback never drops bytes */
	if (n > sizeof p->buf - p->len)
		n = sizeof p->buf - p->len;
	memcpy(p->buf + p->len, data, n);
	p->len += n;
}

/* Takes at most max bytes, like a read() that returns what has arrived. */
static size_t pipe_read(pipe *p, void *out, size_t max)
{
	size_t n = p->len < max ? p->len : max;

	memcpy(out, p->buf, n);
	memmove(p->buf, p->buf + n, p->len - n);
	p->len -= n;
	return n;
}

/* The server's transport. Reads come in small pieces, as from a UART FIFO or
 * TCP segments, so frames and the handshake arrive split. */
#define LINK_CHUNK 7

static size_t link_read(void *buf, size_t max)
{
	return pipe_read(&to_server, buf, max < LINK_CHUNK ? max : LINK_CHUNK);
}

static void link_write(const void *data, size_t n)
{
	pipe_write(&to_client, data, n);
}

/* ---- The server: the part a firmware copies ---- */

static ws_config server_cfg;
static ws_conn server;
static uint8_t server_in[512];  /* input with carry-over: holds any control frame (131 bytes) */
static uint8_t server_out[256]; /* one reply: a 101 response, a close frame, an echo chunk */
static size_t server_have;

static void server_init(void)
{
	ws_config_init(&server_cfg, WS_ROLE_SERVER);
	/* A head larger than the input buffer could never complete: answer 431. */
	server_cfg.max_head = sizeof server_in;
	ws_conn_init(&server, sizeof server, &server_cfg);
}

/* Echoes a data chunk as one fragment of the same message: the echo streams
 * as the message arrives. */
static int server_echo(const ws_event *ev)
{
	unsigned op = ev->flags & WS_EVF_MSG_BEGIN ? (ev->type == WS_EV_TEXT ? WS_OP_TEXT : WS_OP_BINARY)
	                                           : WS_OP_CONTINUATION;
	unsigned more = ev->flags & WS_EVF_MSG_END ? 0 : WS_SEND_MORE;
	size_t off = 0, n;
	int rc;

	/* A chunk larger than the output buffer goes out in several fragments. */
	do {
		size_t take = ev->len - off, room = sizeof server_out - WS_FRAME_HEADER_MAX;
		unsigned last = more;
		if (take > room)
			take = room, last = WS_SEND_MORE;
		rc = ws_conn_send(&server, op, last, ev->data + off, take, server_out, sizeof server_out, &n);
		if (rc)
			return rc;
		link_write(server_out, n);
		op = WS_OP_CONTINUATION;
		off += take;
	} while (off < ev->len);
	return WS_OK;
}

/* One turn of the main loop: read what arrived, handle every event it
 * completes, keep the bytes that are not consumed yet. */
static void server_poll(void)
{
	size_t off = 0, used, n;
	ws_event ev;
	int rc;

	server_have += link_read(server_in + server_have, sizeof server_in - server_have);
	for (;;) {
		rc = ws_conn_recv(&server, server_in + off, server_have - off, &used, &ev);
		off += used;
		if (rc == WS_OK && ev.type == WS_EV_REQUEST) {
			printf("server: upgrade request for %.*s\n", (int)ev.http.target.len, ev.http.target.ptr);
			rc = ws_conn_accept(&server, NULL, server_out, sizeof server_out, &n);
			if (rc == WS_OK)
				link_write(server_out, n);
		} else if (rc == WS_OK && (ev.type == WS_EV_TEXT || ev.type == WS_EV_BINARY)) {
			rc = server_echo(&ev);
		} else if (rc == WS_OK && (ev.flags & WS_EVF_REPLY)) {
			/* A ping's pong, or the echo of the peer's close. */
			printf("server: %s, replying\n", ev.type == WS_EV_PING ? "ping" : "close");
			rc = ws_conn_reply(&server, &ev, server_out, sizeof server_out, &n);
			if (rc == WS_OK)
				link_write(server_out, n);
		}
		if (rc < 0) {
			printf("server: %s\n", ws_status_str(rc));
			if (ws_conn_fail(&server, server_out, sizeof server_out, &n) == WS_OK)
				link_write(server_out, n);
			break;
		}
		if (ev.type == WS_EV_NONE)
			break;
	}
	memmove(server_in, server_in + off, server_have - off);
	server_have -= off;
}

/* ---- The other end: a libws client standing in for a browser ---- */

/* The client's mask keys and Sec-WebSocket-Key need randomness; a real
 * client takes them from a CSPRNG (the board's TRNG). A counter keeps this
 * run reproducible. */
static int demo_rand(void *ctx, void *buf, size_t len)
{
	uint8_t *b = buf, *next = ctx;

	for (size_t i = 0; i < len; i++)
		b[i] = (*next)++;
	return 0;
}

static ws_config client_cfg;
static ws_conn client;
static uint8_t client_in[2048], client_out[1024], client_msg[1024], rand_state = 1;
static size_t client_have, client_used;
static ws_assembler client_asm;

/* Runs the server until it has nothing more to say, then hands the client
 * what the server sent; returns the client's next event (for TEXT/BINARY,
 * once the whole message is in client_asm). Its spans stay valid until the
 * next call, which first drops the bytes consumed. */
static int client_next(ws_event *ev)
{
	int rc;

	for (;;) {
		while (to_server.len)
			server_poll();
		memmove(client_in, client_in + client_used, client_have - client_used);
		client_have -= client_used;
		client_have += pipe_read(&to_client, client_in + client_have, sizeof client_in - client_have);
		rc = ws_conn_recv(&client, client_in, client_have, &client_used, ev);
		if (rc < 0 || ev->type == WS_EV_NONE)
			return rc;
		if (ev->type != WS_EV_TEXT && ev->type != WS_EV_BINARY)
			return rc;
		if (ws_assembler_add(&client_asm, ev) == 1)
			return rc;
	}
}

static void client_send(unsigned op, unsigned flags, const void *data, size_t len)
{
	size_t n;

	CHECK(ws_conn_send(&client, op, flags, data, len, client_out, sizeof client_out, &n) == WS_OK);
	pipe_write(&to_server, client_out, n);
}

static void echo_round(unsigned op, const void *data, size_t len)
{
	ws_event ev;

	client_send(op, 0, data, len);
	CHECK(client_next(&ev) == WS_OK);
	CHECK(ev.type == (op == WS_OP_TEXT ? WS_EV_TEXT : WS_EV_BINARY));
	CHECK(client_asm.len == len && memcmp(client_asm.buf, data, len) == 0);
	printf("client: echo of %u %s bytes %s\n", (unsigned)len, op == WS_OP_TEXT ? "text" : "binary",
	       client_asm.len == len && memcmp(client_asm.buf, data, len) == 0 ? "matches" : "DIFFERS");
}

int main(int argc, char **argv)
{
	static const ws_connect_opts opts = { "board.local", "/echo", NULL, NULL, NULL };
	static uint8_t big[700];
	char accept[WS_ACCEPT_KEY_LEN + 1];
	ws_event ev;
	size_t n;

	(void)argc;
	printf("sizeof(ws_conn) = %u bytes\n", (unsigned)sizeof(ws_conn));
	CHECK(sizeof(ws_conn) <= 48);

	/* The crypto hook against RFC 6455 §1.3's example. */
	CHECK(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", 24, accept) == WS_OK);
	CHECK(strcmp(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") == 0);
	printf("accept key of the RFC 6455 example: %s\n", accept);

	server_init();
	ws_config_init(&client_cfg, WS_ROLE_CLIENT);
	client_cfg.rand = demo_rand;
	client_cfg.rand_ctx = &rand_state;
	ws_conn_init(&client, sizeof client, &client_cfg);
	ws_assembler_init(&client_asm, client_msg, sizeof client_msg);

	/* The opening handshake. */
	CHECK(ws_conn_connect(&client, &opts, client_out, sizeof client_out, &n) == WS_OK);
	pipe_write(&to_server, client_out, n);
	CHECK(client_next(&ev) == WS_OK && ev.type == WS_EV_OPEN);
	CHECK(ws_conn_state(&server) == WS_STATE_OPEN);
	printf("client: open (status %u)\n", ev.http.status);

	/* Echoes: short text, UTF-8 text, binary larger than the server's
	 * output buffer, and a message the client sends in three fragments. */
	echo_round(WS_OP_TEXT, "hello, board", 12);
	echo_round(WS_OP_TEXT, "gr\xc3\xbc\xc3\x9f dich, \xe2\x82\xac", 18);
	for (size_t i = 0; i < sizeof big; i++)
		big[i] = (uint8_t)(i * 7);
	echo_round(WS_OP_BINARY, big, sizeof big);
	client_send(WS_OP_TEXT, WS_SEND_MORE, "frag", 4);
	client_send(WS_OP_CONTINUATION, WS_SEND_MORE, "men", 3);
	client_send(WS_OP_CONTINUATION, 0, "ted", 3);
	CHECK(client_next(&ev) == WS_OK && ev.type == WS_EV_TEXT);
	CHECK(client_asm.len == 10 && memcmp(client_asm.buf, "fragmented", 10) == 0);
	printf("client: echo of a fragmented message: %.*s\n", (int)client_asm.len, (char *)client_asm.buf);

	/* A ping is answered with a pong carrying the same payload. */
	client_send(WS_OP_PING, 0, "tick", 4);
	CHECK(client_next(&ev) == WS_OK && ev.type == WS_EV_PONG);
	CHECK(ev.len == 4 && memcmp(ev.data, "tick", 4) == 0);

	/* The closing handshake: the client closes, the server echoes. */
	CHECK(ws_conn_close(&client, WS_CLOSE_NORMAL, "bye", 3, client_out, sizeof client_out, &n) == WS_OK);
	pipe_write(&to_server, client_out, n);
	CHECK(client_next(&ev) == WS_OK && ev.type == WS_EV_CLOSE && ev.code == WS_CLOSE_NORMAL);
	CHECK(ws_conn_should_close_transport(&server) && ws_conn_should_close_transport(&client));
	printf("client: closed with %u; both ends may close the transport\n", ev.code);

	printf("%s: %d passed, %d failed\n", argv[0], checks_passed, checks_failed);
	return checks_failed ? 1 : 0;
}
