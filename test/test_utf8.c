/* ws_utf8_validate against a reference written from the definitions of RFC 3629
 * (not from Unicode's table of well-formed sequences, and not as a DFA): every
 * 1-, 2- and 3-byte string, a dense sample of 4-byte strings, random text with
 * random corruption, and long ASCII runs with one odd byte at every position.
 * Each input is validated whole, split at every offset (the state carried
 * across the two calls) and one byte at a time. The returned offset must be
 * exactly the first byte that no valid continuation could follow (fail-fast),
 * and the final state must be 0 exactly when the input is complete. Inputs end
 * at the end of a heap block so that ASan reports any read past them.
 * The scalar DFA has two table forms (utf8.c): the library has one, and the
 * other is compiled into this test under other names, so that both meet the
 * reference in every build, on the host as on the microcontroller. */
#include <stdlib.h>
#include <string.h>
#include "harness.h"

/* The form of the DFA that the library was not built with (the choice is
 * utf8.c's, by the same flags as this file's). */
#ifdef __OPTIMIZE_SIZE__
#define WS__UTF8_COMPACT 0
#else
#define WS__UTF8_COMPACT 1
#endif
#define ws__utf8_dfa other_utf8_dfa
#define ws__unmask_utf8_scalar other_unmask_utf8_scalar
#define ws__utf8_tables other_utf8_tables
#define ws__utf8_carry other_utf8_carry
#include "utf8.c"
#undef ws__utf8_dfa

static size_t other_form(uint32_t *state, const void *s, size_t len)
{
	return other_utf8_dfa(state, s, len);
}

/* The validator under test: the library's, or the other table form. */
static size_t (*validate)(uint32_t *state, const void *s, size_t len) = ws_utf8_validate;

/* ---- Reference ---------------------------------------------------------- */

/* 1 if some code point in [lo, hi] is a Unicode scalar value that a sequence
 * of this length encodes (RFC 3629 §3: the shortest form only, no surrogates
 * D800-DFFF, nothing above 10FFFF). */
static int viable(uint32_t lo, uint32_t hi, uint32_t min, uint32_t max)
{
	uint32_t a = lo > min ? lo : min, b = hi < max ? hi : max;

	if (a > b)
		return 0;
	return !(a >= 0xD800 && b <= 0xDFFF);
}

/* Returns the offset of the first byte at which s[0..n) stops being the prefix
 * of any valid UTF-8 string, or n if it never does; then *complete says whether
 * s ends on a code point boundary. A lead byte announces the sequence length
 * (110xxxxx: 2, 1110xxxx: 3, 11110xxx: 4; anything else above 7F cannot start
 * one); after the lead and after each continuation byte (10xxxxxx), the code
 * points still reachable form an interval, and the byte is impossible when no
 * valid code point of that length lies in it. */
static size_t ref_validate(const uint8_t *s, size_t n, int *complete)
{
	static const uint32_t mins[4] = {0, 0x80, 0x800, 0x10000};
	static const uint32_t maxs[4] = {0x7F, 0x7FF, 0xFFFF, 0x10FFFF};
	size_t i = 0;

	*complete = 0;
	while (i < n) {
		unsigned b = s[i], need;
		uint32_t cp;

		if (b < 0x80) {
			i++;
			continue;
		}
		if ((b & 0xE0) == 0xC0) {
			need = 1;
			cp = b & 0x1F;
		} else if ((b & 0xF0) == 0xE0) {
			need = 2;
			cp = b & 0x0F;
		} else if ((b & 0xF8) == 0xF0) {
			need = 3;
			cp = b & 0x07;
		} else {
			return i; /* a continuation byte, or a 5-/6-byte lead, or FE/FF */
		}
		for (unsigned k = 0; k <= need; k++) {
			unsigned rest = need - k;
			uint32_t lo, hi;
			if (k > 0) {
				if (i + k == n)
					return n; /* a valid prefix that ends inside a sequence */
				if ((s[i + k] & 0xC0) != 0x80)
					return i + k;
				cp = cp << 6 | (s[i + k] & 0x3F);
			}
			lo = cp << (6 * rest);
			hi = lo | ((1u << (6 * rest)) - 1);
			if (!viable(lo, hi, mins[need], maxs[need]))
				return i + k;
		}
		i += need + 1;
	}
	*complete = 1;
	return n;
}

