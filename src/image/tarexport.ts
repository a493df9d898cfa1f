// docker save / docker load. The archive is what dockerd 25+ writes with its graphdriver store:
// an OCI image layout (oci-layout, index.json, blobs/sha256/…) whose blobs double as the
// docker-archive's files (manifest.json pointing at blobs/sha256/<image ID> for the config and
// blobs/sha256/<diffID> for each layer, uncompressed, plus the legacy `repositories`). Older
// docker-archives (`<id>.json`, `<id>/layer.tar`, gzip'd layers) load too: load reads only
// manifest.json and follows the paths it names, inside the archive.

import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, constants } from 'node:fs';
import { lstat, mkdir, mkdtemp, open, readFile, readlink, rm, stat, symlink } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar-stream';
import { invalidParameter, notFound } from '../pkg/errors.js';
import {
  familiarName,
  familiarString,
  fullString,
  isNamed,
  parseAnyReference,
  parseNormalizedNamed,
  tagNameOnly,
  type Reference,
} from '../reference/reference.js';
import { chainID, type StagedLayer } from '../layer/store.js';
import { cleanEntryPath, resolveInRoot } from '../archive/apply.js';
import { decompressStream } from '../archive/compression.js';
import { TarReader } from '../archive/tarreader.js';
import type { ImageService } from './service.js';
import type { ImageConfig } from './store.js';

const MT_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const MT_INDEX = 'application/vnd.oci.image.index.v1+json';
const MT_CONFIG = 'application/vnd.oci.image.config.v1+json';
const MT_LAYER = 'application/vnd.oci.image.layer.v1.tar';
const EPOCH = new Date(0);

const hexOf = (d: string): string => (d.startsWith('sha256:') ? d.slice(7) : d);

interface SaveImage {
  id: string;
  refs: Reference[];
}

/** dockerd's parseNames: which images, and which of their tags, a save names. */
export function resolveSaveNames(svc: ImageService, names: string[]): SaveImage[] {
  const out = new Map<string, SaveImage>();
  const add = (id: string, ref?: Reference): void => {
    if (!svc.images.get(id)) throw notFound(`No such image: ${id}`);
    let d = out.get(id);
    if (!d) out.set(id, (d = { id, refs: [] }));
    if (!ref || ref.digest !== undefined) return;
    const tagged = tagNameOnly(ref);
    if (!d.refs.some((r) => familiarString(r) === familiarString(tagged))) d.refs.push(tagged);
  };
  for (const name of names) {
    const ref = parseAnyReference(name);
    if (!isNamed(ref)) {
      add(ref.digest);
      continue;
    }
    if (familiarName(ref) === 'sha256') {
      add(svc.images.search(name));
      continue;
    }
    if (ref.tag === undefined && ref.digest === undefined) {
      const assocs = svc.references.referencesByName(ref);
      for (const a of assocs) add(a.id, a.ref);
      if (assocs.length === 0) {
        try {
          add(svc.images.search(name));
        } catch {
          throw notFound(`No such image: ${name}`);
        }
      }
      continue;
    }
    const id = svc.references.get(ref);
    if (!id) throw notFound(`reference does not exist`);
    add(id, ref);
  }
  return [...out.values()];
}

interface LayerBlob {
  chainID: string;
  diffID: string;
  size: number;
  /** Digest of the bytes (the diffID unless the layer could not be rebuilt exactly). */
  digest: string;
  spooled?: string;
}

/**
 * Streams the archive of `images`. Every digest and size is known before the first byte, so the
 * tar is written in one pass in the order dockerd's directory walk gives (blobs sorted by digest).
 */
