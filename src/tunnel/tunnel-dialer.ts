/**
 * How a tunnel reaches the relay: a {@link TunnelDialer} opens the byte stream the tunnel's HTTP/2
 * runs over. The relay dialer speaks TLS with ALPN `airlock-tunnel/1` (straight, or through an HTTP
 * CONNECT proxy) or a WebSocket at `/v1/tunnel`; the relay is authenticated with the pinned relay
 * CA, the connector with its client certificate. Connection failures are classified (retryable or
 * not). Tests use the in-memory dialer of `memory-tunnel.ts`.
 *
 * @example
 * const dialer = relayDialer({ relayUrl: 'tls://relay.localhost:8443', relayCaPem, credential });
 * const duplex = await dialer.dial();
 */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { HttpsProxyAgent } from 'https-proxy-agent';
import { createWebSocketStream, WebSocket } from 'ws';
import { TunnelError } from '../errors/airlock-error.js';
import {
  decodeRejection,
  isPermanentTunnelCode,
  TUNNEL_ALPN,
  TUNNEL_WEBSOCKET_PATH,
  TunnelCodes,
} from './protocol.js';
import { openProxyTunnel, resolveProxy } from './proxy-connect.js';

/** Time to reach the relay and finish TLS (and the WebSocket upgrade). */
export const DEFAULT_TUNNEL_CONNECT_TIMEOUT_MS = 10_000;
/** Largest WebSocket message accepted from the relay. */
export const DEFAULT_TUNNEL_WEBSOCKET_MAX_PAYLOAD = 1024 * 1024;

/** How a tunnel's bytes travel to the relay (both tunnel ends say it the same way). */
export type TunnelTransportKind = 'tls' | 'websocket';

/** Opens the byte stream one tunnel runs over. */
export interface TunnelDialer {
  /** What the tunnel reports as its transport. */
  readonly transport: TunnelTransportKind;
  /** Resolves with a connected stream; rejects with a `TunnelError` whose `retryable` says if trying again helps. */
  dial(): Promise<Duplex>;
}

/** The connector's client certificate and key (PEM). */
export interface TunnelCredential {
  keyPem: string;
  certPem: string;
}

/** Where the relay is and how to reach it. */
export interface RelayDialOptions {
  /** `tls://relay-host:port` or `wss://relay-host:port`. */
  relayUrl: string;
  /** Dial this address instead of the relay host (SNI and certificate check stay the relay host). */
  connectTo?: { host: string; port: number };
  /** PEM of the relay CA to pin; omit to use the system roots (publicly trusted relay). */
  relayCaPem?: string;
  credential: TunnelCredential;
  /** Overrides the transport implied by the URL scheme. */
  transport?: TunnelTransportKind;
  /** Proxy URL, or `false` for none; default from `HTTPS_PROXY`/`https_proxy` and `NO_PROXY`. */
  proxy?: string | false;
  env?: NodeJS.ProcessEnv;
  /** Default {@link DEFAULT_TUNNEL_CONNECT_TIMEOUT_MS}. */
  connectTimeoutMs?: number;
  /** Default {@link DEFAULT_TUNNEL_WEBSOCKET_MAX_PAYLOAD}. */
  websocketMaxPayload?: number;
}

/**
 * The dialer to the relay named by `relayUrl` (TLS or WebSocket, directly or through a proxy).
 * Throws `AIRLOCK_TUNNEL_RELAY_URL` for a URL it cannot use.
 *
 * @example
 * const dialer = relayDialer({ relayUrl: 'wss://relay.example.com', credential, proxy: 'http://proxy:3128' });
 */
export function relayDialer(options: RelayDialOptions): TunnelDialer {
  const address = parseRelayUrl(options.relayUrl);
  const transport = options.transport ?? address.transport;
  return { transport, dial: () => connectTransport(options, address, transport) };
}

export interface RelayAddress {
  transport: TunnelTransportKind;
  host: string;
  port: number;
}

/**
 * Parses `tls://host:port`, `wss://host:port` (or `https://host:port`, treated as `wss`).
 *
 * @example
 * parseRelayUrl('wss://relay.example.com') // { transport: 'websocket', host: 'relay.example.com', port: 443 }
 */
export function parseRelayUrl(relayUrl: string): RelayAddress {
  let url: URL;
  try {
    url = new URL(relayUrl);
  } catch {
    throw new TunnelError(
      'AIRLOCK_TUNNEL_RELAY_URL',
      `relay URL "${relayUrl}" is not a URL (tls://host:port)`,
    );
  }
  const transport: TunnelTransportKind | undefined =
    url.protocol === 'tls:'
      ? 'tls'
      : url.protocol === 'wss:' || url.protocol === 'https:'
        ? 'websocket'
        : undefined;
  if (!transport || !url.hostname) {
    throw new TunnelError(
      'AIRLOCK_TUNNEL_RELAY_URL',
      `relay URL "${relayUrl}" must be tls://host:port or wss://host:port`,
    );
  }
  return {
    transport,
    host: url.hostname.replace(/^\[|\]$/g, '').toLowerCase(),
    port: Number(url.port || 443),
  };
}

const CERT_VERIFY_ERRORS = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
  'CERT_REJECTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

function classifyConnectError(err: unknown, what: string): TunnelError {
  if (err instanceof TunnelError) return err;
  const code = (err as { code?: string } | undefined)?.code ?? '';
  const message = (err as Error | undefined)?.message ?? String(err);
  if (CERT_VERIFY_ERRORS.has(code)) {
    return new TunnelError(
      TunnelCodes.RELAY_UNTRUSTED,
      `${what}: the relay certificate is not trusted (${code}); check the pinned relay CA and the relay URL`,
      { cause: err },
    );
  }
  return new TunnelError(TunnelCodes.CONNECT_FAILED, `${what}: ${message}`, { cause: err, retryable: true });
}

