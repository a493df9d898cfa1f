// Typed instructions from parse nodes, with their flags checked, grouped into build stages; as
// BuildKit's frontend/dockerfile/instructions package does it (dockerd's classic builder uses it
// too). Values are not expanded here: see expand.ts for which fields expand when a step runs.

import { BerthError } from '../../pkg/errors.js';
import { BFlags, withSuggestion } from './bflags.js';
import { parseGoDuration } from './goduration.js';
import { type Heredoc, type Node, chompHeredocContent, parseHeredoc } from './parser.js';
import { type Device, type NetworkMode, type SecurityMode, parseDevice, parseMount, parseNetwork, parseSecurity } from './runflags.js';

export interface Location {
  startLine: number;
  endLine: number;
}

interface Base {
  /** The instruction as written, trimmed (what `Step N/M :` prints). */
  code: string;
  location: Location;
}

export interface KeyValuePair {
  key: string;
  value: string;
  /** Written in the old `KEY value` form. */
  noDelim: boolean;
}

export interface EnvInstruction extends Base {
  kind: 'ENV';
  env: KeyValuePair[];
}
export interface MaintainerInstruction extends Base {
  kind: 'MAINTAINER';
  maintainer: string;
}
export interface LabelInstruction extends Base {
  kind: 'LABEL';
  labels: KeyValuePair[];
  /** Labels from `--label` are taken literally. */
  noExpand: boolean;
}

/** A source given inline as a heredoc. */
export interface SourceContent {
  path: string;
  data: string;
  expand: boolean;
}
export interface SourcesAndDest {
  sourcePaths: string[];
  sourceContents: SourceContent[];
  destPath: string;
}
export interface AddInstruction extends Base, SourcesAndDest {
  kind: 'ADD';
  chown: string;
  chmod: string;
  link: boolean;
  exclude: string[];
  keepGitDir?: boolean;
  checksum: string;
  unpack?: boolean;
}
export interface CopyInstruction extends Base, SourcesAndDest {
  kind: 'COPY';
  from: string;
  chown: string;
  chmod: string;
  link: boolean;
  parents: boolean;
  exclude: string[];
}
export interface OnbuildInstruction extends Base {
  kind: 'ONBUILD';
  /** The trigger as it will be stored in the image (heredocs appended). */
  expression: string;
}
export interface WorkdirInstruction extends Base {
  kind: 'WORKDIR';
  path: string;
}

/** A file the shell command reads from a heredoc. */
export interface ShellInlineFile {
  name: string;
  data: string;
  chomp: boolean;
}
export interface ShellDependentCmdLine {
  /** Exec form: the array; shell form: one string, to run through SHELL. */
  cmdLine: string[];
  files: ShellInlineFile[];
  prependShell: boolean;
}
export interface RunInstruction extends Base, ShellDependentCmdLine {
  kind: 'RUN';
  /** --mount values as written; parseMount them with the step's expander when it runs. */
  mounts: string[];
  /** Stages or images the mounts read from (known at parse time: `from` cannot hold variables). */
  mountFroms: string[];
  network: NetworkMode;
  /** BuildKit's labs flag; dockerd's classic builder does not know it. */
  security: SecurityMode;
  devices: Device[];
  flagsUsed: string[];
}
export interface CmdInstruction extends Base, ShellDependentCmdLine {
  kind: 'CMD';
}
export interface EntrypointInstruction extends Base, ShellDependentCmdLine {
  kind: 'ENTRYPOINT';
}

/** The image config's Healthcheck; durations in nanoseconds, 0 meaning "inherit". */
export interface HealthConfig {
  test: string[];
  interval: number;
  timeout: number;
  startPeriod: number;
  startInterval: number;
  retries: number;
}
export interface HealthcheckInstruction extends Base {
  kind: 'HEALTHCHECK';
  health: HealthConfig;
}
export interface ExposeInstruction extends Base {
  kind: 'EXPOSE';
  ports: string[];
}
export interface UserInstruction extends Base {
  kind: 'USER';
  user: string;
}
export interface VolumeInstruction extends Base {
  kind: 'VOLUME';
  volumes: string[];
}
export interface StopSignalInstruction extends Base {
  kind: 'STOPSIGNAL';
  signal: string;
}
export interface ArgPair {
  key: string;
  /** Undefined when declared without a default. */
  value?: string;
  /** The description from a `# KEY description` comment above. */
  comment: string;
}
export interface ArgInstruction extends Base {
  kind: 'ARG';
  args: ArgPair[];
}
export interface ShellInstruction extends Base {
  kind: 'SHELL';
  shell: string[];
}

