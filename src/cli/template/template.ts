// The public face of the engine: parse a text with a set of functions, execute it on data.
// Mirrors text/template's Template.New("").Funcs(m).Parse(text) and Execute.

import { type ExecOptions, type GoFunc, type Template, executeTemplate } from './exec.js';
import { builtins } from './funcs.js';
import { parseTrees } from './parse.js';

export type { GoFunc, Template, ExecOptions };
export { ExecError } from './exec.js';
export { TemplateError } from './parse.js';

/**
 * Parse a template. `funcs` adds (or overrides) functions; parse errors throw TemplateError with
 * Go's text, e.g. `template: :1: function "foo" not defined`.
 */
export function parse(text: string, funcs: Map<string, GoFunc> = new Map(), name = ''): Template {
  const all = builtins();
  for (const [k, v] of funcs) all.set(k, v);
  const trees = parseTrees(name, text, (n) => all.has(n));
  return { name, trees, funcs: all };
}

/** Execute a parsed template on data and return its output; errors throw ExecError with Go's text. */
export function execute(tmpl: Template, data: unknown, opts?: ExecOptions): string {
  return executeTemplate(tmpl, data, opts);
}

/** The same template with some functions replaced (text/template's Funcs after Parse). */
export function withFuncs(tmpl: Template, funcs: Map<string, GoFunc>): Template {
  const all = new Map(tmpl.funcs);
  for (const [k, v] of funcs) all.set(k, v);
  return { ...tmpl, funcs: all };
}
