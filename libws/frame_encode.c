#include "ws_internal.h"

size_t ws_frame_header_encode(void *out, unsigned bits, unsigned opcode, uint64_t len,
                              const uint8_t mask[4])
{
	return ws__header_write(out, (bits & 0xf0) | (opcode & 0x0f), len, mask);
}
