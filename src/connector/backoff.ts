// Moved to src/supervision/backoff.ts (shared by the tunnel supervisor, the change feed and ACME renewal).
export * from '../supervision/backoff.js';
