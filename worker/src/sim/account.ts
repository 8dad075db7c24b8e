// SIMULATION ONLY: a WhatsApp account made of a seeded population, for the demo and for tests.
// It connects, delivers a history sync in batches, answers picture queries like WhatsApp does
// (including the conditional "unchanged" answer, timeouts and rate-limit bursts), and changes a
// bounded number of pictures as it is queried, announcing each change. Nothing on the real
// path imports this.
//
// Restarts: when `queryLogPath` is set, the log's line count is the account's query count at
// start, so picture changes never go back in time after the demo is killed; changes already
// applied are announced again after the history sync (at-least-once, as WhatsApp re-delivers
// notifications to a device that was offline). The final pictures depend only on the seed.

import type { Logger } from 'pino';
import { TimerGroup, type Clock } from '../clock.js';
import { parseJid, type Jid } from '../jid.js';
import { Listeners } from '../listeners.js';
import type { AccountEvent, AccountListener, PictureQueryOutcome, WhatsAppAccount } from '../avatars/ports.js';
import { DEFAULT_SIMULATED_BEHAVIOUR, type SimulatedBehaviour } from './behaviour.js';
import { signedPictureUrl, type SimulatedCdnAddress } from './cdn.js';
import { QueryLuck } from './luck.js';
import type { SimulatedPopulation } from './population.js';
import { appendQueryRecord, countQueryRecords } from './query-log.js';

export interface SimulatedAccountOptions {
  readonly population: SimulatedPopulation;
  readonly cdn: Pick<SimulatedCdnAddress, 'pictureOrigin'>;
  readonly clock: Clock;
  /** Seeds the per-query luck (timeouts, rate limits); defaults to the population's seed. */
  readonly seed?: number;
  readonly logger: Logger;
  /** Appends one JSON line per query, `{"at","jid","outcome"}`; also the query count across restarts. */
  readonly queryLogPath?: string;
  readonly behaviour?: Partial<SimulatedBehaviour>;
}

/** One line of the query log. */
export interface SimulatedQueryRecord {
  readonly at: number;
  readonly jid: string;
  readonly outcome: PictureQueryOutcome['kind'];
  readonly query: number;
}

type Connection = 'closed' | 'connecting' | 'open';

export class SimulatedAccount implements WhatsAppAccount {
  readonly population: SimulatedPopulation;
  private readonly behaviour: SimulatedBehaviour;
  private readonly seed: number;
  // One listener's bug must not hide the event from the others, nor kill the simulation.
  private readonly listeners = new Listeners<AccountEvent>((error, event) => this.options.logger.error({ err: error, event: event.type }, 'an account event listener threw'));
  private readonly timers: TimerGroup;
  private readonly pendingAnswers = new Set<() => void>();
  private connection: Connection = 'closed';
  private queryCount = 0;
  private readonly queryLuck: QueryLuck;

  constructor(private readonly options: SimulatedAccountOptions) {
    this.population = options.population;
    this.behaviour = { ...DEFAULT_SIMULATED_BEHAVIOUR, ...options.behaviour };
    this.seed = options.seed ?? options.population.seed;
    this.queryLuck = new QueryLuck(this.seed, this.behaviour.rateLimitEveryQueries);
    this.timers = new TimerGroup(options.clock);
  }

  /** Queries answered so far (across restarts when a query log is kept). */
  get queriesAnswered(): number {
    return this.queryCount;
  }

  onEvent(listener: AccountListener): () => void {
    return this.listeners.add(listener);
  }

  async start(): Promise<void> {
    if (this.connection !== 'closed') return;
    this.queryCount = this.options.queryLogPath === undefined ? this.queryCount : countQueryRecords(this.options.queryLogPath, this.options.logger);
    this.connection = 'connecting';
    this.listeners.emit({ type: 'connection', state: 'connecting' });
    this.after(this.behaviour.connectDelayMs, () => {
      this.connection = 'open';
      this.options.logger.info({ subjects: this.population.subjects.length, queries: this.queryCount }, 'simulated WhatsApp account connected');
      this.listeners.emit({ type: 'connection', state: 'open' });
      this.deliverHistory();
    });
  }

