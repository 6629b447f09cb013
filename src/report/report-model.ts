/**
 * The security-review report: the data model shared by the generator, the HTML renderer, the signer
 * and the verifier. A report answers the reviewer's five questions (where data traverses, who can
 * decrypt, the unit of authentication, where the audit lives and who can tamper, what isolates us)
 * for one installation, from its live state, and every figure carries the command that reproduces it.
 *
 * @example
 * const scope = parseReportScope({ since: '2026-12-01T00:00:00Z', agent: 'claims-bot' });
 * const report = await generateReport({ ctx, store, scope });
 * report.audit.verification.ok; // true when the trail verifies
 */
import { AirlockError } from '../errors/airlock-error.js';

/** Format tag of `report.json`; changes when the shape changes incompatibly. */
export const REPORT_FORMAT = 'airlock-report/1';

/** A report's time window and filters. Times are epoch ms; both ends inclusive. */
export interface ReportScope {
  since?: number;
  until?: number;
  /** Only this agent identity's calls and approvals. */
  agent?: string;
  /** Only this upstream's tools (tools named `<upstream><separator>...`). */
  upstream?: string;
}

/** Errors of the report and discovery commands (`AIRLOCK_REPORT_*`, `AIRLOCK_DISCOVER_*`). */
export class ReportError extends AirlockError {}

/** A shell command that reproduces a figure, shown next to it. */
export type Reproduce = string;

/** One key of the installation and where it came from. */
export interface KeyEvidence {
  /** `tenant-ca`, `tenant-tls`, `connector`, `audit`, `vault`, `relay-ca`. */
  id: string;
  label: string;
  /** What the key protects. */
  purpose: string;
  /** Who holds the private or secret part, e.g. `this connector (never leaves <dir>)`. */
  heldBy: string;
  /** Key file on disk (the private part, or the public part when that is all there is). */
  file: string;
  present: boolean;
  algorithm?: string;
  /** Permission bits of the key file (octal), e.g. `600`. */
  fileMode?: string;
  fileCreatedAt?: number;
  /** `spki-sha256` (public keys) or `hmac-key-id` (the symmetric vault key; never the key itself). */
  fingerprintKind: 'spki-sha256' | 'hmac-key-id';
  fingerprint?: string;
  certificate?: {
    subject: string;
    issuer: string;
    serial: string;
    notBefore: number;
    notAfter: number;
    dnsNames: string[];
    /** SHA-256 of the certificate DER. */
    fingerprint: string;
  };
  reproduce: Reproduce;
}

/** One TLS handshake the report made against an endpoint the connector serves or dials. */
export interface TlsProbe {
  /** Highest (and lowest) version the probe offered. */
  offered: 'TLSv1.2' | 'TLSv1.3';
  accepted: boolean;
  protocol?: string;
  cipher?: string;
  error?: string;
}

export interface TlsEndpointEvidence {
  name: string;
  /** `host:port` dialed. */
  target: string;
  /** SNI sent. */
  servername: string;
  probes: TlsProbe[];
  reproduce: Reproduce;
}

export interface TlsEvidence {
  endpoints: TlsEndpointEvidence[];
  /** Node's TLS defaults the connector's sockets use when they set no `ciphers`. */
  defaults: { minVersion: string; maxVersion: string; cipherSuites: string[] };
  /** Why an endpoint could not be probed (e.g. the relay was unreachable). */
  notes: string[];
}

export interface UpstreamPathEvidence {
  name: string;
  kind: 'stdio' | 'http';
  /** The command line (stdio) or URL (HTTP); headers and environment values are never included. */
  target: string;
}

export interface DataPathEvidence {
  tenant: string;
  tenantHost: string | null;
  relay: {
    url: string;
    connect: string | null;
    transport: 'tls' | 'websocket';
    tunnels: number;
    connectorId: string | null;
    enrolledAt: number | null;
  } | null;
  agentsListen: string | null;
  adminListen: string;
  upstreams: UpstreamPathEvidence[];
  /** The hops, in order, with where plaintext exists. */
  hops: Array<{ from: string; to: string; carries: string }>;
  reproduce: Reproduce;
}

export interface PolicyEvidence {
  current: { seq: number; hash: string; source: string; loadedAt: number } | null;
  history: Array<{ seq: number; hash: string; source: string; loadedAt: number }>;
  roles: Array<{ name: string; description: string | null; tools: string[] }>;
  bindings: Array<{ selector: string; roles: string[] }>;
  catalogMode: string | null;
  reproduce: Reproduce;
}

export interface IdentityEvidence {
  agents: Array<{
    name: string;
    spiffeId: string;
    certSerial: string;
    certFingerprint: string;
    notAfter: number;
    revokedAt: number | null;
    roles: string[];
  }>;
  consoleAccounts: Array<{ name: string; role: string; revealPii: boolean; disabledAt: number | null }>;
  reproduce: Reproduce;
}

export interface CatalogEvidence {
  tools: Array<{
    tool: string;
    upstream: string | null;
    status: string;
    approvedHash: string | null;
    observedHash: string | null;
    approvedBy: string | null;
    /** The served definition differs from the approved one. */
    drift: boolean;
    killSwitch: { reason: string; by: string; at: number } | null;
    findings: number;
  }>;
  events: Array<{ seq: number; tool: string; action: string; actor: string; at: number }>;
  reproduce: Reproduce;
}

