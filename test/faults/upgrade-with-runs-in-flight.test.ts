// Issue 14 case 6, the worker half: a worker of the previous release is replaced by one of this tree (SIGTERM, as
// a rolling deploy does it) while runs are in flight and parked. The previous release is the commit before the
// workflow's last incompatible change (generation 4, workflows/run-generation.ts), taken from git history into
// a directory of its own; its runs must finish on the new code (replaying the history the old code recorded)
// with one reply each, and new runs take the new path. The API is this tree's, so the old worker is handed runs
// stamped with a generation it does not know: it records its own patch, which the new worker must honour. Move
// PREVIOUS_RELEASE to the commit before the next change of the kind, so the test always crosses the newest one.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeOptionalSinglePayload } from '@temporalio/common/lib/internal-non-workflow/index.js';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { replyOutbox } from '../../db/schema.js';
import type { HandleMessageInput, RunStatus } from '../../runs/contract.js';
import { formatKey, generateKey } from '../../security/key-list.js';
import { RUN_GENERATION_3 } from '../../workflows/run-generation.js';
import { type FakeLlm, startFakeLlm } from '../fakes/openai-compatible.js';
import { eventually, projectRoot, startTestPlatform, type TestPlatform } from '../support/platform.js';
import { workerProcesses } from '../support/worker-process.js';

/** The last commit before generation 4 (runs stamped by their starter instead of patched). */
const PREVIOUS_RELEASE = '50b36b847447199250586437bab490060c0d6117';

/** True when this checkout has git and the previous release in its history (a source tarball has neither). */
function previousReleaseAvailable(): boolean {
  try {
    execFileSync('git', ['cat-file', '-e', `${PREVIOUS_RELEASE}^{commit}`], { cwd: projectRoot, stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const hasPreviousRelease = previousReleaseAvailable();
const taskQueue = `upgrade-${Date.now()}`;
const sharedKeys = { CONDUIT_PAYLOAD_KEYS: formatKey(generateKey('payload')) };
let api: TestPlatform;
let llm: FakeLlm;
let dataDir: string;
let previousRoot: string;
const workers = workerProcesses(() => ({
  TEMPORAL_TASK_QUEUE: taskQueue,
  CONDUIT_DATA_DIR: dataDir,
  LLM_BASE_URL: llm.baseUrl,
  LLM_MODEL: 'fake-model',
  LLM_TIMEOUT_MS: '10000',
  ...sharedKeys,
}));

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'conduit-upgrade-'));
  if (!hasPreviousRelease) return;
  // The previous release's files only (no .git): the packages and the built tools are this tree's.
  previousRoot = join(dataDir, 'previous-release');
  await mkdir(previousRoot);
  execFileSync('sh', ['-c', `git archive ${PREVIOUS_RELEASE} | tar -x -C '${previousRoot}'`], { cwd: projectRoot });
  await symlink(join(projectRoot, 'node_modules'), join(previousRoot, 'node_modules'));
  await symlink(join(projectRoot, '.tools'), join(previousRoot, '.tools'));
  llm = await startFakeLlm();
  api = await startTestPlatform({ TEMPORAL_TASK_QUEUE: taskQueue, ...sharedKeys }, { worker: false });
}, 120_000);
afterAll(async () => {
  await workers.killAll();
  await api?.stop();
  await llm?.close();
  await rm(dataDir, { recursive: true, force: true });
});

async function send(text: string, conversation: string) {
  const response = await api.api('/v1/messages', {
    method: 'POST',
    body: JSON.stringify({
      message_id: `upgrade-${randomBytes(4).toString('hex')}`,
      conversation_id: conversation,
      sender: { id: 'ursula' },
      text,
    }),
  });
  expect(response.status).toBe(202);
  return ((await response.json()) as { workflowId: string }).workflowId;
}

/** The run's history: which patches it recorded, and any workflow task that failed (nondeterminism shows so). */
async function historyOf(workflowId: string) {
  const history = await api.temporal.workflow.getHandle(workflowId).fetchHistory();
  const events = history.events ?? [];
  const patches = events
    .map((event) => event.markerRecordedEventAttributes)
    .filter((marker) => marker?.markerName === 'core_patch')
    .map((marker) => {
      const data = marker?.details?.['patch-data']?.payloads?.[0]?.data;
      return data ? (JSON.parse(Buffer.from(data).toString('utf8')) as { id: string }).id : '';
    });
  const failures = events
    .map((event) => event.workflowTaskFailedEventAttributes?.failure?.message)
    .filter((message): message is string => message !== undefined);
  const completedBy = events
    .map((event) => event.workflowTaskCompletedEventAttributes?.identity)
    .filter((identity): identity is string => Boolean(identity));
  const changeVersionUpserts = events.filter(
    (event) =>
      event.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields?.TemporalChangeVersion,
  ).length;
  // The generation its starter wrote into its input (encrypted in the history, so decoded as the UI's codec would).
  const started = events[0]?.workflowExecutionStartedEventAttributes?.input?.payloads ?? [];
  const input = await decodeOptionalSinglePayload<HandleMessageInput>(
    api.temporal.options.loadedDataConverter,
    started[0],
  );
  return {
    patches,
    changeVersionUpserts,
    generation: input?.generation,
    failedTasks: failures.length,
    failures,
    completedBy,
  };
}

