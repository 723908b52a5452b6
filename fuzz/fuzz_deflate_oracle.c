/* permessage-deflate on receipt against zlib's own inflate: the differential
 * oracle of test/oracle.h. Input: byte 0 chooses how the wire is split
 * (fz_split mode and seed); the rest drives the case generator two bytes per
 * decision (message kinds and sizes, zlib parameters, flush points, frame
 * cuts, corruptions), then a PRNG seeded from the whole input takes over.
 * The case runs whole and split, each with the input at a page end and again
 * with the bytes each call should leave unconsumed on read-only pages (a
 * write there, even of the byte it found, crashes); every message delivered complete must be
 * what zlib inflates (and zlib must find it complete), every truncated or
 * corrupt one must fail with E_INFLATE (or E_MESSAGE_TOO_BIG / E_UTF8 where
 * the inflated bytes call for it), and both runs must give the same events.
 *
 * The seeds in fuzz/corpus/fuzz_deflate_oracle are deterministic: seed-NN
 * (NN = 0..19) is the byte NN*37 & 0xff, then 8+6*NN bytes, the low bytes of
 * xorshift32 (13, 17, 5) started at 0x9e3779b9 ^ (NN*2654435761 mod 2^32). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fuzz_common.h"
#include "oracle.h"

typedef struct src {
	fz_in in;
	uint32_t prng;
} src;

static uint32_t next(void *ctx)
{
	src *s = ctx;

	if (s->in.n >= 2)
		return fz_u16(&s->in);
	return fz_rand32(&s->prng);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	src s = {{data, size}, 2166136261u};
	unsigned b0 = fz_byte(&s.in);
	or_case *k;
	fz_split sp;
	size_t n, *split, ns = 0, pos = 0;
	char *ref = NULL, *log = NULL;
	const char *why;

	for (size_t i = 0; i < size; i++)
		s.prng = (s.prng ^ data[i]) * 16777619u;
	k = or_case_new(next, &s);
	n = or_case_wire_len(k);
	split = malloc((n + 1) * sizeof *split);
	FZ_ASSERT(split != NULL);
	sp.mode = b0 & 7;
	sp.seed = b0 >> 3 | 0x10000u;
	sp.total = n;
	while (pos < n) {
		pos += fz_split_next(&sp, pos);
		if (pos < n)
			split[ns++] = pos;
	}
	/* Whole, then split; each again with the bytes every call should leave
	 * unconsumed on read-only pages. */
	why = or_case_run(k, NULL, 0, 0, &ref);
	if (!why)
		why = or_case_run(k, NULL, 0, OR_RO_TAIL, NULL);
	if (!why) {
		why = or_case_run(k, split, ns, 0, &log);
		if (!why)
			why = or_case_run(k, split, ns, OR_RO_TAIL, NULL);
		if (!why && strcmp(ref, log)) {
			fprintf(stderr, "whole:\n%ssplit (mode %u):\n%s", ref, sp.mode, log);
			why = "the events depend on how the wire is split";
		}
	}
	if (why) {
		fprintf(stderr, "case: %s\n", or_case_describe(k));
		fz_fail(__FILE__, __LINE__, why);
	}
	free(ref);
	free(log);
	free(split);
	or_case_free(k);
	return 0;
}
