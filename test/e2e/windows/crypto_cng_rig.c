/* The crypto hook (include/ws/crypto.h) on Windows' own CNG, for the Wine
 * echo test: SHA-1 through BCryptCreateHash/BCryptHashData/BCryptFinishHash
 * (bcrypt.dll, Vista and later), base64 by hand (RFC 4648 §4; CNG has
 * none). Link with -lbcrypt. */
#include <windows.h>
#include <bcrypt.h>
#include <string.h>
#include "ws/crypto.h"

int ws_crypto_sha1(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len, uint8_t digest[20])
{
	BCRYPT_ALG_HANDLE alg;
	BCRYPT_HASH_HANDLE h = NULL;
	NTSTATUS st;

	if (a_len > ULONG_MAX || b_len > ULONG_MAX ||
	    !BCRYPT_SUCCESS(BCryptOpenAlgorithmProvider(&alg, BCRYPT_SHA1_ALGORITHM, NULL, 0)))
		return -1;
	st = BCryptCreateHash(alg, &h, NULL, 0, NULL, 0, 0);
	if (BCRYPT_SUCCESS(st) && a_len)
		st = BCryptHashData(h, (PUCHAR)a, (ULONG)a_len, 0);
	if (BCRYPT_SUCCESS(st) && b_len)
		st = BCryptHashData(h, (PUCHAR)b, (ULONG)b_len, 0);
	if (BCRYPT_SUCCESS(st))
		st = BCryptFinishHash(h, digest, 20, 0);
	if (h)
		BCryptDestroyHash(h);
	BCryptCloseAlgorithmProvider(alg, 0);
	return BCRYPT_SUCCESS(st) ? 0 : -1;
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int ws_crypto_base64_encode(char *dst, size_t cap, size_t *olen, const uint8_t *src, size_t n)
{
	size_t i, o = 0, need = (n + 2) / 3 * 4;

	*olen = need;
	if (need >= cap)
		return -1;
	for (i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)src[i] << 16 | (i + 1 < n ? (uint32_t)src[i + 1] << 8 : 0) |
		             (i + 2 < n ? src[i + 2] : 0);
		dst[o++] = b64[v >> 18];
		dst[o++] = b64[v >> 12 & 63];
		dst[o++] = i + 1 < n ? b64[v >> 6 & 63] : '=';
		dst[o++] = i + 2 < n ? b64[v & 63] : '=';
	}
	dst[o] = 0;
	return 0;
}

int ws_crypto_base64_decode(uint8_t *dst, size_t cap, size_t *olen, const char *src, size_t n)
{
	size_t i, o = 0, pad = 0;
	uint32_t v = 0;

	if (n % 4)
		return -1;
	for (i = 0; i < n; i++) {
		const char *p = memchr(b64, src[i], 64);
		if (src[i] == '=' && i >= n - 2 && (pad || i == n - 1 || src[n - 1] == '='))
			pad++, v <<= 6;
		else if (p && src[i] && !pad)
			v = v << 6 | (uint32_t)(p - b64);
		else
			return -1;
		if (i % 4 == 3) {
			uint8_t q[3] = { (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };
			size_t k, take = 3 - (i == n - 1 ? pad : 0);
			if (o + take > cap)
				return -1;
			for (k = 0; k < take; k++)
				dst[o++] = q[k];
			v = 0;
		}
	}
	*olen = o;
	return 0;
}
