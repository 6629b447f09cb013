/**
 * A `fetch` bound to one tenant, over TLS 1.3 only: TLS verification pins the tenant CA (no system roots) and always
 * checks the certificate against the hostname of the tenant URL, even when the TCP connection goes
 * somewhere else (`connectTo`: a relay address, 127.0.0.1 in tests). Presents the client certificate
 * when one is given. Refuses requests to any other origin.
 *
 * @example
 * const tenantFetch = createTenantFetch({ url: 'https://acme.localhost:8443/mcp', caPem, certPem, keyPem,
 *   connectTo: { host: '127.0.0.1', port: 8443 } });
 * const res = await tenantFetch('https://acme.localhost:8443/mcp', { method: 'POST', body });
 * await tenantFetch.close();
 */
import { isIP } from 'node:net';
import { setImmediate as setImmediatePromise } from 'node:timers/promises';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import type { FetchLike } from '@modelcontextprotocol/client';
import { Agent, buildConnector, type RequestInit as UndiciRequestInit, fetch as undiciFetch } from 'undici';
import type { TenantConnection } from './tenant-connection.js';
import { TenantConnectionError } from './tenant-connection-error.js';

/** Time allowed for TCP connect + TLS handshake. */
export const DEFAULT_TENANT_CONNECT_TIMEOUT_MS = 10_000;
/**
 * The longest a connector holds a call for a human approval (`approvals.holdMs` accepts up to 600 s).
 * The agent's timeouts follow it: no transport timeout of the agent decides before the supervisor.
 */
export const DEFAULT_TENANT_APPROVAL_HOLD_MS = 600_000;
/**
 * Time allowed until response headers arrive: the longest approval hold plus a minute. A connector
 * answers a held call over SSE at once (headers, then keep-alive comments or progress), so this only
 * bounds a connector that stays silent; the MCP client's request timeout bounds each request first.
 */
export const DEFAULT_TENANT_HEADERS_TIMEOUT_MS = DEFAULT_TENANT_APPROVAL_HOLD_MS + 60_000;
/**
 * Idle time allowed between body chunks. `0` (no limit) by default: MCP answers stream over SSE and a
 * tool call may wait for a human approval; the MCP client's own request timeout bounds each request.
 */
export const DEFAULT_TENANT_BODY_TIMEOUT_MS = 0;
/**
 * The only TLS version spoken to a tenant: 1.3. Under TLS 1.2 the agent's client certificate (with its
 * SPIFFE id) crosses the relay in clear; 1.3 encrypts it. Not configurable.
 */
export const DEFAULT_TENANT_MIN_TLS_VERSION = 'TLSv1.3';

export interface TenantFetchOptions {
  /** TCP connect + TLS handshake timeout. Default {@link DEFAULT_TENANT_CONNECT_TIMEOUT_MS}. */
  connectTimeoutMs?: number;
  /** Timeout until response headers. Default {@link DEFAULT_TENANT_HEADERS_TIMEOUT_MS}. */
  headersTimeoutMs?: number;
  /** Idle timeout between body chunks, 0 = none. Default {@link DEFAULT_TENANT_BODY_TIMEOUT_MS}. */
  bodyTimeoutMs?: number;
}

/** A fetch bound to one tenant, with the connection pool behind it. */
export interface TenantFetch extends FetchLike {
  /** The undici dispatcher holding the pinned-TLS connections. */
  readonly dispatcher: Agent;
  /** Closes every connection; later calls reject with `AIRLOCK_AGENT_CLOSED`. */
  close(): Promise<void>;
}

/** Parses and checks the tenant URL: https only. */
export function tenantUrl(conn: TenantConnection): URL {
  let url: URL;
  try {
    url = new URL(conn.url);
  } catch (cause) {
    throw new TenantConnectionError('AIRLOCK_AGENT_URL_INVALID', `Not a URL: ${conn.url}`, { cause });
  }
  if (url.protocol !== 'https:') {
    throw new TenantConnectionError(
      'AIRLOCK_AGENT_URL_INVALID',
      `Tenant URL must be https (end-to-end TLS to the connector): ${conn.url}`,
    );
  }
  return url;
}

function assertCredentials(conn: TenantConnection): void {
  if (!conn.caPem.includes('-----BEGIN CERTIFICATE-----')) {
    throw new TenantConnectionError('AIRLOCK_AGENT_CREDENTIALS_INVALID', 'caPem is not a PEM certificate');
  }
  if ((conn.certPem === undefined) !== (conn.keyPem === undefined)) {
    throw new TenantConnectionError(
      'AIRLOCK_AGENT_CREDENTIALS_INVALID',
      'A client certificate needs its private key and a key needs its certificate: give both or neither',
    );
  }
}

/**
 * Creates a fetch for `conn`. See the module comment for the TLS guarantees.
 *
 * @example
 * const f = createTenantFetch(conn, { connectTimeoutMs: 5_000 });
 */
export function createTenantFetch(conn: TenantConnection, opts: TenantFetchOptions = {}): TenantFetch {
  const url = tenantUrl(conn);
  assertCredentials(conn);
  const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = url.port === '' ? 443 : Number(url.port);
  const dial = conn.connectTo ?? { host: hostname, port };
  const connector = buildConnector({
    ca: conn.caPem,
    ...(conn.certPem !== undefined && conn.keyPem !== undefined
      ? { cert: conn.certPem, key: conn.keyPem }
      : {}),
    rejectUnauthorized: true,
    minVersion: DEFAULT_TENANT_MIN_TLS_VERSION,
    // The certificate must name the tenant host, wherever the socket goes.
    checkServerIdentity: (_host: string, cert: PeerCertificate) => checkServerIdentity(hostname, cert),
    timeout: opts.connectTimeoutMs ?? DEFAULT_TENANT_CONNECT_TIMEOUT_MS,
  });
  const dispatcher = new Agent({
    connect: (options, callback) =>
      connector(
        {
          ...options,
          hostname: dial.host,
          port: String(dial.port),
          // SNI carries the tenant name (the relay routes on it); SNI never carries an IP address.
          servername: isIP(hostname) === 0 ? hostname : '',
        },
        callback,
      ),
    headersTimeout: opts.headersTimeoutMs ?? DEFAULT_TENANT_HEADERS_TIMEOUT_MS,
    bodyTimeout: opts.bodyTimeoutMs ?? DEFAULT_TENANT_BODY_TIMEOUT_MS,
  });
  let closed = false;
  const tenantFetch = (input: string | URL, init?: RequestInit): Promise<Response> => {
    if (closed) {
      return Promise.reject(
        new TenantConnectionError('AIRLOCK_AGENT_CLOSED', 'This tenant fetch has been closed'),
      );
    }
    const target = new URL(input);
    if (target.origin !== url.origin) {
      return Promise.reject(
        new TenantConnectionError(
          'AIRLOCK_AGENT_FOREIGN_ORIGIN',
          `Refusing a request to ${target.origin}: this fetch only talks to ${url.origin}`,
        ),
      );
    }
    const undiciInit = { ...(init as UndiciRequestInit | undefined), dispatcher };
    // undici hands a kept-alive connection back to the pool one event-loop turn after its response
    // ended; a request sent sooner (the SDK sends `tools/call` right after `server/discover`) would
    // open a new connection: a TLS handshake through the relay, and a second connection per agent.
    return setImmediatePromise().then(() => undiciFetch(target, undiciInit) as unknown as Promise<Response>);
  };
  return Object.assign(tenantFetch, {
    dispatcher,
    close: async (): Promise<void> => {
      if (closed) return;
      closed = true;
      await dispatcher.destroy();
    },
  });
}
