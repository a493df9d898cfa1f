// Parsing: the lexer and parser's errors and literals, as Go reports them.
// Each case: [template, what the docker CLI printed] (see testdata.ts).
import { test } from 'node:test';
import { checkAll } from './testdata.js';

const cases: [string, string][] = [
  ["{{undefinedfn 1}}", "ERR template parsing error: template: :1: function \"undefinedfn\" not defined"],
  ["{{$u}}", "ERR template parsing error: template: :1: undefined variable \"$u\""],
  ["{{if}}{{end}}", "ERR template parsing error: template: :1: missing value for if"],
  ["{{range}}{{end}}", "ERR template parsing error: template: :1: missing value for range"],
  ["{{end}}", "ERR template parsing error: template: :1: unexpected {{end}}"],
  ["{{else}}", "ERR template parsing error: template: :1: unexpected {{else}}"],
  ["{{if 1}}x", "ERR template parsing error: template: :1: unexpected EOF"],
  ["{{.Foo", "ERR template parsing error: template: :1: unclosed action"],
  ["{{\"unterminated}}", "ERR template parsing error: template: :1: unterminated quoted string"],
  ["{{3x}}", "ERR template parsing error: template: :1: bad number syntax: \"3x\""],
  ["{{(1}}", "ERR template parsing error: template: :1: unclosed left paren"],
  ["{{1)}}", "ERR template parsing error: template: :1: unexpected right paren"],
  ["{{break}}", "ERR template parsing error: template: :1: {{break}} outside {{range}}"],
  ["{{range .}}{{break 1}}{{end}}", "ERR template parsing error: template: :1: unexpected \"1\" in {{break}}"],
  ["{{ .Metadata.Name | 3 }}", "ERR template parsing error: template: :1: non executable command in pipeline stage 2"],
  ["{{99999999999999999999}}", "ERR template parsing error: template: :1: integer overflow: \"99999999999999999999\""],
  ["{{range $i, $e := .Metadata.Metadata.AdditionalFields.M}}{{$i}}{{end}} {{$i}}", "ERR template parsing error: template: :1: undefined variable \"$i\""],
  ["{{if 1}}{{$z := 3}}{{end}}{{$z}}", "ERR template parsing error: template: :1: undefined variable \"$z\""],
  ["{{range $a, $b, $c := .}}{{end}}", "ERR template parsing error: template: :1: too many declarations in range"],
  ["{{range $a, 1}}{{end}}", "ERR template parsing error: template: :1: range can only initialize variables"],
  ["{{$a, $b := 1}}", "ERR template parsing error: template: :1: too many declarations in command"],
  ["{{with $a, $b := 1}}{{end}}", "ERR template parsing error: template: :1: too many declarations in with"],
  ["{{.Metadata.Name.}}", "ERR template parsing error: template: :1: unexpected <.> in operand"],
  ["{{.Metadata..Name}}", "ERR template parsing error: template: :1: unexpected <.> in operand"],
  ["{{3 | . }}", "ERR template parsing error: template: :1: non executable command in pipeline stage 2"],
  ["{{define \"a\"}}x{{end}}{{define \"a\"}}y{{end}}", "ERR template parsing error: template: :1: template: multiple definition of template \"a\""],
  ["{{template x}}", "ERR template parsing error: template: :1: unexpected \"x\" in template clause"],
  ["{{define x}}{{end}}", "ERR template parsing error: template: :1: unexpected \"x\" in define clause"],
  ["{{define \"y\"}}", "ERR template parsing error: template: :1: unexpected EOF"],
  ["{{range .}}{{else}}{{else}}{{end}}", "ERR template parsing error: template: :1: expected end; found {{else}}"],
  ["{{if 1}}{{else}}{{else}}{{end}}", "ERR template parsing error: template: :1: expected end; found {{else}}"],
  ["{{with 1}}{{else if 1}}{{end}}", "ERR template parsing error: template: :1: unexpected <if> in input"],
  ["{{-3}} {{- 3}} {{3 -}} {{3-}}", "ERR template parsing error: template: :1: bad number syntax: \"3-\""],
  ["{{/* unclosed }}", "ERR template parsing error: template: :1: unclosed comment"],
  ["{{/* a */ 3}}", "ERR template parsing error: template: :1: comment ends before closing delimiter"],
  ["x {{\"a\\qb\"}}", "ERR template parsing error: template: :1: invalid syntax"],
  ["{{'ab'}}", "ERR template parsing error: template: :1: malformed character constant: 'ab'"],
  ["{{.Metadata.Name | printf \"%s\"", "ERR template parsing error: template: :1: unclosed action"],
  ["{{.Metadata.Name", "ERR template parsing error: template: :1: unclosed action"],
  ["{{if 1}}", "ERR template parsing error: template: :1: unexpected EOF"],
  ["{{end}}", "ERR template parsing error: template: :1: unexpected {{end}}"],
  ["{{\"unterminated", "ERR template parsing error: template: :1: unterminated quoted string"],
  ["{{1.5e3}} {{1e-7}} {{-0.0}} {{0x10}} {{1.}} {{00}} {{07}} {{08}}", "ERR template parsing error: template: :1: integer overflow: \"08\""],
  ["{{x.y}}", "ERR template parsing error: template: :1: function \"x\" not defined"],
];

test("parse errors, trim markers, comments and literals read as Go reads them", () => {
  checkAll(cases);
});
