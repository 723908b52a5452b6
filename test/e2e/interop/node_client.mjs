// Node `ws` clients against our echo server:
//   node_client.mjs ws://HOST:PORT SERVER_PID                echo-server without --deflate
//   node_client.mjs ws://HOST:PORT SERVER_PID --deflate takeover|low-memory
//                                   echo-server --deflate / --deflate-low-memory
//   node_client.mjs ws://HOST:PORT SERVER_PID --guard TOKEN ORIGIN
//                                   echo-server --token TOKEN --origin ORIGIN
// Prints "ok NAME" or "FAIL NAME: why" per case, then "done". Every case
// checks a real outcome: bytes echoed, message type, close code and reason,
// negotiated subprotocol and extension, HTTP status, bytes on the wire.
import crypto from 'node:crypto';
import fs from 'node:fs';
import WebSocket from 'ws';

const [base, serverPid, flag, mode, guardOrigin] = process.argv.slice(2);
const deflateMode = flag === '--deflate' ? mode : null;
const guardToken = flag === '--guard' ? mode : null;
const TIMEOUT = 20000;

// The Sec-WebSocket-Extensions header of the server's 101 lands in ws.agreed.
function open(path = '/', protocols = [], opts = {}) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(base + path, protocols, { maxPayload: 64 << 20, ...opts });
    const t = setTimeout(() => { ws.terminate(); reject(new Error('open timed out')); }, TIMEOUT);
    ws.once('upgrade', (res) => { ws.agreed = res.headers['sec-websocket-extensions'] ?? ''; });
    ws.once('open', () => { clearTimeout(t); resolve(ws); });
    ws.once('error', (e) => { clearTimeout(t); reject(e); });
    ws.once('unexpected-response', (req, res) => {
      clearTimeout(t);
      reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { res }));
      req.destroy();
    });
  });
}

// Queues messages from the moment of opening, so none is missed.
function inbox(ws) {
  const queue = [], waiters = [];
  ws.on('message', (data, isBinary) => {
    const m = { data, isBinary };
    if (waiters.length) waiters.shift()(m); else queue.push(m);
  });
  return () => queue.length ? Promise.resolve(queue.shift()) : new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('no message within timeout')), TIMEOUT);
    waiters.push((m) => { clearTimeout(t); resolve(m); });
  });
}

function closed(ws) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('close timed out')), TIMEOUT);
    ws.once('close', (code, reason) => { clearTimeout(t); resolve({ code, reason: reason.toString() }); });
  });
}

function assert(cond, why) { if (!cond) throw new Error(why); }

async function echo(payload, binary, sendOpts) {
  const ws = await open();
  const next = inbox(ws);
  ws.send(payload, { binary, ...sendOpts });
  const m = await next();
  const want = Buffer.from(payload);
  assert(m.isBinary === binary, `type: got ${m.isBinary ? 'binary' : 'text'}`);
  assert(m.data.equals(want), `payload differs (${m.data.length} vs ${want.length} bytes)`);
  ws.close(1000);
  await closed(ws);
}

