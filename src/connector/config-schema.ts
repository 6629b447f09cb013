/**
 * The connector's configuration file (YAML), validated at load time. Every limit has a secure
 * default; unknown keys are errors (a typo is reported with file, line and a suggestion).
 *
 * @example
 * ```yaml
 * dataDir: ./.airlock/connector
 * relay:
 *   url: tls://relay.example.com:443
 *   caFile: ./relay-ca.pem          # omit when the relay has a publicly trusted certificate
 * upstreams:
 *   erp:
 *     command: node
 *     args: [dist/samples/erp/server.js, --db, ./erp.db]
 *   wiki:
 *     url: http://wiki.internal:8080/mcp
 * ```
 */
import { z } from 'zod';
import { DEFAULT_APPROVAL_EXPIRY_MS, DEFAULT_APPROVAL_HOLD_MS } from '../approvals/approval-queue-options.js';
import { DEFAULT_CHECKPOINT_EVERY_ENTRIES, DEFAULT_CHECKPOINT_INTERVAL_MS } from '../audit/ledger-options.js';
import { consoleConfigSchema } from '../console/console-config-schema.js';
import { DEFAULT_DPOP_MAX_AGE_SEC } from '../identity/dpop-verifier.js';
import { DEFAULT_UPSTREAM_TOKEN_TTL_SEC } from '../identity/upstream-token-minter.js';
import {
  DEFAULT_DIRECT_CALLS,
  DEFAULT_MAX_REQUEST_BODY_BYTES,
  DEFAULT_MAX_SESSIONS,
  DEFAULT_SESSION_IDLE_TIMEOUT_MS,
} from '../mcp/agent-endpoint-options.js';
import { DEFAULT_MAX_HELD_TASKS_PER_IDENTITY } from '../mcp/held-tasks.js';
import { DEFAULT_UPSTREAM_TIMEOUT_MS } from '../mcp/upstream-types.js';
import { sandboxYamlSchema } from '../sandbox/sandbox-config.js';
import { connectorTlsSchema } from './acme/acme-config.js';
import { DEFAULT_AGENT_REVOCATION_POLL_INTERVAL_MS } from './agent-connection-watch.js';

const hostPort = z
  .string()
  .regex(/^[^\s:]+:\d{1,5}$/, 'expected "host:port", e.g. "127.0.0.1:7070"')
  .describe('host:port');

const serverName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, 'upstream names are lowercase letters, digits, "_" or "-" (max 32)');

/**
 * One upstream MCP server: either a stdio `command` (started and supervised by the connector) or
 * an HTTP `url` on the private network. One object with both shapes' keys (rather than a union) so
 * that a typo is reported as the unknown key it is, with a suggestion.
 */
export const upstreamSchema = z
  .strictObject({
    /** Program to start (stdio upstream). Agents can never choose it; only this file does. */
    command: z.string().min(1).optional(),
    args: z.array(z.string()).optional(),
    /** Environment for the child. Nothing of the connector's own environment is passed unless listed here. */
    env: z.record(z.string(), z.string()).optional(),
    cwd: z.string().optional(),
    /** Sandbox of a stdio upstream (bubblewrap): mode required (default) | preferred | off; see src/sandbox/. */
    sandbox: sandboxYamlSchema.optional(),
    /** Streamable HTTP endpoint of the upstream (HTTP upstream). */
    url: z.url({ protocol: /^https?$/ }).optional(),
    /** Static headers for an HTTP upstream (its own API key, say). Agents' credentials are never forwarded. */
    headers: z.record(z.string(), z.string()).optional(),
    /** PEM CA an `https://` upstream's certificate must chain to, instead of the system roots (HTTP upstream). */
    caFile: z.string().min(1).optional(),
    /** Protocol era towards this upstream: auto (default) | 2025-11-25 (never upgraded) | 2026-07-28. */
    protocol: z.enum(['auto', '2025-11-25', '2026-07-28']).optional(),
    /**
     * Requests in flight to this upstream at once, the others waiting in order (default 0: no limit).
     * 1 ties a 2025-11-25 stdio server's sampling or elicitation to the one call in flight.
     */
    maxInFlight: z.number().int().min(0).optional(),
  })
  .superRefine((u, ctx) => {
    if ((u.command === undefined) === (u.url === undefined)) {
      ctx.addIssue({
        code: 'custom',
        message: 'an upstream needs exactly one of "command" (stdio) or "url" (HTTP)',
      });
    }
    if (u.url !== undefined && (u.args || u.env || u.cwd || u.sandbox)) {
      ctx.addIssue({
        code: 'custom',
        message: '"args", "env", "cwd" and "sandbox" only apply to a stdio upstream ("command")',
      });
    }
    if (u.command !== undefined && (u.headers || u.caFile !== undefined)) {
      ctx.addIssue({
        code: 'custom',
        message: '"headers" and "caFile" only apply to an HTTP upstream ("url")',
      });
    }
  });

