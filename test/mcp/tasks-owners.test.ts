/**
 * The task ownership map (src/mcp/task-owners.ts): a task is found only for the identity that created
 * it, and the map stays bounded — in all, per identity (one identity cannot push out another's tasks),
 * and in time (the task's own ttl, capped).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type OwnedTask, TaskOwners } from '../../src/mcp/task-owners.js';

const upstream: OwnedTask['upstream'] = {
  name: 'up',
  request: async () => ({}),
  capabilities: () => undefined,
};
const task = (owner: string, taskId: string): OwnedTask => ({ owner, taskId, upstream, tool: 'up.t' });

describe('TaskOwners', () => {
  it('finds a task for its owner only, under the same id another identity may also have', () => {
    const owners = new TaskOwners();
    owners.record(task('alice', 't1'), undefined);
    owners.record({ ...task('bob', 't1'), tool: 'up.other' }, undefined);
    assert.equal(owners.find('alice', 't1')?.tool, 'up.t');
    assert.equal(owners.find('bob', 't1')?.tool, 'up.other');
    assert.equal(owners.find('carol', 't1'), undefined);
    assert.deepEqual(
      owners.of('alice').map((t) => t.taskId),
      ['t1'],
    );
  });

  it('keeps at most maxPerIdentity per identity: a flood evicts only the flooder’s oldest', () => {
    const owners = new TaskOwners({ maxPerIdentity: 3, maxTasks: 100 });
    owners.record(task('alice', 'keep'), undefined);
    for (let i = 0; i < 10; i++) owners.record(task('mallory', `m${i}`), undefined);
    assert.ok(owners.find('alice', 'keep'));
    assert.deepEqual(
      owners.of('mallory').map((t) => t.taskId),
      ['m7', 'm8', 'm9'],
    );
    assert.equal(owners.size, 4);
  });

  it('keeps at most maxTasks in all, oldest first', () => {
    const owners = new TaskOwners({ maxTasks: 2 });
    owners.record(task('a', '1'), undefined);
    owners.record(task('b', '2'), undefined);
    owners.record(task('c', '3'), undefined);
    assert.equal(owners.size, 2);
    assert.equal(owners.find('a', '1'), undefined);
    assert.ok(owners.find('c', '3'));
  });

  it('forgets a task after its ttl, capped at maxAgeMs', () => {
    let now = 1_000;
    const owners = new TaskOwners({ maxAgeMs: 500, now: () => now });
    owners.record(task('a', 'short'), 100);
    owners.record(task('a', 'long'), 60_000);
    owners.record(task('a', 'unlimited'), undefined);
    now += 101;
    assert.equal(owners.find('a', 'short'), undefined);
    assert.ok(owners.find('a', 'long'));
    now += 400;
    assert.equal(owners.find('a', 'long'), undefined, 'capped at maxAgeMs');
    assert.deepEqual(owners.of('a'), []);
  });
});