  async stop(): Promise<void> {
    this.timers.cancelAll();
    for (const answerClosed of [...this.pendingAnswers]) answerClosed();
    if (this.connection === 'closed') return;
    this.connection = 'closed';
    this.listeners.emit({ type: 'connection', state: 'closed', detail: 'stopped' });
  }

  async queryPicture(jid: string, knownPictureId: string | undefined, timeoutMs: number): Promise<PictureQueryOutcome> {
    if (this.connection !== 'open') {
      return { kind: 'transient', cause: 'socket-closed', detail: 'simulated: not connected (428)' };
    }
    // The query's time is when it arrived: announcing changes below runs the worker's handlers.
    const at = this.options.clock.now();
    const query = ++this.queryCount;
    for (const change of this.population.changesAtQuery(query)) this.announce(change.jid, change.removed);
    const outcome = this.answer(query, jid, knownPictureId, timeoutMs);
    appendQueryRecord(this.options.queryLogPath, { at, jid, outcome: outcome.kind, query });
    if (this.behaviour.latencyMs <= 0) return outcome;
    return new Promise((resolve) => {
      const closed = () => {
        cancel();
        this.pendingAnswers.delete(closed);
        resolve({ kind: 'transient', cause: 'socket-closed', detail: 'simulated: connection closed during the query' });
      };
      const cancel = this.after(this.behaviour.latencyMs, () => {
        this.pendingAnswers.delete(closed);
        resolve(outcome);
      });
      this.pendingAnswers.add(closed);
    });
  }

  private answer(query: number, jid: string, knownPictureId: string | undefined, timeoutMs: number): PictureQueryOutcome {
    const failure = this.queryLuck.failure(query, this.behaviour.timeoutShare);
    if (failure === 'rate-limited') return { kind: 'rate-limited' };
    if (failure === 'timeout') return { kind: 'transient', cause: 'timeout', detail: `simulated: no answer within ${timeoutMs} ms (408)` };
    const parsed = parseJid(jid);
    const picture = parsed.ok ? this.population.pictureAfterQueries(parsed.jid, query) : undefined;
    // WhatsApp answers item-not-found for addresses it does not know.
    if (!parsed.ok || picture === undefined) return { kind: 'none' };
    if (picture.kind !== 'picture') return { kind: picture.kind };
    if (knownPictureId === picture.pictureId) return { kind: 'unchanged', pictureId: picture.pictureId };
    const url = signedPictureUrl(this.population, this.options.cdn, parsed.jid, picture.pictureId, this.options.clock.now() + this.behaviour.urlLifetimeMs);
    return { kind: 'picture', pictureId: picture.pictureId, url };
  }

  private deliverHistory(): void {
    const batch = Math.max(1, this.behaviour.historyBatchSize);
    const contacts = this.population.contacts();
    const chats = this.population.chats(this.options.clock.now());
    const steps: AccountEvent[] = [];
    for (let index = 0; index < contacts.length; index += batch) steps.push({ type: 'contacts', contacts: contacts.slice(index, index + batch) });
    for (let index = 0; index < chats.length; index += batch) steps.push({ type: 'chats', chats: chats.slice(index, index + batch) });
    steps.push({ type: 'history-synced' });
    const deliver = (index: number): void => {
      const step = steps[index];
      if (step === undefined) {
        this.reannounceAppliedChanges();
        return;
      }
      this.listeners.emit(step);
      this.after(this.behaviour.historyBatchGapMs, () => deliver(index + 1));
    };
    deliver(0);
  }

  private reannounceAppliedChanges(): void {
    const applied = this.population.changes.filter((change) => change.atQuery <= this.queryCount);
    const latest = new Map(applied.map((change) => [change.jid, change.removed]));
    for (const [jid, removed] of latest) this.announce(jid, removed);
  }

  private announce(jid: Jid, removed: boolean): void {
    this.options.logger.debug({ jid, removed }, 'simulated picture change');
    this.listeners.emit({ type: 'picture-changed', jid, removed });
  }

  private after(delayMs: number, callback: () => void): () => void {
    return this.timers.after(delayMs, callback);
  }
}
