// The bus the use cases talk through: typed subscriptions, delivery in order, and a listener's
// failure that is reported while every other listener still hears the event.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EventBus } from '../../src/worker/event-bus.js';
import type { WorkerEvent } from '../../src/worker/events.js';
import { testJid } from '../support/jids.js';

type Failure = { error: unknown; event: string };

function bus(): { bus: EventBus<WorkerEvent>; failures: Failure[] } {
  const failures: Failure[] = [];
  return { bus: new EventBus<WorkerEvent>((error, event) => failures.push({ error, event: event.type })), failures };
}

test('a listener hears only the type it named, narrowed to its fields; onAny hears everything', () => {
  const { bus: b } = bus();
  const merged: string[] = [];
  const all: string[] = [];
  b.on('duplicate-merged', (event) => merged.push(event.jid));
  b.onAny((event) => all.push(event.type));
  b.emit({ type: 'status' });
  b.emit({ type: 'duplicate-merged', jid: testJid('491700000009@lid') });
  b.emit({ type: 'idle' });
  assert.equal(merged, ['491700000009@lid']);
  assert.equal(all, ['status', 'duplicate-merged', 'idle']);
});

test('a throwing listener is reported with its event, and the listeners after it still run', () => {
  const { bus: b, failures } = bus();
  const heard: string[] = [];
  b.on('history-synced', () => heard.push('sweep'));
  b.on('history-synced', () => {
    throw new Error('a bug in one use case');
  });
  b.onAny((event) => heard.push(`presenter:${event.type}`));
  assert.not.throws(() => b.emit({ type: 'history-synced' }), 'the emitter never sees the failure');
  assert.equal(heard, ['sweep', 'presenter:history-synced']);
  assert.is(failures.length, 1);
  assert.is(failures[0]!.event, 'history-synced');
  assert.match(String(failures[0]!.error), /a bug in one use case/);
});

test('an unsubscribed listener hears nothing more; one that unsubscribes while handling does not skip another', () => {
  const { bus: b } = bus();
  const heard: string[] = [];
  const stopFirst = b.on('status', () => {
    heard.push('first');
    stopFirst();
  });
  b.on('status', () => heard.push('second'));
  b.emit({ type: 'status' });
  b.emit({ type: 'status' });
  assert.equal(heard, ['first', 'second', 'second']);
});

test.run();
