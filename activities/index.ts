// All activities, built from their dependencies (createActivities(deps)), so tests hand in real services.
// Workflows import only the type.
import type { ActivityDeps } from './deps.js';
import { withTypedFailures } from './failures.js';
import { createJobActivities } from './jobs.js';
import { createLlmActivities } from './llm.js';
import { createMemoryActivities } from './memory.js';
import { createMergedStepActivities } from './merged-steps.js';
import { createRecordActivities } from './record.js';
import { createReplyActivities } from './reply.js';
import { createRetentionActivities } from './retention.js';
import { createScheduleActivities } from './schedules.js';
import { createToolActivities } from './tools.js';
import { createVerifyActivities } from './verify.js';

export function createActivities(deps: ActivityDeps) {
  return withTypedFailures({
    ...createVerifyActivities(deps),
    ...createRecordActivities(deps),
    ...createMergedStepActivities(deps),
    ...createLlmActivities(deps),
    ...createMemoryActivities(deps),
    ...createToolActivities(deps),
    ...createReplyActivities(deps),
    ...createJobActivities(deps),
    ...createScheduleActivities(deps),
    ...createRetentionActivities(deps),
  });
}

export type Activities = ReturnType<typeof createActivities>;
export type { ActivityDeps };
