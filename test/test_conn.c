/* The connection API: init, sending (whole, fragmented, header-only, masked),
 * replies, the close handshake from both sides, failure, limits, EOF. */
#include <stdlib.h>
#include <string.h>
#include "harness.h"

static uint32_t rng;

static void config(ws_config *cfg, int role)
{
	ws_config_init(cfg, role);
	cfg->flags = WS_CFG_START_OPEN;
	cfg->rand = t_rand;
	cfg->rand_ctx = &rng;
}

/* Feeds bytes to a connection and returns the single event they make. */
static int recv1(ws_conn *c, uint8_t *buf, size_t len, ws_event *ev)
{
	size_t used;
	int rc = ws_conn_recv(c, buf, len, &used, ev);
	CHECK_INT(used, len);
	return rc;
}

static void size_and_init(void)
{
	ws_config cfg;
	ws_conn c;

	CHECK(sizeof(ws_conn) <= 64);
	config(&cfg, WS_ROLE_SERVER);
	CHECK_INT(ws_conn_init(&c, sizeof c - 1, &cfg), WS_E_ABI);
	CHECK_INT(ws_conn_init(&c, sizeof c + 8, &cfg), WS_E_ABI);
	CHECK_INT(ws_conn_init(&c, sizeof c, &cfg), WS_OK);
	CHECK_INT(ws_conn_state(&c), WS_STATE_OPEN);
	cfg.role = 7;
	CHECK_INT(ws_conn_init(&c, sizeof c, &cfg), WS_E_ARG);
	config(&cfg, WS_ROLE_CLIENT);
	cfg.rand = NULL;
	CHECK_INT(ws_conn_init(&c, sizeof c, &cfg), WS_E_ARG);
	config(&cfg, WS_ROLE_SERVER);
	cfg.max_fragments = 0;
	CHECK_INT(ws_conn_init(&c, sizeof c, &cfg), WS_E_ARG);
	/* Defaults. */
	ws_config_init(&cfg, WS_ROLE_SERVER);
	CHECK_INT(cfg.max_message, 16 << 20);
	CHECK_INT(cfg.max_head, 8192);
	CHECK_INT(cfg.max_headers, 64);
	CHECK_INT(cfg.flags, 0);
	/* Without START_OPEN: a server awaits the handshake, a client must connect. */
	CHECK_INT(ws_conn_init(&c, sizeof c, &cfg), WS_OK);
	CHECK_INT(ws_conn_state(&c), WS_STATE_HANDSHAKE);
	uint8_t out[64];
	size_t n;
	CHECK_INT(ws_conn_send(&c, WS_OP_TEXT, 0, "x", 1, out, sizeof out, &n), WS_E_STATE);
	CHECK_INT(ws_conn_close(&c, 1000, "", 0, out, sizeof out, &n), WS_E_STATE);
}

/* Server frames are unmasked, byte for byte as RFC 6455 §5.7 shows them. */
static void server_send_bytes(void)
{
	ws_config cfg;
	ws_conn c;
	uint8_t out[64], want[64];
	size_t n;

	config(&cfg, WS_ROLE_SERVER);
	ws_conn_init(&c, sizeof c, &cfg);
	CHECK_INT(ws_conn_send(&c, WS_OP_TEXT, 0, "Hello", 5, out, sizeof out, &n), WS_OK);
	CHECK_INT(n, t_unhex("81 05 48 65 6c 6c 6f", want, sizeof want));
	CHECK_MEM(out, want, n);
	/* A fragmented text message, with a ping between the fragments. */
	CHECK_INT(ws_conn_send(&c, WS_OP_TEXT, WS_SEND_MORE, "Hel", 3, out, sizeof out, &n), WS_OK);
	CHECK_INT(n, t_unhex("01 03 48 65 6c", want, sizeof want));
	CHECK_MEM(out, want, n);
	CHECK_INT(ws_conn_send(&c, WS_OP_PING, 0, "Hello", 5, out, sizeof out, &n), WS_OK);
	CHECK_INT(n, t_unhex("89 05 48 65 6c 6c 6f", want, sizeof want));
	CHECK_MEM(out, want, n);
	CHECK_INT(ws_conn_send(&c, WS_OP_CONTINUATION, 0, "lo", 2, out, sizeof out, &n), WS_OK);
	CHECK_INT(n, t_unhex("80 02 6c 6f", want, sizeof want));
	CHECK_MEM(out, want, n);
	/* 256 and 65536 bytes: 16- and 64-bit lengths. */
	static uint8_t big[65536 + 16];
	CHECK_INT(ws_conn_send(&c, WS_OP_BINARY, 0, big, 256, big + 0, 0, &n), WS_E_BUFFER);
	CHECK_INT(n, 256 + 4);
	uint8_t *o = malloc(70000);
	CHECK_INT(ws_conn_send(&c, WS_OP_BINARY, 0, big, 256, o, 70000, &n), WS_OK);
	CHECK_INT(n, 260);
	CHECK_INT(n, t_unhex("82 7E 01 00", want, sizeof want) + 256);
	CHECK_MEM(o, want, 4);
	CHECK_INT(ws_conn_send(&c, WS_OP_BINARY, 0, big, 65536, o, 70000, &n), WS_OK);
	CHECK_INT(n, 10 + 65536);
	t_unhex("82 7F 00 00 00 00 00 01 00 00", want, sizeof want);
	CHECK_MEM(o, want, 10);
	free(o);
}

static void send_rules(void)
{
	ws_config cfg;
	ws_conn c;
	uint8_t out[256], pay[200] = {0};
	size_t n;

	config(&cfg, WS_ROLE_SERVER);
	ws_conn_init(&c, sizeof c, &cfg);
	CHECK_INT(ws_conn_send(&c, WS_OP_CONTINUATION, 0, "x", 1, out, sizeof out, &n), WS_E_STATE);
	CHECK_INT(ws_conn_send(&c, 3, 0, "x", 1, out, sizeof out, &n), WS_E_ARG);
	CHECK_INT(ws_conn_send(&c, WS_OP_CLOSE, 0, "", 0, out, sizeof out, &n), WS_E_ARG);
	CHECK_INT(ws_conn_send(&c, WS_OP_TEXT, 0x80, "x", 1, out, sizeof out, &n), WS_E_ARG);
	CHECK_INT(ws_conn_send(&c, WS_OP_PING, 0, pay, 126, out, sizeof out, &n), WS_E_ARG);
	CHECK_INT(ws_conn_send(&c, WS_OP_PING, WS_SEND_MORE, pay, 1, out, sizeof out, &n), WS_E_ARG);
	CHECK_INT(ws_conn_send(&c, WS_OP_PING, 0, pay, 125, out, sizeof out, &n), WS_OK);
	CHECK_INT(n, 127);
	CHECK_INT(ws_conn_send(&c, WS_OP_BINARY, WS_SEND_MORE, "a", 1, out, sizeof out, &n), WS_OK);
	CHECK_INT(ws_conn_send(&c, WS_OP_TEXT, 0, "b", 1, out, sizeof out, &n), WS_E_STATE);
	CHECK_INT(ws_conn_send(&c, WS_OP_BINARY, 0, "b", 1, out, sizeof out, &n), WS_E_STATE);
	/* A failed call changes nothing: the message can still be continued. */
	CHECK_INT(ws_conn_send(&c, WS_OP_CONTINUATION, 0, pay, 200, out, 10, &n), WS_E_BUFFER);
	CHECK_INT(n, 2 + 2 + 200);
	CHECK_INT(ws_conn_send(&c, WS_OP_CONTINUATION, WS_SEND_MORE, "c", 1, out, sizeof out, &n), WS_OK);
	CHECK_INT(ws_conn_send(&c, WS_OP_CONTINUATION, 0, "d", 1, out, sizeof out, &n), WS_OK);
	CHECK_INT(out[0], 0x80);
	CHECK_INT(ws_conn_send(&c, WS_OP_CONTINUATION, 0, "d", 1, out, sizeof out, &n), WS_E_STATE);
	CHECK_INT(ws_conn_send(&c, WS_OP_TEXT, 0, "e", 1, out, sizeof out, &n), WS_OK);
}

