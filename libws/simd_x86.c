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
		int bad, ascii;
		e = n - b > FUSED_BLOCK ? b + FUSED_BLOCK : n;
		ascii = !_mm256_movemask_epi8(mask256(d + b, d + b, e - b, ws__key_rotate(key, b - lo), 1));
		if (ascii) {
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
		if (ascii && e == n) { /* ends in ASCII: at a boundary (see the AVX-512 pass) */
			*state = 0;
			return n;
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
		int bad, ascii;
		e = n - b > FUSED_BLOCK ? b + FUSED_BLOCK : n;
		ascii = !_mm512_movepi8_mask(mask512(d + b, d + b, e - b, ws__key_rotate(key, b - lo), 1));
		if (ascii) {
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
		if (ascii && e == n) {
			/* Ends in ASCII: at a boundary. Reading the last bytes back
			 * would wait for the masked store that wrote them. */
			*state = 0;
			return n;
		}
	}
	return ws__utf8_resume(d, n, n, lo, state);
}

/* ---- AVX-512 VBMI: unmasking and validation in one pass ---- */

/* The passes above unmask a block, then validate it from memory, with four
 * unaligned loads per 64 bytes (each step needs the 3 bytes before it).
 * VBMI's byte permutes let one pass do both from the unmasked register: the
 * two previous-byte lookups are made on each byte itself and moved one lane
 * up (one cross-lane permute), and the "2 or 3 bytes after a lead" condition
 * is three compares whose bit masks are shifted in general registers. vpermb
 * reads 6 index bits, so the 16-entry tables, repeated in each lane, need no
 * nibble masking. On an AMD Zen 4 (512-bit operations take a 256-bit unit
 * twice, so operations, not loads, are the cost), mixed text in large frames
 * parses faster (see docs/performance.md); below 2 KiB the two passes stay
 * (simd_dispatch.c). */
#define TGT_VBMI __attribute__((target("avx512f,avx512bw,avx512vbmi")))

typedef struct vbmi_carry {
	__m512i t1, t2, t3, up, ce0, cf0, cc0;
	__m512i ab;          /* the previous step's lookups by its own bytes */
	uint64_t k3, k4, kc; /* its bytes >= 0xE0, >= 0xF0, its continuations */
	uint64_t bad;        /* lanes where a second or third continuation is or is not due */
	int ready;           /* set up (vbmi_init()) */
} vbmi_carry;

/* Lane 0 takes lane 63 of the first operand; lane j, lane j - 1 of the second. */
static const uint8_t up_index[64] __attribute__((aligned(64))) = {
	63, 64, 65, 66, 67, 68, 69, 70, 71, 72, 73, 74, 75, 76, 77, 78,
	79, 80, 81, 82, 83, 84, 85, 86, 87, 88, 89, 90, 91, 92, 93, 94,
	95, 96, 97, 98, 99, 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110,
	111, 112, 113, 114, 115, 116, 117, 118, 119, 120, 121, 122, 123, 124, 125, 126,
};

/* Sets up c for a step after a sequence boundary (or ASCII). Only text
 * that is not all ASCII needs it: done at the first such step, so that
 * ASCII frames do not pay for it. */
TGT_VBMI ALWAYS void vbmi_init(vbmi_carry *c)
{
	c->t1 = _mm512_broadcast_i32x4(LUT(prev_high));
	c->t2 = _mm512_broadcast_i32x4(LUT(prev_low));
	/* Its TWO_CONTS bit (0x80) cleared: that check is made in bit masks. */
	c->t3 = _mm512_and_si512(_mm512_broadcast_i32x4(LUT(high)), _mm512_set1_epi8(0x7f));
	c->up = _mm512_load_si512((const void *)up_index);
	c->ce0 = _mm512_set1_epi8((char)0xe0);
	c->cf0 = _mm512_set1_epi8((char)0xf0);
	c->cc0 = _mm512_set1_epi8((char)0xc0);
	c->ab = _mm512_set1_epi8((char)(ws__utf8_tables.prev_high[0] & ws__utf8_tables.prev_low[0]));
	c->k3 = c->k4 = c->kc = c->bad = 0;
	c->ready = 1;
}

/* A bit mask in a general register: the shifts and ORs below then cost no
 * vector port (GCC 12 otherwise moves them to the mask registers). */
TGT_VBMI ALWAYS uint64_t gpr(__mmask64 k)
{
	uint64_t r = _cvtmask64_u64(k);

	__asm__("" : "+r"(r));
	return r;
}

/* Validates the 64 unmasked bytes cur after the step in c: returns the
 * error bits of the lookup tables for them (but TWO_CONTS, which t3 has
 * cleared), and adds to c->bad the lanes where a second or third
 * continuation is, or is not, due. */
TGT_VBMI ALWAYS __m512i step_vbmi(vbmi_carry *c, __m512i cur)
{
	__m512i e;
	__m512i hi, ab;
	uint64_t k3, k4, kc, two, must;

	if (WS_UNLIKELY(!c->ready))
		vbmi_init(c);
	hi = _mm512_srli_epi16(cur, 4);
	ab = _mm512_and_si512(_mm512_permutexvar_epi8(hi, c->t1), _mm512_permutexvar_epi8(cur, c->t2));
	k3 = gpr(_mm512_cmpge_epu8_mask(cur, c->ce0));
	k4 = gpr(_mm512_cmpge_epu8_mask(cur, c->cf0));
	kc = gpr(_mm512_cmplt_epi8_mask(cur, c->cc0)); /* 80-BF: below C0 as signed */
	/* TWO_CONTS of the lookup method, in bit masks: two continuations in a
	 * row exactly where a lead 2 or 3 bytes back requires one. */
	two = kc & (kc << 1 | c->kc >> 63);
	must = k3 << 2 | k4 << 3 | c->k3 >> 62 | c->k4 >> 61;

	c->bad |= two ^ must;
	c->k3 = k3, c->k4 = k4, c->kc = kc;
	/* The lookups by the byte before, and by this byte's high nibble. */
	e = _mm512_and_si512(_mm512_permutex2var_epi8(c->ab, c->up, ab), _mm512_permutexvar_epi8(hi, c->t3));
	c->ab = ab;
	return e;
}

/* Unmasks the lanes m of the aligned 64 bytes at p: returns them, the other
 * lanes zero, which are neither read nor written. */
TGT_VBMI ALWAYS __m512i unmask_part(uint8_t *p, __mmask64 m, __m512i k)
{
	__m512i v = _mm512_maskz_mov_epi8(m, _mm512_xor_si512(_mm512_maskz_loadu_epi8(m, p), k));

	_mm512_mask_storeu_epi8(p, m, v);
	return v;
}

/* 1 if the step last ends inside a sequence (a lead in lane 61, 62 or 63
 * that needs the bytes after it): then ASCII next is an error. */
TGT_VBMI ALWAYS int ends_unfinished(__m512i last)
{
	return _mm512_mask_cmpge_epu8_mask((__mmask64)7 << 61, last,
	                                   _mm512_set_epi64((long long)0xc0e0f0ffffffffffull, -1, -1, -1,
	                                                    -1, -1, -1, -1)) != 0;
}

TGT_VBMI size_t ws__unmask_utf8_vbmi(uint8_t *d, size_t n, uint32_t key, uint32_t *state)
{
	vbmi_carry c;
	__m512i k, last = _mm512_setzero_si512();
	size_t lo = 0, i, done, mis;

	if (*state) {
		if (ws__utf8_carry(d, d, n, key, state, &lo) || lo == n)
			return lo;
		key = ws__key_rotate(key, lo);
	}
	done = lo;
	c.ready = 0;

	/* Aligned 64-byte steps, as an unaligned store splits across two cache
	 * lines; the first and last may be partial, their other lanes zero
	 * (ASCII) and neither read nor written. */
	mis = (uintptr_t)(d + lo) & 63;
	k = _mm512_set1_epi32((int)ws__key_rotate(key, (0 - mis) & 3));
	i = lo;
	if (mis) {
		__mmask64 m = ~(__mmask64)0 << mis & first_bytes(mis + (n - lo));
		__m512i e;
		last = unmask_part(d + lo - mis, m, k);
		done = n - lo > 64 - mis ? lo + 64 - mis : n;
		if (_mm512_movepi8_mask(last)) {
			e = step_vbmi(&c, last);
			if (WS_UNLIKELY(_mm512_mask_test_epi8_mask(m, e, e) | (c.bad & m)))
				goto fail;
		}
		i = done;
	}
	while (i < n) {
		uint8_t *p = d + i;
		__m512i e;
		if (n - i >= 256) {
			__m512i a0 = _mm512_xor_si512(_mm512_load_si512((const void *)p), k);
			__m512i a1 = _mm512_xor_si512(_mm512_load_si512((const void *)(p + 64)), k);
			__m512i a2 = _mm512_xor_si512(_mm512_load_si512((const void *)(p + 128)), k);
			__m512i a3 = _mm512_xor_si512(_mm512_load_si512((const void *)(p + 192)), k);
			_mm512_store_si512((void *)p, a0);
			_mm512_store_si512((void *)(p + 64), a1);
			_mm512_store_si512((void *)(p + 128), a2);
			_mm512_store_si512((void *)(p + 192), a3);
			done = i + 256;
			if (!_mm512_movepi8_mask(_mm512_ternarylogic_epi32(_mm512_or_si512(a0, a1), a2, a3, 0xfe))) {
				/* All ASCII: an error only if a sequence is unfinished
				 * before it, a lead in lane 61, 62 or 63 of the last step.
				 * Without one, what c carries from that step reads as ASCII
				 * to the next: no lead bits where the shifts reach, and a
				 * lane 63 whose lookups flag only a continuation after it,
				 * an error after ASCII too. */
				if (WS_UNLIKELY(ends_unfinished(last)))
					goto fail;
			} else {
				/* In order: each step carries into the next. */
				__m512i e0 = step_vbmi(&c, a0), e1 = step_vbmi(&c, a1);
				__m512i e2 = step_vbmi(&c, a2), e3 = step_vbmi(&c, a3);
				e = _mm512_or_si512(_mm512_ternarylogic_epi32(e0, e1, e2, 0xfe), e3);
				if (WS_UNLIKELY(_mm512_test_epi8_mask(e, e) | c.bad))
					goto fail;
			}
			last = a3;
		} else {
			/* The last 1 to 255 bytes: up to four steps, the last one
			 * partial, tested for ASCII together. */
			__m512i v[4], any = _mm512_setzero_si512();
			__mmask64 m[4];
			size_t j, q;
			for (j = 0; j * 64 < n - i; j++) {
				m[j] = first_bytes(n - i - j * 64);
				if (n - i - j * 64 >= 64) { /* a masked store costs more */
					v[j] = _mm512_xor_si512(_mm512_load_si512((const void *)(p + j * 64)), k);
					_mm512_store_si512((void *)(p + j * 64), v[j]);
				} else {
					v[j] = unmask_part(p + j * 64, m[j], k);
				}
				any = _mm512_or_si512(any, v[j]);
			}
			done = n;
			if (!_mm512_movepi8_mask(any)) {
				if (WS_UNLIKELY(ends_unfinished(last)))
					goto fail;
			} else {
				for (q = 0; q < j; q++) {
					e = step_vbmi(&c, v[q]);
					if (WS_UNLIKELY(_mm512_mask_test_epi8_mask(m[q], e, e) | (c.bad & m[q]))) {
						i += q * 64;
						goto fail;
					}
				}
			}
			last = v[j - 1];
		}
		i = done;
	}
	/* All valid; the state is that of the last 3 bytes, which are in the
	 * last step's lanes E-3..E-1. Reading them back from memory would
	 * wait for the masked store that wrote them. */
	{
		size_t e = (((uintptr_t)(d + n) - 1) & 63) + 1;
		if (WS_LIKELY(e >= 3 && n - lo >= 3) &&
		    !(_mm512_cmpge_epu8_mask(last, _mm512_set1_epi8((char)0xc0)) >> (e - 1) & 1) &&
		    !(_mm512_cmpge_epu8_mask(last, _mm512_set1_epi8((char)0xe0)) >> (e - 2) & 1) &&
		    !(_mm512_cmpge_epu8_mask(last, _mm512_set1_epi8((char)0xf0)) >> (e - 3) & 1)) {
			*state = 0;
			return n;
		}
	}
	return ws__utf8_resume(d, n, n, lo, state);
fail:
	/* All before step i is valid: unmask the rest (the contract), then
	 * let the DFA find the exact offset. */
	if (done < n)
		ws__mask_avx512(d + done, d + done, n - done, ws__key_rotate(key, done - lo));
	return ws__utf8_resume(d, n, i, lo, state);
}

#else
typedef int ws__simd_x86_unused; /* ISO C forbids an empty translation unit */
#endif
