/* The one private header that every file in libws/ includes. */
#ifndef WS_INTERNAL_H
#define WS_INTERNAL_H

#include <string.h>
#include "ws/ws.h"

/* A freestanding build (WS_FREESTANDING=1, make mcu) may rely only on the
 * four functions GCC itself emits calls to even with -ffreestanding:
 * memcpy, memmove, memset, memcmp (GCC manual, "C Language" / "Standards").
 * The three other <string.h> functions the core uses are given here instead,
 * so no libc is needed; each is the plain loop the standard describes. */
#if defined(WS_FREESTANDING) && WS_FREESTANDING
static inline size_t ws__strlen(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}
static inline char *ws__strchr(const char *s, int ch)
{
	for (;; s++) {
		if (*s == (char)ch)
			return (char *)s;
		if (!*s)
			return NULL;
	}
}
static inline void *ws__memchr(const void *s, int ch, size_t n)
{
	const unsigned char *p = s;
	for (size_t i = 0; i < n; i++)
		if (p[i] == (unsigned char)ch)
			return (void *)(p + i);
	return NULL;
}
#define strlen ws__strlen
#define strchr ws__strchr
#define memchr ws__memchr
#endif

#if defined(__GNUC__) || defined(__clang__)
#define WS_LIKELY(x) __builtin_expect(!!(x), 1)
#define WS_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define WS_LIKELY(x) (x)
#define WS_UNLIKELY(x) (x)
#endif
/* The hot paths are forced inline for speed, except in a build for size
 * (-Os, as for a microcontroller), where the compiler chooses: about 1 KB
 * less flash on a Cortex-M3. */
#if (defined(__GNUC__) || defined(__clang__)) && !defined(__OPTIMIZE_SIZE__)
#define WS_INLINE static inline __attribute__((always_inline))
#else
#define WS_INLINE static inline
#endif

/* ws_conn.state_ */
enum {
	WS__CLIENT_IDLE = 0,   /* client before ws_conn_connect() */
	WS__CLIENT_WAIT,       /* client awaiting the 101 */
	WS__SERVER_WAIT,       /* server awaiting the request */
	WS__SERVER_ANSWER,     /* server returned REQUEST, awaiting accept/reject */
	WS__OPEN               /* framing; everything from here on is OPEN or later */
};

/* ws_conn.bits_ */
enum {
	WS__CLOSE_SENT = 0x01,
	WS__CLOSE_RECV = 0x02,
	WS__BEGIN_PENDING = 0x04, /* a message began but MSG_BEGIN was not reported yet */
	WS__DONE = 0x08,          /* the transport may close (EOF, fail written, rejected) */
	WS__INFLATE = 0x10        /* the current message is compressed */
};

/* Where the receive path is inside the frame stream (ws_conn.u_.f.rx). */
enum {
	WS__RX_HEADER = 0, /* the next bytes are a frame header */
	WS__RX_PAYLOAD,    /* inside a data frame: u_.f.frame_left bytes to go */
	WS__RX_FLUSH       /* a compressed message's bytes are all in; inflated output remains */
};

/* The connection's lifecycle, asked in one way everywhere. */

/* The opening handshake is over (or was done elsewhere): frames flow. */
WS_INLINE int ws__handshake_done(const ws_conn *c)
{
	return c->state_ >= WS__OPEN;
}

/* Frames of any kind may be written: open, our close not sent, the
 * transport not given up. A sticky error is checked apart, since callers
 * return it rather than WS_E_STATE. */
WS_INLINE int ws__may_send(const ws_conn *c)
{
	return ws__handshake_done(c) && !(c->bits_ & (WS__CLOSE_SENT | WS__DONE));
}

/* Nothing more may arrive: the peer's close was received, or the
 * transport ended (EOF, failure written, rejection). */
WS_INLINE int ws__recv_over(const ws_conn *c)
{
	return (c->bits_ & (WS__CLOSE_RECV | WS__DONE)) != 0;
}

