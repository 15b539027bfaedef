// Which generation of the message workflow a run follows, decided once at its start so a run replays the path it
// was recorded on. Each behaviour change of the past was its own patch, and every `patched()` a run passes costs
// it two history events (a marker, and the SDK's `TemporalChangeVersion` search-attribute upsert). Runs of
// generations 2 and 3 pass one: the newest patch of their day, which stands for every change before it. A run of
// generation 4 passes none: its starter wrote the generation into its input (runs/start-message-run.ts). Runs
// recorded before that ask the older patches, at the same places in their history as when they were recorded
// (see handle-message.ts).

import { patched, workflowInfo } from '@temporalio/workflow';
import { MESSAGE_RUN_GENERATION } from '../runs/contract.js';

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

/** 4 is generation 3's path, decided from the run's input instead of a patch: two history events fewer per run. */
export type RunGeneration = 1 | 2 | 3 | typeof MESSAGE_RUN_GENERATION;

/**
 * 4 for runs whose input carries MESSAGE_RUN_GENERATION, 3 for runs that recorded RUN_GENERATION_3, 2 for runs
 * that recorded RUN_GENERATION_2, 1 for older ones (which then ask their own patches). Asked newest first: a
 * `patched()` that returns true stops the asking, so a new unstamped run records one marker.
 */
export function runGeneration(stamp: number | undefined): RunGeneration {
  // A stamp this code does not know (a later release's) counts as none: the run then records a marker for the
  // path it took, which that release's code finds when it replays the run.
  const stamped = stamp === MESSAGE_RUN_GENERATION;
  // Executed for the first time by this code: generation 4, and no command at all.
  if (stamped && !workflowInfo().unsafe.isReplaying) return MESSAGE_RUN_GENERATION;
  // Replaying, or unstamped. A worker of the release before generation 4 ignores the stamp and records its own
  // patch, so a stamped run is generation 4 only if its history holds no marker: while replaying, `patched()`
  // answers from the history and adds no command.
  if (patched(RUN_GENERATION_3)) return 3;
  if (patched(RUN_GENERATION_2)) return 2;
  return stamped ? MESSAGE_RUN_GENERATION : 1;
}
