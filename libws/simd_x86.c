/* x86-64 vector kernels for unmasking and UTF-8 validation: SSE2 (the
 * baseline), SSSE3, AVX2 and AVX-512BW, each compiled for its ISA with a
 * target attribute; simd_dispatch.c picks one at run time. The validators
 * use the lookup-table method explained in utf8.c, with its tables. */
#define WS__SIMD_KERNEL
#include "simd.h"

#if WS__HAVE_X86
#include <immintrin.h>

#define TGT_SSSE3 __attribute__((target("ssse3")))
#define TGT_AVX2 __attribute__((target("avx2")))
#define TGT_AVX512 __attribute__((target("avx512f,avx512bw")))
#define ALWAYS static inline __attribute__((always_inline))

/* One of the 16-byte tables of utf8.c, which each ISA loads or broadcasts. */
#define LUT(name) _mm_loadu_si128((const __m128i *)ws__utf8_tables.name)

/* ---- SSE2 / SSSE3 ---- */

void ws__mask_sse2(uint8_t *dst, const uint8_t *src, size_t len, uint32_t key)
{
	__m128i k = _mm_set1_epi32((int)key);
	size_t i = 0;

	for (; i + 64 <= len; i += 64) {
		__m128i a = _mm_loadu_si128((const __m128i *)(src + i));
		__m128i b = _mm_loadu_si128((const __m128i *)(src + i + 16));
		__m128i e = _mm_loadu_si128((const __m128i *)(src + i + 32));
		__m128i f = _mm_loadu_si128((const __m128i *)(src + i + 48));
		_mm_storeu_si128((__m128i *)(dst + i), _mm_xor_si128(a, k));
		_mm_storeu_si128((__m128i *)(dst + i + 16), _mm_xor_si128(b, k));
		_mm_storeu_si128((__m128i *)(dst + i + 32), _mm_xor_si128(e, k));
		_mm_storeu_si128((__m128i *)(dst + i + 48), _mm_xor_si128(f, k));
	}
	for (; i + 16 <= len; i += 16) {
		__m128i a = _mm_loadu_si128((const __m128i *)(src + i));
		_mm_storeu_si128((__m128i *)(dst + i), _mm_xor_si128(a, k));
	}
	ws__mask_small(dst + i, src + i, len - i, key);
}

typedef struct tables128 {
	__m128i t1, t2, t3, nib, c60, c70, c80, inc;
} tables128;

TGT_SSSE3 ALWAYS void tables128_init(tables128 *t)
{
	t->t1 = LUT(prev_high);
	t->t2 = LUT(prev_low);
	t->t3 = LUT(high);
	t->inc = LUT(incomplete);
	t->nib = _mm_set1_epi8(0x0f);
	t->c60 = _mm_set1_epi8(0x60);
	t->c70 = _mm_set1_epi8(0x70);
	t->c80 = _mm_set1_epi8((char)0x80);
}

/* Error bits for every byte of cur, prev being the 16 bytes before it. */
TGT_SSSE3 ALWAYS __m128i check128(const tables128 *t, __m128i prev, __m128i cur)
{
	__m128i p1 = _mm_alignr_epi8(cur, prev, 15);
	__m128i p2 = _mm_alignr_epi8(cur, prev, 14);
	__m128i p3 = _mm_alignr_epi8(cur, prev, 13);
	__m128i a = _mm_shuffle_epi8(t->t1, _mm_and_si128(_mm_srli_epi16(p1, 4), t->nib));
	__m128i b = _mm_shuffle_epi8(t->t2, _mm_and_si128(p1, t->nib));
	__m128i c = _mm_shuffle_epi8(t->t3, _mm_and_si128(_mm_srli_epi16(cur, 4), t->nib));
	__m128i m = _mm_or_si128(_mm_subs_epu8(p2, t->c60), _mm_subs_epu8(p3, t->c70));
	return _mm_xor_si128(_mm_and_si128(_mm_and_si128(a, b), c), _mm_and_si128(m, t->c80));
}

