/**
 * How one request of an upstream goes out: a plain 2026-07-28 `tools/call` to an HTTP upstream is
 * posted directly (upstream-direct-call.ts); anything else, and a call the upstream redirects, goes
 * through the SDK client.
 *
 * @example
 * const result = await sendOnWire(client, 'tools/call', wire, options, route);
 */
import type { Client, Transport } from '@modelcontextprotocol/client';
import { requestUpstream } from './task-wire.js';
import type { UpstreamConfig } from './upstream-config.js';
import {
  type DirectCallOptions,
  DirectCallRedirected,
  type DirectCallTarget,
  directCallTarget,
  postDirectCall,
} from './upstream-direct-call.js';
import type { ForwardedMethod, UpstreamOptions, UpstreamRequestOptions } from './upstream-types.js';
import { sdkRequestOptions } from './upstream-wire.js';

/** Where and how one request of an upstream goes out (`sendOnWire`). */
export interface WireRoute {
  config: UpstreamConfig;
  options: UpstreamOptions;
  transport: Transport | undefined;
  timeoutMs: number;
  /** Direct calls are allowed (the upstream has not redirected one). */
  direct: boolean;
  /** The upstream redirected a direct call. */
  redirected: () => void;
}

/**
 * Sends one request: a plain 2026-07-28 `tools/call` to an HTTP upstream directly
 * (upstream-direct-call.ts), anything else, or a call the upstream redirects, through the SDK client.
 */
export function sendOnWire(
  client: Client,
  method: ForwardedMethod,
  wire: Record<string, unknown>,
  options: UpstreamRequestOptions,
  route: WireRoute,
): Promise<unknown> {
  const modern = client.getProtocolEra() === 'modern';
  const viaSdk = () =>
    requestUpstream(
      client,
      { method, params: wire },
      sdkRequestOptions(method, modern, options, route.timeoutMs),
    );
  const direct =
    modern && method === 'tools/call' && route.direct
      ? directCallTarget(route.config, route.options, client, route.transport, wire)
      : undefined;
  if (!direct) return viaSdk();
  return postDirectOrViaSdk(
    direct,
    wire,
    { ...options, timeoutMs: route.timeoutMs },
    viaSdk,
    route.redirected,
  );
}

/**
 * Posts the call directly; when the upstream answers with a redirect, calls `redirected` (its calls
 * should take the SDK client's path from now on) and sends this one through `viaSdk`.
 */
function postDirectOrViaSdk(
  target: DirectCallTarget,
  params: Record<string, unknown>,
  options: DirectCallOptions,
  viaSdk: () => Promise<unknown>,
  redirected: () => void,
): Promise<unknown> {
  return postDirectCall(target, params, options).catch((err: unknown) => {
    if (!(err instanceof DirectCallRedirected)) throw err;
    redirected();
    return viaSdk();
  });
}
