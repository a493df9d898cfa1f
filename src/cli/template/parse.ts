// The parser of Go's text/template (text/template/parse/parse.go): a recursive-descent parser
// over the lexer's tokens that builds the tree the executor walks, with Go's error messages
// ("template: :1: unexpected "}" in operand", "function "x" not defined", …).

import { Item, Lexer, type Token, tokenString } from './lex.js';
import {
  type BranchNode, type CommandNode, type ListNode, type Node, type NumberNode, type PipeNode,
  type TreeRef, type VariableNode, isEmptyTree, nodeString,
} from './node.js';
import { UnquoteError, quote, unquote, unquoteChar } from './strconv.js';

export class TemplateError extends Error {}

export interface Tree {
  name: string;
  root: ListNode;
  ref: TreeRef;
}

const MAX_STACK_DEPTH = 10000;

class Parser {
  private lex: Lexer;
  private token: Token[] = [];
  private peekCount = 0;
  private vars: string[] = ['$'];
  private actionLine = 0;
  private rangeDepth = 0;
  private stackDepth = 0;
  private lastLine = 1;
  name: string;

  constructor(
    private readonly ref: TreeRef,
    name: string,
    private readonly hasFunc: (name: string) => boolean,
    private readonly treeSet: Map<string, Tree>,
    lex?: Lexer,
  ) {
    this.name = name;
    this.lex = lex ?? new Lexer(ref.text, '{{', '}}', !hasFunc('break'), !hasFunc('continue'));
  }

  // ---- token plumbing ----
  private nextToken(): Token {
    const t = this.lex.nextItem();
    this.lastLine = t.line;
    return t;
  }
  private next(): Token {
    if (this.peekCount > 0) this.peekCount--;
    else this.token[0] = this.nextToken();
    return this.token[this.peekCount];
  }
  private backup(): void {
    this.peekCount++;
  }
  private backup2(t1: Token): void {
    this.token[1] = t1;
    this.peekCount = 2;
  }
  private backup3(t2: Token, t1: Token): void {
    this.token[1] = t1;
    this.token[2] = t2;
    this.peekCount = 3;
  }
  private peek(): Token {
    if (this.peekCount > 0) return this.token[this.peekCount - 1];
    this.peekCount = 1;
    this.token[0] = this.nextToken();
    return this.token[0];
  }
  private nextNonSpace(): Token {
    let t: Token;
    do t = this.next();
    while (t.typ === Item.Space);
    return t;
  }
  private peekNonSpace(): Token {
    const t = this.nextNonSpace();
    this.backup();
    return t;
  }

  // ---- errors ----
  errorf(msg: string): never {
    const line = this.token[0]?.line ?? this.lastLine;
    throw new TemplateError(`template: ${this.ref.parseName}:${line}: ${msg}`);
  }
  private expect(expected: Item, context: string): Token {
    const t = this.nextNonSpace();
    if (t.typ !== expected) this.unexpected(t, context);
    return t;
  }
  private expectOneOf(e1: Item, e2: Item, context: string): Token {
    const t = this.nextNonSpace();
    if (t.typ !== e1 && t.typ !== e2) this.unexpected(t, context);
    return t;
  }
  private unexpected(t: Token, context: string): never {
    if (t.typ === Item.Error) {
      let extra = '';
      if (this.actionLine !== 0 && this.actionLine !== t.line) {
        extra = ` in action started at ${this.ref.parseName}:${this.actionLine}`;
        if (t.val.endsWith(' action')) extra = extra.slice(' in action'.length);
      }
      this.errorf(`${tokenString(t)}${extra}`);
    }
    this.errorf(`unexpected ${tokenString(t)} in ${context}`);
  }

  private unquoteOrFail(s: string): string {
    try {
      return unquote(s);
    } catch (e) {
      if (e instanceof UnquoteError) this.errorf('invalid syntax');
      throw e;
    }
  }

  // ---- node constructors ----
  private list(pos: number): ListNode {
    return { type: 'list', pos, tree: this.ref, nodes: [] };
  }
  private variable(pos: number, ident: string): VariableNode {
    return { type: 'variable', pos, tree: this.ref, ident: ident.split('.') };
  }

