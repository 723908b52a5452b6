/* tls: see tls.h. */
#define _GNU_SOURCE
#include "tls.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <mbedtls/version.h>
#include <mbedtls/asn1.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>
#if MBEDTLS_VERSION_MAJOR >= 3
#include <psa/crypto.h> /* 3.x: TLS 1.3 takes its crypto from PSA */
#define PARSE_KEYFILE(pk, f) mbedtls_pk_parse_keyfile(pk, f, NULL, mbedtls_ctr_drbg_random, &rng.drbg)
#else
#define PARSE_KEYFILE(pk, f) mbedtls_pk_parse_keyfile(pk, f, NULL)
#define MBEDTLS_PRIVATE(member) member /* 3.x marks v3_ext private */
#endif

#define SYSTEM_CA "/etc/ssl/certs/ca-certificates.crt" /* Debian's store */

static struct {
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
	int ready;
} rng;

struct tls_server {
	mbedtls_ssl_config conf;
	mbedtls_x509_crt cert;
	mbedtls_pk_context key;
};

/* mbedTLS asks its socket for exactly what it needs: a record's 5-byte header,
 * then its body. Read that way, a small message took two recv() calls, and a
 * third that said EAGAIN. Records are read ahead instead, up to the largest
 * one, into a buffer that lives only while it holds bytes. */
#define READ_AHEAD (16384 + 1024) /* a record's plaintext, header and expansion */

/* A server session is set up (mbedTLS's two record buffers, ~33 KiB) only
 * once the first byte of a ClientHello is there: until then a silent
 * connection costs this struct alone. */
struct tls_conn {
	mbedtls_ssl_context *ssl; /* NULL until set up */
	const mbedtls_ssl_config *conf;
	int fd;
	unsigned want;       /* what mbedTLS waits for: AD_READ, AD_WRITE or 0 */
	int done;            /* handshake complete */
	int notified;        /* our close_notify went out */
	int said;            /* bytes went out during the handshake */
	unsigned char first; /* the first byte the peer sent: its first record's type */
	int drained;         /* the last recv() returned less than asked: the socket was empty */
	size_t wlen;         /* a write that returned WANT_WRITE must be repeated as it was */
	uint8_t *ra;         /* read ahead: ra[ra_off, ra_len) not yet taken by mbedTLS */
	size_t ra_off, ra_len;
	size_t taken;        /* bytes mbedTLS has taken from ra, ever (to see progress) */
	const char *failure; /* why the handshake failed */
	uint8_t ip[16];      /* the server's address when the URL names one, */
	size_t ip_len;       /* 4 or 16 bytes (else 0) */
};

static int rng_init(void)
{
	if (rng.ready)
		return 0;
#if MBEDTLS_VERSION_MAJOR >= 3
	if (psa_crypto_init() != PSA_SUCCESS)
		return -1;
#endif
	mbedtls_entropy_init(&rng.entropy);
	mbedtls_ctr_drbg_init(&rng.drbg);
	if (mbedtls_ctr_drbg_seed(&rng.drbg, mbedtls_entropy_func, &rng.entropy, (const unsigned char *)"libws", 5))
		return -1;
	rng.ready = 1;
	return 0;
}

static const char *describe(int r)
{
	static char buf[128]; /* one thread */
	mbedtls_strerror(r, buf, sizeof buf);
	return buf;
}

/* The socket under mbedTLS: non-blocking, no SIGPIPE. */
static int bio_send(void *ctx, const unsigned char *buf, size_t len)
{
	ssize_t n = send(((struct tls_conn *)ctx)->fd, buf, len, MSG_NOSIGNAL);
	if (n > 0)
		((struct tls_conn *)ctx)->said = 1;
	if (n >= 0)
		return (int)n;
	return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? MBEDTLS_ERR_SSL_WANT_WRITE
	       : errno == EPIPE || errno == ECONNRESET ? MBEDTLS_ERR_NET_CONN_RESET : MBEDTLS_ERR_NET_SEND_FAILED;
}

static int recv_error(void)
{
	return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? MBEDTLS_ERR_SSL_WANT_READ
	       : errno == ECONNRESET ? MBEDTLS_ERR_NET_CONN_RESET : MBEDTLS_ERR_NET_RECV_FAILED;
}