/** The run's result once it completes; fails at the first failed workflow task instead of waiting it out. */
async function finished(workflowId: string): Promise<unknown> {
  const handle = api.temporal.workflow.getHandle(workflowId);
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const { failures } = await historyOf(workflowId);
    if (failures.length > 0) throw new Error(`a workflow task of ${workflowId} failed: ${failures[0]}`);
    if ((await handle.describe()).status.name === 'COMPLETED') return handle.result();
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`${workflowId} did not complete within 60 s`);
}

// No git or no history (a source tarball): there is no previous release to start, so nothing to upgrade from.
it.skipIf(!hasPreviousRelease)(
  'runs in flight and parked on the previous release finish on this one, each with one reply',
  async () => {
    const previous = await workers.start(previousRoot);
    // A model run: intent and first plan, the echo tool, then a second plan that is still being answered when the
    // old worker is told to stop. Its later workflow tasks run on the new worker, replaying the old one's.
    const before = llm.requests.length;
    llm.script(
      { json: { intent: 'task', confidence: 0.9, reason: 'scripted' } },
      { toolCalls: [{ id: 'call_1', name: 'echo', arguments: { text: 'across the upgrade' } }] },
      { text: 'Finished on the new worker.', delayMs: 3_000 },
    );
    const modelRun = await send('echo across the upgrade, please', 'upgrade-model');
    // A reminder parked on the old worker, due after it is gone.
    const remindRun = await send('/remind 8s the upgrade is done', 'upgrade-remind');
    const scheduled = (await api.temporal.workflow.getHandle(remindRun).result()) as RunStatus;
    const jobId = /Job id: (r-[\w-]+)/.exec(scheduled.reply ?? '')?.[1];
    expect(jobId).toBeDefined();
    await eventually(async () => (llm.requests.length >= before + 3 ? true : undefined), 30_000, 'the second plan');

    // The rolling deploy: the old worker drains (its model call finishes), then the new one takes over.
    await workers.stop(previous, 'SIGTERM');
    expect(previous.exitCode).toBe(0);
    const current = await workers.start();

    const run = (await finished(modelRun)) as RunStatus;
    expect(run).toMatchObject({ reply: 'Finished on the new worker.', outcome: 'replied' });
    expect(await finished(`reminder:${jobId}`)).toBe('delivered');

    const modelHistory = await historyOf(modelRun);
    expect(modelHistory.failedTasks).toBe(0);
    // Started on the old code: its patch, although its input carries generation 4; finished by the new worker.
    expect(modelHistory.patches).toEqual([RUN_GENERATION_3]);
    expect(modelHistory.generation).toBe(4);
    expect(modelHistory.completedBy.at(0)).toContain(`${previous.pid}@`);
    expect(modelHistory.completedBy.at(-1)).toContain(`${current.pid}@`);
    expect((await historyOf(`reminder:${jobId}`)).failedTasks).toBe(0);

    // One reply each.
    const finals = await api.database.db
      .select()
      .from(replyOutbox)
      .where(and(eq(replyOutbox.workflowId, modelRun), eq(replyOutbox.kind, 'final')));
    expect(finals).toMatchObject([{ status: 'sent' }]);
    const reminders = await api.database.db
      .select()
      .from(replyOutbox)
      .where(eq(replyOutbox.key, `reminder:${jobId}`));
    expect(reminders).toMatchObject([{ status: 'sent', attempts: 1 }]);

    // A run started now takes the new path, with no marker and no `TemporalChangeVersion` upsert.
    const fresh = await send('/echo new generation', 'upgrade-fresh');
    expect(((await api.temporal.workflow.getHandle(fresh).result()) as RunStatus).reply).toBe('new generation');
    const freshHistory = await historyOf(fresh);
    expect(freshHistory).toMatchObject({ patches: [], changeVersionUpserts: 0, generation: 4, failedTasks: 0 });
  },
  180_000,
);
