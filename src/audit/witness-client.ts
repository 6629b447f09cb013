/**
 * Connector side of witnessing, in the C2SP tlog-witness protocol (c2sp.org/tlog-witness). A
 * `Witness` takes a signed checkpoint and the means to prove it consistent with what the witness
 * cosigned before; `TlogWitnessClient` speaks HTTP:
 *
 *   POST {url}/add-checkpoint    body: `old <size>\n` + consistency proof lines (base64) + `\n` + the
 *                                checkpoint note → 200 cosignature lines | 409 `<size>\n`
 *                                (text/x.tlog.size) | 422 bad proof | 403 unknown key | 404 unknown origin
 *   GET  {url}/checkpoint?origin=airlock.audit/acme   → 200 the latest cosigned checkpoint note | 404
 *
 * The GET is an Airlock extension (the spec leaves monitoring open) used by `airlock audit verify`
 * and the connector's start-up check.
 *
 * @example
 * const witness = new TlogWitnessClient({ url: 'https://witness.example.com/airlock' });
 * await witness.submit(checkpoint, { consistencyProof: (old) => tree.consistencyProof(old, checkpoint.treeSize) });
 */
import { type Dispatcher, fetch } from 'undici';
import { AUDIT_ERROR_CODES, AuditError } from './audit-error.js';
import { type AuditCheckpoint, checkpointFromNote } from './audit-signing.js';
import type { WitnessView } from './audit-verify.js';
import {
  type NoteKey,
  type NoteSignature,
  parseSignatureLine,
  parseSignedNote,
  verifyCosignature,
} from './signed-note.js';

/** How long one witness request may take. */
export const DEFAULT_WITNESS_TIMEOUT_MS = 10_000;
/** Most bytes read from a witness answer. */
export const DEFAULT_WITNESS_MAX_ANSWER_BYTES = 64 * 1024;

/** What a witness needs from the log besides the checkpoint. */
export interface WitnessSubmitContext {
  /** RFC 6962 consistency proof from `oldSize` to the checkpoint's size. */
  consistencyProof(oldSize: number): Buffer[];
}

/** Somewhere outside the connector that cosigns checkpoints. */
export interface Witness {
  /** For logs, e.g. the URL. */
  readonly name: string;
  /**
   * Resolves with the witness's cosignatures once it accepted the checkpoint. Rejects with
   * `AuditError` `AIRLOCK_AUDIT_WITNESS_DIVERGED` (it holds a history this trail contradicts),
   * `AIRLOCK_AUDIT_WITNESS_REFUSED` (permanent: unknown key/origin, malformed) or another error (retry later).
   */
  submit(
    checkpoint: AuditCheckpoint,
    ctx: WitnessSubmitContext,
    signal?: AbortSignal,
  ): Promise<NoteSignature[]>;
}

export interface TlogWitnessClientOptions {
  /** Submission prefix, e.g. `https://relay.example.com/v1/audit`. */
  url: string;
  /** undici dispatcher for TLS trust, client certificates or a proxy. Default: undici's global one. */
  dispatcher?: Dispatcher;
  /** Extra request headers (e.g. authorization). */
  headers?: Record<string, string>;
  /** Default `DEFAULT_WITNESS_TIMEOUT_MS` (10 s). */
  timeoutMs?: number;
}

/** A tlog-witness reached over HTTP(S). */
export class TlogWitnessClient implements Witness {
  readonly name: string;
  readonly #opts: TlogWitnessClientOptions;
  /** The witness's latest cosigned size, as far as we know (0: ask with old 0). */
  #known = 0;

  constructor(opts: TlogWitnessClientOptions) {
    this.#opts = opts;
    this.name = opts.url;
  }

