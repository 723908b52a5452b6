// Clients that name "localhost" reach every server, whichever address the
// resolver gives first. Run by localhost.sh inside a private mount namespace
// whose /etc/hosts and /etc/gai.conf put FIRST (::1 or 127.0.0.1) first:
//
//   node test/e2e/interop/localhost.mjs --bin build/examples --certs DIR --first ::1
//
// Node connects to the first address only here (no "happy eyeballs"), as
// Debian's Node 18 does: a server that listens on one family alone fails.
// Every server runs with its default --host; each case checks the address
// the connection really used. Prints "ok CASE" / "FAIL CASE: why" and ends
// with "localhost (FIRST first): N passed, M failed".
import { spawn } from 'node:child_process';
import dns from 'node:dns/promises';
import fs from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import { WebSocket, WebSocketServer } from 'ws';
import { frame, WsReader } from '../h2/wsframe.mjs';

const arg = (name, dflt) => {
  const i = process.argv.indexOf('--' + name);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const bin = arg('bin', 'build/examples'), certs = arg('certs'), first = arg('first');
const ca = fs.readFileSync(path.join(certs, 'ca.pem'));
const tlsFlags = ['--tls-cert', path.join(certs, 'server.pem'), '--tls-key', path.join(certs, 'server.key')];
const counts = { ok: 0, FAIL: 0 };
const children = [];
process.on('exit', () => children.forEach((p) => p.exitCode === null && p.signalCode === null && p.kill('SIGKILL')));

function check(ok, name, why = '') {
  counts[ok ? 'ok' : 'FAIL']++;
  console.log(`${ok ? 'ok' : 'FAIL'} ${name}${ok || !why ? '' : ': ' + why}`);
  return ok;
}

const within = (ms, p, what) => Promise.race([p, new Promise((_, rej) =>
  setTimeout(() => rej(new Error(`${what}: nothing within ${ms / 1000} s`)), ms))]);

// Starts one of our servers on port 0, default --host; resolves with its port.
function start(name, args) {
  const p = spawn(path.join(bin, name), ['--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(p);
  let out = '', err = '';
  p.stderr.on('data', (d) => { err += d; });
  return within(20000, new Promise((resolve, reject) => {
    p.on('exit', (code) => reject(new Error(`${name} exited ${code}: ${err.trim()}`)));
    p.stdout.on('data', (d) => {
      out += d;
      const m = /listening on wss?:\/\/127\.0\.0\.1:(\d+)\//.exec(out);
      if (m) resolve({ p, port: +m[1], out });
    });
  }), `${name} starts`);
}

const stop = (s) => s && s.p.exitCode === null && s.p.kill('SIGTERM');

// A ws client's echo round trip; resolves with the address it connected to.
function wsEcho(url, opts = {}) {
  return within(15000, new Promise((resolve, reject) => {
    const ws = new WebSocket(url, opts);
    ws.on('error', reject);
    ws.on('open', () => ws.send('over localhost'));
    ws.on('message', (d) => {
      const addr = ws._socket.remoteAddress;
      ws.close(1000);
      resolve({ addr, data: String(d) });
    });
  }), url);
}

// An RFC 8441 WebSocket over HTTP/2 to h2-server; the address it used.
function h2Echo(port) {
  return within(15000, new Promise((resolve, reject) => {
    const s = http2.connect(`https://localhost:${port}`, { ca });
    s.on('error', reject);
    s.once('remoteSettings', () => {
      const st = s.request({ ':method': 'CONNECT', ':protocol': 'websocket', ':scheme': 'https', ':path': '/echo',
        ':authority': `localhost:${port}`, 'sec-websocket-version': '13' }, { endStream: false });
      const r = new WsReader(st);
      st.on('error', reject);
      st.once('response', (h) => {
        if (h[':status'] !== 200) return reject(new Error(`status ${h[':status']}`));
        st.write(frame(1, 'over h2'));
        r.next().then((m) => {
          const addr = s.socket.remoteAddress;
          s.destroy();
          resolve({ addr, data: String(m.data) });
        }, reject);
      });
    });
  }), 'h2');
}

// GET over HTTP/1.1 (the chat's page); the status and the address used.
function get(url, opts = {}) {
  const mod = url.startsWith('https:') ? https : http;
  return within(15000, new Promise((resolve, reject) => {
    mod.get(url, opts, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode, addr: res.socket.remoteAddress }));
    }).on('error', reject);
  }), url);
}

// Our ws-client: its stdout, stderr and exit code.
function wsClient(url, line, extra = []) {
  return within(20000, new Promise((resolve) => {
    const p = spawn(path.join(bin, 'ws-client'), [url, ...extra], { stdio: ['pipe', 'pipe', 'pipe'] });
    children.push(p);
    let out = '', err = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { err += d; });
    p.on('close', (rc) => resolve({ rc, out, err }));
    p.stdin.end(line + '\n');
  }), 'ws-client');
}

