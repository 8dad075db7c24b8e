// Benchmark 3: what one avatar costs the worker when the rate policy does not hold it back. The
// real AvatarWorker on the real clock against the simulated account (errors and rate-limit bursts
// off) and the loopback HTTPS CDN: picture query, download, JPEG check and sha256, atomic write
// with fsync, and the one-transaction DB update. Each job is timed from its picture query to its
// stored outcome. The bench measures the worker, not the simulator: the CDN runs in a child
// process (cdn-child.ts) with every picture rendered before it listens, and picture queries wait
// until the simulated history is ingested, so no job competes with the history's arrival.
// Each job's steps (query, download, write, store) are timed through the ports it wraps (job-steps.ts).

import type { Jid } from '../src/jid.js';
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, statSync, writeSync } from 'node:fs';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { AvatarFiles } from '../src/files/avatar-files.js';
import { DEFAULT_RATE_SETTINGS, type RateSettings } from '../src/avatars/rate-policy.js';
import { DEFAULT_TTL_SETTINGS } from '../src/avatars/transitions.js';
import { seededRandom, systemClock } from '../src/clock.js';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { SimulatedAccount } from '../src/sim/account.js';
import { simulatedPictureHost, type SimulatedCdnAddress, type SimulatedCdnStats } from '../src/sim/cdn.js';
import { loopbackLookup, LOOPBACK_ADDRESS } from '../src/sim/loopback-dns.js';
import { createPopulation, type PopulationOptions } from '../src/sim/population.js';
import { cdnDownloader, DEFAULT_DOWNLOAD_SETTINGS, type DownloadSettings } from '../src/cdn/download.js';
import type { CdnChildReady, CdnChildStopped } from './cdn-child.js';
import { openDatabase } from '../src/store/database.js';
import type { AccountListener, PictureQueryOutcome, WhatsAppAccount } from '../src/avatars/ports.js';
import { AvatarWorker } from '../src/worker/avatar-worker.js';
import { appNodeFlags } from './app-node.js';
import { checked, type BenchmarkResult, type Figure } from './report.js';
import { elapsedMs, mean, percentile, perSecond } from './stats.js';
import { withTempDir } from './temp-dir.js';
import { JOB_STEPS, JobStepRecorder, type JobSteps } from './job-steps.js';
import { overlapsPause, watchGcPauses, type GcPause } from './gc-pauses.js';

// Enough subjects that well over 1,000 of them (70 % show a picture) go through a full download.
const PIPELINE_SUBJECTS = 3_000;
const SEED = 3;
// The rate policy refuses an interval of 0; 1 ms is the smallest it takes and never binds here.
const UNTHROTTLED_RATE: RateSettings = { ...DEFAULT_RATE_SETTINGS, intervalMs: 1, jitterRatio: 0, quietPeriodMs: 0, hourlyCap: 10_000_000 };
// A safety net for a broken harness, not a limit on the figures: far beyond any plausible run.
const GIVE_UP_AFTER_MS = 10 * 60_000;

const CDN_CHILD_SCRIPT = fileURLToPath(new URL('./cdn-child.js', import.meta.url));

/**
 * Passes everything through to the simulated account and notes when each picture query began.
 * Holds every picture query until the account delivered its history sync (and the worker stored
 * it: listeners run in order, and the worker's was added first), so the timings are of jobs alone.
 */
class QueryTimingAccount implements WhatsAppAccount {
  /** Every picture URL the account handed out, for the network floor. */
  readonly pictureUrls: string[] = [];
  private readonly historyIngested: Promise<void>;

  constructor(
    private readonly inner: WhatsAppAccount,
    private readonly steps: JobStepRecorder,
  ) {
    this.historyIngested = new Promise((resolve) => {
      const stop = inner.onEvent((event) => {
        if (event.type !== 'history-synced') return;
        stop();
        // The worker's own listener handles the same event; let it finish first.
        setImmediate(resolve);
      });
    });
  }

  start(): Promise<void> {
    return this.inner.start();
  }

  stop(): Promise<void> {
    return this.inner.stop();
  }

  onEvent(listener: AccountListener): () => void {
    return this.inner.onEvent(listener);
  }

