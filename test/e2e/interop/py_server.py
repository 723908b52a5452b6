"""Python websockets echo server, the peer for our ws-client (same protocol as
node_server.mjs). Listens on 127.0.0.1 at a free port, prints "listening PORT"
and "closed CODE REASON" for every connection that ends. Echoes messages;
text commands: __close CODE REASON, __ping, __pings, __frag, __fragbin,
__proto, __hdr NAME, __ext, __bytes. Path /reject401 refuses the handshake
with 401.

permessage-deflate is accepted as websockets does by default (context
takeover, 12-bit windows both ways), or with --no-context-takeover without
context takeover both ways (and 12-bit windows)."""
import asyncio
import http
import signal
import sys

import websockets
import websockets.legacy.server
from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory


def log(*args):
    print(*args, flush=True)


class Counting(websockets.legacy.server.WebSocketServerProtocol):
    """Counts the pings received (the library answers each through pong())
    and the bytes that cross the socket, handshake included."""
    pings_received = 0

    def connection_made(self, transport):
        self.bytes_in = self.bytes_out = 0
        write = transport.write

        def counted(data):
            self.bytes_out += len(data)
            write(data)
        transport.write = counted
        super().connection_made(transport)

    def data_received(self, data):
        self.bytes_in += len(data)
        super().data_received(data)

    async def pong(self, data=b""):
        self.pings_received += 1
        await super().pong(data)


def process_request(path, headers):
    if path.split("?")[0] == "/reject401":
        return (http.HTTPStatus.UNAUTHORIZED, [("WWW-Authenticate", "Bearer")], b"unauthorized\n")
    return None


def select_subprotocol(offered, supported):
    for p in ("chat", "echo"):
        if p in offered:
            return p
    return None


async def command(ws, text):
    cmd, _, arg = text.partition(" ")
    if cmd == "__close":
        code, _, reason = arg.partition(" ")
        await ws.close(int(code), reason)
    elif cmd == "__ping":
        waiter = await ws.ping(b"srv")
        await asyncio.wait_for(waiter, 5)  # resolves only on a pong with b"srv"
        await ws.send("pong srv")
    elif cmd == "__pings":
        await ws.send(f"pings {ws.pings_received}")
    elif cmd == "__frag":
        await ws.send(["frag", "ment", "ed"])  # an iterable is sent as fragments
    elif cmd == "__fragbin":
        await ws.send([b"\x00\x01\x02", b"\xfe", b"\xff\x7f"])
    elif cmd == "__proto":
        await ws.send(f"proto {ws.subprotocol or ''}")
    elif cmd == "__hdr":
        await ws.send(f"hdr {ws.request_headers.get(arg, '')}")
    elif cmd == "__ext":
        e = ws.extensions[0] if ws.extensions else None
        await ws.send("ext none" if e is None else
                      f"ext server_no_context_takeover={e.local_no_context_takeover}; "
                      f"client_no_context_takeover={e.remote_no_context_takeover}; "
                      f"server_max_window_bits={e.local_max_window_bits}; "
                      f"client_max_window_bits={e.remote_max_window_bits}")
    elif cmd == "__bytes":  # send() writes synchronously: earlier echoes are counted
        await ws.send(f"bytes {ws.bytes_in} {ws.bytes_out}")
    else:
        await ws.send(text)


async def handler(ws):
    try:
        async for msg in ws:
            if isinstance(msg, str) and msg.startswith("__"):
                await command(ws, msg)
            else:
                await ws.send(msg)
    except websockets.ConnectionClosed:
        pass
    await ws.wait_closed()
    log("closed", ws.close_code, ws.close_reason)


async def main():
    stop = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set_result, None)
    extra = {}
    if "--no-context-takeover" in sys.argv[1:]:
        extra = dict(compression=None, extensions=[ServerPerMessageDeflateFactory(
            server_no_context_takeover=True, client_no_context_takeover=True,
            server_max_window_bits=12, client_max_window_bits=12, compress_settings={"memLevel": 5})])
    async with websockets.serve(handler, "127.0.0.1", 0, create_protocol=Counting, **extra,
                                process_request=process_request,
                                select_subprotocol=select_subprotocol,
                                subprotocols=["chat", "echo"], max_size=64 << 20,
                                ping_interval=None) as server:
        log("listening", server.sockets[0].getsockname()[1])
        await stop


if __name__ == "__main__":
    asyncio.run(main())
    sys.exit(0)
