// The engine's API and its data model: how JavaScript data maps onto Go values (ints, float64,
// json.Number, typed maps, structs with methods), Go's missingkey option, custom functions with
// Go signatures, and errors that keep the partial output.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ExecError, TemplateError, execute, parse, withFuncs } from './template.js';
import { JSONNumber, T, asStruct, goValue, mapOf, stringSlice } from './value.js';

const run = (text: string, data?: unknown, missingKey?: 'default' | 'zero' | 'error'): string =>
  execute(parse(text), data, { missingKey });

const fails = (f: () => unknown, message: string): void => {
  assert.throws(f, (e: Error) => {
    assert.equal(e.message, message);
    return true;
  });
};

test('integral numbers are int, others float64', () => {
  assert.equal(run('{{.A}} {{.B}} {{printf "%T %T" .A .B}}', { A: 1000000, B: 2.5 }), '1000000 2.5 int float64');
  assert.equal(run('{{.A}}', { A: goValue(T.float64, 1000000) }), '1e+06');
  assert.equal(run('{{if eq .A 3}}three{{end}}', { A: 3 }), 'three');
});

test('json.Number prints its text and compares as a string, as in docker inspect\'s raw fallback', () => {
  const data = { Size: new JSONNumber('10') };
  assert.equal(run('{{.Size}} {{printf "%T %d" .Size .Size}}', data), '10 json.Number %!d(json.Number=10)');
  fails(() => run('{{eq .Size 10}}', data), 'template: :1:2: executing "" at <eq .Size 10>: error calling eq: incompatible types for comparison');
});

test('missingkey: default prints <no value>, zero the zero value, error fails', () => {
  const labels = goValue(mapOf(T.string, T.string), { a: 'x' });
  assert.equal(run('{{.L.b}}|{{.M.b}}', { L: labels, M: {} }), '<no value>|<no value>');
  assert.equal(run('{{.L.b}}|{{index .L "b"}}|{{len .L.b}}', { L: labels }, 'zero'), '||0');
  fails(() => run('{{.M.b}}', { M: {} }, 'error'), 'template: :1:4: executing "" at <.M.b>: map has no entry for key "b"');
  fails(() => run('{{.M.b.c}}', { M: {} }, 'error'), 'template: :1:4: executing "" at <.M.b.c>: map has no entry for key "b"');
});

test('structs: methods are called with their arguments, unknown fields fail with the type name', () => {
  const row = asStruct({ ID: 'abc', Label: (k: string) => `label:${k}`, Size: () => 42 }, '*formatter.ContainerContext');
  assert.equal(run('{{.ID}} {{.Label "x"}} {{.Size}} {{.Size | printf "%05d"}}', row), 'abc label:x 42 00042');
  fails(() => run('{{.Names}}', row), 'template: :1:2: executing "" at <.Names>: can\'t evaluate field Names in type *formatter.ContainerContext');
  fails(() => run('{{.Label}}', row), 'template: :1:2: executing "" at <.Label>: wrong number of args for Label: want 1 got 0');
  fails(() => run('{{.ID 1}}', row), 'template: :1:2: executing "" at <.ID>: ID has arguments but cannot be invoked as function');
  fails(() => run('{{.M.x 1}}', { M: {} }), 'template: :1:4: executing "" at <.M.x>: x is not a method but has arguments');
});

test('custom functions are checked against their Go signature', () => {
  const funcs = new Map([['twice', { params: [T.string], fn: (s: unknown) => String((s as { v: string }).v).repeat(2) }]]);
  const tmpl = parse('{{twice .}}', funcs);
  assert.equal(execute(tmpl, 'ab'), 'abab');
  fails(() => execute(tmpl, 3), 'template: :1:8: executing "" at <.>: wrong type for value; expected string; got int');
  fails(() => execute(parse('{{twice 3}}', funcs), null), 'template: :1:8: executing "" at <3>: expected string; found 3');
  fails(() => parse('{{thrice 3}}', funcs), 'template: :1: function "thrice" not defined');
  const swapped = withFuncs(tmpl, new Map([['twice', { params: [T.string], fn: () => 'swapped' }]]));
  assert.equal(execute(swapped, 'ab'), 'swapped');
});