/* Opcodes that exist: 0, 1, 2, 8, 9, 10 (RFC 6455 §5.2). */
#define WS__OPCODES_KNOWN 0x0707u

/* Decodes the extended length and mask key of a header at p[0..avail), whose
 * first two bytes were already judged. Returns the header length, 0 if more
 * bytes are needed, or a negative status. */
WS_INLINE int ws__header_rest(const uint8_t *p, size_t avail, unsigned lenient, uint64_t *len)
{
	unsigned b1 = p[1];
	unsigned n = 2 + ((b1 & 0x80) >> 5); /* + 4 for a mask key */
	uint64_t l = b1 & 0x7f;

	if (l < 126) {
		if (avail < n)
			return 0;
	} else if (l == 126) {
		n += 2;
		if (avail < n)
			return 0;
		l = (uint64_t)p[2] << 8 | p[3];
		if (l < 126 && !lenient)
			return WS_E_LENGTH_NOT_MINIMAL; /* RFC 6455 §5.2: "the minimal number of bytes" */
	} else {
		n += 8;
		if (avail < n)
			return 0;
		if (p[2] & 0x80)
			return WS_E_LENGTH_TOP_BIT; /* RFC 6455 §5.2: "the most significant bit MUST be 0" */
		l = 0;
		for (int i = 2; i < 10; i++)
			l = l << 8 | p[i];
		if (l < 65536 && !lenient)
			return WS_E_LENGTH_NOT_MINIMAL;
	}
	*len = l;
	return (int)n;
}

/* Writes a header; out has room for WS_FRAME_HEADER_MAX bytes. */
WS_INLINE size_t ws__header_write(uint8_t *out, unsigned b0, uint64_t len, const uint8_t *mask)
{
	size_t n;
	unsigned m = mask ? 0x80 : 0;

	out[0] = (uint8_t)b0;
	if (len < 126) {
		out[1] = (uint8_t)(m | len);
		n = 2;
	} else if (len < 65536) {
		out[1] = (uint8_t)(m | 126);
		out[2] = (uint8_t)(len >> 8);
		out[3] = (uint8_t)len;
		n = 4;
	} else {
		out[1] = (uint8_t)(m | 127);
		for (int i = 0; i < 8; i++)
			out[2 + i] = (uint8_t)(len >> (56 - 8 * i));
		n = 10;
	}
	if (mask) {
		memcpy(out + n, mask, 4);
		n += 4;
	}
	return n;
}

/* Header length for a payload of len bytes. */
WS_INLINE size_t ws__header_size(uint64_t len, int masked)
{
	return (len < 126 ? 2 : len < 65536 ? 4 : 10) + (masked ? 4 : 0);
}

/* Records err as the connection's sticky error and returns it. */
WS_INLINE int ws__fail(ws_conn *c, int err)
{
	c->error_ = (int16_t)err;
	return err;
}

/* n bytes from the caller's random callback; nonzero on failure. */
WS_INLINE int ws__random(const ws_conn *c, void *buf, size_t n)
{
	return c->cfg_->rand(c->cfg_->rand_ctx, buf, n);
}

/* Writes a close frame (code 0: empty payload) and marks it sent. */
int ws__write_close(ws_conn *c, unsigned code, const void *reason, size_t reason_len,
                    void *out, size_t cap, size_t *out_len);

/* The opening handshake, RFC 6455 §4 (http.c, handshake_server.c,
 * handshake_client.c, sha1_mbedtls.c). */

/* Called by ws_conn_recv() while state_ < WS__OPEN; ev is already cleared. */
int ws__handshake_recv(ws_conn *c, uint8_t *buf, size_t len, size_t *consumed, ws_event *ev);
/* Called by ws_conn_fail() for a connection that failed during the handshake. */
int ws__handshake_fail(ws_conn *c, void *out, size_t cap, size_t *out_len);
/* Judge a complete head (through its CRLFCRLF) and fill in ev. */
int ws__server_head(ws_conn *c, ws_str head, ws_event *ev);
int ws__client_head(ws_conn *c, ws_str head, ws_event *ev);

