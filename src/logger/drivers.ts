// Log drivers: the factory from a container's LogConfig {Type, Config} (merged with daemon.json's
// `log-driver` / `log-opts`), option validation with dockerd's messages, and `docker logs`
// through the driver that wrote the log. Drivers: json-file (default; rotation, compression,
// labels/env/tag attrs), local (compact format, 20 MB × 5 compressed by default), none.

import { join } from 'node:path';
import type { LogConfig } from '../api/types/container.js';
import { BerthError, invalidParameter, systemError } from '../pkg/errors.js';
import type { LogMessage } from './lines.js';
import { LOCAL_DEFAULT_COMPRESS, LOCAL_DEFAULT_MAX_FILES, LOCAL_DEFAULT_MAX_SIZE, LocalLogger, localLogPath, readLocalLogs } from './local.js';
import { extraAttributes, parseLogTag, type LogInfo } from './loginfo.js';
import { RotatingJSONFileLogger, readJSONFileLogs, type ReadOptions, type ReadRecord } from './rotate.js';


/** What the daemon needs from any driver. */
export interface LogDriver {
  readonly name: string;
  /** Never blocks; records are written in order. */
  log(msg: LogMessage): void;
  /** Resolves once everything logged so far is written. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

export const DEFAULT_LOG_DRIVER = 'json-file';
const DRIVERS = ['json-file', 'local', 'none'] as const;

/** dockerd's message when a driver cannot be read (HTTP 501 in dockerd). */
export const READ_NOT_SUPPORTED = 'configured logging driver does not support reading';

/** Thrown by readContainerLogs for drivers without a reader (`none`); dockerd answers 501. */
export class ReadLogsNotSupportedError extends BerthError {
  readonly statusCode = 501;
  constructor() {
    super('not-implemented', READ_NOT_SUPPORTED);
    this.name = 'ReadLogsNotSupportedError';
  }
}

// ---------------------------------------------------------------------------------------
// Options.

const BUILTIN_OPTS = new Set(['mode', 'max-buffer-size', 'cache-disabled', 'cache-max-size', 'cache-max-file', 'cache-compress']);
const JSON_FILE_OPTS = new Set(['max-file', 'max-size', 'compress', 'labels', 'labels-regex', 'env', 'env-regex', 'tag']);
const LOCAL_OPTS = new Set(['max-file', 'max-size', 'compress']);

/** go-units FromHumanSize (decimal: k = 1000) / RAMInBytes (binary: k = 1024). */
export function parseSize(s: string, binary = false): number {
  const sep = Math.max(...[...'01234567890. '].map((c) => s.lastIndexOf(c)));
  if (sep === -1) throw new Error(`invalid size: '${s}'`);
  let num: string;
  let sfx: string;
  if (s[sep] !== ' ') {
    num = s.slice(0, sep + 1);
    sfx = s.slice(sep + 1);
  } else {
    num = s.slice(0, sep);
    sfx = s.slice(sep + 1);
  }
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(num)) throw new Error(`strconv.ParseFloat: parsing ${JSON.stringify(num)}: invalid syntax`);
  const size = parseFloat(num);
  if (size < 0) throw new Error(`invalid size: '${s}'`);
  if (sfx.length === 0) return Math.trunc(size);
  const bad = (): Error => new Error(`invalid suffix: '${sfx}'`);
  if (sfx.length > 3) throw bad();
  const l = sfx.toLowerCase();
  if (l[0] === 'b') {
    if (l.length > 1) throw bad();
    return Math.trunc(size);
  }
  const exp = 'kmgtp'.indexOf(l[0]!);
  if (exp < 0) throw bad();
  if ((l.length === 2 && l[1] !== 'b') || (l.length === 3 && l.slice(1) !== 'ib')) throw bad();
  return Math.trunc(size * (binary ? 1024 : 1000) ** (exp + 1));
}

const goAtoi = (v: string): number => {
  if (!/^[+-]?\d+$/.test(v)) throw new Error(`strconv.Atoi: parsing ${JSON.stringify(v)}: invalid syntax`);
  return parseInt(v, 10);
};
const goParseBool = (v: string): boolean => {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
  throw new Error(`strconv.ParseBool: parsing ${JSON.stringify(v)}: invalid syntax`);
};

/**
 * dockerd's logger.ValidateLogOpts (create, and daemon.json defaults): throws invalid-parameter
 * errors with its messages. Unknown drivers: "logger: no log driver named 'x' is registered".
 */
