// The distribution API's error codes, as distribution/distribution registers them: each code has
// its HTTP status and message; a response carries {"errors":[{code,message,detail}]}.

const CODES = {
  UNKNOWN: [500, 'unknown error'],
  UNSUPPORTED: [405, 'The operation is unsupported.'],
  UNAUTHORIZED: [401, 'authentication required'],
  DENIED: [403, 'requested access to the resource is denied'],
  UNAVAILABLE: [503, 'service unavailable'],
  DIGEST_INVALID: [400, 'provided digest did not match uploaded content'],
  SIZE_INVALID: [400, 'provided length did not match content length'],
  RANGE_INVALID: [416, 'invalid content range'],
  NAME_INVALID: [400, 'invalid repository name'],
  TAG_INVALID: [400, 'manifest tag did not match URI'],
  NAME_UNKNOWN: [404, 'repository name not known to registry'],
  MANIFEST_UNKNOWN: [404, 'manifest unknown'],
  MANIFEST_INVALID: [400, 'manifest invalid'],
  MANIFEST_BLOB_UNKNOWN: [400, 'blob unknown to registry'],
  BLOB_UNKNOWN: [404, 'blob unknown to registry'],
  BLOB_UPLOAD_UNKNOWN: [404, 'blob upload unknown to registry'],
  BLOB_UPLOAD_INVALID: [404, 'blob upload invalid'],
  PAGINATION_NUMBER_INVALID: [400, 'invalid number of results requested'],
} as const satisfies Record<string, readonly [number, string]>;

export type ErrorCode = keyof typeof CODES;

export interface ErrorBody {
  code: ErrorCode;
  message: string;
  detail?: unknown;
}

/** An error the API reports with its distribution code; `detail` says what exactly was wrong. */
export class RegistryError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    readonly detail?: unknown,
    message?: string,
    status?: number,
  ) {
    super(message ?? CODES[code][1]);
    this.status = status ?? CODES[code][0];
  }

  toJSON(): ErrorBody {
    const body: ErrorBody = { code: this.code, message: this.message };
    if (this.detail !== undefined) body.detail = this.detail;
    return body;
  }
}

/** The response body for one or more errors; the status is the first one's. */
export function errorsBody(errors: RegistryError[]): string {
  return JSON.stringify({ errors: errors.map((e) => e.toJSON()) });
}

/** Several errors found at once (every missing blob of a manifest), reported together. */
export class RegistryErrors extends Error {
  constructor(readonly errors: RegistryError[]) {
    super(errors.map((e) => e.message).join('; '));
  }
}
