/** The CLI logger: one value per key however deep the child loggers nest; pretty on a TTY, JSON otherwise. */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { pino } from 'pino';
import { logFormat, uniqueBindings } from '../../src/cli/logger.js';

function capture(): { stream: Writable; lines: () => string[] } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      text += chunk.toString();
      done();
    },
  });
  return { stream, lines: () => text.split('\n').filter(Boolean) };
}

test('nested child loggers replace a key instead of repeating it', () => {
  const out = capture();
  const root = uniqueBindings(pino({ base: undefined }, out.stream));
  const approvals = root
    .child({ part: 'connector' })
    .child({ part: 'approvals' })
    .child({ part: 'approvals' });
  approvals.info('x');
  const upstream = root
    .child({ upstream: 'erp' })
    .child({ upstream: 'erp', slot: 1 })
    .child({ upstream: 'erp' });
  upstream.warn('y');
  const [first, second] = out.lines();
  assert.equal(first?.split('"part":').length, 2, first);
  assert.equal(JSON.parse(first ?? '{}').part, 'approvals');
  assert.equal(second?.split('"upstream":').length, 2, second);
  assert.equal(JSON.parse(second ?? '{}').slot, 1, 'other bindings are kept');
});

test('a replaced child keeps its parent’s level', () => {
  const out = capture();
  const root = uniqueBindings(pino({ base: undefined, level: 'info' }, out.stream));
  const parent = root.child({ part: 'a' });
  parent.level = 'warn';
  const child = parent.child({ part: 'b' });
  child.info('hidden');
  child.warn('shown');
  assert.deepEqual(
    out.lines().map((l) => JSON.parse(l).msg),
    ['shown'],
  );
});

test('format: pretty on a terminal, JSON otherwise, AIRLOCK_LOG_FORMAT wins', () => {
  assert.equal(logFormat({}, true), 'pretty');
  assert.equal(logFormat({}, false), 'json');
  assert.equal(logFormat({ AIRLOCK_LOG_FORMAT: 'json' }, true), 'json');
  assert.equal(logFormat({ AIRLOCK_LOG_FORMAT: 'pretty' }, false), 'pretty');
  assert.equal(logFormat({ AIRLOCK_LOG_FORMAT: 'xml' }, false), 'json');
});
