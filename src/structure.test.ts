// The codebase's structural rules (docs/architecture.md), checked on the TypeScript sources:
// value imports form no cycle, no project module is loaded with a dynamic import, routers
// import no value from the daemon, src/pkg imports nothing of the project, and no file is
// longer than 700 lines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// dist/src/structure.test.js → the repository's src/
const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');
const MAX_LINES = 700;

interface SourceFile {
  path: string;
  text: string;
  /** Project files this one imports values from (type-only imports left out). */
  valueImports: string[];
}

async function listSources(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listSources(p)));
    else if (/\.(c|m)?ts$/.test(e.name) && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** Static `import … from '…'` and `export … from '…'` statements, with their clause. */
const staticImport = /^\s*(import|export)\s+(type\s+)?([^'";]*?)\s*from\s*['"](\.[^'"]+)['"]/gm;
const sideEffectImport = /^\s*import\s+['"](\.[^'"]+)['"]/gm;

function isTypeOnlyClause(typeKeyword: string | undefined, clause: string): boolean {
  if (typeKeyword) return true;
  // `import { type A, type B } from` imports no value either.
  const braces = /^\{([\s\S]*)\}$/.exec(clause.trim());
  if (!braces) return false;
  const names = braces[1].split(',').map((s) => s.trim()).filter(Boolean);
  return names.length > 0 && names.every((n) => n.startsWith('type '));
}

function resolveSpecifier(from: string, spec: string): string {
  return resolve(dirname(from), spec.replace(/\.(c|m)?js$/, (m) => m.replace('js', 'ts')));
}

async function loadSources(): Promise<SourceFile[]> {
  const files = (await listSources(SRC)).filter((p) => !/\.test\.ts$/.test(p) && !p.endsWith('testutil.ts'));
  return Promise.all(
    files.map(async (path) => {
      const text = await readFile(path, 'utf8');
      const valueImports: string[] = [];
      for (const m of text.matchAll(staticImport)) {
        if (!isTypeOnlyClause(m[2], m[3])) valueImports.push(resolveSpecifier(path, m[4]));
      }
      for (const m of text.matchAll(sideEffectImport)) valueImports.push(resolveSpecifier(path, m[1]));
      return { path, text, valueImports };
    }),
  );
}

const rel = (p: string) => relative(SRC, p);

/** Every cycle among value imports, each as the list of files around it (Tarjan's SCCs). */
function importCycles(files: SourceFile[]): string[][] {
  const graph = new Map(files.map((f) => [f.path, f.valueImports.filter((p) => p !== f.path)]));
  let index = 0;
  const indices = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (v: string) => {
    indices.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!indices.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, indices.get(w)!));
      }
    }
    if (low.get(v) === indices.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1) cycles.push(scc.map(rel).sort());
    }
  };
  for (const v of graph.keys()) if (!indices.has(v)) visit(v);
  return cycles;
}

test('no cycle among value imports in src/', async () => {
  assert.deepEqual(importCycles(await loadSources()), []);
});

test('no dynamic import of a project module', async () => {
  // A CommonJS entry point (.cts) can load the ESM program only through import().
  const found = (await loadSources())
    .filter((f) => !f.path.endsWith('.cts') && /\bimport\(\s*['"]\./.test(f.text))
    .map((f) => rel(f.path));
  assert.deepEqual(found, []);
});

test('routers import no value from the daemon', async () => {
  const daemonDir = join(SRC, 'daemon') + '/';
  const found = (await loadSources())
    .filter((f) => rel(f.path).startsWith('server/'))
    .flatMap((f) => f.valueImports.filter((p) => p.startsWith(daemonDir)).map((p) => `${rel(f.path)} → ${rel(p)}`));
  assert.deepEqual(found, []);
});

test('src/pkg imports nothing of the project outside src/pkg', async () => {
  const pkgDir = join(SRC, 'pkg') + '/';
  const found = (await loadSources())
    .filter((f) => f.path.startsWith(pkgDir))
    .flatMap((f) => f.valueImports.filter((p) => !p.startsWith(pkgDir)).map((p) => `${rel(f.path)} → ${rel(p)}`));
  assert.deepEqual(found, []);
});

test(`no source file over ${MAX_LINES} lines`, async () => {
  const found = (await loadSources())
    .map((f) => ({ file: rel(f.path), lines: f.text.split('\n').length - (f.text.endsWith('\n') ? 1 : 0) }))
    .filter((f) => f.lines > MAX_LINES)
    .map((f) => `${f.file}: ${f.lines}`);
  assert.deepEqual(found, []);
});

test('the cycle finder sees a cycle', () => {
  const a = join(SRC, 'a.ts');
  const b = join(SRC, 'b.ts');
  const c = join(SRC, 'c.ts');
  assert.deepEqual(
    importCycles([
      { path: a, text: '', valueImports: [b] },
      { path: b, text: '', valueImports: [a, c] },
      { path: c, text: '', valueImports: [] },
    ]),
    [['a.ts', 'b.ts']],
  );
});
