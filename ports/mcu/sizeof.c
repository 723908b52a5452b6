/* sizeof(ws_conn) as the compiler lays it out, read from the assembly (-S) so
 * that a cross build need not run: mcu.mk prints it for the target and the
 * host. The typedef fails the build beyond the limits: 64 bytes on 64-bit
 * hosts (DESIGN.md), 48 on 32-bit targets (issue 14). */
#include "ws/ws.h"

typedef char ws_conn_fits[sizeof(ws_conn) <= (sizeof(void *) > 4 ? 64 : 48) ? 1 : -1];

const unsigned ws_conn_size = sizeof(ws_conn);
