/* Unmasking (RFC 6455 §5.3) and UTF-8 validation (RFC 3629): the private
 * header of mask.c, utf8.c, simd_x86.c, simd_neon.c and simd_dispatch.c.
 * Calls run one way, down these layers:
 *   1. scalar helpers, inline, here: key rotation, short masking, ASCII
 *      test, sequence boundaries. They call nothing.
 *   2. kernels, each exact at any length, alignment and key: the scalar ones
 *      (mask.c: the word loop; utf8.c: the DFA and what the vector
 *      validators share) and one set per ISA (simd_x86.c, simd_neon.c). A
 *      vector kernel calls helpers, functions of its own ISA and the scalar
 *      kernels, never the dispatch.
 *   3. dispatch (simd_dispatch.c): picks a kernel for this CPU from one
 *      cached value, and holds the entry points the rest of libws calls
 *      (ws_mask, ws_mask_copy, ws_utf8_validate, ws__mask, ws__unmask,
 *      ws__unmask_utf8).
 * The kernel files define WS__SIMD_KERNEL before including this header, so
 * layer 3 is not declared there: a call back up does not compile.
 * It is the bottom of libws/: ws_internal.h includes it first.
 *
 * A mask key travels as a uint32_t holding the 4 key bytes in memory order
 * (memcpy'd), already rotated so that its first byte masks the first byte
 * processed. test/test_simd.c compares every kernel with byte loops. */
#ifndef WS_SIMD_H
#define WS_SIMD_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__GNUC__) || defined(__clang__)
#define WS_LIKELY(x) __builtin_expect(!!(x), 1)
#define WS_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define WS_LIKELY(x) (x)
#define WS_UNLIKELY(x) (x)
#endif
/* The hot paths are forced inline for speed, except in a build for size
 * (-Os, as for a microcontroller), where the compiler chooses: less flash
 * (make mcu). */
#if (defined(__GNUC__) || defined(__clang__)) && !defined(__OPTIMIZE_SIZE__)
#define WS_INLINE static inline __attribute__((always_inline))
#else
#define WS_INLINE static inline
#endif
/* Keeps a rare path out of its caller, whose registers then stay free. */
#if defined(__GNUC__) || defined(__clang__)
#define WS_NOINLINE __attribute__((noinline))
#else
#define WS_NOINLINE
#endif

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define WS__HAVE_X86 1 /* SSE2 is the baseline; SSSE3, AVX2, AVX-512BW chosen at run time */
#include <emmintrin.h>
#endif
#if defined(__ARM_NEON) && defined(__aarch64__) && defined(__BYTE_ORDER__) && \
	__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define WS__HAVE_NEON 1 /* AArch64 (little-endian): NEON is always there */
#endif

/* Kernel sets, by rank: where a CPU runs several, the highest is used. */
enum {
	WS__ISA_SSE2 = 0x1,
	WS__ISA_SSSE3 = 0x2,
	WS__ISA_AVX2 = 0x4,
	WS__ISA_AVX512 = 0x8,      /* AVX-512F + BW */
	WS__ISA_AVX512VBMI = 0x10, /* and VBMI */
	WS__ISA_NEON = 0x20
};

#ifndef WS__UNMASK_INLINE
#define WS__UNMASK_INLINE 128
#endif
/* Below this length the scalar kernels win: no call, no vector setup. */
#define WS__VECTOR_MIN 64

/* ---- 1. Scalar helpers ---- */

WS_INLINE uint32_t ws__key32(const uint8_t key[4])
{
	uint32_t k;
	memcpy(&k, key, 4);
	return k;
}

/* The key for the byte n positions further on: byte i of the result is byte
 * (i + n) % 4 of k, in memory order. */
WS_INLINE uint32_t ws__key_rotate(uint32_t k, uint64_t n)
{
	unsigned r = (unsigned)(n & 3) * 8;

	if (!r)
		return k;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return k >> r | k << (32 - r);
#elif defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	return k << r | k >> (32 - r);
#else
	{
		uint8_t b[8];
		memcpy(b, &k, 4);
		memcpy(b + 4, &k, 4);
		memcpy(&k, b + (n & 3), 4);
		return k;
	}
#endif
}

/* The last n < 4 bytes of a run whose key phase is 0: a 2-byte step, then
 * a byte, with the key's bytes taken in memory order, so no array is needed. */
WS_INLINE void ws__mask_tail3(uint8_t *dst, const uint8_t *src, size_t n, uint32_t key)
{
	if (n & 2) {
		uint16_t w, k;
		memcpy(&w, src, 2);
		memcpy(&k, &key, 2);
		w ^= k;
		memcpy(dst, &w, 2);
		key = ws__key_rotate(key, 2);
		dst += 2, src += 2;
	}
	if (n & 1) {
		uint8_t k;
		memcpy(&k, &key, 1);
		*dst = *src ^ k;
	}
}

/* dst[i] = src[i] ^ key for small n, inline: 16 bytes per iteration, then
 * one step per set bit of the remainder (8, 4, 2, 1), each keeping the key
 * phase. dst == src or no overlap. Returns nonzero if a byte written has its
 * high bit set: a free ASCII test for short text, dead code for callers that
 * ignore it. */
