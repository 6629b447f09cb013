/**
 * The tamper-evident audit trail: ledger (append, RFC 6962 Merkle tree, C2SP checkpoints,
 * tlog-witnesses, sinks, retention, start-up check), verification, export, the gateway stages
 * (write-ahead intent, outcome) and the tlog-witness server.
 */

export * from '../json/canonical-hash.js';
export * from '../json/canonical-json.js';
export * from './audit-entry.js';
export * from './audit-error.js';
export * from './audit-export.js';
export * from './audit-key.js';
export * from './audit-key-proof.js';
export * from './audit-ledger.js';
export * from './audit-redaction.js';
export * from './audit-signing.js';
export * from './audit-sink.js';
export * from './audit-verify.js';
export * from './group-commit.js';
export * from './ledger-startup.js';
export * from './merkle-tree.js';
export * from './ocsf-format.js';
export * from './otlp-sink.js';
export * from './signed-note.js';
export * from './stored-trail.js';
export * from './syslog-sink.js';
export * from './witness-client.js';
export * from './witness-queue.js';
export * from './witness-server.js';