  // ---- grammar ----
  parse(): ListNode {
    const root = this.list(this.peek().pos);
    while (this.peek().typ !== Item.EOF) {
      if (this.peek().typ === Item.LeftDelim) {
        const delim = this.next();
        if (this.nextNonSpace().typ === Item.Define) {
          const def = new Parser(this.ref, 'definition', this.hasFunc, this.treeSet, this.lex);
          def.parseDefinition();
          continue;
        }
        this.backup2(delim);
      }
      const n = this.textOrAction();
      if (n.type === 'end' || n.type === 'else') this.errorf(`unexpected ${nodeString(n)}`);
      root.nodes.push(n);
    }
    return root;
  }

  add(root: ListNode): void {
    const existing = this.treeSet.get(this.name);
    if (!existing || isEmptyTree(existing.root)) {
      this.treeSet.set(this.name, { name: this.name, root, ref: this.ref });
      return;
    }
    if (!isEmptyTree(root)) this.errorf(`template: multiple definition of template ${quote(this.name)}`);
  }

  private parseDefinition(): void {
    const context = 'define clause';
    const name = this.expectOneOf(Item.String, Item.RawString, context);
    this.name = this.unquoteOrFail(name.val);
    this.expect(Item.RightDelim, context);
    const [root, end] = this.itemList();
    if (end.type !== 'end') this.errorf(`unexpected ${nodeString(end)} in ${context}`);
    this.add(root);
  }

  private itemList(): [ListNode, Node] {
    const list = this.list(this.peekNonSpace().pos);
    while (this.peekNonSpace().typ !== Item.EOF) {
      const n = this.textOrAction();
      if (n.type === 'end' || n.type === 'else') return [list, n];
      list.nodes.push(n);
    }
    this.errorf('unexpected EOF');
  }

  private textOrAction(): Node {
    const t = this.nextNonSpace();
    switch (t.typ) {
      case Item.Text:
        return { type: 'text', pos: t.pos, tree: this.ref, text: t.val };
      case Item.LeftDelim:
        this.actionLine = t.line;
        try {
          return this.action();
        } finally {
          this.actionLine = 0;
        }
      case Item.Comment:
        return { type: 'comment', pos: t.pos, tree: this.ref, text: t.val };
      default:
        this.unexpected(t, 'input');
    }
  }

  private action(): Node {
    const t = this.nextNonSpace();
    switch (t.typ) {
      case Item.Block:
        return this.blockControl();
      case Item.Break:
        return this.loopControl(t, 'break');
      case Item.Continue:
        return this.loopControl(t, 'continue');
      case Item.Else:
        return this.elseControl();
      case Item.End:
        return { type: 'end', pos: this.expect(Item.RightDelim, 'end').pos, tree: this.ref };
      case Item.If:
        return this.control('if');
      case Item.Range:
        return this.control('range');
      case Item.Template:
        return this.templateControl();
      case Item.With:
        return this.control('with');
    }
    this.backup();
    const tok = this.peek();
    return { type: 'action', pos: tok.pos, tree: this.ref, pipe: this.pipeline('command', Item.RightDelim) };
  }

  private loopControl(t: Token, kind: 'break' | 'continue'): Node {
    const next = this.nextNonSpace();
    if (next.typ !== Item.RightDelim) this.unexpected(next, `{{${kind}}}`);
    if (this.rangeDepth === 0) this.errorf(`{{${kind}}} outside {{range}}`);
    return { type: kind, pos: t.pos, tree: this.ref };
  }

  private pipeline(context: string, end: Item): PipeNode {
    const start = this.peekNonSpace();
    const pipe: PipeNode = { type: 'pipe', pos: start.pos, tree: this.ref, isAssign: false, decl: [], cmds: [] };
    decls: for (;;) {
      const v = this.peekNonSpace();
      if (v.typ !== Item.Variable) break;
      this.next();
      const tokenAfterVariable = this.peek();
      const next = this.peekNonSpace();
      if (next.typ === Item.Assign || next.typ === Item.Declare) {
        pipe.isAssign = next.typ === Item.Assign;
        this.nextNonSpace();
        pipe.decl.push(this.variable(v.pos, v.val));
        this.vars.push(v.val);
      } else if (next.typ === Item.Char && next.val === ',') {
        this.nextNonSpace();
        pipe.decl.push(this.variable(v.pos, v.val));
        this.vars.push(v.val);
        if (context === 'range' && pipe.decl.length < 2) {
          const p = this.peekNonSpace().typ;
          if (p === Item.Variable || p === Item.RightDelim || p === Item.RightParen) continue decls;
          this.errorf('range can only initialize variables');
        }
        this.errorf(`too many declarations in ${context}`);
      } else if (tokenAfterVariable.typ === Item.Space) {
        this.backup3(v, tokenAfterVariable);
      } else {
        this.backup2(v);
      }
      break;
    }
    for (;;) {
      const t = this.nextNonSpace();
      switch (t.typ) {
        case end:
          this.checkPipeline(pipe, context);
          return pipe;
        case Item.Bool: case Item.CharConstant: case Item.Complex: case Item.Dot: case Item.Field:
        case Item.Identifier: case Item.Number: case Item.Nil: case Item.RawString: case Item.String:
        case Item.Variable: case Item.LeftParen:
          this.backup();
          pipe.cmds.push(this.command());
          break;
        default:
          this.unexpected(t, context);
      }
    }
  }

