// .dockerignore: reading the file and matching context paths against its patterns with Docker's
// semantics (moby/patternmatcher and its ignorefile reader, which the docker CLI, dockerd and
// BuildKit share). Patterns are filepath.Match globs (`*`, `?`, `[...]`, `\` escapes) on
// slash-separated paths relative to the context, plus `**` for any number of directories; a
// pattern also matches everything below a directory it matches; `!` re-includes; the last
// matching pattern wins.

import { invalidParameter } from '../../pkg/errors.js';

/** The ignore files to look for, first found wins: `<Dockerfile>.dockerignore`, then `.dockerignore`. */
export function dockerignoreCandidates(dockerfilePath: string): string[] {
  return [`${dockerfilePath}.dockerignore`, '.dockerignore'];
}

/** The patterns of an ignore file: comments and blank lines dropped, each pattern cleaned. */
export function readDockerignore(text: string): string[] {
  const out: string[] = [];
  const lines = text.split('\n');
  if (lines[0].startsWith('\uFEFF')) lines[0] = lines[0].slice(1);
  for (const line of lines) {
    // Only a `#` in the first column starts a comment.
    if (line.startsWith('#')) continue;
    let p = line.trim();
    if (p === '') continue;
    const invert = p[0] === '!';
    if (invert) p = p.slice(1).trim();
    if (p.length > 0) {
      p = cleanPath(p);
      // `/a` and `a` are the same: paths are relative to the context's root.
      if (p.length > 1 && p[0] === '/') p = p.slice(1);
    }
    out.push(invert ? '!' + p : p);
  }
  return out;
}

/** Go's path.Clean: no `.`, no `x/..`, no doubled or trailing slashes; "" is ".". */
export function cleanPath(p: string): string {
  if (p === '') return '.';
  const rooted = p[0] === '/';
  const out: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!rooted) out.push('..');
    } else out.push(seg);
  }
  const joined = (rooted ? '/' : '') + out.join('/');
  return joined === '' ? '.' : joined;
}

function dir(p: string): string {
  const i = p.lastIndexOf('/');
  return i < 0 ? '.' : cleanPath(p.slice(0, i + 1));
}

type MatchType = 'exact' | 'prefix' | 'suffix' | 'regexp';

class Pattern {
  readonly dirs: string[];
  private type: MatchType = 'exact';
  private re?: RegExp;

  constructor(
    readonly cleaned: string,
    readonly exclusion: boolean,
  ) {
    this.dirs = cleaned.split('/');
    this.compile();
  }

  match(path: string): boolean {
    switch (this.type) {
      case 'exact':
        return path === this.cleaned;
      case 'prefix':
        return path.startsWith(this.cleaned.slice(0, -2));
      case 'suffix': {
        const suffix = this.cleaned.slice(2);
        return path.endsWith(suffix) || (suffix[0] === '/' && path === suffix.slice(1));
      }
      case 'regexp':
        return this.re!.test(path);
    }
  }

  // Literal patterns compare as strings, `dir/**` as a prefix, `**/name` as a suffix; anything
  // else becomes a regular expression.
  private compile(): void {
    const chars = Array.from(this.cleaned);
    let re = '^';
    let type: MatchType = 'exact';
    let inClass = false;
    for (let pos = 0, i = 0; pos < chars.length; i++) {
      const ch = chars[pos++];
      if (ch === '*') {
        if (chars[pos] === '*') {
          pos++;
          if (chars[pos] === '/') pos++;
          if (pos >= chars.length) {
            if (type === 'exact') type = 'prefix';
            else {
              re += '[^\\n]*';
              type = 'regexp';
            }
          } else {
            re += '(?:[^\\n]*/)?';
            type = 'regexp';
          }
          if (i === 0) type = 'suffix';
        } else {
          re += '[^/]*';
          type = 'regexp';
        }
      } else if (ch === '?') {
        re += '[^/]';
        type = 'regexp';
      } else if ('.+()|{}$'.includes(ch)) {
        re += '\\' + ch;
      } else if (ch === '\\') {
        if (pos < chars.length) {
          const e = chars[pos++];
          // JavaScript refuses `\-` outside a class, where it means `-` anyway.
          re += e === '-' && !inClass ? '-' : '\\' + e;
          type = 'regexp';
        } else re += '\\\\';
      } else if (ch === '[' || ch === ']') {
        // Bracket expressions pass through: Go's and JavaScript's classes agree ([a-z], [^a]).
        inClass = ch === '[';
        re += ch;
        type = 'regexp';
      } else re += ch;
    }
    if (type === 'regexp') {
      try {
        this.re = new RegExp(re + '$', 'u');
      } catch {
        throw invalidParameter('syntax error in pattern');
      }
    }
    this.type = type;
  }
}

