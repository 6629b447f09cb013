/**
 * Keeps N tunnels to the relay open. Each slot reconnects on its own with exponential backoff and
 * full jitter; permanent failures (certificate rejected, connector revoked, relay not trusted) stop
 * that slot and are reported instead of hammering the relay. `stop()` drains: no new agent streams,
 * in-flight ones finish (up to a timeout), then the tunnels close.
 *
 * @example
 * const supervisor = new TunnelSupervisor({
 *   relayUrl: 'tls://relay.example.com:443', relayCaPem, credential, connectorId, tunnels: 2,
 *   onStream: (stream, meta) => tenantTls.emit('connection', stream),
 * });
 * supervisor.on('status', (s) => console.log(s.state));
 * supervisor.on('tunnel-failed', ({ slot, code, message }) => alert(message)); // permanent: needs a human
 * supervisor.start();
 * // ...
 * await supervisor.stop();
 */
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { type Logger, pino } from 'pino';
import { TunnelError } from '../errors/airlock-error.js';
import type { CertifiedKey } from '../identity/pki.js';
import { Backoff, type BackoffOptions, type Clock, systemClock } from './backoff.js';
import {
  dialTunnel,
  type TunnelClientOptions,
  type TunnelConnection,
  type TunnelStreamMeta,
  type TunnelTransportKind,
} from './tunnel-client.js';

/** Tunnels kept per connector. */
export const DEFAULT_SUPERVISOR_TUNNELS = 2;
/** `stop()` waits this long for in-flight agent streams before closing tunnels. */
export const DEFAULT_DRAIN_TIMEOUT_MS = 10_000;

export type SlotState = 'connecting' | 'up' | 'backoff' | 'failed' | 'stopped';
export type SupervisorState = 'idle' | 'connecting' | 'up' | 'degraded' | 'failed' | 'draining' | 'stopped';

export interface SlotStatus {
  slot: number;
  state: SlotState;
  transport: TunnelTransportKind | undefined;
  /** Epoch ms of the last state change. */
  since: number;
  /** Consecutive failed attempts. */
  attempts: number;
  activeStreams: number;
  /** Delay before the next attempt when in `backoff`. */
  retryInMs?: number;
  lastError?: { code: string; message: string; retryable: boolean };
}

export interface SupervisorStatus {
  state: SupervisorState;
  tunnels: SlotStatus[];
}

export interface TunnelSupervisorOptions
  extends Pick<
    TunnelClientOptions,
    | 'relayUrl'
    | 'connectTo'
    | 'relayCaPem'
    | 'proxy'
    | 'env'
    | 'heartbeatIntervalMs'
    | 'heartbeatTimeoutMs'
    | 'connectTimeoutMs'
    | 'helloTimeoutMs'
    | 'maxConcurrentStreams'
    | 'websocketMaxPayload'
  > {
  credential: CertifiedKey;
  connectorId: string;
  /** Number of tunnels (slots 0..n-1). */
  tunnels?: number;
  transport?: TunnelTransportKind;
  backoff?: Omit<BackoffOptions, 'clock'>;
  clock?: Clock;
  logger?: Logger;
  onStream: (stream: Duplex, meta: TunnelStreamMeta) => void;
}

interface Slot {
  status: SlotStatus;
  backoff: Backoff;
  connection: TunnelConnection | undefined;
  timer: unknown;
  wake: (() => void) | undefined;
  done: Promise<void>;
}

/**
 * Events: `status` ({@link SupervisorStatus}, on every change) and `tunnel-failed`
 * (`{ slot, code, message }`, a permanent failure that stopped a slot).
 */
export class TunnelSupervisor extends EventEmitter {
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly slots: Slot[] = [];
  private started = false;
  private stopping = false;
  private stopped = false;

  constructor(private readonly options: TunnelSupervisorOptions) {
    super();
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? pino({ level: 'silent' });
    const count = options.tunnels ?? DEFAULT_SUPERVISOR_TUNNELS;
    if (!Number.isInteger(count) || count < 1) throw new RangeError('tunnels must be a positive integer');
    for (let slot = 0; slot < count; slot++) {
      this.slots.push({
        status: {
          slot,
          state: 'connecting',
          transport: undefined,
          since: this.clock.now(),
          attempts: 0,
          activeStreams: 0,
        },
        backoff: new Backoff({ ...options.backoff, clock: this.clock }),
        connection: undefined,
        timer: undefined,
        wake: undefined,
        done: Promise.resolve(),
      });
    }
  }

