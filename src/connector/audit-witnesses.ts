/**
 * The connector's audit witnesses, from its config: the relay (when a relay is configured and the
 * connector enrolled; its audit key is certified for it by the tenant CA) and every entry of
 * `audit.witnesses` (C2SP tlog-witnesses, optionally with their verifier key). `auditWitnessViews`
 * asks each of them what it cosigned last, for the start-up check and `airlock audit verify`.
 *
 * @example
 * const set = await connectorWitnesses(ctx, key);
 * const views = await set.views(auditTenant(ctx), { timeoutMs: 3000 });
 * await set.close();
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Agent } from 'undici';
import { AuditError } from '../audit/audit-error.js';
import type { AuditSigningKey } from '../audit/audit-key.js';
import { signAuditKeyProof } from '../audit/audit-key-proof.js';
import { auditOrigin } from '../audit/audit-signing.js';
import type { WitnessView } from '../audit/audit-verify.js';
import { type NoteKey, parseVkey } from '../audit/signed-note.js';
import { fetchWitnessView, TlogWitnessClient, type Witness } from '../audit/witness-client.js';
import { ensureTenantPki } from '../identity/tenant-pki.js';
import { listenAddress } from '../net/listen-address.js';
import type { ConnectorContext } from './connector-context.js';
import { RelayAuditWitness, relayWitnessUrl } from './relay-audit-witness.js';
import { type RelayHttpsClient, relayHttpsClient } from './relay-https-client.js';

/** How long the start-up check waits for each witness. */
export const DEFAULT_WITNESS_VIEW_TIMEOUT_MS = 5_000;

export interface ConnectorWitnessSet {
  /** Witnesses to send checkpoints to (relay first). */
  witnesses: Witness[];
  relayWitness: RelayAuditWitness | undefined;
  /** Quorum for verification: `audit.quorum`, default every witness. */
  quorum: number;
  /** Asks every witness for its latest cosigned checkpoint; never throws. */
  views(tenant: string, opts?: { timeoutMs?: number }): Promise<WitnessView[]>;
  close(): Promise<void>;
}

/**
 * The relay's HTTPS client for this connector, or undefined without a relay or before enrollment.
 *
 * @example
 * const relay = connectorRelayClient(ctx);
 */
export function connectorRelayClient(
  ctx: ConnectorContext,
  opts: { proxy?: string } = {},
): RelayHttpsClient | undefined {
  const relay = ctx.config.relay;
  const cred = ctx.credential;
  if (!relay || !cred) return undefined;
  return relayHttpsClient({
    relayUrl: relay.url,
    ...(relay.connect ? { connectTo: listenAddress(relay.connect) } : {}),
    ...(cred.relayCaPem ? { relayCaPem: cred.relayCaPem } : {}),
    credential: { keyPem: cred.keyPem, certPem: cred.certPem },
    ...(opts.proxy ? { proxy: opts.proxy } : {}),
  });
}

/** The tenant CA certificate and its proof over the audit key (for the relay's pinning). */
async function tenantCaProof(ctx: ConnectorContext, key: AuditSigningKey, tenant: string) {
  if (!ctx.tenantHost)
    throw new AuditError('AIRLOCK_AUDIT_KEY', 'no tenant host: cannot certify the audit key');
  const pki = await ensureTenantPki(join(ctx.dataDir, 'tenant'), ctx.tenantHost);
  const caKeyPem = await readFile(pki.caKeyFile, 'utf8');
  return { tenantCaPem: pki.caCertPem, proof: signAuditKeyProof(caKeyPem, tenant, key.keyId) };
}

/** See the module comment. `key` is needed for the relay witness (its registration proof). */
export async function connectorWitnesses(
  ctx: ConnectorContext,
  tenant: string,
  opts: { key?: AuditSigningKey; proxy?: string } = {},
): Promise<ConnectorWitnessSet> {
  const relay = connectorRelayClient(ctx, opts.proxy ? { proxy: opts.proxy } : {});
  let relayWitness: RelayAuditWitness | undefined;
  if (relay && opts.key) {
    const { tenantCaPem, proof } = await tenantCaProof(ctx, opts.key, tenant);
    relayWitness = new RelayAuditWitness({ relay, publicKeyPem: opts.key.publicKeyPem, tenantCaPem, proof });
  }
  const extra: Array<{ url: string; agent?: Agent; headers?: Record<string, string>; key?: NoteKey }> = [];
  for (const w of ctx.config.audit.witnesses) {
    const ca = w.caFile ? await readFile(ctx.resolvePath(w.caFile), 'utf8') : undefined;
    const key = w.key ? parseVkey(w.key) : undefined;
    if (w.key && !key)
      throw new AuditError('AIRLOCK_AUDIT_KEY', `audit.witnesses: ${w.url} has an invalid key`);
    extra.push({
      url: w.url,
      ...(ca ? { agent: new Agent({ connect: { ca } }) } : {}),
      ...(w.headers ? { headers: w.headers } : {}),
      ...(key ? { key } : {}),
    });
  }
  const witnesses: Witness[] = [
    ...(relayWitness ? [relayWitness] : []),
    ...extra.map(
      (w) =>
        new TlogWitnessClient({
          url: w.url,
          ...(w.agent ? { dispatcher: w.agent } : {}),
          ...(w.headers ? { headers: w.headers } : {}),
        }),
    ),
  ];
  const total = (relay ? 1 : 0) + extra.length;
  return {
    witnesses,
    relayWitness,
    quorum: Math.min(total, ctx.config.audit.quorum ?? total),
    async views(t, o = {}) {
      const timeoutMs = o.timeoutMs ?? DEFAULT_WITNESS_VIEW_TIMEOUT_MS;
      const origin = auditOrigin(t);
      const asks: Array<Promise<WitnessView>> = [];
      if (relay) {
        asks.push(
          fetchWitnessView({
            name: 'relay',
            url: relayWitnessUrl(relay),
            origin,
            dispatcher: relay.dispatcher,
            timeoutMs,
          }),
        );
      }
      for (const w of extra) {
        asks.push(
          fetchWitnessView({
            name: w.url,
            url: w.url,
            origin,
            timeoutMs,
            ...(w.agent ? { dispatcher: w.agent } : {}),
            ...(w.headers ? { headers: w.headers } : {}),
            ...(w.key ? { witnessKey: w.key } : {}),
          }),
        );
      }
      return Promise.all(asks);
    },
    async close() {
      await relay?.close().catch(() => undefined);
      await Promise.all(extra.map((w) => w.agent?.destroy().catch(() => undefined)));
    },
  };
}