/* Client frames are masked with a fresh key per frame; the payload passed in
 * is never modified, and a server decodes every length class back. */
static void client_to_server_round_trip(void)
{
	static const size_t lens[] = {0, 1, 2, 3, 4, 5, 125, 126, 127, 65535, 65536, 100000};
	ws_config ccfg, scfg;
	ws_conn cl, sv;
	uint8_t *pay = malloc(100000), *copy = malloc(100000), *out = malloc(100000 + 14);
	uint8_t key1[4];

	for (size_t i = 0; i < 100000; i++)
		pay[i] = (uint8_t)(i * 7 + i / 256);
	memcpy(copy, pay, 100000);
	config(&ccfg, WS_ROLE_CLIENT);
	config(&scfg, WS_ROLE_SERVER);
	ws_conn_init(&cl, sizeof cl, &ccfg);
	ws_conn_init(&sv, sizeof sv, &scfg);
	for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
		size_t n, used;
		ws_event ev;
		ws_frame_header h;
		CHECK_INT(ws_conn_send(&cl, WS_OP_BINARY, 0, pay, lens[i], out, 100000 + 14, &n), WS_OK);
		CHECK_INT(n, lens[i] + (lens[i] < 126 ? 6 : lens[i] < 65536 ? 8 : 14));
		CHECK_INT(ws_frame_header_decode(&h, out, n, 0), (int)(n - lens[i]));
		CHECK_INT(h.masked, 1);
		CHECK_INT(h.len, lens[i]);
		if (i == 0)
			memcpy(key1, h.mask, 4);
		else
			CHECK(memcmp(key1, h.mask, 4) != 0);
		CHECK_INT(ws_conn_recv(&sv, out, n, &used, &ev), WS_OK);
		CHECK_INT(used, n);
		CHECK_INT(ev.type, WS_EV_BINARY);
		CHECK_INT(ev.flags, WS_EVF_MSG_BEGIN | WS_EVF_MSG_END);
		CHECK_INT(ev.len, lens[i]);
		CHECK(lens[i] == 0 || memcmp(ev.data, pay, lens[i]) == 0);
	}
	CHECK_MEM(pay, copy, 100000);
	free(pay);
	free(copy);
	free(out);
}

/* Header-only sending: the 2^32 length and the client's key at the end. */
static void header_only(void)
{
	ws_config cfg;
	ws_conn c;
	uint8_t out[WS_FRAME_HEADER_MAX], want[16];
	size_t n;
	ws_frame_header h;

	config(&cfg, WS_ROLE_SERVER);
	ws_conn_init(&c, sizeof c, &cfg);
	CHECK_INT(ws_conn_send_header(&c, WS_OP_BINARY, 0, 1ull << 32, out, sizeof out, &n), WS_OK);
	CHECK_INT(n, t_unhex("82 7f 00 00 00 01 00 00 00 00", want, sizeof want));
	CHECK_MEM(out, want, n);
	CHECK_INT(ws_conn_send_header(&c, WS_OP_BINARY, 0, 5, out, 1, &n), WS_E_BUFFER);
	CHECK_INT(n, 2);

	config(&cfg, WS_ROLE_CLIENT);
	ws_conn_init(&c, sizeof c, &cfg);
	CHECK_INT(ws_conn_send_header(&c, WS_OP_TEXT, WS_SEND_MORE, 5, out, sizeof out, &n), WS_OK);
	CHECK_INT(n, 6);
	CHECK_INT(ws_frame_header_decode(&h, out, n, 0), 6);
	CHECK_INT(h.fin, 0);
	CHECK_MEM(h.mask, out + 2, 4);
	/* The caller masks its payload with the key from the header: a server reads it. */
	uint8_t frame[16], pay[] = "Hello";
	memcpy(frame, out, 6);
	ws_mask(pay, 5, out + n - 4, 0);
	memcpy(frame + 6, pay, 5);
	frame[0] |= 0x80;
	ws_config scfg;
	ws_conn sv;
	ws_event ev;
	config(&scfg, WS_ROLE_SERVER);
	ws_conn_init(&sv, sizeof sv, &scfg);
	CHECK_INT(recv1(&sv, frame, 11, &ev), WS_OK);
	CHECK_INT(ev.type, WS_EV_TEXT);
	CHECK_INT(ev.len, 5);
	CHECK_MEM(ev.data, "Hello", 5);
	/* 2^32 through a client header decodes too. */
	CHECK_INT(ws_conn_send_header(&c, WS_OP_CONTINUATION, 0, 1ull << 32, out, sizeof out, &n), WS_OK);
	CHECK_INT(ws_frame_header_decode(&h, out, n, 0), 14);
	CHECK_INT(h.len, 1ull << 32);
	CHECK_INT(h.opcode, 0);
}

static int fail_rand(void *ctx, void *buf, size_t len)
{
	(void)ctx, (void)buf, (void)len;
	return -1;
}

#define POISON ((size_t)0x5eed5eed)

/* Fills the stack below us with junk, so that a local the library forgets to
 * set holds junk rather than a lucky 0. Called through a volatile pointer so
 * that it is not inlined. */
static void dirty_stack_(void)
{
	volatile unsigned char junk[8192];
	for (size_t i = 0; i < sizeof junk; i++)
		junk[i] = 0xa5;
}
static void (*volatile dirty_stack)(void) = dirty_stack_;

/* One rule for every writer: on any error but WS_E_BUFFER, *out_len is 0.
 * A client whose rand callback fails used to get an uninitialised *out_len
 * (the header length write_header never set) from ws_conn_send, _reply,
 * _close and _fail. */
static void out_len_zero_on_rand_failure(void)
{
	ws_config cfg;
	ws_conn c;
	uint8_t out[256], in[64];
	size_t n, len, used;
	ws_event ev, ping;

	config(&cfg, WS_ROLE_CLIENT);
	ws_conn_init(&c, sizeof c, &cfg);
	len = t_unhex("89 02 68 69", in, sizeof in); /* the server's ping "hi" */
	CHECK_INT(ws_conn_recv(&c, in, len, &used, &ping), WS_OK);
	CHECK_INT(ping.type, WS_EV_PING);
	CHECK_INT(ping.flags, WS_EVF_REPLY);
	cfg.rand = fail_rand;
	dirty_stack();
	n = POISON;
	CHECK_INT(ws_conn_send(&c, WS_OP_TEXT, 0, "x", 1, out, sizeof out, &n), WS_E_RAND);
	CHECK_INT(n, 0);
	dirty_stack();
	n = POISON;
	CHECK_INT(ws_conn_send(&c, WS_OP_PING, 0, "", 0, out, sizeof out, &n), WS_E_RAND);
	CHECK_INT(n, 0);
	dirty_stack();
	n = POISON;
	CHECK_INT(ws_conn_send_header(&c, WS_OP_BINARY, 0, 300, out, sizeof out, &n), WS_E_RAND);
	CHECK_INT(n, 0);
	dirty_stack();
	n = POISON;
	CHECK_INT(ws_conn_reply(&c, &ping, out, sizeof out, &n), WS_E_RAND);
	CHECK_INT(n, 0);
	dirty_stack();
	n = POISON;
	CHECK_INT(ws_conn_close(&c, 1000, "bye", 3, out, sizeof out, &n), WS_E_RAND);
	CHECK_INT(n, 0);
	/* Nothing changed: with a working callback the same calls succeed. */
	CHECK_INT(ws_conn_state(&c), WS_STATE_OPEN);
	cfg.rand = t_rand;
	CHECK_INT(ws_conn_reply(&c, &ping, out, sizeof out, &n), WS_OK);
	CHECK_INT(n, 2 + 4 + 2);
	/* A failed connection's close frame. */
	len = t_unhex("81 81 00 00 00 00 41", in, sizeof in); /* masked: not from a server */
	CHECK_INT(ws_conn_recv(&c, in, len, &used, &ev), WS_E_MASK_UNEXPECTED);
	cfg.rand = fail_rand;
	dirty_stack();
	n = POISON;
	CHECK_INT(ws_conn_fail(&c, out, sizeof out, &n), WS_E_RAND);
	CHECK_INT(n, 0);
	dirty_stack();
	n = POISON;
	CHECK_INT(ws_conn_fail(&c, out, 3, &n), WS_E_BUFFER); /* the size needed, as always */
	CHECK_INT(n, 2 + 4 + 2 + strlen(ws_status_str(WS_E_MASK_UNEXPECTED)));
	cfg.rand = t_rand;
	CHECK_INT(ws_conn_fail(&c, out, sizeof out, &n), WS_OK);
	CHECK_INT(out[0], 0x88);
}

