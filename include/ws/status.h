/* Status codes: one table gives each its value, the close code a peer should be
 * sent (RFC 6455 §7.4.1; 0 when none), the HTTP status for handshake failures
 * (0 when none) and a description.
 *
 * WS_OK is 0; errors are negative. Which are sticky, exactly:
 *   - Errors from the wire, every value <= -100 (frames from -100, the HTTP
 *     handshake from -200): when ws_conn_recv() returns one, the connection
 *     has failed for good. Every later ws_conn_recv() returns it again,
 *     ws_conn_send(), ws_conn_send_header() and ws_conn_close() return it,
 *     and ws_conn_fail() writes what it calls for: once OPEN, the close frame
 *     with its close code; during a server's handshake, the HTTP response
 *     with its HTTP status (400 when the row has none); during a client's
 *     handshake nothing, the client just closes the transport (RFC 6455
 *     §4.1; rows -210..-213 are the client's own). ws_frame_header_decode()
 *     returns the frame errors too, with no connection to remember them.
 *   - WS_E_ALLOC is sticky when ws_conn_recv() returns it: the zlib state to
 *     inflate permessage-deflate messages could not be had, when a compressed
 *     message arrived or (client) when the 101 agreed the extension; close
 *     code 1011. ws_conn_enable_deflate() and ws_deflate_shared_new() return
 *     it having changed nothing; sending never returns it (a message whose
 *     compressor cannot be had is sent uncompressed).
 *   - Errors in how the library was called change nothing and are not
 *     remembered: WS_E_ARG, WS_E_BUFFER, WS_E_STATE (including the one
 *     ws_conn_recv() returns for a client that has not called
 *     ws_conn_connect()), WS_E_RAND, WS_E_ABI. */
#ifndef WS_STATUS_H
#define WS_STATUS_H

#include "version.h"

/* X(name, value, close code, http status, description) */
#define WS_STATUS_TABLE(X) \
	X(OK,                         0,    0,   0, "success") \
	X(E_ARG,                     -1,    0,   0, "invalid argument") \
	X(E_BUFFER,                  -2,    0,   0, "output buffer too small") \
	X(E_STATE,                   -3,    0,   0, "not allowed in the connection's current state") \
	X(E_RAND,                    -4,    0,   0, "random number callback failed") \
	X(E_ABI,                     -5,    0,   0, "sizeof(ws_conn) differs between header and library") \
	X(E_ALLOC,                   -6, 1011,   0, "allocator failed") \
	X(E_RSV,                   -100, 1002,   0, "reserved bit set without a negotiated extension") \
	X(E_OPCODE,                -101, 1002,   0, "reserved opcode") \
	X(E_MASK_REQUIRED,         -102, 1002,   0, "client frame is not masked") \
	X(E_MASK_UNEXPECTED,       -103, 1002,   0, "server frame is masked") \
	X(E_CONTROL_TOO_LONG,      -104, 1002,   0, "control frame payload longer than 125 bytes") \
	X(E_CONTROL_FRAGMENTED,    -105, 1002,   0, "control frame without FIN") \
	X(E_UNEXPECTED_CONTINUATION, -106, 1002, 0, "continuation frame without a message in progress") \
	X(E_EXPECTED_CONTINUATION, -107, 1002,   0, "new data message inside a fragmented message") \
	X(E_LENGTH_TOP_BIT,        -108, 1002,   0, "64-bit payload length with the top bit set") \
	X(E_LENGTH_NOT_MINIMAL,    -109, 1002,   0, "payload length not minimally encoded") \
	X(E_CLOSE_LENGTH,          -110, 1002,   0, "close frame payload of one byte") \
	X(E_CLOSE_CODE,            -111, 1002,   0, "invalid close code") \
	X(E_DATA_AFTER_CLOSE,      -112, 1002,   0, "data received after a close frame") \
	X(E_UTF8,                  -113, 1007,   0, "invalid UTF-8 in a text message") \
	X(E_CLOSE_UTF8,            -114, 1007,   0, "invalid UTF-8 in a close reason") \
	X(E_MESSAGE_TOO_BIG,       -115, 1009,   0, "message larger than the configured limit") \
	X(E_FRAME_TOO_BIG,         -116, 1009,   0, "frame larger than the configured limit") \
	X(E_TOO_MANY_FRAGMENTS,    -117, 1009,   0, "message has more fragments than the configured limit") \
	X(E_INFLATE,               -118, 1007,   0, "compressed message is corrupt") \
	X(E_HTTP_MALFORMED,        -200,    0, 400, "malformed HTTP head") \
	X(E_HTTP_METHOD,           -201,    0, 400, "request method is not GET") \
	X(E_HTTP_VERSION,          -202,    0, 400, "HTTP version older than 1.1") \
	X(E_HTTP_HOST,             -203,    0, 400, "missing, duplicate or invalid Host header") \
	X(E_HTTP_UPGRADE,          -204,    0, 400, "Upgrade header lacks the websocket token") \
	X(E_HTTP_CONNECTION,       -205,    0, 400, "Connection header lacks the upgrade token") \
	X(E_HTTP_WS_VERSION,       -206,    0, 426, "Sec-WebSocket-Version is not 13") \
	X(E_HTTP_KEY,              -207,    0, 400, "Sec-WebSocket-Key missing, duplicate or not 16 bytes of base64") \
	X(E_HTTP_HEAD_TOO_BIG,     -208,    0, 431, "HTTP head larger than the configured limit") \
	X(E_HTTP_TOO_MANY_HEADERS, -209,    0, 431, "more HTTP headers than the configured limit") \
	X(E_HTTP_STATUS,           -210,    0,   0, "malformed HTTP status line") \
	X(E_HTTP_ACCEPT,           -211,    0,   0, "Sec-WebSocket-Accept missing or wrong") \
	X(E_HTTP_PROTOCOL,         -212,    0,   0, "server chose a subprotocol that was not offered") \
	X(E_HTTP_EXTENSION,        -213,    0,   0, "server accepted an extension that was not offered") \
	X(E_HTTP_BODY,             -214,    0, 400, "upgrade request with a body (Content-Length or Transfer-Encoding)")

typedef enum ws_status {
#define WS_STATUS_ENUM_(name, value, close, http, text) WS_##name = value,
	WS_STATUS_TABLE(WS_STATUS_ENUM_)
#undef WS_STATUS_ENUM_
	WS_STATUS_END_ = 1
} ws_status;

#ifdef __cplusplus
extern "C" {
#endif

/* Returns:
 *   the enum name without the WS_ prefix ("E_UTF8"), in static storage;
 *   "UNKNOWN" for a value not in the table. */
WS_API const char *ws_status_name(int status);

/* Returns:
 *   a one-line English description, in static storage;
 *   "unknown status" for a value not in the table. */
WS_API const char *ws_status_str(int status);

/* Returns:
 *   the close code a peer must be sent for this error (1002, 1007, 1009,
 *     1011);
 *   0 if none. */
WS_API unsigned ws_status_close_code(int status);

/* Returns:
 *   the HTTP status a failed handshake answers with (400, 426, 431);
 *   0 if none. */
WS_API unsigned ws_status_http(int status);

#ifdef __cplusplus
}
#endif
#endif
