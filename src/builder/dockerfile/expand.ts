// Which instructions expand variables, and in which fields, when a step runs (dockerd's classic
// builder and BuildKit agree): ENV, LABEL, ADD, COPY, WORKDIR, USER, VOLUME, STOPSIGNAL, ARG and
// RUN's --mount values expand each word; EXPOSE expands into several words; FROM expands its
// image and --platform with the meta args only. RUN, CMD, ENTRYPOINT, SHELL, HEALTHCHECK,
// MAINTAINER and ONBUILD are left to the shell (or to the child build). COPY --from never expands.

import { type BuildArgs, expansionEnv } from './buildargs.js';
import type { ArgInstruction, Instruction, Stage } from './instructions.js';
import { type EnvGetter, ShellLex } from './lex.js';
import { type Mount, parseMount } from './runflags.js';

/** The instruction with its expandable fields expanded; the input is left as it was. */
export function expandInstruction<T extends Instruction>(inst: T, lex: ShellLex, env: EnvGetter): T {
  const word = (w: string) => lex.processWord(w, env).result;
  const c = structuredClone(inst) as Instruction;
  switch (c.kind) {
    case 'ENV':
      c.env = c.env.map((kv) => ({ ...kv, key: word(kv.key), value: word(kv.value) }));
      break;
    case 'LABEL':
      if (!c.noExpand) c.labels = c.labels.map((kv) => ({ ...kv, key: word(kv.key), value: word(kv.value) }));
      break;
    case 'ADD':
    case 'COPY':
      c.chown = word(c.chown);
      c.chmod = word(c.chmod);
      if (c.kind === 'ADD') c.checksum = word(c.checksum);
      c.sourcePaths = c.sourcePaths.map(word);
      c.destPath = word(c.destPath);
      // Heredoc sources expand (quotes kept) unless their delimiter was quoted.
      c.sourceContents = c.sourceContents.map((s) => (s.expand ? { ...s, data: expandHeredoc(s.data, env) } : s));
      break;
    case 'WORKDIR':
      c.path = word(c.path);
      break;
    case 'USER':
      c.user = word(c.user);
      break;
    case 'VOLUME':
      c.volumes = c.volumes.map(word);
      break;
    case 'STOPSIGNAL':
      c.signal = word(c.signal);
      break;
    case 'ARG':
      c.args = c.args.map((a) => ({ ...a, key: word(a.key), value: a.value === undefined ? undefined : word(a.value) }));
      break;
    case 'EXPOSE':
      // The one instruction where a variable may expand into several values.
      c.ports = c.ports.flatMap((p) => lex.processWords(p, env));
      break;
  }
  return c as T;
}

/** RUN's --mount values, expanded and validated. */
export function expandMounts(mounts: readonly string[], lex: ShellLex, env: EnvGetter): Mount[] {
  return mounts.map((m) => parseMount(m, (w) => lex.processWord(w, env).result));
}

/** A heredoc's content: variables expand, quotes and escapes stay as written. */
export function expandHeredoc(data: string, env: EnvGetter): string {
  return new ShellLex('\\', { skipProcessQuotes: true }).processWord(data, env).result;
}

/** FROM's image (or stage) and platform, expanded with the meta args (see BuildArgs.allMeta). */
export function expandFrom(stage: Stage, lex: ShellLex, metaEnv: EnvGetter): { baseName: string; platform: string } {
  return {
    baseName: lex.processWord(stage.baseName, metaEnv).result,
    platform: stage.platform === '' ? '' : lex.processWord(stage.platform, metaEnv).result,
  };
}

/**
 * Declares the ARGs before the first FROM, in order, each expanded with those before it (and the
 * --build-arg values): they become meta args, visible to FROM and to a stage that redeclares them.
 */
export function applyMetaArgs(metaArgs: readonly ArgInstruction[], lex: ShellLex, args: BuildArgs): void {
  for (const meta of metaArgs) {
    const expanded = expandInstruction(meta, lex, expansionEnv([], args));
    for (const a of expanded.args) {
      args.addArg(a.key, a.value);
      args.addMetaArg(a.key, a.value);
    }
  }
}
