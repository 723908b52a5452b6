/* The pure parts of demos/client/proxy.c: proxy URLs, no_proxy matching,
 * the CONNECT request, and response heads fed whole and cut at every offset.
 * Prints "ok"/"FAIL" lines and "proxy-parse: N passed, M failed". */
#include "proxy.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int passed, failed;

static void check(int ok, const char *what, const char *arg)
{
	ok ? passed++ : failed++;
	if (!ok)
		printf("FAIL %s: %s\n", what, arg);
}

static void url_ok(const char *url, const char *host, const char *port, const char *auth)
{
	proxy_url p;
	const char *why;
	int r = proxy_parse_url(url, &p, &why);

	check(!r && !strcmp(p.host, host) && !strcmp(p.port, port) && !strcmp(p.auth, auth), "proxy_parse_url", url);
}

static void url_bad(const char *url)
{
	proxy_url p;
	const char *why = NULL;

	check(proxy_parse_url(url, &p, &why) == -1 && why && *why, "proxy_parse_url refuses", url);
}

static void bypass(const char *list, const char *host, const char *port, int want)
{
	char what[512];

	snprintf(what, sizeof what, "no_proxy '%s', %s port %s: want %d", list ? list : "(null)", host, port, want);
	check(proxy_bypass(list, host, port) == want, "proxy_bypass", what);
}

/* A head fed whole, and every prefix of it: a prefix is incomplete (0) or
 * wrong (-1), never complete; the whole gives want (its length, or -1). */
static void head(const char *s, long want, int want_status)
{
	size_t len = strlen(s), i, line_len = 0;
	int status = 0, prefix_ok = 1;
	long r = proxy_response(s, len, &status, &line_len);

	for (i = 1; i < len && want > 0; i++) {
		int st;
		size_t ll;
		prefix_ok &= proxy_response(s, i, &st, &ll) == (i < (size_t)want ? 0 : want);
	}
	check(r == want && (want < 0 || status == want_status) && prefix_ok, "proxy_response", s);
}

