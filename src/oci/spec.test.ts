import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BerthError } from '../pkg/errors.js';
import { allCapabilities, DEFAULT_CAPABILITIES, tweakCapabilities, validateCapabilities } from './caps.js';
import { capsFromMask, hostFacts, parseCpuList, parseProcLimits } from './host.js';
import { parseSecurityOpt } from './security.js';
import { createSpec, defaultDeviceRules, RLIM_INFINITY, specToJSON, type Mount } from './spec.js';
import { testHostConfig, testSpecOptions } from './testutil.js';
import { IdentityMapping } from '../pkg/idmap.js';

const byDest = (mounts: Mount[], dest: string): Mount | undefined => mounts.find((m) => m.destination === dest);

describe('createSpec defaults', () => {
  it('has dockerd’s default shape', async () => {
    const s = await createSpec(testSpecOptions());
    assert.equal(s.ociVersion, '1.0.2');
    assert.deepEqual(s.root, { path: 'rootfs', readonly: false });
    assert.equal(s.hostname, 'abc123');
    assert.deepEqual(s.process.args, ['sh']);
    assert.equal(s.process.cwd, '/');
    assert.equal(s.process.terminal, false);
    assert.deepEqual(s.process.user, { uid: 0, gid: 0, additionalGids: [0, 10] });
    assert.equal(s.process.oomScoreAdj, 0);
    assert.equal(s.process.noNewPrivileges, undefined);
    assert.equal(s.process.rlimits, undefined);
    assert.equal(s.process.apparmorProfile, undefined);
    assert.equal(s.linux.cgroupsPath, '/berth/c0ffee');
  });

  it('grants the 14 default capabilities, not inheritable/ambient', async () => {
    const s = await createSpec(testSpecOptions());
    const caps = s.process.capabilities!;
    assert.equal(DEFAULT_CAPABILITIES.length, 14);
    assert.deepEqual(caps.bounding, [...DEFAULT_CAPABILITIES]);
    assert.deepEqual(caps.effective, [...DEFAULT_CAPABILITIES]);
    assert.deepEqual(caps.permitted, [...DEFAULT_CAPABILITIES]);
    assert.equal(caps.inheritable, undefined);
    assert.equal(caps.ambient, undefined);
  });

  it('masks and read-only-mounts dockerd’s paths', async () => {
    const s = await createSpec(testSpecOptions());
    for (const p of ['/proc/acpi', '/proc/asound', '/proc/interrupts', '/proc/kcore', '/proc/keys', '/proc/latency_stats',
      '/proc/sched_debug', '/proc/scsi', '/proc/timer_list', '/proc/timer_stats', '/sys/devices/virtual/powercap', '/sys/firmware']) {
      assert.ok(s.linux.maskedPaths?.includes(p), p);
    }
    assert.deepEqual(s.linux.readonlyPaths, ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger']);
  });

  it('honours HostConfig.MaskedPaths/ReadonlyPaths when set', async () => {
    const s = await createSpec(testSpecOptions({ hostConfig: testHostConfig({ MaskedPaths: ['/proc/kcore'], ReadonlyPaths: [] }) }));
    assert.deepEqual(s.linux.maskedPaths, ['/proc/kcore']);
    assert.equal(s.linux.readonlyPaths, undefined);
  });

  it('mounts /proc, /dev, /dev/pts, /sys, cgroup, mqueue and a 64MiB /dev/shm', async () => {
    const s = await createSpec(testSpecOptions());
    assert.deepEqual(s.mounts.map((m) => m.destination), ['/proc', '/dev', '/dev/pts', '/sys', '/sys/fs/cgroup', '/dev/mqueue', '/dev/shm']);
    assert.deepEqual(byDest(s.mounts, '/dev')?.options, ['nosuid', 'strictatime', 'mode=755', 'size=65536k']);
    assert.deepEqual(byDest(s.mounts, '/dev/pts')?.options, ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5']);
    assert.ok(byDest(s.mounts, '/sys')?.options?.includes('ro'));
    assert.equal(byDest(s.mounts, '/sys/fs/cgroup')?.type, 'cgroup');
    assert.ok(byDest(s.mounts, '/sys/fs/cgroup')?.options?.includes('ro'));
    assert.deepEqual(byDest(s.mounts, '/dev/shm')?.options, ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=67108864']);
  });

  it('sizes /dev/shm from ShmSize and drops it for ipc none', async () => {
    let s = await createSpec(testSpecOptions({ hostConfig: testHostConfig({ ShmSize: 1 << 20 }) }));
    assert.ok(byDest(s.mounts, '/dev/shm')?.options?.includes('size=1048576'));
    s = await createSpec(testSpecOptions({ ipc: { mode: 'none' } }));
    assert.equal(byDest(s.mounts, '/dev/shm'), undefined);
    assert.ok(s.linux.namespaces.some((n) => n.type === 'ipc'));
  });

  it('has the default device cgroup rules and no extra devices', async () => {
    const s = await createSpec(testSpecOptions());
    assert.deepEqual(s.linux.devices, []);
    const rules = s.linux.resources?.devices ?? [];
    assert.deepEqual(rules[0], { allow: false, access: 'rwm' });
    const allowed = rules.filter((r) => r.allow).map((r) => `${r.type} ${r.major}:${r.minor} ${r.access}`);
    assert.deepEqual(allowed, ['c 1:5 rwm', 'c 1:3 rwm', 'c 1:9 rwm', 'c 1:8 rwm', 'c 5:0 rwm', 'c 5:1 rwm']);
    assert.ok(rules.some((r) => !r.allow && r.major === 10 && r.minor === 229));
    assert.deepEqual(rules, defaultDeviceRules());
  });

  it('creates mount, network, uts, pid and ipc namespaces (cgroup per cgroup version)', async () => {
    const s = await createSpec(testSpecOptions());
    const types = s.linux.namespaces.map((n) => n.type);
    assert.deepEqual(types.filter((t) => t !== 'cgroup'), ['mount', 'network', 'uts', 'pid', 'ipc']);
    assert.equal(types.includes('cgroup'), hostFacts.cgroupV2);
    const priv = await createSpec(testSpecOptions({ hostConfig: testHostConfig({ CgroupnsMode: 'private' }) }));
    assert.ok(priv.linux.namespaces.some((n) => n.type === 'cgroup'));
    await assert.rejects(createSpec(testSpecOptions({ hostConfig: testHostConfig({ CgroupnsMode: 'bogus' }) })), /invalid cgroup namespace mode/);
  });

  it('joins or shares namespaces per option', async () => {
    const s = await createSpec(testSpecOptions({
      network: { mode: 'host' },
      pid: { mode: 'path', path: '/proc/42/ns/pid' },
      ipc: { mode: 'host' },
      hostConfig: testHostConfig({ UTSMode: 'host' }),
    }));
    assert.deepEqual(s.linux.namespaces.filter((n) => n.type !== 'cgroup'), [{ type: 'mount' }, { type: 'pid', path: '/proc/42/ns/pid' }]);
    assert.equal(s.hostname, undefined);
    // Network sysctls only go with a private network namespace.
    assert.equal(s.linux.sysctl?.['net.ipv4.ip_unprivileged_port_start'], undefined);
  });

  it('under --userns-remap: a user namespace with the mappings (or joined by path), writable cgroups, no ping sysctl', async () => {
    const idMap = new IdentityMapping([{ containerID: 0, hostID: 100000, size: 65536 }], [{ containerID: 0, hostID: 200000, size: 65536 }]);
    const s = await createSpec(testSpecOptions({ idMap, userns: {} }));
    assert.deepEqual(s.linux.namespaces.filter((n) => n.type === 'user'), [{ type: 'user' }]);
    assert.deepEqual(s.linux.uidMappings, [{ containerID: 0, hostID: 100000, size: 65536 }]);
    assert.deepEqual(s.linux.gidMappings, [{ containerID: 0, hostID: 200000, size: 65536 }]);
    assert.ok(!byDest(s.mounts, '/sys/fs/cgroup')?.options?.includes('ro'));
    assert.equal(s.linux.sysctl?.['net.ipv4.ping_group_range'], undefined);
    const joined = await createSpec(testSpecOptions({ idMap, userns: { path: '/proc/42/ns/user' } }));
    assert.deepEqual(joined.linux.namespaces.filter((n) => n.type === 'user'), [{ type: 'user', path: '/proc/42/ns/user' }]);
    assert.deepEqual(joined.linux.uidMappings, s.linux.uidMappings);
    // --userns=host: no user namespace, but the cgroup mount stays writable as in dockerd.
    const host = await createSpec(testSpecOptions({ idMap }));
    assert.ok(!host.linux.namespaces.some((n) => n.type === 'user'));
    assert.equal(host.linux.uidMappings, undefined);
    assert.ok(!byDest(host.mounts, '/sys/fs/cgroup')?.options?.includes('ro'));
  });

  it('sets dockerd’s default sysctls, domainname, then HostConfig.Sysctls', async () => {
    const s = await createSpec(testSpecOptions({
      domainname: 'example.com',
      hostConfig: testHostConfig({ Sysctls: { 'net.ipv4.ip_unprivileged_port_start': '1024', 'kernel.msgmax': '1' } }),
    }));
    if (hostFacts.hasPingGroupRange) assert.equal(s.linux.sysctl?.['net.ipv4.ping_group_range'], '0 2147483647');
    assert.equal(s.linux.sysctl?.['net.ipv4.ip_unprivileged_port_start'], '1024');
    assert.equal(s.linux.sysctl?.['kernel.domainname'], 'example.com');
    assert.equal(s.linux.sysctl?.['kernel.msgmax'], '1');
  });

  it('applies a default seccomp profile, none for seccomp=unconfined', async () => {
    const s = await createSpec(testSpecOptions());
    assert.equal(s.linux.seccomp?.defaultAction, 'SCMP_ACT_ERRNO');
    const u = await createSpec(testSpecOptions({ hostConfig: testHostConfig({ SecurityOpt: ['seccomp=unconfined'] }) }));
    assert.equal(u.linux.seccomp, undefined);
  });

  it('sets noNewPrivileges only from SecurityOpt', async () => {
    for (const opt of ['no-new-privileges', 'no-new-privileges=true', 'no-new-privileges:true']) {
      const s = await createSpec(testSpecOptions({ hostConfig: testHostConfig({ SecurityOpt: [opt] }) }));
      assert.equal(s.process.noNewPrivileges, true, opt);
    }
    await assert.rejects(createSpec(testSpecOptions({ hostConfig: testHostConfig({ SecurityOpt: ['bogus'] }) })), /invalid --security-opt 1: "bogus"/);
  });

  it('sets terminal, console size, oom score, annotations and resources', async () => {
    const s = await createSpec(testSpecOptions({
      config: { ...testSpecOptions().config, Tty: true },
      hostConfig: testHostConfig({
        ConsoleSize: [24, 80], OomScoreAdj: 500, Annotations: { a: 'b' }, Memory: 1 << 26, NanoCpus: 1.5e9, PidsLimit: 0, CpuShares: 512,
      }),
    }));
    assert.equal(s.process.terminal, true);
    assert.deepEqual(s.process.consoleSize, { height: 24, width: 80 });
    assert.equal(s.process.oomScoreAdj, 500);
    assert.deepEqual(s.annotations, { a: 'b' });
    assert.equal(s.linux.resources?.memory?.limit, 1 << 26);
    assert.deepEqual(s.linux.resources?.cpu, { shares: 512, period: 100000, quota: 150000 });
    assert.deepEqual(s.linux.resources?.pids, { limit: -1 });
  });

  it('sets rlimits from Ulimits, clamped to the host’s hard limit', async () => {
    const host = hostFacts.rlimits.get('nofile')?.hard ?? Infinity;
    const s = await createSpec(testSpecOptions({
      hostConfig: testHostConfig({ Ulimits: [{ Name: 'nofile', Soft: 1024, Hard: Number.MAX_SAFE_INTEGER }] }),
      defaultUlimits: [{ Name: 'nofile', Soft: 1, Hard: 1 }, { Name: 'core', Soft: -1, Hard: -1 }],
    }));
    const nofile = s.process.rlimits?.find((r) => r.type === 'RLIMIT_NOFILE');
    assert.deepEqual(nofile, { type: 'RLIMIT_NOFILE', soft: Math.min(1024, host), hard: host === Infinity ? RLIM_INFINITY : host });
    const core = s.process.rlimits?.find((r) => r.type === 'RLIMIT_CORE');
    assert.ok(core);
    assert.ok(specToJSON(s).length > 0);
  });

  it('prepends the init and binds it read-only', async () => {
    const s = await createSpec(testSpecOptions({ initPath: '/usr/bin/docker-init', args: ['top', '-b'] }));
    assert.deepEqual(s.process.args, ['/sbin/docker-init', '--', 'top', '-b']);
    assert.deepEqual(byDest(s.mounts, '/sbin/docker-init'), { destination: '/sbin/docker-init', type: 'bind', source: '/usr/bin/docker-init', options: ['bind', 'ro'] });
    const hostPid = await createSpec(testSpecOptions({ initPath: '/usr/bin/docker-init', pid: { mode: 'host' } }));
    assert.deepEqual(hostPid.process.args, ['sh']);
  });
});

describe('createSpec mounts', () => {
  const bind = (destination: string, source = '/tmp/x'): { destination: string; source: string; type: string; options: string[] } =>
    ({ destination, source, type: 'bind', options: ['rbind', 'rprivate'] });

  it('replaces defaults at the same destination and appends daemon mounts after, parents first', async () => {
    const s = await createSpec(testSpecOptions({
      mounts: [bind('/etc/hosts'), bind('/a/b/c'), bind('/dev/shm', '/var/lib/berth/shm'), bind('/a'), bind('/etc/resolv.conf')],
    }));
    assert.deepEqual(s.mounts.map((m) => m.destination), [
      '/proc', '/dev', '/dev/pts', '/sys', '/sys/fs/cgroup', '/dev/mqueue',
      '/a', '/etc/hosts', '/dev/shm', '/etc/resolv.conf', '/a/b/c',
    ]);
    assert.equal(byDest(s.mounts, '/dev/shm')?.source, '/var/lib/berth/shm');
  });

  it('a user /dev hides the defaults beneath it; a mount under /dev hides nothing', async () => {
    let s = await createSpec(testSpecOptions({ mounts: [bind('/dev', '/dev')] }));
    assert.deepEqual(s.mounts.map((m) => m.destination), ['/proc', '/sys', '/sys/fs/cgroup', '/dev']);
    s = await createSpec(testSpecOptions({ mounts: [bind('/dev/fuse', '/dev/fuse')] }));
    assert.equal(s.mounts.length, 8);
  });

  it('read-only rootfs makes our mounts read-only except the writable pseudo-filesystems', async () => {
    const s = await createSpec(testSpecOptions({ hostConfig: testHostConfig({ ReadonlyRootfs: true }), mounts: [bind('/data')] }));
    assert.equal(s.root.readonly, true);
    for (const d of ['/proc', '/dev', '/dev/pts', '/dev/mqueue', '/dev/shm']) assert.ok(!byDest(s.mounts, d)?.options?.includes('ro'), d);
    assert.ok(byDest(s.mounts, '/sys')?.options?.includes('ro'));
    assert.ok(!byDest(s.mounts, '/data')?.options?.includes('ro'));
  });
});

describe('createSpec privileged', () => {
  it('gets all caps, rw sysfs/cgroup, no masking, no seccomp, all devices', async () => {
    const s = await createSpec(testSpecOptions({ hostConfig: testHostConfig({ Privileged: true, ReadonlyRootfs: true }) }));
    assert.deepEqual(s.process.capabilities?.bounding, allCapabilities());
    assert.ok(allCapabilities().includes('CAP_SYS_ADMIN'));
    assert.equal(s.linux.maskedPaths, undefined);
    assert.equal(s.linux.readonlyPaths, undefined);
    assert.equal(s.linux.seccomp, undefined);
    assert.ok(!byDest(s.mounts, '/sys')?.options?.includes('ro'));
    assert.ok(!byDest(s.mounts, '/sys/fs/cgroup')?.options?.includes('ro'));
    assert.deepEqual(s.linux.resources?.devices?.at(-1), { allow: true, access: 'rwm' });
    const null_ = s.linux.devices?.find((d) => d.path === '/dev/null');
    assert.deepEqual([null_?.type, null_?.major, null_?.minor], ['c', 1, 3]);
    assert.ok(!s.linux.devices?.some((d) => d.path.startsWith('/dev/pts/') || d.path === '/dev/console'));
  });
});

describe('capabilities', () => {
  it('adds and drops, with or without CAP_, any case', () => {
    const caps = tweakCapabilities(DEFAULT_CAPABILITIES, ['net_admin', 'CAP_SYS_PTRACE'], ['chown', 'CAP_KILL'], false);
    assert.ok(caps.includes('CAP_NET_ADMIN') && caps.includes('CAP_SYS_PTRACE'));
    assert.ok(!caps.includes('CAP_CHOWN') && !caps.includes('CAP_KILL'));
    assert.equal(caps.length, 14);
  });

  it('handles ALL', () => {
    assert.deepEqual(tweakCapabilities(DEFAULT_CAPABILITIES, ['NET_ADMIN'], ['ALL'], false), ['CAP_NET_ADMIN']);
    assert.deepEqual(tweakCapabilities(DEFAULT_CAPABILITIES, null, ['all'], false), []);
    const all = tweakCapabilities(DEFAULT_CAPABILITIES, ['ALL'], ['MKNOD'], false);
    assert.deepEqual(all, allCapabilities().filter((c) => c !== 'CAP_MKNOD'));
  });

  it('rejects unknown capabilities with dockerd’s message', () => {
    assert.throws(() => validateCapabilities(['CAP_FOO'], null), (e: unknown) =>
      e instanceof BerthError && e.kind === 'invalid-parameter' && e.message === 'invalid CapAdd: unknown capability: "CAP_FOO"');
    assert.throws(() => validateCapabilities(null, ['bar']), { message: 'invalid CapDrop: unknown capability: "CAP_BAR"' });
    assert.doesNotThrow(() => validateCapabilities(['all', 'net_admin'], ['ALL']));
  });

  it('rejects known capabilities this environment lacks', () => {
    const missing = ['CAP_SYS_ADMIN', 'CAP_SYS_RESOURCE', 'CAP_BPF'].find((c) => !allCapabilities().includes(c));
    if (!missing) return;
    assert.throws(() => validateCapabilities([missing], null), /capability not supported by your kernel or not available/);
  });

  it('reads capability masks', () => {
    assert.deepEqual(capsFromMask('5', 40), ['CAP_CHOWN', 'CAP_DAC_READ_SEARCH']);
    assert.equal(capsFromMask('1fffeffffff', 40).length, 40);
    assert.ok(!capsFromMask('1fffeffffff', 40).includes('CAP_SYS_RESOURCE'));
  });
});

describe('host parsing', () => {
  it('parses cpu lists and limits', () => {
    assert.deepEqual(parseCpuList('0-2,5\n'), [0, 1, 2, 5]);
    const l = parseProcLimits('Limit                     Soft Limit           Hard Limit           Units\nMax open files            1024                 4096                 files\nMax core file size        0                    unlimited            bytes\n');
    assert.deepEqual(l.get('nofile'), { soft: 1024, hard: 4096 });
    assert.deepEqual(l.get('core'), { soft: 0, hard: Infinity });
  });

  it('parses security options', () => {
    assert.deepEqual(parseSecurityOpt(['seccomp=unconfined', 'apparmor=foo', 'label=disable', 'writable-cgroups=false']), {
      noNewPrivileges: false, seccompProfile: 'unconfined', apparmorProfile: 'foo', writableCgroups: false, labelOpts: ['disable'],
    });
    assert.equal(parseSecurityOpt(['no-new-privileges=false'], true).noNewPrivileges, false);
    assert.throws(() => parseSecurityOpt(['no-new-privileges=maybe']), /invalid --security-opt 2: "no-new-privileges=maybe"/);
    assert.throws(() => parseSecurityOpt(['foo=bar']), /invalid --security-opt 2/);
  });

  it('writes RLIM_INFINITY exactly', () => {
    const json = specToJSON({ ociVersion: '1.0.2', process: { user: { uid: 0, gid: 0 }, args: [], cwd: '/', rlimits: [{ type: 'RLIMIT_CORE', soft: RLIM_INFINITY, hard: 5 }] }, root: { path: 'rootfs' }, mounts: [], linux: { namespaces: [] } });
    assert.match(json, /"soft":18446744073709551615,"hard":5/);
  });
});