TGT_SSSE3 ALWAYS size_t utf8_ssse3(uint8_t *d, const uint8_t *s, size_t n, uint32_t key,
                                   uint32_t *state, int masking)
{
	tables128 t;
	__m128i k, prev, inc, zero = _mm_setzero_si128();
	size_t i = 0, lo, done;

	if (*state) {
		if (ws__utf8_carry(masking ? d : NULL, s, n, key, state, &i) || i == n)
			return i;
		key = ws__key_rotate(key, i);
	}
	lo = i;
	tables128_init(&t);
	k = _mm_set1_epi32((int)key);
	prev = inc = zero;
	for (; i + 64 <= n; i += 64) {
		__m128i v0 = _mm_loadu_si128((const __m128i *)(s + i));
		__m128i v1 = _mm_loadu_si128((const __m128i *)(s + i + 16));
		__m128i v2 = _mm_loadu_si128((const __m128i *)(s + i + 32));
		__m128i v3 = _mm_loadu_si128((const __m128i *)(s + i + 48));
		__m128i e;
		if (masking) {
			v0 = _mm_xor_si128(v0, k);
			v1 = _mm_xor_si128(v1, k);
			v2 = _mm_xor_si128(v2, k);
			v3 = _mm_xor_si128(v3, k);
			_mm_storeu_si128((__m128i *)(d + i), v0);
			_mm_storeu_si128((__m128i *)(d + i + 16), v1);
			_mm_storeu_si128((__m128i *)(d + i + 32), v2);
			_mm_storeu_si128((__m128i *)(d + i + 48), v3);
		}
		if (WS_LIKELY(!_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(v0, v1), _mm_or_si128(v2, v3))))) {
			if (WS_UNLIKELY(_mm_movemask_epi8(_mm_cmpeq_epi8(inc, zero)) != 0xffff))
				goto fail;
			prev = v3;
			continue;
		}
		e = _mm_or_si128(_mm_or_si128(check128(&t, prev, v0), check128(&t, v0, v1)),
		                 _mm_or_si128(check128(&t, v1, v2), check128(&t, v2, v3)));
		prev = v3;
		inc = _mm_subs_epu8(v3, t.inc);
		if (WS_UNLIKELY(_mm_movemask_epi8(_mm_cmpeq_epi8(e, zero)) != 0xffff))
			goto fail;
	}
	if (i < n) {
		size_t r = n - i;
		uint8_t tmp[64] = {0};
		__m128i v0, v1, v2, v3;
		uint64_t bad;
		if (masking)
			ws__mask_small(d + i, d + i, r, key);
		memcpy(tmp, s + i, r);
		v0 = _mm_loadu_si128((const __m128i *)tmp);
		v1 = _mm_loadu_si128((const __m128i *)(tmp + 16));
		v2 = _mm_loadu_si128((const __m128i *)(tmp + 32));
		v3 = _mm_loadu_si128((const __m128i *)(tmp + 48));
		bad = (uint64_t)(uint16_t)~_mm_movemask_epi8(_mm_cmpeq_epi8(check128(&t, prev, v0), zero));
		bad |= (uint64_t)(uint16_t)~_mm_movemask_epi8(_mm_cmpeq_epi8(check128(&t, v0, v1), zero)) << 16;
		bad |= (uint64_t)(uint16_t)~_mm_movemask_epi8(_mm_cmpeq_epi8(check128(&t, v1, v2), zero)) << 32;
		bad |= (uint64_t)(uint16_t)~_mm_movemask_epi8(_mm_cmpeq_epi8(check128(&t, v2, v3), zero)) << 48;
		if (bad & ((1ull << r) - 1))
			return ws__utf8_resume(s, n, i, lo, state);
	}
	return ws__utf8_resume(s, n, n, lo, state);
fail:
	done = i + 64;
	if (masking && done < n)
		ws__mask_sse2(d + done, d + done, n - done, key);
	return ws__utf8_resume(s, n, i, lo, state);
}

TGT_SSSE3 size_t ws__utf8_ssse3(uint32_t *state, const uint8_t *s, size_t len)
{
	return utf8_ssse3(NULL, s, len, 0, state, 0);
}

TGT_SSSE3 size_t ws__unmask_utf8_ssse3(uint8_t *d, size_t n, uint32_t key, uint32_t *state)
{
	return utf8_ssse3(d, d, n, key, state, 1);
}

