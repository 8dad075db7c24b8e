// A picture server in its own process (forked by download.test.ts), counting its TLS handshakes.
// It lives out of the test's process because the race it catches, a finished download's socket
// destroyed before Node returns it to the keep-alive pool, needs the server's bytes to arrive
// with real timing; a server sharing the client's event loop answers in lock-step and never
// shows it. Every GET is answered with one picture; 'count' asks for the handshakes so far; the
// process exits when the test disconnects.
//
//   fork(picture-server-child.js, [hostName])   (the name its certificate is for)

import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { generateLoopbackCertificate } from '../../src/sim/certificate.js';
import { renderPicture } from '../../src/sim/jpeg.js';

export interface PictureServerReady {
  readonly type: 'ready';
  readonly port: number;
  readonly certificateAuthority: string;
}

export interface PictureServerCount {
  readonly type: 'count';
  readonly handshakes: number;
}

async function main(): Promise<void> {
  const send = process.send?.bind(process);
  if (send === undefined) throw new Error('picture-server-child.js runs forked by a test (it reports over IPC)');
  const hostName = process.argv[2];
  if (hostName === undefined) throw new Error('usage: picture-server-child.js <host name for its certificate>');
  const picture = renderPicture('491701234567@s.whatsapp.net', '1700000001');
  const tls = await generateLoopbackCertificate([hostName]);
  let handshakes = 0;
  const server = createServer({ key: tls.key, cert: tls.cert }, (_request, response) => {
    response.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': picture.length });
    response.end(picture);
  });
  server.on('secureConnection', () => handshakes++);
  server.listen(0, '127.0.0.1', () => {
    const ready: PictureServerReady = { type: 'ready', port: (server.address() as AddressInfo).port, certificateAuthority: tls.cert };
    send(ready);
  });
  process.on('message', (message) => {
    if (message !== 'count') return;
    const count: PictureServerCount = { type: 'count', handshakes };
    send(count);
  });
  process.on('disconnect', () => process.exit(0));
}

await main();
