/* permessage-deflate on receipt against zlib's own inflate (test/oracle.h):
 * seeded random cases, the defects of issue 9 as fixed vectors, and
 * compressed messages fed whole, byte by byte and split at every offset
 * (test/harness.h), with the input at a page end and the unconsumed bytes on
 * read-only pages. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "harness.h"
#include "oracle.h"

#if WS_DEFLATE
#include <zlib.h>

static uint32_t xorshift(void *ctx)
{
	uint32_t *s = ctx, x = *s;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *s = x;
}

enum { CASES = 3000 };

/* Tally of the first words of each kind of disagreement, for the summary. */
static struct {
	char what[48];
	unsigned n;
	unsigned first; /* seed of the first case */
} kinds[16];

static void tally(const char *why, unsigned seed)
{
	char w[48];
	size_t n = 0;
	const char *p = why;

	/* "message 1: error E_X, ..." -> "error E_X" (drop the message number). */
	if (!strncmp(p, "message ", 8) && (p = strchr(p, ':')) != NULL)
		p += 2;
	else
		p = why;
	while (p[n] && n < sizeof w - 1 && p[n] != '(' && !(p[n] >= '0' && p[n] <= '9'))
		n++;
	memcpy(w, p, n);
	w[n] = 0;
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
		if (!kinds[i].n) {
			memcpy(kinds[i].what, w, n + 1);
			kinds[i].first = seed;
		}
		if (!strcmp(kinds[i].what, w)) {
			kinds[i].n++;
			return;
		}
	}
}

/* One case, whole and split three more ways; every run agrees with zlib and
 * the runs agree with each other. Returns 0 if anything disagreed. */
static int run_case(unsigned seed)
{
	uint32_t s = seed * 2654435761u + 1, rs = seed ^ 0x5bd1e995u;
	or_case *k = or_case_new(xorshift, &s);
	size_t n = or_case_wire_len(k), *split = malloc((n + 1) * sizeof *split), ns;
	char *ref = NULL, *log = NULL;
	const char *why;
	int ok = 1;

	if (!split)
		abort();
	why = or_case_run(k, NULL, 0, OR_CATCH_FAULTS, &ref);
	if (!why)
		why = or_case_run(k, NULL, 0, OR_CATCH_FAULTS | OR_RO_TAIL, NULL);
	for (int how = 0; how < 3 && !why; how++) {
		ns = 0;
		if (how == 0) { /* random pieces of 1-64 bytes */
			for (size_t at = 1 + xorshift(&rs) % 64; at < n; at += 1 + xorshift(&rs) % 64)
				split[ns++] = at;
		} else if (how == 1) { /* two pieces */
			if (n > 1)
				split[ns++] = 1 + xorshift(&rs) % (n - 1);
		} else { /* byte at a time, for the small ones */
			if (n > 600)
				break;
			for (size_t at = 1; at < n; at++)
				split[ns++] = at;
		}
		why = or_case_run(k, split, ns, OR_CATCH_FAULTS, &log);
		if (!why && how == 0)
			why = or_case_run(k, split, ns, OR_CATCH_FAULTS | OR_RO_TAIL, NULL);
		if (!why && strcmp(log, ref)) {
			t_fail(__FILE__, __LINE__, "case %u: split %d gives other events:\n    got:  %s    want: %s", seed,
			       how, log, ref);
			tally("events depend on the split", seed);
			ok = 0;
		}
		free(log);
		log = NULL;
	}
	if (why) {
		t_fail(__FILE__, __LINE__, "case %u: %s\n      %s", seed, why, or_case_describe(k));
		if (getenv("ORACLE_VERBOSE"))
			printf("case %u: %s\n      %s\n", seed, why, or_case_describe(k));
		tally(why, seed);
		ok = 0;
	}
	free(ref);
	free(split);
	or_case_free(k);
	return ok;
}

static void test_oracle_random(void)
{
	unsigned bad = 0;
	clock_t t0 = clock();

	/* ORACLE_CASE=n runs case n alone; ORACLE_VERBOSE lists every failing case. */
	const char *one = getenv("ORACLE_CASE");

	if (one) {
		uint32_t s = (unsigned)atoi(one) * 2654435761u + 1;
		or_case *k = or_case_new(xorshift, &s);
		for (size_t i = 0; i < or_case_wire_len(k); i++)
			printf("%02x", or_case_wire(k)[i]);
		printf("\n%s\n", or_case_describe(k));
		or_case_free(k);
		bad += !run_case((unsigned)atoi(one));
		return;
	}
	for (unsigned seed = 1; seed <= CASES; seed++)
		bad += !run_case(seed);
	printf("    %u random cases in %.2f s CPU, %u disagree with zlib\n", CASES,
	       (double)(clock() - t0) / CLOCKS_PER_SEC, bad);
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0] && kinds[i].n; i++)
		printf("      %5u x %s(first: case %u)\n", kinds[i].n, kinds[i].what, kinds[i].first);
}

