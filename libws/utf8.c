/* UTF-8 validation (RFC 3629), the scalar kernels: the DFA (the fallback and
 * the test oracle), and what the vector validators of simd_x86.c and
 * simd_neon.c share: their lookup tables and the DFA restarts that turn
 * "an error in this step" into the offset of the first impossible byte.
 * The choice among them and ws_utf8_validate() are in simd_dispatch.c. */
#define WS__SIMD_KERNEL
#include "simd.h"

/* A shift-based DFA: each byte's row holds, for every state s (stored as
 * s * 6), the next state in bits [s*6, s*6+6). States: 0 accept, 6 reject,
 * 12 one continuation byte to go, 18 two, 24 after E0 (A0-BF next), 30 after
 * ED (80-9F next: no surrogates), 36 after F0 (90-BF next: no overlongs), 42
 * three to go, 48 after F4 (80-8F next: nothing above U+10FFFF). The reject
 * state is entered at the first byte that cannot belong to valid UTF-8, so
 * validation fails fast (RFC 3629 §4). Generated from those rules.
 *
 * Bytes fall into 12 classes with the same row: */
#define UTF8_REJECT 6
#define UTF8_ROW_0 0x0006186186186180u  /* 00-7F */
#define UTF8_ROW_1 0x0012486306300186u  /* 80-8F */
#define UTF8_ROW_2 0x0006492306300186u  /* 90-9F */
#define UTF8_ROW_3 0x000649218c300186u  /* A0-BF */
#define UTF8_ROW_4 0x0006186186186186u  /* C0 C1 F5-FF: never valid */
#define UTF8_ROW_5 0x000618618618618cu  /* C2-DF */
#define UTF8_ROW_6 0x0006186186186198u  /* E0 */
#define UTF8_ROW_7 0x0006186186186192u  /* E1-EC EE EF */
#define UTF8_ROW_8 0x000618618618619eu  /* ED */
#define UTF8_ROW_9 0x00061861861861a4u  /* F0 */
#define UTF8_ROW_10 0x00061861861861aau /* F1-F3 */
#define UTF8_ROW_11 0x00061861861861b0u /* F4 */
/* The class of each byte, 00 to FF. */
#define UTF8_CLASSES(C) \
	C(0) C(0) C(0) C(0) C(0) C(0) C(0) C(0) C(0) C(0) C(0) C(0) C(0) C(0) C(0) C(0) \
	C(0) C(0) C(0) C(0) C(0) C(0) C(0) C(0) C(0) C(0) C(0) C(0) C(0) C(0) C(0) C(0) \
	C(0) C(0) C(0) C(0) C(0) C(0) C(0) C(0) C(0) C(0) C(0) C(0) C(0) C(0) C(0) C(0) \
	C(0) C(0) C(0) C(0) C(0) C(0) C(0) C(0) C(0) C(0) C(0) C(0) C(0) C(0) C(0) C(0) \
	C(0) C(0) C(0) C(0) C(0) C(0) C(0) C(0) C(0) C(0) C(0) C(0) C(0) C(0) C(0) C(0) \
	C(0) C(0) C(0) C(0) C(0) C(0) C(0) C(0) C(0) C(0) C(0) C(0) C(0) C(0) C(0) C(0) \
	C(0) C(0) C(0) C(0) C(0) C(0) C(0) C(0) C(0) C(0) C(0) C(0) C(0) C(0) C(0) C(0) \
	C(0) C(0) C(0) C(0) C(0) C(0) C(0) C(0) C(0) C(0) C(0) C(0) C(0) C(0) C(0) C(0) \
	C(1) C(1) C(1) C(1) C(1) C(1) C(1) C(1) C(1) C(1) C(1) C(1) C(1) C(1) C(1) C(1) \
	C(2) C(2) C(2) C(2) C(2) C(2) C(2) C(2) C(2) C(2) C(2) C(2) C(2) C(2) C(2) C(2) \
	C(3) C(3) C(3) C(3) C(3) C(3) C(3) C(3) C(3) C(3) C(3) C(3) C(3) C(3) C(3) C(3) \
	C(3) C(3) C(3) C(3) C(3) C(3) C(3) C(3) C(3) C(3) C(3) C(3) C(3) C(3) C(3) C(3) \
	C(4) C(4) C(5) C(5) C(5) C(5) C(5) C(5) C(5) C(5) C(5) C(5) C(5) C(5) C(5) C(5) \
	C(5) C(5) C(5) C(5) C(5) C(5) C(5) C(5) C(5) C(5) C(5) C(5) C(5) C(5) C(5) C(5) \
	C(6) C(7) C(7) C(7) C(7) C(7) C(7) C(7) C(7) C(7) C(7) C(7) C(7) C(8) C(7) C(7) \
	C(9) C(10) C(10) C(10) C(11) C(4) C(4) C(4) C(4) C(4) C(4) C(4) C(4) C(4) C(4) C(4)

