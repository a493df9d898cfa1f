import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDockerfile } from './parser.js';
import { parseInstructions, type Instruction } from './instructions.js';
import { applyMetaArgs, expandFrom, expandInstruction, expandMounts } from './expand.js';
import { BuildArgs, expansionEnv } from './buildargs.js';
import { ShellLex, envFromMap } from './lex.js';

const lex = new ShellLex('\\');
const env = envFromMap({ A: 'a', SPACE: 'x y', PORTS: '80 443/udp', U: 'app', DIR: '/srv', SIG: 'SIGINT', EMPTY: '' });
const stage = (text: string) => parseInstructions(parseDockerfile(`FROM x\n${text}`).nodes).stages[0];
const expanded = (line: string): Instruction => expandInstruction(stage(line).commands[0], lex, env);

test('ENV, LABEL, ARG expand keys and values; quotes and escapes are removed', () => {
  const e = expanded('ENV B=$A C="${SPACE} z" D=\\$A F=\'$A\'');
  assert.deepEqual(e.kind === 'ENV' && e.env.map((kv) => [kv.key, kv.value]), [['B', 'a'], ['C', 'x y z'], ['D', '$A'], ['F', '$A']]);
  const old = expanded('ENV PATH $DIR/bin:"$A"');
  assert.deepEqual(old.kind === 'ENV' && old.env[0], { key: 'PATH', value: '/srv/bin:a', noDelim: true });
  const l = expanded('LABEL "k.$A"="v ${U:-x}"');
  assert.deepEqual(l.kind === 'LABEL' && l.labels[0], { key: 'k.a', value: 'v app', noDelim: false });
  const a = expanded('ARG X=${A}1 Y');
  assert.deepEqual(a.kind === 'ARG' && a.args.map((x) => [x.key, x.value]), [['X', 'a1'], ['Y', undefined]]);
});

test('COPY/ADD expand sources, destination, --chown/--chmod, and heredocs that allow it; never --from', () => {
  const c = expanded('COPY --from=$A --chown=$U:$U --chmod=${M:-644} $DIR/* "${SPACE}" /dst/$A/');
  assert.deepEqual(c.kind === 'COPY' && [c.from, c.chown, c.chmod, c.sourcePaths, c.destPath], ['$A', 'app:app', '644', ['/srv/*', 'x y'], '/dst/a/']);
  const h = expanded("COPY <<EOF <<'RAW' /etc/\nA=$A \"q\" \\$A\nEOF\nA=$A\nRAW");
  assert.deepEqual(h.kind === 'COPY' && h.sourceContents.map((s) => s.data), ['A=a "q" $A\n', 'A=$A\n']);
  const add = expanded('ADD --checksum=sha256:${A} http://x/$A.tgz /');
  assert.deepEqual(add.kind === 'ADD' && [add.checksum, add.sourcePaths], ['sha256:a', ['http://x/a.tgz']]);
});

test('WORKDIR, USER, VOLUME, STOPSIGNAL expand; EXPOSE expands into several ports', () => {
  const w = expanded('WORKDIR $DIR/app');
  assert.ok(w.kind === 'WORKDIR' && w.path === '/srv/app');
  const u = expanded('USER ${U}:${G:-staff}');
  assert.ok(u.kind === 'USER' && u.user === 'app:staff');
  const v = expanded('VOLUME ["$DIR/data", "/x"]');
  assert.deepEqual(v.kind === 'VOLUME' && v.volumes, ['/srv/data', '/x']);
  const s = expanded('STOPSIGNAL $SIG');
  assert.ok(s.kind === 'STOPSIGNAL' && s.signal === 'SIGINT');
  const p = expanded('EXPOSE $PORTS 8080');
  assert.deepEqual(p.kind === 'EXPOSE' && p.ports, ['80', '443/udp', '8080']);
});

test('RUN, CMD, ENTRYPOINT, SHELL, HEALTHCHECK, ONBUILD, MAINTAINER are left to the shell', () => {
  for (const line of ['RUN echo $A', 'CMD ["echo", "$A"]', 'ENTRYPOINT $A', 'SHELL ["$A"]', 'HEALTHCHECK CMD $A', 'ONBUILD RUN $A', 'MAINTAINER $A']) {
    const inst = stage(line).commands[0];
    assert.deepEqual(expandInstruction(inst, lex, env), inst, line);
  }
});

test('the input instruction is not changed; errors name the word', () => {
  const inst = stage('WORKDIR $DIR').commands[0];
  expandInstruction(inst, lex, env);
  assert.ok(inst.kind === 'WORKDIR' && inst.path === '$DIR');
  assert.throws(() => expanded('USER ${NOPE:?must be set}'), { message: 'failed to process "${NOPE:?must be set}": NOPE: must be set' });
});

