/* Every unmasking and UTF-8 implementation (scalar, SSE2, SSSE3, AVX2,
 * AVX-512, NEON — those this build has and this CPU runs) against byte loops
 * and the scalar DFA: every length 0..320, alignment 0..63 and key phase;
 * every 1-4 byte sequence near vector block boundaries; random mixed text
 * with random corruption, split at every offset; long inputs; and the fused
 * unmask+validate path, alone and through ws_conn; then the dispatchers
 * again with every lower kernel set this CPU runs (ws__isa_use()). */
#include <stdlib.h>
#include <string.h>
#include "harness.h"
#include "ws_internal.h"

static unsigned isa;
static int dispatch_only; /* run only the "dispatch" rows (for lower kernel sets) */

static uint64_t rng_state = 0x9e3779b97f4a7c15u;
static uint32_t rnd(void)
{
	/* xorshift64* */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545f4914f6cdd1du) >> 32);
}

/* ---- Masking ---- */

typedef void (*mask_fn)(uint8_t *dst, const uint8_t *src, size_t len, uint32_t key);

/* The inline paths of the receive path (short payloads), as functions. */
static void mask_inline(uint8_t *dst, const uint8_t *src, size_t len, uint32_t key)
{
	ws__mask_small(dst, src, len, key);
}

static void unmask_inline(uint8_t *dst, const uint8_t *src, size_t len, uint32_t key)
{
	if (dst != src)
		memmove(dst, src, len);
	ws__unmask(dst, len, key);
}

static const struct {
	const char *name;
	mask_fn fn;
	unsigned need;
} masks[] = {
	{"scalar", ws__mask_scalar, 0},
	{"dispatch", ws__mask, 0},
	{"inline", mask_inline, 0},
	{"unmask", unmask_inline, 0},
#if WS__HAVE_X86
	{"sse2", ws__mask_sse2, WS__ISA_SSE2},
	{"avx2", ws__mask_avx2, WS__ISA_AVX2},
	{"avx512", ws__mask_avx512, WS__ISA_AVX512},
#endif
#if WS__HAVE_NEON
	{"neon", ws__mask_neon, WS__ISA_NEON},
#endif
};
#define NMASKS (sizeof masks / sizeof masks[0])

#define MAXLEN 320
#define GUARD 64

/* src and the byte loop's answer; dst and src at every alignment, in place
 * and copying; guard bytes around the destination stay untouched. */
static void mask_all_impls(void)
{
	static uint8_t src[MAXLEN + 2 * GUARD + 64], dst[MAXLEN + 2 * GUARD + 64], want[MAXLEN];
	static const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
	int bad = 0;

	for (size_t m = 0; m < NMASKS; m++) {
		if ((masks[m].need && !(isa & masks[m].need)) || (dispatch_only && masks[m].fn != ws__mask))
			continue;
		for (size_t len = 0; len <= MAXLEN && !bad; len++)
			for (unsigned align = 0; align < 64 && !bad; align++)
				for (unsigned phase = 0; phase < 4; phase++) {
					uint8_t *s = src + GUARD + align;
					uint8_t *d = dst + GUARD + (align * 7 + 3) % 64;
					uint32_t k = ws__key_rotate(ws__key32(key), phase);
					for (size_t i = 0; i < len; i++) {
						s[i] = (uint8_t)rnd();
						want[i] = s[i] ^ key[(i + phase) & 3];
					}
					/* Copying. */
					memset(dst, 0xa5, sizeof dst);
					masks[m].fn(d, s, len, k);
					if (memcmp(d, want, len)) {
						t_fail(__FILE__, __LINE__, "%s copy len %zu align %u phase %u", masks[m].name,
						       len, align, phase);
						bad = 1;
					}
					for (uint8_t *g = dst; g < dst + sizeof dst; g++)
						if ((g < d || g >= d + len) && *g != 0xa5) {
							t_fail(__FILE__, __LINE__, "%s wrote outside: len %zu align %u", masks[m].name,
							       len, align);
							bad = 1;
							break;
						}
					/* In place. */
					memset(src, 0x5a, GUARD + align);
					memset(s + len, 0x5a, sizeof src - GUARD - align - len);
					masks[m].fn(s, s, len, k);
					if (memcmp(s, want, len)) {
						t_fail(__FILE__, __LINE__, "%s in place len %zu align %u phase %u",
						       masks[m].name, len, align, phase);
						bad = 1;
					}
					for (uint8_t *g = src; g < src + sizeof src; g++)
						if ((g < s || g >= s + len) && *g != 0x5a) {
							t_fail(__FILE__, __LINE__, "%s in place wrote outside: len %zu",
							       masks[m].name, len);
							bad = 1;
							break;
						}
				}
	}
}

