// Runs are found and read in Temporal by what they did: real messages on the real stack (a Feishu event through the
// webhook, API messages calling tools and waiting for approval), then every query of docs/operations.md "Find a
// run" run as written through the visibility API, and the summaries each step carries read back from the history.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client, type WorkflowExecutionInfo } from '@temporalio/client';
import { decodeOptionalSinglePayload } from '@temporalio/common/lib/internal-non-workflow/index.js';
import { msToTs } from '@temporalio/common/lib/time.js';
import { temporal } from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../api/admin-keys.js';
import { ensureSearchAttributes } from '../platform/search-attributes.js';
import type { RunStatus } from '../runs/contract.js';
import { pseudonym } from '../runs/run-labels.js';
import {
  CHANNEL_ATTRIBUTE,
  CONDUIT_SEARCH_ATTRIBUTES,
  CONVERSATION_ATTRIBUTE,
  INTENT_ATTRIBUTE,
  MODEL_ATTRIBUTE,
  OUTCOME_ATTRIBUTE,
  SENDER_ATTRIBUTE,
  STEP_ATTRIBUTE,
  TOOLS_ATTRIBUTE,
} from '../runs/search-attributes.js';
import { type FeishuOpenApiFake, startFeishuOpenApi } from './fakes/feishu-open-api.js';
import { type FakeLlm, startFakeLlm } from './fakes/openai-compatible.js';
import { deliverFeishuText } from './support/feishu-events.js';
import { eventually, projectRoot, startTestPlatform, type TestPlatform } from './support/platform.js';

const FEISHU = { appId: 'cli_labels', appSecret: `fs-labels-${randomBytes(8).toString('hex')}`, token: 'fs-labels' };

let platform: TestPlatform;
let llm: FakeLlm;
let feishu: FeishuOpenApiFake;
let web: Server;
let webOrigin: string;
let queries: string[];

beforeAll(async () => {
  web = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'));
  await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
  webOrigin = `http://127.0.0.1:${(web.address() as AddressInfo).port}`;
  llm = await startFakeLlm();
  feishu = await startFeishuOpenApi({ appId: FEISHU.appId, appSecret: FEISHU.appSecret });
  platform = await startTestPlatform({
    LLM_BASE_URL: llm.baseUrl,
    LLM_MODEL: 'labels-model',
    LLM_TIMEOUT_MS: '5000',
    LLM_CACHE_TTL_SECONDS: '0',
    APPROVAL_TIMEOUT_MS: '60000',
    PIPELINE_PROGRESS_DELAY_MS: '600000',
    TOOLS_HTTP_ALLOWED_HOSTS: '127.0.0.1',
    FEISHU_APP_ID: FEISHU.appId,
    FEISHU_APP_SECRET: FEISHU.appSecret,
    FEISHU_VERIFICATION_TOKEN: FEISHU.token,
    FEISHU_BASE_URL: feishu.url,
  });
  const docs = await readFile(`${projectRoot}/docs/operations.md`, 'utf8');
  queries = [...docs.matchAll(/--query "([^"]+)"/g)].map((match) => match[1] as string);
});
afterAll(async () => {
  await platform?.stop();
  await llm?.close();
  await feishu?.close();
  await new Promise((resolve) => web?.close(resolve));
});

const intent = (name: string) => ({ json: { intent: name, confidence: 0.9, reason: 'scripted' } });
const handle = (workflowId: string) => platform.temporal.workflow.getHandle(workflowId);
const result = async (workflowId: string) => (await handle(workflowId).result()) as RunStatus;

/** Sends as the platform's admin key acting for `sender`, or as `key` itself (a second credential). */
async function sendApi(text: string, conversation: string, key?: string): Promise<string> {
  const response = await platform.api('/v1/messages', {
    method: 'POST',
    ...(key ? { headers: { authorization: `Bearer ${key}` } } : {}),
    body: JSON.stringify({
      conversation_id: conversation,
      ...(key ? {} : { sender: { id: 'u-labels', name: 'Zhang San' } }),
      text,
    }),
  });
  expect(response.status).toBe(202);
  return ((await response.json()) as { workflowId: string }).workflowId;
}

