import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DockerfileParseError, type Node, chompHeredocContent, parseDockerfile, parseHeredoc, warningLines } from './parser.js';
import { goQuote } from './goquote.js';

// BuildKit's test dump format: (instruction ["flags"] "arg" ...), ONBUILD's trigger nested.
function dump(n: Node): string {
  let s = n.value.toLowerCase();
  if (n.flags.length > 0) s += ` [${n.flags.map(goQuote).join(' ')}]`;
  if (n.child) return `${s} (${dump(n.child)})`;
  for (const a of n.args) s += ' ' + goQuote(a);
  return s;
}
const dumpAll = (text: string) => parseDockerfile(text).nodes.map((n) => `(${dump(n)})`);

test('continuation lines: indentation kept, comment and empty lines inside skipped', () => {
  const text = [
    'FROM ubuntu:14.04',
    '',
    'RUN echo hello\\',
    '  world\\',
    '  goodnight  \\',
    '  moon\\',
    '  light\\',
    'ning',
    'RUN echo hello  \\',
    'world',
    'RUN echo hello  \\  ',
    'world',
    'RUN echo hi \\',
    ' \\',
    ' world \\',
    '\\',
    ' good\\',
    '\\',
    'night',
    'RUN echo hello \\',
    '# this is a comment',
    '',
    '# this is a comment with a blank line surrounding it',
    '',
    'this is some more useful stuff',
    'RUN something \\',
  ].join('\n');
  assert.deepEqual(dumpAll(text), [
    '(from "ubuntu:14.04")',
    '(run "echo hello  world  goodnight    moon  lightning")',
    '(run "echo hello  world")',
    '(run "echo hello  world")',
    '(run "echo hi   world  goodnight")',
    '(run "echo hello this is some more useful stuff")',
    '(run "something")',
  ]);
  const r = parseDockerfile(text);
  assert.deepEqual(r.nodes.map((n) => [n.startLine, n.endLine]), [[1, 1], [3, 8], [9, 10], [11, 12], [13, 19], [20, 25], [26, 26]]);
  assert.equal(r.warnings.length, 1);
  assert.match(r.warnings[0].short, /^Empty continuation line found in: RUN echo hello this/);
  assert.deepEqual(warningLines(r.warnings), [
    '[WARNING]: Empty continuation line found in: RUN echo hello this is some more useful stuff\n',
    '[WARNING]: Empty continuation lines will become errors in a future release.\n',
  ]);
  assert.deepEqual(warningLines(parseDockerfile('FROM x').warnings), []);
});

test('parser directives: escape, syntax and check; only before anything else', () => {
  const r = parseDockerfile('# syntax=docker/dockerfile:1\n#escape = `\n# check=skip=all\n\nFROM image\nENV GOPATH `\n\\go\nRUN a \\\\b');
  assert.equal(r.escapeToken, '`');
  assert.deepEqual(r.directives.map((d) => [d.name, d.value, d.line]), [['syntax', 'docker/dockerfile:1', 1], ['escape', '`', 2], ['check', 'skip=all', 3]]);
  assert.deepEqual(r.nodes.map(dump), ['from "image"', 'env "GOPATH" "\\\\go" ""', 'run "a \\\\\\\\b"']);
  // After a comment, a directive is only a comment.
  const late = parseDockerfile('# a comment\n# escape = `\nFROM image\nENV GOPATH \\\n\\go');
  assert.equal(late.escapeToken, '\\');
  assert.deepEqual(late.nodes.map(dump), ['from "image"', 'env "GOPATH" "\\\\go" ""']);
  // An unknown directive ends them too.
  assert.equal(parseDockerfile('# foo=bar\n# escape=`\nFROM x').escapeToken, '\\');
  assert.throws(() => parseDockerfile('# escape=`\n# escape=\\\nFROM x'), { message: 'only one escape parser directive can be used' });
  assert.throws(() => parseDockerfile('# escape=x\nFROM x'), { message: "invalid escape token 'x' does not match ` or \\" });
  // A BOM before the directives is ignored.
  assert.equal(parseDockerfile('\uFEFF# escape=`\nFROM x').escapeToken, '`');
});

