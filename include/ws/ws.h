/* libws: a sans-I/O WebSocket library (RFC 6455, RFC 7692). Umbrella header. */
#ifndef WS_WS_H
#define WS_WS_H

#include "version.h"
#include "status.h"
#include "frame.h"
#include "conn.h"
#include "handshake.h"
#include "deflate.h"

#endif