/* The same rule on every other error path of the writers. */
static void out_len_zero_on_every_error(void)
{
	ws_config cfg;
	ws_conn c;
	uint8_t out[256], in[64];
	size_t n, len, used;
	ws_event ev;

	config(&cfg, WS_ROLE_SERVER);
	cfg.flags = 0; /* awaiting the handshake: WS_E_STATE */
	ws_conn_init(&c, sizeof c, &cfg);
	n = POISON;
	CHECK_INT(ws_conn_send(&c, WS_OP_TEXT, 0, "x", 1, out, sizeof out, &n), WS_E_STATE);
	CHECK_INT(n, 0);
	n = POISON;
	CHECK_INT(ws_conn_send_header(&c, WS_OP_TEXT, 0, 1, out, sizeof out, &n), WS_E_STATE);
	CHECK_INT(n, 0);
	n = POISON;
	CHECK_INT(ws_conn_close(&c, 1000, NULL, 0, out, sizeof out, &n), WS_E_STATE);
	CHECK_INT(n, 0);
	n = POISON;
	CHECK_INT(ws_conn_fail(&c, out, sizeof out, &n), WS_E_STATE);
	CHECK_INT(n, 0);
	config(&cfg, WS_ROLE_SERVER);
	ws_conn_init(&c, sizeof c, &cfg);
	n = POISON;
	CHECK_INT(ws_conn_send(&c, 3, 0, "x", 1, out, sizeof out, &n), WS_E_ARG);
	CHECK_INT(n, 0);
	n = POISON;
	CHECK_INT(ws_conn_send_header(&c, WS_OP_PING, 0, 126, out, sizeof out, &n), WS_E_ARG);
	CHECK_INT(n, 0);
	n = POISON;
	CHECK_INT(ws_conn_close(&c, 1005, NULL, 0, out, sizeof out, &n), WS_E_ARG);
	CHECK_INT(n, 0);
	n = POISON;
	CHECK_INT(ws_conn_send(&c, WS_OP_CONTINUATION, 0, "x", 1, out, sizeof out, &n), WS_E_STATE);
	CHECK_INT(n, 0);
	/* Sticky errors. */
	len = t_unhex("81 01 41", in, sizeof in); /* unmasked: not from a client */
	CHECK_INT(ws_conn_recv(&c, in, len, &used, &ev), WS_E_MASK_REQUIRED);
	n = POISON;
	CHECK_INT(ws_conn_send(&c, WS_OP_TEXT, 0, "x", 1, out, sizeof out, &n), WS_E_MASK_REQUIRED);
	CHECK_INT(n, 0);
	n = POISON;
	CHECK_INT(ws_conn_send_header(&c, WS_OP_TEXT, 0, 1, out, sizeof out, &n), WS_E_MASK_REQUIRED);
	CHECK_INT(n, 0);
	n = POISON;
	CHECK_INT(ws_conn_close(&c, 1000, NULL, 0, out, sizeof out, &n), WS_E_MASK_REQUIRED);
	CHECK_INT(n, 0);
}

/* RFC 6455 §5.2: "the most significant bit MUST be 0". A header-only frame
 * of 2^63 bytes or more used to be written with that bit set, and WS_OK. */
static void send_header_length_2e63_refused(void)
{
	static const uint64_t bad[] = {1ull << 63, (1ull << 63) + 1, UINT64_MAX};
	ws_config cfg;
	ws_conn c;
	uint8_t out[WS_FRAME_HEADER_MAX];
	size_t n;
	ws_frame_header h;

	for (int role = 0; role < 2; role++) {
		config(&cfg, role);
		ws_conn_init(&c, sizeof c, &cfg);
		for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
			n = POISON;
			CHECK_INT(ws_conn_send_header(&c, WS_OP_BINARY, 0, bad[i], out, sizeof out, &n),
			          WS_E_ARG);
			CHECK_INT(n, 0);
			n = POISON;
			CHECK_INT(ws_conn_send_header(&c, WS_OP_TEXT, WS_SEND_MORE, bad[i], out, sizeof out,
			                              &n), WS_E_ARG);
			CHECK_INT(n, 0);
		}
		/* Nothing changed: no message was begun. */
		CHECK_INT(ws_conn_send_header(&c, WS_OP_CONTINUATION, 0, 1, out, sizeof out, &n),
		          WS_E_STATE);
		/* The largest length there is still goes, and decodes back. */
		CHECK_INT(ws_conn_send_header(&c, WS_OP_TEXT, WS_SEND_MORE, (1ull << 63) - 1, out,
		                              sizeof out, &n), WS_OK);
		CHECK_INT(n, 10 + 4 * role);
		CHECK_INT(ws_frame_header_decode(&h, out, n, 0), (int)n);
		CHECK(h.len == (1ull << 63) - 1);
		CHECK_INT(ws_conn_send_header(&c, WS_OP_CONTINUATION, 0, 1ull << 63, out, sizeof out, &n),
		          WS_E_ARG);
		CHECK_INT(ws_conn_send_header(&c, WS_OP_CONTINUATION, 0, 0, out, sizeof out, &n), WS_OK);
	}
}

