// The one listener set: subscribe returns the unsubscribe, and one listener's failure is reported
// and never stops the others (nor fails the code that emitted: a picture check, a key write).

export type Listener<E> = (event: E) => void;

export class Listeners<E> {
  private readonly listeners = new Set<Listener<E>>();

  /** `onFailure` hears every listener that threw, with the event it threw on. */
  constructor(private readonly onFailure: (error: unknown, event: E) => void) {}

  add(listener: Listener<E>): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(event: E): void {
    // A copy, so a listener that unsubscribes (or subscribes) while handling does not skip another.
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch (error) {
        this.onFailure(error, event);
      }
    }
  }
}
