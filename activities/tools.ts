// The execute step: one tool call per activity, so each has its own timeout, retries and history entry.
import { Context } from '@temporalio/activity';
import { timed } from '../core/metrics.js';
import type { ActivityDeps } from './deps.js';
import { recordRunEvent } from './run-events.js';

export function createToolActivities({ tools, metrics, db }: ActivityDeps) {
  return {
    async runTool(input: { workflowId: string; callId: string; name: string; arguments: string }): Promise<unknown> {
      const result = await timed(metrics.toolCalls, { tool: input.name }, () =>
        tools.runTool(input.name, input.arguments, {
          runId: input.workflowId,
          signal: Context.current().cancellationSignal,
        }),
      );
      await recordRunEvent(db, 'tool', { tool: input.name, ok: true }, { dedupeSuffix: input.callId });
      return result ?? null;
    },
  };
}