/* ---- fixed vectors, through the harness ---- */

static ws_deflate_config dcfg;
static ws_deflate_params dparams;
static uint8_t inflate_buf[1024];

static void *t_alloc(void *ctx, size_t n)
{
	(void)ctx;
	return malloc(n);
}

static void t_free(void *ctx, void *p)
{
	(void)ctx;
	free(p);
}

static void enable(ws_conn *c)
{
	int rc = ws_conn_enable_deflate(c, &dparams);
	if (rc)
		t_fail(__FILE__, __LINE__, "ws_conn_enable_deflate: %s", ws_status_name(rc));
}

/* A server receiving (masked frames), OPEN with permessage-deflate at 15 bits
 * and context takeover, a 1024-byte inflate buffer. */
static void setup(ws_config *cfg, uint64_t max_message)
{
	ws_config_init(cfg, WS_ROLE_SERVER);
	cfg->flags = WS_CFG_START_OPEN;
	cfg->max_message = max_message;
	ws_deflate_config_init(&dcfg);
	dcfg.alloc.alloc = t_alloc;
	dcfg.alloc.free = t_free;
	dcfg.inflate_buf = inflate_buf;
	dcfg.inflate_cap = sizeof inflate_buf;
	cfg->deflate = &dcfg;
	memset(&dparams, 0, sizeof dparams);
	dparams.server_max_window_bits = dparams.client_max_window_bits = 15;
}

/* Appends a masked frame (key 0x11 0x22 0x33 0x44) to out; returns the new length. */
static size_t put_frame(uint8_t *out, size_t at, unsigned b0, const uint8_t *p, size_t n)
{
	static const uint8_t key[4] = {0x11, 0x22, 0x33, 0x44};

	out[at++] = (uint8_t)b0;
	if (n < 126) {
		out[at++] = (uint8_t)(0x80 | n);
	} else {
		out[at++] = 0x80 | 126;
		out[at++] = (uint8_t)(n >> 8);
		out[at++] = (uint8_t)n;
	}
	memcpy(out + at, key, 4);
	at += 4;
	for (size_t i = 0; i < n; i++)
		out[at + i] = p[i] ^ key[i & 3];
	return at + n;
}

/* Raw deflate of p at 15 bits, sync-flushed in pieces of `piece` bytes, the
 * final 00 00 ff ff removed (RFC 7692 §7.2.1). */
