/**
 * Keeps N tunnels to the relay open. Each slot reconnects on its own with exponential backoff and
 * full jitter; permanent failures (certificate rejected, connector revoked, relay not trusted) stop
 * that slot and are reported instead of hammering the relay. `stop()` drains: no new agent streams,
 * in-flight ones finish (up to a timeout), then the tunnels close.
 *
 * Clustered relays: each tunnel learns which node it reached and which others exist (cluster views).
 * The supervisor keeps its tunnels on min(tunnels, nodes) distinct nodes: a tunnel that shares a node
 * re-dials another node's public address (same relay host name and credential), one move at a time
 * and at most one per `rebalanceIntervalMs`; a lost tunnel is replaced on a surviving node; a tunnel
 * on a draining node gets its replacement up BEFORE it is let go with GOAWAY (in-flight streams finish).
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
import { Backoff, type BackoffOptions, type Clock, systemClock } from '../supervision/backoff.js';
import type { ClusterView } from '../tunnel/protocol.js';
import {
  dialTunnel,
  type TunnelClientOptions,
  type TunnelConnection,
  type TunnelStreamMeta,
  type TunnelTransportKind,
} from '../tunnel/tunnel-client.js';
import { type ClusterNodeAddress, parseNodeAddress, pickNode, tunnelToSpread } from './tunnel-spread.js';

/** Tunnels kept per connector. */
export const DEFAULT_SUPERVISOR_TUNNELS = 2;
/** `stop()` waits this long for in-flight agent streams before closing tunnels. */
export const DEFAULT_DRAIN_TIMEOUT_MS = 10_000;
/** Clustered relay: at most one tunnel move (to spread tunnels over nodes) per this interval. */
export const DEFAULT_REBALANCE_INTERVAL_MS = 2_000;
/** A tunnel moved off a node (draining, or spreading) is closed for sure after this long. */
export const DEFAULT_MOVE_DRAIN_TIMEOUT_MS = 60_000;

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
  /** Clustered relay: id of the node this tunnel is on. */
  node?: string;
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
  /** Default {@link DEFAULT_REBALANCE_INTERVAL_MS}. */
  rebalanceIntervalMs?: number;
  /** Default {@link DEFAULT_MOVE_DRAIN_TIMEOUT_MS}. */
  moveDrainTimeoutMs?: number;
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
  /** The node of the tunnel this slot lost last (its replacement goes elsewhere first). */
  lostNode: string | undefined;
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
  /** Live, non-draining nodes of the relay cluster, from the latest cluster view (empty: no cluster). */
  private nodes: ClusterNodeAddress[] = [];
  private moving = false;
  private lastMoveFailedAt = Number.NEGATIVE_INFINITY;
  private rebalanceTimer: unknown;

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
        lostNode: undefined,
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
    if (this.rebalanceTimer !== undefined) this.clock.clearTimeout(this.rebalanceTimer);
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

  private dial(slot: number, connectTo: { host: string; port: number } | undefined) {
    return dialTunnel({
      ...this.options,
      ...(connectTo ? { connectTo } : {}),
      slot,
      logger: this.logger,
      onStream: this.options.onStream,
    });
  }

  /** Makes `connection` the slot's tunnel (a move swaps it in while the old one drains). */
  private attach(slot: Slot, connection: TunnelConnection): void {
    slot.connection = connection;
    connection.on('stream-open', () => this.emitStatus());
    connection.on('stream-close', () => this.emitStatus());
    connection.on('cluster', (view: ClusterView) => {
      if (!view.draining) this.nodes = view.nodes;
      if (slot.connection === connection) this.setState(slot, 'up', true, { node: view.node });
      this.reconsider();
    });
    const node = connection.clusterView?.node;
    this.setState(slot, 'up', true, { attempts: 0, transport: connection.transport, node });
  }

  /** Resolves when the slot's tunnel is lost (a tunnel swapped out by a move does not count). */
  private async untilLost(slot: Slot): Promise<TunnelError> {
    for (;;) {
      const connection = slot.connection as TunnelConnection;
      const error = await connection.closed;
      if (slot.connection !== connection) continue;
      slot.connection = undefined;
      slot.lostNode = connection.clusterView?.node;
      this.setState(slot, slot.status.state, false, { node: undefined });
      return error;
    }
  }

  /** Nodes the other slots' tunnels are on. */
  private usedNodes(except: Slot): Set<string> {
    const used = new Set<string>();
    for (const s of this.slots) {
      const node = s.connection?.clusterView?.node;
      if (s !== except && node) used.add(node);
    }
    return used;
  }

  /** Reconnecting a lost tunnel: every other attempt dials a surviving node directly, else the relay URL. */
  private reconnectTarget(slot: Slot): { host: string; port: number } | undefined {
    if (this.nodes.length === 0 || slot.backoff.attempts % 2 === 1) return undefined;
    const exclude = new Set(slot.lostNode ? [slot.lostNode] : []);
    const node =
      pickNode(this.nodes, this.usedNodes(slot), exclude) ?? pickNode(this.nodes, new Set(), exclude);
    return node ? parseNodeAddress(node.address) : undefined;
  }

  /** Moves a tunnel off a draining node first; otherwise spreads tunnels over distinct nodes (bounded). */
  private reconsider(): void {
    if (this.moving || this.stopping) return;
    const slot = this.slots.find((s) => s.connection?.clusterView?.draining) ?? this.slotToSpread();
    if (!slot) return;
    // After a failed move, wait before the next one (no storm when no node can take the tunnel).
    const interval = this.options.rebalanceIntervalMs ?? DEFAULT_REBALANCE_INTERVAL_MS;
    const wait = this.lastMoveFailedAt + interval - this.clock.now();
    if (wait > 0) {
      this.rebalanceTimer ??= this.clock.setTimeout(() => {
        this.rebalanceTimer = undefined;
        this.reconsider();
      }, wait);
      return;
    }
    void this.move(slot);
  }

  private slotToSpread(): Slot | undefined {
    const placed = this.slots.filter((s) => s.connection?.clusterView && !s.connection.isDraining);
    const index = tunnelToSpread(
      placed.map((s) => ({
        node: s.connection?.clusterView?.node ?? '',
        activeStreams: s.connection?.activeStreams ?? 0,
      })),
      this.nodes.length,
    );
    return index === undefined ? undefined : placed[index];
  }

  /** Opens the slot's tunnel on another node, swaps it in, then drains the old one (GOAWAY). */
  private async move(slot: Slot): Promise<void> {
    const old = slot.connection;
    const from = old?.clusterView?.node;
    if (!old || !from) return;
    this.moving = true;
    const exclude = new Set([from]);
    const node =
      pickNode(this.nodes, this.usedNodes(slot), exclude) ?? pickNode(this.nodes, new Set(), exclude);
    const target = node ? parseNodeAddress(node.address) : undefined;
    try {
      if (target || old.clusterView?.draining) {
        const connection = await this.dial(slot.status.slot, target);
        if (this.stopping || slot.connection !== old || connection.clusterView?.node === from) {
          void connection.drain(0);
        } else {
          this.logger.info(
            { slot: slot.status.slot, from, to: node?.id },
            'tunnel moved to another relay node',
          );
          this.attach(slot, connection);
          void old.drain(this.options.moveDrainTimeoutMs ?? DEFAULT_MOVE_DRAIN_TIMEOUT_MS);
        }
      } else this.lastMoveFailedAt = this.clock.now();
    } catch (err) {
      this.lastMoveFailedAt = this.clock.now();
      this.logger.warn({ slot: slot.status.slot, from, err: (err as Error).message }, 'tunnel move failed');
    } finally {
      this.moving = false;
    }
    this.reconsider();
  }

  private async run(slot: Slot): Promise<void> {
    const { slot: index } = slot.status;
    while (!this.stopping) {
      this.setState(slot, 'connecting');
      let error: TunnelError;
      try {
        const connection = await this.dial(index, this.reconnectTarget(slot));
        if (this.stopping) {
          await connection.drain(0);
          break;
        }
        slot.backoff.connected();
        this.attach(slot, connection);
        error = await this.untilLost(slot);
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