/* We close first: CLOSE_SENT, no data after, the peer's close completes it. */
static void close_initiated_locally(void)
{
	ws_config cfg;
	ws_conn c;
	uint8_t out[256], want[64], in[64];
	size_t n;
	ws_event ev;

	config(&cfg, WS_ROLE_SERVER);
	ws_conn_init(&c, sizeof c, &cfg);
	CHECK_INT(ws_conn_close(&c, 999, "", 0, out, sizeof out, &n), WS_E_ARG);
	CHECK_INT(ws_conn_close(&c, 1005, "", 0, out, sizeof out, &n), WS_E_ARG);
	CHECK_INT(ws_conn_close(&c, 1000, "\xff", 1, out, sizeof out, &n), WS_E_ARG);
	CHECK_INT(ws_conn_close(&c, 0, "x", 1, out, sizeof out, &n), WS_E_ARG);
	char reason[124];
	memset(reason, 'r', sizeof reason);
	CHECK_INT(ws_conn_close(&c, 1000, reason, 124, out, sizeof out, &n), WS_E_ARG);
	CHECK_INT(ws_conn_close(&c, 1000, reason, 123, out, 10, &n), WS_E_BUFFER);
	CHECK_INT(n, 2 + 2 + 123);
	CHECK_INT(ws_conn_state(&c), WS_STATE_OPEN);
	CHECK_INT(ws_conn_close(&c, 4000, "bye", 3, out, sizeof out, &n), WS_OK);
	CHECK_INT(n, t_unhex("88 05 0f a0 62 79 65", want, sizeof want));
	CHECK_MEM(out, want, n);
	CHECK_INT(ws_conn_state(&c), WS_STATE_CLOSE_SENT);
	CHECK_INT(ws_conn_should_close_transport(&c), 0);
	CHECK_INT(ws_conn_send(&c, WS_OP_TEXT, 0, "x", 1, out, sizeof out, &n), WS_E_STATE);
	CHECK_INT(ws_conn_send(&c, WS_OP_PING, 0, "x", 1, out, sizeof out, &n), WS_E_STATE);
	CHECK_INT(ws_conn_close(&c, 1000, "", 0, out, sizeof out, &n), WS_E_STATE);
	/* Data still arriving is delivered; a ping gets no reply flag. */
	size_t len = t_unhex("81 81 00 00 00 00 41", in, sizeof in);
	CHECK_INT(recv1(&c, in, len, &ev), WS_OK);
	CHECK_INT(ev.type, WS_EV_TEXT);
	len = t_unhex("89 80 00 00 00 00", in, sizeof in);
	CHECK_INT(recv1(&c, in, len, &ev), WS_OK);
	CHECK_INT(ev.type, WS_EV_PING);
	CHECK_INT(ev.flags, 0);
	CHECK_INT(ws_conn_reply(&c, &ev, out, sizeof out, &n), WS_OK);
	CHECK_INT(n, 0);
	/* The peer's close answers ours: no reply due, transport may close. */
	len = t_unhex("88 82 00 00 00 00 0f a0", in, sizeof in);
	CHECK_INT(recv1(&c, in, len, &ev), WS_OK);
	CHECK_INT(ev.type, WS_EV_CLOSE);
	CHECK_INT(ev.code, 4000);
	CHECK_INT(ev.flags, 0);
	CHECK_INT(ws_conn_state(&c), WS_STATE_CLOSED);
	CHECK_INT(ws_conn_should_close_transport(&c), 1);
	CHECK_INT(ws_conn_recv_eof(&c, &ev), WS_OK);
	CHECK_INT(ev.type, WS_EV_NONE);
}

/* The peer closes first: CLOSE_RECEIVED, we may still send, the echo closes. */
static void close_initiated_by_peer(void)
{
	ws_config cfg;
	ws_conn c;
	uint8_t out[256], want[64], in[64];
	size_t n, len;
	ws_event ev;

	config(&cfg, WS_ROLE_CLIENT);
	ws_conn_init(&c, sizeof c, &cfg);
	len = t_unhex("88 04 03 e9 68 69", in, sizeof in); /* 1001 "hi" */
	CHECK_INT(recv1(&c, in, len, &ev), WS_OK);
	CHECK_INT(ev.type, WS_EV_CLOSE);
	CHECK_INT(ev.code, 1001);
	CHECK_INT(ev.len, 2);
	CHECK_MEM(ev.data, "hi", 2);
	CHECK_INT(ev.flags, WS_EVF_REPLY);
	CHECK_INT(ws_conn_state(&c), WS_STATE_CLOSE_RECEIVED);
	CHECK_INT(ws_conn_should_close_transport(&c), 0);
	CHECK_INT(ws_conn_send(&c, WS_OP_TEXT, 0, "late", 4, out, sizeof out, &n), WS_OK);
	CHECK_INT(ws_conn_reply(&c, &ev, out, 5, &n), WS_E_BUFFER);
	CHECK_INT(ws_conn_reply(&c, &ev, out, sizeof out, &n), WS_OK);
	CHECK_INT(n, 2 + 4 + 2);
	CHECK_INT(out[0], 0x88);
	CHECK_INT(out[1], 0x82);
	uint8_t code[2] = {out[6], out[7]};
	ws_mask(code, 2, out + 2, 0);
	CHECK_INT(code[0] << 8 | code[1], 1001);
	CHECK_INT(ws_conn_state(&c), WS_STATE_CLOSED);
	CHECK_INT(ws_conn_should_close_transport(&c), 1);
	CHECK_INT(ws_conn_reply(&c, &ev, out, sizeof out, &n), WS_OK);
	CHECK_INT(n, 0);
	/* A close without a code is reported as 1005 and echoed empty. */
	config(&cfg, WS_ROLE_SERVER);
	ws_conn_init(&c, sizeof c, &cfg);
	len = t_unhex("88 80 11 22 33 44", in, sizeof in);
	CHECK_INT(recv1(&c, in, len, &ev), WS_OK);
	CHECK_INT(ev.code, WS_CLOSE_NO_STATUS);
	CHECK_INT(ws_conn_reply(&c, &ev, out, sizeof out, &n), WS_OK);
	CHECK_INT(n, t_unhex("88 00", want, sizeof want));
	CHECK_MEM(out, want, n);
	/* Anything after the peer's close is a protocol error. */
	len = t_unhex("81 80 00 00 00 00", in, sizeof in);
	size_t used;
	CHECK_INT(ws_conn_recv(&c, in, len, &used, &ev), WS_E_DATA_AFTER_CLOSE);
}

/* A pong answers a ping with the same payload (RFC 6455 §5.5.3). */
static void ping_reply(void)
{
	ws_config cfg;
	ws_conn c;
	uint8_t out[256], want[64], in[64];
	size_t n, len;
	ws_event ev;

	config(&cfg, WS_ROLE_SERVER);
	ws_conn_init(&c, sizeof c, &cfg);
	len = t_unhex("89 85 37 fa 21 3d 7f 9f 4d 51 58", in, sizeof in);
	CHECK_INT(recv1(&c, in, len, &ev), WS_OK);
	CHECK_INT(ev.type, WS_EV_PING);
	CHECK_INT(ev.flags, WS_EVF_REPLY);
	CHECK_INT(ws_conn_reply(&c, &ev, out, sizeof out, &n), WS_OK);
	CHECK_INT(n, t_unhex("8a 05 48 65 6c 6c 6f", want, sizeof want));
	CHECK_MEM(out, want, n);
	/* Replying is allowed in the middle of a fragmented send. */
	CHECK_INT(ws_conn_send(&c, WS_OP_TEXT, WS_SEND_MORE, "a", 1, out, sizeof out, &n), WS_OK);
	CHECK_INT(ws_conn_reply(&c, &ev, out, sizeof out, &n), WS_OK);
	CHECK_INT(n, 7);
	CHECK_INT(ws_conn_send(&c, WS_OP_CONTINUATION, 0, "b", 1, out, sizeof out, &n), WS_OK);
	/* Events without the reply flag write nothing. */
	ev.flags = 0;
	CHECK_INT(ws_conn_reply(&c, &ev, out, sizeof out, &n), WS_OK);
	CHECK_INT(n, 0);
}

/* Errors are sticky; ws_conn_fail writes the close frame the error calls for. */
static void failure_is_sticky(void)
{
	ws_config cfg;
	ws_conn c;
	uint8_t out[256], in[64];
	size_t n, len, used;
	ws_event ev;

	config(&cfg, WS_ROLE_SERVER);
	ws_conn_init(&c, sizeof c, &cfg);
	CHECK_INT(ws_conn_fail(&c, out, sizeof out, &n), WS_E_STATE);
	len = t_unhex("c1 80 00 00 00 00", in, sizeof in); /* RSV1 without an extension */
	CHECK_INT(ws_conn_recv(&c, in, len, &used, &ev), WS_E_RSV);
	CHECK_INT(ws_conn_error(&c), WS_E_RSV);
	CHECK_INT(ws_conn_state(&c), WS_STATE_FAILED);
	CHECK_INT(ws_conn_should_close_transport(&c), 0);
	len = t_unhex("81 80 00 00 00 00", in, sizeof in);
	CHECK_INT(ws_conn_recv(&c, in, len, &used, &ev), WS_E_RSV);
	CHECK_INT(used, 0);
	CHECK_INT(ws_conn_send(&c, WS_OP_TEXT, 0, "x", 1, out, sizeof out, &n), WS_E_RSV);
	CHECK_INT(ws_conn_fail(&c, out, 3, &n), WS_E_BUFFER);
	CHECK_INT(ws_conn_fail(&c, out, sizeof out, &n), WS_OK);
	const char *why = ws_status_str(WS_E_RSV);
	CHECK_INT(n, 2 + 2 + strlen(why));
	CHECK_INT(out[0], 0x88);
	CHECK_INT(out[2] << 8 | out[3], 1002);
	CHECK_MEM(out + 4, why, strlen(why));
	CHECK_INT(ws_conn_should_close_transport(&c), 1);
	/* A second fail writes nothing more. */
	CHECK_INT(ws_conn_fail(&c, out, sizeof out, &n), WS_OK);
	CHECK_INT(n, 0);
}

