/* The RFC 6455 frame codec on its own: header encode/decode, masking, close
 * codes and UTF-8 validation. No state, no allocation; usable without ws_conn. */
#ifndef WS_FRAME_H
#define WS_FRAME_H

#include <stddef.h>
#include <stdint.h>
#include "status.h"

/* Opcodes (RFC 6455 §5.2). 3-7 and 11-15 are reserved and rejected. */
enum {
	WS_OP_CONTINUATION = 0x0,
	WS_OP_TEXT = 0x1,
	WS_OP_BINARY = 0x2,
	WS_OP_CLOSE = 0x8,
	WS_OP_PING = 0x9,
	WS_OP_PONG = 0xA
};

/* Bits of a frame's first byte, as passed to ws_frame_header_encode(). */
enum {
	WS_FIN = 0x80,
	WS_RSV1 = 0x40, /* "per-message compressed" under permessage-deflate (RFC 7692) */
	WS_RSV2 = 0x20,
	WS_RSV3 = 0x10
};

/* Close codes (RFC 6455 §7.4.1 and the IANA registry). 1005, 1006 and 1015 are
 * reported locally and never appear on the wire. */
enum {
	WS_CLOSE_NORMAL = 1000,
	WS_CLOSE_GOING_AWAY = 1001,
	WS_CLOSE_PROTOCOL_ERROR = 1002,
	WS_CLOSE_UNSUPPORTED_DATA = 1003,
	WS_CLOSE_NO_STATUS = 1005,
	WS_CLOSE_ABNORMAL = 1006,
	WS_CLOSE_INVALID_PAYLOAD = 1007,
	WS_CLOSE_POLICY_VIOLATION = 1008,
	WS_CLOSE_MESSAGE_TOO_BIG = 1009,
	WS_CLOSE_MANDATORY_EXTENSION = 1010,
	WS_CLOSE_INTERNAL_ERROR = 1011,
	WS_CLOSE_SERVICE_RESTART = 1012,
	WS_CLOSE_TRY_AGAIN_LATER = 1013,
	WS_CLOSE_BAD_GATEWAY = 1014,
	WS_CLOSE_TLS_HANDSHAKE = 1015
};

/* Largest frame header: 2 bytes, 8 of extended length, 4 of mask key. */
#define WS_FRAME_HEADER_MAX 14
/* Largest control frame payload (RFC 6455 §5.5) and whole control frame. */
#define WS_CONTROL_PAYLOAD_MAX 125
#define WS_CONTROL_FRAME_MAX (WS_FRAME_HEADER_MAX + WS_CONTROL_PAYLOAD_MAX)

/* Decoding flag: accept length fields that are not minimally encoded.
 * SECURITY: lengths then have several encodings, which lets a frame look
 * different to two parsers (for example an inspecting proxy and the endpoint).
 * Same value as WS_CFG_LENIENT_LENGTH. */
#define WS_DECODE_LENIENT_LENGTH 0x2u

typedef struct ws_frame_header {
	uint64_t len;       /* payload length */
	uint8_t fin;        /* 1 if FIN is set */
	uint8_t rsv;        /* RSV bits as they stand in the first byte (WS_RSV1|WS_RSV2|WS_RSV3) */
	uint8_t opcode;     /* WS_OP_* */
	uint8_t masked;     /* 1 if a mask key follows */
	uint8_t mask[4];    /* the mask key, when masked */
	uint8_t header_len; /* bytes of header, 2 to 14 */
} ws_frame_header;

#ifdef __cplusplus
extern "C" {
#endif

/* Decodes the frame header at the start of buf[0..len). Errors visible in
 * the first two bytes are reported as soon as those two bytes are present.
 * RSV bits and masking are not judged here: they depend on negotiation and
 * role (ws_conn does). Reads at most 14 bytes; writes only *h, and *h only on
 * success.
 * Returns:
 *   the header's length, 2 to 14;
 *   0 if more bytes are needed;
 *   WS_E_OPCODE for a reserved opcode;
 *   WS_E_CONTROL_FRAGMENTED for a control frame without FIN;
 *   WS_E_CONTROL_TOO_LONG for a control frame over 125 bytes;
 *   WS_E_LENGTH_TOP_BIT for a 64-bit length with the top bit set;
 *   WS_E_LENGTH_NOT_MINIMAL for a length not minimally encoded (unless
 *     WS_DECODE_LENIENT_LENGTH is in flags).
 * Sticky: no; there is no state to remember them. */
WS_API int ws_frame_header_decode(ws_frame_header *h, const void *buf, size_t len, unsigned flags);

/* Writes a frame header into out (at least WS_FRAME_HEADER_MAX bytes). bits
 * is WS_FIN and/or WS_RSV*; opcode is WS_OP_*; mask is NULL for an unmasked
 * frame or the 4-byte key. Does not check the opcode or the control-frame
 * rules: ws_conn_send() does.
 * Returns:
 *   the header's length, 2 to 14. */
WS_API size_t ws_frame_header_encode(void *out, unsigned bits, unsigned opcode, uint64_t len,
                                     const uint8_t mask[4]);

/* XORs data[0..len) in place with the mask key, starting at key byte
 * (offset % 4): pass the number of payload bytes already unmasked so a payload
 * can be unmasked in pieces. Masking and unmasking are the same operation. */
WS_API void ws_mask(void *data, size_t len, const uint8_t key[4], uint64_t offset);

/* Like ws_mask(), but reads src and writes dst (which may not overlap unless equal). */
WS_API void ws_mask_copy(void *dst, const void *src, size_t len, const uint8_t key[4], uint64_t offset);

/* Whether code may be sent in and accepted from a close frame (RFC 6455 §7.4).
 * Returns:
 *   1 for 1000-1003, 1007-1014 and 3000-4999;
 *   0 otherwise. */
WS_API int ws_close_code_valid(unsigned code);

/* Streaming UTF-8 validation (RFC 3629: no overlongs, no surrogates, nothing
 * above U+10FFFF). *state starts at 0 and carries a sequence split across
 * calls. Input is complete and valid when the return is len and *state is 0
 * afterwards. After a failure *state is undefined: reset it.
 * Returns:
 *   len when all of s[0..len) is a valid prefix;
 *   else the offset of the first byte that cannot start or continue a valid
 *     sequence (fail-fast). */
WS_API size_t ws_utf8_validate(uint32_t *state, const void *s, size_t len);

#ifdef __cplusplus
}
#endif
#endif
