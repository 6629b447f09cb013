/**
 * The CLI process fixture itself (cli-process.ts): a child that never gets ready in time is killed
 * before `startCli` rejects (a stray relay would keep the test file running until its timeout), and a
 * child that exits before it is ready is reported with its stderr.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startCli } from './cli-process.js';

let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-cli-process-'));
});
after(() => rm(dir, { recursive: true, force: true }));

/** Whether a process with this id still exists. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('a child that is not ready in time is killed before startCli rejects', async () => {
  const args = ['relay', '--domain', 'localhost', '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0'];
  const error = await startCli([...args, '--data-dir', join(dir, 'relay')], 1).then(
    () => assert.fail('a relay cannot be ready within 1 ms'),
    (err: unknown) => err as Error & { pid?: number },
  );
  assert.match(error.message, /not ready after 1 ms/);
  assert.equal(typeof error.pid, 'number');
  // startCli awaited the child's exit before it rejected: the relay is already gone.
  assert.equal(alive(error.pid as number), false);
});

test('a child that exits before it is ready is reported with its stderr', async () => {
  const error = await startCli(['connector', 'run', '--config', join(dir, 'missing.yaml')]).then(
    () => assert.fail('a connector without a config cannot start'),
    (err: unknown) => err as Error & { pid?: number },
  );
  assert.match(error.message, /exited with \d+ before ready/);
  assert.match(error.message, /missing\.yaml/);
  assert.equal(alive(error.pid as number), false);
});
