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
    /** Streamable HTTP endpoint of the upstream (HTTP upstream). */
    url: z.url({ protocol: /^https?$/ }).optional(),
    /** Static headers for an HTTP upstream (its own API key, say). Agents' credentials are never forwarded. */
    headers: z.record(z.string(), z.string()).optional(),
  })
  .superRefine((u, ctx) => {
    if ((u.command === undefined) === (u.url === undefined)) {
      ctx.addIssue({
        code: 'custom',
        message: 'an upstream needs exactly one of "command" (stdio) or "url" (HTTP)',
      });
    }
    if (u.url !== undefined && (u.args || u.env || u.cwd)) {
      ctx.addIssue({
        code: 'custom',
        message: '"args", "env" and "cwd" only apply to a stdio upstream ("command")',
      });
    }
    if (u.command !== undefined && u.headers) {
      ctx.addIssue({ code: 'custom', message: '"headers" only applies to an HTTP upstream ("url")' });
    }
  });

export const DEFAULT_TUNNELS = 2;

export const connectorConfigSchema = z.strictObject({
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
  agents: z
    .strictObject({
      /** Optional direct TLS listener for agents inside the network (same policy as the tunnel). */
      listen: hostPort.optional(),
    })
    .default({}),
  mcp: z
    .strictObject({
      /** Separator between upstream name and tool/prompt name: `erp.lookup_invoice`. */
      namespaceSeparator: z.enum(['.', '__', '_']).default('.'),
      maxRequestBytes: z
        .number()
        .int()
        .min(1024)
        .max(64 * 1024 * 1024)
        .default(4 * 1024 * 1024),
      upstreamTimeoutMs: z.number().int().min(100).max(3_600_000).default(60_000),
      sessionIdleMs: z
        .number()
        .int()
        .min(1000)
        .default(30 * 60_000),
      maxSessions: z.number().int().min(1).default(10_000),
    })
    .default({
      namespaceSeparator: '.',
      maxRequestBytes: 4 * 1024 * 1024,
      upstreamTimeoutMs: 60_000,
      sessionIdleMs: 30 * 60_000,
      maxSessions: 10_000,
    }),
  upstreams: z.record(serverName, upstreamSchema).refine((u) => Object.keys(u).length > 0, {
    message: 'at least one upstream MCP server is required',
  }),
});

export type ConnectorConfig = z.infer<typeof connectorConfigSchema>;
export type UpstreamEntry = z.infer<typeof upstreamSchema>;
