// SIMULATION ONLY: wires a seeded population, the simulated CDN and the simulated account
// together, and says how the real downloader must be configured to reach that CDN.

import type { Logger } from 'pino';
import { DEFAULT_DOWNLOAD_SETTINGS, type DownloadSettings } from '../cdn/download.js';
import type { Clock } from '../clock.js';
import { SimulatedAccount } from './account.js';
import type { SimulatedBehaviour } from './behaviour.js';
import { SimulatedCdn, type SimulatedCdnOptions } from './cdn.js';
import { createPopulation, type PopulationOptions, type SimulatedPopulation } from './population.js';
import { SimulatedWhatsApp, type SimulatedPhone, type SimulatedQuirk, type SimulatedWhatsAppBehaviour } from './whatsapp.js';

export interface SimulationOptions extends PopulationOptions {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly queryLogPath?: string;
  /** How WhatsApp behaves, for both the outcome-level account and the socket-level WhatsApp. */
  readonly behaviour?: Partial<SimulatedBehaviour>;
  /** What only the socket-level WhatsApp (behind the real BaileysAccount) has, over `behaviour`. */
  readonly whatsapp?: Partial<SimulatedWhatsAppBehaviour>;
  readonly phone?: SimulatedPhone;
  readonly quirks?: readonly SimulatedQuirk[];
  readonly cdn?: SimulatedCdnOptions;
  /** Base for the download settings; the CDN's port, certificate and loopback lookup are added to it. */
  readonly download?: DownloadSettings;
}

export interface Simulation {
  readonly population: SimulatedPopulation;
  readonly cdn: SimulatedCdn;
  /** The outcome-level account (answers already classified), for tests of the core. */
  readonly account: SimulatedAccount;
  /** WhatsApp at the Baileys socket: give `whatsapp.makeSocket` to the real BaileysAccount. */
  readonly whatsapp: SimulatedWhatsApp;
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
    ...(options.behaviour === undefined ? {} : { behaviour: options.behaviour }),
  });
  // The query log (and so the query count across restarts) belongs to the socket-level WhatsApp.
  const whatsapp = new SimulatedWhatsApp({
    population,
    cdn: address,
    clock: options.clock,
    logger: options.logger.child({ component: 'simulated-whatsapp' }),
    ...(options.queryLogPath === undefined ? {} : { queryLogPath: options.queryLogPath }),
    behaviour: { ...options.behaviour, ...options.whatsapp },
    ...(options.phone === undefined ? {} : { phone: options.phone }),
    ...(options.quirks === undefined ? {} : { quirks: options.quirks }),
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
    whatsapp,
    downloadSettings,
    async stop() {
      await account.stop();
      whatsapp.socket?.end(undefined);
      await cdn.stop();
    },
  };
}