/* The fused paths unmask a block of 2 KiB (it stays in L1), then validate
 * it from memory. */
#define FUSED_BLOCK 2048

/* ---- AVX2 ---- */

/* With want_or set, also returns the OR of every result byte (a free ASCII
 * test for the fused path); else zero. */
TGT_AVX2 ALWAYS __m256i mask256(uint8_t *dst, const uint8_t *src, size_t len, uint32_t key,
                                int want_or)
{
	__m256i k = _mm256_set1_epi32((int)key), acc = _mm256_setzero_si256(), acc2 = acc;
	size_t i = 0;

	for (; i + 128 <= len; i += 128) {
		__m256i a = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(src + i)), k);
		__m256i b = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(src + i + 32)), k);
		__m256i e = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(src + i + 64)), k);
		__m256i f = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(src + i + 96)), k);
		_mm256_storeu_si256((__m256i *)(dst + i), a);
		_mm256_storeu_si256((__m256i *)(dst + i + 32), b);
		_mm256_storeu_si256((__m256i *)(dst + i + 64), e);
		_mm256_storeu_si256((__m256i *)(dst + i + 96), f);
		if (want_or) {
			acc = _mm256_or_si256(acc, _mm256_or_si256(a, b));
			acc2 = _mm256_or_si256(acc2, _mm256_or_si256(e, f));
		}
	}
	for (; i + 32 <= len; i += 32) {
		__m256i a = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(src + i)), k);
		_mm256_storeu_si256((__m256i *)(dst + i), a);
		if (want_or)
			acc = _mm256_or_si256(acc, a);
	}
	if (i + 16 <= len) {
		__m128i a = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(src + i)), _mm256_castsi256_si128(k));
		_mm_storeu_si128((__m128i *)(dst + i), a);
		if (want_or)
			acc = _mm256_or_si256(acc, _mm256_castsi128_si256(a));
		i += 16;
	}
	ws__mask_small(dst + i, src + i, len - i, key);
	if (want_or)
		for (; i < len; i++)
			acc = _mm256_or_si256(acc, _mm256_set1_epi8((char)dst[i]));
	return _mm256_or_si256(acc, acc2);
}

TGT_AVX2 void ws__mask_avx2(uint8_t *dst, const uint8_t *src, size_t len, uint32_t key)
{
	mask256(dst, src, len, key, 0);
}

typedef struct tables256 {
	__m256i t1, t2, t3, nib, c60, c70, c80;
} tables256;

TGT_AVX2 ALWAYS void tables256_init(tables256 *t)
{
	t->t1 = _mm256_broadcastsi128_si256(LUT(prev_high));
	t->t2 = _mm256_broadcastsi128_si256(LUT(prev_low));
	t->t3 = _mm256_broadcastsi128_si256(LUT(high));
	t->nib = _mm256_set1_epi8(0x0f);
	t->c60 = _mm256_set1_epi8(0x60);
	t->c70 = _mm256_set1_epi8(0x70);
	t->c80 = _mm256_set1_epi8((char)0x80);
}

TGT_AVX2 ALWAYS uint32_t nonzero256(__m256i v)
{
	return ~(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, _mm256_setzero_si256()));
}

/* As check512_mem(): the previous bytes come from unaligned loads. */
TGT_AVX2 ALWAYS __m256i check256_mem(const tables256 *t, __m256i cur, __m256i p1, __m256i p2,
                                     __m256i p3)
{
	__m256i a = _mm256_shuffle_epi8(t->t1, _mm256_and_si256(_mm256_srli_epi16(p1, 4), t->nib));
	__m256i b = _mm256_shuffle_epi8(t->t2, _mm256_and_si256(p1, t->nib));
	__m256i c = _mm256_shuffle_epi8(t->t3, _mm256_and_si256(_mm256_srli_epi16(cur, 4), t->nib));
	__m256i m = _mm256_or_si256(_mm256_subs_epu8(p2, t->c60), _mm256_subs_epu8(p3, t->c70));
	return _mm256_xor_si256(_mm256_and_si256(_mm256_and_si256(a, b), c),
	                        _mm256_and_si256(m, t->c80));
}

