import { AirlockError } from '../errors/airlock-error.js';

/**
 * A tenant connection is unusable as given: a URL that is not https, a certificate without its key,
 * an unreadable file, a malformed `host:port`, or a request to an origin other than the tenant's.
 *
 * Codes: `AIRLOCK_AGENT_URL_INVALID`, `AIRLOCK_AGENT_CREDENTIALS_INVALID`, `AIRLOCK_AGENT_FILE_UNREADABLE`,
 * `AIRLOCK_AGENT_CONNECT_INVALID`, `AIRLOCK_AGENT_FOREIGN_ORIGIN`, `AIRLOCK_AGENT_CLOSED`.
 */
export class TenantConnectionError extends AirlockError {}
