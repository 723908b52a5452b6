/* The one place that chooses among the kernels of mask.c, utf8.c,
 * simd_x86.c and simd_neon.c, and the entry points that the rest of libws
 * and the public API call. The CPU is asked once; every dispatcher then
 * switches on the highest kernel set it runs. Inputs shorter than
 * WS__VECTOR_MIN go to the scalar kernels. */
#include "ws_internal.h"

#if WS__HAVE_X86
/* WS__ISA_* this CPU runs, with the highest of them again in bits 8-15;
 * 0 until first asked. Threads that race to fill it store the same value,
 * so relaxed atomics suffice (and make the race defined). */
static unsigned isa_cache;

__attribute__((cold, noinline)) static unsigned isa_detect(void)
{
	unsigned isa = WS__ISA_SSE2, best = WS__ISA_SSE2;

	/* Needed if we run before libgcc's own initialiser (a constructor). */
	__builtin_cpu_init();
	if (__builtin_cpu_supports("ssse3"))
		isa |= WS__ISA_SSSE3, best = WS__ISA_SSSE3;
	if (__builtin_cpu_supports("avx2"))
		isa |= WS__ISA_AVX2, best = WS__ISA_AVX2;
	if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw"))
		isa |= WS__ISA_AVX512, best = WS__ISA_AVX512;
	if (best == WS__ISA_AVX512 && __builtin_cpu_supports("avx512vbmi"))
		isa |= WS__ISA_AVX512VBMI, best = WS__ISA_AVX512VBMI;
	isa |= best << 8;
	__atomic_store_n(&isa_cache, isa, __ATOMIC_RELAXED);
	return isa;
}

WS_INLINE unsigned isa_all(void)
{
	unsigned v = __atomic_load_n(&isa_cache, __ATOMIC_RELAXED);

	return WS_LIKELY(v) ? v : isa_detect();
}

/* The highest kernel set this CPU runs. */
WS_INLINE unsigned isa_best(void)
{
	return isa_all() >> 8;
}

unsigned ws__isa(void)
{
	return isa_all() & 0xff;
}

void ws__isa_use(unsigned best)
{
	unsigned all = isa_all() & 0xff;

	if (!best)
		__atomic_store_n(&isa_cache, 0, __ATOMIC_RELAXED); /* asked again */
	else if (all & best && !(best & (best - 1)))
		__atomic_store_n(&isa_cache, all | best << 8, __ATOMIC_RELAXED);
}
#else
WS_INLINE unsigned isa_best(void)
{
#if WS__HAVE_NEON
	return WS__ISA_NEON;
#else
	return 0;
#endif
}

unsigned ws__isa(void)
{
	return isa_best();
}

void ws__isa_use(unsigned best)
{
	(void)best; /* one kernel set at most: nothing to choose */
}
#endif

#ifndef WS__VBMI_MIN
#define WS__VBMI_MIN 2048
#endif
#ifndef WS__AVX512_MIN
#define WS__AVX512_MIN 1024
#endif
void ws__mask(uint8_t *dst, const uint8_t *src, size_t len, uint32_t key)
{
	if (len >= WS__VECTOR_MIN) {
		switch (isa_best()) {
#if WS__HAVE_X86
		case WS__ISA_AVX512VBMI:
		case WS__ISA_AVX512:
			/* Its masked head and tail cost more than they save on short input. */
			if (len >= WS__AVX512_MIN) {
				ws__mask_avx512(dst, src, len, key);
				return;
			}
			/* fall through */
		case WS__ISA_AVX2:
			ws__mask_avx2(dst, src, len, key);
			return;
		default: /* SSE2, SSSE3 */
			ws__mask_sse2(dst, src, len, key);
			return;
#endif
#if WS__HAVE_NEON
		case WS__ISA_NEON:
			ws__mask_neon(dst, src, len, key);
			return;
#endif
		}
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

size_t ws_utf8_validate(uint32_t *state, const void *s, size_t len)
{
	if (len >= WS__VECTOR_MIN) {
		switch (isa_best()) {
#if WS__HAVE_X86
		case WS__ISA_AVX512VBMI: /* no gain without unmasking to fuse with */
		case WS__ISA_AVX512:
			return ws__utf8_avx512(state, s, len);
		case WS__ISA_AVX2:
			return ws__utf8_avx2(state, s, len);
		case WS__ISA_SSSE3:
			return ws__utf8_ssse3(state, s, len);
#endif
#if WS__HAVE_NEON
		case WS__ISA_NEON:
			return ws__utf8_neon(state, s, len);
#endif
		}
	}
	return ws__utf8_dfa(state, s, len);
}

size_t ws__unmask_utf8(uint8_t *d, size_t n, uint32_t key, uint32_t *state)
{
	if (n >= WS__VECTOR_MIN) {
		switch (isa_best()) {
#if WS__HAVE_X86
		case WS__ISA_AVX512VBMI:
			/* Below this, ASCII text parsed slower with it and mixed
			 * text hardly faster (see docs/performance.md). */
			if (n >= WS__VBMI_MIN)
				return ws__unmask_utf8_vbmi(d, n, key, state);
			/* fall through */
		case WS__ISA_AVX512:
			return ws__unmask_utf8_avx512(d, n, key, state);
		case WS__ISA_AVX2:
			return ws__unmask_utf8_avx2(d, n, key, state);
		case WS__ISA_SSSE3:
			return ws__unmask_utf8_ssse3(d, n, key, state);
		default: /* SSE2: no vector validator */
			ws__mask_sse2(d, d, n, key);
			return ws__utf8_dfa(state, d, n);
#endif
#if WS__HAVE_NEON
		case WS__ISA_NEON:
			return ws__unmask_utf8_neon(d, n, key, state);
#endif
		}
	}
	/* Inline for the short payloads of small frames; in a build for size,
	 * the scalar kernel, which is smaller (make mcu). */
#ifdef __OPTIMIZE_SIZE__
	ws__mask_scalar(d, d, n, key);
#else
	ws__mask_small(d, d, n, key);
#endif
	return ws__utf8_dfa(state, d, n);
}
