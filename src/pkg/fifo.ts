// Named pipes (FIFOs) for container stdio, the way containerd's shims expect them.
//
// The shim (containerd-shim-runc-v2) opens each stdio FIFO path it is given during task Create
// (or exec Start): stdout/stderr with O_WRONLY — and also O_RDONLY itself, so that the container
// never blocks or gets EPIPE when nobody reads — and stdin for reading, plus a write end of its
// own. Our side must therefore:
//  * read stdout/stderr without a premature EOF before the shim has opened its write end, yet
//    see EOF once the shim closes its ends after the process exits;
//  * write stdin without ever blocking; EOF for the container comes from containerd's CloseIO.
import { close, constants as fsc, open } from 'node:fs';
import { unlink } from 'node:fs/promises';
import net from 'node:net';
import { runCommand } from './command.js';

// The callback API is used on purpose: it yields a raw fd that net.Socket can own. A promise
// FileHandle would close its fd again when garbage-collected, possibly a reused fd number.
function openFd(path: string, flags: number): Promise<number> {
  return new Promise((resolve, reject) => open(path, flags, (err, fd) => (err ? reject(err) : resolve(fd))));
}

function closeFd(fd: number): Promise<void> {
  return new Promise((resolve) => close(fd, () => resolve()));
}

/** Creates FIFOs (mode 0600) at every path with one `mkfifo` process: Node has no mkfifo(3). */
export async function createFifos(paths: string[]): Promise<void> {
  if (paths.length === 0) return;
  const r = await runCommand('mkfifo', ['-m', '600', '--', ...paths]);
  if (r.code !== 0) throw new Error(`mkfifo: ${r.stderr.trim() || `exit status ${r.code}`}`);
}

/** Removes FIFOs, ignoring the ones already gone. */
export async function removeFifos(paths: string[]): Promise<void> {
  await Promise.all(
    paths.map((p) =>
      unlink(p).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      }),
    ),
  );
}

function abortError(path: string): Error {
  const err = new Error(`open of fifo ${path} was cancelled`);
  err.name = 'AbortError';
  return err;
}

/**
 * Opens the read side of a FIFO as a readable socket.
 *
 * A plain blocking open(O_RDONLY) only completes once a writer (the shim) has the FIFO open, so
 * the first read can never be a spurious EOF (an O_NONBLOCK reader opened before any writer
 * would read EOF at once). The blocking open runs on the libuv threadpool, not the event loop;
 * keep UV_THREADPOOL_SIZE in mind when many tasks start at once. After the open, libuv switches
 * the fd to non-blocking and polls it, and EOF arrives when the last writer closes.
 *
 * `signal` cancels a pending open (e.g. task Create failed, so no writer will ever come): we
 * briefly become a writer ourselves (O_WRONLY|O_NONBLOCK succeeds because a reader is waiting),
 * which releases the blocked open; its fd is then closed and the promise rejects with AbortError.
 * Abort before removing the FIFO: a reader blocked on an unlinked FIFO cannot be released.
 */
export async function openFifoForRead(path: string, signal?: AbortSignal): Promise<net.Socket> {
  if (signal?.aborted) throw abortError(path);
  let cancelled = false;
  let settled = false;
  const onAbort = async (): Promise<void> => {
    cancelled = true;
    // Retry until the blocked open returns: it may still be queued on the threadpool, in which
    // case there is no reader yet and our non-blocking writer open fails with ENXIO.
    while (!settled) {
      try {
        await closeFd(await openFd(path, fsc.O_WRONLY | fsc.O_NONBLOCK));
      } catch (err) {
        // ENOENT: the fifo is gone; a reader already blocked on it can no longer be released.
        if ((err as NodeJS.ErrnoException).code !== 'ENXIO') return;
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  const listener = (): void => void onAbort();
  signal?.addEventListener('abort', listener, { once: true });
  let fd: number;
  try {
    fd = await openFd(path, fsc.O_RDONLY);
  } finally {
    settled = true;
    signal?.removeEventListener('abort', listener);
  }
  if (cancelled) {
    await closeFd(fd);
    throw abortError(path);
  }
  return new net.Socket({ fd, readable: true, writable: false });
}

/**
 * Reopens the read side of a FIFO that a shim already holds (live restore) without ever waiting
 * for a writer, as containerd's own fifo package does: while the shim holds its write end, data
 * and finally EOF arrive as usual. With no writer left (the shim is gone) no EOF may ever come,
 * but nothing blocks: the caller bounds its wait for the output (TaskIO.finish).
 */
export async function reopenFifoForRead(path: string): Promise<net.Socket> {
  const fd = await openFd(path, fsc.O_RDONLY | fsc.O_NONBLOCK);
  return new net.Socket({ fd, readable: true, writable: false });
}

/**
 * Opens the write side of a FIFO (container stdin) as a writable socket.
 *
 * O_RDWR|O_NONBLOCK never blocks, even before the shim opens its read end (O_WRONLY would block,
 * and O_WRONLY|O_NONBLOCK fails with ENXIO without a reader). Holding a read end ourselves also
 * means our writes never hit EPIPE if the shim goes away.
 *
 * Closing it does NOT give the container EOF with containerd-shim-runc-v2: the shim keeps a
 * write end of the stdin FIFO open itself. To close the container's stdin, end this socket and
 * then ask containerd (tasks CloseIO, i.e. ContainerdClient.closeStdin).
 */
export async function openFifoForWrite(path: string): Promise<net.Socket> {
  const fd = await openFd(path, fsc.O_RDWR | fsc.O_NONBLOCK);
  return new net.Socket({ fd, readable: false, writable: true });
}