/* The transport ending without a close frame is reported as 1006. */
static void eof(void)
{
	ws_config cfg;
	ws_conn c;
	ws_event ev;

	config(&cfg, WS_ROLE_SERVER);
	ws_conn_init(&c, sizeof c, &cfg);
	CHECK_INT(ws_conn_recv_eof(&c, &ev), WS_OK);
	CHECK_INT(ev.type, WS_EV_CLOSE);
	CHECK_INT(ev.code, 1006);
	CHECK_INT(ws_conn_state(&c), WS_STATE_CLOSED);
	CHECK_INT(ws_conn_should_close_transport(&c), 1);
	CHECK_INT(ws_conn_recv_eof(&c, &ev), WS_OK);
	CHECK_INT(ev.type, WS_EV_NONE);
}

/* Streaming: a 5 GiB message needs no memory; chunks are delivered as they
 * come, with MSG_BEGIN on the first and MSG_END on the last. */
static void streaming_large(void)
{
	enum { CHUNK = 1 << 20 };
	ws_config cfg;
	ws_conn c;
	uint8_t hdr[16], *chunk = calloc(1, CHUNK);
	size_t used;
	ws_event ev;
	uint64_t total = 0, want = 5ull << 30;
	int begins = 0, ends = 0;

	config(&cfg, WS_ROLE_CLIENT);
	cfg.max_message = cfg.max_frame = UINT64_MAX;
	ws_conn_init(&c, sizeof c, &cfg);
	size_t hl = ws_frame_header_encode(hdr, WS_FIN, WS_OP_BINARY, want, NULL);
	CHECK_INT(ws_conn_recv(&c, hdr, hl, &used, &ev), WS_OK);
	CHECK_INT(used, hl);
	CHECK_INT(ev.type, WS_EV_NONE);
	while (total < want) {
		size_t n = (size_t)(want - total < CHUNK ? want - total : CHUNK);
		CHECK_INT(ws_conn_recv(&c, chunk, n, &used, &ev), WS_OK);
		if (used != n || ev.type != WS_EV_BINARY || ev.len != n) {
			CHECK(!"bad chunk");
			break;
		}
		begins += !!(ev.flags & WS_EVF_MSG_BEGIN);
		ends += !!(ev.flags & WS_EVF_MSG_END);
		total += n;
	}
	CHECK_INT(total, want);
	CHECK_INT(begins, 1);
	CHECK_INT(ends, 1);
	free(chunk);
}

/* Limits fail at the header, before any payload is delivered. */
static void limits(void)
{
	ws_config cfg;
	ws_conn c;
	uint8_t in[64];
	size_t len, used;
	ws_event ev;

	config(&cfg, WS_ROLE_CLIENT);
	cfg.max_message = 10;
	cfg.max_frame = 6;
	cfg.max_fragments = 3;
	ws_conn_init(&c, sizeof c, &cfg);
	len = t_unhex("82 07", in, sizeof in);
	CHECK_INT(ws_conn_recv(&c, in, len, &used, &ev), WS_E_FRAME_TOO_BIG);
	CHECK_INT(ws_status_close_code(WS_E_FRAME_TOO_BIG), 1009);
	ws_conn_init(&c, sizeof c, &cfg);
	len = t_unhex("02 06 000000000000 00 05", in, sizeof in);
	CHECK_INT(ws_conn_recv(&c, in, len, &used, &ev), WS_OK);
	CHECK_INT(ev.len, 6);
	CHECK_INT(ws_conn_recv(&c, in + used, len - used, &used, &ev), WS_E_MESSAGE_TOO_BIG);
	/* Three fragments pass, the fourth fails, even when all are empty. */
	ws_conn_init(&c, sizeof c, &cfg);
	len = t_unhex("02 00 00 00 00 00 80 00", in, sizeof in);
	size_t off = 0;
	int rc;
	do {
		rc = ws_conn_recv(&c, in + off, len - off, &used, &ev);
		off += used;
	} while (rc == WS_OK && ev.type != WS_EV_NONE);
	CHECK_INT(rc, WS_E_TOO_MANY_FRAGMENTS);
	CHECK_INT(off, 6);
	/* Limits reset with each message. */
	ws_conn_init(&c, sizeof c, &cfg);
	len = t_unhex("02 00 00 00 80 00 82 03 616263", in, sizeof in);
	off = 0;
	int msgs = 0;
	do {
		rc = ws_conn_recv(&c, in + off, len - off, &used, &ev);
		off += used;
		msgs += !!(ev.flags & WS_EVF_MSG_END);
	} while (rc == WS_OK && ev.type != WS_EV_NONE);
	CHECK_INT(rc, WS_OK);
	CHECK_INT(msgs, 2);
	CHECK_INT(off, len);
}

static int dispatched;
static int on_event(void *ud, ws_conn *c, ws_event *ev)
{
	(void)c;
	(void)ev;
	dispatched++;
	return dispatched == *(int *)ud ? 42 : 0;
}

static void dispatch(void)
{
	ws_config cfg;
	ws_conn c;
	uint8_t in[64];
	size_t len, used;
	int stop_at = 100;

	config(&cfg, WS_ROLE_CLIENT);
	ws_conn_init(&c, sizeof c, &cfg);
	len = t_unhex("81 01 61 89 00 81 01 62 82", in, sizeof in);
	CHECK_INT(ws_conn_dispatch(&c, in, len, &used, on_event, &stop_at), WS_OK);
	CHECK_INT(dispatched, 3);
	CHECK_INT(used, len - 1);
	dispatched = 0;
	stop_at = 2;
	ws_conn_init(&c, sizeof c, &cfg);
	CHECK_INT(ws_conn_dispatch(&c, in, len, &used, on_event, &stop_at), 42);
	CHECK_INT(used, 5);
}


/* The assembler joins chunks, however the bytes arrive, and refuses overflow. */
static void assembler(void)
{
	ws_config cfg;
	ws_conn c;
	uint8_t in[64], buf[8];
	size_t len = t_unhex("01 03 616263 89 00 00 02 6465 80 01 66 82 09 313233343536373839", in,
	                     sizeof in);
	ws_assembler a;

	config(&cfg, WS_ROLE_CLIENT);
	for (size_t step = 1; step <= len; step++) {
		size_t have = 0, off = 0, used;
		int done = 0, rc = 0;
		ws_conn_init(&c, sizeof c, &cfg);
		ws_assembler_init(&a, buf, sizeof buf);
		while (off < len && rc >= 0) {
			ws_event ev;
			have = have + step < len ? have + step : len;
			do {
				CHECK_INT(ws_conn_recv(&c, in + off, have - off, &used, &ev), WS_OK);
				off += used;
				rc = ws_assembler_add(&a, &ev);
				if (rc == 1) {
					done++;
					CHECK_INT(a.type, WS_EV_TEXT);
					CHECK_INT(a.len, 6);
					CHECK_MEM(a.buf, "abcdef", 6);
				}
			} while (ev.type != WS_EV_NONE && rc >= 0);
			if (have == len)
				break;
		}
		CHECK_INT(done, 1);
		CHECK_INT(rc, WS_E_MESSAGE_TOO_BIG); /* the 9-byte binary message */
	}
}

