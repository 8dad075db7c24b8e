// SIMULATION ONLY: a throwaway self-signed certificate for the simulated CDN on loopback, so the
// real download code runs over real TLS in the demo and the tests without touching the internet.

import { generate } from 'selfsigned';

export interface LoopbackCertificate {
  /** PEM private key for the server. */
  readonly key: string;
  /** PEM certificate for the server; also the certificate authority a client must trust. */
  readonly cert: string;
}

// Long enough for any demo run; the certificate is regenerated at every start anyway.
const VALIDITY_MS = 7 * 24 * 60 * 60 * 1000;

/** A fresh EC certificate for 127.0.0.1, ::1 and localhost (EC keeps generation fast). */
export async function generateLoopbackCertificate(): Promise<LoopbackCertificate> {
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
          { type: 7, ip: '127.0.0.1' },
          { type: 7, ip: '::1' },
        ],
      },
    ],
  });
  return { key: pems.private, cert: pems.cert };
}
