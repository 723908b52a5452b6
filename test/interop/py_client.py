"""Python websockets clients against our echo server: py_client.py ws://HOST:PORT
Prints "ok NAME" or "FAIL NAME: why" per case, then "done"."""
import asyncio
import os
import sys

import websockets
from websockets.exceptions import InvalidStatusCode

BASE = sys.argv[1]
TIMEOUT = 20
MAX = 64 << 20


def connect(path="/", **kw):
    return websockets.connect(BASE + path, max_size=MAX, ping_interval=None,
                              open_timeout=TIMEOUT, close_timeout=TIMEOUT, **kw)


async def recv(ws):
    return await asyncio.wait_for(ws.recv(), TIMEOUT)


async def echo(payload):
    async with connect() as ws:
        await ws.send(payload)
        got = await recv(ws)
        assert type(got) is type(payload), f"type: sent {type(payload).__name__}, got {type(got).__name__}"
        assert got == payload, f"payload differs ({len(got)} vs {len(payload)})"
    assert ws.close_code == 1000, f"close code {ws.close_code}"


async def fragmented(parts):
    async with connect() as ws:
        await ws.send(parts)  # an iterable goes out as one fragmented message
        got = await recv(ws)
        joined = "".join(parts) if isinstance(parts[0], str) else b"".join(parts)
        assert got == joined, f"got {got[:40]!r}"


async def ping():
    async with connect() as ws:
        waiter = await ws.ping(b"py-ping")
        await asyncio.wait_for(waiter, 5)  # completes only on a pong carrying b"py-ping"


async def close(code, reason, want_code, want_reason):
    async with connect() as ws:
        await ws.close(code, reason)
    assert (ws.close_code, ws.close_reason) == (want_code, want_reason), \
        f"got {ws.close_code} {ws.close_reason!r}"


async def subprotocol(offer, want):
    async with connect(subprotocols=offer) as ws:
        assert ws.subprotocol == want, f"got {ws.subprotocol!r}"


async def reject(path, status):
    try:
        async with connect(path):
            pass
    except InvalidStatusCode as e:
        assert e.status_code == status, f"status {e.status_code}"
        if status == 401:
            assert e.headers.get("WWW-Authenticate") == "Bearer", f"headers {e.headers}"
        return
    raise AssertionError("handshake succeeded")


async def many(n):
    conns = [await connect() for _ in range(n)]
    for i, ws in enumerate(conns):
        await ws.send(f"py {i}")
    for i, ws in enumerate(conns):
        got = await recv(ws)
        assert got == f"py {i}", f"#{i}: {got}"
    await asyncio.gather(*(ws.close() for ws in conns))


def utf8_text(nbytes):
    return "é✓🎉x" * -(-nbytes // 10)


CASES = [
    ("text", lambda: echo("hello")),
    ("text utf-8", lambda: echo("héllo wörld ✓ 🎉")),
    ("text empty", lambda: echo("")),
    ("binary", lambda: echo(os.urandom(1000))),
    ("binary empty", lambda: echo(b"")),
    *[(f"binary {n} bytes", (lambda n=n: echo(os.urandom(n)))) for n in (125, 126, 65535, 65536)],
    *[(f"text {n} bytes", (lambda n=n: echo("p" * n))) for n in (125, 126, 65535, 65536)],
    ("binary 16 MiB", lambda: echo(os.urandom(16 << 20))),
    ("text 16 MiB (multibyte UTF-8)", lambda: echo(utf8_text(16 << 20))),
    ("fragmented text", lambda: fragmented(["frag", "ment", "ed"])),
    ("fragmented binary", lambda: fragmented([os.urandom(70000), b"", os.urandom(5)])),
    ("ping -> pong with the same payload", ping),
    ('close 4001 "bye" echoed', lambda: close(4001, "bye", 4001, "bye")),
    ("close 1000 echoed", lambda: close(1000, "", 1000, "")),
    ("subprotocol: offer chat,echo -> echo (server preference)",
     lambda: subprotocol(["chat", "echo"], "echo")),
    ("subprotocol: offer chat -> chat", lambda: subprotocol(["chat"], "chat")),
    ("subprotocol: offer other -> none", lambda: subprotocol(["other"], None)),
    ("reject 401 -> InvalidStatusCode 401 with WWW-Authenticate", lambda: reject("/reject401", 401)),
    ("reject 403 -> InvalidStatusCode 403", lambda: reject("/reject403", 403)),
    ("20 concurrent connections", lambda: many(20)),
]


async def main():
    for name, fn in CASES:
        try:
            await asyncio.wait_for(fn(), 2 * TIMEOUT)
            print(f"ok {name}", flush=True)
        except Exception as e:  # noqa: BLE001 - any failure is this case's failure
            print(f"FAIL {name}: {type(e).__name__}: {e}", flush=True)
    print("done", flush=True)


asyncio.run(main())
