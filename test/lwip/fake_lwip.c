/* A stand-in for lwIP 2.x's TCP raw API (see fake_lwip.h): the calls of
 * lwip/tcp.h and lwip/pbuf.h with lwIP's semantics where lwip_echo.c relies
 * on them, over an in-process connection:
 *   - tcp_write() copies into the send queue and says ERR_MEM when len
 *     exceeds tcp_sndbuf(); tcp_output() puts the queue on the wire; a read
 *     by the client acknowledges bytes, which grows tcp_sndbuf() and runs the
 *     sent callback;
 *   - received data is offered in segments of at most TCP_MSS and rcv_wnd
 *     bytes (lwIP's in-order path), each a pbuf chain;
 *     tcp_recved() reopens the window; a recv callback that answers other
 *     than ERR_OK/ERR_ABRT leaves the pbuf with lwIP (refused_data), offered
 *     again before new data and on each tick; the FIN comes after all data;
 *   - tcp_close() with unread data (window not fully reopened, or refused
 *     data) sends a RST, as lwIP does; tcp_abort() runs the err callback;
 *   - any call on a pcb the application no longer owns counts as an error. */
#include "fake_lwip.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FAKE_CONNS 16
#define WIRE (1u << 17)

struct fake_conn {
	struct tcp_pcb pcb;
	int used;      /* a connection exists in this slot */
	int owned;     /* the application may call tcp_* on the pcb */
	int state;     /* FAKE_* */
	uint8_t up[WIRE];     /* client -> server, not yet delivered */
	size_t up_len;
	int fin_pending, fin_done;
	uint8_t unsent[WIRE]; /* tcp_write() without tcp_output() yet */
	size_t unsent_len;
	uint8_t down[WIRE];   /* on the wire to the client */
	size_t down_len;
	int down_fin;
};

struct fake_opts fake_opts = { TCP_SND_BUF, 0, 0, 0, 0, 1 };
struct fake_stats fake_stats;
const ip_addr_t ip_addr_any_type = { { { { 0, 0, 0, 0 }, 0 } }, IPADDR_TYPE_ANY };

static struct fake_conn conns[FAKE_CONNS];
static struct tcp_pcb listener;
static int listener_used;
static long pbufs_live;
static unsigned writes, rng = 1;
static int next_slot;

static unsigned rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

static void misuse(const char *what)
{
	fake_stats.errors++;
	printf("  fake lwIP: %s\n", what);
}

static struct fake_conn *conn_of(struct tcp_pcb *pcb, const char *call)
{
	if (pcb == &listener)
		return NULL;
	if (!pcb || pcb->fake_id < 0 || pcb->fake_id >= FAKE_CONNS || &conns[pcb->fake_id].pcb != pcb) {
		misuse(call);
		return NULL;
	}
	if (!conns[pcb->fake_id].owned) {
		char msg[96];
		snprintf(msg, sizeof msg, "%s on a pcb the application no longer owns", call);
		misuse(msg);
		return NULL;
	}
	return &conns[pcb->fake_id];
}

void fake_reset_stats(void)
{
	memset(&fake_stats, 0, sizeof fake_stats);
	rng = fake_opts.seed ? fake_opts.seed : 1;
	writes = 0;
}

long fake_pbufs_live(void)
{
	return pbufs_live;
}

/* ---- pbufs ---- */

static struct pbuf *pbuf_new(const uint8_t *data, u16_t len)
{
	struct pbuf *p = malloc(sizeof *p + len);

	if (!p)
		abort();
	memset(p, 0, sizeof *p);
	p->payload = p + 1;
	memcpy(p->payload, data, len);
	p->tot_len = p->len = len;
	p->ref = 1;
	pbufs_live++;
	return p;
}

u8_t pbuf_free(struct pbuf *p)
{
	u8_t n = 0;

	while (p && --p->ref == 0) {
		struct pbuf *next = p->next;
		free(p);
		pbufs_live--;
		n++;
		p = next;
	}
	return n;
}

void pbuf_ref(struct pbuf *p)
{
	p->ref++;
}

u16_t pbuf_copy_partial(const struct pbuf *p, void *dataptr, u16_t len, u16_t offset)
{
	u16_t copied = 0;

	for (; p && copied < len; p = p->next) {
		u16_t n;
		if (offset >= p->len) {
			offset = (u16_t)(offset - p->len);
			continue;
		}
		n = (u16_t)(p->len - offset < len - copied ? p->len - offset : len - copied);
		memcpy((uint8_t *)dataptr + copied, (const uint8_t *)p->payload + offset, n);
		copied = (u16_t)(copied + n);
		offset = 0;
	}
	return copied;
}