/* ws__unmask_ascii(): the bytes of the masking loop, and 1 exactly when
 * they are all ASCII, at every length, alignment and key phase, with one
 * high bit anywhere or none. */
static void unmask_ascii(void)
{
	static uint8_t buf[MAXLEN + 64], want[MAXLEN];
	static const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
	int bad = 0;

	for (size_t len = 0; len <= 200 && !bad; len++)
		for (unsigned align = 0; align < 16 && !bad; align++)
			for (unsigned phase = 0; phase < 4; phase++)
				for (size_t hi = 0; hi <= len; hi++) { /* hi == len: all ASCII */
					uint8_t *d = buf + align;
					uint32_t k = ws__key_rotate(ws__key32(key), phase);
					for (size_t i = 0; i < len; i++) {
						want[i] = (uint8_t)(rnd() & 0x7f) | (i == hi ? 0x80 : 0);
						d[i] = want[i] ^ key[(i + phase) & 3];
					}
					if (ws__unmask_ascii(d, len, k) != (hi == len) || memcmp(d, want, len)) {
						t_fail(__FILE__, __LINE__, "len %zu align %u phase %u high byte %zu", len,
						       align, phase, hi);
						bad = 1;
						break;
					}
				}
}

/* The public functions, with an offset instead of a rotated key, and
 * unmasking in pieces as a receiver does. */
static void mask_public(void)
{
	static uint8_t src[4096 + 64], dst[4096 + 64], want[4096];
	static const uint8_t key[4] = {0xde, 0xad, 0xbe, 0xef};

	for (size_t len = 0; len <= 4096; len += (len < 300 ? 1 : 97))
		for (unsigned align = 0; align < 64; align += 9)
			for (uint64_t off = 0; off < 8; off++) {
				uint8_t *s = src + align, *d = dst + (align + 5) % 64;
				for (size_t i = 0; i < len; i++) {
					s[i] = (uint8_t)rnd();
					want[i] = s[i] ^ key[(i + off) & 3];
				}
				ws_mask_copy(d, s, len, key, off);
				CHECK_MEM(d, want, len);
				ws_mask(s, len, key, off);
				CHECK_MEM(s, want, len);
			}
	/* In pieces: unmasking [0, a) then [a, len) with offset a. */
	for (size_t a = 0; a <= 300; a++) {
		size_t len = 300;
		for (size_t i = 0; i < len; i++) {
			src[i] = (uint8_t)rnd();
			want[i] = src[i] ^ key[i & 3];
		}
		ws_mask(src, a, key, 0);
		ws_mask(src + a, len - a, key, a);
		CHECK_MEM(src, want, len);
	}
	/* Key rotation. */
	for (unsigned r = 0; r < 8; r++) {
		uint32_t k = ws__key_rotate(ws__key32(key), r);
		uint8_t kb[4];
		memcpy(kb, &k, 4);
		for (unsigned i = 0; i < 4; i++)
			CHECK_INT(kb[i], key[(i + r) & 3]);
	}
}

/* ---- UTF-8 ---- */

/* An independent reference: decode sequence by sequence. Returns the offset
 * of the first byte that cannot start or continue a valid sequence, or len;
 * *incomplete tells whether the input ends inside a sequence. */
static size_t ref_utf8(const uint8_t *s, size_t len, int *incomplete)
{
	size_t i = 0;

	*incomplete = 0;
	while (i < len) {
		unsigned c = s[i], n, lo = 0x80, hi = 0xbf;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			n = 2;
		else if (c >= 0xe0 && c <= 0xef)
			n = 3, lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 4, lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
		else
			return i;
		for (unsigned k = 1; k < n; k++) {
			if (i + k >= len) {
				*incomplete = 1;
				return len;
			}
			if (s[i + k] < (k == 1 ? lo : 0x80) || s[i + k] > (k == 1 ? hi : 0xbf))
				return i + k;
		}
		i += n;
	}
	return len;
}