/* ---- Driving the library ------------------------------------------------ */

/* Validates s[0..n) in pieces ending at cuts[0..ncuts) and returns the offset
 * of the first invalid byte (or n); *st gets the final state. */
static size_t lib_pieces(const uint8_t *s, size_t n, const size_t *cuts, size_t ncuts,
                         uint32_t *st)
{
	size_t start = 0;

	*st = 0;
	for (size_t k = 0; k <= ncuts; k++) {
		size_t end = k < ncuts ? cuts[k] : n;
		size_t r = validate(st, s + start, end - start);
		if (r > end - start)
			return (size_t)-1; /* a contract violation; reported by the caller */
		if (r < end - start)
			return start + r;
		start = end;
	}
	return n;
}

static void report(const char *how, const uint8_t *s, size_t n, size_t got, size_t want,
                   uint32_t st, int complete)
{
	char hex[3 * 48 + 8];
	size_t k = 0;

	for (size_t i = 0; i < n && i < 48; i++)
		k += (size_t)snprintf(hex + k, sizeof hex - k, "%02x ", s[i]);
	if (n > 48)
		snprintf(hex + k, sizeof hex - k, "...");
	t_fail(__FILE__, __LINE__, "%s: len %zu [%s]: offset %zu, want %zu; state %u, complete %d", how,
	       n, hex, got, want, (unsigned)st, complete);
}

static long failures;

/* Whole, split at every offset in [from, to), and byte by byte. The reference
 * offset and completeness come from ref_validate. */
static void check_range(const uint8_t *s, size_t n, size_t from, size_t to)
{
	int complete;
	size_t want = ref_validate(s, n, &complete), got;
	uint32_t st;
	size_t cut[1];

	if (failures > 20)
		return;
	got = lib_pieces(s, n, NULL, 0, &st);
	if (got != want || (got == n && (st == 0) != complete)) {
		report("whole", s, n, got, want, st, complete);
		failures++;
	}
	for (size_t k = from; k < to && k < n; k++) {
		if (k == 0)
			continue;
		cut[0] = k;
		got = lib_pieces(s, n, cut, 1, &st);
		if (got != want || (got == n && (st == 0) != complete)) {
			char how[48];
			snprintf(how, sizeof how, "split at %zu", k);
			report(how, s, n, got, want, st, complete);
			failures++;
			break;
		}
	}
	/* One byte at a time. */
	st = 0;
	got = n;
	for (size_t i = 0; i < n; i++)
		if (validate(&st, s + i, 1) != 1) {
			got = i;
			break;
		}
	if (got != want || (got == n && (st == 0) != complete)) {
		report("byte at a time", s, n, got, want, st, complete);
		failures++;
	}
}

static void check(const uint8_t *s, size_t n)
{
	check_range(s, n, 1, n);
}

/* A heap block of exactly n bytes (with room for alignment shifts before it),
 * so that reading past the input is an ASan error. */
static uint8_t *tight(size_t n, size_t shift, uint8_t **block)
{
	*block = malloc(n + shift ? n + shift : 1);
	if (!*block)
		abort();
	return *block + shift;
}

