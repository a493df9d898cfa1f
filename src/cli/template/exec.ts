// The executor of Go's text/template (text/template/exec.go): walks the parse tree over the
// data, with Go's rules for fields, maps, methods, variables, pipelines, range/with/if, and
// Go's error messages ("template: :1:2: executing "" at <.Foo>: …").

import { sprint } from './fmt.js';
import {
  type ChainNode, type CommandNode, type FieldNode, type IdentifierNode, type ListNode, type Node,
  type NumberNode, type PipeNode, type BranchNode, type TemplateNode, type VariableNode,
  errorContext, nodeString,
} from './node.js';
import type { Tree } from './parse.js';
import { quote } from './strconv.js';
import {
  type GoType, type MaybeValue, T, Value, assignable, fromJS, indirectInterface, isNilable, isTrue,
  lengthOf, mapIndex, mapKeys, sliceIndex, zeroOf,
} from './value.js';

/** reflect.Value as a parameter type: the function receives the argument as is, even invalid. */
export const REFLECT_VALUE: GoType = { name: 'reflect.Value', kind: 'struct' };

/** A function callable from templates, with the Go signature the executor checks arguments against. */
export interface GoFunc {
  params: GoType[];
  /** Element type of a final variadic parameter. */
  variadic?: GoType;
  /** Returns a Value (kept as is) or JavaScript data; throws to report Go's error result. */
  fn: (...args: MaybeValue[]) => unknown;
  /** The builtin call: receives the text of its first argument first, for its errors. */
  withCallee?: boolean;
}

export type MissingKey = 'default' | 'zero' | 'error';

export interface Template {
  name: string;
  trees: Map<string, Tree>;
  funcs: Map<string, GoFunc>;
}

export class ExecError extends Error {
  /** What the template wrote before failing (Go's writer keeps it). */
  partial = '';
}

const MISSING = new Value({ name: 'missingValType', kind: 'struct' }, null);
const BREAK = Symbol('break');
const CONTINUE = Symbol('continue');
const MAX_EXEC_DEPTH = 100000;

interface Variable {
  name: string;
  value: MaybeValue;
}

class State {
  node: Node | null = null;
  out: string[] = [];
  vars: Variable[];
  depth = 0;

  constructor(
    private tmplName: string,
    private readonly tmpl: Template,
    private readonly missingKey: MissingKey,
    dot: MaybeValue,
  ) {
    this.vars = [{ name: '$', value: dot }];
  }

  errorf(msg: string): never {
    if (!this.node) throw new ExecError(`template: ${this.tmplName}: ${msg}`);
    const [location, context] = errorContext(this.node);
    throw new ExecError(`template: ${location}: executing ${quote(this.tmplName)} at <${context}>: ${msg}`);
  }

  at(n: Node): void {
    this.node = n;
  }

  // ---- variables ----
  mark(): number {
    return this.vars.length;
  }
  pop(mark: number): void {
    this.vars.length = mark;
  }
  setVar(name: string, value: MaybeValue): void {
    for (let i = this.vars.length - 1; i >= 0; i--) {
      if (this.vars[i].name === name) {
        this.vars[i].value = value;
        return;
      }
    }
    this.errorf(`undefined variable: ${name}`);
  }
  setTopVar(n: number, value: MaybeValue): void {
    this.vars[this.vars.length - n].value = value;
  }
  varValue(name: string): MaybeValue {
    for (let i = this.vars.length - 1; i >= 0; i--) if (this.vars[i].name === name) return this.vars[i].value;
    this.errorf(`undefined variable: ${name}`);
  }

  // ---- walking ----
  walk(dot: MaybeValue, node: Node): void {
    this.at(node);
    switch (node.type) {
      case 'action': {
        const val = this.evalPipeline(dot, node.pipe);
        if (node.pipe.decl.length === 0) this.printValue(node, val);
        return;
      }
      case 'break':
        throw BREAK;
      case 'continue':
        throw CONTINUE;
      case 'comment':
        return;
      case 'if':
      case 'with':
        return this.walkIfOrWith(dot, node);
      case 'list':
        for (const n of node.nodes) this.walk(dot, n);
        return;
      case 'range':
        return this.walkRange(dot, node);
      case 'template':
        return this.walkTemplate(dot, node);
      case 'text':
        this.out.push(node.text);
        return;
      default:
        this.errorf(`unknown node: ${nodeString(node)}`);
    }
  }

