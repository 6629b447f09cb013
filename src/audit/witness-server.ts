/**
 * Relay side of checkpoint witnessing: keeps every checkpoint a connector submits, per tenant, after
 * checking it is signed by that tenant's registered audit key, and serves them back to auditors.
 * It learns only tree sizes, head hashes and times — never entries.
 *
 * A checkpoint is refused (409) when it is inconsistent with what the witness already holds for the
 * tenant: the same tree size with a different head hash (history rewritten), or a smaller tree size
 * than one already witnessed (history truncated). Resubmitting a held checkpoint is a no-op (200).
 *
 * Routes, under `basePath` (default `/v1/audit`), as a web-standard handler
 * `(Request) => Promise<Response>` to mount on the relay:
 *
 *   POST {basePath}/checkpoints                          body: checkpoint JSON → 201 stored | 200 duplicate
 *                                                        | 400 malformed | 403 unknown key / bad signature
 *                                                        | 409 inconsistent | 413 too large
 *   GET  {basePath}/checkpoints?tenant=acme[&after=N][&limit=M]  → 200 { tenant, checkpoints: [...] }
 *
 * Keys are registered out of band with `registerKey` (e.g. when the connector enrolls, over its
 * authenticated channel). Reading is open by default (checkpoints reveal only hashes and counts);
 * `authorizeRead` restricts it.
 *
 * @example
 * const witness = createAuditWitness({ repository: store.audit });
 * await witness.registerKey('acme', connectorAuditPublicKeyPem);
 * http.createServer(getRequestListener(witness.handle)).listen(8443);
 */
import type { AuditRepository, WitnessKeyRecord } from '../store/store.js';
import { AUDIT_ERROR_CODES, AuditError } from './audit-error.js';
import { auditKeyId, auditPublicKeyFromPem } from './audit-key.js';
import { type AuditCheckpoint, parseCheckpoint, verifyCheckpointSignature } from './audit-signing.js';
import { canonicalJson } from './canonical-json.js';

export const DEFAULT_WITNESS_BASE_PATH = '/v1/audit';
/** A checkpoint is a few hundred bytes; anything much larger is refused unread. */
export const DEFAULT_WITNESS_MAX_BODY_BYTES = 4096;
/** Checkpoints dated further than this in the future are refused. */
export const DEFAULT_WITNESS_MAX_FUTURE_SKEW_MS = 5 * 60_000;
/** Checkpoints per GET page when no limit is given (and the most one page returns). */
export const DEFAULT_WITNESS_LIST_LIMIT = 1000;

export interface AuditWitnessOptions {
  /** Usually the relay's `store.audit`. */
  repository: Pick<
    AuditRepository,
    'registerWitnessKey' | 'listWitnessKeys' | 'addWitnessCheckpoint' | 'listWitnessCheckpoints'
  >;
  /** Default `DEFAULT_WITNESS_BASE_PATH` (`/v1/audit`). */
  basePath?: string;
  /** Default `DEFAULT_WITNESS_MAX_BODY_BYTES` (4 KiB). */
  maxBodyBytes?: number;
  /** Default `DEFAULT_WITNESS_MAX_FUTURE_SKEW_MS` (5 min). */
  maxFutureSkewMs?: number;
  /** Who may read a tenant's checkpoints. Default: anyone. */
  authorizeRead?: (request: Request, tenant: string) => boolean | Promise<boolean>;
  /** Clock (epoch ms). Default `Date.now`. */
  now?: () => number;
}

export type WitnessSubmitResult =
  | { status: 'stored' | 'duplicate' }
  | { status: 'refused'; httpStatus: 400 | 403 | 409; code: string; message: string };

