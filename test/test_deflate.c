/* permessage-deflate: the RFC 7692 §7.2.3 examples, round trips at many sizes
 * and every window size, context takeover on and off, a decompression bomb,
 * negotiation, memory per mode, and the rules on RSV1. */
#include <stdlib.h>
#include <string.h>
#include "harness.h"
#if WS_DEFLATE
#include <zlib.h>

/* An allocator that counts: bytes outstanding, the peak, and calls. */
typedef struct counting {
	size_t now, peak, calls;
	int fail_after; /* >0: the n-th allocation fails */
} counting;

static void *c_alloc(void *ctx, size_t n)
{
	counting *a = ctx;
	size_t *p;

	if (a->fail_after && ++a->calls >= (size_t)a->fail_after)
		return NULL;
	p = malloc(n + sizeof(size_t) * 2);
	if (!p)
		return NULL;
	p[0] = n;
	a->now += n;
	if (a->now > a->peak)
		a->peak = a->now;
	return p + 2;
}

static void c_free(void *ctx, void *ptr)
{
	counting *a = ctx;
	size_t *p = ptr;

	if (!p)
		return;
	a->now -= p[-2];
	free(p - 2);
}

static uint8_t inflate_buf[1 << 16];
static uint32_t rng;

static void dconfig(ws_deflate_config *d, counting *a, size_t cap)
{
	ws_deflate_config_init(d);
	d->alloc.alloc = c_alloc;
	d->alloc.free = c_free;
	d->alloc.ctx = a;
	d->inflate_buf = inflate_buf;
	d->inflate_cap = cap;
}

static void config(ws_config *cfg, int role, const ws_deflate_config *d)
{
	ws_config_init(cfg, role);
	cfg->flags = WS_CFG_START_OPEN;
	cfg->rand = t_rand;
	cfg->rand_ctx = &rng;
	cfg->deflate = d;
}

static const ws_deflate_params takeover = {0, 0, 15, 15};

/* Turns deflate on for every connection the feeder makes. */
static ws_deflate_params feed_params;
static void on_connect(ws_conn *c)
{
	CHECK_INT(ws_conn_enable_deflate(c, &feed_params), WS_OK);
}

static char *feed_compressed(const ws_config *cfg, const ws_deflate_params *p, const char *hex,
                             const char *want)
{
	static uint8_t in[4096];
	size_t n = t_unhex(hex, in, sizeof in);
	t_feed_opts o = {0};

	feed_params = *p;
	o.setup = on_connect;
	return t_feed_all(cfg, &o, in, n, want, 200);
}

/* RFC 7692 §7.2.3: "Hello" in each of the ways the RFC shows, received by a client. */
static void rfc_7692_examples(void)
{
	counting a = {0};
	ws_deflate_config d;
	ws_config cfg;

	dconfig(&d, &a, 1024);
	config(&cfg, WS_ROLE_CLIENT, &d);
	/* §7.2.3.1: one frame, and the same fragmented. */
	free(feed_compressed(&cfg, &takeover, "c1 07 f2 48 cd c9 c9 07 00", "text \"Hello\" compressed\n"));
	free(feed_compressed(&cfg, &takeover, "41 03 f2 48 cd 80 04 c9 c9 07 00",
	                     "text \"Hello\" compressed\n"));
	/* §7.2.3.2: the second message refers back into the first. */
	free(feed_compressed(&cfg, &takeover, "c1 07 f2 48 cd c9 c9 07 00 c1 05 f2 00 11 00 00",
	                     "text \"Hello\" compressed\ntext \"Hello\" compressed\n"));
	/* §7.2.3.3: a stored (uncompressed) DEFLATE block. */
	free(feed_compressed(&cfg, &takeover, "c1 0b 00 05 00 fa ff 48 65 6c 6c 6f 00",
	                     "text \"Hello\" compressed\n"));
	/* §7.2.3.4: a block with BFINAL set, then an empty one. */
	free(feed_compressed(&cfg, &takeover, "c1 08 f3 48 cd c9 c9 07 00 00",
	                     "text \"Hello\" compressed\n"));
	/* A message that ends on its final block, then one using the same history. */
	free(feed_compressed(&cfg, &takeover, "c1 07 f3 48 cd c9 c9 07 00 c2 05 f2 00 11 00 00",
	                     "text \"Hello\" compressed\nbinary 48656c6c6f compressed\n"));
	/* §7.2.3.5: two DEFLATE blocks in one message. */
	free(feed_compressed(&cfg, &takeover, "c1 0d f2 48 05 00 00 00 ff ff ca c9 c9 07 00",
	                     "text \"Hello\" compressed\n"));
	/* §7.2.3.6: an empty message. */
	free(feed_compressed(&cfg, &takeover, "c1 01 00", "text \"\" compressed\n"));
	/* Uncompressed messages still flow. */
	free(feed_compressed(&cfg, &takeover, "81 02 68 69 c1 07 f2 48 cd c9 c9 07 00",
	                     "text \"hi\"\ntext \"Hello\" compressed\n"));
	CHECK_INT(a.now, 0);
}