typedef size_t (*utf8_fn)(uint32_t *state, const uint8_t *s, size_t len);
typedef size_t (*unmask_utf8_fn)(uint8_t *d, size_t n, uint32_t key, uint32_t *state);

static size_t public_validate(uint32_t *state, const uint8_t *s, size_t len)
{
	return ws_utf8_validate(state, s, len);
}

static const struct {
	const char *name;
	utf8_fn fn;
	unmask_utf8_fn unmask;
	unsigned need;
} utf8s[] = {
	{"dfa", ws__utf8_dfa, ws__unmask_utf8_scalar, 0},
	{"dispatch", public_validate, ws__unmask_utf8, 0},
#if WS__HAVE_X86
	{"ssse3", ws__utf8_ssse3, ws__unmask_utf8_ssse3, WS__ISA_SSSE3},
	{"avx2", ws__utf8_avx2, ws__unmask_utf8_avx2, WS__ISA_AVX2},
	{"avx512", ws__utf8_avx512, ws__unmask_utf8_avx512, WS__ISA_AVX512},
	{"vbmi", ws__utf8_avx512, ws__unmask_utf8_vbmi, WS__ISA_AVX512VBMI},
#endif
#if WS__HAVE_NEON
	{"neon", ws__utf8_neon, ws__unmask_utf8_neon, WS__ISA_NEON},
#endif
};
#define NUTF8 (sizeof utf8s / sizeof utf8s[0])

static int utf8_bad; /* stop reporting after the first few mismatches */

/* Validates s[0..len) with every implementation, whole and (when split <=
 * len) in two calls split there, plain and fused with unmasking, and checks
 * every answer against the DFA on the whole input. */
static void utf8_check(const uint8_t *s, size_t len, size_t split, const char *what)
{
	static uint8_t buf[(1 << 20) + 128];
	uint32_t dst = 0;
	size_t want = ws__utf8_dfa(&dst, s, len);
	int ok = want == len;
	uint32_t key = rnd();
	uint8_t kb[4];

	if (utf8_bad > 10 || len + 64 > sizeof buf)
		return;
	memcpy(kb, &key, 4);
	for (size_t m = 0; m < NUTF8; m++) {
		uint32_t st;
		size_t got;
		if ((utf8s[m].need && !(isa & utf8s[m].need)) ||
		    (dispatch_only && utf8s[m].unmask != ws__unmask_utf8))
			continue;
		/* Whole. */
		st = 0;
		got = utf8s[m].fn(&st, s, len);
		if (got != want || (ok && st != dst)) {
			t_fail(__FILE__, __LINE__, "%s %s len %zu: got %zu state %u, want %zu state %u",
			       utf8s[m].name, what, len, got, (unsigned)st, want, (unsigned)dst);
			utf8_bad++;
		}
		/* Split in two. */
		if (split <= len) {
			st = 0;
			got = utf8s[m].fn(&st, s, split);
			if (got == split)
				got = split + utf8s[m].fn(&st, s + split, len - split);
			if (got != want || (ok && st != dst)) {
				t_fail(__FILE__, __LINE__, "%s %s len %zu split %zu: got %zu, want %zu",
				       utf8s[m].name, what, len, split, got, want);
				utf8_bad++;
			}
		}
		/* Fused with unmasking, at an odd alignment, with guard bytes; in two
		 * pieces when split, the key rotated for the second. */
		{
			uint8_t *d = buf + 1 + (len & 31);
			size_t cut = split <= len ? split : len;
			memset(buf, 0xee, len + 64);
			for (size_t i = 0; i < len; i++)
				d[i] = s[i] ^ kb[i & 3];
			st = 0;
			got = utf8s[m].unmask(d, cut, key, &st);
			if (got == cut && cut < len)
				got = cut + utf8s[m].unmask(d + cut, len - cut, ws__key_rotate(key, cut), &st);
			else if (cut < len)
				ws_mask(d + cut, len - cut, kb, cut); /* the connection would stop here */
			if (got != want || (ok && st != dst)) {
				t_fail(__FILE__, __LINE__, "%s unmask %s len %zu split %zu: got %zu, want %zu",
				       utf8s[m].name, what, len, split, got, want);
				utf8_bad++;
			}
			if (memcmp(d, s, len)) {
				t_fail(__FILE__, __LINE__, "%s unmask %s len %zu: bytes not unmasked exactly once",
				       utf8s[m].name, what, len);
				utf8_bad++;
			}
			for (size_t i = 0; i < len + 64; i++)
				if ((buf + i < d || buf + i >= d + len) && buf[i] != 0xee) {
					t_fail(__FILE__, __LINE__, "%s unmask wrote outside", utf8s[m].name);
					utf8_bad++;
					break;
				}
		}
	}
}

