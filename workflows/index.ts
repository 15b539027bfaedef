// The workflow bundle's entry point: every workflow type the worker registers.
export { handleMessage } from './handle-message.js';
export { reminder } from './reminder.js';
export { retentionPurge } from './retention-purge.js';
