/**
 * Two-person rules at the tier stage (composed around a terminal): the rule's quorum reaches the
 * approval hook, and an approved outcome runs only with enough distinct approvers — a hook that knows
 * no quorum (one approver) cannot satisfy the rule, nor can the same approver counted twice.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ApprovalHook, ApprovalOutcome, ApprovalRequest } from '../../src/gateway/approval-hook.js';
import { compose } from '../../src/gateway/compose.js';
import type { GatewayContext, Handler } from '../../src/gateway/gateway-context.js';
import { tier } from '../../src/gateway/stages/tier-stage.js';
import { parsePolicy } from '../../src/policy/policy-loader.js';
import { requestContext } from './request-context.js';

const engine = parsePolicy(
  `tools:
  - name: big-refunds
    match: erp.refund
    when: { arguments: { properties: { amount: { exclusiveMinimum: 1000 } }, required: [amount] } }
    tier: approve
    approvers: { count: 2, roles: [supervisor] }
  - { match: erp.refund, tier: approve }
`,
  'inline.yaml',
).engine;

class Hook implements ApprovalHook {
  readonly requests: (ApprovalRequest & { quorum?: unknown })[] = [];
  constructor(readonly approvers: string[]) {}
  async request(req: ApprovalRequest): Promise<ApprovalOutcome> {
    this.requests.push(req);
    const outcome = { decision: 'approved', approvalId: 'apr-1', approver: this.approvers[0] ?? '' } as const;
    return { ...outcome, approvers: this.approvers } as ApprovalOutcome;
  }
}

function ctx(amount: number): GatewayContext {
  const identity = {
    name: 'bot',
    spiffeId: 'spiffe://t/agent/bot',
    certSerial: '01',
    authenticatedBy: 'mtls',
  } as const;
  return requestContext('tools/call', { name: 'erp.refund', arguments: { amount } }, { identity });
}

const ran: Handler = async () => ({ content: [{ type: 'text', text: 'refunded' }] });
const text = (r: unknown) => (r as { content: { text: string }[] }).content[0]?.text ?? '';

describe('two-person rules', () => {
  it('passes the quorum to the hook and runs only with two distinct approvers', async () => {
    const two = new Hook(['sam', 'kim']);
    assert.equal(
      text(await compose([tier({ policy: () => engine, approvals: two })], ran)(ctx(5000))),
      'refunded',
    );
    assert.deepEqual(two.requests[0]?.quorum, { approvers: 2, roles: ['supervisor'] });
  });

  it('one approver, or the same one twice, does not satisfy the rule', async () => {
    for (const approvers of [['sam'], ['sam', 'sam']]) {
      const c = ctx(5000);
      const result = (await compose(
        [tier({ policy: () => engine, approvals: new Hook(approvers) })],
        ran,
      )(c)) as {
        isError?: boolean;
      };
      assert.equal(result.isError, true);
      assert.match(text(result), /needs 2 distinct approvers \(rule 'big-refunds' \(tools\[0\]\)\)/);
      assert.ok(c.decisions.some((d) => d.code === 'AIRLOCK_APPROVAL_QUORUM_UNMET'));
    }
  });

  it('below the condition, one approver is enough and no quorum is asked', async () => {
    const one = new Hook(['sam']);
    assert.equal(
      text(await compose([tier({ policy: () => engine, approvals: one })], ran)(ctx(10))),
      'refunded',
    );
    assert.equal(one.requests[0]?.quorum, undefined);
  });
});
