// The LLM decision layer on real Temporal and PostgreSQL, with two scripted OpenAI-compatible vendors behind an
// LLM_CONFIG_FILE: failover from a failing primary, a light model for intent and a strong one for planning,
// the response cache, Retry-After honoured across activity retries, and token usage recorded per run.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { asc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { llmUsage } from '../db/schema.js';
import type { RunStatus } from '../runs/contract.js';
import { type FakeLlm, startFakeLlm } from './fakes/openai-compatible.js';
import { startTestPlatform, type TestPlatform } from './support/platform.js';

let platform: TestPlatform;
let primary: FakeLlm;
let secondary: FakeLlm;
let configDir: string;

beforeAll(async () => {
  primary = await startFakeLlm({ apiKey: 'sk-primary-failover' });
  secondary = await startFakeLlm({ apiKey: 'sk-secondary-failover' });
  configDir = await mkdtemp(join(tmpdir(), 'conduit-llm-failover-'));
  const file = join(configDir, 'llm.json');
  const vendor = (fake: FakeLlm, keyVariable: string, model: string) => ({
    baseUrl: fake.baseUrl,
    apiKeyEnv: keyVariable,
    model,
    timeoutMs: 5_000,
    maxConcurrency: 4,
  });
  await writeFile(
    file,
    JSON.stringify({
      providers: {
        'primary-light': vendor(primary, 'PRIMARY_LLM_KEY', 'light-primary'),
        'primary-strong': vendor(primary, 'PRIMARY_LLM_KEY', 'strong-primary'),
        'secondary-light': vendor(secondary, 'SECONDARY_LLM_KEY', 'light-secondary'),
        'secondary-strong': vendor(secondary, 'SECONDARY_LLM_KEY', 'strong-secondary'),
      },
      roles: {
        intent: ['primary-light', 'secondary-light'],
        plan: ['primary-strong', 'secondary-strong'],
      },
    }),
  );
  platform = await startTestPlatform({
    LLM_CONFIG_FILE: file,
    PRIMARY_LLM_KEY: 'sk-primary-failover',
    SECONDARY_LLM_KEY: 'sk-secondary-failover',
    PIPELINE_PROGRESS_DELAY_MS: '60000',
  });
});
afterAll(async () => {
  await platform?.stop();
  await primary?.close();
  await secondary?.close();
  if (configDir) await rm(configDir, { recursive: true, force: true });
});

let sequence = 0;
async function send(text: string, conversation = `failover-${Date.now()}-${sequence}`) {
  const response = await platform.api('/v1/messages', {
    method: 'POST',
    body: JSON.stringify({
      message_id: `f-${Date.now()}-${sequence++}`,
      conversation_id: conversation,
      sender: { id: 'fiona' },
      text,
    }),
  });
  expect(response.status).toBe(202);
  return ((await response.json()) as { workflowId: string }).workflowId;
}

async function result(workflowId: string): Promise<RunStatus> {
  return (await platform.temporal.workflow.getHandle(workflowId).result()) as RunStatus;
}

async function usage(workflowId: string) {
  const rows = await platform.database.db
    .select()
    .from(llmUsage)
    .where(eq(llmUsage.workflowId, workflowId))
    .orderBy(asc(llmUsage.id));
  return rows.map(({ provider, model, cached, promptTokens, completionTokens }) => ({
    provider,
    model,
    cached,
    promptTokens,
    completionTokens,
  }));
}

const intent = (name: string) => ({ json: { intent: name, confidence: 0.9, reason: 'scripted' } });
const models = (fake: FakeLlm, from: number) => fake.requests.slice(from).map((request) => request.body.model);