export interface AuditWitness {
  /** Registers a tenant's audit public key (idempotent). Throws `AIRLOCK_AUDIT_KEY` for a non-Ed25519 key. */
  registerKey(tenant: string, publicKeyPem: string): Promise<WitnessKeyRecord>;
  /** Checks and stores a checkpoint (what POST does). */
  submit(checkpoint: unknown): Promise<WitnessSubmitResult>;
  /** A tenant's checkpoints, smallest first. */
  list(tenant: string, opts?: { afterTreeSize?: number; limit?: number }): Promise<AuditCheckpoint[]>;
  /** The HTTP surface; answers 404 outside `basePath`. */
  handle(request: Request): Promise<Response>;
}

/** Refusal codes (in the JSON body's `error.code`). */
export const WITNESS_REFUSAL_CODES = {
  malformed: 'AIRLOCK_AUDIT_WITNESS_MALFORMED',
  unknownKey: 'AIRLOCK_AUDIT_WITNESS_UNKNOWN_KEY',
  badSignature: 'AIRLOCK_AUDIT_WITNESS_BAD_SIGNATURE',
  inconsistent: 'AIRLOCK_AUDIT_WITNESS_INCONSISTENT',
  future: 'AIRLOCK_AUDIT_WITNESS_FUTURE',
  tooLarge: 'AIRLOCK_AUDIT_WITNESS_TOO_LARGE',
} as const;