/** Per pattern, whether a path's parent directory matched it (for walking a tree top-down). */
export type ParentMatches = boolean[];

export class PatternMatcher {
  private readonly patterns: Pattern[] = [];
  /** Some pattern re-includes (`!`): a walker cannot skip an excluded directory outright. */
  readonly exclusions: boolean = false;

  constructor(patterns: readonly string[]) {
    for (let p of patterns) {
      p = p.trim();
      if (p === '') continue;
      p = cleanPath(p);
      let exclusion = false;
      if (p[0] === '!') {
        if (p.length === 1) throw invalidParameter('illegal exclusion pattern: "!"');
        exclusion = true;
        p = p.slice(1);
        this.exclusions = true;
      }
      validateGlob(p);
      this.patterns.push(new Pattern(p, exclusion));
    }
  }

  /** Whether the path (or the directory that contains it, at the pattern's depth) is ignored. */
  matches(file: string): boolean {
    let matched = false;
    const parent = dir(file);
    const parentDirs = parent.split('/');
    for (const p of this.patterns) {
      if (p.exclusion !== matched) continue;
      let match = p.match(file);
      if (!match && parent !== '.' && p.dirs.length <= parentDirs.length) {
        match = p.match(parentDirs.slice(0, p.dirs.length).join('/'));
      }
      if (match) matched = !p.exclusion;
    }
    return matched;
  }

  /** Like matches, but a pattern matching any ancestor directory matches too. */
  matchesOrParentMatches(file: string): boolean {
    return this.matchesWithParents(file, undefined)[0];
  }

  /**
   * For a top-down walk: pass the result returned for the path's parent directory (none for a
   * path at the root) and get this path's result and the value to pass for its children.
   */
  matchesWithParents(file: string, parent: ParentMatches | undefined): [boolean, ParentMatches] {
    if (parent && parent.length !== 0 && parent.length !== this.patterns.length) {
      throw new Error('wrong number of values in parentMatched');
    }
    let matched = false;
    const info: ParentMatches = new Array<boolean>(this.patterns.length).fill(false);
    this.patterns.forEach((p, i) => {
      let match = parent && parent.length > 0 ? parent[i] : false;
      if (!match) {
        if (p.exclusion !== matched) return;
        match = p.match(file);
        const parentPath = dir(file);
        if (!match && !(parent && parent.length > 0) && parentPath !== '.') {
          const dirs = parentPath.split('/');
          for (let j = 1; j <= dirs.length && !match; j++) match = p.match(dirs.slice(0, j).join('/'));
        }
      }
      info[i] = match;
      if (match) matched = !p.exclusion;
    });
    return [matched, info];
  }
}

// filepath.Match's syntax check: `[` needs a closing `]` and valid ranges, `\` needs a character.
function validateGlob(p: string): void {
  const bad = () => invalidParameter('syntax error in pattern');
  const c = Array.from(p);
  let i = 0;
  const esc = (): void => {
    if (i >= c.length || c[i] === '-' || c[i] === ']') throw bad();
    if (c[i] === '\\') {
      i++;
      if (i >= c.length) throw bad();
    }
    i++;
  };
  while (i < c.length) {
    const ch = c[i++];
    if (ch === '\\') {
      if (i >= c.length) throw bad();
      i++;
    } else if (ch === '[') {
      if (c[i] === '^') i++;
      let ranges = 0;
      for (;;) {
        if (i < c.length && c[i] === ']' && ranges > 0) {
          i++;
          break;
        }
        esc();
        if (c[i] === '-') {
          i++;
          esc();
        }
        ranges++;
      }
    }
  }
}