  private checkPipeline(pipe: PipeNode, context: string): void {
    if (pipe.cmds.length === 0) this.errorf(`missing value for ${context}`);
    pipe.cmds.slice(1).forEach((c, i) => {
      if (['bool', 'dot', 'nil', 'number', 'string'].includes(c.args[0].type)) {
        this.errorf(`non executable command in pipeline stage ${i + 2}`);
      }
    });
  }

  private control(context: 'if' | 'range' | 'with'): BranchNode {
    const mark = this.vars.length;
    try {
      const pipe = this.pipeline(context, Item.RightDelim);
      if (context === 'range') this.rangeDepth++;
      let [list, next] = this.itemList();
      if (context === 'range') this.rangeDepth--;
      let elseList: ListNode | null = null;
      if (next.type === 'else') {
        // "{{else if …}}" and "{{else with …}}" nest a new if/with that owns the final {{end}}.
        if ((context === 'if' && this.peek().typ === Item.If) || (context === 'with' && this.peek().typ === Item.With)) {
          this.next();
          elseList = this.list(next.pos);
          elseList.nodes.push(this.control(context));
        } else {
          [elseList, next] = this.itemList();
          if (next.type !== 'end') this.errorf(`expected end; found ${nodeString(next)}`);
        }
      }
      return { type: context, pos: pipe.pos, tree: this.ref, pipe, list, elseList };
    } finally {
      this.vars.length = mark;
    }
  }

  private elseControl(): Node {
    const p = this.peekNonSpace();
    if (p.typ === Item.If || p.typ === Item.With) return { type: 'else', pos: p.pos, tree: this.ref };
    const t = this.expect(Item.RightDelim, 'else');
    return { type: 'else', pos: t.pos, tree: this.ref };
  }

  private blockControl(): Node {
    const context = 'block clause';
    const t = this.nextNonSpace();
    const name = this.templateName(t, context);
    const pipe = this.pipeline(context, Item.RightDelim);
    const block = new Parser(this.ref, name, this.hasFunc, this.treeSet, this.lex);
    const [root, end] = block.itemList();
    if (end.type !== 'end') this.errorf(`unexpected ${nodeString(end)} in ${context}`);
    block.add(root);
    return { type: 'template', pos: t.pos, tree: this.ref, name, pipe };
  }

  private templateControl(): Node {
    const context = 'template clause';
    const t = this.nextNonSpace();
    const name = this.templateName(t, context);
    let pipe: PipeNode | null = null;
    if (this.nextNonSpace().typ !== Item.RightDelim) {
      this.backup();
      pipe = this.pipeline(context, Item.RightDelim);
    }
    return { type: 'template', pos: t.pos, tree: this.ref, name, pipe };
  }

  private templateName(t: Token, context: string): string {
    if (t.typ === Item.String || t.typ === Item.RawString) return this.unquoteOrFail(t.val);
    this.unexpected(t, context);
  }

  private command(): CommandNode {
    const cmd: CommandNode = { type: 'command', pos: this.peekNonSpace().pos, tree: this.ref, args: [] };
    for (;;) {
      this.peekNonSpace();
      const operand = this.operand();
      if (operand) cmd.args.push(operand);
      const t = this.next();
      if (t.typ === Item.Space) continue;
      if (t.typ === Item.RightDelim || t.typ === Item.RightParen) this.backup();
      else if (t.typ !== Item.Pipe) this.unexpected(t, 'operand');
      break;
    }
    if (cmd.args.length === 0) this.errorf('empty command');
    return cmd;
  }