/* A chain of n bytes from data, in pbufs of at most fake_opts.seg bytes. */
static struct pbuf *chain_new(const uint8_t *data, u16_t n)
{
	struct pbuf *head = NULL, **tail = &head;
	u16_t off = 0;

	while (off < n) {
		u16_t k = (u16_t)(n - off);
		if (fake_opts.seg && k > fake_opts.seg)
			k = (u16_t)fake_opts.seg;
		*tail = pbuf_new(data + off, k);
		tail = &(*tail)->next;
		off = (u16_t)(off + k);
	}
	for (struct pbuf *q = head; q; q = q->next) { /* tot_len: this and every next */
		u16_t t = 0;
		for (struct pbuf *r = q; r; r = r->next)
			t = (u16_t)(t + r->len);
		q->tot_len = t;
	}
	return head;
}

/* ---- the application's calls ---- */

struct tcp_pcb *tcp_new_ip_type(u8_t type)
{
	(void)type;
	if (listener_used)
		return NULL;
	memset(&listener, 0, sizeof listener);
	listener.fake_id = -1;
	listener_used = 1;
	return &listener;
}

struct tcp_pcb *tcp_new(void)
{
	return tcp_new_ip_type(IPADDR_TYPE_V4);
}

void tcp_arg(struct tcp_pcb *pcb, void *arg)
{
	if (pcb == &listener || conn_of(pcb, "tcp_arg"))
		pcb->callback_arg = arg;
}

void tcp_recv(struct tcp_pcb *pcb, tcp_recv_fn recv)
{
	if (conn_of(pcb, "tcp_recv"))
		pcb->recv = recv;
}

void tcp_sent(struct tcp_pcb *pcb, tcp_sent_fn sent)
{
	if (conn_of(pcb, "tcp_sent"))
		pcb->sent = sent;
}

void tcp_err(struct tcp_pcb *pcb, tcp_err_fn err)
{
	if (conn_of(pcb, "tcp_err"))
		pcb->errf = err;
}

void tcp_poll(struct tcp_pcb *pcb, tcp_poll_fn poll, u8_t interval)
{
	if (conn_of(pcb, "tcp_poll")) {
		pcb->poll = poll;
		pcb->pollinterval = interval;
	}
}

void tcp_accept(struct tcp_pcb *pcb, tcp_accept_fn accept)
{
	if (pcb != &listener || listener.state != LISTEN)
		misuse("tcp_accept on a pcb that does not listen");
	else
		pcb->accept = accept;
}

err_t tcp_bind(struct tcp_pcb *pcb, const ip_addr_t *ipaddr, u16_t port)
{
	if (pcb != &listener || !ipaddr)
		return ERR_VAL;
	pcb->local_port = port;
	return ERR_OK;
}

struct tcp_pcb *tcp_listen_with_backlog_and_err(struct tcp_pcb *pcb, u8_t backlog, err_t *err)
{
	(void)backlog;
	if (pcb != &listener || !pcb->local_port) {
		*err = ERR_VAL;
		return NULL;
	}
	pcb->state = LISTEN;
	*err = ERR_OK;
	return pcb;
}

struct tcp_pcb *tcp_listen_with_backlog(struct tcp_pcb *pcb, u8_t backlog)
{
	err_t err;
	return tcp_listen_with_backlog_and_err(pcb, backlog, &err);
}

void tcp_recved(struct tcp_pcb *pcb, u16_t len)
{
	if (!conn_of(pcb, "tcp_recved"))
		return;
	if ((u32_t)pcb->rcv_wnd + len > TCP_WND)
		misuse("tcp_recved of more bytes than were received");
	else
		pcb->rcv_wnd = (u16_t)(pcb->rcv_wnd + len);
}

err_t tcp_write(struct tcp_pcb *pcb, const void *dataptr, u16_t len, u8_t apiflags)
{
	struct fake_conn *c = conn_of(pcb, "tcp_write");

	if (!c)
		return ERR_CONN;
	if (!(apiflags & TCP_WRITE_FLAG_COPY))
		misuse("tcp_write without TCP_WRITE_FLAG_COPY of a buffer that is reused");
	writes++;
	if (len > pcb->snd_buf || (fake_opts.write_fail && writes % (unsigned)fake_opts.write_fail == 0)) {
		fake_stats.write_mem++; /* the send buffer, or the segment queue or pool, is full */
		return ERR_MEM;
	}
	if (c->unsent_len + len > WIRE)
		abort();
	memcpy(c->unsent + c->unsent_len, dataptr, len);
	c->unsent_len += len;
	pcb->snd_buf = (u16_t)(pcb->snd_buf - len);
	if (pcb->snd_buf == 0)
		fake_stats.sndbuf_zero++;
	return ERR_OK;
}