TGT_AVX2 ALWAYS __m256i check256_at(const tables256 *t, const uint8_t *p)
{
	return check256_mem(t, _mm256_loadu_si256((const __m256i *)p),
	                    _mm256_loadu_si256((const __m256i *)(p - 1)),
	                    _mm256_loadu_si256((const __m256i *)(p - 2)),
	                    _mm256_loadu_si256((const __m256i *)(p - 3)));
}

/* A step of r <= 64 bytes at s + i from a zero-padded copy, with the up to
 * 3 bytes before it that are not before lo (the others read as zero). */
TGT_AVX2 ALWAYS int edge256(const tables256 *t, const uint8_t *s, size_t lo, size_t i, size_t r)
{
	uint8_t tmp[3 + 64] = {0};
	size_t pre = i - lo < 3 ? i - lo : 3;
	uint64_t bad;

	memcpy(tmp + 3 - pre, s + i - pre, pre + r);
	bad = nonzero256(check256_at(t, tmp + 3)) |
	      (uint64_t)nonzero256(check256_mem(t, _mm256_loadu_si256((const __m256i *)(tmp + 35)),
	                                        _mm256_loadu_si256((const __m256i *)(tmp + 34)),
	                                        _mm256_loadu_si256((const __m256i *)(tmp + 33)),
	                                        _mm256_loadu_si256((const __m256i *)(tmp + 32))))
	          << 32;
	return (r >= 64 ? bad : bad & (((uint64_t)1 << r) - 1)) != 0;
}

/* As range512(): checks s[from..to) given s[lo..from) valid in memory. */
TGT_AVX2 ALWAYS int range256(const tables256 *t, const uint8_t *s, size_t lo, size_t from,
                             size_t to, size_t *at)
{
	size_t i = from;

	if (i == lo && i < to) {
		if (edge256(t, s, lo, i, to - i < 64 ? to - i : 64))
			goto fail;
		i += 64;
	}
	for (; i + 128 <= to; i += 128) {
		__m256i v0 = _mm256_loadu_si256((const __m256i *)(s + i));
		__m256i v1 = _mm256_loadu_si256((const __m256i *)(s + i + 32));
		__m256i v2 = _mm256_loadu_si256((const __m256i *)(s + i + 64));
		__m256i v3 = _mm256_loadu_si256((const __m256i *)(s + i + 96));
		__m256i e;
		if (WS_LIKELY(!_mm256_movemask_epi8(_mm256_or_si256(_mm256_or_si256(v0, v1),
		                                                    _mm256_or_si256(v2, v3))))) {
			if (WS_UNLIKELY(ws__utf8_unfinished(s + i)))
				goto fail;
			continue;
		}
		e = _mm256_or_si256(_mm256_or_si256(check256_at(t, s + i), check256_at(t, s + i + 32)),
		                    _mm256_or_si256(check256_at(t, s + i + 64), check256_at(t, s + i + 96)));
		if (WS_UNLIKELY(!_mm256_testz_si256(e, e)))
			goto fail;
	}
	for (; i + 64 <= to; i += 64) {
		__m256i e = _mm256_or_si256(check256_at(t, s + i), check256_at(t, s + i + 32));
		if (WS_UNLIKELY(!_mm256_testz_si256(e, e)))
			goto fail;
	}
	if (i < to && edge256(t, s, lo, i, to - i))
		goto fail;
	return 0;
fail:
	*at = i;
	return 1;
}

TGT_AVX2 size_t ws__utf8_avx2(uint32_t *state, const uint8_t *s, size_t len)
{
	tables256 t;
	size_t lo = 0, at;

	if (*state && (ws__utf8_carry(NULL, s, len, 0, state, &lo) || lo == len))
		return lo;
	tables256_init(&t);
	if (range256(&t, s, lo, lo, len, &at))
		return ws__utf8_resume(s, len, at, lo, state);
	return ws__utf8_resume(s, len, len, lo, state);
}

