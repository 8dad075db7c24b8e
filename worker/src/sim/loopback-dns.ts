// SIMULATION ONLY: a DNS lookup that answers 127.0.0.1 for the simulated CDN's host names, so the
// real downloader, with WhatsApp's real host rule, reaches the simulated CDN. Production never
// sets `DownloadSettings.dnsLookup`; any other name is "not found", never the system resolver.

import type { LookupAddress } from 'node:dns';
import type { LookupFunction } from 'node:net';

export const LOOPBACK_ADDRESS = '127.0.0.1';

export function loopbackLookup(names: readonly string[]): LookupFunction {
  const known = new Set(names.map((name) => name.toLowerCase()));
  return (hostname, options, callback) => {
    if (!known.has(hostname.toLowerCase())) {
      const error: NodeJS.ErrnoException = Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname} (simulation: not a simulated CDN host)`), {
        code: 'ENOTFOUND',
        hostname,
      });
      process.nextTick(() => callback(error, '', 0));
      return;
    }
    // Node's happy-eyeballs connect asks for every address at once (`all: true`).
    if (options.all === true) {
      const all: LookupAddress[] = [{ address: LOOPBACK_ADDRESS, family: 4 }];
      process.nextTick(() => callback(null, all));
      return;
    }
    process.nextTick(() => callback(null, LOOPBACK_ADDRESS, 4));
  };
}