static size_t encode(uint8_t *out, uint32_t cp)
{
	if (cp < 0x80) {
		out[0] = (uint8_t)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (uint8_t)(0xC0 | cp >> 6);
		out[1] = (uint8_t)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (uint8_t)(0xE0 | cp >> 12);
		out[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
		out[2] = (uint8_t)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (uint8_t)(0xF0 | cp >> 18);
	out[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3F));
	out[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
	out[3] = (uint8_t)(0x80 | (cp & 0x3F));
	return 4;
}

static uint32_t rng_state = 0x9e3779b9u;

static uint32_t rnd(void)
{
	uint32_t x = rng_state;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return rng_state = x;
}

/* ---- Tests -------------------------------------------------------------- */

/* The reference itself, on the Markus Kuhn / Autobahn vectors, with the
 * offsets worked out by hand, so the comparisons below stand on something. */
static void reference_self_check(void)
{
	static const struct {
		const char *s;
		size_t n;
		long off; /* -1: valid and complete; n: valid prefix, incomplete */
	} v[] = {
#define V(lit, off) {lit, sizeof(lit) - 1, off}
		V("", -1),
		V("\x00", -1),
		V("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5", -1),
		V("\xc2\x80", -1),
		V("\xe0\xa0\x80", -1),
		V("\xf0\x90\x80\x80", -1),
		V("\x7f", -1),
		V("\xdf\xbf", -1),
		V("\xef\xbf\xbf", -1),
		V("\xf4\x8f\xbf\xbf", -1),
		V("\xed\x9f\xbf", -1),
		V("\xee\x80\x80", -1),
		V("\xef\xbf\xbe", -1),
		V("\xf4\x90\x80\x80", 1),
		V("\xf8\x88\x80\x80\x80", 0),
		V("\xfc\x84\x80\x80\x80\x80", 0),
		V("\xf7\xbf\xbf\xbf", 0),
		V("\xf5\x80\x80\x80", 0),
		V("\x80", 0),
		V("\xbf", 0),
		V("\xc0\xaf", 0),
		V("\xc1\xbf", 0),
		V("\xc2", 1),
		V("\xe0\x80\xaf", 1),
		V("\xe0\x9f\xbf", 1),
		V("\xe0", 1),
		V("\xe0\xa0", 2),
		V("\xf0\x80\x80\xaf", 1),
		V("\xf0\x8f\xbf\xbf", 1),
		V("\xf0\x90\x80", 3),
		V("\xed\xa0\x80", 1),
		V("\xed\xbf\xbf", 1),
		V("\xed\x9f", 2),
		V("\xfe", 0),
		V("\xff", 0),
		V("a\xc2" "b", 2),
		V("ab\xe2\x82" "c", 4),
		V("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80" "edited", 12),
#undef V
	};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		int complete;
		size_t off = ref_validate((const uint8_t *)v[i].s, v[i].n, &complete);
		if (v[i].off < 0) {
			CHECK_INT(off, v[i].n);
			CHECK_INT(complete, 1);
		} else {
			CHECK_INT(off, v[i].off);
			if ((size_t)v[i].off == v[i].n)
				CHECK_INT(complete, 0);
		}
	}
	/* Every code point encodes to a complete valid string; every surrogate
	 * fails at its second byte. */
	for (uint32_t cp = 0; cp <= 0x10FFFF; cp++) {
		uint8_t b[4];
		int complete;
		size_t n = encode(b, cp), off = ref_validate(b, n, &complete);
		if (cp >= 0xD800 && cp <= 0xDFFF) {
			if (off != 1) {
				CHECK_INT(off, 1);
				break;
			}
		} else if (off != n || !complete) {
			CHECK_INT(cp, -1);
			break;
		}
	}
}

/* The library on every encoded code point and every surrogate, whole, split
 * and byte by byte. */
static void every_code_point(void)
{
	uint8_t *block, *s;

	failures = 0;
	for (uint32_t cp = 0; cp <= 0x10FFFF && failures <= 20; cp++) {
		uint8_t b[4];
		size_t n = encode(b, cp);
		s = tight(n, 0, &block);
		memcpy(s, b, n);
		check(s, n);
		free(block);
	}
}

static void exhaustive_1_and_2_bytes(void)
{
	uint8_t *block, *s;

	failures = 0;
	s = tight(1, 0, &block);
	for (unsigned a = 0; a < 256; a++) {
		s[0] = (uint8_t)a;
		check(s, 1);
	}
	free(block);
	s = tight(2, 0, &block);
	for (unsigned a = 0; a < 65536; a++) {
		s[0] = (uint8_t)(a >> 8);
		s[1] = (uint8_t)a;
		check(s, 2);
	}
	free(block);
}

/* All 2^24 three-byte strings. Inlined for speed: whole, split after the first
 * and after the second byte, and byte by byte. */
static void exhaustive_3_bytes(void)
{
	uint8_t *block, *s = tight(3, 0, &block);

	failures = 0;
	for (uint32_t v = 0; v < (1u << 24) && failures <= 20; v += t_sparse() ? 97 : 1) {
		int complete;
		size_t want, got;
		uint32_t st;
		size_t cut[2];

		s[0] = (uint8_t)(v >> 16);
		s[1] = (uint8_t)(v >> 8);
		s[2] = (uint8_t)v;
		want = ref_validate(s, 3, &complete);
		got = lib_pieces(s, 3, NULL, 0, &st);
		if (got != want || (got == 3 && (st == 0) != complete))
			goto bad;
		cut[0] = 1;
		got = lib_pieces(s, 3, cut, 1, &st);
		if (got != want || (got == 3 && (st == 0) != complete))
			goto bad;
		cut[0] = 2;
		got = lib_pieces(s, 3, cut, 1, &st);
		if (got != want || (got == 3 && (st == 0) != complete))
			goto bad;
		cut[0] = 1;
		cut[1] = 2;
		got = lib_pieces(s, 3, cut, 2, &st);
		if (got != want || (got == 3 && (st == 0) != complete))
			goto bad;
		continue;
	bad:
		check(s, 3); /* reports the details */
		failures++;
	}
	free(block);
}

/* Four-byte strings: every first byte with the other three from a set of
 * boundary values, and every F0-F4 lead with all continuation bytes. */
static void dense_4_bytes(void)
{
	static const uint8_t edge[] = {0x00, 0x41, 0x7f, 0x80, 0x81, 0x8f, 0x90, 0x9f, 0xa0,
	                               0xaf, 0xb0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xed,
	                               0xef, 0xf0, 0xf4, 0xf5, 0xf8, 0xff};
	enum { NE = sizeof edge };
	uint8_t *block, *s = tight(4, 0, &block);

	failures = 0;
	for (unsigned a = 0; a < 256; a++)
		for (unsigned i = 0; i < NE * NE * NE && failures <= 20; i++) {
			s[0] = (uint8_t)a;
			s[1] = edge[i % NE];
			s[2] = edge[i / NE % NE];
			s[3] = edge[i / (NE * NE)];
			check(s, 4);
		}
	for (unsigned a = 0xF0; a <= 0xF4; a++)
		for (unsigned i = 0; i < 64 * 64 * 64 && failures <= 20; i++) {
			s[0] = (uint8_t)a;
			s[1] = (uint8_t)(0x80 | (i & 63));
			s[2] = (uint8_t)(0x80 | (i >> 6 & 63));
			s[3] = (uint8_t)(0x80 | (i >> 12 & 63));
			check(s, 4);
		}
	free(block);
}

/* Appends a random valid piece: an ASCII run (often long, for the fast path)
 * or one 2-, 3- or 4-byte code point, or a boundary code point. */
static size_t random_piece(uint8_t *out)
{
	static const uint32_t edges[] = {0x7F, 0x80, 0x7FF, 0x800, 0xD7FF, 0xE000, 0xFFFD,
	                                 0xFFFF, 0x10000, 0x10FFFF, 0xFEFF, 0x0};
	uint32_t r = rnd();
	size_t n;

	switch (r % 8) {
	case 0:
	case 1:
	case 2:
		n = rnd() % (r & 8 ? 40 : 6);
		for (size_t i = 0; i < n; i++)
			out[i] = (uint8_t)(rnd() % 0x80);
		return n;
	case 3:
		return encode(out, 0x80 + rnd() % (0x800 - 0x80));
	case 4: {
		uint32_t cp = 0x800 + rnd() % (0x10000 - 0x800 - 0x800);
		if (cp >= 0xD800)
			cp += 0x800; /* skip the surrogates */
		return encode(out, cp);
	}
	case 5:
		return encode(out, 0x10000 + rnd() % (0x110000 - 0x10000));
	default:
		return encode(out, edges[rnd() % (sizeof edges / sizeof edges[0])]);
	}
}

static void random_strings(void)
{
	static const uint8_t odd[] = {0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf,
	                              0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xf7, 0xf8, 0xfe, 0xff};
	enum { CAP = 160 };
	uint8_t tmp[CAP + 8];

	failures = 0;
	for (int iter = 0; iter < (t_sparse() ? 2000 : 20000) && failures <= 20; iter++) {
		size_t target = rnd() % CAP, n = 0;
		uint8_t *block, *s;

		while (n < target) {
			uint8_t piece[48];
			size_t k = random_piece(piece);
			if (n + k > CAP)
				break;
			memcpy(tmp + n, piece, k);
			n += k;
		}
		/* Corrupt about two thirds of them. */
		for (unsigned c = rnd() % 3; c > 0 && n > 0; c--) {
			size_t at = rnd() % n;
			switch (rnd() % 4) {
			case 0:
				tmp[at] = (uint8_t)rnd();
				break;
			case 1:
				tmp[at] = odd[rnd() % sizeof odd];
				break;
			case 2: /* drop a byte */
				memmove(tmp + at, tmp + at + 1, n - at - 1);
				n--;
				break;
			default: /* cut the end */
				n = at;
				break;
			}
		}
		s = tight(n, rnd() % 8, &block);
		memcpy(s, tmp, n);
		check(s, n);
		free(block);
	}
}

/* ASCII runs of many lengths with one odd byte or one multi-byte sequence at
 * every position and at several alignments: the 16-byte ASCII fast path must
 * neither skip an error nor lose the state around a sequence. */
static void ascii_runs(void)
{
	static const char *const odd[] = {
		"\x80", "\xbf", "\xc0", "\xc1", "\xf5", "\xff", "\xc2", "\xe0", "\xed\xa0",
		"\xf0\x80", "\xf4\x90", "\xe2\x82\xac", "\xf0\x9d\x84\x9e", "\xc3\xa9",
		"\xe2\x82\xac\x80", "\xc3\xa9\xc3",
	};
	static const size_t lens[] = {1,  2,  3,  7,  8,  15, 16, 17, 18, 23, 24, 31, 32,
	                              33, 40, 47, 48, 49, 63, 64, 65, 80, 127, 128, 129};

	failures = 0;
	for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++)
		for (size_t oi = 0; oi < sizeof odd / sizeof odd[0]; oi++) {
			size_t n = lens[li], k = strlen(odd[oi]);
			for (size_t pos = 0; pos + k <= n && failures <= 20; pos++) {
				uint8_t *block, *s = tight(n, pos % 8, &block);
				for (size_t i = 0; i < n; i++)
					s[i] = (uint8_t)('a' + (i * 7) % 26);
				memcpy(s + pos, odd[oi], k);
				check(s, n);
				free(block);
			}
		}
	/* Long inputs: a 64 KiB ASCII run, one bad byte at spread positions;
	 * split points near the bad byte only. */
	{
		enum { BIG = 65536 + 13 };
		uint8_t *block, *s = tight(BIG, 0, &block);
		for (size_t i = 0; i < BIG; i++)
			s[i] = (uint8_t)(' ' + i % 95);
		check_range(s, BIG, 0, 0);
		for (size_t pos = 0; pos < BIG && failures <= 20; pos += 4093) {
			s[pos] = 0xC0;
			check_range(s, BIG, pos > 20 ? pos - 20 : 0, pos + 20);
			s[pos] = 0xE2; /* valid lead, then ASCII: fails at pos + 1 */
			check_range(s, BIG, pos > 20 ? pos - 20 : 0, pos + 20);
			s[pos] = (uint8_t)(' ' + pos % 95);
		}
		free(block);
	}
}

