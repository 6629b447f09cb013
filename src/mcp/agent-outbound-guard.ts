/**
 * Puts the redaction boundary (src/pii/pii-boundary.ts) on every path towards an agent. Each
 * agent-facing SDK `Server` is a {@link GuardedServer}: whatever transport it is connected to (a
 * 2025-11-25 session transport, a 2026-07-28 per-request transport), its `send` is replaced so every
 * JSON-RPC message the SDK writes — results, errors, notifications, progress, server→client requests of
 * the legacy shim, `input_required` results — passes `outbound.toAgent` first. Listen streams
 * (2026-07-28 `subscriptions/listen`) are served by the SDK's listen router, not by a `Server`: their SSE
 * events pass the same function through {@link guardEventStream}.
 *
 * Per agent request the guard keeps what the boundary needs besides the message: the method answered,
 * the target (tool, prompt, URI) and the request's taint (values de-tokenized for it). Messages of one
 * request keep their order (redaction is asynchronous; each request id has its own queue). A failure of
 * the boundary fails closed: a response becomes an error without payload, anything else is dropped.
 *
 * @example
 * const guard = new OutboundGuard(boundary, () => ({ sessionId: transport.sessionId, identity: 'bot' }));
 * const server = new GuardedServer(info, options, guard);
 * const taint = guard.begin(ctx.mcpReq.id, 'tools/call', params);
 */
import {
  type Implementation,
  type JSONRPCMessage,
  type RequestId,
  Server,
  type ServerOptions,
  type Transport,
  type TransportSendOptions,
} from '@modelcontextprotocol/server';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import type { Logger } from 'pino';
import { JSONRPC_INTERNAL_ERROR } from '../errors/wire-error.js';
import type { OutboundContext, OutboundMessage } from '../pii/pii-boundary.js';
import { RequestTaint } from '../pii/request-taint.js';

/** What the guard needs of the boundary (a `PiiBoundary`). */
export interface AgentOutbound {
  toAgent(message: OutboundMessage, context: OutboundContext): Promise<OutboundMessage | undefined>;
}

/** Who the messages of one server go to (token scope). */
export interface OutboundAudience {
  sessionId?: string | undefined;
  identity?: string | undefined;
}

interface RequestEntry {
  method: string;
  target: string | undefined;
  taint: RequestTaint;
}

const STANDALONE = Symbol('standalone');

export class OutboundGuard {
  readonly #outbound: AgentOutbound;
  readonly #audience: () => OutboundAudience;
  readonly #log: Logger | undefined;
  readonly #requests = new Map<RequestId, RequestEntry>();
  readonly #queues = new Map<RequestId | typeof STANDALONE, Promise<void>>();

  constructor(outbound: AgentOutbound, audience: () => OutboundAudience, log?: Logger) {
    this.#outbound = outbound;
    this.#audience = audience;
    this.#log = log;
  }

  /**
   * Registers an agent request (or finds it again: the legacy shim re-enters a handler with the same
   * id) and returns its taint.
   */
  begin(id: RequestId, method: string, params: unknown): RequestTaint {
    const existing = this.#requests.get(id);
    if (existing) return existing.taint;
    const p = (params ?? {}) as { name?: unknown; uri?: unknown };
    const target = typeof p.name === 'string' ? p.name : typeof p.uri === 'string' ? p.uri : undefined;
    const entry: RequestEntry = { method, target, taint: new RequestTaint() };
    this.#requests.set(id, entry);
    return entry.taint;
  }

  /** Forgets a request that will get no response (cancelled by the agent). */
  forget(id: RequestId): void {
    this.#requests.delete(id);
  }

