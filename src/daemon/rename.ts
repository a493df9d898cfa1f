import type { Container } from '../container/container.js';
import { normalizeName } from '../container/store.js';
import { invalidParameter, conflict, isKind } from '../pkg/errors.js';
import type { Daemon } from './daemon.js';

/** docker rename: swap the name atomically in the name index, then persist. */
export async function renameContainer(d: Daemon, c: Container, newNameRaw: string): Promise<void> {
  if (!newNameRaw) throw invalidParameter('Neither old nor new names may be empty');
  const newName = normalizeName(newNameRaw);
  await c.lock.run(async () => {
    const oldName = c.name;
    if (oldName === newName) throw invalidParameter('Renaming a container with the same name as its current name');
    if (c.removing) throw conflict(`Cannot rename container ${c.id}: removal in progress`);
    try {
      d.containers.reserveName(newName, c.id);
    } catch (err) {
      // dockerd wraps the name conflict: errors.Wrap(err, "Error when allocating new name").
      if (isKind(err, 'conflict')) throw conflict(`Error when allocating new name: ${(err as Error).message}`);
      throw err;
    }
    c.record.Name = newName;
    try {
      await c.save();
    } catch (err) {
      c.record.Name = oldName;
      d.containers.releaseName(newName, c.id);
      throw err;
    }
    d.containers.releaseName(oldName, c.id);
    d.containerEvent(c, 'rename', { oldName });
  });
}