static void output(struct fake_conn *c)
{
	if (c->down_len + c->unsent_len > WIRE)
		abort();
	memcpy(c->down + c->down_len, c->unsent, c->unsent_len);
	c->down_len += c->unsent_len;
	fake_stats.moved += c->unsent_len;
	c->unsent_len = 0;
}

err_t tcp_output(struct tcp_pcb *pcb)
{
	struct fake_conn *c = conn_of(pcb, "tcp_output");

	if (!c)
		return ERR_CONN;
	output(c);
	return ERR_OK;
}

err_t tcp_close(struct tcp_pcb *pcb)
{
	struct fake_conn *c;

	if (pcb == &listener) {
		listener_used = 0;
		return ERR_OK;
	}
	if (!(c = conn_of(pcb, "tcp_close")))
		return ERR_ARG;
	c->owned = 0;
	fake_stats.moved++;
	if (pcb->rcv_wnd != TCP_WND || pcb->refused_data) { /* lwIP: RST on unread data */
		c->state = FAKE_CLOSE_RST;
		if (pcb->refused_data)
			pbuf_free(pcb->refused_data);
		pcb->refused_data = NULL;
		c->unsent_len = c->down_len = 0;
		return ERR_OK;
	}
	output(c); /* the queue goes out, then the FIN */
	c->down_fin = 1;
	c->state = FAKE_FIN;
	return ERR_OK;
}

void tcp_abort(struct tcp_pcb *pcb)
{
	struct fake_conn *c;

	if (pcb == &listener) {
		listener_used = 0;
		return;
	}
	if (!(c = conn_of(pcb, "tcp_abort")))
		return;
	c->owned = 0;
	c->state = FAKE_ABORTED;
	c->unsent_len = c->down_len = 0;
	fake_stats.moved++;
	if (pcb->refused_data)
		pbuf_free(pcb->refused_data);
	pcb->refused_data = NULL;
	if (pcb->errf)
		pcb->errf(pcb->callback_arg, ERR_ABRT); /* lwIP's tcp_abandon() does */
}

/* ---- the client's side ---- */

struct tcp_pcb *fake_pcb(int id)
{
	return &conns[id].pcb;
}

int fake_connect(u16_t port)
{
	struct fake_conn *c = NULL;
	err_t err;
	int i;

	if (!listener_used || listener.state != LISTEN || listener.local_port != port || !listener.accept)
		return -1;
	for (i = 0; i < FAKE_CONNS && !c; i++) /* a fresh slot, else the oldest ended one */
		if (!conns[i].used)
			c = &conns[i];
	for (i = 0; i < FAKE_CONNS && !c; i++)
		if (conns[(next_slot + i) % FAKE_CONNS].state != FAKE_OPEN)
			c = &conns[(next_slot + i) % FAKE_CONNS];
	next_slot = (int)(c ? c - conns + 1 : 0);
	if (!c)
		abort();
	i = (int)(c - conns);
	if (c->pcb.refused_data)
		pbuf_free(c->pcb.refused_data);
	memset(c, 0, sizeof *c);
	c->used = c->owned = 1;
	c->pcb.fake_id = i;
	c->pcb.state = ESTABLISHED;
	c->pcb.local_port = port;
	c->pcb.snd_buf = fake_opts.snd_buf;
	c->pcb.rcv_wnd = TCP_WND;
	err = listener.accept(listener.callback_arg, &c->pcb, ERR_OK);
	if (err == ERR_ABRT) {
		if (c->owned)
			misuse("accept returned ERR_ABRT without tcp_abort()");
	} else if (err != ERR_OK && c->owned) {
		tcp_abort(&c->pcb); /* lwIP aborts a connection the accept callback refused */
	}
	return i;
}

void fake_send(int id, const void *data, size_t len)
{
	struct fake_conn *c = &conns[id];

	if (c->up_len + len > WIRE)
		abort();
	memcpy(c->up + c->up_len, data, len);
	c->up_len += len;
}