  /** Replaces `transport.send` so every message passes the boundary first. */
  wrap(transport: Transport): void {
    const send = transport.send.bind(transport);
    transport.send = (message: JSONRPCMessage, options?: TransportSendOptions) => {
      const m = message as OutboundMessage;
      const isResponse = 'result' in m || 'error' in m;
      const id = (isResponse ? m.id : options?.relatedRequestId) as RequestId | undefined;
      const key = id ?? STANDALONE;
      const previous = this.#queues.get(key) ?? Promise.resolve();
      const next = previous.then(async () => {
        const safe = await this.#filter(m, id, isResponse);
        if (isResponse && id !== undefined) this.#requests.delete(id);
        if (safe) await send(safe as JSONRPCMessage, options);
      });
      const tail = next.catch(() => {});
      this.#queues.set(key, tail);
      void tail.then(() => {
        if (this.#queues.get(key) === tail) this.#queues.delete(key);
      });
      return next;
    };
  }

  /**
   * Passes one message of request `id` through the boundary outside any transport (the direct path,
   * direct-calls.ts); the caller keeps the messages of a request in order. An answer ends the request.
   */
  async pass(
    message: OutboundMessage,
    id: RequestId,
    isResponse: boolean,
  ): Promise<OutboundMessage | undefined> {
    try {
      return await this.#filter(message, id, isResponse);
    } finally {
      if (isResponse) this.#requests.delete(id);
    }
  }

  /** Passes one SSE event's JSON-RPC message of a listen stream through the boundary. */
  filterEvent(message: OutboundMessage): Promise<OutboundMessage | undefined> {
    return this.#filter(message, undefined, false);
  }

  async #filter(
    message: OutboundMessage,
    id: RequestId | undefined,
    isResponse: boolean,
  ): Promise<OutboundMessage | undefined> {
    const entry = id === undefined ? undefined : this.#requests.get(id);
    const context: OutboundContext = {
      ...this.#audience(),
      ...(entry ? { answers: entry.method, target: entry.target, taint: entry.taint } : {}),
    };
    try {
      return await this.#outbound.toAgent(message, context);
    } catch (err) {
      this.#log?.warn(
        { method: entry?.method, err: err instanceof Error ? err.name : 'error' },
        'PII boundary failed; message withheld',
      );
      if (!isResponse) return undefined;
      return {
        jsonrpc: '2.0',
        id: message.id,
        error: {
          code: JSONRPC_INTERNAL_ERROR,
          message: 'The answer was withheld: the PII boundary could not redact it.',
          data: { airlock: 'AIRLOCK_PII_UNAVAILABLE' },
        },
      };
    }
  }
}

/** An SDK `Server` whose every transport passes the boundary (when a guard is given). */
export class GuardedServer extends Server {
  readonly guard: OutboundGuard | undefined;

  constructor(info: Implementation, options: ServerOptions, guard: OutboundGuard | undefined) {
    super(info, options);
    this.guard = guard;
  }

  override async connect(transport: Transport): Promise<void> {
    this.guard?.wrap(transport);
    return super.connect(transport);
  }
}

/**
 * Passes every `data:` event of an SSE body (a listen stream) through `filter`, event by event, in order;
 * events whose message the boundary drops are left out, comments (keep-alives) pass. SSE framing is read
 * with `eventsource-parser`.
 */
export function guardEventStream(
  body: ReadableStream<Uint8Array>,
  filter: (message: OutboundMessage) => Promise<OutboundMessage | undefined>,
): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  let pending: Promise<void> = Promise.resolve();
  let controller!: TransformStreamDefaultController<Uint8Array>;
  const emit = (text: string) => controller.enqueue(encoder.encode(text));
  const parser = createParser({
    onEvent: (event: EventSourceMessage) => {
      pending = pending.then(async () => {
        let message: OutboundMessage;
        try {
          message = JSON.parse(event.data) as OutboundMessage;
        } catch {
          return; // not JSON-RPC: nothing an agent needs
        }
        const safe = await filter(message);
        if (!safe) return;
        const id = event.id ? `id: ${event.id}\n` : '';
        const name = event.event ? `event: ${event.event}\n` : '';
        emit(`${id}${name}data: ${JSON.stringify(safe)}\n\n`);
      });
    },
    onComment: (comment) => {
      pending = pending.then(() => emit(`:${comment}\n\n`));
    },
  });
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      start(c) {
        controller = c;
      },
      async transform(chunk) {
        parser.feed(decoder.decode(chunk, { stream: true }));
        await pending;
      },
      async flush() {
        await pending;
      },
    }),
  );
}
