// docker pause and unpause: freeze and thaw the container's cgroup; health probes stop meanwhile.
import type { Container } from '../container/container.js';
import { conflict } from '../pkg/errors.js';
import { startHealth, stopHealth } from './healthcheck.js';
import type { Daemon } from './daemon.js';

export async function pauseContainer(d: Daemon, c: Container): Promise<void> {
  await c.lock.run(async () => {
    if (!c.running) throw conflict(`Container ${c.id} is not running`);
    if (c.state.Paused) throw conflict(`Container ${c.id} is already paused`);
    if (c.state.Restarting) throw conflict(`Container ${c.id} is restarting, wait until the container is running`);
    await d.ctd.pause(c.id);
    c.state.setPaused();
    await stopHealth(d, c);
    await c.save();
    c.notify();
    d.containerEvent(c, 'pause');
  });
}

export async function unpauseContainer(d: Daemon, c: Container): Promise<void> {
  await c.lock.run(async () => {
    if (!c.running || !c.state.Paused) throw conflict(`Container ${c.id} is not paused`);
    await d.ctd.resume(c.id);
    c.state.setUnpaused();
    await c.save();
    c.notify();
    d.containerEvent(c, 'unpause');
    startHealth(d, c, { keepStatus: true });
  });
}