/* As ws__unmask_utf8_avx512(): unmask a 2 KiB block, then validate it. */
TGT_AVX2 size_t ws__unmask_utf8_avx2(uint8_t *d, size_t n, uint32_t key, uint32_t *state)
{
	tables256 t;
	size_t lo = 0, b, e, at;

	if (*state) {
		if (ws__utf8_carry(d, d, n, key, state, &lo) || lo == n)
			return lo;
		key = ws__key_rotate(key, lo);
	}
	for (b = lo; b < n; b = e) {
		int bad;
		e = n - b > FUSED_BLOCK ? b + FUSED_BLOCK : n;
		if (!_mm256_movemask_epi8(mask256(d + b, d + b, e - b, ws__key_rotate(key, b - lo), 1))) {
			/* All ASCII: only a sequence unfinished before it can fail. */
			bad = b > lo && ws__utf8_unfinished(d + b);
			at = b;
		} else {
			tables256_init(&t);
			bad = range256(&t, d, lo, b, e, &at);
		}
		if (WS_UNLIKELY(bad)) {
			if (e < n)
				ws__mask_avx2(d + e, d + e, n - e, ws__key_rotate(key, e - lo));
			return ws__utf8_resume(d, n, at, lo, state);
		}
	}
	return ws__utf8_resume(d, n, n, lo, state);
}

/* ---- AVX-512 (F + BW): 64-byte registers, masked loads and stores for tails ---- */

TGT_AVX512 ALWAYS __mmask64 first_bytes(size_t r)
{
	return r >= 64 ? ~(__mmask64)0 : ((__mmask64)1 << r) - 1;
}

/* The destination is aligned to 64 bytes first (a masked head), as unaligned
 * 64-byte stores each split across two cache lines. With want_or set, also
 * returns the OR of every result byte (for a free ASCII test); else 0. */
TGT_AVX512 ALWAYS __m512i mask512(uint8_t *dst, const uint8_t *src, size_t len, uint32_t key,
                                  int want_or)
{
	size_t mis = (uintptr_t)dst & 63, i;
	__m512i k, acc = _mm512_setzero_si512(), acc2 = _mm512_setzero_si512();

	if (len == 0)
		return acc;
	if (mis) {
		/* Bytes [mis, 64) of the aligned block around dst; the masked-off
		 * bytes are neither read nor written. */
		__mmask64 m = ~(__mmask64)0 << mis;
		__m512i v;
		if (len < 64 - mis)
			m &= first_bytes(mis + len);
		k = _mm512_set1_epi32((int)ws__key_rotate(key, (0 - mis) & 3));
		v = _mm512_maskz_mov_epi8(m, _mm512_xor_si512(_mm512_maskz_loadu_epi8(m, src - mis), k));
		_mm512_mask_storeu_epi8(dst - mis, m, v);
		acc = v;
		i = 64 - mis;
		if (i >= len)
			return acc;
		key = ws__key_rotate(key, i);
	} else {
		i = 0;
	}
	k = _mm512_set1_epi32((int)key);
	dst += i, src += i, len -= i;
	i = 0;
	for (; i + 256 <= len; i += 256) {
		__m512i a = _mm512_xor_si512(_mm512_loadu_si512((const void *)(src + i)), k);
		__m512i b = _mm512_xor_si512(_mm512_loadu_si512((const void *)(src + i + 64)), k);
		__m512i e = _mm512_xor_si512(_mm512_loadu_si512((const void *)(src + i + 128)), k);
		__m512i f = _mm512_xor_si512(_mm512_loadu_si512((const void *)(src + i + 192)), k);
		_mm512_store_si512((void *)(dst + i), a);
		_mm512_store_si512((void *)(dst + i + 64), b);
		_mm512_store_si512((void *)(dst + i + 128), e);
		_mm512_store_si512((void *)(dst + i + 192), f);
		if (want_or) {
			acc = _mm512_ternarylogic_epi32(acc, a, b, 0xfe);
			acc2 = _mm512_ternarylogic_epi32(acc2, e, f, 0xfe);
		}
	}
	for (; i + 64 <= len; i += 64) {
		__m512i a = _mm512_xor_si512(_mm512_loadu_si512((const void *)(src + i)), k);
		_mm512_store_si512((void *)(dst + i), a);
		if (want_or)
			acc = _mm512_or_si512(acc, a);
	}
	if (i < len) {
		__mmask64 m = first_bytes(len - i);
		__m512i a = _mm512_maskz_mov_epi8(m, _mm512_xor_si512(_mm512_maskz_loadu_epi8(m, src + i), k));
		_mm512_mask_storeu_epi8(dst + i, m, a);
		if (want_or)
			acc = _mm512_or_si512(acc, a);
	}
	return _mm512_or_si512(acc, acc2);
}

