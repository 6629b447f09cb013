/**
 * The relay-abuse tests' stack: the adversarial stack (test/adversarial/abuse-stack.ts) with tight
 * relay limits, and the raw moves an attacker makes on the relay's public port (a bare TCP connection,
 * a hand-made tunnel whose bytes the test owns).
 *
 * @example
 * const stack = await startRelayAbuseStack();
 * const socket = await rawConnect(stack);
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before } from 'node:test';
import type tls from 'node:tls';
import { TUNNEL_ALPN } from '../../src/tunnel/protocol.js';
import type { Stack } from '../e2e/airlock-stack.js';
import { echoThrough, startAbuseStack } from './abuse-stack.js';
import {
  collect,
  dialRelayHost,
  H2,
  H2_PREFACE,
  HPACK_STATUS_200,
  h2Frame,
  h2FrameHeaders,
  until,
} from './raw-wire.js';

/** The relay's ClientHello timeout in these tests. */
export const HELLO_TIMEOUT_MS = 500;
/** Agent connections per tenant. */
export const PER_TENANT = 6;
/** Tunnels per connector. */
export const MAX_TUNNELS = 4;

/** The abuse stack with the limits above (and short tunnel hello and TLS handshake timeouts). */
export function startRelayAbuseStack(): Promise<Stack> {
  return startAbuseStack({
    clientHelloTimeoutMs: HELLO_TIMEOUT_MS,
    maxAgentConnectionsPerTenant: PER_TENANT,
    // Every connection here comes from 127.0.0.1: let one source fill a tenant (fairness between
    // sources is tenant-lockout.test.ts's subject).
    maxTenantSharePerSource: 1,
    maxTunnelsPerConnector: MAX_TUNNELS,
    tunnelHelloTimeoutMs: 1000,
    tlsHandshakeTimeoutMs: 1000,
  });
}

/** The bystander tenant still gets its answers. */
export async function globexWorks(stack: Stack, text = 'globex is fine'): Promise<void> {
  assert.equal(await echoThrough(stack, 'globex', text), text);
}

export async function rawConnect(stack: Stack): Promise<net.Socket> {
  const socket = net.connect(stack.relay.port, '127.0.0.1');
  socket.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.resume(); // read what the relay sends (an alert), so its close is seen
  return socket;
}

/**
 * A hand-made tunnel: TLS with the tunnel ALPN and a real connector credential, the HTTP/2 server
 * preface, and a correct hello — then it is registered and the test owns the raw bytes.
 */
export async function rawTunnel(
  stack: Stack,
  credential: {
    certPem: string;
    keyPem: string;
    connectorId: string;
  },
): Promise<tls.TLSSocket> {
  const socket = await dialRelayHost({
    port: stack.relay.port,
    caPem: stack.relay.caPem,
    credential,
    alpn: [TUNNEL_ALPN],
  });
  const inbound = collect(socket);
  socket.write(h2Frame(H2.SETTINGS, 0, 0));
  await until(
    () =>
      h2FrameHeaders(inbound.bytes(), H2_PREFACE.length).some(
        (f) => f.type === H2.HEADERS && f.streamId === 1,
      ),
    3000,
    'the relay asking for the hello',
  );
  const hello = Buffer.from(JSON.stringify({ connectorId: credential.connectorId, slot: 0, version: 1 }));
  socket.write(
    Buffer.concat([
      h2Frame(H2.SETTINGS, H2.ACK, 0),
      h2Frame(H2.HEADERS, H2.END_HEADERS, 1, HPACK_STATUS_200),
      h2Frame(H2.DATA, H2.END_STREAM, 1, hello),
    ]),
  );
  await until(
    () => stack.relay.tunnels().some((t) => t.connectorId === credential.connectorId),
    3000,
    'raw tunnel registered',
  );
  return socket;
}

/** The started stack of a test file and the moves that need it. */
export interface RelayAbuse {
  readonly stack: Stack;
  globexWorks(text?: string): Promise<void>;
  rawConnect(): Promise<net.Socket>;
}

/** Starts the stack before the file's tests and closes it after them. */
export function useRelayAbuseStack(): RelayAbuse {
  let started: Stack | undefined;
  before(async () => {
    started = await startRelayAbuseStack();
  });
  after(() => started?.close());
  const abuse: RelayAbuse = {
    get stack() {
      assert.ok(started, 'the abuse stack is started');
      return started;
    },
    globexWorks: (text) => globexWorks(abuse.stack, text),
    rawConnect: () => rawConnect(abuse.stack),
  };
  return abuse;
}
