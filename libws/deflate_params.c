/* permessage-deflate negotiation (RFC 7692 §5, §7.1): parsing offers and
 * responses, choosing, formatting. No zlib here. */
#include "ws_internal.h"

void ws_deflate_config_init(ws_deflate_config *d)
{
	memset(d, 0, sizeof *d);
	d->server_max_window_bits = 15;
	d->client_max_window_bits = 15;
	d->mem_level = 8;
	d->level = 6;
	d->threshold = 64;
}

/* One permessage-deflate element's parameters; -1 absent, 0 present without value. */
typedef struct offer {
	int snct, cnct, smwb, cmwb;
} offer;

/* A window-bits value: 8-15 in decimal without leading zeros (RFC 7692 §7.1.2.1). */
static int window_bits(const char *v, size_t n)
{
	if (n == 1 && (*v == '8' || *v == '9'))
		return *v - '0';
	if (n == 2 && v[0] == '1' && v[1] >= '0' && v[1] <= '5')
		return 10 + v[1] - '0';
	return -1;
}

/* Parses one element of an extension list (RFC 6455 §9.1): its name and
 * parameters. Returns 1 for a permessage-deflate element with valid
 * parameters, 0 for any other element (another extension, unknown, duplicate
 * or invalid parameters), -1 for bytes that are not an extension at all. */
static int parse_element(ws_str e, offer *o)
{
	size_t pos = ws__token_end(e, 0);
	ws_str name = {e.ptr, pos};
	ws__param p;
	int r, ours, valid = 1;

	if (pos == 0)
		return -1;
	ours = ws__ieq(name, "permessage-deflate");
	o->snct = o->cnct = o->smwb = o->cmwb = -1;
	while ((r = ws__param_next(e, &pos, &p)) > 0) {
		char v[3];
		size_t vl = 0;
		int bits;

		if (!ours)
			continue;
		if (p.has_value && !(vl = ws__param_token(&p, v, sizeof v))) {
			valid = 0; /* longer than any valid value, or quoted and no
			            * token once unquoted (RFC 6455 §9.1) */
			continue;
		}
		bits = p.has_value ? window_bits(v, vl) : 0;
		if (ws__ieq(p.name, "server_no_context_takeover") && o->snct < 0 && !p.has_value)
			o->snct = 0;
		else if (ws__ieq(p.name, "client_no_context_takeover") && o->cnct < 0 && !p.has_value)
			o->cnct = 0;
		else if (ws__ieq(p.name, "server_max_window_bits") && o->smwb < 0 && bits > 0)
			o->smwb = bits;
		else if (ws__ieq(p.name, "client_max_window_bits") && o->cmwb < 0 && bits >= 0)
			o->cmwb = bits;
		else
			valid = 0; /* RFC 7692 §7.1: unknown, duplicate or invalid: decline */
	}
	if (r < 0)
		return -1;
	return ours && valid;
}

static int bits_of(uint8_t b)
{
	return b < 9 ? 9 : b > 15 ? 15 : b;
}

/* The first acceptable offer in one Sec-WebSocket-Extensions value. Which
 * offer that is does not depend on the configuration: only what is agreed
 * to does (agree()). Returns 1 with *o set, 0 if none. */
static int first_offer(ws_str offers, offer *o)
{
	size_t pos = 0;
	ws_str e;
	int r;

	while (ws_list_next(offers, &pos, &e)) {
		if ((r = parse_element(e, o)) < 0)
			return 0;
		if (r)
			return 1;
	}
	return 0;
}

/* What a server with cfg agrees to for offer o (RFC 7692 §7.1). */
static void agree(const ws_deflate_config *cfg, const offer *o, ws_deflate_params *out)
{
	int s = bits_of(cfg->server_max_window_bits);

	/* §7.1.1: either side's no-context-takeover, asked or imposed. */
	out->server_no_context_takeover = o->snct == 0 || cfg->server_no_context_takeover;
	out->client_no_context_takeover = o->cnct == 0 || cfg->client_no_context_takeover;
	/* §7.1.2.1: at most what the client allows our compressor. */
	if (o->smwb > 0) {
		/* "A server accepts an extension negotiation offer with this
		 * parameter by including the server_max_window_bits extension
		 * parameter in the extension negotiation response": an offer that
		 * names it is accepted only by an answer that names it.
		 * ws_deflate_format() names values below 15 (15 is what its absence
		 * means, and ws_deflate_params cannot say that the offer named it),
		 * so such an offer gets 14 at most. */
		if (s > 14)
			s = 14;
		if (o->smwb < s)
			s = o->smwb;
	}
	out->server_max_window_bits = (uint8_t)s;
	/* §7.1.2.2: we can limit the client only if it said it can be limited. */
	out->client_max_window_bits = 15;
	if (o->cmwb >= 0) {
		int want = bits_of(cfg->client_max_window_bits);
		out->client_max_window_bits = (uint8_t)(o->cmwb > 0 && o->cmwb < want ? o->cmwb : want);
	}
}

