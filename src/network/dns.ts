// The embedded DNS server (dockerd's libnetwork resolver): answers A/AAAA/PTR for the containers
// of a sandbox's user-defined networks, and forwards every other query to upstream resolvers from
// berthd's own (host) namespace. One wire-format codec, written for the few records needed.
import dgram from 'node:dgram';
import net from 'node:net';

export const TYPE_A = 1;
export const TYPE_PTR = 12;
export const TYPE_AAAA = 28;
const CLASS_IN = 1;
const TTL = 600;

export const RCODE_NOERROR = 0;
export const RCODE_SERVFAIL = 2;
export const RCODE_NXDOMAIN = 3;
export const RCODE_REFUSED = 5;

export interface Question {
  id: number;
  flags: number;
  name: string;
  qtype: number;
  qclass: number;
  /** Offset of the end of the (first) question section. */
  end: number;
}

/** Parses a query's header and first question; undefined when malformed or not a query. */
export function parseQuery(buf: Buffer): Question | undefined {
  if (buf.length < 12) return undefined;
  const id = buf.readUInt16BE(0);
  const flags = buf.readUInt16BE(2);
  if (flags & 0x8000) return undefined; // a response
  if (buf.readUInt16BE(4) < 1) return undefined;
  const labels: string[] = [];
  let off = 12;
  for (;;) {
    if (off >= buf.length) return undefined;
    const len = buf[off];
    if (len === 0) {
      off++;
      break;
    }
    if (len & 0xc0) return undefined; // no compression in a question we parse
    if (off + 1 + len > buf.length) return undefined;
    labels.push(buf.toString('latin1', off + 1, off + 1 + len));
    off += 1 + len;
  }
  if (off + 4 > buf.length) return undefined;
  return { id, flags, name: labels.join('.'), qtype: buf.readUInt16BE(off), qclass: buf.readUInt16BE(off + 2), end: off + 4 };
}

export function encodeName(name: string): Buffer {
  const parts = name.replace(/\.$/, '').split('.').filter((p) => p.length > 0);
  const bufs = parts.map((p) => Buffer.concat([Buffer.from([Math.min(p.length, 63)]), Buffer.from(p.slice(0, 63), 'latin1')]));
  return Buffer.concat([...bufs, Buffer.from([0])]);
}

export interface Answer {
  type: number;
  data: Buffer;
}

export function aRecord(ip: string): Answer {
  return { type: TYPE_A, data: Buffer.from(ip.split('.').map(Number)) };
}

export function aaaaRecord(ip6: bigint): Answer {
  const data = Buffer.alloc(16);
  for (let i = 0; i < 16; i++) data[i] = Number((ip6 >> BigInt((15 - i) * 8)) & 0xffn);
  return { type: TYPE_AAAA, data };
}

export function ptrRecord(name: string): Answer {
  return { type: TYPE_PTR, data: encodeName(name) };
}

/** A response to `query` (question echoed) with `answers` for its name. */
export function buildResponse(query: Buffer, q: Question, rcode: number, answers: Answer[]): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(q.id, 0);
  // QR, the query's opcode and RD, RA; authoritative for names we own.
  const flags = 0x8000 | (q.flags & 0x7900) | 0x0080 | (answers.length ? 0x0400 : 0) | (rcode & 0xf);
  header.writeUInt16BE(flags, 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(answers.length, 6);
  const question = query.subarray(12, q.end);
  const rrs = answers.map((a) => {
    const rr = Buffer.alloc(12);
    rr.writeUInt16BE(0xc00c, 0); // pointer to the question's name
    rr.writeUInt16BE(a.type, 2);
    rr.writeUInt16BE(CLASS_IN, 4);
    rr.writeUInt32BE(TTL, 6);
    rr.writeUInt16BE(a.data.length, 10);
    return Buffer.concat([rr, a.data]);
  });
  return Buffer.concat([header, question, ...rrs]);
}

/** What the controller decides for one question. */
export type Resolution =
  | { kind: 'answer'; answers: Answer[] }
  | { kind: 'nxdomain' }
  | { kind: 'forward'; upstreams: string[] }
  | { kind: 'refused' };

export type Resolve = (q: Question) => Resolution;

/** `"10.0.0.53"` or `"127.0.0.1:5353"` → host and port. */
export function parseUpstream(s: string): { host: string; port: number } {
  const m = /^(.*):(\d+)$/.exec(s);
  if (m && !m[1].includes(':')) return { host: m[1], port: Number(m[2]) };
  const bracket = /^\[(.*)\]:(\d+)$/.exec(s);
  if (bracket) return { host: bracket[1], port: Number(bracket[2]) };
  return { host: s, port: 53 };
}

