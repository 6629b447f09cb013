/**
 * Turns whatever went wrong on the way to a tenant into one stable code and a hint that says what to do:
 * DNS, TCP, TLS (pinned CA, hostname, the relay's `unrecognized_name` alert) and the connector's own
 * refusals (HTTP 401/403/503 with the reason code in `error.data.airlock`).
 *
 * Codes: `AIRLOCK_AGENT_DNS_FAILED`, `AIRLOCK_AGENT_CONNECTION_REFUSED`, `AIRLOCK_AGENT_CONNECT_TIMEOUT`,
 * `AIRLOCK_AGENT_CONNECTION_RESET`, `AIRLOCK_AGENT_TENANT_UNAVAILABLE` (unknown tenant or no connector
 * online), `AIRLOCK_AGENT_CA_MISMATCH`, `AIRLOCK_AGENT_HOSTNAME_MISMATCH`, `AIRLOCK_AGENT_SERVER_CERT_INVALID`,
 * `AIRLOCK_AGENT_TLS_FAILED`, `AIRLOCK_AGENT_REFUSED` (`reason` = the connector's code),
 * `AIRLOCK_AGENT_TENANT_BUSY` (503), `AIRLOCK_AGENT_HTTP_ERROR`, `AIRLOCK_AGENT_UNREACHABLE`.
 *
 * @example
 * try { await connectToTenant(conn) } catch (err) {
 *   if (err instanceof TenantFailureError) console.error(`${err.code}: ${err.message}\n  hint: ${err.hint}`);
 * }
 */
import type { TenantConnection } from './tenant-connection.js';
import { TenantConnectionError } from './tenant-connection-error.js';
import { refusalHint, type TenantRefusal } from './tenant-refusal.js';

/** A failure to reach or use a tenant, with a stable `code`, a `hint` and, for refusals, the connector's `reason`. */
export class TenantFailureError extends TenantConnectionError {
  /** What to do about it, in one sentence. */
  readonly hint: string;
  /** The connector's `AIRLOCK_*` reason code when it refused the request. */
  readonly reason: string | undefined;
  /** HTTP status of a refusal. */
  readonly status: number | undefined;

  constructor(
    code: string,
    message: string,
    hint: string,
    extra: { cause?: unknown; reason?: string; status?: number; retryable?: boolean } = {},
  ) {
    super(code, message, { cause: extra.cause, retryable: extra.retryable ?? false });
    this.hint = hint;
    this.reason = extra.reason;
    this.status = extra.status;
  }
}

/** `code` and `message` of every error along the cause chain (and inside AggregateErrors). */
function errorChain(err: unknown): Array<{ code: string; message: string }> {
  const out: Array<{ code: string; message: string }> = [];
  const queue: unknown[] = [err];
  while (queue.length > 0 && out.length < 16) {
    const e = queue.shift();
    if (e === null || typeof e !== 'object') continue;
    const { code, message, cause, errors } = e as {
      code?: unknown;
      message?: unknown;
      cause?: unknown;
      errors?: unknown;
    };
    out.push({
      code: typeof code === 'string' ? code : '',
      message: typeof message === 'string' ? message : '',
    });
    if (cause !== undefined) queue.push(cause);
    if (Array.isArray(errors)) queue.push(...errors);
  }
  return out;
}

const CA_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_SIGNATURE_FAILURE',
]);
const SERVER_CERT_CODES = new Set([
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REVOKED',
  'INVALID_PURPOSE',
]);

interface Target {
  host: string;
  port: number;
  hostname: string;
  dialed: string;
}

function target(conn: TenantConnection): Target {
  let hostname = conn.url;
  let port = 443;
  try {
    const url = new URL(conn.url);
    hostname = url.hostname;
    if (url.port !== '') port = Number(url.port);
  } catch {
    // An invalid URL is refused earlier, with its own code.
  }
  const host = conn.connectTo?.host ?? hostname;
  const dialPort = conn.connectTo?.port ?? port;
  return { host, port: dialPort, hostname, dialed: `${host}:${dialPort}` };
}

type Classified = [code: string, message: string, hint: string, retryable?: boolean];

function classifyNetwork(codes: Set<string>, text: string, t: Target): Classified | undefined {
  if (codes.has('ENOTFOUND') || codes.has('EAI_AGAIN') || codes.has('EAI_NONAME')) {
    return [
      'AIRLOCK_AGENT_DNS_FAILED',
      `Cannot resolve ${t.host}`,
      `check the host in ${t.host === t.hostname ? 'the tenant URL' : '--connect'} and this machine's DNS; to dial the relay by address, pass --connect <relay-address>:443`,
      codes.has('EAI_AGAIN'),
    ];
  }
  if (codes.has('ECONNREFUSED')) {
    return [
      'AIRLOCK_AGENT_CONNECTION_REFUSED',
      `Connection refused by ${t.dialed}`,
      `nothing listens there: check the relay's address and port, and that the relay is running`,
      true,
    ];
  }
  if (
    codes.has('UND_ERR_CONNECT_TIMEOUT') ||
    codes.has('ETIMEDOUT') ||
    codes.has('EHOSTUNREACH') ||
    codes.has('ENETUNREACH')
  ) {
    return [
      'AIRLOCK_AGENT_CONNECT_TIMEOUT',
      `No answer from ${t.dialed}`,
      'check the network path (firewall, proxy, routing) between this machine and the relay',
      true,
    ];
  }
  if (codes.has('ERR_SSL_TLSV1_UNRECOGNIZED_NAME') || /unrecognized.name|alert number 112/i.test(text)) {
    return [
      'AIRLOCK_AGENT_TENANT_UNAVAILABLE',
      `The relay at ${t.dialed} has no tenant "${t.hostname}" with a connector online (TLS alert unrecognized_name)`,
      `unknown tenant or no connector online: check the tenant name in the URL, then that the tenant's connector runs and its tunnels are up ("airlock status" on the connector host)`,
      true,
    ];
  }
  return undefined;
}

