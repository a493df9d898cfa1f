// Port specifications: the `-p [ip:][hostPort:]containerPort[/proto]` syntax (as the docker CLI
// parses it, with the same messages), the daemon's validation of HostConfig.PortBindings, and the
// expansion of ExposedPorts + PortBindings + PublishAllPorts into the mappings to program.
import { isIP } from 'node:net';
import { invalidParameter } from '../pkg/errors.js';
import { parseIPv4 } from './ip.js';
import type { PortBinding, PortMap, PortSet } from '../api/types/network.js';

export type Proto = 'tcp' | 'udp' | 'sctp';

const PROTOS: readonly string[] = ['tcp', 'udp', 'sctp'];

/** `"80/udp"` → ['udp', '80']; no protocol means tcp. */
export function splitProtoPort(raw: string): [string, string] {
  const parts = raw.split('/');
  if (raw.length === 0 || parts.length === 0 || parts[0].length === 0) return ['', ''];
  if (parts.length === 1) return ['tcp', raw];
  if (parts[1].length === 0) return ['tcp', parts[0]];
  return [parts[1], parts[0]];
}

function parsePortNumber(s: string): number | undefined {
  if (!/^\d+$/.test(s)) return undefined;
  const n = Number(s);
  return n <= 65535 ? n : undefined;
}

/** `"8000"` or `"8000-8010"` → [start, end]; throws like go-connections' ParsePortRange. */
export function parsePortRange(s: string): [number, number] {
  if (s === '') throw invalidParameter('empty string specified for ports');
  const dash = s.indexOf('-');
  if (dash < 0) {
    const p = parsePortNumber(s);
    if (p === undefined) throw invalidParameter(`invalid port: ${s}`);
    return [p, p];
  }
  const start = parsePortNumber(s.slice(0, dash));
  const end = parsePortNumber(s.slice(dash + 1));
  if (start === undefined || end === undefined) throw invalidParameter(`invalid port range: ${s}`);
  if (end < start) throw invalidParameter(`invalid range specified for port: ${s}`);
  return [start, end];
}

export interface PortMapping {
  /** `"80/tcp"` */
  port: string;
  binding: PortBinding;
}

function splitParts(raw: string): [string, string, string] {
  const parts = raw.split(':');
  switch (parts.length) {
    case 1: return ['', '', parts[0]];
    case 2: return ['', parts[0], parts[1]];
    case 3: return [parts[0], parts[1], parts[2]];
    default: return [parts.slice(0, -2).join(':'), parts[parts.length - 2], parts[parts.length - 1]];
  }
}

/** One `-p` value → its mappings (one per container port of a range). */
export function parsePortSpec(raw: string): PortMapping[] {
  let [ip, hostPort, containerPort] = splitParts(raw);
  const [proto, cport] = splitProtoPort(containerPort);
  containerPort = cport;
  if (ip.startsWith('[')) {
    if (!ip.endsWith(']')) throw invalidParameter(`invalid IP address ${ip}: missing ']' in address`);
    ip = ip.slice(1, -1);
  }
  if (ip !== '' && isIP(ip) === 0) {
    throw invalidParameter(`invalid IP address: ${ip}`);
  }
  if (containerPort === '') throw invalidParameter(`no port specified: ${raw}<empty>`);
  let start: number, end: number;
  try {
    [start, end] = parsePortRange(containerPort);
  } catch {
    throw invalidParameter(`invalid containerPort: ${containerPort}`);
  }
  let hStart = 0;
  let hEnd = 0;
  if (hostPort !== '') {
    try {
      [hStart, hEnd] = parsePortRange(hostPort);
    } catch {
      throw invalidParameter(`invalid hostPort: ${hostPort}`);
    }
  }
  if (hostPort !== '' && end - start !== hEnd - hStart && end !== start) {
    throw invalidParameter(`invalid ranges specified for container and host Ports: ${containerPort} and ${hostPort}`);
  }
  if (!PROTOS.includes(proto.toLowerCase())) throw invalidParameter(`invalid proto: ${proto}`);
  const out: PortMapping[] = [];
  for (let i = 0; i <= end - start; i++) {
    let hp = '';
    if (hostPort !== '') {
      // A single container port with a host range: the range is where a free port is looked for.
      hp = end === start && hEnd !== hStart ? `${hStart}-${hEnd}` : String(hStart + i);
    }
    out.push({ port: `${start + i}/${proto.toLowerCase()}`, binding: { HostIp: ip, HostPort: hp } });
  }
  return out;
}

