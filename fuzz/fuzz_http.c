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

/* Reference field iteration: lines end at LF (a CR before it dropped); the
 * first line is the start line; an empty line ends the head; a line without
 * a colon is skipped; name before the first colon, value after it without
 * surrounding SP/HTAB. */
static void check_fields(ws_str head, const char *name, const char *token)
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
		check_fields(head, names[b0 >> 1 & 7], tokens[b0 >> 4]);
		{
			int found = 0;
			check_list(head, NULL, &found);
		}
		free(copy);
	}
	return 0;
}
