/**
 * The stack adversarial tests attack: a real relay and two tenants (`acme`, the victim or the
 * attacker's target, and `globex`, the bystander whose calls must keep working), each with a real
 * connector and the small fixture MCP server over stdio. See test/e2e/airlock-stack.ts.
 */

import { readFile } from 'node:fs/promises';
import { connectToTenant } from '../../src/agent/index.js';
import { enrollConnector, issueConnectorBinding } from '../../src/connector/enroll-client.js';
import type { RelayOptions } from '../../src/relay/relay-server.js';
import { type Stack, startStack } from '../e2e/airlock-stack.js';
import { FIXTURE_UPSTREAM } from '../sandbox/sandbox-fixture.js';

export async function startAbuseStack(relay: Partial<RelayOptions> = {}): Promise<Stack> {
  return startStack({
    tenants: ['acme', 'globex'],
    upstreams: () => ({ fixture: { command: process.execPath, args: [FIXTURE_UPSTREAM], env: {} } }),
    relay,
  });
}

/** One full agent round trip (new TLS connection, MCP handshake, a tool call) to `tenant`. */
export async function echoThrough(stack: Stack, tenant: string, text: string): Promise<string> {
  const client = await connectToTenant(stack.tenant(tenant).connection(), {
    name: 'bystander',
    version: '1',
  });
  try {
    const result = await client.callTool({ name: 'fixture.echo', arguments: { text } });
    return (result.structuredContent as { echoed: string }).echoed;
  } finally {
    await client.close();
  }
}

/**
 * A second, attacker-controlled connector credential for `tenant` (a fresh one-time token). By default
 * it is also bound with the tenant's own CA (an attacker who stole the CA key too: the worst case, for
 * tests of what a connector credential can do on the tunnel); `{ bound: false }`: the token alone.
 */
export async function rogueCredential(stack: Stack, tenant: string, options: { bound?: boolean } = {}) {
  const pki = stack.tenant(tenant).connector.pki;
  const binding =
    options.bound === false
      ? undefined
      : await issueConnectorBinding({
          keyPem: await readFile(pki.caKeyFile, 'utf8'),
          certPem: pki.caCertPem,
        });
  return enrollConnector({
    relayUrl: `tls://relay.localhost:${stack.relay.port}`,
    relayCaPem: stack.relay.caPem,
    token: await stack.relay.createEnrollmentToken(tenant),
    connectTo: { host: '127.0.0.1', port: stack.relay.port },
    proxy: false,
    ...(binding ? { binding } : {}),
  });
}
