// Node `ws` echo server for the end-to-end benchmark (bench/e2e.py): every
// message goes back unchanged (binary in, the same binary out), no
// permessage-deflate, no subprotocols. Listens on 127.0.0.1 (a free port
// unless --port is given) and prints "listening PORT" once it does. Exits on
// SIGTERM/SIGINT. `--tls CERT KEY`: https (wss://) instead.
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { createRequire } from 'node:module';

// Node's ws comes from the end-to-end tests' lock file (npm ci in test/e2e/).
const { WebSocketServer } = createRequire(new URL('../test/e2e/', import.meta.url))('ws');

const i = process.argv.indexOf('--port');
const port = i > 0 ? Number(process.argv[i + 1]) : 0;
const t = process.argv.indexOf('--tls');
const onRequest = (req, res) => res.writeHead(426).end();
const server = t < 0 ? http.createServer(onRequest)
  : https.createServer({ cert: fs.readFileSync(process.argv[t + 1]), key: fs.readFileSync(process.argv[t + 2]) },
    onRequest);
const wss = new WebSocketServer({ server, perMessageDeflate: false, maxPayload: 64 << 20 });
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('error', () => {});
});
server.listen(port, '127.0.0.1', () => process.stdout.write(`listening ${server.address().port}\n`));
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
