// The userland proxy, docker-proxy's job done inside berthd: it holds the published host port
// (so nothing else can take it, and a taken port is refused up front) and relays connections that
// NAT cannot handle — above all those to 127.0.0.1, which the kernel never DNATs out of loopback.
import net from 'node:net';
import dgram from 'node:dgram';
import type { Proto } from './portspec.js';

export interface ProxyTarget {
  proto: Proto;
  hostIp: string; // '0.0.0.0' for all
  hostPort: number;
  containerIp: string;
  containerPort: number;
}

export interface Proxy {
  readonly target: ProxyTarget;
  close(): Promise<void>;
}

const UDP_IDLE_MS = 90_000;

/** Binds the host side and starts relaying; rejects with the bind error (EADDRINUSE…). */
export async function startProxy(t: ProxyTarget): Promise<Proxy> {
  if (t.proto === 'tcp') return startTCP(t);
  if (t.proto === 'udp') return startUDP(t);
  throw new Error(`protocol ${t.proto} not supported`);
}

async function startTCP(t: ProxyTarget): Promise<Proxy> {
  const conns = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (client) => {
    const upstream = net.connect({ host: t.containerIp, port: t.containerPort, allowHalfOpen: true });
    conns.add(client);
    conns.add(upstream);
    const done = (): void => {
      client.destroy();
      upstream.destroy();
      conns.delete(client);
      conns.delete(upstream);
    };
    client.on('error', done);
    upstream.on('error', done);
    client.on('close', () => { if (upstream.writableEnded || upstream.destroyed) done(); });
    upstream.on('close', () => { if (client.writableEnded || client.destroyed) done(); });
    client.pipe(upstream);
    upstream.pipe(client);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: t.hostIp, port: t.hostPort, exclusive: true }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', () => undefined);
  return {
    target: t,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of conns) c.destroy();
        conns.clear();
        server.close(() => resolve());
      }),
  };
}

async function startUDP(t: ProxyTarget): Promise<Proxy> {
  const sock = dgram.createSocket({ type: 'udp4', reuseAddr: false });
  const flows = new Map<string, { up: dgram.Socket; timer: NodeJS.Timeout; pending?: Buffer[] }>();
  const drop = (key: string): void => {
    const f = flows.get(key);
    if (!f) return;
    clearTimeout(f.timer);
    f.up.close();
    flows.delete(key);
  };
  sock.on('message', (msg, rinfo) => {
    const key = `${rinfo.address}:${rinfo.port}`;
    let f = flows.get(key);
    if (!f) {
      const up = dgram.createSocket('udp4');
      up.on('message', (reply) => {
        sock.send(reply, rinfo.port, rinfo.address);
        const g = flows.get(key);
        if (g) g.timer.refresh();
      });
      up.on('error', () => drop(key));
      up.connect(t.containerPort, t.containerIp);
      const flow: { up: dgram.Socket; timer: NodeJS.Timeout; pending?: Buffer[] } = {
        up, timer: setTimeout(() => drop(key), UDP_IDLE_MS), pending: [msg],
      };
      flow.timer.unref();
      flows.set(key, flow);
      up.once('connect', () => {
        const queued = flow.pending ?? [];
        flow.pending = undefined;
        for (const m of queued) up.send(m);
      });
      return;
    }
    f.timer.refresh();
    if (f.pending) {
      f.pending.push(msg);
      return;
    }
    try {
      f.up.send(msg);
    } catch {
      drop(key);
    }
  });
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind({ address: t.hostIp, port: t.hostPort, exclusive: true }, () => {
      sock.off('error', reject);
      resolve();
    });
  });
  sock.on('error', () => undefined);
  return {
    target: t,
    close: () =>
      new Promise<void>((resolve) => {
        for (const k of [...flows.keys()]) drop(k);
        sock.close(() => resolve());
      }),
  };
}
