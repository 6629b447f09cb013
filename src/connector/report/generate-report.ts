/**
 * Builds a report from live state: the connector's config and key files on disk, its store (policy,
 * identities, catalog, approvals, audit trail) and live probes (TLS handshakes, witnesses, the
 * sandbox). Nothing is taken from documentation: each section is read or measured here.
 *
 * @example
 * const ctx = await loadConnectorContext('connector.yaml');
 * const store = await openStore({ url: ctx.storeUrl });
 * const report = await generateReport({ ctx, store, tenant: auditTenant(ctx), scope: { since: Date.parse('2026-12-01') } });
 * const signed = await signReport(report, ctx.dataDir);
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  AUDIT_PUBLIC_KEY_FILE,
  auditKeyDir,
  auditKeyId,
  auditPublicKeyFromPem,
} from '../../audit/audit-key.js';
import { collectActivityEvidence } from '../../report/activity-evidence.js';
import { collectAuditEvidence } from '../../report/audit-evidence.js';
import {
  collectApprovalEvidence,
  collectCatalogEvidence,
  collectIdentityEvidence,
  collectPolicyEvidence,
  upstreamOfTool,
} from '../../report/governance-evidence.js';
import { collectKeyEvidence } from '../../report/key-evidence.js';
import {
  type DiscoveryResult,
  REPORT_FORMAT,
  type ReportDocument,
  type ReportScope,
  type TlsEvidence,
} from '../../report/report-model.js';
import { reproduce } from '../../report/reproduce-commands.js';
import { dialable, probeEndpoint, relayAddress, tlsDefaults } from '../../report/tls-evidence.js';
import type { Store } from '../../store/store.js';
import type { ConnectorContext } from '../connector-context.js';
import { collectDataPath, collectSandboxEvidence, type LiveUpstreams } from './path-evidence.js';

export interface GenerateReportInput {
  ctx: ConnectorContext;
  store: Store;
  /** The tenant the audit trail is kept for (`auditTenant(ctx)`; the running connector's `tenant`). */
  tenant: string;
  scope?: ReportScope;
  /** The running connector's upstream states, when the report is made inside it. */
  live?: LiveUpstreams;
  /** An `airlock discover` result to include. */
  discovery?: DiscoveryResult;
  /** Epoch ms. Default `Date.now`. */
  now?: () => number;
  /** Per handshake; default `DEFAULT_TLS_PROBE_TIMEOUT_MS`. */
  tlsProbeTimeoutMs?: number;
}

/** The connector's audit public key (PEM), without creating one; undefined before the first entry. */
export async function readAuditPublicKey(dataDir: string): Promise<string | undefined> {
  return readFile(join(auditKeyDir(dataDir), AUDIT_PUBLIC_KEY_FILE), 'utf8').catch(() => undefined);
}

async function collectTls(ctx: ConnectorContext, timeoutMs: number | undefined): Promise<TlsEvidence> {
  const paths = { configFile: ctx.configFile, dataDir: ctx.dataDir };
  const evidence: TlsEvidence = { endpoints: [], defaults: tlsDefaults(), notes: [] };
  const tenantCa = await readFile(join(ctx.dataDir, 'tenant', 'ca.pem'), 'utf8').catch(() => undefined);
  const relay = ctx.config.relay;
  const cred = ctx.credential;
  const base = { ...(timeoutMs ? { timeoutMs } : {}) };
  if (!tenantCa || !ctx.tenantHost)
    evidence.notes.push('the tenant PKI does not exist yet: start the connector once');
  if (relay && tenantCa && ctx.tenantHost) {
    const dial = relay.connect ? dialable(relay.connect) : relayAddress(relay.url);
    const target = { ...dial, servername: ctx.tenantHost, ca: tenantCa, ...base };
    evidence.endpoints.push(await probeEndpoint('tenant endpoint (agents, via the relay)', target, paths));
  }
  if (ctx.config.agents.listen && tenantCa && ctx.tenantHost) {
    const target = {
      ...dialable(ctx.config.agents.listen),
      servername: ctx.tenantHost,
      ca: tenantCa,
      ...base,
    };
    evidence.endpoints.push(await probeEndpoint('tenant endpoint (direct agent listener)', target, paths));
  }
  if (relay && cred) {
    const address = relayAddress(relay.url);
    const dial = relay.connect ? dialable(relay.connect) : address;
    const target = {
      ...dial,
      servername: address.host,
      ...(cred.relayCaPem ? { ca: cred.relayCaPem } : {}),
      key: cred.keyPem,
      cert: cred.certPem,
      ...base,
    };
    if (!cred.relayCaPem)
      evidence.notes.push('the relay has a publicly trusted certificate: its probe uses the system roots');
    evidence.endpoints.push(
      await probeEndpoint('relay tunnel endpoint (this connector dials it)', target, paths),
    );
  }
  return evidence;
}

