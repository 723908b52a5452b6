// A raw HTTP/2 client for hostile-peer tests: it sends what Node's http2
// client would refuse to (more streams than the server allows), with HPACK
// literals only (RFC 7541 §6.2.2, no Huffman, no indexing).
import tls from 'node:tls';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
export const T = { DATA: 0, HEADERS: 1, RST_STREAM: 3, SETTINGS: 4, PING: 6, GOAWAY: 7, WINDOW_UPDATE: 8 };
export const SETTINGS_INITIAL_WINDOW_SIZE = 4;

export function windowUpdate(id, n) {
  const p = Buffer.alloc(4);
  p.writeUInt32BE(n);
  return h2frame(T.WINDOW_UPDATE, 0, id, p);
}

function int(n, prefix) { // RFC 7541 §5.1, first byte's high bits 0
  const max = (1 << prefix) - 1;
  if (n < max) return [n];
  const out = [max];
  for (n -= max; n >= 128; n >>= 7) out.push((n & 127) | 128);
  out.push(n);
  return out;
}

export function hpack(headers) {
  const parts = [];
  for (const [k, v] of headers) {
    const kb = Buffer.from(k), vb = Buffer.from(v);
    parts.push(Buffer.from([0x00]), Buffer.from(int(kb.length, 7)), kb, Buffer.from(int(vb.length, 7)), vb);
  }
  return Buffer.concat(parts);
}

export function h2frame(type, flags, id, payload = Buffer.alloc(0)) {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(id, 5);
  return Buffer.concat([h, payload]);
}

// Connects with ALPN h2, sends the preface and SETTINGS (settings: [id,
// value] pairs), acks the server's; frames arrive in c.frames, each also
// handed to c.onframe if set.
export function rawConnect(port, ca, settings = []) {
  return new Promise((resolve, reject) => {
    const sock = tls.connect({ host: 'localhost', port, ca, ALPNProtocols: ['h2'], servername: 'localhost' });
    const c = { sock, frames: [], closed: false, buf: Buffer.alloc(0) };
    sock.on('error', (e) => { c.error = e; });
    sock.on('close', () => { c.closed = true; });
    sock.on('data', (d) => {
      c.buf = Buffer.concat([c.buf, d]);
      while (c.buf.length >= 9) {
        const len = c.buf.readUIntBE(0, 3);
        if (c.buf.length < 9 + len) break;
        const f = { type: c.buf[3], flags: c.buf[4], id: c.buf.readUInt32BE(5) & 0x7fffffff, payload: c.buf.subarray(9, 9 + len) };
        c.buf = c.buf.subarray(9 + len);
        c.frames.push(f);
        if (f.type === T.SETTINGS && !(f.flags & 1)) sock.write(h2frame(T.SETTINGS, 1, 0));
        if (c.onframe) c.onframe(f);
      }
    });
    sock.once('secureConnect', () => {
      if (sock.alpnProtocol !== 'h2') return reject(new Error('ALPN ' + sock.alpnProtocol));
      const p = Buffer.alloc(6 * settings.length);
      settings.forEach(([id, v], i) => { p.writeUInt16BE(id, 6 * i); p.writeUInt32BE(v, 6 * i + 2); });
      sock.write(Buffer.concat([PREFACE, h2frame(T.SETTINGS, 0, 0, p)]));
      resolve(c);
    });
    sock.once('error', reject);
  });
}
