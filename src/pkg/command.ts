// Running a host tool (mount, ip, nft, mknod…) and collecting its output.
import { spawn } from 'node:child_process';
import { systemError } from './errors.js';

export interface RunResult {
  stdout: string;
  stderr: string;
  code: number;
}

/** Runs a command; resolves with its output whatever the exit code. */
export function runCommand(cmd: string, args: string[], input?: string): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    p.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    p.on('error', reject);
    p.on('close', (code) => resolve({ stdout, stderr, code: code ?? 1 }));
    if (input !== undefined) {
      // The tool may exit without reading its input: its exit status tells what happened.
      p.stdin!.on('error', () => undefined);
      p.stdin!.end(input);
    }
  });
}

/** Runs a command that must succeed. */
export async function mustRun(cmd: string, args: string[], input?: string): Promise<string> {
  const r = await runCommand(cmd, args, input);
  if (r.code !== 0) {
    throw systemError(`${cmd} ${args.join(' ')}: exit status ${r.code}: ${(r.stderr || r.stdout).trim()}`);
  }
  return r.stdout;
}
