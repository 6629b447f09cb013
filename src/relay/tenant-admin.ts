/**
 * Operator actions on the relay's tenants, as plain functions over the store so that both a running
 * relay and the `airlock tenant` command (which only opens the store) use the same rules.
 *
 * @example
 * await addTenant(store, 'acme', 'relay.example.com');
 * const token = await issueEnrollmentToken(store, 'acme'); // alk_<id>.<secret>, shown once
 */
import { AirlockError } from '../errors/airlock-error.js';
import type { Store } from '../store/store.js';
import { DEFAULT_ENROLLMENT_TOKEN_TTL_MS, newEnrollmentToken } from './enrollment-token.js';

const TENANT_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** Adds a tenant (idempotent). Its hostname becomes `<name>.<domain>`. */
export async function addTenant(
  store: Store,
  name: string,
  relayHost: string,
  now = Date.now(),
): Promise<void> {
  const reserved = relayHost.split('.')[0];
  if (!TENANT_NAME.test(name) || name === reserved) {
    throw new AirlockError(
      'AIRLOCK_RELAY_TENANT_INVALID',
      `tenant name "${name}" must be one DNS label (a-z, 0-9, "-") and not "${reserved}"`,
    );
  }
  if (await store.relay.getTenant(name)) return;
  await store.relay.addTenant(name, now);
}

/** Issues a one-time enrollment token for a tenant. Only the SHA-256 of its secret is stored. */
export async function issueEnrollmentToken(
  store: Store,
  tenant: string,
  options: { ttlMs?: number; now?: number } = {},
): Promise<{ token: string; expiresAt: number }> {
  if (!(await store.relay.getTenant(tenant))) {
    throw new AirlockError('AIRLOCK_RELAY_TENANT_UNKNOWN', `unknown tenant "${tenant}"; add it first`);
  }
  const made = newEnrollmentToken();
  const now = options.now ?? Date.now();
  const expiresAt = now + (options.ttlMs ?? DEFAULT_ENROLLMENT_TOKEN_TTL_MS);
  await store.relay.createEnrollmentToken({
    id: made.id,
    tenant,
    secretHash: made.secretHash,
    createdAt: now,
    expiresAt,
  });
  return { token: made.token, expiresAt };
}
