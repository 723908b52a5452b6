/* A client connection fed hostile bytes: ws_conn_connect() with the fixed
 * options of fuzz_common.c (deterministic Sec-WebSocket-Key), then the
 * server's response, then frames; or, with WS_CFG_START_OPEN (bit 0 of the
 * first byte), frames only. Input: 4 configuration bytes, then the stream. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const fz_conn_opts o = {WS_ROLE_CLIENT, 0, 0};

	fz_conn_run(&o, data, size);
	return 0;
}