  private walkIfOrWith(dot: MaybeValue, node: BranchNode): void {
    const mark = this.mark();
    try {
      const val = this.evalPipeline(dot, node.pipe);
      const [truth] = isTrue(indirectInterface(val));
      if (truth) this.walk(node.type === 'with' ? val : dot, node.list);
      else if (node.elseList) this.walk(dot, node.elseList);
    } finally {
      this.pop(mark);
    }
  }

  private walkRange(dot: MaybeValue, r: BranchNode): void {
    this.at(r);
    const outer = this.mark();
    try {
      const val = indirect(this.evalPipeline(dot, r.pipe));
      const mark = this.mark();
      const decl = r.pipe.decl;
      const oneIteration = (index: Value, elem: MaybeValue): void => {
        if (decl.length > 0) {
          if (r.pipe.isAssign) this.setVar(decl[0].ident[0], decl.length > 1 ? index : elem);
          else this.setTopVar(1, elem);
        }
        if (decl.length > 1) {
          if (r.pipe.isAssign) this.setVar(decl[1].ident[0], elem);
          else this.setTopVar(2, index);
        }
        try {
          this.walk(elem, r.list);
        } catch (e) {
          if (e !== CONTINUE) throw e;
        } finally {
          this.pop(mark);
        }
      };
      let ran = false;
      if (!val) {
        // An invalid value (nil) acts like an empty collection.
      } else if (val.type.kind === 'slice' || val.type.kind === 'map') {
        const n = lengthOf(val);
        if (val.type.kind === 'slice') for (let i = 0; i < n; i++) oneIteration(new Value(T.int, i), sliceIndex(val, i));
        else for (const k of mapKeys(val)) oneIteration(new Value(val.type.key!, k), mapIndex(val, k));
        ran = n > 0;
      } else if (val.type.kind === 'int' || val.type.kind === 'uint') {
        if (decl.length > 1) this.errorf(`can't use ${sprint([val])} to iterate over more than one variable`);
        const n = val.v as number;
        for (let i = 0; i < n; i++) oneIteration(new Value(val.type, i), new Value(val.type, i));
        ran = n > 0;
      } else {
        this.errorf(`range can't iterate over ${sprint([val])}`);
      }
      if (!ran && r.elseList) this.walk(dot, r.elseList);
    } catch (e) {
      if (e !== BREAK) throw e;
    } finally {
      this.pop(outer);
    }
  }

  private walkTemplate(dot: MaybeValue, t: TemplateNode): void {
    this.at(t);
    const tree = this.tmpl.trees.get(t.name);
    if (!tree) this.errorf(`template ${quote(t.name)} not defined`);
    if (this.depth >= MAX_EXEC_DEPTH) this.errorf(`exceeded maximum template depth (${MAX_EXEC_DEPTH})`);
    const newDot = this.evalPipeline(dot, t.pipe);
    const saved = { vars: this.vars, name: this.tmplName };
    this.depth++;
    this.tmplName = t.name;
    this.vars = [{ name: '$', value: newDot }];
    try {
      this.walk(newDot, tree.root);
    } catch (e) {
      // JavaScript's stack ends before Go's depth limit: report it as Go does, at the call.
      if (e instanceof RangeError) {
        this.tmplName = saved.name;
        this.at(t);
        this.errorf(`exceeded maximum template depth (${MAX_EXEC_DEPTH})`);
      }
      throw e;
    } finally {
      this.depth--;
      this.vars = saved.vars;
      this.tmplName = saved.name;
    }
  }

  // ---- evaluation ----
  evalPipeline(dot: MaybeValue, pipe: PipeNode | null): MaybeValue {
    if (!pipe) return undefined;
    this.at(pipe);
    let value: MaybeValue = MISSING;
    for (const cmd of pipe.cmds) {
      value = this.evalCommand(dot, cmd, value);
      if (value && value.type.kind === 'iface') value = indirectInterface(value);
    }
    for (const v of pipe.decl) {
      if (pipe.isAssign) this.setVar(v.ident[0], value);
      else this.vars.push({ name: v.ident[0], value });
    }
    return value;
  }

  private notAFunction(args: Node[], final: MaybeValue): void {
    if (args.length > 1 || final !== MISSING) this.errorf(`can't give argument to non-function ${nodeString(args[0])}`);
  }

