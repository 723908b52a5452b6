/* The HTTP lexer and writer: RFC 9110 tokens, lists and parameters, RFC 9112
 * head lines, RFC 3986 hosts, the public iterators over fields and lists, and
 * the output writer of the handshake. It calls nothing else of ours. */
#include "ws_internal.h"

static int is_digit(unsigned ch)
{
	return ch - '0' < 10;
}

static int is_hex(unsigned ch)
{
	return ch - '0' < 10 || (ch | 0x20) - 'a' < 6;
}

static int is_ows(char ch)
{
	return ch == ' ' || ch == '\t';
}

static int lower(int ch)
{
	return ch >= 'A' && ch <= 'Z' ? ch + 32 : ch;
}

/* ---- Tokens and comparisons (RFC 9110 §5.6.2, §5.6.3) ---- */

/* RFC 9110 §5.6.2 */
int ws__is_tchar(unsigned ch)
{
	if ((ch | 0x20) - 'a' < 26 || ch - '0' < 10)
		return 1;
	return ch && ws__strchr("!#$%&'*+-.^_`|~", (int)ch) != NULL;
}

int ws__is_token(const char *s, size_t n)
{
	ws_str t = {s, n};
	return n && ws__token_end(t, 0) == n;
}

size_t ws__token_end(ws_str s, size_t i)
{
	while (i < s.len && ws__is_tchar((unsigned char)s.ptr[i]))
		i++;
	return i;
}

size_t ws__skip_ows(ws_str s, size_t i)
{
	while (i < s.len && is_ows(s.ptr[i]))
		i++;
	return i;
}

int ws__is_vchars(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return 0;
	return 1;
}

int ws__eq(ws_str a, const char *b)
{
	return ws__strlen(b) == a.len && memcmp(a.ptr, b, a.len) == 0;
}

int ws__ieq(ws_str a, const char *b)
{
	size_t i;

	for (i = 0; i < a.len; i++)
		if (!b[i] || lower((unsigned char)a.ptr[i]) != lower((unsigned char)b[i]))
			return 0;
	return b[i] == 0;
}

/* ---- Lists, quoted-strings, parameters (RFC 9110 §5.6.1, §5.6.4, §5.6.6) ---- */

/* RFC 9110 §5.6.4: s.ptr[i] is the DQUOTE opening a quoted-string; returns
 * where the string ends (after its closing DQUOTE), or 0 if it does not. */
static size_t quoted_end(ws_str s, size_t i)
{
	for (i++; i < s.len; i++) {
		if (s.ptr[i] == '\\') {
			if (++i == s.len)
				return 0;
		} else if (s.ptr[i] == '"') {
			return i + 1;
		}
	}
	return 0;
}

int ws_list_next(ws_str list, size_t *pos, ws_str *item)
{
	const char *p = list.ptr;
	size_t i = *pos, n = list.len, start, end;

	while (i < n && (is_ows(p[i]) || p[i] == ','))
		i++;
	if (i >= n) {
		*pos = n;
		return 0;
	}
	/* A comma inside a quoted-string (RFC 9110 §5.6.4), as extension
	 * parameters may have, does not end the element; an unterminated one
	 * runs to the end. */
	for (start = i; i < n && p[i] != ','; i++) {
		if (p[i] == '"') {
			size_t e = quoted_end(list, i);
			i = e ? e - 1 : n - 1;
		}
	}
	for (end = i; end > start && is_ows(p[end - 1]); end--)
		;
	item->ptr = p + start;
	item->len = end - start;
	*pos = i;
	return 1;
}

int ws__param_next(ws_str s, size_t *pos, ws__param *p)
{
	size_t i = ws__skip_ows(s, *pos), e;

	if (i == s.len) {
		*pos = i;
		return 0;
	}
	if (s.ptr[i] != ';')
		return -1;
	i = ws__skip_ows(s, i + 1);
	e = ws__token_end(s, i);
	if (e == i)
		return -1;
	p->name.ptr = s.ptr + i;
	p->name.len = e - i;
	p->value.ptr = NULL;
	p->value.len = 0;
	p->has_value = p->quoted = 0;
	i = ws__skip_ows(s, e);
	if (i < s.len && s.ptr[i] == '=') {
		i = ws__skip_ows(s, i + 1);
		p->has_value = 1;
		if (i < s.len && s.ptr[i] == '"') {
			e = quoted_end(s, i);
			if (!e)
				return -1;
			p->quoted = 1;
			p->value.ptr = s.ptr + i + 1;
			p->value.len = e - i - 2;
		} else {
			e = ws__token_end(s, i);
			if (e == i)
				return -1;
			p->value.ptr = s.ptr + i;
			p->value.len = e - i;
		}
		i = e;
	}
	*pos = i;
	return 1;
}

size_t ws__param_token(const ws__param *p, char *buf, size_t cap)
{
	size_t n = 0;

	for (size_t i = 0; i < p->value.len; i++) {
		char ch = p->value.ptr[i];
		if (ch == '\\' && p->quoted)
			ch = p->value.ptr[++i]; /* quoted_end() saw that one follows */
		if (!ws__is_tchar((unsigned char)ch) || n == cap)
			return 0;
		buf[n++] = ch;
	}
	return n;
}

