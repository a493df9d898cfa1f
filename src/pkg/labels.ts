// Label filters as dockerd matches them (`--filter label=key`, `label=key=value`,
// `label!=…`). Only a label's own keys count: `label=constructor` must not match through
// the object prototype.

export type Labels = Readonly<Record<string, string>>;

/** One filter value: `key` means the label is set, `key=value` that it equals value. */
export function matchLabel(labels: Labels | null | undefined, expr: string): boolean {
  if (!labels) return false;
  const eq = expr.indexOf('=');
  const key = eq < 0 ? expr : expr.slice(0, eq);
  if (!Object.hasOwn(labels, key)) return false;
  return eq < 0 || labels[key] === expr.slice(eq + 1);
}

/** Every value matches (moby's filters.Args.MatchKVList); true when there are none. */
export function matchAllLabels(labels: Labels | null | undefined, exprs: readonly string[]): boolean {
  return exprs.every((e) => matchLabel(labels, e));
}

/**
 * The `label` and `label!` filters of list and prune: every `label` value matches and no
 * `label!` value does.
 */
export function matchLabelFilters(labels: Labels | null | undefined, filters: ReadonlyMap<string, readonly string[]>): boolean {
  return (
    matchAllLabels(labels, filters.get('label') ?? []) &&
    !(filters.get('label!') ?? []).some((e) => matchLabel(labels, e))
  );
}
