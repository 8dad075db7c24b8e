// Benchmark 3's simulated CDN, in its own process (forked by pipeline.ts, not run by hand), so the
// pipeline figures are the worker's: rendering and serving pictures costs the measured process
// nothing. Every picture version of the population is rendered before the CDN listens. The parent
// gets the CDN's address over IPC and rebuilds the loopback look-up from its host names; on
// 'stop' this process answers with the CDN's counters and exits.
//
//   fork(cdn-child.js, [JSON.stringify({ seed, subjects, changeShare })])

import pino from 'pino';
import { SimulatedCdn, type SimulatedCdnStats } from '../src/sim/cdn.js';
import { SimulatedPopulation, type PopulationOptions } from '../src/sim/population.js';

/** What the child sends first: enough for the parent to build a SimulatedCdnAddress. */
export interface CdnChildReady {
  readonly type: 'ready';
  readonly port: number;
  readonly certificateAuthority: string;
  readonly hostNames: readonly string[];
  readonly prerendered: number;
  /** The mean size of those pictures, for the disk floor's same-size writes. */
  readonly meanPictureBytes: number;
}

export interface CdnChildStopped {
  readonly type: 'stopped';
  readonly stats: SimulatedCdnStats;
}

/** A population whose pictures are all rendered up front, so a request only looks one up. */
class PrerenderedPopulation extends SimulatedPopulation {
  private readonly rendered = new Map<string, Buffer>();

  constructor(options: PopulationOptions) {
    super(options);
    for (const subject of this.subjects) {
      for (const picture of subject.timeline) {
        if (picture.kind === 'picture') this.rendered.set(`${subject.jid}\n${picture.pictureId}`, super.pictureBytes(subject.jid, picture.pictureId));
      }
    }
  }

  get prerendered(): number {
    return this.rendered.size;
  }

  get meanPictureBytes(): number {
    let total = 0;
    for (const bytes of this.rendered.values()) total += bytes.length;
    return Math.round(total / Math.max(1, this.rendered.size));
  }

  override pictureBytes(jid: string, pictureId: string): Buffer {
    return this.rendered.get(`${jid}\n${pictureId}`) ?? super.pictureBytes(jid, pictureId);
  }
}

async function main(): Promise<void> {
  const send = process.send?.bind(process);
  if (send === undefined) throw new Error('cdn-child.js runs forked by the pipeline benchmark (it reports over IPC)');
  const options = JSON.parse(process.argv[2] ?? 'null') as PopulationOptions | null;
  if (options === null || typeof options.seed !== 'number' || typeof options.subjects !== 'number') {
    throw new Error(`usage: cdn-child.js '{"seed":N,"subjects":N,"changeShare":N}'; got ${JSON.stringify(process.argv.slice(2))}`);
  }
  const population = new PrerenderedPopulation(options);
  const cdn = new SimulatedCdn(population, pino({ level: 'silent' }), { serverErrorShare: 0 });
  const address = await cdn.start();
  process.on('message', (message) => {
    if (message !== 'stop') return;
    void cdn.stop().then(() => {
      const stopped: CdnChildStopped = { type: 'stopped', stats: cdn.stats() };
      send(stopped, () => process.disconnect());
    });
  });
  const ready: CdnChildReady = { type: 'ready', port: address.port, certificateAuthority: address.certificateAuthority, hostNames: address.hostNames, prerendered: population.prerendered, meanPictureBytes: population.meanPictureBytes };
  send(ready);
}

await main();
