/**
 * Approvals the upstream can verify: the sample ERP (real stdio server, started with
 * `--approval-jwks` / `--approval-issuer`) runs its write tools only with a valid approval token for
 * exactly the call. Through the gateway (real TLS, real SDK client): an approved call carries a token
 * and runs; a write the policy lets through without approval is refused by the ERP itself; a token the
 * agent smuggles in `_meta` never reaches the ERP. Directly at the ERP (a real SDK client over stdio):
 * tokens for other arguments, another tool, expired, foreign keys, or an upstream access token signed
 * with the same key are refused.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type CallToolResult, Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import {
  APPROVAL_TOKEN_HEADER,
  ApprovalTokenSigner,
  approvalTokenHeaders,
} from '../../src/approvals/approval-token.js';
import { APPROVAL_META_KEY } from '../../src/approvals/approval-token-verify.js';
import type { ApprovalHook, ApprovalOutcome, ApprovalRequest } from '../../src/gateway/approval-hook.js';
import type { GatewayIdentity } from '../../src/gateway/gateway-context.js';
import { authenticate } from '../../src/gateway/stages/authenticate-stage.js';
import { authorize } from '../../src/gateway/stages/authorize-stage.js';
import { budget } from '../../src/gateway/stages/budget-stage.js';
import { catalogStage } from '../../src/gateway/stages/catalog-stage.js';
import { APPROVAL_TOKEN_META_KEY, tier } from '../../src/gateway/stages/tier-stage.js';
import { validate } from '../../src/gateway/stages/validate-stage.js';
import {
  loadOrCreateUpstreamTokenKey,
  UpstreamTokenMinter,
} from '../../src/identity/upstream-token-minter.js';
import { sha256Canonical } from '../../src/json/canonical-hash.js';
import { type GatewayHarness, resultText, startGateway } from './gateway-harness.js';

const ERP = fileURLToPath(new URL('../../samples/erp/server.js', import.meta.url));
const ISSUER = 'https://acme.localhost';
const POLICY = `
catalog: { mode: tofu }
identities: [{ name: claims-bot, roles: [agent] }]
roles: { agent: { tools: ["erp.*"] } }
tools:
  - { match: erp.update_stock, tier: approve }
  - { match: "erp.*", tier: auto }   # delete_customer at auto: a policy mistake the ERP still catches
limits: { rate: { perSecond: 1000, burst: 1000 } }
`;

/** Approves every call, as supervisor sam. */
class ApproveAll implements ApprovalHook {
  readonly requests: ApprovalRequest[] = [];
  async request(req: ApprovalRequest): Promise<ApprovalOutcome> {
    this.requests.push(req);
    return { decision: 'approved', approvalId: `apr-${this.requests.length}`, approver: 'sam' };
  }
}

const agent: GatewayIdentity = {
  name: 'claims-bot',
  spiffeId: 'spiffe://acme.localhost/agent/claims-bot',
  certSerial: '01',
  authenticatedBy: 'mtls',
};

let dir: string;
let signer: ApprovalTokenSigner;
let gateway: GatewayHarness;
const approvals = new ApproveAll();

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-approval-token-'));
  signer = await ApprovalTokenSigner.open({ dataDir: join(dir, 'connector'), issuer: ISSUER });
  const jwks = join(dir, 'jwks.json');
  await writeFile(jwks, JSON.stringify(signer.jwks()));
  const erpArgs = [
    ERP,
    '--db',
    join(dir, 'erp.sqlite'),
    '--approval-jwks',
    jwks,
    '--approval-issuer',
    ISSUER,
  ];
  gateway = await startGateway({
    policyYaml: POLICY,
    agents: ['claims-bot'],
    upstreams: [{ name: 'erp', kind: 'stdio', command: process.execPath, args: erpArgs }],
    stages: ({ policy, pinning, kit }) => [
      authenticate({ identities: kit.store.identities }),
      budget({ policy }),
      authorize({ policy }),
      catalogStage({ pinning }),
      validate({ policy, definitions: pinning }),
      tier({ policy, approvals, approvalTokens: signer }),
    ],
  });
});

after(async () => {
  await gateway.close();
  await rm(dir, { recursive: true, force: true });
});

const stockOf = (r: CallToolResult) => (r.structuredContent as { quantity: number }).quantity;