async function run(name, fn) {
  try {
    await fn();
  } catch (e) {
    check(false, name, e.message);
  }
}

async function main() {
  // Connect to the first address alone, as Debian's Node 18 does (Node 20
  // would try the other family after a refusal and hide the bug).
  if (net.setDefaultAutoSelectFamily) net.setDefaultAutoSelectFamily(false);
  const addrs = await dns.lookup('localhost', { all: true, verbatim: true });
  const got = addrs.map((a) => a.address);
  if (!check(got[0] === first && got.length >= 2, `the resolver gives ${first} first for localhost, then the other`,
    JSON.stringify(got)))
    return; // the setting did not take: every case below would test nothing

  for (const name of ['echo-server', 'echo-server-poll', 'echo-server-uv']) {
    await run(`node ws client -> ws://localhost (${name})`, async () => {
      const s = await start(name, []);
      const r = await wsEcho(`ws://localhost:${s.port}/`);
      check(r.data === 'over localhost' && r.addr === first, `node ws client -> ws://localhost (${name}): echoed over ${first}`,
        JSON.stringify(r));
      stop(s);
    });
  }

  await run('node ws client -> wss://localhost (echo-server --tls-cert)', async () => {
    const s = await start('echo-server', tlsFlags);
    const r = await wsEcho(`wss://localhost:${s.port}/`, { ca });
    check(r.data === 'over localhost' && r.addr === first, `node ws client -> wss://localhost (echo-server): echoed over ${first}`,
      JSON.stringify(r));
    // Our client to the same server, by name and by each address (IP SANs).
    for (const host of ['localhost', '127.0.0.1', '[::1]']) {
      const c = await wsClient(`wss://${host}:${s.port}/`, 'ours', ['--ca', path.join(certs, 'ca.pem')]);
      check(c.rc === 0 && c.out === 'ours\n', `ws-client -> wss://${host} (echo-server): verified, echoed`, JSON.stringify(c));
    }
    stop(s);
  });

  await run('node http2 client -> https://localhost (h2-server)', async () => {
    const s = await start('h2-server', tlsFlags);
    const r = await h2Echo(s.port);
    check(r.data === 'over h2' && r.addr === first, `node http2 client -> WebSocket over h2 at https://localhost (h2-server): echoed over ${first}`,
      JSON.stringify(r));
    const w = await wsEcho(`wss://localhost:${s.port}/echo`, { ca, ALPNProtocols: ['http/1.1'] });
    check(w.data === 'over localhost' && w.addr === first, `node ws client -> wss://localhost/echo over HTTP/1.1 (h2-server): echoed over ${first}`,
      JSON.stringify(w));
    stop(s);
  });

  await run('chat-server at http://localhost', async () => {
    const s = await start('chat-server', ['--token', 'tok', '--page', 'demos/chat/index.html']);
    const page = await get(`http://localhost:${s.port}/`);
    check(page.status === 200 && page.addr === first, `node http client -> the chat page at http://localhost: 200 over ${first}`,
      JSON.stringify(page));
    // As the page's script does: Origin is the page's own (localhost).
    const joined = await within(15000, new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws://localhost:${s.port}/ws?token=tok`, { origin: `http://localhost:${s.port}` });
      ws.on('error', reject);
      ws.on('open', () => ws.send(JSON.stringify({ type: 'join', room: 'lobby', user: 'ann' })));
      ws.on('message', (d) => {
        const m = JSON.parse(d);
        if (m.type !== 'joined') return;
        const addr = ws._socket.remoteAddress;
        ws.close(1000);
        resolve({ addr, m });
      });
    }), 'chat join');
    check(joined.addr === first && joined.m.room === 'lobby', `node ws client -> chat at ws://localhost: joined over ${first}`,
      JSON.stringify(joined));
    stop(s);
  });

  // Our client against a peer on one family only (Node's ws on 127.0.0.1):
  // it must try the next address, and say nothing of the refused one.
  await run('ws-client -> ws://localhost (a peer on 127.0.0.1 only)', async () => {
    const server = http.createServer();
    const wss = new WebSocketServer({ server });
    wss.on('connection', (ws) => ws.on('message', (d) => ws.send(d, { binary: false })));
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    const c = await wsClient(`ws://localhost:${server.address().port}/`, 'fallback');
    check(c.rc === 0 && c.out === 'fallback\n' && !/connect .*refused/i.test(c.err),
      'ws-client -> ws://localhost, peer on 127.0.0.1 only: connected, no error for a refused address', JSON.stringify(c));
    server.close();
    wss.close();
  });
}

try {
  await main();
} finally {
  for (const p of children) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  console.log(`localhost (${first} first): ${counts.ok} passed, ${counts.FAIL} failed`);
  process.exit(counts.FAIL || !counts.ok ? 1 : 0);
}
