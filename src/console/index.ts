/** The connector's web console: the Hono app, its server, sessions, password hashing and page helpers. */
export * from './activity-counters.js';
export type { ConnectorStatus } from './connector-status.js';
export * from './console-app.js';
export * from './console-server.js';
export * from './console-sessions.js';
export * from './password-hash.js';
