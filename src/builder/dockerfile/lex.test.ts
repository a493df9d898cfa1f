import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ShellLex, ShellLexError, envFromList, envFromMap } from './lex.js';
import { goQuote } from './goquote.js';

const env = envFromList(['PWD=/home', 'SHELL=bash', 'KOREAN=한국어', 'NULL=']);
const ERR = Symbol('error');

// [input, expected] — expected ERR when the lexer must refuse the word.
const wordCases: Array<[string, string | typeof ERR]> = [
  ['hello', 'hello'],
  ["he'll'o", 'hello'],
  ["he'llo", ERR],
  ["he\\'llo", "he'llo"],
  ["he\\\\'llo", ERR],
  ['abc\\tdef', 'abctdef'],
  ['"abc\\tdef"', 'abc\\tdef'],
  ['"abc\\\\tdef"', 'abc\\tdef'],
  ["'abc\\tdef'", 'abc\\tdef'],
  ['hello\\', 'hello'],
  ['hello\\\\', 'hello\\'],
  ['"hello', ERR],
  ['"hello\\"', ERR],
  ['"hel\'lo"', "hel'lo"],
  ["'hello", ERR],
  ["'hello\\'", 'hello\\'],
  ['"\'\'"', "''"],
  ['$.', '$.'],
  ['he$1x', 'hex'],
  ['he$.x', 'he$.x'],
  ['he$pwd.', 'he.'],
  ['he$PWD', 'he/home'],
  ['he\\$PWD', 'he$PWD'],
  ['he\\\\$PWD', 'he\\/home'],
  ['"he\\$PWD"', 'he$PWD'],
  ['"he\\\\$PWD"', 'he\\/home'],
  ['\\${}', '${}'],
  ['he\\${}xx', 'he${}xx'],
  ['${}', ERR],
  ['he${}xx', ERR],
  ['he${hi}xx', 'hexx'],
  ['he${PWD}', 'he/home'],
  ['he${.}', ERR],
  ['he${XXX:-000}xx', 'he000xx'],
  ['he${PWD:-000}xx', 'he/homexx'],
  ['he${XXX:-$PWD}xx', 'he/homexx'],
  ['he${XXX:-${PWD:-yyy}}xx', 'he/homexx'],
  ['he${XXX:-${YYY:-yyy}}xx', 'heyyyxx'],
  ['he${XXX:YYY}', ERR],
  ['he${XXX?}', ERR],
  ['he${XXX:?}', ERR],
  ['he${PWD?}', 'he/home'],
  ['he${NULL?}', 'he'],
  ['he${NULL:?}', ERR],
  ['he${XXX:+${PWD}}xx', 'hexx'],
  ['he${PWD:+${SHELL}}xx', 'hebashxx'],
  ['he${PWD:+000}xx', 'he000xx'],
  ["'he${XX}'", 'he${XX}'],
  ['"he\'$PWD\'"', "he'/home'"],
  ["'\\$PWD'", '\\$PWD'],
  ['he${PWD', ERR],
  ['he${PWD:=000}xx', ERR],
  ['he${PWD:+${PWD}:}xx', 'he/home:xx'],
  ['he${XXX:-\\$PWD:}xx', 'he$PWD:xx'],
  ['he${XXX:-\\${PWD}z}xx', 'he${PWDz}xx'],
  ["안'녕'하세요", '안녕하세요'],
  ['안녕$KOREAN', '안녕한국어'],
  ['${{aaa}', ERR],
  ['${aaa}}', '}'],
  ['${aaa:-bbb}}', 'bbb}'],
  ['${aaa:-bbb', ERR],
  ['${aaa:-bbb ${foo}', ERR],
  ['${aaa:-bbb {foo}', 'bbb {foo'],
  ['${:}', ERR],
  ['${:-bbb}', ERR],
  // Positional and special parameters are never set.
  ['$1', ''],
  ['${999:-bbb}aaa', 'bbbaaa'],
  ['$001aaa', 'aaa'],
  ['$@@@', '@@'],
  ['${@:-bbb}aaa', 'bbbaaa'],
  ['${#:+bbb}', ''],
  ['$$', ''],
  ['${0:-bbb}', 'bbb'],
];

test('processWord: quotes, escapes and expansion as BuildKit’s envVarTest', () => {
  const lex = new ShellLex('\\');
  for (const [input, expected] of wordCases) {
    if (expected === ERR) {
      assert.throws(() => lex.processWord(input, env), ShellLexError, input);
    } else {
      assert.equal(lex.processWord(input, env).result, expected, input);
    }
  }
});