/* Feeds frames through ws_conn_recv (at every step size) into an assembler
 * of cap bytes and logs what ws_assembler_add() returns: "1:<message>" for a
 * complete one, "E" for WS_E_MESSAGE_TOO_BIG (once per run of them). */
static void assemble_log(const ws_config *cfg, const uint8_t *frames, size_t len, size_t cap,
                         const char *want)
{
	uint8_t buf[64], in[128];

	if (len > sizeof in)
		abort();

	for (size_t step = 1; step <= len; step++) {
		char log[256] = "";
		size_t have = 0, off = 0, used, ll = 0;
		int last = 0;
		ws_conn c;
		ws_assembler a;
		memcpy(in, frames, len);
		ws_conn_init(&c, sizeof c, cfg);
		ws_assembler_init(&a, buf, cap);
		while (off < len) {
			ws_event ev;
			have = have + step < len ? have + step : len;
			do {
				int rc;
				CHECK_INT(ws_conn_recv(&c, in + off, have - off, &used, &ev), WS_OK);
				off += used;
				rc = ws_assembler_add(&a, &ev);
				if (rc == 1)
					ll += (size_t)snprintf(log + ll, sizeof log - ll, "1:%.*s ", (int)a.len,
					                       (const char *)a.buf);
				else if (rc == WS_E_MESSAGE_TOO_BIG && last != rc)
					ll += (size_t)snprintf(log + ll, sizeof log - ll, "E ");
				else if (rc != 0 && rc != WS_E_MESSAGE_TOO_BIG)
					ll += (size_t)snprintf(log + ll, sizeof log - ll, "?%d ", rc);
				if (ev.type == WS_EV_TEXT || ev.type == WS_EV_BINARY) {
					/* Every later chunk of a refused message is refused, its end too. */
					if (last == WS_E_MESSAGE_TOO_BIG)
						CHECK_INT(rc, WS_E_MESSAGE_TOO_BIG);
					last = ev.flags & WS_EVF_MSG_END ? 0 : rc;
				}
			} while (ev.type != WS_EV_NONE);
			if (have == len)
				break;
		}
		CHECK_INT(off, len);
		if (strcmp(log, want)) {
			t_fail(__FILE__, __LINE__, "step %zu:\n    got:  %s\n    want: %s", step, log, want);
			break;
		}
	}
}

/* After WS_E_MESSAGE_TOO_BIG the assembler refuses the rest of that message,
 * its end included, and assembles the next one normally. It used to keep
 * appending, and returned "abc" + "xyz" of "abc0123456789xyz" as complete. */
static void assembler_refuses_rest_of_too_big_message(void)
{
	ws_config cfg;
	uint8_t in[128], buf[8];
	ws_assembler a;
	ws_event ev = {0};
	size_t len;

	/* Directly: the chunks of the issue. */
	ws_assembler_init(&a, buf, sizeof buf);
	ev.type = WS_EV_TEXT;
	ev.flags = WS_EVF_MSG_BEGIN;
	ev.data = (uint8_t *)"abc";
	ev.len = 3;
	CHECK_INT(ws_assembler_add(&a, &ev), 0);
	ev.flags = 0;
	ev.data = (uint8_t *)"0123456789";
	ev.len = 10;
	CHECK_INT(ws_assembler_add(&a, &ev), WS_E_MESSAGE_TOO_BIG);
	ev.data = (uint8_t *)"";
	ev.len = 0;
	CHECK_INT(ws_assembler_add(&a, &ev), WS_E_MESSAGE_TOO_BIG);
	ev.flags = WS_EVF_MSG_END;
	ev.data = (uint8_t *)"xyz";
	ev.len = 3;
	CHECK_INT(ws_assembler_add(&a, &ev), WS_E_MESSAGE_TOO_BIG);
	/* Other events are still ignored. */
	ev.type = WS_EV_PING;
	CHECK_INT(ws_assembler_add(&a, &ev), 0);
	ev.type = WS_EV_BINARY;
	ev.flags = WS_EVF_MSG_BEGIN | WS_EVF_MSG_END;
	ev.data = (uint8_t *)"12345678";
	ev.len = 8;
	CHECK_INT(ws_assembler_add(&a, &ev), 1);
	CHECK_INT(a.type, WS_EV_BINARY);
	CHECK_INT(a.len, 8);
	CHECK_MEM(a.buf, "12345678", 8);
	/* A message refused in its first and last chunk; the next one fits. */
	ev.data = (uint8_t *)"123456789";
	ev.len = 9;
	CHECK_INT(ws_assembler_add(&a, &ev), WS_E_MESSAGE_TOO_BIG);
	ev.type = WS_EV_TEXT;
	ev.data = (uint8_t *)"ok";
	ev.len = 2;
	CHECK_INT(ws_assembler_add(&a, &ev), 1);
	CHECK_INT(a.len, 2);
	CHECK_MEM(a.buf, "ok", 2);

	/* Through a connection, at every step: "abc" "0123456789" "xyz" with a
	 * ping in the middle, then "hello" whole, then "ab" "cd". */
	config(&cfg, WS_ROLE_CLIENT);
	len = t_unhex("01 03 616263 00 0a 30313233343536373839 89 00 80 03 78797a"
	              "81 05 68656c6c6f 02 02 6162 80 02 6364", in, sizeof in);
	assemble_log(&cfg, in, len, 8, "E 1:hello 1:abcd ");
	/* A too-big message right after a complete one, and an empty one after it. */
	len = t_unhex("82 03 616263 82 09 313233343536373839 82 00 02 04 31323334 80 05 3536373839"
	              "82 01 7a", in, sizeof in);
	assemble_log(&cfg, in, len, 8, "1:abc E 1: E 1:z ");
}

/* status.h: WS_E_STATE from ws_conn_recv() for a client that has not
 * connected is not sticky; a wire error is, for recv and the senders. */
static void stickiness_as_documented(void)
{
	ws_config cfg;
	ws_conn c;
	uint8_t in[64], out[256];
	size_t n, used = 99;
	ws_event ev;
	ws_connect_opts co = {"h", NULL, NULL, NULL, NULL};

	config(&cfg, WS_ROLE_CLIENT);
	cfg.flags = 0;
	ws_conn_init(&c, sizeof c, &cfg);
	n = t_unhex("81 01 41", in, sizeof in);
	CHECK_INT(ws_conn_recv(&c, in, n, &used, &ev), WS_E_STATE);
	CHECK_INT(used, 0);
	CHECK_INT(ev.type, WS_EV_NONE);
	CHECK_INT(ws_conn_error(&c), WS_OK);
	CHECK_INT(ws_conn_state(&c), WS_STATE_HANDSHAKE);
	CHECK_INT(ws_conn_fail(&c, out, sizeof out, &n), WS_E_STATE);
	CHECK_INT(ws_conn_connect(&c, &co, out, sizeof out, &n), WS_OK);
	n = t_unhex("48 54 54 50", in, sizeof in); /* "HTTP", the start of an answer */
	CHECK_INT(ws_conn_recv(&c, in, n, &used, &ev), WS_OK);
	/* A wire error: every later call says so. */
	config(&cfg, WS_ROLE_CLIENT);
	ws_conn_init(&c, sizeof c, &cfg);
	n = t_unhex("83 00", in, sizeof in);
	CHECK_INT(ws_conn_recv(&c, in, n, &used, &ev), WS_E_OPCODE);
	n = t_unhex("81 01 41", in, sizeof in);
	CHECK_INT(ws_conn_recv(&c, in, n, &used, &ev), WS_E_OPCODE);
	CHECK_INT(used, 0);
	CHECK_INT(ws_conn_send(&c, WS_OP_TEXT, 0, "x", 1, out, sizeof out, &n), WS_E_OPCODE);
	CHECK_INT(ws_conn_send_header(&c, WS_OP_TEXT, 0, 1, out, sizeof out, &n), WS_E_OPCODE);
	CHECK_INT(ws_conn_close(&c, 1000, NULL, 0, out, sizeof out, &n), WS_E_OPCODE);
	CHECK_INT(ws_conn_error(&c), WS_E_OPCODE);
}

