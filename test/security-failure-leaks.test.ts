// Personal data in a message that makes a step fail stays out of the places a failure travels to: the raw
// Temporal history (failure messages and stack traces are sealed by the payload codec), every log line
// (errors are masked before they are written), and the data directory's files (owner-only, including the
// embedded Temporal server's SQLite and its -wal).
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Client } from '@temporalio/client';
import proto from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../pii/logger.js';
import { freePort } from '../platform/free-port.js';
import type { RunStatus } from '../runs/contract.js';
import { type FakeLlm, startFakeLlm } from './fakes/openai-compatible.js';
import { startTestPlatform, type TestPlatform } from './support/platform.js';

const ID_CARD = '11010519491231002X';
const PHONE = '13812345678';
const TEXT = `please update my record: id ${ID_CARD}, phone ${PHONE}`;

let platform: TestPlatform;
let llm: FakeLlm;
const logLines: string[] = [];

beforeAll(async () => {
  // A vendor that refuses the content and quotes it back in its error, as content filters do.
  llm = await startFakeLlm({
    respond: (body) => {
      const last = [...body.messages].reverse().find((message) => message.role === 'user');
      return {
        status: 400,
        error: { message: `content rejected: ${String(last?.content)}`, type: 'invalid_request_error' },
      };
    },
  });
  const logger = createLogger(
    'debug',
    new Writable({
      write(chunk, _encoding, done) {
        logLines.push(chunk.toString());
        done();
      },
    }),
  );
  platform = await startTestPlatform(
    {
      TEMPORAL_ADDRESS: '',
      TEMPORAL_DEV_PORT: String(await freePort()),
      TEMPORAL_UI_PORT: String(await freePort()),
      LLM_BASE_URL: llm.baseUrl,
      LLM_MODEL: 'fake-model',
      LLM_PII_MASKING: 'off',
    },
    { logger, database: 'pglite', storage: 'filesystem' },
  );
}, 120_000);
afterAll(async () => {
  await platform?.stop();
  await llm?.close();
});

let workflowId: string;

describe('a failing step with personal data in the message', () => {
  it('ends the run with a polite failure reply', async () => {
    const response = await platform.api('/v1/messages', {
      method: 'POST',
      body: JSON.stringify({ conversation_id: 'leaks', sender: { id: 'u-leak' }, text: TEXT }),
    });
    expect(response.status).toBe(202);
    workflowId = ((await response.json()) as { workflowId: string }).workflowId;
    const run = (await platform.temporal.workflow.getHandle(workflowId).result()) as RunStatus;
    expect(run.outcome).toBe('failed');
    expect(llm.requests.some((request) => JSON.stringify(request.body).includes(ID_CARD))).toBe(true);
  });

  it('leaves no failure text in clear in the raw history, and the codec endpoint still reads it', async () => {
    const raw = new Client({ connection: platform.temporal.connection, namespace: platform.config.temporal.namespace });
    const history = await raw.workflow.getHandle(workflowId).fetchHistory();
    const bytes = Buffer.from(proto.temporal.api.history.v1.History.encode(history).finish());
    for (const value of [ID_CARD, PHONE, 'content rejected']) expect(bytes.includes(value)).toBe(false);

    const failed = history.events!.find((event) => event.activityTaskFailedEventAttributes);
    const failure = failed!.activityTaskFailedEventAttributes!.failure!;
    expect(failure.message).toBe('Encoded failure');
    expect(failure.stackTrace ?? '').toBe('');
    const attributes = failure.encodedAttributes!;
    const response = await platform.api('/codec/decode', {
      method: 'POST',
      body: JSON.stringify({
        payloads: [
          {
            metadata: Object.fromEntries(
              Object.entries(attributes.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
            ),
            data: Buffer.from(attributes.data!).toString('base64'),
          },
        ],
      }),
    });
    expect(response.status).toBe(200);
    const { payloads } = (await response.json()) as { payloads: Array<{ data: string }> };
    const decoded = JSON.parse(Buffer.from(payloads[0]!.data, 'base64').toString()) as { message: string };
    expect(decoded.message).toContain(`content rejected: ${TEXT}`);
  });

  it('writes no log line with the personal data in clear', () => {
    const logged = logLines.join('');
    expect(logged).toContain('pipeline step failed');
    expect(logged).toContain('[ID_CARD_1]');
    expect(logged).not.toContain(ID_CARD);
    expect(logged).not.toContain(PHONE);
  });

  it('keeps the data directory and everything in it readable by the owner only', async () => {
    const loose: string[] = [];
    const walk = async (path: string) => {
      const stats = await stat(path).catch(() => undefined);
      if (!stats) return;
      // PGlite's file system layer creates its files 0666 whatever the umask (the start-up walk tightens what
      // is there); they can only be opened through its directories, which are owner-only like every other.
      const pgliteFile = stats.isFile() && path.includes(`${platform.config.dataDir}/pglite/`);
      if (stats.mode & 0o077 && !pgliteFile) loose.push(`${path} ${(stats.mode & 0o777).toString(8)}`);
      if (stats.isDirectory()) for (const entry of await readdir(path)) await walk(join(path, entry));
    };
    await walk(platform.config.dataDir);
    expect((await stat(platform.config.dataDir)).mode & 0o777).toBe(0o700);
    const names = await readdir(join(platform.config.dataDir, 'temporal'));
    expect(names).toContain('temporal.db');
    expect(names).toContain('temporal.db-wal');
    expect(loose).toEqual([]);
  });
});
