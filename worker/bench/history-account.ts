// A WhatsApp account that only delivers what the benchmark hands it, synchronously, so the time
// measured is the worker's handling of each event and nothing else. It never connects, so the
// worker queues jobs but runs none of them.

import type { AccountEvent, AccountListener, PictureQueryOutcome, WhatsAppAccount } from '../src/avatars/ports.js';

export class HistoryDeliveringAccount implements WhatsAppAccount {
  private readonly listeners = new Set<AccountListener>();

  async start(): Promise<void> {}

  async stop(): Promise<void> {}

  onEvent(listener: AccountListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Hands one event to every listener and returns once they have all handled it. */
  deliver(event: AccountEvent): void {
    for (const listener of [...this.listeners]) listener(event);
  }

  async queryPicture(jid: string): Promise<PictureQueryOutcome> {
    // The benchmark never connects this account, so a query means the harness is wrong.
    throw new Error(`the history-delivering account cannot answer a picture query (asked for ${jid})`);
  }
}
