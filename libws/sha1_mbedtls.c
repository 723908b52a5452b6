/* SHA-1 and base64 for the handshake keys: through mbedTLS (2.28 and 3.x) by
 * default, or through functions the build supplies (include/ws/crypto.h)
 * when compiled with WS_CRYPTO_HOOK=1, e.g. for a microcontroller. */
#include "ws_internal.h"

#ifndef WS_CRYPTO_HOOK
#define WS_CRYPTO_HOOK 0
#endif

#if !WS_CRYPTO_HOOK
#include <mbedtls/version.h>
#include <mbedtls/sha1.h>
#include <mbedtls/base64.h>

/* 3.0 renamed the int-returning *_ret functions to the plain names. The
 * streaming calls let ws_accept_key() take a key of any length without a
 * fixed concatenation buffer. */
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
#define WS_SHA1_STARTS mbedtls_sha1_starts
#define WS_SHA1_UPDATE mbedtls_sha1_update
#define WS_SHA1_FINISH mbedtls_sha1_finish
#else
#define WS_SHA1_STARTS mbedtls_sha1_starts_ret
#define WS_SHA1_UPDATE mbedtls_sha1_update_ret
#define WS_SHA1_FINISH mbedtls_sha1_finish_ret
#endif

/* The default backend: the hook's contract, kept static so that a default
 * build exports and imports nothing new. */
static int sha1_2(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len, uint8_t digest[20])
{
	mbedtls_sha1_context ctx;
	int rc;

	mbedtls_sha1_init(&ctx);
	rc = WS_SHA1_STARTS(&ctx);
	if (!rc)
		rc = WS_SHA1_UPDATE(&ctx, a, a_len);
	if (!rc)
		rc = WS_SHA1_UPDATE(&ctx, b, b_len);
	if (!rc)
		rc = WS_SHA1_FINISH(&ctx, digest);
	mbedtls_sha1_free(&ctx);
	return rc;
}

static int b64_encode(char *dst, size_t cap, size_t *olen, const uint8_t *src, size_t n)
{
	return mbedtls_base64_encode((unsigned char *)dst, cap, olen, src, n);
}

static int b64_decode(uint8_t *dst, size_t cap, size_t *olen, const char *src, size_t n)
{
	return mbedtls_base64_decode(dst, cap, olen, (const unsigned char *)src, n);
}
#else
#include "ws/crypto.h"
#define sha1_2 ws_crypto_sha1
#define b64_encode ws_crypto_base64_encode
#define b64_decode ws_crypto_base64_decode
#endif

/* RFC 6455 §1.3 */
static const char ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/* RFC 6455 §4.2.2 item 5.4: base64(SHA-1(key + GUID)). */
int ws_accept_key(const char *key, size_t key_len, char out[WS_ACCEPT_KEY_LEN + 1])
{
	uint8_t digest[20];
	size_t n = 0;
	int rc;

	rc = sha1_2((const uint8_t *)key, key_len, (const uint8_t *)ws_guid, sizeof ws_guid - 1, digest);
	if (!rc)
		rc = b64_encode(out, WS_ACCEPT_KEY_LEN + 1, &n, digest, sizeof digest);
	if (rc || n != WS_ACCEPT_KEY_LEN) {
		out[0] = 0;
		return WS_E_ARG;
	}
	return WS_OK;
}

static int is_b64(unsigned char ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
	       ch == '+' || ch == '/';
}

/* RFC 6455 §4.2.1 item 5: base64 of exactly 16 bytes, so 22 characters and
 * "==". mbedTLS also skips spaces and line breaks, and no decoder checks that
 * the 4 bits after the 16th byte are zero; we insist on the canonical form
 * because ws_conn_accept() re-encodes the stored bytes, and any other spelling
 * of the key would give a Sec-WebSocket-Accept the client does not expect. */
int ws__key_decode(const char *s, size_t n, uint8_t key[16])
{
	size_t olen = 0;

	/* The 22nd character carries the last 2 bits of byte 16 and 4 zero bits. */
	if (n != 24 || s[22] != '=' || s[23] != '=' ||
	    (s[21] != 'A' && s[21] != 'Q' && s[21] != 'g' && s[21] != 'w'))
		return -1;
	for (size_t i = 0; i < 22; i++)
		if (!is_b64((unsigned char)s[i]))
			return -1;
	if (b64_decode(key, 16, &olen, s, n) || olen != 16)
		return -1;
	return 0;
}

void ws__key_encode(const uint8_t key[16], char out[25])
{
	size_t n;

	/* Cannot fail: 16 bytes always fit 24 characters and a NUL. */
	if (b64_encode(out, 25, &n, key, 16))
		out[0] = 0;
}