/** The witnesses this connector submits checkpoints to: the relay host's, then `audit.witnesses`. */
export function configuredWitnessUrls(ctx: ConnectorContext): Array<{ name: string; url: string }> {
  const out: Array<{ name: string; url: string }> = [];
  if (ctx.config.relay && ctx.credential) {
    const { host, port } = relayAddress(ctx.config.relay.url);
    out.push({ name: 'relay (audit witness API)', url: `https://${host}:${port}` });
  }
  for (const w of ctx.config.audit.witnesses) out.push({ name: 'witness', url: w.url });
  return out;
}

/**
 * Generates the report. Never fails because a live probe failed (an unreachable relay or witness is
 * recorded as such); fails only when the store cannot be read.
 */
export async function generateReport(input: GenerateReportInput): Promise<ReportDocument> {
  const { ctx, store } = input;
  const scope = input.scope ?? {};
  const now = input.now ?? Date.now;
  const tenant = input.tenant;
  const policyFile = ctx.config.policy ? ctx.resolvePath(ctx.config.policy.file) : undefined;
  const commands = reproduce({
    configFile: ctx.configFile,
    dataDir: ctx.dataDir,
    ...(policyFile ? { policyFile } : {}),
  });
  const names = Object.keys(ctx.config.upstreams);
  const separator = ctx.config.mcp.namespace === 'none' ? '' : ctx.config.mcp.namespaceSeparator;
  const upstreamOf = (tool: string) => upstreamOfTool(tool, names, separator);
  const publicKeyPem = await readAuditPublicKey(ctx.dataDir);
  const keyId = publicKeyPem ? auditKeyId(auditPublicKeyFromPem(publicKeyPem)) : undefined;
  const { evidence: policy, engine } = await collectPolicyEvidence(store, scope, commands);
  return {
    format: REPORT_FORMAT,
    generatedAt: now(),
    scope,
    installation: { configFile: ctx.configFile, dataDir: ctx.dataDir, store: store.backend, tenant },
    keys: await collectKeyEvidence({ dataDir: ctx.dataDir, tenant, configFile: ctx.configFile }),
    dataPath: collectDataPath(ctx, tenant, commands.dataPath),
    tls: await collectTls(ctx, input.tlsProbeTimeoutMs),
    policy,
    identities: await collectIdentityEvidence(store, engine, scope, commands),
    catalog: await collectCatalogEvidence(store, scope, upstreamOf, commands),
    approvals: await collectApprovalEvidence(store, scope, upstreamOf, commands),
    activity: await collectActivityEvidence({
      audit: store.audit,
      scope,
      upstreamOf,
      reproduce: commands.activity,
    }),
    audit: await collectAuditEvidence({
      configFile: ctx.configFile,
      store,
      keyId,
      witnesses: configuredWitnessUrls(ctx),
    }),
    sandbox: await collectSandboxEvidence(ctx, input.live, commands.sandbox),
    discovery: input.discovery ?? null,
  };
}