function classifyTls(codes: Set<string>, text: string, t: Target): Classified | undefined {
  if ([...codes].some((c) => CA_CODES.has(c))) {
    return [
      'AIRLOCK_AGENT_CA_MISMATCH',
      `The certificate of ${t.hostname} does not chain to the pinned CA`,
      `pin the tenant CA of this tenant's connector (--ca <connector dataDir>/tenant/ca.pem, printed by "airlock connector run"), not the relay CA or another tenant's`,
    ];
  }
  if (codes.has('ERR_TLS_CERT_ALTNAME_INVALID')) {
    return [
      'AIRLOCK_AGENT_HOSTNAME_MISMATCH',
      `The tenant certificate does not name ${t.hostname}`,
      'the URL host must be the tenant hostname <tenant>.<relay domain> the connector enrolled for',
    ];
  }
  const serverCert = [...codes].find((c) => SERVER_CERT_CODES.has(c));
  if (serverCert) {
    return [
      'AIRLOCK_AGENT_SERVER_CERT_INVALID',
      `The tenant certificate of ${t.hostname} is not valid now (${serverCert})`,
      "check this machine's clock; if it is right, the connector's tenant certificate needs renewing",
    ];
  }
  if (
    codes.has('ECONNRESET') ||
    codes.has('UND_ERR_SOCKET') ||
    codes.has('EPIPE') ||
    /socket hang up|other side closed/i.test(text)
  ) {
    return [
      'AIRLOCK_AGENT_CONNECTION_RESET',
      `The connection to ${t.dialed} was closed before an answer`,
      'the relay or the connector dropped it: retry; if it persists run "airlock doctor agent" with the same flags',
      true,
    ];
  }
  if ([...codes].some((c) => c.startsWith('ERR_SSL_') || c.startsWith('ERR_TLS_'))) {
    return [
      'AIRLOCK_AGENT_TLS_FAILED',
      `TLS with ${t.hostname} failed`,
      'check that the relay and connector are recent (TLS 1.3) and that no TLS-intercepting proxy sits in between',
    ];
  }
  return undefined;
}

function fromRefusal(refusal: TenantRefusal, cause: unknown): TenantFailureError {
  const reason = refusal.reason ?? `HTTP_${refusal.status}`;
  const detail = refusal.message ? `: ${refusal.message}` : '';
  if (refusal.status === 503) {
    return new TenantFailureError(
      'AIRLOCK_AGENT_TENANT_BUSY',
      `The connector cannot serve the request now (${reason})${detail}`,
      refusalHint(reason),
      { cause, reason, status: 503, retryable: true },
    );
  }
  return new TenantFailureError(
    'AIRLOCK_AGENT_REFUSED',
    `The connector refused this agent (HTTP ${refusal.status}, ${reason})${detail}`,
    refusalHint(reason),
    { cause, reason, status: refusal.status },
  );
}

/**
 * Classifies `err` (with the last refusal seen on the wire, if any) into a {@link TenantFailureError}.
 * An error that already is one, or a `TenantConnectionError` about the caller's own input, is returned as is.
 *
 * @example
 * throw tenantFailure(err, conn, transport.lastRefusal);
 */
export function tenantFailure(err: unknown, conn: TenantConnection, refusal?: TenantRefusal): Error {
  if (err instanceof TenantFailureError) return err;
  if (err instanceof TenantConnectionError) return err;
  if (refusal) return fromRefusal(refusal, err);
  const chain = errorChain(err);
  const codes = new Set(chain.map((c) => c.code).filter((c) => c !== ''));
  const text = chain.map((c) => c.message).join(' | ');
  const t = target(conn);
  const found = classifyNetwork(codes, text, t) ?? classifyTls(codes, text, t);
  if (found) {
    const [code, message, hint, retryable] = found;
    return new TenantFailureError(code, message, hint, { cause: err, retryable: retryable ?? false });
  }
  const status = /\b(?:HTTP|status)\D{0,3}(\d{3})\b/i.exec(text)?.[1];
  if (status) {
    return new TenantFailureError(
      'AIRLOCK_AGENT_HTTP_ERROR',
      `The tenant endpoint answered HTTP ${status}: ${chain[0]?.message ?? ''}`,
      'check the URL path (the MCP endpoint is /mcp)',
      { cause: err, status: Number(status) },
    );
  }
  return new TenantFailureError(
    'AIRLOCK_AGENT_UNREACHABLE',
    `Cannot reach ${t.hostname} via ${t.dialed}: ${chain
      .map((c) => c.message)
      .filter(Boolean)
      .join(': ')}`,
    'run "airlock doctor agent" with the same flags to see which step fails',
    { cause: err },
  );
}
