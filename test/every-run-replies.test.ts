// Every accepted message ends with one message to the sender: a run whose step fails for good (the run's
// record, verify, parse, intent and plan, execute, reply recording) still answers once, with a polite notice
// that says nothing of the cause. Failures are forced on the real stack: database triggers that refuse a
// step's insert, a model that refuses, a tool that throws.
import { randomBytes } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { BadRequestError } from '../core/errors.js';
import { replyOutbox } from '../db/schema.js';
import type { RunStatus } from '../runs/contract.js';
import type { ToolDefinition } from '../tools/types.js';
import { type FakeLlm, startFakeLlm } from './fakes/openai-compatible.js';
import { startTestPlatform, type TestPlatform } from './support/platform.js';

const run = randomBytes(4).toString('hex');
const trigger = `conduit_doom_${run}`;
let platform: TestPlatform;
let llm: FakeLlm;
let explosions = 0;

const explodingTool: ToolDefinition<Record<string, never>> = {
  name: 'explode',
  description: 'Always fails',
  parameters: { type: 'object', properties: {} },
  inputSchema: z.object({}).strict() as z.ZodType<Record<string, never>>,
  sensitive: false,
  timeoutMs: 5_000,
  async run() {
    explosions += 1;
    throw new BadRequestError('the tool exploded');
  },
};

beforeAll(async () => {
  llm = await startFakeLlm({
    respond: (body) => {
      const all = JSON.stringify(body.messages);
      if (all.includes('doom-model')) return { status: 400, error: { message: 'the model refuses this' } };
      if (body.response_format) return { json: { intent: 'task', confidence: 0.9, reason: 'scripted' } };
      if (body.messages.at(-1)?.role === 'tool') return { status: 400, error: { message: 'the model is gone' } };
      if (all.includes('doom-tool')) return { toolCalls: [{ name: 'explode', arguments: {} }] };
      return { text: 'fine' };
    },
  });
  platform = await startTestPlatform(
    {
      LLM_BASE_URL: llm.baseUrl,
      LLM_MODEL: 'fake-model',
      LLM_TIMEOUT_MS: '5000',
      PIPELINE_PROGRESS_DELAY_MS: '600000',
    },
    { tools: [explodingTool as ToolDefinition] },
  );
  // Refuses one step's insert for the runs of this file whose message id names that step.
  await platform.database.db.execute(
    sql.raw(`
    create or replace function ${trigger}() returns trigger language plpgsql as $$
    begin
      -- Nested: a condition naming another table's column fails on this one.
      if tg_table_name = 'runs' then
        if new.workflow_id like '%doom-record-${run}%' then raise exception 'forced failure of the record step'; end if;
      elsif tg_table_name = 'run_events' then
        if new.workflow_id like '%doom-verify-${run}%' and new.data->>'step' = 'verify' then
          raise exception 'forced failure of the verify step';
        end if;
      elsif tg_table_name = 'messages' then
        if new.workflow_id like '%doom-parse-${run}%' and new.direction = 'in' then
          raise exception 'forced failure of the parse step';
        end if;
        if new.workflow_id like '%doom-reply-${run}%' and new.direction = 'out' then
          raise exception 'forced failure of the reply recording';
        end if;
      end if;
      return new;
    end $$;
    create trigger ${trigger} before insert on runs for each row execute function ${trigger}();
    create trigger ${trigger} before insert on run_events for each row execute function ${trigger}();
    create trigger ${trigger} before insert on messages for each row execute function ${trigger}();
  `),
  );
}, 120_000);
afterAll(async () => {
  if (platform) {
    for (const table of ['runs', 'run_events', 'messages']) {
      await platform.database.db.execute(sql.raw(`drop trigger if exists ${trigger} on ${table}`));
    }
    await platform.database.db.execute(sql.raw(`drop function if exists ${trigger}()`));
    await platform.stop();
  }
  await llm?.close();
});

async function send(step: string, text = 'please do the thing') {
  const response = await platform.api('/v1/messages', {
    method: 'POST',
    body: JSON.stringify({
      message_id: `${step}-${run}-${randomBytes(3).toString('hex')}`,
      conversation_id: `${step}-${run}`,
      sender: { id: `u-${run}` },
      text,
    }),
  });
  expect(response.status).toBe(202);
  const { workflowId } = (await response.json()) as { workflowId: string };
  const result = (await platform.temporal.workflow.getHandle(workflowId).result()) as RunStatus;
  const finals = await platform.database.db
    .select({ key: replyOutbox.key })
    .from(replyOutbox)
    .where(and(eq(replyOutbox.workflowId, workflowId), eq(replyOutbox.kind, 'final')));
  return { result, finals: finals.length };
}

const POLITE = /^Sorry, /;

describe('a run whose step fails for good', () => {
  it('still answers once, whichever step failed', async () => {
    const [record, verify, parse, model, tool, reply] = await Promise.all([
      send('doom-record'),
      send('doom-verify'),
      send('doom-parse'),
      send('doom-model', 'doom-model: answer this'),
      send('doom-tool', 'doom-tool: use the tool'),
      send('doom-reply'),
    ]);
    for (const [step, { result, finals }] of Object.entries({ record, verify, parse, model, tool })) {
      expect(result.outcome, step).toBe('failed');
      expect(result.reply, step).toMatch(POLITE);
      expect(result.reply, step).not.toContain('forced');
      expect(finals, step).toBe(1);
    }
    expect(tool.result.toolCalls).toMatchObject([{ name: 'explode', ok: false }]);
    expect(explosions).toBeGreaterThan(0);
    // Recording the reply in the transcript failed after it was sent: it is not sent a second time.
    expect(reply.finals).toBe(1);
    expect(reply.result.reply).toBe('fine');
  });
});
