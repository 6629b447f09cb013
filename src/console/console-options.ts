/**
 * What `createConsoleApp` takes and returns, with the console's documented defaults. Kept apart from
 * the app so the page sub-apps (routes/*) can name the options without importing the app.
 */
import type { Hono } from 'hono';
import type { Logger } from 'pino';
import type { ApprovalQueue } from '../approvals/approval-queue.js';
import type { AdminAuditEvent } from '../audit/audit-entry.js';
import type { TenantPki } from '../identity/tenant-pki.js';
import type { PiiScanner } from '../pii/pii-scanner.js';
import type { PolicyWatcher } from '../policy/policy-watcher.js';
import type { ReportSource } from '../report/report-source.js';
import type { Store } from '../store/store.js';
import type { ActivityCounters } from './activity-counters.js';
import type { ConnectorStatus } from './connector-status.js';
import type { ConsoleEnv } from './console-env.js';
import type { ConsoleSessions, ConsoleSessionsOptions } from './console-sessions.js';
import type { LoginThrottleOptions } from './login-throttle.js';
import type { ConsoleOidcOptions } from './oidc-sign-in.js';
import type { ConsoleAgentSession } from './overview-page.js';

/** Host names the console answers to without configuration (loopback). */
export const DEFAULT_CONSOLE_HOSTS: readonly string[] = ['127.0.0.1', 'localhost', '[::1]'];
/** Largest request body the console accepts (forms are small). */
export const DEFAULT_CONSOLE_MAX_BODY_BYTES = 64 * 1024;
/** Interval of keep-alive comments on the live approvals stream. */
export const DEFAULT_SSE_HEARTBEAT_MS = 15_000;

export interface ConsoleAppOptions {
  /** The connector's store (accounts, approvals, identities, policy versions, audit, catalog). */
  store: Store;
  /** The connector's approval queue (the one the tier stage uses). Default: a queue on `store.approvals`. */
  approvals?: ApprovalQueue;
  /** Snapshot of tunnels, upstreams and sessions (`connector.status()`). */
  status: () => Promise<ConnectorStatus> | ConnectorStatus;
  /** Live agent sessions (`AgentMcpEndpoint.sessions()`), for the overview. */
  sessions?: () => readonly ConsoleAgentSession[];
  /** Audit public key (SPKI PEM) to verify the trail; without it the page says verification is unavailable. */
  auditPublicKeyPem?: string;
  /** Where admin actions (and every reveal of personal data) are audited (the `AuditLedger`). */
  audit?: { append(event: AdminAuditEvent): Promise<unknown> };
  /** Catalog page: called after every kill-switch / approval change (e.g. to push tools/list_changed). */
  onCatalogChange?: () => void | Promise<void>;
  /** The policy watcher, for the Policy page and the tools' tiers. */
  policy?: PolicyWatcher;
  /** Tenant PKI to issue identities from the console; without it the page points to the CLI. */
  pki?: TenantPki;
  /** Where issued identities' files are written (`<dir>/<name>/`). Required with `pki`. */
  identityOutDir?: string;
  /** PII detection for masking; `false` shows values unmasked to everyone. Default: a default `PiiScanner`. */
  pii?: PiiScanner | false;
  /** Extra host names (with or without port) the console answers to, e.g. `console.acme.internal`. */
  allowedHosts?: readonly string[];
  /** Extra origins allowed to send state-changing requests (e.g. behind a TLS reverse proxy). */
  trustedOrigins?: readonly string[];
  /** Session lifetimes; see `ConsoleSessionsOptions`. */
  session?: ConsoleSessionsOptions;
  /** Live activity counters for the overview; `false` to disable. Default: a started `ActivityCounters`. */
  activity?: ActivityCounters | false;
  /** Sign-in throttling (exponential delays per source and per account); see `LoginThrottle`. */
  loginThrottle?: LoginThrottleOptions;
  /** Sign-in through the customer's OpenID Connect IdP (connector config `console.oidc`); local accounts stay as break-glass. */
  oidc?: ConsoleOidcOptions;
  /** Default {@link DEFAULT_CONSOLE_MAX_BODY_BYTES}. */
  maxBodyBytes?: number;
  /** Default {@link DEFAULT_SSE_HEARTBEAT_MS}. */
  sseHeartbeatMs?: number;
  /** Clock (epoch ms). Default `Date.now`. */
  now?: () => number;
  /** JWKS of the connector's upstream-token key, served at `/.well-known/jwks.json` without login. */
  upstreamTokenJwks?: () => unknown;
  /** The security report at `/report` for admins and auditors (`consoleReportSource(...)`); absent: no page. */
  report?: ReportSource;
  /** Default silent. */
  logger?: Logger;
}

export interface ConsoleApp {
  readonly app: Hono<ConsoleEnv>;
  readonly fetch: Hono<ConsoleEnv>['fetch'];
  readonly sessions: ConsoleSessions;
  readonly approvals: ApprovalQueue;
  /** Ends live streams and timers (call before closing the HTTP server). */
  close(): Promise<void>;
}
