/* The HTTP head scanner and the public header iterators.
 *
 * 1. A connection of either role fed just a head (server: a request; client:
 *    the response to ws_conn_connect() with the fixed options), in fuzzed
 *    pieces, with the contract checks of fuzz_common.c; it stops at the
 *    first event after the handshake.
 * 2. ws_header_next(), ws_list_next() and ws_header_has_token() on the same
 *    bytes taken as an arbitrary span, against a reference written here from
 *    their documentation: they terminate, advance, stay inside the span and
 *    return the same fields, values and list items.
 *
 * 3. permessage-deflate negotiation (RFC 7692 §7.1): ws_deflate_negotiate()
 *    and ws_deflate_check_response() on the same bytes, and a round trip:
 *    a client's offer, a server's choice, the response formatted and checked
 *    by the client give the same parameters on both sides.
 *
 * Input: byte 0: bit 0 client role, bits 1-3 the header name and bits 4-7
 * the token for ws_header_has_token(); then the 4 configuration bytes of
 * fuzz_common.h; then the head. */
#include <stdlib.h>
#include <string.h>
#include "fuzz_common.h"

static int ows(char ch)
{
	return ch == ' ' || ch == '\t';
}

static int lc(int ch)
{
	return ch >= 'A' && ch <= 'Z' ? ch + 32 : ch;
}