  private evalCommand(dot: MaybeValue, cmd: CommandNode, final: MaybeValue): MaybeValue {
    const first = cmd.args[0];
    switch (first.type) {
      case 'field':
        return this.evalFieldNode(dot, first, cmd.args, final);
      case 'chain':
        return this.evalChainNode(dot, first, cmd.args, final);
      case 'identifier':
        return this.evalFunction(dot, first, cmd, cmd.args, final);
      case 'pipe':
        this.notAFunction(cmd.args, final);
        return this.evalPipeline(dot, first);
      case 'variable':
        return this.evalVariableNode(dot, first, cmd.args, final);
    }
    this.at(first);
    this.notAFunction(cmd.args, final);
    switch (first.type) {
      case 'bool':
        return new Value(T.bool, first.value);
      case 'dot':
        return dot;
      case 'nil':
        this.errorf('nil is not a command');
      case 'number':
        return this.idealConstant(first);
      case 'string':
        return new Value(T.string, first.text);
    }
    this.errorf(`can't evaluate command ${quote(nodeString(first))}`);
  }

  private idealConstant(n: NumberNode): Value {
    this.at(n);
    if (n.isComplex) return new Value(T.complex128, n.complex);
    const hexInt = /^0[xX]/.test(n.text) && !/[pP]/.test(n.text);
    if (n.isFloat && !hexInt && n.text[0] !== "'" && /[.eEpP]/.test(n.text)) return new Value(T.float64, n.float);
    if (n.isInt) return new Value(T.int, Number(n.int));
    this.errorf(`${n.text} overflows int`);
  }

  private evalFieldNode(dot: MaybeValue, field: FieldNode, args: Node[], final: MaybeValue): MaybeValue {
    this.at(field);
    return this.evalFieldChain(dot, dot, field, field.ident, args, final);
  }

  private evalChainNode(dot: MaybeValue, chain: ChainNode, args: Node[], final: MaybeValue): MaybeValue {
    this.at(chain);
    if (chain.node.type === 'nil') this.errorf(`indirection through explicit nil in ${nodeString(chain)}`);
    const pipe = this.evalArg(dot, null, chain.node);
    return this.evalFieldChain(dot, pipe, chain, chain.field, args, final);
  }

  private evalVariableNode(dot: MaybeValue, v: VariableNode, args: Node[], final: MaybeValue): MaybeValue {
    this.at(v);
    const value = this.varValue(v.ident[0]);
    if (v.ident.length === 1) {
      this.notAFunction(args, final);
      return value;
    }
    return this.evalFieldChain(dot, value, v, v.ident.slice(1), args, final);
  }

  private evalFieldChain(dot: MaybeValue, receiver: MaybeValue, node: Node, ident: string[], args: Node[], final: MaybeValue): MaybeValue {
    const n = ident.length;
    for (let i = 0; i < n - 1; i++) receiver = this.evalField(dot, ident[i], node, [], MISSING, receiver);
    return this.evalField(dot, ident[n - 1], node, args, final, receiver);
  }

  private evalFunction(dot: MaybeValue, node: IdentifierNode, cmd: Node, args: Node[] | null, final: MaybeValue): MaybeValue {
    this.at(node);
    const fn = this.tmpl.funcs.get(node.ident);
    if (!fn) this.errorf(`${quote(node.ident)} is not a defined function`);
    return this.evalCall(dot, fn, BUILTIN_AND_OR.has(node.ident) && isBuiltin(fn), cmd, node.ident, args, final);
  }

