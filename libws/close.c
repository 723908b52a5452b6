#include "ws_internal.h"

/* RFC 6455 §7.4.1-2 and the IANA registry: 1004-1006 and 1015 are reserved or
 * local-only; 1012-1014 are registered (rejecting them has caused interop bugs). */
int ws_close_code_valid(unsigned code)
{
	if (code >= 1000 && code <= 1014)
		return code < 1004 || code > 1006;
	return code >= 3000 && code <= 4999;
}
