/* The frame codec on its own: RFC 6455 §5.7 examples, header round trips at
 * every length class, masking at every phase/alignment, close codes. */
#include <stdlib.h>
#include <string.h>
#include "harness.h"

static void rfc_5_7_headers(void)
{
	static const struct {
		const char *hex;
		unsigned opcode, fin, masked;
		uint64_t len;
		int hlen;
	} v[] = {
		{"81 05 48 65 6c 6c 6f", WS_OP_TEXT, 1, 0, 5, 2},
		{"81 85 37 fa 21 3d 7f 9f 4d 51 58", WS_OP_TEXT, 1, 1, 5, 6},
		{"01 03 48 65 6c", WS_OP_TEXT, 0, 0, 3, 2},
		{"80 02 6c 6f", WS_OP_CONTINUATION, 1, 0, 2, 2},
		{"89 05 48 65 6c 6c 6f", WS_OP_PING, 1, 0, 5, 2},
		{"8a 85 37 fa 21 3d 7f 9f 4d 51 58", WS_OP_PONG, 1, 1, 5, 6},
		{"82 7E 01 00", WS_OP_BINARY, 1, 0, 256, 4},
		{"82 7F 00 00 00 00 00 01 00 00", WS_OP_BINARY, 1, 0, 65536, 10},
	};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		uint8_t b[32];
		ws_frame_header h;
		size_t n = t_unhex(v[i].hex, b, sizeof b);
		int rc = ws_frame_header_decode(&h, b, n, 0);
		CHECK_INT(rc, v[i].hlen);
		CHECK_INT(h.opcode, v[i].opcode);
		CHECK_INT(h.fin, v[i].fin);
		CHECK_INT(h.masked, v[i].masked);
		CHECK_INT(h.len, v[i].len);
		CHECK_INT(h.header_len, v[i].hlen);
		/* Every proper prefix of the header asks for more. */
		for (int k = 0; k < v[i].hlen; k++)
			CHECK_INT(ws_frame_header_decode(&h, b, (size_t)k, 0), 0);
		/* Re-encoding gives the same bytes. */
		uint8_t e[WS_FRAME_HEADER_MAX];
		size_t en = ws_frame_header_encode(e, v[i].fin ? WS_FIN : 0, v[i].opcode, v[i].len,
		                                   v[i].masked ? b + v[i].hlen - 4 : NULL);
		CHECK_INT(en, v[i].hlen);
		CHECK_MEM(e, b, en);
	}
	/* The masked "Hello" unmasks to Hello. */
	uint8_t b[16];
	t_unhex("37 fa 21 3d 7f 9f 4d 51 58", b, sizeof b);
	ws_mask(b + 4, 5, b, 0);
	CHECK_MEM(b + 4, "Hello", 5);
}

static void round_trip_lengths(void)
{
	static const uint64_t lens[] = {0, 1, 125, 126, 127, 65535, 65536, 1ull << 32,
	                                (1ull << 63) - 1};
	static const int sizes[] = {2, 2, 2, 4, 4, 4, 10, 10, 10};
	static const uint8_t key[4] = {1, 2, 3, 4};
	for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++)
		for (int masked = 0; masked < 2; masked++)
			for (unsigned op = 0; op < 16; op++) {
				uint8_t e[WS_FRAME_HEADER_MAX + 1];
				ws_frame_header h;
				int known = (0x0707 >> op) & 1;
				if (op & 8 && lens[i] > 125)
					continue;
				e[WS_FRAME_HEADER_MAX] = 0x5a;
				size_t n = ws_frame_header_encode(e, WS_FIN | WS_RSV2, op, lens[i], masked ? key : NULL);
				CHECK_INT(n, sizes[i] + 4 * masked);
				CHECK_INT(e[WS_FRAME_HEADER_MAX], 0x5a);
				int rc = ws_frame_header_decode(&h, e, n, 0);
				if (!known) {
					CHECK_INT(rc, WS_E_OPCODE);
					continue;
				}
				CHECK_INT(rc, (int)n);
				CHECK_INT(h.len, lens[i]);
				CHECK_INT(h.opcode, op);
				CHECK_INT(h.fin, 1);
				CHECK_INT(h.rsv, WS_RSV2);
				CHECK_INT(h.masked, masked);
				if (masked)
					CHECK_MEM(h.mask, key, 4);
			}
}