export const DEFAULT_TUNNELS = 2;

/** `90s`, `15m`, `12h`, `365d` (or `500ms`) → milliseconds. */
const duration = z
  .string()
  .regex(/^\d+(ms|s|m|h|d)$/, 'expected a duration like 15m, 12h or 365d')
  .transform((v) => {
    const [, n, unit] = /^(\d+)(ms|s|m|h|d)$/.exec(v) ?? [];
    const factor = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[unit as 'ms'];
    return Number(n) * factor;
  })
  .refine((ms) => ms > 0, 'the duration must be positive');

/**
 * The audit trail (src/audit/): hash-chained entries in the connector's store (leaves of an RFC 6962
 * Merkle tree), C2SP checkpoints signed with the connector's audit key (`<dataDir>/audit/`) and sent
 * to tlog-witnesses: always the relay when one is configured, plus `witnesses`. Verification needs
 * `quorum` witnesses (default: all of them, the relay included). Every field has a default.
 *
 * ```yaml
 * audit:
 *   checkpointEvery: 1000          # entries
 *   checkpointIntervalMs: 1000
 *   witnesses: [{ url: https://witness.example.com/v1/audit, key: "witness.example.com+1a2b3c4d+BP..." }]
 *   quorum: 2
 *   sinks:
 *     syslog: { host: siem.internal, port: 6514, tls: true, caFile: ./siem-ca.pem }
 *     otlp: { endpoint: http://otel-collector:4318 }
 *   retention: { olderThan: 365d }
 * ```
 */
export const auditConfigSchema = z.strictObject({
  /** A checkpoint is signed at least every this many entries (default 1000). */
  checkpointEvery: z.number().int().min(1).max(1_000_000).default(DEFAULT_CHECKPOINT_EVERY_ENTRIES),
  /** ...and at least this often while entries are added (default 1 s; 0 disables the timer). */
  checkpointIntervalMs: z.number().int().min(0).max(86_400_000).default(DEFAULT_CHECKPOINT_INTERVAL_MS),
  /** Witnesses that must vouch for the trail in `airlock audit verify` (default: every witness, relay included). */
  quorum: z.number().int().min(1).max(100).optional(),
  /** Extra witnesses (C2SP tlog-witness: POST `{url}/add-checkpoint`, and GET `{url}/checkpoint?origin=`). */
  witnesses: z
    .array(
      z.strictObject({
        url: z.url({ protocol: /^https?$/ }),
        /** PEM of a CA to trust for this witness (default: the system roots). */
        caFile: z.string().optional(),
        /** Extra request headers, e.g. an authorization token of the witness. */
        headers: z.record(z.string(), z.string()).optional(),
        /** The witness's C2SP verifier key (cosignature type); when set, its cosignatures are checked. */
        key: z.string().max(512).optional(),
      }),
    )
    .default([]),
  /** Live copies of every committed entry. The store stays the record of truth. */
  sinks: z
    .strictObject({
      /** RFC 5424 syslog over TCP, or TLS (RFC 5425) with `tls: true`. */
      syslog: z
        .strictObject({
          host: z.string().min(1),
          port: z.number().int().min(1).max(65_535),
          tls: z.boolean().default(false),
          /** PEM of the collector's CA (TLS only; default: the system roots). */
          caFile: z.string().optional(),
        })
        .optional(),
      /** OpenTelemetry logs over OTLP/HTTP (JSON); `/v1/logs` is appended to `endpoint`. */
      otlp: z
        .strictObject({
          endpoint: z.url({ protocol: /^https?$/ }),
          headers: z.record(z.string(), z.string()).optional(),
        })
        .optional(),
    })
    .default({}),
  /** Delete entries older than `olderThan`, leaving a signed prune record (checked hourly). */
  retention: z.strictObject({ olderThan: duration }).optional(),
});

