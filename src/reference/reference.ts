// Docker image references: parsing, normalisation and familiar (short) display forms.
//
// Grammar (as in the distribution `reference` package):
//   reference   := name [ ":" tag ] [ "@" digest ]
//   name        := [domain '/'] path-component ['/' path-component]*
//   domain      := host [':' port]
//   tag         := [\w][\w.-]{0,127}
//   digest      := algorithm ":" hex
// Normalisation: a name without a domain lives on docker.io; a single-component name on
// docker.io lives under library/.

import { invalidParameter, type BerthError } from '../pkg/errors.js';

export const DEFAULT_DOMAIN = 'docker.io';
const LEGACY_DEFAULT_DOMAIN = 'index.docker.io';
const OFFICIAL_REPO_PREFIX = 'library/';
export const DEFAULT_TAG = 'latest';
export const NAME_TOTAL_LENGTH_MAX = 255;

const alnum = '[a-z0-9]+';
const separator = '(?:[._]|__|[-]+)';
const pathComponent = `${alnum}(?:${separator}${alnum})*`;
const domainComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const ipv6 = '\\[(?:[a-fA-F0-9:]+)\\]';
const domainName = `${domainComponent}(?:\\.${domainComponent})*`;
const host = `(?:${domainName}|${ipv6})`;
const domainAndPort = `${host}(?::[0-9]+)?`;
const tagPat = '[\\w][\\w.-]{0,127}';
const digestPat = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9a-fA-F]{32,}';
const namePat = `(?:${domainAndPort}/)?${pathComponent}(?:/${pathComponent})*`;

const referenceRe = new RegExp(`^(${namePat})(?::(${tagPat}))?(?:@(${digestPat}))?$`);
const anchoredTagRe = new RegExp(`^${tagPat}$`);
const anchoredNameRe = new RegExp(`^(?:(${domainAndPort})/)?(${pathComponent}(?:/${pathComponent})*)$`);
const anchoredIdentifierRe = /^[a-f0-9]{64}$/;
const anchoredEncodedSha256 = /^[a-f0-9]{64}$/;

/** A parsed, normalised reference. `domain`/`path` always set; tag and digest optional. */
export interface Reference {
  /** e.g. docker.io */
  readonly domain: string;
  /** e.g. library/busybox */
  readonly path: string;
  readonly tag?: string;
  readonly digest?: string;
}

/** A bare digest reference (`sha256:…`), as ParseAnyReference returns for IDs. */
export interface DigestReference {
  readonly digest: string;
}

export type AnyReference = Reference | DigestReference;

export function isNamed(r: AnyReference): r is Reference {
  return 'path' in r;
}

function refError(msg: string): BerthError {
  return invalidParameter(msg);
}

/** Validates a digest string as go-digest does; returns an error message or undefined. */
export function validateDigest(d: string): string | undefined {
  const i = d.indexOf(':');
  if (i < 1 || i + 1 === d.length) return 'invalid checksum digest format';
  const alg = d.slice(0, i);
  const hex = d.slice(i + 1);
  const lengths: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };
  if (!(alg in lengths)) {
    return /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*$/.test(alg) ? 'unsupported digest algorithm' : 'invalid checksum digest format';
  }
  if (hex.length !== lengths[alg]) return 'invalid checksum digest length';
  if (!/^[a-f0-9]+$/.test(hex)) return 'invalid checksum digest format';
  return undefined;
}

/** `Parse`: a reference exactly as written, without normalisation (must be canonical-ish). */
function parseRaw(s: string): { name: string; tag?: string; digest?: string } {
  const m = referenceRe.exec(s);
  if (!m) {
    if (s === '') throw refError('repository name must have at least one component');
    if (referenceRe.test(s.toLowerCase())) throw refError('repository name must be lowercase');
    throw refError('invalid reference format');
  }
  const name = m[1]!;
  if (name.length > NAME_TOTAL_LENGTH_MAX) {
    throw refError(`repository name must not be more than ${NAME_TOTAL_LENGTH_MAX} characters`);
  }
  const out: { name: string; tag?: string; digest?: string } = { name };
  if (m[2] !== undefined) out.tag = m[2];
  if (m[3] !== undefined) {
    const err = validateDigest(m[3]);
    if (err) throw refError(err);
    out.digest = m[3];
  }
  return out;
}

function splitDockerDomain(name: string): { domain: string; remainder: string } {
  let domain: string;
  let remainder: string;
  const i = name.indexOf('/');
  if (
    i === -1 ||
    (!/[.:]/.test(name.slice(0, i)) && name.slice(0, i) !== 'localhost' && name.slice(0, i).toLowerCase() === name.slice(0, i))
  ) {
    domain = DEFAULT_DOMAIN;
    remainder = name;
  } else {
    domain = name.slice(0, i);
    remainder = name.slice(i + 1);
  }
  if (domain === LEGACY_DEFAULT_DOMAIN) domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !remainder.includes('/')) remainder = OFFICIAL_REPO_PREFIX + remainder;
  return { domain, remainder };
}

function splitName(name: string): { domain: string; path: string } {
  const m = anchoredNameRe.exec(name);
  if (!m) return { domain: '', path: name };
  return { domain: m[1] ?? '', path: m[2]! };
}

/**
 * ParseNormalizedNamed: `busybox` → docker.io/library/busybox. Throws invalid-parameter errors
 * worded as dockerd words them.
 */