// 10 bytes of 1- to 4-byte UTF-8 sequences: our server's fragments split them anywhere.
const utf8Text = (bytes) => Buffer.from('é✓🎉x'.repeat(Math.ceil(bytes / 10)));
const rssKiB = (pid) => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const plainCases = [
  ['permessage-deflate offered (ws default) -> answered without it', async () => {
    const ws = await open('/', [], { perMessageDeflate: true });
    assert(ws.agreed === '' && ws.extensions === '', `extension "${ws.agreed}" agreed`);
    ws.close(); await closed(ws);
  }],
  ['text', () => echo('hello', false)],
  ['text utf-8', () => echo('héllo wörld ✓ 🎉', false)],
  ['text empty', () => echo('', false)],
  ['binary', () => echo(crypto.randomBytes(1000), true)],
  ['binary empty', () => echo(Buffer.alloc(0), true)],
  ...[125, 126, 65535, 65536].map((n) => [`binary ${n} bytes`, () => echo(crypto.randomBytes(n), true)]),
  ...[125, 126, 65535, 65536].map((n) => [`text ${n} bytes`, () => echo('t'.repeat(n), false)]),
  ['binary 16 MiB', () => echo(crypto.randomBytes(16 << 20), true)],
  ['text 16 MiB (multibyte UTF-8)', () => echo(utf8Text(16 << 20), false)],
  ['fragmented text', async () => {
    const ws = await open(), next = inbox(ws);
    ws.send('frag', { fin: false }); ws.send('ment', { fin: false }); ws.send('ed', { fin: true });
    const m = await next();
    assert(!m.isBinary && m.data.toString() === 'fragmented', `got ${m.data}`);
    ws.close(); await closed(ws);
  }],
  ['fragmented binary', async () => {
    const ws = await open(), next = inbox(ws), parts = [crypto.randomBytes(70000), crypto.randomBytes(3), Buffer.alloc(0)];
    parts.forEach((p, i) => ws.send(p, { binary: true, fin: i === parts.length - 1 }));
    const m = await next();
    assert(m.isBinary && m.data.equals(Buffer.concat(parts)), 'payload differs');
    ws.close(); await closed(ws);
  }],
  ['1000 pipelined messages in order', async () => {
    const ws = await open(), next = inbox(ws);
    for (let i = 0; i < 1000; i++) ws.send(`m${i}`);
    for (let i = 0; i < 1000; i++) { const m = await next(); assert(m.data.toString() === `m${i}`, `#${i}: ${m.data}`); }
    ws.close(); await closed(ws);
  }],
  ['ping -> pong with the same payload', async () => {
    const ws = await open();
    const pong = new Promise((resolve) => ws.once('pong', resolve));
    ws.ping(Buffer.from('abc123'));
    const d = await Promise.race([pong, sleep(5000).then(() => null)]);
    assert(d && d.toString() === 'abc123', `pong: ${d}`);
    ws.close(); await closed(ws);
  }],
  ['close 4001 "bye" echoed', async () => {
    const ws = await open(), c = closed(ws);
    ws.close(4001, 'bye');
    const { code, reason } = await c;
    assert(code === 4001 && reason === 'bye', `got ${code} "${reason}"`);
  }],
  ['close 1000 echoed', async () => {
    const ws = await open(), c = closed(ws);
    ws.close(1000);
    const { code } = await c;
    assert(code === 1000, `got ${code}`);
  }],
  ['close without code -> 1005', async () => {
    const ws = await open(), c = closed(ws);
    ws.close();
    const { code } = await c;
    assert(code === 1005, `got ${code}`);
  }],
  ['subprotocol: offer chat,echo -> echo (server preference)', async () => {
    const ws = await open('/', ['chat', 'echo']);
    assert(ws.protocol === 'echo', `got "${ws.protocol}"`);
    ws.close(); await closed(ws);
  }],
  ['subprotocol: offer chat -> chat', async () => {
    const ws = await open('/', ['chat']);
    assert(ws.protocol === 'chat', `got "${ws.protocol}"`);
    ws.close(); await closed(ws);
  }],
  ['subprotocol: none offered -> none', async () => {
    const ws = await open('/any/path?x=1');
    assert(ws.protocol === '', `got "${ws.protocol}"`);
    ws.close(); await closed(ws);
  }],
  ['50 concurrent connections', async () => {
    const all = await Promise.all(Array.from({ length: 50 }, () => open()));
    const nexts = all.map(inbox);
    all.forEach((ws, i) => ws.send(`conn ${i}`));
    const got = await Promise.all(nexts.map((n) => n()));
    got.forEach((m, i) => assert(m.data.toString() === `conn ${i}`, `#${i}: ${m.data}`));
    await Promise.all(all.map((ws) => { const c = closed(ws); ws.close(); return c; }));
  }],
  ['backpressure: server stops reading a client that does not read', async () => {
    if (!serverPid) throw new Error('no server pid given');
    const ws = await open(), next = inbox(ws), msgs = [];
    const before = rssKiB(serverPid);
    ws._socket.pause(); // stop reading: the server's output must pile up in the kernel, not in it
    for (let i = 0; i < 48; i++) { msgs.push(crypto.randomBytes(1 << 20)); ws.send(msgs[i]); }
    await sleep(1500);
    const grown = rssKiB(serverPid) - before;
    ws._socket.resume();
    for (let i = 0; i < msgs.length; i++) { const m = await next(); assert(m.data.equals(msgs[i]), `message ${i} differs`); }
    assert(grown < 16 * 1024, `server grew by ${grown} KiB while the client sent 48 MiB unread`);
    ws.close(); await closed(ws);
  }],
];

