// /exec/{id}/start, /json, /resize (dockerd's router/container exec routes).
import type { Duplex } from 'node:stream';
import type { Router } from '../router.js';
import { expectObject, intValue, readJSONBody, writeJSON, writeNoContent } from '../httputils.js';
import { streamContentType } from './container.js';
import type { ExecInspect } from '../../api/types/exec.js';

export interface ExecStartConfig {
  /** Body.Tty: a TTY even if the exec was created without one. */
  tty: boolean;
  consoleSize?: [number, number];
  detach: boolean;
  /**
   * Called (unless detached) once the exec is known to be startable: takes over the connection
   * for the exec's TTY mode. A start failure after that is reported in the stream.
   */
  getStream(tty: boolean): Duplex;
}

export interface ExecBackend {
  /** Resolves when the exec has ended (detached: once it has started). */
  execStart(id: string, cfg: ExecStartConfig): Promise<void>;
  execInspect(id: string): Promise<ExecInspect>;
  execResize(id: string, height: number, width: number): Promise<void>;
}

export function execRoutes(r: Router, b: ExecBackend): void {
  r.post('/exec/{id}/start', async (ctx) => {
    const body = expectObject(await readJSONBody(ctx.req), 'container.ExecStartOptions');
    await b.execStart(ctx.params.id, {
      tty: body.Tty === true,
      consoleSize: Array.isArray(body.ConsoleSize) ? (body.ConsoleSize as [number, number]) : undefined,
      detach: body.Detach === true,
      getStream: (tty) => ctx.hijack(streamContentType(tty, ctx.version)),
    });
    if (body.Detach === true) writeNoContent(ctx.res, 200);
  });

  r.get('/exec/{id}/json', async (ctx) => {
    writeJSON(ctx.res, 200, await b.execInspect(ctx.params.id));
  });

  r.post('/exec/{id}/resize', async (ctx) => {
    await b.execResize(ctx.params.id, intValue(ctx.query, 'h', 0), intValue(ctx.query, 'w', 0));
    writeNoContent(ctx.res, 200);
  });
}
