/**
 * Gateway failures → what the agent gets. Mostly the SDK's `ProtocolError`, which the SDK `Server` writes
 * to the wire with its code, message and data: upstream `ProtocolError`s pass through untouched; Airlock
 * `WireError`s keep their JSON-RPC code and carry `data.airlock`; anything else becomes a generic -32603
 * that leaks nothing.
 *
 * SEP-1303 (2025-11-25 and later): a `tools/call` whose arguments fail validation is answered with a
 * tool result `isError: true` whose text says what to fix, so the model sees it and corrects its call.
 * Agents of earlier revisions (2025-06-18 and before, where the spec asks for a protocol error) keep the
 * -32602 `AIRLOCK_ARGUMENTS_INVALID`; an unknown tool stays -32602 in every revision. The result is
 * written by the agent's server, so it passes the redaction boundary like any result.
 *
 * @example
 * server.setRequestHandler('tools/call', async (req, ctx) => {
 *   try { return await pipeline(gatewayCtx); } catch (err) { return failureAnswer(err, 'tools/call', '2025-11-25', log); }
 * });
 */
import { ProtocolError } from '@modelcontextprotocol/server';
import type { Logger } from 'pino';
import { toWireError, WireError } from '../errors/wire-error.js';

/** The first protocol revision whose tools report argument validation failures as tool results (SEP-1303). */
export const TOOL_INPUT_ERRORS_AS_RESULTS_SINCE = '2025-11-25';

/** Refusal codes that are argument validation failures (SEP-1303 "input validation errors"). */
const INPUT_VALIDATION_CODES: ReadonlySet<string> = new Set(['AIRLOCK_ARGUMENTS_INVALID']);

export function toProtocolError(err: unknown): ProtocolError {
  if (err instanceof ProtocolError) return err;
  const wire = toWireError(err);
  return new ProtocolError(wire.rpcCode, wire.message, { airlock: wire.airlockCode, ...wire.data });
}

/**
 * The tool error result for an argument validation failure of `tools/call` on a revision that asks for
 * one (protocol versions are dates: they compare as strings), else `undefined`.
 *
 * @example
 * toolInputErrorResult(err, 'tools/call', '2025-11-25'); // { content: [{ type: 'text', text: '…' }], isError: true }
 */
export function toolInputErrorResult(
  err: unknown,
  method: string,
  protocolVersion: string | undefined,
): Record<string, unknown> | undefined {
  if (method !== 'tools/call' || !(err instanceof WireError)) return undefined;
  if (!INPUT_VALIDATION_CODES.has(err.airlockCode)) return undefined;
  if (protocolVersion === undefined || protocolVersion < TOOL_INPUT_ERRORS_AS_RESULTS_SINCE) return undefined;
  const text = `${err.message}. Correct the arguments and call the tool again.`;
  return { content: [{ type: 'text', text }], isError: true };
}

/**
 * What a failed agent request answers: a tool error result (see {@link toolInputErrorResult}) or a thrown
 * `ProtocolError`. Failures that are neither Airlock's nor the SDK's are logged (name only).
 */
export function failureAnswer(
  err: unknown,
  method: string,
  protocolVersion: string | undefined,
  log: Logger,
): Record<string, unknown> {
  const result = toolInputErrorResult(err, method, protocolVersion);
  if (result) return result;
  if (!(err instanceof WireError) && !(err instanceof Error && err.name === 'ProtocolError')) {
    log.warn({ method, err: err instanceof Error ? err.name : 'error' }, 'unexpected gateway error');
  }
  throw toProtocolError(err);
}
