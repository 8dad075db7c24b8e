// SIMULATION ONLY: a throwaway self-signed certificate for the simulated CDN on loopback, so the
// real download code runs over real TLS in the demo and the tests without touching the internet.

import { generate } from 'selfsigned';
import { DAY_MS } from '../time.js';

export interface LoopbackCertificate {
  /** PEM private key for the server. */
  readonly key: string;
  /** PEM certificate for the server; also the certificate authority a client must trust. */
  readonly cert: string;
}

// Long enough for any demo run; the certificate is regenerated at every start anyway.
const VALIDITY_MS = 7 * DAY_MS;

/**
 * A fresh EC certificate (EC keeps generation fast) for 127.0.0.1, ::1, localhost and `hostNames`:
 * the WhatsApp host names the simulated CDN answers for once they resolve to loopback. Trusted
 * only where a test or the demo passes it as `certificateAuthority`.
 */
export async function generateLoopbackCertificate(hostNames: readonly string[] = []): Promise<LoopbackCertificate> {
  const bad = hostNames.find((name) => !/^[a-z0-9-]+(\.[a-z0-9-]+)+$/.test(name));
  if (bad !== undefined) throw new RangeError(`cannot put '${bad}' in a certificate: not a lower-case DNS name`);
  const notBeforeDate = new Date(Date.now() - 60_000);
  const pems = await generate([{ name: 'commonName', value: 'simulated-whatsapp-cdn.localhost' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate: new Date(notBeforeDate.getTime() + VALIDITY_MS),
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'keyUsage', digitalSignature: true, keyCertSign: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          ...hostNames.map((value) => ({ type: 2 as const, value })),
          { type: 7, ip: '127.0.0.1' },
          { type: 7, ip: '::1' },
        ],
      },
    ],
  });
  return { key: pems.private, cert: pems.cert };
}
