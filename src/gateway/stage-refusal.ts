/**
 * The one way a stage refuses a request: it records the `deny` decision (kept for the audit entry and
 * published on the decision channel) and returns the wire error the agent gets. Every stage's
 * refusal goes through here, so a refusal can never reach an agent without its recorded decision.
 *
 * @example
 * throw refuseAt(ctx, 'authorize', {
 *   rpcCode: JSONRPC_FORBIDDEN,
 *   code: 'AIRLOCK_TOOL_FORBIDDEN',
 *   message: "tool 'erp.delete' is not allowed for role 'reader'",
 *   data: { tool: 'erp.delete' },
 * });
 */
import { WireError } from '../errors/wire-error.js';
import { recordDecision } from './decision-channel.js';
import type { GatewayContext } from './gateway-context.js';

export interface StageRefusal {
  /** The JSON-RPC error code on the wire (e.g. `JSONRPC_FORBIDDEN`). */
  rpcCode: number;
  /** The stable `AIRLOCK_*` code, in `data.airlock`. */
  code: string;
  /** What the agent reads. */
  message: string;
  /** Extra fields of the wire error's `data`. */
  data?: Record<string, unknown>;
  /** The decision's reason when it differs from `message` (e.g. the cause of an internal failure). */
  reason?: string;
  /** Details kept with the decision (for the audit entry), not sent to the agent. */
  detail?: Record<string, unknown>;
}

export function refuseAt(ctx: GatewayContext, stage: string, refusal: StageRefusal): WireError {
  recordDecision(ctx, {
    stage,
    outcome: 'deny',
    code: refusal.code,
    reason: refusal.reason ?? refusal.message,
    ...(refusal.detail ? { detail: refusal.detail } : {}),
  });
  return new WireError(refusal.rpcCode, refusal.code, refusal.message, refusal.data);
}
