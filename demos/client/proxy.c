/* proxy: HTTP CONNECT tunnels for a client (see proxy.h). */
#define _GNU_SOURCE
#include "proxy.h"
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

static int hexval(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Percent-decodes s[0..n) into out (cap bytes, the result is not
 * terminated). Its length, or -1 on a bad escape or no room. */
static long pct_decode(const char *s, size_t n, char *out, size_t cap)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		int c = (unsigned char)s[i];
		if (c == '%') {
			if (i + 2 >= n || hexval(s[i + 1]) < 0 || hexval(s[i + 2]) < 0)
				return -1;
			c = hexval(s[i + 1]) * 16 + hexval(s[i + 2]);
			i += 2;
		}
		if (o == cap)
			return -1;
		out[o++] = (char)c;
	}
	return (long)o;
}

static void base64(const unsigned char *in, size_t n, char *out)
{
	static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i;

	for (i = 0; i + 2 < n; i += 3, out += 4) {
		unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
		out[0] = abc[v >> 18], out[1] = abc[v >> 12 & 63], out[2] = abc[v >> 6 & 63], out[3] = abc[v & 63];
	}
	if (n - i == 1) {
		out[0] = abc[in[i] >> 2], out[1] = abc[(in[i] & 3) << 4], out[2] = out[3] = '=';
		out += 4;
	} else if (n - i == 2) {
		unsigned v = (unsigned)in[i] << 8 | in[i + 1];
		out[0] = abc[v >> 10], out[1] = abc[v >> 4 & 63], out[2] = abc[(v & 15) << 2], out[3] = '=';
		out += 4;
	}
	*out = 0;
}

int proxy_parse_url(const char *url, proxy_url *p, const char **why)
{
	const char *s = url, *end, *at, *h, *host_end, *colon;
	size_t hl;

	memset(p, 0, sizeof *p);
	*why = "expected http://[user:pass@]host[:port]";
	if (!strncasecmp(s, "http://", 7))
		s += 7;
	else if (!strncasecmp(s, "https://", 8))
		return *why = "https:// proxies (TLS to the proxy) are not supported; use http://", -1;
	else if (strstr(s, "://"))
		return *why = "only http:// proxies are supported (no SOCKS)", -1;
	end = s + strcspn(s, "/?#");
	if (*end && strcmp(end, "/")) /* a path means nothing to a CONNECT proxy: a typo, say so */
		return -1;
	for (at = NULL, h = s; h < end; h++) /* the last '@': the host cannot contain one */
		if (*h == '@')
			at = h;
	if (at) {
		/* user and password are decoded apart: an encoded ':' (%3A) stays
		 * in the user name instead of splitting it */
		unsigned char cred[2 * 255 + 1];
		const char *sep = memchr(s, ':', (size_t)(at - s));
		long ul = pct_decode(s, (size_t)((sep ? sep : at) - s), (char *)cred, 255), pl = 0;
		if (ul < 0 || (sep && (pl = pct_decode(sep + 1, (size_t)(at - sep - 1), (char *)cred + ul + 1, 255)) < 0))
			return *why = "bad credentials in the proxy URL (percent-encode '@', ':', '%' in them)", -1;
		cred[ul] = ':';
		base64(cred, (size_t)(ul + 1 + pl), p->auth);
		s = at + 1;
	}
	if (*s == '[') { /* IPv6 literal */
		h = s + 1;
		host_end = memchr(h, ']', (size_t)(end - h));
		if (!host_end)
			return -1;
		colon = host_end + 1 < end ? host_end + 1 : NULL;
		if (colon && *colon != ':')
			return -1;
	} else {
		h = s;
		colon = memchr(h, ':', (size_t)(end - h));
		host_end = colon ? colon : end;
	}
	hl = (size_t)(host_end - h);
	if (!hl || hl >= sizeof p->host)
		return -1;
	memcpy(p->host, h, hl);
	if (colon) {
		unsigned long port = 0;
		const char *d;
		for (d = colon + 1; d < end && *d >= '0' && *d <= '9' && port <= 65535; d++)
			port = port * 10 + (unsigned long)(*d - '0');
		if (d != end || d == colon + 1 || port < 1 || port > 65535)
			return *why = "bad port in the proxy URL", -1;
		snprintf(p->port, sizeof p->port, "%lu", port);
	} else {
		strcpy(p->port, "80");
	}
	return 0;
}