export function tunnelError(code: string, message: string, cause?: unknown): TunnelError {
  return new TunnelError(code, message, { cause, retryable: !isPermanentTunnelCode(code) });
}

/** Where and how one transport connects: dial address, relay name, TLS options, proxy and deadline. */
interface TransportDial {
  dial: { host: string; port: number };
  address: RelayAddress;
  tlsOptions: tls.ConnectionOptions;
  proxy: string | undefined;
  timeoutMs: number;
  /** `tunnel to relay:443 via proxy proxy:3128`, the start of every error message. */
  what: string;
}

/** Connects the raw duplex for the chosen transport. */
async function connectTransport(
  options: RelayDialOptions,
  address: RelayAddress,
  transport: TunnelTransportKind,
): Promise<Duplex> {
  const dial = options.connectTo ?? { host: address.host, port: address.port };
  const proxy = resolveProxy({ host: dial.host, port: dial.port, proxy: options.proxy, env: options.env });
  const how: TransportDial = {
    dial,
    address,
    tlsOptions: {
      servername: address.host,
      ca: options.relayCaPem,
      key: options.credential.keyPem,
      cert: options.credential.certPem,
      minVersion: 'TLSv1.2',
    },
    proxy,
    timeoutMs: options.connectTimeoutMs ?? DEFAULT_TUNNEL_CONNECT_TIMEOUT_MS,
    what: `tunnel to ${address.host}:${address.port}${proxy ? ` via proxy ${new URL(proxy).host}` : ''}`,
  };
  if (transport === 'tls') return connectTls(how);
  return connectWebSocket(how, options.websocketMaxPayload ?? DEFAULT_TUNNEL_WEBSOCKET_MAX_PAYLOAD);
}

/** TLS with ALPN `airlock-tunnel/1`, straight or through an HTTP CONNECT proxy. */
async function connectTls(how: TransportDial): Promise<Duplex> {
  const { dial, timeoutMs, what } = how;
  const raw: Socket | undefined = how.proxy
    ? await openProxyTunnel(how.proxy, dial, { timeoutMs }).catch((err: unknown) => {
        throw classifyConnectError(err, what);
      })
    : undefined;
  return new Promise<Duplex>((resolve, reject) => {
    const socket = tls.connect({
      ...how.tlsOptions,
      ...(raw ? { socket: raw } : { host: dial.host, port: dial.port }),
      ALPNProtocols: [TUNNEL_ALPN],
    });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new TunnelError(TunnelCodes.CONNECT_FAILED, `${what}: timed out after ${timeoutMs} ms`, {
          retryable: true,
        }),
      );
    }, timeoutMs);
    socket.once('error', (err) => {
      clearTimeout(timer);
      socket.destroy();
      reject(classifyConnectError(err, what));
    });
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      if (socket.alpnProtocol !== TUNNEL_ALPN) {
        socket.destroy();
        reject(tunnelError(TunnelCodes.PROTOCOL, `${what}: the relay did not accept ALPN ${TUNNEL_ALPN}`));
        return;
      }
      resolve(socket);
    });
  });
}

/** A WebSocket at `/v1/tunnel` (through the proxy with `https-proxy-agent`); a refused upgrade says why. */
function connectWebSocket(how: TransportDial, maxPayload: number): Promise<Duplex> {
  const { dial, address, what } = how;
  const hostInUrl = dial.host.includes(':') ? `[${dial.host}]` : dial.host;
  const ws = new WebSocket(`wss://${hostInUrl}:${dial.port}${TUNNEL_WEBSOCKET_PATH}`, {
    ...how.tlsOptions,
    headers: { host: `${address.host}:${address.port}` },
    agent: how.proxy ? new HttpsProxyAgent(how.proxy) : undefined,
    handshakeTimeout: how.timeoutMs,
    maxPayload,
    perMessageDeflate: false,
  });
  return new Promise<Duplex>((resolve, reject) => {
    let settled = false;
    const fail = (err: TunnelError): void => {
      if (settled) return;
      settled = true;
      reject(err);
    };
    ws.on('error', (err) => fail(classifyConnectError(err, what)));
    ws.once('unexpected-response', (_req, res) => {
      readUpgradeRefusal(res, what).then((err) => {
        fail(err);
        ws.terminate();
      });
    });
    ws.once('open', () => {
      if (settled) return;
      settled = true;
      resolve(createWebSocketStream(ws));
    });
  });
}

/** Why the relay answered the upgrade with HTTP instead: its rejection (bounded body), or the status. */
function readUpgradeRefusal(res: IncomingMessage, what: string): Promise<TunnelError> {
  return new Promise((resolve) => {
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      if (body.length < 4096) body += chunk;
    });
    res.on('end', () => {
      const rejection = decodeRejection(body);
      resolve(
        rejection
          ? tunnelError(rejection.code, `${what}: relay refused the tunnel: ${rejection.message}`)
          : new TunnelError(
              TunnelCodes.CONNECT_FAILED,
              `${what}: HTTP ${res.statusCode} on WebSocket upgrade`,
              {
                retryable: true,
              },
            ),
      );
    });
    res.on('error', () =>
      resolve(new TunnelError(TunnelCodes.CONNECT_FAILED, `${what}: upgrade failed`, { retryable: true })),
    );
  });
}
