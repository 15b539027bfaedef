// The run steps' writes that share one statement, on both database drivers: each counts or records what it did
// before, a retried step writes nothing twice that it wrote once, and reads back what it read the first time.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { InboundMessage } from '../core/message.js';
import { type DatabaseHandle, openDatabase } from '../db/client.js';
import { verifySender } from '../runs/verify-sender.js';

const handles: DatabaseHandle[] = [];
const scratch: string[] = [];
afterAll(async () => {
  for (const handle of handles) await handle.close();
  for (const dir of scratch) await rm(dir, { recursive: true, force: true });
});

const drivers: Record<string, () => Promise<DatabaseHandle>> = {
  postgres: () => openDatabase({ kind: 'postgres', url: inject('databaseUrl') }),
  pglite: async () => {
    const dir = await mkdtemp(join(tmpdir(), 'conduit-step-writes-'));
    scratch.push(dir);
    return openDatabase({ kind: 'pglite', dir });
  },
};

const unique = (prefix: string) => `${prefix}-${randomBytes(5).toString('hex')}`;

function inbound(conversationId: string, sender = unique('u')): InboundMessage {
  return {
    channel: 'custom',
    messageId: unique('m'),
    conversationId,
    conversationType: 'direct',
    sender: { id: sender, name: 'Ann' },
    text: 'hello',
    mentions: [],
    attachments: [],
    sentAt: new Date().toISOString(),
    replyTarget: { channel: 'custom', data: {} },
  };
}

describe.each(Object.keys(drivers))('on the %s database', (driver) => {
  let handle: DatabaseHandle;
  const db = () => handle.db;
  beforeAll(async () => {
    handle = await drivers[driver]!();
    handles.push(handle);
  });

  it('counts the sender and the conversation in their own windows, and refuses past either limit', async () => {
    const rules = { allowUsers: [], denyUsers: [], rateLimitPerUserPerMinute: 3, rateLimitPerConversationPerMinute: 2 };
    const conversation = unique('c');
    const verdicts = [];
    // Two senders in one conversation: the conversation's limit binds first, and for both of them.
    for (const sender of ['ann', 'bob', 'ann']) {
      verdicts.push(
        await verifySender({ db: db(), rules }, { message: inbound(conversation, `${sender}-${conversation}`) }),
      );
    }
    expect(verdicts.map((verdict) => verdict.allowed)).toEqual([true, true, false]);
    // One sender across conversations: the sender's limit binds (3 allowed, the fourth refused).
    const sender = unique('u');
    const spread = [];
    for (let i = 0; i < 4; i += 1)
      spread.push(await verifySender({ db: db(), rules }, { message: inbound(unique('c'), sender) }));
    expect(spread.map((verdict) => verdict.allowed)).toEqual([true, true, true, false]);
    expect(spread[3]).toMatchObject({ reason: 'rate_limited' });
  });
});