int ws_deflate_negotiate(const ws_deflate_config *cfg, ws_str offers, ws_deflate_params *out)
{
	offer o;

	if (!first_offer(offers, &o))
		return 0;
	agree(cfg, &o, out);
	return 1;
}

/* The offer kept in 4 bytes between a request and its answer: k[0] is 0 for
 * none, else 1 | 2 (server_no_context_takeover) | 4 (client_...) | 8
 * (client_max_window_bits named); k[1], k[2] the two window values (0:
 * none given). */
int ws__deflate_offer_keep(ws_str offers, uint8_t k[4])
{
	offer o;

	if (!first_offer(offers, &o))
		return 0;
	k[0] = (uint8_t)(1 | (o.snct == 0) << 1 | (o.cnct == 0) << 2 | (o.cmwb >= 0) << 3);
	k[1] = (uint8_t)(o.smwb > 0 ? o.smwb : 0);
	k[2] = (uint8_t)(o.cmwb > 0 ? o.cmwb : 0);
	k[3] = 0;
	return 1;
}

int ws__deflate_offer_agree(const ws_deflate_config *cfg, const uint8_t k[4], ws_deflate_params *out)
{
	offer o;

	if (!(k[0] & 1))
		return 0;
	o.snct = k[0] & 2 ? 0 : -1;
	o.cnct = k[0] & 4 ? 0 : -1;
	o.smwb = k[1] ? k[1] : -1;
	o.cmwb = k[0] & 8 ? k[2] : -1;
	agree(cfg, &o, out);
	return 1;
}

size_t ws_deflate_format(const ws_deflate_config *cfg, const ws_deflate_params *params, char *out,
                         size_t cap)
{
	ws__out o;
	int snct = params ? params->server_no_context_takeover : cfg->server_no_context_takeover;
	int cnct = params ? params->client_no_context_takeover : cfg->client_no_context_takeover;
	int s = params ? params->server_max_window_bits : bits_of(cfg->server_max_window_bits);
	int c = params ? params->client_max_window_bits : bits_of(cfg->client_max_window_bits);
	size_t n;

	ws__out_init(&o, out, cap ? cap - 1 : 0); /* room for the NUL */
	do {
		ws__puts(&o, "permessage-deflate");
		if (snct)
			ws__puts(&o, "; server_no_context_takeover");
		if (cnct)
			ws__puts(&o, "; client_no_context_takeover");
		if (s < 15) {
			ws__puts(&o, "; server_max_window_bits=");
			ws__put_uint(&o, (size_t)s);
		}
		/* A response names the client's window only to limit it; an offer
		 * always says the client can be limited (RFC 7692 §7.1.2.2). */
		if (!params || c < 15)
			ws__puts(&o, "; client_max_window_bits");
		if (c < 15) {
			ws__puts(&o, "=");
			ws__put_uint(&o, (size_t)c);
		}
	} while (ws__out_again(&o));
	if (!cap || ws__out_end(&o, &n) != WS_OK)
		return 0;
	out[n] = 0;
	return n;
}

int ws_deflate_check_response(const ws_deflate_config *cfg, ws_str response, ws_deflate_params *out)
{
	int asked_s = bits_of(cfg->server_max_window_bits), asked_c = bits_of(cfg->client_max_window_bits);
	size_t pos = 0;
	ws_str e;
	offer o;

	/* Exactly one element, and it is ours. */
	if (!ws_list_next(response, &pos, &e) || parse_element(e, &o) != 1 ||
	    ws_list_next(response, &pos, &e))
		return 0;
	if (o.cmwb == 0)
		return 0; /* RFC 7692 §7.1.2.2: a response gives a value */
	if (cfg->server_no_context_takeover && o.snct < 0)
		return 0; /* §7.1.1.1: asked for, so it must be granted */
	if (asked_s < 15 && (o.smwb < 0 || o.smwb > asked_s))
		return 0; /* §7.1.2.1 */
	if (o.cmwb > asked_c)
		return 0;
	out->server_no_context_takeover = o.snct == 0;
	out->client_no_context_takeover = o.cnct == 0 || cfg->client_no_context_takeover;
	out->server_max_window_bits = (uint8_t)(o.smwb > 0 ? o.smwb : 15);
	out->client_max_window_bits = (uint8_t)(o.cmwb > 0 ? o.cmwb : asked_c);
	return 1;
}