/* RFC 9110 §5.6.2 token: one or more tchars. */
int ws__is_token(const char *s, size_t n);
/* Non-empty and only visible ASCII (no SP, CTL or obs-text). */
int ws__is_vchars(const char *s);
/* a equals b exactly / ASCII case-insensitively. */
int ws__eq(ws_str a, const char *b);
int ws__ieq(ws_str a, const char *b);
/* The start line of head (without its CRLF); 0 if it has no CRLF. */
int ws__start_line(ws_str head, ws_str *line);
/* RFC 9112 §2.3: HTTP-version "HTTP/" DIGIT "." DIGIT, exactly n = 8 bytes;
 * returns 10 * major + minor, or -1. */
int ws__http_version(const char *p, size_t n);
/* Checks every field line after the start line (RFC 9112 §5) and their count. */
int ws__fields_check(ws_str head, size_t pos, uint32_t max_headers);
/* 1 if s is NULL or well-formed "Name: value\r\n" lines (caller's extra headers). */
int ws__lines_ok(const char *s);

/* Output that counts what it could not write, so one pass both writes and
 * measures: ws__out_end() gives WS_E_BUFFER and the size needed. */
typedef struct ws__out {
	char *p;
	size_t len, cap;
} ws__out;
void ws__put(ws__out *o, const void *s, size_t n);
void ws__puts(ws__out *o, const char *s);
void ws__put_uint(ws__out *o, size_t v);
int ws__out_end(const ws__out *o, size_t *out_len);

/* Sec-WebSocket-Key <-> its 16 bytes. Decoding accepts only the canonical
 * 24-character form; returns 0 on success. */
int ws__key_decode(const char *s, size_t n, uint8_t key[16]);
void ws__key_encode(const uint8_t key[16], char out[25]);

/* permessage-deflate (deflate.c), compiled in when WS_DEFLATE is 1. */
#ifndef WS_DEFLATE
#define WS_DEFLATE 0
#endif
#if !WS_DEFLATE
/* Built without zlib: a constant, so that the compiler drops the handshake's
 * negotiation code and a firmware does not carry it (about 1.2 KB on a
 * Cortex-M3). deflate.c still defines the public function. */
#define ws_deflate_available() 0
#endif
/* The receive transform of permessage-deflate (RFC 7692 §7.2.2), between
 * payload and message; it knows nothing of the connection. Inflates in[0..n)
 * of a compressed message (masked with key when key is not NULL; key is for
 * in[0]) into the inflate buffer: *out, *made bytes, at most room. last: these
 * bytes end the message's payload (then the trailer is appended and the end
 * judged). *used gets the input bytes taken; in[] is never written. Returns 0
 * (more input or more output to come: call again, with n = 0 once the input
 * is all taken), 1 (the message is complete: *made is its last output), or
 * WS_E_INFLATE / WS_E_ALLOC (*made is the output decoded before the fault). */
int ws__inflate(void *ext, const uint8_t *in, size_t n, const uint8_t *key, int last, size_t room,
                size_t *used, uint8_t **out, size_t *made);
/* ws_conn_enable_deflate() without the lifecycle check, for the handshake. */
int ws__deflate_enable(ws_conn *c, const ws_deflate_params *p);
/* 1 if a message (or first fragment) of len bytes with these flags is to be compressed. */
int ws__deflate_wanted(const ws_conn *c, size_t len, unsigned flags);
/* Picks and readies the compressor for a message; returns the most bytes
 * ws__deflate_frame() may write for len bytes, or 0 if zlib memory could not be had. */
