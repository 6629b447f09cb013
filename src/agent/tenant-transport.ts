/**
 * MCP client plumbing for one tenant: a Streamable HTTP transport (official SDK) whose every request
 * goes through the pinned-TLS tenant fetch, and a one-call `connectToTenant` that returns a connected
 * SDK `Client`. The client negotiates the protocol era (`server/discover` first, falling back to the
 * 2025 `initialize` handshake), so it works with both eras of MCP servers behind Airlock.
 *
 * @example
 * const client = await connectToTenant({ url: 'https://acme.relay.example/mcp', caPem, certPem, keyPem });
 * const { tools } = await client.listTools();
 * await client.close();
 */
import {
  Client,
  type ClientOptions,
  type ConnectOptions,
  type Implementation,
  StreamableHTTPClientTransport,
  type StreamableHTTPClientTransportOptions,
} from '@modelcontextprotocol/client';
import type { TenantConnection } from './tenant-connection.js';
import { tenantFailure } from './tenant-failure.js';
import { createTenantFetch, type TenantFetch, type TenantFetchOptions, tenantUrl } from './tenant-fetch.js';
import { type RefusalRecorder, recordRefusals, type TenantRefusal } from './tenant-refusal.js';

/** Client name and version announced to tenants unless the caller gives its own. */
export const DEFAULT_AGENT_CLIENT_INFO: Implementation = { name: 'airlock-agent', version: '0.1.0' };

/** Options of `createTenantTransport`: the SDK transport options (minus `fetch`) plus TLS/timeout options. */
export type TenantTransportOptions = Omit<StreamableHTTPClientTransportOptions, 'fetch'> & {
  tls?: TenantFetchOptions;
};

/** The SDK transport, which also closes the tenant's connection pool when it closes. */
export class TenantHttpTransport extends StreamableHTTPClientTransport {
  readonly tenantFetch: TenantFetch;
  readonly #refusals: RefusalRecorder;

  constructor(url: URL, tenantFetch: TenantFetch, opts: Omit<StreamableHTTPClientTransportOptions, 'fetch'>) {
    const refusals = recordRefusals(tenantFetch);
    super(url, { ...opts, fetch: refusals.fetch });
    this.tenantFetch = tenantFetch;
    this.#refusals = refusals;
  }

  /** The connector's last HTTP refusal (401/403/503 with its `AIRLOCK_*` reason), if any. */
  get lastRefusal(): TenantRefusal | undefined {
    return this.#refusals.last;
  }

  override async close(): Promise<void> {
    try {
      await super.close();
    } finally {
      await this.tenantFetch.close();
    }
  }
}

/**
 * Creates the Streamable HTTP transport for `conn`.
 *
 * @example
 * const transport = createTenantTransport(conn);
 * await new Client({ name: 'my-agent', version: '1.0.0' }).connect(transport);
 */
export function createTenantTransport(
  conn: TenantConnection,
  opts: TenantTransportOptions = {},
): TenantHttpTransport {
  const { tls, ...transportOpts } = opts;
  return new TenantHttpTransport(tenantUrl(conn), createTenantFetch(conn, tls), transportOpts);
}

export interface ConnectToTenantOptions {
  /** SDK client options. Default: `versionNegotiation: { mode: 'auto' }`. */
  client?: ClientOptions;
  /** Transport and TLS options. */
  transport?: TenantTransportOptions;
  /** Options of `client.connect` (timeout, abort signal). */
  connect?: ConnectOptions;
}

/**
 * Connects an SDK `Client` to the tenant. On failure the transport (and its sockets) is closed and the
 * rejection is a `TenantFailureError` with a stable code and a hint (see `tenant-failure.ts`), the
 * original error as its `cause`.
 *
 * @example
 * const client = await connectToTenant(conn, { name: 'claims-bot', version: '2.1.0' });
 */
export async function connectToTenant(
  conn: TenantConnection,
  clientInfo: Implementation = DEFAULT_AGENT_CLIENT_INFO,
  opts: ConnectToTenantOptions = {},
): Promise<Client> {
  const transport = createTenantTransport(conn, opts.transport);
  const client = new Client(clientInfo, { versionNegotiation: { mode: 'auto' }, ...opts.client });
  try {
    await client.connect(transport, opts.connect);
  } catch (err) {
    await transport.close().catch(() => {});
    throw tenantFailure(err, conn, transport.lastRefusal);
  }
  return client;
}
