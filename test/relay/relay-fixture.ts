// Shared set-up for relay / tunnel tests: a real store, a real relay on 127.0.0.1:0, a tenant with a
// TLS key made here (as a connector would), an echo "MCP endpoint" behind TLS, and an agent client.
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { enrollConnector, issueConnectorBinding } from '../../src/connector/enroll-client.js';
import {
  type CertifiedKey,
  createCertificateAuthority,
  issueServerCertificate,
} from '../../src/identity/pki.js';
import { createRelayIdentity, type RelayIdentity } from '../../src/relay/relay-identity.js';
import { type Relay, type RelayOptions, startRelay } from '../../src/relay/relay-server.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';
import { until } from '../fixtures/wait-until.js';

export const DOMAIN = 'localhost';
export const RELAY_HOST = 'relay.localhost';

export interface TenantTls {
  ca: CertifiedKey;
  server: CertifiedKey;
}

let cachedIdentity: Promise<RelayIdentity> | undefined;
let cachedTenant: Promise<TenantTls> | undefined;

/** The relay identity (made once per test file: key generation is the slow part). */
export function relayIdentity(): Promise<RelayIdentity> {
  cachedIdentity ??= createRelayIdentity({ relayHost: RELAY_HOST });
  return cachedIdentity;
}

/** The tenant's TLS key + cert for acme.localhost (generated "on the connector"). */
export function tenantTls(): Promise<TenantTls> {
  cachedTenant ??= (async () => {
    const ca = await createCertificateAuthority({ commonName: 'acme tenant CA' });
    const server = await issueServerCertificate(ca, {
      commonName: 'acme.localhost',
      dnsNames: ['acme.localhost'],
    });
    return { ca, server };
  })();
  return cachedTenant;
}

export interface RelayFixture {
  store: Store;
  relay: Relay;
  identity: RelayIdentity;
  tlsUrl: string;
  wssUrl: string;
  connectTo: { host: string; port: number };
  close(): Promise<void>;
}

/** Starts a relay with a fresh in-memory store and tenant `acme`. */
export async function startRelayFixture(
  options: Partial<RelayOptions> = {},
  store?: Store,
): Promise<RelayFixture> {
  const identity = await relayIdentity();
  const ownStore = store === undefined;
  const usedStore = store ?? (await openStore({ url: 'sqlite::memory:' }));
  const relay = await startRelay({
    domain: DOMAIN,
    host: '127.0.0.1',
    port: 0,
    adminHost: '127.0.0.1',
    adminPort: 0,
    store: usedStore,
    identity,
    heartbeatIntervalMs: 200,
    heartbeatTimeoutMs: 1000,
    ...options,
  });
  await relay.addTenant('acme');
  return {
    store: usedStore,
    relay,
    identity,
    tlsUrl: `tls://${RELAY_HOST}:${relay.port}`,
    wssUrl: `wss://${RELAY_HOST}:${relay.port}`,
    connectTo: { host: '127.0.0.1', port: relay.port },
    async close() {
      await relay.close();
      if (ownStore) await usedStore.close();
    },
  };
}

/**
 * Enrolls a connector for `tenant` and returns its credential. By default it is bound with the tenant
 * CA of {@link tenantTls} (the first one pins it); `{ bound: false }` enrolls with the token alone.
 */
export async function enroll(fixture: RelayFixture, tenant = 'acme', options: { bound?: boolean } = {}) {
  const token = await fixture.relay.createEnrollmentToken(tenant);
  const binding = options.bound === false ? undefined : await issueConnectorBinding((await tenantTls()).ca);
  return enrollConnector({
    relayUrl: fixture.tlsUrl,
    relayCaPem: fixture.relay.caPem,
    token,
    connectTo: fixture.connectTo,
    proxy: false,
    ...(binding ? { binding } : {}),
  });
}

/**
 * The connector's tenant endpoint stand-in: terminates the agent's TLS with the tenant key and
 * echoes every byte back prefixed by nothing. `onStream` plugs it into a tunnel.
 */
