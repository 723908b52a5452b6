/* The CNG crypto hook (crypto_cng.c), checked under Wine: SHA-1 of the RFC
 * 6455 §1.3 accept-key example through ws_accept_key(), and SHA-1 and base64
 * of random inputs against the answers mbedTLS gave on the build host (the
 * table gen_vectors.c writes, cng_vectors.h), every input split between the
 * hook's two parts at several points; base64 decoding back, and refused. */
#include <stdlib.h>
#include <string.h>
#include "harness.h"
#include "ws/crypto.h"
#include "cng_vectors.h"

#define NVEC (sizeof vecs / sizeof *vecs)

static void rfc6455_accept_key(void)
{
	char out[WS_ACCEPT_KEY_LEN + 1];

	CHECK_INT(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", 24, out), WS_OK);
	CHECK_STR(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

static void sha1_table(void)
{
	uint8_t got[20];

	CHECK_INT(NVEC, 301);
	for (size_t v = 0; v < NVEC; v++) {
		const uint8_t *in = (const uint8_t *)vecs[v].in;
		size_t len = vecs[v].len, cuts[] = { 0, len / 2, len, (v * 7919) % (len + 1) };

		for (size_t c = 0; c < sizeof cuts / sizeof *cuts; c++) {
			memset(got, 0, sizeof got);
			if (ws_crypto_sha1(in, cuts[c], in + cuts[c], len - cuts[c], got) ||
			    memcmp(got, vecs[v].sha1, 20))
				t_fail(__FILE__, __LINE__, "SHA-1 of vector %zu (%zu bytes) split at %zu", v, len, cuts[c]);
		}
	}
}

/* 1 MiB through the hash in one part: many blocks, one BCryptHashData. */
static void sha1_big(void)
{
	unsigned long rng = big_seed;
	size_t n = (size_t)1 << 20;
	uint8_t *in = malloc(n), got[20];

	CHECK(in != NULL);
	if (!in)
		return;
	for (size_t i = 0; i < n; i++) {
		rng ^= rng << 13 & 0xffffffffu;
		rng ^= rng >> 17;
		rng ^= rng << 5 & 0xffffffffu;
		in[i] = (uint8_t)(rng >> 11);
	}
	CHECK_INT(ws_crypto_sha1(in, n, NULL, 0, got), 0);
	CHECK_MEM(got, big_sha1, 20);
	free(in);
}

static void base64_table(void)
{
	static char enc[500];
	static uint8_t dec[400];
	size_t n, m;

	for (size_t v = 0; v < NVEC; v++) {
		const uint8_t *in = (const uint8_t *)vecs[v].in;
		size_t len = vecs[v].len, want = strlen(vecs[v].b64);

		if (ws_crypto_base64_encode(enc, sizeof enc, &n, in, len) || n != want ||
		    strcmp(enc, vecs[v].b64))
			t_fail(__FILE__, __LINE__, "base64 of vector %zu (%zu bytes)", v, len);
		if (!ws_crypto_base64_encode(enc, want, &n, in, len))
			t_fail(__FILE__, __LINE__, "encoded %zu bytes without room for the NUL", len);
		if (ws_crypto_base64_decode(dec, sizeof dec, &m, vecs[v].b64, want) || m != len ||
		    memcmp(dec, in, len))
			t_fail(__FILE__, __LINE__, "decoding vector %zu (%zu bytes)", v, len);
		if (len && !ws_crypto_base64_decode(dec, len - 1, &m, vecs[v].b64, want))
			t_fail(__FILE__, __LINE__, "decoded %zu bytes into %zu", len, len - 1);
	}
}

static void base64_refusals(void)
{
	static const char *bad[] = { "A", "AB=C", "ABC*", "A===", "AB\0C", "QUJD====", "QUJDRA=x", "QU J" };
	uint8_t dec[16];
	size_t m;

	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		if (!ws_crypto_base64_decode(dec, sizeof dec, &m, bad[i], i == 4 ? 4 : strlen(bad[i])))
			t_fail(__FILE__, __LINE__, "decoded \"%s\"", bad[i]);
}

int main(int argc, char **argv)
{
	(void)argc;
	RUN(rfc6455_accept_key);
	RUN(sha1_table);
	RUN(sha1_big);
	RUN(base64_table);
	RUN(base64_refusals);
	return t_done(argv[0]);
}
