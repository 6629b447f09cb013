/**
 * A supervised connection to one upstream MCP server (a stdio child process or a Streamable HTTP
 * service), spoken to with the official v2 SDK `Client` in either protocol era.
 *
 * Supervision: when the child exits or the connection is lost, in-flight requests fail at once with
 * `AIRLOCK_UPSTREAM_UNAVAILABLE` (-32603) and the upstream restarts with backoff and jitter; requests
 * made while it is down fail the same way. stdio stderr is logged redacted or dropped, never on stdout
 * (upstream-transport.ts); the child gets only the SDK's minimal environment plus `config.env`. Agent
 * credentials are never forwarded; error texts in logs and status are redacted.
 *
 * Relay (upstream-interaction.ts): a request may carry its agent's `interaction`, where the upstream's
 * server→client requests and logs for it go; a 2026-07-28 `input_required` answer is returned to the
 * caller. Subscriptions and the log level survive restarts (upstream-events.ts). Types: upstream-types.ts.
 *
 * @example
 * const erp = new Upstream({ name: 'erp', kind: 'stdio', command: 'node', args: ['erp.js'] }, { logger });
 * await erp.start();
 * const tools = await erp.listAll('tools');
 * const result = await erp.request('tools/call', { name: 'lookup', arguments: { id: 7 } });
 */
import {
  type Client,
  type LoggingLevel,
  ProtocolError,
  type ServerCapabilities,
  type Transport,
} from '@modelcontextprotocol/client';
import { pino } from 'pino';
import { UpstreamError } from '../errors/airlock-error.js';
import { WireError } from '../errors/wire-error.js';
import { redactedErrorText } from '../pii/log-redaction.js';
import { Backoff, type Clock, systemClock } from '../supervision/backoff.js';
import { isValidUpstreamName, type UpstreamConfig } from './upstream-config.js';
import {
  classifyUpstreamFailure,
  requestCancelled,
  upstreamFailed,
  upstreamUnavailable,
} from './upstream-errors.js';
import { UpstreamEvents } from './upstream-events.js';
import { DEFAULT_UPSTREAM_MAX_IN_FLIGHT, InFlightLimit } from './upstream-in-flight.js';
import {
  installInteractionHandlers,
  type UpstreamInteraction,
  upstreamCallStorage,
} from './upstream-interaction.js';
import { sendOnWire } from './upstream-send.js';
import { DEFAULT_UPSTREAM_STDERR } from './upstream-stderr.js';
import { createUpstreamTransport } from './upstream-transport.js';
import {
  DEFAULT_RESTART_BACKOFF,
  DEFAULT_UPSTREAM_CONNECT_TIMEOUT_MS,
  DEFAULT_UPSTREAM_HEALTHY_AFTER_MS,
  DEFAULT_UPSTREAM_MAX_LIST_PAGES,
  DEFAULT_UPSTREAM_TIMEOUT_MS,
  type ForwardedMethod,
  LIST_METHODS,
  type ListKind,
  type UpstreamOptions,
  type UpstreamRequestOptions,
  type UpstreamState,
  type UpstreamStatus,
} from './upstream-types.js';
import {
  collectPages,
  deliverResponsesAfterNotifications,
  newUpstreamClient,
  withEnvelope,
  withoutRetryFields,
} from './upstream-wire.js';

export { MAX_STDERR_LINE_LENGTH } from './upstream-stderr.js';
// The types and defaults of an upstream (upstream-types.ts), for importers of this module.
export * from './upstream-types.js';

export class Upstream extends UpstreamEvents {
  readonly name: string;
  readonly config: UpstreamConfig;
  readonly #clock: Clock;
  readonly #options: UpstreamOptions;
  /** The upstream answered a direct call with a redirect: calls go through the SDK client (which follows it). */
  #redirects = false;
  readonly #timeoutMs: number;
  readonly #backoff: Backoff;
  /** `maxInFlight` (upstream-in-flight.ts). */
  readonly #gate: InFlightLimit;

