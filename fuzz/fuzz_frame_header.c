/* The frame codec on its own, against a reference written here:
 * ws_frame_header_decode() on arbitrary bytes (every result, every prefix, at
 * most 14 bytes read, *h written only on success), encode -> decode round
 * trips of fuzzed fields, and ws_mask()/ws_mask_copy() and every internal
 * masking implementation this CPU runs (scalar, SSE2, AVX2, AVX-512, NEON) at
 * every phase, alignment and split point. Input byte 0: bit 0 lenient lengths, bits 1-3 the
 * alignment of the masked data; the rest is both the header to decode and the
 * material for the other two checks. */
#include <stdlib.h>
#include <string.h>
#include "fuzz_common.h"
#include "ws_internal.h"

/* Every masking function this build has and this CPU runs. */
typedef void (*mask_fn)(uint8_t *dst, const uint8_t *src, size_t len, uint32_t key);
static void mask_small(uint8_t *dst, const uint8_t *src, size_t len, uint32_t key)
{
	ws__mask_small(dst, src, len, key);
}
static void unmask_inline(uint8_t *dst, const uint8_t *src, size_t len, uint32_t key)
{
	if (dst != src)
		memcpy(dst, src, len);
	ws__unmask(dst, len, key);
}
static const struct mask_impl {
	unsigned isa;
	mask_fn fn;
} mask_impls[] = {
	{0, ws__mask_scalar}, {0, mask_small}, {0, unmask_inline}, {0, ws__mask},
#if WS__HAVE_X86
	{WS__ISA_SSE2, ws__mask_sse2}, {WS__ISA_AVX2, ws__mask_avx2}, {WS__ISA_AVX512, ws__mask_avx512},
#endif
#if WS__HAVE_NEON
	{WS__ISA_NEON, ws__mask_neon},
#endif
};

/* RFC 6455 §5.2, written out plainly. Same order of checks as the docs: what
 * the first two bytes show first, then wait for the whole header, then the
 * extended length. */
static int ref_decode(ws_frame_header *h, const uint8_t *b, size_t n, int lenient)
{
	unsigned op, masked, l7, ext;
	uint64_t len = 0;

	if (n < 2)
		return 0;
	op = b[0] & 15;
	if (!(op <= 2 || (op >= 8 && op <= 10)))
		return WS_E_OPCODE;
	if (op >= 8 && !(b[0] & 0x80))
		return WS_E_CONTROL_FRAGMENTED;
	if (op >= 8 && (b[1] & 127) > 125)
		return WS_E_CONTROL_TOO_LONG;
	masked = b[1] >> 7;
	l7 = b[1] & 127;
	ext = l7 == 126 ? 2 : l7 == 127 ? 8 : 0;
	if (n < 2 + ext + 4 * masked)
		return 0;
	if (ext == 2) {
		len = (uint64_t)b[2] << 8 | b[3];
		if (len < 126 && !lenient)
			return WS_E_LENGTH_NOT_MINIMAL;
	} else if (ext == 8) {
		if (b[2] & 0x80)
			return WS_E_LENGTH_TOP_BIT;
		for (int i = 0; i < 8; i++)
			len = len << 8 | b[2 + i];
		if (len < 65536 && !lenient)
			return WS_E_LENGTH_NOT_MINIMAL;
	} else {
		len = l7;
	}
	h->len = len;
	h->fin = b[0] >> 7;
	h->rsv = b[0] & 0x70;
	h->opcode = (uint8_t)op;
	h->masked = (uint8_t)masked;
	memset(h->mask, 0, 4);
	if (masked)
		memcpy(h->mask, b + 2 + ext, 4);
	h->header_len = (uint8_t)(2 + ext + 4 * masked);
	return h->header_len;
}

static int same(const ws_frame_header *a, const ws_frame_header *b)
{
	return a->len == b->len && a->fin == b->fin && a->rsv == b->rsv && a->opcode == b->opcode &&
	       a->masked == b->masked && memcmp(a->mask, b->mask, 4) == 0 &&
	       a->header_len == b->header_len;
}