test('escapes are kept for the expansion step; trailing escaped backslashes do not continue', () => {
  const text = [
    'FROM hello-world',
    'ENV B another\\\\path',
    'ENV C trailing\\\\backslash\\\\',
    'ENV D This should not be appended to C',
    'ENV E hello\\',
    '\\',
    'world',
    'ENV F hello\\',
    ' \\',
    'world',
    'LABEL maintainer Erik \\\\Hollensbe <erik@hollensbe.org>\\"',
    'RUN apt-get \\update && \\',
    '  apt-get \\"install znc -y',
    'ADD \\conf\\\\" /.znc',
    'CMD [ "\\/usr\\\\\\"/bin/znc", "-f", "-r" ]',
  ].join('\n');
  assert.deepEqual(dumpAll(text), [
    '(from "hello-world")',
    '(env "B" "another\\\\\\\\path" "")',
    '(env "C" "trailing\\\\\\\\backslash\\\\\\\\" "")',
    '(env "D" "This should not be appended to C" "")',
    '(env "E" "helloworld" "")',
    '(env "F" "hello world" "")',
    '(label "maintainer" "Erik \\\\\\\\Hollensbe <erik@hollensbe.org>\\\\\\"" "")',
    '(run "apt-get \\\\update &&   apt-get \\\\\\"install znc -y")',
    '(add "\\\\conf\\\\\\\\\\"" "/.znc")',
    '(cmd "/usr\\\\\\"/bin/znc" "-f" "-r")',
  ]);
});

test('flags are split off; a lone -- ends them', () => {
  const text = [
    'FROM scratch',
    'COPY --user=me --doit=true foo /tmp/',
    'COPY --doit=true -- foo /tmp/',
    'COPY -- foo /tmp/',
    'CMD --doit [ "a", "b" ]',
    'CMD --doit -- [ ]',
    'COPY --from="my stage" --chown=\\"x a b',
    'RUN --mount=type=cache,target=/root/.cache --network=none echo hi',
  ].join('\n');
  assert.deepEqual(dumpAll(text), [
    '(from "scratch")',
    '(copy ["--user=me" "--doit=true"] "foo" "/tmp/")',
    '(copy ["--doit=true"] "foo" "/tmp/")',
    '(copy "foo" "/tmp/")',
    '(cmd ["--doit"] "a" "b")',
    '(cmd ["--doit"])',
    '(copy ["--from=my stage" "--chown=\\"x"] "a" "b")',
    '(run ["--mount=type=cache,target=/root/.cache" "--network=none"] "echo hi")',
  ]);
});

