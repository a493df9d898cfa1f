// The Dockerfile shell lexer: word splitting, quotes, escapes and variable expansion as BuildKit's
// frontend/dockerfile/shell package does them (which dockerd's classic builder uses too). It is not
// a shell: only $VAR, ${VAR} and the ${VAR<modifier>...} forms below are understood, and command
// substitution is left as text.

import { goQuote } from './goquote.js';

/** Where the lexer looks variables up; `undefined` means unset (an empty string is set). */
export interface EnvGetter {
  get(name: string): string | undefined;
}

/** An EnvGetter over `KEY=value` strings; a later entry wins, `KEY` alone is set and empty. */
export function envFromList(list: readonly string[]): EnvGetter {
  const m = new Map<string, string>();
  for (const e of list) {
    const i = e.indexOf('=');
    if (i < 0) m.set(e, '');
    else m.set(e.slice(0, i), e.slice(i + 1));
  }
  return { get: (name) => m.get(name) };
}

export function envFromMap(map: ReadonlyMap<string, string> | Record<string, string>): EnvGetter {
  const m = map instanceof Map ? map : new Map(Object.entries(map));
  return { get: (name) => m.get(name) };
}

export interface LexOptions {
  /** Keep quote characters in the output (the heredoc detector uses this). */
  rawQuotes?: boolean;
  /** Keep escape characters in the output. */
  rawEscapes?: boolean;
  /** Leave a reference to an unset variable as written instead of expanding it to nothing. */
  skipUnsetEnv?: boolean;
  /** Treat quotes as ordinary characters (heredoc contents expand this way). */
  skipProcessQuotes?: boolean;
}

export interface WordResult {
  result: string;
  /** Variables the word referred to that were set / unset. */
  matched: Set<string>;
  unmatched: Set<string>;
}

export class ShellLexError extends Error {
  override name = 'ShellLexError';
}

const EOF = -1;
const isSpace = (ch: number) => ch !== EOF && /\p{White_Space}/u.test(String.fromCodePoint(ch));
const isLetter = (ch: number) => ch !== EOF && /\p{L}/u.test(String.fromCodePoint(ch));
const isDigit = (ch: number) => ch !== EOF && /\p{Nd}/u.test(String.fromCodePoint(ch));
/** What Go prints for a rune, including its EOF marker (-1), which prints as U+FFFD. */
const runeText = (ch: number) => (ch === EOF ? '\uFFFD' : String.fromCodePoint(ch));

// Word splitting: unquoted whitespace (also inside an expanded variable) separates words; quoted or
// escaped characters never do.
class Words {
  private buf = '';
  private inWord = false;
  readonly words: string[] = [];
  addChar(ch: string): void {
    if (/^\p{White_Space}$/u.test(ch)) {
      if (this.inWord && this.buf.length > 0) {
        this.words.push(this.buf);
        this.buf = '';
        this.inWord = false;
      }
    } else this.addRaw(ch);
  }
  addString(s: string): void {
    for (const ch of s) this.addChar(ch);
  }
  addRaw(s: string): void {
    this.buf += s;
    this.inWord = true;
  }
  finish(): string[] {
    if (this.buf.length > 0) {
      this.words.push(this.buf);
      this.buf = '';
      this.inWord = false;
    }
    return this.words;
  }
}

export class ShellLex {
  readonly escapeToken: string;
  private readonly escape: number;
  private readonly opts: LexOptions;

  constructor(escapeToken = '\\', opts: LexOptions = {}) {
    this.escapeToken = escapeToken;
    this.escape = escapeToken.codePointAt(0)!;
    this.opts = opts;
  }

  /** Expands one word, keeping whitespace; quotes and escapes are removed. */
  processWord(word: string, env: EnvGetter): WordResult {
    const w = new Scan(word, env, this.escape, this.opts);
    const result = w.run(word).result;
    return { result, matched: w.matched, unmatched: w.unmatched };
  }

  /** Expands and splits into words on unquoted whitespace (after expansion, as a shell would). */
  processWords(word: string, env: EnvGetter): string[] {
    return new Scan(word, env, this.escape, this.opts).run(word).words;
  }
}

class Scan {
  private readonly chars: number[];
  private pos = 0;
  private rawEscapes: boolean;
  readonly matched = new Set<string>();
  readonly unmatched = new Set<string>();