/* ---- Hosts (RFC 3986 §3.2.2) ---- */

/* RFC 3986 §3.2.2: dec-octet "." dec-octet "." dec-octet "." dec-octet. */
static int is_ipv4(const char *p, size_t n)
{
	size_t i = 0;

	for (int k = 0; k < 4; k++) {
		size_t s;
		unsigned v = 0;
		if (k && (i == n || p[i++] != '.'))
			return 0;
		for (s = i; i < n && is_digit((unsigned char)p[i]) && i - s < 3; i++)
			v = v * 10 + (unsigned)(p[i] - '0');
		if (i == s || v > 255 || (i - s > 1 && p[s] == '0'))
			return 0;
	}
	return i == n;
}

/* RFC 3986 §3.2.2: IPv6address, eight h16 groups or fewer around one "::",
 * the last two of them possibly written as an IPv4address. */
static int is_ipv6(const char *p, size_t n)
{
	unsigned groups = 0;
	int gap = 0;
	size_t i = 0;

	if (n >= 2 && p[0] == ':' && p[1] == ':') {
		gap = 1;
		i = 2;
	}
	while (i < n) {
		size_t s = i;
		while (i < n && is_hex((unsigned char)p[i]) && i - s < 4)
			i++;
		if (i == s)
			return 0;
		if (i < n && p[i] == '.') {
			if (!is_ipv4(p + s, n - s))
				return 0;
			groups += 2;
			break;
		}
		groups++;
		if (i == n)
			break;
		if (p[i++] != ':' || i == n)
			return 0;
		if (p[i] == ':') {
			if (gap)
				return 0;
			gap = 1;
			i++;
		}
	}
	return gap ? groups <= 7 : groups == 8;
}

/* RFC 3986 §2.3 unreserved, §2.2 sub-delims. */
static int is_unreserved_or_sub_delim(unsigned ch)
{
	return (ch | 0x20) - 'a' < 26 || ch - '0' < 10 || (ch && ws__strchr("-._~!$&'()*+,;=", (int)ch));
}

/* RFC 3986 §3.2.2: IP-literal without its brackets: IPv6address, or
 * IPvFuture = "v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" ). */
static int is_ip_literal(const char *p, size_t n)
{
	size_t i = 1;

	if (!n || (p[0] | 0x20) != 'v')
		return is_ipv6(p, n);
	while (i < n && is_hex((unsigned char)p[i]))
		i++;
	if (i == 1 || i == n || p[i++] != '.' || i == n)
		return 0;
	for (; i < n; i++)
		if (p[i] != ':' && !is_unreserved_or_sub_delim((unsigned char)p[i]))
			return 0;
	return 1;
}

int ws__is_host(ws_str s)
{
	const char *p = s.ptr;
	size_t n = s.len, i = 0;

	if (n && p[0] == '[') {
		const char *close = ws__memchr(p, ']', n);
		if (!close)
			return 0;
		i = (size_t)(close - p);
		if (!is_ip_literal(p + 1, i - 1))
			return 0;
		i++;
	} else {
		/* reg-name = *( unreserved / pct-encoded / sub-delims ); an IPv4
		 * address is one too. */
		while (i < n && p[i] != ':') {
			if (p[i] == '%') {
				if (n - i < 3 || !is_hex((unsigned char)p[i + 1]) || !is_hex((unsigned char)p[i + 2]))
					return 0;
				i += 3;
			} else if (is_unreserved_or_sub_delim((unsigned char)p[i])) {
				i++;
			} else {
				return 0;
			}
		}
		if (i == 0)
			return 0;
	}
	if (i < n && p[i++] != ':')
		return 0;
	for (; i < n; i++) /* port = *DIGIT */
		if (!is_digit((unsigned char)p[i]))
			return 0;
	return 1;
}

/* ---- Heads (RFC 9112) and the field iterator ---- */

int ws__http_version(const char *p, size_t n)
{
	/* Case-sensitive (RFC 9112 §2.3); "HTTP/1.10" and the like are malformed. */
	if (n != 8 || memcmp(p, "HTTP/", 5) || !is_digit((unsigned char)p[5]) || p[6] != '.' ||
	    !is_digit((unsigned char)p[7]))
		return -1;
	return (p[5] - '0') * 10 + (p[7] - '0');
}

/* RFC 9110 §5.5: field-vchar / SP / HTAB; every other control (NUL, bare CR,
 * DEL...) is refused, since a peer that sends them hopes some hop reads the
 * head differently from us. */
static int is_value_char(unsigned ch)
{
	return ch >= 0x20 ? ch != 0x7f : ch == '\t';
}

/* RFC 9112 §5: field-name ":" OWS field-value OWS, for a line without its
 * CRLF. No whitespace may precede the colon (§5.1), and a line may not start
 * with whitespace: that is obs-fold (§5.2), or, on the first field line, the
 * smuggling vector §2.2 tells recipients to reject. */
