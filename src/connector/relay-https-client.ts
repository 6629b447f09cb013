/**
 * HTTPS requests from the connector to its relay host (the audit witness), dialled exactly like the
 * tunnel: the relay CA pinned, the connector's client certificate presented, the `relay.connect`
 * override honoured (SNI and certificate check stay the relay host) and `HTTPS_PROXY` / `NO_PROXY`
 * respected (an HTTP CONNECT tunnel, then TLS inside it).
 *
 * @example
 * const relay = relayHttpsClient({ relayUrl: 'tls://relay.example.com:443', relayCaPem, credential });
 * const res = await fetch(`${relay.baseUrl}/v1/audit/checkpoints?tenant=acme`, { dispatcher: relay.dispatcher });
 * await relay.close();
 */
import type { Socket } from 'node:net';
import tls from 'node:tls';
import { Agent, type Dispatcher } from 'undici';
import type { CertifiedKey } from '../identity/pki.js';
import { openProxyTunnel, resolveProxy } from '../tunnel/proxy-connect.js';
import { parseRelayUrl } from '../tunnel/tunnel-client.js';

/** Time to reach the relay host and finish TLS. */
export const DEFAULT_RELAY_HTTPS_CONNECT_TIMEOUT_MS = 10_000;

export interface RelayHttpsClientOptions {
  /** `tls://host:port` or `wss://host:port` (the relay URL of the connector config). */
  relayUrl: string;
  /** Dial this address instead of the relay host. */
  connectTo?: { host: string; port: number };
  /** PEM of the relay CA to pin; omit for a publicly trusted relay. */
  relayCaPem?: string;
  /** The connector's enrollment credential (client certificate). */
  credential: CertifiedKey;
  /** Proxy URL, or `false` for none; default from the environment. */
  proxy?: string | false;
  env?: NodeJS.ProcessEnv;
  /** Default `DEFAULT_RELAY_HTTPS_CONNECT_TIMEOUT_MS` (10 s). */
  connectTimeoutMs?: number;
}

export interface RelayHttpsClient {
  /** `https://<relay host>:<port>`: prefix of every URL fetched with `dispatcher`. */
  readonly baseUrl: string;
  readonly dispatcher: Dispatcher;
  close(): Promise<void>;
}

/** See the module comment. */
export function relayHttpsClient(opts: RelayHttpsClientOptions): RelayHttpsClient {
  const address = parseRelayUrl(opts.relayUrl);
  const dial = opts.connectTo ?? { host: address.host, port: address.port };
  const timeoutMs = opts.connectTimeoutMs ?? DEFAULT_RELAY_HTTPS_CONNECT_TIMEOUT_MS;
  const connect = async (): Promise<tls.TLSSocket> => {
    const proxy = resolveProxy({ host: dial.host, port: dial.port, proxy: opts.proxy, env: opts.env });
    const raw: Socket | undefined = proxy ? await openProxyTunnel(proxy, dial, { timeoutMs }) : undefined;
    return new Promise((resolve, reject) => {
      const socket = tls.connect({
        ...(raw ? { socket: raw } : { host: dial.host, port: dial.port }),
        servername: address.host,
        ...(opts.relayCaPem ? { ca: opts.relayCaPem } : {}),
        key: opts.credential.keyPem,
        cert: opts.credential.certPem,
        ALPNProtocols: ['http/1.1'],
        minVersion: 'TLSv1.2',
      });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`relay ${address.host}:${address.port}: TLS not up after ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('secureConnect', () => {
        clearTimeout(timer);
        resolve(socket);
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        socket.destroy();
        reject(err);
      });
    });
  };
  const agent = new Agent({
    connect: (_options, callback) => {
      connect().then(
        (socket) => callback(null, socket),
        (err: Error) => callback(err, null),
      );
    },
  });
  const host = address.host.includes(':') ? `[${address.host}]` : address.host;
  return {
    baseUrl: `https://${host}:${address.port}`,
    dispatcher: agent,
    close: () => agent.destroy(),
  };
}