export type Instruction =
  | EnvInstruction
  | MaintainerInstruction
  | LabelInstruction
  | AddInstruction
  | CopyInstruction
  | OnbuildInstruction
  | WorkdirInstruction
  | RunInstruction
  | CmdInstruction
  | EntrypointInstruction
  | HealthcheckInstruction
  | ExposeInstruction
  | UserInstruction
  | VolumeInstruction
  | StopSignalInstruction
  | ArgInstruction
  | ShellInstruction;

export interface Stage {
  /** Lower-cased `AS` name; empty when unnamed. */
  name: string;
  /** The image, stage name or `scratch` (unexpanded: it may refer to ARGs declared before FROM). */
  baseName: string;
  /** --platform, unexpanded. */
  platform: string;
  commands: Instruction[];
  /** The FROM line, trimmed. */
  sourceCode: string;
  location: Location;
  /** The description from a `# name description` comment above. */
  comment: string;
}

export interface ParsedDockerfile {
  stages: Stage[];
  /** ARGs before the first FROM: usable in FROM lines only (and redeclared in a stage). */
  metaArgs: ArgInstruction[];
}

const INSTRUCTION_NAMES = [
  'ADD', 'ARG', 'CMD', 'COPY', 'ENTRYPOINT', 'ENV', 'EXPOSE', 'FROM', 'HEALTHCHECK', 'LABEL', 'MAINTAINER',
  'ONBUILD', 'RUN', 'SHELL', 'STOPSIGNAL', 'USER', 'VOLUME', 'WORKDIR',
];

/** An instruction the builder does not know. */
export class UnknownInstructionError extends Error {
  constructor(
    readonly instruction: string,
    readonly line: number,
  ) {
    super(`unknown instruction: ${instruction}`);
    this.name = 'UnknownInstructionError';
  }
}

/** A node that is not a valid instruction; dockerd's text names the line. */
export class InstructionError extends BerthError {
  constructor(
    message: string,
    readonly location: Location,
    cause?: Error,
  ) {
    super('invalid-parameter', message, { cause });
    this.name = 'InstructionError';
  }
}

class Request {
  readonly command: string;
  readonly args: string[];
  readonly flags: BFlags;
  constructor(readonly node: Node) {
    this.command = node.value;
    this.args = node.args;
    this.flags = new BFlags(node.flags);
  }
  get base(): Base {
    return { code: this.node.original.trim(), location: { startLine: this.node.startLine, endLine: this.node.endLine } };
  }
}

/** Parses every node into stages; errors read `dockerfile parse error on line N: ...` as dockerd's. */
export function parseInstructions(nodes: readonly Node[]): ParsedDockerfile {
  const stages: Stage[] = [];
  const metaArgs: ArgInstruction[] = [];
  for (const node of nodes) {
    let parsed: Instruction | Stage;
    try {
      parsed = parseInstruction(node);
    } catch (err) {
      const e = err as Error;
      throw new InstructionError(`dockerfile parse error on line ${node.startLine}: ${e.message}`, lines(node), e);
    }
    if (isStage(parsed)) stages.push(parsed);
    else if (stages.length === 0 && parsed.kind === 'ARG') metaArgs.push(parsed);
    else if (stages.length === 0) throw new InstructionError('no build stage in current context', lines(node));
    else stages[stages.length - 1].commands.push(parsed);
  }
  return { stages, metaArgs };
}

const lines = (n: Node): Location => ({ startLine: n.startLine, endLine: n.endLine });

export function isStage(v: Instruction | Stage): v is Stage {
  return !('kind' in v);
}