  private evalField(dot: MaybeValue, fieldName: string, node: Node, args: Node[], final: MaybeValue, receiver: MaybeValue): MaybeValue {
    if (!receiver) {
      if (this.missingKey === 'error') this.errorf(`nil data; no entry for key ${quote(fieldName)}`);
      return undefined;
    }
    const typ = receiver.type;
    const r = indirect(receiver);
    if (!r || (r.type.kind === 'iface' && r.v === null)) this.errorf(`nil pointer evaluating ${typ.name}.${fieldName}`);
    const hasArgs = args.length > 1 || final !== MISSING;
    if (r.type.kind === 'struct') {
      const obj = r.v as Record<string, unknown>;
      const own = Object.prototype.hasOwnProperty.call(obj, fieldName);
      // Only exported names (upper case first), and nothing inherited from Object itself.
      const first = String.fromCodePoint(fieldName.codePointAt(0)!);
      const exported = first !== first.toLowerCase();
      if (!exported && own && typeof obj[fieldName] !== 'function') {
        this.errorf(`${fieldName} is an unexported field of struct type ${typ.name}`);
      }
      const field = exported && (own || !(fieldName in Object.prototype)) ? obj[fieldName] : undefined;
      if (typeof field === 'function') {
        const method: GoFunc = { params: Array(field.length).fill(T.iface), fn: (...a) => field.apply(obj, a.map(toJS)) };
        return this.evalCall(dot, method, false, node, fieldName, args, final);
      }
      if (field !== undefined) {
        if (hasArgs) this.errorf(`${fieldName} has arguments but cannot be invoked as function`);
        return field === null ? new Value(T.nilPtr, null) : fromJS(field);
      }
    } else if (r.type.kind === 'map') {
      if (hasArgs) this.errorf(`${fieldName} is not a method but has arguments`);
      const result = mapIndex(r, fieldName);
      if (result) return result;
      if (this.missingKey === 'zero') return zeroOf(r.type.elem!);
      if (this.missingKey === 'error') this.errorf(`map has no entry for key ${quote(fieldName)}`);
      return undefined;
    } else if (r.type.kind === 'ptr') {
      this.errorf(`nil pointer evaluating ${typ.name}.${fieldName}`);
    }
    this.errorf(`can't evaluate field ${fieldName} in type ${typ.name}`);
  }

  evalCall(dot: MaybeValue, fn: GoFunc, andOr: boolean, node: Node, name: string, argNodes: Node[] | null, final: MaybeValue): MaybeValue {
    const args = argNodes ? argNodes.slice(1) : [];
    const numIn = args.length + (final !== MISSING ? 1 : 0);
    const numFixed = fn.variadic ? fn.params.length : args.length;
    if (fn.variadic) {
      if (numIn < numFixed) this.errorf(`wrong number of args for ${name}: want at least ${fn.params.length} got ${args.length}`);
    } else if (numIn !== fn.params.length) {
      this.errorf(`wrong number of args for ${name}: want ${fn.params.length} got ${numIn}`);
    }
    if (andOr) {
      // and/or evaluate their arguments lazily, stopping at the first that decides.
      let v: MaybeValue;
      for (const a of args) {
        v = this.evalArg(dot, REFLECT_VALUE, a);
        if (isTrue(indirectInterface(v))[0] === (name === 'or')) return v;
      }
      if (final !== MISSING) v = final;
      return v;
    }
    const argv: MaybeValue[] = [];
    let i = 0;
    for (; i < numFixed && i < args.length; i++) argv.push(this.evalArg(dot, fn.params[i], args[i]));
    if (fn.variadic) for (; i < args.length; i++) argv.push(this.evalArg(dot, fn.variadic, args[i]));
    if (final !== MISSING) {
      let t = fn.params[fn.params.length - 1];
      if (fn.variadic) t = numIn - 1 < numFixed ? fn.params[numIn - 1] : fn.variadic;
      argv.push(this.validateType(final, t));
    }
    if (fn.withCallee) argv.unshift(new Value(T.string, args[0] ? nodeString(args[0]) : ''));
    let result: unknown;
    try {
      result = fn.fn(...argv);
    } catch (e) {
      if (e instanceof ExecError) throw e;
      this.at(node);
      this.errorf(`error calling ${name}: ${e instanceof Error ? e.message : String(e)}`);
    }
    return result instanceof Value ? result : fromJS(result);
  }

  private validateType(value: MaybeValue, typ: GoType | null): MaybeValue {
    if (!value) {
      if (!typ || typ === REFLECT_VALUE) return undefined;
      if (isNilable(typ)) return new Value(typ, null);
      this.errorf(`invalid value; expected ${typ.name}`);
    }
    if (!typ || typ === REFLECT_VALUE) return value;
    if (!assignable(value.type, typ)) {
      if (value.type.kind === 'iface' && value.v !== null) {
        value = value.v as Value;
        if (assignable(value.type, typ)) return value;
      }
      this.errorf(`wrong type for value; expected ${typ.name}; got ${value.type.name}`);
    }
    return value;
  }

