/**
 * Local errors: every failure Airlock raises inside a process is an `AirlockError` with a stable
 * string `code` that callers, logs and tests can match on. One subclass per failure family, in the
 * style of undici's errors (`UND_ERR_*`).
 *
 * @example
 * try { await enroll(token) } catch (e) {
 *   if (e instanceof AirlockError && e.code === 'AIRLOCK_ENROLL_TOKEN_USED') { ... }
 * }
 */
export class AirlockError extends Error {
  /** Stable machine-readable code, never reworded once released. */
  readonly code: string;
  /** Retryable errors are worth another attempt with backoff; permanent ones are not. */
  readonly retryable: boolean;

  constructor(code: string, message: string, options?: { cause?: unknown; retryable?: boolean }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = options?.retryable ?? false;
  }
}

/** A configuration or policy file is invalid. `file` and `line` point at the problem. */
export class ConfigError extends AirlockError {
  readonly file: string | undefined;
  readonly line: number | undefined;
  constructor(message: string, where: { file?: string; line?: number } = {}, cause?: unknown) {
    const prefix = where.file ? `${where.file}${where.line ? `:${where.line}` : ''}: ` : '';
    super('AIRLOCK_CONFIG_INVALID', `${prefix}${message}`, { cause });
    this.file = where.file;
    this.line = where.line;
  }
}

/** Enrollment failed: unknown, used or expired token, or a relay that refused. */
export class EnrollmentError extends AirlockError {}

/** The tunnel between connector and relay failed; `retryable` tells the supervisor what to do. */
export class TunnelError extends AirlockError {}

/** Identity problems: missing, unknown, revoked or foreign credentials. */
export class IdentityError extends AirlockError {}

/** Storage failures (cannot open, cannot write, migration failed). */
export class StoreError extends AirlockError {}

/** An upstream MCP server is unavailable or misbehaved. */
export class UpstreamError extends AirlockError {}

/** A PKI operation failed (bad PEM, wrong key, expired certificate). */
export class PkiError extends AirlockError {}
