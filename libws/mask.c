/* Masking (RFC 6455 §5.3): the portable word loop, CPU dispatch and the
 * public entry points. The vector versions live in simd_x86.c and simd_neon.c. */
#include "ws_internal.h"

/* A word at a time: the key repeated to 8 bytes masks any 8 consecutive bytes
 * and 8 % 4 == 0 keeps the phase. */
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

unsigned ws__isa(void)
{
	unsigned isa = 0;

#if WS__HAVE_X86
	__builtin_cpu_init();
	isa |= WS__ISA_SSE2;
	if (__builtin_cpu_supports("ssse3"))
		isa |= WS__ISA_SSSE3;
	if (__builtin_cpu_supports("avx2"))
		isa |= WS__ISA_AVX2;
	if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw"))
		isa |= WS__ISA_AVX512;
#endif
#if WS__HAVE_NEON
	isa |= WS__ISA_NEON;
#endif
	return isa;
}

/* Below this length the word loop wins: no call, no setup. */
#define MASK_VECTOR_MIN 64

void ws__mask(uint8_t *dst, const uint8_t *src, size_t len, uint32_t key)
{
	if (len >= MASK_VECTOR_MIN) {
#if WS__HAVE_X86
		/* __builtin_cpu_supports() tests a flag that libgcc set once at start-up. */
		if (__builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512f")) {
			ws__mask_avx512(dst, src, len, key);
			return;
		}
		if (__builtin_cpu_supports("avx2")) {
			ws__mask_avx2(dst, src, len, key);
			return;
		}
		ws__mask_sse2(dst, src, len, key);
		return;
#elif WS__HAVE_NEON
		ws__mask_neon(dst, src, len, key);
		return;
#endif
	}
	ws__mask_scalar(dst, src, len, key);
}

void ws_mask_copy(void *dst, const void *src, size_t len, const uint8_t key[4], uint64_t offset)
{
	ws__mask(dst, src, len, ws__key_rotate(ws__key32(key), offset));
}

void ws_mask(void *data, size_t len, const uint8_t key[4], uint64_t offset)
{
	ws__mask(data, data, len, ws__key_rotate(ws__key32(key), offset));
}
