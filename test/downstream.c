/* A downstream program built against an installed libws through pkg-config. */
#include <stdio.h>
#include <string.h>
#include <ws/ws.h>

int main(void)
{
	ws_config cfg;
	ws_conn c;
	ws_event ev;
	unsigned char frame[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
	size_t used;

	ws_config_init(&cfg, WS_ROLE_SERVER);
	cfg.flags = WS_CFG_START_OPEN;
	if (ws_conn_init(&c, sizeof c, &cfg) || ws_conn_recv(&c, frame, sizeof frame, &used, &ev) ||
	    ev.type != WS_EV_TEXT || ev.len != 5 || memcmp(ev.data, "Hello", 5))
		return 1;
	printf("libws %s ok\n", ws_version());
	return strcmp(ws_version(), WS_VERSION_STRING) != 0;
}
