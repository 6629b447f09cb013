/**
 * Getting out through an HTTP proxy: which proxy to use for a target (`HTTPS_PROXY` / `https_proxy`,
 * `NO_PROXY` / `no_proxy`, or an explicit option), and a raw `CONNECT` tunnel through it for the
 * plain-TLS transport. (The WebSocket transport uses `https-proxy-agent`.)
 */
import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import { TunnelError } from '../errors/airlock-error.js';
import { TunnelCodes } from './protocol.js';

/** Time to get a `200` answer to CONNECT from the proxy. */
export const DEFAULT_PROXY_CONNECT_TIMEOUT_MS = 10_000;

/**
 * The proxy URL to use for `host:port`, or undefined for a direct connection.
 * `proxy: false` forces a direct connection; a string forces that proxy; otherwise the environment
 * decides (`HTTPS_PROXY`, then `https_proxy`; `NO_PROXY`/`no_proxy` entries like `.corp.example`,
 * `*.corp.example`, `10.0.0.1`, `relay.example:8443` or `*` bypass it).
 *
 * @example
 * resolveProxy({ host: 'relay.example.com', port: 443, env: { HTTPS_PROXY: 'http://proxy:3128' } })
 * // → 'http://proxy:3128'
 */
export function resolveProxy(options: {
  host: string;
  port: number;
  proxy?: string | false;
  env?: NodeJS.ProcessEnv;
}): string | undefined {
  if (options.proxy === false) return undefined;
  if (typeof options.proxy === 'string' && options.proxy !== '') return options.proxy;
  const env = options.env ?? process.env;
  const fromEnv = env.HTTPS_PROXY || env.https_proxy;
  if (!fromEnv) return undefined;
  const noProxy = env.NO_PROXY ?? env.no_proxy ?? '';
  return bypassesProxy(options.host, options.port, noProxy) ? undefined : fromEnv;
}

/** True when `NO_PROXY` says `host:port` is reached directly. */
export function bypassesProxy(host: string, port: number, noProxy: string): boolean {
  const target = host.toLowerCase().replace(/^\[|\]$/g, '');
  for (const raw of noProxy.split(/[\s,]+/)) {
    let entry = raw.trim().toLowerCase();
    if (entry === '') continue;
    if (entry === '*') return true;
    const portMatch = /^(.*):(\d+)$/.exec(entry);
    if (portMatch && !entry.endsWith(']') && entry.split(':').length === 2) {
      if (Number(portMatch[2]) !== port) continue;
      entry = portMatch[1]!;
    }
    entry = entry.replace(/^\[|\]$/g, '').replace(/^\*/, '');
    if (entry.startsWith('.')) {
      if (target.endsWith(entry) || target === entry.slice(1)) return true;
    } else if (target === entry || target.endsWith(`.${entry}`)) {
      return true;
    }
  }
  return false;
}

/**
 * Opens a TCP tunnel to `target` through an HTTP(S) proxy with `CONNECT` and returns the socket.
 *
 * @example
 * const raw = await openProxyTunnel('http://proxy:3128', { host: 'relay.example.com', port: 443 });
 * const socket = tls.connect({ socket: raw, servername: 'relay.example.com' });
 */
export function openProxyTunnel(
  proxyUrl: string,
  target: { host: string; port: number },
  options: { timeoutMs?: number } = {},
): Promise<Socket> {
  const proxy = new URL(proxyUrl);
  const authority = `${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}`;
  const headers: http.OutgoingHttpHeaders = { host: authority };
  if (proxy.username || proxy.password) {
    const credentials = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`;
    headers['proxy-authorization'] = `Basic ${Buffer.from(credentials).toString('base64')}`;
  }
  const request = (proxy.protocol === 'https:' ? https.request : http.request)({
    host: proxy.hostname.replace(/^\[|\]$/g, ''),
    port: proxy.port || (proxy.protocol === 'https:' ? 443 : 80),
    method: 'CONNECT',
    path: authority,
    headers,
    agent: false,
  });
  return new Promise((resolve, reject) => {
    const fail = (message: string, cause?: unknown): void => {
      clearTimeout(timer);
      request.destroy();
      reject(new TunnelError(TunnelCodes.CONNECT_FAILED, message, { cause, retryable: true }));
    };
    const timer = setTimeout(
      () =>
        fail(
          `proxy ${proxy.host} did not answer CONNECT within ${options.timeoutMs ?? DEFAULT_PROXY_CONNECT_TIMEOUT_MS} ms`,
        ),
      options.timeoutMs ?? DEFAULT_PROXY_CONNECT_TIMEOUT_MS,
    );
    request.once('connect', (response, socket, head) => {
      clearTimeout(timer);
      if (response.statusCode !== 200) {
        socket.destroy();
        fail(`proxy ${proxy.host} refused CONNECT ${authority}: HTTP ${response.statusCode}`);
        return;
      }
      if (head.length > 0) socket.unshift(head);
      resolve(socket);
    });
    request.once('error', (err) => fail(`proxy ${proxy.host} unreachable: ${err.message}`, err));
    request.end();
  });
}
