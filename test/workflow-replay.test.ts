// Replays every recorded history in test/histories/ against today's workflow code: a change that would break a
// run already in flight (a different command order, a removed activity call without a patch) fails here.
// The histories are recorded from real runs by `npm run histories:record` (test/histories/record-histories.ts).
// The `*-labelled` ones were recorded after the patch 'search-attributes' (workflows/run-labels.ts), the others
// before it: runs started on either side of that change replay. The `*-lean` ones were recorded after the patches
// 'lean-run' and 'model-run-merged' (workflows/handle-message.ts), the `*-gen2` ones after 'run-generation-2'
// (workflows/run-generation.ts), which stands for all of those under one marker, and the `*-gen3` ones after
// 'run-generation-3', which merges record, verify and parse into one local activity and the reply and the finish
// into another, and the `*-gen4` ones from runs whose starter stamped generation 4 into their input (the path of
// generation 3 without its marker, workflows/run-generation.ts).
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { prepareWorkflowBundle } from '../workers/workflow-bundle.js';
import { historyDataConverter } from './histories/payload-key.js';

const folder = fileURLToPath(new URL('./histories/', import.meta.url));

describe('recorded workflow histories', () => {
  it('replay without nondeterminism on the current workflow code', async () => {
    const files = (await readdir(folder)).filter((file) => file.endsWith('.json')).sort();
    // One history per workflow type at least: a folder that lost its fixtures must not pass silently.
    const types = new Set<string>();
    const histories = await Promise.all(
      files.map(async (file) => {
        const history = temporal.api.history.v1.History.fromObject(
          JSON.parse(await readFile(`${folder}${file}`, 'utf8')),
        );
        const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
        if (started?.workflowType?.name) types.add(started.workflowType.name);
        return { workflowId: file.replace(/\.json$/, ''), history };
      }),
    );
    expect([...types].sort()).toEqual(['handleMessage', 'reminder', 'retentionPurge']);

    const failures: string[] = [];
    // The same cached bundle the workers load (workers/workflow-bundle.ts): what is replayed is what runs.
    const dataConverter = historyDataConverter();
    const { bundle } = await prepareWorkflowBundle({ dataConverter });
    for await (const result of Worker.runReplayHistories({ workflowBundle: bundle, dataConverter }, histories)) {
      if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
    }
    expect(failures).toEqual([]);
    expect(files.length).toBeGreaterThanOrEqual(10);
  });
});
