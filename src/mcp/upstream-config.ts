/**
 * Configuration of the upstream MCP servers a connector fronts. Each upstream gets a short name that
 * prefixes its tools and prompts for agents (`<name>.<tool>`), so names are restricted to
 * `[a-z0-9][a-z0-9_-]*`.
 *
 * @example
 * const upstreams = upstreamListSchema.parse([
 *   { name: 'erp', kind: 'stdio', command: 'node', args: ['samples/erp/server.js'] },
 *   { name: 'wiki', kind: 'http', url: 'http://10.0.0.5:8080/mcp' },
 * ]);
 */
import { z } from 'zod';
import { type SandboxConfig, sandboxConfigSchema } from '../sandbox/sandbox-config.js';

/** Allowed upstream names: lowercase letters, digits, `_` and `-`, starting with a letter or digit. */
export const UPSTREAM_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]*$/;
/** Longest upstream name (keeps namespaced tool names well under the 128-character tool-name limit). */
export const MAX_UPSTREAM_NAME_LENGTH = 48;

/**
 * Which protocol era the gateway speaks to an upstream: `auto` probes with `server/discover` and falls
 * back to the 2025 `initialize` handshake; `2025-11-25` (alias `legacy`) always uses `initialize` (no
 * probe process on stdio; agents of either era reach the upstream as a 2025-11-25 client, never
 * upgraded); `2026-07-28` requires the modern era (connecting fails if `server/discover` does not offer
 * it, no fallback).
 *
 * @example
 * { name: 'everything', kind: 'http', url: 'http://10.0.0.7:3001/mcp', protocol: '2025-11-25' }
 */
export type UpstreamProtocol = 'auto' | 'legacy' | '2025-11-25' | '2026-07-28';
/** The protocol setting of an upstream that sets none. */
export const DEFAULT_UPSTREAM_PROTOCOL: UpstreamProtocol = 'auto';
/** The values of {@link UpstreamProtocol}. */
export const UPSTREAM_PROTOCOLS = ['auto', 'legacy', '2025-11-25', '2026-07-28'] as const;

/**
 * The SDK client's negotiation mode for a protocol setting.
 *
 * @example
 * negotiationMode('2026-07-28'); // { pin: '2026-07-28' }
 */
export function negotiationMode(protocol: UpstreamProtocol | undefined): 'auto' | 'legacy' | { pin: string } {
  if (protocol === 'legacy' || protocol === '2025-11-25') return 'legacy';
  if (protocol === '2026-07-28') return { pin: '2026-07-28' };
  return 'auto';
}

interface UpstreamCommon {
  /** Namespace for this upstream's tools and prompts, e.g. `erp` → `erp.lookup_invoice`. */
  name: string;
  /** Per-request timeout towards this upstream in milliseconds (progress resets it). Default 60 s. */
  timeoutMs?: number;
  /** Protocol era towards this upstream (see {@link UpstreamProtocol}). Default `auto`. */
  protocol?: UpstreamProtocol;
  /** Requests in flight at once; the others wait in order (upstream-in-flight.ts). Default 0: no limit. */
  maxInFlight?: number;
}

/** An MCP server started as a child process and spoken to over stdin/stdout. */
export interface StdioUpstreamConfig extends UpstreamCommon {
  kind: 'stdio';
  command: string;
  args?: string[];
  /** Extra environment. The child otherwise only inherits a minimal safe set (PATH, HOME, ...). */
  env?: Record<string, string>;
  cwd?: string;
  /** Sandbox (bubblewrap + prlimit, see src/sandbox/). Absent: no sandbox; the connector always sets one. */
  sandbox?: SandboxConfig;
}

/** An MCP server reached over Streamable HTTP on the private network. */
export interface HttpUpstreamConfig extends UpstreamCommon {
  kind: 'http';
  url: string;
  /** Static headers for the upstream (e.g. its own API key). Agent credentials are never forwarded. */
  headers?: Record<string, string>;
}

export type UpstreamConfig = StdioUpstreamConfig | HttpUpstreamConfig;

const nameSchema = z
  .string()
  .max(MAX_UPSTREAM_NAME_LENGTH)
  .regex(UPSTREAM_NAME_PATTERN, 'upstream names must match [a-z0-9][a-z0-9_-]*');
const common = {
  name: nameSchema,
  timeoutMs: z.number().int().positive().optional(),
  protocol: z.enum(UPSTREAM_PROTOCOLS).optional(),
};

/** zod schema of one upstream entry (strict: unknown keys are errors). */
export const upstreamConfigSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    ...common,
    kind: z.literal('stdio'),
    command: z.string().min(1),
    args: z.array(z.string()).optional(),
    env: z.record(z.string(), z.string()).optional(),
    cwd: z.string().optional(),
    sandbox: sandboxConfigSchema.optional(),
  }),
  z.strictObject({
    ...common,
    kind: z.literal('http'),
    url: z.url({ protocol: /^https?$/ }),
    headers: z.record(z.string(), z.string()).optional(),
  }),
]);

/** zod schema of the upstream list: names must be unique. */
export const upstreamListSchema = z.array(upstreamConfigSchema).superRefine((list, ctx) => {
  const seen = new Set<string>();
  for (const [i, u] of list.entries()) {
    if (seen.has(u.name))
      ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicate upstream name '${u.name}'` });
    seen.add(u.name);
  }
});

/**
 * Whether `name` is a valid upstream name.
 *
 * @example
 * isValidUpstreamName('erp'); // true
 * isValidUpstreamName('ERP'); // false
 */
export function isValidUpstreamName(name: string): boolean {
  return name.length <= MAX_UPSTREAM_NAME_LENGTH && UPSTREAM_NAME_PATTERN.test(name);
}
