/* permessage-deflate (RFC 7692) on receipt: a connection that starts OPEN
 * with the extension agreed (ws_conn_enable_deflate, as after an RFC 8441
 * handshake), fed hostile frames: compressed messages with RSV1, corrupt
 * deflate streams, decompression bombs against the message limit, context
 * takeover across messages, an allocator that fails. The contract checks of
 * fuzz_common.c apply, with inflated data in the config's inflate buffer and
 * every byte taken from the allocator given back by ws_conn_release().
 * Input: byte 0: bit 0 client role; then the 4 configuration bytes of
 * fuzz_common.h (byte 2: window bits and no_context_takeover; byte 3: inflate
 * buffer size, memLevel, threshold, which allocation fails); then frames. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_conn_opts o = {WS_ROLE_SERVER, 0, 1};

	if (size) {
		o.role = data[0] & 1 ? WS_ROLE_CLIENT : WS_ROLE_SERVER;
		data++;
		size--;
	}
	fz_conn_run(&o, data, size);
	return 0;
}