WS_INLINE int ws__mask_small_hi(uint8_t *dst, const uint8_t *src, size_t n, uint32_t key)
{
	uint64_t k = (uint64_t)key << 32 | key, acc = 0; /* k: the same bytes in either byte order */
	size_t i = 0;

#if WS__HAVE_X86
	if (n >= 16) {
		/* The last 16 bytes as one vector, unmasked from the input before the
		 * loop writes any of them: storing it after the loop rewrites the
		 * bytes both cover with the same values, and no tail is left. The
		 * test stays in vector registers: compilers vectorize a word loop
		 * anyway, then move every word back to test it. */
		__m128i vk = _mm_set1_epi32((int)key);
		__m128i t = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(src + n - 16)),
		                          _mm_set1_epi32((int)ws__key_rotate(key, n)));
		__m128i hi = t;
		for (; i + 16 <= n; i += 16) {
			__m128i v = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(src + i)), vk);
			_mm_storeu_si128((__m128i *)(dst + i), v);
			hi = _mm_or_si128(hi, v);
		}
		_mm_storeu_si128((__m128i *)(dst + n - 16), t);
		return _mm_movemask_epi8(hi);
	}
#endif
	for (; i + 16 <= n; i += 16) {
		uint64_t a, b;
		memcpy(&a, src + i, 8);
		memcpy(&b, src + i + 8, 8);
		a ^= k, b ^= k;
		memcpy(dst + i, &a, 8);
		memcpy(dst + i + 8, &b, 8);
		acc |= a | b;
	}
	if (n & 8) {
		uint64_t w;
		memcpy(&w, src + i, 8);
		w ^= k;
		memcpy(dst + i, &w, 8);
		acc |= w;
		i += 8;
	}
	if (n & 4) {
		uint32_t w;
		memcpy(&w, src + i, 4);
		w ^= key;
		memcpy(dst + i, &w, 4);
		acc |= w;
		i += 4;
	}
	ws__mask_tail3(dst + i, src + i, n & 3, key);
	for (; i < n; i++)
		acc |= dst[i];
	return (acc & 0x8080808080808080u) != 0;
}

WS_INLINE void ws__mask_small(uint8_t *dst, const uint8_t *src, size_t n, uint32_t key)
{
	(void)ws__mask_small_hi(dst, src, n, key);
}

/* 1 if p[0..n) is all ASCII; for short inputs, inline. */
WS_INLINE int ws__ascii_small(const uint8_t *p, size_t n)
{
	uint64_t acc = 0;
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		uint64_t w;
		memcpy(&w, p + i, 8);
		acc |= w;
	}
	if (i + 4 <= n) {
		uint32_t w;
		memcpy(&w, p + i, 4);
		acc |= w;
		i += 4;
	}
	for (; i < n; i++)
		acc |= p[i];
	return !(acc & 0x8080808080808080u);
}

/* The start of the last UTF-8 sequence before p[b], given that p[lo..b)
 * passed validation and lo is a sequence boundary: the DFA restarted there
 * in state 0 sees exactly what it would have seen. */
WS_INLINE size_t ws__utf8_boundary(const uint8_t *p, size_t b, size_t lo)
{
	for (size_t t = 1; t <= 3 && b >= lo + t; t++) {
		uint8_t ch = p[b - t];
		if (ch >= 0xC0)
			return b - t;
		if (ch < 0x80)
			break;
	}
	return b;
}

/* 1 if a sequence that began in p[-3..-1] (valid so far) is unfinished at
 * p[0]: then ASCII at p[0] is an error. Those 3 bytes must be readable. */
WS_INLINE int ws__utf8_unfinished(const uint8_t *p)
{
	return p[-1] >= 0xc0 || p[-2] >= 0xe0 || p[-3] >= 0xf0;
}

/* ---- 2. Kernels ---- */

/* Masking: dst[i] = src[i] ^ key, dst == src or no overlap. */
void ws__mask_scalar(uint8_t *dst, const uint8_t *src, size_t len, uint32_t key);
#if WS__HAVE_X86
void ws__mask_sse2(uint8_t *dst, const uint8_t *src, size_t len, uint32_t key);
void ws__mask_avx2(uint8_t *dst, const uint8_t *src, size_t len, uint32_t key);
void ws__mask_avx512(uint8_t *dst, const uint8_t *src, size_t len, uint32_t key);
#endif
#if WS__HAVE_NEON
void ws__mask_neon(uint8_t *dst, const uint8_t *src, size_t len, uint32_t key);
#endif

/* UTF-8, with the contract of ws_utf8_validate(): the scalar DFA (fallback
 * and test oracle) and one vectorised validator per ISA. */
size_t ws__utf8_dfa(uint32_t *state, const uint8_t *s, size_t len);
#if WS__HAVE_X86
size_t ws__utf8_ssse3(uint32_t *state, const uint8_t *s, size_t len);
size_t ws__utf8_avx2(uint32_t *state, const uint8_t *s, size_t len);
size_t ws__utf8_avx512(uint32_t *state, const uint8_t *s, size_t len);
#endif
#if WS__HAVE_NEON
size_t ws__utf8_neon(uint32_t *state, const uint8_t *s, size_t len);
#endif

