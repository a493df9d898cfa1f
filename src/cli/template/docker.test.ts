// Docker's list formatting (table/json/custom --format, header row, tabwriter alignment) and
// inspect's two runs (typed view, then the raw JSON with missingkey=error). Expected strings are
// what the docker CLI 28.2.2 printed: `docker context ls --format` for the rows below, and
// `docker network inspect` / `docker volume inspect` against a dockerd holding the objects below.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FormatError, formatList, inspectFormat, preFormat } from './docker.js';
import { asStruct } from './value.js';

interface ClientContext {
  Name: string;
  Current: boolean;
  Description: string;
  DockerEndpoint: string;
  Error: string;
}

// formatter.clientContextContext: methods, and MarshalJSON for {{json .}}.
const row = (c: ClientContext): object =>
  asStruct({
    Current: () => c.Current,
    Name: () => c.Name,
    Description: () => c.Description,
    DockerEndpoint: () => c.DockerEndpoint,
    Error: () => c.Error,
    MarshalJSON: () => JSON.stringify({ Current: c.Current, Description: c.Description, DockerEndpoint: c.DockerEndpoint, Error: c.Error, Name: c.Name }),
  }, '*formatter.clientContextContext');

const rows = [
  row({ Name: 'default', Current: true, Description: 'Current DOCKER_HOST based configuration', DockerEndpoint: 'unix:///var/run/docker.sock', Error: '' }),
  row({ Name: 't', Current: false, Description: 'd', DockerEndpoint: 'unix:///nonexistent', Error: '' }),
  row({ Name: 'u', Current: false, Description: '\u65e5\u672c\u8a9e \u00e9\u0300 \ud83d\ude00x', DockerEndpoint: 'unix:///u', Error: '' }),
];
const header = { Name: 'NAME', Description: 'DESCRIPTION', DockerEndpoint: 'DOCKER ENDPOINT', Error: 'ERROR' };
const tableFormat = 'table {{.Name}}{{if .Current}} *{{end}}\\t{{.Description}}\\t{{.DockerEndpoint}}\\t{{.Error}}';

function list(format: string): string {
  try {
    return formatList({ format, rows, header, tableFormat });
  } catch (e) {
    assert.ok(e instanceof FormatError);
    return 'ERR ' + e.message;
  }
}

