// The execute step: one tool call per activity, so each has its own timeout, retries and history entry.
import { Context } from '@temporalio/activity';
import { timed } from '../core/metrics.js';
import type { ActivityDeps } from './deps.js';

export function createToolActivities({ tools, metrics }: ActivityDeps) {
  return {
    async runTool(input: { workflowId: string; name: string; arguments: string }): Promise<string> {
      const result = await timed(metrics.toolCalls, { tool: input.name }, () =>
        tools.runTool(input.name, input.arguments, {
          runId: input.workflowId,
          signal: Context.current().cancellationSignal,
        }),
      );
      return JSON.stringify(result ?? null);
    },
  };
}