/** A Feishu text message through the webhook; returns its run's workflow id. */
async function sendFeishu(text: string, chatId: string): Promise<string> {
  const messageId = `om_${randomBytes(12).toString('hex')}`;
  const status = await deliverFeishuText(platform.apiUrl, {
    token: FEISHU.token,
    appId: FEISHU.appId,
    messageId,
    chatId,
    chatType: 'p2p',
    text,
    openId: 'ou_labels',
  });
  expect(status).toBe(200);
  return `message:feishu:${messageId}`;
}

/** The workflow ids a visibility query lists, polled until `expected` are all there (visibility lags a little). */
async function listed(query: string, expected: string[]): Promise<string[]> {
  return eventually(
    async () => {
      const ids: string[] = [];
      for await (const run of platform.temporal.workflow.list({ query }))
        ids.push((run as WorkflowExecutionInfo).workflowId);
      return expected.every((id) => ids.includes(id)) ? ids : undefined;
    },
    20_000,
    `${expected.join(', ')} listed by ${query}`,
  );
}

/** Today's midnight in China Standard Time, the form the documented query uses. */
function todayInShanghai(): string {
  const day = new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 10);
  return `${day}T00:00:00+08:00`;
}

describe('search attributes', () => {
  it('answer every "Find a run" query of docs/operations.md, as written there', async () => {
    expect(queries).toHaveLength(4);
    // The README's "Find a run" table shows the same queries (the conversation one with a placeholder).
    const readme = await readFile(`${projectRoot}/README.md`, 'utf8');
    for (const query of queries.slice(0, 3)) expect(readme).toContain(`\`${query}\``);
    expect(readme).toContain("`ConduitConversation = '<pseudonym>'`");
    const [feishuFailed, waitingForApproval, usedHttpRequest, oneConversation] = queries as [
      string,
      string,
      string,
      string,
    ];

    // A Feishu run that fails (the model refuses the key) and one that succeeds, in one chat.
    const chatId = `oc_${randomBytes(12).toString('hex')}`;
    llm.script(intent('question'), { status: 401, error: { message: 'invalid api key', type: 'auth' } });
    const failed = await sendFeishu('what is the weather in Hangzhou today?', chatId);
    expect(await result(failed)).toMatchObject({ outcome: 'failed' });
    const replied = await sendFeishu('/echo fine', chatId);
    expect(await result(replied)).toMatchObject({ outcome: 'replied' });

    // An API run that reads with http_get, then asks for http_request and waits for approval.
    llm.script(
      intent('task'),
      { toolCalls: [{ id: 'g', name: 'http_get', arguments: { url: `${webOrigin}/status` } }] },
      { toolCalls: [{ id: 'p', name: 'http_request', arguments: { method: 'POST', url: `${webOrigin}/orders` } }] },
    );
    const conversation = `labels-${randomBytes(4).toString('hex')}`;
    const waiting = await sendApi('check the status and order tea', conversation);
    const jobId = await eventually(
      async () => (await handle(waiting).query<RunStatus>('status')).pendingApproval?.jobId,
      30_000,
      'a pending approval',
    );

    const today = todayInShanghai();
    const failedToday = feishuFailed.replace(/'\d{4}-\d{2}-\d{2}T00:00:00\+08:00'/, `'${today}'`);
    expect(failedToday).toContain(today);
    const failedIds = await listed(failedToday, [failed]);
    expect(failedIds).not.toContain(replied);
    expect(failedIds).not.toContain(waiting);

    expect(await listed(waitingForApproval, [waiting])).not.toContain(replied);
    expect(await listed(usedHttpRequest, [waiting])).not.toContain(failed);

    const feishuConversation = oneConversation.replace(/'[0-9a-f]{16}'/, `'${pseudonym('feishu', chatId)}'`);
    const conversationIds = await listed(feishuConversation, [failed, replied]);
    expect(conversationIds).not.toContain(waiting);

    // Approved: the run goes on and its attributes follow, so it leaves the "waiting" list.
    llm.script({ text: 'Ordered tea.' });
    // A second person is a second credential: a key with the approver role.
    const boss = await createApiKey(platform.database.db, `labels-boss-${Date.now()}`, 'approver');
    await result(await sendApi(`/approve ${jobId}`, conversation, boss.key));
    expect(await result(waiting)).toMatchObject({ outcome: 'replied' });
    await eventually(async () => {
      const ids = await listed(`WorkflowId = '${waiting}'`, [waiting]);
      const stillWaiting: string[] = [];
      for await (const run of platform.temporal.workflow.list({ query: waitingForApproval }))
        stillWaiting.push(run.workflowId);
      return ids.length === 1 && !stillWaiting.includes(waiting) ? true : undefined;
    });

    // The approval reads as three labelled steps in the history.
    expect(await activitySummaries(waiting)).toEqual(
      expect.arrayContaining([
        'tool http_get 127.0.0.1',
        `approval ${jobId} for http_request: record the job`,
        `approval ${jobId}: ask in api`,
        `approval ${jobId}: approved`,
        'tool http_request 127.0.0.1',
      ]),
    );

    const attributes = (await handle(waiting).describe()).typedSearchAttributes;
    expect(attributes.get(CHANNEL_ATTRIBUTE)).toBe('api');
    expect(attributes.get(CONVERSATION_ATTRIBUTE)).toBe(pseudonym('api', conversation));
    expect(attributes.get(SENDER_ATTRIBUTE)).toBe(pseudonym('api', 'u-labels'));
    expect(attributes.get(INTENT_ATTRIBUTE)).toBe('task');
    expect(attributes.get(STEP_ATTRIBUTE)).toBe('done');
    expect(attributes.get(OUTCOME_ATTRIBUTE)).toBe('replied');
    expect(attributes.get(MODEL_ATTRIBUTE)).toBe('labels-model');
    expect(attributes.get(TOOLS_ATTRIBUTE)).toEqual(['http_get', 'http_request']);
    // Pseudonyms, never the platform's ids or any of the message's words.
    const fields = (await handle(failed).describe()).raw.workflowExecutionInfo?.searchAttributes?.indexedFields ?? {};
    const stored = Object.values(fields)
      .map((payload) => Buffer.from(payload.data ?? []).toString('utf8'))
      .join(' ');
    expect(stored).toContain(pseudonym('feishu', chatId));
    expect(stored).not.toContain(chatId);
    expect(stored).not.toContain('ou_labels');
    expect(stored).not.toContain('Hangzhou');
  });
});

