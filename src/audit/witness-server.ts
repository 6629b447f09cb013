/**
 * A C2SP tlog-witness (c2sp.org/tlog-witness) for audit logs: the relay runs one for its tenants,
 * and a customer can run its own (`createAuditWitness` + any HTTP server) and list it in
 * `audit.witnesses`. It learns tree sizes and root hashes, never entries.
 *
 *   POST {basePath}/add-checkpoint   `old <size>\n` + consistency proof lines + `\n` + checkpoint note
 *        → 200 tlog-cosignature/v1 line(s) | 400 malformed, old > size | 403 no signature by a
 *          trusted key | 404 unknown origin | 409 `<latest size>\n` (text/x.tlog.size) when old is
 *          not its latest cosigned size, or same size with another root | 422 bad consistency proof
 *   GET  {basePath}/checkpoint?origin=<origin>   → 200 the latest cosigned checkpoint (note with the
 *          log's signature and the cosignature) | 404 none
 *
 * It accepts a checkpoint only when it is signed by a key `trustedKeys` returns for the origin (the
 * relay: audit keys the customer pinned, see src/relay/audit-key-pinning.ts) and is consistent
 * with the last checkpoint it cosigned. Check and store are serialized per origin in this process;
 * several witness processes on one database need the repository's own serialization (PostgreSQL:
 * an advisory lock in `addWitnessCheckpoint`) and may answer 409 to one of two racing submissions.
 *
 * @example
 * const witness = createAuditWitness({ repository: store.audit, signer, trustedKeys: async (origin) => [logKey] });
 * http.createServer(async (req, res) => { ... witness.handle(new Request(...)) ... });
 */
import type { KeyObject } from 'node:crypto';
import { readBoundedText } from '../net/bounded-body.js';
import type { AuditRepository, WitnessCheckpointRow } from '../store/store.js';
import { AUDIT_ERROR_CODES, AuditError } from './audit-error.js';
import { verifyConsistency } from './merkle-tree.js';
import {
  type CheckpointBody,
  cosign,
  formatSignatureLine,
  formatSignedNote,
  type NoteSigner,
  parseCheckpointBody,
  parseSignedNote,
  type SignedNote,
  verifyNote,
} from './signed-note.js';

export const DEFAULT_WITNESS_BASE_PATH = '/v1/audit';
/** A checkpoint with a proof is well under 4 KiB; anything larger is refused unread. */
export const DEFAULT_WITNESS_MAX_BODY_BYTES = 8192;
/** Most consistency proof lines (tlog-witness). */
export const MAX_PROOF_LINES = 63;
/** The key name of the relay's witness when none is given. */
export const DEFAULT_WITNESS_NAME = 'airlock.relay/witness';

export type WitnessRepository = Pick<AuditRepository, 'addWitnessCheckpoint' | 'listWitnessCheckpoints'> & {
  latestWitnessCheckpoint?: (tenant: string) => Promise<WitnessCheckpointRow | undefined>;
};

export interface AuditWitnessOptions {
  /** Usually the relay's `store.audit`. The "tenant" of a row is the checkpoint origin. */
  repository: WitnessRepository;
  /** The witness's cosigning key and name. */
  signer: NoteSigner;
  /** Log keys trusted for an origin (empty: unknown origin → 404). */
  trustedKeys: (origin: string) => Promise<KeyObject[]>;
  /** Default `DEFAULT_WITNESS_BASE_PATH` (`/v1/audit`). */
  basePath?: string;
  /** Default `DEFAULT_WITNESS_MAX_BODY_BYTES` (8 KiB). */
  maxBodyBytes?: number;
  /** Clock (epoch ms). Default `Date.now`. */
  now?: () => number;
}

export type AddCheckpointResult =
  | { status: 200; cosignatures: string }
  | { status: 400 | 403 | 404 | 409 | 422; body: string; contentType?: string };

export interface AuditWitness {
  /** What POST add-checkpoint does, on the request body. */
  addCheckpoint(body: string): Promise<AddCheckpointResult>;
  /** The latest cosigned checkpoint note for an origin. */
  latest(origin: string): Promise<string | undefined>;
  /** The HTTP surface; answers 404 outside `basePath`. */
  handle(request: Request): Promise<Response>;
}

interface ParsedRequest {
  old: number;
  proof: Buffer[];
  note: SignedNote;
  body: CheckpointBody;
}

/** Parses an add-checkpoint body; a string says what is wrong. */
export function parseAddCheckpoint(text: string): ParsedRequest | string {
  const m = /^old (0|[1-9][0-9]{0,15})\n/.exec(text);
  if (!m) return 'the body must start with "old <size>"';
  const old = Number(m[1]);
  let rest = text.slice(m[0].length);
  const proof: Buffer[] = [];
  for (;;) {
    const nl = rest.indexOf('\n');
    if (nl < 0) return 'no empty line before the checkpoint';
    const line = rest.slice(0, nl);
    rest = rest.slice(nl + 1);
    if (line === '') break;
    const hash = Buffer.from(line, 'base64');
    if (hash.length !== 32 || hash.toString('base64') !== line) return 'a proof line is not a base64 hash';
    proof.push(hash);
    if (proof.length > MAX_PROOF_LINES) return `more than ${MAX_PROOF_LINES} proof lines`;
  }
  const note = parseSignedNote(rest);
  const body = note && parseCheckpointBody(note.text);
  if (!note || !body) return 'the checkpoint is not a signed note';
  return { old, proof, note, body };
}

