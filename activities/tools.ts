// The execute step: one tool call per activity, so each has its own timeout, retries and history entry.
// Tools get the run's conversation and sender from the runs table (the activity input carries only ids).
import { Context } from '@temporalio/activity';
import { eq } from 'drizzle-orm';
import { auditSensitiveToolRun } from '../audit/tool-runs.js';
import { timed } from '../core/metrics.js';
import type { Database } from '../db/client.js';
import { runs } from '../db/schema.js';
import type { ToolContext } from '../tools/types.js';
import type { ActivityDeps } from './deps.js';
import { recordRunEvent } from './run-events.js';

export function createToolActivities({ tools, metrics, db, logger }: ActivityDeps) {
  return {
    async runTool(input: { workflowId: string; callId: string; name: string; arguments: string }): Promise<unknown> {
      const run = await runContext(db, input.workflowId);
      const execute = () =>
        timed(metrics.toolCalls, { tool: input.name }, () =>
          tools.runTool(input.name, input.arguments, {
            ...run,
            runId: input.workflowId,
            callId: input.callId,
            signal: Context.current().cancellationSignal,
          }),
        );
      const result = tools.get(input.name)?.sensitive
        ? await auditSensitiveToolRun(
            { db, logger },
            { ...input, actor: run, attempt: Context.current().info.attempt },
            execute,
          )
        : await execute();
      await recordRunEvent(db, 'tool', { tool: input.name, ok: true }, { dedupeSuffix: input.callId });
      return result ?? null;
    },
  };
}

/** The run's conversation, sender and reply target; empty for a workflow id with no run row. */
async function runContext(db: Database, workflowId: string): Promise<ToolContext> {
  const [run] = await db
    .select({
      channel: runs.channel,
      conversationId: runs.conversationId,
      userId: runs.senderId,
      replyTarget: runs.replyTarget,
    })
    .from(runs)
    .where(eq(runs.workflowId, workflowId));
  if (!run) return {};
  return {
    channel: run.channel,
    conversationId: run.conversationId,
    userId: run.userId,
    replyTarget: run.replyTarget ?? undefined,
  };
}
