// Typed errors: the API layer maps each kind to the HTTP status dockerd uses.

export type ErrorKind =
  | 'invalid-parameter'
  | 'not-found'
  | 'conflict'
  | 'unavailable'
  | 'forbidden'
  | 'unauthorized'
  | 'not-modified'
  | 'not-implemented'
  | 'system';

export class BerthError extends Error {
  readonly kind: ErrorKind;
  constructor(kind: ErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.kind = kind;
    this.name = 'BerthError';
  }
}

export const invalidParameter = (msg: string): BerthError => new BerthError('invalid-parameter', msg);
export const notFound = (msg: string): BerthError => new BerthError('not-found', msg);
export const conflict = (msg: string): BerthError => new BerthError('conflict', msg);
export const unavailable = (msg: string): BerthError => new BerthError('unavailable', msg);
export const forbidden = (msg: string): BerthError => new BerthError('forbidden', msg);
export const unauthorized = (msg: string): BerthError => new BerthError('unauthorized', msg);
export const notModified = (msg: string): BerthError => new BerthError('not-modified', msg);
export const systemError = (msg: string, cause?: unknown): BerthError =>
  new BerthError('system', msg, { cause });

const statusByKind: Record<ErrorKind, number> = {
  'invalid-parameter': 400,
  forbidden: 403,
  unauthorized: 401,
  'not-found': 404,
  conflict: 409,
  'not-modified': 304,
  unavailable: 503,
  'not-implemented': 501,
  system: 500,
};

export function httpStatusOf(err: unknown): number {
  return err instanceof BerthError ? statusByKind[err.kind] : 500;
}

export function isKind(err: unknown, kind: ErrorKind): boolean {
  return err instanceof BerthError && err.kind === kind;
}

/** The errno code of a Node system error, if any (ENOENT, EEXIST…). */
export function errnoCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err
    ? String((err as { code: unknown }).code)
    : undefined;
}
