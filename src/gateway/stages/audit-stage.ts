/**
 * The gateway's outermost stage, "audit": writes one entry per JSON-RPC request, after the rest of the pipeline
 * resolved or threw and BEFORE the answer goes back to the agent. Put it FIRST (outermost) in the
 * stage list so it also records requests that an earlier stage refused; add `upstreamTiming()` last:
 * for calls that reach an upstream (`DEFAULT_INTENT_METHODS`) it first writes a durable `intent`
 * entry (who, what, the arguments the upstream gets, redacted, with their hash) — write-ahead, so a
 * crash during a side-effecting call still leaves a record — and the outcome entry names it (`intentSeq`).
 *
 * Fail closed: when the entry cannot be made durable the agent gets JSON-RPC -32603 with
 * `data.airlock = 'AIRLOCK_AUDIT_UNAVAILABLE'` instead of the answer. When the ledger already knows
 * its store is down, the request is refused before it reaches the upstream (no unaudited side
 * effects) unless a probe shows the store is back.
 *
 * @example
 * const stages = [auditStage({ ledger }), ...gatewayStages({ identities: store.identities }), upstreamTiming()];
 */

import type {
  AuditEntry,
  AuditEventInput,
  AuditPayload,
  IntentAuditEvent,
  RequestAuditEvent,
} from '../../audit/audit-entry.js';
import { type AuditRedactor, redactLeaves } from '../../audit/audit-redaction.js';
import { JSONRPC_INTERNAL_ERROR, toWireError, WireError } from '../../errors/wire-error.js';
import { toJsonValue } from '../../json/canonical-json.js';
import { jsonBytes } from '../../json/json-bytes.js';
import type { GatewayContext, Stage } from '../gateway-context.js';
import { type JsonMeasure, measureJson, measureResult } from '../json-measure.js';
import { UPSTREAM_TIMING_STAGE } from './upstream-timing-stage.js';

/** Stable code of the refusal when the audit trail cannot be written. */
export const AUDIT_UNAVAILABLE_CODE = 'AIRLOCK_AUDIT_UNAVAILABLE';
/** Methods whose calls get a write-ahead intent entry before they reach an upstream. */
export const DEFAULT_INTENT_METHODS: readonly string[] = ['tools/call', 'resources/read', 'prompts/get'];

/** Intent writers of the requests in flight, looked up by the innermost stage (`upstreamTiming`). */
const intentWriters = new WeakMap<GatewayContext, () => Promise<void>>();

/**
 * Writes the request's intent entry, if the audit stage asked for one; resolves once it is durable.
 * Throws the fail-closed `WireError` when it cannot be written. Called by `upstreamTiming`.
 */
export async function writeIntent(ctx: GatewayContext): Promise<void> {
  // Stages may hand `next` a view that inherits from the request's context (the budget stage's
  // upstream timeout): the intent belongs to the context the view was made from.
  for (let c: object | null = ctx; c !== null && c !== Object.prototype; c = Object.getPrototypeOf(c)) {
    const write = intentWriters.get(c as GatewayContext);
    if (!write) continue;
    intentWriters.delete(c as GatewayContext);
    await write();
    return;
  }
}

/** The part of `AuditLedger` this stage needs. */
export interface AuditAppender {
  append(event: AuditEventInput): Promise<unknown>;
  readonly available: boolean;
  probe(): Promise<boolean>;
}

export interface AuditStageOptions {
  ledger: AuditAppender;
  /** Default `redactLeaves` (structure only). */
  redact?: AuditRedactor;
  /**
   * The end user behind the request. Default: the first decision whose `detail.endUser` is a string
   * (e.g. set by bearer authentication from the token's `sub`).
   */
  endUser?: (ctx: GatewayContext) => string | undefined;
  /** Monotonic clock in ms for durations. Default `performance.now`. */
  now?: () => number;
  /** Default `DEFAULT_INTENT_METHODS`. */
  intentMethods?: readonly string[];
}

/** See the module comment. */
export function auditStage(opts: AuditStageOptions): Stage {
  const now = opts.now ?? (() => performance.now());
  const endUserOf = opts.endUser ?? defaultEndUser;
  return (next) => async (ctx) => {
    if (!opts.ledger.available && !(await opts.ledger.probe())) throw unavailable();
    const started = now();
    const rawArguments = ctx.method === 'tools/call' ? ctx.params.arguments : ctx.params;
    const args = rawArguments === undefined ? null : payload(rawArguments, 'arguments', opts.redact);
    const requestBytes = jsonBytes(ctx.params);
    let intentSeq: number | null = null;
    if ((opts.intentMethods ?? DEFAULT_INTENT_METHODS).includes(ctx.method)) {
      intentWriters.set(ctx, async () => {
        try {
          const entry = (await opts.ledger.append(
            intentEvent(ctx, endUserOf(ctx), opts.redact),
          )) as AuditEntry;
          intentSeq = entry.seq;
        } catch {
          throw unavailable();
        }
      });
    }
    let result: unknown;
    let failure: unknown;
    let failed = false;
    try {
      result = await next(ctx);
    } catch (err) {
      failed = true;
      failure = err;
    } finally {
      intentWriters.delete(ctx);
    }
    const durationMs = Math.round((now() - started) * 1000) / 1000;
    const event = requestEvent(ctx, {
      failed,
      result,
      failure,
      args,
      durationMs,
      requestBytes,
      endUser: endUserOf(ctx),
      redact: opts.redact,
      intentSeq,
    });
    try {
      await opts.ledger.append(event);
    } catch {
      throw unavailable();
    }
    if (failed) throw failure;
    return result;
  };
}

