/* lwip_echo: a WebSocket echo server on lwIP's raw API (lwIP 2.x, NO_SYS or
 * the tcpip thread): every callback runs on lwIP's thread, there are no
 * sockets and no heap. Peers come from a pool in a struct lwip_echo that the
 * program owns (static memory, normally). Text and binary messages are
 * echoed chunk by chunk as they arrive, so a message of any size needs no
 * buffer of its size; pings are answered with pongs (the library leaves that
 * to us: ws_conn_reply), a peer's close is echoed, then the server closes
 * the TCP connection (RFC 6455 §7.1.1).
 *
 * Build it into an lwIP project beside libws (WS_DEFLATE=0 on a small
 * target, SHA-1 from mbedTLS or the crypto hook, include/ws/crypto.h):
 *
 *     cc -c lwip_echo.c $(pkg-config --cflags libws) -I<lwip>/src/include -I<port>
 *
 * where <port> holds your lwipopts.h and arch/cc.h, and call, once the
 * netif is up, on lwIP's thread:
 *
 *     static struct lwip_echo echo;
 *     lwip_echo_start(&echo, 80);
 *
 * Flow control, both ways, with lwIP's own means:
 *   - output: each reply is written into the peer's out[] and handed to
 *     tcp_write() as far as tcp_sndbuf() allows; what lwIP does not take
 *     (a full send buffer, or tcp_write() saying ERR_MEM because its
 *     segment queue or memory pool is full) waits there, and tcp_sent()
 *     (the peer acknowledged data) or tcp_poll() brings us back;
 *   - input: ws_conn_recv() is called only while out[] has room for the
 *     largest reply it can cause, and on no more bytes than that room: so an
 *     echo always fits. Input that waits stays in the peer's in[] and is not
 *     tcp_recved(): lwIP's receive window closes and the client stops
 *     sending. With in[] of TCP_WND bytes every pbuf lwIP offers fits. A
 *     smaller in[] works while lwIP hands over one segment (TCP_MSS) at a
 *     time: a pbuf that does not fit yet is refused with ERR_MEM, lwIP keeps
 *     it and offers it again (tcp_fasttmr, every 250 ms). Out-of-order
 *     segments come in one chain of up to TCP_WND bytes, which might never
 *     fit: so then TCP_QUEUE_OOSEQ 0.
 *
 * Memory per peer: sizeof(ws_conn) (48 bytes on a 32-bit target) +
 * ECHO_IN_SIZE (default TCP_WND: 2144 bytes at lwIP's defaults) +
 * ECHO_OUT_SIZE (512) + 12, about 2.7 KB; lwIP adds a tcp_pcb and holds up
 * to TCP_SND_BUF bytes of unacknowledged output.
 *
 * A real deployment adds: a check of the request (ev.http.target, and
 * ws_origin_allowed() for browsers) with ws_conn_reject(); deadlines for the
 * handshake and the closing handshake and idle pings, in on_poll(); TLS
 * through lwIP's altcp_tls (the same calls with an altcp_ prefix);
 * tcp_nagle_disable() if small messages must not wait for an ACK; its own
 * use for the messages instead of the echo.
 *
 * Tested by test/lwip/test_lwip.c (make lwip) against a stand-in for lwIP's
 * TCP (test/lwip/fake_lwip.c) and a libws client. */
#include <string.h>
#include "lwip/err.h"
#include "lwip/pbuf.h"
#include "lwip/tcp.h"
#include "ws/ws.h"

/* The largest reply to one ws_conn_recv() call on REPLY_ROOM - 14 bytes: an
 * echo of at most that many, or a pong or close frame (a control frame of
 * 2 + 4 + 125 bytes needs all of them presented). */
#define REPLY_ROOM (WS_CONTROL_FRAME_MAX + WS_FRAME_HEADER_MAX)

#ifndef ECHO_PEERS
#define ECHO_PEERS 4
#endif
/* Input held until it can be handled: see "input" above. */
#ifndef ECHO_IN_SIZE
#define ECHO_IN_SIZE TCP_WND
#endif
/* Output lwIP has not taken yet; at least 256 bytes, the largest handshake
 * answer (the 101, or ws_conn_fail's HTTP error). */
#ifndef ECHO_OUT_SIZE
#define ECHO_OUT_SIZE 512
#endif
#if ECHO_OUT_SIZE < 256 || ECHO_OUT_SIZE > 65535 || ECHO_IN_SIZE > 65535
#error "ECHO_OUT_SIZE must be 256 to 65535 bytes, ECHO_IN_SIZE at most 65535"
#endif
#if ECHO_IN_SIZE < TCP_WND && (TCP_QUEUE_OOSEQ || ECHO_IN_SIZE < TCP_MSS + 2 * REPLY_ROOM)
#error "ECHO_IN_SIZE must be TCP_WND, or (with TCP_QUEUE_OOSEQ 0) TCP_MSS + 306 or more"
#endif