/* A frame: header with a length field of width lw (0: 7-bit, 2: 16-bit, 8:
 * 64-bit, whatever len is, so that non-minimal forms can be made), masked
 * with key when key is not NULL, then the payload. Returns the size. */
static size_t make_frame(uint8_t *out, unsigned b0, unsigned lw, uint64_t len, const uint8_t *key,
                         const uint8_t *pay)
{
	size_t n = 2;

	out[0] = (uint8_t)b0;
	out[1] = key ? 0x80 : 0;
	if (lw == 0) {
		out[1] |= (uint8_t)len;
	} else {
		out[1] |= lw == 2 ? 126 : 127;
		for (unsigned i = 0; i < lw; i++)
			out[n++] = (uint8_t)(len >> 8 * (lw - 1 - i));
	}
	if (key) {
		memcpy(out + n, key, 4);
		n += 4;
	}
	for (uint64_t i = 0; i < len; i++)
		out[n + i] = (uint8_t)(pay[i] ^ (key ? key[i % 4] : 0));
	return n + (size_t)len;
}

/* What the feeder logs for a whole message, built here from the payload. */
static char *want_message(int text, const uint8_t *pay, size_t n)
{
	t_log l = {0};
	t_log_add(&l, "%s ", text ? "text" : "binary");
	t_log_payload(&l, pay, n, text);
	t_log_add(&l, "\n");
	return l.s;
}

/* ws_conn_recv() takes a whole single-frame message of any length by a short
 * path when all of it is in the buffer, and the general path otherwise
 * (t_feed_all splits it everywhere, so the general path is the reference).
 * Each case's outcome is also stated here from RFC 6455 alone: the lengths
 * at the edges of each length form, non-minimal forms, the top bit, the
 * limits at len - 1 and len, the mask bit, a message in progress, text that
 * is short or long, ASCII or not, valid or not, and the no-check flag. */
static void whole_message_path_boundaries(void)
{
	static const size_t lens[] = {0, 1, 15, 16, 33, 125, 126, 127, 128, 129, 200, 1000};
	static const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
	uint8_t *pay = malloc(70000), *in = malloc(70100);
	ws_config cfg;
	char *log, *want;

	for (size_t i = 0; i < 70000; i++)
		pay[i] = (uint8_t)(0x20 + i % 90);
	for (int role = 0; role < 2; role++) {
		const uint8_t *k = role == WS_ROLE_SERVER ? key : NULL;
		for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
			size_t len = lens[li], n;
			unsigned lw = len < 126 ? 0 : 2;
			for (int text = 0; text < 2; text++) {
				/* At the limits and one under them. */
				for (int lim = 0; lim < 3; lim++) {
					config(&cfg, role);
					if (lim == 1)
						cfg.max_frame = len ? len - 1 : 0;
					if (lim == 2)
						cfg.max_message = len ? len - 1 : 0;
					n = make_frame(in, 0x81 + !text, lw, len, k, pay);
					log = t_feed_all(&cfg, NULL, in, n, NULL, 0);
					if (lim == 0 || len == 0) {
						want = want_message(text, pay, len);
						CHECK_STR(log, want);
						free(want);
					} else {
						CHECK(strstr(log, lim == 1 ? "error E_FRAME_TOO_BIG\n"
						                           : "error E_MESSAGE_TOO_BIG\n") == log);
					}
					free(log);
				}
				/* The same length in a longer form than needed: a protocol
				 * error (RFC 6455 §5.2), accepted only when lenient. */
				config(&cfg, role);
				n = make_frame(in, 0x81 + !text, len < 126 ? 2 : 8, len, k, pay);
				log = t_feed_all(&cfg, NULL, in, n, NULL, 0);
				CHECK(strstr(log, "error E_LENGTH_NOT_MINIMAL\n") == log);
				free(log);
				cfg.flags |= WS_CFG_LENIENT_LENGTH;
				log = t_feed_all(&cfg, NULL, in, n, NULL, 0);
				want = want_message(text, pay, len);
				CHECK_STR(log, want);
				free(want);
				free(log);
			}
			/* The mask bit the other role would send. */
			config(&cfg, role);
			n = make_frame(in, 0x82, lw, len, role == WS_ROLE_SERVER ? NULL : key, pay);
			log = t_feed_all(&cfg, NULL, in, n, NULL, 0);
			CHECK(strstr(log, role == WS_ROLE_SERVER ? "error E_MASK_REQUIRED\n"
			                                         : "error E_MASK_UNEXPECTED\n") == log);
			free(log);
			/* A whole-looking frame while a message is in progress. */
			n = make_frame(in, 0x01, 0, 3, k, pay);
			n += make_frame(in + n, 0x82, lw, len, k, pay);
			log = t_feed_all(&cfg, NULL, in, n, NULL, 0);
			CHECK(strstr(log, "partial text ") == log);
			CHECK(strstr(log, "\nerror E_EXPECTED_CONTINUATION\n") != NULL);
			free(log);
		}
		/* 64-bit lengths: the smallest, with the top bit, and a 16-bit one in 8 bytes. */
		config(&cfg, role);
		size_t n = make_frame(in, 0x82, 8, 65536, k, pay);
		size_t splits[] = {1, 2, 9, 10, n - 1};
		want = want_message(0, pay, 65536);
		log = t_feed(&cfg, NULL, in, n, NULL, 0);
		CHECK_STR(log, want);
		free(log);
		for (size_t s = 0; s < sizeof splits / sizeof splits[0]; s++) {
			log = t_feed(&cfg, NULL, in, n, &splits[s], 1);
			CHECK_STR(log, want);
			free(log);
		}
		free(want);
		n = make_frame(in, 0x82, 2, 65535, k, pay);
		want = want_message(0, pay, 65535);
		log = t_feed(&cfg, NULL, in, n, NULL, 0);
		CHECK_STR(log, want);
		free(log);
		free(want);
		n = make_frame(in, 0x82, 8, 65535, k, pay);
		log = t_feed(&cfg, NULL, in, n, NULL, 0);
		CHECK(strstr(log, "error E_LENGTH_NOT_MINIMAL\n") == log);
		free(log);
		n = make_frame(in, 0x82, 8, 0, k, pay);
		in[2] = 0x80;
		log = t_feed_all(&cfg, NULL, in, n, NULL, 0);
		CHECK(strstr(log, "error E_LENGTH_TOP_BIT\n") == log);
		free(log);
		/* Text that is not ASCII, short and long; invalid UTF-8 after a
		 * valid prefix, short and long: the prefix comes first. */
		for (size_t len = 20; len <= 300; len += 280) {
			memcpy(pay + 7, "\xc3\xa9", 2);
			n = make_frame(in, 0x81, len < 126 ? 0 : 2, len, k, pay);
			log = t_feed_all(&cfg, NULL, in, n, NULL, 0);
			want = want_message(1, pay, len);
			CHECK_STR(log, want);
			free(want);
			free(log);
			pay[len - 5] = 0xff;
			n = make_frame(in, 0x81, len < 126 ? 0 : 2, len, k, pay);
			log = t_feed_all(&cfg, NULL, in, n, NULL, 0);
			CHECK(strstr(log, "partial text ") == log);
			CHECK(strstr(log, "\nerror E_UTF8\n") != NULL);
			free(log);
			/* Unchecked when the application asked for that. */
			cfg.flags |= WS_CFG_NO_UTF8_CHECK;
			log = t_feed_all(&cfg, NULL, in, n, NULL, 0);
			CHECK(strstr(log, "text ") == log);
			CHECK(strstr(log, "error") == NULL);
			free(log);
			cfg.flags &= ~WS_CFG_NO_UTF8_CHECK;
			pay[len - 5] = (uint8_t)(0x20 + (len - 5) % 90);
			pay[7] = (uint8_t)(0x20 + 7 % 90);
			pay[8] = (uint8_t)(0x20 + 8 % 90);
		}
	}
	free(pay);
	free(in);
}