test('processWord: the backtick escape token', () => {
  const lex = new ShellLex('`');
  assert.equal(lex.processWord('a`$PWD', env).result, 'a$PWD');
  assert.equal(lex.processWord('C:\\dir', env).result, 'C:\\dir');
  assert.equal(lex.processWord('"a`"b"', env).result, 'a"b');
  assert.equal(lex.processWord('"a\\"', env).result, 'a\\');
});

test('processWords splits on unquoted whitespace, including inside expanded values', () => {
  const lex = new ShellLex('\\');
  const e = envFromList(['hi=hi', 'space=abc  def', 'leading=  ab c', 'trailing=ab c   ']);
  const cases: Array<[string, string[] | typeof ERR]> = [
    ['hello', ['hello']],
    ['hello${hi}bye', ['hellohibye']],
    ['hello${space}bye', ['helloabc', 'defbye']],
    ['hello"${space}"bye', ['helloabc  defbye']],
    ['hello "${space}"bye', ['hello', 'abc  defbye']],
    ['hello${leading}def', ['hello', 'ab', 'cdef']],
    ['hello"${leading}" def', ['hello  ab c', 'def']],
    ['hello${trailing}d', ['helloab', 'c', 'd']],
    ['hel"lo${trailing}"', ['helloab c   ']],
    ['hello" there  "', ['hello there  ']],
    ['hello there     ', ['hello', 'there']],
    ['hello\\ there', ['hello there']],
    ['hello" there', ERR],
    ['hello\\" there', ['hello"', 'there']],
    ['hello"\\\\there"', ['hello\\there']],
    ['hello"\\there"', ['hello\\there']],
    ["hello'\\\\there'", ['hello\\\\there']],
    ["hello'$there'", ['hello$there']],
    ['""', []],
    ['80 ${PORTS}', ['80']],
  ];
  for (const [input, expected] of cases) {
    if (expected === ERR) assert.throws(() => lex.processWords(input, e), ShellLexError, input);
    else assert.deepEqual(lex.processWords(input, e), expected, input);
  }
  assert.deepEqual(lex.processWords('${P:-80} 443 $P2', envFromList(['P2=8080/udp 53'])), ['80', '443', '8080/udp', '53']);
});

test('modifiers: -, +, ? with and without the colon', () => {
  const lex = new ShellLex('\\');
  const e = envFromMap({ FOO: 'xxx', BAR: '' });
  const w = (s: string) => lex.processWord(s, e).result;
  assert.equal(w('${FOO-aaa} ${BAR-bbb} ${BAZ-ccc}'), 'xxx  ccc');
  assert.equal(w('${FOO:-aaa} ${BAR:-bbb} ${BAZ:-ccc}'), 'xxx bbb ccc');
  assert.equal(w('${FOO+aaa} ${BAR+bbb} ${BAZ+ccc}'), 'aaa bbb ');
  assert.equal(w('${FOO:+aaa} ${BAR:+bbb} ${BAZ:+ccc}'), 'aaa  ');
  assert.equal(w('${FOO?aaa}'), 'xxx');
  assert.equal(w('${BAR?bbb}'), '');
  assert.throws(() => w('${BAZ?ccc}'), { message: 'failed to process "${BAZ?ccc}": BAZ: ccc' });
  assert.throws(() => w('${BAR:?}'), { message: 'failed to process "${BAR:?}": BAR: is not allowed to be empty' });
  assert.throws(() => w('${BAZ:?}'), { message: 'failed to process "${BAZ:?}": BAZ: is not allowed to be unset' });
  assert.throws(() => w('${FOO=aaa}'), { message: 'failed to process "${FOO=aaa}": unsupported modifier (=) in substitution' });
  assert.throws(() => w('${FOO:#x}'), { message: 'failed to process "${FOO:#x}": unsupported modifier (:#) in substitution' });
  assert.throws(() => w('a${FOO'), { message: 'failed to process "a${FOO": unsupported modifier (\uFFFD) in substitution' });
  assert.throws(() => w('${FOO:-x'), { message: 'failed to process "${FOO:-x": syntax error: missing \'}\'' });
  assert.throws(() => w('${}'), { message: 'failed to process "${}": syntax error: bad substitution' });
});

