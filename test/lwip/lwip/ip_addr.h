/* Stand-in for lwIP 2.x's lwip/ip_addr.h, dual stack (LWIP_IPV4 && LWIP_IPV6). */
#ifndef LWIP_HDR_IP_ADDR_H
#define LWIP_HDR_IP_ADDR_H

#include "lwip/opt.h"
#include "lwip/arch.h"

enum lwip_ip_addr_type {
	IPADDR_TYPE_V4 = 0U,
	IPADDR_TYPE_V6 = 6U,
	IPADDR_TYPE_ANY = 46U
};

typedef struct ip4_addr {
	u32_t addr;
} ip4_addr_t;

typedef struct ip6_addr {
	u32_t addr[4];
	u8_t zone;
} ip6_addr_t;

typedef struct ip_addr {
	union {
		ip6_addr_t ip6;
		ip4_addr_t ip4;
	} u_addr;
	u8_t type; /* enum lwip_ip_addr_type */
} ip_addr_t;

extern const ip_addr_t ip_addr_any_type;
#define IP_ANY_TYPE (&ip_addr_any_type)

#endif