  async submit(
    cp: AuditCheckpoint,
    ctx: WitnessSubmitContext,
    signal?: AbortSignal,
  ): Promise<NoteSignature[]> {
    for (let attempt = 0; attempt < 3; attempt++) {
      // The witness is ahead of this checkpoint: another writer of the same trail (a connector pair)
      // had a larger tree cosigned. This checkpoint is superseded, not evidence of divergence: the
      // next one is submitted with a consistency proof from the witness's size, and a trail that
      // contradicts it is refused then (422), at start-up and by `audit verify`.
      if (this.#known > cp.treeSize)
        throw new AuditError(
          AUDIT_ERROR_CODES.witnessSuperseded,
          `audit witness ${this.name} already cosigned ${this.#known} entries; checkpoint ${cp.treeSize} is superseded`,
        );
      const old = this.#known;
      const proof = ctx.consistencyProof(old).map((h) => `${h.toString('base64')}\n`);
      const res = await this.#post(`old ${old}\n${proof.join('')}\n${cp.note}`, signal);
      if (res.status === 200) {
        this.#known = cp.treeSize;
        return res.text
          .split('\n')
          .filter((l) => l.length > 0)
          .map(parseSignatureLine)
          .filter((s): s is NoteSignature => s !== undefined);
      }
      if (res.status === 409) {
        const size = /^(0|[1-9][0-9]*)\n?$/.exec(res.text) ? Number(res.text.trim()) : Number.NaN;
        if (!Number.isSafeInteger(size) || size === old) {
          throw diverged(this.name, `it cosigned a different checkpoint of size ${old}`);
        }
        this.#known = size;
        continue;
      }
      if (res.status === 422)
        throw diverged(this.name, `the trail is not consistent with its checkpoint of size ${old}`);
      if (res.status >= 500 || res.status === 429 || res.status === 408) {
        throw new AuditError(
          AUDIT_ERROR_CODES.witnessUnreachable,
          `audit witness ${this.name} answered ${res.status}`,
          {
            retryable: true,
          },
        );
      }
      throw new AuditError(
        AUDIT_ERROR_CODES.witnessRefused,
        `audit witness ${this.name} refused checkpoint ${cp.treeSize}: ${res.status} ${res.text.slice(0, 300)}`,
      );
    }
    throw new AuditError(
      AUDIT_ERROR_CODES.witnessUnreachable,
      `audit witness ${this.name} keeps changing its size`,
      {
        retryable: true,
      },
    );
  }

  async #post(body: string, signal?: AbortSignal): Promise<{ status: number; text: string }> {
    const timeout = AbortSignal.timeout(this.#opts.timeoutMs ?? DEFAULT_WITNESS_TIMEOUT_MS);
    try {
      const res = await fetch(`${trimSlash(this.#opts.url)}/add-checkpoint`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain; charset=utf-8', ...this.#opts.headers },
        body,
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
        ...(this.#opts.dispatcher ? { dispatcher: this.#opts.dispatcher } : {}),
      });
      return { status: res.status, text: (await res.text()).slice(0, DEFAULT_WITNESS_MAX_ANSWER_BYTES) };
    } catch (cause) {
      throw new AuditError(
        AUDIT_ERROR_CODES.witnessUnreachable,
        `audit witness ${this.name} unreachable: ${describe(cause)}`,
        {
          cause,
          retryable: true,
        },
      );
    }
  }
}

/**
 * What a witness holds for `origin`: its latest cosigned checkpoint (the cosignature is checked when
 * `witnessKey` is given), or the reason it could not be asked. Never throws.
 *
 * @example
 * const view = await fetchWitnessView({ name: 'relay', url, origin: auditOrigin('acme') });
 */
export async function fetchWitnessView(opts: {
  name: string;
  url: string;
  origin: string;
  dispatcher?: Dispatcher;
  headers?: Record<string, string>;
  witnessKey?: NoteKey;
  timeoutMs?: number;
}): Promise<WitnessView> {
  const url = new URL(`${trimSlash(opts.url)}/checkpoint`);
  url.searchParams.set('origin', opts.origin);
  try {
    const res = await fetch(url, {
      headers: { accept: 'text/plain', ...opts.headers },
      signal: AbortSignal.timeout(opts.timeoutMs ?? DEFAULT_WITNESS_TIMEOUT_MS),
      ...(opts.dispatcher ? { dispatcher: opts.dispatcher } : {}),
    });
    const text = (await res.text()).slice(0, DEFAULT_WITNESS_MAX_ANSWER_BYTES);
    if (res.status === 404) return { name: opts.name };
    if (!res.ok) return { name: opts.name, error: `HTTP ${res.status}` };
    const checkpoint = checkpointFromNote(text, Date.now());
    if (!checkpoint || checkpoint.origin !== opts.origin)
      return { name: opts.name, error: 'not a checkpoint for this log' };
    if (opts.witnessKey) {
      const note = parseSignedNote(text);
      if (!note || verifyCosignature(note, opts.witnessKey) === undefined) {
        return { name: opts.name, error: 'the checkpoint carries no valid cosignature by the witness key' };
      }
    }
    return { name: opts.name, checkpoint };
  } catch (cause) {
    return { name: opts.name, error: `unreachable: ${describe(cause)}` };
  }
}

function diverged(name: string, why: string): AuditError {
  return new AuditError(
    AUDIT_ERROR_CODES.witnessDiverged,
    `audit witness ${name} holds another history: ${why}`,
  );
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
