/**
 * Builds a `TenantConnection` from file paths and a `host:port` string, as the CLI receives them
 * (`airlock bridge --url ... --ca ca.pem --cert agent.pem --key agent.key --connect 127.0.0.1:8443`).
 *
 * @example
 * const conn = await loadTenantConnection({ url: 'https://acme.localhost:8443/mcp', caFile: 'ca.pem',
 *   certFile: 'agent.pem', keyFile: 'agent.key', connect: '127.0.0.1:8443' });
 */
import { readFile } from 'node:fs/promises';
import type { TenantConnection } from './tenant-connection.js';
import { TenantConnectionError } from './tenant-connection-error.js';
import { tenantUrl } from './tenant-fetch.js';

export interface TenantConnectionFiles {
  url: string;
  caFile: string;
  certFile?: string;
  keyFile?: string;
  /** `host:port` or `[ipv6]:port` to dial instead of the URL's host. */
  connect?: string;
}

/**
 * Parses `host:port` / `[v6]:port`.
 *
 * @example
 * parseConnectTarget('127.0.0.1:8443'); // { host: '127.0.0.1', port: 8443 }
 */
export function parseConnectTarget(value: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(value.trim());
  const host = match?.[1] ?? match?.[2];
  const port = Number(match?.[3]);
  if (!host || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new TenantConnectionError(
      'AIRLOCK_AGENT_CONNECT_INVALID',
      `Expected host:port (e.g. 127.0.0.1:8443 or [::1]:8443), got "${value}"`,
    );
  }
  return { host, port };
}

async function readPem(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (cause) {
    throw new TenantConnectionError('AIRLOCK_AGENT_FILE_UNREADABLE', `Cannot read the ${what} file ${path}`, {
      cause,
    });
  }
}

/** Reads the files and validates the combination (https URL, cert and key together). */
export async function loadTenantConnection(files: TenantConnectionFiles): Promise<TenantConnection> {
  tenantUrl({ url: files.url, caPem: '' });
  if ((files.certFile === undefined) !== (files.keyFile === undefined)) {
    throw new TenantConnectionError(
      'AIRLOCK_AGENT_CREDENTIALS_INVALID',
      'Give both a client certificate file and its key file, or neither',
    );
  }
  const conn: TenantConnection = { url: files.url, caPem: await readPem(files.caFile, 'CA certificate') };
  if (files.certFile !== undefined && files.keyFile !== undefined) {
    conn.certPem = await readPem(files.certFile, 'client certificate');
    conn.keyPem = await readPem(files.keyFile, 'client key');
  }
  if (files.connect !== undefined) conn.connectTo = parseConnectTarget(files.connect);
  return conn;
}