export function validateLogOpts(type: string, cfg: Record<string, string>): void {
  if (type === 'none') return;
  const mode = cfg.mode ?? '';
  if (mode !== '' && mode !== 'blocking' && mode !== 'non-blocking') throw invalidParameter(`logger: logging mode not supported: ${mode}`);
  if ('max-buffer-size' in cfg) {
    if (mode !== 'non-blocking') throw invalidParameter("logger: max-buffer-size option is only supported with 'mode=non-blocking'");
    try {
      parseSize(cfg['max-buffer-size']!, true);
    } catch (err) {
      throw invalidParameter(`error parsing option max-buffer-size: ${(err as Error).message}`);
    }
  }
  const cacheDisabled = cfg['cache-disabled'];
  if (cacheDisabled) {
    try {
      goParseBool(cacheDisabled);
    } catch {
      throw invalidParameter(`invalid value for option cache-disabled: ${cacheDisabled}`);
    }
  }
  if (!(DRIVERS as readonly string[]).includes(type)) throw invalidParameter(`logger: no log driver named '${type}' is registered`);
  for (const key of Object.keys(cfg)) {
    if (BUILTIN_OPTS.has(key)) continue;
    if (type === 'json-file' && !JSON_FILE_OPTS.has(key)) throw invalidParameter(`unknown log opt '${key}' for json-file log driver`);
    if (type === 'local' && !LOCAL_OPTS.has(key)) throw invalidParameter(`unknown log opt '${key}' for log driver local`);
  }
}

export interface DaemonLogConfig {
  /** daemon.json `log-driver` (default json-file). */
  'log-driver'?: string;
  /** daemon.json `log-opts`. */
  'log-opts'?: Record<string, string>;
}

/**
 * dockerd's mergeAndVerifyLogConfig, for create: an empty Type takes the daemon's driver; when the
 * container uses the daemon's driver its options fill in the missing ones; cache-* defaults always
 * merge; then the options are validated. Returns a new LogConfig to store in hostconfig.json.
 * (The HostConfig normaliser must keep an empty Type empty for this to see it.)
 */
export function mergeLogConfig(cfg: Partial<LogConfig> | undefined, daemon: DaemonLogConfig = {}): LogConfig {
  const defType = daemon['log-driver'] || DEFAULT_LOG_DRIVER;
  const defOpts = daemon['log-opts'] ?? {};
  const out: LogConfig = { Type: cfg?.Type || defType, Config: { ...(cfg?.Config ?? {}) } };
  if (out.Type === defType) for (const [k, v] of Object.entries(defOpts)) if (!(k in out.Config)) out.Config[k] = v;
  for (const [k, v] of Object.entries(defOpts)) if (k.startsWith('cache-') && BUILTIN_OPTS.has(k) && !(k in out.Config)) out.Config[k] = v;
  validateLogOpts(out.Type, out.Config);
  return out;
}

/** daemon.json's defaults are validated when the daemon starts ("failed to set log opts: …"). */
export function validateDaemonLogConfig(daemon: DaemonLogConfig): void {
  const type = daemon['log-driver'] || DEFAULT_LOG_DRIVER;
  const opts = daemon['log-opts'] ?? {};
  if (Object.keys(opts).length > 0) {
    try {
      validateLogOpts(type, opts);
    } catch (err) {
      throw invalidParameter(`failed to set log opts: ${(err as Error).message}`);
    }
  }
}

// ---------------------------------------------------------------------------------------
// Rotation settings.

export interface FileSettings {
  maxSize: number;
  maxFiles: number;
  compress: boolean;
}

/** json-file's options, with dockerd's errors (raised when the logger is created, at start). */
export function jsonFileSettings(cfg: Record<string, string>): FileSettings {
  let maxSize = -1;
  if ('max-size' in cfg) {
    maxSize = parseSize(cfg['max-size']!);
    if (maxSize <= 0) throw new Error('max-size must be a positive number');
  }
  let maxFiles = 1;
  if ('max-file' in cfg) {
    maxFiles = goAtoi(cfg['max-file']!);
    if (maxFiles < 1) throw new Error('max-file cannot be less than 1');
  }
  let compress = false;
  if ('compress' in cfg) {
    compress = goParseBool(cfg.compress!);
    if (compress && (maxFiles === 1 || maxSize === -1)) throw new Error('compress cannot be true when max-file is less than 2 or max-size is not set');
  }
  return { maxSize, maxFiles, compress };
}