test('JSON and shell forms, HEALTHCHECK, ONBUILD, ENV/LABEL/ARG argument shapes', () => {
  const text = [
    'CMD []',
    'CMD [""]',
    'CMD [\t"a",\t"b"\t]',
    'CMD ["abc 123", "♥", "\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u0000"]',
    'CMD ["a", 1]x',
    "CMD ['a']",
    'CMD ["a" "b"]',
    'HEALTHCHECK',
    'HEALTHCHECK --interval=5s --timeout=3s --retries=3 \\',
    '  CMD /app/check.sh --quiet',
    'HEALTHCHECK   CMD   a b',
    'HEALTHCHECK --timeout=3s CMD ["foo"]',
    'HEALTHCHECK NONE',
    'ONBUILD RUN ["echo", "test"]',
    'ONBUILD COPY --from=x . /',
    'ENV SCUBA 1 DUBA 3',
    'ENV name=value\\ value2 name2="a \'b\' c"',
    "ENV name='a\\'b''",
    'ARG foo bar=baz',
    'ARG abc="123 456" def',
    'LABEL "a b"=c d=',
    'EXPOSE 9000  5000\t6000',
    'VOLUME ["/a", "/b"]',
    'VOLUME /a /b',
    'USER  docker:root ',
    'FOO bar',
  ].join('\n');
  assert.deepEqual(dumpAll(text), [
    '(cmd)',
    '(cmd "")',
    '(cmd "a" "b")',
    '(cmd "abc 123" "♥" "\\" \\\\ / \\b \\f \\n \\r \\t \\x00")',
    '(cmd "[\\"a\\", 1]x")',
    '(cmd "[\'a\']")',
    '(cmd "[\\"a\\" \\"b\\"]")',
    '(healthcheck)',
    '(healthcheck ["--interval=5s" "--timeout=3s" "--retries=3"] "CMD" "/app/check.sh --quiet")',
    '(healthcheck "CMD" "a b")',
    '(healthcheck ["--timeout=3s"] "CMD" "foo")',
    '(healthcheck "NONE")',
    '(onbuild (run "echo" "test"))',
    '(onbuild (copy ["--from=x"] "." "/"))',
    '(env "SCUBA" "1 DUBA 3" "")',
    '(env "name" "value\\\\ value2" "=" "name2" "\\"a \'b\' c\\"" "=")',
    '(env "name" "\'a\\\\\'b\'\'" "=")',
    '(arg "foo" "bar=baz")',
    '(arg "abc=\\"123 456\\"" "def")',
    '(label "\\"a b\\"" "c" "=" "d" "" "=")',
    '(expose "9000" "5000" "6000")',
    '(volume "/a" "/b")',
    '(volume "/a" "/b")',
    '(user "docker:root")',
    '(foo "")',
  ]);
  const nodes = parseDockerfile(text).nodes;
  assert.equal(nodes[2].json, true);
  assert.equal(nodes[4].json, false);
  // ONBUILD's arguments are the trigger's keyword and arguments; its flags stay on the trigger.
  assert.deepEqual(nodes[13].args, ['COPY', '.', '/']);
  assert.deepEqual(nodes[13].child?.flags, ['--from=x']);
});

test('argument errors name the instruction’s lines', () => {
  const cases: Array<[string, string, number, number]> = [
    ['FROM x\nCMD ["a", 1]', 'when using JSON array syntax, arrays must be comprised of strings only', 2, 2],
    ['FROM x\nENV a=b \\\n  c', 'Syntax error - can\'t find = in "c". Must be of the form: name=value', 2, 3],
    ['FROM x\nENV a', 'ENV must have two arguments', 2, 2],
    ['FROM x\nLABEL a', 'LABEL must have two arguments', 2, 2],
    ['FROM x\nRUN <<EOF\necho\n', 'unterminated heredoc', 2, 3],
    ['', 'file with no instructions', 0, 0],
    ['# only\n\n  # comments\n', 'file with no instructions', 3, 3],
  ];
  for (const [text, message, start, end] of cases) {
    assert.throws(
      () => parseDockerfile(text),
      (e: unknown) => e instanceof DockerfileParseError && e.message === message && e.startLine === start && e.endLine === end && e.kind === 'invalid-parameter',
      text,
    );
  }
  assert.throws(() => parseDockerfile('FROM x\nRUN ' + 'a'.repeat(70000)), { message: 'dockerfile line greater than max allowed size of 65535' });
});

