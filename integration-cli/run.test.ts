// `docker run` with the real CLI: attached output, exit codes, detached runs, --rm, the process's
// environment, user, hostname, names, read-only rootfs, capabilities, --init, stdin, networking.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { useDaemon } from '../integration/harness.js';
import { importBusybox } from '../integration/fixtures.js';
import { dockerFails, dockerOk, dockerOut, inspectField, show, waitLogs } from './helpers.js';

const ctx = useDaemon({ setup: async (d) => void (await importBusybox(d)) });

/** The capability sets of the test process itself (root on the host). */
async function hostCap(field: 'CapEff' | 'CapBnd'): Promise<string> {
  const status = await readFile('/proc/self/status', 'utf8');
  return new RegExp(`^${field}:\\s*([0-9a-f]+)$`, 'm').exec(status)![1]!;
}

test('attached run passes stdout and stderr apart', async () => {
  const args = ['run', '--rm', 'busybox', 'sh', '-c', 'echo out; echo err >&2'];
  const r = await dockerOk(ctx.daemon, args);
  assert.equal(r.stdout, 'out\n', show(args, r));
  assert.equal(r.stderr, 'err\n', show(args, r));
});

test('the exit code of the process is the exit code of docker run', async () => {
  await dockerFails(ctx.daemon, ['run', '--rm', 'busybox', 'sh', '-c', 'exit 3'], 3);
  await dockerFails(ctx.daemon, ['run', '--rm', 'busybox', 'false'], 1);
  await dockerFails(ctx.daemon, ['run', '--rm', 'busybox', 'sh', '-c', 'exit 255'], 255);
});

test('a command that does not exist exits 127 with runc\'s message', async () => {
  const r = await dockerFails(ctx.daemon, ['run', '--name', 'nocmd', 'busybox', 'nosuchcmd'], 127);
  assert.match(r.stderr, /^docker: Error response from daemon: failed to create task for container: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: .*exec: "nosuchcmd": executable file not found in \$PATH: unknown/m);
  assert.match(r.stderr, /Run 'docker run --help' for more information/);
  // The container was created and never ran.
  assert.equal(await inspectField(ctx.daemon, 'nocmd', '{{.State.Status}} {{.State.ExitCode}}'), 'created 127');
  assert.match(await inspectField(ctx.daemon, 'nocmd', '{{.State.Error}}'), /executable file not found in \$PATH/);
  await dockerOk(ctx.daemon, ['rm', 'nocmd']);
  // A path that is not executable: 126; with --rm the failed container is removed.
  await dockerFails(ctx.daemon, ['run', '--rm', '--name', 'noexec', 'busybox', '/etc/passwd'], 126, /exec: "\/etc\/passwd": permission denied: unknown/);
  await dockerFails(ctx.daemon, ['inspect', 'noexec'], 1, 'Error: No such object: noexec');
});

test('an unknown image exits 125', async () => {
  // On a registry that is not there (the CLI pulls a missing image first; tests stay off the Hub).
  const r = await dockerFails(ctx.daemon, ['run', '--rm', '127.0.0.1:1/nosuch'], 125);
  assert.match(r.stderr, /^Unable to find image '127.0.0.1:1\/nosuch:latest' locally$/m);
  assert.match(r.stderr, /^docker: Error response from daemon: Get "http:\/\/127.0.0.1:1\/v2\/nosuch\/manifests\/latest": connect ECONNREFUSED/m);
  // Nothing was created.
  assert.equal(await dockerOut(ctx.daemon, ['ps', '-aq', '--filter', 'ancestor=127.0.0.1:1/nosuch']), '');
});

test('run -d prints the ID; docker logs shows the output', async () => {
  const id = await dockerOut(ctx.daemon, ['run', '-d', '--name', 'bg', 'busybox', 'sh', '-c', 'echo hello; echo oops >&2; sleep 60']);
  assert.match(id, /^[0-9a-f]{64}$/);
  const logs = await waitLogs(ctx.daemon, 'bg', 'oops');
  assert.ok(logs.includes('hello'));
  const r = await dockerOk(ctx.daemon, ['logs', 'bg']);
  assert.equal(r.stdout, 'hello\n');
  assert.equal(r.stderr, 'oops\n');
  assert.equal(await inspectField(ctx.daemon, 'bg', '{{.Id}}'), id);
  await dockerOk(ctx.daemon, ['rm', '-f', 'bg']);
});

test('--rm removes the container after it exits, whatever the exit code', async () => {
  await dockerOk(ctx.daemon, ['run', '--rm', '--name', 'gone', 'busybox', 'true']);
  await dockerFails(ctx.daemon, ['inspect', 'gone'], 1, 'Error: No such object: gone');
  await dockerFails(ctx.daemon, ['run', '--rm', '--name', 'gone2', 'busybox', 'sh', '-c', 'exit 2'], 2);
  await dockerFails(ctx.daemon, ['inspect', 'gone2'], 1, 'Error: No such object: gone2');
});