  async queryPicture(jid: Jid, knownPictureId: string | undefined, timeoutMs: number): Promise<PictureQueryOutcome> {
    await this.historyIngested;
    this.steps.queryStarted(jid);
    const outcome = await this.inner.queryPicture(jid, knownPictureId, timeoutMs);
    this.steps.queryAnswered();
    if (outcome.kind === 'picture') this.pictureUrls.push(outcome.url);
    return outcome;
  }
}

interface JobTiming {
  /** performance.now() at the job's picture query. */
  readonly startedAt: number;
  readonly ms: number;
  readonly state: string;
  readonly steps: JobSteps;
}

interface PipelineMeasurement {
  readonly timings: readonly JobTiming[];
  /** The same number of bare writes of the mean picture size, in the same folder: the disk's floor. */
  readonly floorMs: readonly number[];
  /** The same pictures fetched again by a bare HTTPS GET on a kept-alive connection: the network's floor. */
  readonly networkFloorMs: readonly number[];
  readonly meanPictureBytes: number;
  readonly wallMs: number;
  /** Every GC pause in this process from the worker's start to idle. */
  readonly gcPauses: readonly GcPause[];
  readonly filesWritten: number;
  readonly served: number;
  readonly prerendered: number;
}

interface CdnChild {
  readonly address: SimulatedCdnAddress;
  readonly prerendered: number;
  readonly meanPictureBytes: number;
  /** Stops the child's CDN and returns its counters. */
  stop(): Promise<SimulatedCdnStats>;
}