  constructor(
    word: string,
    private readonly env: EnvGetter,
    private readonly escape: number,
    private readonly opts: LexOptions,
  ) {
    this.chars = Array.from(word, (c) => c.codePointAt(0)!);
    this.rawEscapes = !!opts.rawEscapes;
  }

  run(source: string): { result: string; words: string[] } {
    try {
      return this.processStopOn(EOF, this.rawEscapes);
    } catch (err) {
      if (err instanceof ShellLexError) throw new ShellLexError(`failed to process ${goQuote(source)}: ${err.message}`);
      throw err;
    }
  }

  private peek(): number {
    return this.pos < this.chars.length ? this.chars[this.pos] : EOF;
  }
  private next(): number {
    return this.pos < this.chars.length ? this.chars[this.pos++] : EOF;
  }

  private processStopOn(stop: number, rawEscapes: boolean): { result: string; words: string[] } {
    const saved = this.rawEscapes;
    this.rawEscapes = rawEscapes;
    try {
      let result = '';
      const words = new Words();
      while (this.peek() !== EOF) {
        const ch = this.peek();
        if (stop !== EOF && ch === stop) {
          this.next();
          return { result, words: words.finish() };
        }
        if (ch === 0x24 /* $ */) {
          const v = this.processDollar();
          result += v;
          words.addString(v);
        } else if (ch === 0x3c /* < */) {
          const v = this.processPossibleHeredoc();
          result += v;
          words.addRaw(v);
        } else if (ch === 0x27 /* ' */ && !this.opts.skipProcessQuotes) {
          const v = this.processSingleQuote();
          result += v;
          words.addRaw(v);
        } else if (ch === 0x22 /* " */ && !this.opts.skipProcessQuotes) {
          const v = this.processDoubleQuote();
          result += v;
          words.addRaw(v);
        } else {
          let c = this.next();
          if (c === this.escape) {
            if (this.rawEscapes) {
              words.addRaw(String.fromCodePoint(c));
              result += String.fromCodePoint(c);
            }
            // The escape character escapes anything, except at the end of the word.
            c = this.next();
            if (c === EOF) break;
            words.addRaw(String.fromCodePoint(c));
          } else {
            words.addChar(String.fromCodePoint(c));
          }
          result += String.fromCodePoint(c);
        }
      }
      if (stop !== EOF) {
        throw new ShellLexError(`unexpected end of statement while looking for matching ${runeText(stop)}`);
      }
      return { result, words: words.finish() };
    } finally {
      this.rawEscapes = saved;
    }
  }

  // Everything between single quotes is literal; a single quote cannot be escaped inside them.
  private processSingleQuote(): string {
    let result = '';
    const open = this.next();
    if (this.opts.rawQuotes) result += String.fromCodePoint(open);
    for (;;) {
      const ch = this.next();
      if (ch === EOF) throw new ShellLexError('unexpected end of statement while looking for matching single-quote');
      if (ch === 0x27) {
        if (this.opts.rawQuotes) result += "'";
        return result;
      }
      result += String.fromCodePoint(ch);
    }
  }

  // Inside double quotes variables expand, and the escape character escapes only ", $ and itself.
  private processDoubleQuote(): string {
    let result = '';
    const open = this.next();
    if (this.opts.rawQuotes) result += String.fromCodePoint(open);
    for (;;) {
      const p = this.peek();
      if (p === EOF) throw new ShellLexError('unexpected end of statement while looking for matching double-quote');
      if (p === 0x22) {
        this.next();
        if (this.opts.rawQuotes) result += '"';
        return result;
      }
      if (p === 0x24) {
        result += this.processDollar();
        continue;
      }
      let ch = this.next();
      if (ch === this.escape) {
        if (this.rawEscapes) result += String.fromCodePoint(ch);
        const after = this.peek();
        if (after === EOF) continue;
        if (after === 0x22 || after === 0x24 || after === this.escape) ch = this.next();
      }
      result += String.fromCodePoint(ch);
    }
  }

  private lookup(name: string): string | undefined {
    const v = this.env.get(name);
    if (v === undefined) this.unmatched.add(name);
    else this.matched.add(name);
    return v;
  }