/** See the module comment. */
export function createAuditWitness(opts: AuditWitnessOptions): AuditWitness {
  const repo = opts.repository;
  const now = opts.now ?? Date.now;
  const base = (opts.basePath ?? DEFAULT_WITNESS_BASE_PATH).replace(/\/+$/, '');
  const maxBody = opts.maxBodyBytes ?? DEFAULT_WITNESS_MAX_BODY_BYTES;
  const maxSkew = opts.maxFutureSkewMs ?? DEFAULT_WITNESS_MAX_FUTURE_SKEW_MS;

  const refuse = (httpStatus: 400 | 403 | 409, code: string, message: string): WitnessSubmitResult => ({
    status: 'refused',
    httpStatus,
    code,
    message,
  });

  async function registerKey(tenant: string, publicKeyPem: string): Promise<WitnessKeyRecord> {
    const key = auditPublicKeyFromPem(publicKeyPem);
    const record: WitnessKeyRecord = {
      tenant,
      keyId: auditKeyId(key),
      publicKeyPem: key.export({ type: 'spki', format: 'pem' }).toString(),
      registeredAt: now(),
    };
    await repo.registerWitnessKey(record);
    return record;
  }

  async function submit(input: unknown): Promise<WitnessSubmitResult> {
    const cp = parseCheckpoint(input);
    if (!cp)
      return refuse(400, WITNESS_REFUSAL_CODES.malformed, 'the body is not a well-formed audit checkpoint');
    if (cp.time > now() + maxSkew) {
      return refuse(400, WITNESS_REFUSAL_CODES.future, 'the checkpoint is dated in the future');
    }
    const keys = await repo.listWitnessKeys(cp.tenant);
    if (keys.length === 0) {
      return refuse(
        403,
        WITNESS_REFUSAL_CODES.unknownKey,
        `no audit key is registered for tenant ${cp.tenant}`,
      );
    }
    // Try the key the checkpoint names first, then the others (key rotation).
    const ordered = [...keys].sort((a, b) => Number(b.keyId === cp.keyId) - Number(a.keyId === cp.keyId));
    const signedBy = ordered.find((k) => {
      try {
        return verifyCheckpointSignature(cp, auditPublicKeyFromPem(k.publicKeyPem));
      } catch {
        return false;
      }
    });
    if (!signedBy) {
      return refuse(
        403,
        WITNESS_REFUSAL_CODES.badSignature,
        `the checkpoint is not signed by an audit key registered for tenant ${cp.tenant}`,
      );
    }
    const stored: AuditCheckpoint = { ...cp, keyId: signedBy.keyId };
    const result = await repo.addWitnessCheckpoint({
      tenant: cp.tenant,
      treeSize: cp.treeSize,
      headHash: cp.headHash,
      time: cp.time,
      checkpoint: canonicalJson(stored),
      receivedAt: now(),
    });
    if (result.status !== 'conflict') return result;
    const existing = result.existing;
    const message =
      existing.treeSize === cp.treeSize
        ? `a checkpoint of tree size ${cp.treeSize} with a different head hash was already witnessed`
        : `a larger checkpoint (tree size ${existing.treeSize}) was already witnessed`;
    return refuse(409, WITNESS_REFUSAL_CODES.inconsistent, message);
  }

  async function list(
    tenant: string,
    o: { afterTreeSize?: number; limit?: number } = {},
  ): Promise<AuditCheckpoint[]> {
    const limit = Math.min(
      DEFAULT_WITNESS_LIST_LIMIT,
      Math.max(1, Math.trunc(o.limit ?? DEFAULT_WITNESS_LIST_LIMIT)),
    );
    const rows = await repo.listWitnessCheckpoints(tenant, { afterTreeSize: o.afterTreeSize ?? 0, limit });
    const out: AuditCheckpoint[] = [];
    for (const row of rows) {
      try {
        out.push(JSON.parse(row.checkpoint) as AuditCheckpoint);
      } catch {
        // A corrupted row is served as-is (without signature): verifiers report it.
        out.push({
          tenant,
          treeSize: row.treeSize,
          headHash: row.headHash,
          time: row.time,
          keyId: '',
          signature: '',
        });
      }
    }
    return out;
  }

  async function handle(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname !== `${base}/checkpoints`)
      return json(404, { error: { code: 'NOT_FOUND', message: 'not found' } });
    try {
      if (request.method === 'POST') {
        const body = await readLimited(request, maxBody);
        if (body === undefined) {
          return json(413, {
            error: { code: WITNESS_REFUSAL_CODES.tooLarge, message: `body larger than ${maxBody} bytes` },
          });
        }
        let parsed: unknown;
        try {
          parsed = JSON.parse(body);
        } catch {
          return json(400, {
            error: { code: WITNESS_REFUSAL_CODES.malformed, message: 'the body is not JSON' },
          });
        }
        const result = await submit(parsed);
        if (result.status === 'refused') {
          return json(result.httpStatus, { error: { code: result.code, message: result.message } });
        }
        return json(result.status === 'stored' ? 201 : 200, { status: result.status });
      }
      if (request.method === 'GET') {
        const tenant = url.searchParams.get('tenant');
        if (!tenant)
          return json(400, {
            error: { code: 'BAD_REQUEST', message: 'the tenant query parameter is required' },
          });
        if (opts.authorizeRead && !(await opts.authorizeRead(request, tenant))) {
          return json(403, { error: { code: 'FORBIDDEN', message: 'not allowed to read this tenant' } });
        }
        const after = Number(url.searchParams.get('after') ?? 0);
        const limit = Number(url.searchParams.get('limit') ?? DEFAULT_WITNESS_LIST_LIMIT);
        const checkpoints = await list(tenant, {
          afterTreeSize: Number.isFinite(after) ? after : 0,
          limit: Number.isFinite(limit) ? limit : DEFAULT_WITNESS_LIST_LIMIT,
        });
        return json(200, { tenant, checkpoints });
      }
      return new Response(null, { status: 405, headers: { allow: 'GET, POST' } });
    } catch (err) {
      const code = err instanceof AuditError ? err.code : AUDIT_ERROR_CODES.unavailable;
      return json(503, { error: { code, message: 'the witness cannot serve this request right now' } });
    }
  }

  return { registerKey, submit, list, handle };
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
}

/** The body as text, or undefined when it exceeds `max` bytes. */
async function readLimited(request: Request, max: number): Promise<string | undefined> {
  const declared = Number(request.headers.get('content-length') ?? Number.NaN);
  if (Number.isFinite(declared) && declared > max) return undefined;
  if (!request.body) return '';
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > max) {
      await reader.cancel().catch(() => {});
      return undefined;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}
