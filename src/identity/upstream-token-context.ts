/**
 * Carries per-request upstream headers (the token minted by `UpstreamTokenMinter`) from the gateway to
 * the HTTP upstream's transport without threading them through every call: the router runs the upstream
 * call inside `runWithUpstreamHeaders(headers, fn)`, and the upstream's `fetch` (wrapped once with
 * `fetchWithUpstreamHeaders`) adds them to the HTTP request it sends for that call. Built on
 * `AsyncLocalStorage`, so concurrent requests never see each other's headers. Requests the connector
 * makes on its own (initialize, catalog refreshes, the GET stream) carry none.
 *
 * @example
 * const upstream = new Upstream(config, { fetch: fetchWithUpstreamHeaders(createUndiciFetch()) });
 * const headers = await minter.mintUpstreamHeaders(ctx, upstream.name);
 * const result = await runWithUpstreamHeaders(headers, () => upstream.request('tools/call', params));
 */
import { AsyncLocalStorage } from 'node:async_hooks';

/** A WHATWG `fetch`-compatible function (what the MCP SDK transports accept). */
export type UpstreamFetch = (url: string | URL, init?: RequestInit) => Promise<Response>;

const current = new AsyncLocalStorage<Readonly<Record<string, string>>>();

/**
 * Runs `fn` with `headers` attached to every upstream HTTP request it causes.
 *
 * @example
 * await runWithUpstreamHeaders({ authorization: 'Bearer eyJ…' }, () => upstream.request('tools/call', p));
 */
export function runWithUpstreamHeaders<T>(headers: Readonly<Record<string, string>>, fn: () => T): T {
  return current.run(headers, fn);
}

/** The headers of the enclosing `runWithUpstreamHeaders`, if any. */
export function currentUpstreamHeaders(): Readonly<Record<string, string>> | undefined {
  return current.getStore();
}

/** Whether `headers` names no header at all. */
function isEmpty(headers: Readonly<Record<string, string>>): boolean {
  for (const _ in headers) return false;
  return true;
}

/**
 * Wraps `base` so requests made inside `runWithUpstreamHeaders` carry its headers (they replace
 * same-named static headers). The connector passes its pooled undici fetch
 * (src/net/undici-fetch.ts, `createUndiciFetch`); the default is the global `fetch`.
 *
 * @example
 * const pooled = createUndiciFetch();
 * new Upstream(config, { fetch: fetchWithUpstreamHeaders(pooled) });
 */
export function fetchWithUpstreamHeaders(base: UpstreamFetch = fetch): UpstreamFetch {
  return (url, init) => {
    const extra = current.getStore();
    if (!extra || isEmpty(extra)) return base(url, init);
    const headers = new Headers(init?.headers);
    for (const [name, value] of Object.entries(extra)) headers.set(name, value);
    return base(url, { ...init, headers });
  };
}
