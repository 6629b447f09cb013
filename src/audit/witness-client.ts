/**
 * Connector side of checkpoint witnessing. A `Witness` takes a signed checkpoint and keeps it outside
 * the connector; `HttpWitness` POSTs it to a witness URL (the relay's witness, see
 * `witness-server.ts`, or any other service speaking the same two routes):
 *
 *   POST {url}/checkpoints               body: the checkpoint JSON (it carries its own Ed25519 signature)
 *   GET  {url}/checkpoints?tenant=acme   → { tenant, checkpoints: [...] }
 *
 * @example
 * const relay = new HttpWitness({ url: 'https://relay.example.com/v1/audit' });
 * await relay.submit(checkpoint);
 * const witnessed = await fetchWitnessedCheckpoints({ url: 'https://relay.example.com/v1/audit', tenant: 'acme' });
 */
import { type Dispatcher, fetch } from 'undici';
import { AUDIT_ERROR_CODES, AuditError } from './audit-error.js';
import { type AuditCheckpoint, parseCheckpoint } from './audit-signing.js';

/** How long one witness request may take. */
export const DEFAULT_WITNESS_TIMEOUT_MS = 10_000;
/** Most checkpoints fetched per page by `fetchWitnessedCheckpoints`. */
export const DEFAULT_WITNESS_FETCH_PAGE = 1000;

/** Somewhere outside the connector that keeps checkpoints. */
export interface Witness {
  /** For logs, e.g. the URL. */
  readonly name: string;
  /**
   * Resolves when the witness stored (or already had) the checkpoint. Rejects with `AuditError`
   * `AIRLOCK_AUDIT_WITNESS_REFUSED` (permanent: do not resend) or another error (retry later).
   */
  submit(checkpoint: AuditCheckpoint, signal?: AbortSignal): Promise<void>;
}

export interface HttpWitnessOptions {
  /** Base URL, e.g. `https://relay.example.com/v1/audit`. */
  url: string;
  /** undici dispatcher for TLS trust, client certificates or a proxy. Default: undici's global one. */
  dispatcher?: Dispatcher;
  /** Extra request headers (e.g. authorization). */
  headers?: Record<string, string>;
  /** Default `DEFAULT_WITNESS_TIMEOUT_MS` (10 s). */
  timeoutMs?: number;
}

/** A witness reached over HTTP(S). */
export class HttpWitness implements Witness {
  readonly name: string;
  readonly #opts: HttpWitnessOptions;

  constructor(opts: HttpWitnessOptions) {
    this.#opts = opts;
    this.name = opts.url;
  }

  async submit(checkpoint: AuditCheckpoint, signal?: AbortSignal): Promise<void> {
    const timeout = AbortSignal.timeout(this.#opts.timeoutMs ?? DEFAULT_WITNESS_TIMEOUT_MS);
    let res: Awaited<ReturnType<typeof fetch>>;
    try {
      res = await fetch(`${trimSlash(this.#opts.url)}/checkpoints`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...this.#opts.headers },
        body: JSON.stringify(checkpoint),
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
        ...(this.#opts.dispatcher ? { dispatcher: this.#opts.dispatcher } : {}),
      });
    } catch (cause) {
      throw new AuditError(
        AUDIT_ERROR_CODES.witnessUnreachable,
        `audit witness ${this.name} unreachable: ${describe(cause)}`,
        { cause, retryable: true },
      );
    }
    const text = await res.text().catch(() => '');
    if (res.ok) return;
    if (res.status >= 500 || res.status === 429 || res.status === 408) {
      throw new AuditError(
        AUDIT_ERROR_CODES.witnessUnreachable,
        `audit witness ${this.name} answered ${res.status}`,
        { retryable: true },
      );
    }
    throw new AuditError(
      AUDIT_ERROR_CODES.witnessRefused,
      `audit witness ${this.name} refused checkpoint ${checkpoint.treeSize}: ${res.status} ${text.slice(0, 500)}`,
    );
  }
}

/**
 * Reads every checkpoint a witness holds for `tenant` (to verify with `--witness`). Entries that are
 * not well-formed checkpoints are returned as-is so verification reports them as bad signatures.
 *
 * @example
 * const witnessed = await fetchWitnessedCheckpoints({ url, tenant: 'acme' });
 * const report = await verifyAuditTrail({ entries, checkpoints, publicKey, witnessed });
 */
export async function fetchWitnessedCheckpoints(opts: {
  url: string;
  tenant: string;
  dispatcher?: Dispatcher;
  headers?: Record<string, string>;
  timeoutMs?: number;
}): Promise<AuditCheckpoint[]> {
  const out: AuditCheckpoint[] = [];
  let after = 0;
  for (;;) {
    const url = new URL(`${trimSlash(opts.url)}/checkpoints`);
    url.searchParams.set('tenant', opts.tenant);
    url.searchParams.set('after', String(after));
    url.searchParams.set('limit', String(DEFAULT_WITNESS_FETCH_PAGE));
    let body: unknown;
    try {
      const res = await fetch(url, {
        headers: { accept: 'application/json', ...opts.headers },
        signal: AbortSignal.timeout(opts.timeoutMs ?? DEFAULT_WITNESS_TIMEOUT_MS),
        ...(opts.dispatcher ? { dispatcher: opts.dispatcher } : {}),
      });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      body = await res.json();
    } catch (cause) {
      throw new AuditError(
        AUDIT_ERROR_CODES.witnessUnreachable,
        `cannot read checkpoints from audit witness ${opts.url}: ${describe(cause)}`,
        { cause, retryable: true },
      );
    }
    const list = (body as { checkpoints?: unknown }).checkpoints;
    if (!Array.isArray(list)) {
      throw new AuditError(
        AUDIT_ERROR_CODES.witnessRefused,
        `audit witness ${opts.url} sent no checkpoint list`,
      );
    }
    for (const item of list) out.push(parseCheckpoint(item) ?? (item as AuditCheckpoint));
    const last = out.at(-1);
    if (list.length < DEFAULT_WITNESS_FETCH_PAGE || !last || !(last.treeSize > after)) return out;
    after = last.treeSize;
  }
}

function trimSlash(url: string): string {
  return url.endsWith('/') ? url.slice(0, -1) : url;
}

function describe(cause: unknown): string {
  if (cause instanceof Error) {
    const inner = (cause as { cause?: unknown }).cause;
    return inner instanceof Error ? `${cause.message} (${inner.message})` : cause.message;
  }
  return String(cause);
}
