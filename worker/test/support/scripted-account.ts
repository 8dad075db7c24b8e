// A WhatsApp account whose answers a test scripts per JID, at the WhatsApp boundary only. It
// records when each query started on the injected clock, and what it answered.

import type { Clock } from '../../src/clock.js';
import type { AccountEvent, AccountListener, PictureQueryOutcome, WhatsAppAccount } from '../../src/avatars/ports.js';

/** A scripted answer: an outcome, or an error the adapter throws (a bug, an unexpected shape). */
export type ScriptedAnswer = PictureQueryOutcome | { readonly kind: 'throw'; readonly error: Error };

/** Answers every query a test did not script: the query's JID, its time, and the id we sent. */
export type Responder = (jid: string, at: number, knownPictureId: string | undefined) => ScriptedAnswer;

export interface RecordedQuery {
  readonly jid: string;
  readonly at: number;
  readonly knownPictureId: string | undefined;
  /** What was answered: an outcome kind, or 'throw'; undefined while the query hangs. */
  answer?: ScriptedAnswer['kind'];
}

export class ScriptedAccount implements WhatsAppAccount {
  readonly queries: RecordedQuery[] = [];
  private readonly listeners = new Set<AccountListener>();
  private readonly answers = new Map<string, ScriptedAnswer[]>();
  /** A query for a JID listed here never answers (a hung socket, or a crash mid-query). */
  readonly hanging = new Set<string>();
  /** Runs while a query is in flight, before it answers: events that race with it. */
  duringQuery: ((jid: string) => void) | undefined;
  /** Answers JIDs without a script; without one they have no picture. */
  responder: Responder | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly onStart: AccountEvent[] = [],
  ) {}

  /** Queues answers for a JID; the last one repeats. */
  script(jid: string, ...answers: ScriptedAnswer[]): void {
    this.answers.set(jid, [...(this.answers.get(jid) ?? []), ...answers]);
  }

  /** Replaces whatever is still scripted for a JID. */
  rescript(jid: string, ...answers: ScriptedAnswer[]): void {
    this.answers.set(jid, [...answers]);
  }

  emit(event: AccountEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  async start(): Promise<void> {
    for (const event of this.onStart) this.emit(event);
  }

  async stop(): Promise<void> {}

  onEvent(listener: AccountListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  queryPicture(jid: string, knownPictureId: string | undefined): Promise<PictureQueryOutcome> {
    const at = this.clock.now();
    const query: RecordedQuery = { jid, at, knownPictureId };
    this.queries.push(query);
    this.duringQuery?.(jid);
    if (this.hanging.has(jid)) return new Promise(() => undefined);
    const queue = this.answers.get(jid);
    const answer: ScriptedAnswer =
      queue !== undefined && queue.length > 0
        ? queue.length > 1
          ? queue.shift()!
          : queue[0]!
        : (this.responder?.(jid, at, knownPictureId) ?? { kind: 'none' });
    query.answer = answer.kind;
    if (answer.kind === 'throw') return Promise.reject(answer.error);
    return Promise.resolve(answer);
  }

  /** Queries for one JID, in order. */
  queriesFor(jid: string): RecordedQuery[] {
    return this.queries.filter((query) => query.jid === jid);
  }
}