describe('readable histories', () => {
  it('gives the run a masked one-line summary and every step a summary of what it did', async () => {
    llm.script(
      intent('task'),
      { toolCalls: [{ id: 'g', name: 'http_get', arguments: { url: `${webOrigin}/weather?city=hz` } }] },
      { text: 'Sunny.' },
    );
    const workflowId = await sendApi(
      'call me on 13812345678 about the weather in Hangzhou and the rest of the week please',
      `labels-${randomBytes(4).toString('hex')}`,
    );
    expect(await result(workflowId)).toMatchObject({ outcome: 'replied', reply: 'Sunny.' });

    const description = await handle(workflowId).describe();
    const summary = await description.staticSummary();
    expect(summary).toBe('api · Zhang San: "call me on [PHONE_1] about the weather in …"');
    expect(await description.staticDetails()).toContain(`ConduitConversation = '`);

    const summaries = await activitySummaries(workflowId);
    expect(summaries).toEqual([
      'record the run, verify the sender on api, parse the message',
      // One activity since the patch 'model-run-merged' (workflows/handle-message.ts).
      'intent (labels-model) and plan (labels-model), turn 1',
      'tool http_get 127.0.0.1',
      'plan (labels-model), turn 2',
      'reply to api, then record the outcome: replied',
    ]);
  });
});