export interface ApprovalEvidence {
  items: Array<{
    id: string;
    identity: string;
    tool: string;
    tier: string;
    status: string;
    createdAt: number;
    decidedAt: number | null;
    decidedBy: string | null;
    reason: string | null;
  }>;
  counts: Record<string, number>;
  reproduce: Reproduce;
}

/** Calls of one agent to one tool in scope, from the audit trail. */
export interface ToolActivity {
  agent: string;
  tool: string;
  upstream: string | null;
  calls: number;
  allowed: number;
  denied: number;
  errors: number;
  /** PII classes tokenized (or otherwise redacted) in these calls, with counts. */
  pii: Record<string, number>;
}

export interface ActivityEvidence {
  /** Entries of the trail in the period (all kinds). */
  entriesInScope: number;
  /** `tools/call` requests in scope. */
  toolCalls: number;
  flows: ToolActivity[];
  /** PII classes per tool, over every agent. */
  piiByTool: Array<{ tool: string; classes: Record<string, number> }>;
  /** Admin actions in the period. */
  adminActions: Array<{ seq: number; time: number; action: string; actor: string; target: string | null }>;
  reproduce: Reproduce;
}

export interface AuditEvidence {
  keyId: string | null;
  /** The verdict of `airlock audit verify --json` (see `reproduce`), or null before the trail exists. */
  verification: {
    ok: boolean;
    entries: number;
    checkpoints: number;
    witnessedCheckpoints: number;
    signedThrough: number;
    /** Largest tree size a witness quorum cosigned (verifiers with witness cosignatures). */
    witnessedThrough?: number;
    witnessesReached?: number;
    quorum?: number;
    headHash: string | null;
    rootHash?: string;
    /** What an offline verification did not check. */
    notChecked?: string;
    firstProblem: { seq: number; kind: string; detail: string } | null;
  } | null;
  /** Witnesses this connector is configured with (the relay's first) and whether they were asked. */
  witnesses: Array<{ name: string; url: string; consulted: boolean }>;
  /** Why a stricter verification could not run (e.g. no witness reachable). */
  notes: string[];
  latestCheckpoint: { treeSize: number; headHash: string; time: number } | null;
  reproduce: Reproduce;
}

export interface SandboxEvidence {
  upstreams: Array<{
    name: string;
    kind: 'stdio' | 'http';
    mode: string | null;
    network: boolean | null;
    /** Would (or does) the upstream run inside the sandbox on this host; null for HTTP upstreams. */
    sandboxed: boolean | null;
    reason: string | null;
    /** From the running connector, when the report is made inside it. */
    live: { state: string; sandboxed?: boolean } | null;
  }>;
  reproduce: Reproduce;
}

/** An MCP endpoint found by `airlock discover`. */
export interface DiscoveredEndpoint {
  url: string;
  host: string;
  port: number;
  /** Eras that answered: `2025-11-25` (initialize) and/or `2026-07-28` (server/discover). */
  eras: string[];
  serverInfo: { name: string; version: string } | null;
  tools: string[];
  /** An HTTP upstream of this connector points at it. */
  governed: boolean;
  /** The upstream name when governed. */
  upstream: string | null;
  error?: string;
}

export interface DiscoveryResult {
  format: 'airlock-discovery/1';
  startedAt: number;
  finishedAt: number;
  cidrs: string[];
  ports: string;
  probed: number;
  open: number;
  endpoints: DiscoveredEndpoint[];
  reproduce: Reproduce;
}

/** The whole report (the signed content of `report.json`). */
export interface ReportDocument {
  format: typeof REPORT_FORMAT;
  generatedAt: number;
  scope: ReportScope;
  installation: { configFile: string; dataDir: string; store: string; tenant: string };
  keys: KeyEvidence[];
  dataPath: DataPathEvidence;
  tls: TlsEvidence;
  policy: PolicyEvidence;
  identities: IdentityEvidence;
  catalog: CatalogEvidence;
  approvals: ApprovalEvidence;
  activity: ActivityEvidence;
  audit: AuditEvidence;
  sandbox: SandboxEvidence;
  discovery: DiscoveryResult | null;
}

/**
 * Parses the command-line scope. ISO dates (`2026-12-01`, `2026-12-01T08:00:00Z`); throws
 * `ReportError` `AIRLOCK_REPORT_SCOPE` for an unreadable date or `since` after `until`.
 *
 * @example
 * parseReportScope({ since: '2026-12-01', upstream: 'erp' }) // { since: 1764547200000, upstream: 'erp' }
 */
export function parseReportScope(flags: {
  since?: string;
  until?: string;
  agent?: string;
  upstream?: string;
}): ReportScope {
  const scope: ReportScope = {};
  const date = (name: string, value: string): number => {
    const ms = Date.parse(value);
    if (!Number.isFinite(ms)) {
      throw new ReportError('AIRLOCK_REPORT_SCOPE', `--${name} "${value}" is not an ISO 8601 date`);
    }
    return ms;
  };
  if (flags.since !== undefined) scope.since = date('since', flags.since);
  if (flags.until !== undefined) scope.until = date('until', flags.until);
  if (scope.since !== undefined && scope.until !== undefined && scope.since > scope.until) {
    throw new ReportError('AIRLOCK_REPORT_SCOPE', '--since is after --until');
  }
  if (flags.agent) scope.agent = flags.agent;
  if (flags.upstream) scope.upstream = flags.upstream;
  return scope;
}

/** True when `time` lies inside the scope's window. */
export function inWindow(scope: ReportScope, time: number): boolean {
  return (
    (scope.since === undefined || time >= scope.since) && (scope.until === undefined || time <= scope.until)
  );
}
