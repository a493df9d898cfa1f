// One repository on one registry endpoint: manifests and blobs over the Registry HTTP API v2
// (distribution's registry/client), through a Session that handles auth and retries.
import type { Readable } from 'node:stream';
import { RegistryError, readAll, unexpected, type Session, type Body } from './transport.js';

export interface FetchedManifest {
  body: Buffer;
  contentType: string | undefined;
  /** The registry's Docker-Content-Digest, when it sent one. */
  digestHeader: string | undefined;
}

export class Repository {
  constructor(
    readonly session: Session,
    /** The repository path on the registry, e.g. library/busybox. */
    readonly path: string,
  ) {}

  scope(actions: string): string {
    return `repository:${this.path}:${actions}`;
  }

  /** GET a manifest by tag or digest; notFound-kind RegistryError when the registry has none. */
  async getManifest(reference: string, accept: string, limit: number, scope = this.scope('pull')): Promise<FetchedManifest> {
    const res = await this.session.request('GET', `/v2/${this.path}/manifests/${reference}`, { headers: { Accept: accept }, scopes: [scope], retry: true });
    if (res.status !== 200) throw await unexpected('GET', res);
    const len = Number(res.headers['content-length'] ?? NaN);
    if (Number.isFinite(len) && len > limit) {
      res.body.destroy();
      throw new RegistryError(`manifest too large: ${len} bytes, the limit is ${limit}`);
    }
    const body = await readAll(res.body, limit, 'manifest');
    const digestHeader = res.headers['docker-content-digest'];
    return { body, contentType: res.headers['content-type'], digestHeader: typeof digestHeader === 'string' ? digestHeader : undefined };
  }

  /** Opens a blob's content (redirects followed); the caller must consume or destroy it. */
  async openBlob(digest: string, scope = this.scope('pull')): Promise<{ body: Readable; length: number | undefined }> {
    const res = await this.session.request('GET', `/v2/${this.path}/blobs/${digest}`, { scopes: [scope], retry: true });
    if (res.status !== 200) throw await unexpected('GET', res);
    const len = Number(res.headers['content-length'] ?? NaN);
    return { body: res.body, length: Number.isFinite(len) ? len : undefined };
  }

  /** HEAD a blob: its size when the registry has it, undefined when it does not. */
  async statBlob(digest: string, scopes = [this.scope('pull,push')]): Promise<number | undefined> {
    const res = await this.session.request('HEAD', `/v2/${this.path}/blobs/${digest}`, { scopes, retry: true });
    if (res.status === 404 || res.status === 200) res.body.resume();
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw await unexpected('HEAD', res);
    return Number(res.headers['content-length'] ?? 0);
  }

  /**
   * Starts an upload, or mounts `digest` from `from` when the registry has it there: 'mounted'
   * when the mount took, else the upload's location.
   */
  async startUpload(mount?: { digest: string; from: string }): Promise<{ mounted: true } | { mounted: false; location: URL }> {
    const scopes = [this.scope('pull,push')];
    let path = `/v2/${this.path}/blobs/uploads/`;
    if (mount) {
      scopes.push(`repository:${mount.from}:pull`);
      path += `?mount=${encodeURIComponent(mount.digest)}&from=${encodeURIComponent(mount.from)}`;
    }
    const res = await this.session.request('POST', path, { scopes, body: Buffer.alloc(0), noRedirect: true });
    if (mount && res.status === 201) {
      res.body.resume();
      return { mounted: true };
    }
    if (res.status !== 202) throw await unexpected('POST', res);
    res.body.resume();
    return { mounted: false, location: this.location(res.headers.location, res.url) };
  }

  /** Sends a chunk (PATCH) of an upload; returns the next location. */
  async uploadChunk(location: URL, body: Body, start: number, length: number): Promise<URL> {
    const res = await this.session.request('PATCH', location, {
      scopes: [this.scope('pull,push')],
      body,
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(length), 'Content-Range': `${start}-${start + length - 1}` },
      noRedirect: true,
    });
    if (res.status !== 202) throw await unexpected('PATCH', res);
    res.body.resume();
    return this.location(res.headers.location, res.url);
  }

  /** Streams a whole blob (chunked transfer encoding) in one PATCH; returns the next location. */
  async uploadStream(location: URL, body: Readable): Promise<URL> {
    const res = await this.session.request('PATCH', location, {
      scopes: [this.scope('pull,push')],
      body: () => body,
      headers: { 'Content-Type': 'application/octet-stream' },
      noRedirect: true,
    });
    if (res.status !== 202) throw await unexpected('PATCH', res);
    res.body.resume();
    return this.location(res.headers.location, res.url);
  }

  /** Completes an upload (PUT ?digest=), with the last bytes (or all of them, monolithic). */
  async finishUpload(location: URL, digest: string, body: Body | undefined, length: number): Promise<void> {
    const url = new URL(location);
    url.searchParams.set('digest', digest);
    const res = await this.session.request('PUT', url, {
      scopes: [this.scope('pull,push')],
      body: body ?? Buffer.alloc(0),
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(body ? length : 0) },
      noRedirect: true,
    });
    if (res.status !== 201) throw await unexpected('PUT', res);
    res.body.resume();
  }

  /** PUT a manifest under a tag or digest; returns the digest the registry gave it. */
  async putManifest(reference: string, mediaType: string, body: Buffer): Promise<string | undefined> {
    const res = await this.session.request('PUT', `/v2/${this.path}/manifests/${reference}`, {
      scopes: [this.scope('pull,push')],
      body,
      headers: { 'Content-Type': mediaType },
      retry: true,
    });
    if (res.status !== 201) throw await unexpected('PUT', res);
    res.body.resume();
    const d = res.headers['docker-content-digest'];
    return typeof d === 'string' ? d : undefined;
  }

  private location(header: string | undefined, base: URL): URL {
    if (!header) throw new RegistryError('registry answered an upload without a Location header');
    return new URL(header, base);
  }
}