const listCases: [string, string][] = [
  ["table {{.Name}}{{if .Current}} *{{end}}\\t{{.Description}}\\t{{.DockerEndpoint}}\\t{{.Error}}", "NAME        DESCRIPTION                               DOCKER ENDPOINT               ERROR\ndefault *   Current DOCKER_HOST based configuration   unix:///var/run/docker.sock   \nt           d                                         unix:///nonexistent           \nu           \u65e5\u672c\u8a9e \u00e9\u0300 \ud83d\ude00x                              unix:///u                     \n"],
  ["table {{.Name}}\\t{{.Current}}", "NAME      <no value>\ndefault   true\nt         false\nu         false\n"],
  ["table {{.Name}}", "NAME\ndefault\nt\nu\n"],
  ["table", "NAME        DESCRIPTION                               DOCKER ENDPOINT               ERROR\ndefault *   Current DOCKER_HOST based configuration   unix:///var/run/docker.sock   \nt           d                                         unix:///nonexistent           \nu           \u65e5\u672c\u8a9e \u00e9\u0300 \ud83d\ude00x                              unix:///u                     \n"],
  ["{{.Name}}\\t{{.Current}}", "default\ttrue\nt\tfalse\nu\tfalse\n"],
  ["json", "{\"Current\":true,\"Description\":\"Current DOCKER_HOST based configuration\",\"DockerEndpoint\":\"unix:///var/run/docker.sock\",\"Error\":\"\",\"Name\":\"default\"}\n{\"Current\":false,\"Description\":\"d\",\"DockerEndpoint\":\"unix:///nonexistent\",\"Error\":\"\",\"Name\":\"t\"}\n{\"Current\":false,\"Description\":\"\u65e5\u672c\u8a9e \u00e9\u0300 \ud83d\ude00x\",\"DockerEndpoint\":\"unix:///u\",\"Error\":\"\",\"Name\":\"u\"}\n"],
  ["{{json .}}", "{\"Current\":true,\"Description\":\"Current DOCKER_HOST based configuration\",\"DockerEndpoint\":\"unix:///var/run/docker.sock\",\"Error\":\"\",\"Name\":\"default\"}\n{\"Current\":false,\"Description\":\"d\",\"DockerEndpoint\":\"unix:///nonexistent\",\"Error\":\"\",\"Name\":\"t\"}\n{\"Current\":false,\"Description\":\"\u65e5\u672c\u8a9e \u00e9\u0300 \ud83d\ude00x\",\"DockerEndpoint\":\"unix:///u\",\"Error\":\"\",\"Name\":\"u\"}\n"],
  ["  table   {{.Name | upper}}\\t{{.Description | truncate 5}}\\t{{pad .Name 1 1}}|", "ERR template parsing error: template: :1:52: executing \"\" at <5>: expected string; found 5"],
  ["table {{.Name}}\\t{{.Description | json}}\\t{{split .Name \"e\"}}\\t{{join (split .Name \"e\") \"-\"}}", "NAME      DESCRIPTION                                 NAME        NAME\ndefault   \"Current DOCKER_HOST based configuration\"   [d fault]   d-fault\nt         \"d\"                                         [t]         t\nu         \"\u65e5\u672c\u8a9e \u00e9\u0300 \ud83d\ude00x\"                              [u]         u\n"],
  ["table {{.Name}}\\t{{.Label \"x\"}}", "ERR template parsing error: template: :1:12: executing \"\" at <.Label>: can't evaluate field Label in type *formatter.clientContextContext"],
  ["{{.Label \"x\"}}", "ERR template parsing error: template: :1:2: executing \"\" at <.Label>: can't evaluate field Label in type *formatter.clientContextContext"],
  ["table {{.Name}}\\t{{.Nope}}", "ERR template parsing error: template: :1:12: executing \"\" at <.Nope>: can't evaluate field Nope in type *formatter.clientContextContext"],
  ["{{.Nope}}", "ERR template parsing error: template: :1:2: executing \"\" at <.Nope>: can't evaluate field Nope in type *formatter.clientContextContext"],
  ["table {{.Name}}\\n{{.Description}}", "NAME\nDESCRIPTION\ndefault\nCurrent DOCKER_HOST based configuration\nt\nd\nu\n\u65e5\u672c\u8a9e \u00e9\u0300 \ud83d\ude00x\n"],
  ["table {{.Name}}\\t{{.Name}}\\t", "NAME      NAME      \ndefault   default   \nt         t         \nu         u         \n"],
  ["table {{.Name}}:{{.Description}}\\t{{.Error}}X\\t{{.DockerEndpoint}}", "NAME:DESCRIPTION                                  ERRORX    DOCKER ENDPOINT\ndefault:Current DOCKER_HOST based configuration   X         unix:///var/run/docker.sock\nt:d                                               X         unix:///nonexistent\nu:\u65e5\u672c\u8a9e \u00e9\u0300 \ud83d\ude00x                                    X         unix:///u\n"],
  ["table {{", "ERR template parsing error: template: :1: unclosed action"],
  ["{{.Name}}{{break}}", "ERR template parsing error: template: :1: {{break}} outside {{range}}"],
];

test('list formats render as docker context ls renders them', () => {
  const failures = listCases.flatMap(([f, want]) => (list(f) === want ? [] : [{ f, want, got: list(f) }]));
  assert.deepEqual(failures, []);
});

test('preFormat strips table, expands json, trims spaces and unescapes \\t and \\n', () => {
  assert.equal(preFormat('table  {{.A}}\\t{{.B}} '), '{{.A}}\t{{.B}}');
  assert.equal(preFormat('json'), '{{json .}}');
  assert.equal(preFormat(' {{.A}}\\n'), '{{.A}}\n');
  assert.equal(preFormat('\t{{.A}}'), '\t{{.A}}');
});

const network = {
  "Name": "none",
  "Id": "6598bb24aa3f0af42bbc0d80393bd2f27fd93e72ac5c3699da615edea50f09c6",
  "Created": "2026-12-02T01:39:23.096180022Z",
  "Scope": "local",
  "Driver": "null",
  "EnableIPv6": false,
  "IPAM": {
    "Driver": "default",
    "Options": null,
    "Config": []
  },
  "Internal": false,
  "Attachable": false,
  "Ingress": false,
  "ConfigFrom": {
    "Network": ""
  },
  "ConfigOnly": false,
  "Containers": {},
  "Options": {},
  "Labels": {}
};

