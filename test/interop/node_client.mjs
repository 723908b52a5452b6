// Node `ws` clients against our echo server: node_client.mjs ws://HOST:PORT [SERVER_PID]
// Prints "ok NAME" or "FAIL NAME: why" per case, then "done". Every case
// checks a real outcome: bytes echoed, message type, close code and reason,
// negotiated subprotocol, HTTP status.
import crypto from 'node:crypto';
import fs from 'node:fs';
import WebSocket from 'ws';

const [base, serverPid] = process.argv.slice(2);
const TIMEOUT = 20000;

function open(path = '/', protocols = [], opts = {}) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(base + path, protocols, { maxPayload: 64 << 20, ...opts });
    const t = setTimeout(() => { ws.terminate(); reject(new Error('open timed out')); }, TIMEOUT);
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

const cases = [
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
  ['reject 401 -> unexpected-response 401 with WWW-Authenticate', async () => {
    try { await open('/reject401'); } catch (e) {
      assert(e.res, `no HTTP response: ${e.message}`);
      assert(e.res.statusCode === 401, `status ${e.res.statusCode}`);
      assert(e.res.headers['www-authenticate'] === 'Bearer', `header ${e.res.headers['www-authenticate']}`);
      return;
    }
    throw new Error('handshake succeeded');
  }],
  ['reject 403 -> unexpected-response 403', async () => {
    try { await open('/reject403'); } catch (e) {
      assert(e.res && e.res.statusCode === 403, e.res ? `status ${e.res.statusCode}` : e.message);
      return;
    }
    throw new Error('handshake succeeded');
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
