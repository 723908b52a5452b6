// A small WebSocket client framer for tests over an HTTP/2 stream (RFC 8441):
// masked client frames out (RFC 6455 §5.3), server frames in, messages
// assembled, permessage-deflate (RFC 7692) both ways with Node's zlib.
import crypto from 'node:crypto';
import zlib from 'node:zlib';

const TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]); // RFC 7692 §7.2.1

export function frame(opcode, payload, { fin = true, rsv1 = false } = {}) {
  payload = Buffer.from(payload);
  const n = payload.length;
  const len = n < 126 ? 1 : n < 65536 ? 3 : 9;
  const h = Buffer.alloc(1 + len + 4);
  h[0] = (fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode;
  if (n < 126) h[1] = 0x80 | n;
  else if (n < 65536) { h[1] = 0x80 | 126; h.writeUInt16BE(n, 2); }
  else { h[1] = 0x80 | 127; h.writeBigUInt64BE(BigInt(n), 2); }
  const key = crypto.randomBytes(4);
  key.copy(h, 1 + len);
  const body = Buffer.alloc(n);
  for (let i = 0; i < n; i++) body[i] = payload[i] ^ key[i & 3];
  return Buffer.concat([h, body]);
}

// Compressed payload of one message, RFC 7692 §7.2.1: a raw deflate stream
// flushed with Z_SYNC_FLUSH, without its 4-byte tail. Each message is
// compressed alone (allowed with or without client context takeover).
export function deflateMessage(data) {
  const out = zlib.deflateRawSync(Buffer.from(data), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
  return out.subarray(0, out.length - 4);
}

// The server's messages on one stream: next() resolves to
// { opcode, data, compressed } in order (control frames too).
export class WsReader {
  constructor(stream) {
    this.buf = Buffer.alloc(0);
    this.queue = [];
    this.waiters = [];
    this.parts = [];
    this.inflater = null; // one raw inflate stream: the server may keep its context
    this.chain = Promise.resolve();
    this.error = null;
    stream.on('data', (d) => this.feed(d));
  }

  feed(d) {
    this.buf = Buffer.concat([this.buf, d]);
    for (;;) {
      const b = this.buf;
      if (b.length < 2) return;
      let n = b[1] & 0x7f, off = 2;
      if (b[1] & 0x80) return this.fail('masked server frame');
      if (n === 126) { if (b.length < 4) return; n = b.readUInt16BE(2); off = 4; }
      else if (n === 127) { if (b.length < 10) return; n = Number(b.readBigUInt64BE(2)); off = 10; }
      if (b.length < off + n) return;
      const f = { fin: !!(b[0] & 0x80), rsv1: !!(b[0] & 0x40), opcode: b[0] & 0x0f, payload: b.subarray(off, off + n) };
      this.buf = b.subarray(off + n);
      this.onFrame(f);
    }
  }

  onFrame(f) {
    if (f.opcode >= 8) return this.push({ opcode: f.opcode, data: Buffer.from(f.payload), compressed: false });
    if (f.opcode !== 0) this.first = f;
    this.parts.push(Buffer.from(f.payload));
    if (!f.fin) return;
    const { opcode, rsv1 } = this.first, data = Buffer.concat(this.parts);
    this.parts = [];
    if (!rsv1) return this.push({ opcode, data, compressed: false });
    this.chain = this.chain.then(() => this.inflate(data)).then((out) => this.push({ opcode, data: out, compressed: true }),
      (e) => this.fail(String(e)));
  }

  inflate(data) {
    if (!this.inflater) {
      this.inflater = zlib.createInflateRaw();
      this.out = [];
      this.inflater.on('data', (c) => this.out.push(c));
    }
    return new Promise((resolve, reject) => {
      this.inflater.once('error', reject);
      this.inflater.write(Buffer.concat([data, TAIL]));
      this.inflater.flush(zlib.constants.Z_SYNC_FLUSH, () => {
        this.inflater.removeListener('error', reject);
        const out = Buffer.concat(this.out);
        this.out = [];
        resolve(out);
      });
    });
  }

  push(m) {
    // Ordered behind any inflation in progress.
    this.chain = this.chain.then(() => {
      if (this.waiters.length) this.waiters.shift().resolve(m); else this.queue.push(m);
    });
  }

  fail(why) {
    this.error = why;
    while (this.waiters.length) this.waiters.shift().reject(new Error(why));
  }

  next(ms = 15000) {
    if (this.queue.length) return Promise.resolve(this.queue.shift());
    if (this.error) return Promise.reject(new Error(this.error));
    return new Promise((resolve, reject) => {
      const w = { resolve: (m) => { clearTimeout(t); resolve(m); }, reject: (e) => { clearTimeout(t); reject(e); } };
      const t = setTimeout(() => { this.waiters.splice(this.waiters.indexOf(w), 1); reject(new Error('no message within ' + ms + ' ms')); }, ms);
      this.waiters.push(w);
    });
  }
}
