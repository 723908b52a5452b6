// Node `ws` echo server, the peer for our ws-client. Listens on 127.0.0.1 at a
// free port and prints "listening PORT"; logs "closed CODE REASON" for every
// connection that ends, so the driver can check what our client sent.
// Echoes messages unchanged; text messages starting with "__" are commands:
//   __close CODE REASON   close with that code and reason
//   __ping                ping the client, answer "pong PAYLOAD" once it pongs
//   __pings               answer "pings N", the pings received on this connection
//   __frag / __fragbin    send a text / binary message in three fragments
//   __proto               answer "proto NAME", the negotiated subprotocol
//   __hdr NAME            answer "hdr VALUE" of that request header
//   __sni                 answer "sni NAME", the TLS server name the client sent
//                         ("sni none" without one)
//   __ext                 answer "ext PARAMS", the permessage-deflate parameters
//                         agreed ("ext none" without the extension)
//   __bytes               answer "bytes R W", bytes read from and written to the
//                         socket so far, once every earlier echo went out
// Paths: /reject401 refuses the handshake; /nopong never answers pings;
// /dropfirst says "conn N" and drops the first connection without a close;
// /deflate* accept permessage-deflate (the other paths do not); `--tls CERT KEY`
// serves wss:// instead of ws://:
//   /deflate       defaults (context takeover, 15-bit windows)
//   /deflate-nct   server_no_context_takeover and client_no_context_takeover
//   /deflate-bits  server_max_window_bits=10, client_max_window_bits=9
//   /deflate-c8    client_max_window_bits=8 (the client may not compress: zlib cannot)
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { WebSocketServer } from 'ws';

const log = (...a) => process.stdout.write(a.join(' ') + '\n');
const options = {
  noServer: true,
  maxPayload: 64 << 20,
  handleProtocols: (offered) => (offered.has('chat') ? 'chat' : offered.has('echo') ? 'echo' : false),
};
const normal = new WebSocketServer(options);
const noPong = new WebSocketServer({ ...options, autoPong: false });
const deflate = (pmd) => new WebSocketServer({ ...options, perMessageDeflate: { ...pmd, threshold: 0 } });
const deflateServers = {
  '/deflate': deflate({}),
  '/deflate-nct': deflate({ serverNoContextTakeover: true, clientNoContextTakeover: true }),
  '/deflate-bits': deflate({ serverMaxWindowBits: 10, clientMaxWindowBits: 9 }),
  '/deflate-c8': deflate({ clientMaxWindowBits: 8 }),
};
let dropped = 0;

// `--tls CERT KEY`: the same over https (wss://), for our client's TLS.
const tls = process.argv.indexOf('--tls');
const onRequest = (req, res) => res.writeHead(426).end();
const server = tls < 0 ? http.createServer(onRequest)
  : https.createServer({ cert: fs.readFileSync(process.argv[tls + 1]), key: fs.readFileSync(process.argv[tls + 2]) },
    onRequest);
server.on('upgrade', (req, socket, head) => {
  const path = req.url.split('?')[0];
  if (path === '/reject401') {
    socket.end('HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer\r\n' +
               'Content-Length: 13\r\nConnection: close\r\n\r\nunauthorized\n');
    return;
  }
  const wss = deflateServers[path] ?? (path === '/nopong' ? noPong : normal);
  wss.handleUpgrade(req, socket, head, (ws) => serve(ws, req, path));
});

function serve(ws, req, path) {
  let pings = 0, sent = Promise.resolve(); // resolves once every echo so far is written
  const echo = (data, binary) => { sent = new Promise((resolve) => ws.send(data, { binary }, resolve)); };
  ws.on('ping', () => pings++);
  ws.on('close', (code, reason) => log('closed', code, reason.toString()));
  if (path === '/dropfirst') {
    dropped++;
    ws.send(`conn ${dropped}`, () => { if (dropped === 1) ws.terminate(); });
  }
  ws.on('message', (data, isBinary) => {
    const s = isBinary ? '' : data.toString();
    if (!s.startsWith('__')) return echo(data, isBinary);
    const [cmd, ...args] = s.split(' ');
    switch (cmd) {
      case '__close': return ws.close(Number(args[0]), args.slice(1).join(' '));
      case '__ping': ws.once('pong', (d) => ws.send(`pong ${d}`)); return ws.ping('srv');
      case '__pings': return ws.send(`pings ${pings}`);
      case '__frag':
        ws.send('frag', { fin: false });
        ws.send('ment', { fin: false });
        return ws.send('ed', { fin: true });
      case '__fragbin':
        ws.send(Buffer.from([0, 1, 2]), { binary: true, fin: false });
        ws.send(Buffer.from([0xfe]), { binary: true, fin: false });
        return ws.send(Buffer.from([0xff, 0x7f]), { binary: true, fin: true });
      case '__proto': return ws.send(`proto ${ws.protocol}`);
      case '__sni': return ws.send(`sni ${req.socket.servername || 'none'}`);
      case '__hdr': return ws.send(`hdr ${req.headers[args[0].toLowerCase()] ?? ''}`);
      case '__ext': {
        const p = ws._extensions['permessage-deflate']?.params;
        return ws.send(`ext ${p ? Object.entries(p).map(([k, v]) => (v === true ? k : `${k}=${v}`)).sort().join('; ') : 'none'}`);
      }
      case '__bytes':
        return sent.then(() => ws.send(`bytes ${ws._socket.bytesRead} ${ws._socket.bytesWritten}`));
      default: return echo(data, false);
    }
  });
}

server.listen(0, '127.0.0.1', () => log('listening', server.address().port));
process.on('SIGTERM', () => process.exit(0));
