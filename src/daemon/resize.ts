// POST /containers/{id}/resize and /exec/{id}/resize: a new size for a running task's TTY.
import { conflict } from '../pkg/errors.js';
import type { Daemon } from './daemon.js';
import { getExec } from './exec.js';

export async function resizeContainerTTY(d: Daemon, name: string, height: number, width: number): Promise<void> {
  const c = d.containers.get(name);
  if (!c.running) throw conflict(`Container ${c.id} is not running`);
  await d.ctd.resizePty(c.id, undefined, width, height);
}

export async function resizeExecTTY(d: Daemon, id: string, height: number, width: number): Promise<void> {
  const e = getExec(d, id);
  if (!e.running) throw conflict(`exec ${e.id} is not running`);
  await d.ctd.resizePty(e.containerId, e.id, width, height);
}