/** Runs `fn` after every earlier call for the same key finished (check-then-store is atomic per origin). */
function keyedMutex(): <T>(key: string, fn: () => Promise<T>) => Promise<T> {
  const locks = new Map<string, Promise<unknown>>();
  return (key, fn) => {
    const run = (locks.get(key) ?? Promise.resolve()).then(fn, fn);
    const tail = run.catch(() => undefined);
    locks.set(key, tail);
    void tail.then(() => {
      if (locks.get(key) === tail) locks.delete(key);
    });
    return run;
  };
}

/** The checks after the signature: old size, same-size root, consistency proof; then cosign and store. */
async function accept(
  repo: WitnessRepository,
  signer: NoteSigner,
  time: number,
  req: ParsedRequest,
): Promise<AddCheckpointResult> {
  const { origin, size, rootHash } = req.body;
  const latest = await latestRow(repo, origin);
  const latestSize = latest?.treeSize ?? 0;
  const conflict = { status: 409 as const, body: `${latestSize}\n`, contentType: 'text/x.tlog.size' };
  if (req.old !== latestSize) return conflict;
  const oldRoot = Buffer.from(latest?.headHash ?? '', 'hex');
  if (req.old === size) {
    if (size > 0 && !oldRoot.equals(rootHash)) return conflict;
  } else if (
    !verifyConsistency({ oldSize: req.old, newSize: size, proof: req.proof, oldRoot, newRoot: rootHash })
  ) {
    return { status: 422, body: 'the consistency proof does not verify\n' };
  }
  const cosignature = cosign(req.note.text, signer, Math.floor(time / 1000));
  const logSignatures = req.note.signatures.filter((s) => s.name === origin);
  const stored = formatSignedNote({ text: req.note.text, signatures: [...logSignatures, cosignature] });
  if (size > latestSize) {
    const result = await repo.addWitnessCheckpoint({
      tenant: origin,
      treeSize: size,
      headHash: rootHash.toString('hex'),
      time,
      checkpoint: stored,
      receivedAt: time,
    });
    if (result.status === 'conflict') return { ...conflict, body: `${result.existing.treeSize}\n` };
  }
  return { status: 200, cosignatures: formatSignatureLine(cosignature) };
}

/** See the module comment. */
export function createAuditWitness(opts: AuditWitnessOptions): AuditWitness {
  const repo = opts.repository;
  const now = opts.now ?? Date.now;
  const base = (opts.basePath ?? DEFAULT_WITNESS_BASE_PATH).replace(/\/+$/, '');
  const maxBody = opts.maxBodyBytes ?? DEFAULT_WITNESS_MAX_BODY_BYTES;
  const serialized = keyedMutex();

  async function addCheckpoint(text: string): Promise<AddCheckpointResult> {
    const req = parseAddCheckpoint(text);
    if (typeof req === 'string') return { status: 400, body: `${req}\n` };
    const { origin, size } = req.body;
    const keys = await opts.trustedKeys(origin);
    if (keys.length === 0) return { status: 404, body: `unknown origin ${origin}\n` };
    if (!keys.some((publicKey) => verifyNote(req.note, { name: origin, publicKey }))) {
      return { status: 403, body: 'the checkpoint is not signed by a key trusted for this origin\n' };
    }
    if (req.old > size) return { status: 400, body: 'old size is larger than the checkpoint size\n' };
    return serialized(origin, () => accept(repo, opts.signer, now(), req));
  }

  async function latest(origin: string): Promise<string | undefined> {
    return (await latestRow(repo, origin))?.checkpoint;
  }

  async function handle(request: Request): Promise<Response> {
    const url = new URL(request.url);
    try {
      if (url.pathname === `${base}/add-checkpoint` && request.method === 'POST') {
        const body = await readLimited(request, maxBody);
        if (body === undefined) return text(413, `body larger than ${maxBody} bytes\n`);
        const result = await addCheckpoint(body);
        if (result.status === 200) return text(200, result.cosignatures);
        return text(result.status, result.body, result.contentType);
      }
      if (url.pathname === `${base}/checkpoint` && request.method === 'GET') {
        const origin = url.searchParams.get('origin');
        if (!origin) return text(400, 'the origin query parameter is required\n');
        const note = await latest(origin);
        return note ? text(200, note) : text(404, 'no checkpoint for this origin\n');
      }
      return text(404, 'not found\n');
    } catch (err) {
      const code = err instanceof AuditError ? err.code : AUDIT_ERROR_CODES.unavailable;
      return text(503, `the witness cannot serve this request right now (${code})\n`);
    }
  }

  return { addCheckpoint, latest, handle };
}

/** The latest row for an origin: the repository's own query, else by paging. */
async function latestRow(repo: WitnessRepository, origin: string): Promise<WitnessCheckpointRow | undefined> {
  if (repo.latestWitnessCheckpoint) return repo.latestWitnessCheckpoint(origin);
  let last: WitnessCheckpointRow | undefined;
  for (;;) {
    const rows = await repo.listWitnessCheckpoints(origin, {
      afterTreeSize: last?.treeSize ?? 0,
      limit: 1000,
    });
    if (rows.length === 0) return last;
    last = rows.at(-1);
  }
}

function text(status: number, body: string, contentType = 'text/plain; charset=utf-8'): Response {
  return new Response(body, { status, headers: { 'content-type': contentType } });
}

/** The body as text, or undefined when it exceeds `max` bytes. */
async function readLimited(request: Request, max: number): Promise<string | undefined> {
  const declared = Number(request.headers.get('content-length') ?? Number.NaN);
  if (Number.isFinite(declared) && declared > max) return undefined;
  if (!request.body) return '';
  // Leaving the loop early cancels the web stream.
  return readBoundedText(request.body as AsyncIterable<Uint8Array>, max);
}
