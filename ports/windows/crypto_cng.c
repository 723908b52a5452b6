/* The crypto hook (include/ws/crypto.h) on Windows' own cryptography: SHA-1
 * from CNG (bcrypt.dll, Windows Vista and later, also Wine), base64 in plain
 * C (CNG has none). With it a Windows program needs neither mbedTLS nor
 * OpenSSL for libws's handshake:
 *
 *   compile libws with -DWS_CRYPTO_HOOK=1 (MSVC: /DWS_CRYPTO_HOOK=1),
 *   add this file to your build, link bcrypt (-lbcrypt, or bcrypt.lib).
 *
 * Copy it as it is; it uses nothing of libws but the hook's header. make
 * cross checks it under Wine against the RFC 6455 §1.3 accept-key vector
 * (test_handshake) and against a table of SHA-1 and base64 answers that
 * mbedTLS computed on the build host (ports/windows/check_cng.c).
 *
 * The SHA-1 provider is opened once, on first use, and kept for the life of
 * the process; threads that race to open it keep one and close the others. */
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#include <bcrypt.h>
#include <string.h>
#include "ws/crypto.h"

#ifdef _MSC_VER
#pragma comment(lib, "bcrypt.lib")
#endif

#ifndef BCRYPT_SUCCESS
#define BCRYPT_SUCCESS(st) (((NTSTATUS)(st)) >= 0)
#endif

static PVOID volatile sha1_alg; /* BCRYPT_ALG_HANDLE, NULL until opened */

static BCRYPT_ALG_HANDLE sha1_provider(void)
{
	BCRYPT_ALG_HANDLE alg = sha1_alg, mine = NULL, prev;

	if (alg)
		return alg;
	if (!BCRYPT_SUCCESS(BCryptOpenAlgorithmProvider(&mine, BCRYPT_SHA1_ALGORITHM, NULL, 0)))
		return NULL;
	prev = InterlockedCompareExchangePointer(&sha1_alg, mine, NULL);
	if (prev) { /* another thread was first */
		BCryptCloseAlgorithmProvider(mine, 0);
		return prev;
	}
	return mine;
}

/* BCryptHashData takes a ULONG length: feed longer input in pieces. */
static int hash_data(BCRYPT_HASH_HANDLE h, const uint8_t *p, size_t n)
{
	while (n) {
		ULONG part = n > 0x40000000u ? 0x40000000u : (ULONG)n;
		if (!BCRYPT_SUCCESS(BCryptHashData(h, (PUCHAR)(uintptr_t)p, part, 0)))
			return -1;
		p += part;
		n -= part;
	}
	return 0;
}

int ws_crypto_sha1(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len, uint8_t digest[20])
{
	BCRYPT_ALG_HANDLE alg = sha1_provider();
	BCRYPT_HASH_HANDLE h = NULL;
	int rc = -1;

	if (!alg)
		return -1;
	/* A NULL object buffer lets CNG allocate it (Windows 7 and later). */
	if (!BCRYPT_SUCCESS(BCryptCreateHash(alg, &h, NULL, 0, NULL, 0, 0)))
		return -1;
	if (!hash_data(h, a, a_len) && !hash_data(h, b, b_len) &&
	    BCRYPT_SUCCESS(BCryptFinishHash(h, digest, 20, 0)))
		rc = 0;
	BCryptDestroyHash(h);
	return rc;
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int ws_crypto_base64_encode(char *dst, size_t cap, size_t *olen, const uint8_t *src, size_t n)
{
	size_t o = 0;

	*olen = 0;
	if (n > (((size_t)-1) - 1) / 4 * 3 - 2 || cap < (n + 2) / 3 * 4 + 1)
		return -1;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)src[i] << 16 | (i + 1 < n ? (uint32_t)src[i + 1] << 8 : 0) |
		             (i + 2 < n ? src[i + 2] : 0);
		dst[o++] = b64[v >> 18];
		dst[o++] = b64[v >> 12 & 63];
		dst[o++] = i + 1 < n ? b64[v >> 6 & 63] : '=';
		dst[o++] = i + 2 < n ? b64[v & 63] : '=';
	}
	dst[o] = 0;
	*olen = o;
	return 0;
}

static int b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Strict: a multiple of 4 characters, at most two '=' and only at the end. */
int ws_crypto_base64_decode(uint8_t *dst, size_t cap, size_t *olen, const char *src, size_t n)
{
	uint32_t v = 0;
	size_t o = 0, bits = 0, i = 0;

	*olen = 0;
	if (n % 4)
		return -1;
	for (; i < n && src[i] != '='; i++) {
		int d = b64_value(src[i]);
		if (d < 0)
			return -1;
		v = v << 6 | (uint32_t)d;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o == cap)
				return -1;
			dst[o++] = (uint8_t)(v >> bits);
		}
	}
	if (n - i > 2)
		return -1;
	for (; i < n; i++)
		if (src[i] != '=')
			return -1;
	*olen = o;
	return 0;
}