int main(void)
{
	proxy_url p;
	char buf[1024];
	const char *why;
	size_t n;

	url_ok("http://proxy.example:3128", "proxy.example", "3128", "");
	url_ok("HTTP://proxy.example:3128/", "proxy.example", "3128", "");
	url_ok("proxy.example:3128", "proxy.example", "3128", "");
	url_ok("http://proxy.example", "proxy.example", "80", "");
	url_ok("http://[::1]:8080", "::1", "8080", "");
	url_ok("http://user:pass@127.0.0.1:3128", "127.0.0.1", "3128", "dXNlcjpwYXNz");
	url_ok("http://Aladdin:open%20sesame@h:1", "h", "1", "QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
	url_ok("http://us%3Aer:p%40ss:word@h:1", "h", "1", "dXM6ZXI6cEBzczp3b3Jk"); /* "us:er:p@ss:word" */
	url_ok("http://u@h:1", "h", "1", "dTo=");                                  /* "u:" */
	url_ok("http://a:b@c@h:1", "h", "1", "YTpiQGM=");                           /* the last '@' */
	url_bad("https://proxy.example:3128");
	url_bad("socks5://proxy.example:1080");
	url_bad("http://");
	url_bad("http://h:0");
	url_bad("http://h:65536");
	url_bad("http://h:12x");
	url_bad("http://h:");
	url_bad("http://h:1/path");
	url_bad("http://[::1");
	url_bad("http://[::1]x:1");
	url_bad("http://u%zz:p@h:1");
	url_bad("http://u:p%4@h:1");

	bypass(NULL, "example.com", "80", 0);
	bypass("", "example.com", "80", 0);
	bypass("*", "example.com", "80", 1);
	bypass("example.com", "example.com", "80", 1);
	bypass("example.com", "EXAMPLE.com", "80", 1);
	bypass("example.com", "ws.example.com", "80", 1);
	bypass("example.com", "badexample.com", "80", 0);
	bypass(".example.com", "ws.example.com", "80", 1);
	bypass(".example.com", "example.com", "80", 1);
	bypass("*.example.com", "a.b.example.com", "80", 1);
	bypass("example.com.", "example.com", "80", 1);
	bypass("example.com", "example.com.", "80", 1);
	bypass("other, example.com:8080", "example.com", "8080", 1);
	bypass("other, example.com:8080", "example.com", "80", 0);
	bypass("other example.com", "example.com", "80", 1);
	bypass("localhost", "127.0.0.1", "80", 0);
	bypass("127.0.0.1", "127.0.0.1", "80", 1);
	bypass("127.0.0.1:9", "127.0.0.1", "80", 0);
	bypass("0.0.1", "127.0.0.1", "80", 0); /* no suffix matching of addresses */
	bypass("::1", "::1", "80", 1);
	bypass("0:0::1", "::1", "80", 1);
	bypass("[::1]", "::1", "80", 1);
	bypass("[::1]:8080", "::1", "8080", 1);
	bypass("[::1]:8080", "::1", "80", 0);
	bypass("::2", "::1", "80", 0);
	bypass(",,  ,", "example.com", "80", 0);

	proxy_parse_url("http://127.0.0.1:3128", &p, &why);
	n = proxy_request(buf, sizeof buf, &p, "example.com", "443");
	check(n == strlen(buf) && !strcmp(buf, "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"),
	      "proxy_request", buf);
	n = proxy_request(buf, sizeof buf, &p, "::1", "8080");
	check(n && !strcmp(buf, "CONNECT [::1]:8080 HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n"), "proxy_request v6", buf);
	proxy_parse_url("http://user:pass@127.0.0.1:3128", &p, &why);
	n = proxy_request(buf, sizeof buf, &p, "h", "80");
	check(n && !strcmp(buf, "CONNECT h:80 HTTP/1.1\r\nHost: h:80\r\nProxy-Authorization: Basic dXNlcjpwYXNz\r\n\r\n"),
	      "proxy_request auth", buf);
	check(proxy_request(buf, 20, &p, "h", "80") == 0, "proxy_request too small", "");

	head("HTTP/1.1 200 Connection established\r\n\r\n", 39, 200);
	head("HTTP/1.0 200 Connection established\r\nProxy-agent: tinyproxy/1.11.1\r\n\r\n", 70, 200);
	head("HTTP/1.1 200\r\n\r\n", 16, 200);
	head("HTTP/1.1 200 OK\n\n", 17, 200);
	head("HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"x\"\r\n\r\n", 83, 407);
	head("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n", 45, 403);
	head("HTTP/1.1 200 OK\r\n\r\nHTTP/1.1 101 Switching", 19, 200); /* the tunnel's bytes are not the head's */
	head("SSH-2.0-OpenSSH\r\n\r\n", -1, 0);
	head("HTTP/2 200\r\n\r\n", -1, 0);
	head("HTTP/1.1 20 OK\r\n\r\n", -1, 0);
	head("HTTP/1.1 2000 OK\r\n\r\n", -1, 0);
	head("HTTP/1.1 600 OK\r\n\r\n", -1, 0);
	head("HTTP/1.1 200 O\x01K\r\n\r\n", -1, 0);
	head("HTTP/1.1 200 OK\r\nno colon\r\n\r\n", -1, 0);
	head("HTTP/1.1 200 OK\r\n folded: x\r\n\r\n", -1, 0);
	{
		int st;
		size_t ll;
		check(proxy_response("HTTX", 4, &st, &ll) == -1, "proxy_response fails early", "HTTX");
		static const char nul[] = "HTTP/1.1 200 OK\r\nX: a\0b\r\n\r\n";
		check(proxy_response(nul, sizeof nul - 1, &st, &ll) == -1, "proxy_response refuses", "a NUL in a field");
	}
	printf("proxy-parse: %d passed, %d failed\n", passed, failed);
	return failed != 0;
}