/* Calls the recv callback; returns 1 if the connection can take more. */
static int offer(struct fake_conn *c, struct pbuf *p)
{
	struct tcp_pcb *pcb = &c->pcb;
	err_t err;

	if (!pcb->recv) { /* lwIP's tcp_recv_null */
		if (p) {
			tcp_recved(pcb, p->tot_len);
			pbuf_free(p);
		}
		return 1;
	}
	err = pcb->recv(pcb->callback_arg, pcb, p, ERR_OK);
	if (err == ERR_ABRT) {
		if (c->owned)
			misuse("recv returned ERR_ABRT without tcp_abort()");
		return 0;
	}
	if (c->owned && c->state == FAKE_OPEN && !p && err != ERR_OK)
		misuse("recv refused the FIN");
	if (err != ERR_OK && p) {
		if (c->state != FAKE_OPEN) {
			misuse("recv refused data after tcp_close/tcp_abort");
			pbuf_free(p);
			return 0;
		}
		pcb->refused_data = p;
		fake_stats.refused++;
		return 0;
	}
	return c->state == FAKE_OPEN;
}

void fake_deliver(int id)
{
	struct fake_conn *c = &conns[id];
	struct tcp_pcb *pcb = &c->pcb;

	if (c->state != FAKE_OPEN) {
		/* After tcp_close lwIP resets a connection that still receives
		 * data (TF_RXCLOSED): its err callback must be gone by then. */
		if (c->up_len && c->state == FAKE_FIN && pcb->errf)
			misuse("data after tcp_close with the err callback still set");
		c->up_len = 0;
		return;
	}
	if (pcb->refused_data) {
		struct pbuf *p = pcb->refused_data;
		pcb->refused_data = NULL;
		if (!offer(c, p))
			return; /* still refused: new segments are dropped (and sent again) */
	}
	while (c->up_len && pcb->rcv_wnd && c->state == FAKE_OPEN) {
		size_t n = c->up_len < pcb->rcv_wnd ? c->up_len : pcb->rcv_wnd;
		size_t max = fake_opts.chunk && fake_opts.chunk < TCP_MSS ? fake_opts.chunk : TCP_MSS;
		struct pbuf *p;
		if (fake_opts.random)
			max = 1 + rnd() % max;
		if (n > max)
			n = max;
		p = chain_new(c->up, (u16_t)n);
		memmove(c->up, c->up + n, c->up_len - n);
		c->up_len -= n;
		pcb->rcv_wnd = (u16_t)(pcb->rcv_wnd - n);
		fake_stats.moved += n;
		if (!offer(c, p))
			return;
	}
	if (c->fin_pending && !c->fin_done && !c->up_len && c->state == FAKE_OPEN) {
		c->fin_done = 1;
		fake_stats.moved++;
		offer(c, NULL);
	}
}

size_t fake_readable(int id)
{
	return conns[id].down_len;
}

size_t fake_read(int id, void *buf, size_t max)
{
	struct fake_conn *c = &conns[id];
	size_t n = c->down_len < max ? c->down_len : max;

	if (!n)
		return 0;
	memcpy(buf, c->down, n);
	memmove(c->down, c->down + n, c->down_len - n);
	c->down_len -= n;
	fake_stats.moved += n;
	if (c->state == FAKE_OPEN) { /* the client's ACK */
		c->pcb.snd_buf = (u16_t)(c->pcb.snd_buf + n);
		if (c->pcb.snd_buf > fake_opts.snd_buf)
			misuse("more bytes acknowledged than sent");
		if (c->pcb.sent && c->pcb.sent(c->pcb.callback_arg, &c->pcb, (u16_t)n) == ERR_ABRT && c->owned)
			misuse("sent returned ERR_ABRT without tcp_abort()");
	}
	return n;
}

int fake_eof(int id)
{
	return conns[id].down_fin && !conns[id].down_len;
}

void fake_fin(int id)
{
	conns[id].fin_pending = 1;
}

void fake_rst(int id)
{
	struct fake_conn *c = &conns[id];

	if (c->state != FAKE_OPEN)
		return;
	c->owned = 0;
	c->state = FAKE_RESET;
	if (c->pcb.refused_data)
		pbuf_free(c->pcb.refused_data);
	c->pcb.refused_data = NULL;
	if (c->pcb.errf)
		c->pcb.errf(c->pcb.callback_arg, ERR_RST);
}

int fake_state(int id)
{
	return conns[id].state;
}

void fake_tick(void)
{
	int i;

	for (i = 0; i < FAKE_CONNS; i++) {
		struct fake_conn *c = &conns[i];
		if (!c->used || c->state != FAKE_OPEN)
			continue;
		if (c->pcb.refused_data || c->up_len || (c->fin_pending && !c->fin_done))
			fake_deliver(i);
		if (c->state == FAKE_OPEN && c->pcb.poll &&
		    c->pcb.poll(c->pcb.callback_arg, &c->pcb) == ERR_ABRT && c->owned)
			misuse("poll returned ERR_ABRT without tcp_abort()");
	}
}
