// The lexer of Go's text/template (text/template/parse/lex.go): the same tokens, the same
// trim-marker and comment rules, and the same error texts, since users of `--format` see them.
// Positions are offsets in the JavaScript string; errors convert them to Go's byte columns.

export enum Item {
  Error, Bool, Char, CharConstant, Comment, Complex, Assign, Declare, EOF, Field, Identifier,
  LeftDelim, LeftParen, Number, Pipe, RawString, RightDelim, RightParen, Space, String, Text,
  Variable,
  Keyword, // marks the start of the keywords
  Block, Break, Continue, Dot, Define, Else, End, If, Nil, Range, Template, With,
}

const keywords: Record<string, Item> = {
  '.': Item.Dot, block: Item.Block, break: Item.Break, continue: Item.Continue,
  define: Item.Define, else: Item.Else, end: Item.End, if: Item.If, range: Item.Range,
  nil: Item.Nil, template: Item.Template, with: Item.With,
};

export interface Token {
  typ: Item;
  pos: number;
  val: string;
  line: number;
}

/** Go's item.String(), used in "unexpected X in Y" errors. */
export function tokenString(t: Token): string {
  if (t.typ === Item.EOF) return 'EOF';
  if (t.typ === Item.Error) return t.val;
  if (t.typ > Item.Keyword) return `<${t.val}>`;
  if ([...t.val].length > 10) return quoteGo([...t.val].slice(0, 10).join('')) + '...';
  return quoteGo(t.val);
}

// Minimal %q for token text (printable text only reaches here in practice).
function quoteGo(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += '\\' + ch;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    else if (c < 0x20 || c === 0x7f) out += '\\x' + c.toString(16).padStart(2, '0');
    else out += ch;
  }
  return out + '"';
}

