// Sensitive tool calls in the audit log. The `tool.run.start` row is written before the tool runs, and a failure to
// write it stops the call (fail closed: nothing sensitive happens unrecorded). The `tool.run.finish` row follows
// with the outcome; failing to write that one is logged, never retried, because a retry would run the tool again.
import { createHash } from 'node:crypto';
import type { Logger } from '../core/logger.js';
import type { Database } from '../db/client.js';
import { appendAudit } from './chain.js';

export interface ToolRunAudit {
  workflowId: string;
  callId: string;
  name: string;
  arguments: string;
  /** The chat user whose run called the tool, when the run is known. */
  actor: { channel?: string; userId?: string };
  attempt: number;
}

export async function auditSensitiveToolRun<T>(
  deps: { db: Database; logger: Logger },
  call: ToolRunAudit,
  execute: () => Promise<T>,
): Promise<T> {
  const entry = {
    actor: call.actor.channel && call.actor.userId ? `chat:${call.actor.channel}:${call.actor.userId}` : 'system',
    target: call.name,
  };
  // The arguments may hold personal data or secrets: the log keeps a fingerprint that proves which ones ran.
  const detail = {
    workflowId: call.workflowId,
    callId: call.callId,
    attempt: call.attempt,
    argumentsSha256: createHash('sha256').update(call.arguments).digest('hex'),
  };
  await appendAudit(deps.db, { ...entry, action: 'tool.run.start', detail });
  let outcome: 'success' | 'failure' = 'failure';
  try {
    const result = await execute();
    outcome = 'success';
    return result;
  } finally {
    await appendAudit(deps.db, { ...entry, action: 'tool.run.finish', outcome, detail }).catch((error) =>
      deps.logger.error({ err: error, workflowId: call.workflowId, tool: call.name }, 'cannot audit a tool run'),
    );
  }
}
