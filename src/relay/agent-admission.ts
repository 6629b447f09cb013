/**
 * Admission of agent connections on the relay's public port, in two steps:
 *
 * 1. at accept, BEFORE the ClientHello: at most `maxConnectionsPerSource` open connections per source
 *    (IPv4 address or IPv6 /64, see source-key.ts), whatever they are for;
 * 2. once the SNI names a tenant: at most `maxAgentConnectionsPerTenant` piped connections per tenant,
 *    of which one source may hold at most `maxTenantSharePerSource` (at least one slot), so one source
 *    cannot fill a tenant's slots and lock its real agents out.
 *
 * The global cap (`maxConnections`) is the listener's own `maxConnections`.
 *
 * @example
 * const admission = new AgentAdmission({ maxConnectionsPerSource: 256, maxAgentConnectionsPerTenant: 1000, maxTenantSharePerSource: 0.25 });
 * if (!admission.admitSource(socket)) socket.destroy();
 * const slot = admission.admitTenant('acme', socket);
 * if (slot.ok) socket.once('close', slot.release);
 */
import type { Socket } from 'node:net';
import { sourceKey } from '../net/source-key.js';
import { SourceConnectionLimit } from './source-connection-limit.js';

export interface AgentAdmissionOptions {
  maxConnectionsPerSource: number;
  maxAgentConnectionsPerTenant: number;
  maxTenantSharePerSource: number;
}

export type TenantAdmission =
  | { ok: true; release: () => void }
  | { ok: false; reason: 'tenant_connection_limit' | 'tenant_source_share' };

export class AgentAdmission {
  readonly #perSource: SourceConnectionLimit;
  readonly #perTenant = new Map<string, { total: number; bySource: Map<string, number> }>();
  readonly #maxPerTenant: number;
  /** Most slots of one tenant one source may hold. */
  readonly maxPerTenantPerSource: number;

  constructor(options: AgentAdmissionOptions) {
    this.#perSource = new SourceConnectionLimit(options.maxConnectionsPerSource);
    this.#maxPerTenant = options.maxAgentConnectionsPerTenant;
    const share = Math.min(1, Math.max(0, options.maxTenantSharePerSource));
    this.maxPerTenantPerSource = Math.max(1, Math.floor(options.maxAgentConnectionsPerTenant * share));
  }

  /** Counts `socket` against its source until it closes; false when the source is at its cap. */
  admitSource(socket: Socket): boolean {
    return this.#perSource.tryAdd(socket);
  }

  /** Takes one of `tenant`'s slots for `socket`'s source; `release` gives it back (idempotent). */
  admitTenant(tenant: string, from: Socket | { remoteAddress: string | undefined }): TenantAdmission {
    const source = sourceKey(from.remoteAddress);
    const entry = this.#perTenant.get(tenant) ?? { total: 0, bySource: new Map<string, number>() };
    if (entry.total >= this.#maxPerTenant) return { ok: false, reason: 'tenant_connection_limit' };
    const held = entry.bySource.get(source) ?? 0;
    if (held >= this.maxPerTenantPerSource) return { ok: false, reason: 'tenant_source_share' };
    entry.total += 1;
    entry.bySource.set(source, held + 1);
    this.#perTenant.set(tenant, entry);
    let released = false;
    return {
      ok: true,
      release: () => {
        if (released) return;
        released = true;
        entry.total -= 1;
        const now = (entry.bySource.get(source) ?? 1) - 1;
        if (now <= 0) entry.bySource.delete(source);
        else entry.bySource.set(source, now);
        if (entry.total <= 0) this.#perTenant.delete(tenant);
      },
    };
  }

  /** Piped connections of `tenant` (of one source's address, when given). */
  active(tenant: string, address?: string): number {
    const entry = this.#perTenant.get(tenant);
    if (!entry) return 0;
    return address === undefined ? entry.total : (entry.bySource.get(sourceKey(address)) ?? 0);
  }
}
