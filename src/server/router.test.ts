import { test } from 'node:test';
import assert from 'node:assert/strict';
import { json, serveRoutes } from './router/testutil.js';
import { writeJSON } from './httputils.js';

test('path parameters: a malformed escape is a 400 with Go\'s message; bytes that are not UTF-8 still reach the route', async () => {
  const s = await serveRoutes((r) => {
    r.get('/things/{name}/json', async (ctx) => writeJSON(ctx.res, 200, { name: ctx.params.name }));
  });
  try {
    const bad = await s.call('GET', '/things/a%zz/json');
    assert.equal(bad.status, 400);
    assert.equal(json(bad).message, 'invalid URL escape "%zz"');
    const trailing = await s.call('GET', '/v1.41/things/%/json');
    assert.equal(trailing.status, 400);
    assert.equal(json(trailing).message, 'invalid URL escape "%"');
    const latin = await s.call('GET', '/things/%c3%28/json');
    assert.equal(latin.status, 200);
    assert.equal(json(latin).name, '\ufffd(');
    const fine = await s.call('GET', '/things/caf%C3%A9%2Fx/json');
    assert.equal(json(fine).name, 'café/x');
  } finally {
    await s.close();
  }
});
