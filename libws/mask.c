/* Masking (RFC 6455 §5.3), the portable kernel: a machine word at a time.
 * The vector kernels are in simd_x86.c and simd_neon.c, the choice among
 * them and the entry points in simd_dispatch.c. */
#define WS__SIMD_KERNEL
#include "simd.h"

/* The key repeated to 8 bytes masks any 8 consecutive bytes, and 8 % 4 == 0
 * keeps the phase. */
void ws__mask_scalar(uint8_t *dst, const uint8_t *src, size_t len, uint32_t key)
{
	uint64_t k = (uint64_t)key << 32 | key;
	size_t i = 0;

	for (; i + 32 <= len; i += 32) {
		uint64_t a, b, e, f;
		memcpy(&a, src + i, 8);
		memcpy(&b, src + i + 8, 8);
		memcpy(&e, src + i + 16, 8);
		memcpy(&f, src + i + 24, 8);
		a ^= k, b ^= k, e ^= k, f ^= k;
		memcpy(dst + i, &a, 8);
		memcpy(dst + i + 8, &b, 8);
		memcpy(dst + i + 16, &e, 8);
		memcpy(dst + i + 24, &f, 8);
	}
	ws__mask_small(dst + i, src + i, len - i, key);
}
