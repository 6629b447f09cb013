/**
 * The relay as the connector's audit witness (C2SP tlog-witness at
 * `https://relay.<domain>:<port>/v1/audit/add-checkpoint`) over the connector's authenticated HTTPS
 * (see relay-https-client.ts). Before the first checkpoint, and again whenever the relay says it
 * does not know the log, the audit public key is registered with `POST /v1/audit/key` together with
 * a proof that the tenant CA certified it (the relay trusts only keys of the CA pinned for the tenant).
 * A relay that cannot be reached is retried by the ledger's witness queue; the connector keeps
 * working and catches up.
 *
 * @example
 * const relay = relayHttpsClient({ relayUrl, relayCaPem, credential });
 * const witness = new RelayAuditWitness({ relay, publicKeyPem: key.publicKeyPem, tenant, tenantCaPem, proof });
 * const ledger = await AuditLedger.open({ repository: store.audit, tenant, key, witnesses: [witness] });
 */
import { fetch } from 'undici';
import { z } from 'zod';
import { AUDIT_ERROR_CODES, AuditError } from '../audit/audit-error.js';
import type { AuditCheckpoint } from '../audit/audit-signing.js';
import type { NoteSignature } from '../audit/signed-note.js';
import {
  DEFAULT_WITNESS_TIMEOUT_MS,
  TlogWitnessClient,
  type Witness,
  type WitnessSubmitContext,
} from '../audit/witness-client.js';
import { AUDIT_KEY_PATH, AUDIT_WITNESS_PATH } from '../tunnel/enrollment-protocol.js';
import type { RelayHttpsClient } from './relay-https-client.js';

export interface RelayAuditWitnessOptions {
  relay: RelayHttpsClient;
  /** The connector's audit public key (SPKI PEM). */
  publicKeyPem: string;
  /** The tenant CA certificate (PEM) and its signature over the key (`signAuditKeyProof`). */
  tenantCaPem: string;
  proof: string;
  /** Per request. Default `DEFAULT_WITNESS_TIMEOUT_MS` (10 s). */
  timeoutMs?: number;
}

const keyAnswerSchema = z.object({ tenant: z.string(), keyId: z.string(), witness: z.string().optional() });
export type AuditKeyAnswer = z.infer<typeof keyAnswerSchema>;

/** The relay's audit witness base URL for a relay client, e.g. `https://relay.example.com:443/v1/audit`. */
export function relayWitnessUrl(relay: Pick<RelayHttpsClient, 'baseUrl'>): string {
  return `${relay.baseUrl}${AUDIT_WITNESS_PATH}`;
}

/**
 * Registers the audit public key with the relay (`POST /v1/audit/key`). Throws `AuditError`
 * `AIRLOCK_AUDIT_WITNESS_UNREACHABLE` (retry later) or `AIRLOCK_AUDIT_WITNESS_REFUSED` (the relay said no).
 *
 * @example
 * const { tenant, keyId, witness } = await registerAuditKeyWithRelay(relay, { publicKeyPem, tenantCaPem, proof });
 */
export async function registerAuditKeyWithRelay(
  relay: RelayHttpsClient,
  body: { publicKeyPem: string; tenantCaPem: string; proof: string },
  opts: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<AuditKeyAnswer> {
  const timeout = AbortSignal.timeout(opts.timeoutMs ?? DEFAULT_WITNESS_TIMEOUT_MS);
  let res: Awaited<ReturnType<typeof fetch>>;
  try {
    res = await fetch(`${relay.baseUrl}${AUDIT_KEY_PATH}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      dispatcher: relay.dispatcher,
      signal: opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout,
    });
  } catch (cause) {
    throw new AuditError(
      AUDIT_ERROR_CODES.witnessUnreachable,
      `cannot register the audit key with the relay: ${(cause as Error).message}`,
      { cause, retryable: true },
    );
  }
  const text = await res.text().catch(() => '');
  if (res.ok) {
    const parsed = keyAnswerSchema.safeParse(safeJson(text));
    if (parsed.success) return parsed.data;
  }
  const retryable = res.status >= 500 || res.status === 429 || res.status === 408;
  throw new AuditError(
    retryable ? AUDIT_ERROR_CODES.witnessUnreachable : AUDIT_ERROR_CODES.witnessRefused,
    `the relay refused the audit key: HTTP ${res.status} ${text.slice(0, 300)}`,
    { retryable },
  );
}

/** See the module comment. */
export class RelayAuditWitness implements Witness {
  readonly name: string;
  readonly #opts: RelayAuditWitnessOptions;
  readonly #client: TlogWitnessClient;
  #registered: Promise<AuditKeyAnswer> | undefined;

  constructor(opts: RelayAuditWitnessOptions) {
    this.#opts = opts;
    const url = relayWitnessUrl(opts.relay);
    this.name = url;
    this.#client = new TlogWitnessClient({
      url,
      dispatcher: opts.relay.dispatcher,
      ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
    });
  }

  /** Registers the key once per process (again after the relay forgot it). */
  ensureKeyRegistered(signal?: AbortSignal): Promise<AuditKeyAnswer> {
    if (!this.#registered) {
      const { publicKeyPem, tenantCaPem, proof } = this.#opts;
      const attempt = registerAuditKeyWithRelay(
        this.#opts.relay,
        { publicKeyPem, tenantCaPem, proof },
        {
          ...(this.#opts.timeoutMs ? { timeoutMs: this.#opts.timeoutMs } : {}),
          ...(signal ? { signal } : {}),
        },
      );
      this.#registered = attempt;
      attempt.catch(() => {
        if (this.#registered === attempt) this.#registered = undefined;
      });
    }
    return this.#registered;
  }

  async submit(
    cp: AuditCheckpoint,
    ctx: WitnessSubmitContext,
    signal?: AbortSignal,
  ): Promise<NoteSignature[]> {
    await this.ensureKeyRegistered(signal);
    try {
      return await this.#client.submit(cp, ctx, signal);
    } catch (err) {
      if (
        err instanceof AuditError &&
        err.code === AUDIT_ERROR_CODES.witnessRefused &&
        /: 40[34] /.test(err.message)
      ) {
        // The relay does not know the log (yet): register again, then retry.
        this.#registered = undefined;
        throw new AuditError(
          AUDIT_ERROR_CODES.witnessUnreachable,
          'the relay does not know the audit key yet; registering it again',
          { cause: err, retryable: true },
        );
      }
      throw err;
    }
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
