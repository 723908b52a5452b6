/* Stand-in for lwIP 2.x's lwip/pbuf.h: struct pbuf as lwIP 2.1 lays it out,
 * and the calls lwip_echo.c makes, with lwIP's signatures. */
#ifndef LWIP_HDR_PBUF_H
#define LWIP_HDR_PBUF_H

#include "lwip/opt.h"
#include "lwip/err.h"

struct pbuf {
	struct pbuf *next; /* next pbuf in singly linked pbuf chain */
	void *payload;     /* pointer to the actual data in the buffer */
	u16_t tot_len;     /* length of this buffer and all next buffers in the chain */
	u16_t len;         /* length of this buffer */
	u8_t type_internal;
	u8_t flags;
	u8_t ref;          /* LWIP_PBUF_REF_T */
	u8_t if_idx;
};

u8_t pbuf_free(struct pbuf *p);
void pbuf_ref(struct pbuf *p);
u16_t pbuf_copy_partial(const struct pbuf *p, void *dataptr, u16_t len, u16_t offset);

#endif