/* ws_conn_send() of whole messages at the header-size boundaries, into a
 * buffer one short of, exactly, and more than what the frame needs (the
 * needed size from RFC 6455 §5.2's table, worked out here), and around the
 * short path's own bound (64 KiB and 8 bytes of header room). */
static void send_path_boundaries(void)
{
	static const size_t lens[] = {0, 1, 125, 126, 127, 1024, 65535, 65536, 70000};
	uint8_t *pay = malloc(70000), *out = malloc(70100);

	for (size_t i = 0; i < 70000; i++)
		pay[i] = (uint8_t)(i * 7 + (i >> 8));
	for (int role = 0; role < 2; role++) {
		int client = role == WS_ROLE_CLIENT;
		for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
			size_t len = lens[li];
			size_t need = (len < 126 ? 2 : len < 65536 ? 4 : 10) + (client ? 4 : 0) + len;
			size_t caps[] = {need - 1, need, need + 1, len + 7, len + 8, len + 9};
			for (size_t ci = 0; ci < sizeof caps / sizeof caps[0]; ci++) {
				ws_config cfg;
				ws_conn c;
				ws_frame_header h;
				size_t n = 12345;
				unsigned op = ci & 1 ? WS_OP_BINARY : WS_OP_TEXT;
				int rc;
				config(&cfg, role);
				ws_conn_init(&c, sizeof c, &cfg);
				rc = ws_conn_send(&c, op, 0, pay, len, out, caps[ci], &n);
				if (caps[ci] < need) {
					CHECK_INT(rc, WS_E_BUFFER);
					CHECK_INT(n, need);
					continue;
				}
				CHECK_INT(rc, WS_OK);
				CHECK_INT(n, need);
				CHECK_INT(ws_frame_header_decode(&h, out, n, 0), (int)(need - len));
				CHECK(h.fin == 1 && h.rsv == 0 && h.opcode == op && h.len == len && h.masked == client);
				if (client)
					ws_mask(out + n - len, len, h.mask, 0);
				CHECK(!memcmp(out + n - len, pay, len));
				/* Nothing left open: the next message goes out too. */
				CHECK_INT(ws_conn_send(&c, WS_OP_BINARY, 0, pay, 3, out, 100, &n), WS_OK);
			}
		}
		/* No data at all, as a NULL pointer with length 0, on both paths
		 * (UBSan faults a NULL given to memcpy or offset). */
		for (size_t cap = 6; cap <= 100; cap += 94) {
			ws_config cfg;
			ws_conn c;
			size_t n = 0;
			config(&cfg, role);
			ws_conn_init(&c, sizeof c, &cfg);
			CHECK_INT(ws_conn_send(&c, WS_OP_TEXT, 0, NULL, 0, out, cap, &n), WS_OK);
			CHECK_INT(n, client ? 6 : 2);
			CHECK_INT(ws_conn_send(&c, WS_OP_PING, 0, NULL, 0, out, cap, &n), WS_OK);
			CHECK_INT(n, client ? 6 : 2);
		}
	}
	free(pay);
	free(out);
}

/* A frame writer on a connection that may call it (ev: a ping received,
 * or the error to fail with). */
static int frame_writer(int which, ws_conn *c, const ws_event *ping, void *out, size_t cap, size_t *n)
{
	static uint8_t pay[300];

	switch (which) {
	case 0: return ws_conn_send(c, WS_OP_TEXT, 0, pay, sizeof pay, out, cap, n);
	case 1: return ws_conn_send(c, WS_OP_PING, 0, pay, 5, out, cap, n);
	case 2: return ws_conn_send_header(c, WS_OP_BINARY, 0, 70000, out, cap, n);
	case 3: return ws_conn_close(c, 1000, "bye", 3, out, cap, n);
	case 4: return ws_conn_reply(c, ping, out, cap, n);
	default: return ws_conn_fail(c, out, cap, n);
	}
}

/* conn.h: a writer that fails writes nothing. For every cap from 0 to the
 * frame's length, guard bytes over the whole buffer survive WS_E_BUFFER,
 * and the same call with room then writes the frame a fresh connection
 * writes (the handshake writers have the same test in test_handshake.c). */
static void frame_writers_leave_out_untouched(void)
{
	enum { GUARD = 16 };
	static uint8_t ref[512], out[512 + GUARD];

	for (int role = 0; role < 2; role++)
		for (int which = 0; which < 6; which++) {
			size_t len = 0, n;
			int bad = 0;
			for (size_t cap = 0; cap <= len + 1 && !bad; cap++) {
				ws_config cfg;
				ws_conn c;
				ws_event ping, ev;
				uint8_t in[16];
				size_t used, touched = 0;
				int rc;
				config(&cfg, role);
				ws_conn_init(&c, sizeof c, &cfg);
				rng = 0;
				/* A ping from the peer, then (for ws_conn_fail) a frame the
				 * wrong way masked. */
				t_unhex(role ? "89 02 68 69" : "89 82 00 00 00 00 68 69", in, sizeof in);
				CHECK_INT(recv1(&c, in, role ? 4 : 8, &ping), WS_OK);
				if (which == 5)
					ws_conn_recv(&c, in, t_unhex(role ? "81 81 00 00 00 00 41" : "81 01 41", in,
					                             sizeof in), &used, &ev);
				if (cap == 0) {
					CHECK_INT(frame_writer(which, &c, &ping, ref, sizeof ref, &len), WS_OK);
					CHECK(len > 0 && len < sizeof ref);
					continue; /* the reference; each cap below starts afresh */
				}
				memset(out, 0xA5, len + GUARD);
				n = 12345;
				rc = frame_writer(which, &c, &ping, out, cap - 1, &n);
				for (size_t k = 0; k < len + GUARD; k++)
					touched += out[k] != 0xA5;
				if (cap - 1 < len && (rc != WS_E_BUFFER || n != len || touched)) {
					t_fail(__FILE__, __LINE__, "role %d writer %d, cap %zu of %zu: %s, %zu bytes written",
					       role, which, cap - 1, len, ws_status_name(rc), touched);
					bad = 1;
				}
				if (cap - 1 < len) /* no key drawn: the same one comes next */
					rc = frame_writer(which, &c, &ping, out, len, &n);
				if (rc != WS_OK || n != len || memcmp(out, ref, len) || out[len] != 0xA5) {
					t_fail(__FILE__, __LINE__, "role %d writer %d, cap %zu of %zu: then %s",
					       role, which, cap - 1, len, ws_status_name(rc));
					bad = 1;
				}
			}
		}
}

int main(int argc, char **argv)
{
	(void)argc;
	RUN(size_and_init);
	RUN(server_send_bytes);
	RUN(send_rules);
	RUN(client_to_server_round_trip);
	RUN(header_only);
	RUN(close_initiated_locally);
	RUN(close_initiated_by_peer);
	RUN(ping_reply);
	RUN(failure_is_sticky);
	RUN(eof);
	RUN(streaming_large);
	RUN(limits);
	RUN(dispatch);
	RUN(assembler);
	RUN(out_len_zero_on_rand_failure);
	RUN(out_len_zero_on_every_error);
	RUN(send_header_length_2e63_refused);
	RUN(assembler_refuses_rest_of_too_big_message);
	RUN(stickiness_as_documented);
	RUN(whole_message_path_boundaries);
	RUN(send_path_boundaries);
	RUN(frame_writers_leave_out_untouched);
	return t_done(argv[0]);
}
