// The Dockerfile parser: turns the text into one node per instruction, as BuildKit's
// frontend/dockerfile/parser (which dockerd's classic builder uses) does. Parser directives,
// the escape character, line continuations (with the comment and empty lines they may contain),
// per-instruction argument forms (JSON or shell, key=value lists, ONBUILD's nested instruction)
// and heredocs are handled here; flags are only split off, and variables are not expanded.

import { BerthError } from '../../pkg/errors.js';
import { ShellLex, envFromList } from './lex.js';
import { goQuote } from './goquote.js';

export interface Heredoc {
  /** The delimiter word, with its quotes removed. */
  name: string;
  /** `3<<EOF` → 3; 0 when no descriptor was given. */
  fileDescriptor: number;
  /** False when any part of the delimiter was quoted: the content is then taken literally. */
  expand: boolean;
  /** `<<-`: leading tabs are stripped from the content (and from the delimiter line). */
  chomp: boolean;
  /** The lines up to the delimiter, each with its line ending. */
  content: string;
}

export interface Node {
  /** The instruction keyword as written (case kept). */
  value: string;
  /** The instruction's logical line: continuations joined, comments removed. */
  original: string;
  /** `--name=value` words before the arguments. */
  flags: string[];
  /**
   * The arguments: for ENV and LABEL triples of [key, value, "=" or ""] (the value still quoted),
   * for ONBUILD the trigger's keyword followed by its arguments, for JSON forms the array, for
   * shell forms of RUN/CMD/ENTRYPOINT/SHELL/HEALTHCHECK one string.
   */
  args: string[];
  /** The arguments were a JSON array (exec form). */
  json: boolean;
  heredocs: Heredoc[];
  /** 1-based lines of the instruction in the file, continuation and heredoc lines included. */
  startLine: number;
  endLine: number;
  /** The comment lines directly above the instruction. */
  comments: string[];
  /** ONBUILD's trigger instruction. */
  child?: Node;
}

export interface Directive {
  name: string;
  value: string;
  line: number;
}

export interface ParseWarning {
  short: string;
  detail: string;
  url: string;
  line: number;
}

export interface ParseResult {
  nodes: Node[];
  escapeToken: string;
  directives: Directive[];
  warnings: ParseWarning[];
}

/** The warning lines dockerd prints on the build's stderr stream before the first step. */
export function warningLines(warnings: readonly ParseWarning[]): string[] {
  if (warnings.length === 0) return [];
  return [
    ...warnings.map((w) => `[WARNING]: ${w.short}\n`),
    '[WARNING]: Empty continuation lines will become errors in a future release.\n',
  ];
}

/** A Dockerfile that cannot be parsed; the message is dockerd's, the lines say where. */
export class DockerfileParseError extends BerthError {
  constructor(
    message: string,
    readonly startLine: number,
    readonly endLine: number,
  ) {
    super('invalid-parameter', message);
    this.name = 'DockerfileParseError';
  }
}

/** bufio.Scanner's limit, which dockerd inherits. */
const MAX_LINE_BYTES = 64 * 1024;
const WHITESPACE_SPLIT = /[\t\v\f\r ]+/;
const HEREDOC_WORD = /^(\d*)<<(-?)\s*([^<]*)$/;
const DIRECTIVE = /^#[\t\n\f\r ]*([a-zA-Z][a-zA-Z0-9]*)[\t\n\f\r ]*=[\t\n\f\r ]*(.+?)[\t\n\f\r ]*$/;
const KNOWN_DIRECTIVES = new Set(['syntax', 'escape', 'check']);
const HEREDOC_INSTRUCTIONS = new Set(['add', 'copy', 'run']);

// Parser directives come first: each `# key=value` line before anything else, every other line
// (a comment, an unknown directive, a blank line, an instruction) ends them.
class Directives {
  escapeToken = '\\';
  private done = false;
  private readonly seen = new Set<string>();
  readonly found: Directive[] = [];
  private continuation = continuationRegExp('\\');

  /** Looks at one line; true when it was a directive. */
  consider(line: string, lineNo: number): boolean {
    if (this.done) return false;
    const m = DIRECTIVE.exec(line);
    const name = m?.[1].toLowerCase();
    if (!m || !name || !KNOWN_DIRECTIVES.has(name)) {
      this.done = true;
      return false;
    }
    if (this.seen.has(name)) throw new Error(`only one ${name} parser directive can be used`);
    this.seen.add(name);
    if (name === 'escape') {
      if (m[2] !== '`' && m[2] !== '\\') throw new Error(`invalid escape token '${m[2]}' does not match \` or \\`);
      this.escapeToken = m[2];
      this.continuation = continuationRegExp(m[2]);
    }
    this.found.push({ name, value: m[2], line: lineNo });
    return true;
  }