// --- permessage-deflate (RFC 7692) against echo-server --deflate[-low-memory] ---

// What each offer asks of the server, in `ws` options (threshold 0: compress
// even empty messages). `server window 8`: zlib cannot compress with 256
// bytes, so our server agrees and sends uncompressed, which RFC 7692 allows.
const OFFERS = [
  ['default offer', {}],
  ['no context takeover', { serverNoContextTakeover: true, clientNoContextTakeover: true }],
  ['windows 10/9', { serverMaxWindowBits: 10, clientMaxWindowBits: 9 }],
  ['server window 8', { serverMaxWindowBits: 8 }],
];

// The parameters our server must agree to: what the offer asks, plus what
// --deflate-low-memory imposes (no context takeover, 9-bit windows).
function expectedParams(o) {
  const low = deflateMode === 'low-memory', cap = low ? 9 : 15;
  return {
    server_no_context_takeover: !!o.serverNoContextTakeover || low,
    client_no_context_takeover: !!o.clientNoContextTakeover || low,
    server_max_window_bits: Math.min(o.serverMaxWindowBits ?? 15, cap),
    client_max_window_bits: Math.min(o.clientMaxWindowBits ?? 15, cap),
  };
}

function parseAgreed(h) {
  const [name, ...params] = h.split(';').map((x) => x.trim());
  if (name !== 'permessage-deflate') return null;
  const p = { server_no_context_takeover: false, client_no_context_takeover: false,
              server_max_window_bits: 15, client_max_window_bits: 15 };
  for (const kv of params) {
    const [k, v] = kv.split('=');
    p[k] = v === undefined ? true : Number(v);
  }
  return p;
}

// JSON-like records: compressible text; ASCII, so any prefix is valid UTF-8.
function jsonText(n, seed = 1) {
  let s = '', i = seed;
  while (s.length < n) {
    s += JSON.stringify({ id: i, user: `user${i % 97}`, active: i % 3 === 0, score: (i * 7919) % 1000 / 10,
                          tags: ['alpha', 'beta', 'gamma'].slice(i % 3) }) + ',';
    i++;
  }
  return s.slice(0, n);
}

// Echoes every payload on one connection, all sent before the first reply
// (so with context takeover each message refers back into the ones before).
async function echoAll(ws, items) {
  const next = inbox(ws);
  for (const [payload, binary] of items) ws.send(payload, { binary });
  for (const [payload, binary] of items) {
    const m = await next(), want = Buffer.from(payload);
    assert(m.isBinary === binary, `${want.length} B: type ${m.isBinary ? 'binary' : 'text'}`);
    assert(m.data.equals(want), `${want.length} B ${binary ? 'binary' : 'text'}: payload differs (got ${m.data.length} B)`);
  }
}

const wire = (ws) => ({ r: ws._socket.bytesRead, w: ws._socket.bytesWritten });