test('RUN --mount values expand and validate when the step runs', () => {
  const run = stage('RUN --mount=type=$T,target=${DIR}/cache,id=c-$A,sharing=locked,mode=0700,uid=1000 x').commands[0];
  assert.ok(run.kind === 'RUN');
  if (run.kind !== 'RUN') return;
  const [m] = expandMounts(run.mounts, lex, envFromMap({ T: 'cache', DIR: '/root', A: 'a' }));
  assert.deepEqual(m, {
    type: 'cache', from: '', source: '', target: '/root/cache', readOnly: false, sizeLimit: 0, cacheId: 'c-a', cacheSharing: 'locked',
    required: false, mode: 0o700, uid: 1000,
  });
  const cases: Array<[string, string | Partial<Record<string, unknown>>]> = [
    ['type=bind,source=/a,target=/b', { type: 'bind', readOnly: true, source: '/a', target: '/b' }],
    ['type=bind,target=/b,rw', { readOnly: false }],
    ['type=tmpfs,target=/t,size=64m', { type: 'tmpfs', sizeLimit: 64 * 1024 * 1024, readOnly: false }],
    ['type=secret,id=tok,required', { type: 'secret', cacheId: 'tok', required: true, readOnly: true }],
    ['type=ssh', { type: 'ssh' }],
    ['type=volume,target=/x', 'unsupported mount type "volume"'],
    ['type=cach,target=/x', 'unsupported mount type "cach" (did you mean cache?)'],
    ['type=cache,target=/x,sharing=exclusive', 'unsupported sharing value "exclusive"'],
    ['type=bind,target=/x,sharing=shared', 'invalid cache sharing set for bind mount'],
    ['type=bind,target=/x,mode=0600', 'mode not allowed for "bind" type mounts'],
    ['type=bind,target=/x,size=1g', "unexpected key 'size' for mount type 'bind'"],
    ['type=cache,target=/x,required', "unexpected key 'required' for mount type 'cache'"],
    ['type=cache,targt=/x', "unexpected key 'targt' in 'targt=/x' (did you mean target?)"],
    ['type=cache,target=/x,ro=maybe', 'invalid value for ro: maybe'],
    ['type=cache,target=/x,uid=-1', 'invalid value -1 for uid'],
    ['type=cache,target', "invalid field 'target' must be a key=value pair"],
    ['type=secret', 'invalid secret mount. one of source, target required'],
    ['type=secret,id=a,from=b', 'secret mount should not have a from'],
  ];
  for (const [spec, want] of cases) {
    if (typeof want === 'string') assert.throws(() => expandMounts([spec], lex, env), { message: want }, spec);
    else {
      const [got] = expandMounts([spec], lex, env);
      for (const [k, v] of Object.entries(want)) assert.deepEqual((got as unknown as Record<string, unknown>)[k], v, `${spec} ${k}`);
    }
  }
});

test('FROM expands its image and platform with the meta args', () => {
  const s = parseInstructions(parseDockerfile('ARG V=1\nFROM --platform=${P:-linux/amd64} img:${V} AS b').nodes).stages[0];
  assert.deepEqual(expandFrom(s, lex, envFromMap({ V: '2' })), { baseName: 'img:2', platform: 'linux/amd64' });
  const plain = parseInstructions(parseDockerfile('FROM scratch').nodes).stages[0];
  assert.deepEqual(expandFrom(plain, lex, envFromMap({})), { baseName: 'scratch', platform: '' });
});

test('meta args: each expands with the ones before it and the --build-args; FROM sees them', () => {
  const parsed = parseInstructions(parseDockerfile('ARG REG=docker.io\nARG IMG=${REG}/library/alpine TAG\nFROM ${IMG}:${TAG:-latest}\nARG IMG\nRUN x').nodes);
  const args = new BuildArgs(new Map([['TAG', '3.20']]));
  applyMetaArgs(parsed.metaArgs, lex, args);
  assert.deepEqual(expandFrom(parsed.stages[0], lex, envFromMap(args.allMeta())), { baseName: 'docker.io/library/alpine:3.20', platform: '' });
  // In the stage, IMG is visible only once redeclared, with the meta value.
  const stageArgs = args.forStage();
  assert.equal(expansionEnv([], stageArgs).get('IMG'), undefined);
  const redeclared = expandInstruction(parsed.stages[0].commands[0], lex, expansionEnv([], stageArgs));
  assert.ok(redeclared.kind === 'ARG');
  if (redeclared.kind === 'ARG') for (const a of redeclared.args) stageArgs.addArg(a.key, a.value);
  assert.equal(expansionEnv([], stageArgs).get('IMG'), 'docker.io/library/alpine');
});