/* The DFA agrees with the reference decoder on every 1- and 2-byte input,
 * on 3- and 4-byte inputs over interesting byte values, and on prefixes. */
static const uint8_t edge[] = {0x00, 0x41, 0x7f, 0x80, 0x81, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0,
                               0xc1, 0xc2, 0xdf, 0xe0, 0xe1, 0xec, 0xed, 0xee, 0xef, 0xf0, 0xf1,
                               0xf3, 0xf4, 0xf5, 0xf7, 0xf8, 0xfe, 0xff};
#define NEDGE (sizeof edge / sizeof edge[0])

static void dfa_vs_reference(void)
{
	uint8_t b[4];

	for (unsigned x = 0; x < 256; x++)
		for (unsigned y = 0; y < 256; y++)
			for (unsigned z = 0; z < NEDGE; z++)
				for (unsigned w = 0; w < NEDGE; w++) {
					b[0] = (uint8_t)x, b[1] = (uint8_t)y, b[2] = edge[z], b[3] = edge[w];
					for (size_t len = 1; len <= 4; len++) {
						uint32_t st = 0;
						int inc;
						size_t got = ws__utf8_dfa(&st, b, len);
						size_t want = ref_utf8(b, len, &inc);
						if (got != want || (got == len && (st != 0) != inc)) {
							t_fail(__FILE__, __LINE__, "dfa %02x %02x %02x %02x len %zu: %zu/%u vs %zu/%d",
							       x, y, b[2], b[3], len, got, (unsigned)st, want, inc);
							return;
						}
						if (len == 2 && (z || w))
							break;
					}
				}
}

/* Places seq[0..n) at offset off of a 64-byte block preceded by a block of
 * text (ASCII, or 2-byte characters when ctx), followed by more text or by
 * the end of the input, and checks every implementation on it. */
static void seq_at(const uint8_t *seq, unsigned n, unsigned off, unsigned ctx, unsigned tail)
{
	uint8_t buf[64 + 64 + 4 + 80];
	size_t len;

	for (size_t i = 0; i < sizeof buf; i++)
		buf[i] = ctx ? (i & 1 ? 0xa9 : 0xc3) : (uint8_t)('a' + i % 26);
	if (ctx)
		off &= ~1u; /* a character boundary in 2-byte text */
	memcpy(buf + 64 + off, seq, n);
	len = 64 + off + n + tail % 3 * 40;
	if (ctx && (len - n) & 1)
		len++;
	if (len > sizeof buf)
		len = sizeof buf;
	utf8_check(buf, len, len + 1, "sequence");
	utf8_check(buf + 64, len - 64, len + 1, "sequence");
}

/* Byte values around every boundary of the tables. */
static const uint8_t edge2[] = {0x41, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0,
                                0xc2, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff};
static const uint8_t edge3[] = {0x41, 0x80, 0x8f, 0x90, 0xa0, 0xbf, 0xc2, 0xe0,
                                0xed, 0xf0, 0xf4, 0xf5};

/* Every 1-byte and 2-byte sequence, and 3- and 4-byte sequences over edge
 * values, at offsets 0..64 of a 64-byte block (4-byte ones where they cross
 * a 16-byte lane or the block's end). */
