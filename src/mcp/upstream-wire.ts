/**
 * Wire details of the connection to an upstream: response ordering after progress notifications, the
 * 2026-07-28 request envelope (what the agent behind a request can answer, its log level) and the
 * retry fields a 2025-11-25 upstream must not receive, and which SDK errors mean "cannot connect".
 *
 * @example
 * const wire = modern ? withEnvelope(params, interaction) : withoutRetryFields(params);
 */
import {
  CLIENT_CAPABILITIES_META_KEY,
  Client,
  type Implementation,
  LOG_LEVEL_META_KEY,
  type RequestOptions,
  type SdkError,
  SdkErrorCode,
  type Transport,
} from '@modelcontextprotocol/client';
import { negotiationMode, type UpstreamConfig } from './upstream-config.js';
import { RELAYED_CLIENT_CAPABILITIES, type UpstreamInteraction } from './upstream-interaction.js';
import {
  INPUT_REQUIRED_METHODS,
  type ListKind,
  type UpstreamOptions,
  type UpstreamRequestOptions,
} from './upstream-types.js';

/** How the gateway introduces itself to upstreams (option `clientInfo`, or Airlock's own name). */
export function upstreamClientInfo(options: UpstreamOptions): Implementation {
  return options.clientInfo ?? { name: 'airlock-connector', version: '0.1.0' };
}

/**
 * The SDK client of one connection: the era asked for, the capabilities relayed for agents (2025-11-25
 * `initialize`), `input_required` left to the agent, list changes reported (never auto-refreshed).
 */
export function newUpstreamClient(
  config: UpstreamConfig,
  options: UpstreamOptions,
  serverRequests: boolean,
  onListChanged: (kind: ListKind) => void,
): Client {
  const changed = (kind: ListKind) => ({
    autoRefresh: false,
    debounceMs: 0,
    onChanged: () => onListChanged(kind),
  });
  return new Client(upstreamClientInfo(options), {
    versionNegotiation: { mode: negotiationMode(config.protocol) },
    // 2025-11-25 `initialize` declares what agents may answer; 2026-07-28 requests declare their own.
    capabilities: serverRequests ? RELAYED_CLIENT_CAPABILITIES : {},
    // `input_required` answers are relayed to the agent, never fulfilled here.
    inputRequired: { autoFulfill: false },
    listChanged: { tools: changed('tools'), prompts: changed('prompts'), resources: changed('resources') },
  });
}

/**
 * The SDK dispatches inbound notifications one microtask later than responses. When a request's last
 * progress notification and its response arrive in the same chunk, the response would remove the progress
 * handler first and the progress would be dropped ("unknown token"). Delivering responses on the next
 * macrotask keeps the order the upstream sent.
 */
export function deliverResponsesAfterNotifications(transport: Transport): void {
  const deliver = transport.onmessage;
  if (!deliver) return;
  transport.onmessage = (message, extra) => {
    if ('id' in message && !('method' in message)) setImmediate(() => deliver(message, extra));
    else deliver(message, extra);
  };
}

/** The SDK client's options for one forwarded request. */
export function sdkRequestOptions(
  method: string,
  modern: boolean,
  options: UpstreamRequestOptions,
  timeoutMs: number,
): RequestOptions {
  return {
    signal: options.signal,
    onprogress: options.onprogress,
    timeout: timeoutMs,
    resetTimeoutOnProgress: true,
    // 2026-07-28: an `input_required` answer is returned to the caller (relayed to the agent).
    ...(modern && INPUT_REQUIRED_METHODS.has(method) ? { allowInputRequired: true } : {}),
  };
}

const RETRY_FIELDS = ['inputResponses', 'requestState'] as const;

/**
 * 2026-07-28: the request envelope declares what the agent behind this request can answer
 * (`interaction.clientCapabilities`, none without an interaction: the gateway's own requests) and its
 * log level. Set explicitly because the client's own capabilities are the 2025-11-25 `initialize` set.
 */
export function withEnvelope(
  params: Record<string, unknown>,
  interaction: UpstreamInteraction | undefined,
): Record<string, unknown> {
  const meta: Record<string, unknown> = {
    ...(isRecord(params._meta) ? params._meta : {}),
    [CLIENT_CAPABILITIES_META_KEY]: interaction?.clientCapabilities ?? {},
  };
  if (interaction?.logLevel !== undefined) meta[LOG_LEVEL_META_KEY] = interaction.logLevel;
  return { ...params, _meta: meta };
}

/** 2025-11-25 has no multi-round-trip: the retry fields of a 2026-07-28 request are not sent. */
export function withoutRetryFields(params: Record<string, unknown>): Record<string, unknown> {
  if (!RETRY_FIELDS.some((k) => k in params)) return params;
  const out = { ...params };
  for (const k of RETRY_FIELDS) delete out[k];
  return out;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

export function isHttpConnectionFailure(err: SdkError): boolean {
  return err.code === SdkErrorCode.SendFailed || err.code === SdkErrorCode.ClientHttpFailedToOpenStream;
}

/**
 * Every item of a paginated list: follows `nextCursor` until it ends (missing, empty or seen before),
 * throwing `endless()` after `maxPages` pages.
 */
export async function collectPages(
  page: (cursor: string | undefined) => Promise<Record<string, unknown>>,
  key: string,
  maxPages: number,
  endless: () => Error,
): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  const seen = new Set<string>();
  let cursor: string | undefined;
  for (let n = 0; n < maxPages; n++) {
    const result = await page(cursor);
    const pageItems = result[key];
    if (Array.isArray(pageItems)) items.push(...(pageItems as Record<string, unknown>[]));
    const next = result.nextCursor;
    if (typeof next !== 'string' || next === '' || seen.has(next)) return items;
    seen.add(next);
    cursor = next;
  }
  throw endless();
}