/* RFC 7692 §6.1: RSV1 only on a message's first frame, and only when agreed;
 * corrupt data is 1007; inflated text is UTF-8-checked, fail-fast. */
static void receive_errors(void)
{
	counting a = {0};
	ws_deflate_config d;
	ws_config cfg;

	dconfig(&d, &a, 1024);
	config(&cfg, WS_ROLE_CLIENT, &d);
	char *log = feed_compressed(&cfg, &takeover, "41 03 f2 48 cd c0 04 c9 c9 07 00", NULL);
	CHECK(strstr(log, "error E_RSV\n") != NULL); /* RSV1 on a continuation */
	free(log);
	log = feed_compressed(&cfg, &takeover, "c9 00", NULL);
	CHECK(strstr(log, "error E_RSV\n") != NULL);
	free(log);
	log = feed_compressed(&cfg, &takeover, "c1 03 ff ff ff", NULL);
	CHECK(strstr(log, "error E_INFLATE\n") != NULL);
	free(log);
	CHECK_INT(ws_status_close_code(WS_E_INFLATE), 1007);
	/* Without agreement, RSV1 is a protocol error. */
	ws_config plain;
	config(&plain, WS_ROLE_CLIENT, NULL);
	log = t_feed_all(&plain, NULL, "\xc1\x01\x00", 3, NULL, 0);
	CHECK(strstr(log, "error E_RSV\n") != NULL);
	free(log);
	/* Text with a surrogate (ED A0 80), compressed. */
	uint8_t text[] = "ab\xce\xba\xed\xa0\x80zz";
	uint8_t frame[64], z[64];
	z_stream s = {0};
	deflateInit2(&s, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
	s.next_in = text;
	s.avail_in = sizeof text - 1;
	s.next_out = z;
	s.avail_out = sizeof z;
	deflate(&s, Z_SYNC_FLUSH);
	size_t zn = sizeof z - s.avail_out - 4;
	deflateEnd(&s);
	frame[0] = 0xc1;
	frame[1] = (uint8_t)zn;
	memcpy(frame + 2, z, zn);
	feed_params = takeover;
	t_feed_opts o = {0};
	o.setup = on_connect;
	log = t_feed_all(&cfg, &o, frame, zn + 2, NULL, 100);
	/* ED is a lead byte; A0 cannot follow it (no surrogates): fail there. */
	CHECK(strstr(log, "partial text \"ab\\xce\\xba\\xed\"\nerror E_UTF8\nfail-> 88") == log);
	free(log);
	CHECK_INT(a.now, 0);
}

/* Sends messages from one connection to the other and checks that every
 * message arrives whole and equal; returns bytes on the wire. */
static size_t pump(ws_conn *from, ws_conn *to, const uint8_t *msg, size_t len, size_t frag,
                   unsigned extra_flags, int expect_compressed)
{
	size_t cap = WS_SEND_SIZE_COMPRESSED(len) + 64 * (len / (frag ? frag : 1) + 1);
	uint8_t *wire = malloc(cap), *got = malloc(len + 1);
	size_t wn = 0, gn = 0, off = 0, n;
	int begins = 0, ends = 0, compressed = 0;

	do {
		size_t piece = frag && len - off > frag ? frag : len - off;
		unsigned op = off == 0 ? WS_OP_BINARY : WS_OP_CONTINUATION;
		unsigned flags = (off + piece < len ? WS_SEND_MORE : 0) | (off == 0 ? extra_flags : 0);
		int rc = ws_conn_send(from, op, flags, msg + off, piece, wire + wn, cap - wn, &n);
		CHECK_INT(rc, WS_OK);
		if (rc)
			break;
		wn += n;
		off += piece;
	} while (off < len);
	for (size_t pos = 0;;) { /* until no event: the read loop of conn.h */
		ws_event ev;
		size_t used;
		int rc = ws_conn_recv(to, wire + pos, wn - pos, &used, &ev);
		CHECK_INT(rc, WS_OK);
		if (rc)
			break;
		pos += used;
		if (ev.type == WS_EV_NONE) {
			CHECK_INT(pos, wn);
			break;
		}
		CHECK_INT(ev.type, WS_EV_BINARY);
		begins += !!(ev.flags & WS_EVF_MSG_BEGIN);
		ends += !!(ev.flags & WS_EVF_MSG_END);
		compressed |= !!(ev.flags & WS_EVF_COMPRESSED);
		if (gn + ev.len > len) {
			CHECK(!"too much data");
			break;
		}
		memcpy(got + gn, ev.data, ev.len);
		gn += ev.len;
	}
	CHECK_INT(begins, 1);
	CHECK_INT(ends, 1);
	CHECK_INT(gn, len);
	CHECK(memcmp(got, msg, len) == 0);
	CHECK_INT(compressed, expect_compressed);
	free(wire);
	free(got);
	return wn;
}

/* Text-like data that compresses (JSON-ish records) and random bytes. */
static void fill_json(uint8_t *p, size_t n, unsigned seed)
{
	static const char *words[] = {"{\"id\":", "\"name\":\"", "alice", "bob", "\",\"score\":",
	                              "}", ",", "\"tags\":[\"x\",\"y\"]", "12345", "true"};
	size_t i = 0;
	while (i < n) {
		const char *w = words[(seed = seed * 1103515245 + 12345) >> 16 & 7 ? (seed >> 20) % 10 : 0];
		for (; *w && i < n; w++)
			p[i++] = (uint8_t)*w;
	}
}

static void fill_random(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)((seed = seed * 1103515245 + 12345) >> 16);
}