/* Two forms of the same DFA, with the same loop-carried chain (one shift
 * per byte: the row depends on the byte only). A build for speed looks the
 * row up by byte in one 2 KiB table: one load per byte, faster on short
 * text than the compact form (see docs/performance.md). A build for size
 * (-Os, as for a microcontroller) looks up the class, then the row: 352
 * bytes. WS__UTF8_COMPACT chooses explicitly
 * (test_utf8.c builds the compact form beside the library's, so that the
 * oracle tests meet both forms in every build). */
#ifndef WS__UTF8_COMPACT
#ifdef __OPTIMIZE_SIZE__
#define WS__UTF8_COMPACT 1
#else
#define WS__UTF8_COMPACT 0
#endif
#endif
#define UTF8_ROW(k) UTF8_ROW_##k,
#if WS__UTF8_COMPACT
#define UTF8_CLASS(k) k,
static const uint8_t utf8_class[256] = {UTF8_CLASSES(UTF8_CLASS)};
static const uint64_t utf8_rows[12] = {
	UTF8_ROW(0) UTF8_ROW(1) UTF8_ROW(2) UTF8_ROW(3) UTF8_ROW(4) UTF8_ROW(5)
	UTF8_ROW(6) UTF8_ROW(7) UTF8_ROW(8) UTF8_ROW(9) UTF8_ROW(10) UTF8_ROW(11)
};
#define UTF8_NEXT(b) utf8_rows[utf8_class[b]]
#else
static const uint64_t utf8_dfa[256] = {UTF8_CLASSES(UTF8_ROW)};
#define UTF8_NEXT(b) utf8_dfa[b]
#endif

/* Aligned so that the byte loop below stays inside one 64-byte fetch block
 * wherever the linker puts the function: when it crossed one, short text
 * frames parsed slower (make bench, parse-utf8-16B). Not in a build for
 * size, where the padding is flash. */
#if (defined(__GNUC__) || defined(__clang__)) && !defined(__OPTIMIZE_SIZE__)
__attribute__((aligned(64)))
#endif
size_t ws__utf8_dfa(uint32_t *state, const uint8_t *p, size_t len)
{
	uint64_t st = *state;
	size_t i = 0;

	while (i < len) {
		size_t end;
		uint64_t s;
		if (st == 0) {
			/* ASCII fast path, 16 bytes at a time. */
			while (i + 16 <= len) {
				uint64_t a, b;
				memcpy(&a, p + i, 8);
				memcpy(&b, p + i + 8, 8);
				if ((a | b) & 0x8080808080808080u)
					break;
				i += 16;
			}
			if (i == len)
				break;
		}
		/* Up to 16 bytes through the DFA with one test for rejection at the
		 * end, as rejection is absorbing. Only the low 6 bits of s are the
		 * state: the shift ignores the rest (x86 shifts mask the count), so
		 * the loop-carried chain is one shift per byte. */
		end = len - i > 16 ? i + 16 : len;
		s = st;
		for (size_t j = i; j < end; j++)
			s = UTF8_NEXT(p[j]) >> (s & 63);
		if (WS_UNLIKELY((s & 63) == UTF8_REJECT)) {
			/* Find the first impossible byte. */
			for (;; i++) {
				st = UTF8_NEXT(p[i]) >> st & 63;
				if (st == UTF8_REJECT) {
					*state = (uint32_t)st;
					return i;
				}
			}
		}
		st = s & 63;
		i = end;
	}
	*state = (uint32_t)st;
	return len;
}

size_t ws__unmask_utf8_scalar(uint8_t *d, size_t n, uint32_t key, uint32_t *state)
{
	ws__mask_scalar(d, d, n, key);
	return ws__utf8_dfa(state, d, n);
}

/* The vector validators follow the lookup-table method of Keiser and Lemire
 * ("Validating UTF-8 In Less Than One Instruction Per Byte", 2021), written
 * afresh: for every byte, three 16-entry tables indexed by the high and low
 * nibble of the previous byte and the high nibble of the current one give
 * bit sets of the errors that pair could be; their AND is the set it is. A
 * continuation byte after a continuation byte is an error unless the byte two
 * or three back starts a 3- or 4-byte sequence, which one XOR settles. They
 * work on 64-byte steps and only answer "some error in this step"; the exact
 * offset of the first impossible byte (the fail-fast contract) then comes
 * from the DFA, restarted at the last sequence boundary before the step
 * (ws__utf8_resume()). Input that is all ASCII skips the tables. */

