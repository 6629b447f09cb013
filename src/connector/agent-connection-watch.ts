/**
 * Live agent connections and who is behind them, so revocation also ends what is already open: every
 * TLS connection remembers the identity of its last authenticated request, and a poll closes the
 * connections of identities revoked since the previous poll (which ends their SSE streams and legacy
 * GET streams at once). Per-request checks make revocation effective on the next request; this makes it
 * effective on open streams within `pollIntervalMs` (default 500 ms).
 *
 * Each poll is one cheap store query, `listRevokedSince(lastPoll - overlap)` (indexed on `revoked_at`;
 * the overlap absorbs clock skew between the revoking process and this one). Without that query the
 * poll falls back to looking up each connected identity. Bearer connections are also closed as soon as
 * their access token expires (in memory, no query). A full re-check of every connected identity (deleted
 * identities, expired certificates) runs every `revalidateIntervalMs`.
 *
 * @example
 * const watch = new AgentConnectionWatch({ identities: store.identities });
 * server.on('secureConnection', (s) => watch.track(s));
 * watch.setOwner(req.socket, identity); // after authenticating a request
 */
import type { Socket } from 'node:net';
import { type Logger, pino } from 'pino';
import type { GatewayIdentity } from '../gateway/gateway-context.js';
import type { IdentityLookup } from '../gateway/stages/authenticate-stage.js';
import type { RevokedCredential } from '../store/store.js';

/** Default interval of the revocation poll: open connections of a revoked identity close within it. */
export const DEFAULT_AGENT_REVOCATION_POLL_INTERVAL_MS = 500;
/** Default interval of the full re-check of every connected identity. */
export const DEFAULT_AGENT_REVALIDATE_INTERVAL_MS = 30_000;
/** Default look-back added to each revocation poll (clock skew between revoker and connector). */
export const DEFAULT_AGENT_REVOCATION_OVERLAP_MS = 60_000;

/** Why a connection was closed by the watch. */
export type ConnectionCloseReason = 'revoked' | 'expired' | 'unknown';

export interface AgentConnectionWatchOptions {
  /** Usually `store.identities`. */
  identities: IdentityLookup;
  /** Default {@link DEFAULT_AGENT_REVOCATION_POLL_INTERVAL_MS}. `0` disables the poll. */
  pollIntervalMs?: number;
  /** Default {@link DEFAULT_AGENT_REVALIDATE_INTERVAL_MS}. `0` disables the full re-check. */
  revalidateIntervalMs?: number;
  /** Default {@link DEFAULT_AGENT_REVOCATION_OVERLAP_MS}. */
  overlapMs?: number;
  /** Called once per identity whose connections were closed (e.g. to drop its MCP sessions). */
  onClosed?: (identity: GatewayIdentity, reason: ConnectionCloseReason) => void;
  /** Clock (epoch ms). Default `Date.now`. */
  now?: () => number;
  /** Default silent. */
  logger?: Logger;
}

/** Tracks live agent sockets and closes those of revoked, deleted or expired identities. */
export class AgentConnectionWatch {
  readonly #identities: IdentityLookup;
  readonly #sockets = new Map<Socket, GatewayIdentity | undefined>();
  readonly #overlapMs: number;
  readonly #onClosed: AgentConnectionWatchOptions['onClosed'];
  readonly #now: () => number;
  readonly #log: Logger;
  readonly #timers: NodeJS.Timeout[] = [];
  #lastPoll: number;
  #polling = false;
  #revalidating = false;

  constructor(options: AgentConnectionWatchOptions) {
    this.#identities = options.identities;
    this.#overlapMs = options.overlapMs ?? DEFAULT_AGENT_REVOCATION_OVERLAP_MS;
    this.#onClosed = options.onClosed;
    this.#now = options.now ?? Date.now;
    this.#log = options.logger ?? pino({ level: 'silent' });
    this.#lastPoll = this.#now();
    const poll = options.pollIntervalMs ?? DEFAULT_AGENT_REVOCATION_POLL_INTERVAL_MS;
    if (poll > 0) this.#timers.push(setInterval(() => void this.poll(), poll).unref());
    const full = options.revalidateIntervalMs ?? DEFAULT_AGENT_REVALIDATE_INTERVAL_MS;
    if (full > 0) this.#timers.push(setInterval(() => void this.revalidate(), full).unref());
  }

