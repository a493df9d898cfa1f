import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { containerSeccomp, defaultSeccompProfile, loadSeccompProfile, type LinuxSeccomp } from './seccomp.js';

const DEFAULT_CAPS = ['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE'];

const allowed = (p: LinuxSeccomp, name: string): boolean =>
  (p.syscalls ?? []).some((s) => s.action === 'SCMP_ACT_ALLOW' && !s.args && s.names.includes(name));
const rulesFor = (p: LinuxSeccomp, name: string) => (p.syscalls ?? []).filter((s) => s.names.includes(name));

describe('default seccomp profile', () => {
  const p = defaultSeccompProfile(DEFAULT_CAPS, 'x64');

  it('denies by default with EPERM on x86_64 and its sub-architectures', () => {
    assert.equal(p.defaultAction, 'SCMP_ACT_ERRNO');
    assert.equal(p.defaultErrnoRet, 1);
    assert.deepEqual(p.architectures, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
    assert.deepEqual(defaultSeccompProfile(DEFAULT_CAPS, 'arm64').architectures, ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM']);
  });

  it('allows the common syscalls and arch-specific ones', () => {
    for (const s of ['read', 'write', 'openat', 'execve', 'futex', 'socketpair']) assert.ok(allowed(p, s), s);
    assert.ok(allowed(p, 'chroot')); // CAP_SYS_CHROOT is a default cap
    assert.ok(allowed(p, 'arch_prctl'));
    assert.ok(allowed(p, 'modify_ldt'));
    assert.ok(!allowed(p, 'set_tls'));
    assert.ok(allowed(defaultSeccompProfile(DEFAULT_CAPS, 'arm64'), 'set_tls'));
    assert.ok(!allowed(defaultSeccompProfile(DEFAULT_CAPS, 'arm64'), 'arch_prctl'));
  });

  it('gates privileged syscalls on capabilities', () => {
    for (const s of ['reboot', 'mount', 'unshare', 'setns', 'init_module', 'acct', 'kcmp', 'iopl', 'settimeofday', 'vhangup', 'mbind', 'syslog', 'bpf', 'perf_event_open', 'open_by_handle_at']) {
      assert.ok(!allowed(p, s), s);
    }
    assert.ok(allowed(defaultSeccompProfile([...DEFAULT_CAPS, 'CAP_SYS_BOOT'], 'x64'), 'reboot'));
    const admin = defaultSeccompProfile([...DEFAULT_CAPS, 'CAP_SYS_ADMIN'], 'x64');
    for (const s of ['mount', 'umount2', 'unshare', 'setns', 'clone', 'clone3', 'sethostname']) assert.ok(allowed(admin, s), s);
    assert.ok(allowed(defaultSeccompProfile([...DEFAULT_CAPS, 'CAP_SYS_PTRACE'], 'x64'), 'kcmp'));
    assert.ok(allowed(defaultSeccompProfile([], 'x64'), 'read'));
    assert.ok(!allowed(defaultSeccompProfile([], 'x64'), 'chroot'));
  });

  it('allows ptrace on kernels >= 4.8 without CAP_SYS_PTRACE', () => {
    assert.ok(allowed(p, 'ptrace'));
  });

  it('restricts personality to the known-safe personas', () => {
    const values = rulesFor(p, 'personality').map((r) => {
      assert.equal(r.args?.length, 1);
      assert.equal(r.args?.[0]?.op, 'SCMP_CMP_EQ');
      assert.equal(r.args?.[0]?.index, 0);
      return r.args?.[0]?.value;
    });
    assert.deepEqual(values, [0, 8, 0x20000, 0x20008, 0xffffffff]);
  });

  it('lets clone create no namespaces and makes clone3 ENOSYS without CAP_SYS_ADMIN', () => {
    const clone = rulesFor(p, 'clone');
    assert.equal(clone.length, 1);
    assert.deepEqual(clone[0]?.args, [{ index: 0, value: 0x7e020000, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }]);
    assert.deepEqual(rulesFor(p, 'clone3'), [{ names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 }]);
    const admin = defaultSeccompProfile(['CAP_SYS_ADMIN'], 'x64');
    assert.ok(rulesFor(admin, 'clone').every((r) => !r.args));
    assert.ok(rulesFor(admin, 'clone3').every((r) => r.action === 'SCMP_ACT_ALLOW'));
  });

  it('allows socket for every family but AF_ALG and AF_VSOCK', () => {
    const args = rulesFor(p, 'socket').map((r) => r.args?.[0]);
    assert.deepEqual(args, [
      { index: 0, value: 38, op: 'SCMP_CMP_LT' },
      { index: 0, value: 39, op: 'SCMP_CMP_EQ' },
      { index: 0, value: 40, op: 'SCMP_CMP_GT' },
    ]);
  });
});

describe('containerSeccomp', () => {
  it('follows SecurityOpt seccomp= and privilege', () => {
    assert.equal(containerSeccomp({ profile: 'unconfined', privileged: false, caps: DEFAULT_CAPS }), undefined);
    assert.equal(containerSeccomp({ privileged: true, caps: DEFAULT_CAPS }), undefined);
    assert.ok(containerSeccomp({ privileged: false, caps: DEFAULT_CAPS })?.syscalls?.length);
    assert.ok(containerSeccomp({ profile: 'builtin', privileged: false, caps: DEFAULT_CAPS, daemonProfile: 'unconfined' }));
    assert.equal(containerSeccomp({ privileged: false, caps: DEFAULT_CAPS, daemonProfile: 'unconfined' }), undefined);
    const custom = containerSeccomp({
      profile: JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ name: 'mkdir', action: 'SCMP_ACT_ERRNO' }] }),
      privileged: true, caps: DEFAULT_CAPS, arch: 'x64',
    });
    assert.deepEqual(custom, { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }] });
  });

  it('rejects malformed custom profiles', () => {
    assert.throws(() => loadSeccompProfile('{', []), /Decoding seccomp profile failed/);
    assert.throws(() => loadSeccompProfile(JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86'], archMap: [{ architecture: 'SCMP_ARCH_X86_64', subArchitectures: null }] }), []), /both 'architectures' and 'archMap'/);
    assert.throws(() => loadSeccompProfile(JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ name: 'a', names: ['b'], action: 'SCMP_ACT_ALLOW' }] }), []), /both 'name' and 'names'/);
    assert.equal(loadSeccompProfile('{}', []), undefined);
  });
});
