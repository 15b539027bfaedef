// Assertions about runs shared by the channel test files: how many executions a workflow id has, that none
// was started, and one series' value on /metrics.
import { WorkflowNotFoundError } from '@temporalio/client';
import { expect } from 'vitest';
import { eventually, type TestPlatform } from './platform.js';

/** How many executions Temporal holds under this workflow id (visibility may lag a moment behind). */
export async function executionsOf(platform: TestPlatform, workflowId: string): Promise<number> {
  return eventually(
    async () => {
      let count = 0;
      for await (const _ of platform.temporal.workflow.list({ query: `WorkflowId = '${workflowId}'` })) count += 1;
      return count > 0 ? count : undefined;
    },
    10_000,
    `${workflowId} to be visible`,
  );
}

export async function expectNoRun(platform: TestPlatform, workflowId: string): Promise<void> {
  await expect(platform.temporal.workflow.getHandle(workflowId).describe()).rejects.toBeInstanceOf(
    WorkflowNotFoundError,
  );
}

export async function metricValue(platform: TestPlatform, series: string): Promise<number> {
  const text = await (await fetch(platform.metricsUrl!)).text();
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}