  #state: UpstreamState = 'stopped';
  #client: Client | undefined;
  /** The live connection's transport (its `onmessage` is the SDK client's, for direct calls' other messages). */
  #transport: Transport | undefined;
  #generation = 0;
  #downGeneration = -1;
  #started = false;
  #stopped = false;
  #restarts = 0;
  #everReady = false;
  #lastError: string | undefined;
  #lastErrorAt: number | undefined;
  #readySince: number | undefined;
  #nextAttemptAt: number | undefined;
  #restartTimer: unknown;
  #sandboxed: boolean | undefined;
  readonly #inflight = new Set<(err: Error) => void>();
  /** Interactions of the requests in flight (stdio correlation, see upstream-interaction.ts). */
  readonly #interactions = new Set<UpstreamInteraction>();
  /** Level last asked for with `setLoggingLevel` (re-applied to 2025-11-25 upstreams after a restart). */
  #logLevel: LoggingLevel | undefined;

  constructor(config: UpstreamConfig, options: UpstreamOptions = {}) {
    if (!isValidUpstreamName(config.name)) {
      throw new UpstreamError(
        'AIRLOCK_UPSTREAM_BAD_NAME',
        `upstream name '${config.name}' must match [a-z0-9][a-z0-9_-]*`,
      );
    }
    super(config.name, (options.logger ?? pino({ level: 'silent' })).child({ upstream: config.name }));
    this.name = config.name;
    this.config = config;
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.#timeoutMs = config.timeoutMs ?? options.timeoutMs ?? DEFAULT_UPSTREAM_TIMEOUT_MS;
    this.#backoff = new Backoff({ ...DEFAULT_RESTART_BACKOFF, ...options.backoff });
    this.#gate = new InFlightLimit(config.maxInFlight ?? DEFAULT_UPSTREAM_MAX_IN_FLIGHT);
  }

  /** Starts supervision; resolves after the first connection attempt (a failure schedules a retry). */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    this.#stopped = false;
    await upstreamCallStorage.exit(() => this.#connect());
  }

