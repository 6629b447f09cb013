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
import {
  type ClientCapabilities,
  isInputRequiredResult,
  type LoggingLevel,
  type LoggingMessageNotificationParams,
  type Progress,
  ProtocolError,
} from '@modelcontextprotocol/server';
import { JSONRPC_INTERNAL_ERROR, JSONRPC_INVALID_PARAMS, WireError } from '../errors/wire-error.js';
import {
  missingAgentCapability,
  type RelayedServerRequest,
  relayRefusal,
  type UpstreamInteraction,
} from './upstream-interaction.js';

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
}

/** Starts the upstream request with these options (e.g. `(opts) => catalog.callTool(params, opts)`). */
export type StartRelayedCall = (options: {
  signal: AbortSignal;
  onprogress: (progress: Progress) => void;
  interaction: UpstreamInteraction;
}) => Promise<Record<string, unknown>>;

/** JSON-RPC code of the SDK's missing-required-client-capability error (2026-07-28). */
const MISSING_CLIENT_CAPABILITY = -32021;

function errorCode(err: unknown): unknown {
  return err !== null && typeof err === 'object' ? (err as { code?: unknown }).code : undefined;
}

/** Whether `state` (an agent's `requestState`) names a parked call rather than an upstream's own state. */
export function isRelayState(state: unknown): state is string {
  return typeof state === 'string' && state.startsWith(RELAY_STATE_PREFIX);
}

interface Asked {
  key: string;
  request: RelayedServerRequest;
  resolve: (result: Record<string, unknown>) => void;
  reject: (err: Error) => void;
}

type Outcome = { ok: true; value: Record<string, unknown> } | { ok: false; error: unknown };

export class RelayedCalls {
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

class RelayedCall {
  readonly binding: RelayBinding;
  readonly owner: string;
  token: string | undefined;
  driving = false;
  readonly #registry: RelayedCalls;
  readonly #controller = new AbortController();
  #turn: AgentTurn | undefined;
  /** The latest driving agent's capabilities (also used while parked). */
  #capabilities: ClientCapabilities | undefined;
  #outcome: Promise<Outcome> = Promise.resolve({ ok: false, error: new Error('not started') });
  #done = false;
  readonly #asked: Asked[] = [];
  readonly #waiting = new Map<string, Asked>();
  #seq = 0;
  #wake: (() => void) | undefined;
  #timer: NodeJS.Timeout | undefined;
  #unwatch: (() => void) | undefined;

  constructor(registry: RelayedCalls, binding: RelayBinding, first: AgentTurn) {
    this.#registry = registry;
    this.binding = binding;
    this.owner = first.owner;
    this.#turn = first;
    this.#capabilities = first.capabilities;
  }

