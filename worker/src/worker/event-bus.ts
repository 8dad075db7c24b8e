// The typed event bus the use cases talk through (ingest, the sweep, the job runner, and the HA
// presenter outside). Built on the one listener set: a listener that throws is reported and the
// others still run, so a bug in one listener never breaks another use case or the emitter.

import { Listeners } from '../listeners.js';

type Typed = { readonly type: string };

export class EventBus<E extends Typed> {
  private readonly listeners: Listeners<E>;

  /** `onFailure` hears every listener that threw, with the event it threw on. */
  constructor(onFailure: (error: unknown, event: E) => void) {
    this.listeners = new Listeners(onFailure);
  }

  /** Hears every event; returns the unsubscribe. */
  onAny(listener: (event: E) => void): () => void {
    return this.listeners.add(listener);
  }

  /** Hears one type of event, already narrowed; returns the unsubscribe. */
  on<K extends E['type']>(type: K, listener: (event: Extract<E, { readonly type: K }>) => void): () => void {
    return this.listeners.add((event) => {
      if (event.type === type) listener(event as Extract<E, { readonly type: K }>);
    });
  }

  /** Delivers to every listener in the order they subscribed, synchronously. */
  emit(event: E): void {
    this.listeners.emit(event);
  }
}
