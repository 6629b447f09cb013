/**
 * The human approval queue: the persisted `ApprovalHook`, its principals, errors, two-person rules,
 * break-glass overrides of `block`, and webhook notifications.
 */
export * from './approval-arguments-seal.js';
export * from './approval-error.js';
export * from './approval-principal.js';
export * from './approval-queue.js';
export * from './approval-quorum.js';
export * from './approval-webhook.js';
export * from './block-overrides.js';
