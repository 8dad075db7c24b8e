// A WhatsApp account whose answers a test scripts per JID, at the WhatsApp boundary only. It
// records when each query started on the injected clock.

import type { Clock } from '../../src/clock.js';
import type { AccountEvent, AccountListener, PictureQueryOutcome, WhatsAppAccount } from '../../src/wa/account.js';

export class ScriptedAccount implements WhatsAppAccount {
  readonly queries: { jid: string; at: number; knownPictureId: string | undefined }[] = [];
  private readonly listeners = new Set<AccountListener>();
  private readonly answers = new Map<string, PictureQueryOutcome[]>();
  /** A query for a JID listed here never answers (a hung socket, or a crash mid-query). */
  readonly hanging = new Set<string>();
  /** Runs while a query is in flight, before it answers: events that race with it. */
  duringQuery: ((jid: string) => void) | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly onStart: AccountEvent[] = [],
  ) {}

  /** Queues answers for a JID; the last one repeats. */
  script(jid: string, ...outcomes: PictureQueryOutcome[]): void {
    this.answers.set(jid, [...(this.answers.get(jid) ?? []), ...outcomes]);
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
    this.queries.push({ jid, at: this.clock.now(), knownPictureId });
    this.duringQuery?.(jid);
    if (this.hanging.has(jid)) return new Promise(() => undefined);
    const queue = this.answers.get(jid) ?? [];
    const answer = queue.length > 1 ? queue.shift()! : queue[0];
    return Promise.resolve(answer ?? { kind: 'none' });
  }
}
