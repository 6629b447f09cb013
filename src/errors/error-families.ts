/**
 * The families of the error-code registry (src/errors/error-codes.ts): the prefixes their codes start
 * with and the part that raises them. README's family table is rendered from here.
 *
 * @example
 * ERROR_FAMILIES.limit.prefixes // ['AIRLOCK_LIMIT_']
 */

/** A group of codes: the prefixes they start with and the part that raises them. */
export interface ErrorFamily {
  /** Code prefixes (or whole codes) of the family. */
  prefixes: readonly string[];
  /** What raises them. */
  raisedBy: string;
}

export const ERROR_FAMILIES = {
  config: {
    prefixes: ['AIRLOCK_CONFIG_', 'AIRLOCK_CLI_'],
    raisedBy: 'config and policy files, command line',
  },
  relay: {
    prefixes: [
      'AIRLOCK_RELAY_',
      'AIRLOCK_TUNNEL_',
      'AIRLOCK_ENROLL_',
      'AIRLOCK_CLUSTER_',
      'AIRLOCK_CREDENTIAL_',
      'AIRLOCK_CONNECTOR_',
    ],
    raisedBy: "relay, tunnels, enrollment, the connector's credential files",
  },
  identity: {
    prefixes: [
      'AIRLOCK_IDENTITY_',
      'AIRLOCK_TOKEN_',
      'AIRLOCK_DPOP_',
      'AIRLOCK_END_USER_',
      'AIRLOCK_PKI_',
      'AIRLOCK_RESOURCE_METADATA_',
      'AIRLOCK_UPSTREAM_TOKEN_',
    ],
    raisedBy: 'agent authentication, tokens, PKI',
  },
  limit: { prefixes: ['AIRLOCK_LIMIT_'], raisedBy: 'budget stage and endpoint limits' },
  authorization: {
    prefixes: [
      'AIRLOCK_TOOL_',
      'AIRLOCK_RESOURCE_',
      'AIRLOCK_PROMPT_',
      'AIRLOCK_COMPLETION_',
      'AIRLOCK_CATALOG_',
      'AIRLOCK_ARGUMENTS_',
      'AIRLOCK_OUTPUT_',
      'AIRLOCK_SCHEMA_',
    ],
    raisedBy: 'authorize, catalog and validate stages, catalog administration',
  },
  approval: {
    prefixes: ['AIRLOCK_APPROVAL_', 'AIRLOCK_APPROVED', 'AIRLOCK_OVERRIDE_'],
    raisedBy: 'tier stage, approval queue, break-glass overrides, approval tokens',
  },
  policy: { prefixes: ['AIRLOCK_POLICY_'], raisedBy: 'tier and validate stages (policy conditions)' },
  pii: { prefixes: ['AIRLOCK_PII_'], raisedBy: 'PII stage, boundary and vault' },
  audit: { prefixes: ['AIRLOCK_AUDIT_'], raisedBy: 'audit ledger, witnesses, the relay audit API' },
  report: {
    prefixes: ['AIRLOCK_REPORT_', 'AIRLOCK_DISCOVER_'],
    raisedBy: '`airlock report`, `airlock discover`',
  },
  mcp: {
    prefixes: [
      'AIRLOCK_UPSTREAM_',
      'AIRLOCK_SERVER_REQUEST',
      'AIRLOCK_SESSION_',
      'AIRLOCK_BODY_',
      'AIRLOCK_RELAY_CANCELLED',
      'AIRLOCK_RELAY_CAPACITY',
      'AIRLOCK_RELAY_STATE_UNKNOWN',
      'AIRLOCK_AGENT_CAPABILITY_MISSING',
      'AIRLOCK_AGENT_NO_ANSWER',
      'AIRLOCK_METHOD_NOT_FOUND',
      'AIRLOCK_CURSOR_INVALID',
      'AIRLOCK_LOG_LEVEL_INVALID',
      'AIRLOCK_REQUEST_CANCELLED',
      'AIRLOCK_TASK_',
      'AIRLOCK_NOT_FOUND',
      'AIRLOCK_SHUTTING_DOWN',
      'AIRLOCK_HOST_NOT_ALLOWED',
      'AIRLOCK_INTERNAL',
    ],
    raisedBy: 'MCP endpoint, relayed server→client requests, upstreams',
  },
  store: { prefixes: ['AIRLOCK_STORE_'], raisedBy: 'storage (SQLite, PostgreSQL)' },
  sandbox: { prefixes: ['AIRLOCK_SANDBOX_'], raisedBy: 'the sandbox of stdio upstreams' },
  console: { prefixes: ['AIRLOCK_CONSOLE_', 'AIRLOCK_REFUSED'], raisedBy: 'the console and its accounts' },
  agent: { prefixes: ['AIRLOCK_AGENT_'], raisedBy: 'agent side: `connectToTenant`, `bridge`, `forward`' },
  acme: { prefixes: ['AIRLOCK_ACME_'], raisedBy: "the connector's ACME certificate (`tls.acme`)" },
  pair: {
    prefixes: ['AIRLOCK_BUNDLE_', 'AIRLOCK_PAIR_'],
    raisedBy: '`connector add --bundle`, `connector join`',
  },
  doctor: { prefixes: ['AIRLOCK_DOCTOR_'], raisedBy: '`airlock doctor` checks' },
} as const satisfies Record<string, ErrorFamily>;

export type ErrorFamilyName = keyof typeof ERROR_FAMILIES;
