// The execute step: one tool call per activity, so each has its own timeout, retries and history entry.
// Tools get the run's conversation and sender from the runs table (the activity input carries only ids).
import { Context } from '@temporalio/activity';
import { auditSensitiveToolRun } from '../audit/tool-runs.js';
import { timed } from '../core/metrics.js';
import { runParticipants } from '../runs/run-record.js';
import type { ActivityDeps } from './deps.js';
import { recordRunEvent } from './run-events.js';

export function createToolActivities({ tools, metrics, db, logger }: ActivityDeps) {
  return {
    async runTool(input: { workflowId: string; callId: string; name: string; arguments: string }): Promise<unknown> {
      const run = await runParticipants(db, input.workflowId);
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
