import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PatternMatcher, cleanPath, dockerignoreCandidates, readDockerignore } from './dockerignore.js';

test('reading: comments, blanks, ! exceptions, cleaning, leading slash, BOM', () => {
  const text = '\uFEFF# comment\n  \n/abs/path\n./rel//x/\n ! /keep/../kept \n  # not a comment\n**/*.log\n!\n/\n';
  assert.deepEqual(readDockerignore(text), ['abs/path', 'rel/x', '!kept', '# not a comment', '**/*.log', '!', '/']);
  assert.deepEqual(readDockerignore('a\r\nb\r\n'), ['a', 'b']);
});

test('cleanPath is Go’s path.Clean', () => {
  const cases: Array<[string, string]> = [
    ['', '.'], ['.', '.'], ['a/b/', 'a/b'], ['a//b', 'a/b'], ['./a', 'a'], ['a/../..', '..'], ['/../a', '/a'], ['a/./b/../c', 'a/c'], ['/', '/'],
  ];
  for (const [p, want] of cases) assert.equal(cleanPath(p), want, p);
});

// [pattern, path, ignored] — for one pattern on its own, with matchesOrParentMatches (what the
// CLI, dockerd and BuildKit filter build contexts with).
const single: Array<[string, string, boolean]> = [
  ['**', 'file', true],
  ['**', 'dir/file', true],
  ['**/', 'dir/file', true],
  ['**/**', 'dir/file', true],
  ['dir/**', 'dir/file', true],
  ['dir/**', 'dir/dir2/file', true],
  ['**/dir', 'dir', true],
  ['**/dir', 'dir/file', true],
  ['**/dir2/*', 'dir/dir2/file', true],
  ['**/dir2/**', 'dir/dir2/dir3/file', true],
  ['**file', 'file', true],
  ['**file', 'dir/dir/file', true],
  ['**/file', 'dir/dir/file', true],
  ['**/file*', 'dir/dir/file.txt', true],
  ['**/file*.txt', 'dir/dir/file.txt', true],
  ['**/**/*.txt', 'dir/dir/file.txt', true],
  ['**/**/*.txt2', 'dir/dir/file.txt', false],
  ['**/*.txt', 'file.txt', true],
  ['a**/*.txt', 'a/dir/dir/file.txt', true],
  ['a/*.txt', 'a/dir/file.txt', false],
  ['a/*.txt', 'a/file.txt', true],
  ['a[b-d]e', 'ace', true],
  ['a[b-d]e', 'aae', false],
  ['a[^b-d]e', 'aze', true],
  ['.*', '.foo', true],
  ['.*', 'foo', false],
  ['abc.def', 'abcdef', false],
  ['abc?def', 'abcZdef', true],
  ['abc?def', 'abcdef', false],
  ['a\\\\', 'a\\', true],
  ['a\\*b', 'a*b', true],
  ['a\\*b', 'axb', false],
  ['**/foo/bar', 'foo/bar', true],
  ['**/foo/bar', 'dir/dir2/foo/bar', true],
  ['abc/**', 'abc', false],
  ['abc/**', 'abc/def/ghi', true],
  ['**/.foo', '.foo', true],
  ['**/.foo', 'bar.foo', false],
  ['a(b)c/def', 'a(b)c/def', true],
  ['a.|)$(}+{bc', 'a.|)$(}+{bc', true],
  ['dist/*.whl', 'dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl', true],
  ['a?b', 'a☺b', true],
  ['a?b', 'a/b', false],
  ['a*b', 'a/b', false],
  ['[\\]a]', ']', true],
  ['[\\-x]', '-', true],
  ['[x\\-]', 'z', false],
  // A pattern matches what is under a directory it matches (at the pattern's depth).
  ['dir', 'dir/sub/file', true],
  ['*.md', 'docs/readme.md', false],
  ['docs/*', 'docs/sub/file', true],
  ['node_modules', 'node_modules', true],
  ['/', 'anything', false],
];

