// All containers in memory, indexed by ID and name, with dockerd's lookup rules.
import { conflict, invalidParameter, notFound } from '../pkg/errors.js';
import type { Container } from './container.js';

const validName = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

export class ContainerStore {
  private readonly byId = new Map<string, Container>();
  /** "/name" → container ID; also holds reservations for containers still being created. */
  private readonly names = new Map<string, string>();

  add(c: Container): void {
    this.byId.set(c.id, c);
    this.names.set(c.name, c.id);
  }

  delete(c: Container): void {
    this.byId.delete(c.id);
    if (this.names.get(c.name) === c.id) this.names.delete(c.name);
  }

  all(): Container[] {
    return [...this.byId.values()];
  }

  get size(): number {
    return this.byId.size;
  }

  /** Reserves a name ("/x") for a container ID, with dockerd's conflict message. */
  reserveName(name: string, id: string): void {
    const holder = this.names.get(name);
    if (holder !== undefined && holder !== id) {
      throw conflict(
        `Conflict. The container name "${name}" is already in use by container "${holder}". You have to remove (or rename) that container to be able to reuse that name.`,
      );
    }
    this.names.set(name, id);
  }

  releaseName(name: string, id: string): void {
    if (this.names.get(name) === id) this.names.delete(name);
  }

  hasName(name: string): boolean {
    return this.names.has(name);
  }

  /** Full ID, exact name, then unique ID prefix — as dockerd's GetContainer. */
  get(ref: string): Container {
    const c = this.find(ref);
    if (!c) throw notFound(`No such container: ${ref}`);
    return c;
  }

  find(ref: string): Container | undefined {
    if (ref === '') return undefined;
    const exact = this.byId.get(ref);
    if (exact) return exact;
    const byName = this.names.get(ref.startsWith('/') ? ref : `/${ref}`);
    if (byName !== undefined) {
      const c = this.byId.get(byName);
      if (c) return c;
    }
    if (!/^[0-9a-f]+$/.test(ref)) return undefined;
    const matches = [...this.byId.keys()].filter((id) => id.startsWith(ref));
    if (matches.length > 1) throw invalidParameter(`multiple IDs found with provided prefix: ${ref}`);
    return matches.length === 1 ? this.byId.get(matches[0]) : undefined;
  }
}

/** Normalises a user-given name to "/name", refusing names dockerd refuses. */
export function normalizeName(name: string): string {
  if (!validName.test(name)) {
    throw invalidParameter(`Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
  }
  return name.startsWith('/') ? name : `/${name}`;
}
