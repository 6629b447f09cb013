/**
 * `Host` / `Origin` checks for the relay's HTTP surfaces (DNS-rebinding defence): a page on
 * `evil.example` whose name is re-pointed at the relay makes the browser send `Host: evil.example` and,
 * on writes, `Origin: https://evil.example`. Requests are served only when `Host` names an allowed host
 * (any port) and a present `Origin` does too.
 *
 * @example
 * const check = hostCheck({ hostnames: ['relay.example.com'] });
 * const refusal = check(req); // undefined, or a message for a 403
 */

import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';

/** `name`, `name:port`, `[v6]` or `[v6]:port`; nothing else (no userinfo, path or spaces). */
const HOST_HEADER = /^(\[[0-9a-f:.]+\]|[a-z0-9._-]+)(?::\d{1,5})?$/i;

/**
 * The host name of a `Host` header value, lowercase, without port and without IPv6 brackets;
 * undefined when the value is missing or not a plain `host[:port]`.
 *
 * @example
 * hostOfHeader('Relay.Example.com:443') // 'relay.example.com'
 * hostOfHeader('[::1]:9090') // '::1'
 */
export function hostOfHeader(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const match = HOST_HEADER.exec(value.trim());
  const host = match?.[1]?.toLowerCase();
  if (host === undefined) return undefined;
  return host.startsWith('[') ? host.slice(1, -1) : host.replace(/\.$/, '');
}

/** The host name of an `Origin` header value (`scheme://host[:port]`), lowercase; undefined when unparsable or `null`. */
export function hostOfOrigin(value: string): string | undefined {
  try {
    const url = new URL(value);
    if (url.username || url.password) return undefined;
    return url.hostname.toLowerCase().replace(/^\[|\]$/g, '');
  } catch {
    return undefined;
  }
}

/**
 * True for names that resolve to this machine without DNS: `localhost`, `*.localhost` (RFC 6761) and
 * loopback addresses (`127.0.0.0/8`, `::1`).
 */
export function isLoopbackName(host: string): boolean {
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1' || host === '0:0:0:0:0:0:0:1';
}

export interface HostCheckOptions {
  /** Accepted host names (any port, case-insensitive). */
  hostnames: readonly string[];
  /** Also accept loopback names (see {@link isLoopbackName}). Default false. */
  loopback?: boolean;
  /**
   * Also accept IP-literal `Host`s. A rebinding page always makes the browser send its own DNS name,
   * never an IP literal, so this is safe for surfaces reached by address (e.g. a metrics scraper).
   * Default false.
   */
  ipLiterals?: boolean;
}

/**
 * Builds a request check: returns undefined when `Host` (and `Origin`, when present) name an accepted
 * host, otherwise the refusal message.
 *
 * @example
 * const check = hostCheck({ hostnames: [], loopback: true, ipLiterals: true });
 * if (check(req)) res.writeHead(403).end();
 */
export function hostCheck(options: HostCheckOptions): (req: IncomingMessage) => string | undefined {
  const names = new Set(options.hostnames.map((h) => h.toLowerCase().replace(/^\[|\]$/g, '')));
  const allowed = (host: string | undefined): boolean =>
    host !== undefined &&
    (names.has(host) ||
      (options.loopback === true && isLoopbackName(host)) ||
      (options.ipLiterals === true && isIP(host) !== 0));
  return (req) => {
    const hostHeader = req.headers.host;
    if (!allowed(hostOfHeader(hostHeader))) return `Host '${hostHeader ?? ''}' is not served here`;
    const origin = req.headers.origin;
    if (origin !== undefined && !allowed(hostOfOrigin(origin))) return `Origin '${origin}' is not allowed`;
    return undefined;
  };
}