static void sequences_at_boundaries(void)
{
	static const unsigned off2[] = {0, 15, 31, 63};
	static const unsigned off4[] = {0, 13, 14, 15, 61, 62, 63};
	uint8_t q[4];

	for (unsigned ctx = 0; ctx < 2; ctx++)
		for (unsigned off = 0; off <= 64; off++) {
			for (unsigned x = 0; x < 256; x++) {
				q[0] = (uint8_t)x;
				seq_at(q, 1, off, ctx, x);
			}
			for (unsigned x = 0; x < NEDGE * NEDGE; x++) {
				q[0] = edge[x / NEDGE], q[1] = edge[x % NEDGE];
				seq_at(q, 2, off, ctx, x);
			}
			for (unsigned x = 0; x < 16 * 16 * 16; x++) {
				if (ctx && off % 8)
					break;
				q[0] = edge2[x >> 8], q[1] = edge2[x >> 4 & 15], q[2] = edge2[x & 15];
				seq_at(q, 3, off, ctx, x);
			}
			if (utf8_bad)
				return;
		}
	for (unsigned i = 0; i < sizeof off2 / sizeof off2[0]; i++)
		for (unsigned x = 0; x < 65536; x += t_sparse() ? 7 : 1) {
			q[0] = (uint8_t)(x >> 8), q[1] = (uint8_t)x;
			seq_at(q, 2, off2[i], 0, x);
		}
	for (unsigned i = 0; i < sizeof off4 / sizeof off4[0]; i++)
		for (unsigned x = 0; x < 12 * 12 * 12 * 12; x++) {
			q[0] = edge3[x / 1728], q[1] = edge3[x / 144 % 12], q[2] = edge3[x / 12 % 12];
			q[3] = edge3[x % 12];
			seq_at(q, 4, off4[i], 0, x);
		}
}

/* Random text, about one character in four of 2-4 bytes. */
static size_t gen_text(uint8_t *out, size_t len)
{
	size_t i = 0;

	while (i < len) {
		uint32_t r = rnd();
		uint32_t cp;
		switch (r % 16) {
		case 0: case 1: cp = 0x80 + (r >> 8) % 0x780; break;                 /* 2 bytes */
		case 2: cp = 0x800 + (r >> 8) % (0x10000 - 0x800); break;              /* 3 bytes */
		case 3: cp = 0x10000 + (r >> 8) % 0x100000; break;                    /* 4 bytes */
		default: cp = 0x20 + (r >> 8) % 0x5f; break;
		}
		if (cp >= 0xd800 && cp < 0xe000)
			cp = 0xe000;
		if (cp < 0x80) {
			if (i + 1 > len)
				break;
			out[i++] = (uint8_t)cp;
		} else if (cp < 0x800) {
			if (i + 2 > len)
				break;
			out[i++] = (uint8_t)(0xc0 | cp >> 6);
			out[i++] = (uint8_t)(0x80 | (cp & 0x3f));
		} else if (cp < 0x10000) {
			if (i + 3 > len)
				break;
			out[i++] = (uint8_t)(0xe0 | cp >> 12);
			out[i++] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
			out[i++] = (uint8_t)(0x80 | (cp & 0x3f));
		} else {
			if (i + 4 > len)
				break;
			out[i++] = (uint8_t)(0xf0 | cp >> 18);
			out[i++] = (uint8_t)(0x80 | (cp >> 12 & 0x3f));
			out[i++] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
			out[i++] = (uint8_t)(0x80 | (cp & 0x3f));
		}
	}
	while (i < len)
		out[i++] = 'x';
	return i;
}

static void corrupt(uint8_t *s, size_t len)
{
	unsigned k = rnd() % 4;

	for (unsigned j = 0; j < k && len; j++) {
		size_t at = rnd() % len;
		switch (rnd() % 3) {
		case 0: s[at] = (uint8_t)rnd(); break;
		case 1: s[at] = (uint8_t)(0x80 | (rnd() & 0x3f)); break;
		default: s[at] = (uint8_t)(0xc0 | (rnd() & 0x3f)); break;
		}
	}
}