  /** Current status for the console. */
  status(): UpstreamStatus {
    const client = this.#client;
    const status: UpstreamStatus = {
      name: this.name,
      kind: this.config.kind,
      state: this.#state,
      restarts: this.#restarts,
    };
    const ready = this.#state === 'ready';
    if (this.#lastError !== undefined) status.lastError = this.#lastError;
    if (this.#lastErrorAt !== undefined) status.lastErrorAt = this.#lastErrorAt;
    if (ready && this.#readySince !== undefined) status.readySince = this.#readySince;
    if (!ready && this.#nextAttemptAt !== undefined) status.nextAttemptAt = this.#nextAttemptAt;
    const era = client?.getProtocolEra();
    if (era) status.era = era;
    const server = client?.getServerVersion();
    if (server) status.server = server;
    const instructions = ready ? client?.getInstructions() : undefined;
    if (instructions) status.instructions = instructions;
    if (this.#sandboxed !== undefined) status.sandboxed = this.#sandboxed;
    return status;
  }

  /** Server capabilities of the live connection, or undefined while down. */
  capabilities(): ServerCapabilities | undefined {
    return this.#state === 'ready' ? this.#client?.getServerCapabilities() : undefined;
  }

  /** Sets (and re-applies after restarts) a 2025-11-25 upstream's log level; 2026-07-28 take it per request. */
  async setLoggingLevel(level: LoggingLevel): Promise<void> {
    this.#logLevel = level;
    await this.#applyLogLevel();
  }

  /**
   * Sends one request and returns the raw result. Upstream JSON-RPC errors are rethrown as the SDK's
   * `ProtocolError` (code, message, data intact); connection failures become `WireError`s.
   */
  request(
    method: ForwardedMethod,
    params: Record<string, unknown>,
    options: UpstreamRequestOptions = {},
  ): Promise<Record<string, unknown>> {
    return this.#gate.run(options.signal, () => this.#send(method, params, options));
  }

  #send(
    method: ForwardedMethod,
    params: Record<string, unknown>,
    options: UpstreamRequestOptions,
  ): Promise<Record<string, unknown>> {
    const client = this.#client;
    if (!client || this.#state !== 'ready')
      return Promise.reject(upstreamUnavailable(this.name, this.#lastError));
    const generation = this.#generation;
    const modern = client.getProtocolEra() === 'modern';
    const interaction = options.interaction;
    const wire = modern ? withEnvelope(params, interaction) : withoutRetryFields(params);
    const route = {
      config: this.config,
      options: this.#options,
      transport: this.#transport,
      timeoutMs: this.#timeoutMs,
      direct: !this.#redirects,
      redirected: () => {
        this.#redirects = true;
      },
    };
    return new Promise<Record<string, unknown>>((resolve, reject) => {
      const fail = (err: Error) => reject(err);
      this.#inflight.add(fail);
      if (interaction) this.#interactions.add(interaction);
      // Related upstream traffic is handled in this context (see upstream-interaction.ts).
      upstreamCallStorage
        .run({ owner: this, interaction }, () => sendOnWire(client, method, wire, options, route))
        .then(
          (result) => resolve(result as Record<string, unknown>),
          (err: unknown) => reject(this.#mapError(err, generation, options.signal)),
        )
        .finally(() => {
          this.#inflight.delete(fail);
          if (interaction) this.#interactions.delete(interaction);
        });
    });
  }

  /** Lists every item of a kind, following `nextCursor` page by page. Empty when the capability is absent. */
  async listAll(kind: ListKind, options: UpstreamRequestOptions = {}): Promise<Record<string, unknown>[]> {
    const spec = LIST_METHODS[kind];
    const caps = this.capabilities();
    if (!caps) throw upstreamUnavailable(this.name, this.#lastError);
    if (!caps[spec.capability]) return [];
    const maxPages = this.#options.maxListPages ?? DEFAULT_UPSTREAM_MAX_LIST_PAGES;
    return collectPages(
      (cursor) => this.request(spec.method, cursor === undefined ? {} : { cursor }, options),
      spec.key,
      maxPages,
      () => upstreamFailed(this.name, `${spec.method} pagination did not end after ${maxPages} pages`),
    );
  }

  /** Shutdown has begun (`close()` follows): a connection lost from now on is expected — no warning, no restart. */
  beginStop(): void {
    this.#stopped = true;
  }

  /** Stops supervision, fails in-flight requests and closes the connection (the stdio child is stopped). */
  async close(): Promise<void> {
    this.#stopped = true;
    this.#generation++;
    if (this.#restartTimer !== undefined) this.#clock.clearTimeout(this.#restartTimer);
    this.#restartTimer = undefined;
    this.#nextAttemptAt = undefined;
    this.#failInflight(upstreamUnavailable(this.name, 'stopped'));
    const client = this.#client;
    this.#client = undefined;
    this.#transport = undefined;
    this.resourceSubscriptions.detach();
    this.#setState('stopped');
    if (client) await client.close().catch(() => {});
  }

  // ---------------------------------------------------------------------------------------------

  async #connect(): Promise<void> {
    const generation = ++this.#generation;
    this.#restartTimer = undefined;
    this.#nextAttemptAt = undefined;
    this.#setState(this.#everReady ? 'restarting' : this.#state === 'failed' ? 'failed' : 'starting');
    const serverRequests = this.#options.serverRequests ?? true;
    const client = newUpstreamClient(this.config, this.#options, serverRequests, (kind) =>
      this.#emitListChanged(generation, kind),
    );
    client.onerror = (err) => this.log.debug({ err: redactedErrorText(err) }, 'upstream protocol error');
    installInteractionHandlers(client, this, {
      name: this.name,
      uncorrelated: this.config.kind === 'stdio',
      inFlight: this.#interactions,
      serverRequests,
      log: this.log,
      isCurrent: () => generation === this.#generation,
      onUnrelatedLog: (params) => this.emitUnsolicitedLog(params),
    });
    client.setNotificationHandler('notifications/resources/updated', (notification) => {
      if (generation !== this.#generation) return;
      this.emitResourceUpdated(notification.params.uri);
    });
    const closedReason = this.config.kind === 'stdio' ? 'process exited' : 'connection closed';
    client.onclose = () => this.#down(generation, closedReason);
    let transport: Transport;
    try {
      transport = await this.#createTransport(generation);
      await client.connect(transport, {
        timeout: this.#options.connectTimeoutMs ?? DEFAULT_UPSTREAM_CONNECT_TIMEOUT_MS,
      });
    } catch (err) {
      this.log.warn({ err: redactedErrorText(err) }, 'upstream failed to start');
      this.#down(generation, `failed to start: ${redactedErrorText(err)}`, client);
      return;
    }
    if (generation !== this.#generation || this.#stopped || this.#downGeneration === generation) {
      await client.close().catch(() => {});
      return;
    }
    deliverResponsesAfterNotifications(transport);
    this.#transport = transport;
    this.#client = client;
    this.#everReady = true;
    this.#readySince = this.#clock.now();
    this.log.info({ era: client.getProtocolEra(), server: client.getServerVersion() }, 'upstream ready');
    this.#setState('ready');
    this.resourceSubscriptions.attach({
      client,
      era: client.getProtocolEra() === 'modern' ? 'modern' : 'legacy',
      supported: client.getServerCapabilities()?.resources?.subscribe === true,
      send: (method, params) => this.request(method, params),
    });
    if (this.#logLevel !== undefined) void this.#applyLogLevel();
  }

  /** Sends the remembered log level to a ready 2025-11-25 upstream that advertises `logging`. */
  async #applyLogLevel(): Promise<void> {
    const level = this.#logLevel;
    const client = this.#client;
    if (level === undefined || !client || this.#state !== 'ready') return;
    if (client.getProtocolEra() === 'modern' || !client.getServerCapabilities()?.logging) return;
    await this.request('logging/setLevel', { level }).catch((err: unknown) =>
      this.log.warn({ err: redactedErrorText(err) }, 'upstream refused logging/setLevel'),
    );
  }

  async #createTransport(generation: number): Promise<Transport> {
    const made = await createUpstreamTransport(this.config, {
      log: this.log,
      ...(this.#options.fetch ? { fetch: this.#options.fetch } : {}),
      stderr: this.#options.stderr ?? DEFAULT_UPSTREAM_STDERR,
      isCurrent: () => generation === this.#generation,
      taints: () => [...this.#interactions].map((i) => i.taint),
    });
    this.#sandboxed = made.sandboxed ?? this.#sandboxed;
    return made.transport;
  }

  /** The connection of `generation` is gone: fail in-flight requests at once and schedule a restart. */
  #down(generation: number, reason: string, failedClient?: Client): void {
    if (this.#stopped || generation !== this.#generation || this.#downGeneration === generation) return;
    this.#downGeneration = generation;
    const wasReady = this.#state === 'ready';
    const client = this.#client ?? failedClient;
    this.#client = undefined;
    this.#transport = undefined;
    this.resourceSubscriptions.detach();
    this.#lastError = reason;
    this.#lastErrorAt = this.#clock.now();
    this.#failInflight(upstreamUnavailable(this.name, reason));
    if (client) void client.close().catch(() => {});
    if (wasReady) {
      const upFor = this.#clock.now() - (this.#readySince ?? 0);
      if (upFor >= (this.#options.healthyAfterMs ?? DEFAULT_UPSTREAM_HEALTHY_AFTER_MS)) this.#backoff.reset();
      this.log.warn({ reason }, 'upstream went down; restarting');
    }
    const delay = this.#backoff.nextDelay();
    this.#restarts++;
    this.#nextAttemptAt = this.#clock.now() + delay;
    this.#restartTimer = this.#clock.setTimeout(() => {
      if (this.#stopped) return;
      void upstreamCallStorage.exit(() => this.#connect());
    }, delay);
    this.#setState(wasReady || this.#everReady ? 'restarting' : 'failed');
  }

  #mapError(err: unknown, generation: number, signal: AbortSignal | undefined): Error {
    if (err instanceof ProtocolError || err instanceof WireError) return err;
    if (signal?.aborted) return requestCancelled();
    if (generation !== this.#generation || this.#downGeneration === generation) {
      return upstreamUnavailable(this.name, this.#lastError);
    }
    const target = { upstream: this.name, transport: this.config.kind, timeoutMs: this.#timeoutMs };
    const failure = classifyUpstreamFailure(err, target);
    if (failure.kind === 'answer') return failure.error;
    if (failure.kind === 'down') {
      this.#down(generation, failure.reason);
      return upstreamUnavailable(this.name, this.#lastError);
    }
    this.log.warn({ err: redactedErrorText(err) }, 'upstream request failed');
    return upstreamFailed(this.name, 'unexpected error');
  }

  #failInflight(err: Error): void {
    const pending = [...this.#inflight];
    this.#inflight.clear();
    for (const fail of pending) fail(err);
  }

  #emitListChanged(generation: number, kind: ListKind): void {
    if (generation === this.#generation) this.emitListChanged(kind);
  }

  #setState(state: UpstreamState): void {
    this.#state = state;
    this.emitStatus(this.status());
  }
}
