// Event filtering as dockerd's daemon/events/filter.go: every filter given must match.

import { exactMatch, fuzzyMatch, matchKVList, type Filters } from '../api/types/filters.js';
import type { EventMessage } from '../api/types/events.js';

// Actions carrying a detail after a colon ("health_status: healthy", "exec_start: sh -c …")
// that a bare filter value should match by prefix.
const PREFIX_ACTIONS = new Set(['health_status', 'exec_create', 'exec_start']);

// Filter names matched by prefix against the actor's ID or its `name` attribute.
const NAMED_TYPES = ['daemon', 'container', 'plugin', 'volume', 'network', 'service', 'node', 'secret', 'config'] as const;

export function eventMatches(f: Filters, ev: EventMessage): boolean {
  if (f.size === 0) return true;
  return (
    matchAction(f, ev.Action) &&
    exactMatch(f, 'type', ev.Type) &&
    exactMatch(f, 'scope', ev.scope) &&
    NAMED_TYPES.every(
      (t) => fuzzyMatch(f, t, ev.Actor.ID) || fuzzyMatch(f, t, ev.Actor.Attributes['name'] ?? ''),
    ) &&
    matchImage(f, ev) &&
    matchKVList(f, 'label', ev.Actor.Attributes)
  );
}

function matchAction(f: Filters, action: string): boolean {
  // `action` is accepted as an alias of dockerd's `event`.
  const values = [...(f.get('event') ?? []), ...(f.get('action') ?? [])];
  if (values.length === 0) return true;
  if (values.includes(action)) return true;
  if (values.some((v) => PREFIX_ACTIONS.has(v))) return values.some((v) => action.startsWith(v));
  return false;
}

// Image events name the image in `name`, container events in `image`; match the ID, the
// name, and both without tag or digest (so `image=busybox` catches `busybox:latest`).
function matchImage(f: Filters, ev: EventMessage): boolean {
  const values = f.get('image');
  if (!values || values.length === 0) return true;
  const id = ev.Actor.ID;
  const name = ev.Actor.Attributes[ev.Type === 'image' ? 'name' : 'image'] ?? '';
  return [id, name, familiarName(id), familiarName(name)].some((c) => values.includes(c));
}

/** Repository name without tag/digest or the Docker Hub prefixes, like reference.FamiliarName. */
export function familiarName(ref: string): string {
  let s = ref;
  const at = s.indexOf('@');
  if (at >= 0) s = s.slice(0, at);
  const slash = s.lastIndexOf('/');
  const colon = s.lastIndexOf(':');
  if (colon > slash) s = s.slice(0, colon);
  for (const prefix of ['docker.io/library/', 'index.docker.io/library/', 'docker.io/', 'index.docker.io/']) {
    if (s.startsWith(prefix)) {
      s = s.slice(prefix.length);
      break;
    }
  }
  return s;
}