test('-e, -w, --hostname, and the default environment', async () => {
  const out = await dockerOut(ctx.daemon, [
    'run', '--rm', '-e', 'FOO=bar', '-e', 'EMPTY=', '-w', '/tmp/work', '--hostname', 'myhost',
    'busybox', 'sh', '-c', 'echo "$FOO|$EMPTY|$(pwd)|$(hostname)|$HOSTNAME|$HOME|$PATH"; cat /etc/hostname',
  ]);
  assert.equal(out, 'bar||/tmp/work|myhost|myhost|/root|/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\nmyhost');
  // Without --hostname the hostname is the short ID.
  const id = await dockerOut(ctx.daemon, ['run', '-d', 'busybox', 'hostname']);
  await dockerOk(ctx.daemon, ['wait', id]);
  assert.equal(await dockerOut(ctx.daemon, ['logs', id]), id.slice(0, 12));
  await dockerOk(ctx.daemon, ['rm', id]);
});

test('-u by name, by uid, and uid:gid', async () => {
  assert.equal(await dockerOut(ctx.daemon, ['run', '--rm', '-u', 'user', 'busybox', 'id']), 'uid=1000(user) gid=1000(user) groups=1000(user)');
  assert.equal(await dockerOut(ctx.daemon, ['run', '--rm', '-u', '1000', 'busybox', 'sh', '-c', 'id -u; id -g; echo $HOME']), '1000\n1000\n/home/user');
  assert.equal(await dockerOut(ctx.daemon, ['run', '--rm', '-u', '1000:1', 'busybox', 'id']), 'uid=1000(user) gid=1(daemon) groups=1(daemon)');
  assert.equal(await dockerOut(ctx.daemon, ['run', '--rm', '-u', '4242', 'busybox', 'id', '-u']), '4242');
  assert.equal(await dockerOut(ctx.daemon, ['run', '--rm', 'busybox', 'id', '-u']), '0');
  const r = await dockerFails(ctx.daemon, ['run', '--rm', '-u', 'nosuchuser', 'busybox', 'id'], 125);
  assert.match(r.stderr, /^docker: Error response from daemon: unable to find user nosuchuser: no matching entries in passwd file$/m, show(['run', '-u', 'nosuchuser'], r));
  assert.doesNotMatch(r.stderr, /Error waiting for container/);
});

test('--name conflicts exit 125 with dockerd\'s message', async () => {
  const id = await dockerOut(ctx.daemon, ['create', '--name', 'taken', 'busybox']);
  const r = await dockerFails(ctx.daemon, ['run', '--name', 'taken', 'busybox', 'true'], 125);
  assert.ok(
    r.stderr.includes(
      `docker: Error response from daemon: Conflict. The container name "/taken" is already in use by container "${id}". You have to remove (or rename) that container to be able to reuse that name.`,
    ),
    show(['run', '--name', 'taken'], r),
  );
  // docker create reports daemon errors with exit code 1.
  await dockerFails(ctx.daemon, ['create', '--name', 'taken', 'busybox'], 1, /^Error response from daemon: Conflict\. The container name "\/taken" is already in use/);
  await dockerFails(ctx.daemon, ['run', '--rm', '--name', 'bad/name', 'busybox', 'true'], 125, 'Invalid container name (bad/name), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed');
  await dockerOk(ctx.daemon, ['rm', 'taken']);
  // Free again.
  await dockerOk(ctx.daemon, ['run', '--rm', '--name', 'taken', 'busybox', 'true']);
});

test('--read-only makes the root filesystem read-only, not /tmp-less mounts', async () => {
  const r = await dockerFails(ctx.daemon, ['run', '--rm', '--read-only', 'busybox', 'touch', '/x'], 1);
  assert.equal(r.stderr, 'touch: /x: Read-only file system\n');
  await dockerOk(ctx.daemon, ['run', '--rm', 'busybox', 'touch', '/x']);
  assert.equal(await dockerOut(ctx.daemon, ['run', '--rm', '--read-only', 'busybox', 'sh', '-c', 'echo x > /dev/shm/f && cat /dev/shm/f']), 'x');
  assert.equal(await dockerOut(ctx.daemon, ['inspect', '-f', '{{.HostConfig.ReadonlyRootfs}}', await dockerOut(ctx.daemon, ['create', '--read-only', 'busybox'])]), 'true');
});

