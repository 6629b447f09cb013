/**
 * Sealing an audit entry in one canonical pass (`sealEntryWithLeaf`) stores, hashes and signs exactly
 * what the previous implementation did: the same entry object (members and their order), the same
 * stored text, the same `hash` and the same Merkle leaf, for realistic and for hostile events; it
 * throws where the previous one threw. The golden vectors were produced by the previous implementation.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import canonicalize from 'canonicalize';
import fc from 'fast-check';
import {
  type AuditEntryHeader,
  type AuditEvent,
  entryHash,
  entryLeafHash,
  plainSeal,
  sealEntry,
  sealEntryWithLeaf,
} from '../../src/audit/audit-entry.js';
import { leafHash } from '../../src/audit/merkle-tree.js';
import { sha256Hex } from '../../src/json/canonical-hash.js';
import { toJsonValue } from '../../src/json/canonical-json.js';

type Header = Omit<AuditEntryHeader, 'v'>;

/** The sealing of the previous release, with the `canonicalize` package itself. */
function previousSeal(header: Header, event: unknown): { entry: object; text: string; leaf: string } {
  const json = (v: unknown) => (toJsonValue(v) ?? {}) as object;
  const unsealed = { ...json({ ...(event as object), v: 1 }), ...json(header) };
  const entry = { ...unsealed, hash: sha256Hex(canonicalize(unsealed) ?? 'null') };
  const leafText = canonicalize(toJsonValue(entry) ?? null) ?? 'null';
  return {
    entry,
    text: JSON.stringify(entry),
    leaf: leafHash(Buffer.from(leafText, 'utf8')).toString('hex'),
  };
}

function sealNow(header: Header, event: unknown): { entry: object; text: string; leaf: string } {
  const sealed = sealEntryWithLeaf(header, event as AuditEvent);
  const fast = plainSeal(header, event as AuditEvent);
  if (fast) {
    assert.equal(fast.text, sealed.text);
    assert.equal(fast.leafHash.toString('hex'), sealed.leafHash.toString('hex'));
  }
  return { entry: sealed.entry, text: sealed.text, leaf: sealed.leafHash.toString('hex') };
}

function sameSeal(header: Header, event: unknown): void {
  let expected: ReturnType<typeof previousSeal> | undefined;
  try {
    expected = previousSeal(header, event);
  } catch {
    assert.throws(() => sealNow(header, event));
    return;
  }
  const actual = sealNow(header, event);
  assert.equal(actual.text, expected.text);
  assert.equal(actual.leaf, expected.leaf);
  assert.deepEqual(actual.entry, expected.entry);
  assert.deepEqual(Object.keys(actual.entry), Object.keys(expected.entry));
  assert.equal(JSON.stringify(actual.entry), actual.text);
  assert.equal(entryLeafHash(actual.entry as Record<string, unknown>).toString('hex'), actual.leaf);
  // A verifier recomputes `hash` from the stored text (unless the event or header carried a `hash` member).
  const stored = JSON.parse(actual.text);
  const carried = (toJsonValue({ ...(event as object), ...header }) as { hash?: unknown } | null)?.hash;
  if (carried === undefined) assert.equal(entryHash(stored), stored.hash);
}

const anyCodeUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));
const text = fc.oneof(
  fc.string(),
  fc.string({ unit: 'grapheme' }),
  fc.string({ unit: anyCodeUnit, maxLength: 4 }),
);
const key = fc.oneof(
  fc.string(),
  fc.constantFrom('0', '7', '10', '__proto__', 'toJSON', 'hash', 'v', 'seq', 'time', 'tenant', 'prevHash'),
);
const leafValue = fc.oneof(
  text,
  fc.double(),
  fc.constantFrom<unknown>(-0, 1e21, 5e-7, 2 ** 64, null, true, undefined, new Date(1), Number.NaN),
);
const json = fc.letrec((tie) => ({
  node: fc.oneof({ depthSize: 'small' }, leafValue, fc.array(tie('node')), fc.dictionary(key, tie('node'))),
})).node;
const payload = fc.option(fc.record({ redacted: json, sha256: fc.stringMatching(/^[0-9a-f]{64}$/) }));
const requestEvent = fc.record({
  kind: fc.constant('request'),
  agent: fc.option(fc.record({ name: text, spiffeId: fc.option(text, { nil: undefined }) })),
  endUser: fc.option(text),
  session: fc.option(text),
  era: fc.option(fc.constantFrom('2025-11-25', '2026-07-28'), { nil: undefined }),
  requestId: fc.oneof(fc.integer(), text, fc.constant(null)),
  method: text,
  tool: fc.option(text),
  decision: fc.constantFrom('allow', 'deny', 'pending', 'error'),
  intentSeq: fc.option(fc.nat()),
  stages: fc.array(fc.record({ stage: text, outcome: text, code: fc.option(text, { nil: undefined }) })),
  arguments: payload,
  result: payload,
  durationMs: fc.double({ noNaN: true }),
  requestBytes: fc.nat(),
});
const hostileEvent = fc
  .tuple(requestEvent, fc.dictionary(key, json))
  .map(([e, extra]) => ({ ...e, ...extra }));
const header = fc.record({
  seq: fc.oneof(fc.nat(), fc.constant(-0)),
  prevHash: fc.oneof(fc.stringMatching(/^[0-9a-f]{64}$/), text),
  time: fc.oneof(fc.nat(), fc.double(), fc.constant(-0)),
  tenant: text,
});

