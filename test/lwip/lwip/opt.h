/* Stand-in for lwIP 2.x's lwip/opt.h: the options lwip_echo.c and the fake
 * read, at lwIP's defaults (TCP_WND 4 * TCP_MSS, TCP_SND_BUF 2 * TCP_MSS). */
#ifndef LWIP_HDR_OPT_H
#define LWIP_HDR_OPT_H

#define NO_SYS 1
#define LWIP_IPV4 1
#define LWIP_IPV6 1
#define LWIP_TCP 1
#define LWIP_CALLBACK_API 1
#define LWIP_WND_SCALE 0
#define TCP_MSS 536
#define TCP_WND (4 * TCP_MSS)
#define TCP_SND_BUF (2 * TCP_MSS)
#define TCP_DEFAULT_LISTEN_BACKLOG 0xff
/* lwIP's default is 1; the fake hands data over in order only, as with 0. */
#define TCP_QUEUE_OOSEQ 0

#endif