/* Compares host with one no_proxy entry name[0..n) (port already matched). */
static int entry_matches(const char *host, const char *name, size_t n)
{
	unsigned char a[16], b[16];
	char e[256];
	size_t hl = strlen(host);

	if (!n || n >= sizeof e)
		return 0;
	memcpy(e, name, n);
	e[n] = 0;
	/* Addresses compare as addresses, never as name suffixes. */
	if (inet_pton(AF_INET, host, a) == 1)
		return inet_pton(AF_INET, e, b) == 1 && !memcmp(a, b, 4);
	if (inet_pton(AF_INET6, host, a) == 1)
		return inet_pton(AF_INET6, e, b) == 1 && !memcmp(a, b, 16);
	if (n >= 2 && e[0] == '*' && e[1] == '.')
		memmove(e, e + 2, (n -= 2) + 1);
	else if (e[0] == '.')
		memmove(e, e + 1, n--);
	if (n && e[n - 1] == '.')
		e[--n] = 0;
	if (hl && host[hl - 1] == '.')
		hl--;
	if (!n || hl < n || strncasecmp(host + hl - n, e, n))
		return 0;
	return hl == n || host[hl - n - 1] == '.'; /* whole labels only */
}

int proxy_bypass(const char *no_proxy, const char *host, const char *port)
{
	const char *s = no_proxy;

	while (s && *s) {
		size_t n = strcspn(s, ", \t");
		const char *name = s, *nend = s + n, *pt = NULL, *c;

		if (n == 1 && *s == '*')
			return 1;
		if (n && *s == '[') { /* [v6] or [v6]:port */
			const char *rb = memchr(s, ']', n);
			if (rb) {
				name = s + 1;
				pt = rb + 1 < s + n && rb[1] == ':' ? rb + 2 : NULL;
				nend = rb;
			}
		} else if ((c = memchr(s, ':', n)) && !memchr(c + 1, ':', (size_t)(s + n - c - 1))) {
			nend = c; /* one ':': name:port (two or more: a bare IPv6 address) */
			pt = c + 1;
		}
		if ((!pt || ((size_t)(s + n - pt) == strlen(port) && !strncmp(pt, port, strlen(port)))) &&
		    entry_matches(host, name, (size_t)(nend - name)))
			return 1;
		s += n;
		s += strspn(s, ", \t");
	}
	return 0;
}

size_t proxy_request(char *buf, size_t cap, const proxy_url *p, const char *host, const char *port)
{
	const char *lb = strchr(host, ':') ? "[" : "", *rb = *lb ? "]" : "";
	int n = snprintf(buf, cap,
	                 "CONNECT %s%s%s:%s HTTP/1.1\r\n"
	                 "Host: %s%s%s:%s\r\n"
	                 "%s%s%s"
	                 "\r\n",
	                 lb, host, rb, port, lb, host, rb, port, *p->auth ? "Proxy-Authorization: Basic " : "",
	                 p->auth, *p->auth ? "\r\n" : "");
	return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

/* A field line: a token, ':', then no control characters but HTAB. */
static int field_ok(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && s[i] != ':' && (unsigned char)s[i] > ' ' && s[i] != 0x7f && !strchr("\"(),/;<=>?@[\\]{}", s[i]))
		i++;
	if (i == 0 || i == n || s[i] != ':')
		return 0;
	for (; i < n; i++)
		if (((unsigned char)s[i] < ' ' && s[i] != '\t') || s[i] == 0x7f)
			return 0;
	return 1;
}

long proxy_response(const char *buf, size_t len, int *status, size_t *line_len)
{
	static const char v[] = "HTTP/1.";
	size_t pos = 0, lines = 0;

	/* A wrong first byte fails at once: no waiting for the rest of a head
	 * that will never be one. */
	if (memcmp(buf, v, len < 7 ? len : 7))
		return -1;
	for (;;) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t n;

		if (!nl)
			return 0;
		n = (size_t)(nl - (buf + pos)); /* the line without its LF, then without CR */
		if (n && buf[pos + n - 1] == '\r')
			n--;
		if (lines++ == 0) {
			/* HTTP/1.x SP 3DIGIT [SP reason] */
			const char *l = buf + pos;
			size_t i;
			if (n < 12 || l[7] < '0' || l[7] > '9' || l[8] != ' ' || l[9] < '1' || l[9] > '5' || l[10] < '0' ||
			    l[10] > '9' || l[11] < '0' || l[11] > '9' || (n > 12 && l[12] != ' '))
				return -1;
			for (i = 12; i < n; i++)
				if (((unsigned char)l[i] < ' ' && l[i] != '\t') || l[i] == 0x7f)
					return -1;
			*status = (l[9] - '0') * 100 + (l[10] - '0') * 10 + (l[11] - '0');
			*line_len = n;
		} else if (n == 0) {
			return (long)(nl - buf + 1);
		} else if (!field_ok(buf + pos, n)) { /* obs-fold (a line starting with a space) lands here too */
			return -1;
		}
		pos = (size_t)(nl - buf + 1);
	}
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for events on fd until end: 1 ready, 0 timeout, -1 error. */
static int wait_fd(int fd, short events, long end)
{
	for (;;) {
		struct pollfd pf = { fd, events, 0 };
		long left = end - now_ms();
		int r = poll(&pf, 1, left > 0 ? (int)left : 0);
		if (r >= 0 || errno != EINTR)
			return r > 0 ? 1 : r;
	}
}

