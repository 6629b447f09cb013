/**
 * Agent requests forwarded to an upstream that may need input from the agent while it runs
 * (`tools/call`, `prompts/get`, `resources/read`), presented to the agent as one multi-round-trip
 * exchange — the 2026-07-28 `input_required` model — whatever era each side speaks:
 *
 * - A 2026-07-28 upstream answers `input_required` itself: relayed as is, statelessly. Its opaque
 *   `requestState` passes through the agent untouched and the agent's retry (with `inputResponses`) is
 *   forwarded to it like any request.
 * - A 2025-11-25 upstream pushes server→client requests (`sampling/createMessage`, `elicitation/create`,
 *   `roots/list`) in the middle of the call instead. The call then *parks*: it keeps running at the
 *   upstream, the agent gets `input_required` whose `inputRequests` are the pushed requests and whose
 *   `requestState` names the parked call (`airlock-relay:<128-bit random>`), and the agent's retry
 *   delivers its answers to the waiting upstream requests; the call then continues until it completes
 *   (the retry's answer) or asks again (another round).
 *
 * The agent-facing SDK `Server` does the era work on the agent side: a 2026-07-28 agent receives the
 * `input_required` result; on a 2025-11-25 session the SDK's legacy shim sends the embedded requests as
 * real server→client requests on that agent's request stream and re-enters the handler with the
 * answers. Each round is a request that passes the gateway pipeline.
 *
 * A parked call is bound to the identity, method and target (tool, prompt or URI) that started it, waits
 * at most `inputWaitMs` for the agent, and is cancelled at the upstream after that. Requests the agent
 * cannot answer (it did not declare the capability) are refused to the upstream at once.
 *
 * @example
 * const calls = new RelayedCalls({ inputWaitMs: 300_000 });
 * const result = isRelayState(state)
 *   ? await calls.resume(state, binding, turn, inputResponses)
 *   : await calls.run(binding, turn, (opts) => catalog.callTool(params, opts));
 */
import { randomBytes } from 'node:crypto';
import type {
  ClientCapabilities,
  LoggingLevel,
  LoggingMessageNotificationParams,
  Progress,
} from '@modelcontextprotocol/server';
import { JSONRPC_INVALID_PARAMS, WireError } from '../errors/wire-error.js';
import type { RequestTaint } from '../pii/request-taint.js';
import { type CallRegistry, RelayedCall } from './relayed-call-round.js';
import type { UpstreamInteraction } from './upstream-interaction.js';

/** Default longest wait for the agent's answers before a parked call is cancelled (human-paced: 10 min). */
export const DEFAULT_INPUT_WAIT_MS = 10 * 60 * 1000;
/** Default most calls parked at once (waiting for agents' answers). */
export const DEFAULT_MAX_PARKED_CALLS = 1000;
/** Prefix of the `requestState` that names a parked call. */
export const RELAY_STATE_PREFIX = 'airlock-relay:';

export interface RelayedCallsOptions {
  /** Default {@link DEFAULT_INPUT_WAIT_MS}. */
  inputWaitMs?: number;
  /** Default {@link DEFAULT_MAX_PARKED_CALLS}. */
  maxParked?: number;
  /** Relay server→client requests at all (connector option `mcp.allowServerRequests`). Default `true`. */
  serverRequests?: boolean;
}

/** What a parked call is bound to. */
export interface RelayBinding {
  /** `tools/call`, `prompts/get` or `resources/read`. */
  method: string;
  /** The tool or prompt name, or the resource URI, as the agent sent it. */
  target: string;
}

