// The system router's backend (server/router/system.ts): version, info, events and disk usage.
import type { SystemBackend } from '../server/router/system.js';
import type { Daemon } from './daemon.js';
import { systemInfo, versionInfo } from './info.js';
import { diskUsage } from './diskusage.js';

export function systemBackend(d: Daemon): SystemBackend {
  return {
    systemVersion: () => versionInfo(d),
    systemInfo: () => systemInfo(d),
    systemDiskUsage: (opts) => diskUsage(d, opts),
    subscribeEvents: (opts, send) => d.events.subscribe(opts, send),
  };
}
