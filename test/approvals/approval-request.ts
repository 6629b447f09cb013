/**
 * A tool call held for approval, as the tier stage would ask the queue: an mTLS agent (`claims-bot` of
 * `acme.localhost` unless told otherwise) calling `erp.refund` with the given arguments.
 *
 * @example
 * const outcome = await requestApproval(queue, { amount: 5 });
 * const id = await pendingApprovalId(queue, { amount: 5 }, { tool: 'fixture.echo' });
 */
import assert from 'node:assert/strict';
import type { ApprovalQueue } from '../../src/approvals/approval-queue.js';
import type { ApprovalOutcome } from '../../src/gateway/approval-hook.js';
import { sha256Canonical } from '../../src/json/canonical-hash.js';

/** Who asks and for which tool. */
export interface HeldCall {
  /** Identity name. Default `claims-bot`. */
  identity?: string;
  /** Tenant host in the SPIFFE id. Default `acme.localhost`. */
  host?: string;
  /** Default `erp.refund`. */
  tool?: string;
  /** Default `01`. */
  certSerial?: string;
}

/** Asks `queue` to hold the call; resolves when it is decided (or at once with `pending` when `holdMs` is 0). */
export function requestApproval(
  queue: ApprovalQueue,
  args: Record<string, unknown>,
  call: HeldCall = {},
): Promise<ApprovalOutcome> {
  const { identity = 'claims-bot', host = 'acme.localhost', tool = 'erp.refund', certSerial = '01' } = call;
  return queue.request({
    identity: {
      name: identity,
      spiffeId: `spiffe://${host}/agent/${identity}`,
      certSerial,
      authenticatedBy: 'mtls',
    },
    tool,
    arguments: args,
    argsHash: sha256Canonical(args),
    sessionId: undefined,
    signal: new AbortController().signal,
    sendProgress: async () => {},
  });
}

/** Holds the call (the queue's `holdMs` must be 0), asserts it is pending and returns its approval id. */
export async function pendingApprovalId(
  queue: ApprovalQueue,
  args: Record<string, unknown>,
  call: HeldCall = {},
): Promise<string> {
  const outcome = await requestApproval(queue, args, call);
  assert.equal(outcome.decision, 'pending');
  return outcome.approvalId;
}
