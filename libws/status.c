/* Status codes (one table, include/ws/status.h) and close codes. */
#include "ws_internal.h"

const char *ws_status_name(int status)
{
	switch (status) {
#define WS_NAME_(name, value, close, http, text) case value: return #name;
	WS_STATUS_TABLE(WS_NAME_)
#undef WS_NAME_
	}
	return "UNKNOWN";
}

const char *ws_status_str(int status)
{
	switch (status) {
#define WS_TEXT_(name, value, close, http, text) case value: return text;
	WS_STATUS_TABLE(WS_TEXT_)
#undef WS_TEXT_
	}
	return "unknown status";
}

unsigned ws_status_close_code(int status)
{
	switch (status) {
#define WS_CLOSE_(name, value, close, http, text) case value: return close;
	WS_STATUS_TABLE(WS_CLOSE_)
#undef WS_CLOSE_
	}
	return 0;
}

unsigned ws_status_http(int status)
{
	switch (status) {
#define WS_HTTP_(name, value, close, http, text) case value: return http;
	WS_STATUS_TABLE(WS_HTTP_)
#undef WS_HTTP_
	}
	return 0;
}

const char *ws_version(void)
{
	return WS_VERSION_STRING;
}

/* RFC 6455 §7.4.1-2 and the IANA registry: 1004-1006 and 1015 are reserved or
 * local-only; 1012-1014 are registered (rejecting them has caused interop bugs). */
int ws_close_code_valid(unsigned code)
{
	if (code >= 1000 && code <= 1014)
		return code < 1004 || code > 1006;
	return code >= 3000 && code <= 4999;
}