  /** Removes a trailing escape character (and blanks after it); false when the line ends here. */
  trimContinuation(line: string): [string, boolean] {
    if (!this.continuation.test(line)) return [line, true];
    return [line.replace(this.continuation, '$1'), false];
  }
}

// The escape character as the last non-blank character continues the line, unless escaped itself
// (only a preceding escape character is checked, as dockerd does).
function continuationRegExp(esc: string): RegExp {
  const e = '\\' + esc;
  return new RegExp(`([^${e}])${e}[ \\t]*$|^${e}[ \\t]*$`);
}

const trimNewline = (s: string) => s.replace(/[\r\n]+$/, '');
const trimLeadingSpace = (s: string) => s.replace(/^\p{White_Space}+/u, '');
const isComment = (s: string) => trimLeadingSpace(s).startsWith('#');

function splitLines(text: string): string[] {
  const lines: string[] = [];
  let start = 0;
  while (start < text.length) {
    const nl = text.indexOf('\n', start);
    const end = nl < 0 ? text.length : nl + 1;
    lines.push(text.slice(start, end));
    start = end;
  }
  return lines;
}

/** Parses a Dockerfile. Throws DockerfileParseError with dockerd's message and the lines. */
export function parseDockerfile(input: string | Uint8Array): ParseResult {
  let text = typeof input === 'string' ? input : new TextDecoder().decode(input);
  if (text.startsWith('\uFEFF')) text = text.slice(1);
  const lines = splitLines(text);
  const d = new Directives();
  const nodes: Node[] = [];
  const warnings: ParseWarning[] = [];
  let comments: string[] = [];
  let current = 0; // lines consumed so far
  let i = 0;
  const nextLine = (): string | undefined => {
    const l = lines[i++];
    if (l !== undefined && Buffer.byteLength(l) > MAX_LINE_BYTES) {
      throw new DockerfileParseError(`dockerfile line greater than max allowed size of ${MAX_LINE_BYTES - 1}`, current, current);
    }
    return l;
  };
  // Each physical line is stripped of its line ending and, when it is a comment, of everything.
  const processLine = (raw: string, stripLeft: boolean): [string, boolean] => {
    let s = trimNewline(raw);
    if (stripLeft) s = trimLeadingSpace(s);
    let directive: boolean;
    try {
      directive = d.consider(s, current + 1);
    } catch (err) {
      throw new DockerfileParseError((err as Error).message, current, current);
    }
    return [isComment(s) ? '' : s, directive];
  };

  for (let raw = nextLine(); raw !== undefined; raw = nextLine()) {
    if (isComment(raw)) {
      const c = raw.slice(1).trim();
      comments = c === '' ? [] : [...comments, c];
    }
    let [line, isDirective] = processLine(raw, true);
    if (isDirective) comments = comments.slice(0, -1);
    current++;
    const startLine = current;
    let endOfLine: boolean;
    [line, endOfLine] = d.trimContinuation(line);
    if (endOfLine && line.length === 0) continue;

    let joined = line;
    let emptyContinuation = false;
    while (!endOfLine) {
      const more = nextLine();
      if (more === undefined) break;
      const [l] = processLine(more, false);
      current++;
      if (isComment(more)) continue;
      if (trimLeadingSpace(trimNewline(l)).length === 0) {
        emptyContinuation = true;
        continue;
      }
      let part: string;
      [part, endOfLine] = d.trimContinuation(l);
      joined += part;
    }
    if (emptyContinuation) {
      warnings.push({
        short: 'Empty continuation line found in: ' + joined,
        detail: 'Empty continuation lines will become errors in a future release',
        url: 'https://docs.docker.com/go/dockerfile/rule/no-empty-continuation/',
        line: current,
      });
    }

    let node: Node;
    try {
      node = nodeFromLine(joined, d.escapeToken, comments);
    } catch (err) {
      throw new DockerfileParseError((err as Error).message, startLine, current);
    }
    if (canContainHeredoc(node) && joined.includes('<<')) {
      let docs: Heredoc[];
      try {
        docs = heredocsFromLine(joined);
      } catch (err) {
        throw new DockerfileParseError((err as Error).message, startLine, current);
      }
      for (const doc of docs) {
        let terminated = false;
        for (let l = nextLine(); l !== undefined; l = nextLine()) {
          current++;
          let candidate = trimNewline(l);
          if (doc.chomp) candidate = candidate.replace(/^\t+/, '');
          if (candidate === doc.name) {
            terminated = true;
            break;
          }
          doc.content += l;
        }
        if (!terminated) throw new DockerfileParseError('unterminated heredoc', startLine, current);
        node.heredocs.push(doc);
      }
    }
    node.startLine = startLine;
    node.endLine = current;
    nodes.push(node);
    comments = [];
  }
  if (nodes.length === 0) throw new DockerfileParseError('file with no instructions', current, current);
  return { nodes, escapeToken: d.escapeToken, directives: d.found, warnings };
}