  /** Starts every slot. Idempotent. */
  start(): this {
    if (this.started) return this;
    this.started = true;
    for (const slot of this.slots) slot.done = this.run(slot);
    this.emitStatus();
    return this;
  }

  status(): SupervisorStatus {
    const tunnels = this.slots.map((s) => ({
      ...s.status,
      activeStreams: s.connection?.activeStreams ?? 0,
    }));
    let state: SupervisorState;
    if (this.stopped) state = 'stopped';
    else if (this.stopping) state = 'draining';
    else if (!this.started) state = 'idle';
    else if (tunnels.every((t) => t.state === 'up')) state = 'up';
    else if (tunnels.some((t) => t.state === 'up')) state = 'degraded';
    else if (tunnels.every((t) => t.state === 'failed')) state = 'failed';
    else state = 'connecting';
    return { state, tunnels };
  }

  /**
   * Drains and closes every tunnel; no reconnects afterwards.
   *
   * @example
   * await supervisor.stop({ drainTimeoutMs: 5000 });
   */
  async stop(options: { drainTimeoutMs?: number } = {}): Promise<void> {
    if (this.stopping || this.stopped) {
      await Promise.all(this.slots.map((s) => s.done));
      return;
    }
    this.stopping = true;
    this.emitStatus();
    const drainTimeoutMs = options.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS;
    await Promise.all(
      this.slots.map(async (slot) => {
        if (slot.timer !== undefined) this.clock.clearTimeout(slot.timer);
        slot.wake?.();
        await slot.connection?.drain(drainTimeoutMs);
      }),
    );
    // A dial still in progress finishes (and is closed at once) in the background; do not wait forever.
    await new Promise<void>((resolve) => {
      const timer = this.clock.setTimeout(resolve, drainTimeoutMs);
      void Promise.all(this.slots.map((s) => s.done)).then(() => {
        this.clock.clearTimeout(timer);
        resolve();
      });
    });
    for (const slot of this.slots) if (slot.status.state !== 'failed') this.setState(slot, 'stopped', false);
    this.stopped = true;
    this.emitStatus();
  }

  private setState(slot: Slot, state: SlotState, emit = true, extra: Partial<SlotStatus> = {}): void {
    slot.status = { ...slot.status, retryInMs: undefined, ...extra, state, since: this.clock.now() };
    if (emit) this.emitStatus();
  }

  private emitStatus(): void {
    this.emit('status', this.status());
  }

  private sleep(slot: Slot, ms: number): Promise<void> {
    return new Promise((resolve) => {
      slot.wake = () => {
        slot.wake = undefined;
        slot.timer = undefined;
        resolve();
      };
      slot.timer = this.clock.setTimeout(() => slot.wake?.(), ms);
    });
  }

  private async run(slot: Slot): Promise<void> {
    const { slot: index } = slot.status;
    while (!this.stopping) {
      this.setState(slot, 'connecting');
      let error: TunnelError;
      try {
        const connection = await dialTunnel({
          ...this.options,
          slot: index,
          logger: this.logger,
          onStream: this.options.onStream,
        });
        if (this.stopping) {
          await connection.drain(0);
          break;
        }
        slot.connection = connection;
        slot.backoff.connected();
        connection.on('stream-open', () => this.emitStatus());
        connection.on('stream-close', () => this.emitStatus());
        this.setState(slot, 'up', true, { attempts: 0, transport: connection.transport });
        error = await connection.closed;
        slot.connection = undefined;
      } catch (err) {
        error =
          err instanceof TunnelError
            ? err
            : new TunnelError('AIRLOCK_TUNNEL_INTERNAL', (err as Error).message, {
                cause: err,
                retryable: true,
              });
      }
      if (this.stopping) break;
      const lastError = { code: error.code, message: error.message, retryable: error.retryable };
      if (!error.retryable) {
        this.logger.error({ slot: index, code: error.code }, `tunnel stopped: ${error.message}`);
        this.setState(slot, 'failed', true, { lastError });
        this.emit('tunnel-failed', { slot: index, code: error.code, message: error.message });
        return;
      }
      const delay = slot.backoff.nextDelay();
      this.logger.warn({ slot: index, code: error.code, retryInMs: delay }, `tunnel down: ${error.message}`);
      this.setState(slot, 'backoff', true, { lastError, attempts: slot.backoff.attempts, retryInMs: delay });
      await this.sleep(slot, delay);
    }
  }
}