static size_t deflate_raw(const uint8_t *p, size_t n, size_t piece, uint8_t *out, size_t cap)
{
	z_stream z;
	size_t len;

	memset(&z, 0, sizeof z);
	if (deflateInit2(&z, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		abort();
	z.next_out = out;
	z.avail_out = (uInt)cap;
	for (size_t at = 0; at < n || at == 0; at += piece) {
		size_t k = n - at < piece ? n - at : piece;
		z.next_in = (uint8_t *)(uintptr_t)(p + at);
		z.avail_in = (uInt)k;
		if (deflate(&z, Z_SYNC_FLUSH) != Z_OK || z.avail_in)
			abort();
		if (n == 0)
			break;
	}
	len = cap - z.avail_out;
	deflateEnd(&z);
	if (len >= 4 && !memcmp(out + len - 4, "\x00\x00\xff\xff", 4))
		len -= 4;
	return len;
}

/* Defect 1 (issue 9 §2): an RSV1 text frame with an empty payload is not a
 * deflate block (00 00 ff ff alone does not end on a block boundary):
 * WS_E_INFLATE, not an empty text message. */
static void test_empty_compressed_frame(void)
{
	ws_config cfg;
	t_feed_opts o = {0};
	uint8_t in[64];
	size_t n;
	char *log;

	setup(&cfg, WS_DEFAULT_MAX_MESSAGE);
	o.setup = enable;
	n = put_frame(in, 0, WS_FIN | WS_RSV1 | WS_OP_TEXT, NULL, 0);
	n = put_frame(in, n, WS_FIN | WS_OP_TEXT, (const uint8_t *)"next", 4);
	log = t_feed_all(&cfg, &o, in, n, NULL, 64);
	CHECK(strstr(log, "error E_INFLATE") != NULL);
	CHECK(strstr(log, "text") == NULL);
	if (!strstr(log, "error E_INFLATE"))
		printf("    empty RSV1 frame gives: %s", log);
	free(log);
}

/* Defect 1: the first 3 of the 11 deflate bytes of "hello hello hello" stop
 * inside a block: WS_E_INFLATE, not the message "heh". */
static void test_truncated_hello(void)
{
	static const uint8_t hello[11] = {0xca, 0x48, 0xcd, 0xc9, 0xc9, 0x57, 0xc8, 0x40, 0x90, 0x00, 0x00};
	uint8_t c[64], in[64];
	ws_config cfg;
	t_feed_opts o = {0};
	size_t n;
	char *log;

	/* The vector is zlib's own output. */
	CHECK_INT(deflate_raw((const uint8_t *)"hello hello hello", 17, 17, c, sizeof c), 11);
	CHECK_MEM(c, hello, 11);
	setup(&cfg, WS_DEFAULT_MAX_MESSAGE);
	o.setup = enable;
	n = put_frame(in, 0, WS_FIN | WS_RSV1 | WS_OP_TEXT, hello, 11);
	log = t_feed_all(&cfg, &o, in, n, "text \"hello hello hello\" compressed\n", 64);
	free(log);
	n = put_frame(in, 0, WS_FIN | WS_RSV1 | WS_OP_TEXT, hello, 3);
	log = t_feed_all(&cfg, &o, in, n, NULL, 64);
	CHECK(strstr(log, "error E_INFLATE") != NULL);
	CHECK(strstr(log, "heh") == NULL);
	if (!strstr(log, "error E_INFLATE"))
		printf("    3 of 11 bytes of \"hello hello hello\" give: %s", log);
	free(log);
}

/* Defect 5: max_message is the size the application receives. 1000 random
 * bytes deflate to more than 1000 bytes; with max_message 1000 the message
 * is delivered. */
static void test_limit_is_inflated_size(void)
{
	uint8_t plain[1000], c[1200], in[1300];
	uint32_t s = 7;
	ws_config cfg;
	t_feed_opts o = {0};
	size_t n, cn;
	char *log;

	for (size_t i = 0; i < sizeof plain; i++)
		plain[i] = (uint8_t)xorshift(&s);
	cn = deflate_raw(plain, sizeof plain, sizeof plain, c, sizeof c);
	CHECK(cn > 1000);
	setup(&cfg, 1000);
	o.setup = enable;
	n = put_frame(in, 0, WS_FIN | WS_RSV1 | WS_OP_BINARY, c, cn);
	log = t_feed(&cfg, &o, in, n, NULL, 0);
	CHECK(strstr(log, "binary len=1000") != NULL && strstr(log, "error") == NULL);
	if (strstr(log, "error"))
		printf("    1000 bytes (%zu compressed), max_message 1000: %s", cn, log);
	free(log);
	/* One byte over the limit, inflated, is too big. */
	cn = deflate_raw(plain, sizeof plain, sizeof plain, c, sizeof c);
	setup(&cfg, 999);
	n = put_frame(in, 0, WS_FIN | WS_RSV1 | WS_OP_BINARY, c, cn);
	log = t_feed(&cfg, &o, in, n, NULL, 0);
	CHECK(strstr(log, "error E_MESSAGE_TOO_BIG") != NULL);
	free(log);
}

/* Defect 4: what is delivered before an error in a compressed message does
 * not depend on how the input is split. A text message whose inflated bytes
 * turn invalid at byte 1500 (the inflate buffer holds 1024): the valid 1500
 * bytes, then E_UTF8. A message that inflates to 3000 bytes with
 * max_message 2000: E_MESSAGE_TOO_BIG after the same data every time. */
static void test_error_after_data_split_invariant(void)
{
	uint8_t plain[3000], c[4096], in[4200];
	ws_config cfg;
	t_feed_opts o = {0};
	size_t n, cn;
	char *log;

	for (size_t i = 0; i < sizeof plain; i++)
		plain[i] = (uint8_t)("abcdefgh "[i % 9] + (i % 97 == 0));
	plain[1500] = 0xff;
	cn = deflate_raw(plain, 1600, 400, c, sizeof c);
	setup(&cfg, WS_DEFAULT_MAX_MESSAGE);
	o.setup = enable;
	n = put_frame(in, 0, WS_FIN | WS_RSV1 | WS_OP_TEXT, c, cn);
	log = t_feed_all(&cfg, &o, in, n, NULL, 0);
	CHECK(strstr(log, "partial text len=1500 ") != NULL);
	CHECK(strstr(log, "error E_UTF8") != NULL);
	if (!strstr(log, "partial text len=1500 "))
		printf("    invalid UTF-8 at inflated byte 1500 gives: %s", log);
	free(log);
	plain[1500] = 'x';
	cn = deflate_raw(plain, sizeof plain, 700, c, sizeof c);
	setup(&cfg, 2000);
	n = put_frame(in, 0, WS_FIN | WS_RSV1 | WS_OP_BINARY, c, cn);
	log = t_feed_all(&cfg, &o, in, n, NULL, 0);
	CHECK(strstr(log, "error E_MESSAGE_TOO_BIG") != NULL);
	free(log);
}

/* Compressed messages (several frames, flushes inside, a ping between
 * fragments, a message whose inflated size exceeds the inflate buffer so
 * inflate stops before its input ends) are split-invariant: whole, byte by
 * byte, at every offset, with the unconsumed bytes read-only. */
static void test_split_invariance(void)
{
	uint8_t plain[2500], c[3000], in[3400];
	ws_config cfg;
	t_feed_opts o = {0};
	size_t n = 0, cn, half;
	char *log;

	for (size_t i = 0; i < sizeof plain; i++)
		plain[i] = (uint8_t)("hello world "[i % 12]);
	setup(&cfg, WS_DEFAULT_MAX_MESSAGE);
	o.setup = enable;
	/* 1: "hello world..." x 40 bytes in one frame. */
	cn = deflate_raw(plain, 40, 40, c, sizeof c);
	n = put_frame(in, n, WS_FIN | WS_RSV1 | WS_OP_TEXT, c, cn);
	/* 2: 300 bytes flushed every 100, in two frames with a ping between. */
	cn = deflate_raw(plain, 300, 100, c, sizeof c);
	half = cn / 2;
	n = put_frame(in, n, WS_RSV1 | WS_OP_TEXT, c, half);
	n = put_frame(in, n, WS_FIN | WS_OP_PING, (const uint8_t *)"p", 1);
	n = put_frame(in, n, WS_FIN | WS_OP_CONTINUATION, c + half, cn - half);
	log = t_feed_all(&cfg, &o, in, n, NULL, 0);
	CHECK(strstr(log, "error") == NULL && strstr(log, "VIOLATION") == NULL);
	CHECK(strstr(log, "text \"hello world hello world hello world hell\" compressed") != NULL);
	free(log);
	/* 3: 2500 bytes that inflate past the 1024-byte buffer: inflate leaves
	 * input behind, which must stay untouched. */
	cn = deflate_raw(plain, sizeof plain, sizeof plain, c, sizeof c);
	n = put_frame(in, 0, WS_FIN | WS_RSV1 | WS_OP_BINARY, c, cn);
	log = t_feed_all(&cfg, &o, in, n, NULL, 0);
	CHECK(strstr(log, "binary len=2500") != NULL);
	CHECK(strstr(log, "VIOLATION") == NULL);
	if (strstr(log, "VIOLATION"))
		printf("    2500 bytes inflating past the buffer: %s", log);
	free(log);
}

int main(int argc, char **argv)
{
	(void)argc;
	RUN(test_empty_compressed_frame);
	RUN(test_truncated_hello);
	RUN(test_limit_is_inflated_size);
	RUN(test_error_after_data_split_invariant);
	RUN(test_split_invariance);
	RUN(test_oracle_random);
	return t_done(argv[0]);
}

#else

/* Built without permessage-deflate: the extension cannot be turned on. */
static void test_no_deflate(void)
{
	ws_config cfg;
	ws_conn c;
	ws_deflate_params p = {0, 0, 15, 15};

	ws_config_init(&cfg, WS_ROLE_SERVER);
	cfg.flags = WS_CFG_START_OPEN;
	CHECK_INT(ws_conn_init(&c, sizeof c, &cfg), WS_OK);
	CHECK_INT(ws_conn_enable_deflate(&c, &p), WS_E_STATE);
	ws_conn_release(&c);
}

int main(int argc, char **argv)
{
	(void)argc;
	RUN(test_no_deflate);
	return t_done(argv[0]);
}

#endif