describe('several providers per role', () => {
  it('answers from the secondary when the primary returns 503 and 429, light model for intent, strong for plan', async () => {
    const [primaryBefore, secondaryBefore] = [primary.requests.length, secondary.requests.length];
    primary.script(
      { status: 503, error: { message: 'overloaded', type: 'server_error' } },
      { status: 429, error: { message: 'rate limited', type: 'rate_limit_error' } },
    );
    secondary.script(intent('question'), {
      text: 'Answered by the secondary.',
      usage: { promptTokens: 40, completionTokens: 6 },
    });

    const workflowId = await send('which vendor answers this?');
    const run = await result(workflowId);

    expect(run).toMatchObject({
      reply: 'Answered by the secondary.',
      outcome: 'replied',
      intent: { name: 'question', source: 'llm' },
    });
    expect(models(primary, primaryBefore)).toEqual(['light-primary', 'strong-primary']);
    expect(models(secondary, secondaryBefore)).toEqual(['light-secondary', 'strong-secondary']);
    expect(secondary.requests.at(-1)!.headers.authorization).toBe('Bearer sk-secondary-failover');
    expect(await usage(workflowId)).toEqual([
      {
        provider: 'secondary-light',
        model: 'light-secondary',
        cached: false,
        promptTokens: expect.any(Number),
        completionTokens: expect.any(Number),
      },
      { provider: 'secondary-strong', model: 'strong-secondary', cached: false, promptTokens: 40, completionTokens: 6 },
    ]);
    expect((await usage(workflowId))[0]!.promptTokens).toBeGreaterThan(0);
  });

  it('serves an identical intent request from the cache without a second HTTP call', async () => {
    const conversation = `cache-${Date.now()}`;
    const secondaryBefore = secondary.requests.length;
    primary.script(intent('task'), { text: 'First answer.' });
    const first = await result(await send('please summarise my week', conversation));
    expect(first.reply).toBe('First answer.');

    const primaryBefore = primary.requests.length;
    const hitsBefore = await cacheHits('primary-light');
    primary.script({ text: 'Second answer.' });
    const workflowId = await send('please summarise my week', conversation);
    const second = await result(workflowId);

    expect(second.reply).toBe('Second answer.');
    expect(second.intent).toEqual(first.intent);
    // Only the planning call went out: its history now holds the first exchange, so it is not a repeat.
    expect(models(primary, primaryBefore)).toEqual(['strong-primary']);
    expect(secondary.requests.length).toBe(secondaryBefore);
    expect(await cacheHits('primary-light')).toBe(hitsBefore + 1);
    expect(await usage(workflowId)).toMatchObject([
      { provider: 'primary-light', model: 'light-primary', cached: true },
      { provider: 'primary-strong', model: 'strong-primary', cached: false },
    ]);
  });

  it('waits the largest Retry-After before retrying when every provider is throttled', async () => {
    const [primaryBefore, secondaryBefore] = [primary.requests.length, secondary.requests.length];
    primary.script(
      intent('question'),
      { status: 429, error: { message: 'slow down', type: 'rate_limit_error' }, headers: { 'retry-after': '1' } },
      { text: 'Answered after the wait.' },
    );
    secondary.script({
      status: 503,
      error: { message: 'busy', type: 'server_error' },
      headers: { 'retry-after': '3' },
    });

    const workflowId = await send('are you there after a pause?');
    const run = await result(workflowId);

    expect(run.reply).toBe('Answered after the wait.');
    const [, throttled, retried] = primary.requests.slice(primaryBefore);
    const [busy] = secondary.requests.slice(secondaryBefore);
    expect([throttled?.body.model, busy?.body.model, retried?.body.model]).toEqual([
      'strong-primary',
      'strong-secondary',
      'strong-primary',
    ]);
    // Without the hint the workflow's retry policy would retry after 1 s; the secondary asked for 3 s.
    expect(retried!.at - busy!.at).toBeGreaterThanOrEqual(2_900);
    expect(await usage(workflowId)).toMatchObject([
      { provider: 'primary-light', cached: false },
      { provider: 'primary-strong', cached: false },
    ]);
  });
});

async function cacheHits(provider: string): Promise<number> {
  const { values } = await platform.metrics.llmCacheHits.get();
  return values.find((value) => value.labels.provider === provider)?.value ?? 0;
}
