// Repository names, tags and pagination parameters, validated with the distribution spec's
// grammar. Names are used as paths under the storage root: every component must start with a
// letter or digit, so `..`, `.`, an empty component, a leading `/` or a `_`-prefixed storage
// directory can never be a name.

import { RegistryError } from './errors.js';

const COMPONENT = '[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*';
const NAME_RE = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);
const TAG_RE = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
/** distribution's limit on a repository name (with its registry host). */
export const MAX_NAME_LENGTH = 255;

export function isValidName(name: string): boolean {
  return name.length <= MAX_NAME_LENGTH && NAME_RE.test(name);
}

export function validateName(name: string): string {
  if (!isValidName(name)) throw new RegistryError('NAME_INVALID', { name }, `invalid repository name ${JSON.stringify(name)}`);
  return name;
}

export function isValidTag(tag: string): boolean {
  return TAG_RE.test(tag);
}

export function validateTag(tag: string): string {
  if (!isValidTag(tag)) throw new RegistryError('TAG_INVALID', { tag }, `invalid tag ${JSON.stringify(tag)}`);
  return tag;
}

export interface Page {
  /** How many entries at most; undefined: all. */
  n?: number;
  /** Entries after this one (lexically). */
  last?: string;
}

/** The largest page distribution serves for the catalog. */
export const MAX_PAGE = 1000;

/** Parses `n` and `last` from a query: `n` must be a non-negative integer. */
export function parsePage(query: URLSearchParams): Page {
  const page: Page = {};
  const n = query.get('n');
  if (n !== null && n !== '') {
    if (!/^\d+$/.test(n) || Number(n) > Number.MAX_SAFE_INTEGER) {
      throw new RegistryError('PAGINATION_NUMBER_INVALID', { n });
    }
    page.n = Number(n);
  }
  const last = query.get('last');
  if (last !== null && last !== '') page.last = last;
  return page;
}

/** Cuts a sorted list to one page; `more` tells whether entries are left after it. */
export function paginate(sorted: string[], page: Page): { entries: string[]; more: boolean } {
  let entries = page.last === undefined ? sorted : sorted.filter((s) => s > page.last!);
  const more = page.n !== undefined && page.n > 0 && entries.length > page.n;
  if (page.n !== undefined) entries = entries.slice(0, page.n);
  return { entries, more };
}