/* Mostly non-ASCII text of lengths around the 16-, 32- and 64-byte blocks a
 * vectorised validator works in (inputs of 64 bytes and more may take a SIMD
 * path), cut anywhere (so it may end inside a sequence) and with one byte
 * replaced at every position; split points near that byte, so that the call
 * that meets it starts with a carried state at every phase. */
static void multibyte_runs(void)
{
	static const char *const pats[] = {
		"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9d\x84\x9e",
		"a\xce\xba\xe2\x82\xac\xf0\x9d\x84\x9e", "\xed\x9f\xbf\xf4\x8f\xbf\xbf\xee\x80\x80z",
	};
	static const size_t lens[] = {31, 32, 33, 63, 64, 65, 66, 67, 95, 96, 97, 127, 128, 129,
	                              130, 131, 191, 192, 193, 255, 256, 257};
	static const uint8_t subst[] = {0x80, 0xbf, 0x41, 0xc0, 0xe0, 0xed, 0xf4, 0xff};

	failures = 0;
	for (size_t pi = 0; pi < sizeof pats / sizeof pats[0]; pi++)
		for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
			size_t n = lens[li], k = strlen(pats[pi]);
			uint8_t *block, *s = tight(n, pi, &block);
			for (size_t i = 0; i < n; i++)
				s[i] = (uint8_t)pats[pi][i % k];
			check(s, n);
			for (size_t pos = 0; pos < n && failures <= 20; pos++)
				for (size_t b = 0; b < sizeof subst; b++) {
					uint8_t keep = s[pos];
					s[pos] = subst[(b + pos) % sizeof subst];
					if (b < 3)
						check_range(s, n, pos > 66 ? pos - 66 : 0, pos + 3);
					else
						check_range(s, n, pos > 3 ? pos - 3 : 0, pos + 3);
					s[pos] = keep;
				}
			free(block);
		}
}