export async function saveImages(svc: ImageService, images: SaveImage[], tmpDir: string): Promise<Readable> {
  const layers = new Map<string, LayerBlob>(); // by diffID
  const blobs = new Map<string, { size: number; mtime: Date; body: () => Promise<Readable | Buffer> }>();
  const spooled: string[] = [];
  const manifest: Record<string, unknown>[] = [];
  const indexManifests: Record<string, unknown>[] = [];
  const reposLegacy: Record<string, Record<string, string>> = {};
  const parentLinks: { id: string; parent: string }[] = [];

  try {
    for (const im of images) {
      const img = svc.images.get(im.id);
      if (!img) throw notFound(`No such image: ${im.id}`);
      if (img.config.os && img.config.os !== 'linux') throw invalidParameter(`os "${img.config.os}" is not supported`);
      const diffIDs = img.config.rootfs.diff_ids;
      if (diffIDs.length === 0) throw invalidParameter('empty export - not implemented');
      const created = img.config.created ? new Date(img.config.created) : EPOCH;
      const sources: Record<string, { mediaType: string; size: number; digest: string }> = {};
      const layerDescs: { mediaType: string; digest: string; size: number }[] = [];
      const layerPaths: string[] = [];
      for (let i = 0; i < diffIDs.length; i++) {
        const diffID = diffIDs[i]!;
        let lb = layers.get(diffID);
        if (!lb) {
          const cid = chainID(diffIDs.slice(0, i + 1));
          if (!svc.layers.get(cid)) throw notFound(`layer does not exist: ${cid}`);
          const size = await svc.layers.tarSize(cid);
          if (size !== undefined) {
            lb = { chainID: cid, diffID, size, digest: diffID };
          } else {
            // No tar-split record: pack it once into a file to learn its digest and size.
            const file = join(tmpDir, `save-${randomBytes(8).toString('hex')}.tar`);
            spooled.push(file);
            const h = createHash('sha256');
            const { stream } = await svc.layers.tarStream(cid);
            await pipeline(stream, new Transform({ transform: (c: Buffer, _e, cb) => (h.update(c), cb(null, c)) }), createWriteStream(file));
            lb = { chainID: cid, diffID, size: (await stat(file)).size, digest: `sha256:${h.digest('hex')}`, spooled: file };
          }
          layers.set(diffID, lb);
          const blob = lb;
          blobs.set(hexOf(lb.digest), {
            size: lb.size,
            mtime: created,
            body: async () => (blob.spooled ? createReadStream(blob.spooled) : (await svc.layers.tarStream(blob.chainID)).stream),
          });
        }
        sources[diffID] = { mediaType: MT_LAYER, size: lb.size, digest: lb.digest };
        layerDescs.push({ mediaType: MT_LAYER, digest: lb.digest, size: lb.size });
        layerPaths.push(`blobs/sha256/${hexOf(lb.digest)}`);
      }
      const raw = await readFile(join(svc.images.contentDir, hexOf(im.id)));
      blobs.set(hexOf(im.id), { size: raw.length, mtime: created, body: async () => raw });
      const m = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: MT_MANIFEST,
          config: { mediaType: MT_CONFIG, digest: im.id, size: raw.length },
          layers: layerDescs,
        }),
      );
      const mDigest = `sha256:${createHash('sha256').update(m).digest('hex')}`;
      blobs.set(hexOf(mDigest), { size: m.length, mtime: EPOCH, body: async () => m });
      const untagged = { mediaType: MT_MANIFEST, digest: mDigest, size: m.length };
      const repoTags: string[] = [];
      for (const ref of im.refs) {
        (reposLegacy[familiarName(ref)] ??= {})[ref.tag!] = hexOf(diffIDs[diffIDs.length - 1]!);
        repoTags.push(familiarString(ref));
        indexManifests.push({
          ...untagged,
          annotations: { 'io.containerd.image.name': fullString(ref), 'org.opencontainers.image.ref.name': ref.tag! },
        });
      }
      // As dockerd: an untagged image is listed only while nothing else is.
      if (indexManifests.length === 0) indexManifests.push(untagged);
      manifest.push({
        Config: `blobs/sha256/${hexOf(im.id)}`,
        RepoTags: repoTags.length ? repoTags : null,
        Layers: layerPaths,
        LayerSources: sortKeys(sources),
      });
      parentLinks.push({ id: im.id, parent: svc.images.getParent(im.id) ?? '' });
    }
    parentLinks.forEach((p, i) => {
      if (p.parent && parentLinks.some((q) => q.id === p.parent && q.id !== p.id)) {
        // Parent comes after Layers in dockerd's manifest item.
        const item = manifest[i]!;
        manifest[i] = { Config: item.Config, RepoTags: item.RepoTags, Layers: item.Layers, Parent: p.parent, LayerSources: item.LayerSources };
      }
    });
  } catch (err) {
    for (const f of spooled) await rm(f, { force: true });
    throw err;
  }

  const files: { name: string; data: Buffer }[] = [
    { name: 'index.json', data: Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MT_INDEX, manifests: indexManifests })) },
    { name: 'manifest.json', data: Buffer.from(JSON.stringify(manifest) + '\n') },
    { name: 'oci-layout', data: Buffer.from('{"imageLayoutVersion": "1.0.0"}') },
  ];
  if (Object.keys(reposLegacy).length) files.push({ name: 'repositories', data: Buffer.from(JSON.stringify(sortKeys(reposLegacy)) + '\n') });

  const pack = tar.pack();
  const entry = (h: Partial<tar.Header> & { name: string }, body?: Readable | Buffer): Promise<void> =>
    new Promise((resolve, reject) => {
      const header = { uid: 0, gid: 0, uname: '', gname: '', ...h } as tar.Header;
      if (body === undefined) pack.entry(header, (err) => (err ? reject(err) : resolve()));
      else if (Buffer.isBuffer(body)) pack.entry(header, body, (err) => (err ? reject(err) : resolve()));
      else {
        const sink = pack.entry(header, (err) => (err ? reject(err) : resolve()));
        pipeline(body, sink as unknown as NodeJS.WritableStream).catch(reject);
      }
    });
  const run = async (): Promise<void> => {
    await entry({ name: 'blobs/', type: 'directory', mode: 0o755, mtime: EPOCH });
    await entry({ name: 'blobs/sha256/', type: 'directory', mode: 0o755, mtime: EPOCH });
    for (const hex of [...blobs.keys()].sort()) {
      const b = blobs.get(hex)!;
      await entry({ name: `blobs/sha256/${hex}`, type: 'file', mode: 0o644, size: b.size, mtime: b.mtime }, await b.body());
    }
    for (const f of files) await entry({ name: f.name, type: 'file', mode: 0o644, size: f.data.length, mtime: EPOCH }, f.data);
    pack.finalize();
  };
  const cleanup = async (): Promise<void> => {
    for (const f of spooled) await rm(f, { force: true });
  };
  run().catch((err: Error) => pack.destroy(err));
  const out = Readable.from(pack as AsyncIterable<Buffer>, { objectMode: false });
  out.once('close', () => void cleanup());
  for (const im of images) svc.event('save', im.id, im.id);
  return out;
}