/* Unmask d[0..n) in place with key and validate the result as UTF-8 in the
 * same pass, continuing *state. Every byte of d[0..n) is unmasked exactly
 * once, whatever the outcome. Return the valid prefix length as
 * ws_utf8_validate() does (n when all is valid). */
size_t ws__unmask_utf8_scalar(uint8_t *d, size_t n, uint32_t key, uint32_t *state);
#if WS__HAVE_X86
size_t ws__unmask_utf8_ssse3(uint8_t *d, size_t n, uint32_t key, uint32_t *state);
size_t ws__unmask_utf8_avx2(uint8_t *d, size_t n, uint32_t key, uint32_t *state);
size_t ws__unmask_utf8_avx512(uint8_t *d, size_t n, uint32_t key, uint32_t *state);
size_t ws__unmask_utf8_vbmi(uint8_t *d, size_t n, uint32_t key, uint32_t *state);
#endif
#if WS__HAVE_NEON
size_t ws__unmask_utf8_neon(uint8_t *d, size_t n, uint32_t key, uint32_t *state);
#endif

/* What the vector validators share (utf8.c). */

/* The three 16-entry tables of the lookup-table method, and the bytes that
 * find a sequence unfinished at the end of a step; defined once, in utf8.c,
 * where the method is explained. Each ISA loads or broadcasts them. */
typedef struct ws__utf8_lut {
	uint8_t prev_high[16]; /* by the previous byte's high nibble */
	uint8_t prev_low[16];  /* by the previous byte's low nibble */
	uint8_t high[16];      /* by the byte's own high nibble */
	uint8_t incomplete[16];
} ws__utf8_lut;
extern const ws__utf8_lut ws__utf8_tables;

/* Finishes a sequence carried in from an earlier call (*state != 0) a byte
 * at a time, unmasking each byte first when d is set (d == s then). Sets
 * *pos to the offset where state 0 is reached (n if it is not) and returns
 * 0, or sets *pos to the offset of an invalid byte, having unmasked all of
 * d[0..n), and returns 1. */
int ws__utf8_carry(uint8_t *d, const uint8_t *s, size_t n, uint32_t key, uint32_t *state,
                   size_t *pos);

/* The vector validators only tell that a step has an error, all before it
 * good: the DFA, restarted at the last sequence boundary before s[at] (lo
 * being one, with s[lo..at) valid), gives the exact answer for s[0..n). With
 * at == n it ends a pass that found no error, setting the state an
 * unfinished last sequence leaves (or finding a lead byte at the very end
 * that no sequence may start with). */
WS_INLINE size_t ws__utf8_resume(const uint8_t *s, size_t n, size_t at, size_t lo, uint32_t *state)
{
	size_t j = ws__utf8_boundary(s, at, lo);

	*state = 0;
	return j == n ? n : j + ws__utf8_dfa(state, s + j, n - j);
}

/* ---- 3. Dispatch and entry points (simd_dispatch.c) ---- */
#ifndef WS__SIMD_KERNEL

/* The kernel sets this build has and this CPU runs (WS__ISA_*), found once. */
unsigned ws__isa(void);
/* For tests: the dispatchers use the kernel set best (one of ws__isa()'s,
 * else ignored) instead of the highest; 0 restores the highest. It applies
 * to every thread, which is safe: all kernels carry the same state. */
void ws__isa_use(unsigned best);

/* The best kernel for this CPU for long inputs, the scalar one for short. */
void ws__mask(uint8_t *dst, const uint8_t *src, size_t len, uint32_t key);

/* Unmasks d[0..n) in place: inline for short payloads, else ws__mask(). A
 * build for size always calls (make mcu shows what the inline copy costs). */
WS_INLINE void ws__unmask(uint8_t *d, size_t n, uint32_t key)
{
#ifndef __OPTIMIZE_SIZE__
	if (n <= WS__UNMASK_INLINE)
		ws__mask_small(d, d, n, key);
	else
#endif
		ws__mask(d, d, n, key);
}

/* ws__unmask(), returning 1 if the unmasked bytes are all ASCII: short text
 * is checked in the same pass, while it is in registers. A build for size
 * calls, then tests. */
WS_INLINE int ws__unmask_ascii(uint8_t *d, size_t n, uint32_t key)
{
#ifndef __OPTIMIZE_SIZE__
	if (n <= WS__UNMASK_INLINE)
		return !ws__mask_small_hi(d, d, n, key);
#endif
	ws__mask(d, d, n, key);
	return ws__ascii_small(d, n);
}

/* As ws__unmask_utf8_scalar(), with the best kernel for this CPU. */
size_t ws__unmask_utf8(uint8_t *d, size_t n, uint32_t key, uint32_t *state);

#endif /* WS__SIMD_KERNEL */

#endif /* WS_SIMD_H */
