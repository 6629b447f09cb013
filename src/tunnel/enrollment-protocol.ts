/**
 * The enrollment API contract shared by relay and connector: `POST /v1/enroll` on the relay host.
 *
 * Request `{ token, csr, auditPublicKeyPem? }` (token `alk_<id>.<secret>`, csr PKCS#10 PEM made on the
 * connector: the connector key never leaves it; `auditPublicKeyPem` the connector's Ed25519 audit
 * public key, registered with the relay's audit witness for the token's tenant). Response 200
 * {@link EnrollResponse}; errors carry `{ error: { code, message } }` with one of {@link EnrollCodes}.
 *
 * Later, an enrolled connector (authenticated by its client certificate) registers its audit key
 * again with `POST /v1/audit/key` `{ publicKeyPem }` and submits signed checkpoints to
 * `POST /v1/audit/checkpoints` (see src/relay/audit-witness-api.ts).
 */
import { z } from 'zod';

export const EnrollCodes = {
  /** 401: the token was already used (tokens are single use). */
  TOKEN_USED: 'AIRLOCK_ENROLL_TOKEN_USED',
  /** 401: the token expired. */
  TOKEN_EXPIRED: 'AIRLOCK_ENROLL_TOKEN_EXPIRED',
  /** 401: no such token (or a wrong secret). */
  TOKEN_UNKNOWN: 'AIRLOCK_ENROLL_TOKEN_UNKNOWN',
  /** 400: the body is not `{ token, csr }` JSON. */
  BAD_REQUEST: 'AIRLOCK_ENROLL_BAD_REQUEST',
  /** 400: the audit public key is not an Ed25519 SPKI PEM. */
  AUDIT_KEY_INVALID: 'AIRLOCK_ENROLL_AUDIT_KEY_INVALID',
  /** 400: the CSR does not parse or its signature does not verify. */
  CSR_INVALID: 'AIRLOCK_ENROLL_CSR_INVALID',
  /**
   * 403: the binding certificate does not chain to the tenant's pinned CA (or to the CA sent along),
   * names no connector binding, or is for another key than the CSR's.
   */
  BINDING_INVALID: 'AIRLOCK_ENROLL_BINDING_INVALID',
  /** 413: the body is too large. */
  TOO_LARGE: 'AIRLOCK_ENROLL_TOO_LARGE',
  /** 500: the relay failed. */
  INTERNAL: 'AIRLOCK_ENROLL_INTERNAL',
  /** Client side: the relay could not be reached. */
  RELAY_UNREACHABLE: 'AIRLOCK_ENROLL_RELAY_UNREACHABLE',
  /** Client side: the relay's certificate did not verify against the pinned CA. */
  RELAY_UNTRUSTED: 'AIRLOCK_ENROLL_RELAY_UNTRUSTED',
  /** Client side: the relay answered something unexpected. */
  BAD_RESPONSE: 'AIRLOCK_ENROLL_BAD_RESPONSE',
} as const;

export const enrollRequestSchema = z.object({
  token: z.string().min(1).max(256),
  csr: z
    .string()
    .min(1)
    .max(16 * 1024),
  /** The connector's audit public key (SPKI PEM), for the relay's audit witness. */
  auditPublicKeyPem: z.string().min(1).max(4096).optional(),
  /** The tenant CA certificate (PEM): pinned by the tenant's first bound connector. */
  tenantCaPem: z.string().min(1).max(8192).optional(),
  /**
   * A certificate for the CSR's key, issued by the tenant CA, with the URI SAN
   * {@link CONNECTOR_BINDING_URI}: the customer vouches for this connector. Without it the connector is
   * enrolled UNBOUND and the relay refuses its tunnels.
   */
  bindingCertPem: z.string().min(1).max(8192).optional(),
});
export type EnrollRequest = z.infer<typeof enrollRequestSchema>;

export const enrollResponseSchema = z.object({
  tenant: z.string(),
  connectorId: z.string(),
  certPem: z.string(),
  tenantHost: z.string(),
  /** False: enrolled without a valid binding; the relay refuses this connector's tunnels. */
  bound: z.boolean().default(false),
});
export type EnrollResponse = z.infer<typeof enrollResponseSchema>;

/** Base path of the relay's audit witness on the relay host (checkpoints live under it). */
export const AUDIT_WITNESS_PATH = '/v1/audit';
/** Where an enrolled connector (re-)registers its audit public key. */
export const AUDIT_KEY_PATH = '/v1/audit/key';

/** Body of `POST /v1/audit/key`. */
export const auditKeyRequestSchema = z.strictObject({ publicKeyPem: z.string().min(1).max(4096) });
export type AuditKeyRequest = z.infer<typeof auditKeyRequestSchema>;

/** Answer of `POST /v1/audit/key`. */
export const auditKeyResponseSchema = z.object({ tenant: z.string(), keyId: z.string() });
export type AuditKeyResponse = z.infer<typeof auditKeyResponseSchema>;

export const errorBodySchema = z.object({ error: z.object({ code: z.string(), message: z.string() }) });

/** URI SAN of a connector binding certificate (issued by the tenant CA for a connector key). */
export const CONNECTOR_BINDING_URI = 'airlock://connector-binding';

/** Where a bound connector lists its tenant's connectors (GET, connector client certificate). */
export const CONNECTORS_PATH = '/v1/connectors';

/** One connector of a tenant, as the relay reports it. */
export const tenantConnectorSchema = z.object({
  id: z.string(),
  tenant: z.string(),
  /** `online`: a tunnel is up; `offline`: none; `unbound`: no tunnel allowed; `revoked`. */
  state: z.enum(['online', 'offline', 'unbound', 'revoked']),
  bound: z.boolean(),
  tunnels: z.number().int(),
  enrolledAt: z.number(),
  lastSeenAt: z.number().nullable(),
  revokedAt: z.number().nullable(),
});
export type TenantConnectorView = z.infer<typeof tenantConnectorSchema>;

/** Answer of `GET /v1/connectors`. */
export const tenantConnectorsResponseSchema = z.object({
  tenant: z.string(),
  connectors: z.array(tenantConnectorSchema),
});