int proxy_connect(int fd, const proxy_url *p, const char *host, const char *port, int timeout_ms, int *status,
                  char *why, size_t why_cap)
{
	char req[1536], head[PROXY_HEAD_MAX], line[128], *c;
	const char *lb = strchr(p->host, ':') ? "[" : "", *rb = *lb ? "]" : "";
	size_t len = proxy_request(req, sizeof req, p, host, port), off = 0, have = 0, line_len = 0;
	long end = now_ms() + timeout_ms, h = 0;
	int r;

	*status = 0;
#define FAIL(...) (snprintf(why, why_cap, "proxy %s%s%s:%s: ", lb, p->host, rb, p->port), \
                   snprintf(why + strlen(why), why_cap - strlen(why), __VA_ARGS__), -1)
	if (!len)
		return FAIL("request too long");
	while (off < len) { /* a fresh socket takes it in one send(), but need not */
		ssize_t n = send(fd, req + off, len - off, MSG_NOSIGNAL);
		if (n > 0)
			off += (size_t)n;
		else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			return FAIL("%s", strerror(errno));
		else if ((r = wait_fd(fd, POLLOUT, end)) <= 0)
			return r ? FAIL("%s", strerror(errno)) : FAIL("no answer within the connect timeout");
	}
	while (h == 0) {
		ssize_t n;
		if (have == sizeof head)
			return FAIL("response head longer than %d bytes", PROXY_HEAD_MAX);
		if ((r = wait_fd(fd, POLLIN, end)) <= 0)
			return r ? FAIL("%s", strerror(errno)) : FAIL("no answer to CONNECT within the connect timeout");
		/* Look first, then take only what belongs to the head: the rest is
		 * the tunnel's, and stays in the socket for the next layer. */
		if ((n = recv(fd, head + have, sizeof head - have, MSG_PEEK)) < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				continue;
			return FAIL("%s", strerror(errno));
		}
		if (n == 0)
			return FAIL(have ? "closed the connection in the middle of its answer"
			                 : "closed the connection without answering CONNECT");
		if ((h = proxy_response(head, have + (size_t)n, status, &line_len)) < 0) {
			*status = 0;
			return FAIL("malformed response (not an HTTP/1.x response head)");
		}
		/* The head's remaining bytes, or all those seen: none of them is
		 * the tunnel's yet. Bytes seen with MSG_PEEK are there to take. */
		n = h > 0 ? h - (long)have : n;
		if (recv(fd, head + have, (size_t)n, 0) != n)
			return *status = 0, FAIL("%s", strerror(errno));
		have += (size_t)n;
	}
	if (*status >= 200 && *status < 300)
		return 0;
	snprintf(line, sizeof line, "%.*s", (int)line_len, head); /* shown: bytes a terminal would act on become '?' */
	for (c = line; *c; c++)
		if ((unsigned char)*c < ' ' || (unsigned char)*c >= 0x7f)
			*c = '?';
	/* 407 is the proxy's own "who are you"; tinyproxy 1.11 answers wrong
	 * credentials with 401, which from a proxy can only mean the same. */
	if (*status == 407 || *status == 401)
		return FAIL(*p->auth ? "rejected the credentials (%s)"
		                     : "wants credentials (%s): put them in the proxy URL, http://user:pass@host:port",
		            line);
	return FAIL("refused CONNECT %s%s%s:%s (%s)", strchr(host, ':') ? "[" : "", host, strchr(host, ':') ? "]" : "",
	            port, line);
#undef FAIL
}
