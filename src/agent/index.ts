/**
 * Agent-side helpers: reach a tenant's MCP endpoint through Airlock with the tenant CA pinned and an
 * optional client certificate, from any SDK client, or bridge it to stdio for desktop MCP clients.
 */
export {
  type BridgeHandle,
  type BridgeIo,
  type BridgeOptions,
  DEFAULT_BRIDGE_CLIENT_INFO,
  DEFAULT_BRIDGE_REQUEST_TIMEOUT_MS,
  runBridge,
} from './bridge.js';
export {
  DEFAULT_DOCTOR_EXPIRY_WARNING_DAYS,
  DEFAULT_DOCTOR_MAX_CLOCK_SKEW_MS,
  DEFAULT_DOCTOR_STEP_TIMEOUT_MS,
  type DoctorStatus,
  type DoctorStep,
} from './doctor-steps.js';
export {
  loadTenantConnection,
  parseConnectTarget,
  type TenantConnectionFiles,
} from './load-tenant-connection.js';
export type { TenantConnection } from './tenant-connection.js';
export { TenantConnectionError } from './tenant-connection-error.js';
export { type DiagnoseTenantOptions, diagnoseTenant } from './tenant-doctor.js';
export { TenantFailureError, tenantFailure } from './tenant-failure.js';
export {
  createTenantFetch,
  DEFAULT_TENANT_BODY_TIMEOUT_MS,
  DEFAULT_TENANT_CONNECT_TIMEOUT_MS,
  DEFAULT_TENANT_HEADERS_TIMEOUT_MS,
  DEFAULT_TENANT_MIN_TLS_VERSION,
  type TenantFetch,
  type TenantFetchOptions,
  tenantUrl,
} from './tenant-fetch.js';
export {
  DEFAULT_REFUSAL_BODY_MAX_BYTES,
  readRefusal,
  recordRefusals,
  refusalHint,
  type TenantRefusal,
} from './tenant-refusal.js';
export {
  type ConnectToTenantOptions,
  connectToTenant,
  createTenantTransport,
  DEFAULT_AGENT_CLIENT_INFO,
  TenantHttpTransport,
  type TenantTransportOptions,
} from './tenant-transport.js';
