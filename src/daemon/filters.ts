// Filter matching shared by container list and prune, with dockerd's semantics.

/** `label=key` and `label=key=value` must all match; `label!=…` must all not match. */
export function matchLabels(labels: Record<string, string>, filters: Map<string, string[]>): boolean {
  const has = (expr: string): boolean => {
    const i = expr.indexOf('=');
    if (i < 0) return expr in labels;
    return labels[expr.slice(0, i)] === expr.slice(i + 1);
  };
  return (filters.get('label') ?? []).every(has) && !(filters.get('label!') ?? []).some(has);
}