static void random_text(void)
{
	static uint8_t s[4096];

	for (int iter = 0; iter < (t_sparse() ? 300 : 3000) && !utf8_bad; iter++) {
		size_t len = rnd() % (iter < 1500 ? 300 : sizeof s);
		gen_text(s, len);
		if (iter % 4)
			corrupt(s, len);
		utf8_check(s, len, len ? rnd() % (len + 1) : 0, "random");
	}
}

/* Every split point of a few texts, valid and corrupt. */
static void every_split(void)
{
	static uint8_t s[400];

	for (int iter = 0; iter < 12 && !utf8_bad; iter++) {
		size_t len = 200 + rnd() % 200;
		gen_text(s, len);
		if (iter & 1)
			corrupt(s, len);
		for (size_t split = 0; split <= len; split++)
			utf8_check(s, len, split, "split");
	}
}

static void long_inputs(void)
{
	static uint8_t s[1 << 20];
	size_t len = sizeof s;

	gen_text(s, len);
	utf8_check(s, len, len / 2 + 1, "long");
	memset(s, 'a', len / 2); /* an ASCII half, then text */
	utf8_check(s, len, 12345, "long");
	/* One error at places near the end, in the middle, at block edges. */
	static const size_t at[] = {0, 1, 63, 64, 65, 4095, 100000, (1 << 19) + 7, (1 << 20) - 65,
	                            (1 << 20) - 3, (1 << 20) - 1};
	for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
		uint8_t save = s[at[i]];
		s[at[i]] = 0xff;
		utf8_check(s, len, at[i] ^ 1, "long error");
		s[at[i]] = 0xc0;
		utf8_check(s, len, len, "long error");
		s[at[i]] = save;
	}
	/* All ASCII, then a lead byte at the very end. */
	memset(s, 'z', len);
	utf8_check(s, len, 64, "ascii");
	s[len - 1] = 0xe2;
	utf8_check(s, len, 64, "ascii");
}

/* A sequence cut short right before a run of ASCII, ending at every multiple
 * of 64 (where vector steps, 256-byte groups and 2 KiB blocks begin), with
 * complete sequences as controls. */
static void cut_before_ascii(void)
{
	static const char *const seqs[] = {"\xc3", "\xe2\x82", "\xf0\x9f\x98", "\xe2", "\xf0",
	                                   "\xf0\x9f", "\xc3\xa9", "\xe2\x82\xac",
	                                   "\xf0\x9f\x98\x80", "\xed\xa0", "\xc0"};
	static uint8_t buf[2560 + 700];

	for (size_t q = 0; q < sizeof seqs / sizeof seqs[0]; q++)
		for (size_t g = 64; g <= 2560; g += 64)
			for (size_t back = 0; back < 2; back++) {
				size_t n = strlen(seqs[q]), at = g - n - back;
				memset(buf, 'a', sizeof buf);
				memcpy(buf + at, seqs[q], n);
				utf8_check(buf, g + 700, g + 1, "cut");
				utf8_check(buf, g + 700, g + 700 - 1 - back, "cut");
			}
}

/* The fused kernels step through memory in aligned blocks (the AVX-512
 * ones in 64-byte steps, grouped by four): at every alignment of the
 * payload, a sequence cut short or complete right before a block edge, with
 * ASCII after it for more than a group, against the DFA. */