static void check_decode(const uint8_t *data, size_t size, unsigned flags)
{
	/* An exact-size copy: ASan sees any read past the end. */
	uint8_t *b = malloc(size ? size : 1);
	ws_frame_header h, ref, pre, fill;
	int rc, want;

	FZ_ASSERT(b != NULL);
	if (size)
		memcpy(b, data, size);
	memset(&fill, 0xa5, sizeof fill);
	h = fill;
	rc = ws_frame_header_decode(&h, b, size, flags);
	want = ref_decode(&ref, b, size, flags & WS_DECODE_LENIENT_LENGTH);
	FZ_ASSERT(rc == want);
	if (rc > 0) {
		FZ_ASSERT(same(&h, &ref));
		/* Every proper prefix asks for more and writes nothing. */
		for (size_t k = 0; k < (size_t)rc; k++) {
			pre = fill;
			FZ_ASSERT(ws_frame_header_decode(&pre, b, k, flags) == 0);
			FZ_ASSERT(memcmp(&pre, &fill, sizeof fill) == 0);
		}
		/* Re-encoding gives the same bytes when the length was minimal. */
		{
			uint8_t e[WS_FRAME_HEADER_MAX + 2];
			ws_frame_header back;
			size_t en;
			e[WS_FRAME_HEADER_MAX] = 0x5a;
			en = ws_frame_header_encode(e, (h.fin ? WS_FIN : 0) | h.rsv, h.opcode, h.len,
			                            h.masked ? h.mask : NULL);
			FZ_ASSERT(en >= 2 && en <= WS_FRAME_HEADER_MAX && e[WS_FRAME_HEADER_MAX] == 0x5a);
			FZ_ASSERT(en <= (size_t)rc);
			if (en == (size_t)rc)
				FZ_ASSERT(memcmp(e, b, en) == 0);
			else
				FZ_ASSERT(flags & WS_DECODE_LENIENT_LENGTH);
			FZ_ASSERT(ws_frame_header_decode(&back, e, en, 0) == (int)en);
			ref.header_len = (uint8_t)en;
			FZ_ASSERT(same(&back, &ref));
		}
	} else {
		FZ_ASSERT(memcmp(&h, &fill, sizeof fill) == 0);
		/* Prefixes: more is needed, or the same error. */
		for (size_t k = 0; k < size && k < WS_FRAME_HEADER_MAX; k++) {
			int p = ws_frame_header_decode(&pre, b, k, flags);
			FZ_ASSERT(p == 0 || (p == rc && k >= 2));
		}
	}
	/* Reads at most 14 bytes. */
	if (size > WS_FRAME_HEADER_MAX) {
		pre = fill;
		FZ_ASSERT(ws_frame_header_decode(&pre, b, WS_FRAME_HEADER_MAX, flags) == rc);
		FZ_ASSERT(rc <= 0 || same(&pre, &h));
	}
	free(b);
}