function deflateCases() {
  const all = [], low = deflateMode === 'low-memory';
  // First, while the server's heap has no free memory to hide growth in.
  all.push([`100 open connections echo a 1000-byte message each: the server's memory grows ${low ? 'under 8 KiB each (no zlib state between messages)' : 'over 64 KiB each (zlib state kept for context takeover)'}`, async () => {
    if (!serverPid) throw new Error('no server pid given');
    const conns = await Promise.all(Array.from({ length: 100 }, () => open('/', [], { perMessageDeflate: { threshold: 0 } })));
    const before = rssKiB(serverPid); // after the connections' own buffers
    await Promise.all(conns.map(async (ws, i) => {
      const next = inbox(ws), msg = jsonText(1000, i);
      ws.send(msg);
      assert((await next()).data.toString() === msg, `#${i}: echo differs`);
    }));
    const each = (rssKiB(serverPid) - before) / 100;
    await Promise.all(conns.map((ws) => { const c = closed(ws); ws.close(); return c; }));
    assert(low ? each < 8 : each > 64, `${each.toFixed(1)} KiB per connection`);
  }]);
  for (const [label, offer] of OFFERS) {
    const want = expectedParams(offer);
    const plainDown = want.server_max_window_bits < 9; // our server cannot compress with 8 bits
    // Repeats of a message can refer back to the one before only with context
    // takeover and a window wider than the message (2000 bytes: 11 bits).
    const reuse = !plainDown && !want.server_no_context_takeover && want.server_max_window_bits >= 11;
    const opts = { perMessageDeflate: { ...offer, threshold: 0 } };
    const name = (n) => `${label}: ${n}`;
    all.push(
      [name(`agreed ${JSON.stringify(want).replace(/"|_max_window|_context/g, '')}`), async () => {
        const ws = await open('/', [], opts);
        const got = parseAgreed(ws.agreed);
        assert(got && ws.extensions === 'permessage-deflate', `agreed "${ws.agreed}"`);
        for (const k of Object.keys(want)) assert(got[k] === want[k], `${k}: got ${got[k]} in "${ws.agreed}"`);
        ws.close(); await closed(ws);
      }],
      [name('text, binary and compressible binary, 0 B to 300 KB, one connection'), async () => {
        const ws = await open('/', [], opts), items = [];
        for (const n of [0, 1, 63, 64, 125, 126, 1000, 4096, 65535, 65536, 65537, 300000]) {
          items.push([jsonText(n, n), false], [crypto.randomBytes(n), true], [Buffer.from(jsonText(n, n + 1)), true]);
        }
        items.push(['héllo wörld ✓ 🎉'.repeat(1000), false]);
        await echoAll(ws, items);
        ws.close(); await closed(ws);
      }],
      [name('fragmented text and binary, compressed per message'), async () => {
        const ws = await open('/', [], opts), next = inbox(ws);
        const parts = [jsonText(70000, 5), 'x', jsonText(1000, 6), ''];
        parts.forEach((p, i) => ws.send(p, { fin: i === parts.length - 1 }));
        const bins = [crypto.randomBytes(70000), Buffer.from(jsonText(3000, 7)), Buffer.alloc(0)];
        bins.forEach((p, i) => ws.send(p, { binary: true, fin: i === bins.length - 1 }));
        let m = await next();
        assert(!m.isBinary && m.data.toString() === parts.join(''), `text: got ${m.data.length} B`);
        m = await next();
        assert(m.isBinary && m.data.equals(Buffer.concat(bins)), `binary: got ${m.data.length} B`);
        ws.close(); await closed(ws);
      }],
      [name('1000 pipelined messages in order'), async () => {
        const ws = await open('/', [], opts), next = inbox(ws);
        for (let i = 0; i < 1000; i++) ws.send(`{"seq":${i},"body":"${jsonText(i % 300, i)}"}`);
        for (let i = 0; i < 1000; i++) {
          const m = await next();
          assert(m.data.toString() === `{"seq":${i},"body":"${jsonText(i % 300, i)}"}`, `#${i} differs`);
        }
        ws.close(); await closed(ws);
      }],
      [name(`1 MB of JSON: fewer bytes on the wire up${plainDown ? ', all of them down (8-bit window: sent plain)' : ' and down'}`), async () => {
        const ws = await open('/', [], opts), next = inbox(ws), msg = jsonText(1 << 20, 11);
        const w0 = wire(ws);
        ws.send(msg);
        const m = await next(), w1 = wire(ws), up = w1.w - w0.w, down = w1.r - w0.r;
        assert(m.data.toString() === msg, 'payload differs');
        assert(up < msg.length / 4, `${up} B written for ${msg.length} B`);
        if (plainDown) assert(down > msg.length, `${down} B read for ${msg.length} B sent plain`);
        else assert(down < msg.length / 4, `${down} B read for ${msg.length} B`);
        ws.close(); await closed(ws);
      }],
      [name(`20 repeats of a 2000-byte message: echoes ${reuse ? 'refer back (context takeover)' : plainDown ? 'plain' : 'stand alone (no takeover or small window)'}`), async () => {
        const ws = await open('/', [], opts), next = inbox(ws), msg = crypto.randomBytes(1000).toString('hex');
        ws.send(msg);
        assert((await next()).data.toString() === msg, 'first echo differs');
        const r0 = wire(ws).r;
        for (let i = 0; i < 19; i++) ws.send(msg);
        for (let i = 0; i < 19; i++) assert((await next()).data.toString() === msg, `echo ${i + 2} differs`);
        const avg = (wire(ws).r - r0) / 19;
        if (reuse) assert(avg < 100, `${avg} B per echo: no back-references`);
        else if (plainDown) assert(avg > 2000, `${avg} B per echo`);
        else assert(avg > 500 && avg < 2000, `${avg} B per echo`);
        ws.close(); await closed(ws);
      }],
    );
    if (label === 'default offer' || label === 'no context takeover') {
      all.push([name('16 MiB text (multibyte UTF-8), 16 MiB JSON and 16 MiB random binary'), async () => {
        const ws = await open('/', [], opts);
        await echoAll(ws, [[utf8Text(16 << 20), false], [jsonText(16 << 20, 3), false], [crypto.randomBytes(16 << 20), true]]);
        ws.close(); await closed(ws);
      }]);
    }
  }
  all.push(['no offer (perMessageDeflate: false) -> plain echo, no extension', async () => {
    const ws = await open('/', [], { perMessageDeflate: false });
    assert(ws.agreed === '', `agreed "${ws.agreed}"`);
    const next = inbox(ws), msg = jsonText(100000);
    ws.send(msg);
    assert((await next()).data.toString() === msg, 'payload differs');
    ws.close(); await closed(ws);
  }]);
  return all;
}