/** The agent request currently driving a call (one per round). */
export interface AgentTurn {
  /** The identity name (a parked call is only resumed by the identity that started it). */
  owner: string;
  /** Aborted when the agent cancels this request: the upstream call is cancelled. */
  signal: AbortSignal;
  /**
   * The agent request's own signal when it outlives this round (a 2025-11-25 session request: the SDK's
   * legacy shim re-enters with the same request), watched while the call is parked.
   */
  heldSignal?: AbortSignal;
  /** What the agent can answer (`sampling`, `elicitation`, `roots`). */
  capabilities: ClientCapabilities | undefined;
  /** The agent's log level for this request (2026-07-28 envelope), given to 2026-07-28 upstreams. */
  logLevel: LoggingLevel | undefined;
  onprogress: (progress: Progress) => void;
  onLog: (params: LoggingMessageNotificationParams) => void;
  /**
   * Values de-tokenized for this agent request (src/pii/request-taint.ts). A call driven over several
   * requests shares them: what round 1 de-tokenized is re-tokenized in every later round's answer.
   */
  taint?: RequestTaint;
}

/** Starts the upstream request with these options (e.g. `(opts) => catalog.callTool(params, opts)`). */
export type StartRelayedCall = (options: {
  signal: AbortSignal;
  onprogress: (progress: Progress) => void;
  interaction: UpstreamInteraction;
}) => Promise<Record<string, unknown>>;

/** Whether `state` (an agent's `requestState`) names a parked call rather than an upstream's own state. */
export function isRelayState(state: unknown): state is string {
  return typeof state === 'string' && state.startsWith(RELAY_STATE_PREFIX);
}

export class RelayedCalls implements CallRegistry {
  readonly #waitMs: number;
  readonly #max: number;
  readonly #serverRequests: boolean;
  readonly #parked = new Map<string, RelayedCall>();
  #closed = false;

  constructor(options: RelayedCallsOptions = {}) {
    this.#waitMs = options.inputWaitMs ?? DEFAULT_INPUT_WAIT_MS;
    this.#max = options.maxParked ?? DEFAULT_MAX_PARKED_CALLS;
    this.#serverRequests = options.serverRequests ?? true;
  }

  /** Calls parked now. */
  get parked(): number {
    return this.#parked.size;
  }

  /** Starts a call for `turn` and drives it: its result, or `input_required` when the agent must answer. */
  run(binding: RelayBinding, turn: AgentTurn, start: StartRelayedCall): Promise<Record<string, unknown>> {
    const call = new RelayedCall(this, binding, turn);
    call.begin(start);
    return call.drive(turn);
  }

  /**
   * Continues the parked call named by `state` with the agent's `inputResponses`. Throws -32602
   * `AIRLOCK_RELAY_STATE_UNKNOWN` when it does not exist (expired, finished, another identity's or
   * another call's).
   */
  resume(
    state: string,
    binding: RelayBinding,
    turn: AgentTurn,
    inputResponses: Record<string, unknown> | undefined,
  ): Promise<Record<string, unknown>> {
    const call = this.#parked.get(state);
    if (
      !call ||
      call.owner !== turn.owner ||
      call.binding.method !== binding.method ||
      call.binding.target !== binding.target ||
      call.driving
    ) {
      return Promise.reject(
        new WireError(
          JSONRPC_INVALID_PARAMS,
          'AIRLOCK_RELAY_STATE_UNKNOWN',
          'The requestState does not name a call waiting for your input (it finished, expired or belongs to another call); make the request again without it',
        ),
      );
    }
    call.answer(inputResponses ?? {});
    return call.drive(turn);
  }

  /** Cancels every parked call. */
  close(): void {
    this.#closed = true;
    for (const call of [...this.#parked.values()]) call.cancel('the gateway is shutting down');
  }

  // --- for RelayedCall ---------------------------------------------------------------------------

  get serverRequests(): boolean {
    return this.#serverRequests;
  }

  get waitMs(): number {
    return this.#waitMs;
  }

  park(call: RelayedCall): string | undefined {
    if (call.token) return call.token;
    if (this.#closed || this.#parked.size >= this.#max) return undefined;
    const token = `${RELAY_STATE_PREFIX}${randomBytes(16).toString('base64url')}`;
    this.#parked.set(token, call);
    return token;
  }

  unpark(token: string | undefined): void {
    if (token) this.#parked.delete(token);
  }
}