static int field_line_ok(const char *p, size_t n)
{
	ws_str line = {p, n};
	size_t i = ws__token_end(line, 0);

	if (i == 0 || i == n || p[i] != ':')
		return 0;
	for (i++; i < n; i++)
		if (!is_value_char((unsigned char)p[i]))
			return 0;
	return 1;
}

/* The line at pos, without its CRLF; 0 if it does not end in CRLF. */
static int crlf_line(ws_str head, size_t pos, ws_str *line)
{
	const char *p = head.ptr + pos;
	const char *lf = pos < head.len ? ws__memchr(p, '\n', head.len - pos) : NULL;

	if (!lf || lf == p || lf[-1] != '\r')
		return 0;
	line->ptr = p;
	line->len = (size_t)(lf - p) - 1;
	return 1;
}

int ws__start_line(ws_str head, ws_str *line)
{
	return crlf_line(head, 0, line);
}

int ws__fields_check(ws_str head, size_t pos, uint32_t max_headers)
{
	uint32_t count = 0;
	ws_str line;

	for (;;) {
		/* The scan let no bare LF through (RFC 9112 §2.2), but the caller may
		 * have changed the bytes since: check again rather than trust. */
		if (!crlf_line(head, pos, &line))
			return WS_E_HTTP_MALFORMED;
		pos += line.len + 2;
		if (line.len == 0)
			return pos == head.len ? WS_OK : WS_E_HTTP_MALFORMED;
		if (!field_line_ok(line.ptr, line.len))
			return WS_E_HTTP_MALFORMED;
		if (++count > max_headers)
			return WS_E_HTTP_TOO_MANY_HEADERS;
	}
}

int ws__lines_ok(const char *s)
{
	if (!s)
		return 1;
	while (*s) {
		const char *cr = ws__strchr(s, '\r');
		if (!cr || cr[1] != '\n' || !field_line_ok(s, (size_t)(cr - s)))
			return 0;
		s = cr + 2;
	}
	return 1;
}

/* Line [i, *end) without its line ending; returns where the next line starts.
 * Tolerates bare LF and a missing final line ending, since the public
 * iterators may be given any bytes. */
static size_t next_line(const char *p, size_t n, size_t i, size_t *end)
{
	const char *lf = ws__memchr(p + i, '\n', n - i);
	size_t e = lf ? (size_t)(lf - p) : n;

	*end = e > i && p[e - 1] == '\r' ? e - 1 : e;
	return lf ? e + 1 : n;
}

int ws_header_next(ws_str head, size_t *pos, ws_str *name, ws_str *value)
{
	const char *p = head.ptr;
	size_t i = *pos, e;

	if (i == 0 && head.len)
		i = next_line(p, head.len, 0, &e); /* the start line */
	while (i < head.len) {
		size_t next = next_line(p, head.len, i, &e);
		const char *colon;

		if (e == i)
			break; /* the empty line that ends the head */
		colon = ws__memchr(p + i, ':', e - i);
		if (colon) {
			const char *v = colon + 1, *ve = p + e;
			while (v < ve && is_ows(*v))
				v++;
			while (ve > v && is_ows(ve[-1]))
				ve--;
			name->ptr = p + i;
			name->len = (size_t)(colon - name->ptr);
			value->ptr = v;
			value->len = (size_t)(ve - v);
			*pos = next;
			return 1;
		}
		i = next;
	}
	*pos = head.len;
	return 0;
}

int ws_header_has_token(ws_str head, const char *name, const char *token)
{
	size_t pos = 0, lpos;
	ws_str n, v, item;

	while (ws_header_next(head, &pos, &n, &v)) {
		if (!ws__ieq(n, name))
			continue;
		for (lpos = 0; ws_list_next(v, &lpos, &item);)
			if (ws__ieq(item, token))
				return 1;
	}
	return 0;
}

/* ---- The writer ---- */

void ws__out_init(ws__out *o, void *out, size_t cap)
{
	o->p = NULL;
	o->dst = out;
	o->len = 0;
	o->cap = cap;
}

int ws__out_again(ws__out *o)
{
	if (o->p || o->len > o->cap)
		return 0; /* written, or it does not fit: the caller's buffer untouched */
	o->p = o->dst;
	o->len = 0;
	return 1;
}

void ws__put(ws__out *o, const void *s, size_t n)
{
	if (o->p && n && o->len <= o->cap && n <= o->cap - o->len)
		memcpy(o->p + o->len, s, n);
	o->len += n;
}

void ws__puts(ws__out *o, const char *s)
{
	ws__put(o, s, ws__strlen(s));
}

void ws__put_uint(ws__out *o, size_t v)
{
	char d[24];
	size_t i = sizeof d;

	do
		d[--i] = (char)('0' + v % 10);
	while (v /= 10);
	ws__put(o, d + i, sizeof d - i);
}

int ws__out_end(const ws__out *o, size_t *out_len)
{
	*out_len = o->len;
	return o->len > o->cap ? WS_E_BUFFER : WS_OK;
}