/** One node as an instruction or, for FROM, a stage. Throws with BuildKit's message (no line). */
export function parseInstruction(node: Node): Instruction | Stage {
  const req = new Request(node);
  switch (node.value.toLowerCase()) {
    case 'env':
      req.flags.parse();
      return { kind: 'ENV', ...req.base, env: parseKvps(req.args, 'ENV') };
    case 'maintainer':
      if (req.args.length !== 1) throw exactlyOne('MAINTAINER');
      req.flags.parse();
      return { kind: 'MAINTAINER', ...req.base, maintainer: req.args[0] };
    case 'label':
      req.flags.parse();
      return { kind: 'LABEL', ...req.base, labels: parseKvps(req.args, 'LABEL'), noExpand: false };
    case 'add':
      return parseAdd(req);
    case 'copy':
      return parseCopy(req);
    case 'from':
      return parseFrom(req);
    case 'onbuild':
      return parseOnbuild(req);
    case 'workdir':
      if (req.args.length !== 1) throw exactlyOne('WORKDIR');
      req.flags.parse();
      return { kind: 'WORKDIR', ...req.base, path: req.args[0] };
    case 'run':
      return parseRun(req);
    case 'cmd':
      req.flags.parse();
      return { kind: 'CMD', ...req.base, ...shellDependent(req, false) };
    case 'entrypoint':
      req.flags.parse();
      return { kind: 'ENTRYPOINT', ...req.base, ...shellDependent(req, true) };
    case 'healthcheck':
      return parseHealthcheck(req);
    case 'expose':
      if (req.args.length === 0) throw atLeastOne('EXPOSE');
      req.flags.parse();
      return { kind: 'EXPOSE', ...req.base, ports: [...req.args].sort() };
    case 'user':
      if (req.args.length !== 1) throw exactlyOne('USER');
      req.flags.parse();
      return { kind: 'USER', ...req.base, user: req.args[0] };
    case 'volume':
      return parseVolume(req);
    case 'stopsignal':
      // BuildKit does not check STOPSIGNAL's flags.
      if (req.args.length !== 1) throw exactlyOne('STOPSIGNAL');
      return { kind: 'STOPSIGNAL', ...req.base, signal: req.args[0] };
    case 'arg':
      return parseArg(req);
    case 'shell':
      return parseShell(req);
  }
  throw suggestInstruction(node);
}

function suggestInstruction(node: Node): Error {
  const base = new UnknownInstructionError(node.value, node.startLine);
  const s = withSuggestion(base.message, node.value, INSTRUCTION_NAMES, false);
  if (s.message === base.message) return base;
  const e = new UnknownInstructionError(node.value, node.startLine);
  e.message = s.message;
  return e;
}

function parseKvps(args: string[], cmd: string): KeyValuePair[] {
  if (args.length === 0) throw atLeastOne(cmd);
  if (args.length % 3 !== 0) throw new Error(`Bad input to ${cmd}, too many arguments`);
  const out: KeyValuePair[] = [];
  for (let j = 0; j < args.length; j += 3) {
    if (args[j] === '') throw new Error(`${cmd} names can not be blank`);
    out.push({ key: args[j], value: args[j + 1], noDelim: args[j + 2] === '' });
  }
  return out;
}

// A word that is not a well-formed heredoc marker is an ordinary path.
function heredocMarker(word: string): Heredoc | undefined {
  try {
    return parseHeredoc(word);
  } catch {
    return undefined;
  }
}

function sourcesAndDest(req: Request, cmd: string): SourcesAndDest {
  const srcs = req.args.slice(0, -1);
  const dest = req.args[req.args.length - 1];
  if (heredocMarker(dest)) throw new Error(`${cmd} cannot accept a heredoc as a destination`);
  const byName = new Map<string, Heredoc>(req.node.heredocs.map((h) => [h.name, h]));
  const sourcePaths: string[] = [];
  const sourceContents: SourceContent[] = [];
  for (const src of srcs) {
    const h = heredocMarker(src);
    if (!h) {
      sourcePaths.push(src);
      continue;
    }
    const content = byName.get(h.name)?.content ?? '';
    sourceContents.push({ path: h.name, data: h.chomp ? chompHeredocContent(content) : content, expand: h.expand });
  }
  return { sourcePaths, sourceContents, destPath: dest };
}