const spaceChars = ' \t\r\n';
const isSpace = (r: string): boolean => r === ' ' || r === '\t' || r === '\r' || r === '\n';
const isAlphaNumeric = (r: string): boolean => {
  const c = r.charCodeAt(0);
  if (c < 0x80) return r === '_' || (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
  return /^[\p{L}\p{Nd}]$/u.test(r);
};
const hasLeftTrimMarker = (s: string): boolean => s.length >= 2 && s[0] === '-' && isSpace(s[1]);
const hasRightTrimMarker = (s: string): boolean => s.length >= 2 && isSpace(s[0]) && s[1] === '-';
const trimMarkerLen = 2;
const EOF = '';

/** Go's %#U for a rune: U+0041 'A'. */
export function runeU(r: string): string {
  const c = r.codePointAt(0) ?? 0;
  const hex = 'U+' + c.toString(16).toUpperCase().padStart(4, '0');
  return /^[\p{L}\p{M}\p{N}\p{P}\p{S}\p{Zs}]$/u.test(r) ? `${hex} '${r}'` : hex;
}

type StateFn = ((l: Lexer) => StateFn) | null;

export class Lexer {
  private pos = 0;
  private start = 0;
  private atEOF = false;
  private parenDepth = 0;
  private line = 1;
  private startLine = 1;
  private item: Token = { typ: Item.EOF, pos: 0, val: 'EOF', line: 1 };
  private insideAction = false;

  constructor(
    private input: string,
    readonly leftDelim = '{{',
    readonly rightDelim = '}}',
    readonly breakOK = true,
    readonly continueOK = true,
  ) {}

  nextItem(): Token {
    this.item = { typ: Item.EOF, pos: this.pos, val: 'EOF', line: this.startLine };
    let state: StateFn = this.insideAction ? lexInsideAction : lexText;
    while (state) state = state(this);
    return this.item;
  }

  next(): string {
    if (this.pos >= this.input.length) {
      this.atEOF = true;
      return EOF;
    }
    const cp = this.input.codePointAt(this.pos)!;
    const r = String.fromCodePoint(cp);
    this.pos += r.length;
    if (r === '\n') this.line++;
    return r;
  }

  peek(): string {
    const r = this.next();
    this.backup();
    return r;
  }

  backup(): void {
    if (!this.atEOF && this.pos > 0) {
      let w = 1;
      const c = this.input.charCodeAt(this.pos - 1);
      if (c >= 0xdc00 && c <= 0xdfff && this.pos >= 2) w = 2;
      this.pos -= w;
      if (this.input[this.pos] === '\n') this.line--;
    }
  }

  private thisItem(typ: Item): Token {
    const t = { typ, pos: this.start, val: this.input.slice(this.start, this.pos), line: this.startLine };
    this.start = this.pos;
    this.startLine = this.line;
    return t;
  }

  emit(typ: Item): StateFn {
    return this.emitItem(this.thisItem(typ));
  }

  emitItem(t: Token): StateFn {
    this.item = t;
    return null;
  }

  ignore(): void {
    this.line += count(this.input.slice(this.start, this.pos), '\n');
    this.start = this.pos;
    this.startLine = this.line;
  }

  accept(valid: string): boolean {
    const r = this.next();
    if (r !== EOF && valid.includes(r)) return true;
    this.backup();
    return false;
  }

  acceptRun(valid: string): void {
    for (;;) {
      const r = this.next();
      if (r === EOF || !valid.includes(r)) break;
    }
    this.backup();
  }

  errorf(msg: string): StateFn {
    this.item = { typ: Item.Error, pos: this.start, val: msg, line: this.startLine };
    this.start = 0;
    this.pos = 0;
    this.input = '';
    return null;
  }

  atRightDelim(): [boolean, boolean] {
    const rest = this.input.slice(this.pos);
    if (hasRightTrimMarker(rest) && rest.startsWith(this.rightDelim, trimMarkerLen)) return [true, true];
    if (rest.startsWith(this.rightDelim)) return [true, false];
    return [false, false];
  }

  atTerminator(): boolean {
    const r = this.peek();
    if (isSpace(r)) return true;
    if (r === EOF || '.,|:)('.includes(r)) return true;
    return this.input.startsWith(this.rightDelim, this.pos);
  }

  scanNumber(): boolean {
    this.accept('+-');
    let digits = '0123456789_';
    if (this.accept('0')) {
      if (this.accept('xX')) digits = '0123456789abcdefABCDEF_';
      else if (this.accept('oO')) digits = '01234567_';
      else if (this.accept('bB')) digits = '01_';
    }
    this.acceptRun(digits);
    if (this.accept('.')) this.acceptRun(digits);
    if (digits.length === 11 && this.accept('eE')) {
      this.accept('+-');
      this.acceptRun('0123456789_');
    }
    if (digits.length === 23 && this.accept('pP')) {
      this.accept('+-');
      this.acceptRun('0123456789_');
    }
    this.accept('i');
    if (isAlphaNumeric(this.peek())) {
      this.next();
      return false;
    }
    return true;
  }

  // State functions need the private fields; they live here as static helpers.
  static text(l: Lexer): StateFn {
    const x = l.input.indexOf(l.leftDelim, l.pos);
    if (x >= 0) {
      if (x > l.pos) {
        l.pos = x;
        let trim = 0;
        if (hasLeftTrimMarker(l.input.slice(l.pos + l.leftDelim.length))) {
          const s = l.input.slice(l.start, l.pos);
          trim = s.length - trimRight(s).length;
        }
        l.pos -= trim;
        l.line += count(l.input.slice(l.start, l.pos), '\n');
        const t = l.thisItem(Item.Text);
        l.pos += trim;
        l.ignore();
        if (t.val.length > 0) return l.emitItem(t);
      }
      return lexLeftDelim;
    }
    l.pos = l.input.length;
    if (l.pos > l.start) {
      l.line += count(l.input.slice(l.start, l.pos), '\n');
      return l.emit(Item.Text);
    }
    return l.emit(Item.EOF);
  }

  static leftDelim(l: Lexer): StateFn {
    l.pos += l.leftDelim.length;
    const trimSpace = hasLeftTrimMarker(l.input.slice(l.pos));
    const after = trimSpace ? trimMarkerLen : 0;
    if (l.input.startsWith('/*', l.pos + after)) {
      l.pos += after;
      l.ignore();
      return lexComment;
    }
    const t = l.thisItem(Item.LeftDelim);
    l.insideAction = true;
    l.pos += after;
    l.ignore();
    l.parenDepth = 0;
    return l.emitItem(t);
  }

  static comment(l: Lexer): StateFn {
    l.pos += 2;
    const x = l.input.indexOf('*/', l.pos);
    if (x < 0) return l.errorf('unclosed comment');
    l.pos = x + 2;
    const [delim, trimSpace] = l.atRightDelim();
    if (!delim) return l.errorf('comment ends before closing delimiter');
    l.line += count(l.input.slice(l.start, l.pos), '\n');
    l.thisItem(Item.Comment);
    if (trimSpace) l.pos += trimMarkerLen;
    l.pos += l.rightDelim.length;
    if (trimSpace) l.pos += leadingSpace(l.input.slice(l.pos));
    l.ignore();
    return lexText;
  }

  static rightDelim(l: Lexer): StateFn {
    const [, trimSpace] = l.atRightDelim();
    if (trimSpace) {
      l.pos += trimMarkerLen;
      l.ignore();
    }
    l.pos += l.rightDelim.length;
    const t = l.thisItem(Item.RightDelim);
    if (trimSpace) {
      l.pos += leadingSpace(l.input.slice(l.pos));
      l.ignore();
    }
    l.insideAction = false;
    return l.emitItem(t);
  }

  static insideAction(l: Lexer): StateFn {
    const [delim] = l.atRightDelim();
    if (delim) {
      if (l.parenDepth === 0) return lexRightDelim;
      return l.errorf('unclosed left paren');
    }
    const r = l.next();
    if (r === EOF) return l.errorf('unclosed action');
    if (isSpace(r)) {
      l.backup();
      return lexSpace;
    }
    switch (r) {
      case '=':
        return l.emit(Item.Assign);
      case ':':
        if (l.next() !== '=') return l.errorf('expected :=');
        return l.emit(Item.Declare);
      case '|':
        return l.emit(Item.Pipe);
      case '"':
        return lexQuote;
      case '`':
        return lexRawQuote;
      case '$':
        return lexVariable;
      case "'":
        return lexChar;
      case '(':
        l.parenDepth++;
        return l.emit(Item.LeftParen);
      case ')':
        l.parenDepth--;
        if (l.parenDepth < 0) return l.errorf('unexpected right paren');
        return l.emit(Item.RightParen);
    }
    if (r === '.') {
      const n = l.input[l.pos];
      if (l.pos < l.input.length && (n < '0' || n > '9')) return lexField;
    }
    if (r === '.' || r === '+' || r === '-' || (r >= '0' && r <= '9')) {
      l.backup();
      return lexNumber;
    }
    if (isAlphaNumeric(r)) {
      l.backup();
      return lexIdentifier;
    }
    const c = r.codePointAt(0)!;
    if (c < 0x7f && c >= 0x20) return l.emit(Item.Char);
    return l.errorf(`unrecognized character in action: ${runeU(r)}`);
  }

  static space(l: Lexer): StateFn {
    let n = 0;
    while (isSpace(l.peek())) {
      l.next();
      n++;
    }
    if (hasRightTrimMarker(l.input.slice(l.pos - 1)) && l.input.startsWith(l.rightDelim, l.pos - 1 + trimMarkerLen)) {
      l.backup();
      if (n === 1) return lexRightDelim;
    }
    return l.emit(Item.Space);
  }

  static identifier(l: Lexer): StateFn {
    for (;;) {
      const r = l.next();
      if (r !== EOF && isAlphaNumeric(r)) continue;
      l.backup();
      const word = l.input.slice(l.start, l.pos);
      if (!l.atTerminator()) return l.errorf(`bad character ${runeU(r)}`);
      const kw = keywords[word];
      if (kw !== undefined && kw > Item.Keyword) {
        if ((kw === Item.Break && !l.breakOK) || (kw === Item.Continue && !l.continueOK)) return l.emit(Item.Identifier);
        return l.emit(kw);
      }
      if (word[0] === '.') return l.emit(Item.Field);
      if (word === 'true' || word === 'false') return l.emit(Item.Bool);
      return l.emit(Item.Identifier);
    }
  }

  static fieldOrVariable(l: Lexer, typ: Item): StateFn {
    if (l.atTerminator()) return l.emit(typ === Item.Variable ? Item.Variable : Item.Dot);
    let r: string;
    for (;;) {
      r = l.next();
      if (r === EOF || !isAlphaNumeric(r)) {
        l.backup();
        break;
      }
    }
    if (!l.atTerminator()) return l.errorf(`bad character ${runeU(r)}`);
    return l.emit(typ);
  }

  static quoted(l: Lexer, close: string, typ: Item, what: string): StateFn {
    for (;;) {
      let r = l.next();
      if (r === '\\' && close !== '`') {
        r = l.next();
        if (r !== EOF && r !== '\n') continue;
        return l.errorf(`unterminated ${what}`);
      }
      if (r === EOF || (r === '\n' && close !== '`')) return l.errorf(`unterminated ${what}`);
      if (r === close) return l.emit(typ);
    }
  }

  static number(l: Lexer): StateFn {
    if (!l.scanNumber()) return l.errorf(`bad number syntax: ${quoteGo(l.input.slice(l.start, l.pos))}`);
    const sign = l.peek();
    if (sign === '+' || sign === '-') {
      if (!l.scanNumber() || l.input[l.pos - 1] !== 'i') {
        return l.errorf(`bad number syntax: ${quoteGo(l.input.slice(l.start, l.pos))}`);
      }
      return l.emit(Item.Complex);
    }
    return l.emit(Item.Number);
  }
}

const lexText = Lexer.text;
const lexLeftDelim = Lexer.leftDelim;
const lexComment = Lexer.comment;
const lexRightDelim = Lexer.rightDelim;
const lexInsideAction = Lexer.insideAction;
const lexSpace = Lexer.space;
const lexIdentifier = Lexer.identifier;
const lexNumber = Lexer.number;
const lexField: StateFn = (l) => Lexer.fieldOrVariable(l, Item.Field);
const lexVariable: StateFn = (l) => (l.atTerminator() ? l.emit(Item.Variable) : Lexer.fieldOrVariable(l, Item.Variable));
const lexQuote: StateFn = (l) => Lexer.quoted(l, '"', Item.String, 'quoted string');
const lexRawQuote: StateFn = (l) => Lexer.quoted(l, '`', Item.RawString, 'raw quoted string');
const lexChar: StateFn = (l) => Lexer.quoted(l, "'", Item.CharConstant, 'character constant');

function count(s: string, ch: string): number {
  let n = 0;
  for (let i = s.indexOf(ch); i >= 0; i = s.indexOf(ch, i + 1)) n++;
  return n;
}

function trimRight(s: string): string {
  let e = s.length;
  while (e > 0 && spaceChars.includes(s[e - 1])) e--;
  return s.slice(0, e);
}

function leadingSpace(s: string): number {
  let i = 0;
  while (i < s.length && spaceChars.includes(s[i])) i++;
  return i;
}
