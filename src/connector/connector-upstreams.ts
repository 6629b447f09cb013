/**
 * The connector's upstream side: the upstream MCP servers from the config (stdio ones in the sandbox,
 * with the connector's own files hidden), their catalog, and the signed tokens that go to them
 * (short-lived upstream tokens when configured, approval tokens on approved calls).
 *
 * @example
 * const signers = await openUpstreamSigners(ctx, tenantHost);
 * const catalog = await startUpstreamCatalog(ctx, logger, opened);
 */
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { ApprovalTokenSigner, approvalTokenHeaders } from '../approvals/approval-token.js';
import { ConfigError } from '../errors/airlock-error.js';
import type { GatewayContext } from '../gateway/gateway-context.js';
import { fetchWithUpstreamHeaders } from '../identity/upstream-token-context.js';
import { UpstreamTokenMinter } from '../identity/upstream-token-minter.js';
import { Upstream } from '../mcp/upstream.js';
import { UpstreamCatalog } from '../mcp/upstream-catalog.js';
import { DEFAULT_UPSTREAM_PROTOCOL, type UpstreamConfig } from '../mcp/upstream-config.js';
import { DEFAULT_UPSTREAM_MAX_IN_FLIGHT } from '../mcp/upstream-in-flight.js';
import {
  createUndiciFetch,
  DEFAULT_UNDICI_FETCH_BODY_TIMEOUT_MS,
  DEFAULT_UNDICI_FETCH_HEADERS_TIMEOUT_MS,
  type UndiciFetchOptions,
} from '../net/undici-fetch.js';
import { sandboxFromYaml } from '../sandbox/sandbox-config.js';
import { sqliteStoreFiles } from '../store/open-store.js';
import type { CloseStack } from './close-stack.js';
import type { UpstreamEntry } from './config-schema.js';
import type { ConnectorContext } from './connector-context.js';

function toUpstreamConfig(name: string, entry: UpstreamEntry, ctx: ConnectorContext): UpstreamConfig {
  const timeoutMs = ctx.config.mcp.upstreamTimeoutMs;
  const protocol = entry.protocol ?? DEFAULT_UPSTREAM_PROTOCOL;
  const maxInFlight = entry.maxInFlight ?? DEFAULT_UPSTREAM_MAX_IN_FLIGHT;
  if (entry.url !== undefined) {
    const headers = entry.headers ?? {};
    return { name, kind: 'http', url: entry.url, headers, timeoutMs, protocol, maxInFlight };
  }
  return {
    name,
    kind: 'stdio',
    command: entry.command ?? '',
    args: entry.args ?? [],
    env: entry.env ?? {},
    // Every stdio upstream runs in the sandbox unless its config says otherwise; the connector's own
    // data (keys, credential, store) and config are never visible inside.
    sandbox: sandboxFromYaml(entry.sandbox, {
      resolvePath: ctx.resolvePath,
      hiddenPaths: [ctx.dataDir, ctx.configFile, ...sqliteStoreFiles(ctx.storeUrl)],
    }),
    ...(entry.cwd ? { cwd: ctx.resolvePath(entry.cwd) } : {}),
    timeoutMs,
    protocol,
    maxInFlight,
  };
}

/**
 * The HTTP clients of the upstreams: one pool shared by the upstreams the system roots serve, and one of
 * its own for each upstream with a `caFile` (its private CA, trusted instead of the system roots, for that
 * upstream only). Each pool closes after the catalog. Throws `ConfigError` for a CA file that cannot be read
 * or holds no certificate.
 */
async function upstreamFetches(
  ctx: ConnectorContext,
  opened: CloseStack,
): Promise<(upstream: string) => ReturnType<typeof fetchWithUpstreamHeaders>> {
  const options = upstreamHttpOptions(ctx.config.mcp.upstreamTimeoutMs);
  const pool = (ca?: string) => {
    const pooled = createUndiciFetch(ca === undefined ? options : { ...options, ca });
    opened.defer(() => pooled.close()); // after the catalog (closed first): nothing is left in flight
    return fetchWithUpstreamHeaders(pooled);
  };
  const shared = pool();
  const own = new Map<string, ReturnType<typeof fetchWithUpstreamHeaders>>();
  for (const [name, entry] of Object.entries(ctx.config.upstreams)) {
    if (entry.caFile !== undefined) own.set(name, pool(await upstreamCa(ctx, name, entry.caFile)));
  }
  return (upstream) => own.get(upstream) ?? shared;
}

