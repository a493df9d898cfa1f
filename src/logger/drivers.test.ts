import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createLogDriver,
  initLoggingError,
  jsonFileSettings,
  localSettings,
  logPathFor,
  mergeLogConfig,
  parseSize,
  readContainerLogs,
  ReadLogsNotSupportedError,
  validateDaemonLogConfig,
  validateLogOpts,
} from './drivers.js';
import { decodeLocalLine, encodeLocalRecord, localLogPath } from './local.js';
import { detailsPrefix, extraAttributes, parseLogTag, queryEscape, renderTemplate, type LogInfo } from './loginfo.js';
import type { ReadRecord } from './rotate.js';

async function tmp(t: TestContext): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'berth-drivers-'));
  t.after(() => rm(d, { recursive: true, force: true }));
  return d;
}

const ID = '0123456789abcdef'.repeat(4);
const info = (Config: Record<string, string>, LogPath = '/dev/null'): LogInfo => ({
  Config, ContainerID: ID, ContainerName: '/web', ContainerEntrypoint: 'nginx', ContainerArgs: ['-g', 'daemon off;'],
  ContainerImageID: 'sha256:' + 'fe'.repeat(32), ContainerImageName: 'nginx:alpine', ContainerCreated: new Date(0),
  ContainerEnv: ['PATH=/bin', 'APP=shop', 'SECRET=x'], ContainerLabels: { team: 'a', 'com.x.tier': 'web' }, LogPath, DaemonName: 'docker',
});

const msg = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    return (e as Error).message;
  }
  return '(no error)';
};

test('validateLogOpts: dockerd messages', () => {
  validateLogOpts('json-file', { 'max-size': '10m', 'max-file': '3', labels: 'a', tag: '{{.Name}}', mode: 'non-blocking', 'max-buffer-size': '4m' });
  validateLogOpts('none', { anything: 'x' });
  assert.equal(msg(() => validateLogOpts('json-file', { foo: 'x' })), "unknown log opt 'foo' for json-file log driver");
  assert.equal(msg(() => validateLogOpts('local', { tag: 'x' })), "unknown log opt 'tag' for log driver local");
  assert.equal(msg(() => validateLogOpts('json-file', { mode: 'fast' })), 'logger: logging mode not supported: fast');
  assert.equal(msg(() => validateLogOpts('json-file', { 'max-buffer-size': '1m' })), "logger: max-buffer-size option is only supported with 'mode=non-blocking'");
  assert.equal(msg(() => validateLogOpts('nope', {})), "logger: no log driver named 'nope' is registered");
  assert.equal(msg(() => validateLogOpts('json-file', { 'cache-disabled': 'maybe' })), 'invalid value for option cache-disabled: maybe');
  assert.equal(msg(() => validateDaemonLogConfig({ 'log-driver': 'local', 'log-opts': { labels: 'x' } })), "failed to set log opts: unknown log opt 'labels' for log driver local");
});

test('mergeLogConfig: daemon defaults apply to its own driver only', () => {
  const daemon = { 'log-driver': 'json-file', 'log-opts': { 'max-size': '10m', 'cache-disabled': 'true' } };
  assert.deepEqual(mergeLogConfig({ Type: '', Config: {} }, daemon), { Type: 'json-file', Config: { 'max-size': '10m', 'cache-disabled': 'true' } });
  assert.deepEqual(mergeLogConfig({ Type: 'json-file', Config: { 'max-size': '1m' } }, daemon).Config['max-size'], '1m');
  assert.deepEqual(mergeLogConfig({ Type: 'local', Config: {} }, daemon), { Type: 'local', Config: { 'cache-disabled': 'true' } });
  assert.deepEqual(mergeLogConfig(undefined), { Type: 'json-file', Config: {} });
  assert.throws(() => mergeLogConfig({ Type: 'json-file', Config: { foo: '1' } }), { message: "unknown log opt 'foo' for json-file log driver" });
});

test('sizes and settings with dockerd errors', () => {
  assert.equal(parseSize('10m'), 10_000_000);
  assert.equal(parseSize('1.5k'), 1500);
  assert.equal(parseSize('2MiB'), 2_000_000); // go-units: the decimal map applies to MiB too
  assert.equal(parseSize('4m', true), 4 * 1024 * 1024);
  assert.equal(parseSize('100'), 100);
  assert.equal(msg(() => parseSize('abc')), "invalid size: 'abc'");
  assert.equal(msg(() => parseSize('10x')), "invalid suffix: 'x'");
  assert.deepEqual(jsonFileSettings({}), { maxSize: -1, maxFiles: 1, compress: false });
  assert.deepEqual(jsonFileSettings({ 'max-size': '1k', 'max-file': '3', compress: 'true' }), { maxSize: 1000, maxFiles: 3, compress: true });
  assert.equal(msg(() => jsonFileSettings({ 'max-size': '0' })), 'max-size must be a positive number');
  assert.equal(msg(() => jsonFileSettings({ 'max-file': '0' })), 'max-file cannot be less than 1');
  assert.equal(msg(() => jsonFileSettings({ 'max-file': 'x' })), 'strconv.Atoi: parsing "x": invalid syntax');
  assert.equal(msg(() => jsonFileSettings({ compress: 'true' })), 'compress cannot be true when max-file is less than 2 or max-size is not set');
  assert.equal(msg(() => jsonFileSettings({ compress: 'yes' })), 'strconv.ParseBool: parsing "yes": invalid syntax');
  assert.deepEqual(localSettings({}), { maxSize: 20 * 1024 * 1024, maxFiles: 5, compress: true });
  assert.equal(msg(() => localSettings({ 'max-file': '1' })), 'compression cannot be enabled when max file count is 1');
  assert.equal(msg(() => localSettings({ 'max-size': 'zz' })), "invalid value for max-size: zz: invalid size: 'zz'");
  assert.equal(initLoggingError(new Error('boom')).message, 'failed to initialize logging driver: boom');
});