function canContainHeredoc(node: Node): boolean {
  const n = node.value.toLowerCase() === 'onbuild' && node.child ? node.child : node;
  return HEREDOC_INSTRUCTIONS.has(n.value.toLowerCase()) && !n.json;
}

function nodeFromLine(line: string, escapeToken: string, comments: string[]): Node {
  const trimmed = line.trim();
  const m = WHITESPACE_SPLIT.exec(trimmed);
  const cmd = m ? trimmed.slice(0, m.index) : trimmed;
  let flags: string[] = [];
  let rest = '';
  if (m) [rest, flags] = extractBuilderFlags(trimmed.slice(m.index + m[0].length), escapeToken);
  rest = rest.trim();
  const node: Node = { value: cmd, original: line, flags, args: [], json: false, heredocs: [], startLine: 0, endLine: 0, comments };
  switch (cmd.toLowerCase()) {
    case 'add':
    case 'copy':
    case 'volume':
      Object.assign(node, maybeJSON(rest) ?? { args: splitWhitespace(rest) });
      break;
    case 'cmd':
    case 'entrypoint':
    case 'run':
    case 'shell':
      if (rest !== '') Object.assign(node, maybeJSON(rest) ?? { args: [rest] });
      break;
    case 'arg':
      node.args = parseWords(rest, escapeToken);
      break;
    case 'env':
    case 'label':
      node.args = parseNameVal(rest, cmd.toLowerCase() === 'env' ? 'ENV' : 'LABEL', escapeToken);
      break;
    case 'expose':
    case 'from':
      node.args = splitWhitespace(rest);
      break;
    case 'healthcheck':
      Object.assign(node, parseHealthConfig(rest));
      break;
    case 'maintainer':
    case 'stopsignal':
    case 'user':
    case 'workdir':
      if (rest !== '') node.args = [rest];
      break;
    case 'onbuild':
      if (rest !== '') {
        node.child = nodeFromLine(rest, escapeToken, []);
        node.args = [node.child.value, ...node.child.args];
      }
      break;
    default:
      // Unknown instructions are kept; the instruction parser reports them.
      node.args = [''];
  }
  return node;
}

const splitWhitespace = (rest: string) => (rest === '' ? [] : rest.split(WHITESPACE_SPLIT));

/** The JSON (exec) form when the arguments are a JSON array; undefined when they are not. */
function maybeJSON(rest: string): { args: string[]; json: true } | undefined {
  const s = trimLeadingSpace(rest);
  if (!s.startsWith('[')) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(s);
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed)) return undefined;
  if (!parsed.every((v): v is string => typeof v === 'string')) {
    throw new Error('when using JSON array syntax, arrays must be comprised of strings only');
  }
  return { args: parsed, json: true };
}

// HEALTHCHECK's first word is its type (CMD or NONE), the rest a command in either form.
function parseHealthConfig(rest: string): { args: string[]; json: boolean } {
  const m = /\s/.exec(rest);
  const sep = m ? m.index : rest.length;
  if (sep === 0) return { args: [], json: false };
  const cmd = rest.slice(sep).replace(/^\s+/, '');
  if (cmd === '') return { args: [rest.slice(0, sep)], json: false };
  const parsed = maybeJSON(cmd) ?? { args: [cmd], json: false };
  return { args: [rest.slice(0, sep), ...parsed.args], json: parsed.json };
}

// ENV and LABEL take `key value` (the old form: everything after the first blank is the value)
// or `key=value ...` (quoted words, each needing an `=`). Values keep their quotes: expansion
// removes them later.
function parseNameVal(rest: string, key: string, esc: string): string[] {
  const words = parseWords(rest, esc);
  if (words.length === 0) return [];
  if (!words[0].includes('=')) {
    const m = WHITESPACE_SPLIT.exec(rest);
    if (!m) throw new Error(`${key} must have two arguments`);
    return [rest.slice(0, m.index), rest.slice(m.index + m[0].length), ''];
  }
  const out: string[] = [];
  for (const w of words) {
    const eq = w.indexOf('=');
    if (eq < 0) throw new Error(`Syntax error - can't find = in ${goQuote(w)}. Must be of the form: name=value`);
    out.push(w.slice(0, eq), w.slice(eq + 1), '=');
  }
  return out;
}

const isSpaceChar = (c: string) => /^\p{White_Space}$/u.test(c);

/**
 * Splits on blanks outside quotes (ARG, ENV and LABEL arguments). Quotes and escapes stay in the words (expansion processes them
 * later); an escape character at the very end is dropped.
 */