/* Error bits of a (previous byte, byte) pair. */
enum {
	TOO_SHORT = 0x01,  /* a lead byte not followed by a continuation byte */
	TOO_LONG = 0x02,   /* a continuation byte after ASCII */
	OVERLONG_3 = 0x04, /* E0 80..9F */
	TOO_LARGE = 0x08,  /* F4 90..BF, F5..FF 90..BF */
	SURROGATE = 0x10,  /* ED A0..BF */
	OVERLONG_2 = 0x20, /* C0..C1 80..BF */
	OVERLONG_4 = 0x40, /* F0 80..8F; also F5..FF 80..8F (too large) */
	TWO_CONTS = 0x80   /* a continuation byte after a continuation byte */
};

#define T2_ANY (TOO_SHORT | TOO_LONG | TWO_CONTS)
#define T3_CONT (TOO_LONG | TWO_CONTS | OVERLONG_2)

const ws__utf8_lut ws__utf8_tables = {
	.prev_high = {
		TOO_LONG, TOO_LONG, TOO_LONG, TOO_LONG, TOO_LONG, TOO_LONG, TOO_LONG, TOO_LONG,
		TWO_CONTS, TWO_CONTS, TWO_CONTS, TWO_CONTS,
		TOO_SHORT | OVERLONG_2,                     /* C */
		TOO_SHORT,                                  /* D */
		TOO_SHORT | OVERLONG_3 | SURROGATE,         /* E */
		TOO_SHORT | TOO_LARGE | OVERLONG_4,         /* F */
	},
	.prev_low = {
		T2_ANY | OVERLONG_2 | OVERLONG_3 | OVERLONG_4, /* C0 E0 F0 */
		T2_ANY | OVERLONG_2,                           /* C1 */
		T2_ANY, T2_ANY,
		T2_ANY | TOO_LARGE,                            /* F4 */
		T2_ANY | TOO_LARGE | OVERLONG_4,               /* F5 */
		T2_ANY | TOO_LARGE | OVERLONG_4,
		T2_ANY | TOO_LARGE | OVERLONG_4,
		T2_ANY | TOO_LARGE | OVERLONG_4,
		T2_ANY | TOO_LARGE | OVERLONG_4,
		T2_ANY | TOO_LARGE | OVERLONG_4,
		T2_ANY | TOO_LARGE | OVERLONG_4,
		T2_ANY | TOO_LARGE | OVERLONG_4,
		T2_ANY | TOO_LARGE | OVERLONG_4 | SURROGATE,   /* ED, FD */
		T2_ANY | TOO_LARGE | OVERLONG_4,
		T2_ANY | TOO_LARGE | OVERLONG_4,
	},
	.high = {
		TOO_SHORT, TOO_SHORT, TOO_SHORT, TOO_SHORT, TOO_SHORT, TOO_SHORT, TOO_SHORT, TOO_SHORT,
		T3_CONT | OVERLONG_3 | OVERLONG_4, /* 80..8F */
		T3_CONT | OVERLONG_3 | TOO_LARGE,  /* 90..9F */
		T3_CONT | SURROGATE | TOO_LARGE,   /* A0..AF */
		T3_CONT | SURROGATE | TOO_LARGE,   /* B0..BF */
		TOO_SHORT, TOO_SHORT, TOO_SHORT, TOO_SHORT,
	},
	/* Subtracted (saturating) from the last 16 bytes of a step: nonzero where
	 * a sequence begun there is not complete yet. */
	.incomplete = {
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xef, 0xdf, 0xbf,
	},
};

int ws__utf8_carry(uint8_t *d, const uint8_t *s, size_t n, uint32_t key, uint32_t *state,
                   size_t *pos)
{
	uint8_t kb[4];
	size_t i = 0;

	memcpy(kb, &key, 4);
	for (; *state && i < n; i++) {
		if (d)
			d[i] ^= kb[i & 3];
		if (ws__utf8_dfa(state, s + i, 1) == 0) {
			/* The rest is unmasked all the same (the contract), by the
			 * portable kernel: this is an error path. */
			if (d)
				ws__mask_scalar(d + i + 1, d + i + 1, n - i - 1, ws__key_rotate(key, i + 1));
			*pos = i;
			return 1;
		}
	}
	*pos = i;
	return 0;
}
