import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDockerfile } from './parser.js';
import { parseInstructions } from './instructions.js';
import { parseOnbuildTriggers } from './onbuild.js';

test('ONBUILD expressions round-trip into the instructions the child build runs', () => {
  const stage = parseInstructions(parseDockerfile('FROM x\nONBUILD COPY --chown=app . /src\nONBUILD RUN <<EOF\necho $HOME\nEOF\nONBUILD ENV A=1').nodes).stages[0];
  const expressions = stage.commands.map((c) => (c.kind === 'ONBUILD' ? c.expression : ''));
  const triggers = parseOnbuildTriggers(expressions);
  assert.deepEqual(triggers.map((t) => t.kind), ['COPY', 'RUN', 'ENV']);
  assert.ok(triggers[0].kind === 'COPY' && triggers[0].chown === 'app' && triggers[0].sourcePaths[0] === '.');
  assert.ok(triggers[1].kind === 'RUN' && triggers[1].files[0].data === 'echo $HOME\n');
});

test('a trigger must be one instruction, and not FROM', () => {
  assert.throws(() => parseOnbuildTriggers(['RUN a\nRUN b']), { message: 'onbuild trigger should be a single expression' });
  assert.throws(() => parseOnbuildTriggers(['FROM x']), { message: '*instructions.Stage is not a command type' });
  assert.throws(() => parseOnbuildTriggers(['BOGUS x']), { message: 'unknown instruction: BOGUS' });
  assert.throws(() => parseOnbuildTriggers(['']), { message: 'file with no instructions' });
});