/* The same at every alignment of the input to 64 bytes (vector code may
 * align its loads): 200 bytes of mixed text, one bad byte at spread positions. */
static void alignments(void)
{
	static const char pat[] = "a\xce\xba\xe2\x82\xac\xf0\x9d\x84\x9e" "bc";
	enum { N = 200 };
	uint8_t *block = malloc(N + 128), *s;
	uintptr_t base;

	failures = 0;
	if (!block)
		abort();
	base = (uintptr_t)block;
	for (size_t align = 0; align < 64; align++) {
		s = block + ((align - base % 64) & 63);
		for (size_t i = 0; i < N; i++)
			s[i] = (uint8_t)pat[i % (sizeof pat - 1)];
		check(s, N);
		for (size_t pos = align % 5; pos < N && failures <= 20; pos += 5) {
			uint8_t keep = s[pos];
			s[pos] = keep < 0x80 ? 0x80 : 0x41;
			check_range(s, N, pos > 70 ? pos - 70 : 0, pos + 2);
			s[pos] = keep;
		}
	}
	free(block);
}

/* The state carries any prefix across calls, including calls of length 0,
 * and a complete string leaves state 0. */
static void state_contract(void)
{
	static const char k[] = "\xf0\x9d\x84\x9e\xe2\x82\xac\xc3\xa9" "a";
	uint32_t st = 0;
	size_t n = sizeof k - 1;

	for (size_t i = 0; i < n; i++) {
		CHECK_INT(validate(&st, k + i, 0), 0);
		CHECK_INT(validate(&st, k + i, 1), 1);
		int complete;
		ref_validate((const uint8_t *)k, i + 1, &complete);
		CHECK_INT(st == 0, complete);
	}
	CHECK_INT(st, 0);
	/* An error after a carried prefix is reported at offset 0 of the new call. */
	st = 0;
	CHECK_INT(validate(&st, "\xed", 1), 1);
	CHECK(st != 0);
	CHECK_INT(validate(&st, "\xa0\x80", 2), 0);
	st = 0;
	CHECK_INT(validate(&st, "ab\xf0\x90", 4), 4);
	CHECK_INT(validate(&st, "\x80\x80" "cd" "\xff", 5), 4);
}

/* The DFA in its other table form, on the same inputs as the library. */
static void other_form_exhaustive(void)
{
	validate = other_form;
	state_contract();
	exhaustive_1_and_2_bytes();
	exhaustive_3_bytes();
	dense_4_bytes();
	every_code_point();
	validate = ws_utf8_validate;
}

static void other_form_text(void)
{
	validate = other_form;
	random_strings();
	ascii_runs();
	multibyte_runs();
	alignments();
	validate = ws_utf8_validate;
}

int main(int argc, char **argv)
{
	(void)argc;
	RUN(reference_self_check);
	RUN(state_contract);
	RUN(exhaustive_1_and_2_bytes);
	RUN(exhaustive_3_bytes);
	RUN(dense_4_bytes);
	RUN(every_code_point);
	RUN(random_strings);
	RUN(ascii_runs);
	RUN(multibyte_runs);
	RUN(alignments);
	RUN(other_form_exhaustive);
	RUN(other_form_text);
	return t_done(argv[0]);
}
