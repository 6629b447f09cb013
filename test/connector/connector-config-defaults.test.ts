import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DEFAULT_APPROVAL_EXPIRY_MS,
  DEFAULT_APPROVAL_HOLD_MS,
} from '../../src/approvals/approval-queue-options.js';
import { approvalWebhookPayload } from '../../src/approvals/approval-webhook.js';
import {
  DEFAULT_CHECKPOINT_EVERY_ENTRIES,
  DEFAULT_CHECKPOINT_INTERVAL_MS,
} from '../../src/audit/ledger-options.js';
import { DEFAULT_AGENT_REVOCATION_POLL_INTERVAL_MS } from '../../src/connector/agent-connection-watch.js';
import { connectorConfigSchema } from '../../src/connector/config-schema.js';
import { DEFAULT_DPOP_MAX_AGE_SEC } from '../../src/identity/dpop-verifier.js';
import { DEFAULT_UPSTREAM_TOKEN_TTL_SEC } from '../../src/identity/upstream-token-minter.js';
import {
  DEFAULT_DIRECT_CALLS,
  DEFAULT_MAX_REQUEST_BODY_BYTES,
  DEFAULT_MAX_SESSIONS,
  DEFAULT_SESSION_IDLE_TIMEOUT_MS,
} from '../../src/mcp/agent-endpoint-options.js';
import { DEFAULT_UPSTREAM_TIMEOUT_MS } from '../../src/mcp/upstream-types.js';
import type { ApprovalRecord } from '../../src/store/approval-records.js';

const base = { upstreams: { erp: { url: 'http://127.0.0.1:1/mcp' } } };

const approval: ApprovalRecord = {
  id: 'apr_1',
  identity: 'claims-bot',
  spiffeId: 'spiffe://acme/agent/claims-bot',
  tool: 'erp.refund',
  argsHash: 'a'.repeat(64),
  arguments: '{}',
  tier: 'approve',
  sessionId: null,
  status: 'pending',
  createdAt: 0,
  expiresAt: 60_000,
  decidedAt: null,
  decidedBy: null,
  reason: null,
  consumedAt: null,
};

describe('connector.yaml defaults', () => {
  it("are the components' own DEFAULT_ constants", () => {
    const config = connectorConfigSchema.parse({
      ...base,
      agents: { oauth: { issuer: 'https://idp.example', jwksUri: 'https://idp.example/jwks', dpop: {} } },
      upstreamTokens: {},
    });
    assert.equal(config.audit.checkpointEvery, DEFAULT_CHECKPOINT_EVERY_ENTRIES);
    assert.equal(config.audit.checkpointIntervalMs, DEFAULT_CHECKPOINT_INTERVAL_MS);
    assert.equal(config.agents.revocationPollMs, DEFAULT_AGENT_REVOCATION_POLL_INTERVAL_MS);
    assert.equal(config.agents.oauth?.dpop?.maxAgeSec, DEFAULT_DPOP_MAX_AGE_SEC);
    assert.equal(config.upstreamTokens?.ttlSec, DEFAULT_UPSTREAM_TOKEN_TTL_SEC);
    assert.deepEqual(config.mcp, {
      namespaceSeparator: '.',
      namespace: 'prefixed',
      maxRequestBytes: DEFAULT_MAX_REQUEST_BODY_BYTES,
      upstreamTimeoutMs: DEFAULT_UPSTREAM_TIMEOUT_MS,
      sessionIdleMs: DEFAULT_SESSION_IDLE_TIMEOUT_MS,
      maxSessions: DEFAULT_MAX_SESSIONS,
      allowServerRequests: true,
      directCalls: DEFAULT_DIRECT_CALLS,
    });
  });
});

describe('approvals in connector.yaml', () => {
  it("defaults to the approval queue's own constants", () => {
    const config = connectorConfigSchema.parse(base);
    assert.equal(config.approvals.holdMs, DEFAULT_APPROVAL_HOLD_MS);
    assert.equal(config.approvals.expiryMs, DEFAULT_APPROVAL_EXPIRY_MS);
    const partial = connectorConfigSchema.parse({ ...base, approvals: { holdMs: 1000 } });
    assert.equal(partial.approvals.expiryMs, DEFAULT_APPROVAL_EXPIRY_MS);
  });

  it('sets the webhook consoleUrl from config: the message links to the approval', () => {
    const config = connectorConfigSchema.parse({
      ...base,
      approvals: {
        webhook: { url: 'https://hooks.example/x', consoleUrl: 'https://airlock.acme.internal:7070/' },
      },
    });
    const webhook = config.approvals.webhook;
    assert.equal(webhook?.consoleUrl, 'https://airlock.acme.internal:7070/');
    const payload = approvalWebhookPayload(approval, webhook?.consoleUrl);
    assert.match(
      JSON.stringify(payload.blocks),
      /https:\/\/airlock\.acme\.internal:7070\/approvals#approval-apr_1/,
    );
    assert.doesNotMatch(JSON.stringify(approvalWebhookPayload(approval).blocks), /approvals#/);
  });

  it('refuses a consoleUrl that is not a URL and a hold above 10 min', () => {
    const bad = connectorConfigSchema.safeParse({
      ...base,
      approvals: { webhook: { url: 'https://hooks.example/x', consoleUrl: 'javascript alert(1)' } },
    });
    assert.equal(bad.success, false);
    assert.equal(connectorConfigSchema.safeParse({ ...base, approvals: { holdMs: 600_001 } }).success, false);
  });

  it('takes an upstream maxInFlight of a whole number from 0 and refuses anything else', () => {
    const upstream = (maxInFlight: unknown) =>
      connectorConfigSchema.safeParse({ upstreams: { erp: { url: 'http://127.0.0.1:1/mcp', maxInFlight } } });
    assert.equal(upstream(1).success, true);
    assert.equal(upstream(0).success, true);
    for (const bad of [-1, 1.5, '1']) assert.equal(upstream(bad).success, false, String(bad));
  });
});
