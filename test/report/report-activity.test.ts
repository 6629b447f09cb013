/**
 * How the report reads PII classes and calls out of audit entries (every shape an entry may carry
 * them in), filters them by period, agent and upstream, and draws them: the diagram and the page
 * show hostile names as text.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { collectActivityEvidence, piiClassesOfEntry } from '../../src/report/activity-evidence.js';
import { renderFlowDiagram } from '../../src/report/flow-diagram.js';
import { upstreamOfTool } from '../../src/report/governance-evidence.js';
import type { AuditEntryRow } from '../../src/store/store.js';

test('PII classes: from the pii stage decision, from a pii field, else from tokens in the redacted payloads', () => {
  assert.deepEqual(
    piiClassesOfEntry({
      stages: [
        {
          stage: 'pii',
          outcome: 'modify',
          detail: { redacted: { EMAIL: { tokenize: 2, allow: 5 }, CARD: { mask: 1 } } },
        },
      ],
    }),
    { EMAIL: 2, CARD: 1 },
  );
  assert.deepEqual(
    piiClassesOfEntry({ stages: [{ stage: 'pii', outcome: 'modify', pii: { IBAN: { tokenize: 1 } } }] }),
    { IBAN: 1 },
  );
  assert.deepEqual(piiClassesOfEntry({ pii: { PHONE: 3 } }), { PHONE: 3 });
  assert.deepEqual(
    piiClassesOfEntry({
      result: {
        redacted: { text: 'owner [[EMAIL:7f3a9c21]] and [[EMAIL:00aa11bb]], [[NAME:abcdef12]]' },
        sha256: 'x',
      },
    }),
    { EMAIL: 2, NAME: 1 },
  );
  assert.deepEqual(
    piiClassesOfEntry({
      stages: [{ stage: 'pii', outcome: 'allow', detail: { redacted: { '<b>': 1, EMAIL: -4 } } }],
    }),
    {},
  );
});

function row(seq: number, time: number, entry: Record<string, unknown>): AuditEntryRow {
  return { seq, time, hash: String(seq), entry: JSON.stringify({ seq, time, ...entry }) };
}

const call = (agent: string, tool: string, decision: string, pii?: Record<string, number>) => ({
  kind: 'request',
  method: 'tools/call',
  agent: { name: agent },
  tool,
  decision,
  stages: pii ? [{ stage: 'pii', outcome: 'modify', detail: { redacted: pii } }] : [],
});

const ROWS = [
  row(1, 1000, call('agent-1', 'erp.get_customer', 'allow', { EMAIL: 1, IBAN: 1 })),
  row(2, 2000, call('agent-1', 'erp.get_customer', 'deny')),
  row(3, 3000, call('agent<script>', 'wiki.lookup', 'allow', { EMAIL: 2 })),
  row(4, 4000, { kind: 'admin', action: 'killswitch.enable', actor: 'cli', target: 'wiki.lookup' }),
  { seq: 5, time: 5000, hash: '5', entry: '{not json' },
  row(6, 6000, {
    kind: 'request',
    method: 'tools/list',
    agent: { name: 'agent-1' },
    tool: null,
    decision: 'allow',
  }),
];

const trail = {
  async listAuditEntries(opts: { afterSeq?: number; limit?: number } = {}) {
    return ROWS.filter((r) => r.seq > (opts.afterSeq ?? 0)).slice(0, opts.limit ?? 1000);
  },
};
const upstreamOf = (tool: string) => upstreamOfTool(tool, ['erp', 'wiki'], '.');

test('activity: calls, decisions and PII per agent and tool; period, agent and upstream filters', async () => {
  const all = await collectActivityEvidence({ audit: trail, scope: {}, upstreamOf, reproduce: 'x' });
  assert.equal(all.toolCalls, 3);
  assert.equal(all.entriesInScope, 5, 'the unreadable row is skipped, not counted');
  assert.deepEqual(
    all.flows.map((f) => [f.agent, f.tool, f.upstream, f.calls, f.allowed, f.denied, f.pii]),
    [
      ['agent-1', 'erp.get_customer', 'erp', 2, 1, 1, { EMAIL: 1, IBAN: 1 }],
      ['agent<script>', 'wiki.lookup', 'wiki', 1, 1, 0, { EMAIL: 2 }],
    ],
  );
  assert.deepEqual(all.piiByTool, [
    { tool: 'erp.get_customer', classes: { EMAIL: 1, IBAN: 1 } },
    { tool: 'wiki.lookup', classes: { EMAIL: 2 } },
  ]);
  assert.deepEqual(
    all.adminActions.map((a) => a.action),
    ['killswitch.enable'],
  );
  const period = await collectActivityEvidence({
    audit: trail,
    scope: { since: 1500, until: 3500 },
    upstreamOf,
    reproduce: 'x',
  });
  assert.equal(period.toolCalls, 2);
  const wiki = await collectActivityEvidence({
    audit: trail,
    scope: { upstream: 'wiki' },
    upstreamOf,
    reproduce: 'x',
  });
  assert.deepEqual(
    wiki.flows.map((f) => f.tool),
    ['wiki.lookup'],
  );
  const agent = await collectActivityEvidence({
    audit: trail,
    scope: { agent: 'agent-1' },
    upstreamOf,
    reproduce: 'x',
  });
  assert.deepEqual(
    agent.piiByTool.map((t) => t.tool),
    ['erp.get_customer'],
  );

  const svg = String(renderFlowDiagram(all.flows));
  assert.match(svg, /EMAIL×1 IBAN×1 tokenized/);
  assert.match(svg, /class="edge pii"/);
  assert.ok(svg.includes('agent&lt;script&gt;'));
  assert.doesNotMatch(svg, /<script/);
  assert.match(String(renderFlowDiagram([])), /No tool calls in this period/);
});