struct echo_peer {
	struct tcp_pcb *pcb;       /* NULL while the slot is free */
	ws_conn ws;
	u16_t have;                /* bytes in in[]: not consumed, not tcp_recved() yet */
	u16_t out_len;             /* bytes in out[] that lwIP has not taken yet */
	u8_t eof;                  /* the client's FIN arrived */
	uint8_t in[ECHO_IN_SIZE];
	uint8_t out[ECHO_OUT_SIZE];
};

struct lwip_echo {
	ws_config cfg;
	struct echo_peer peer[ECHO_PEERS];
};

/* The one call a program makes (put it in a header of yours): listens on
 * port, any address. Returns ERR_OK, ERR_MEM, or tcp_bind()'s error. */
err_t lwip_echo_start(struct lwip_echo *srv, u16_t port);

/* lwIP calls nothing of ours for this pcb any more. */
static void detach(struct tcp_pcb *pcb)
{
	tcp_arg(pcb, NULL);
	tcp_recv(pcb, NULL);
	tcp_sent(pcb, NULL);
	tcp_poll(pcb, NULL, 0);
	tcp_err(pcb, NULL);
}

static void peer_free(struct echo_peer *p)
{
	ws_conn_release(&p->ws);
	p->pcb = NULL;
}

/* Ends the TCP connection with a FIN after the output queued in lwIP. Every
 * byte received must be tcp_recved() first: lwIP answers a close with unread
 * data by a RST, which would discard our close frame. Returns ERR_OK, or
 * ERR_ABRT after tcp_abort(). */
static err_t peer_close(struct echo_peer *p)
{
	struct tcp_pcb *pcb = p->pcb;

	if (p->have)
		tcp_recved(pcb, p->have);
	detach(pcb);
	peer_free(p);
	if (tcp_close(pcb) == ERR_OK)
		return ERR_OK; /* lwIP 2.x retries a FIN it cannot queue itself */
	tcp_abort(pcb);
	return ERR_ABRT;
}

/* Returns ERR_ABRT: a callback that called tcp_abort() must return it. */
static err_t peer_abort(struct echo_peer *p)
{
	struct tcp_pcb *pcb = p->pcb;

	detach(pcb); /* else tcp_abort() would call on_err() */
	peer_free(p);
	tcp_abort(pcb);
	return ERR_ABRT;
}

/* Hands out[] to lwIP as far as it takes it. ERR_MEM from tcp_write() is
 * backpressure, not an error: the bytes stay and tcp_sent() or tcp_poll()
 * brings us back. */
static err_t flush(struct echo_peer *p)
{
	err_t err = ERR_OK;

	while (p->out_len) {
		u16_t n = tcp_sndbuf(p->pcb) < p->out_len ? (u16_t)tcp_sndbuf(p->pcb) : p->out_len;
		if (n == 0)
			break;
		err = tcp_write(p->pcb, p->out, n, TCP_WRITE_FLAG_COPY);
		if (err == ERR_MEM) {
			err = ERR_OK;
			break;
		}
		if (err != ERR_OK)
			return err;
		memmove(p->out, p->out + n, p->out_len - n);
		p->out_len = (u16_t)(p->out_len - n);
	}
	(void)tcp_output(p->pcb); /* errors are retried by lwIP's timers */
	return err;
}

/* Echoes a data chunk as one fragment of the same message. */
static int echo(struct echo_peer *p, const ws_event *ev, size_t *n)
{
	unsigned op = !(ev->flags & WS_EVF_MSG_BEGIN) ? WS_OP_CONTINUATION
	              : ev->type == WS_EV_TEXT        ? WS_OP_TEXT
	                                              : WS_OP_BINARY;

	return ws_conn_send(&p->ws, op, ev->flags & WS_EVF_MSG_END ? 0 : WS_SEND_MORE, ev->data, ev->len,
	                    p->out + p->out_len, sizeof p->out - p->out_len, n);
}

/* The read loop of conn.h over in[], as far as out[] has room for the
 * replies; then hands the output to lwIP, and closes the connection once the
 * close handshake is done (or the client's FIN, or an error, ended it) and
 * lwIP took every byte. Returns ERR_OK, or ERR_ABRT after tcp_abort(). */