const oauthSchema = z.strictObject({
  /** The IdP's issuer identifier (`iss`). */
  issuer: z.string().min(1),
  /** Where the IdP publishes its signing keys (https, or http on loopback). */
  jwksUri: z.url(),
  /** This connector's resource URL, the tokens' audience (default `https://<tenantHost>/mcp`). */
  resource: z.url().optional(),
  /** Authorization servers listed in the protected-resource metadata (default: `[issuer]`). */
  authorizationServers: z.array(z.url()).optional(),
  algorithms: z.array(z.string()).optional(),
  scopesSupported: z.array(z.string()).optional(),
  /** Scopes every token must carry; missing ones get 403 insufficient_scope. */
  requiredScopes: z.array(z.string()).optional(),
  /** Which claim names the agent identity. */
  identityName: z.enum(['subject', 'clientId']).default('subject'),
  /** DPoP (RFC 9449): sender-constrained tokens, so a stolen token cannot be replayed. */
  dpop: z
    .strictObject({
      /** Refuse tokens that are not DPoP-bound. */
      required: z.boolean().default(false),
      maxAgeSec: z.number().int().min(1).max(600).default(DEFAULT_DPOP_MAX_AGE_SEC),
    })
    .optional(),
});

const endUserSchema = z.strictObject({
  /** Refuse requests that carry no end-user token. */
  required: z.boolean().default(false),
  /** Header with the raw end-user JWT (default `X-Airlock-End-User`). */
  header: z.string().optional(),
  /** A second IdP for end users; default: the `agents.oauth` issuer. */
  issuer: z.string().optional(),
  jwksUri: z.url().optional(),
  audience: z.string().optional(),
});

