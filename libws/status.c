/* Status codes (one table, include/ws/status.h) and close codes.
 *
 * The table becomes columns, one entry per row, and a status finds its row
 * by a search of the values: on a microcontroller (-Os) that takes far less
 * flash than a switch per column. The names and the descriptions are each
 * one block of text (a struct with a char array per row) addressed by 16-bit
 * offsets: no pointers, so nothing to relocate in a shared library. */
#include <stddef.h>
#include "ws_internal.h"

#define WS_VALUE_(name, value, close, http, text) value,
#define WS_CLOSE_(name, value, close, http, text) close,
#define WS_HTTP_(name, value, close, http, text) http,
#define WS_NAME_FIELD_(name, value, close, http, text) char name[sizeof #name];
#define WS_NAME_(name, value, close, http, text) #name,
#define WS_NAME_OFF_(name, value, close, http, text) offsetof(struct status_names, name),
#define WS_TEXT_FIELD_(name, value, close, http, text) char name[sizeof text];
#define WS_TEXT_(name, value, close, http, text) text,
#define WS_TEXT_OFF_(name, value, close, http, text) offsetof(struct status_texts, name),

static const int16_t values[] = {WS_STATUS_TABLE(WS_VALUE_)};
static const uint16_t close_codes[] = {WS_STATUS_TABLE(WS_CLOSE_)};
static const uint16_t http_codes[] = {WS_STATUS_TABLE(WS_HTTP_)};

struct status_names {
	WS_STATUS_TABLE(WS_NAME_FIELD_)
};
static const struct status_names names = {WS_STATUS_TABLE(WS_NAME_)};
static const uint16_t name_offsets[] = {WS_STATUS_TABLE(WS_NAME_OFF_)};

struct status_texts {
	WS_STATUS_TABLE(WS_TEXT_FIELD_)
};
static const struct status_texts texts = {WS_STATUS_TABLE(WS_TEXT_)};
static const uint16_t text_offsets[] = {WS_STATUS_TABLE(WS_TEXT_OFF_)};

/* The row of status, or -1. */
static int row(int status)
{
	for (size_t i = 0; i < sizeof values / sizeof values[0]; i++)
		if (values[i] == status)
			return (int)i;
	return -1;
}

const char *ws_status_name(int status)
{
	int i = row(status);

	return i < 0 ? "UNKNOWN" : (const char *)&names + name_offsets[i];
}

const char *ws_status_str(int status)
{
	int i = row(status);

	return i < 0 ? "unknown status" : (const char *)&texts + text_offsets[i];
}

unsigned ws_status_close_code(int status)
{
	int i = row(status);

	return i < 0 ? 0 : close_codes[i];
}

unsigned ws_status_http(int status)
{
	int i = row(status);

	return i < 0 ? 0 : http_codes[i];
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
