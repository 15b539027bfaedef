// Which generation of the message workflow a run follows, decided once at its start so a run replays the path it
// was recorded on. Each behaviour change of the past was its own patch, and every `patched()` a run passes costs
// it two history events (a marker, and the SDK's `TemporalChangeVersion` search-attribute upsert). Runs started
// since the patch below take every one of those behaviours under one marker; runs recorded before it still ask
// the older patches, at the same places in their history as when they were recorded (see handle-message.ts).

import { patched } from '@temporalio/workflow';

/**
 * Stands for the patches 'search-attributes' (run-labels.ts), 'lean-run', 'model-run-merged' and
 * 'history-compaction' (handle-message.ts), plus one change of its own: a run's labels are upserted once per
 * workflow task rather than once per step (steps that end in the same task are never seen apart by a search).
 */
export const RUN_GENERATION_2 = 'run-generation-2';

/** True for runs started since RUN_GENERATION_2 (and for runs replaying a history that recorded it). */
export function isGeneration2(): boolean {
  return patched(RUN_GENERATION_2);
}
