/**
 * How stages read the policy in force: a function returning the current `PolicyEngine`, read on every
 * request so a hot reload applies to the next request (`() => watcher.engine`).
 *
 * @example
 * const policy: PolicySource = () => watcher.engine;
 */

import { WireError } from '../errors/wire-error.js';
import type { PolicyEngine } from '../policy/policy-engine.js';
import { recordDecision } from './decision-channel.js';
import type { GatewayContext, GatewayIdentity } from './gateway-context.js';
import { JSONRPC_UNAUTHENTICATED } from './stages/authenticate-stage.js';

/** The compiled policy in force. Usually `() => watcher.engine`. */
export type PolicySource = () => PolicyEngine;

/**
 * The request's identity, or a -32001 `AIRLOCK_IDENTITY_MISSING` refusal (fail closed when a policy stage
 * runs without the authenticate stage in front of it).
 */
export function requireIdentity(ctx: GatewayContext, stage: string): GatewayIdentity {
  const identity = ctx.identity;
  if (identity) return identity;
  const message = 'No authenticated identity: the request cannot be checked against the policy';
  recordDecision(ctx, { stage, outcome: 'deny', code: 'AIRLOCK_IDENTITY_MISSING', reason: message });
  throw new WireError(JSONRPC_UNAUTHENTICATED, 'AIRLOCK_IDENTITY_MISSING', message);
}

/** `ctx.params.name` as a string ('' when absent). */
export function requestedName(ctx: GatewayContext): string {
  const name = ctx.params.name;
  return typeof name === 'string' ? name : '';
}