static int ieq(const char *a, size_t n, const char *b)
{
	if (strlen(b) != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (lc((unsigned char)a[i]) != lc((unsigned char)b[i]))
			return 0;
	return 1;
}

static int in_span(ws_str s, ws_str in)
{
	return s.len == 0 || (s.ptr >= in.ptr && s.ptr <= in.ptr + in.len &&
	                      s.len <= (size_t)(in.ptr + in.len - s.ptr));
}

/* Reference list splitting (RFC 9110 §5.6.1): elements between commas that
 * are not inside a quoted-string (§5.6.4, with \-escapes), without OWS
 * around them, empty ones skipped. Checks ws_list_next() gives exactly
 * these; returns how many. */
static size_t check_list(ws_str list, const char *token, int *found)
{
	size_t i = 0, pos = 0, count = 0;
	ws_str item;

	for (;;) {
		size_t start, end;
		int quoted = 0;
		/* The reference's next element. */
		while (i < list.len && (ows(list.ptr[i]) || list.ptr[i] == ','))
			i++;
		start = i;
		for (; i < list.len; i++) {
			char ch = list.ptr[i];
			if (quoted && ch == '\\' && i + 1 < list.len)
				i++;
			else if (ch == '"')
				quoted = !quoted;
			else if (!quoted && ch == ',')
				break;
		}
		end = i;
		while (end > start && ows(list.ptr[end - 1]))
			end--;
		{
			size_t before = pos;
			int more = ws_list_next(list, &pos, &item);
			FZ_ASSERT(pos <= list.len);
			if (start == list.len) {
				FZ_ASSERT(!more);
				FZ_ASSERT(!ws_list_next(list, &pos, &item)); /* stays at the end */
				return count;
			}
			FZ_ASSERT(more && pos > before);
			FZ_ASSERT(in_span(item, list));
			FZ_ASSERT(item.ptr == list.ptr + start && item.len == end - start && item.len > 0);
		}
		if (token && ieq(item.ptr, item.len, token))
			*found = 1;
		count++;
	}
}

static void check_deflate(ws_str bytes, unsigned sb, unsigned cb);

/* Reference field iteration: lines end at LF (a CR before it dropped); the
 * first line is the start line; an empty line ends the head; a line without
 * a colon is skipped; name before the first colon, value after it without
 * surrounding SP/HTAB. */
static void check_fields(ws_str head, const char *name, const char *token, unsigned sb, unsigned cb)
{
	size_t i = 0, pos = 0, fields = 0;
	int first = 1, found = 0;
	ws_str n, v;

	while (i < head.len) {
		const char *lf = memchr(head.ptr + i, '\n', head.len - i);
		size_t e = lf ? (size_t)(lf - head.ptr) : head.len, next = lf ? e + 1 : head.len;
		const char *colon;
		if (e > i && head.ptr[e - 1] == '\r')
			e--;
		if (first) {
			first = 0;
			i = next;
			continue;
		}
		if (e == i)
			break;
		colon = memchr(head.ptr + i, ':', e - i);
		if (colon) {
			size_t vs = (size_t)(colon - head.ptr) + 1, ve = e, before = pos;
			while (vs < ve && ows(head.ptr[vs]))
				vs++;
			while (ve > vs && ows(head.ptr[ve - 1]))
				ve--;
			FZ_ASSERT(ws_header_next(head, &pos, &n, &v) == 1);
			FZ_ASSERT(pos > before && pos <= head.len);
			FZ_ASSERT(in_span(n, head) && in_span(v, head));
			FZ_ASSERT(n.ptr == head.ptr + i && n.len == (size_t)(colon - head.ptr) - i);
			FZ_ASSERT(v.ptr == head.ptr + vs && v.len == ve - vs);
			fields++;
			check_deflate(v, sb, cb); /* every value as an extension offer and response */
			{
				int hit = 0;
				check_list(v, token, &hit);
				if (hit && ieq(n.ptr, n.len, name))
					found = 1;
			}
		}
		i = next;
	}
	FZ_ASSERT(ws_header_next(head, &pos, &n, &v) == 0);
	FZ_ASSERT(ws_header_next(head, &pos, &n, &v) == 0);
	FZ_ASSERT(ws_header_has_token(head, name, token) == found);
	(void)fields;
}

static void deflate_cfg(ws_deflate_config *d, unsigned b)
{
	ws_deflate_config_init(d);
	d->server_max_window_bits = (uint8_t)(8 + (b & 7));
	d->client_max_window_bits = (uint8_t)(8 + (b >> 3 & 7));
	d->server_no_context_takeover = b >> 6 & 1;
	d->client_no_context_takeover = b >> 7;
}

static int params_ok(const ws_deflate_params *p)
{
	return p->server_no_context_takeover <= 1 && p->client_no_context_takeover <= 1 &&
	       p->server_max_window_bits >= 8 && p->server_max_window_bits <= 15 &&
	       p->client_max_window_bits >= 8 && p->client_max_window_bits <= 15;
}

static int params_eq(const ws_deflate_params *a, const ws_deflate_params *b)
{
	return a->server_no_context_takeover == b->server_no_context_takeover &&
	       a->client_no_context_takeover == b->client_no_context_takeover &&
	       a->server_max_window_bits == b->server_max_window_bits &&
	       a->client_max_window_bits == b->client_max_window_bits;
}

/* The server agreed to p: its response, checked by a client that asked for
 * nothing in particular (or by the one whose offer it was), gives p back. */
static void check_answer(const ws_deflate_config *s, const ws_deflate_config *c, const ws_deflate_params *p)
{
	char resp[WS_DEFLATE_FORMAT_MAX];
	ws_deflate_params back;
	size_t n;
	ws_str r;

	n = ws_deflate_format(s, p, resp, sizeof resp);
	r.ptr = resp;
	r.len = n;

	FZ_ASSERT(n > 0 && n < sizeof resp && resp[n] == 0);
	FZ_ASSERT(ws_deflate_format(s, p, resp, n) == 0); /* one byte short */
	n = ws_deflate_format(s, p, resp, sizeof resp);
	r.len = n;
	FZ_ASSERT(ws_deflate_check_response(c, r, &back) == 1);
	FZ_ASSERT(params_eq(&back, p));
}

static void check_deflate(ws_str bytes, unsigned sb, unsigned cb)
{
	ws_deflate_config s, c, any;
	ws_deflate_params p;
	char offer[WS_DEFLATE_FORMAT_MAX];
	size_t n;

	deflate_cfg(&s, sb);
	deflate_cfg(&c, cb);
	ws_deflate_config_init(&any);
	/* Arbitrary bytes as an offer, and as a response. */
	if (ws_deflate_negotiate(&s, bytes, &p)) {
		FZ_ASSERT(params_ok(&p));
		FZ_ASSERT(p.server_max_window_bits <= (s.server_max_window_bits < 9 ? 9 : s.server_max_window_bits));
		FZ_ASSERT(p.server_no_context_takeover >= s.server_no_context_takeover);
		check_answer(&s, &any, &p);
	}
	if (ws_deflate_check_response(&c, bytes, &p)) {
		FZ_ASSERT(params_ok(&p));
		FZ_ASSERT(p.client_max_window_bits <= (c.client_max_window_bits < 9 ? 9 : c.client_max_window_bits));
		FZ_ASSERT(p.server_no_context_takeover >= c.server_no_context_takeover);
	}
	/* The round trip of two configurations. */
	n = ws_deflate_format(&c, NULL, offer, sizeof offer);
	FZ_ASSERT(n > 0);
	{
		ws_str o = {offer, n};
		FZ_ASSERT(ws_deflate_negotiate(&s, o, &p) == 1);
		FZ_ASSERT(params_ok(&p));
		check_answer(&s, &c, &p);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[8] = {"Upgrade", "Connection", "Sec-WebSocket-Protocol",
	                                     "Sec-WebSocket-Extensions", "Host", "X", "", "upgrade"};
	static const char *const tokens[16] = {"websocket", "upgrade", "chat", "superchat",
	                                       "permessage-deflate", "a", "\"a,b\"", "x y", "",
	                                       "13", "keep-alive", "WebSocket", "a\\", "\"",
	                                       "client_max_window_bits", "Upgrade"};
	fz_in in = {data, size};
	unsigned b0 = fz_byte(&in);
	fz_conn_opts o = {b0 & 1 ? WS_ROLE_CLIENT : WS_ROLE_SERVER, 1, 0};
	ws_str head;

	fz_conn_run(&o, in.p, in.n);
	/* The iterators on the bytes after the configuration, as given. */
	in.n = in.n > 4 ? in.n - 4 : 0;
	in.p = in.n ? in.p + 4 : in.p;
	{
		char *copy = malloc(in.n ? in.n : 1); /* exact size: overreads show */
		FZ_ASSERT(copy != NULL);
		if (in.n)
			memcpy(copy, in.p, in.n);
		head.ptr = copy;
		head.len = in.n;
		check_fields(head, names[b0 >> 1 & 7], tokens[b0 >> 4], size > 3 ? data[3] : 0,
		             size > 4 ? data[4] : 0);
		{
			int found = 0;
			check_list(head, NULL, &found);
		}
		check_deflate(head, size > 3 ? data[3] : 0, size > 4 ? data[4] : 0);
		free(copy);
	}
	return 0;
}
