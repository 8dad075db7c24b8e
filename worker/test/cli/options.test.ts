// The number options of the command line: each bad value is refused with a message that names the
// option and the rule it broke.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { nonNegativeNumber, positiveNumber, UsageError } from '../../src/cli/options.js';

const refusal = (read: () => unknown): string => {
  try {
    read();
  } catch (error) {
    assert.instance(error, UsageError);
    return (error as Error).message;
  }
  return assert.unreachable('the value was accepted') as never;
};

test('positiveNumber takes a number above 0 and refuses 0 and negatives alike', () => {
  assert.is(positiveNumber({ contacts: '200' }, 'contacts'), 200);
  assert.is(positiveNumber({ contacts: '0.5' }, 'contacts'), 0.5);
  assert.is(positiveNumber({}, 'contacts'), undefined, 'absent: the default applies');
  assert.is(refusal(() => positiveNumber({ contacts: '0' }, 'contacts')), "--contacts must be a number above 0; got '0'");
  assert.is(refusal(() => positiveNumber({ contacts: '-3' }, 'contacts')), "--contacts must be a number above 0; got '-3'");
  assert.is(refusal(() => positiveNumber({ contacts: '-0' }, 'contacts')), "--contacts must be a number above 0; got '-0'");
  assert.is(refusal(() => positiveNumber({ contacts: 'many' }, 'contacts')), "--contacts must be a number above 0; got 'many'");
  assert.is(refusal(() => positiveNumber({ contacts: '' }, 'contacts')), "--contacts must be a number above 0; got ''", 'blank is not 0');
  assert.is(refusal(() => positiveNumber({ contacts: 'Infinity' }, 'contacts')), "--contacts must be a number above 0; got 'Infinity'");
});

test('nonNegativeNumber takes 0 and more, and refuses negatives and non-numbers', () => {
  assert.is(nonNegativeNumber({ seed: '0' }, 'seed'), 0);
  assert.is(nonNegativeNumber({ 'quiet-period': '1.5' }, 'quiet-period'), 1.5);
  assert.is(refusal(() => nonNegativeNumber({ seed: '-1' }, 'seed')), "--seed must be a number of 0 or more; got '-1'");
  assert.is(refusal(() => nonNegativeNumber({ seed: '  ' }, 'seed')), "--seed must be a number of 0 or more; got '  '");
  assert.is(refusal(() => nonNegativeNumber({ seed: true }, 'seed')), "--seed must be a number of 0 or more; got 'true'");
});

test.run();