static void check_encode(fz_in *in)
{
	unsigned b0 = fz_byte(in), shift = fz_byte(in) & 63, masked = fz_byte(in) & 1;
	uint64_t len = 0;
	uint8_t key[4], e[WS_FRAME_HEADER_MAX + 1];
	ws_frame_header h;
	size_t en;
	int rc;

	for (int i = 0; i < 8; i++)
		len = len << 8 | fz_byte(in);
	len >>= shift; /* every length class is as likely */
	for (int i = 0; i < 4; i++)
		key[i] = (uint8_t)fz_byte(in);
	e[WS_FRAME_HEADER_MAX] = 0x5a;
	en = ws_frame_header_encode(e, b0 & 0xf0, b0 & 15, len, masked ? key : NULL);
	FZ_ASSERT(e[WS_FRAME_HEADER_MAX] == 0x5a);
	FZ_ASSERT(en == (len < 126 ? 2u : len < 65536 ? 4u : 10u) + 4 * masked);
	rc = ws_frame_header_decode(&h, e, en, 0);
	{
		unsigned op = b0 & 15;
		int known = op <= 2 || (op >= 8 && op <= 10);
		if (!known) {
			FZ_ASSERT(rc == WS_E_OPCODE);
		} else if (op >= 8 && !(b0 & WS_FIN)) {
			FZ_ASSERT(rc == WS_E_CONTROL_FRAGMENTED);
		} else if (op >= 8 && len > 125) {
			FZ_ASSERT(rc == WS_E_CONTROL_TOO_LONG);
		} else if (len >> 63) {
			FZ_ASSERT(rc == WS_E_LENGTH_TOP_BIT);
		} else {
			FZ_ASSERT(rc == (int)en);
			FZ_ASSERT(h.len == len && h.opcode == op && h.fin == b0 >> 7 && h.rsv == (b0 & 0x70));
			FZ_ASSERT(h.masked == masked && (!masked || memcmp(h.mask, key, 4) == 0));
		}
	}
}

static void check_mask(const uint8_t *data, size_t size, unsigned align)
{
	fz_in in = {data, size};
	uint8_t key[4];
	uint64_t offset = 0;
	size_t n, cut;
	uint8_t *a, *b, *c;

	for (int i = 0; i < 4; i++)
		key[i] = (uint8_t)fz_byte(&in);
	for (int i = 0; i < 8; i++)
		offset = offset << 8 | fz_byte(&in);
	cut = fz_u16(&in);
	n = in.n;
	cut = n ? cut % (n + 1) : 0;
	/* Exact-size buffers at every alignment: overreads and overwrites show. */
	a = malloc(n + align + 1);
	b = malloc(n + align + 1);
	c = malloc(n + 1);
	FZ_ASSERT(a && b && c);
	if (n) {
		memcpy(a + align, in.p, n);
		memcpy(c, in.p, n);
	}
	/* In place, in two pieces: the second continues the key phase. */
	ws_mask(a + align, cut, key, offset);
	ws_mask(a + align + cut, n - cut, key, offset + cut);
	for (size_t i = 0; i < n; i++)
		FZ_ASSERT(a[align + i] == (uint8_t)(in.p[i] ^ key[(offset + i) & 3]));
	/* Copying, whole: same bytes; the source is untouched. */
	ws_mask_copy(b + align, c, n, key, offset);
	FZ_ASSERT(n == 0 || memcmp(a + align, b + align, n) == 0);
	FZ_ASSERT(n == 0 || memcmp(c, in.p, n) == 0);
	/* Masking twice gives the data back. */
	ws_mask(b + align, n, key, offset);
	FZ_ASSERT(n == 0 || memcmp(b + align, in.p, n) == 0);
	/* Each implementation, in place and copying (the key rotated to the
	 * offset's phase, as the internal functions take it). */
	for (size_t v = 0; v < sizeof mask_impls / sizeof mask_impls[0]; v++) {
		uint32_t k = ws__key_rotate(ws__key32(key), offset);
		if (mask_impls[v].isa && !(ws__isa() & mask_impls[v].isa))
			continue;
		if (n)
			memcpy(b + align, in.p, n);
		mask_impls[v].fn(b + align, b + align, n, k);
		FZ_ASSERT(n == 0 || memcmp(a + align, b + align, n) == 0);
		mask_impls[v].fn(b + align, c, n, k);
		FZ_ASSERT(n == 0 || memcmp(a + align, b + align, n) == 0);
		FZ_ASSERT(n == 0 || memcmp(c, in.p, n) == 0);
	}
	free(a);
	free(b);
	free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_in in = {data, size};
	unsigned b0 = fz_byte(&in);

	check_decode(in.p, in.n, b0 & 1 ? WS_DECODE_LENIENT_LENGTH : 0);
	check_encode(&in);
	check_mask(data, size, b0 >> 1 & 7);
	return 0;
}
