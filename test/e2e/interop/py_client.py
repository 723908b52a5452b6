"""Python websockets clients against our echo server:
    py_client.py ws://HOST:PORT                                 echo-server without --deflate
    py_client.py ws://HOST:PORT --deflate takeover|low-memory   echo-server --deflate[-low-memory]
    py_client.py ws://HOST:PORT --guard TOKEN ORIGIN            echo-server --token TOKEN --origin ORIGIN
Prints "ok NAME" or "FAIL NAME: why" per case, then "done"."""
import asyncio
import json
import os
import random
import sys

import websockets
import websockets.legacy.client
from websockets.exceptions import InvalidStatusCode
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory

BASE = sys.argv[1]
DEFLATE_MODE = sys.argv[3] if sys.argv[2:3] == ["--deflate"] else None
GUARD = sys.argv[3:5] if sys.argv[2:3] == ["--guard"] else None  # [token, allowed origin]
TIMEOUT = 20
MAX = 64 << 20


class Counting(websockets.legacy.client.WebSocketClientProtocol):
    """Counts the bytes that cross the socket, handshake included."""

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


def connect(path="/", **kw):
    return websockets.connect(BASE + path, max_size=MAX, ping_interval=None, create_protocol=Counting,
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


async def reject(path, status, **kw):
    try:
        async with connect(path, **kw):
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


async def declined():
    async with connect() as ws:  # compression="deflate" is the default: offered
        assert ws.extensions == [], f"agreed {ws.extensions}"
        assert "permessage-deflate" in ws.request_headers.get("Sec-WebSocket-Extensions", ""), \
            "the client did not offer it"
        await ws.send("plain")
        assert await recv(ws) == "plain"


CASES = [
    ("permessage-deflate offered (websockets default) -> answered without it", declined),
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
    ("20 concurrent connections", lambda: many(20)),
]


# --- permessage-deflate (RFC 7692) against echo-server --deflate[-low-memory] ---

# Offers as websockets factories (None: the library's default offer, compression="deflate").
OFFERS = [
    ("default offer", None, {}),
    ("no context takeover", dict(server_no_context_takeover=True, client_no_context_takeover=True),
     dict(snct=True, cnct=True)),
    ("windows 10/9", dict(server_max_window_bits=10, client_max_window_bits=9), dict(smwb=10, cmwb=9)),
]


def expected(asked):
    """(server no takeover, client no takeover, server bits, client bits) our server must agree to."""
    low = DEFLATE_MODE == "low-memory"
    cap = 9 if low else 15
    return (asked.get("snct", False) or low, asked.get("cnct", False) or low,
            min(asked.get("smwb", 15), cap), min(asked.get("cmwb", 15), cap))


def json_text(n, seed=1):
    """JSON-like records: compressible ASCII text."""
    out, i, size = [], seed, 0
    while size < n:
        rec = json.dumps({"id": i, "user": f"user{i % 97}", "active": i % 3 == 0,
                          "score": (i * 7919) % 1000 / 10, "tags": ["alpha", "beta", "gamma"][i % 3:]}) + ","
        out.append(rec)
        size += len(rec)
        i += 1
    return "".join(out)[:n]


def deflate_cases():
    cases = []
    for label, factory, asked in OFFERS:
        want = expected(asked)
        kw = {} if factory is None else dict(
            compression=None, extensions=[ClientPerMessageDeflateFactory(**factory, compress_settings={"memLevel": 5})])
        reuse = not want[0] and want[2] >= 11  # a 2000-byte message refers back to the one before

        async def agreed(kw=kw, want=want):
            async with connect(**kw) as ws:
                assert len(ws.extensions) == 1, f"agreed {ws.extensions}"
                e = ws.extensions[0]
                got = (e.remote_no_context_takeover, e.local_no_context_takeover,
                       e.remote_max_window_bits, e.local_max_window_bits)
                assert got == want, f"got {got}"

        async def sizes(kw=kw):
            async with connect(**kw) as ws:
                items = []
                for n in (0, 1, 63, 64, 125, 126, 1000, 4096, 65535, 65536, 65537, 300000):
                    items += [json_text(n, n), os.urandom(n), json_text(n, n + 1).encode()]
                items.append("héllo wörld ✓ 🎉" * 1000)
                for m in items:
                    await ws.send(m)
                for m in items:
                    got = await recv(ws)
                    assert type(got) is type(m) and got == m, f"{len(m)}-byte {type(m).__name__} differs"

        async def big(kw=kw):
            async with connect(**kw) as ws:
                for m in (utf8_text(16 << 20), json_text(16 << 20, 3), os.urandom(16 << 20)):
                    await ws.send(m)
                    got = await recv(ws)
                    assert type(got) is type(m) and got == m, f"{len(m)}-byte {type(m).__name__} differs"

        async def fragments(kw=kw):
            async with connect(**kw) as ws:
                parts = [json_text(70000, 5), "x", json_text(1000, 6), ""]
                await ws.send(parts)
                assert await recv(ws) == "".join(parts), "text differs"
                bins = [os.urandom(70000), json_text(3000, 7).encode(), b""]
                await ws.send(bins)
                assert await recv(ws) == b"".join(bins), "binary differs"

        async def wire(kw=kw):
            async with connect(**kw) as ws:
                msg = json_text(1 << 20, 11)
                i0, o0 = ws.bytes_in, ws.bytes_out
                await ws.send(msg)
                assert await recv(ws) == msg, "payload differs"
                up, down = ws.bytes_out - o0, ws.bytes_in - i0
                assert up < len(msg) / 4 and down < len(msg) / 4, f"{up} B up, {down} B down for {len(msg)} B"

        async def repeats(kw=kw, reuse=reuse):
            async with connect(**kw) as ws:
                msg = random.randbytes(1000).hex()
                await ws.send(msg)
                assert await recv(ws) == msg
                i0 = ws.bytes_in
                for _ in range(19):
                    await ws.send(msg)
                for _ in range(19):
                    assert await recv(ws) == msg
                avg = (ws.bytes_in - i0) / 19
                assert (avg < 100) if reuse else (500 < avg < 2000), f"{avg:.0f} B per echo"

        cases += [
            (f"{label}: agreed (server/client no takeover, server/client bits) = {want}", agreed),
            (f"{label}: text, binary and compressible binary, 0 B to 300 KB, one connection", sizes),
            (f"{label}: fragmented text and binary", fragments),
            (f"{label}: 1 MB of JSON: fewer bytes on the wire up and down", wire),
            (f"{label}: 20 repeats of a 2000-byte message: echoes "
             + ("refer back (context takeover)" if reuse else "stand alone (no takeover or small window)"),
             repeats),
        ]
        if factory is None:
            cases.append((f"{label}: 16 MiB text (multibyte UTF-8), 16 MiB JSON and 16 MiB random binary", big))
    return cases


# --- who may connect: echo-server --token --origin ---

async def admitted(path, **kw):
    async with connect(path, **kw) as ws:
        await ws.send("let in")
        assert await recv(ws) == "let in", "no echo"


def guard_cases():
    token, origin = GUARD
    return [
        ("--token: no token -> InvalidStatusCode 401 with WWW-Authenticate", lambda: reject("/", 401)),
        ("--token: a wrong ?token= -> 401", lambda: reject("/?token=wrong", 401)),
        ("--token: a wrong Bearer -> 401", lambda: reject("/", 401, extra_headers={"Authorization": "Bearer wrong"})),
        ("--token: ?token= among other parameters -> open, echo", lambda: admitted(f"/x?a=1&token={token}&b=2")),
        ("--token: Authorization: Bearer -> open, echo",
         lambda: admitted("/", extra_headers={"Authorization": f"Bearer {token}"})),
        ("--origin: another Origin (with the token) -> 403",
         lambda: reject(f"/?token={token}", 403, origin="http://evil.example")),
        ("--origin: the allowed Origin -> open, echo", lambda: admitted(f"/?token={token}", origin=origin)),
    ]


async def main():
    for name, fn in (deflate_cases() if DEFLATE_MODE else guard_cases() if GUARD else CASES):
        try:
            await asyncio.wait_for(fn(), 2 * TIMEOUT)
            print(f"ok {name}", flush=True)
        except Exception as e:  # noqa: BLE001 - any failure is this case's failure
            print(f"FAIL {name}: {type(e).__name__}: {e}", flush=True)
    print("done", flush=True)


asyncio.run(main())