/* Both directions, every window size 9-15, takeover on and off, many sizes,
 * whole and fragmented, with an inflate buffer much smaller than messages. */
static void round_trips(void)
{
	static const size_t sizes[] = {0, 1, 63, 64, 200, 1000, 4096, 65536, 300000};
	enum { MAX = 300000 };
	uint8_t *msg = malloc(MAX);
	counting a = {0};
	ws_deflate_config d;
	ws_config ccfg, scfg;

	dconfig(&d, &a, 1024);
	d.threshold = 0;
	config(&ccfg, WS_ROLE_CLIENT, &d);
	config(&scfg, WS_ROLE_SERVER, &d);
	for (int bits = 9; bits <= 15; bits++)
		for (int reset = 0; reset < 2; reset++) {
			ws_deflate_params p = {(uint8_t)reset, (uint8_t)reset, (uint8_t)bits, (uint8_t)bits};
			ws_conn cl, sv;
			size_t json_wire = 0, json_len = 0;
			CHECK_INT(ws_conn_init(&cl, sizeof cl, &ccfg), WS_OK);
			CHECK_INT(ws_conn_init(&sv, sizeof sv, &scfg), WS_OK);
			CHECK_INT(ws_conn_enable_deflate(&cl, &p), WS_OK);
			CHECK_INT(ws_conn_enable_deflate(&sv, &p), WS_OK);
			for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
				if (bits != 15 && bits != 9 && sizes[i] > 65536)
					continue; /* keep it quick: big ones at the extremes */
				fill_json(msg, sizes[i], (unsigned)(i + 1));
				json_wire += pump(&cl, &sv, msg, sizes[i], 0, 0, 1);
				json_len += sizes[i];
				json_wire += pump(&sv, &cl, msg, sizes[i], 0, 0, 1);
				json_len += sizes[i];
				pump(&cl, &sv, msg, sizes[i], 777, 0, 1);
				pump(&sv, &cl, msg, sizes[i], 100, 0, 1);
				fill_random(msg, sizes[i], (unsigned)i);
				pump(&cl, &sv, msg, sizes[i], 0, 0, 1);
				pump(&sv, &cl, msg, sizes[i], 0, WS_SEND_NO_COMPRESS, 0);
			}
			CHECK(json_wire * 3 < json_len); /* it did compress */
			ws_conn_release(&cl);
			ws_conn_release(&sv);
			ws_conn_release(&sv); /* twice is harmless */
			CHECK_INT(a.now, 0);
		}
	free(msg);
}

/* Messages under the threshold go plain; a peer that limits us to 8 bits gets
 * plain messages (zlib cannot compress with a 256-byte window). */
static void threshold_and_window_8(void)
{
	counting a = {0};
	ws_deflate_config d;
	ws_config ccfg, scfg;
	ws_conn cl, sv;
	uint8_t msg[100];
	ws_deflate_params p8 = {0, 0, 15, 8};

	fill_json(msg, sizeof msg, 1);
	dconfig(&d, &a, 1024);
	d.threshold = 50;
	config(&ccfg, WS_ROLE_CLIENT, &d);
	config(&scfg, WS_ROLE_SERVER, &d);
	ws_conn_init(&cl, sizeof cl, &ccfg);
	ws_conn_init(&sv, sizeof sv, &scfg);
	ws_conn_enable_deflate(&cl, &p8);
	ws_conn_enable_deflate(&sv, &p8);
	pump(&sv, &cl, msg, 49, 0, 0, 0);
	pump(&sv, &cl, msg, 50, 0, 0, 1);
	pump(&cl, &sv, msg, 100, 0, 0, 0); /* the client's window is 8 bits */
	CHECK_INT(ws_conn_enable_deflate(&cl, &p8), WS_E_STATE);
	ws_conn_release(&cl);
	ws_conn_release(&sv);
	CHECK_INT(a.now, 0);
}

/* A decompression bomb: 1 GiB of zeros compresses to about 1 MiB; inflation
 * stops right after the 16 MiB message limit, with 1009, in bounded memory. */