/** The PEM of an upstream's `caFile` (relative to connector.yaml). */
async function upstreamCa(ctx: ConnectorContext, upstream: string, caFile: string): Promise<string> {
  const where = { file: ctx.configFile };
  let pem: string;
  try {
    pem = await readFile(ctx.resolvePath(caFile), 'utf8');
  } catch (cause) {
    throw new ConfigError(`upstreams.${upstream}.caFile: cannot read ${caFile}`, where, cause);
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
    throw new ConfigError(`upstreams.${upstream}.caFile: ${caFile} holds no PEM certificate`, where);
  }
  return pem;
}

/**
 * The HTTP connections to upstreams: undici's defaults (those of the global fetch used before), except
 * that the headers and body timeouts are never shorter than `mcp.upstreamTimeoutMs`, so that the MCP
 * client's own request timeout decides, never a transport timeout before it.
 */
export function upstreamHttpOptions(upstreamTimeoutMs: number): UndiciFetchOptions {
  return {
    headersTimeoutMs: Math.max(DEFAULT_UNDICI_FETCH_HEADERS_TIMEOUT_MS, upstreamTimeoutMs),
    bodyTimeoutMs: Math.max(DEFAULT_UNDICI_FETCH_BODY_TIMEOUT_MS, upstreamTimeoutMs),
  };
}

/**
 * Starts every configured upstream and their catalog. Closing it is deferred on `opened`, and a
 * child lost once the connector is closing is expected (no restart, no warning). HTTP upstreams are
 * reached over one pooled undici `fetch` (src/net/undici-fetch.ts), closed after the catalog.
 */
export async function startUpstreamCatalog(
  ctx: ConnectorContext,
  logger: Logger,
  opened: CloseStack,
): Promise<UpstreamCatalog> {
  const fetchFor = await upstreamFetches(ctx, opened);
  const upstreams = Object.entries(ctx.config.upstreams).map(
    ([name, entry]) =>
      new Upstream(toUpstreamConfig(name, entry, ctx), {
        logger, // Upstream adds { upstream: name } itself.
        serverRequests: ctx.config.mcp.allowServerRequests,
        fetch: fetchFor(name),
        directCalls: ctx.config.mcp.directCalls,
      }),
  );
  const catalog = new UpstreamCatalog(upstreams, {
    separator: ctx.config.mcp.namespaceSeparator,
    prefix: ctx.config.mcp.namespace !== 'none',
    logger,
  });
  opened.defer(() => catalog.close());
  opened.onClosing(() => catalog.beginStop());
  await catalog.start();
  return catalog;
}

/** The keys that sign what goes to upstreams, and the headers they make for one call. */
export interface UpstreamSigners {
  /** Signs the approval token an approved call carries to its upstream. */
  approvalTokens: ApprovalTokenSigner;
  /** The headers for one call: an upstream token (when configured) and the approval token (when approved). */
  upstreamHeaders(ctx: GatewayContext, upstream: string): Promise<Record<string, string>>;
  /** The public keys upstreams verify both with (the console serves them). */
  jwks(): ReturnType<ApprovalTokenSigner['jwks']>;
}

/**
 * Short-lived tokens for HTTP upstreams (sub = end user, act = agent) when `upstreamTokens` is
 * configured, and the approval-token signer (same key and JWKS as the minter).
 */
export async function openUpstreamSigners(
  ctx: ConnectorContext,
  tenantHost: string,
): Promise<UpstreamSigners> {
  const tokens = ctx.config.upstreamTokens;
  const minter = tokens
    ? await UpstreamTokenMinter.open({
        dataDir: ctx.dataDir,
        issuer: tokens.issuer ?? `https://${tenantHost}`,
        alg: tokens.alg,
        ttlSec: tokens.ttlSec,
        header: tokens.header,
      })
    : undefined;
  const approvalTokens = await ApprovalTokenSigner.open({
    dataDir: ctx.dataDir,
    issuer: tokens?.issuer ?? `https://${tenantHost}`,
    ...(tokens?.alg ? { alg: tokens.alg } : {}),
  });
  return {
    approvalTokens,
    upstreamHeaders: async (c, upstream) => ({
      ...(minter ? await minter.mintUpstreamHeaders(c, upstream) : {}),
      ...approvalTokenHeaders(c),
    }),
    jwks: () => (minter ?? approvalTokens).jwks(),
  };
}
