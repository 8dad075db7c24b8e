// The life of one connection as a scope: timers started in it and waits begun in it all end when
// it ends. Nothing awaited on a dead socket hangs (home-assistant-js-websocket never settles a
// subscribe that was in flight when the socket closed) and no timer fires for a dead socket.

import type { Logger } from 'pino';
import { TimerGroup, type Clock } from '../clock.js';
import { describeWireError } from './wire-errors.js';

/** What a wait inside an ended scope rejects with. */
export class ScopeEndedError extends Error {
  override readonly name = 'ScopeEndedError';
}

export class ConnectionScope {
  private isEnded = false;
  private readonly onEnd = new Set<(error: Error) => void>();
  private readonly timers: TimerGroup;

  constructor(
    clock: Clock,
    private readonly logger: Logger,
  ) {
    this.timers = new TimerGroup(clock);
  }

  get ended(): boolean {
    return this.isEnded;
  }

  end(): void {
    if (this.isEnded) return;
    this.isEnded = true;
    this.timers.cancelAll();
    const ended = new ScopeEndedError('the connection to Home Assistant ended');
    for (const settle of this.onEnd) settle(ended);
    this.onEnd.clear();
  }

  /** A clock timer that the end of the scope cancels; returns its own cancel. */
  timer(callback: () => void, delayMs: number): () => void {
    return this.timers.after(delayMs, callback);
  }

  /** Resolves true after `delayMs`, or false as soon as the scope ends. */
  sleep(delayMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      if (this.isEnded) {
        resolve(false);
        return;
      }
      const onEnd = (): void => resolve(false);
      this.onEnd.add(onEnd);
      this.timer(() => {
        this.onEnd.delete(onEnd);
        resolve(!this.isEnded);
      }, delayMs);
    });
  }

  /** `promise`, or a ScopeEndedError once the scope ends, whichever comes first. */
  untilEnded<T>(promise: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.isEnded) {
        promise.catch((error: unknown) => this.logger.debug({ reason: describeWireError(error) }, 'late failure after the connection ended'));
        reject(new ScopeEndedError('the connection to Home Assistant ended'));
        return;
      }
      this.onEnd.add(reject);
      promise.then(
        (value) => {
          this.onEnd.delete(reject);
          resolve(value);
        },
        (error: unknown) => {
          this.onEnd.delete(reject);
          reject(error);
        },
      );
    });
  }
}