const FORWARD_TIMEOUT_MS = 3000;

async function forwardUDP(msg: Buffer, upstream: string): Promise<Buffer> {
  const { host, port } = parseUpstream(upstream);
  const sock = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
  try {
    return await new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('timeout')), FORWARD_TIMEOUT_MS);
      sock.on('error', (e) => { clearTimeout(timer); reject(e); });
      sock.on('message', (reply) => {
        if (reply.length >= 2 && reply.readUInt16BE(0) === msg.readUInt16BE(0)) {
          clearTimeout(timer);
          resolve(reply);
        }
      });
      sock.send(msg, port, host);
    });
  } finally {
    sock.close();
  }
}

async function forwardTCP(msg: Buffer, upstream: string): Promise<Buffer> {
  const { host, port } = parseUpstream(upstream);
  return new Promise<Buffer>((resolve, reject) => {
    const s = net.connect({ host, port });
    const timer = setTimeout(() => { s.destroy(); reject(new Error('timeout')); }, FORWARD_TIMEOUT_MS);
    let acc = Buffer.alloc(0);
    s.on('error', (e) => { clearTimeout(timer); reject(e); });
    s.on('data', (d: Buffer) => {
      acc = Buffer.concat([acc, d]);
      if (acc.length >= 2 && acc.length >= 2 + acc.readUInt16BE(0)) {
        clearTimeout(timer);
        s.destroy();
        resolve(acc.subarray(2, 2 + acc.readUInt16BE(0)));
      }
    });
    const len = Buffer.alloc(2);
    len.writeUInt16BE(msg.length);
    s.end(Buffer.concat([len, msg]));
  });
}

/** Answers one message: locally, by forwarding, or with an error code. */
export async function handleMessage(msg: Buffer, resolve: Resolve, tcp: boolean): Promise<Buffer | undefined> {
  const q = parseQuery(msg);
  if (!q) return undefined;
  const res = q.qclass === CLASS_IN ? resolve(q) : { kind: 'refused' as const };
  switch (res.kind) {
    case 'answer':
      return buildResponse(msg, q, RCODE_NOERROR, res.answers);
    case 'nxdomain':
      return buildResponse(msg, q, RCODE_NXDOMAIN, []);
    case 'refused':
      return buildResponse(msg, q, RCODE_REFUSED, []);
    case 'forward':
      for (const up of res.upstreams) {
        try {
          return await (tcp ? forwardTCP(msg, up) : forwardUDP(msg, up));
        } catch {
          // next upstream
        }
      }
      return buildResponse(msg, q, RCODE_SERVFAIL, []);
  }
}

/** Serves DNS on sockets opened inside a container's namespace (handed over by the ns helper). */
export class DnsServer {
  private readonly conns = new Set<net.Socket>();

  constructor(private readonly udp: dgram.Socket, private readonly tcp: net.Server, private readonly resolve: Resolve) {
    udp.on('message', (msg, rinfo) => {
      void handleMessage(msg, this.resolve, false).then((reply) => {
        if (reply) udp.send(reply, rinfo.port, rinfo.address, () => undefined);
      }).catch(() => undefined);
    });
    udp.on('error', () => undefined);
    tcp.on('connection', (s) => this.serveTCP(s));
    tcp.on('error', () => undefined);
  }

  private serveTCP(s: net.Socket): void {
    this.conns.add(s);
    let acc = Buffer.alloc(0);
    s.setTimeout(10_000, () => s.destroy());
    s.on('close', () => this.conns.delete(s));
    s.on('error', () => s.destroy());
    s.on('data', (d: Buffer) => {
      acc = Buffer.concat([acc, d]);
      while (acc.length >= 2 && acc.length >= 2 + acc.readUInt16BE(0)) {
        const msg = acc.subarray(2, 2 + acc.readUInt16BE(0));
        acc = acc.subarray(2 + msg.length);
        void handleMessage(Buffer.from(msg), this.resolve, true).then((reply) => {
          if (!reply || s.destroyed) return;
          const len = Buffer.alloc(2);
          len.writeUInt16BE(reply.length);
          s.write(Buffer.concat([len, reply]));
        }).catch(() => undefined);
      }
    });
  }

  async close(): Promise<void> {
    for (const c of this.conns) c.destroy();
    await new Promise<void>((r) => this.tcp.close(() => r()));
    await new Promise<void>((r) => {
      try {
        this.udp.close(() => r());
      } catch {
        r();
      }
    });
  }
}