export async function startEchoEndpoint() {
  const { server } = await tenantTls();
  const sockets = new Set<tls.TLSSocket>();
  const endpoint = tls.createServer({ key: server.keyPem, cert: server.certPem }, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.pipe(socket);
  });
  endpoint.on('tlsClientError', () => {});
  const streams: { sni: string; peer: string; tunnelSlot: number }[] = [];
  return {
    streams,
    onStream: (stream: Duplex, meta: { sni: string; peer: string; tunnelSlot: number }) => {
      streams.push(meta);
      stream.on('error', () => stream.destroy());
      endpoint.emit('connection', stream);
    },
    close() {
      for (const socket of sockets) socket.destroy();
    },
  };
}

/** An agent: TLS to the relay port with SNI acme.localhost, trusting only the tenant CA. */
export async function agentConnect(port: number, servername = 'acme.localhost'): Promise<tls.TLSSocket> {
  const { ca } = await tenantTls();
  const socket = tls.connect({ host: '127.0.0.1', port, servername, ca: ca.certPem });
  await new Promise<void>((resolve, reject) => {
    socket.once('secureConnect', () => resolve());
    socket.once('error', reject);
  });
  return socket;
}

/** Writes `message` and reads the same number of bytes back. */
export async function roundTrip(socket: tls.TLSSocket, message: string): Promise<string> {
  let received = '';
  const done = new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      received += chunk.toString();
      if (received.length >= message.length) {
        socket.off('data', onData);
        resolve(received);
      }
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
  socket.write(message);
  return done;
}

/** An agent that echo-tests once and closes. */
export async function agentEcho(port: number, message: string): Promise<string> {
  const socket = await agentConnect(port);
  try {
    return await roundTrip(socket, message);
  } finally {
    socket.destroy();
  }
}

/** Sends raw bytes to the relay port and collects everything until the relay closes. */
export async function rawExchange(
  port: number,
  bytes: Buffer | undefined,
  timeoutMs = 5000,
): Promise<Buffer> {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => {});
  await once(socket, 'connect');
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  if (bytes) socket.write(bytes);
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    once(socket, 'close'),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error('relay did not close')), timeoutMs);
    }),
  ]).finally(() => {
    clearTimeout(timer);
    socket.destroy();
  });
  return Buffer.concat(chunks);
}

/** GET on the relay's admin port. */
export async function adminGet(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          body += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

/** Polls `check` every 20 ms until it returns true (or throws after `timeoutMs`); see `until`. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 5000, what = 'condition') {
  await until(what, check, timeoutMs, 20);
}

/**
 * What every connector tunnel to `fixture` is dialed with: TLS to the relay, its CA, the enrolled
 * `credential`, no proxy, agent streams to `echo`. Spread it and add the slot, backoff, transport, ….
 */
export function tunnelDialOptions(
  fixture: RelayFixture,
  credential: Awaited<ReturnType<typeof enroll>>,
  echo: Pick<Awaited<ReturnType<typeof startEchoEndpoint>>, 'onStream'>,
) {
  return {
    relayUrl: fixture.tlsUrl,
    connectTo: fixture.connectTo,
    relayCaPem: fixture.relay.caPem,
    credential,
    connectorId: credential.connectorId,
    proxy: false as const,
    onStream: echo.onStream,
  };
}

/** A relay fixture with one enrolled connector credential and an echo endpoint for its tunnels. */
export async function startEnrolledRelay(options: Partial<RelayOptions> = {}, store?: Store) {
  const fx = await startRelayFixture(options, store);
  const credential = await enroll(fx);
  const echo = await startEchoEndpoint();
  return { fx, credential, echo };
}

/** The `tunnel-down` events of `fixture`'s relay, collected as they come. */
export function tunnelDowns(fixture: RelayFixture): { reason: string }[] {
  const downs: { reason: string }[] = [];
  fixture.relay.events.on('tunnel-down', (e: { reason: string }) => downs.push(e));
  return downs;
}
