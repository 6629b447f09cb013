/**
 * The gateway's `pii` stage: de-tokenizes what an agent sends (tool and prompt arguments, resource URIs,
 * completion arguments, subscription URIs, an upstream's `requestState` and the agent's `inputResponses`)
 * before `next`, so the upstream works with real values, recording every de-tokenized value as the
 * request's taint; then redacts the result of every method (lists included) or the error after it,
 * through the boundary (pii-boundary.ts), so raw personal data never leaves the connector. A token from
 * another tenant is refused with -32602 `AIRLOCK_PII_UNKNOWN_TOKEN`, one of another session (session
 * token scope) with -32602 `AIRLOCK_PII_TOKEN_SCOPE`; a result holding a class whose action is `block` is
 * withheld with -32603 `AIRLOCK_PII_BLOCKED`. Its decision carries counts per class and action, never
 * values.
 *
 * @example
 * const vault = new PiiVault({ tenant: 'acme', keys: await loadTenantPiiKeys({ path, tenant: 'acme', create: true }), repository: store.vault });
 * const stages = [authenticate({ identities: store.identities }), piiStage({ vault, policy: { tools: [{ match: 'erp.get_*', actions: { CARD: 'mask' } }] } })];
 */
import { WireError } from '../../errors/wire-error.js';
import { detokenizeArguments } from '../../pii/detokenize.js';
import { PiiBoundary } from '../../pii/pii-boundary.js';
import { blockedResultError, PII_ERROR_CODES } from '../../pii/pii-errors.js';
import type { CompiledPiiPolicy, PiiPolicy } from '../../pii/pii-policy.js';
import { type RedactionPass, RedactionReport } from '../../pii/pii-redactor.js';
import type { PiiScanner } from '../../pii/pii-scanner.js';
import type { PiiVault } from '../../pii/pii-vault.js';
import { currentRequestTaint, RequestTaint } from '../../pii/request-taint.js';
import { PII_TOKEN_SCOPE_ERROR } from '../../pii/token-scope.js';
import { recordDecision } from '../decision-channel.js';
import type { GatewayContext, Stage } from '../gateway-context.js';

/** Name of the stage in decisions. */
export const PII_STAGE = 'pii';
/** Methods whose requests carry values that are de-tokenized (results of every method are redacted). */
export const PII_METHODS = [
  'tools/call',
  'resources/read',
  'prompts/get',
  'completion/complete',
  'resources/subscribe',
  'resources/unsubscribe',
  'subscriptions/listen',
] as const;

/** The params of each method that are de-tokenized (besides `requestState` and `inputResponses`). */
const DETOKENIZED_PARAMS: Readonly<Record<string, readonly string[]>> = {
  'tools/call': ['arguments'],
  'prompts/get': ['arguments'],
  'resources/read': ['uri'],
  'resources/subscribe': ['uri'],
  'resources/unsubscribe': ['uri'],
  'completion/complete': ['argument', 'context', 'ref'],
  'subscriptions/listen': ['resourceSubscriptions'],
};
/** Prefix of the gateway's own `requestState` (relayed-call.ts): opaque, never de-tokenized. */
const GATEWAY_STATE_PREFIX = 'airlock-relay:';

export interface PiiStageOptions {
  /** This tenant's vault. */
  vault: PiiVault;
  /** The `pii:` policy section, or an already compiled one (default: `DEFAULT_PII_ACTIONS`). */
  policy?: PiiPolicy | CompiledPiiPolicy;
  /** Scanner to use (default: one built from the policy's patterns, phone regions and disabled detectors). */
  scanner?: PiiScanner;
  /** The boundary to redact with (default: one built from `vault`, `policy` and `scanner`). */
  boundary?: PiiBoundary;
}