function requestEvent(
  ctx: GatewayContext,
  o: {
    failed: boolean;
    result: unknown;
    failure: unknown;
    args: AuditPayload | null;
    durationMs: number;
    requestBytes: number;
    endUser: string | undefined;
    redact: AuditRedactor | undefined;
    intentSeq: number | null;
  },
): RequestAuditEvent {
  const lastDeny = ctx.decisions.filter((d) => d.outcome === 'deny').at(-1);
  const upstream = ctx.decisions.filter((d) => d.stage === UPSTREAM_TIMING_STAGE).at(-1);
  const latency = upstream?.detail?.latencyMs;
  const wire = o.failed ? toWireError(o.failure) : undefined;
  const tool = ctx.method === 'tools/call' && typeof ctx.params.name === 'string' ? ctx.params.name : null;
  return {
    kind: 'request',
    agent: agentOf(ctx),
    endUser: o.endUser ?? null,
    session: ctx.sessionId ?? null,
    era: ctx.era,
    requestId: ctx.requestId ?? null,
    method: ctx.method,
    tool,
    decision: decisionOf(wire !== undefined, lastDeny),
    intentSeq: o.intentSeq,
    code: wire ? (lastDeny?.code ?? wire.airlockCode) : (lastDeny?.code ?? null),
    reason: wire ? (lastDeny?.reason ?? wire.message) : (lastDeny?.reason ?? null),
    stages: stagesOf(ctx),
    arguments: o.args,
    result:
      !wire && o.result !== undefined
        ? payload(o.result, 'result', o.redact, measureResult(ctx, o.result))
        : null,
    error: wire ? { code: wire.rpcCode, airlock: wire.airlockCode, message: wire.message } : null,
    upstreamLatencyMs: typeof latency === 'number' ? latency : null,
    durationMs: o.durationMs,
    requestBytes: o.requestBytes,
    responseBytes: wire ? jsonBytes(wire.toJSON()) : measureResult(ctx, o.result).bytes,
  };
}

/**
 * The true decision: a stage that refused decides it even when the refusal was answered as a tool
 * result (a denied or pending approval), not only when it threw.
 */
function decisionOf(failed: boolean, deny: { code?: string } | undefined): RequestAuditEvent['decision'] {
  if (deny?.code === 'AIRLOCK_APPROVAL_PENDING') return 'pending';
  if (deny) return 'deny';
  return failed ? 'error' : 'allow';
}

function intentEvent(
  ctx: GatewayContext,
  endUser: string | undefined,
  redact: AuditRedactor | undefined,
): IntentAuditEvent {
  const args = ctx.method === 'tools/call' ? ctx.params.arguments : ctx.params;
  return {
    kind: 'intent',
    agent: agentOf(ctx),
    endUser: endUser ?? null,
    session: ctx.sessionId ?? null,
    requestId: ctx.requestId ?? null,
    method: ctx.method,
    tool: ctx.method === 'tools/call' && typeof ctx.params.name === 'string' ? ctx.params.name : null,
    decision: 'allow',
    stages: stagesOf(ctx),
    arguments: args === undefined ? null : payload(args, 'arguments', redact),
  };
}

/** Who made the request, as entries name it. */
function agentOf(ctx: GatewayContext): RequestAuditEvent['agent'] {
  const identity = ctx.identity;
  if (!identity) return null;
  const { name, spiffeId, certSerial, authenticatedBy } = identity;
  return { name, spiffeId, certSerial, authenticatedBy };
}

/** The stages' verdicts so far, without the upstream timing. */
function stagesOf(ctx: GatewayContext): RequestAuditEvent['stages'] {
  return ctx.decisions
    .filter((d) => d.stage !== UPSTREAM_TIMING_STAGE)
    .map((d) => ({ stage: d.stage, outcome: d.outcome, ...(d.code ? { code: d.code } : {}) }));
}

/**
 * `auditPayload` (src/audit/audit-redaction.ts) with the hash from json-measure.ts: the same value from
 * one serialisation, shared with the budget stage for a result.
 */
function payload(
  value: unknown,
  where: 'arguments' | 'result',
  redact: AuditRedactor | undefined,
  measure: JsonMeasure = measureJson(value),
): AuditPayload {
  const redacted = redact ? redact(value, where) : redactLeaves(value);
  return { redacted: toJsonValue(redacted) ?? null, sha256: measure.sha256 };
}

function defaultEndUser(ctx: GatewayContext): string | undefined {
  for (const d of ctx.decisions) {
    const user = d.detail?.endUser;
    if (typeof user === 'string') return user;
  }
  return undefined;
}

function unavailable(): WireError {
  return new WireError(
    JSONRPC_INTERNAL_ERROR,
    AUDIT_UNAVAILABLE_CODE,
    'The audit trail cannot be written right now, so the request was refused (fail closed)',
  );
}
