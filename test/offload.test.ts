// Large message text travels by reference: the run's start payload stays small while the text is kept whole
// in the object store and the database.
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InboundMessage } from '../core/message.js';
import { messages } from '../db/schema.js';
import type { RunStatus } from '../runs/contract.js';
import { fullText, MAX_INLINE_TEXT_BYTES, offloadKey } from '../runs/offload-large-text.js';
import { startMessageRun } from '../runs/start-message-run.js';
import { startTestPlatform, type TestPlatform } from './support/platform.js';

let platform: TestPlatform;
beforeAll(async () => {
  platform = await startTestPlatform();
});
afterAll(async () => {
  await platform?.stop();
});

describe('large message text', () => {
  it('is stored in the object store and the run carries only a reference', async () => {
    const body = 'x'.repeat(300 * 1024);
    const message: InboundMessage = {
      channel: 'api',
      messageId: `big-${Date.now()}`,
      conversationId: 'big',
      conversationType: 'direct',
      sender: { id: 'u' },
      text: `/echo ${body}`,
      mentions: [],
      attachments: [],
      sentAt: new Date().toISOString(),
      replyTarget: { channel: 'api', data: {} },
    };
    const run = await startMessageRun(platform.temporal, platform.config.temporal.taskQueue, message, {
      blobs: platform.blobs,
    });
    const handle = platform.temporal.workflow.getHandle(run.workflowId);
    const result = (await handle.result()) as RunStatus;
    expect(result.reply?.startsWith('xxxx')).toBe(true);
    expect(result.reply).toContain('[… message truncated]');

    const history = await handle.fetchHistory();
    const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
    const inputBytes = (started?.input?.payloads ?? []).reduce((sum, payload) => sum + (payload.data?.length ?? 0), 0);
    expect(inputBytes).toBeLessThan(MAX_INLINE_TEXT_BYTES / 8);

    const stored = await platform.blobs.get(offloadKey(message));
    expect(stored?.toString()).toBe(message.text);
    expect(await fullText({ ...message, textRef: offloadKey(message), text: 'preview' }, platform.blobs)).toBe(
      message.text,
    );
    const [row] = await platform.database.db
      .select()
      .from(messages)
      .where(eq(messages.id, `${run.workflowId}:in`));
    expect(row?.text.length).toBe(message.text.length);
  });
});
