/**
 * The overview's "Connector members" section: each member of a pair with its version, tunnels,
 * upstreams up or down, which one signs the audit checkpoints, ready, and `stale` once its heartbeat
 * is older than 15 s; member-supplied text is escaped.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderPairMembers } from '../../src/console/pair-members-section.js';
import type { MemberRecord } from '../../src/store/store.js';

const NOW = 1_000_000;

function member(id: string, overrides: Partial<MemberRecord> = {}): MemberRecord {
  return {
    id,
    version: '0.9.0',
    host: 'bank-host-1',
    pid: 4242,
    startedAt: NOW - 60_000,
    updatedAt: NOW - 2_000,
    tunnels: { up: 2, wanted: 2 },
    upstreams: [
      { name: 'erp', up: true },
      { name: 'crm', up: false },
    ],
    auditSigner: false,
    ready: true,
    ...overrides,
  };
}

describe('connector members on the overview', () => {
  it('shows every member: version, tunnels, upstreams, the signer, ready or stale', () => {
    const body = String(
      renderPairMembers(
        [
          member('c-a', { auditSigner: true }),
          member('c-b', { updatedAt: NOW - 20_000, tunnels: { up: 0, wanted: 2 } }),
        ],
        NOW,
      ),
    );
    const rowA = /<tr data-member="c-a">(.*?)<\/tr>/s.exec(body)?.[1] ?? '';
    const rowB = /<tr data-member="c-b">(.*?)<\/tr>/s.exec(body)?.[1] ?? '';
    assert.match(rowA, /0\.9\.0/);
    assert.match(rowA, /2 of 2 up/);
    assert.match(rowA, /<code>erp<\/code> <span class="pill ok">up<\/span>/);
    assert.match(rowA, /<code>crm<\/code> <span class="pill bad">down<\/span>/);
    assert.match(rowA, /signs checkpoints/);
    assert.match(rowA, /pill ok">ready/);
    assert.match(rowB, /0 of 2 up/);
    assert.match(rowB, /pill warn">stale/);
    assert.doesNotMatch(rowB, /signs checkpoints/);
  });

  it('escapes what members wrote and says so when none reported', () => {
    const hostile = String(renderPairMembers([member('<script>x</script>')], NOW));
    assert.doesNotMatch(hostile, /<script>x/);
    assert.match(String(renderPairMembers([], NOW)), /No member has reported yet/);
  });
});
