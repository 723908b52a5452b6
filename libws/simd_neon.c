/* AArch64 NEON kernels for unmasking and UTF-8 validation: the method of the
 * SSSE3 ones in simd_x86.c (16-byte registers, 64-byte steps) with the
 * tables of utf8.c. NEON is part of every AArch64 CPU, so simd_dispatch.c
 * needs no run-time check to pick these. */
#define WS__SIMD_KERNEL
#include "simd.h"

#if WS__HAVE_NEON
#include <arm_neon.h>

void ws__mask_neon(uint8_t *dst, const uint8_t *src, size_t len, uint32_t key)
{
	uint8x16_t k = vreinterpretq_u8_u32(vdupq_n_u32(key));
	size_t i = 0;

	for (; i + 64 <= len; i += 64) {
		uint8x16_t a = vld1q_u8(src + i), b = vld1q_u8(src + i + 16);
		uint8x16_t e = vld1q_u8(src + i + 32), f = vld1q_u8(src + i + 48);
		vst1q_u8(dst + i, veorq_u8(a, k));
		vst1q_u8(dst + i + 16, veorq_u8(b, k));
		vst1q_u8(dst + i + 32, veorq_u8(e, k));
		vst1q_u8(dst + i + 48, veorq_u8(f, k));
	}
	for (; i + 16 <= len; i += 16)
		vst1q_u8(dst + i, veorq_u8(vld1q_u8(src + i), k));
	ws__mask_small(dst + i, src + i, len - i, key);
}

/* Lane numbers, to keep only the real bytes of a zero-padded tail. */
static const uint8_t lane_index[64] = {
	0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15,
	16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31,
	32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47,
	48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63,
};

typedef struct tables {
	uint8x16_t t1, t2, t3, inc;
} tables;

static inline uint8x16_t check(const tables *t, uint8x16_t prev, uint8x16_t cur)
{
	uint8x16_t p1 = vextq_u8(prev, cur, 15);
	uint8x16_t p2 = vextq_u8(prev, cur, 14);
	uint8x16_t p3 = vextq_u8(prev, cur, 13);
	uint8x16_t a = vqtbl1q_u8(t->t1, vshrq_n_u8(p1, 4));
	uint8x16_t b = vqtbl1q_u8(t->t2, vandq_u8(p1, vdupq_n_u8(0x0f)));
	uint8x16_t c = vqtbl1q_u8(t->t3, vshrq_n_u8(cur, 4));
	uint8x16_t m = vorrq_u8(vqsubq_u8(p2, vdupq_n_u8(0x60)), vqsubq_u8(p3, vdupq_n_u8(0x70)));
	return veorq_u8(vandq_u8(vandq_u8(a, b), c), vandq_u8(m, vdupq_n_u8(0x80)));
}

static inline size_t utf8_neon(uint8_t *d, const uint8_t *s, size_t n, uint32_t key,
                               uint32_t *state, int masking)
{
	tables t;
	uint8x16_t k, prev, inc, zero = vdupq_n_u8(0);
	size_t i = 0, lo, done;

	if (*state) {
		if (ws__utf8_carry(masking ? d : NULL, s, n, key, state, &i) || i == n)
			return i;
		key = ws__key_rotate(key, i);
	}
	lo = i;
	t.t1 = vld1q_u8(ws__utf8_tables.prev_high);
	t.t2 = vld1q_u8(ws__utf8_tables.prev_low);
	t.t3 = vld1q_u8(ws__utf8_tables.high);
	t.inc = vld1q_u8(ws__utf8_tables.incomplete);
	k = vreinterpretq_u8_u32(vdupq_n_u32(key));
	prev = inc = zero;
	for (; i + 64 <= n; i += 64) {
		uint8x16_t v0 = vld1q_u8(s + i), v1 = vld1q_u8(s + i + 16);
		uint8x16_t v2 = vld1q_u8(s + i + 32), v3 = vld1q_u8(s + i + 48), e;
		if (masking) {
			v0 = veorq_u8(v0, k), v1 = veorq_u8(v1, k);
			v2 = veorq_u8(v2, k), v3 = veorq_u8(v3, k);
			vst1q_u8(d + i, v0);
			vst1q_u8(d + i + 16, v1);
			vst1q_u8(d + i + 32, v2);
			vst1q_u8(d + i + 48, v3);
		}
		if (WS_LIKELY(vmaxvq_u8(vorrq_u8(vorrq_u8(v0, v1), vorrq_u8(v2, v3))) < 0x80)) {
			if (WS_UNLIKELY(vmaxvq_u8(inc) != 0))
				goto fail;
			prev = v3;
			continue;
		}
		e = vorrq_u8(vorrq_u8(check(&t, prev, v0), check(&t, v0, v1)),
		             vorrq_u8(check(&t, v1, v2), check(&t, v2, v3)));
		prev = v3;
		inc = vqsubq_u8(v3, t.inc);
		if (WS_UNLIKELY(vmaxvq_u8(e) != 0))
			goto fail;
	}
	if (i < n) {
		size_t r = n - i;
		uint8_t tmp[64] = {0};
		uint8x16_t v0, v1, v2, v3, lim = vdupq_n_u8((uint8_t)r), e;
		if (masking)
			ws__mask_small(d + i, d + i, r, key);
		memcpy(tmp, s + i, r);
		v0 = vld1q_u8(tmp), v1 = vld1q_u8(tmp + 16), v2 = vld1q_u8(tmp + 32), v3 = vld1q_u8(tmp + 48);
		/* Only errors at the r real bytes count. */
		e = vandq_u8(check(&t, prev, v0), vcltq_u8(vld1q_u8(lane_index), lim));
		e = vorrq_u8(e, vandq_u8(check(&t, v0, v1), vcltq_u8(vld1q_u8(lane_index + 16), lim)));
		e = vorrq_u8(e, vandq_u8(check(&t, v1, v2), vcltq_u8(vld1q_u8(lane_index + 32), lim)));
		e = vorrq_u8(e, vandq_u8(check(&t, v2, v3), vcltq_u8(vld1q_u8(lane_index + 48), lim)));
		if (vmaxvq_u8(e) != 0)
			return ws__utf8_resume(s, n, i, lo, state);
	}
	return ws__utf8_resume(s, n, n, lo, state);
fail:
	done = i + 64;
	if (masking && done < n)
		ws__mask_neon(d + done, d + done, n - done, key);
	return ws__utf8_resume(s, n, i, lo, state);
}

size_t ws__utf8_neon(uint32_t *state, const uint8_t *s, size_t len)
{
	return utf8_neon(NULL, s, len, 0, state, 0);
}

size_t ws__unmask_utf8_neon(uint8_t *d, size_t n, uint32_t key, uint32_t *state)
{
	return utf8_neon(d, d, n, key, state, 1);
}

#else
typedef int ws__simd_neon_unused; /* ISO C forbids an empty translation unit */
#endif
