// Request parsing and response helpers shared by the routers, with dockerd's conventions.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { invalidParameter } from '../pkg/errors.js';

const MAX_JSON_BODY = 16 * 1024 * 1024;

/** dockerd's httputils.BoolValue: anything but "", "0", "no", "false", "none" is true. */
export function boolValue(query: URLSearchParams, key: string): boolean {
  const v = (query.get(key) ?? '').trim().toLowerCase();
  return !(v === '' || v === '0' || v === 'no' || v === 'false' || v === 'none');
}

/** Like boolValue, but a missing key means `def`. */
export function boolValueOr(query: URLSearchParams, key: string, def: boolean): boolean {
  return query.has(key) ? boolValue(query, key) : def;
}

export function intValue(query: URLSearchParams, key: string, def: number): number {
  const raw = query.get(key);
  if (raw === null || raw === '') return def;
  if (!/^-?\d+$/.test(raw)) {
    throw invalidParameter(`strconv.ParseInt: parsing "${raw}": invalid syntax`);
  }
  return Number(raw);
}

const preloaded = new WeakMap<IncomingMessage, Buffer>();

/** The body of an upgrade request, which the server had to read off the socket itself. */
export function preloadBody(req: IncomingMessage, body: Buffer): void {
  preloaded.set(req, body);
}

export async function readBody(req: IncomingMessage, limit = MAX_JSON_BODY): Promise<Buffer> {
  const early = preloaded.get(req);
  if (early) return early;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw invalidParameter('request body is too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/**
 * Parses a JSON request body. An empty body gives `undefined` (dockerd accepts that for most
 * endpoints); malformed JSON is a 400 with the parser's message, as dockerd answers.
 */
export async function readJSONBody<T>(req: IncomingMessage): Promise<T | undefined> {
  const body = await readBody(req);
  if (body.length === 0 || body.toString('utf8').trim() === '') return undefined;
  try {
    return JSON.parse(body.toString('utf8')) as T;
  } catch (err) {
    throw invalidParameter(`invalid JSON: ${(err as Error).message}`);
  }
}

export function writeJSON(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value) + '\n';
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(body),
  });
  res.end(body);
}

export function writeNoContent(res: ServerResponse, status = 204): void {
  res.writeHead(status);
  res.end();
}

/** Asserts a JSON value is a plain object, for bodies dockerd decodes into structs. */
export function expectObject(value: unknown, what: string): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw invalidParameter(`json: cannot unmarshal ${jsonTypeName(value)} into Go value of type ${what}`);
  }
  return value as Record<string, unknown>;
}

export function jsonTypeName(value: unknown): string {
  if (Array.isArray(value)) return 'array';
  if (value === null) return 'null';
  return typeof value === 'object' ? 'object' : typeof value;
}
