// The backfill's ETA that holds: WhatsApp's rate-overlimit pauses took 38 % of a 62-minute run of
// 4,167 jobs, and an ETA from the budget rate alone (RatePolicy.estimateSeconds) was 1.3–1.7× too
// optimistic (issue 13). This one divides what is left by the throughput observed over the whole
// batch so far, measured in the time the worker was actually working on it (pauses included,
// restarts and idle gaps between parts of a history sync not), and never promises less than the
// budget estimate, which knows about a pause that is running now. Pure: numbers in, seconds out.

/** Before this many completions the observed pace says too little; the budget estimate stands. */
export const MIN_OBSERVED_JOBS = 20;
/** ...and before this much observed time (a pause of 5 min must have had the chance to show). */
export const MIN_OBSERVED_MS = 2 * 60_000;

export interface HoldingEtaInput {
  /** Jobs still to run. */
  pending: number;
  /** Jobs completed in this batch. */
  done: number;
  /** Time spent on this batch so far while the worker ran it (pauses included). */
  observedMs: number;
  /** The budget rate's estimate for `pending` (RatePolicy.estimateSeconds), which includes a running pause. */
  budgetSeconds: number;
}

/** Seconds until the batch is done: observed throughput once there is enough of it, never below the budget estimate. */
export function holdingEtaSeconds(input: HoldingEtaInput): number {
  const { pending, done, observedMs, budgetSeconds } = input;
  if (pending <= 0) return 0;
  if (done < MIN_OBSERVED_JOBS || observedMs < MIN_OBSERVED_MS) return budgetSeconds;
  const observedSeconds = (pending * observedMs) / done / 1000;
  return Math.ceil(Math.max(observedSeconds, budgetSeconds));
}
