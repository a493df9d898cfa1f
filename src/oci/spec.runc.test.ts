// Runs generated specs under the real runc with a busybox rootfs: proves the spec is accepted
// and behaves as dockerd's does (user, capabilities, /dev, masking, read-only root, privileged).

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { access, chmod, copyFile, mkdir, mkdtemp, readdir, readFile, rm, rmdir, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { allCapabilities, DEFAULT_CAPABILITIES } from './caps.js';
import { KNOWN_CAPABILITIES } from './host.js';
import { createSpec, specToJSON, type SpecOptions } from './spec.js';
import { testConfig, testHostConfig, testSpecOptions } from './testutil.js';
import { resolveUser } from './user.js';

const RUNC = '/usr/sbin/runc';
const BUSYBOX = '/usr/bin/busybox';
const INIT = '/usr/bin/docker-init';

async function canRun(): Promise<string | false> {
  if (process.getuid?.() !== 0) return 'needs root';
  for (const p of [RUNC, BUSYBOX]) {
    try {
      await access(p);
    } catch {
      return `${p} missing`;
    }
  }
  return false;
}
const skip = await canRun();
const noInit = await access(INIT).then(() => false, () => `${INIT} missing`);

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[]): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 60_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

const capMask = (caps: readonly string[]): string => {
  let m = 0n;
  for (const c of caps) m |= 1n << BigInt(KNOWN_CAPABILITIES.indexOf(c));
  return m.toString(16).padStart(16, '0');
};