  begin(start: StartRelayedCall): void {
    const first = this.#turn;
    const interaction: UpstreamInteraction = {
      onServerRequest: (request, signal) => this.#ask(request, signal),
      onLog: (params) => this.#turn?.onLog(params),
      clientCapabilities: this.#registry.serverRequests ? (first?.capabilities ?? {}) : {},
      ...(first?.logLevel !== undefined ? { logLevel: first.logLevel } : {}),
    };
    this.#outcome = start({
      signal: this.#controller.signal,
      onprogress: (progress) => this.#turn?.onprogress(progress),
      interaction,
    }).then(
      (value): Outcome => ({ ok: true, value }),
      (error: unknown): Outcome => ({ ok: false, error }),
    );
  }

  /** Drives the call for one agent request: resolves with the result or with `input_required`. */
  async drive(turn: AgentTurn): Promise<Record<string, unknown>> {
    this.driving = true;
    this.#turn = turn;
    this.#capabilities = turn.capabilities;
    this.#stopTimer();
    this.#unwatch?.();
    const onAbort = () => this.cancel('the agent cancelled the request');
    if (turn.signal.aborted) onAbort();
    else turn.signal.addEventListener('abort', onAbort, { once: true });
    try {
      for (;;) {
        if (this.#asked.length > 0) {
          const parked = this.#parkAsked();
          if (parked) return parked;
          continue;
        }
        const woke = new Promise<'woke'>((resolve) => {
          this.#wake = () => resolve('woke');
        });
        const next = await Promise.race([this.#outcome, woke]);
        this.#wake = undefined;
        if (next === 'woke') {
          // Several requests pushed together go to the agent in one round.
          await new Promise((resolve) => setImmediate(resolve));
          continue;
        }
        this.#finish();
        if (this.#registry.serverRequests) {
          if (!next.ok) throw next.error;
          return next.value;
        }
        // Disabled: a 2026-07-28 upstream either asks anyway or refuses for lack of the capability (-32021).
        if (
          next.ok ? isInputRequiredResult(next.value) : errorCode(next.error) === MISSING_CLIENT_CAPABILITY
        ) {
          throw new WireError(
            JSONRPC_INTERNAL_ERROR,
            'AIRLOCK_SERVER_REQUESTS_DISABLED',
            `The upstream needs input from the agent (sampling, elicitation or roots) for ${this.binding.method} '${this.binding.target}', but relaying server→client requests is disabled on this connector (mcp.allowServerRequests: false)`,
          );
        }
        if (!next.ok) throw next.error;
        return next.value;
      }
    } finally {
      turn.signal.removeEventListener('abort', onAbort);
      this.#turn = undefined;
      this.driving = false;
      if (!this.#done && this.token) {
        this.#startTimer();
        this.#watch(turn.heldSignal);
      }
    }
  }

  /** Delivers the agent's answers to the upstream requests handed to it in the last round. */
  answer(responses: Record<string, unknown>): void {
    for (const [key, asked] of this.#waiting) {
      const result = responses[key];
      if (result !== null && typeof result === 'object' && !Array.isArray(result)) {
        asked.resolve(result as Record<string, unknown>);
      } else {
        asked.reject(
          relayRefusal('AIRLOCK_AGENT_NO_ANSWER', `The agent did not answer ${asked.request.method}`),
        );
      }
    }
    this.#waiting.clear();
  }

  /** Cancels the call at the upstream and refuses whatever it still waits for. */
  cancel(why: string): void {
    if (this.#done) return;
    this.#finish();
    this.#controller.abort(new Error(why));
    const refusal = relayRefusal('AIRLOCK_RELAY_CANCELLED', `Airlock stopped relaying: ${why}`);
    for (const asked of [...this.#asked, ...this.#waiting.values()]) asked.reject(refusal);
    this.#asked.length = 0;
    this.#waiting.clear();
  }

  #ask(request: RelayedServerRequest, signal: AbortSignal): Promise<Record<string, unknown>> {
    if (!this.#registry.serverRequests) {
      return Promise.reject(
        relayRefusal(
          'AIRLOCK_SERVER_REQUESTS_DISABLED',
          `Relaying ${request.method} to agents is disabled on this connector (mcp.allowServerRequests: false)`,
        ),
      );
    }
    if (this.#done) {
      return Promise.reject(relayRefusal('AIRLOCK_RELAY_CANCELLED', 'The agent request has ended'));
    }
    const missing = missingAgentCapability(request, this.#capabilities);
    if (missing) {
      return Promise.reject(
        relayRefusal(
          'AIRLOCK_AGENT_CAPABILITY_MISSING',
          `The agent cannot answer ${request.method}: it did not declare the '${missing}' capability`,
        ),
      );
    }
    return new Promise((resolve, reject) => {
      const key = `airlock-${++this.#seq}`;
      const asked: Asked = { key, request, resolve, reject };
      const onAbort = () => {
        const i = this.#asked.indexOf(asked);
        if (i >= 0) this.#asked.splice(i, 1);
        this.#waiting.delete(key);
        reject(new ProtocolError(JSONRPC_INTERNAL_ERROR, 'cancelled by the upstream'));
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      this.#asked.push(asked);
      this.#wake?.();
    });
  }

  /** Hands the pending requests to the agent: the `input_required` result of this round. */
  #parkAsked(): Record<string, unknown> | undefined {
    const token = this.#registry.park(this);
    if (!token) {
      const refusal = relayRefusal(
        'AIRLOCK_RELAY_CAPACITY',
        'Too many calls are waiting for agents’ input on this connector; try again later',
      );
      for (const asked of this.#asked.splice(0)) asked.reject(refusal);
      return undefined;
    }
    this.token = token;
    const inputRequests: Record<string, unknown> = {};
    for (const asked of this.#asked.splice(0)) {
      this.#waiting.set(asked.key, asked);
      inputRequests[asked.key] = asked.request;
    }
    return { resultType: 'input_required', inputRequests, requestState: token };
  }

  /** While parked: the agent giving up on its (still open) request cancels the call. */
  #watch(signal: AbortSignal | undefined): void {
    if (!signal) return;
    const onAbort = () => this.cancel('the agent cancelled the request');
    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    this.#unwatch = () => {
      signal.removeEventListener('abort', onAbort);
      this.#unwatch = undefined;
    };
  }

  #finish(): void {
    this.#done = true;
    this.#unwatch?.();
    this.#stopTimer();
    this.#registry.unpark(this.token);
  }

  #startTimer(): void {
    this.#stopTimer();
    this.#timer = setTimeout(
      () => this.cancel(`no answer from the agent within ${this.#registry.waitMs} ms`),
      this.#registry.waitMs,
    );
    this.#timer.unref();
  }

  #stopTimer(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