test('single patterns match as moby/patternmatcher', () => {
  for (const [pattern, path, want] of single) {
    const pm = new PatternMatcher([pattern]);
    assert.equal(pm.matchesOrParentMatches(path), want, `${pattern} ~ ${path}`);
    // The top-down walk, fed its parents' results, agrees.
    let info: boolean[] | undefined;
    const dirs = path.split('/').slice(0, -1);
    for (let i = 1; i <= dirs.length; i++) info = pm.matchesWithParents(dirs.slice(0, i).join('/'), info)[1];
    assert.equal(pm.matchesWithParents(path, info)[0], want, `walk: ${pattern} ~ ${path}`);
  }
});

test('several patterns: ** then exceptions', () => {
  const cases: Array<[string[], string, boolean]> = [
    [['**', '!util/docker/web'], 'util/docker/web/foo', false],
    [['**', '!util/docker/web', 'util/docker/web/foo'], 'util/docker/web/foo', true],
    [['**', '!dist/*.whl'], 'dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl', false],
  ];
  for (const [patterns, path, want] of cases) assert.equal(new PatternMatcher(patterns).matchesOrParentMatches(path), want, path);
});

test('the last matching pattern wins; ! re-includes', () => {
  const pm = new PatternMatcher(readDockerignore('*\n!src\nsrc/**/*.test.ts\n!src/keep.test.ts\n'));
  assert.equal(pm.exclusions, true);
  assert.equal(pm.matches('README.md'), true);
  assert.equal(pm.matches('src'), false);
  assert.equal(pm.matches('src/a.ts'), false);
  assert.equal(pm.matches('src/x/a.test.ts'), true);
  assert.equal(pm.matches('src/keep.test.ts'), false);
  const docs = new PatternMatcher(['docs', '!docs/README.md']);
  assert.equal(docs.matches('docs/a.md'), true);
  assert.equal(docs.matches('docs/README.md'), false);
});

test('matchesOrParentMatches and the top-down walk agree on ancestors at any depth', () => {
  const dir = new PatternMatcher(['**/dir']);
  assert.equal(dir.matches('dir/file'), false); // matches checks the ancestor at the pattern's depth only …
  assert.equal(dir.matchesOrParentMatches('dir/file'), true); // … this one every ancestor
  const pm = new PatternMatcher(['a/*/c', '!a/b/c/keep']);
  assert.equal(pm.matches('a/b/c/d/e'), true);
  assert.equal(pm.matchesOrParentMatches('a/b/c/keep'), false);
  const [abMatched, ab] = pm.matchesWithParents('a/b', undefined);
  const [abcMatched, abc] = pm.matchesWithParents('a/b/c', ab);
  const [deep] = pm.matchesWithParents('a/b/c/d', abc);
  const [keep] = pm.matchesWithParents('a/b/c/keep', abc);
  assert.deepEqual([abMatched, abcMatched, deep, keep], [false, true, true, false]);
  assert.throws(() => pm.matchesWithParents('x', [true]), /wrong number of values/);
});

test('bad patterns are refused as Go’s filepath.Match refuses them', () => {
  for (const p of ['[', 'a[', '[^', '[^bc', '[]a]', '[-]', '[x-]', '[-x]', '[a-b-c]', 'a\\']) {
    assert.throws(() => new PatternMatcher([p]), { message: 'syntax error in pattern' }, p);
  }
  assert.throws(() => new PatternMatcher(['!']), { message: 'illegal exclusion pattern: "!"' });
  assert.doesNotThrow(() => new PatternMatcher(['[a-z]*', '\\[x\\]', '  ']));
});

test('a Dockerfile’s own ignore file comes first', () => {
  assert.deepEqual(dockerignoreCandidates('build/app.Dockerfile'), ['build/app.Dockerfile.dockerignore', '.dockerignore']);
});