TGT_AVX512 void ws__mask_avx512(uint8_t *dst, const uint8_t *src, size_t len, uint32_t key)
{
	mask512(dst, src, len, key, 0);
}

typedef struct tables512 {
	__m512i t1, t2, t3, nib, c60, c70, c80;
} tables512;

TGT_AVX512 ALWAYS void tables512_init(tables512 *t)
{
	t->t1 = _mm512_broadcast_i32x4(LUT(prev_high));
	t->t2 = _mm512_broadcast_i32x4(LUT(prev_low));
	t->t3 = _mm512_broadcast_i32x4(LUT(high));
	t->nib = _mm512_set1_epi8(0x0f);
	t->c60 = _mm512_set1_epi8(0x60);
	t->c70 = _mm512_set1_epi8(0x70);
	t->c80 = _mm512_set1_epi8((char)0x80);
}

TGT_AVX512 ALWAYS __m512i check512(const tables512 *t, __m512i prev, __m512i cur)
{
	/* Lanes [prev.3, cur.0, cur.1, cur.2]: the 16 bytes before each lane. */
	__m512i before = _mm512_alignr_epi64(cur, prev, 6);
	__m512i p1 = _mm512_alignr_epi8(cur, before, 15);
	__m512i p2 = _mm512_alignr_epi8(cur, before, 14);
	__m512i p3 = _mm512_alignr_epi8(cur, before, 13);
	__m512i a = _mm512_shuffle_epi8(t->t1, _mm512_and_si512(_mm512_srli_epi16(p1, 4), t->nib));
	__m512i b = _mm512_shuffle_epi8(t->t2, _mm512_and_si512(p1, t->nib));
	__m512i c = _mm512_shuffle_epi8(t->t3, _mm512_and_si512(_mm512_srli_epi16(cur, 4), t->nib));
	__m512i m = _mm512_or_si512(_mm512_subs_epu8(p2, t->c60), _mm512_subs_epu8(p3, t->c70));
	return _mm512_xor_si512(_mm512_and_si512(_mm512_and_si512(a, b), c),
	                        _mm512_and_si512(m, t->c80));
}

/* Error bits for the 64 bytes cur whose previous bytes p1, p2, p3 (the
 * same 64 bytes shifted by 1, 2, 3) were loaded from memory: unaligned loads
 * cost no shuffle-port work, unlike building them from registers. */
TGT_AVX512 ALWAYS __m512i check512_mem(const tables512 *t, __m512i cur, __m512i p1, __m512i p2,
                                       __m512i p3)
{
	__m512i a = _mm512_shuffle_epi8(t->t1, _mm512_and_si512(_mm512_srli_epi16(p1, 4), t->nib));
	__m512i b = _mm512_shuffle_epi8(t->t2, _mm512_and_si512(p1, t->nib));
	__m512i c = _mm512_shuffle_epi8(t->t3, _mm512_and_si512(_mm512_srli_epi16(cur, 4), t->nib));
	__m512i m = _mm512_or_si512(_mm512_subs_epu8(p2, t->c60), _mm512_subs_epu8(p3, t->c70));
	/* (a & b & c) ^ (m & 0x80) */
	return _mm512_ternarylogic_epi32(_mm512_ternarylogic_epi32(a, b, c, 0x80), m, t->c80, 0x78);
}

TGT_AVX512 ALWAYS __m512i check512_at(const tables512 *t, const uint8_t *p)
{
	return check512_mem(t, _mm512_loadu_si512((const void *)p), _mm512_loadu_si512((const void *)(p - 1)),
	                    _mm512_loadu_si512((const void *)(p - 2)), _mm512_loadu_si512((const void *)(p - 3)));
}

/* Checks s[from..to) where s[lo..from) is valid UTF-8 in memory and lo is a
 * sequence boundary (nothing before lo is read). Returns 0, or 1 with *at
 * set to the start of a step that has an error, all before it good. */
