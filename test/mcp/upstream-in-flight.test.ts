/**
 * `maxInFlight` (src/mcp/upstream-in-flight.ts): at most N requests run, the rest wait in arrival order,
 * a waiting request whose agent gives up leaves the queue without taking a slot, and 0 means no limit.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InFlightLimit } from '../../src/mcp/upstream-in-flight.js';

/** A request that runs until `finish()` is called. */
function held(log: string[], name: string): { send: () => Promise<string>; finish: () => void } {
  let finish = () => {};
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  return {
    send: async () => {
      log.push(`start ${name}`);
      await done;
      return name;
    },
    finish: () => finish(),
  };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('InFlightLimit', () => {
  it('runs at most the limit at once and starts the waiting ones in arrival order', async () => {
    const gate = new InFlightLimit(1);
    const log: string[] = [];
    const [a, b, c] = [held(log, 'a'), held(log, 'b'), held(log, 'c')];
    const runs = [gate.run(undefined, a.send), gate.run(undefined, b.send), gate.run(undefined, c.send)];
    await settle();
    assert.deepEqual(log, ['start a']);
    assert.equal(gate.waiting, 2);
    a.finish();
    await settle();
    assert.deepEqual(log, ['start a', 'start b']);
    b.finish();
    c.finish();
    assert.deepEqual(await Promise.all(runs), ['a', 'b', 'c']);
    assert.deepEqual(log, ['start a', 'start b', 'start c']);
    assert.equal(gate.waiting, 0);
  });

  it('lets a waiting request that is cancelled leave without taking a slot', async () => {
    const gate = new InFlightLimit(1);
    const log: string[] = [];
    const [a, b, c] = [held(log, 'a'), held(log, 'b'), held(log, 'c')];
    const cancel = new AbortController();
    const first = gate.run(undefined, a.send);
    const second = gate.run(cancel.signal, b.send);
    const third = gate.run(undefined, c.send);
    await settle();
    cancel.abort();
    await assert.rejects(second, /cancelled/i);
    a.finish();
    c.finish();
    assert.deepEqual(await Promise.all([first, third]), ['a', 'c']);
    assert.deepEqual(log, ['start a', 'start c'], 'the cancelled request never ran');
    assert.equal(gate.waiting, 0);
  });

  it('releases the slot when a request fails, and 0 means no limit', async () => {
    const gate = new InFlightLimit(1);
    await assert.rejects(
      gate.run(undefined, async () => {
        throw new Error('upstream said no');
      }),
      /upstream said no/,
    );
    assert.equal(await gate.run(undefined, async () => 'next'), 'next');
    const open = new InFlightLimit(0);
    const log: string[] = [];
    const many = Array.from({ length: 5 }, (_, i) => held(log, String(i)));
    const runs = many.map((m) => open.run(undefined, m.send));
    await settle();
    assert.equal(log.length, 5);
    for (const m of many) m.finish();
    await Promise.all(runs);
  });
});