export function parseNormalizedNamed(s: string): Reference {
  if (anchoredIdentifierRe.test(s)) {
    throw refError(`invalid repository name (${s}), cannot specify 64-byte hexadecimal strings`);
  }
  const { domain, remainder } = splitDockerDomain(s);
  const tagSep = remainder.indexOf(':');
  const remoteName = tagSep > -1 ? remainder.slice(0, tagSep) : remainder;
  if (remoteName.toLowerCase() !== remoteName) {
    throw refError(`invalid reference format: repository name (${remoteName}) must be lowercase`);
  }
  const raw = parseRaw(`${domain}/${remainder}`);
  const parts = splitName(raw.name);
  const ref: Reference = { domain: parts.domain, path: parts.path, ...(raw.tag !== undefined ? { tag: raw.tag } : {}), ...(raw.digest !== undefined ? { digest: raw.digest } : {}) };
  return ref;
}

/** ParseAnyReference: a 64-hex ID or `sha256:…` digest, else a normalised name. */
export function parseAnyReference(s: string): AnyReference {
  if (anchoredIdentifierRe.test(s)) return { digest: `sha256:${s}` };
  if (/^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/.test(s) && validateDigest(s) === undefined) {
    return { digest: s };
  }
  return parseNormalizedNamed(s);
}

/** Parses a reference that must already be in canonical (fully-qualified) form. */
export function parseNamed(s: string): Reference {
  const r = parseNormalizedNamed(s);
  if (fullString(r) !== s) throw refError(`repository name must be canonical`);
  return r;
}

export function validateTag(tag: string): void {
  if (!anchoredTagRe.test(tag)) throw refError('invalid tag format');
}

export function withTag(r: Reference, tag: string): Reference {
  validateTag(tag);
  return { domain: r.domain, path: r.path, tag, ...(r.digest !== undefined ? { digest: r.digest } : {}) };
}

export function withDigest(r: Reference, digest: string): Reference {
  const err = validateDigest(digest);
  if (err) throw refError(err);
  return { domain: r.domain, path: r.path, ...(r.tag !== undefined ? { tag: r.tag } : {}), digest };
}

export function trimNamed(r: Reference): Reference {
  return { domain: r.domain, path: r.path };
}

/** TagNameOnly: adds `:latest` when neither tag nor digest is present. */
export function tagNameOnly(r: Reference): Reference {
  if (r.tag === undefined && r.digest === undefined) return { ...r, tag: DEFAULT_TAG };
  return r;
}

/** Name(): domain/path. */
export function fullName(r: Reference): string {
  return r.domain ? `${r.domain}/${r.path}` : r.path;
}

/** String(): domain/path[:tag][@digest]. */
export function fullString(r: AnyReference): string {
  if (!isNamed(r)) return r.digest;
  return fullName(r) + (r.tag !== undefined ? `:${r.tag}` : '') + (r.digest !== undefined ? `@${r.digest}` : '');
}

/** FamiliarName: docker.io/library/busybox → busybox; docker.io/a/b → a/b. */
export function familiarName(r: Reference): string {
  if (r.domain === DEFAULT_DOMAIN) {
    if (r.path.startsWith(OFFICIAL_REPO_PREFIX) && !r.path.slice(OFFICIAL_REPO_PREFIX.length).includes('/')) {
      return r.path.slice(OFFICIAL_REPO_PREFIX.length);
    }
    return r.path;
  }
  return fullName(r);
}

/** FamiliarString: busybox:latest, busybox@sha256:…, or the digest for a digest reference. */
export function familiarString(r: AnyReference): string {
  if (!isNamed(r)) return r.digest;
  return familiarName(r) + (r.tag !== undefined ? `:${r.tag}` : '') + (r.digest !== undefined ? `@${r.digest}` : '');
}

/** The registry domain an image name belongs to. */
export function domainOf(r: Reference): string {
  return r.domain;
}

/** True when `s` is a full image ID hex (64 lowercase hex chars). */
export function isFullHexID(s: string): boolean {
  return anchoredEncodedSha256.test(s);
}

/**
 * FamiliarMatch: match a shell-style pattern (`*`, `?`, `[…]`, path.Match semantics) against
 * the familiar string of the reference, and against its familiar name alone.
 */
export function familiarMatch(pattern: string, r: Reference): boolean {
  const re = globToRegExp(pattern);
  return re.test(familiarString(r)) || re.test(familiarName(r));
}

/** path.Match-style glob: `*` and `?` do not cross `/`. Invalid patterns throw 'syntax error in pattern'. */
export function globToRegExp(pattern: string): RegExp {
  let out = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else if (c === '\\') {
      i++;
      if (i >= pattern.length) throw invalidParameter('syntax error in pattern');
      out += escapeRe(pattern[i]!);
    } else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end === -1) throw invalidParameter('syntax error in pattern');
      let cls = pattern.slice(i + 1, end);
      if (cls.startsWith('^')) cls = '!' + cls.slice(1);
      if (cls.startsWith('!')) out += `[^/${cls.slice(1).replace(/[\]\\]/g, '\\$&')}]`;
      else out += `[${cls.replace(/[\]\\]/g, '\\$&')}]`;
      i = end;
    } else out += escapeRe(c);
  }
  return new RegExp(out + '$');
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
