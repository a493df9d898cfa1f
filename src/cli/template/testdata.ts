// Test data shared by the template tests: the objects the expected outputs were produced from.
// The expected strings in the tests are what the real docker CLI (28.2.2, Go 1.24) printed for
// the same templates over the same data (`docker context inspect --format` for a context whose
// metadata holds the map below; `docker context ls --format` for the list formats).
import assert from 'node:assert/strict';
import { parseDocker } from './docker.js';
import { execute } from './template.js';
import { asJSONData, asStruct } from './value.js';

const H = 'e3b98a4da31a127d4bde6e43033f66ba274cab0eb7eb1c70ec41402bf6273dd8';

/** The context's extra metadata, decoded as Go's encoding/json does into map[string]interface{}. */
export const metadataJSON = {
  N: 1000000, F: 1.5, I: 42, S: 'hi <x>', A: [1, 'b', true, null], M: { b: 2, a: 1, c: { x: 'y' } }, E: [], Z: null, B: false,
};

/** docker context inspect's data: Go structs down to the metadata map. */
export function contextData(): unknown {
  return asStruct({
    Metadata: asStruct({
      Name: 't',
      Metadata: asStruct({ Description: 'd', AdditionalFields: asJSONData(metadataJSON) }, 'command.DockerContext'),
      Endpoints: { docker: asStruct({ Host: 'unix:///nonexistent', SkipTLSVerify: false }, 'context.EndpointMetaBase') },
    }, 'store.Metadata'),
    TLSMaterial: {},
    Storage: asStruct({ MetadataPath: `/tmp/gt-dockercfg/contexts/meta/${H}`, TLSPath: `/tmp/gt-dockercfg/contexts/tls/${H}` }, 'store.StorageInfo'),
  }, 'context.contextWithTLSListing');
}

const ERR = 'ERR template parsing error: ';

/** Run a template with Docker's functions on the context data; errors come back as "ERR template parsing error: …" as docker prints them. */
export function run(tpl: string, data: unknown = contextData()): string {
  try {
    return execute(parseDocker(tpl), data);
  } catch (e) {
    return ERR + (e as Error).message;
  }
}

export function checkAll(cases: [string, string][]): void {
  const failures = cases.flatMap(([tpl, want]) => {
    const got = run(tpl);
    return got === want ? [] : [{ tpl, want, got }];
  });
  assert.deepEqual(failures, []);
}
