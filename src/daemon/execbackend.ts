// The exec router's backend (server/router/exec.ts): start, inspect and resize an exec by ID.
import type { ExecBackend } from '../server/router/exec.js';
import { frame } from '../pkg/stdcopy.js';
import type { Daemon } from './daemon.js';
import { getExec, startExec } from './exec.js';
import { attachConnection, parseDetachKeys, DEFAULT_DETACH_KEYS } from './attach.js';
import { resizeExecTTY } from './resize.js';

export function execBackend(d: Daemon): ExecBackend {
  return {
    execStart: async (id, cfg) => {
      const e = getExec(d, id);
      e.assertStartable();
      // The start request's Tty frames the stream (multiplexed without it), as in dockerd; whether
      // the process gets a terminal was decided when the exec was created.
      const tty = cfg.tty;
      if (cfg.detach) {
        await startExec(d, e, { consoleSize: cfg.consoleSize });
        return;
      }
      const conn = cfg.getStream(tty);
      const attached = attachConnection(e.streams, conn, {
        stdin: e.opts.AttachStdin,
        stdout: e.opts.AttachStdout,
        stderr: e.opts.AttachStderr,
        multiplexed: !tty,
        closeStdinOnEOF: true,
        detachKeys: parseDetachKeys(e.opts.DetachKeys || DEFAULT_DETACH_KEYS),
      });
      try {
        await startExec(d, e, { consoleSize: cfg.consoleSize });
      } catch (err) {
        // The stream is already hijacked: report the error in it, as dockerd does — on stdout
        // (dockerd writes it to the attached stdout writer), so the CLI prints it there.
        const msg = `${(err as Error).message}\r\n`;
        conn.end(tty ? msg : frame(1, Buffer.from(msg)));
        e.streams.endSinks();
        return;
      }
      await attached;
      await e.finished;
    },
    execInspect: async (id) => {
      const e = getExec(d, id);
      return e.inspect(d.containers.find(e.containerId));
    },
    execResize: (id, height, width) => resizeExecTTY(d, id, height, width),
  };
}