  private operand(): Node | null {
    let node = this.term();
    if (!node) return null;
    if (this.peek().typ === Item.Field) {
      const pos = this.peek().pos;
      const fields: string[] = [];
      while (this.peek().typ === Item.Field) fields.push(this.next().val.slice(1));
      switch (node.type) {
        case 'field':
          node = { type: 'field', pos, tree: this.ref, ident: [...node.ident, ...fields] };
          break;
        case 'variable':
          node = { type: 'variable', pos, tree: this.ref, ident: [...node.ident, ...fields] };
          break;
        case 'bool': case 'string': case 'number': case 'nil': case 'dot':
          this.errorf(`unexpected . after term ${quote(nodeString(node))}`);
          break;
        default:
          node = { type: 'chain', pos, tree: this.ref, node, field: fields };
      }
    }
    return node;
  }

  private term(): Node | null {
    const t = this.nextNonSpace();
    switch (t.typ) {
      case Item.Identifier:
        if (!this.hasFunc(t.val)) this.errorf(`function ${quote(t.val)} not defined`);
        return { type: 'identifier', pos: t.pos, tree: this.ref, ident: t.val };
      case Item.Dot:
        return { type: 'dot', pos: t.pos, tree: this.ref };
      case Item.Nil:
        return { type: 'nil', pos: t.pos, tree: this.ref };
      case Item.Variable:
        return this.useVar(t.pos, t.val);
      case Item.Field:
        return { type: 'field', pos: t.pos, tree: this.ref, ident: t.val.slice(1).split('.') };
      case Item.Bool:
        return { type: 'bool', pos: t.pos, tree: this.ref, value: t.val === 'true' };
      case Item.CharConstant: case Item.Complex: case Item.Number:
        return this.number(t);
      case Item.LeftParen: {
        if (this.stackDepth >= MAX_STACK_DEPTH) this.errorf('max expression depth exceeded');
        this.stackDepth++;
        try {
          return this.pipeline('parenthesized pipeline', Item.RightParen);
        } finally {
          this.stackDepth--;
        }
      }
      case Item.String: case Item.RawString:
        return { type: 'string', pos: t.pos, tree: this.ref, quoted: t.val, text: this.unquoteOrFail(t.val) };
    }
    this.backup();
    return null;
  }

  private useVar(pos: number, name: string): Node {
    const v = this.variable(pos, name);
    if (!this.vars.includes(v.ident[0])) this.errorf(`undefined variable ${quote(v.ident[0])}`);
    return v;
  }

  private number(t: Token): NumberNode {
    const n: NumberNode = {
      type: 'number', pos: t.pos, tree: this.ref, text: t.val,
      isInt: false, isUint: false, isFloat: false, isComplex: false, int: 0n, uint: 0n, float: 0, complex: [0, 0],
    };
    if (t.typ === Item.CharConstant) {
      let r: string | number;
      let next: number;
      try {
        [r, next] = unquoteChar(t.val, 1, "'");
      } catch {
        this.errorf('invalid syntax');
      }
      if (t.val.slice(next) !== "'") this.errorf(`malformed character constant: ${t.val}`);
      const code = typeof r === 'number' ? r : r.codePointAt(0)!;
      Object.assign(n, { isInt: true, isUint: true, isFloat: true, int: BigInt(code), uint: BigInt(code), float: code });
      return n;
    }
    if (t.typ === Item.Complex) {
      // "re±imi", as fmt.Sscan reads a complex128
      const m = /^([+-]?.*?[^eEpP])([+-].*)i$/.exec(t.val);
      if (!m || !/\d/.test(m[1]) || !/\d/.test(m[2])) this.errorf('syntax error scanning complex number');
      const [re, im] = [parseGoFloat(m[1]), parseGoFloat(m[2])];
      for (const [part, v] of [[m[1], re], [m[2], im]] as const) {
        if (v === null) this.errorf(`strconv.ParseFloat: parsing ${quote(part)}: invalid syntax`);
      }
      return simplifyComplex(n, re!, im!);
    }
    if (t.val.endsWith('i')) {
      const im = parseGoFloat(t.val.slice(0, -1));
      if (im !== null) return simplifyComplex(n, 0, im);
    }
    const u = parseGoInt(t.val, false);
    if (u !== null && u >= 0n && u < 1n << 64n) Object.assign(n, { isUint: true, uint: u });
    const i = parseGoInt(t.val, true);
    if (i !== null && i >= -(1n << 63n) && i < 1n << 63n) {
      Object.assign(n, { isInt: true, int: i });
      if (i === 0n) Object.assign(n, { isUint: true, uint: 0n });
    }
    if (n.isInt) Object.assign(n, { isFloat: true, float: Number(n.int) });
    else if (n.isUint) Object.assign(n, { isFloat: true, float: Number(n.uint) });
    else {
      const f = parseGoFloat(t.val);
      if (f !== null) {
        if (!/[.eEpP]/.test(t.val)) this.errorf(`integer overflow: ${quote(t.val)}`);
        Object.assign(n, { isFloat: true, float: f });
        if (Number.isInteger(f) && Math.abs(f) < 2 ** 63) Object.assign(n, { isInt: true, int: BigInt(f) });
        if (Number.isInteger(f) && f >= 0 && f < 2 ** 64) Object.assign(n, { isUint: true, uint: BigInt(f) });
      }
    }
    if (!n.isInt && !n.isUint && !n.isFloat) this.errorf(`illegal number syntax: ${quote(t.val)}`);
    return n;
  }
}

