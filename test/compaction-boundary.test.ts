// History compaction's boundary, on both database drivers: the newest message a summary covers is never read back
// beside the summary nor folded into the next one. created_at has microseconds and a JavaScript Date only
// milliseconds, so a boundary kept as a Date falls just before the message it names.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { compactHistory, loadConversationContext } from '../conversations/memory.js';
import { recordInboundMessage } from '../conversations/transcript.js';
import type { InboundMessage } from '../core/message.js';
import { type DatabaseHandle, openDatabase } from '../db/client.js';
import type { ChatRequest, LlmClient } from '../llm/types.js';
import type { BlobStore } from '../storage/blob-store.js';
import { openFilesystemStore } from '../storage/filesystem-store.js';

const handles: DatabaseHandle[] = [];
const scratch: string[] = [];
const scratchDir = async (name: string) => {
  const dir = await mkdtemp(join(tmpdir(), `conduit-compaction-${name}-`));
  scratch.push(dir);
  return dir;
};
afterAll(async () => {
  for (const handle of handles) await handle.close();
  for (const dir of scratch) await rm(dir, { recursive: true, force: true });
});

const drivers: Record<string, () => Promise<DatabaseHandle>> = {
  postgres: () => openDatabase({ kind: 'postgres', url: inject('databaseUrl') }),
  pglite: async () => openDatabase({ kind: 'pglite', dir: await scratchDir('pglite') }),
};

/** The model vendor's side: it answers every summary request and keeps what it was asked to summarise. */
function summarisingModel(): LlmClient & { asked: string[] } {
  const asked: string[] = [];
  return {
    provider: 'fake',
    model: 'fake-summary',
    asked,
    async chat(request: ChatRequest) {
      const transcript = String(request.messages.at(-1)?.content ?? '');
      asked.push(transcript);
      return {
        message: { content: `summary ${asked.length}`, toolCalls: [] },
        usage: { promptTokens: 1, completionTokens: 1 },
        model: 'fake-summary',
        latencyMs: 0,
        servedBy: { provider: 'fake', model: 'fake-summary', cached: false },
      };
    },
  };
}

describe.each(Object.keys(drivers))('on the %s database', (driver) => {
  let handle: DatabaseHandle;
  let blobs: BlobStore;
  beforeAll(async () => {
    handle = await drivers[driver]!();
    handles.push(handle);
    blobs = await openFilesystemStore(await scratchDir('blobs'));
  });

  it('covers the newest folded message exactly: it is neither read back nor folded again', async () => {
    const conversation = `c-${randomBytes(5).toString('hex')}`;
    const say = async (text: string) => {
      const message: InboundMessage = {
        channel: 'custom',
        messageId: `m-${randomBytes(5).toString('hex')}`,
        conversationId: conversation,
        conversationType: 'direct',
        sender: { id: 'u-1', name: 'Ann' },
        text,
        mentions: [],
        attachments: [],
        sentAt: new Date().toISOString(),
        replyTarget: { channel: 'custom', data: {} },
      };
      return recordInboundMessage(handle.db, {
        workflowId: `wf-${randomBytes(5).toString('hex')}`,
        message,
        text,
        anonymise: false,
      });
    };
    for (const text of ['one', 'two', 'three']) await say(text);
    const { conversationId } = await say('four');
    const model = summarisingModel();

    // Four messages, two kept verbatim: 'one' and 'two' are folded.
    expect(await compactHistory({ db: handle.db, blobs, model }, conversationId)).toEqual({ compacted: 2 });
    const { recordedAt } = await say('five');
    const context = await loadConversationContext(handle.db, conversationId, recordedAt, 10_000);
    expect(context.summary).toBe('summary 1');
    expect(context.history.map((message) => message.content)).toEqual(['three', 'four']);

    // 'three', 'four', 'five' are uncovered now: only 'three' is folded, 'two' is not summarised a second time.
    expect(await compactHistory({ db: handle.db, blobs, model }, conversationId)).toEqual({ compacted: 1 });
    expect(model.asked[1]).toBe('Earlier summary:\nsummary 1\n\nConversation since:\nUser: three');
  });
});
