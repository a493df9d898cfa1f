// Build stages: lookup by name or index, the --target, and which stages the target needs
// (a stage depends on the earlier stages its FROM, COPY --from and RUN --mount from= name), so
// that the others are skipped and independent ones may run side by side.

import { BerthError, invalidParameter } from '../../pkg/errors.js';
import type { Stage } from './instructions.js';

/**
 * The stage `nameOrIndex` refers to from stage `current`: an earlier stage's name (case does not
 * matter) or index. Undefined means it is not a stage (an image). An index of the current or a
 * later stage is an error, as in dockerd.
 */
export function findStage(stages: readonly Stage[], nameOrIndex: string, current: number): number | undefined {
  const name = nameOrIndex.toLowerCase();
  for (let i = 0; i < current && i < stages.length; i++) if (name !== '' && stages[i].name === name) return i;
  if (!/^[+-]?\d+$/.test(nameOrIndex)) return undefined;
  const ix = Number(nameOrIndex);
  if (ix === current) throw invalidParameter('refers to current build stage');
  if (ix < 0 || ix > current) throw invalidParameter('index out of bounds');
  return ix;
}

/** Index of the --target stage; the last stage when none is given. */
export function targetIndex(stages: readonly Stage[], target: string | undefined): number {
  if (!target) return stages.length - 1;
  const t = target.toLowerCase();
  const i = stages.findIndex((s) => s.name === t);
  if (i < 0) throw invalidParameter(`target stage ${JSON.stringify(target)} could not be found`);
  return i;
}

/** Stage names must be unique. */
export function checkStageNames(stages: readonly Stage[]): void {
  const seen = new Set<string>();
  for (const s of stages) {
    if (s.name === '') continue;
    if (seen.has(s.name)) throw invalidParameter(`${s.name} stage name already used`);
    seen.add(s.name);
  }
}

/** For each stage, the earlier stages it reads from; `baseNames` are the expanded FROM values. */
export function stageDependencies(stages: readonly Stage[], baseNames: readonly string[]): number[][] {
  return stages.map((stage, i) => {
    const deps = new Set<number>();
    // FROM names an earlier stage by name only: `FROM 0` is an image.
    const base = (baseNames[i] ?? stage.baseName).toLowerCase();
    const b = stages.findIndex((s, j) => j < i && s.name !== '' && s.name === base);
    if (b >= 0) deps.add(b);
    const refs: string[] = [];
    for (const c of stage.commands) {
      if (c.kind === 'COPY' && c.from !== '') refs.push(c.from);
      if (c.kind === 'RUN') refs.push(...c.mountFroms);
    }
    for (const ref of refs) {
      try {
        const d = findStage(stages, ref, i);
        if (d !== undefined) deps.add(d);
      } catch (err) {
        if (err instanceof BerthError) throw invalidParameter(`invalid from flag value ${ref}: ${err.message}`);
        throw err;
      }
    }
    return [...deps].sort((a, b) => a - b);
  });
}

export interface StagePlan {
  target: number;
  /** The stages to build, in file order: the target and what it needs, transitively. */
  needed: number[];
  dependencies: number[][];
}

/** What a build with --target `target` runs. */
export function planStages(stages: readonly Stage[], baseNames: readonly string[], target?: string): StagePlan {
  checkStageNames(stages);
  const t = targetIndex(stages, target);
  const dependencies = stageDependencies(stages, baseNames);
  const needed = new Set<number>();
  const visit = (i: number) => {
    if (needed.has(i)) return;
    needed.add(i);
    for (const d of dependencies[i]) visit(d);
  };
  visit(t);
  return { target: t, needed: [...needed].sort((a, b) => a - b), dependencies };
}