// Who may connect (--token, --origin): refused with the right status, and
// let in with the token either way and the right Origin or none.
async function refused(path, opts, status) {
  try { await open(path, [], opts); } catch (e) {
    assert(e.res, `no HTTP response: ${e.message}`);
    assert(e.res.statusCode === status, `status ${e.res.statusCode}`);
    if (status === 401) assert(e.res.headers['www-authenticate'] === 'Bearer', `header ${e.res.headers['www-authenticate']}`);
    return;
  }
  throw new Error('handshake succeeded');
}
async function admitted(path, opts) {
  const ws = await open(path, [], opts), next = inbox(ws);
  ws.send('let in');
  assert((await next()).data.toString() === 'let in', 'no echo');
  ws.close(); await closed(ws);
}
const guardCases = () => [
  ['--token: no token -> 401 with WWW-Authenticate: Bearer', () => refused('/', {}, 401)],
  ['--token: a wrong ?token= -> 401', () => refused('/?token=wrong', {}, 401)],
  ['--token: a wrong Bearer -> 401', () => refused('/', { headers: { Authorization: 'Bearer wrong' } }, 401)],
  ['--token: ?token= among other parameters -> open, echo', () => admitted(`/x?a=1&token=${guardToken}&b=2`, {})],
  ['--token: Authorization: Bearer -> open, echo', () => admitted('/', { headers: { Authorization: `Bearer ${guardToken}` } })],
  ['--origin: another Origin (with the token) -> 403', () => refused(`/?token=${guardToken}`, { origin: 'http://evil.example' }, 403)],
  ['--origin: the allowed Origin -> open, echo', () => admitted(`/?token=${guardToken}`, { origin: guardOrigin })],
];

const cases = deflateMode ? deflateCases() : guardToken ? guardCases() : plainCases;
for (const [name, fn] of cases) {
  try {
    await fn();
    console.log(`ok ${name}`);
  } catch (e) {
    console.log(`FAIL ${name}: ${e.message}`);
  }
}
console.log('done');
process.exit(0);