/* Serves what was read ahead, then reads ahead again. After a recv() that
 * left the socket empty, the next need is answered WANT_READ without asking
 * the kernel (once: the flag is cleared). Bytes that arrived since keep the
 * socket readable: level-triggered readiness, as the adapter assumes, brings
 * the caller back for them. */
static int bio_recv(void *ctx, unsigned char *buf, size_t len)
{
	struct tls_conn *tc = ctx;
	ssize_t n;

	if (tc->ra_off < tc->ra_len) {
		n = (ssize_t)(len < tc->ra_len - tc->ra_off ? len : tc->ra_len - tc->ra_off);
		memcpy(buf, tc->ra + tc->ra_off, (size_t)n);
		tc->ra_off += (size_t)n;
		tc->taken += (size_t)n;
		return (int)n;
	}
	if (tc->drained) {
		tc->drained = 0;
		return MBEDTLS_ERR_SSL_WANT_READ;
	}
	if (len >= READ_AHEAD || (!tc->ra && !(tc->ra = malloc(READ_AHEAD)))) {
		/* No buffer (out of memory, or a request larger than any
		 * record): straight into mbedTLS's, as it asked. */
		if ((n = recv(tc->fd, buf, len, 0)) < 0)
			return recv_error();
		tc->drained = (size_t)n < len;
		return (int)n;
	}
	if ((n = recv(tc->fd, tc->ra, READ_AHEAD, 0)) <= 0)
		return n < 0 ? recv_error() : 0;
	tc->drained = n < READ_AHEAD;
	tc->ra_off = 0;
	tc->ra_len = (size_t)n;
	return bio_recv(ctx, buf, len);
}

/* The read-ahead buffer goes once empty: an idle session keeps none. */
static long settle(struct tls_conn *tc, long r)
{
	if (tc->ra && tc->ra_off == tc->ra_len) {
		free(tc->ra);
		tc->ra = NULL;
		tc->ra_off = tc->ra_len = 0;
	}
	return r;
}

/* An mbedTLS result as a transport result: bytes, 0 (end), AD_AGAIN, AD_ERROR. */
static long result(struct tls_conn *tc, int r)
{
	uint32_t f;

	tc->want = 0;
	if (r >= 0)
		return r;
	if (r == MBEDTLS_ERR_SSL_WANT_READ)
		return tc->want = AD_READ, AD_AGAIN;
	if (r == MBEDTLS_ERR_SSL_WANT_WRITE)
		return tc->want = AD_WRITE, AD_AGAIN;
	if (r == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY && !tc->notified) {
		tc->notified = 1; /* answered with ours, as RFC 5246 §7.2.1 asks */
		mbedtls_ssl_close_notify(tc->ssl); /* best effort: the socket is non-blocking */
	}
	if (r == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY || r == MBEDTLS_ERR_SSL_CONN_EOF)
		return 0;
	f = tc->done ? 0 : mbedtls_ssl_get_verify_result(tc->ssl);
	if (tc->done || tc->failure)
		return AD_ERROR;
	if (r == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED && (f & MBEDTLS_X509_BADCERT_NOT_TRUSTED))
		tc->failure = "certificate not trusted";
	else if (r == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED && (f & MBEDTLS_X509_BADCERT_EXPIRED))
		tc->failure = "certificate expired";
	else if (r == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED && (f & MBEDTLS_X509_BADCERT_CN_MISMATCH))
		tc->failure = "host name mismatch";
	else
		tc->failure = describe(r);
	return AD_ERROR;
}

/* mbedTLS may say WANT_READ without asking its socket, after a record it
 * takes in silence (a warning alert): the next record may already be read
 * ahead, where no readiness will report it. Such a result is retried while
 * the call took bytes (taken was `from` before it) and more are there. */
static int pending(const struct tls_conn *tc, int r, size_t from)
{
	return r == MBEDTLS_ERR_SSL_WANT_READ && tc->ra_off < tc->ra_len && tc->taken != from;
}

static int setup(struct tls_conn *tc, const char *host);

/* The handshake runs inside the first reads and writes: 1 once done. A
 * server's session is set up when the first byte has come. */
