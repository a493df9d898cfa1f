// Opening listening sockets inside another network namespace from Node, which cannot setns(2):
// a short-lived helper bound into the namespace by nsenter creates them and passes them back.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type dgram from 'node:dgram';
import type net from 'node:net';
import { systemError } from '../pkg/errors.js';

const helperPath = fileURLToPath(new URL('./nshelper.js', import.meta.url));

export interface NamespaceSockets {
  udp: dgram.Socket;
  tcp: net.Server;
}

/** A UDP socket and a TCP listener on ip:port inside the namespace at `netnsPath`. */
export function openNamespaceSockets(netnsPath: string, ip: string, port: number): Promise<NamespaceSockets> {
  return new Promise((resolve, reject) => {
    const child = spawn('nsenter', [`--net=${netnsPath}`, process.execPath, helperPath, ip, String(port)], {
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      serialization: 'json',
    });
    let stderr = '';
    let udp: dgram.Socket | undefined;
    let tcp: net.Server | undefined;
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    let settled = false;
    child.on('message', (msg: unknown, handle: unknown) => {
      if (msg === 'udp') udp = handle as dgram.Socket;
      else if (msg === 'tcp') tcp = handle as net.Server;
      if (udp && tcp && !settled) {
        settled = true;
        resolve({ udp, tcp });
      }
    });
    child.on('error', (err) => reject(systemError(`starting the namespace helper: ${err.message}`, err)));
    child.on('exit', (code) => {
      // Messages already read off the channel may still be in flight: give them a moment.
      setTimeout(() => {
        if (settled) return;
        settled = true;
        udp?.close();
        tcp?.close();
        reject(systemError(`opening ${ip}:${port} in ${netnsPath}: helper exited with ${code}: ${stderr.trim()}`));
      }, 200);
    });
  });
}
