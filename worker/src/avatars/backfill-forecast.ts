// Long work said up front: when the queue holds more than a few minutes of picture checks (the
// first backfill of a 3,500-contact account at the default pace is about 4 hours), one log line
// says how long, in words, before the progress lines start. Said again only when the work grows
// by a quarter or more (a history sync that arrives in parts), and afresh for the next batch. Pure:
// it reads the progress snapshots it is given.

import { formatCount } from '../count-format.js';
import { formatDuration, type ProgressSnapshot } from './progress.js';
import { DEFAULT_RATE_SETTINGS, queriesPerHour, type RateSettings } from './rate-policy.js';

/** Work shorter than this needs no forecast: the progress lines say enough. */
export const FORECAST_MIN_SECONDS = 10 * 60;
/** A new forecast in the same batch only once the estimate grew by this factor. */
const REFORECAST_GROWTH = 1.25;

/** "at the default pace (at most 900 picture queries an hour)". */
export function describePace(rate: Pick<RateSettings, 'intervalMs' | 'hourlyCap'>): string {
  const isDefault = rate.intervalMs === DEFAULT_RATE_SETTINGS.intervalMs && rate.hourlyCap === DEFAULT_RATE_SETTINGS.hourlyCap;
  const perHour = formatCount(Math.floor(queriesPerHour(rate)));
  return `at the ${isDefault ? 'default' : 'configured'} pace (at most ${perHour} picture queries an hour)`;
}

export class BackfillForecast {
  private announcedSeconds: number | undefined;

  constructor(private readonly rate: Pick<RateSettings, 'intervalMs' | 'hourlyCap'>) {}

  /** The forecast line to log for this snapshot, or undefined when nothing new is to be said. */
  observe(snapshot: ProgressSnapshot): string | undefined {
    const pending = snapshot.total - snapshot.done;
    if (pending <= 0) {
      this.announcedSeconds = undefined;
      return undefined;
    }
    const eta = snapshot.etaSeconds;
    if (eta === null || eta < FORECAST_MIN_SECONDS) return undefined;
    if (this.announcedSeconds !== undefined && eta < this.announcedSeconds * REFORECAST_GROWTH) return undefined;
    this.announcedSeconds = eta;
    return (
      `${formatCount(pending)} pictures to check: about ${formatDuration(eta)} ${describePace(this.rate)}; ` +
      'pauses WhatsApp asks for (rate-overlimit) come on top'
    );
  }
}
