// Docker's template functions: json split join title upper lower pad truncate.
// Each case: [template, what the docker CLI printed] (see testdata.ts).
import { test } from 'node:test';
import { checkAll } from './testdata.js';

const cases: [string, string][] = [
  ["{{with .Metadata.Metadata.AdditionalFields}}{{.N}}|{{.M}}|{{.A}}|{{.Missing}}|{{.Z}}|{{printf \"%v %d\" .I .I}}|{{.E}}|{{.S}}|{{json .}}{{end}}", "1e+06|map[a:1 b:2 c:map[x:y]]|[1 b true <nil>]|<no value>|<no value>|42 %!d(float64=42)|[]|hi <x>|{\"A\":[1,\"b\",true,null],\"B\":false,\"E\":[],\"F\":1.5,\"I\":42,\"M\":{\"a\":1,\"b\":2,\"c\":{\"x\":\"y\"}},\"N\":1000000,\"S\":\"hi <x>\",\"Z\":null}"],
  ["{{json \"<a&b>\"}} {{json .Metadata.Metadata.AdditionalFields.F}} {{json 1e21}} {{json 0.0000001}} {{json \"\\u2028\\b\\f\\u0001\"}}", "\"<a&b>\" 1.5 1e+21 1e-7 \"\\u2028\\b\\f\\u0001\""],
  ["{{split \"a,b,c\" \",\"}} {{join (split \"a,b,c\" \",\") \"-\"}} {{title \"hello world-foo_bar\"}} {{upper \"abc\"}} {{lower \"ABC\"}}", "[a b c] a-b-c Hello World-Foo_bar ABC abc"],
  ["{{pad \"x\" 2 3}}| {{pad \"\" 2 3}}| {{truncate \"abcdef\" 3}} {{truncate \"ab\" 3}}", "  x   | | abc ab"],
  ["{{join .Metadata.Metadata.AdditionalFields.A \",\"}}", "ERR template parsing error: template: :1:16: executing \"\" at <.Metadata.Metadata.AdditionalFields.A>: wrong type for value; expected []string; got []interface {}"],
  ["{{split 1 \",\"}}", "ERR template parsing error: template: :1:8: executing \"\" at <1>: expected string; found 1"],
  ["{{printf \"%v %v\" (split \"a,b\" \",\") (split \"\" \",\")}}", "[a b] []"],
  ["{{printf \"%q %#v %T\" (split \"a,b\" \",\") (split \"a,b\" \",\") (split \"a\" \",\")}}", "[\"a\" \"b\"] []string{\"a\", \"b\"} []string"],
  ["{{len (split \"a,,b\" \",\")}} {{split \"abc\" \"\"}} {{index (split \"a,b\" \",\") 1}}", "3 [a b c] b"],
  ["{{join \"x\" \",\"}}", "ERR template parsing error: template: :1:7: executing \"\" at <\"x\">: can't handle \"x\" for arg of type []string"],
  ["{{pad \"x\" -1 2}}|{{truncate \"h\u00e9llo\" 2}}|{{truncate \"abc\" 0}}", "ERR template parsing error: template: :1:2: executing \"\" at <pad \"x\" -1 2>: error calling pad: strings: negative Repeat count"],
  ["{{truncate \"abc\" -1}}", "ERR template parsing error: template: :1:2: executing \"\" at <truncate \"abc\" -1>: error calling truncate: runtime error: slice bounds out of range [:-1]"],
  ["{{title \"\u00fcn\u00efcode \u00e7ase\" }} {{upper \"\u00df\"}} {{title \"a.b,c d\"}}", "\u00dcn\u00efcode \u00c7ase \u00df A.B,C D"],
  ["{{json nil}} {{json .Metadata.Metadata.AdditionalFields.A}} {{json \"\u00e9\\t\\\"\\\\\"}} {{json 1}} {{json true}}", "null [1,\"b\",true,null] \"\u00e9\\t\\\"\\\\\" 1 true"],
  ["{{json .Storage}}", "{\"MetadataPath\":\"/tmp/gt-dockercfg/contexts/meta/e3b98a4da31a127d4bde6e43033f66ba274cab0eb7eb1c70ec41402bf6273dd8\",\"TLSPath\":\"/tmp/gt-dockercfg/contexts/tls/e3b98a4da31a127d4bde6e43033f66ba274cab0eb7eb1c70ec41402bf6273dd8\"}"],
  ["{{json .Metadata.Metadata.AdditionalFields.M | len}}", "27"],
  ["{{printf \"%v\" (json 2.5)}}", "2.5"],
  ["{{printf \"%T %T\" .Metadata.Metadata.AdditionalFields.Missing (split \"a\" \"\")}}", "<nil> []string"],
  ["{{json .Metadata.Metadata.AdditionalFields.S}} {{json \"a\\u0000b\\u007f\\u0080\"}}", "\"hi <x>\" \"a\\u0000b\u007f\u0080\""],
  ["{{json .Metadata.Metadata.AdditionalFields.M.c.x}}", "\"y\""],
  ["{{json .Metadata.Endpoints}}", "{\"docker\":{\"Host\":\"unix:///nonexistent\",\"SkipTLSVerify\":false}}"],
  ["{{json 1.5e300}} {{json -0.0}} {{json 123456789012}} {{json 0.1}} {{json 1e-7}} {{json 100000000000000000000.0}}", "1.5e+300 -0 123456789012 0.1 1e-7 100000000000000000000"],
  ["{{join (split \"a b c\" \" \") \", \"}} {{split \"a\" \"\"}} {{split \"\" \",\"}} {{len (split \"\" \"\")}}", "a, b, c [a] [] 0"],
  ["{{title \"\u00e9lan vital\"}} {{title \"o'neil is here\"}} {{title \"123abc def\"}} {{lower \"\u00c0\u00c9\u00ce\"}} {{upper \"\u00e0\u00e9\u00ee\"}}", "\u00c9lan Vital O'Neil Is Here 123abc Def \u00e0\u00e9\u00ee \u00c0\u00c9\u00ce"],
  ["{{truncate .Metadata.Name 0}}{{truncate \"x\" 100}}", "x"],
  ["{{pad .Metadata.Name 0 0}}|{{pad \"a\" 1 0}}|", "t| a|"],
  ["{{upper 1}}", "ERR template parsing error: template: :1:8: executing \"\" at <1>: expected string; found 1"],
  ["{{title}}", "ERR template parsing error: template: :1:2: executing \"\" at <title>: wrong number of args for title: want 1 got 0"],
  ["{{json}}", "ERR template parsing error: template: :1:2: executing \"\" at <json>: wrong number of args for json: want 1 got 0"],
  ["{{json 1 2}}", "ERR template parsing error: template: :1:2: executing \"\" at <json>: wrong number of args for json: want 1 got 2"],
  ["{{split \"a\"}}", "ERR template parsing error: template: :1:2: executing \"\" at <split>: wrong number of args for split: want 2 got 1"],
  ["{{\"a,b\" | split \",\"}}", "[,]"],
  ["{{split \"a,b\" \",\" | len}}", "2"],
  ["{{range split \"a,b\" \",\"}}[{{.}}]{{end}}", "[a][b]"],
  ["{{title \"\u00dfa stra\u00dfe\"}}", "\u00dfa Stra\u00dfe"],
];

test("Docker's functions behave as docker/cli's", () => {
  checkAll(cases);
});