describe('generated specs under runc', { skip }, () => {
  let tmp = '';
  let rootfs = '';
  const cgroupParent = `/berth-oci-test-${process.pid}`;
  const created: string[] = [];
  let seq = 0;

  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'berth-oci-'));
    // One bundle, its config rewritten per (sequential) test: runc wants a real rootfs directory.
    rootfs = join(tmp, 'bundle', 'rootfs');
    for (const d of ['bin', 'etc', 'tmp', 'proc', 'sys', 'dev']) await mkdir(join(rootfs, d), { recursive: true });
    await chmod(join(rootfs, 'tmp'), 0o1777);
    await copyFile(BUSYBOX, join(rootfs, 'bin/busybox'));
    await chmod(join(rootfs, 'bin/busybox'), 0o755);
    // Like `busybox --install -s`, flattened into /bin.
    const applets = (await run(BUSYBOX, ['--list'])).stdout.split('\n').filter((a) => a && a !== 'busybox');
    for (const a of applets) await symlink('busybox', join(rootfs, 'bin', a));
    await writeFile(join(rootfs, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n');
    await writeFile(join(rootfs, 'etc/group'), 'root:x:0:\nwheel:x:10:root,app\napp:x:1000:\naudio:x:29:app\n');
  });

  after(async () => {
    for (const id of created) await run(RUNC, ['--root', join(tmp, 'runc'), 'delete', '--force', id]);
    // The per-test parent cgroups runc created (cgroup v1: one per hierarchy; v2: one).
    const base = '/sys/fs/cgroup';
    const dirs = [join(base, cgroupParent)];
    for (const ent of await readdir(base).catch(() => [] as string[])) dirs.push(join(base, ent, cgroupParent));
    for (const d of dirs) await rmdir(d).catch(() => undefined);
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  /** Runs `args` in a fresh container built from `over`, returning its output; always deleted. */
  async function runIn(args: string[], over: Partial<SpecOptions> = {}, user = ''): Promise<RunResult> {
    const id = `berth-oci-${process.pid}-${++seq}`;
    const bundle = join(tmp, 'bundle');
    const hostConfig = over.hostConfig ?? testHostConfig();
    const resolved = await resolveUser(user, hostConfig.GroupAdd, (p) => readFile(join(rootfs, p)).catch(() => undefined));
    const spec = await createSpec(testSpecOptions({
      id,
      args,
      env: ['PATH=/bin', 'HOSTNAME=' + id.slice(0, 12)],
      hostname: id.slice(0, 12),
      user: resolved,
      cgroupsPath: `${cgroupParent}/${id}`,
      config: testConfig({ User: user }),
      ...over,
      hostConfig,
    }));
    await writeFile(join(bundle, 'config.json'), specToJSON(spec));
    created.push(id);
    try {
      return await run(RUNC, ['--root', join(tmp, 'runc'), 'run', '--bundle', bundle, id]);
    } finally {
      await run(RUNC, ['--root', join(tmp, 'runc'), 'delete', '--force', id]);
      created.splice(created.indexOf(id), 1);
    }
  }

  const ok = (r: RunResult): string => {
    assert.equal(r.code, 0, `exit ${r.code}: ${r.stderr}`);
    return r.stdout;
  };

  it('runs as root with its groups by default, and as a named user', async () => {
    assert.equal(ok(await runIn(['id'])).trim(), 'uid=0(root) gid=0(root) groups=0(root),10(wheel)');
    // busybox id lists groups sorted.
    assert.equal(ok(await runIn(['id'], {}, 'app')).trim(), 'uid=1000(app) gid=1000(app) groups=10(wheel),29(audio),1000(app)');
    assert.equal(ok(await runIn(['id'], {}, '1234:29')).trim(), 'uid=1234 gid=29(audio) groups=29(audio)');
  });

  it('has exactly the default capabilities, seccomp filtering and no inheritable caps', async () => {
    const status = ok(await runIn(['cat', '/proc/self/status']));
    const field = (k: string): string | undefined => new RegExp(`^${k}:\\s*(\\S+)`, 'm').exec(status)?.[1];
    assert.equal(field('CapEff'), capMask(DEFAULT_CAPABILITIES));
    assert.equal(field('CapPrm'), capMask(DEFAULT_CAPABILITIES));
    assert.equal(field('CapBnd'), capMask(DEFAULT_CAPABILITIES));
    assert.equal(field('CapInh'), '0000000000000000');
    assert.equal(field('CapAmb'), '0000000000000000');
    assert.equal(field('Seccomp'), '2');
    assert.equal(field('NoNewPrivs'), '0');
  });

  it('blocks namespace creation through seccomp', async () => {
    const r = await runIn(['unshare', '-U', 'true']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr + r.stdout, /Operation not permitted/);
  });

  it('has the default /dev', async () => {
    const dev = ok(await runIn(['ls', '/dev'])).split(/\s+/).filter(Boolean);
    for (const d of ['full', 'mqueue', 'null', 'ptmx', 'pts', 'random', 'shm', 'tty', 'urandom', 'zero']) assert.ok(dev.includes(d), d);
    assert.ok(!dev.some((d) => /^(sd|vd|nvme|loop|mem|kmsg)/.test(d)), dev.join(' '));
    const shm = ok(await runIn(['df', '-k', '/dev/shm']));
    assert.match(shm, /\s65536\s/);
  });

  it('masks and write-protects dockerd’s paths', async () => {
    // /proc/interrupts exists on every kernel (unlike kcore); masked, it reads as /dev/null.
    assert.equal(ok(await runIn(['sh', '-c', 'wc -c < /proc/interrupts'])).trim(), '0');
    assert.equal(ok(await runIn(['sh', '-c', 'ls -A /sys/firmware | wc -l'])).trim(), '0');
    const w = await runIn(['sh', '-c', 'echo 1 > /proc/sys/kernel/ns_last_pid']);
    assert.notEqual(w.code, 0);
    assert.match(w.stderr, /Read-only file system/);
  });

  it('refuses writes to a read-only rootfs but not to /dev/shm', async () => {
    const hostConfig = testHostConfig({ ReadonlyRootfs: true });
    const r = await runIn(['touch', '/tmp/x'], { hostConfig });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Read-only file system/);
    ok(await runIn(['touch', '/dev/shm/x'], { hostConfig }));
  });

  it('gives a privileged container every capability and the host’s devices', async () => {
    const hostConfig = testHostConfig({ Privileged: true });
    const status = ok(await runIn(['cat', '/proc/self/status'], { hostConfig }));
    assert.equal(/^CapEff:\s*(\S+)/m.exec(status)?.[1], capMask(allCapabilities()));
    assert.equal(/^Seccomp:\s*(\S+)/m.exec(status)?.[1], '0');
    assert.notEqual(ok(await runIn(['sh', '-c', 'wc -c < /proc/interrupts'], { hostConfig })).trim(), '0');
    ok(await runIn(['sh', '-c', 'test -c /dev/mem || test -c /dev/kmsg'], { hostConfig }));
  });

  it('applies cap add/drop and no-new-privileges', async () => {
    const hostConfig = testHostConfig({ CapAdd: ['sys_admin'], CapDrop: ['ALL'], SecurityOpt: ['no-new-privileges'] });
    const status = ok(await runIn(['cat', '/proc/self/status'], { hostConfig }));
    assert.equal(/^CapEff:\s*(\S+)/m.exec(status)?.[1], capMask(['CAP_SYS_ADMIN']));
    assert.equal(/^NoNewPrivs:\s*(\S+)/m.exec(status)?.[1], '1');
    // With CAP_SYS_ADMIN the profile lets unshare through.
    ok(await runIn(['unshare', '-U', 'true'], { hostConfig }));
  });

  it('runs the init as pid 1 when asked', { skip: noInit }, async () => {
    const out = ok(await runIn(['ps', '-o', 'pid,args'], { initPath: INIT }));
    assert.match(out, /^\s*1\s+\/sbin\/docker-init -- ps/m);
  });

  it('sets the hostname, sysctls and rlimits', async () => {
    const hostConfig = testHostConfig({ Ulimits: [{ Name: 'nofile', Soft: 512, Hard: 1024 }] });
    const out = ok(await runIn(['sh', '-c', 'hostname; cat /proc/sys/net/ipv4/ip_unprivileged_port_start; ulimit -n; ulimit -Hn'], { hostConfig }));
    const [host, port, soft, hard] = out.trim().split('\n');
    assert.match(host ?? '', /^berth-oci-/);
    assert.equal(port, '0');
    assert.equal(soft, '512');
    assert.equal(hard, '1024');
  });
});