/** Many `-p` values → ExposedPorts and PortBindings, as the CLI sends them. */
export function parsePortSpecs(specs: string[]): { exposed: PortSet; bindings: PortMap } {
  const exposed: PortSet = {};
  const bindings: PortMap = {};
  for (const spec of specs) {
    for (const m of parsePortSpec(spec)) {
      exposed[m.port] = {};
      (bindings[m.port] ??= []).push(m.binding);
    }
  }
  return { exposed, bindings };
}

/** dockerd's create-time check of HostConfig.PortBindings (400 "invalid port specification"). */
export function validatePortBindings(bindings: PortMap | null | undefined): void {
  for (const [key, list] of Object.entries(bindings ?? {})) {
    const [, port] = splitProtoPort(key);
    try {
      parsePortRange(port);
    } catch {
      throw invalidParameter(`invalid port specification: "${port}"`);
    }
    for (const b of list ?? []) {
      const [, hp] = splitProtoPort(b.HostPort ?? '');
      if (hp === '') continue;
      try {
        parsePortRange(hp);
      } catch {
        throw invalidParameter(`invalid port specification: "${b.HostPort}"`);
      }
    }
  }
}

/** One mapping to program: a container port and where on the host it is published. */
export interface PortRequest {
  proto: Proto;
  containerPort: number;
  /** '' = all IPv4 addresses (0.0.0.0). */
  hostIp: string;
  /** 0..0 = an ephemeral port. */
  hostPortStart: number;
  hostPortEnd: number;
}

/**
 * The mappings a container asks for: each PortBindings entry, plus (with PublishAllPorts) every
 * exposed port without a binding, on an ephemeral host port.
 */
export function portRequests(exposed: PortSet | null | undefined, bindings: PortMap | null | undefined, publishAll: boolean): PortRequest[] {
  const out: PortRequest[] = [];
  const keys = new Set<string>();
  const norm = (key: string): { proto: Proto; port: number; key: string } => {
    const [proto, port] = splitProtoPort(key);
    const p = proto.toLowerCase();
    if (!PROTOS.includes(p)) throw invalidParameter(`invalid proto: ${proto}`);
    const [start] = (() => {
      try {
        return parsePortRange(port);
      } catch {
        throw invalidParameter(`invalid port specification: "${port}"`);
      }
    })();
    return { proto: p as Proto, port: start, key: `${start}/${p}` };
  };
  for (const [key, list] of Object.entries(bindings ?? {})) {
    const { proto, port, key: k } = norm(key);
    keys.add(k);
    const bs = list && list.length ? list : [{ HostIp: '', HostPort: '' }];
    for (const b of bs) {
      const ip = b.HostIp ?? '';
      if (ip !== '' && parseIPv4(ip) === undefined) {
        if (ip.includes(':')) continue; // IPv6 host addresses: Berth publishes ports on IPv4 only.
        throw invalidParameter(`invalid IP address: ${ip}`);
      }
      let hs = 0;
      let he = 0;
      const [, hp] = splitProtoPort(b.HostPort ?? '');
      if (hp !== '') {
        try {
          [hs, he] = parsePortRange(hp);
        } catch {
          throw invalidParameter(`invalid port specification: "${b.HostPort}"`);
        }
      }
      out.push({ proto, containerPort: port, hostIp: ip === '0.0.0.0' ? '' : ip, hostPortStart: hs, hostPortEnd: he });
    }
  }
  if (publishAll) {
    for (const key of Object.keys(exposed ?? {})) {
      const { proto, port, key: k } = norm(key);
      if (keys.has(k)) continue;
      keys.add(k);
      out.push({ proto, containerPort: port, hostIp: '', hostPortStart: 0, hostPortEnd: 0 });
    }
  }
  return out;
}
