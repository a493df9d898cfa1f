// Build arguments and their scoping, as dockerd's classic builder (builder/dockerfile/buildargs.go)
// decides it: an ARG before the first FROM (a meta arg) is visible to FROM lines only; a stage
// sees an argument only after its own ARG declares it (an ARG without a default there inherits
// the meta arg's value); --build-arg values override defaults; the proxy variables are always
// allowed and never reported as unused.

import type { EnvGetter } from './lex.js';

export const BUILTIN_ALLOWED_ARGS: ReadonlySet<string> = new Set([
  'HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'FTP_PROXY', 'ftp_proxy',
  'NO_PROXY', 'no_proxy', 'ALL_PROXY', 'all_proxy',
]);

/** --build-arg values; undefined is a `--build-arg NAME` the client found no value for. */
export type BuildArgOptions = ReadonlyMap<string, string | undefined>;

export class BuildArgs {
  private allowed = new Map<string, string | undefined>();
  private readonly meta = new Map<string, string | undefined>();
  private readonly referenced = new Set<string>();

  constructor(private readonly fromOptions: BuildArgOptions = new Map()) {}

  /** A copy for a new stage: the meta args stay, the stage's own declarations start empty. */
  forStage(): BuildArgs {
    const b = new BuildArgs(this.fromOptions);
    for (const [k, v] of this.meta) b.meta.set(k, v);
    for (const k of this.referenced) b.referenced.add(k);
    return b;
  }

  /** A stage's ARG (or, through addMetaArg, a meta ARG) declares a name, with its default. */
  addArg(key: string, value: string | undefined): void {
    this.allowed.set(key, value);
    this.referenced.add(key);
  }

  addMetaArg(key: string, value: string | undefined): void {
    this.meta.set(key, value);
  }

  /** Marks the names another stage used, so that they are not reported as unused. */
  mergeReferenced(other: BuildArgs): void {
    for (const k of other.referenced) this.referenced.add(k);
  }

  /** The arguments a stage's instructions may use: declared ones and the set proxy variables. */
  allAllowed(): Map<string, string> {
    return this.resolveAll(this.allowed);
  }

  /** The arguments FROM lines may use. */
  allMeta(): Map<string, string> {
    return this.resolveAll(this.meta);
  }

  /**
   * The allowed arguments as `KEY=value`, without those an ENV of the same name (in `env`) hides:
   * added to the expansion environment and to RUN's environment.
   */
  filterAllowed(env: readonly string[]): string[] {
    const keys = new Set(env.map((e) => (e.includes('=') ? e.slice(0, e.indexOf('=')) : e)));
    return [...this.allAllowed()].filter(([k]) => !keys.has(k)).map(([k, v]) => `${k}=${v}`);
  }

  /** False for a proxy variable no ARG declared: it is passed to RUN but kept out of the image history. */
  isReferencedOrNotBuiltin(key: string): boolean {
    return this.allowed.has(key) || !BUILTIN_ALLOWED_ARGS.has(key);
  }

  /** --build-arg names no stage declared (proxy variables aside), sorted: dockerd warns about them. */
  unused(): string[] {
    return [...this.fromOptions.keys()].filter((k) => !this.referenced.has(k) && !BUILTIN_ALLOWED_ARGS.has(k)).sort();
  }

  private resolveAll(source: ReadonlyMap<string, string | undefined>): Map<string, string> {
    const out = new Map<string, string>();
    for (const key of new Set([...source.keys(), ...BUILTIN_ALLOWED_ARGS])) {
      const v = this.resolve(key, source);
      if (v !== undefined) out.set(key, v);
    }
    return out;
  }

  private resolve(key: string, source: ReadonlyMap<string, string | undefined>): string | undefined {
    const fromOption = this.fromOptions.get(key);
    if (fromOption !== undefined) return fromOption;
    // Declared without a default (or a proxy variable not declared): the meta arg's value, if any.
    return source.get(key) ?? this.meta.get(key);
  }
}

/**
 * The environment variables expand in: the stage's ENV (`KEY=value` strings), then the allowed
 * build arguments an ENV does not hide.
 */
export function expansionEnv(env: readonly string[], args: BuildArgs): EnvGetter {
  const m = new Map<string, string>();
  for (const e of [...env, ...args.filterAllowed(env)]) {
    const i = e.indexOf('=');
    if (i < 0) m.set(e, '');
    else m.set(e.slice(0, i), e.slice(i + 1));
  }
  return { get: (name) => m.get(name) };
}

export interface PlatformSpec {
  os: string;
  architecture: string;
  variant?: string;
}

/**
 * BuildKit's automatic platform arguments (TARGETPLATFORM, BUILDARCH, ...), global like meta
 * args: usable in FROM, and in a stage once an ARG declares them. dockerd's classic builder
 * does not define them.
 */
export function platformArgs(build: PlatformSpec, target: PlatformSpec): Map<string, string> {
  const m = new Map<string, string>();
  for (const [prefix, p] of [['BUILD', build], ['TARGET', target]] as const) {
    const variant = p.variant ?? '';
    m.set(`${prefix}PLATFORM`, [p.os, p.architecture, variant].filter((s) => s !== '').join('/'));
    m.set(`${prefix}OS`, p.os);
    m.set(`${prefix}ARCH`, p.architecture);
    m.set(`${prefix}VARIANT`, variant);
  }
  return m;
}
