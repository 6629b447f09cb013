/**
 * JSON-RPC error codes (server-defined range) of the policy stages. `data.airlock` always carries the
 * stable `AIRLOCK_*` code that says exactly why; the JSON-RPC code says which family:
 *
 * | code | family | `data.airlock` examples |
 * |---|---|---|
 * | -32001 | identity (authenticate-stage.ts) | `AIRLOCK_IDENTITY_REVOKED` |
 * | -32003 | policy refused the request | `AIRLOCK_TOOL_FORBIDDEN`, `AIRLOCK_TOOL_QUARANTINED`, `AIRLOCK_TOOL_DISABLED`, `AIRLOCK_TOOL_BLOCKED` |
 * | -32004 | a limit was hit | `AIRLOCK_LIMIT_RATE`, `AIRLOCK_LIMIT_TURNS`, `AIRLOCK_LIMIT_TIMEOUT` |
 * | -32602 | the arguments are wrong (the model can fix them) | `AIRLOCK_ARGUMENTS_INVALID` |
 */

/** The policy refuses this request (forbidden, blocked, quarantined, disabled, no approver). */
export const JSONRPC_FORBIDDEN = -32003;
/** A budget or limit was exhausted; `data.limit` names it and `data.value` gives its value. */
export const JSONRPC_LIMIT_EXCEEDED = -32004;