const connectorConfigObject = z.strictObject({
  /** Where the tenant CA, the connector credential and the SQLite store live. */
  dataDir: z.string().default('./.airlock/connector'),
  /** Tenant hostname served to agents when no relay is configured (with a relay it comes from enrollment). */
  tenantHost: z.string().optional(),
  /** Store URL: `sqlite:<file>` (default: `<dataDir>/airlock.db`) or `postgres://...`. */
  store: z.string().optional(),
  relay: z
    .strictObject({
      /** `tls://relay-host:port` (TLS tunnel) or `wss://relay-host:port` (WebSocket tunnel, works through HTTPS_PROXY). */
      url: z.string().regex(/^(tls|wss):\/\/[^/\s]+$/, 'expected tls://host:port or wss://host:port'),
      /** Dial this address instead of resolving the relay host (SNI stays the relay host). */
      connect: hostPort.optional(),
      /** PEM of the relay's CA to pin. Omit for a publicly trusted relay certificate. */
      caFile: z.string().optional(),
      /** Number of tunnels kept open to this relay. */
      tunnels: z.number().int().min(1).max(16).default(DEFAULT_TUNNELS),
    })
    .optional(),
  admin: z
    .strictObject({
      /** The console and admin API. Loopback by default; never reachable through the tunnel. */
      listen: hostPort.default('127.0.0.1:7070'),
    })
    .default({ listen: '127.0.0.1:7070' }),
  /** The console on the admin address: `oidc` signs people in through the customer's IdP (local accounts stay as break-glass). */
  console: consoleConfigSchema.optional(),
  agents: z
    .strictObject({
      /** Optional direct TLS listener for agents inside the network (same policy as the tunnel). */
      listen: hostPort.optional(),
      /**
       * OAuth 2.1 bearer tokens from the customer's IdP, for agents without a client certificate.
       * A client certificate, when presented, always decides.
       */
      oauth: oauthSchema.optional(),
      /** The end user's IdP token in a request header; verified, recorded, never forwarded. */
      endUser: endUserSchema.optional(),
      /** How often revocations are looked up to close live connections (default 500 ms). */
      revocationPollMs: z
        .number()
        .int()
        .min(50)
        .max(60_000)
        .default(DEFAULT_AGENT_REVOCATION_POLL_INTERVAL_MS),
    })
    .prefault({}),
  /** The tenant certificate agents see: `tls.acme` obtains a publicly trusted one (hosted agents). */
  tls: connectorTlsSchema.optional(),
  /**
   * The policy file (YAML): identities → roles → tools, tiers, limits, schema overlays, PII actions.
   * Hot-reloaded; an invalid new version keeps the old one in force. Without one, every call is refused.
   */
  policy: z.strictObject({ file: z.string() }).optional(),
  /** The human approval queue for tools in the `approve` tier. */
  approvals: z
    .strictObject({
      /** How long an agent's call is held open waiting for a decision (progress keeps it alive). */
      holdMs: z.number().int().min(0).max(600_000).default(DEFAULT_APPROVAL_HOLD_MS),
      /** When an undecided request expires. */
      expiryMs: z.number().int().min(1000).default(DEFAULT_APPROVAL_EXPIRY_MS),
      /** Most calls of one identity waiting for approval as 2025-11-25 tasks at once; 0: never as tasks. */
      maxHeldTasksPerIdentity: z
        .number()
        .int()
        .min(0)
        .max(10_000)
        .default(DEFAULT_MAX_HELD_TASKS_PER_IDENTITY),
      /** Slack-compatible webhook told of every new pending approval. */
      webhook: z
        .strictObject({
          url: z.url(),
          headers: z.record(z.string(), z.string()).optional(),
          /** The console's address as supervisors reach it: the message links to the approval there. */
          consoleUrl: z.url().optional(),
        })
        .optional(),
    })
    .default({
      holdMs: DEFAULT_APPROVAL_HOLD_MS,
      expiryMs: DEFAULT_APPROVAL_EXPIRY_MS,
      maxHeldTasksPerIdentity: DEFAULT_MAX_HELD_TASKS_PER_IDENTITY,
    }),
  /** Short-lived tokens the connector mints for HTTP upstreams (sub = end user, act = agent). */
  upstreamTokens: z
    .strictObject({
      /** `iss` of minted tokens (default `https://<tenantHost>`); their keys are at the console's /.well-known/jwks.json. */
      issuer: z.url().optional(),
      alg: z.enum(['EdDSA', 'ES256']).default('EdDSA'),
      /** Lifetime in seconds (max 300). */
      ttlSec: z.number().int().min(10).max(300).default(DEFAULT_UPSTREAM_TOKEN_TTL_SEC),
      /** Header that carries the token to the upstream. */
      header: z.string().default('authorization'),
    })
    .optional(),
  mcp: z
    .strictObject({
      /** Separator between upstream name and tool/prompt name: `erp.lookup_invoice`. */
      namespaceSeparator: z.enum(['.', '__', '_']).default('.'),
      /**
       * `prefixed` (default): tools and prompts are exposed as `<upstream><separator><name>`.
       * `none`: exposed under the upstream's own names, so agents see that server exactly as it is
       * (e.g. to put one existing MCP server behind Airlock unchanged). Only with exactly one upstream.
       */
      namespace: z.enum(['prefixed', 'none']).default('prefixed'),
      maxRequestBytes: z
        .number()
        .int()
        .min(1024)
        .max(64 * 1024 * 1024)
        .default(DEFAULT_MAX_REQUEST_BODY_BYTES),
      upstreamTimeoutMs: z.number().int().min(100).max(3_600_000).default(DEFAULT_UPSTREAM_TIMEOUT_MS),
      sessionIdleMs: z.number().int().min(1000).default(DEFAULT_SESSION_IDLE_TIMEOUT_MS),
      maxSessions: z.number().int().min(1).default(DEFAULT_MAX_SESSIONS),
      /**
       * Relay upstreams' server→client requests (sampling, elicitation, roots) to the agent whose call
       * they serve (default). `false`: refused with a clear error, and not declared to upstreams.
       */
      allowServerRequests: z.boolean().default(true),
      /**
       * Serve plain 2026-07-28 `tools/call` requests on the direct path (src/mcp/direct-calls.ts: same
       * answers, less CPU) (default). `false`: every request through a per-request SDK server.
       */
      directCalls: z.boolean().default(DEFAULT_DIRECT_CALLS),
    })
    .prefault({}),
  audit: auditConfigSchema.prefault({}),
  upstreams: z.record(serverName, upstreamSchema).refine((u) => Object.keys(u).length > 0, {
    message: 'at least one upstream MCP server is required',
  }),
});

/** The whole file, with the checks that span several sections. */
export const connectorConfigSchema = connectorConfigObject.superRefine((config, ctx) => {
  if (config.tls?.acme && !config.tls.acme.dns01Hook && !config.relay) {
    ctx.addIssue({
      code: 'custom',
      path: ['tls', 'acme'],
      message: 'TLS-ALPN-01 validations arrive through the relay: configure "relay", or use "dns01Hook"',
    });
  }
  const upstreams = Object.keys(config.upstreams).length;
  if (config.mcp.namespace === 'none' && upstreams > 1) {
    ctx.addIssue({
      code: 'custom',
      path: ['mcp', 'namespace'],
      message: `"none" needs exactly one upstream (there are ${upstreams}): with several, names would collide; use "prefixed"`,
    });
  }
});

export type ConnectorConfig = z.infer<typeof connectorConfigSchema>;
export type UpstreamEntry = z.infer<typeof upstreamSchema>;
export type AuditConfig = z.infer<typeof auditConfigSchema>;
