/**
 * One relayed call (see relayed-call.ts): started once at the upstream, driven by one agent request per
 * round. It collects the server→client requests the upstream pushes, hands them to the agent as an
 * `input_required` round (parking itself under a `requestState` token), delivers the agent's answers,
 * and cancels the upstream call when the agent goes away or does not answer in time. The values
 * de-tokenized by every round are shared (request taint), so a later round's answer is redacted with
 * what round 1 de-tokenized.
 *
 * @example
 * const call = new RelayedCall(registry, { method: 'tools/call', target: 'erp.book' }, turn);
 * call.begin((opts) => catalog.callTool(params, opts));
 * return call.drive(turn);
 */
import { type ClientCapabilities, isInputRequiredResult, ProtocolError } from '@modelcontextprotocol/server';
import { JSONRPC_INTERNAL_ERROR, WireError } from '../errors/wire-error.js';
import { RequestTaint } from '../pii/request-taint.js';
import type { AgentTurn, RelayBinding, StartRelayedCall } from './relayed-call.js';
import {
  missingAgentCapability,
  type RelayedServerRequest,
  relayRefusal,
  type UpstreamInteraction,
} from './upstream-interaction.js';

/** What a call needs of the registry that parks it (`RelayedCalls`). */
export interface CallRegistry {
  readonly serverRequests: boolean;
  readonly waitMs: number;
  park(call: RelayedCall): string | undefined;
  unpark(token: string | undefined): void;
}

/** JSON-RPC code of the SDK's missing-required-client-capability error (2026-07-28). */
const MISSING_CLIENT_CAPABILITY = -32021;

function errorCode(err: unknown): unknown {
  return err !== null && typeof err === 'object' ? (err as { code?: unknown }).code : undefined;
}

interface Asked {
  key: string;
  request: RelayedServerRequest;
  resolve: (result: Record<string, unknown>) => void;
  reject: (err: Error) => void;
}

type Outcome = { ok: true; value: Record<string, unknown> } | { ok: false; error: unknown };

/** The outcome of a call not begun yet (one for all: an error's stack is costly to capture per call). */
const NOT_STARTED: Promise<Outcome> = Promise.resolve({ ok: false, error: new Error('not started') });

export class RelayedCall {
  readonly binding: RelayBinding;
  readonly owner: string;
  token: string | undefined;
  driving = false;
  readonly #registry: CallRegistry;
  readonly #controller = new AbortController();
  #turn: AgentTurn | undefined;
  /** The latest driving agent's capabilities (also used while parked). */
  #capabilities: ClientCapabilities | undefined;
  #outcome: Promise<Outcome> = NOT_STARTED;
  #done = false;
  readonly #asked: Asked[] = [];
  readonly #waiting = new Map<string, Asked>();
  #seq = 0;
  /** Values de-tokenized by every round of this call. */
  readonly #taint = new RequestTaint();
  #wake: (() => void) | undefined;
  #timer: NodeJS.Timeout | undefined;
  #unwatch: (() => void) | undefined;

  constructor(registry: CallRegistry, binding: RelayBinding, first: AgentTurn) {
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
      taint: this.#taint,
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
    this.#taint.absorb(turn.taint);
    turn.taint?.absorb(this.#taint);
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