static long handshake(struct tls_conn *tc)
{
	size_t from;
	int h;

	if (tc->done)
		return 1;
	if (!tc->ssl) {
		ssize_t n = recv(tc->fd, &tc->first, 1, MSG_PEEK);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return tc->want = AD_READ, AD_AGAIN;
		if (n <= 0) {
			tc->failure = n ? "connection reset" : "the peer closed the connection during the TLS handshake";
			return AD_ERROR;
		}
		if (setup(tc, NULL)) {
			tc->failure = "out of memory";
			return AD_ERROR;
		}
	}
	do
		from = tc->taken;
	while (pending(tc, h = mbedtls_ssl_handshake(tc->ssl), from));
	if (!h)
		return tc->done = 1;
	/* mbedTLS 2.28 sends no alert for a ClientHello it cannot begin to parse
	 * (not a handshake record, not a ClientHello, cut short): a fatal
	 * decode_error says so (RFC 8446 §6.2), unless something went out
	 * already or the peer's first record was an alert of its own. */
	if ((h == MBEDTLS_ERR_SSL_BAD_HS_CLIENT_HELLO || h == MBEDTLS_ERR_SSL_INVALID_RECORD) && !tc->said &&
	    tc->first != MBEDTLS_SSL_MSG_ALERT) {
#if MBEDTLS_VERSION_MAJOR < 3
		if (!tc->ssl->major_ver) /* no version agreed: 3.1 on the record, as ClientHellos carry */
			tc->ssl->major_ver = MBEDTLS_SSL_MAJOR_VERSION_3, tc->ssl->minor_ver = MBEDTLS_SSL_MINOR_VERSION_1;
#endif
		mbedtls_ssl_send_alert_message(tc->ssl, MBEDTLS_SSL_ALERT_LEVEL_FATAL, MBEDTLS_SSL_ALERT_MSG_DECODE_ERROR);
	}
	if (result(tc, h) != 0)
		return tc->want ? AD_AGAIN : AD_ERROR;
	tc->failure = "the peer closed the connection during the TLS handshake";
	return AD_ERROR;
}

static long tls_read(void *ctx, void *buf, size_t len)
{
	struct tls_conn *tc = ctx;
	long r = handshake(tc);
	size_t from;
	int n;

	if (r != 1)
		return settle(tc, r);
	do
		from = tc->taken;
	while (pending(tc, n = mbedtls_ssl_read(tc->ssl, buf, len), from));
	return settle(tc, result(tc, n));
}

static long tls_write(void *ctx, const void *buf, size_t len)
{
	struct tls_conn *tc = ctx;
	long r = handshake(tc);

	if (r != 1)
		return settle(tc, r);
	len = tc->wlen ? tc->wlen : len; /* mbedTLS: "called later with the same arguments" */
	r = result(tc, mbedtls_ssl_write(tc->ssl, buf, len));
	tc->wlen = r == AD_AGAIN ? len : 0;
	return settle(tc, r == 0 ? AD_ERROR : r); /* the handshake may have ended here */
}

static unsigned tls_wants(void *ctx)
{
	const struct tls_conn *tc = ctx;
	return tc->want | (tc->done ? 0 : AD_SETUP);
}

static void tls_shutdown(void *ctx)
{
	struct tls_conn *tc = ctx;
	if (tc->done && !tc->notified) {
		tc->notified = 1;
		mbedtls_ssl_close_notify(tc->ssl); /* best effort: the socket is non-blocking */
	}
	shutdown(tc->fd, SHUT_WR);
}


/* Does the certificate carry ADDR (LEN bytes) as an iPAddress entry of its
 * subjectAltName? An address in the URL matches those entries only, never
 * the CN or a DNS name (RFC 6125 §1.7.2, RFC 2818 §3.1). mbedTLS 2.28 checks
 * DNS names alone and keeps no iPAddress entries, so the extension is walked
 * here: Extensions ::= SEQUENCE OF SEQUENCE { OID, critical BOOLEAN OPTIONAL,
 * OCTET STRING { SEQUENCE OF GeneralName } }, iPAddress being [7] (RFC 5280
 * §4.2.1.6). Anything malformed matches nothing. */
