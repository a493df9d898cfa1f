import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDockerfile } from './parser.js';
import { InstructionError, UnknownInstructionError, parseInstructions, type Instruction } from './instructions.js';
import { suggest } from './bflags.js';

const parse = (text: string) => parseInstructions(parseDockerfile(text).nodes);
const only = (line: string): Instruction => parse(`FROM x\n${line}`).stages[0].commands[0];

test('stages: names lower-cased, platform, meta args before the first FROM, comments', () => {
  const r = parse([
    'ARG VERSION=1.0',
    'ARG BASE',
    '# build the app',
    'FROM --platform=$BUILDPLATFORM golang:${VERSION} AS Build',
    'RUN make',
    'FROM scratch',
    'COPY --from=build /app /app',
  ].join('\n'));
  assert.deepEqual(r.metaArgs.map((a) => a.args), [[{ key: 'VERSION', value: '1.0', comment: '' }], [{ key: 'BASE', value: undefined, comment: '' }]]);
  assert.equal(r.stages.length, 2);
  const [build, final] = r.stages;
  assert.deepEqual(
    [build.name, build.baseName, build.platform, build.sourceCode, build.comment, build.location],
    ['build', 'golang:${VERSION}', '$BUILDPLATFORM', 'FROM --platform=$BUILDPLATFORM golang:${VERSION} AS Build', 'the app', { startLine: 4, endLine: 4 }],
  );
  assert.deepEqual([final.name, final.baseName, final.commands.length], ['', 'scratch', 1]);
  assert.equal(build.commands[0].code, 'RUN make');
});

test('RUN: shell and exec forms, heredoc files, mounts, network, security, device', () => {
  const shell = only('RUN --mount=type=cache,target=/root/.cache,sharing=locked --mount=type=bind,from=build,source=/out,target=/in --network=none apt-get update && \\\n  apt-get install -y x');
  assert.equal(shell.kind, 'RUN');
  if (shell.kind !== 'RUN') return;
  assert.deepEqual(shell.cmdLine, ['apt-get update &&   apt-get install -y x']);
  assert.equal(shell.prependShell, true);
  assert.deepEqual(shell.mounts, ['type=cache,target=/root/.cache,sharing=locked', 'type=bind,from=build,source=/out,target=/in']);
  assert.deepEqual(shell.mountFroms, ['build']);
  assert.equal(shell.network, 'none');
  assert.equal(shell.security, 'sandbox');
  assert.deepEqual(shell.flagsUsed, ['mount', 'network']);

  const exec = only('RUN ["echo", "a b"]');
  assert.ok(exec.kind === 'RUN' && exec.prependShell === false);
  assert.deepEqual(exec.kind === 'RUN' && exec.cmdLine, ['echo', 'a b']);

  const heredoc = only('RUN --security=insecure --device=/dev/fuse,required <<EOF bash\necho $HOME\nEOF');
  assert.ok(heredoc.kind === 'RUN');
  if (heredoc.kind !== 'RUN') return;
  assert.deepEqual(heredoc.cmdLine, ['<<EOF bash']);
  assert.deepEqual(heredoc.files, [{ name: 'EOF', data: 'echo $HOME\n', chomp: false }]);
  assert.equal(heredoc.security, 'insecure');
  assert.deepEqual(heredoc.devices, [{ name: '/dev/fuse', required: true }]);
  assert.equal(heredoc.location.endLine, 4);
});

