/**
 * The transport under a tunnel: TLS with ALPN `airlock-tunnel/1` (straight, or through an HTTP CONNECT
 * proxy) or a WebSocket at `/v1/tunnel`; the relay is authenticated with the pinned relay CA, the
 * connector with its client certificate. Connection failures are classified (retryable or not).
 *
 * @example
 * const duplex = await connectTransport(options, parseRelayUrl('tls://relay.localhost:8443'), 'tls');
 */
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
} from '../tunnel/protocol.js';
import { openProxyTunnel, resolveProxy } from './proxy-connect.js';
import type { TunnelClientOptions, TunnelTransportKind } from './tunnel-client.js';

/** Time to reach the relay and finish TLS (and the WebSocket upgrade). */
export const DEFAULT_TUNNEL_CONNECT_TIMEOUT_MS = 10_000;
/** Largest WebSocket message accepted from the relay. */
export const DEFAULT_TUNNEL_WEBSOCKET_MAX_PAYLOAD = 1024 * 1024;

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

/** Connects the raw duplex for the chosen transport. */
export async function connectTransport(
  options: TunnelClientOptions,
  address: RelayAddress,
  transport: TunnelTransportKind,
): Promise<Duplex> {
  const dial = options.connectTo ?? { host: address.host, port: address.port };
  const timeoutMs = options.connectTimeoutMs ?? DEFAULT_TUNNEL_CONNECT_TIMEOUT_MS;
  const proxy = resolveProxy({ host: dial.host, port: dial.port, proxy: options.proxy, env: options.env });
  const what = `tunnel to ${address.host}:${address.port}${proxy ? ` via proxy ${new URL(proxy).host}` : ''}`;
  const tlsOptions = {
    servername: address.host,
    ca: options.relayCaPem,
    key: options.credential.keyPem,
    cert: options.credential.certPem,
    minVersion: 'TLSv1.2' as const,
  };
  if (transport === 'tls') {
    const raw: Socket | undefined = proxy
      ? await openProxyTunnel(proxy, dial, { timeoutMs }).catch((err: unknown) => {
          throw classifyConnectError(err, what);
        })
      : undefined;
    return new Promise<Duplex>((resolve, reject) => {
      const socket = tls.connect({
        ...tlsOptions,
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
  const hostInUrl = dial.host.includes(':') ? `[${dial.host}]` : dial.host;
  const ws = new WebSocket(`wss://${hostInUrl}:${dial.port}${TUNNEL_WEBSOCKET_PATH}`, {
    ...tlsOptions,
    headers: { host: `${address.host}:${address.port}` },
    agent: proxy ? new HttpsProxyAgent(proxy) : undefined,
    handshakeTimeout: timeoutMs,
    maxPayload: options.websocketMaxPayload ?? DEFAULT_TUNNEL_WEBSOCKET_MAX_PAYLOAD,
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
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        if (body.length < 4096) body += chunk;
      });
      res.on('end', () => {
        const rejection = decodeRejection(body);
        fail(
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
        ws.terminate();
      });
      res.on('error', () =>
        fail(new TunnelError(TunnelCodes.CONNECT_FAILED, `${what}: upgrade failed`, { retryable: true })),
      );
    });
    ws.once('open', () => {
      if (settled) return;
      settled = true;
      const duplex = createWebSocketStream(ws);
      resolve(duplex);
    });
  });
}