size_t ws__deflate_bound(ws_conn *c, size_t len, int whole);
/* Compresses one frame's payload into out[0..cap); *out_len gets its length. */
int ws__deflate_frame(ws_conn *c, const void *data, size_t len, int final, uint8_t *out, size_t cap,
                      size_t *out_len);

#endif

/* ---- Unmasking and UTF-8 validation: mask.c, utf8.c, simd_x86.c, simd_neon.c ----
 * A mask key travels as a uint32_t holding the 4 key bytes in memory order
 * (memcpy'd), already rotated so that its first byte masks the first byte
 * processed. Every per-ISA function below is exact at any length, alignment
 * and key; test/test_simd.c compares them all with byte loops. */
#ifndef WS_INTERNAL_SIMD_H
#define WS_INTERNAL_SIMD_H

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define WS__HAVE_X86 1 /* SSE2 is the baseline; SSSE3, AVX2, AVX-512BW chosen at run time */
#endif
#if defined(__ARM_NEON) && defined(__aarch64__) && defined(__BYTE_ORDER__) && \
	__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define WS__HAVE_NEON 1 /* AArch64 (little-endian): NEON is always there */
#endif

/* Implementations this build has and this CPU runs (ws__isa()). */
enum {
	WS__ISA_SSE2 = 0x1,
	WS__ISA_SSSE3 = 0x2,
	WS__ISA_AVX2 = 0x4,
	WS__ISA_AVX512 = 0x8, /* AVX-512F + BW */
	WS__ISA_NEON = 0x10
};
unsigned ws__isa(void);

WS_INLINE uint32_t ws__key32(const uint8_t key[4])
{
	uint32_t k;
	memcpy(&k, key, 4);
	return k;
}

/* The key for the byte n positions further on: byte i of the result is byte
 * (i + n) % 4 of k, in memory order. */
WS_INLINE uint32_t ws__key_rotate(uint32_t k, uint64_t n)
{
	unsigned r = (unsigned)(n & 3) * 8;

	if (!r)
		return k;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return k >> r | k << (32 - r);
#elif defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	return k << r | k >> (32 - r);
#else
	{
		uint8_t b[8];
		memcpy(b, &k, 4);
		memcpy(b + 4, &k, 4);
		memcpy(&k, b + (n & 3), 4);
		return k;
	}
#endif
}

/* dst[i] = src[i] ^ key for small n, inline: 16 bytes per iteration, then
 * one step per set bit of the remainder (8, 4, 2, 1), each keeping the key
 * phase. dst == src or no overlap. */
WS_INLINE void ws__mask_small(uint8_t *dst, const uint8_t *src, size_t n, uint32_t key)
{
	uint64_t k = (uint64_t)key << 32 | key; /* the same bytes in either byte order */
	uint8_t kb[4];
	size_t i = 0;

	for (; i + 16 <= n; i += 16) {
		uint64_t a, b;
		memcpy(&a, src + i, 8);
		memcpy(&b, src + i + 8, 8);
		a ^= k, b ^= k;
		memcpy(dst + i, &a, 8);
		memcpy(dst + i + 8, &b, 8);
	}
	if (n & 8) {
		uint64_t w;
		memcpy(&w, src + i, 8);
		w ^= k;
		memcpy(dst + i, &w, 8);
		i += 8;
	}
	if (n & 4) {
		uint32_t w;
		memcpy(&w, src + i, 4);
		w ^= key;
		memcpy(dst + i, &w, 4);
		i += 4;
	}
	if (n & 3) {
		memcpy(kb, &key, 4);
		if (n & 2) {
			dst[i] = src[i] ^ kb[0];
			dst[i + 1] = src[i + 1] ^ kb[1];
			i += 2;
		}
		if (n & 1)
			dst[i] = src[i] ^ kb[n & 2];
	}
}

