// A tiny child started as `nsenter --net=<netns> node nshelper.js <ip> <port>`: it opens the embedded
// DNS server's UDP socket and TCP listener inside the container's network namespace, hands both
// to berthd over the IPC channel (SCM_RIGHTS under the hood) and exits. berthd then serves them
// from its own event loop: no process stays behind per container.
import dgram from 'node:dgram';
import net from 'node:net';

const [ip = '127.0.0.11', portStr = '53'] = process.argv.slice(2);
const port = Number(portStr);

function fail(err: unknown): never {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}

if (!process.send) fail('nshelper must be started with an IPC channel');
const send = process.send.bind(process) as (msg: string, handle: dgram.Socket | net.Server, cb: (err: Error | null) => void) => boolean;

const udp = dgram.createSocket('udp4');
udp.once('error', fail);
udp.bind({ address: ip, port, exclusive: true }, () => {
  const tcp = net.createServer();
  tcp.once('error', fail);
  tcp.listen({ host: ip, port, exclusive: true }, () => {
    send('udp', udp, (e1) => {
      if (e1) fail(e1);
      send('tcp', tcp, (e2) => {
        if (e2) fail(e2);
        process.exit(0);
      });
    });
  });
});