static void fused_every_alignment(void)
{
	static const char *const seqs[] = {"\xc3", "\xe2\x82", "\xf0\x9f\x98", "\xe2", "\xf0",
	                                   "\xf0\x9f", "\xc3\xa9", "\xe2\x82\xac",
	                                   "\xf0\x9f\x98\x80", "\xed\xa0", "\xc0", "\x80"};
	static const size_t edges[] = {64, 128, 256, 320, 512, 576};
	static uint8_t text[900], buf[900 + 192] __attribute__((aligned(64)));
	const size_t len = sizeof text;

	for (size_t q = 0; q < sizeof seqs / sizeof seqs[0]; q++)
		for (size_t off = 0; off < 64; off++)
			for (size_t g = 0; g < sizeof edges / sizeof edges[0]; g++) {
				size_t n = strlen(seqs[q]), at = edges[g] - off - n;
				uint32_t want_st = 0, key = rnd();
				size_t want;
				uint8_t kb[4];
				if (edges[g] < off + n)
					continue;
				memset(text, 'a', len);
				memcpy(text + at, seqs[q], n);
				want = ws__utf8_dfa(&want_st, text, len);
				memcpy(kb, &key, 4);
				for (size_t m = 0; m < NUTF8; m++) {
					uint8_t *d = buf + off;
					uint32_t st = 0;
					size_t got;
					if ((utf8s[m].need && !(isa & utf8s[m].need)) ||
					    (dispatch_only && utf8s[m].unmask != ws__unmask_utf8))
						continue;
					for (size_t i = 0; i < len; i++)
						d[i] = text[i] ^ kb[i & 3];
					got = utf8s[m].unmask(d, len, key, &st);
					if (got != want || (want == len && st != want_st) || memcmp(d, text, len)) {
						t_fail(__FILE__, __LINE__, "%s unmask seq %zu offset %zu edge %zu: got %zu, want %zu",
						       utf8s[m].name, q, off, edges[g], got, want);
						return;
					}
				}
			}
}

/* Through a server connection: a masked text frame with an error, delivered
 * in every split; the valid prefix comes out, then the error. */
static void through_conn(void)
{
	static uint8_t text[300], frame[320];
	static const uint8_t key[4] = {1, 2, 3, 4};
	ws_config cfg;
	t_feed_opts o;
	char *log;

	ws_config_init(&cfg, WS_ROLE_SERVER);
	cfg.flags = WS_CFG_START_OPEN;
	memset(&o, 0, sizeof o);
	gen_text(text, sizeof text);
	for (int bad = 0; bad < 2; bad++) {
		size_t n;
		uint32_t st = 0;
		size_t valid;
		if (bad)
			text[203] = 0xc0;
		valid = ws__utf8_dfa(&st, text, sizeof text);
		n = ws_frame_header_encode(frame, WS_FIN, WS_OP_TEXT, sizeof text, key);
		ws_mask_copy(frame + n, text, sizeof text, key, 0);
		log = t_feed_all(&cfg, &o, frame, n + sizeof text, NULL, 0);
		CHECK(log != NULL);
		if (bad)
			CHECK(strstr(log, "E_UTF8") != NULL);
		CHECK(valid == (bad ? 203u : sizeof text));
		free(log);
	}
}

static const char *isa_name(unsigned b)
{
	return b == WS__ISA_SSE2 ? "sse2" : b == WS__ISA_SSSE3 ? "ssse3" : b == WS__ISA_AVX2 ? "avx2"
	     : b == WS__ISA_AVX512 ? "avx512" : b == WS__ISA_AVX512VBMI ? "avx512vbmi" : b == WS__ISA_NEON ? "neon" : "?";
}

int main(int argc, char **argv)
{
	unsigned top = 0;

	(void)argc;
	isa = ws__isa();
	fprintf(stderr, "  isa:");
	for (unsigned b = 1; b <= isa; b <<= 1)
		if (isa & b)
			fprintf(stderr, " %s", isa_name(b)), top = b;
	fprintf(stderr, "\n");
	RUN(mask_all_impls);
	RUN(mask_public);
	RUN(unmask_ascii);
	RUN(dfa_vs_reference);
	RUN(sequences_at_boundaries);
	RUN(random_text);
	RUN(every_split);
	RUN(long_inputs);
	RUN(cut_before_ascii);
	RUN(fused_every_alignment);
	RUN(through_conn);
	/* The dispatchers again with each lower kernel set this CPU runs, so
	 * that every branch of their switches is taken somewhere. */
	dispatch_only = 1;
	for (unsigned b = 1; b < top; b <<= 1) {
		if (!(isa & b))
			continue;
		fprintf(stderr, "  dispatch with %s\n", isa_name(b));
		ws__isa_use(b);
		RUN(mask_all_impls);
		RUN(mask_public);
		RUN(random_text);
		RUN(every_split);
		RUN(long_inputs);
		RUN(cut_before_ascii);
		RUN(fused_every_alignment);
		RUN(through_conn);
	}
	ws__isa_use(0);
	CHECK_INT(ws__isa(), isa);
	return t_done(argv[0]);
}
