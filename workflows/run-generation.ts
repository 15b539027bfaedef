// Which generation of the message workflow a run follows, decided once at its start so a run replays the path it
// was recorded on. Each behaviour change of the past was its own patch, and every `patched()` a run passes costs
// it two history events (a marker, and the SDK's `TemporalChangeVersion` search-attribute upsert). A run started
// today passes one: the newest generation's patch, which stands for every change before it. Runs recorded before
// it ask the older patches, at the same places in their history as when they were recorded (see handle-message.ts).

import { patched } from '@temporalio/workflow';

/**
 * Stands for the patches 'search-attributes' (run-labels.ts), 'lean-run', 'model-run-merged' and
 * 'history-compaction' (handle-message.ts), plus one change of its own: a run's labels are upserted once per
 * workflow task rather than once per step (steps that end in the same task are never seen apart by a search).
 */
export const RUN_GENERATION_2 = 'run-generation-2';

/**
 * Generation 2, plus fewer local activities: record, verify and parse are one (`admitRun`), and the final reply
 * and the run's outcome are one (`replyAndFinish`), in activities/merged-steps.ts.
 */
export const RUN_GENERATION_3 = 'run-generation-3';

export type RunGeneration = 1 | 2 | 3;

/**
 * 3 for runs started since RUN_GENERATION_3, 2 for runs that recorded RUN_GENERATION_2, 1 for older ones (which
 * then ask their own patches). Asked newest first: a `patched()` that returns true stops the asking, so a new run
 * records one marker.
 */
export function runGeneration(): RunGeneration {
  if (patched(RUN_GENERATION_3)) return 3;
  if (patched(RUN_GENERATION_2)) return 2;
  return 1;
}