  /** Starts tracking a connection (forgotten when it closes). */
  track(socket: Socket): void {
    this.#sockets.set(socket, undefined);
    socket.once('close', () => this.#sockets.delete(socket));
  }

  /** Records the identity of the connection's latest authenticated request. */
  setOwner(socket: Socket, identity: GatewayIdentity): void {
    if (this.#sockets.has(socket)) this.#sockets.set(socket, identity);
  }

  /** Tracked connections. */
  get size(): number {
    return this.#sockets.size;
  }

  /** Every tracked socket (e.g. to destroy them all on shutdown). */
  sockets(): Socket[] {
    return [...this.#sockets.keys()];
  }

  /** Destroys the connections whose identity matches; returns how many. */
  disconnect(
    match: (identity: GatewayIdentity) => boolean,
    reason: ConnectionCloseReason = 'revoked',
  ): number {
    const closed = new Map<string, GatewayIdentity>();
    let count = 0;
    for (const [socket, owner] of this.#sockets) {
      if (!owner || !match(owner)) continue;
      socket.destroy();
      count++;
      closed.set(`${owner.authenticatedBy} ${owner.issuer ?? ''} ${owner.name}`, owner);
    }
    if (count > 0) this.#log.info({ connections: count, reason }, 'closed agent connections');
    for (const owner of closed.values()) {
      try {
        this.#onClosed?.(owner, reason);
      } catch (err) {
        this.#log.warn({ err: err instanceof Error ? err.message : String(err) }, 'onClosed failed');
      }
    }
    return count;
  }

  /**
   * One revocation poll: closes connections of credentials revoked since the previous poll (and bearer
   * connections whose token expired). Store errors keep connections open (each request is still checked)
   * and the next poll looks back further.
   */
  async poll(): Promise<void> {
    if (this.#polling) return;
    this.#polling = true;
    try {
      const startedAt = this.#now();
      this.disconnect((o) => o.expiresAt !== undefined && o.expiresAt <= startedAt, 'expired');
      if (![...this.#sockets.values()].some((o) => o !== undefined)) {
        this.#lastPoll = startedAt;
        return;
      }
      if (!this.#identities.listRevokedSince) {
        await this.revalidate();
        return;
      }
      let revoked: RevokedCredential[];
      try {
        revoked = await this.#identities.listRevokedSince(this.#lastPoll - this.#overlapMs);
      } catch (err) {
        this.#log.debug({ err: err instanceof Error ? err.message : String(err) }, 'revocation poll failed');
        return;
      }
      this.#lastPoll = startedAt;
      if (revoked.length === 0) return;
      const serials = new Set<string>();
      const subjects = new Set<string>();
      for (const r of revoked) {
        if (r.kind === 'certificate') serials.add(r.certSerial.toLowerCase());
        else subjects.add(subjectKey(r.issuer, r.subject));
      }
      this.disconnect((o) =>
        o.authenticatedBy === 'bearer'
          ? subjects.has(subjectKey(o.issuer ?? '', o.subject ?? ''))
          : serials.has(o.certSerial.toLowerCase()),
      );
    } finally {
      this.#polling = false;
    }
  }

  /** Looks up every connected identity again; closes connections of revoked, deleted or expired ones. */
  async revalidate(): Promise<void> {
    if (this.#revalidating) return;
    this.#revalidating = true;
    try {
      const now = this.#now();
      const owners = new Map<string, GatewayIdentity>();
      for (const owner of this.#sockets.values()) {
        if (owner) owners.set(ownerKey(owner), owner);
      }
      const gone = new Map<string, ConnectionCloseReason>();
      for (const [key, owner] of owners) {
        const reason = await this.#check(owner, now);
        if (reason) gone.set(key, reason);
      }
      for (const reason of new Set(gone.values())) {
        this.disconnect((o) => gone.get(ownerKey(o)) === reason, reason);
      }
    } finally {
      this.#revalidating = false;
    }
  }

  /** Stops the timers (connections are left to their owner). */
  close(): void {
    for (const timer of this.#timers) clearInterval(timer);
    this.#timers.length = 0;
  }

  async #check(owner: GatewayIdentity, now: number): Promise<ConnectionCloseReason | undefined> {
    try {
      if (owner.authenticatedBy === 'bearer') {
        if (owner.expiresAt !== undefined && owner.expiresAt <= now) return 'expired';
        const lookup = this.#identities.isSubjectRevoked;
        if (!lookup || owner.issuer === undefined || owner.subject === undefined) return undefined;
        return (await lookup.call(this.#identities, owner.issuer, owner.subject)) ? 'revoked' : undefined;
      }
      const record = await this.#identities.getIdentityBySerial(owner.certSerial);
      if (!record || record.name !== owner.name) return 'unknown';
      if (record.revokedAt !== null) return 'revoked';
      if (record.notAfter <= now) return 'expired';
      return undefined;
    } catch {
      return undefined; // store unavailable: keep connections; each request is still checked
    }
  }
}

function subjectKey(issuer: string, subject: string): string {
  return `${issuer}\n${subject}`;
}

function ownerKey(o: GatewayIdentity): string {
  return o.authenticatedBy === 'bearer'
    ? `b\n${subjectKey(o.issuer ?? '', o.subject ?? '')}\n${o.expiresAt ?? ''}`
    : `m\n${o.certSerial}`;
}
