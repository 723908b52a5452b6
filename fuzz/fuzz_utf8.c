/* ws_utf8_validate() against the plain reference validator of fuzz_common.c
 * (fz_utf8_step: RFC 3629 written out byte by byte): the same fail-fast
 * offset and the same "complete" verdict, whole and when the text is fed in
 * pieces that carry the state across (split anywhere, even inside a
 * sequence), each piece in an exact-size buffer at a fuzzed alignment so a
 * vectorised validator that reads past the end is caught.
 * Every implementation this CPU runs is checked (the scalar DFA, SSSE3, AVX2,
 * AVX-512, NEON), as are the fused unmask+validate functions: each byte
 * unmasked exactly once and the same verdict.
 * Input: byte 0: bits 0-3 alignment, bits 4-6 split mode, bit 7 repeat the
 * text four times (longer runs for the vector paths); byte 1: split seed;
 * then the text. */
#include <stdlib.h>
#include <string.h>
#include "fuzz_common.h"
#include "ws_internal.h"

/* Every validator this build has and this CPU runs, not only the one
 * ws_utf8_validate() dispatches to, and the fused unmask+validate ones. */
typedef size_t (*validate_fn)(uint32_t *state, const uint8_t *s, size_t len);
typedef size_t (*unmask_fn)(uint8_t *d, size_t n, uint32_t key, uint32_t *state);
static const struct impl {
	const char *name;
	unsigned isa; /* WS__ISA_* it needs, 0 for none */
	validate_fn validate;
	unmask_fn unmask;
} impls[] = {
	{"dfa", 0, ws__utf8_dfa, ws__unmask_utf8_scalar},
	{"dispatch", 0, NULL, ws__unmask_utf8},
#if WS__HAVE_X86
	{"ssse3", WS__ISA_SSSE3, ws__utf8_ssse3, ws__unmask_utf8_ssse3},
	{"avx2", WS__ISA_AVX2, ws__utf8_avx2, ws__unmask_utf8_avx2},
	{"avx512", WS__ISA_AVX512, ws__utf8_avx512, ws__unmask_utf8_avx512},
#endif
#if WS__HAVE_NEON
	{"neon", WS__ISA_NEON, ws__utf8_neon, ws__unmask_utf8_neon},
#endif
};

/* s[0..n) masked with key (at phase 0) then unmasked and validated in place
 * by fn at the given alignment: every byte comes back exactly once, and the
 * verdict is the reference's. */
static void check_unmask(unmask_fn fn, const uint8_t *s, size_t n, unsigned align, uint32_t key,
                         size_t want, int complete)
{
	uint8_t *b = malloc(align + n + 1), kb[4];
	uint32_t st = 0;
	size_t r;

	FZ_ASSERT(b != NULL);
	memcpy(kb, &key, 4);
	for (size_t i = 0; i < n; i++)
		b[align + i] = s[i] ^ kb[i & 3];
	r = fn(b + align, n, key, &st);
	FZ_ASSERT(r == want);
	FZ_ASSERT(n == 0 || memcmp(b + align, s, n) == 0); /* all unmasked, once */
	if (r == n)
		FZ_ASSERT((st == 0) == complete);
	free(b);
}

static size_t validate_at(validate_fn fn, uint32_t *st, const uint8_t *s, size_t n, unsigned align)
{
	uint8_t *b = malloc(align + n + 1);
	size_t r;

	FZ_ASSERT(b != NULL);
	if (n)
		memcpy(b + align, s, n);
	r = fn ? fn(st, b + align, n) : ws_utf8_validate(st, b + align, n);
	free(b);
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_in in = {data, size};
	unsigned b0 = fz_byte(&in), b1 = fz_byte(&in), align = b0 & 15, reps = b0 & 0x80 ? 4 : 1;
	size_t n = in.n * reps, want, got, pos = 0;
	uint8_t *s = malloc(n + 1);
	fz_utf8 u = {0, 0, 0};
	uint32_t st = 0, st0, key = (b1 + 1) * 0x01000193u ^ 0x9e3779b9u;
	int complete;
	fz_split sp;

	FZ_ASSERT(s != NULL);
	for (unsigned i = 0; i < reps; i++)
		if (in.n)
			memcpy(s + i * in.n, in.p, in.n);
	want = fz_utf8_ref(&u, s, n);
	complete = want == n && u.need == 0;

	for (size_t v = 0; v < sizeof impls / sizeof impls[0]; v++) {
		const struct impl *im = &impls[v];
		if (im->isa && !(ws__isa() & im->isa))
			continue;
		/* Whole. */
		st = 0;
		got = validate_at(im->validate, &st, s, n, align);
		FZ_ASSERT(got == want);
		if (got == n)
			FZ_ASSERT((st == 0) == complete);

		/* Nothing changes nothing. */
		st0 = st;
		if (got == n) {
			FZ_ASSERT(validate_at(im->validate, &st, s, 0, align) == 0);
			FZ_ASSERT(st == st0);
		}

		/* In pieces, carrying the state. */
		st = 0;
		pos = 0;
		sp.mode = b0 >> 4 & 7;
		sp.seed = b1 | 0x100u;
		sp.total = n;
		while (pos < n) {
			size_t k = fz_split_next(&sp, pos);
			size_t r = validate_at(im->validate, &st, s + pos, k, (align + (unsigned)pos) & 15);
			FZ_ASSERT(r <= k);
			if (r < k) {
				FZ_ASSERT(pos + r == want);
				break;
			}
			pos += k;
			/* A validated prefix is valid by the reference too. */
			FZ_ASSERT(pos <= want);
		}
		if (pos == n)
			FZ_ASSERT(want == n && (st == 0) == complete);

		/* Unmasking and validating in one pass. */
		check_unmask(im->unmask, s, n, align, key, want, complete);
	}
	free(s);
	return 0;
}