static int san_has_ip(const mbedtls_x509_crt *crt, const uint8_t *addr, size_t len)
{
	unsigned char *p = crt->MBEDTLS_PRIVATE(v3_ext).p, *end = p + crt->MBEDTLS_PRIVATE(v3_ext).len, *ext_end;
	const int seq = MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE;
	size_t n;
	int critical;

	if (!p || mbedtls_asn1_get_tag(&p, end, &n, seq))
		return 0;
	for (end = p + n; p < end; p = ext_end) {
		mbedtls_asn1_buf oid;
		if (mbedtls_asn1_get_tag(&p, end, &n, seq))
			return 0;
		ext_end = p + n;
		if (mbedtls_asn1_get_tag(&p, ext_end, &oid.len, MBEDTLS_ASN1_OID))
			return 0;
		oid.p = p;
		p += oid.len;
		(void)mbedtls_asn1_get_bool(&p, ext_end, &critical); /* moves past it only when there */
		if (mbedtls_asn1_get_tag(&p, ext_end, &n, MBEDTLS_ASN1_OCTET_STRING))
			return 0;
		if (MBEDTLS_OID_CMP(MBEDTLS_OID_SUBJECT_ALT_NAME, &oid))
			continue;
		if (mbedtls_asn1_get_tag(&p, ext_end, &n, seq))
			return 0;
		while (p < ext_end) { /* one GeneralName: a tag, a length, the value */
			unsigned char tag = *p++;
			if (mbedtls_asn1_get_len(&p, ext_end, &n))
				return 0;
			if (tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | 7) && n == len && !memcmp(p, addr, len))
				return 1;
			p += n;
		}
		return 0; /* a certificate has one subjectAltName */
	}
	return 0;
}

/* The name check for a URL that names an address: on the server's own
 * certificate (depth 0), which the chain check has seen too. */
static int verify_ip(void *ctx, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
	const struct tls_conn *tc = ctx;

	if (depth == 0 && !san_has_ip(crt, tc->ip, tc->ip_len))
		*flags |= MBEDTLS_X509_BADCERT_CN_MISMATCH;
	return 0;
}

/* mbedTLS's session (its record buffers are allocated here), for the server
 * name host when a client. 0, or -1. */
static int setup(struct tls_conn *tc, const char *host)
{
	int r;

	if (!(tc->ssl = malloc(sizeof *tc->ssl)))
		return -1;
	mbedtls_ssl_init(tc->ssl);
	if ((r = mbedtls_ssl_setup(tc->ssl, tc->conf)) == 0 && host && tc->ip_len) {
		/* No SNI for an address (RFC 6066 §3); its name check is ours. */
		mbedtls_ssl_set_verify(tc->ssl, verify_ip, tc);
#if MBEDTLS_VERSION_MAJOR >= 3
		r = mbedtls_ssl_set_hostname(tc->ssl, NULL); /* 3.x: "no name", said explicitly */
#endif
	} else if (r == 0 && host)
		r = mbedtls_ssl_set_hostname(tc->ssl, host);
	if (r) {
		mbedtls_ssl_free(tc->ssl);
		free(tc->ssl);
		tc->ssl = NULL;
		return -1;
	}
	mbedtls_ssl_set_bio(tc->ssl, tc, bio_send, bio_recv, NULL);
	return 0;
}

static long tls_unsent(void *ctx) { return ad_unsent(((struct tls_conn *)ctx)->fd); }

static const ad_transport_ops tls_ops = { tls_read, tls_write, tls_wants, tls_shutdown, tls_unsent, 0 };

/* A client's session is set up now (it speaks first); a server's once the
 * peer has sent a byte. */
static int wrap(const mbedtls_ssl_config *conf, int fd, ad_transport *t, const char *host)
{
	struct tls_conn *tc = calloc(1, sizeof *tc);

	if (!tc)
		return -1;
	tc->fd = fd;
	tc->conf = conf;
	if (host && inet_pton(AF_INET, host, tc->ip) == 1)
		tc->ip_len = 4;
	else if (host && inet_pton(AF_INET6, host, tc->ip) == 1)
		tc->ip_len = 16;
	if (host && setup(tc, host)) {
		free(tc);
		return -1;
	}
	t->ops = &tls_ops;
	t->ctx = tc;
	return 0;
}

