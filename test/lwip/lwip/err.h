/* Stand-in for lwIP 2.x's lwip/err.h: err_t and its values (err_enum_t). */
#ifndef LWIP_HDR_ERR_H
#define LWIP_HDR_ERR_H

#include "lwip/opt.h"
#include "lwip/arch.h"

typedef s8_t err_t;

typedef enum {
	ERR_OK = 0,           /* No error, everything OK. */
	ERR_MEM = -1,         /* Out of memory error. */
	ERR_BUF = -2,         /* Buffer error. */
	ERR_TIMEOUT = -3,     /* Timeout. */
	ERR_RTE = -4,         /* Routing problem. */
	ERR_INPROGRESS = -5,  /* Operation in progress */
	ERR_VAL = -6,         /* Illegal value. */
	ERR_WOULDBLOCK = -7,  /* Operation would block. */
	ERR_USE = -8,         /* Address in use. */
	ERR_ALREADY = -9,     /* Already connecting. */
	ERR_ISCONN = -10,     /* Conn already established. */
	ERR_CONN = -11,       /* Not connected. */
	ERR_IF = -12,         /* Low-level netif error */
	ERR_ABRT = -13,       /* Connection aborted. */
	ERR_RST = -14,        /* Connection reset. */
	ERR_CLSD = -15,       /* Connection closed. */
	ERR_ARG = -16         /* Illegal argument. */
} err_enum_t;

#endif