describe('sealing an audit entry in one pass', () => {
  it('stores, hashes and leaves exactly what the previous implementation did', () => {
    fc.assert(fc.property(header, requestEvent, sameSeal), { numRuns: 1500 });
  });

  it('takes the one-pass path for well-formed events', () => {
    const wellFormed = fc.string({ unit: 'grapheme' });
    const event = requestEvent.map((e) => ({ ...e, method: 'tools/call', agent: null, endUser: null }));
    const plainHeader = header.map((h) => ({ ...h, prevHash: 'a'.repeat(64), time: 1 }));
    fc.assert(
      fc.property(plainHeader, event, wellFormed, (h, e, tenant) => {
        const text = JSON.stringify(e);
        fc.pre(!/\\ud[89a-f]/i.test(text)); // JSON escapes lone surrogates as \udXXX: none anywhere
        assert.ok(plainSeal({ ...h, tenant }, e as AuditEvent), 'one pass');
        sameSeal({ ...h, tenant }, e);
      }),
      { numRuns: 500 },
    );
  });

  it('also for events with extra, colliding or hostile members (and throws where it threw)', () => {
    fc.assert(fc.property(header, hostileEvent, sameSeal), { numRuns: 1500 });
  });

  it('also for headers with extra or hostile members', () => {
    const hostileHeader = fc
      .tuple(header, fc.dictionary(key, leafValue, { maxKeys: 3 }))
      .map(([h, extra]) => ({ ...h, ...extra }) as unknown as Header);
    fc.assert(fc.property(hostileHeader, fc.oneof(requestEvent, hostileEvent), sameSeal), { numRuns: 1000 });
  });
});

describe('sealing an audit entry in one pass: edge cases', () => {
  it('on the edge cases by name', () => {
    const h = { seq: 3, prevHash: 'f'.repeat(64), time: 1700000000123, tenant: 'acme' };
    const cases: unknown[] = [
      { kind: 'admin', action: 'tool.pin', actor: 'cli', target: null, hash: 'forged', time: 1 },
      { kind: 'admin', action: 'tool.pin', actor: 'cli', target: 'a\ud800' },
      { kind: 'admin', toJSON: () => ({}) },
      { kind: 'admin', toJSON: () => 'not an object' },
      { kind: 'admin', v: undefined, seq: undefined, detail: { when: new Date(0) } },
      Object.assign(Object.create(null), { kind: 'admin', actor: 'x' }),
    ];
    for (const c of cases) sameSeal(h, c);
    sameSeal({ ...h, time: Number.NaN }, { kind: 'admin' });
    sameSeal({ ...h, 7: 'integer-like', hash: 'x' } as unknown as typeof h, { kind: 'admin', 7: 1 });
    sameSeal({ ...h, 7: 'integer-like' } as unknown as typeof h, { kind: 'admin' });
    sameSeal({ ...h, tenant: 'é\ud83d\ude00' }, { kind: 'admin' });
    assert.throws(
      () => sealEntry(h, { kind: 'admin', actor: 'a\udfff' } as unknown as AuditEvent),
      /Lone surrogate/,
    );
  });
});

describe('sealing an audit entry in one pass: golden vectors', () => {
  it('matches the golden vectors of the previous implementation', () => {
    const h = { seq: 3, prevHash: 'f'.repeat(64), time: 1700000000123, tenant: 'acme' };
    const admin = {
      kind: 'admin',
      action: 'identity.revoke',
      actor: 'console:alice',
      target: 'claims-bot',
      reason: undefined,
      detail: {
        z: 1,
        a: [1, undefined, '\u00e9'],
        '10': -0,
        '9': 1e21,
        '\ud83d\ude00': 5e-7,
        '\ufb33': 2 ** 64,
      },
    };
    const sealed = sealEntryWithLeaf(h, admin as unknown as AuditEvent);
    assert.equal(sealed.entry.hash, 'df386e012e93ec0ca9bf4ee41fae29b4500a8375be3d38ec949d9f3083ff41ff');
    assert.equal(
      sealed.leafHash.toString('hex'),
      'e1d4b3f73394a320ddeb280f39870ff3ed8ba81995292b455ef15ab5a68b7521',
    );
    assert.equal(
      sealed.text,
      '{"kind":"admin","action":"identity.revoke","actor":"console:alice","target":"claims-bot",' +
        '"detail":{"9":1e+21,"10":0,"z":1,"a":[1,null,"\u00e9"],"\ud83d\ude00":5e-7,"\ufb33":18446744073709552000},"v":1,' +
        `"seq":3,"prevHash":"${'f'.repeat(64)}","time":1700000000123,"tenant":"acme",` +
        '"hash":"df386e012e93ec0ca9bf4ee41fae29b4500a8375be3d38ec949d9f3083ff41ff"}',
    );
    const request = {
      kind: 'request',
      agent: { name: 'bot', spiffeId: undefined },
      endUser: null,
      session: 's\u2028\u0001"\\',
      era: undefined,
      requestId: 7,
      method: 'tools/call',
      tool: 'echo',
      decision: 'allow',
      intentSeq: 1,
      code: null,
      reason: null,
      stages: [{ stage: 'authorize', outcome: 'allow' }],
      arguments: { redacted: { when: new Date(0) }, sha256: 'a'.repeat(64) },
      result: null,
      error: null,
      upstreamLatencyMs: 1.5,
      durationMs: 0.1,
      requestBytes: 12,
      responseBytes: 34,
    };
    const second = sealEntryWithLeaf(h, request as unknown as AuditEvent);
    assert.equal(second.entry.hash, '95fae3e881e97d238b58393d735e268b1a3875dc75f13c2833d351b59cca14c6');
    assert.equal(
      second.leafHash.toString('hex'),
      '14df6f0277ad5990948e24ca45f1ad3d687756503c5312d9775b6add556aaeff',
    );
  });
});
