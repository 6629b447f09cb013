/** The human approval queue: the persisted `ApprovalHook`, its errors and webhook notifications. */
export * from './approval-error.js';
export * from './approval-queue.js';
export * from './approval-webhook.js';