test('pattern removal and replacement: #, ##, %, %%, /, //', () => {
  const lex = new ShellLex('\\');
  const cases: Array<[string, Record<string, string>, string]> = [
    ['${FOO#()[]{\\}^$.\\*\\?|\\\\}', { FOO: '()[]{}^$.*?|\\x' }, 'x'],
    ['${FOO%%\\**}', { FOO: 'xx**' }, 'xx'],
    ['${FOO#*x*y}', { FOO: 'xxyy' }, 'y'],
    ['${FOO#*}', { FOO: 'xxyy' }, 'xxyy'],
    ['${FOO#$BAR}', { FOO: 'xxyy', BAR: 'x' }, 'xyy'],
    ['${FOO##*x}', { FOO: 'xxyy' }, 'yy'],
    ['${FOO#?\\?}', { FOO: '???y' }, '?y'],
    ['${ABC:-.}${FOO%x}${ABC:-.}', { FOO: 'xxyy' }, '.xxyy.'],
    ['${FOO%y*}', { FOO: 'xxyy' }, 'xxy'],
    ['${FOO%%y*}', { FOO: 'xxyy' }, 'xx'],
    ['${FOO%%\\**\\*}', { FOO: 'a***yy*' }, 'a'],
    ['${FOO%.tar.gz}', { FOO: 'app.tar.gz' }, 'app'],
    ['${FOO/$NEEDLE/.} - ${FOO//$NEEDLE/.}', { FOO: '/foo*/*/*.txt', NEEDLE: '\\*/' }, '/foo.*/*.txt - /foo..*.txt'],
    ['${FOO/$NEEDLE/} - ${FOO//$NEEDLE/}', { FOO: '/tmp/tmp/bar.txt', NEEDLE: '/tmp' }, '/tmp/bar.txt - /bar.txt'],
    ['${FOO/$N/$R} - ${FOO//$N/$R}', { FOO: '/a/foo/b/c.txt', N: '/?/', R: '/' }, '/foo/b/c.txt - /foo/c.txt'],
    ['${FOO//\\//\\/}', { FOO: '/tmp/foo.txt' }, '\\/tmp\\/foo.txt'],
    ['${FOO/$BAR/ww}', { FOO: 'xxyy', BAR: '' }, 'wwxxyy'],
    ['${FOO//x/[\\$0]}', { FOO: 'axbx' }, 'a[\\x]b[\\x]'], // the template's $0 is the match
    ['${FOO///}', {}, ''],
  ];
  for (const [input, vars, expected] of cases) {
    assert.equal(lex.processWord(input, envFromMap(vars)).result, expected, input);
  }
  assert.throws(() => lex.processWord('${FOO//}', envFromMap({ FOO: 'x' })), ShellLexError);
  assert.throws(() => lex.processWord('${FOO#\\a}', envFromMap({ FOO: 'x' })), /invalid pattern/);
});

test('matched and unmatched names are reported for each word', () => {
  const lex = new ShellLex('\\');
  const r = lex.processWord('x ${FOO} $BAR ${BAZ:-d}', envFromMap({ FOO: 'y' }));
  assert.equal(r.result, 'x y  d');
  assert.deepEqual([...r.matched], ['FOO']);
  assert.deepEqual([...r.unmatched].sort(), ['BAR', 'BAZ']);
  const p = '${TARGETARCH}${TARGETVARIANT:+-${TARGETVARIANT}}';
  assert.equal(lex.processWord(p, envFromMap({ TARGETARCH: 'arm', TARGETVARIANT: 'v7' })).result, 'arm-v7');
  assert.equal(lex.processWord(p, envFromMap({ TARGETARCH: 'arm64', TARGETVARIANT: '' })).result, 'arm64');
});

test('skipUnsetEnv leaves references to unset variables as written', () => {
  const lex = new ShellLex('\\', { skipUnsetEnv: true });
  const e = envFromMap({ A: 'a' });
  assert.equal(lex.processWord('$A $B ${B} ${B:-x} ${B/y/z} ${A:+set}', e).result, 'a $B ${B} ${B:-x} ${B/y/z} set');
});

test('rawQuotes and rawEscapes keep quoting characters; << stays with the next word', () => {
  const raw = new ShellLex('\\', { rawQuotes: true, rawEscapes: true, skipUnsetEnv: true });
  assert.deepEqual(raw.processWords('cat <<"EOF" > \\"x', envFromList([])), ['cat', '<<"EOF"', '>', '\\"x']);
  assert.deepEqual(raw.processWords('cat << EOF', envFromList([])), ['cat', '<< EOF']);
  assert.deepEqual(raw.processWords("a 'b c' 2<<-'END'", envFromList([])), ['a', "'b c'", "2<<-'END'"]);
});

test('goQuote prints as Go’s %q', () => {
  assert.equal(goQuote('a"b\\c'), '"a\\"b\\\\c"');
  assert.equal(goQuote('\t\n\x1b\x7f'), '"\\t\\n\\x1b\\x7f"');
  assert.equal(goQuote('안녕 ©'), '"안녕 ©"');
  assert.equal(goQuote('\u200b'), '"\\u200b"');
});