function sortKeys<T>(o: Record<string, T>): Record<string, T> {
  const r: Record<string, T> = {};
  for (const k of Object.keys(o).sort()) r[k] = o[k]!;
  return r;
}

// ---------------------------------------------------------------------------------------------
// load

/** A JSON message of the load stream (dockerd's jsonmessage.JSONMessage). */
export interface LoadMessage {
  stream?: string;
  status?: string;
  progressDetail?: { current?: number; total?: number };
  progress?: string;
  id?: string;
}

const MAX_META_FILE = 64 << 20;

/**
 * Extracts an archive under `root`, refusing entries that name a path outside it (`..`,
 * absolute names) and symlinks that point out of it; only directories, regular files and
 * in-root symlinks are kept.
 */
export interface ExtractOptions {
  /**
   * Takes the content of a regular file that begins like an uncompressed tar instead of writing
   * it (the file is left empty). Must consume or abandon `body` and not throw: whatever it leaves
   * unread is skipped.
   */
  stageLayer?: (path: string, body: Readable) => Promise<void>;
}

/** An uncompressed tar: ustar, GNU or PAX magic in the first header. */
function looksLikeTar(head: Buffer): boolean {
  if (head.length < 512) return false;
  const magic = head.toString('latin1', 257, 263);
  return magic === 'ustar\0' || magic === 'ustar ';
}