test('heredocs: names, quoting, tabs, descriptors, several on a line, lines counted', () => {
  const text = [
    'FROM alpine',
    'USER <<INVALID',
    'RUN <<EMPTY',
    'EMPTY',
    'RUN 3<<EMPTY2',
    'EMPTY2',
    'RUN "<<NOHEREDOC"',
    'RUN <<-UNINDENT2',
    '\tbaz',
    '\tquux',
    '\tUNINDENT2',
    "RUN <<-'NOEXPAND'",
    "\tdon't expand $NAME",
    'NOEXPAND',
    'COPY <<X <<Y /dest',
    'Y',
    'X',
    'X',
    'Y',
    "RUN <<eo'f'",
    'echo foo',
    'eof',
    "RUN <<eo\\'f",
    'echo foo',
    "eo'f",
    "RUN <<'one two'",
    'echo bar',
    'one two',
    'RUN <<  EOF  > foo',
    '# not a comment\r',
    'EOF\r',
    'RUN ["<<EOF"]',
    'ONBUILD RUN <<EOF',
    'echo on build',
    'EOF',
    'RUN --mount=type=cache,target=/foo <<MOUNT',
    'echo hello',
    'MOUNT',
  ].join('\n');
  const nodes = parseDockerfile(text).nodes;
  const docs = nodes.map((n) => n.heredocs.map((h) => [h.name, h.content, h.expand, h.chomp, h.fileDescriptor]));
  assert.deepEqual(docs, [
    [],
    [],
    [['EMPTY', '', true, false, 0]],
    [['EMPTY2', '', true, false, 3]],
    [],
    [['UNINDENT2', '\tbaz\n\tquux\n', true, true, 0]],
    [['NOEXPAND', "\tdon't expand $NAME\n", false, true, 0]],
    [['X', 'Y\n', true, false, 0], ['Y', 'X\n', true, false, 0]],
    [['eof', 'echo foo\n', false, false, 0]],
    [["eo'f", 'echo foo\n', true, false, 0]],
    [['one two', 'echo bar\n', false, false, 0]],
    [['EOF', '# not a comment\r\n', true, false, 0]],
    [],
    [['EOF', 'echo on build\n', true, false, 0]],
    [['MOUNT', 'echo hello\n', true, false, 0]],
  ]);
  assert.deepEqual(nodes.map((n) => [n.startLine, n.endLine]).slice(2, 9), [[3, 4], [5, 6], [7, 7], [8, 11], [12, 14], [15, 19], [20, 22]]);
  assert.equal(nodes[1].args[0], '<<INVALID');
});

test('heredoc words', () => {
  for (const w of ['<<EOF', "<<'EOF'", '<<"EOF"', '<<-EOF', "<<-'EOF'", '<<EO"F"', '<< EOF', '<<- EOF']) {
    assert.equal(parseHeredoc(w)?.name, 'EOF', w);
  }
  assert.equal(parseHeredoc('<<EO"F"')?.expand, false);
  assert.equal(parseHeredoc('<<EOF')?.expand, true);
  for (const w of ['', '<<', '<EOF', 'EOF', '<<<EOF', '<<EOF EOF', 'a<<EOF']) assert.equal(parseHeredoc(w), undefined, w);
  for (const w of ["<<'EOF", '<<"EOF', "<<EOF'"]) assert.throws(() => parseHeredoc(w), w);
  assert.equal(chompHeredocContent('\thello\n\t\tworld\n  x\n'), 'hello\nworld\n  x\n');
});

test('comments above an instruction are kept with it; a blank comment resets them', () => {
  const nodes = parseDockerfile('# escape=\\\n# first\n#\n# base the image\nFROM x AS base\n# VERSION the version\nARG VERSION').nodes;
  assert.deepEqual(nodes[0].comments, ['base the image']);
  assert.deepEqual(nodes[1].comments, ['VERSION the version']);
});

test('CRLF line endings and the backtick escape in flags and words', () => {
  const r = parseDockerfile('# escape=`\r\nFROM windows AS base\r\nCOPY --chown=a`"b src C:\\dst\r\nRUN dir `\r\n  C:\\ \r\nENV A="x `"y`""\r\n');
  assert.deepEqual(r.nodes.map(dump), [
    'from "windows" "AS" "base"',
    'copy ["--chown=a\\"b"] "src" "C:\\\\dst"',
    'run "dir   C:\\\\"',
    'env "A" "\\"x `\\"y`\\"\\"" "="',
  ]);
  assert.deepEqual(r.nodes.map((n) => [n.startLine, n.endLine]), [[2, 2], [3, 3], [4, 5], [6, 6]]);
});