describe('reminders', () => {
  it('are found with the conversation that made them and say what they will remind of', async () => {
    const conversation = `labels-${randomBytes(4).toString('hex')}`;
    const run = await result(await sendApi('/remind 1h stretch your legs', conversation));
    const jobId = /Job id: (r-[0-9a-f]+)/.exec(run.reply ?? '')?.[1];
    expect(jobId).toBeDefined();
    const reminder = await handle(`reminder:${jobId}`).describe();
    expect(await reminder.staticSummary()).toMatch(
      new RegExp(`^reminder ${jobId} · api · Zhang San, due \\S+: "stretch your legs"$`),
    );
    expect(reminder.typedSearchAttributes.get(CONVERSATION_ATTRIBUTE)).toBe(pseudonym('api', conversation));
    expect(reminder.typedSearchAttributes.get(CHANNEL_ATTRIBUTE)).toBe('api');
    await listed(`ConduitConversation = '${pseudonym('api', conversation)}' AND WorkflowType = 'reminder'`, [
      `reminder:${jobId}`,
    ]);
    await result(await sendApi(`/cancel ${jobId}`, conversation));
    await handle(`reminder:${jobId}`).result();
    expect(await activitySummaries(`reminder:${jobId}`)).toEqual([`reminder ${jobId}: cancelled`]);
  });
});

describe('a namespace that lacks the attributes (a cluster)', () => {
  it('gets them added at start by the first process, and the next finds them there', async () => {
    const namespace = `labels-${randomBytes(4).toString('hex')}`;
    await platform.temporal.workflowService.registerNamespace({
      namespace,
      workflowExecutionRetentionPeriod: msToTs('1 day'),
    });
    // A namespace just registered takes a moment to be known to every service of the server.
    const first = await eventually(() => ensureSearchAttributes(platform.temporal, namespace), 30_000, 'registration');
    expect(first.added).toEqual(CONDUIT_SEARCH_ATTRIBUTES.map((key) => key.name));
    expect(await ensureSearchAttributes(platform.temporal, namespace)).toEqual({ added: [] });
    const { customAttributes } = await platform.temporal.connection.operatorService.listSearchAttributes({ namespace });
    expect(customAttributes?.ConduitTools).toBe(temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST);
    expect(customAttributes?.ConduitStep).toBe(temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD);

    // The dev server keeps search attributes in its cache (platform/temporal-dev-server.ts): attributes added at
    // run time must still be taken by a start that sets them and found by a query on them, well inside the
    // cache's minute. (The namespace's own registry may take a few seconds to hear of them, hence the retries.)
    const client = new Client({ connection: platform.temporal.connection, namespace });
    const workflowId = `labels-fresh-${randomBytes(4).toString('hex')}`;
    const started = await eventually(
      () =>
        client.workflow.start('handleMessage', {
          taskQueue: `no-worker-${workflowId}`,
          workflowId,
          typedSearchAttributes: [{ key: CHANNEL_ATTRIBUTE, value: 'api' }],
        }),
      30_000,
      'a start with the new attributes',
    );
    await eventually(
      async () => {
        for await (const run of client.workflow.list({ query: `ConduitChannel = 'api'` })) {
          if (run.workflowId === workflowId) return true;
        }
        return undefined;
      },
      20_000,
      `${workflowId} listed by its new attribute`,
    );
    await started.terminate('checked');
  });
});

/** The summaries of the run's activities and local activities (markers), in history order, decoded. */
async function activitySummaries(workflowId: string): Promise<string[]> {
  const history = await handle(workflowId).fetchHistory();
  const converter = platform.temporal.options.loadedDataConverter;
  const summaries: string[] = [];
  for (const event of history.events ?? []) {
    const scheduled = event.activityTaskScheduledEventAttributes ?? event.markerRecordedEventAttributes;
    if (!scheduled || !event.userMetadata?.summary) continue;
    summaries.push((await decodeOptionalSinglePayload<string>(converter, event.userMetadata.summary)) ?? '');
  }
  return summaries;
}
