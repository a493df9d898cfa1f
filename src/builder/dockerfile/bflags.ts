// Instruction flags (`COPY --from=x`, `RUN --mount=...`): each instruction declares the flags it
// takes, then the words the parser split off are checked against them, with BuildKit's messages.

type FlagType = 'bool' | 'string' | 'strings';

export class Flag {
  value = '';
  values: string[] = [];
  used = false;
  constructor(
    readonly name: string,
    readonly type: FlagType,
  ) {}
  get isTrue(): boolean {
    return this.value === 'true';
  }
}

export class BFlags {
  private readonly flags = new Map<string, Flag>();

  constructor(private readonly args: readonly string[]) {}

  addBool(name: string, def = false): Flag {
    const f = this.add(name, 'bool');
    f.value = def ? 'true' : 'false';
    return f;
  }
  addString(name: string, def = ''): Flag {
    const f = this.add(name, 'string');
    f.value = def;
    return f;
  }
  addStrings(name: string): Flag {
    return this.add(name, 'strings');
  }
  private add(name: string, type: FlagType): Flag {
    const f = new Flag(name, type);
    this.flags.set(name, f);
    return f;
  }

  /** Names of the flags given, in the order declared. */
  usedNames(): string[] {
    return [...this.flags.values()].filter((f) => f.used).map((f) => f.name);
  }

  parse(): void {
    for (const a of this.args) {
      if (a === '--') return;
      if (!a.startsWith('--')) throw new Error(`arg should start with -- : ${a}`);
      const eq = a.indexOf('=');
      const flagName = eq < 0 ? a : a.slice(0, eq);
      const value = eq < 0 ? '' : a.slice(eq + 1);
      const name = flagName.slice(2);
      const flag = this.flags.get(name);
      if (!flag) throw withSuggestion(`unknown flag: ${flagName}`, name, [...this.flags.keys()], true);
      if (flag.used && flag.type !== 'strings') throw new Error(`duplicate flag specified: ${flagName}`);
      flag.used = true;
      switch (flag.type) {
        case 'bool':
          if (eq >= 0 && value === '') throw new Error(`missing a value on flag: ${flagName}`);
          if (value === '' || value.toLowerCase() === 'true') flag.value = 'true';
          else if (value.toLowerCase() === 'false') flag.value = 'false';
          else throw new Error(`expecting boolean value for flag ${flagName}, not: ${value}`);
          break;
        case 'string':
          if (eq < 0) throw new Error(`missing a value on flag: ${flagName}`);
          flag.value = value;
          break;
        case 'strings':
          if (eq < 0) throw new Error(`missing a value on flag: ${flagName}`);
          flag.values.push(value);
          break;
      }
    }
  }
}

/** Levenshtein distance (insert, delete, substitute), on code points. */
function levenshtein(a: string, b: string): number {
  const s = Array.from(a);
  const t = Array.from(b);
  let prev = Array.from({ length: t.length + 1 }, (_, j) => j);
  for (let i = 1; i <= s.length; i++) {
    const cur = [i];
    for (let j = 1; j <= t.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (s[i - 1] === t[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[t.length];
}

/**
 * BuildKit's "(did you mean X?)": the closest option less than 3 edits away, none when the value
 * is an option itself. Case-insensitive suggestions follow the value's case.
 */
export function suggest(value: string, options: readonly string[], caseSensitive: boolean): string | undefined {
  const v = caseSensitive ? value : value.toLowerCase();
  let best: string | undefined;
  let min = 3;
  for (const option of options) {
    const o = caseSensitive ? option : option.toLowerCase();
    if (o === v) return undefined;
    const d = levenshtein(v, o);
    if (d < min) {
      min = d;
      best = caseSensitive ? o : matchCase(o, value);
    }
  }
  return best;
}

function matchCase(option: string, original: string): string {
  if (original === original.toLowerCase()) return option.toLowerCase();
  if (original === original.toUpperCase()) return option.toUpperCase();
  return option;
}

export function withSuggestion(message: string, value: string, options: readonly string[], caseSensitive: boolean): Error {
  const s = suggest(value, options, caseSensitive);
  return new Error(s ? `${message} (did you mean ${s}?)` : message);
}
