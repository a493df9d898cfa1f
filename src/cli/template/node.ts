// Parse-tree nodes of Go's text/template (text/template/parse/node.go). Each node keeps its
// position in the source, and String() reproduces Go's text, which error messages quote.

import { quote } from './strconv.js';

export interface TreeRef {
  /** The whole source text the template was parsed from (for error positions). */
  text: string;
  /** Name of the top-level template being parsed, for error messages. */
  parseName: string;
}

interface Base {
  pos: number;
  tree: TreeRef;
}

export interface ListNode extends Base { type: 'list'; nodes: Node[] }
export interface TextNode extends Base { type: 'text'; text: string }
export interface CommentNode extends Base { type: 'comment'; text: string }
export interface PipeNode extends Base {
  type: 'pipe';
  isAssign: boolean;
  decl: VariableNode[];
  cmds: CommandNode[];
}
export interface ActionNode extends Base { type: 'action'; pipe: PipeNode }
export interface CommandNode extends Base { type: 'command'; args: Node[] }
export interface IdentifierNode extends Base { type: 'identifier'; ident: string }
export interface VariableNode extends Base { type: 'variable'; ident: string[] }
export interface DotNode extends Base { type: 'dot' }
export interface NilNode extends Base { type: 'nil' }
export interface FieldNode extends Base { type: 'field'; ident: string[] }
export interface ChainNode extends Base { type: 'chain'; node: Node; field: string[] }
export interface BoolNode extends Base { type: 'bool'; value: boolean }
export interface NumberNode extends Base {
  type: 'number';
  isInt: boolean;
  isUint: boolean;
  isFloat: boolean;
  isComplex: boolean;
  int: bigint;
  uint: bigint;
  float: number;
  complex: [number, number];
  text: string;
}
export interface StringNode extends Base { type: 'string'; quoted: string; text: string }
export interface EndNode extends Base { type: 'end' }
export interface ElseNode extends Base { type: 'else' }
export interface BranchNode extends Base {
  type: 'if' | 'range' | 'with';
  pipe: PipeNode;
  list: ListNode;
  elseList: ListNode | null;
}
export interface BreakNode extends Base { type: 'break' }
export interface ContinueNode extends Base { type: 'continue' }
export interface TemplateNode extends Base { type: 'template'; name: string; pipe: PipeNode | null }

export type Node =
  | ListNode | TextNode | CommentNode | PipeNode | ActionNode | CommandNode | IdentifierNode
  | VariableNode | DotNode | NilNode | FieldNode | ChainNode | BoolNode | NumberNode | StringNode
  | EndNode | ElseNode | BranchNode | BreakNode | ContinueNode | TemplateNode;

/** Go's Node.String(). */
export function nodeString(n: Node): string {
  switch (n.type) {
    case 'list':
      return n.nodes.map(nodeString).join('');
    case 'text':
      return n.text;
    case 'comment':
      return `{{${n.text}}}`;
    case 'pipe': {
      let s = '';
      if (n.decl.length > 0) s = n.decl.map(nodeString).join(', ') + (n.isAssign ? ' = ' : ' := ');
      return s + n.cmds.map(nodeString).join(' | ');
    }
    case 'action':
      return `{{${nodeString(n.pipe)}}}`;
    case 'command':
      return n.args.map((a) => (a.type === 'pipe' ? `(${nodeString(a)})` : nodeString(a))).join(' ');
    case 'identifier':
      return n.ident;
    case 'variable':
      return n.ident.join('.');
    case 'dot':
      return '.';
    case 'nil':
      return 'nil';
    case 'field':
      return n.ident.map((i) => '.' + i).join('');
    case 'chain': {
      const s = n.node.type === 'pipe' ? `(${nodeString(n.node)})` : nodeString(n.node);
      return s + n.field.map((f) => '.' + f).join('');
    }
    case 'bool':
      return n.value ? 'true' : 'false';
    case 'number':
      return n.text;
    case 'string':
      return n.quoted;
    case 'end':
      return '{{end}}';
    case 'else':
      return '{{else}}';
    case 'if':
    case 'range':
    case 'with': {
      const head = `{{${n.type} ${nodeString(n.pipe)}}}${nodeString(n.list)}`;
      return n.elseList ? `${head}{{else}}${nodeString(n.elseList)}{{end}}` : `${head}{{end}}`;
    }
    case 'break':
      return '{{break}}';
    case 'continue':
      return '{{continue}}';
    case 'template':
      return n.pipe ? `{{template ${quote(n.name)} ${nodeString(n.pipe)}}}` : `{{template ${quote(n.name)}}}`;
  }
}

/** Go's Tree.ErrorContext: "name:line:col" (col in bytes, as Go counts) and the node's text. */
export function errorContext(n: Node): [string, string] {
  const text = n.tree.text.slice(0, n.pos);
  const nl = text.lastIndexOf('\n');
  const col = Buffer.byteLength(nl === -1 ? text : text.slice(nl + 1));
  let line = 1;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) line++;
  return [`${n.tree.parseName}:${line}:${col}`, nodeString(n)];
}

/** parse.IsEmptyTree: only space and comments. */
export function isEmptyTree(n: Node | null): boolean {
  if (!n) return true;
  switch (n.type) {
    case 'comment':
      return true;
    case 'list':
      return n.nodes.every(isEmptyTree);
    case 'text':
      return n.text.trim() === '';
    default:
      return false;
  }
}