const volume = {
  "CreatedAt": "2026-12-02T01:39:23Z",
  "Driver": "local",
  "Labels": {
    "a": "1",
    "b": "x"
  },
  "Mountpoint": "/tmp/gtd/data/volumes/v1/_data",
  "Name": "v1",
  "Options": null,
  "Scope": "local"
};

const networkCases: [string, string][] = [
  ["{{.Foo}}", "ERR template parsing error: template: :1:2: executing \"\" at <.Foo>: map has no entry for key \"Foo\""],
  ["{{.Labels.zz}}", "<no value>\n"],
  ["{{.IPAM.Config}}", "[]\n"],
  ["{{.Options.x}}", "<no value>\n"],
  ["{{.Containers}}", "map[]\n"],
  ["{{.EnableIPv6}}{{.Foo}}", "ERR template parsing error: template: :1:17: executing \"\" at <.Foo>: map has no entry for key \"Foo\""],
  ["{{.Name}} {{.Id}} {{.Scope}}", "none 6598bb24aa3f0af42bbc0d80393bd2f27fd93e72ac5c3699da615edea50f09c6 local\n"],
  ["{{json .IPAM}}", "{\"Driver\":\"default\",\"Options\":null,\"Config\":[]}\n"],
  ["{{.IPAM.Options}}", "map[]\n"],
  ["{{.IPAM.Driver.X}}", "ERR template parsing error: template: :1:7: executing \"\" at <.IPAM.Driver.X>: can't evaluate field X in type interface {}"],
  ["{{.ConfigFrom}}", "{}\n"],
  ["{{range $k, $v := .Options}}{{$k}}{{end}}", "\n"],
  ["{{len .Containers}}", "0\n"],
  ["{{if .Internal}}i{{else}}n{{end}}", "n\n"],
  ["{{eq .Driver \"null\"}}", "true\n"],
  ["{{.Labels}}", "map[]\n"],
  ["{{index .Labels \"x\"}}", "\n"],
  ["{{.IPAM.Nope}}", "ERR template parsing error: template: :1:7: executing \"\" at <.IPAM.Nope>: map has no entry for key \"Nope\""],
];

const volumeCases: [string, string][] = [
  ["{{.Foo}}", "ERR template parsing error: template: :1:2: executing \"\" at <.Foo>: can't evaluate field Foo in type volume.Volume"],
  ["{{.Labels.zz}}", "<no value>\n"],
  ["{{.Labels.a}}", "1\n"],
  ["{{index .Labels \"zz\"}}", "\n"],
  ["{{.Options}}", "map[]\n"],
  ["{{.CreatedAt.Foo}}", "ERR template parsing error: template: :1:12: executing \"\" at <.CreatedAt.Foo>: can't evaluate field Foo in type string"],
  ["{{.Labels.a.b}}", "ERR template parsing error: template: :1:9: executing \"\" at <.Labels.a.b>: can't evaluate field b in type string"],
  ["{{json .Labels}}", "{\"a\":\"1\",\"b\":\"x\"}\n"],
  ["{{json .}}", "{\"CreatedAt\":\"2026-12-02T01:39:23Z\",\"Driver\":\"local\",\"Labels\":{\"a\":\"1\",\"b\":\"x\"},\"Mountpoint\":\"/tmp/gtd/data/volumes/v1/_data\",\"Name\":\"v1\",\"Options\":null,\"Scope\":\"local\"}\n"],
  ["{{.Scope | len}}", "5\n"],
  ["{{eq .Name \"v1\"}}", "true\n"],
  ["{{range $k, $v := .Labels}}{{$k}}={{$v}},{{end}}", "a=1,b=x,\n"],
];

function inspect(format: string, data: unknown, volume: boolean): string {
  try {
    return inspectFormat(format, [data], volume ? { typeName: 'volume.Volume', rawFallback: false } : {});
  } catch (e) {
    assert.ok(e instanceof FormatError);
    return 'ERR ' + e.message;
  }
}

test('inspect formats run on the typed view, then on the raw JSON, as docker inspect does', () => {
  const failures = [
    ...networkCases.map(([f, want]) => ({ f, want, got: inspect(f, network, false) })),
    ...volumeCases.map(([f, want]) => ({ f, want, got: inspect(f, volume, true) })),
  ].filter((c) => c.got !== c.want);
  assert.deepEqual(failures, []);
});

test('inspect writes one line per object', () => {
  assert.equal(inspectFormat('{{.Name}}', [{ Name: 'a' }, { Name: 'b' }]), 'a\nb\n');
});
