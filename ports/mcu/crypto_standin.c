/* TEST-ONLY STAND-IN for the crypto hook (include/ws/crypto.h) on the
 * emulated board. A real board puts its hash accelerator behind these three
 * functions, or links mbedTLS's sha1.c and base64.c; Debian ships mbedTLS as
 * libraries only, not as sources to cross-compile, so the target tests use
 * this small, slow, plain SHA-1 (FIPS 180-4 §6.1) and base64 (RFC 4648 §4).
 * It is checked against the RFC 6455 §1.3 accept-key vector on the target
 * (test_handshake, baremetal_echo) and against mbedTLS on the host
 * (ports/mcu/check_standin.c). Not constant-time, not hardened: nothing in a
 * WebSocket handshake is secret, but do not reuse it for anything that is. */
#include <string.h>
#include "ws/crypto.h"

typedef struct sha1 {
	uint32_t h[5];
	uint8_t block[64];
	size_t fill;
	uint64_t bits;
} sha1;

static uint32_t rol(uint32_t x, unsigned n)
{
	return x << n | x >> (32 - n);
}

static void sha1_block(sha1 *s)
{
	uint32_t w[80], a = s->h[0], b = s->h[1], c = s->h[2], d = s->h[3], e = s->h[4];

	for (int t = 0; t < 16; t++)
		w[t] = (uint32_t)s->block[4 * t] << 24 | (uint32_t)s->block[4 * t + 1] << 16 |
		       (uint32_t)s->block[4 * t + 2] << 8 | s->block[4 * t + 3];
	for (int t = 16; t < 80; t++)
		w[t] = rol(w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16], 1);
	for (int t = 0; t < 80; t++) {
		uint32_t f, k, tmp;
		if (t < 20)
			f = (b & c) | (~b & d), k = 0x5a827999;
		else if (t < 40)
			f = b ^ c ^ d, k = 0x6ed9eba1;
		else if (t < 60)
			f = (b & c) | (b & d) | (c & d), k = 0x8f1bbcdc;
		else
			f = b ^ c ^ d, k = 0xca62c1d6;
		tmp = rol(a, 5) + f + e + k + w[t];
		e = d, d = c, c = rol(b, 30), b = a, a = tmp;
	}
	s->h[0] += a, s->h[1] += b, s->h[2] += c, s->h[3] += d, s->h[4] += e;
}

static void sha1_update(sha1 *s, const uint8_t *p, size_t n)
{
	s->bits += (uint64_t)n * 8;
	while (n--) {
		s->block[s->fill++] = *p++;
		if (s->fill == 64) {
			sha1_block(s);
			s->fill = 0;
		}
	}
}

int ws_crypto_sha1(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len, uint8_t digest[20])
{
	sha1 s = { { 0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0 }, { 0 }, 0, 0 };
	uint64_t bits;
	uint8_t pad = 0x80, len[8];

	sha1_update(&s, a, a_len);
	sha1_update(&s, b, b_len);
	bits = s.bits;
	/* §5.1.1: a 1 bit, zeros up to 56 mod 64 bytes, then the bit length. */
	sha1_update(&s, &pad, 1);
	pad = 0;
	while (s.fill != 56)
		sha1_update(&s, &pad, 1);
	for (int i = 0; i < 8; i++)
		len[i] = (uint8_t)(bits >> (56 - 8 * i));
	sha1_update(&s, len, 8);
	for (int i = 0; i < 20; i++)
		digest[i] = (uint8_t)(s.h[i / 4] >> (24 - 8 * (i % 4)));
	return 0;
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int ws_crypto_base64_encode(char *dst, size_t cap, size_t *olen, const uint8_t *src, size_t n)
{
	size_t need = (n + 2) / 3 * 4, o = 0;

	*olen = 0;
	if (cap < need + 1)
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

int ws_crypto_base64_decode(uint8_t *dst, size_t cap, size_t *olen, const char *src, size_t n)
{
	uint32_t v = 0;
	size_t o = 0, bits = 0, i = 0;

	*olen = 0;
	if (n % 4)
		return -1;
	for (; i < n && src[i] != '='; i++) {
		const char *p = src[i] ? strchr(b64, src[i]) : NULL;
		if (!p)
			return -1;
		v = v << 6 | (uint32_t)(p - b64);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o == cap)
				return -1;
			dst[o++] = (uint8_t)(v >> bits);
		}
	}
	/* At most two '=', and only padding after the first. */
	if (n - i > 2)
		return -1;
	for (; i < n; i++)
		if (src[i] != '=')
			return -1;
	*olen = o;
	return 0;
}
