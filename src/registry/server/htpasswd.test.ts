import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { Htpasswd, parseBasicAuth, parseHtpasswd } from './htpasswd.js';

test('parseHtpasswd keeps bcrypt entries and refuses every other hash by name', () => {
  const hash = bcrypt.hashSync('pw', 4);
  const parsed = parseHtpasswd(
    [
      '# comment',
      `alice:${hash}`,
      'bob:$apr1$Zi3yX0aO$fP2vM5eUQhm6tKx0sR7cD/',
      'carol:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=',
      'dave:plaintext',
      'garbage line',
      '',
    ].join('\n'),
  );
  assert.deepEqual([...parsed.users.keys()], ['alice']);
  assert.equal(parsed.warnings.length, 4);
  assert.match(parsed.warnings[0], /user "bob" is not a bcrypt hash \(create it with htpasswd -B\)/);
  assert.match(parsed.warnings[3], /line 6: not user:hash/);
});

test('parseBasicAuth decodes user:password and refuses other schemes', () => {
  const h = `Basic ${Buffer.from('u:p:with:colons').toString('base64')}`;
  assert.deepEqual(parseBasicAuth(h), { user: 'u', password: 'p:with:colons' });
  assert.equal(parseBasicAuth('Bearer abc'), undefined);
  assert.equal(parseBasicAuth(undefined), undefined);
  assert.equal(parseBasicAuth(`Basic ${Buffer.from('nocolon').toString('base64')}`), undefined);
});

test('Htpasswd checks bcrypt passwords and reads the file again when it changes', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'htpasswd-test-'));
  try {
    const file = join(dir, 'htpasswd');
    await writeFile(file, `alice:${bcrypt.hashSync('one', 4)}\n`);
    const warnings: string[] = [];
    const h = new Htpasswd(file, (w) => warnings.push(w));
    assert.equal(await h.check('alice', 'one'), true);
    assert.equal(await h.check('alice', 'one'), true, 'remembered');
    assert.equal(await h.check('alice', 'two'), false);
    assert.equal(await h.check('nobody', 'one'), false);

    await writeFile(file, `alice:${bcrypt.hashSync('two', 4)}\nbob:$apr1$x$y\n`);
    await utimes(file, new Date(), new Date(Date.now() + 5000));
    assert.equal(await h.check('alice', 'one'), false, 'the old password no longer works');
    assert.equal(await h.check('alice', 'two'), true);
    assert.equal(warnings.length, 1);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