function parseAdd(req: Request): AddInstruction {
  if (req.args.length < 2) throw noDestination('ADD');
  const f = req.flags;
  const chown = f.addString('chown');
  const chmod = f.addString('chmod');
  const link = f.addBool('link');
  const keepGitDir = f.addBool('keep-git-dir');
  const checksum = f.addString('checksum');
  const unpack = f.addBool('unpack');
  const exclude = f.addStrings('exclude');
  f.parse();
  return {
    kind: 'ADD',
    ...req.base,
    ...sourcesAndDest(req, 'ADD'),
    chown: chown.value,
    chmod: chmod.value,
    link: link.isTrue,
    exclude: exclude.values,
    keepGitDir: keepGitDir.used ? keepGitDir.isTrue : undefined,
    checksum: checksum.value,
    unpack: unpack.used ? unpack.isTrue : undefined,
  };
}

function parseCopy(req: Request): CopyInstruction {
  if (req.args.length < 2) throw noDestination('COPY');
  const f = req.flags;
  const parents = f.addBool('parents');
  const chown = f.addString('chown');
  const from = f.addString('from');
  const chmod = f.addString('chmod');
  const link = f.addBool('link');
  const exclude = f.addStrings('exclude');
  f.parse();
  return {
    kind: 'COPY',
    ...req.base,
    ...sourcesAndDest(req, 'COPY'),
    from: from.value,
    chown: chown.value,
    chmod: chmod.value,
    link: link.isTrue,
    parents: parents.isTrue,
    exclude: exclude.values,
  };
}

const VALID_STAGE_NAME = /^[a-z][a-z0-9-_.]*$/;

function parseFrom(req: Request): Stage {
  let name = '';
  const args = req.args;
  if (args.length === 3 && args[1].toLowerCase() === 'as') {
    name = args[2].toLowerCase();
    if (!VALID_STAGE_NAME.test(name)) {
      throw new Error(`invalid name for build stage: "${args[2]}", name can't start with a number or contain symbols`);
    }
  } else if (args.length !== 1) {
    throw new Error('FROM requires either one or three arguments');
  }
  const platform = req.flags.addString('platform');
  req.flags.parse();
  return {
    name,
    baseName: args[0],
    platform: platform.value,
    commands: [],
    sourceCode: req.node.original.trim(),
    location: lines(req.node),
    comment: commentFor(req.node.comments, name),
  };
}

function parseOnbuild(req: Request): OnbuildInstruction {
  if (req.args.length === 0) throw atLeastOne('ONBUILD');
  req.flags.parse();
  const trigger = req.args[0].trim().toUpperCase();
  if (trigger === 'ONBUILD') throw new Error('Chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed');
  if (trigger === 'MAINTAINER' || trigger === 'FROM') throw new Error(`${trigger} isn't allowed as an ONBUILD trigger`);
  let expression = req.node.original.replace(/^\s*ONBUILD\s*/i, '');
  for (const h of req.node.heredocs) expression += '\n' + h.content + h.name;
  return { kind: 'ONBUILD', ...req.base, expression };
}

function shellDependent(req: Request, emptyAsNil: boolean): ShellDependentCmdLine {
  const files = req.node.heredocs.map((h) => ({ name: h.name, data: h.content, chomp: h.chomp }));
  let cmdLine = jsonArgs(req);
  if (emptyAsNil && cmdLine.length === 0) cmdLine = [];
  return { cmdLine, files, prependShell: !req.node.json };
}

/** The exec form's array as is; the shell form's words joined into one string. */
function jsonArgs(req: Request): string[] {
  if (req.args.length === 0) return [];
  return req.node.json ? [...req.args] : [req.args.join(' ')];
}

function parseRun(req: Request): RunInstruction {
  const f = req.flags;
  const mount = f.addStrings('mount');
  const network = f.addString('network', 'default');
  const security = f.addString('security', 'sandbox');
  const device = f.addStrings('device');
  f.parse();
  const flagsUsed = f.usedNames();
  const cmd = shellDependent(req, false);
  // Only `from` is checked now; the rest of each mount is expanded and validated when the step runs.
  const mountFroms = mount.values.map((m) => parseMount(m).from).filter((from) => from !== '');
  return {
    kind: 'RUN',
    ...req.base,
    ...cmd,
    mounts: mount.values,
    mountFroms,
    network: parseNetwork(network.value),
    security: parseSecurity(security.value),
    devices: device.values.map(parseDevice),
    flagsUsed,
  };
}

