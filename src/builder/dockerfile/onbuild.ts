// ONBUILD triggers: a base image's OnBuild expressions, parsed when a child build starts FROM it,
// as dockerd's classic builder does (each must be exactly one instruction, and not FROM).

import { type Instruction, isStage, parseInstruction } from './instructions.js';
import { parseDockerfile } from './parser.js';

export function parseOnbuildTriggers(triggers: readonly string[]): Instruction[] {
  return triggers.map((trigger) => {
    const { nodes } = parseDockerfile(trigger);
    if (nodes.length !== 1) throw new Error('onbuild trigger should be a single expression');
    const parsed = parseInstruction(nodes[0]);
    if (isStage(parsed)) throw new Error('*instructions.Stage is not a command type');
    return parsed;
  });
}
