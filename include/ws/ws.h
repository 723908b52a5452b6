/* libws: a sans-I/O WebSocket library (RFC 6455, RFC 7692). Umbrella header.
 *
 * Every function's comment ends the same way: "Returns:", then one value or
 * error per line with when it is returned; and, for a function that returns
 * ws_status errors, "Sticky:", whether an error is remembered by the
 * connection (status.h says which are, and why). */
#ifndef WS_WS_H
#define WS_WS_H

#include "version.h"
#include "status.h"
#include "frame.h"
#include "conn.h"
#include "handshake.h"
#include "deflate.h"

#endif
