/* Stand-in for lwIP 2.x's lwip/tcp.h (the raw API, LWIP_CALLBACK_API, no
 * window scaling): the callback types, tcp_sndbuf() and the functions with
 * lwIP's signatures and constants. struct tcp_pcb keeps the fields lwIP's
 * macros read (snd_buf) and the few test/lwip/fake_lwip.c needs; the fake
 * implements the functions over an in-process connection. */
#ifndef LWIP_HDR_TCP_H
#define LWIP_HDR_TCP_H

#include "lwip/opt.h"
#include "lwip/arch.h"
#include "lwip/err.h"
#include "lwip/pbuf.h"
#include "lwip/ip_addr.h"

struct tcp_pcb;

typedef err_t (*tcp_accept_fn)(void *arg, struct tcp_pcb *newpcb, err_t err);
typedef err_t (*tcp_recv_fn)(void *arg, struct tcp_pcb *tpcb, struct pbuf *p, err_t err);
typedef err_t (*tcp_sent_fn)(void *arg, struct tcp_pcb *tpcb, u16_t len);
typedef err_t (*tcp_poll_fn)(void *arg, struct tcp_pcb *tpcb);
typedef void (*tcp_err_fn)(void *arg, err_t err);

typedef u16_t tcpwnd_size_t; /* LWIP_WND_SCALE 0 */
#define TCPWND16(x) (x)

enum tcp_state {
	CLOSED = 0,
	LISTEN = 1,
	SYN_SENT = 2,
	SYN_RCVD = 3,
	ESTABLISHED = 4,
	FIN_WAIT_1 = 5,
	FIN_WAIT_2 = 6,
	CLOSE_WAIT = 7,
	CLOSING = 8,
	LAST_ACK = 9,
	TIME_WAIT = 10
};

struct tcp_pcb {
	void *callback_arg;
	enum tcp_state state;
	u16_t local_port;
	tcpwnd_size_t rcv_wnd;     /* receiver window available */
	tcpwnd_size_t snd_buf;     /* available buffer space for sending (in bytes) */
	struct pbuf *refused_data; /* data previously received but not yet taken by upper layer */
	u8_t pollinterval;
	tcp_accept_fn accept;
	tcp_recv_fn recv;
	tcp_sent_fn sent;
	tcp_poll_fn poll;
	tcp_err_fn errf;
	int fake_id;               /* test/lwip/fake_lwip.c: the simulated connection */
};

struct tcp_pcb *tcp_new(void);
struct tcp_pcb *tcp_new_ip_type(u8_t type);

void tcp_arg(struct tcp_pcb *pcb, void *arg);
void tcp_recv(struct tcp_pcb *pcb, tcp_recv_fn recv);
void tcp_sent(struct tcp_pcb *pcb, tcp_sent_fn sent);
void tcp_err(struct tcp_pcb *pcb, tcp_err_fn err);
void tcp_accept(struct tcp_pcb *pcb, tcp_accept_fn accept);
void tcp_poll(struct tcp_pcb *pcb, tcp_poll_fn poll, u8_t interval);

#define tcp_sndbuf(pcb) (TCPWND16((pcb)->snd_buf))

void tcp_recved(struct tcp_pcb *pcb, u16_t len);
err_t tcp_bind(struct tcp_pcb *pcb, const ip_addr_t *ipaddr, u16_t port);

struct tcp_pcb *tcp_listen_with_backlog_and_err(struct tcp_pcb *pcb, u8_t backlog, err_t *err);
struct tcp_pcb *tcp_listen_with_backlog(struct tcp_pcb *pcb, u8_t backlog);
#define tcp_listen(pcb) tcp_listen_with_backlog(pcb, TCP_DEFAULT_LISTEN_BACKLOG)

void tcp_abort(struct tcp_pcb *pcb);
err_t tcp_close(struct tcp_pcb *pcb);
err_t tcp_shutdown(struct tcp_pcb *pcb, int shut_rx, int shut_tx);

/* Flags for "apiflags" parameter in tcp_write */
#define TCP_WRITE_FLAG_COPY 0x01
#define TCP_WRITE_FLAG_MORE 0x02

err_t tcp_write(struct tcp_pcb *pcb, const void *dataptr, u16_t len, u8_t apiflags);
err_t tcp_output(struct tcp_pcb *pcb);

#endif