/** local's options (defaults 20 MB × 5, compressed), with dockerd's errors. */
export function localSettings(cfg: Record<string, string>): FileSettings {
  let maxSize = LOCAL_DEFAULT_MAX_SIZE;
  let maxFiles = LOCAL_DEFAULT_MAX_FILES;
  let compress = LOCAL_DEFAULT_COMPRESS;
  if ('max-size' in cfg) {
    try {
      maxSize = parseSize(cfg['max-size']!);
    } catch (err) {
      throw invalidParameter(`invalid value for max-size: ${cfg['max-size']}: ${(err as Error).message}`);
    }
  }
  if ('max-file' in cfg) {
    try {
      maxFiles = goAtoi(cfg['max-file']!);
    } catch (err) {
      throw invalidParameter(`invalid value for max-file: ${cfg['max-file']}: ${(err as Error).message}`);
    }
  }
  if ('compress' in cfg) {
    try {
      compress = goParseBool(cfg.compress!);
    } catch (err) {
      throw invalidParameter(`error reading compress log option: ${(err as Error).message}`);
    }
  }
  if (maxSize < 0) throw invalidParameter('max size should be a positive number');
  if (maxFiles < 0) throw invalidParameter('max file count cannot be less than 0');
  if (compress && maxFiles <= 1) throw invalidParameter('compression cannot be enabled when max file count is 1');
  return { maxSize, maxFiles, compress };
}

// ---------------------------------------------------------------------------------------
// Creating drivers.

/** Where a driver writes a container's log (undefined for `none`). json-file: record.LogPath. */
export function logPathFor(type: string, containerDir: string, id: string): string | undefined {
  if (type === 'json-file') return join(containerDir, `${id}-json.log`);
  if (type === 'local') return localLogPath(containerDir);
  return undefined;
}

class NoneDriver implements LogDriver {
  readonly name = 'none';
  log(): void {}
  async flush(): Promise<void> {}
  async close(): Promise<void> {}
}

/**
 * StartLogger: the driver for a container run. `info.LogPath` is where json-file/local write
 * (logPathFor). Errors carry dockerd's wording; the start path reports them as
 * "failed to initialize logging driver: <message>" (see initLoggingError).
 */
export async function createLogDriver(cfg: LogConfig, info: LogInfo): Promise<LogDriver> {
  switch (cfg.Type) {
    case 'json-file': {
      const s = jsonFileSettings(cfg.Config);
      const attrs = extraAttributes(info);
      // No default template: only a tag the user asked for.
      const tag = parseLogTag(info, '');
      if (tag !== '') attrs.tag = tag;
      return RotatingJSONFileLogger.open(info.LogPath, { ...s, attrs });
    }
    case 'local': {
      const s = localSettings(cfg.Config);
      return LocalLogger.open(info.LogPath, s);
    }
    case 'none':
      return new NoneDriver();
    default:
      throw invalidParameter(`logger: no log driver named '${cfg.Type}' is registered`);
  }
}

/** dockerd's wrapping of a driver creation failure at container start. */
export function initLoggingError(err: unknown): BerthError {
  return systemError(`failed to initialize logging driver: ${err instanceof Error ? err.message : String(err)}`, err);
}

// ---------------------------------------------------------------------------------------
// Reading.

/**
 * `docker logs` through the container's driver, across rotated and compressed files. Throws
 * ReadLogsNotSupportedError for `none` (before anything is streamed). The file settings come
 * from the container's LogConfig so the reader knows how many rotated files to look at.
 */
export function readContainerLogs(cfg: LogConfig, path: string | undefined, opts: ReadOptions, signal: AbortSignal): AsyncGenerator<ReadRecord> {
  if (cfg.Type === 'json-file') {
    let maxFiles = 1;
    try {
      maxFiles = jsonFileSettings(cfg.Config).maxFiles;
    } catch {
      // the container could not start with these options; read what there is
    }
    return readJSONFileLogs(path!, maxFiles, opts, signal);
  }
  if (cfg.Type === 'local') {
    let maxFiles = LOCAL_DEFAULT_MAX_FILES;
    try {
      maxFiles = localSettings(cfg.Config).maxFiles;
    } catch {
      // as above
    }
    return readLocalLogs(path!, maxFiles, opts, signal);
  }
  throw new ReadLogsNotSupportedError();
}

export function supportsReading(type: string): boolean {
  return type === 'json-file' || type === 'local';
}
