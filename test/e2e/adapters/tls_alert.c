/* tls-alert PORT CA: a wss:// client for test/e2e/adapters/run.py that sends a
 * warning alert (no_renegotiation) and a WebSocket frame in one TCP segment,
 * then waits 3 s for the echo. mbedTLS takes such an alert in silence and
 * says WANT_READ; a server that had read the next record ahead must still
 * find it. Exit 0 with the echo, 1 without, 2 if the setup failed. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

static int fd, corked;
static unsigned char cork[4096];
static size_t cork_len;

/* While corked, records collect in cork[] to go out in one send(). */
static int bio_send(void *ctx, const unsigned char *b, size_t n)
{
	(void)ctx;
	if (!corked)
		return (int)send(fd, b, n, 0);
	if (n > sizeof cork - cork_len)
		return MBEDTLS_ERR_SSL_INTERNAL_ERROR;
	memcpy(cork + cork_len, b, n);
	cork_len += n;
	return (int)n;
}

static int bio_recv(void *ctx, unsigned char *b, size_t n)
{
	ssize_t r = recv(fd, b, n, 0);
	(void)ctx;
	return r < 0 ? MBEDTLS_ERR_SSL_TIMEOUT : (int)r;
}

int main(int argc, char **argv)
{
	static const char req[] = "GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
	                          "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	                          "Sec-WebSocket-Version: 13\r\n\r\n";
	/* A masked binary frame "hello" (key 0). */
	static const unsigned char frame[] = {0x82, 0x85, 0, 0, 0, 0, 'h', 'e', 'l', 'l', 'o'};
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
	mbedtls_ssl_config conf;
	mbedtls_ssl_context ssl;
	mbedtls_x509_crt ca;
	struct sockaddr_in sa;
	struct timeval tv = {3, 0};
	unsigned char buf[4096];
	int r, one = 1;

	if (argc != 3)
		return fprintf(stderr, "usage: tls-alert PORT CA\n"), 2;
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((unsigned short)atoi(argv[1]));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa))
		return perror("tls-alert: connect"), 2;
	mbedtls_entropy_init(&entropy);
	mbedtls_ctr_drbg_init(&drbg);
	mbedtls_x509_crt_init(&ca);
	mbedtls_ssl_config_init(&conf);
	mbedtls_ssl_init(&ssl);
	if (mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy, NULL, 0) ||
	    mbedtls_x509_crt_parse_file(&ca, argv[2]) ||
	    mbedtls_ssl_config_defaults(&conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
	                                MBEDTLS_SSL_PRESET_DEFAULT))
		return fprintf(stderr, "tls-alert: setup failed\n"), 2;
	mbedtls_ssl_conf_ca_chain(&conf, &ca, NULL);
	mbedtls_ssl_conf_rng(&conf, mbedtls_ctr_drbg_random, &drbg);
	if (mbedtls_ssl_setup(&ssl, &conf) || mbedtls_ssl_set_hostname(&ssl, "localhost"))
		return fprintf(stderr, "tls-alert: setup failed\n"), 2;
	mbedtls_ssl_set_bio(&ssl, NULL, bio_send, bio_recv, NULL);
	if ((r = mbedtls_ssl_handshake(&ssl)))
		return fprintf(stderr, "tls-alert: handshake: %d\n", r), 2;
	if (mbedtls_ssl_write(&ssl, (const unsigned char *)req, sizeof req - 1) != (int)sizeof req - 1 ||
	    (r = mbedtls_ssl_read(&ssl, buf, sizeof buf)) < 12 || memcmp(buf, "HTTP/1.1 101", 12))
		return fprintf(stderr, "tls-alert: no 101\n"), 2;
	corked = 1;
	if (mbedtls_ssl_send_alert_message(&ssl, MBEDTLS_SSL_ALERT_LEVEL_WARNING,
	                                   MBEDTLS_SSL_ALERT_MSG_NO_RENEGOTIATION) ||
	    mbedtls_ssl_write(&ssl, frame, sizeof frame) != (int)sizeof frame)
		return fprintf(stderr, "tls-alert: cannot write\n"), 2;
	corked = 0;
	if (send(fd, cork, cork_len, 0) != (ssize_t)cork_len)
		return perror("tls-alert: send"), 2;
	r = mbedtls_ssl_read(&ssl, buf, sizeof buf);
	if (r == 7 && buf[0] == 0x82 && buf[1] == 5 && !memcmp(buf + 2, "hello", 5))
		return printf("echo\n"), 0;
	return printf("no echo within 3 s (%d)\n", r), 1;
}