tls_server *tls_server_new(const char *cert_file, const char *key_file, const char *name)
{
	tls_server *s = calloc(1, sizeof *s);
	int r = s ? 0 : MBEDTLS_ERR_SSL_ALLOC_FAILED;

	if (!s || rng_init())
		return fprintf(stderr, "%s: TLS: cannot initialise\n", name), free(s), NULL;
	mbedtls_ssl_config_init(&s->conf);
	mbedtls_x509_crt_init(&s->cert);
	mbedtls_pk_init(&s->key);
	if ((r = mbedtls_x509_crt_parse_file(&s->cert, cert_file)))
		fprintf(stderr, "%s: TLS: %s: %s\n", name, cert_file, describe(r));
	else if ((r = PARSE_KEYFILE(&s->key, key_file)))
		fprintf(stderr, "%s: TLS: %s: %s\n", name, key_file, describe(r));
	else if ((r = mbedtls_ssl_config_defaults(&s->conf, MBEDTLS_SSL_IS_SERVER, MBEDTLS_SSL_TRANSPORT_STREAM,
	                                          MBEDTLS_SSL_PRESET_DEFAULT)) ||
	         (r = mbedtls_ssl_conf_own_cert(&s->conf, &s->cert, &s->key)))
		fprintf(stderr, "%s: TLS: %s\n", name, describe(r));
	if (r)
		return free(s), NULL; /* exiting anyway */
	mbedtls_ssl_conf_rng(&s->conf, mbedtls_ctr_drbg_random, &rng.drbg);
	return s;
}

int tls_server_alpn(tls_server *s, const char *const *protos)
{
	/* mbedTLS takes a non-const list it never writes. */
	int r = mbedtls_ssl_conf_alpn_protocols(&s->conf, (const char **)(uintptr_t)protos);
	if (r)
		fprintf(stderr, "TLS: ALPN: %s\n", describe(r));
	return r ? -1 : 0;
}

int tls_accept(tls_server *s, int fd, ad_transport *t)
{
	return wrap(&s->conf, fd, t, NULL);
}

int tls_connect(int fd, const char *host, const char *ca_file, int insecure, ad_transport *t)
{
	static mbedtls_ssl_config conf; /* one per process: reconnections reuse it */
	static mbedtls_x509_crt ca;
	static int ready;
	int r;

	if (!ready) {
		if (rng_init())
			return fprintf(stderr, "ws-client: TLS: cannot initialise\n"), -1;
		mbedtls_ssl_config_init(&conf);
		mbedtls_x509_crt_init(&ca);
		if (!insecure && (r = mbedtls_x509_crt_parse_file(&ca, ca_file ? ca_file : SYSTEM_CA)) < 0)
			return fprintf(stderr, "ws-client: TLS: %s: %s\n", ca_file ? ca_file : SYSTEM_CA, describe(r)), -1;
		if ((r = mbedtls_ssl_config_defaults(&conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
		                                     MBEDTLS_SSL_PRESET_DEFAULT)))
			return fprintf(stderr, "ws-client: TLS: %s\n", describe(r)), -1;
		/* RFC 6125 host name check and chain verification, unless --insecure. */
		mbedtls_ssl_conf_authmode(&conf, insecure ? MBEDTLS_SSL_VERIFY_NONE : MBEDTLS_SSL_VERIFY_REQUIRED);
		mbedtls_ssl_conf_ca_chain(&conf, &ca, NULL);
		mbedtls_ssl_conf_rng(&conf, mbedtls_ctr_drbg_random, &rng.drbg);
		ready = 1;
	}
	if (wrap(&conf, fd, t, host)) /* host: SNI and the name the certificate must carry */
		return fprintf(stderr, "ws-client: TLS: out of memory\n"), -1;
	return 0;
}

const char *tls_failure(const ad_transport *t)
{
	return t->ops == &tls_ops ? ((struct tls_conn *)t->ctx)->failure : NULL;
}

int tls_handshake(ad_transport *t)
{
	return t->ops == &tls_ops ? (int)settle(t->ctx, handshake(t->ctx)) : AD_ERROR;
}

const char *tls_alpn(const ad_transport *t)
{
	if (t->ops != &tls_ops || !((struct tls_conn *)t->ctx)->done)
		return NULL; /* done: the session is set up */
	return mbedtls_ssl_get_alpn_protocol(((struct tls_conn *)t->ctx)->ssl);
}

void tls_free(ad_transport *t)
{
	if (t->ops != &tls_ops)
		return;
	if (((struct tls_conn *)t->ctx)->ssl)
		mbedtls_ssl_free(((struct tls_conn *)t->ctx)->ssl);
	free(((struct tls_conn *)t->ctx)->ssl);
	free(((struct tls_conn *)t->ctx)->ra);
	free(t->ctx);
	t->ctx = NULL;
}