  private processDollar(): string {
    this.next();
    if (this.peek() !== 0x7b /* { */) {
      const name = this.processName();
      if (name === '') return '$';
      const value = this.lookup(name);
      if (value === undefined && this.opts.skipUnsetEnv) return '$' + name;
      return value ?? '';
    }
    this.next();
    const first = this.peek();
    if (first === EOF) throw new ShellLexError("syntax error: missing '}'");
    if (first === 0x7b || first === 0x7d || first === 0x3a) throw new ShellLexError('syntax error: bad substitution');
    const name = this.processName();
    let ch = this.next();
    let modifier = runeText(ch);

    if (ch === 0x7d /* } */) {
      const value = this.lookup(name);
      if (value === undefined && this.opts.skipUnsetEnv) return `\${${name}}`;
      return value ?? '';
    }
    if (ch === 0x2f /* / */) return this.processReplace(name);

    let nullIsUnset = false;
    if (ch === 0x3a /* : */) {
      nullIsUnset = true;
      ch = this.next();
      modifier += runeText(ch);
    } else if (!'+-?#%'.includes(runeText(ch))) {
      throw new ShellLexError(`unsupported modifier (${modifier}) in substitution`);
    }
    // # and % take a pattern, in which escapes are kept for the pattern matcher.
    const isPattern = ch === 0x23 || ch === 0x25;
    if (nullIsUnset && isPattern) throw new ShellLexError(`unsupported modifier (${modifier}) in substitution`);
    let word = this.wordUntil(0x7d, isPattern, "syntax error: missing '}'");

    const value = this.lookup(name);
    if (this.opts.skipUnsetEnv && value === undefined) return `\${${name}${modifier}${word}}`;
    const unset = value === undefined || (nullIsUnset && value === '');
    switch (ch) {
      case 0x2d /* - */:
        return unset ? word : value!;
      case 0x2b /* + */:
        return unset ? '' : word;
      case 0x3f /* ? */:
        if (value === undefined) throw new ShellLexError(`${name}: ${word || 'is not allowed to be unset'}`);
        if (nullIsUnset && value === '') throw new ShellLexError(`${name}: ${word || 'is not allowed to be empty'}`);
        return value;
      case 0x23 /* # */:
      case 0x25 /* % */: {
        // One #/% removes the shortest match, two the longest.
        const greedy = word.length > 0 && word.codePointAt(0) === ch;
        if (greedy) word = word.slice(1);
        return ch === 0x25 ? trimSuffix(word, value ?? '', greedy) : trimPrefix(word, value ?? '', greedy);
      }
      default:
        throw new ShellLexError(`unsupported modifier (${modifier}) in substitution`);
    }
  }

  // ${VAR/pattern/replacement} replaces the first match, ${VAR//pattern/replacement} all of them.
  private processReplace(name: string): string {
    const all = this.peek() === 0x2f;
    if (all) this.next();
    const pattern = this.wordUntil(0x2f, true, "syntax error: missing '/' in ${}");
    const replacement = this.wordUntil(0x7d, true, "syntax error: missing '}'");
    const value = this.lookup(name);
    if (this.opts.skipUnsetEnv && value === undefined) return `\${${name}/${pattern}/${replacement}}`;
    const re = shellPatternToRegExp(pattern, true, false);
    return replaceMatches(value ?? '', re, replacement, all);
  }

  private wordUntil(stop: number, rawEscapes: boolean, atEOF: string): string {
    try {
      return this.processStopOn(stop, rawEscapes).result;
    } catch (err) {
      if (err instanceof ShellLexError && this.peek() === EOF) throw new ShellLexError(atEOF);
      throw err;
    }
  }

  // A name is letters, digits and underscores; a name that starts with a digit is a positional
  // parameter (all its digits), and a special parameter ($@, $*, $#, $?, $-, $$, $!, $0) is one char.
  private processName(): string {
    let name = '';
    while (this.peek() !== EOF) {
      const ch = this.peek();
      if (name === '' && isDigit(ch)) {
        while (isDigit(this.peek())) name += String.fromCodePoint(this.next());
        return name;
      }
      if (name === '' && '@*#?-$!0'.includes(String.fromCodePoint(ch))) {
        return String.fromCodePoint(this.next());
      }
      if (!isLetter(ch) && !isDigit(ch) && ch !== 0x5f) break;
      name += String.fromCodePoint(this.next());
    }
    return name;
  }

