/* Host check of the target tests' stand-in crypto (crypto_standin.c)
 * against mbedTLS, the library's default backend: SHA-1 of every length to
 * 300 bytes (over both 64-byte block boundaries of the padding) split at
 * every point between the hook's two parts, base64 both ways for every
 * length to 64, and the decoder's refusals. Prints
 * "mcu_crypto_standin: N passed, M failed", one count per group of checks. */
#include <stdio.h>
#include <string.h>
#include <mbedtls/version.h>
#include <mbedtls/sha1.h>
#include <mbedtls/base64.h>
#include "ws/crypto.h"

#if MBEDTLS_VERSION_NUMBER >= 0x03000000
#define SHA1 mbedtls_sha1
#else
#define SHA1 mbedtls_sha1_ret
#endif

static int passed, failed, group_failed;

static void check(int ok, const char *what, size_t a, size_t b)
{
	if (!ok && group_failed++ < 10)
		printf("  FAIL %s (%zu, %zu)\n", what, a, b);
}

static void group_done(const char *name)
{
	if (group_failed) {
		printf("not ok %s (%d failed checks)\n", name, group_failed);
		failed++;
	} else {
		passed++;
	}
	group_failed = 0;
}

int main(void)
{
	static const char *bad[] = { "A", "AB=C", "ABC*", "A===", "AB\0C", "QUJD====", "QUJDRA=x" };
	uint8_t in[300], want[20], got[20], dec[64];
	char enc[100], ref[100];
	size_t n, m;

	for (size_t i = 0; i < sizeof in; i++)
		in[i] = (uint8_t)(i * 131 + 7);
	for (size_t len = 0; len <= sizeof in; len++) {
		SHA1(in, len, want);
		for (size_t cut = 0; cut <= len; cut += (len > 80 ? 13 : 1)) {
			check(ws_crypto_sha1(in, cut, in + cut, len - cut, got) == 0 &&
			      memcmp(got, want, 20) == 0, "sha1", len, cut);
		}
	}
	group_done("sha1");
	for (size_t len = 0; len <= 64; len++) {
		check(mbedtls_base64_encode((unsigned char *)ref, sizeof ref, &m, in, len) == 0 &&
		      ws_crypto_base64_encode(enc, sizeof enc, &n, in, len) == 0 && n == m &&
		      memcmp(enc, ref, n) == 0 && enc[n] == 0, "base64 encode", len, 0);
		check(ws_crypto_base64_encode(enc, n, &m, in, len) != 0, "encode without room for NUL", len, 0);
		check(ws_crypto_base64_decode(dec, sizeof dec, &m, enc, n) == 0 && m == len &&
		      memcmp(dec, in, len) == 0, "base64 decode", len, 0);
		if (len)
			check(ws_crypto_base64_decode(dec, len - 1, &m, enc, n) != 0, "decode without room", len, 0);
	}
	group_done("base64 round trips");
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		check(ws_crypto_base64_decode(dec, sizeof dec, &m, bad[i], i == 4 ? 4 : strlen(bad[i])) != 0,
		      "decode refuses", i, 0);
	group_done("base64 refusals");
	printf("mcu_crypto_standin: %d passed, %d failed\n", passed, failed);
	return failed != 0;
}