  private evalArg(dot: MaybeValue, typ: GoType | null, n: Node): MaybeValue {
    this.at(n);
    switch (n.type) {
      case 'dot':
        return this.validateType(dot, typ);
      case 'nil':
        if (typ && isNilable(typ)) return new Value(typ, null);
        if (typ === REFLECT_VALUE) return undefined;
        this.errorf(`cannot assign nil to ${typ ? typ.name : '<nil>'}`);
      case 'field':
        return this.validateType(this.evalFieldNode(dot, n, [n], MISSING), typ);
      case 'variable':
        return this.validateType(this.evalVariableNode(dot, n, [], MISSING), typ);
      case 'pipe':
        return this.validateType(this.evalPipeline(dot, n), typ);
      case 'identifier':
        return this.validateType(this.evalFunction(dot, n, n, null, MISSING), typ);
      case 'chain':
        return this.validateType(this.evalChainNode(dot, n, [], MISSING), typ);
    }
    const kind = typ?.kind ?? 'iface';
    if (typ === REFLECT_VALUE || kind === 'iface') return this.evalEmptyInterface(dot, n);
    const found = (what: string): never => this.errorf(`expected ${what}; found ${nodeString(n)}`);
    switch (kind) {
      case 'bool':
        return n.type === 'bool' ? new Value(typ!, n.value) : found('bool');
      case 'string':
        return n.type === 'string' ? new Value(typ!, n.text) : found('string');
      case 'int':
        return n.type === 'number' && n.isInt ? new Value(typ!, Number(n.int)) : found('integer');
      case 'uint':
        return n.type === 'number' && n.isUint ? new Value(typ!, Number(n.uint)) : found('unsigned integer');
      case 'float':
        return n.type === 'number' && n.isFloat ? new Value(typ!, n.float) : found('float');
    }
    this.errorf(`can't handle ${nodeString(n)} for arg of type ${typ!.name}`);
  }

  private evalEmptyInterface(dot: MaybeValue, n: Node): MaybeValue {
    this.at(n);
    switch (n.type) {
      case 'bool':
        return new Value(T.bool, n.value);
      case 'number':
        return this.idealConstant(n);
      case 'string':
        return new Value(T.string, n.text);
    }
    this.errorf(`can't handle assignment of ${nodeString(n)} to empty interface argument`);
  }

  private printValue(n: Node, v: MaybeValue): void {
    this.at(n);
    if (v && v.type.kind === 'func') this.errorf(`can't print ${nodeString(n)} of type ${v.type.name}`);
    this.out.push(v ? sprint([v]) : '<no value>');
  }
}

const BUILTIN_AND_OR = new Set(['and', 'or']);
const builtinMarks = new WeakSet<GoFunc>();
/** Mark the builtin and/or, which the executor evaluates lazily. */
export function markBuiltin(fn: GoFunc): GoFunc {
  builtinMarks.add(fn);
  return fn;
}
const isBuiltin = (fn: GoFunc): boolean => builtinMarks.has(fn);

/** exec.go's indirect: through interfaces (and nil pointers stay as they are). */
function indirect(v: MaybeValue): MaybeValue {
  while (v && v.type.kind === 'iface') {
    if (v.v === null) return v;
    v = v.v as Value;
  }
  return v;
}

/** A template value as plain JavaScript, for methods implemented in JavaScript. */
export function toJS(v: MaybeValue): unknown {
  if (!v) return undefined;
  if (v.type.kind === 'iface') return v.v === null ? null : toJS(v.v as Value);
  return v.v;
}

export interface ExecOptions {
  /** Go's missingkey option: "default" prints <no value>, "zero" the zero value, "error" fails. */
  missingKey?: MissingKey;
}

/** Execute the template named tmpl.name on data and return the text it writes. */
export function executeTemplate(tmpl: Template, data: unknown, opts: ExecOptions = {}): string {
  const dot = fromJS(data);
  const state = new State(tmpl.name, tmpl, opts.missingKey ?? 'default', dot);
  const tree = tmpl.trees.get(tmpl.name);
  if (!tree) return state.errorf(`${quote(tmpl.name)} is an incomplete or empty template`);
  try {
    state.walk(dot, tree.root);
  } catch (e) {
    const err = e instanceof RangeError ? new ExecError(`template: ${tmpl.name}: exceeded maximum template depth (${MAX_EXEC_DEPTH})`) : e;
    if (err instanceof ExecError) err.partial = state.out.join('');
    throw err;
  }
  return state.out.join('');
}
