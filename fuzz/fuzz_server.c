/* A server connection fed hostile bytes: the opening handshake (the request),
 * then frames; or, with WS_CFG_START_OPEN (bit 0 of the first byte), frames
 * only. Input: 4 configuration bytes (see fuzz_common.h), then the stream. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const fz_conn_opts o = {WS_ROLE_SERVER, 0, 0};

	fz_conn_run(&o, data, size);
	return 0;
}