static void decode_errors(void)
{
	static const struct {
		const char *hex;
		int rc;
	} v[] = {
		{"83 00", WS_E_OPCODE},
		{"87 00", WS_E_OPCODE},
		{"8b 00", WS_E_OPCODE},
		{"8f 00", WS_E_OPCODE},
		{"09 00", WS_E_CONTROL_FRAGMENTED},
		{"89 7e", WS_E_CONTROL_TOO_LONG},
		{"88 7f", WS_E_CONTROL_TOO_LONG},
		{"82 7e 00 7d", WS_E_LENGTH_NOT_MINIMAL},
		{"82 7f 00 00 00 00 00 00 ff ff", WS_E_LENGTH_NOT_MINIMAL},
		{"82 7f 80 00 00 00 00 00 00 00", WS_E_LENGTH_TOP_BIT},
		{"82 7f ff ff ff ff ff ff ff ff", WS_E_LENGTH_TOP_BIT},
	};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		uint8_t b[16];
		ws_frame_header h;
		size_t n = t_unhex(v[i].hex, b, sizeof b);
		CHECK_INT(ws_frame_header_decode(&h, b, n, 0), v[i].rc);
		CHECK_INT(ws_status_close_code(v[i].rc), 1002);
	}
	/* Lenient decoding takes non-minimal lengths, never the top bit. */
	uint8_t b[16];
	ws_frame_header h;
	size_t n = t_unhex("82 7e 00 7d", b, sizeof b);
	CHECK_INT(ws_frame_header_decode(&h, b, n, WS_DECODE_LENIENT_LENGTH), 4);
	CHECK_INT(h.len, 125);
	n = t_unhex("82 7f 00 00 00 00 00 00 00 01", b, sizeof b);
	CHECK_INT(ws_frame_header_decode(&h, b, n, WS_DECODE_LENIENT_LENGTH), 10);
	CHECK_INT(h.len, 1);
	n = t_unhex("82 7f 80 00 00 00 00 00 00 00", b, sizeof b);
	CHECK_INT(ws_frame_header_decode(&h, b, n, WS_DECODE_LENIENT_LENGTH), WS_E_LENGTH_TOP_BIT);
}

/* ws_mask against a byte loop at every length, alignment and phase. */
static void mask_every_phase(void)
{
	enum { MAX = 300 };
	uint8_t src[MAX + 64], a[MAX + 64], b[MAX + 64];
	static const uint8_t key[4] = {0x9d, 0x11, 0xf0, 0x42};

	for (size_t i = 0; i < sizeof src; i++)
		src[i] = (uint8_t)(i * 31 + 7);
	for (size_t len = 0; len <= MAX; len += (len < 80 ? 1 : 37))
		for (size_t align = 0; align < 16; align++)
			for (uint64_t phase = 0; phase < 8; phase++) {
				memcpy(a, src, sizeof a);
				memcpy(b, src, sizeof b);
				ws_mask(a + align, len, key, phase);
				for (size_t i = 0; i < len; i++)
					b[align + i] ^= key[(phase + i) & 3];
				CHECK(memcmp(a, b, sizeof a) == 0);
				memset(a, 0, sizeof a);
				ws_mask_copy(a + align, src, len, key, phase);
				for (size_t i = 0; i < len; i++)
					if (a[align + i] != (src[i] ^ key[(phase + i) & 3])) {
						CHECK(!"ws_mask_copy differs from the byte loop");
						break;
					}
				CHECK(align == 0 || a[align - 1] == 0);
				CHECK(a[align + len] == 0);
			}
	/* Masking in pieces with offsets equals masking at once. */
	memcpy(a, src, MAX);
	memcpy(b, src, MAX);
	ws_mask(a, MAX, key, 0);
	for (size_t off = 0, step = 1; off < MAX; off += step, step = step * 2 % 13 + 1) {
		size_t n = off + step > MAX ? MAX - off : step;
		ws_mask(b + off, n, key, off);
	}
	CHECK_MEM(a, b, MAX);
}

static void close_codes(void)
{
	int n = 0;
	for (unsigned code = 0; code < 70000; code++) {
		int want = (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
		           (code >= 3000 && code <= 4999);
		CHECK_INT(ws_close_code_valid(code), want);
		n += want;
	}
	CHECK_INT(n, 4 + 8 + 2000);
}

static void status_table(void)
{
	CHECK_STR(ws_status_name(WS_E_UTF8), "E_UTF8");
	CHECK_INT(ws_status_close_code(WS_E_UTF8), 1007);
	CHECK_INT(ws_status_close_code(WS_E_MESSAGE_TOO_BIG), 1009);
	CHECK_INT(ws_status_close_code(WS_E_RSV), 1002);
	CHECK_INT(ws_status_close_code(WS_OK), 0);
	CHECK_INT(ws_status_http(WS_E_HTTP_WS_VERSION), 426);
	CHECK_INT(ws_status_http(WS_E_HTTP_HEAD_TOO_BIG), 431);
	CHECK_STR(ws_status_name(12345), "UNKNOWN");
	CHECK_STR(ws_status_str(12345), "unknown status");
	/* Every error a peer can cause has a close code or an HTTP status, and
	 * every description fits in a close reason. */
#define ROW(name, value, close, http, text) \
	CHECK(value == 0 || value > -100 || close || http || value <= -210); \
	CHECK(strlen(text) <= 123);
	WS_STATUS_TABLE(ROW)
#undef ROW
	CHECK_STR(ws_version(), WS_VERSION_STRING);
}

int main(int argc, char **argv)
{
	(void)argc;
	RUN(rfc_5_7_headers);
	RUN(round_trip_lengths);
	RUN(decode_errors);
	RUN(mask_every_phase);
	RUN(close_codes);
	RUN(status_table);
	return t_done(argv[0]);
}