/** A complex constant, also an int/uint/float when its imaginary part is zero. */
function simplifyComplex(n: NumberNode, re: number, im: number): NumberNode {
  Object.assign(n, { isComplex: true, complex: [re, im], isFloat: im === 0, float: re });
  if (im === 0 && Number.isInteger(re) && Math.abs(re) < 2 ** 63) Object.assign(n, { isInt: true, int: BigInt(re) });
  if (im === 0 && Number.isInteger(re) && re >= 0 && re < 2 ** 64) Object.assign(n, { isUint: true, uint: BigInt(re) });
  return n;
}

/** strconv.ParseInt/ParseUint with base 0 (prefixes, underscores); null when invalid. */
function parseGoInt(text: string, signed: boolean): bigint | null {
  let s = text;
  let neg = false;
  if (s[0] === '+' || s[0] === '-') {
    if (!signed) return null;
    neg = s[0] === '-';
    s = s.slice(1);
  }
  let base = 10;
  let prefixed = false;
  if (/^0[xX]/.test(s)) [base, s, prefixed] = [16, s.slice(2), true];
  else if (/^0[oO]/.test(s)) [base, s, prefixed] = [8, s.slice(2), true];
  else if (/^0[bB]/.test(s)) [base, s, prefixed] = [2, s.slice(2), true];
  else if (/^0./.test(s)) [base, s, prefixed] = [8, s.slice(1), true];
  if (s.includes('_')) {
    if (!(prefixed ? /^_?[0-9a-fA-F]+(_[0-9a-fA-F]+)*$/ : /^[0-9]+(_[0-9]+)*$/).test(s)) return null;
    s = s.replace(/_/g, '');
  }
  const digits = '0123456789abcdef'.slice(0, base);
  if (s === '' || ![...s.toLowerCase()].every((c) => digits.includes(c))) return null;
  let v = 0n;
  for (const c of s.toLowerCase()) v = v * BigInt(base) + BigInt(digits.indexOf(c));
  return neg ? -v : v;
}

/** strconv.ParseFloat(text, 64) for Go's decimal and hexadecimal float syntax; null when invalid. */
function parseGoFloat(text: string): number | null {
  let s = text;
  if (s.includes('_')) {
    if (!/^[+-]?(0[xX])?[0-9a-fA-F]+(_[0-9a-fA-F]+)*(\.[0-9a-fA-F_]*)?([eEpP][+-]?[0-9_]+)?$/.test(s)) return null;
    s = s.replace(/_/g, '');
  }
  const hex = /^([+-]?)0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?[pP]([+-]?\d+)$/.exec(s);
  if (hex) {
    const [, sign, int, frac = '', exp] = hex;
    if (int + frac === '') return null;
    const mant = parseInt(int + frac || '0', 16);
    const v = mant * 2 ** (Number(exp) - 4 * frac.length);
    return sign === '-' ? -v : v;
  }
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) return null;
  const v = Number(s);
  return Number.isFinite(v) ? v : null;
}

/**
 * Parse a template text into its set of named trees: the top level under `name` plus every
 * {{define}} and {{block}}. `hasFunc` says which identifiers are functions (builtins included).
 */
export function parseTrees(name: string, text: string, hasFunc: (n: string) => boolean): Map<string, Tree> {
  const treeSet = new Map<string, Tree>();
  const ref: TreeRef = { text, parseName: name };
  const p = new Parser(ref, name, hasFunc, treeSet);
  const root = p.parse();
  p.add(root);
  return treeSet;
}
