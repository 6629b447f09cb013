/**
 * The connector's HTTP refusals as the agent sees them: 401 / 403 / 503 with a JSON-RPC-shaped body whose
 * `error.data.airlock` names the reason (`AIRLOCK_IDENTITY_FOREIGN_CERT`, `AIRLOCK_TOKEN_EXPIRED`, ...), and
 * for bearer tokens a `WWW-Authenticate` challenge. `recordRefusals` wraps a fetch so the last refusal can
 * be turned into a precise error after the MCP SDK has reported only "401".
 *
 * @example
 * const recorder = recordRefusals(tenantFetch);
 * // ... the SDK uses recorder.fetch ...
 * recorder.last; // { status: 401, reason: 'AIRLOCK_IDENTITY_FOREIGN_CERT', message: '...' }
 */
import type { FetchLike } from '@modelcontextprotocol/client';

/** Refusal statuses whose body is read for the reason code. */
const REFUSAL_STATUSES = new Set([401, 403, 503]);
/** A refusal body larger than this is not read (the connector's are ~200 bytes). */
export const DEFAULT_REFUSAL_BODY_MAX_BYTES = 16 * 1024;

export interface TenantRefusal {
  status: number;
  /** `error.data.airlock` of the body, when there is one. */
  reason?: string;
  /** `error.message` of the body, or the challenge's `error_description`. */
  message?: string;
  /** The `WWW-Authenticate` header, if any. */
  challenge?: string;
}

/** What to do about each reason code the connector sends. */
const HINTS: Record<string, string> = {
  AIRLOCK_IDENTITY_NO_CERT:
    'present an agent identity: --cert and --key from "airlock identity issue <name>" on the connector',
  AIRLOCK_IDENTITY_FOREIGN_CERT:
    "this certificate was issued by another tenant's CA: use an identity issued by this tenant's connector",
  AIRLOCK_IDENTITY_UNKNOWN:
    'the connector has no identity for this certificate (deleted, or from an older tenant CA): issue a new one there',
  AIRLOCK_IDENTITY_REVOKED:
    "this identity was revoked on the connector: ask the tenant's admin for a new one",
  AIRLOCK_IDENTITY_EXPIRED: 'this certificate has expired: issue a new identity on the connector',
  AIRLOCK_IDENTITY_UNVERIFIABLE:
    "the connector cannot check identities right now (its store): retry, or ask the tenant's admin",
  AIRLOCK_TOKEN_MISSING:
    'send an access token from the tenant IdP (Authorization: Bearer) or a client certificate',
  AIRLOCK_TOKEN_EXPIRED: 'the access token has expired: get a fresh one from the IdP',
  AIRLOCK_TOKEN_AUDIENCE:
    'the token was issued for another resource: request it with resource/audience = this tenant URL',
  AIRLOCK_TOKEN_ISSUER: 'the token comes from an issuer the connector does not trust (agents.oauth.issuer)',
  AIRLOCK_TOKEN_SCOPE: 'the token lacks a scope the connector requires: request it with that scope',
  AIRLOCK_END_USER_MISSING: 'this connector requires the end user token header (agents.endUser): send it',
  AIRLOCK_END_USER_INVALID: 'the end-user token was refused: get a fresh one from the IdP',
  AIRLOCK_SHUTTING_DOWN: 'the connector is restarting: retry in a moment',
};

/**
 * The hint for a connector reason code.
 *
 * @example
 * refusalHint('AIRLOCK_IDENTITY_REVOKED'); // 'this identity was revoked on the connector: ...'
 */
export function refusalHint(reason: string): string {
  const exact = HINTS[reason];
  if (exact) return exact;
  if (reason.startsWith('AIRLOCK_TOKEN_') || reason.startsWith('AIRLOCK_DPOP_')) {
    return 'the access token (or its DPoP proof) was refused: get a fresh token; the reason code says which check failed';
  }
  return `ask the tenant's admin, quoting the reason ${reason}`;
}

/** Parses a refusal response (its body is read from a clone; the original stays untouched). */
export async function readRefusal(
  res: Response,
  maxBytes = DEFAULT_REFUSAL_BODY_MAX_BYTES,
): Promise<TenantRefusal> {
  const refusal: TenantRefusal = { status: res.status };
  const challenge = res.headers.get('www-authenticate');
  if (challenge) {
    refusal.challenge = challenge;
    const description = /error_description="([^"]*)"/.exec(challenge)?.[1];
    if (description) refusal.message = description;
  }
  const length = Number(res.headers.get('content-length') ?? '0');
  if (!(res.headers.get('content-type') ?? '').includes('json') || length > maxBytes) return refusal;
  try {
    const text = await res.clone().text();
    if (text.length > maxBytes) return refusal;
    const body = JSON.parse(text) as { error?: { message?: unknown; data?: { airlock?: unknown } } };
    if (typeof body.error?.data?.airlock === 'string') refusal.reason = body.error.data.airlock;
    if (typeof body.error?.message === 'string') refusal.message = body.error.message;
  } catch {
    // Not the connector's JSON: the status alone will do.
  }
  return refusal;
}

/** A fetch that remembers the last refusal it saw. */
export interface RefusalRecorder {
  readonly fetch: FetchLike;
  readonly last: TenantRefusal | undefined;
}

/** Wraps `inner`; see the module comment. */
export function recordRefusals(inner: FetchLike): RefusalRecorder {
  let last: TenantRefusal | undefined;
  const fetch: FetchLike = async (input, init) => {
    const res = await inner(input, init);
    if (REFUSAL_STATUSES.has(res.status)) last = await readRefusal(res);
    return res;
  };
  return {
    fetch,
    get last() {
      return last;
    },
  };
}
