// /exec/{id}/start, /json, /resize.
import type { Router } from '../router.js';
import { expectObject, intValue, readJSONBody, writeJSON, writeNoContent } from '../httputils.js';
import { conflict } from '../../pkg/errors.js';
import type { Daemon } from '../../daemon/daemon.js';
import { getExec, startExec } from '../../daemon/exec.js';
import { attachConnection, parseDetachKeys, DEFAULT_DETACH_KEYS } from '../../daemon/attach.js';
import { streamContentType } from './container.js';
import { frame } from '../../pkg/stdcopy.js';

export function execRoutes(r: Router, d: Daemon): void {
  r.post('/exec/{id}/start', async (ctx) => {
    const e = getExec(d, ctx.params.id);
    const body = expectObject(await readJSONBody(ctx.req), 'container.ExecStartOptions');
    e.assertStartable();
    const tty = body.Tty === true || e.opts.Tty;
    const consoleSize = Array.isArray(body.ConsoleSize) ? (body.ConsoleSize as [number, number]) : undefined;
    if (body.Detach === true) {
      await startExec(d, e, { tty, consoleSize });
      writeNoContent(ctx.res, 200);
      return;
    }
    const conn = ctx.hijack(streamContentType(tty, ctx.version));
    const attached = attachConnection(e.streams, conn, {
      stdin: e.opts.AttachStdin,
      stdout: e.opts.AttachStdout,
      stderr: e.opts.AttachStderr,
      multiplexed: !tty,
      closeStdinOnEOF: true,
      detachKeys: parseDetachKeys(e.opts.DetachKeys || DEFAULT_DETACH_KEYS),
    });
    try {
      await startExec(d, e, { tty, consoleSize });
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
  });

  r.get('/exec/{id}/json', async (ctx) => {
    const e = getExec(d, ctx.params.id);
    writeJSON(ctx.res, 200, e.inspect(d.containers.find(e.containerId)));
  });

  r.post('/exec/{id}/resize', async (ctx) => {
    const e = getExec(d, ctx.params.id);
    if (!e.running) throw conflict(`exec ${e.id} is not running`);
    await d.ctd.resizePty(e.containerId, e.id, intValue(ctx.query, 'w', 0), intValue(ctx.query, 'h', 0));
    writeNoContent(ctx.res, 200);
  });

}
