/* ws_utf8_validate() against the plain reference validator of fuzz_common.c
 * (fz_utf8_step: RFC 3629 written out byte by byte): the same fail-fast
 * offset and the same "complete" verdict, whole and when the text is fed in
 * pieces that carry the state across (split anywhere, even inside a
 * sequence), each piece in an exact-size buffer at a fuzzed alignment so a
 * vectorised validator that reads past the end is caught.
 * Input: byte 0: bits 0-3 alignment, bits 4-6 split mode, bit 7 repeat the
 * text four times (longer runs for the vector paths); byte 1: split seed;
 * then the text. */
#include <stdlib.h>
#include <string.h>
#include "fuzz_common.h"

static size_t validate_at(uint32_t *st, const uint8_t *s, size_t n, unsigned align)
{
	uint8_t *b = malloc(align + n + 1);
	size_t r;

	FZ_ASSERT(b != NULL);
	if (n)
		memcpy(b + align, s, n);
	r = ws_utf8_validate(st, b + align, n);
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
	uint32_t st = 0, st0;
	int complete;
	fz_split sp;

	FZ_ASSERT(s != NULL);
	for (unsigned i = 0; i < reps; i++)
		if (in.n)
			memcpy(s + i * in.n, in.p, in.n);
	want = fz_utf8_ref(&u, s, n);
	complete = want == n && u.need == 0;

	/* Whole. */
	got = validate_at(&st, s, n, align);
	FZ_ASSERT(got == want);
	if (got == n)
		FZ_ASSERT((st == 0) == complete);

	/* Nothing changes nothing. */
	st0 = st;
	if (got == n) {
		FZ_ASSERT(ws_utf8_validate(&st, s, 0) == 0);
		FZ_ASSERT(st == st0);
	}

	/* In pieces, carrying the state. */
	st = 0;
	sp.mode = b0 >> 4 & 7;
	sp.seed = b1 | 0x100u;
	sp.total = n;
	while (pos < n) {
		size_t k = fz_split_next(&sp, pos);
		size_t r = validate_at(&st, s + pos, k, (align + (unsigned)pos) & 15);
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
	free(s);
	return 0;
}
