// Writing responses: every one carries the API version header distribution sends, errors use the
// {"errors":[…]} body, and bodies of known length are sent with their Content-Length.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { errorsBody, RegistryError, RegistryErrors } from './errors.js';

export type Headers = Record<string, string | number>;

export const API_VERSION_HEADER = { 'Docker-Distribution-API-Version': 'registry/2.0' } as const;

export function sendEmpty(res: ServerResponse, status: number, headers: Headers = {}): void {
  res.writeHead(status, { ...API_VERSION_HEADER, 'Content-Length': 0, ...headers });
  res.end();
}

export function sendJSON(res: ServerResponse, status: number, body: unknown, headers: Headers = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...API_VERSION_HEADER,
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/** Sends an error the way distribution does; anything that is not a RegistryError is an UNKNOWN 500. */
export function sendError(res: ServerResponse, err: unknown, headers: Headers = {}): void {
  const errors = err instanceof RegistryErrors ? err.errors : [err instanceof RegistryError ? err : new RegistryError('UNKNOWN', undefined, (err as Error)?.message)];
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const text = errorsBody(errors);
  res.writeHead(errors[0].status, {
    ...API_VERSION_HEADER,
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/** The request's Content-Length, or undefined when it has none (chunked). */
export function contentLength(req: IncomingMessage): number | undefined {
  const v = req.headers['content-length'];
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new RegistryError('SIZE_INVALID', { 'Content-Length': v }, 'invalid Content-Length');
  return Number(v);
}

/** Reads a whole (small) body, refusing one larger than `max` bytes with `tooLarge`. */
export async function readBody(req: IncomingMessage, max: number, tooLarge: () => Error): Promise<Buffer> {
  const declared = contentLength(req);
  if (declared !== undefined && declared > max) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > max) throw tooLarge();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