test('CMD, ENTRYPOINT, SHELL, HEALTHCHECK', () => {
  assert.deepEqual(only('CMD echo "hi there"'), {
    kind: 'CMD', code: 'CMD echo "hi there"', location: { startLine: 2, endLine: 2 }, cmdLine: ['echo "hi there"'], files: [], prependShell: true,
  });
  const ep = only('ENTRYPOINT []');
  assert.ok(ep.kind === 'ENTRYPOINT' && ep.cmdLine.length === 0 && !ep.prependShell);
  const sh = only('SHELL ["/bin/bash", "-euo", "pipefail", "-c"]');
  assert.deepEqual(sh.kind === 'SHELL' && sh.shell, ['/bin/bash', '-euo', 'pipefail', '-c']);

  const hc = only('HEALTHCHECK --interval=1m30s --timeout=500ms --start-period=2s --start-interval=1.5s --retries=3 CMD curl -f http://localhost/ || exit 1');
  assert.deepEqual(hc.kind === 'HEALTHCHECK' && hc.health, {
    test: ['CMD-SHELL', 'curl -f http://localhost/ || exit 1'], interval: 90e9, timeout: 500e6, startPeriod: 2e9, startInterval: 1.5e9, retries: 3,
  });
  const exec = only('HEALTHCHECK cmd ["/bin/check", "-q"]');
  assert.deepEqual(exec.kind === 'HEALTHCHECK' && exec.health.test, ['CMD', '/bin/check', '-q']);
  const none = only('HEALTHCHECK none');
  assert.deepEqual(none.kind === 'HEALTHCHECK' && none.health.test, ['NONE']);
  const zero = only('HEALTHCHECK --interval=0s --retries=0 CMD true');
  assert.ok(zero.kind === 'HEALTHCHECK' && zero.health.interval === 0 && zero.health.retries === 0);
});

test('COPY and ADD: flags, sources, heredoc sources, destination', () => {
  const c = only('COPY --from=Build --chown=1000:1000 --chmod=0755 --link --parents --exclude=*.md --exclude=tmp/ a b* /dst/');
  assert.ok(c.kind === 'COPY');
  if (c.kind !== 'COPY') return;
  assert.deepEqual(
    [c.from, c.chown, c.chmod, c.link, c.parents, c.exclude, c.sourcePaths, c.destPath],
    ['Build', '1000:1000', '0755', true, true, ['*.md', 'tmp/'], ['a', 'b*'], '/dst/'],
  );
  const json = only('COPY ["a b", "/c d/"]');
  assert.deepEqual(json.kind === 'COPY' && [json.sourcePaths, json.destPath], [['a b'], '/c d/']);
  const docs = only("COPY <<-EOF <<'RAW' x /etc/\n\tline $A\n\tEOF\n$B\nRAW");
  assert.deepEqual(docs.kind === 'COPY' && [docs.sourcePaths, docs.sourceContents], [
    ['x'],
    [{ path: 'EOF', data: 'line $A\n', expand: true }, { path: 'RAW', data: '$B\n', expand: false }],
  ]);
  const add = only('ADD --checksum=sha256:abc --keep-git-dir=false --unpack https://x/a.tgz /');
  assert.deepEqual(add.kind === 'ADD' && [add.checksum, add.keepGitDir, add.unpack, add.link, add.sourcePaths], ['sha256:abc', false, true, false, ['https://x/a.tgz']]);
  const plain = only('ADD a /');
  assert.ok(plain.kind === 'ADD' && plain.keepGitDir === undefined && plain.unpack === undefined);
});

test('ENV, LABEL, ARG, EXPOSE, VOLUME, USER, WORKDIR, STOPSIGNAL, MAINTAINER, ONBUILD', () => {
  const env = only('ENV A=1 B="two words"');
  assert.deepEqual(env.kind === 'ENV' && env.env, [{ key: 'A', value: '1', noDelim: false }, { key: 'B', value: '"two words"', noDelim: false }]);
  const env2 = only('ENV PATH /usr/local/bin:$PATH');
  assert.deepEqual(env2.kind === 'ENV' && env2.env, [{ key: 'PATH', value: '/usr/local/bin:$PATH', noDelim: true }]);
  const label = only('LABEL a=b "c d"="e f"');
  assert.deepEqual(label.kind === 'LABEL' && label.labels, [{ key: 'a', value: 'b', noDelim: false }, { key: '"c d"', value: '"e f"', noDelim: false }]);
  const arg = only('ARG A B=2 C=');
  assert.deepEqual(arg.kind === 'ARG' && arg.args.map((a) => [a.key, a.value]), [['A', undefined], ['B', '2'], ['C', '']]);
  const expose = only('EXPOSE 8080/udp 80 443');
  assert.deepEqual(expose.kind === 'EXPOSE' && expose.ports, ['443', '80', '8080/udp']);
  const vol = only('VOLUME ["/data", "/logs"]');
  assert.deepEqual(vol.kind === 'VOLUME' && vol.volumes, ['/data', '/logs']);
  assert.deepEqual(only('USER app:app'), { kind: 'USER', code: 'USER app:app', location: { startLine: 2, endLine: 2 }, user: 'app:app' });
  const wd = only('WORKDIR /a b');
  assert.ok(wd.kind === 'WORKDIR' && wd.path === '/a b');
  const sig = only('STOPSIGNAL SIGTERM');
  assert.ok(sig.kind === 'STOPSIGNAL' && sig.signal === 'SIGTERM');
  const m = only('MAINTAINER Jane <jane@example.com>');
  assert.ok(m.kind === 'MAINTAINER' && m.maintainer === 'Jane <jane@example.com>');
  const ob = only('onbuild   COPY --from=x . /app');
  assert.ok(ob.kind === 'ONBUILD' && ob.expression === 'COPY --from=x . /app');
  const obh = only('ONBUILD RUN <<EOF\necho hi\nEOF');
  assert.ok(obh.kind === 'ONBUILD' && obh.expression === 'RUN <<EOF\necho hi\nEOF');
});

