// SIMULATION ONLY: how the simulated WhatsApp behaves, in one place for both simulations: the
// outcome-level account (account.ts, for core tests and the pipeline benchmark) and the
// socket-level WhatsApp behind the real Baileys adapter (whatsapp.ts, for the demo), which adds
// the settings only a socket has.

export interface SimulatedBehaviour {
  /** From connecting to WhatsApp's answer ('open', or the QR refs when not linked). */
  readonly connectDelayMs: number;
  /** Contacts or chats per history-sync event. */
  readonly historyBatchSize: number;
  /** Between two history-sync events. */
  readonly historyBatchGapMs: number;
  /** Share of picture queries WhatsApp never answers (408). */
  readonly timeoutShare: number;
  /** Average number of picture queries between two rate-limit (429) bursts; 0 turns them off. */
  readonly rateLimitEveryQueries: number;
  /** How long an answer takes; 0 answers at once. */
  readonly latencyMs: number;
  /** How long a picture URL stays valid (the `oe=` expiry). */
  readonly urlLifetimeMs: number;
}

export const DEFAULT_SIMULATED_BEHAVIOUR: SimulatedBehaviour = {
  // A linked device reconnects in about a second.
  connectDelayMs: 1_000,
  // Baileys delivers a history sync in chunks of a few hundred records.
  historyBatchSize: 200,
  historyBatchGapMs: 250,
  // Real picture queries time out now and then under load.
  timeoutShare: 0.02,
  // Rare enough that a polite queue sees few, frequent enough that a demo shows the pause.
  rateLimitEveryQueries: 150,
  // Answers at once; a test or benchmark that wants a round trip sets it.
  latencyMs: 0,
  // WhatsApp's picture URLs expire after 24–48 h; the middle of that.
  urlLifetimeMs: 36 * 60 * 60 * 1000,
};
