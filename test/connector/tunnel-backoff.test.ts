import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  Backoff,
  DEFAULT_BACKOFF_INITIAL_MS,
  DEFAULT_BACKOFF_MAX_MS,
} from '../../src/supervision/backoff.js';

test('ceilings grow exponentially up to maxMs; delays are full jitter below the ceiling', () => {
  const randoms = [0.999, 0.5, 0, 0.999, 0.999, 0.999, 0.999, 0.999];
  const backoff = new Backoff({
    initialMs: 100,
    maxMs: 1000,
    factor: 2,
    random: () => randoms.shift() ?? 0.999,
  });
  const delays = Array.from({ length: 8 }, () => backoff.nextDelay());
  assert.deepEqual(delays, [99, 100, 0, 799, 999, 999, 999, 999]);
  assert.equal(backoff.attempts, 8);
  assert.equal(backoff.ceilingMs, 1000);
});

test('a connection that stayed up for resetAfterMs starts again from initialMs; a short one does not', () => {
  let now = 0;
  const backoff = new Backoff({
    initialMs: 100,
    maxMs: 10_000,
    resetAfterMs: 1000,
    random: () => 0.999,
    clock: { now: () => now },
  });
  for (let i = 0; i < 5; i++) backoff.nextDelay();
  assert.equal(backoff.ceilingMs, 3200);
  backoff.connected();
  now += 500; // flapping: up for half a second only
  assert.equal(backoff.nextDelay(), 3196); // floor(0.999 * 3200)
  backoff.connected();
  now += 1000; // stable
  assert.equal(backoff.nextDelay(), 99);
  backoff.reset();
  assert.equal(backoff.attempts, 0);
});

test('defaults are 250 ms .. 10 s and every delay stays within [0, max)', () => {
  const backoff = new Backoff();
  assert.equal(backoff.initialMs, DEFAULT_BACKOFF_INITIAL_MS);
  assert.equal(backoff.maxMs, DEFAULT_BACKOFF_MAX_MS);
  fc.assert(
    fc.property(fc.array(fc.double({ min: 0, max: 0.9999999, noNaN: true }), { maxLength: 100 }), (rs) => {
      const b = new Backoff({ random: () => rs.shift() ?? 0.5 });
      for (let i = 0; i < 100; i++) {
        const d = b.nextDelay();
        assert.ok(d >= 0 && d < DEFAULT_BACKOFF_MAX_MS && Number.isInteger(d));
      }
    }),
  );
  assert.throws(() => new Backoff({ initialMs: 0 }), RangeError);
});
