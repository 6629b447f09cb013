/**
 * Stage 5 of the gateway: only pinned, approved, enabled tool definitions reach agents (see
 * src/catalog/tool-pinning.ts for pinning, quarantine and the kill switch).
 *
 * - `tools/list`: disabled, never-approved and changed-since-approval tools are removed from the result.
 * - `tools/call`: refused with -32003 and `data.airlock`
 *   - `AIRLOCK_TOOL_DISABLED`: the kill switch is on (`data.reason` is the admin's reason);
 *   - `AIRLOCK_TOOL_QUARANTINED`: the served definition differs from the approved one (a "rug pull",
 *     `data.reason: 'changed'`) or was flagged by the poisoning scan (`data.reason: 'poisoning'`);
 *   - `AIRLOCK_TOOL_UNREVIEWED`: a new tool in `review` mode, waiting for an admin's approval.
 *   Unknown tools pass on (the terminal answers -32602 `AIRLOCK_TOOL_UNKNOWN`).
 * - Other methods pass through.
 *
 * Fail closed: if the catalog state cannot be read from the store, the request is refused with -32603
 * `AIRLOCK_CATALOG_UNAVAILABLE`.
 *
 * @example
 * const stage = catalogStage({ pinning });
 */
import type { ToolPinning } from '../../catalog/tool-pinning.js';
import { JSONRPC_INTERNAL_ERROR, WireError } from '../../errors/wire-error.js';
import { recordDecision } from '../decision-channel.js';
import type { GatewayContext, Stage } from '../gateway-context.js';
import { requestedName } from '../policy-source.js';
import { JSONRPC_FORBIDDEN } from '../refusal-codes.js';
import { refuseAt } from '../stage-refusal.js';

/** Stage name in decisions. */
export const CATALOG_STAGE = 'catalog';

export interface CatalogStageOptions {
  /** The connector's `ToolPinning` (started). */
  pinning: Pick<ToolPinning, 'verdict' | 'visibleTools'>;
}

/**
 * See the module comment.
 *
 * @example
 * compose([authenticate(...), authorize(...), catalogStage({ pinning })], terminal);
 */
export function catalogStage(options: CatalogStageOptions): Stage {
  const pinning = options.pinning;
  return (next) => async (ctx) => {
    if (ctx.method === 'tools/list') {
      const result = (await next(ctx)) as Record<string, unknown>;
      const tools = result.tools;
      if (!Array.isArray(tools)) return result;
      const visible = await guard(ctx, () => pinning.visibleTools(tools as { name: string }[]));
      if (visible.length !== tools.length) {
        recordDecision(ctx, {
          stage: CATALOG_STAGE,
          outcome: 'modify',
          detail: { listed: visible.length, hidden: tools.length - visible.length },
        });
        return { ...result, tools: visible };
      }
      return result;
    }
    if (ctx.method !== 'tools/call') return next(ctx);
    const tool = requestedName(ctx);
    const verdict = await guard(ctx, () => pinning.verdict(tool));
    switch (verdict.status) {
      case 'approved':
        recordDecision(ctx, { stage: CATALOG_STAGE, outcome: 'allow', detail: { tool, hash: verdict.hash } });
        return next(ctx);
      case 'unknown':
        return next(ctx);
      case 'disabled':
        throw refuse(
          ctx,
          'AIRLOCK_TOOL_DISABLED',
          `Tool '${tool}' has been disabled by an administrator: ${verdict.disabled.reason}`,
          { tool, reason: verdict.disabled.reason, disabledAt: verdict.disabled.disabledAt },
        );
      case 'quarantined': {
        if (verdict.reason === 'unreviewed') {
          throw refuse(
            ctx,
            'AIRLOCK_TOOL_UNREVIEWED',
            `Tool '${tool}' is new and waits for an administrator to review and approve it`,
            { tool, reason: verdict.reason, hash: verdict.hash },
          );
        }
        const why =
          verdict.reason === 'changed'
            ? 'its definition changed since it was approved'
            : 'its definition was flagged by the tool-poisoning scan';
        throw refuse(
          ctx,
          'AIRLOCK_TOOL_QUARANTINED',
          `Tool '${tool}' is quarantined: ${why}; an administrator must review and approve it`,
          {
            tool,
            reason: verdict.reason,
            hash: verdict.hash,
            approvedHash: verdict.approvedHash,
            findings: verdict.findings.filter((f) => f.severity === 'high').map((f) => f.rule),
          },
        );
      }
    }
  };
}

async function guard<T>(ctx: GatewayContext, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (cause) {
    recordDecision(ctx, {
      stage: CATALOG_STAGE,
      outcome: 'deny',
      code: 'AIRLOCK_CATALOG_UNAVAILABLE',
      reason: cause instanceof Error ? cause.message : String(cause),
    });
    throw new WireError(
      JSONRPC_INTERNAL_ERROR,
      'AIRLOCK_CATALOG_UNAVAILABLE',
      'The tool catalog could not be checked right now (store unavailable); the request was refused',
    );
  }
}

function refuse(
  ctx: GatewayContext,
  code: string,
  message: string,
  data: Record<string, unknown>,
): WireError {
  return refuseAt(ctx, CATALOG_STAGE, { rpcCode: JSONRPC_FORBIDDEN, code, message, data, detail: data });
}