// A duration flag: empty means 0 (inherit), anything else at least a millisecond.
function interval(value: string, name: string): number {
  if (value === '') return 0;
  const d = parseGoDuration(value);
  if (d === 0) return 0;
  if (d < 1e6) throw new Error(`Interval "${name}" cannot be less than 1ms`);
  return d;
}

function parseHealthcheck(req: Request): HealthcheckInstruction {
  if (req.args.length === 0) throw atLeastOne('HEALTHCHECK');
  let type = req.args[0].toUpperCase();
  const args = req.args.slice(1);
  if (type === 'NONE') {
    if (args.length !== 0) throw new Error('HEALTHCHECK NONE takes no arguments');
    const health = { test: [type], interval: 0, timeout: 0, startPeriod: 0, startInterval: 0, retries: 0 };
    return { kind: 'HEALTHCHECK', ...req.base, health };
  }
  const f = req.flags;
  const flInterval = f.addString('interval');
  const flTimeout = f.addString('timeout');
  const flStartPeriod = f.addString('start-period');
  const flStartInterval = f.addString('start-interval');
  const flRetries = f.addString('retries');
  f.parse();
  if (type !== 'CMD') throw new Error(`Unknown type "${type}" in HEALTHCHECK (try CMD)`);
  const cmd = args.length === 0 ? [] : req.node.json ? args : [args.join(' ')];
  if (cmd.length === 0) throw new Error('Missing command after HEALTHCHECK CMD');
  if (!req.node.json) type = 'CMD-SHELL';
  const health: HealthConfig = {
    test: [type, ...cmd],
    interval: interval(flInterval.value, 'interval'),
    timeout: interval(flTimeout.value, 'timeout'),
    startPeriod: interval(flStartPeriod.value, 'start-period'),
    startInterval: interval(flStartInterval.value, 'start-interval'),
    retries: 0,
  };
  if (flRetries.value !== '') {
    const v = flRetries.value;
    if (!/^[+-]?\d+$/.test(v)) throw new Error(`strconv.ParseInt: parsing "${v}": invalid syntax`);
    const n = Number(v);
    if (n > 2 ** 31 - 1 || n < -(2 ** 31)) throw new Error(`strconv.ParseInt: parsing "${v}": value out of range`);
    if (n < 0) throw new Error(`--retries cannot be negative (${n})`);
    health.retries = n;
  }
  return { kind: 'HEALTHCHECK', ...req.base, health };
}

function parseVolume(req: Request): VolumeInstruction {
  if (req.args.length === 0) throw atLeastOne('VOLUME');
  req.flags.parse();
  const volumes = req.args.map((v) => v.trim());
  if (volumes.some((v) => v === '')) throw new Error('VOLUME specified can not be an empty string');
  return { kind: 'VOLUME', ...req.base, volumes };
}

// ARG's flags are not checked either; values keep their quotes until expanded.
function parseArg(req: Request): ArgInstruction {
  if (req.args.length === 0) throw atLeastOne('ARG');
  const args = req.args.map((arg): ArgPair => {
    const eq = arg.indexOf('=');
    if (eq === 0) throw new Error('ARG names can not be blank');
    const key = eq < 0 ? arg : arg.slice(0, eq);
    return { key, value: eq < 0 ? undefined : arg.slice(eq + 1), comment: commentFor(req.node.comments, key) };
  });
  return { kind: 'ARG', ...req.base, args };
}

function parseShell(req: Request): ShellInstruction {
  req.flags.parse();
  const shell = jsonArgs(req);
  if (shell.length === 0) throw atLeastOne('SHELL');
  if (!req.node.json) throw new Error(`SHELL requires the arguments to be in JSON form`);
  return { kind: 'SHELL', ...req.base, shell };
}

function commentFor(comments: readonly string[], name: string): string {
  if (name === '') return '';
  for (const line of comments) if (line.startsWith(name + ' ')) return line.slice(name.length + 1);
  return '';
}

const atLeastOne = (cmd: string) => new Error(`${cmd} requires at least one argument`);
const exactlyOne = (cmd: string) => new Error(`${cmd} requires exactly one argument`);
const noDestination = (cmd: string) =>
  new Error(`${cmd} requires at least two arguments, but only one was provided. Destination could not be determined`);