function parseWords(rest: string, esc: string): string[] {
  const chars = Array.from(rest);
  const words: string[] = [];
  let phase: 'spaces' | 'word' | 'quote' = 'spaces';
  let quote = '';
  let blankOK = false;
  let buf = '';
  for (let pos = 0; pos <= chars.length; pos++) {
    let ch = chars[pos];
    const atEnd = pos === chars.length;
    if (phase === 'spaces') {
      if (atEnd) break;
      if (isSpaceChar(ch)) continue;
      phase = 'word';
    }
    if (atEnd) {
      if (blankOK || buf.length > 0) words.push(buf);
      break;
    }
    if (phase === 'word') {
      if (isSpaceChar(ch)) {
        phase = 'spaces';
        if (blankOK || buf.length > 0) words.push(buf);
        buf = '';
        blankOK = false;
        continue;
      }
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOK = true;
        phase = 'quote';
      }
      if (ch === esc) {
        if (pos + 1 === chars.length) continue;
        buf += ch;
        ch = chars[++pos];
      }
      buf += ch;
      continue;
    }
    if (ch === quote) phase = 'word';
    if (ch === esc && quote !== "'") {
      if (pos + 1 === chars.length) {
        phase = 'word';
        continue;
      }
      buf += ch;
      ch = chars[++pos];
    }
    buf += ch;
  }
  return words;
}

/**
 * Splits leading `--flag[=value]` words off the arguments (quotes and escapes in them are
 * processed); a lone `--` ends the flags. Returns the rest of the line and the flags.
 */
function extractBuilderFlags(line: string, esc: string): [string, string[]] {
  const chars = Array.from(line);
  const words: string[] = [];
  let phase: 'spaces' | 'word' | 'quote' = 'spaces';
  let quote = '';
  let blankOK = false;
  let buf = '';
  const restFrom = (pos: number) => chars.slice(pos).join('');
  for (let pos = 0; pos <= chars.length; pos++) {
    let ch = chars[pos];
    const atEnd = pos === chars.length;
    if (phase === 'spaces') {
      if (atEnd) break;
      if (isSpaceChar(ch)) continue;
      if (ch !== '-' || chars[pos + 1] !== '-') return [restFrom(pos), words];
      phase = 'word';
    }
    if (atEnd) {
      if (buf !== '--' && (blankOK || buf.length > 0)) words.push(buf);
      break;
    }
    if (phase === 'word') {
      if (isSpaceChar(ch)) {
        phase = 'spaces';
        if (buf === '--') return [restFrom(pos), words];
        if (blankOK || buf.length > 0) words.push(buf);
        buf = '';
        blankOK = false;
        continue;
      }
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOK = true;
        phase = 'quote';
        continue;
      }
      if (ch === esc) {
        if (pos + 1 === chars.length) continue;
        ch = chars[++pos];
      }
      buf += ch;
      continue;
    }
    if (ch === quote) {
      phase = 'word';
      continue;
    }
    if (ch === esc) {
      if (pos + 1 === chars.length) {
        phase = 'word';
        continue;
      }
      ch = chars[++pos];
    }
    buf += ch;
  }
  return ['', words];
}

const noEnv = envFromList([]);

/**
 * The heredoc a word such as `<<EOF`, `<<-"EOF"` or `3<<'END'` introduces, if it is one. The
 * heredoc's content is empty; the parser fills it in.
 */
export function parseHeredoc(word: string): Heredoc | undefined {
  const m = HEREDOC_WORD.exec(word);
  if (!m || m[3] === '') return undefined;
  const words = new ShellLex('\\', { skipUnsetEnv: true }).processWords(m[3], noEnv);
  if (words.length !== 1) return undefined;
  const raw = new ShellLex('\\', { skipUnsetEnv: true, rawQuotes: true }).processWords(m[3], noEnv);
  if (raw.length !== 1) throw new Error(`internal lexing of heredoc produced inconsistent results: ${m[3]}`);
  const quotes = (s: string) => (s.match(/['"]/g) ?? []).length;
  return {
    name: words[0],
    fileDescriptor: m[1] === '' ? 0 : Number(m[1]),
    // Quoting any part of the delimiter turns expansion off, as in a shell.
    expand: quotes(words[0]) === quotes(raw[0]),
    chomp: m[2] === '-',
    content: '',
  };
}

function heredocsFromLine(line: string): Heredoc[] {
  const lex = new ShellLex('\\', { rawQuotes: true, rawEscapes: true, skipUnsetEnv: true });
  let words: string[];
  try {
    words = lex.processWords(line, noEnv);
  } catch {
    words = [];
  }
  const docs: Heredoc[] = [];
  for (const w of words) {
    const doc = parseHeredoc(w);
    if (doc) docs.push(doc);
  }
  return docs;
}

/** `<<-` heredocs lose the tabs at the start of each line. */
export function chompHeredocContent(content: string): string {
  return content.replace(/^\t+/gm, '');
}
