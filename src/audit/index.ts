/**
 * The tamper-evident audit trail: ledger (append, checkpoints, witnesses, sinks, retention),
 * verification, export, the gateway stage and the relay-side witness.
 */
export * from './audit-entry.js';
export * from './audit-error.js';
export * from './audit-export.js';
export * from './audit-key.js';
export * from './audit-ledger.js';
export * from './audit-redaction.js';
export * from './audit-signing.js';
export * from './audit-sink.js';
export * from './audit-stage.js';
export * from './audit-verify.js';
export * from './canonical-json.js';
export * from './group-commit.js';
export * from './ocsf-format.js';
export * from './otlp-sink.js';
export * from './stored-trail.js';
export * from './syslog-sink.js';
export * from './upstream-timing-stage.js';
export * from './witness-client.js';
export * from './witness-queue.js';
export * from './witness-server.js';
