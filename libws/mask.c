#include "ws_internal.h"

/* A word at a time: the key repeated to 8 bytes starting at the right phase
 * masks any 8 consecutive bytes, and 8 % 4 == 0 keeps the phase. */
static inline uint64_t key_word(const uint8_t key[4], uint64_t offset)
{
	uint8_t k[12];
	uint64_t w;

	memcpy(k, key, 4);
	memcpy(k + 4, key, 4);
	memcpy(k + 8, key, 4);
	memcpy(&w, k + (offset & 3), 8);
	return w;
}

void ws_mask_copy(void *dst, const void *src, size_t len, const uint8_t key[4], uint64_t offset)
{
	uint8_t *d = dst;
	const uint8_t *s = src;
	uint64_t k = key_word(key, offset);
	size_t i = 0;

	for (; i + 32 <= len; i += 32) {
		uint64_t a, b, e, f;
		memcpy(&a, s + i, 8);
		memcpy(&b, s + i + 8, 8);
		memcpy(&e, s + i + 16, 8);
		memcpy(&f, s + i + 24, 8);
		a ^= k, b ^= k, e ^= k, f ^= k;
		memcpy(d + i, &a, 8);
		memcpy(d + i + 8, &b, 8);
		memcpy(d + i + 16, &e, 8);
		memcpy(d + i + 24, &f, 8);
	}
	for (; i + 8 <= len; i += 8) {
		uint64_t a;
		memcpy(&a, s + i, 8);
		a ^= k;
		memcpy(d + i, &a, 8);
	}
	for (size_t j = offset & 3; i < len; i++, j++)
		d[i] = s[i] ^ key[j & 3];
}

void ws_mask(void *data, size_t len, const uint8_t key[4], uint64_t offset)
{
	ws_mask_copy(data, data, len, key, offset);
}