describe('approval tokens through the gateway', () => {
  it('an approved write carries a token for exactly its arguments, and the ERP runs it', async () => {
    const client = await gateway.connect('claims-bot', 'modern');
    const before = await client.callTool({ name: 'erp.inventory_status', arguments: { sku: 'SKU-10001' } });
    const quantity = (before.structuredContent as { items: { quantity: number }[] }).items[0]?.quantity ?? -1;
    const result = (await client.callTool({
      name: 'erp.update_stock',
      arguments: { sku: 'SKU-10001', delta: 7 },
    })) as CallToolResult;
    assert.notEqual(result.isError, true, resultText(result));
    assert.equal(stockOf(result), quantity + 7);
    assert.deepEqual(approvals.requests.at(-1)?.arguments, { sku: 'SKU-10001', delta: 7 });
  });

  it('a destructive call without approval is refused by the ERP itself', async () => {
    const client = await gateway.connect('claims-bot', 'legacy');
    const result = await client.callTool({
      name: 'erp.delete_customer',
      arguments: { id: 3, confirm: true },
    });
    assert.equal(result.isError, true);
    assert.match(resultText(result), /Refused by the ERP: .*approval token.*\(missing\)/);
    const still = await client.callTool({ name: 'erp.get_customer', arguments: { id: 3 } });
    assert.notEqual(still.isError, true, 'the customer still exists');
  });

  it('a token the agent puts in _meta never reaches the ERP, even one valid for exactly that call', async () => {
    const client = await gateway.connect('claims-bot', 'modern');
    const args = { id: 4, confirm: true };
    const stolen = await signer.sign({
      approvalId: 'apr-stolen',
      approvers: ['sam'],
      tool: 'erp.delete_customer',
      argsHash: sha256Canonical(args),
      agent,
    });
    const result = await client.callTool({
      name: 'erp.delete_customer',
      arguments: args,
      _meta: { [APPROVAL_TOKEN_META_KEY]: stolen },
    });
    assert.equal(result.isError, true);
    assert.match(resultText(result), /\(missing\)/);
  });

  it('the meta key and the HTTP header name agree between connector and verifier', () => {
    assert.equal(APPROVAL_META_KEY, APPROVAL_TOKEN_META_KEY);
    assert.deepEqual(approvalTokenHeaders({ params: { _meta: { [APPROVAL_META_KEY]: 'x.y.z' } } }), {
      [APPROVAL_TOKEN_HEADER]: 'x.y.z',
    });
    assert.deepEqual(approvalTokenHeaders({ params: {} }), {});
  });
});

describe('the ERP verifies tokens itself', () => {
  let erp: Client;
  before(async () => {
    const jwks = join(dir, 'jwks.json');
    erp = new Client({ name: 'direct', version: '1.0.0' });
    await erp.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: [
          ERP,
          '--db',
          join(dir, 'erp-direct.sqlite'),
          '--approval-jwks',
          jwks,
          '--approval-issuer',
          ISSUER,
        ],
        stderr: 'pipe',
      }),
    );
  });
  after(async () => {
    await erp.close();
  });

  const args = { sku: 'SKU-10002', delta: 3 };
  const tokenFor = (s: ApprovalTokenSigner, tool: string, a: Record<string, unknown>) =>
    s.sign({ approvalId: 'apr-1', approvers: ['sam'], tool, argsHash: sha256Canonical(a), agent });
  const call = async (token: string | undefined, a: Record<string, unknown> = args) =>
    (await erp.callTool({
      name: 'update_stock',
      arguments: a,
      ...(token ? { _meta: { [APPROVAL_META_KEY]: token } } : {}),
    })) as CallToolResult;

  it('refuses a token for other arguments, another tool, expired, foreign or of another type', async () => {
    const refusals: [string, string | undefined][] = [
      ['missing', undefined],
      ['arguments', await tokenFor(signer, 'erp.update_stock', { sku: 'SKU-10002', delta: 3000 })],
      ['tool', await tokenFor(signer, 'erp.delete_customer', args)],
    ];
    const key = await loadOrCreateUpstreamTokenKey(join(dir, 'connector'));
    const past = new ApprovalTokenSigner({
      issuer: ISSUER,
      key,
      ttlSec: 60,
      now: () => Date.now() - 3_600_000,
    });
    refusals.push(['expired', await tokenFor(past, 'erp.update_stock', args)]);
    const foreign = await ApprovalTokenSigner.open({ dataDir: join(dir, 'attacker'), issuer: ISSUER });
    refusals.push(['signature', await tokenFor(foreign, 'erp.update_stock', args)]);
    const otherIssuer = new ApprovalTokenSigner({ issuer: 'https://evil.localhost', key });
    refusals.push(['issuer', await tokenFor(otherIssuer, 'erp.update_stock', args)]);
    const minter = new UpstreamTokenMinter({ issuer: ISSUER, key, mintWithoutEndUser: true });
    refusals.push(['type', await minter.mint({ upstream: 'erp', agent })]);
    for (const [reason, token] of refusals) {
      const result = await call(token);
      assert.equal(result.isError, true, reason);
      assert.match(resultText(result), new RegExp(`\\(${reason}\\)`), reason);
    }
    const valid = await call(await tokenFor(signer, 'erp.update_stock', args));
    assert.notEqual(valid.isError, true, resultText(valid));
    // The stock changed once, by the approved call only.
    const after = await erp.callTool({ name: 'inventory_status', arguments: { sku: 'SKU-10002' } });
    const items = (after.structuredContent as { items: { quantity: number }[] }).items;
    assert.equal(items[0]?.quantity, stockOf(valid));
  });
});
