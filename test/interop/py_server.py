"""Python websockets echo server, the peer for our ws-client (same protocol as
node_server.mjs). Listens on 127.0.0.1 at a free port, prints "listening PORT"
and "closed CODE REASON" for every connection that ends. Echoes messages;
text commands: __close CODE REASON, __ping, __pings, __frag, __fragbin,
__proto, __hdr NAME. Path /reject401 refuses the handshake with 401."""
import asyncio
import http
import signal
import sys

import websockets
import websockets.legacy.server


def log(*args):
    print(*args, flush=True)


class Counting(websockets.legacy.server.WebSocketServerProtocol):
    """Counts the pings received: the library answers each through pong()."""
    pings_received = 0

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
    async with websockets.serve(handler, "127.0.0.1", 0, create_protocol=Counting,
                                process_request=process_request,
                                select_subprotocol=select_subprotocol,
                                subprotocols=["chat", "echo"], max_size=64 << 20,
                                ping_interval=None) as server:
        log("listening", server.sockets[0].getsockname()[1])
        await stop


if __name__ == "__main__":
    asyncio.run(main())
    sys.exit(0)
