/* The frame codec for callers that do their own framing (frame.h). */
#include "ws_internal.h"

int ws_frame_header_decode(ws_frame_header *h, const void *buf, size_t len, unsigned flags)
{
	const uint8_t *p = buf;
	uint64_t plen;
	unsigned op;
	int n;

	if (len < 2)
		return 0;
	op = p[0] & 0x0f;
	if (!ws__opcode_known(op))
		return WS_E_OPCODE;
	if (ws__is_control(op) && (n = ws__control_check(p[0], p[1])) != 0)
		return n;
	n = ws__header_rest(p, len, flags & WS_DECODE_LENIENT_LENGTH, &plen);
	if (n <= 0)
		return n;
	h->len = plen;
	h->fin = p[0] >> 7;
	h->rsv = p[0] & 0x70;
	h->opcode = (uint8_t)op;
	h->masked = p[1] >> 7;
	if (h->masked)
		memcpy(h->mask, p + n - 4, 4);
	else
		memset(h->mask, 0, 4);
	h->header_len = (uint8_t)n;
	return n;
}

size_t ws_frame_header_encode(void *out, unsigned bits, unsigned opcode, uint64_t len,
                              const uint8_t mask[4])
{
	return ws__header_write(out, (bits & 0xf0) | (opcode & 0x0f), len, mask);
}