export async function extractArchive(src: Readable, root: string, opts: ExtractOptions = {}): Promise<void> {
  const { stream } = await decompressStream(src);
  const reader = new TarReader(stream as AsyncIterable<Buffer>);
  try {
    for (let e = await reader.next(); e; e = await reader.next()) {
      const h = e.header;
      if (h.name.startsWith('/')) throw invalidParameter(`invalid archive: absolute path ${JSON.stringify(h.name)}`);
      const parts = cleanEntryPath(h.name);
      if (parts.length === 0) continue;
      const parent = await resolveInRoot(root, parts.slice(0, -1), true);
      const path = posix.join(parent, parts[parts.length - 1]!);
      switch (h.type) {
        case 'directory':
          await mkdir(path, { mode: 0o755 }).catch((err: NodeJS.ErrnoException) => {
            if (err.code !== 'EEXIST') throw err;
          });
          break;
        case 'file':
        case 'contiguous-file': {
          await rm(path, { force: true, recursive: true });
          const fh = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
          const it = e[Symbol.asyncIterator]();
          let pend: Buffer[] = [];
          let pendLen = 0;
          let staging = false;
          try {
            if (opts.stageLayer && (h.size ?? 0) >= 1024) {
              while (pendLen < 512) {
                const r = await it.next();
                if (r.done) break;
                pend.push(r.value);
                pendLen += r.value.length;
              }
              staging = looksLikeTar(pend.length === 1 ? pend[0]! : Buffer.concat(pend, pendLen));
            }
            if (!staging) {
              // Few large writes, not one per network chunk.
              const flush = async (): Promise<void> => {
                const b = pend.length === 1 ? pend[0]! : Buffer.concat(pend, pendLen);
                pend = [];
                pendLen = 0;
                let off = 0;
                while (off < b.length) off += (await fh.write(b, off, b.length - off)).bytesWritten;
              };
              for (let r = await it.next(); !r.done; r = await it.next()) {
                pend.push(r.value);
                pendLen += r.value.length;
                if (pendLen >= 1 << 20) await flush();
              }
              if (pendLen > 0) await flush();
            }
          } finally {
            await fh.close();
          }
          if (staging) {
            // A layer tar: applied as it streams by; the file stays empty, a placeholder for its path.
            const head = pend;
            const rest = async function* (): AsyncGenerator<Buffer> {
              yield* head;
              for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
            };
            await opts.stageLayer!(path, Readable.from(rest(), { objectMode: false }));
          }
          break;
        }
        case 'symlink': {
          const target = h.linkname ?? '';
          const joined = posix.normalize(posix.join(parts.slice(0, -1).join('/') || '.', target));
          if (!target || target.startsWith('/') || joined === '..' || joined.startsWith('../')) {
            throw invalidParameter(`invalid archive: symlink ${JSON.stringify(h.name)} -> ${JSON.stringify(target)} points outside the archive`);
          }
          await rm(path, { force: true, recursive: true });
          await symlink(target, path);
          break;
        }
        default:
          break; // nothing else belongs in an image archive
      }
    }
  } catch (err) {
    // The request itself is left for the caller to drain, so the client still reads the answer.
    if (stream !== src) {
      src.unpipe();
      stream.destroy();
    }
    throw err;
  }
}

/** Opens `rel` inside `root`, following symlinks without ever leaving it (FollowSymlinkInScope). */
export async function resolveFileInRoot(root: string, rel: string): Promise<string> {
  let parts = cleanEntryPath(rel);
  for (let follows = 0; follows < 64; follows++) {
    if (parts.length === 0) throw invalidParameter(`invalid archive: ${JSON.stringify(rel)} is not a file`);
    const dir = await resolveInRoot(root, parts.slice(0, -1), false);
    const p = posix.join(dir, parts[parts.length - 1]!);
    const st = await lstat(p);
    if (!st.isSymbolicLink()) return p;
    const target = await readlink(p);
    const base = target.startsWith('/') ? [] : posix.relative(root, dir).split('/').filter(Boolean);
    parts = cleanEntryPath(posix.normalize('/' + [...base, target].join('/')));
  }
  throw invalidParameter(`invalid archive: too many symlinks resolving ${JSON.stringify(rel)}`);
}