test('errors read as dockerd’s, with the line of the instruction', () => {
  const cases: Array<[string, string]> = [
    ['FROM x\nFOOBAR bar', 'dockerfile parse error on line 2: unknown instruction: FOOBAR'],
    ['FROM x\nFOO bar', 'dockerfile parse error on line 2: unknown instruction: FOO (did you mean FROM?)'],
    ['FROM x\n\nFRMO y', 'dockerfile parse error on line 3: unknown instruction: FRMO (did you mean FROM?)'],
    ['FROM x\ncopyy a b', 'dockerfile parse error on line 2: unknown instruction: copyy (did you mean copy?)'],
    ['FROM x\nCOPY --form=x a b', 'dockerfile parse error on line 2: unknown flag: --form (did you mean from?)'],
    ['FROM x\nCOPY --from a b', 'dockerfile parse error on line 2: missing a value on flag: --from'],
    ['FROM x\nCOPY --link=maybe a b', 'dockerfile parse error on line 2: expecting boolean value for flag --link, not: maybe'],
    ['FROM x\nCOPY --link= a b', 'dockerfile parse error on line 2: missing a value on flag: --link'],
    ['FROM x\nCOPY --from=a --from=b a b', 'dockerfile parse error on line 2: duplicate flag specified: --from'],
    ['FROM x\nCOPY a', 'dockerfile parse error on line 2: COPY requires at least two arguments, but only one was provided. Destination could not be determined'],
    ['FROM x\nCOPY a <<EOF\nEOF', 'dockerfile parse error on line 2: COPY cannot accept a heredoc as a destination'],
    ['FROM x\nENV --x=1 a=b', 'dockerfile parse error on line 2: unknown flag: --x'],
    ['FROM x\nENV', 'dockerfile parse error on line 2: ENV requires at least one argument'],
    ['FROM x\nLABEL =x', 'dockerfile parse error on line 2: LABEL names can not be blank'],
    ['FROM x\nARG =x', 'dockerfile parse error on line 2: ARG names can not be blank'],
    ['FROM x y', 'dockerfile parse error on line 1: FROM requires either one or three arguments'],
    ['FROM x AS 1st', 'dockerfile parse error on line 1: invalid name for build stage: "1st", name can\'t start with a number or contain symbols'],
    ['FROM x AS a$b', 'dockerfile parse error on line 1: invalid name for build stage: "a$b", name can\'t start with a number or contain symbols'],
    ['FROM --platform x', 'dockerfile parse error on line 1: missing a value on flag: --platform'],
    ['FROM x\nWORKDIR', 'dockerfile parse error on line 2: WORKDIR requires exactly one argument'],
    ['FROM x\nUSER', 'dockerfile parse error on line 2: USER requires exactly one argument'],
    ['FROM x\nEXPOSE', 'dockerfile parse error on line 2: EXPOSE requires at least one argument'],
    ['FROM x\nVOLUME [""]', 'dockerfile parse error on line 2: VOLUME specified can not be an empty string'],
    ['FROM x\nSHELL /bin/sh -c', 'dockerfile parse error on line 2: SHELL requires the arguments to be in JSON form'],
    ['FROM x\nSHELL []', 'dockerfile parse error on line 2: SHELL requires at least one argument'],
    ['FROM x\nONBUILD ONBUILD RUN x', 'dockerfile parse error on line 2: Chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed'],
    ['FROM x\nONBUILD from y', 'dockerfile parse error on line 2: FROM isn\'t allowed as an ONBUILD trigger'],
    ['FROM x\nHEALTHCHECK NONE x', 'dockerfile parse error on line 2: HEALTHCHECK NONE takes no arguments'],
    ['FROM x\nHEALTHCHECK CONNECT TCP 7000', 'dockerfile parse error on line 2: Unknown type "CONNECT" in HEALTHCHECK (try CMD)'],
    ['FROM x\nHEALTHCHECK CMD', 'dockerfile parse error on line 2: Missing command after HEALTHCHECK CMD'],
    ['FROM x\nHEALTHCHECK --interval=1us CMD x', 'dockerfile parse error on line 2: Interval "interval" cannot be less than 1ms'],
    ['FROM x\nHEALTHCHECK --timeout=5 CMD x', 'dockerfile parse error on line 2: time: missing unit in duration "5"'],
    ['FROM x\nHEALTHCHECK --timeout=5d CMD x', 'dockerfile parse error on line 2: time: unknown unit "d" in duration "5d"'],
    ['FROM x\nHEALTHCHECK --retries=-1 CMD x', 'dockerfile parse error on line 2: --retries cannot be negative (-1)'],
    ['FROM x\nHEALTHCHECK --retries=x CMD x', 'dockerfile parse error on line 2: strconv.ParseInt: parsing "x": invalid syntax'],
    ['FROM x\nRUN --network=bridge x', 'dockerfile parse error on line 2: invalid network mode "bridge"'],
    ['FROM x\nRUN --security=x x', 'dockerfile parse error on line 2: security "x" is not valid'],
    ['FROM x\nRUN --mount=type=bind,from=$X,target=/x x', "dockerfile parse error on line 2: 'from' doesn't support variable expansion, define alias stage instead"],
    ['FROM x\nRUN --mount=type=bind,target=a\\"b x', 'dockerfile parse error on line 2: failed to parse csv mounts: bare " in non-quoted-field'],
    ['FROM x\nMAINTAINER', 'dockerfile parse error on line 2: MAINTAINER requires exactly one argument'],
  ];
  for (const [text, message] of cases) {
    assert.throws(() => parse(text), (e: unknown) => e instanceof InstructionError && e.message === message && e.kind === 'invalid-parameter', text);
  }
  assert.throws(() => parse('RUN x'), { message: 'no build stage in current context' });
  assert.throws(() => parse('FROM x\nFOO'), (e: unknown) => e instanceof InstructionError && e.cause instanceof UnknownInstructionError);
  // BuildKit checks neither STOPSIGNAL's nor ARG's flags.
  assert.equal(parse('FROM x\nSTOPSIGNAL --x 9\nARG --y=1 A').stages[0].commands.length, 2);
});

test('suggestions only within two edits, never for an exact match', () => {
  assert.equal(suggest('form', ['from', 'chown'], true), 'from');
  assert.equal(suggest('xyzzy', ['from'], true), undefined);
  assert.equal(suggest('from', ['from'], true), undefined);
  // Mixed case gets the lower-cased option, as BuildKit's matchCase does.
  assert.equal(suggest('Entrypont', ['ENTRYPOINT'], false), 'entrypoint');
  assert.equal(suggest('ENTRYPONT', ['ENTRYPOINT'], false), 'ENTRYPOINT');
  assert.equal(suggest('entrypont', ['ENTRYPOINT'], false), 'entrypoint');
});

test('a malformed heredoc marker in COPY is an ordinary source path', () => {
  const c = only('COPY <<"EOF /x');
  assert.deepEqual(c.kind === 'COPY' && [c.sourcePaths, c.sourceContents], [['<<"EOF'], []]);
});
