/* libws version. WS_VERSION_NUM is 0xMMmmpp for #if checks; the shared library's
 * SONAME is libws.so.WS_VERSION_MAJOR (the Makefile reads it from here). */
#ifndef WS_VERSION_H
#define WS_VERSION_H

#define WS_VERSION_MAJOR 0
#define WS_VERSION_MINOR 1
#define WS_VERSION_PATCH 0
#define WS_VERSION_STRING "0.1.0"
#define WS_VERSION_NUM ((WS_VERSION_MAJOR << 16) | (WS_VERSION_MINOR << 8) | WS_VERSION_PATCH)

/* Public symbols are the only ones the shared library exports (-fvisibility=hidden). */
#if defined(__GNUC__) || defined(__clang__)
#define WS_API __attribute__((visibility("default")))
#else
#define WS_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Returns:
 *   the version string of the library actually linked (it may differ from
 *     WS_VERSION_STRING, the header's), in static storage. */
WS_API const char *ws_version(void);

#ifdef __cplusplus
}
#endif
#endif
