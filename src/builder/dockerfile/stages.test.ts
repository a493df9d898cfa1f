import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDockerfile } from './parser.js';
import { parseInstructions } from './instructions.js';
import { findStage, planStages } from './stages.js';

const stagesOf = (text: string) => parseInstructions(parseDockerfile(text).nodes).stages;

const multi = stagesOf([
  'FROM alpine AS Base', // 0
  'RUN echo base',
  'FROM base AS deps', // 1: FROM base
  'FROM golang AS tools', // 2: independent
  'FROM scratch AS assets', // 3
  'COPY --from=0 /x /x',
  'FROM deps AS build', // 4: FROM deps, COPY --from=assets, RUN --mount from=tools
  'COPY --from=ASSETS /a /a',
  'RUN --mount=type=bind,from=tools,target=/t make',
  'FROM busybox AS unused', // 5
  'FROM scratch', // 6
  'COPY --from=build /out /',
  'COPY --from=nginx:latest /etc/nginx /etc/nginx',
].join('\n'));

test('the target and the stages it needs, transitively; others are skipped', () => {
  const plan = planStages(multi, multi.map((s) => s.baseName));
  assert.equal(plan.target, 6);
  assert.deepEqual(plan.needed, [0, 1, 2, 3, 4, 6]);
  assert.deepEqual(plan.dependencies, [[], [0], [], [0], [1, 2, 3], [], [4]]);
  assert.deepEqual(planStages(multi, multi.map((s) => s.baseName), 'DEPS').needed, [0, 1]);
  assert.deepEqual(planStages(multi, multi.map((s) => s.baseName), 'tools').needed, [2]);
});

test('FROM names are looked up after expansion, by name only and among earlier stages', () => {
  const s = stagesOf('ARG B=base\nFROM alpine AS base\nFROM ${B}\nFROM 0\nFROM later\nFROM alpine AS later');
  const plan = planStages(s, ['alpine', 'base', '0', 'later', 'alpine']);
  assert.deepEqual(plan.dependencies, [[], [0], [], [], []]);
});

test('lookup errors and target errors read as dockerd’s', () => {
  assert.throws(() => planStages(multi, [], 'nope'), { message: 'target stage "nope" could not be found' });
  const dup = stagesOf('FROM a AS x\nFROM b AS X');
  assert.throws(() => planStages(dup, ['a', 'b']), { message: 'x stage name already used' });
  const self = stagesOf('FROM a\nCOPY --from=0 / /');
  assert.throws(() => planStages(self, ['a']), { message: 'invalid from flag value 0: refers to current build stage' });
  const ahead = stagesOf('FROM a\nCOPY --from=5 / /');
  assert.throws(() => planStages(ahead, ['a']), { message: 'invalid from flag value 5: index out of bounds' });
  assert.equal(findStage(multi, 'build', 6), 4);
  assert.equal(findStage(multi, 'build', 4), undefined);
  assert.equal(findStage(multi, 'alpine', 6), undefined);
});
