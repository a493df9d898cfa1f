// Go's text/template for Berth's `--format` flags, with docker/cli's layer. See docs/cli-templates.md.
export { ExecError, TemplateError, execute, parse, withFuncs } from './template.js';
export type { ExecOptions, GoFunc, Template } from './template.js';
export {
  API_MAP_KEYS, FormatError, dockerFuncs, formatList, headerFuncs, inspectFormat, parseDocker, preFormat, typedView,
} from './docker.js';
export type { InspectOptions, ListFormat } from './docker.js';
export { TabWriter, stringWidth } from './tabwriter.js';
export { GO_TYPE, JSONNumber, T, Value, asJSONData, asStruct, goValue, mapOf, sliceOf } from './value.js';
export type { GoType } from './value.js';