interface ManifestItem {
  Config?: string;
  RepoTags?: string[] | null;
  Layers?: string[];
  Parent?: string;
}

function humanSize(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v.toFixed(i === 0 ? 0 : 2).replace(/\.?0+$/, '')}${units[i]}`;
}

function progressBar(cur: number, total: number): string {
  const width = 50;
  const n = total > 0 ? Math.min(width, Math.floor((cur / total) * width)) : 0;
  const bar = '='.repeat(Math.max(0, n - 1)) + (n > 0 ? (n === width ? '=' : '>') : '') + ' '.repeat(width - n);
  return `[${bar}] ${humanSize(cur).padStart(8)}/${humanSize(total)}`;
}

function historyEqual(a: ImageConfig['history'], b: ImageConfig['history']): boolean {
  const x = a ?? [];
  const y = b ?? [];
  if (x.length === 0 && y.length === 0) return true;
  if (x.length - y.length !== 1) return false;
  return y.every((h, i) => JSON.stringify(h) === JSON.stringify(x[i]));
}

/** Loads an archive; progress and results go to `out` as dockerd's JSON messages. */
export async function loadImages(svc: ImageService, src: Readable, out: (m: LoadMessage) => void, quiet: boolean, tmpDir: string): Promise<void> {
  await mkdir(tmpDir, { recursive: true, mode: 0o700 });
  const dir = await mkdtemp(join(tmpDir, 'load-'));
  const held: string[] = [];
  // Layer tars are applied while the archive streams in (their order and parents are only known
  // from manifest.json, which comes last); registered below once the manifest names them.
  const staged = new Map<string, { layer?: StagedLayer; error?: unknown; adoptedBy?: string }>();
  const stageLayer = async (path: string, body: Readable): Promise<void> => {
    try {
      staged.set(path, { layer: await svc.layers.stage(body) });
    } catch (err) {
      body.destroy();
      staged.set(path, { error: err });
    }
  };
  try {
    await extractArchive(src, dir, { stageLayer });
    let manifestPath: string;
    try {
      manifestPath = await resolveFileInRoot(dir, 'manifest.json');
    } catch {
      throw invalidParameter('invalid archive: does not contain a manifest.json');
    }
    if ((await stat(manifestPath)).size > MAX_META_FILE) throw invalidParameter('invalid archive: manifest.json is too large');
    let manifest: ManifestItem[] | null;
    try {
      manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as ManifestItem[] | null;
    } catch (err) {
      throw invalidParameter(`invalid archive: failed to decode manifest.json: ${(err as Error).message}`);
    }
    if (manifest === null) throw invalidParameter('invalid manifest, manifest cannot be null (but can be [])');
    if (!Array.isArray(manifest)) throw invalidParameter('invalid archive: failed to decode manifest.json');

    const parentLinks: { id: string; parent: string }[] = [];
    let idLines = '';
    let refCount = 0;
    for (const m of manifest) {
      const cfgPath = await resolveFileInRoot(dir, m.Config ?? '');
      if ((await stat(cfgPath)).size > MAX_META_FILE) throw invalidParameter('invalid archive: image config is too large');
      const configBytes = await readFile(cfgPath);
      let config: ImageConfig;
      try {
        config = JSON.parse(configBytes.toString('utf8')) as ImageConfig;
      } catch (err) {
        throw invalidParameter(`invalid image JSON: ${(err as Error).message}`);
      }
      if (!config.rootfs || !Array.isArray(config.rootfs.diff_ids)) throw invalidParameter('invalid image JSON, no RootFS key');
      if (config.os && config.os !== 'linux') throw invalidParameter(`cannot load ${config.os} image on linux`);
      const diffIDs = config.rootfs.diff_ids;
      const layerFiles = m.Layers ?? [];
      if (layerFiles.length !== diffIDs.length) {
        throw invalidParameter(`invalid manifest, layers length mismatch: expected ${layerFiles.length}, got ${diffIDs.length}`);
      }
      for (let i = 0; i < diffIDs.length; i++) {
        const diffID = diffIDs[i]!;
        const cid = chainID(diffIDs.slice(0, i + 1));
        const parent = i > 0 ? chainID(diffIDs.slice(0, i)) : undefined;
        if (svc.layers.get(cid)) {
          svc.layers.acquire(cid);
          held.push(cid);
          continue;
        }
        const file = await resolveFileInRoot(dir, layerFiles[i]!);
        const st = staged.get(file);
        if (st?.error !== undefined) throw st.error;
        if (st?.layer && st.adoptedBy === undefined) {
          const layer = await svc.layers.registerStaged(st.layer, parent);
          st.adoptedBy = layer.chainID;
          held.push(layer.chainID);
          if (!quiet) {
            const total = st.layer.tarSize;
            out({ status: 'Loading layer', progressDetail: { current: total, total }, progress: progressBar(total, total), id: hexOf(diffID).slice(0, 12) });
          }
          if (layer.diffID !== diffID) {
            throw invalidParameter(`invalid diffID for layer ${i}: expected "${diffID}", got "${layer.diffID}"`);
          }
          continue;
        }
        let total: number;
        let body: Readable;
        if (st?.adoptedBy !== undefined) {
          // The same tar again, under another parent: rebuilt from the layer it became.
          total = st.layer!.tarSize;
          body = (await svc.layers.tarStream(st.adoptedBy)).stream;
        } else {
          total = (await stat(file)).size;
          body = createReadStream(file, { highWaterMark: 1 << 20 });
        }
        if (!quiet) {
          const id = hexOf(diffID).slice(0, 12);
          let cur = 0;
          let last = 0;
          const emit = (): void => out({ status: 'Loading layer', progressDetail: { current: cur, total }, progress: progressBar(cur, total), id });
          body = body.pipe(
            new Transform({
              transform(c: Buffer, _e, cb) {
                cur += c.length;
                const now = Date.now();
                if (now - last > 100) {
                  last = now;
                  emit();
                }
                cb(null, c);
              },
              flush(cb) {
                emit();
                cb();
              },
            }),
          );
        }
        const layer = await svc.layers.register(body, parent);
        held.push(layer.chainID);
        if (layer.diffID !== diffID) {
          throw invalidParameter(`invalid diffID for layer ${i}: expected "${diffID}", got "${layer.diffID}"`);
        }
      }
      const id = await svc.images.create(configBytes);
      idLines += `Loaded image ID: ${id}\n`;
      refCount = 0;
      for (const repoTag of m.RepoTags ?? []) {
        const named = parseNormalizedNamed(repoTag);
        if (named.tag === undefined || named.digest !== undefined) throw invalidParameter(`invalid tag "${repoTag}"`);
        const prev = svc.references.get(named);
        if (prev && prev !== id) {
          out({ stream: `The image ${familiarString(named)} already exists, renaming the old one with ID ${prev} to empty string\n` });
        }
        await svc.references.addTag(named, id, true);
        out({ stream: `Loaded image: ${familiarString(named)}\n` });
        refCount++;
      }
      parentLinks.push({ id, parent: m.Parent ?? '' });
      svc.event('load', id, id);
    }
    for (const p of parentLinks) {
      if (!p.parent || p.parent === p.id || !parentLinks.some((q) => q.id === p.parent)) continue;
      const img = svc.images.get(p.id);
      const parent = svc.images.get(p.parent);
      if (!img || !parent) continue;
      if (!historyEqual(img.config.history, parent.config.history)) {
        throw invalidParameter(`image ${p.parent} is not a valid parent for ${p.id}`);
      }
      await svc.images.setParent(p.id, p.parent);
    }
    if (refCount === 0 && idLines) out({ stream: idLines });
  } finally {
    for (const st of staged.values()) if (st.layer && st.adoptedBy === undefined) await svc.layers.discardStaged(st.layer);
    for (const cid of held) await svc.layers.release(cid).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}