static err_t serve(struct echo_peer *p)
{
	size_t off = 0, used, n, room, len;
	int rc, stalled = 0;
	ws_event ev;

	if (flush(p) != ERR_OK)
		return peer_abort(p);
	while (!ws_conn_should_close_transport(&p->ws)) {
		room = sizeof p->out - p->out_len;
		len = p->have - off;
		/* During the handshake out[] is empty: the head is presented whole. */
		if (ws_conn_state(&p->ws) != WS_STATE_HANDSHAKE) {
			if (room < REPLY_ROOM) {
				stalled = 1; /* tcp_sent() resumes */
				break;
			}
			if (len > room - WS_FRAME_HEADER_MAX)
				len = room - WS_FRAME_HEADER_MAX;
		}
		rc = ws_conn_recv(&p->ws, p->in + off, len, &used, &ev);
		off += used;
		n = 0;
		if (rc == WS_OK && ev.type == WS_EV_REQUEST)
			rc = ws_conn_accept(&p->ws, NULL, p->out + p->out_len, room, &n);
		else if (rc == WS_OK && (ev.type == WS_EV_TEXT || ev.type == WS_EV_BINARY))
			rc = echo(p, &ev, &n);
		else if (rc == WS_OK && (ev.flags & WS_EVF_REPLY))
			rc = ws_conn_reply(&p->ws, &ev, p->out + p->out_len, room, &n); /* pong, or close echo */
		if (rc < 0 && ws_conn_state(&p->ws) == WS_STATE_FAILED)
			rc = ws_conn_fail(&p->ws, p->out + p->out_len, room, &n); /* 1002, 1007, 400, ... */
		if (rc < 0)
			return peer_abort(p); /* WS_E_BUFFER cannot happen: room was checked */
		p->out_len = (u16_t)(p->out_len + n);
		if (ev.type == WS_EV_NONE && n == 0)
			break; /* more input needed */
	}
	if (off) { /* consumed: drop it, and open the receive window by as much */
		memmove(p->in, p->in + off, p->have - off);
		p->have = (u16_t)(p->have - off);
		tcp_recved(p->pcb, (u16_t)off);
	}
	if (p->eof && !stalled && !ws_conn_should_close_transport(&p->ws))
		ws_conn_recv_eof(&p->ws, &ev); /* what is left is a partial frame: 1006 */
	if (flush(p) != ERR_OK)
		return peer_abort(p);
	if (ws_conn_should_close_transport(&p->ws) && p->out_len == 0)
		return peer_close(p);
	return ERR_OK;
}

static err_t on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *q, err_t err)
{
	struct echo_peer *p = arg;

	(void)err; /* always ERR_OK in lwIP 2.x */
	if (!q) { /* FIN: the held input first, then ws_conn_recv_eof() */
		p->eof = 1;
		return serve(p);
	}
	if (ws_conn_should_close_transport(&p->ws)) { /* nothing is read after the close */
		tcp_recved(pcb, q->tot_len);
		pbuf_free(q);
		return ERR_OK;
	}
	if (q->tot_len > sizeof p->in - p->have)
		return ERR_MEM; /* lwIP keeps q and offers it again */
	pbuf_copy_partial(q, p->in + p->have, q->tot_len, 0);
	p->have = (u16_t)(p->have + q->tot_len);
	pbuf_free(q);
	return serve(p);
}

/* The client acknowledged output: lwIP's send buffer has room again. */
static err_t on_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
	(void)pcb;
	(void)len;
	return serve(arg);
}

/* Every 2 s: retries what failed for want of memory (a tcp_write() with
 * nothing in flight gets no tcp_sent()). Deadlines would go here. */
static err_t on_poll(void *arg, struct tcp_pcb *pcb)
{
	(void)pcb;
	return serve(arg);
}

/* A RST, or lwIP gave up: the pcb is already freed. */
static void on_err(void *arg, err_t err)
{
	(void)err;
	peer_free(arg);
}

static err_t on_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
	struct lwip_echo *srv = arg;
	struct echo_peer *p = NULL;
	size_t i;

	if (err != ERR_OK || !pcb)
		return ERR_VAL; /* lwIP could not allocate the pcb */
	for (i = 0; i < ECHO_PEERS && !p; i++)
		if (!srv->peer[i].pcb)
			p = &srv->peer[i];
	if (!p || ws_conn_init(&p->ws, sizeof p->ws, &srv->cfg) != WS_OK) {
		tcp_abort(pcb); /* pool exhausted: refused with a RST */
		return ERR_ABRT;
	}
	p->pcb = pcb;
	p->have = p->out_len = 0;
	p->eof = 0;
	tcp_arg(pcb, p);
	tcp_recv(pcb, on_recv);
	tcp_sent(pcb, on_sent);
	tcp_poll(pcb, on_poll, 4);
	tcp_err(pcb, on_err);
	return ERR_OK;
}

err_t lwip_echo_start(struct lwip_echo *srv, u16_t port)
{
	struct tcp_pcb *pcb, *lpcb;
	err_t err;

	memset(srv, 0, sizeof *srv);
	ws_config_init(&srv->cfg, WS_ROLE_SERVER);
	/* A head that could never arrive whole is answered with 431 rather than
	 * waited for: lwIP's window bounds it, or with a smaller in[] the room
	 * a segment needs beside it. */
	srv->cfg.max_head = ECHO_IN_SIZE >= TCP_WND ? TCP_WND : ECHO_IN_SIZE - TCP_MSS;
	if (!(pcb = tcp_new_ip_type(IPADDR_TYPE_ANY)))
		return ERR_MEM;
	if ((err = tcp_bind(pcb, IP_ANY_TYPE, port)) != ERR_OK) {
		tcp_close(pcb);
		return err;
	}
	if (!(lpcb = tcp_listen_with_backlog(pcb, ECHO_PEERS))) { /* pcb stays ours on failure */
		tcp_close(pcb);
		return ERR_MEM;
	}
	tcp_arg(lpcb, srv);
	tcp_accept(lpcb, on_accept);
	return ERR_OK;
}
