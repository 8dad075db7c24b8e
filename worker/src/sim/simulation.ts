// SIMULATION ONLY: wires a seeded population, the simulated CDN and the simulated account
// together, and says how the real downloader must be configured to reach that CDN.

import type { Logger } from 'pino';
import { DEFAULT_DOWNLOAD_SETTINGS, type DownloadSettings } from '../avatars/download.js';
import type { Clock } from '../clock.js';
import { SimulatedAccount, type SimulatedBehaviour } from './account.js';
import { SimulatedCdn, type SimulatedCdnOptions } from './cdn.js';
import { createPopulation, type PopulationOptions, type SimulatedPopulation } from './population.js';

export interface SimulationOptions extends PopulationOptions {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly queryLogPath?: string;
  readonly behaviour?: Partial<SimulatedBehaviour>;
  readonly cdn?: SimulatedCdnOptions;
  /** Base for the download settings; the CDN's port, certificate and loopback lookup are added to it. */
  readonly download?: DownloadSettings;
}

export interface Simulation {
  readonly population: SimulatedPopulation;
  readonly cdn: SimulatedCdn;
  readonly account: SimulatedAccount;
  /** Download settings that reach the simulated CDN under WhatsApp's host names (and nothing else on loopback). */
  readonly downloadSettings: DownloadSettings;
  /** Stops the account and the CDN. */
  stop(): Promise<void>;
}

/** Starts the simulated CDN and builds the account (not started: the caller starts it). */
export async function startSimulation(options: SimulationOptions): Promise<Simulation> {
  const population = createPopulation(options);
  const cdn = new SimulatedCdn(population, options.logger.child({ component: 'simulated-cdn' }), options.cdn);
  const address = await cdn.start();
  const account = new SimulatedAccount({
    population,
    cdn: address,
    clock: options.clock,
    logger: options.logger.child({ component: 'simulated-account' }),
    ...(options.queryLogPath === undefined ? {} : { queryLogPath: options.queryLogPath }),
    ...(options.behaviour === undefined ? {} : { behaviour: options.behaviour }),
  });
  const base = options.download ?? DEFAULT_DOWNLOAD_SETTINGS;
  // WhatsApp's real host rule applies unchanged: the CDN's names resolve to loopback through the
  // lookup, and only its port and certificate are added.
  const downloadSettings: DownloadSettings = {
    ...base,
    allowedPorts: [...(base.allowedPorts ?? []), address.port],
    certificateAuthority: address.certificateAuthority,
    dnsLookup: address.dnsLookup,
  };
  return {
    population,
    cdn,
    account,
    downloadSettings,
    async stop() {
      await account.stop();
      await cdn.stop();
    },
  };
}