test('tag templates and extra attributes', () => {
  const i = info({ tag: '{{.Name}}/{{.ID}}/{{.ImageName}}' });
  assert.equal(parseLogTag(i, ''), 'web/0123456789ab/nginx:alpine');
  assert.equal(renderTemplate('{{.FullID}} {{.ImageID}} {{.DaemonName}} {{.Command}}', i), `${ID} ${'fe'.repeat(6)} docker nginx -g daemon off;`);
  assert.equal(renderTemplate('{{upper .Name}}-{{truncate .Name 2}}-{{.Name | lower}}-{{index .ContainerLabels "team"}}', i), 'WEB-we-web-a');
  assert.equal(parseLogTag(info({}), '{{.ID}}'), '0123456789ab');
  assert.match(msg(() => renderTemplate('{{.Nope}}', i)), /can't evaluate field Nope/);
  assert.match(msg(() => renderTemplate('{{foo .Name}}', i)), /function "foo" not defined/);
  assert.deepEqual(extraAttributes(info({ labels: 'team,missing', env: 'APP', 'env-regex': '^SEC', 'labels-regex': '^com\\.' })), {
    team: 'a', 'com.x.tier': 'web', APP: 'shop', SECRET: 'x',
  });
  assert.equal(detailsPrefix({ b: 'x y', a: '1&2' }).toString(), 'a=1%262,b=x+y ');
  assert.equal(detailsPrefix(undefined).toString(), ' ');
  assert.equal(queryEscape('é/'), '%C3%A9%2F');
});

test('local format round-trips full, partial and odd lines', () => {
  for (const [line, src] of [['hello\n', 'stdout'], ['part', 'stderr'], ['a\\b\n', 'stdout'], ['x\ny\n', 'stdout'], ['\n', 'stderr'], ['', 'stdout']] as const) {
    const rec = encodeLocalRecord(Buffer.from(line), src, 42n);
    assert.equal(rec.indexOf(0x0a), rec.length - 1, JSON.stringify(line));
    const d = decodeLocalLine(rec)!;
    assert.equal(d.line.toString(), line);
    assert.equal(d.stream, src);
    assert.equal(d.ns, 42n);
  }
  assert.equal(decodeLocalLine(Buffer.from('garbage\n')), undefined);
});

async function collect(gen: AsyncGenerator<ReadRecord>): Promise<string[]> {
  const out: string[] = [];
  for await (const r of gen) out.push(r.line.toString());
  return out;
}

test('factory: json-file with tag/labels attrs, local with rotation, none refuses reading', async (t) => {
  const d = await tmp(t);
  const jpath = logPathFor('json-file', d, ID)!;
  assert.equal(jpath, join(d, `${ID}-json.log`));
  const cfg = { Type: 'json-file', Config: { tag: '{{.Name}}', labels: 'team', 'max-size': '2k', 'max-file': '3', compress: 'true' } };
  const j = await createLogDriver(cfg, info(cfg.Config, jpath));
  for (let i = 0; i < 200; i++) j.log({ line: Buffer.from(`j${i}\n`), source: 'stdout' });
  await j.close();
  const first = (await readFile(jpath, 'utf8')).split('\n')[0]!;
  assert.match(first, /^\{"log":"j\d+\\n","stream":"stdout","attrs":\{"tag":"web","team":"a"\},"time":"/);
  const all = await collect(readContainerLogs(cfg, jpath, { stdout: true, stderr: true, follow: false }, new AbortController().signal));
  const nums = all.map((l) => Number(l.slice(1)));
  assert.equal(nums.at(-1), 199);
  assert.equal(nums[0]! + nums.length - 1, 199);
  const det = await collect(readContainerLogs(cfg, jpath, { stdout: true, stderr: true, follow: false, tail: 1, details: true }, new AbortController().signal));
  assert.deepEqual(det, ['tag=web,team=a j199\n']);

  const lcfg = { Type: 'local', Config: { 'max-size': '1k', 'max-file': '4' } };
  const lpath = logPathFor('local', d, ID)!;
  assert.equal(lpath, localLogPath(d));
  const l = await createLogDriver(lcfg, info(lcfg.Config, lpath));
  for (let i = 0; i < 100; i++) l.log({ line: Buffer.from(`l${i}\n`), source: i % 2 ? 'stderr' : 'stdout' });
  await l.close();
  const files = await readdir(join(d, 'local-logs'));
  assert.ok(files.includes('container.log.1.gz'), files.join());
  const lines = await collect(readContainerLogs(lcfg, lpath, { stdout: false, stderr: true, follow: false, tail: 4 }, new AbortController().signal));
  assert.deepEqual(lines, ['l97\n', 'l99\n']);

  const none = await createLogDriver({ Type: 'none', Config: {} }, info({}));
  none.log({ line: Buffer.from('x\n'), source: 'stdout' });
  await none.close();
  assert.throws(() => readContainerLogs({ Type: 'none', Config: {} }, undefined, { stdout: true, stderr: true, follow: false }, new AbortController().signal), (e: unknown) => {
    assert.ok(e instanceof ReadLogsNotSupportedError);
    assert.equal((e as Error).message, 'configured logging driver does not support reading');
    return true;
  });
  await assert.rejects(createLogDriver({ Type: 'json-file', Config: { 'max-file': 'x' } }, info({}, join(d, 'z.log'))), { message: 'strconv.Atoi: parsing "x": invalid syntax' });
});