/** Forks cdn-child.js for this population and waits until its CDN listens. */
async function startCdnChild(population: PopulationOptions): Promise<CdnChild> {
  const child = fork(CDN_CHILD_SCRIPT, [JSON.stringify(population)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = await new Promise<CdnChildReady>((resolve, reject) => {
    child.once('message', (message) => resolve(message as CdnChildReady));
    child.once('exit', (code) => reject(new Error(`the CDN child exited (code ${code}) before it listened`)));
  });
  const address: SimulatedCdnAddress = {
    baseUrl: `https://${LOOPBACK_ADDRESS}:${ready.port}`,
    certificateAuthority: ready.certificateAuthority,
    host: LOOPBACK_ADDRESS,
    port: ready.port,
    hostNames: ready.hostNames,
    dnsLookup: loopbackLookup(ready.hostNames),
    pictureOrigin: (jid) => `https://${simulatedPictureHost(population.seed, jid)}:${ready.port}`,
  };
  return {
    address,
    prerendered: ready.prerendered,
    meanPictureBytes: ready.meanPictureBytes,
    async stop() {
      const stopped = new Promise<CdnChildStopped>((resolve) => child.once('message', (message) => resolve(message as CdnChildStopped)));
      child.send('stop');
      const { stats } = await stopped;
      await exited;
      return stats;
    },
  };
}

async function measurePipeline(dataDir: string, logger: Logger): Promise<PipelineMeasurement> {
  // No picture changes: each subject is checked exactly once, so every `fetched` is a download.
  const populationOptions: PopulationOptions = { seed: SEED, subjects: PIPELINE_SUBJECTS, changeShare: 0 };
  const cdn = await startCdnChild(populationOptions);
  const simulated = new SimulatedAccount({
    population: createPopulation(populationOptions),
    cdn: cdn.address,
    clock: systemClock,
    logger: logger.child({ component: 'simulated-account' }),
    behaviour: { connectDelayMs: 0, historyBatchGapMs: 0, timeoutShare: 0, rateLimitEveryQueries: 0, latencyMs: 0 },
  });
  // As startSimulation configures the downloader: the CDN's port, certificate and loopback names.
  const downloadSettings: DownloadSettings = {
    ...DEFAULT_DOWNLOAD_SETTINGS,
    allowedPorts: [...(DEFAULT_DOWNLOAD_SETTINGS.allowedPorts ?? []), cdn.address.port],
    certificateAuthority: cdn.address.certificateAuthority,
    dnsLookup: cdn.address.dnsLookup,
  };
  const db = openDatabase(dataDir);
  const steps = new JobStepRecorder();
  const account = new QueryTimingAccount(simulated, steps);
  const files = new AvatarFiles(join(dataDir, 'avatars'), logger);
  const worker = new AvatarWorker({
    db,
    account,
    files: steps.files(files),
    downloadPicture: steps.downloader(cdnDownloader(downloadSettings, logger)),
    rate: UNTHROTTLED_RATE,
    ttl: DEFAULT_TTL_SETTINGS,
    clock: systemClock,
    random: seededRandom(SEED),
    logger,
  });
  const timings: JobTiming[] = [];
  let stopWatching: () => void = () => undefined;
  let giveUp: NodeJS.Timeout | undefined;
  let served: number | undefined;
  try {
    const finished = new Promise<void>((resolve, reject) => {
      stopWatching = worker.onEvent((event) => {
        if (event.type === 'job-finished') {
          const startedAt = steps.startedAt(event.jid);
          const jobSteps = steps.finished(event.jid);
          if (startedAt !== undefined && jobSteps !== undefined) timings.push({ startedAt, ms: performance.now() - startedAt, state: event.record.state, steps: jobSteps });
        }
        if (event.type === 'idle' && worker.idle) resolve();
      });
      giveUp = setTimeout(() => reject(new Error(`the pipeline benchmark did not finish within ${GIVE_UP_AFTER_MS / 60_000} min (${timings.length} jobs done)`)), GIVE_UP_AFTER_MS);
    });
    // The disk floor: half its writes right before the pipeline, half right after, so a change in
    // the disk's load during the run (the machine is shared) weighs on both sides alike.
    const floorWrites = Math.max(2, cdn.prerendered);
    const floorBefore = await diskFloor(join(dataDir, 'floor-before'), cdn.meanPictureBytes, Math.floor(floorWrites / 2));
    const started = performance.now();
    const gc = watchGcPauses();
    await worker.start();
    await finished;
    const gcPauses = gc.stop();
    const wallMs = elapsedMs(started);
    const pictures = readdirSync(files.directory).filter((name) => name.endsWith('.jpg'));
    const meanPictureBytes = Math.round(pictures.reduce((sum, name) => sum + statSync(join(files.directory, name)).size, 0) / Math.max(1, pictures.length));
    const floorMs = [...floorBefore, ...(await diskFloor(join(dataDir, 'floor-after'), cdn.meanPictureBytes, Math.ceil(floorWrites / 2)))];
    await worker.stop();
    const networkFloorMs = await networkFloor(account.pictureUrls, cdn.address);
    await simulated.stop();
    served = (await cdn.stop()).served;
    return { timings, floorMs, networkFloorMs, meanPictureBytes, wallMs, gcPauses, filesWritten: pictures.length, served, prerendered: cdn.prerendered };
  } finally {
    clearTimeout(giveUp);
    stopWatching();
    if (served === undefined) {
      await worker.stop();
      await simulated.stop();
      await cdn.stop();
    }
    db.close();
  }
}

/**
 * What the disk alone costs for one picture, by the system calls AvatarFiles makes: a new temp
 * file, the bytes, fsync, close, rename, and an fsync of the folder, synchronous as there. No
 * pipeline can be faster than this. The event loop gets a turn between two writes, as between jobs.
 */
async function diskFloor(directory: string, bytes: number, count: number): Promise<number[]> {
  mkdirSync(directory, { recursive: true });
  const payload = new Uint8Array(bytes).fill(0xa5);
  const samples: number[] = [];
  for (let index = 0; index < count; index++) {
    await new Promise(setImmediate);
    const started = performance.now();
    const temporary = join(directory, `.${index}.tmp`);
    const file = openSync(temporary, 'wx', 0o644);
    try {
      writeSync(file, payload);
      fsyncSync(file);
    } finally {
      closeSync(file);
    }
    renameSync(temporary, join(directory, `${index}.jpg`));
    const folder = openSync(directory, 'r');
    try {
      fsyncSync(folder);
    } finally {
      closeSync(folder);
    }
    samples.push(elapsedMs(started));
  }
  return samples;
}

/**
 * What the loopback network alone costs for one picture: each URL the pipeline downloaded, fetched
 * again one after another by a bare node:https GET (the CDN's certificate and loopback names, one
 * kept-alive connection per host), the body read to its end. No download through got, no checks.
 */
async function networkFloor(urls: readonly string[], cdn: SimulatedCdnAddress): Promise<number[]> {
  const agent = new HttpsAgent({ keepAlive: true, maxSockets: 1 });
  const samples: number[] = [];
  try {
    for (const url of urls) {
      const started = performance.now();
      await new Promise<void>((resolve, reject) => {
        const request = httpsRequest(url, { agent, ca: cdn.certificateAuthority, lookup: cdn.dnsLookup }, (response) => {
          if (response.statusCode !== 200) {
            response.resume();
            reject(new Error(`the network floor's GET of a picture the pipeline downloaded answered HTTP ${response.statusCode}`));
            return;
          }
          response.on('data', () => undefined);
          response.once('end', resolve);
          response.once('error', reject);
        });
        request.once('error', reject);
        request.end();
      });
      samples.push(elapsedMs(started));
    }
  } finally {
    agent.destroy();
  }
  return samples;
}

/** This process's node flags, and whether they are the ones the app starts the worker with. */
function nodeFlagsNote(): string {
  const flags = process.execArgv.join(' ');
  const app = appNodeFlags().join(' ');
  if (flags === app) return `node flags: ${flags === '' ? 'none' : flags}, as addon/run.mjs starts the worker in the app`;
  return `node flags: ${flags === '' ? 'none' : flags}; the app starts the worker with ${app === '' ? 'none' : app} (addon/run.mjs)`;
}

/** How often GC paused the process during the run, and how many download jobs a pause overlapped. */
function gcNote(downloads: readonly JobTiming[], pauses: readonly GcPause[], wallMs: number): string {
  const byKind = new Map<string, { count: number; ms: number; maxMs: number }>();
  for (const pause of pauses) {
    const kind = byKind.get(pause.kind) ?? { count: 0, ms: 0, maxMs: 0 };
    byKind.set(pause.kind, { count: kind.count + 1, ms: kind.ms + pause.durationMs, maxMs: Math.max(kind.maxMs, pause.durationMs) });
  }
  const kinds = [...byKind].map(([kind, { count, ms, maxMs }]) => `${count} ${kind} (${ms.toFixed(1)} ms in all, longest ${maxMs.toFixed(2)} ms)`).join(', ');
  const hit = (jobs: readonly JobTiming[]): number => jobs.filter((job) => overlapsPause(job.startedAt, job.startedAt + job.ms, pauses)).length;
  const p99 = downloads.length === 0 ? 0 : percentile(downloads.map((job) => job.ms), 99);
  const tail = downloads.filter((job) => job.ms >= p99);
  const every = pauses.length === 0 ? '' : `, one every ${(wallMs / pauses.length).toFixed(0)} ms`;
  return (
    `GC in this process from start to idle: ${pauses.length === 0 ? 'no pauses' : kinds}${every}; ` +
    `download jobs overlapping a pause: ${hit(downloads)} of ${downloads.length}, of the slowest 1 %: ${hit(tail)} of ${tail.length}; ` +
    nodeFlagsNote()
  );
}

function distribution(label: string, samples: readonly number[]): Figure[] {
  if (samples.length === 0) return [];
  return [
    { label: `${label} p50`, value: percentile(samples, 50), unit: 'ms' },
    { label: `${label} p99`, value: percentile(samples, 99), unit: 'ms' },
    { label: `${label} mean`, value: mean(samples), unit: 'ms' },
  ];
}

/**
 * Each step's p50 and p99 over the download jobs, and where the slowest 1 % of them spent their
 * time (each step's mean over those jobs): which step makes the tail.
 */
function stepFigures(downloads: readonly JobTiming[]): Figure[] {
  if (downloads.length === 0) return [];
  const p99 = percentile(downloads.map((timing) => timing.ms), 99);
  const tail = downloads.filter((timing) => timing.ms >= p99);
  return JOB_STEPS.flatMap((step) => {
    const samples = downloads.map((timing) => timing.steps[step]);
    return [
      { label: `download job's ${step} p50`, value: percentile(samples, 50), unit: 'ms' },
      { label: `download job's ${step} p99`, value: percentile(samples, 99), unit: 'ms' },
      { label: `download job's ${step}, mean over the slowest 1 %`, value: mean(tail.map((timing) => timing.steps[step])), unit: 'ms' },
    ];
  });
}

export async function runPipelineBenchmark(logger: Logger): Promise<BenchmarkResult> {
  const started = performance.now();
  const measured = await withTempDir('pipeline', (dir) => measurePipeline(dir, logger));
  const downloadTimings = measured.timings.filter((timing) => timing.state === 'fetched');
  const downloads = downloadTimings.map((timing) => timing.ms);
  const answersOnly = measured.timings.filter((timing) => timing.state !== 'fetched').map((timing) => timing.ms);
  const all = measured.timings.map((timing) => timing.ms);
  const figures: Figure[] = [
    { label: 'avatars downloaded and stored', value: downloads.length, unit: 'jobs', target: '≥ 1,000', met: downloads.length >= 1_000 },
    ...distribution('download job', downloads),
    ...stepFigures(downloadTimings),
    ...distribution('disk floor (write + fsync + rename)', measured.floorMs),
    ...distribution('network floor (bare HTTPS GET, kept alive)', measured.networkFloorMs),
    { label: 'overhead above the floor, p50', value: percentile(downloads, 50) - percentile(measured.floorMs, 50), unit: 'ms' },
    checked('overhead above the floor, p99', percentile(downloads, 99) - percentile(measured.floorMs, 99), 'ms', '< 2 ms', (value) => value < 2),
    ...(measured.networkFloorMs.length === 0
      ? []
      : [
          {
            label: 'overhead above disk + network floors, p50',
            value: percentile(downloads, 50) - percentile(measured.floorMs, 50) - percentile(measured.networkFloorMs, 50),
            unit: 'ms',
          },
        ]),
    ...distribution('no-picture job (none/hidden)', answersOnly),
    ...distribution('all jobs', all),
    { label: 'throughput, all jobs', value: perSecond(all.length, measured.wallMs), unit: 'jobs/s' },
    { label: 'wall time, start to idle', value: measured.wallMs, unit: 'ms' },
  ];
  const notes = [
    `${PIPELINE_SUBJECTS.toLocaleString('en-US')} simulated subjects, real AvatarWorker on the real clock, rate interval 1 ms (0 is refused), jitter 0, quiet 0, no hourly cap; simulated timeouts, rate-limit bursts and CDN 503s off`,
    'a job is timed from its picture query to its stored outcome: query + HTTPS download on loopback + JPEG check + sha256 + temp file, fsync, rename, folder fsync + one SQLite transaction',
    "a download job's steps, from the ports the bench wraps (nothing in the product): query = the simulated account's answer; download = got's request, the body, JPEG check and sha256; write = AvatarFiles' atomic write; store = from the write's return to the job's event (state machine, the job's SQLite transaction); 'mean over the slowest 1 %' shows which step makes the p99",
    `disk floor: as many bare writes of the mean picture size (${measured.meanPictureBytes.toLocaleString('en-US')} bytes on disk) into the same file system, half right before the pipeline and half right after, by AvatarFiles' own synchronous calls (temp file, fsync, rename, folder fsync)`,
    `isolated: the loopback HTTPS CDN runs in a child process with all ${measured.prerendered.toLocaleString('en-US')} picture versions rendered before it listens; picture queries wait until the history sync is ingested; the simulated account (answers only, no rendering) stays in the measured process`,
    `network floor: the ${measured.networkFloorMs.length.toLocaleString('en-US')} picture URLs the pipeline downloaded, fetched again right after it by a bare node:https GET on a kept-alive connection per host (no got, no checks, no file): loopback TLS and the CDN child's answer alone`,
    `picture files on disk: ${measured.filesWritten.toLocaleString('en-US')}; CDN responses served: ${measured.served.toLocaleString('en-US')} (${measured.networkFloorMs.length.toLocaleString('en-US')} of them the network floor's); temp dir on the same file system as os.tmpdir()`,
  ];
  notes.push(gcNote(downloadTimings, measured.gcPauses, measured.wallMs));
  if (measured.filesWritten !== downloads.length) notes.push(`WARNING: ${downloads.length} fetched jobs but ${measured.filesWritten} files on disk`);
  const keys = {
    pipeline_p50_ms: percentile(downloads, 50),
    pipeline_p99_ms: percentile(downloads, 99),
    disk_floor_p50_ms: percentile(measured.floorMs, 50),
    disk_floor_p99_ms: percentile(measured.floorMs, 99),
    pipeline_overhead_p99_ms: percentile(downloads, 99) - percentile(measured.floorMs, 99),
    gc_pauses: measured.gcPauses.length,
    ...(measured.networkFloorMs.length === 0
      ? {}
      : { network_floor_p50_ms: percentile(measured.networkFloorMs, 50), network_floor_p99_ms: percentile(measured.networkFloorMs, 99) }),
  };
  return { id: 'pipeline', title: '3. Per-avatar pipeline at interval 0 (simulated account, loopback HTTPS CDN in a child process)', figures, notes, wallMs: elapsedMs(started), keys };
}
