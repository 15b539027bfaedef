// Durability with real process kills: worker processes (`npm run worker`'s entry) are SIGKILLed mid-run and
// replaced; runs and reminders still complete, each with exactly one reply.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { and, eq } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { replyOutbox, runEvents } from '../db/schema.js';
import type { RunStatus } from '../runs/contract.js';
import { formatKey, generateKey } from '../security/key-list.js';
import { type FakeLlm, startFakeLlm } from './fakes/openai-compatible.js';
import { eventually, projectRoot, startTestPlatform, type TestPlatform } from './support/platform.js';

const taskQueue = `crash-${Date.now()}`;
// API and worker processes must share the payload and master keys to read each other's runs.
const sharedKeys = {
  CONDUIT_PAYLOAD_KEYS: formatKey(generateKey('payload')),
};
let api: TestPlatform;
let llm: FakeLlm;
let dataDir: string;
const workers = new Set<ChildProcess>();

function workerEnv(): NodeJS.ProcessEnv {
  const s3 = inject('s3');
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    TEMPORAL_TASK_QUEUE: taskQueue,
    DATABASE_URL: inject('databaseUrl'),
    S3_ENDPOINT: s3.endpoint,
    S3_ACCESS_KEY: s3.accessKey,
    S3_SECRET_KEY: s3.secretKey,
    S3_BUCKET: 'conduit-test',
    CONDUIT_DATA_DIR: dataDir,
    LLM_BASE_URL: llm.baseUrl,
    LLM_MODEL: 'fake-model',
    LLM_TIMEOUT_MS: '2000',
    LOG_LEVEL: 'warn',
    ...sharedKeys,
  };
}

/** Starts a worker as its own OS process and resolves once it reports ready. */
async function startWorkerProcess(): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'workers/main.ts'], {
    cwd: projectRoot,
    env: workerEnv(),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  workers.add(child);
  child.once('exit', () => workers.delete(child));
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker not ready in time:\n${output.slice(-2000)}`)), 45_000);
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('is ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`worker exited with ${code}:\n${output.slice(-2000)}`));
    });
  });
  return child;
}

function kill(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'conduit-crash-'));
  llm = await startFakeLlm();
  api = await startTestPlatform({ TEMPORAL_TASK_QUEUE: taskQueue, ...sharedKeys }, { worker: false });
});
afterEach(async () => {
  await Promise.all([...workers].map(kill));
});
afterAll(async () => {
  await api?.stop();
  await llm?.close();
  await rm(dataDir, { recursive: true, force: true });
});

async function send(text: string, sender = 'dora') {
  const response = await api.api('/v1/messages', {
    method: 'POST',
    body: JSON.stringify({ conversation_id: 'crash', sender: { id: sender }, text }),
  });
  return ((await response.json()) as { workflowId: string }).workflowId;
}

describe('a worker process killed mid-run', () => {
  it('completes the run once on a restarted worker, with one reply', async () => {
    const first = await startWorkerProcess();
    const before = llm.requests.length;
    llm.script(
      { json: { intent: 'question', confidence: 0.8, reason: 'scripted' } },
      // The first planning call hangs; its worker dies while waiting for it.
      { text: 'never delivered', delayMs: 30_000 },
      { text: 'Survived the crash.' },
    );
    const workflowId = await send('are you durable?');
    await eventually(async () => (llm.requests.length >= before + 2 ? true : undefined), 20_000, 'the planning call');
    await kill(first);

    await startWorkerProcess();
    const run = (await api.temporal.workflow.getHandle(workflowId).result()) as RunStatus;
    expect(run).toMatchObject({ reply: 'Survived the crash.', outcome: 'replied' });
    const replies = await api.database.db
      .select()
      .from(replyOutbox)
      .where(and(eq(replyOutbox.workflowId, workflowId), eq(replyOutbox.kind, 'final')));
    expect(replies).toMatchObject([{ status: 'sent', attempts: 1 }]);
    const replyEvents = await api.database.db
      .select()
      .from(runEvents)
      .where(and(eq(runEvents.workflowId, workflowId), eq(runEvents.type, 'reply')));
    expect(replyEvents).toHaveLength(1);
  });

  it('delivers a reminder that fell due while no worker was running', async () => {
    const first = await startWorkerProcess();
    const workflowId = await send('/remind 2s check the oven');
    const scheduled = (await api.temporal.workflow.getHandle(workflowId).result()) as RunStatus;
    const jobId = /Job id: (r-[\w-]+)/.exec(scheduled.reply ?? '')?.[1];
    expect(jobId).toBeDefined();
    await kill(first);
    // Let the reminder fall due with nobody to run it.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    await startWorkerProcess();
    expect(await api.temporal.workflow.getHandle(`reminder:${jobId}`).result()).toBe('delivered');
    const sent = await api.database.db
      .select()
      .from(replyOutbox)
      .where(eq(replyOutbox.key, `reminder:${jobId}`));
    expect(sent).toMatchObject([{ status: 'sent', attempts: 1 }]);
  });
});