test('capabilities: default set, --privileged, --cap-add and --cap-drop', async () => {
  const capEff = async (...flags: string[]) => {
    const out = await dockerOut(ctx.daemon, ['run', '--rm', ...flags, 'busybox', 'grep', 'CapEff', '/proc/self/status']);
    return /^CapEff:\s*([0-9a-f]+)$/.exec(out)?.[1];
  };
  // dockerd's default: CHOWN DAC_OVERRIDE FSETID FOWNER MKNOD NET_RAW SETGID SETUID SETFCAP
  // SETPCAP NET_BIND_SERVICE SYS_CHROOT KILL AUDIT_WRITE.
  assert.equal(await capEff(), '00000000a80425fb');
  // Privileged: everything the host has.
  assert.equal(await capEff('--privileged'), await hostCap('CapBnd'));
  assert.equal(await capEff('--cap-drop', 'ALL'), '0000000000000000');
  assert.equal(await capEff('--cap-drop', 'ALL', '--cap-add', 'NET_ADMIN', '--cap-add', 'CAP_SYS_TIME'), '0000000002001000');
  assert.equal(await capEff('--cap-drop', 'chown'), '00000000a80425fa');
  assert.equal(await capEff('--cap-add', 'SYS_ADMIN'), '00000000a82425fb');
  // The effect, not just the mask: chown needs CAP_CHOWN.
  await dockerFails(ctx.daemon, ['run', '--rm', '--cap-drop', 'CHOWN', 'busybox', 'chown', '1000', '/tmp'], 1, /Operation not permitted/);
  await dockerFails(ctx.daemon, ['run', '--rm', '--cap-add', 'BOGUS', 'busybox', 'true'], 125, 'invalid CapAdd: unknown capability: "CAP_BOGUS"');
  // Privileged containers see the host's devices.
  assert.match(await dockerOut(ctx.daemon, ['run', '--rm', '--privileged', 'busybox', 'ls', '/dev']), /^(loop|tty)\d+$/m);
  assert.doesNotMatch(await dockerOut(ctx.daemon, ['run', '--rm', 'busybox', 'ls', '/dev']), /^tty\d+$/m);
});

test('--init runs docker-init as pid 1', async () => {
  const out = await dockerOut(ctx.daemon, ['run', '--rm', '--init', 'busybox', 'sh', '-c', 'cat /proc/1/cmdline | tr "\\0" " "; echo; echo $$']);
  const [cmdline, pid] = out.split('\n');
  assert.match(cmdline!, /^\/sbin\/docker-init -- sh -c /);
  assert.notEqual(pid, '1');
  // Without it the command itself is pid 1.
  assert.equal(await dockerOut(ctx.daemon, ['run', '--rm', 'busybox', 'sh', '-c', 'echo $$']), '1');
  // The exit code goes through the init.
  await dockerFails(ctx.daemon, ['run', '--rm', '--init', 'busybox', 'sh', '-c', 'exit 9'], 9);
});

test('-i with piped stdin', async () => {
  const r = await dockerOk(ctx.daemon, ['run', '-i', '--rm', 'busybox', 'cat'], { input: 'hi\n' });
  assert.equal(r.stdout, 'hi\n');
  const big = 'x'.repeat(200_000) + '\n';
  const r2 = await dockerOk(ctx.daemon, ['run', '-i', '--rm', 'busybox', 'wc', '-c'], { input: big });
  assert.equal(r2.stdout.trim(), String(big.length));
  // Without -i the container's stdin is empty.
  assert.equal((await dockerOk(ctx.daemon, ['run', '--rm', 'busybox', 'cat'], { input: 'ignored\n' })).stdout, '');
  // stdin EOF ends the process and the exit code is its own.
  await dockerFails(ctx.daemon, ['run', '-i', '--rm', 'busybox', 'sh', '-c', 'read x; exit $x'], 7, undefined, { input: '7\n' });
});

test('--network none and --network host', async () => {
  const ifaces = (text: string) =>
    text
      .split('\n')
      .slice(2)
      .map((l) => l.split(':')[0]!.trim())
      .filter(Boolean)
      .sort();
  const none = ifaces(await dockerOut(ctx.daemon, ['run', '--rm', '--network', 'none', 'busybox', 'cat', '/proc/net/dev']));
  assert.deepEqual(none, ['lo']);
  // The host's interfaces; bridges and veths come and go with other daemons' containers.
  const stable = (names: string[]) => names.filter((n) => !/^(veth|bt|berth|br-|docker)/.test(n));
  const host = ifaces(await dockerOut(ctx.daemon, ['run', '--rm', '--network', 'host', 'busybox', 'cat', '/proc/net/dev']));
  assert.deepEqual(stable(host), stable(ifaces(await readFile('/proc/net/dev', 'utf8'))));
  assert.ok(host.length > 1, host.join(' '));
  assert.equal(await dockerOut(ctx.daemon, ['run', '--rm', '--network', 'host', 'busybox', 'hostname']), hostname());
  assert.match(await dockerOut(ctx.daemon, ['run', '--rm', '--network', 'none', 'busybox', 'ip', 'addr']), /^1: lo: <LOOPBACK,UP,LOWER_UP>/m);
  assert.equal(
    await dockerOut(ctx.daemon, ['inspect', '-f', '{{.HostConfig.NetworkMode}}', await dockerOut(ctx.daemon, ['create', '--network', 'none', 'busybox'])]),
    'none',
  );
  // An unknown network fails the start, not the create (no attempt to pull the image).
  const before = await dockerOut(ctx.daemon, ['ps', '-aq']);
  const r = await dockerFails(ctx.daemon, ['run', '--rm', '--network', 'nosuchnet', 'busybox', 'true'], 125);
  assert.match(r.stderr, /^docker: Error response from daemon: network nosuchnet not found$/m, show(['run', '--network', 'nosuchnet'], r));
  assert.doesNotMatch(r.stderr, /Unable to find image/);
  assert.equal(await dockerOut(ctx.daemon, ['ps', '-aq']), before, '--rm removed the container that failed to start');
});
