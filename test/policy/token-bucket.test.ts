import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { KeyedTokenBucket } from '../../src/policy/token-bucket.js';

describe('KeyedTokenBucket (injected clock)', () => {
  test('burst, then refill at the rate; keys are independent', () => {
    let now = 0;
    const buckets = new KeyedTokenBucket({ perSecond: 2, burst: 3, now: () => now });
    assert.deepEqual(
      [1, 2, 3].map(() => buckets.take('a').allowed),
      [true, true, true],
    );
    const refused = buckets.take('a');
    assert.equal(refused.allowed, false);
    assert.equal(refused.retryAfterMs, 500);
    assert.equal(buckets.take('b').allowed, true, 'another key has its own bucket');
    now = 499;
    assert.equal(buckets.take('a').allowed, false);
    now = 500;
    const ok = buckets.take('a');
    assert.equal(ok.allowed, true);
    assert.equal(ok.remaining, 0);
    now = 10_000; // long idle: capped at burst, not 19 tokens
    assert.deepEqual(
      [1, 2, 3, 4].map(() => buckets.take('a').allowed),
      [true, true, true, false],
    );
  });

  test('per-call rates (a policy reload) take effect at once, capped at the new burst', () => {
    let now = 0;
    const buckets = new KeyedTokenBucket({ perSecond: 10, burst: 10, now: () => now });
    assert.equal(buckets.take('bot').remaining, 9);
    const slow = { perSecond: 1, burst: 2 };
    assert.equal(buckets.take('bot', { rate: slow }).remaining, 1);
    assert.equal(buckets.take('bot', { rate: slow }).allowed, true);
    assert.equal(buckets.take('bot', { rate: slow }).allowed, false);
    now = 1_000;
    assert.equal(buckets.take('bot', { rate: slow }).allowed, true);
    // Costs above one token.
    now = 5_000;
    const big = buckets.take('bot', { rate: slow, cost: 3 });
    assert.equal(big.allowed, false);
    assert.equal(big.retryAfterMs, 1_000);
    assert.throws(() => buckets.take('bot', { cost: 0 }), RangeError);
    assert.throws(() => new KeyedTokenBucket({ perSecond: 0, burst: 1 }), RangeError);
  });

  test('memory stays bounded: refilled buckets go first, then the least recently used', () => {
    let now = 0;
    const buckets = new KeyedTokenBucket({ perSecond: 1, burst: 2, maxKeys: 3, now: () => now });
    buckets.take('a');
    buckets.take('b');
    buckets.take('c');
    buckets.take('c');
    now = 1_000; // a and b have refilled, c (drained twice) has not
    buckets.take('d');
    assert.equal(buckets.size, 3);
    // c kept its state: one token refilled since, so two takes leave it empty.
    assert.equal(buckets.take('c').allowed, true);
    assert.equal(buckets.take('c').allowed, false);
    // Nothing refilled: the least recently used key is dropped.
    now = 1_000;
    for (const k of ['e', 'f', 'g']) {
      buckets.take(k);
      buckets.take(k);
    }
    assert.equal(buckets.size, 3);
    buckets.reset();
    assert.equal(buckets.size, 0);
  });
});