test('typed slices: split gives []string, join wants []string', () => {
  assert.equal(run('{{printf "%T" .}}', goValue(stringSlice, ['a'])), '[]string');
  assert.equal(run('{{range .}}<{{.}}>{{end}}', goValue(stringSlice, ['a', 'b'])), '<a><b>');
});

test('errors carry the output written before them, like Go writing to its writer', () => {
  try {
    run('abc{{.X}}{{.Y.Z}}', { X: 1, Y: 'str' });
    assert.fail('no error');
  } catch (e) {
    assert.ok(e instanceof ExecError);
    assert.equal(e.partial, 'abc1');
    // Y comes out of a map[string]interface {}: Go names the interface type.
    assert.equal(e.message, 'template: :1:13: executing "" at <.Y.Z>: can\'t evaluate field Z in type interface {}');
  }
});

test('parse errors are TemplateErrors with the line of the problem', () => {
  assert.throws(() => parse('a\nb\n{{.X'), TemplateError);
  fails(() => parse('a\nb\n{{if 1}}\n{{end}'), "template: :4: bad character U+007D '}'");
  fails(() => parse('{{if 1}}\n{{else}}{{else}}{{end}}'), 'template: :2: expected end; found {{else}}');
  fails(() => parse('{{define "a"}}x{{end}}{{define "a"}}y{{end}}'), 'template: :1: template: multiple definition of template "a"');
  assert.equal(run('{{define "a"}}{{end}}{{define "a"}}y{{end}}{{template "a"}}'), 'y');
});

test('data that is null or absent is Go\'s nil', () => {
  assert.equal(run('{{.}}', null), '<no value>');
  assert.equal(run('{{.X}}', null), '<no value>');
  fails(() => run('{{.X}}', null, 'error'), 'template: :1:2: executing "" at <.X>: nil data; no entry for key "X"');
  assert.equal(run('{{with .}}x{{else}}nil{{end}} {{len .A}}', { A: [null] }), 'x 1');
  assert.equal(run('{{.P}} {{if .P}}y{{else}}n{{end}}', asStruct({ P: null }, 'T')), '<nil> n');
});

test('struct fields: only exported names, nothing inherited from Object', () => {
  const s = asStruct({ x: 1, Y: 2 }, 'T');
  assert.equal(run('{{.Y}}', s), '2');
  fails(() => run('{{.x}}', s), 'template: :1:2: executing "" at <.x>: x is an unexported field of struct type T');
  fails(() => run('{{.constructor}}', s), 'template: :1:2: executing "" at <.constructor>: can\'t evaluate field constructor in type T');
  assert.equal(run('{{.constructor}}', {}), '<no value>');
});

test('json.Marshal escapes <, > and & unless told not to (Docker\'s json function does not)', async () => {
  const { marshal } = await import('./json.js');
  const { fromJS } = await import('./value.js');
  const v = fromJS({ b: '<a&b>', a: [1.5, 1e21, 1e-7, null], c: '\u2028\n\x01' });
  assert.equal(marshal(v), '{"a":[1.5,1e+21,1e-7,null],"b":"\\u003ca\\u0026b\\u003e","c":"\\u2028\\n\\u0001"}');
  assert.equal(marshal(v, false), '{"a":[1.5,1e+21,1e-7,null],"b":"<a&b>","c":"\\u2028\\n\\u0001"}');
  assert.throws(() => marshal(fromJS(NaN)), /json: unsupported value: NaN/);
});

test('typedView: API objects are structs, their Labels and Options maps', async () => {
  const { typedView } = await import('./docker.js');
  const data = typedView({ Name: 'n', Labels: { a: 'x' }, Options: null, Config: { Labels: {} } }, 'volume.Volume');
  assert.equal(run('{{.Labels.b}}|{{index .Labels "b"}}|{{.Options}}|{{len .Config.Labels}}', data), '<no value>||map[]|0');
  fails(() => run('{{.Nope}}', data), 'template: :1:2: executing "" at <.Nope>: can\'t evaluate field Nope in type volume.Volume');
});