TGT_AVX512 ALWAYS int range512(const tables512 *t, const uint8_t *s, size_t lo, size_t from,
                               size_t to, size_t *at)
{
	size_t i = from;

	if (i == lo && i < to) {
		/* The first step: what precedes it counts as ASCII. */
		__mmask64 m = first_bytes(to - i);
		__m512i e = check512(t, _mm512_setzero_si512(), _mm512_maskz_loadu_epi8(m, s + i));
		if (_mm512_mask_test_epi8_mask(m, e, e))
			goto fail;
		i += 64;
	}
	for (; i + 256 <= to; i += 256) {
		__m512i v0 = _mm512_loadu_si512((const void *)(s + i));
		__m512i v1 = _mm512_loadu_si512((const void *)(s + i + 64));
		__m512i v2 = _mm512_loadu_si512((const void *)(s + i + 128));
		__m512i v3 = _mm512_loadu_si512((const void *)(s + i + 192));
		__m512i e;
		if (WS_LIKELY(!_mm512_movepi8_mask(_mm512_ternarylogic_epi32(
		            _mm512_or_si512(v0, v1), v2, v3, 0xfe)))) {
			/* All ASCII: an error only if a sequence before it is unfinished. */
			if (WS_UNLIKELY(ws__utf8_unfinished(s + i)))
				goto fail;
			continue;
		}
		e = _mm512_ternarylogic_epi32(check512_at(t, s + i), check512_at(t, s + i + 64),
		                              check512_at(t, s + i + 128), 0xfe);
		e = _mm512_or_si512(e, check512_at(t, s + i + 192));
		if (WS_UNLIKELY(_mm512_test_epi8_mask(e, e)))
			goto fail;
	}
	for (; i < to; i += 64) {
		__mmask64 m = first_bytes(to - i);
		__m512i e = check512_mem(t, _mm512_maskz_loadu_epi8(m, s + i),
		                         _mm512_maskz_loadu_epi8(m, s + i - 1),
		                         _mm512_maskz_loadu_epi8(m, s + i - 2),
		                         _mm512_maskz_loadu_epi8(m, s + i - 3));
		if (_mm512_mask_test_epi8_mask(m, e, e))
			goto fail;
	}
	return 0;
fail:
	*at = i;
	return 1;
}

TGT_AVX512 size_t ws__utf8_avx512(uint32_t *state, const uint8_t *s, size_t len)
{
	tables512 t;
	size_t lo = 0, at;

	if (*state && (ws__utf8_carry(NULL, s, len, 0, state, &lo) || lo == len))
		return lo;
	tables512_init(&t);
	if (range512(&t, s, lo, lo, len, &at))
		return ws__utf8_resume(s, len, at, lo, state);
	return ws__utf8_resume(s, len, len, lo, state);
}


TGT_AVX512 size_t ws__unmask_utf8_avx512(uint8_t *d, size_t n, uint32_t key, uint32_t *state)
{
	tables512 t;
	size_t lo = 0, b, e, at;

	if (*state) {
		if (ws__utf8_carry(d, d, n, key, state, &lo) || lo == n)
			return lo;
		key = ws__key_rotate(key, lo);
	}
	for (b = lo; b < n; b = e) {
		int bad;
		e = n - b > FUSED_BLOCK ? b + FUSED_BLOCK : n;
		if (!_mm512_movepi8_mask(mask512(d + b, d + b, e - b, ws__key_rotate(key, b - lo), 1))) {
			/* All ASCII: only a sequence unfinished before it can fail. */
			bad = b > lo && ws__utf8_unfinished(d + b);
			at = b;
		} else {
			tables512_init(&t); /* cheap; only text that is not ASCII needs it */
			bad = range512(&t, d, lo, b, e, &at);
		}
		if (WS_UNLIKELY(bad)) {
			if (e < n)
				ws__mask_avx512(d + e, d + e, n - e, ws__key_rotate(key, e - lo));
			return ws__utf8_resume(d, n, at, lo, state);
		}
	}
	return ws__utf8_resume(d, n, n, lo, state);
}

#else
typedef int ws__simd_x86_unused; /* ISO C forbids an empty translation unit */
#endif