/* 1 if p[0..n) is all ASCII; for short inputs, inline. */
WS_INLINE int ws__ascii_small(const uint8_t *p, size_t n)
{
	uint64_t acc = 0;
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		uint64_t w;
		memcpy(&w, p + i, 8);
		acc |= w;
	}
	if (i + 4 <= n) {
		uint32_t w;
		memcpy(&w, p + i, 4);
		acc |= w;
		i += 4;
	}
	for (; i < n; i++)
		acc |= p[i];
	return !(acc & 0x8080808080808080u);
}

/* Masking: the portable 64-bit-word loop and one function per ISA. */
void ws__mask_scalar(uint8_t *dst, const uint8_t *src, size_t len, uint32_t key);
#if WS__HAVE_X86
void ws__mask_sse2(uint8_t *dst, const uint8_t *src, size_t len, uint32_t key);
void ws__mask_avx2(uint8_t *dst, const uint8_t *src, size_t len, uint32_t key);
void ws__mask_avx512(uint8_t *dst, const uint8_t *src, size_t len, uint32_t key);
#endif
#if WS__HAVE_NEON
void ws__mask_neon(uint8_t *dst, const uint8_t *src, size_t len, uint32_t key);
#endif
/* The best of them for this CPU, chosen by a cached flag for long inputs. */
void ws__mask(uint8_t *dst, const uint8_t *src, size_t len, uint32_t key);

/* Unmasks d[0..n) in place: inline for short payloads, else ws__mask(). */
WS_INLINE void ws__unmask(uint8_t *d, size_t n, uint32_t key)
{
	if (n <= 32)
		ws__mask_small(d, d, n, key);
	else
		ws__mask(d, d, n, key);
}

/* UTF-8, with the contract of ws_utf8_validate(): the scalar DFA (fallback
 * and test oracle) and one vectorised validator per ISA. */
size_t ws__utf8_dfa(uint32_t *state, const uint8_t *s, size_t len);
#if WS__HAVE_X86
size_t ws__utf8_ssse3(uint32_t *state, const uint8_t *s, size_t len);
size_t ws__utf8_avx2(uint32_t *state, const uint8_t *s, size_t len);
size_t ws__utf8_avx512(uint32_t *state, const uint8_t *s, size_t len);
#endif
#if WS__HAVE_NEON
size_t ws__utf8_neon(uint32_t *state, const uint8_t *s, size_t len);
#endif

/* Unmasks d[0..n) in place with key and validates the result as UTF-8 in the
 * same pass, continuing *state. Every byte of d[0..n) is unmasked exactly
 * once, whatever the outcome. Returns the valid prefix length as
 * ws_utf8_validate() does (n when all is valid). */
size_t ws__unmask_utf8(uint8_t *d, size_t n, uint32_t key, uint32_t *state);
size_t ws__unmask_utf8_scalar(uint8_t *d, size_t n, uint32_t key, uint32_t *state);
#if WS__HAVE_X86
size_t ws__unmask_utf8_ssse3(uint8_t *d, size_t n, uint32_t key, uint32_t *state);
size_t ws__unmask_utf8_avx2(uint8_t *d, size_t n, uint32_t key, uint32_t *state);
size_t ws__unmask_utf8_avx512(uint8_t *d, size_t n, uint32_t key, uint32_t *state);
#endif
#if WS__HAVE_NEON
size_t ws__unmask_utf8_neon(uint8_t *d, size_t n, uint32_t key, uint32_t *state);
#endif

/* For the vector validators: the start of the last UTF-8 sequence before
 * p[b], given that p[lo..b) passed validation and lo is a sequence boundary.
 * The DFA restarted there in state 0 sees exactly what it would have seen. */
WS_INLINE size_t ws__utf8_boundary(const uint8_t *p, size_t b, size_t lo)
{
	for (size_t t = 1; t <= 3 && b >= lo + t; t++) {
		uint8_t ch = p[b - t];
		if (ch >= 0xC0)
			return b - t;
		if (ch < 0x80)
			break;
	}
	return b;
}

#endif /* WS_INTERNAL_SIMD_H */