export function piiStage(options: PiiStageOptions): Stage {
  const boundary =
    options.boundary ??
    new PiiBoundary({
      vault: options.vault,
      ...(options.policy ? { policy: options.policy } : {}),
      ...(options.scanner ? { scanner: options.scanner } : {}),
    });

  return (next) => async (ctx) => {
    const target = targetOf(ctx);
    const taint = currentRequestTaint() ?? new RequestTaint();
    const scope = boundary.scopeFor({ sessionId: ctx.sessionId, identity: ctx.identity?.name });
    const detokenized = new Map<string, number>();
    try {
      ctx.params = await detokenizeParams(ctx, boundary.vault, detokenized, { scope, taint });
    } catch (err) {
      recordDecision(ctx, refusalDecision(err));
      throw err;
    }

    const pass: RedactionPass = { report: new RedactionReport(), target, taint, scope };
    let result: unknown;
    try {
      result = await next(ctx);
    } catch (err) {
      const redacted = await boundary.redactError(err, pass);
      if (pass.report.modified || detokenized.size > 0) {
        recordDecision(ctx, {
          stage: PII_STAGE,
          outcome: 'modify',
          detail: detail(detokenized, pass.report),
        });
      }
      throw redacted;
    }
    const safe = await boundary.redactResult(ctx.method, result, pass);
    const report = pass.report;
    if (report.blocked.size > 0) {
      const classes = [...report.blocked].sort();
      recordDecision(ctx, {
        stage: PII_STAGE,
        outcome: 'deny',
        code: PII_ERROR_CODES.blocked,
        reason: `the result contains ${classes.join(', ')}, which policy blocks`,
        detail: detail(detokenized, report),
      });
      throw blockedResultError(classes);
    }
    taint.resultRedacted = true;
    const modified = report.modified || detokenized.size > 0;
    if (modified || Object.hasOwn(DETOKENIZED_PARAMS, ctx.method)) {
      recordDecision(ctx, {
        stage: PII_STAGE,
        outcome: modified ? 'modify' : 'allow',
        detail: detail(detokenized, report),
      });
    }
    return safe;
  };
}

/** A copy of the params with this tenant's tokens replaced in the fields the method carries values in. */
async function detokenizeParams(
  ctx: GatewayContext,
  vault: PiiVault,
  counts: Map<string, number>,
  options: { scope: string | undefined; taint: RequestTaint },
): Promise<Record<string, unknown>> {
  const fields = [...(DETOKENIZED_PARAMS[ctx.method] ?? []), 'inputResponses'];
  const state = ctx.params.requestState;
  if (typeof state === 'string' && !state.startsWith(GATEWAY_STATE_PREFIX)) fields.push('requestState');
  let params = ctx.params;
  for (const field of fields) {
    if (params[field] === undefined) continue;
    const value = await detokenizeArguments(vault, params[field], counts, options);
    if (value !== params[field]) params = { ...params, [field]: value };
  }
  return params;
}

function refusalDecision(err: unknown) {
  // Only a token the agent may not use is the agent's fault; a vault or store failure is recorded as what it is.
  const code = err instanceof WireError ? err.airlockCode : undefined;
  const agentsFault = code === PII_ERROR_CODES.unknownToken || code === PII_TOKEN_SCOPE_ERROR;
  return {
    stage: PII_STAGE,
    outcome: 'deny' as const,
    code: agentsFault ? (code as string) : 'AIRLOCK_PII_UNAVAILABLE',
    reason:
      code === PII_TOKEN_SCOPE_ERROR
        ? 'the arguments carry a token issued in another session'
        : agentsFault
          ? 'the arguments carry a token this tenant never issued'
          : `the PII vault could not be read: ${err instanceof Error ? err.message : String(err)}`,
  };
}

function targetOf(ctx: GatewayContext): string | undefined {
  const p = ctx.params;
  const ref = p.ref as { name?: unknown; uri?: unknown } | undefined;
  const value = p.name ?? p.uri ?? ref?.name ?? ref?.uri;
  return typeof value === 'string' ? value : undefined;
}

function detail(detokenized: Map<string, number>, report: RedactionReport): Record<string, unknown> {
  return { detokenized: Object.fromEntries(detokenized), redacted: report.toJSON() };
}