static void bomb(void)
{
	enum { CHUNK = 1 << 20 };
	counting a = {0};
	ws_deflate_config d;
	ws_config cfg;
	ws_conn c;
	uint8_t *zeros = calloc(1, CHUNK), *z = malloc(2 * CHUNK), *frame = malloc(2 * CHUNK + 16);
	z_stream s = {0};
	size_t zn, used, pos, delivered = 0;
	ws_event ev;
	int rc = WS_OK, calls = 0;

	deflateInit2(&s, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
	s.next_out = z;
	s.avail_out = 2 * CHUNK;
	for (int i = 0; i < 1024; i++) {
		s.next_in = zeros;
		s.avail_in = CHUNK;
		deflate(&s, i == 1023 ? Z_SYNC_FLUSH : Z_NO_FLUSH);
	}
	zn = 2 * CHUNK - s.avail_out - 4;
	deflateEnd(&s);
	CHECK(zn < 2 * 1024 * 1024);
	dconfig(&d, &a, sizeof inflate_buf);
	config(&cfg, WS_ROLE_CLIENT, &d);
	ws_conn_init(&c, sizeof c, &cfg);
	ws_conn_enable_deflate(&c, &takeover);
	pos = ws_frame_header_encode(frame, WS_FIN | WS_RSV1, WS_OP_BINARY, zn, NULL);
	memcpy(frame + pos, z, zn);
	zn += pos;
	pos = 0;
	for (;;) {
		rc = ws_conn_recv(&c, frame + pos, zn - pos, &used, &ev);
		pos += used;
		calls++;
		if (rc != WS_OK || ev.type == WS_EV_NONE)
			break;
		delivered += ev.len;
	}
	CHECK_INT(rc, WS_E_MESSAGE_TOO_BIG);
	CHECK_INT(ws_status_close_code(rc), 1009);
	CHECK(delivered <= WS_DEFAULT_MAX_MESSAGE);
	CHECK(delivered > WS_DEFAULT_MAX_MESSAGE - sizeof inflate_buf);
	CHECK(pos < zn / 16); /* it stopped long before the end of the input */
	CHECK(a.peak < 64 * 1024); /* the inflater: 32 KiB window + state */
	ws_conn_release(&c);
	CHECK_INT(a.now, 0);
	free(zeros);
	free(z);
	free(frame);
}

/* Bytes held per connection in each mode, from the counting allocator. */
static void memory_per_mode(void)
{
	counting a = {0};
	ws_deflate_config d;
	ws_config ccfg, scfg;
	ws_conn cl, sv;
	uint8_t msg[4096];
	ws_deflate_shared *shared;

	fill_json(msg, sizeof msg, 7);
	dconfig(&d, &a, 1024);
	d.threshold = 0;
	config(&ccfg, WS_ROLE_CLIENT, &d);
	config(&scfg, WS_ROLE_SERVER, &d);

	/* Context takeover both ways: both zlib states stay. */
	ws_conn_init(&cl, sizeof cl, &ccfg);
	ws_conn_init(&sv, sizeof sv, &scfg);
	ws_conn_enable_deflate(&cl, &takeover);
	ws_conn_enable_deflate(&sv, &takeover);
	size_t base = a.now;
	CHECK(base / 2 < 512);
	pump(&cl, &sv, msg, sizeof msg, 0, 0, 1);
	pump(&sv, &cl, msg, sizeof msg, 0, 0, 1);
	size_t full = a.now / 2;
	printf("    takeover, 15 bits, memLevel 8: %zu bytes per connection\n", full);
	CHECK(full > 200000 && full < 400000);
	ws_conn_release(&cl);
	ws_conn_release(&sv);

	/* No context takeover, a shared compressor, 9 bits: nothing held between messages. */
	ws_deflate_params none = {1, 1, 9, 9};
	d.server_max_window_bits = d.client_max_window_bits = 9;
	d.mem_level = 1;
	CHECK_INT(ws_deflate_shared_new(&d, &shared), WS_OK);
	d.shared = shared;
	size_t shared_bytes = a.now;
	printf("    shared compressor (9 bits, memLevel 1): %zu bytes per thread\n", shared_bytes);
	ws_conn_init(&cl, sizeof cl, &ccfg);
	ws_conn_init(&sv, sizeof sv, &scfg);
	ws_conn_enable_deflate(&cl, &none);
	ws_conn_enable_deflate(&sv, &none);
	for (int i = 0; i < 3; i++) {
		pump(&cl, &sv, msg, sizeof msg, 0, 0, 1);
		pump(&sv, &cl, msg, sizeof msg, 0, 0, 1);
	}
	size_t idle = (a.now - shared_bytes) / 2;
	printf("    no context takeover, shared compressor: %zu bytes per idle connection (+64 ws_conn)\n",
	       idle);
	CHECK(idle < 512);
	/* A fragmented message uses a compressor of the connection's own, freed
	 * at the message's end. */
	pump(&sv, &cl, msg, sizeof msg, 1000, 0, 1);
	CHECK_INT((a.now - shared_bytes) / 2, idle);
	CHECK(a.peak > shared_bytes + 8000);
	ws_conn_release(&cl);
	ws_conn_release(&sv);
	ws_deflate_shared_free(shared);
	CHECK_INT(a.now, 0);
}

/* Allocation failures: receiving fails with 1011; sending falls back to plain. */
static void allocation_failure(void)
{
	counting a = {0};
	ws_deflate_config d;
	ws_config ccfg;
	ws_conn cl;
	uint8_t in[] = {0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}, out[256];
	size_t used, n;
	ws_event ev;

	dconfig(&d, &a, 1024);
	d.threshold = 0;
	config(&ccfg, WS_ROLE_CLIENT, &d);
	ws_conn_init(&cl, sizeof cl, &ccfg);
	a.fail_after = 1;
	CHECK_INT(ws_conn_enable_deflate(&cl, &takeover), WS_E_ALLOC);
	a.fail_after = 2;
	a.calls = 0;
	CHECK_INT(ws_conn_enable_deflate(&cl, &takeover), WS_OK);
	CHECK_INT(ws_conn_send(&cl, WS_OP_TEXT, 0, "hello", 5, out, sizeof out, &n), WS_OK);
	CHECK_INT(out[0], 0x81); /* plain: no RSV1 */
	CHECK_INT(ws_conn_recv(&cl, in, sizeof in, &used, &ev), WS_E_ALLOC);
	CHECK_INT(ws_status_close_code(WS_E_ALLOC), 1011);
	ws_conn_release(&cl);
	CHECK_INT(a.now, 0);
	/* Bad configs are refused at init. */
	ws_deflate_config bad = d;
	bad.inflate_cap = 100;
	config(&ccfg, WS_ROLE_CLIENT, &bad);
	CHECK_INT(ws_conn_init(&cl, sizeof cl, &ccfg), WS_E_ARG);
	bad = d;
	bad.alloc.alloc = NULL;
	CHECK_INT(ws_conn_init(&cl, sizeof cl, &ccfg), WS_E_ARG);
}

/* Compressed sends: RSV1 on the first frame only; a compressed fragmented
 * message cannot take a header-only fragment. */
static void send_rules(void)
{
	counting a = {0};
	ws_deflate_config d;
	ws_config scfg;
	ws_conn sv;
	uint8_t out[1024];
	size_t n;

	dconfig(&d, &a, 1024);
	d.threshold = 0;
	config(&scfg, WS_ROLE_SERVER, &d);
	ws_conn_init(&sv, sizeof sv, &scfg);
	ws_conn_enable_deflate(&sv, &takeover);
	CHECK_INT(ws_conn_send(&sv, WS_OP_TEXT, 0, "Hello", 5, out, sizeof out, &n), WS_OK);
	uint8_t want[] = {0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00};
	CHECK_INT(n, sizeof want);
	CHECK_MEM(out, want, sizeof want); /* exactly RFC 7692 §7.2.3.1 */
	CHECK_INT(ws_conn_send(&sv, WS_OP_TEXT, 0, "Hello", 5, out, sizeof out, &n), WS_OK);
	uint8_t want2[] = {0xc1, 0x05, 0xf2, 0x00, 0x11, 0x00, 0x00};
	CHECK_INT(n, sizeof want2);
	CHECK_MEM(out, want2, sizeof want2); /* §7.2.3.2: takeover */
	CHECK_INT(ws_conn_send(&sv, WS_OP_TEXT, WS_SEND_MORE, "Hel", 3, out, sizeof out, &n), WS_OK);
	CHECK_INT(out[0], 0x41);
	CHECK_INT(ws_conn_send_header(&sv, WS_OP_CONTINUATION, 0, 2, out, sizeof out, &n), WS_E_STATE);
	CHECK_INT(ws_conn_send(&sv, WS_OP_CONTINUATION, 0, "lo", 2, out, 3, &n), WS_E_BUFFER);
	CHECK(n > 3);
	CHECK_INT(ws_conn_send(&sv, WS_OP_CONTINUATION, 0, "lo", 2, out, sizeof out, &n), WS_OK);
	CHECK_INT(out[0], 0x80);
	/* Empty compressed message: the single 0x00 of §7.2.3.6. */
	CHECK_INT(ws_conn_send(&sv, WS_OP_BINARY, 0, "", 0, out, sizeof out, &n), WS_OK);
	CHECK_INT(n, 3);
	CHECK_INT(out[0], 0xc2);
	CHECK_INT(out[2], 0x00);
	ws_conn_release(&sv);
	CHECK_INT(a.now, 0);
}

/* RFC 7692 §7.1: offers, responses, declines. */
static void negotiation(void)
{
	ws_deflate_config d;
	ws_deflate_params p;
	char buf[160];
	struct {
		const char *offer;
		int ok;
		const char *response;
	} server[] = {
		{"permessage-deflate", 1, "permessage-deflate"},
		{"permessage-deflate; client_max_window_bits", 1, "permessage-deflate"},
		{"permessage-deflate; client_max_window_bits=10", 1,
		 "permessage-deflate; client_max_window_bits=10"},
		{"permessage-deflate;server_max_window_bits=12;client_no_context_takeover", 1,
		 "permessage-deflate; client_no_context_takeover; server_max_window_bits=12"},
		{"permessage-deflate; server_no_context_takeover", 1,
		 "permessage-deflate; server_no_context_takeover"},
		{"permessage-deflate; server_max_window_bits=\"10\"", 1,
		 "permessage-deflate; server_max_window_bits=10"},
		{"x-webkit-deflate-frame, permessage-deflate; server_max_window_bits=8", 1,
		 "permessage-deflate; server_max_window_bits=8"},
		{"permessage-deflate; server_max_window_bits=16, permessage-deflate", 1,
		 "permessage-deflate"},
		{"permessage-deflate; foo", 0, NULL},
		{"permessage-deflate; server_no_context_takeover; server_no_context_takeover", 0, NULL},
		{"permessage-deflate; server_max_window_bits", 0, NULL},
		{"permessage-deflate; server_max_window_bits=010", 0, NULL},
		{"permessage-deflate; client_max_window_bits=7", 0, NULL},
		{"permessage-deflate; server_no_context_takeover=1", 0, NULL},
		{"x-other", 0, NULL},
		{"", 0, NULL},
		{"permessage-deflate; ;", 0, NULL},
	};

	ws_deflate_config_init(&d);
	for (size_t i = 0; i < sizeof server / sizeof server[0]; i++) {
		ws_str s = {server[i].offer, strlen(server[i].offer)};
		int ok = ws_deflate_negotiate(&d, s, &p);
		CHECK_INT(ok, server[i].ok);
		if (ok && server[i].ok) {
			CHECK(ws_deflate_format(&d, &p, buf, sizeof buf) > 0);
			CHECK_STR(buf, server[i].response);
		}
	}
	/* A server that insists on resetting and on small client windows. */
	d.server_no_context_takeover = 1;
	d.client_max_window_bits = 10;
	ws_str s1 = {"permessage-deflate; client_max_window_bits", 42};
	CHECK_INT(ws_deflate_negotiate(&d, s1, &p), 1);
	ws_deflate_format(&d, &p, buf, sizeof buf);
	CHECK_STR(buf, "permessage-deflate; server_no_context_takeover; client_max_window_bits=10");
	CHECK_INT(ws_deflate_format(&d, &p, buf, 10), 0);

	/* Client offers and the checks of responses. */
	ws_deflate_config_init(&d);
	ws_deflate_format(&d, NULL, buf, sizeof buf);
	CHECK_STR(buf, "permessage-deflate; client_max_window_bits");
	d.client_no_context_takeover = 1;
	d.server_max_window_bits = 10;
	d.client_max_window_bits = 8;
	ws_deflate_format(&d, NULL, buf, sizeof buf);
	CHECK_STR(buf, "permessage-deflate; client_no_context_takeover; server_max_window_bits=10; "
	               "client_max_window_bits=9");
	struct {
		const char *response;
		int ok;
		ws_deflate_params p;
	} client[] = {
		{"permessage-deflate; server_max_window_bits=10", 1, {0, 1, 10, 9}},
		{"permessage-deflate; server_max_window_bits=9; client_max_window_bits=9", 1, {0, 1, 9, 9}},
		{"permessage-deflate; server_no_context_takeover; server_max_window_bits=10", 1, {1, 1, 10, 9}},
		{"permessage-deflate", 0, {0}},                                         /* window not granted */
		{"permessage-deflate; server_max_window_bits=11", 0, {0}},              /* larger than asked */
		{"permessage-deflate; server_max_window_bits=10; client_max_window_bits", 0, {0}},
		{"permessage-deflate; server_max_window_bits=10; client_max_window_bits=12", 0, {0}},
		{"permessage-deflate; server_max_window_bits=10, permessage-deflate", 0, {0}},
		{"x-other", 0, {0}},
		{"permessage-deflate; server_max_window_bits=10; bogus", 0, {0}},
	};
	for (size_t i = 0; i < sizeof client / sizeof client[0]; i++) {
		ws_str s = {client[i].response, strlen(client[i].response)};
		memset(&p, 0xee, sizeof p);
		int ok = ws_deflate_check_response(&d, s, &p);
		CHECK_INT(ok, client[i].ok);
		if (ok && client[i].ok)
			CHECK_MEM(&p, &client[i].p, sizeof p);
	}
	/* The longest values: every flag, two-digit windows; they fit the macro. */
	ws_deflate_config_init(&d);
	d.server_no_context_takeover = d.client_no_context_takeover = 1;
	d.server_max_window_bits = d.client_max_window_bits = 10;
	char big[WS_DEFLATE_FORMAT_MAX];
	static const char longest[] = "permessage-deflate; server_no_context_takeover; "
	                              "client_no_context_takeover; server_max_window_bits=10; "
	                              "client_max_window_bits=10";
	CHECK_INT(ws_deflate_format(&d, NULL, big, sizeof big), sizeof longest - 1);
	CHECK_STR(big, longest);
	ws_str lo = {longest, sizeof longest - 1};
	CHECK_INT(ws_deflate_negotiate(&d, lo, &p), 1);
	CHECK_INT(ws_deflate_format(&d, &p, big, sizeof big), sizeof longest - 1);
	CHECK_STR(big, longest);
	CHECK_INT(ws_deflate_format(&d, &p, big, sizeof longest - 1), 0); /* no room for the NUL */

	ws_deflate_config_init(&d);
	d.server_no_context_takeover = 1;
	ws_str s2 = {"permessage-deflate", 18};
	CHECK_INT(ws_deflate_check_response(&d, s2, &p), 0); /* asked to reset, not granted */
}


/* Moves everything ws_conn_recv() can take from a buffer; returns the events' types. */
static void drain(ws_conn *c, uint8_t *buf, size_t len, int *types, int max)
{
	size_t off = 0, used;
	ws_event ev;
	int k = 0;

	do {
		CHECK_INT(ws_conn_recv(c, buf + off, len - off, &used, &ev), WS_OK);
		off += used;
		if (k < max)
			types[k++] = ev.type;
		if (ev.type == WS_EV_REQUEST) {
			uint8_t out[1024];
			size_t n;
			CHECK_INT(ws_conn_accept(c, NULL, out, sizeof out, &n), WS_OK);
			memcpy(buf, out, n); /* hand the answer back through buf */
			types[k - 1] = -(int)n;
			return;
		}
	} while (ev.type != WS_EV_NONE);
	CHECK_INT(off, len);
}

/* Both handshakes agree permessage-deflate, then messages compress both ways. */
static void handshake_agrees(void)
{
	counting a = {0};
	ws_deflate_config d;
	ws_config ccfg, scfg;
	ws_conn cl, sv;
	ws_connect_opts co = {"example.com", "/chat", NULL, NULL, NULL};
	uint8_t buf[2048], msg[3000];
	size_t n;
	int types[4] = {0};

	dconfig(&d, &a, 1024);
	d.client_no_context_takeover = 1;
	d.server_max_window_bits = 12;
	config(&ccfg, WS_ROLE_CLIENT, &d);
	config(&scfg, WS_ROLE_SERVER, &d);
	ccfg.flags = scfg.flags = 0;
	ws_conn_init(&cl, sizeof cl, &ccfg);
	ws_conn_init(&sv, sizeof sv, &scfg);
	CHECK_INT(ws_conn_connect(&cl, &co, buf, sizeof buf, &n), WS_OK);
	buf[n] = 0;
	CHECK(strstr((char *)buf, "\r\nSec-WebSocket-Extensions: permessage-deflate; "
	                         "client_no_context_takeover; server_max_window_bits=12; "
	                         "client_max_window_bits\r\n") != NULL);
	drain(&sv, buf, n, types, 4);
	CHECK(types[0] < 0);
	n = (size_t)-types[0];
	buf[n] = 0;
	CHECK(strstr((char *)buf, "\r\nSec-WebSocket-Extensions: permessage-deflate; "
	                         "client_no_context_takeover; server_max_window_bits=12\r\n") != NULL);
	drain(&cl, buf, n, types, 4);
	CHECK_INT(types[0], WS_EV_OPEN);
	fill_json(msg, sizeof msg, 3);
	d.threshold = 0;
	CHECK(pump(&cl, &sv, msg, sizeof msg, 0, 0, 1) < sizeof msg / 3);
	CHECK(pump(&sv, &cl, msg, sizeof msg, 0, 0, 1) < sizeof msg / 3);
	ws_conn_release(&cl);
	ws_conn_release(&sv);
	CHECK_INT(a.now, 0);
}

/* A browser's offer, answered by a server with deflate; a server without it
 * answers without the header; a client rejects answers it did not ask for. */
static void handshake_answers(void)
{
	static const char req[] =
	    "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
	    "Sec-WebSocket-Extensions: x-unknown, permessage-deflate; foo\r\n"
	    "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n";
	counting a = {0};
	ws_deflate_config d;
	ws_config cfg;
	t_feed_opts o = {0};
	char *log;

	dconfig(&d, &a, 1024);
	config(&cfg, WS_ROLE_SERVER, &d);
	cfg.flags = 0;
	o.accept = 1;
	log = t_feed_all(&cfg, &o, req, sizeof req - 1, NULL, 0);
	/* Whole, byte by byte, split anywhere: the same request and accept. */
	CHECK(strstr(log, "request target=\"/\"") == log);
	CHECK(strstr(log, "\naccept-> len=") != NULL);
	CHECK(strstr(log, "error") == NULL);
	free(log);
	/* The accept response itself, exactly. */
	{
		ws_conn c;
		uint8_t in[sizeof req], out[512];
		size_t used, n;
		ws_event ev;
		memcpy(in, req, sizeof req);
		ws_conn_init(&c, sizeof c, &cfg);
		CHECK_INT(ws_conn_recv(&c, in, sizeof req - 1, &used, &ev), WS_OK);
		CHECK_INT(ev.type, WS_EV_REQUEST);
		CHECK_INT(ws_conn_accept(&c, NULL, out, sizeof out, &n), WS_OK);
		out[n] = 0;
		CHECK_STR((char *)out, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
		                       "Connection: Upgrade\r\nSec-WebSocket-Accept: "
		                       "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
		                       "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n");
		/* RSV1 is now allowed: a compressed "Hello" from the client. */
		uint8_t f[] = {0xc1, 0x87, 0, 0, 0, 0, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00};
		CHECK_INT(ws_conn_recv(&c, f, sizeof f, &used, &ev), WS_OK);
		CHECK_INT(ev.len, 5);
		CHECK_MEM(ev.data, "Hello", 5);
		ws_conn_release(&c);
		/* Without memory, the extension is declined, not the connection. */
		memcpy(in, req, sizeof req);
		ws_conn_init(&c, sizeof c, &cfg);
		CHECK_INT(ws_conn_recv(&c, in, sizeof req - 1, &used, &ev), WS_OK);
		a.fail_after = 1;
		a.calls = 0;
		CHECK_INT(ws_conn_accept(&c, NULL, out, sizeof out, &n), WS_OK);
		a.fail_after = 0;
		out[n] = 0;
		CHECK(strstr((char *)out, "Extensions") == NULL);
		CHECK_INT(ws_conn_state(&c), WS_STATE_OPEN);
		/* A server without deflate config answers without it. */
		ws_config plain = cfg;
		plain.deflate = NULL;
		memcpy(in, req, sizeof req);
		ws_conn_init(&c, sizeof c, &plain);
		CHECK_INT(ws_conn_recv(&c, in, sizeof req - 1, &used, &ev), WS_OK);
		CHECK_INT(ws_conn_accept(&c, NULL, out, sizeof out, &n), WS_OK);
		out[n] = 0;
		CHECK(strstr((char *)out, "Extensions") == NULL);
	}
	/* Client: answers that do not fit the offer fail the handshake. */
	static const char *bad[] = {
		"Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=16\r\n",
		"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n",
		"Sec-WebSocket-Extensions: x-other\r\n",
		"Sec-WebSocket-Extensions: permessage-deflate\r\nSec-WebSocket-Extensions: permessage-deflate\r\n",
	};
	ws_connect_opts co = {"h", NULL, NULL, NULL, NULL};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		ws_conn c;
		uint8_t out[512], resp[512];
		char key[25], acc[WS_ACCEPT_KEY_LEN + 1];
		size_t n, used;
		ws_event ev;
		config(&cfg, WS_ROLE_CLIENT, &d);
		cfg.flags = 0;
		ws_conn_init(&c, sizeof c, &cfg);
		CHECK_INT(ws_conn_connect(&c, &co, out, sizeof out, &n), WS_OK);
		out[n] = 0;
		const char *k = strstr((char *)out, "Sec-WebSocket-Key: ") + 19;
		memcpy(key, k, 24);
		ws_accept_key(key, 24, acc);
		n = (size_t)snprintf((char *)resp, sizeof resp,
		                     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
		                     "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n%s\r\n", acc, bad[i]);
		CHECK_INT(ws_conn_recv(&c, resp, n, &used, &ev), WS_E_HTTP_EXTENSION);
		ws_conn_release(&c);
	}
	CHECK_INT(a.now, 0);
}
#else
/* Built without zlib: nothing offers or turns on the extension. */
static void without_deflate(void)
{
	ws_config cfg;
	ws_conn c;
	ws_deflate_params p = {0, 0, 15, 15};

	ws_config_init(&cfg, WS_ROLE_SERVER);
	cfg.flags = WS_CFG_START_OPEN;
	ws_conn_init(&c, sizeof c, &cfg);
	CHECK_INT(ws_conn_enable_deflate(&c, &p), WS_E_STATE);
	CHECK_INT(ws_deflate_available(), 0);
}
#endif

int main(int argc, char **argv)
{
	(void)argc;
#if WS_DEFLATE
	RUN(rfc_7692_examples);
	RUN(receive_errors);
	RUN(round_trips);
	RUN(threshold_and_window_8);
	RUN(bomb);
	RUN(memory_per_mode);
	RUN(allocation_failure);
	RUN(send_rules);
	RUN(negotiation);
	RUN(handshake_agrees);
	RUN(handshake_answers);
#else
	RUN(without_deflate);
#endif
	return t_done(argv[0]);
}
