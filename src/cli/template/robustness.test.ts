// Whatever text a user passes to --format, the engine answers with output or with one of its own
// Go-worded errors, never with a JavaScript exception. A fixed-seed generator makes the run
// deterministic.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ExecError } from './exec.js';
import { parseDocker } from './docker.js';
import { TemplateError } from './parse.js';
import { execute } from './template.js';
import { contextData } from './testdata.js';

const tokens = [
  '{{', '}}', '{{-', '-}}', ' ', '.', '.Metadata', '.Name', '.A', '.M', '$', '$x', ':=', '=', '|', '(', ')', '"s"',
  '`r`', "'c'", '1', '1.5', '-2', 'nil', 'true', 'if', 'else', 'end', 'range', 'with', 'break', 'continue', 'define',
  'template', 'block', '"x"', 'printf', '"%v %d %s"', '"%5.2f"', '"%[2]*d"', 'len', 'index', 'slice', 'eq', 'lt',
  'and', 'or', 'not', 'json', 'split', 'join', 'pad', 'truncate', 'call', 'html', ',', '/*', '*/', 'text', '\n',
  '.Metadata.Metadata.AdditionalFields', '.S', '.Z', '.E', '.Storage', '$.Storage.TLSPath', 'é', '😀', '\\',
  '0x1p-2', '1e400', '99999999999999999999',
];

test('random templates end in output or in a template error', () => {
  let seed = 12345;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const data = contextData();
  const unexpected: { text: string; error: string }[] = [];
  for (let i = 0; i < 20000; i++) {
    let text = '';
    const n = 1 + rnd(14);
    for (let j = 0; j < n; j++) {
      text += (rnd(3) === 0 ? '{{' : '') + tokens[rnd(tokens.length)] + ' ' + tokens[rnd(tokens.length)] + (rnd(3) === 0 ? '}}' : ' ');
    }
    try {
      execute(parseDocker(text), data);
    } catch (e) {
      if (!(e instanceof ExecError || e instanceof TemplateError)) unexpected.push({ text, error: String(e) });
    }
  }
  assert.deepEqual(unexpected, []);
});