  // `<<` (and the blanks after it) stays attached to the word that follows, so that a heredoc
  // marker such as `<< EOF` comes out as one word.
  private processPossibleHeredoc(): string {
    this.next();
    if (this.peek() !== 0x3c) return '<';
    this.next();
    let space = '';
    while (this.peek() === 0x20 || this.peek() === 0x09 || this.peek() === 0x0d) space += String.fromCodePoint(this.next());
    return '<<' + space;
  }
}

/**
 * A shell wildcard pattern (`*`, `?`, `\` escapes; no bracket expressions) as a regular expression.
 * `*` is lazy unless greedy; anchored patterns match only at the start.
 */
export function shellPatternToRegExp(pattern: string, greedy: boolean, anchored: boolean): RegExp {
  const chars = Array.from(pattern);
  let out = anchored ? '^' : '';
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i];
    if (c === '*') out += greedy ? '[^\\n]*' : '[^\\n]*?';
    else if (c === '?') out += '[^\\n]';
    else if (c === '\\') {
      // `\}` and `\/` only escape the ${} syntax; they are not part of the pattern.
      if (chars[i + 1] === '}' || chars[i + 1] === '/') continue;
      const e = chars[++i];
      if (e !== '*' && e !== '?' && e !== '\\') {
        throw new ShellLexError(`invalid pattern (${pattern}) in substitution: invalid escape '\\${e ?? '\uFFFD'}'`);
      }
      out += '\\' + e;
    } else if ('[]{}.+()|^$/'.includes(c)) out += '\\' + c;
    else out += c;
  }
  return new RegExp(out, 'u');
}

function trimPrefix(pattern: string, value: string, greedy: boolean): string {
  const m = shellPatternToRegExp(pattern, greedy, true).exec(value);
  return m ? value.slice(m[0].length) : value;
}

// The shortest or longest match at the end: reverse both the value and the pattern (keeping each
// escape before the character it escapes) and trim a prefix instead.
function trimSuffix(pattern: string, value: string, greedy: boolean): string {
  const p = Array.from(pattern);
  const rev: string[] = [];
  for (let i = 0; i < p.length; ) {
    if (p[i] === '\\' && i !== p.length - 1) {
      rev.unshift(p[i], p[i + 1]);
      i += 2;
    } else rev.unshift(p[i++]);
  }
  const reversed = Array.from(value).reverse().join('');
  return Array.from(trimPrefix(rev.join(''), reversed, greedy)).reverse().join('');
}

// Go's Regexp.ReplaceAllString: `$0`/`${0}` is the match, other `$name`s (no groups here) are empty,
// `$$` is a dollar; an empty match right after a match is not replaced.
function replaceMatches(value: string, re: RegExp, template: string, all: boolean): string {
  const g = new RegExp(re.source, 'gu');
  let out = '';
  let last = 0;
  let pos = 0;
  while (pos <= value.length) {
    g.lastIndex = pos;
    const m = g.exec(value);
    if (!m) break;
    const start = m.index;
    const end = start + m[0].length;
    out += value.slice(last, start);
    if (end > last || start === 0) out += expandTemplate(template, m[0]);
    last = end;
    if (!all) break;
    const width = pos < value.length ? String.fromCodePoint(value.codePointAt(pos)!).length : 1;
    pos = pos + width > end ? pos + width : end;
  }
  return out + value.slice(last);
}

function expandTemplate(template: string, match: string): string {
  let out = '';
  for (let i = 0; i < template.length; ) {
    const d = template.indexOf('$', i);
    if (d < 0) return out + template.slice(i);
    out += template.slice(i, d);
    i = d + 1;
    if (template[i] === '$') {
      out += '$';
      i++;
      continue;
    }
    const m = /^(?:\{([\p{L}\p{Nd}_]+)\}|([\p{L}\p{Nd}_]+))/u.exec(template.slice(i));
    if (!m) {
      out += '$';
      continue;
    }
    i += m[0].length;
    const name = m[1] ?? m[2];
    if (/^\d+$/.test(name) && Number(name) === 0) out += match;
  }
  return out;
}
