// The reply outbox on real PostgreSQL: replies of one conversation leave in the order they were recorded, an
// earlier pending reply is sent first by whoever gets there, its own run then finds it sent, a reply refused
// for good stops holding the conversation back, and one pending past the order window is not waited for. And a
// reply sent just as the database went away, or through a passing database error, is recorded as sent once it
// can be, so no later attempt sends it again.
import { randomBytes } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { UpstreamError } from '../core/errors.js';
import type { SentMessageRef } from '../core/message.js';
import { type DatabaseHandle, openDatabase } from '../db/client.js';
import { replyOutbox } from '../db/schema.js';
import { ORDER_WINDOW_MS, type OutboxEntry, type OutboxRequest, sendOnce } from '../runs/reply-outbox.js';
import { startTcpProxy } from './support/tcp-proxy.js';

let database: DatabaseHandle;

beforeAll(async () => {
  database = await openDatabase({ kind: 'postgres', url: inject('databaseUrl') });
});
afterAll(async () => {
  await database?.close();
});

const entry = (conversation: string, name: string): OutboxEntry => ({
  key: `${conversation}:${name}`,
  workflowId: `wf-${conversation}-${name}`,
  channel: 'custom',
  kind: 'final',
  storedText: name,
  conversation,
  request: { target: { channel: 'custom', data: { name } }, reply: { text: name, format: 'text' } },
});

/** A sender that records what it sent, and refuses what `refuse` says. */
function platform(refuse: (text: string) => UpstreamError | undefined = () => undefined) {
  const sent: string[] = [];
  return {
    sent,
    send: async (request: OutboxRequest): Promise<SentMessageRef> => {
      const refusal = refuse(request.reply.text);
      if (refusal) throw refusal;
      sent.push(request.reply.text);
      return { channel: 'custom', platformMessageId: `pm-${request.reply.text}` };
    },
  };
}

describe('the reply outbox', () => {
  it('sends an earlier pending reply of the conversation first; its own run then finds it sent', async () => {
    const conversation = `order-${randomBytes(4).toString('hex')}`;
    const down = platform(() => new UpstreamError('platform down', { retryable: true }));
    await expect(sendOnce(database.db, entry(conversation, 'first'), down)).rejects.toThrow('platform down');

    const up = platform();
    const second = await sendOnce(database.db, entry(conversation, 'second'), up);
    expect(up.sent).toEqual(['first', 'second']);
    expect(second).toEqual({ sent: { channel: 'custom', platformMessageId: 'pm-second' }, duplicate: false });

    const again = platform();
    expect(await sendOnce(database.db, entry(conversation, 'first'), again)).toEqual({
      sent: { channel: 'custom', platformMessageId: 'pm-first' },
      duplicate: true,
    });
    expect(again.sent).toEqual([]);
    const [first] = await database.db
      .select()
      .from(replyOutbox)
      .where(eq(replyOutbox.key, `${conversation}:first`));
    expect(first).toMatchObject({ status: 'sent', request: null, claimedUntil: null });
  });

  it('lets a reply refused for good stop holding the conversation back', async () => {
    const conversation = `refused-${randomBytes(4).toString('hex')}`;
    const down = platform(() => new UpstreamError('platform down', { retryable: true }));
    await expect(sendOnce(database.db, entry(conversation, 'doomed'), down)).rejects.toThrow();
    const picky = platform((text) =>
      text === 'doomed' ? new UpstreamError('message withdrawn', { retryable: false }) : undefined,
    );
    await sendOnce(database.db, entry(conversation, 'next'), picky);
    expect(picky.sent).toEqual(['next']);
    await expect(sendOnce(database.db, entry(conversation, 'doomed'), platform())).rejects.toThrow(/for good/);
  });

  it('does not wait for a reply that was pending for longer than the order window', async () => {
    const conversation = `stale-${randomBytes(4).toString('hex')}`;
    const stale = entry(conversation, 'stale');
    await database.db.insert(replyOutbox).values({
      key: stale.key,
      workflowId: stale.workflowId,
      channel: stale.channel,
      kind: stale.kind,
      text: stale.storedText,
      conversation,
      request: stale.request,
      createdAt: new Date(Date.now() - ORDER_WINDOW_MS - 60_000),
    });
    const up = platform();
    await sendOnce(database.db, entry(conversation, 'fresh'), up);
    expect(up.sent).toEqual(['fresh']);
  });

  it('does not send a reply again when recording it as sent meets a passing database error', async () => {
    // Found by the soak benchmark on the production topology: with PostgreSQL out of connections ("too many
    // clients") right after a callback went out, the attempt failed and its retry sent the reply a second time.
    const conversation = `mark-${randomBytes(4).toString('hex')}`;
    let failingUpdates = 0;
    // Refused when an update is executed (not when it is built: statements are prepared once per handle).
    const refusedWhileFailing = <T extends object>(builder: T): T =>
      new Proxy(builder, {
        get(target, property) {
          const value = Reflect.get(target, property, target);
          if (typeof value !== 'function') return value;
          return (...args: unknown[]) => {
            if (property === 'execute' && failingUpdates > 0) {
              failingUpdates -= 1;
              return Promise.reject(new Error('sorry, too many clients already'));
            }
            const result = value.apply(target, args);
            return result && typeof result === 'object' && !(result instanceof Promise)
              ? refusedWhileFailing(result)
              : result;
          };
        },
      });
    const flaky = new Proxy(database.db, {
      get(target, property) {
        const value = Reflect.get(target, property, target);
        if (property === 'update') return (table: typeof replyOutbox) => refusedWhileFailing(target.update(table));
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const up = platform();
    const sender = {
      send: async (request: OutboxRequest): Promise<SentMessageRef> => {
        const sent = await up.send(request);
        failingUpdates = 2; // the next two writes, the "sent" mark's, are refused
        return sent;
      },
    };
    const result = await sendOnce(flaky, entry(conversation, 'only'), sender);
    expect(result).toEqual({ sent: { channel: 'custom', platformMessageId: 'pm-only' }, duplicate: false });
    expect(failingUpdates).toBe(0);

    const retry = platform();
    expect((await sendOnce(database.db, entry(conversation, 'only'), retry)).duplicate).toBe(true);
    expect(retry.sent).toEqual([]);
    expect(up.sent).toEqual(['only']);
  });

  it('keeps one row per reply however often its send is retried, and sends it once', async () => {
    const conversation = `retry-${randomBytes(4).toString('hex')}`;
    const down = platform(() => new UpstreamError('platform down', { retryable: true }));
    await expect(sendOnce(database.db, entry(conversation, 'answer'), down)).rejects.toThrow('platform down');
    const up = platform();
    expect((await sendOnce(database.db, entry(conversation, 'answer'), up)).duplicate).toBe(false);
    const again = platform();
    expect((await sendOnce(database.db, entry(conversation, 'answer'), again)).duplicate).toBe(true);
    expect([...up.sent, ...again.sent]).toEqual(['answer']);
    const rows = await database.db.select().from(replyOutbox).where(eq(replyOutbox.conversation, conversation));
    // Claimed by the failed attempt and by the one that sent; the duplicate only read it.
    expect(rows).toMatchObject([{ key: `${conversation}:answer`, status: 'sent', attempts: 2, request: null }]);
  });

  it('sends a reply once when two attempts of it record and claim it at the same moment', async () => {
    const conversation = `twin-${randomBytes(4).toString('hex')}`;
    const sent: string[] = [];
    const slow = {
      send: async (request: OutboxRequest): Promise<SentMessageRef> => {
        sent.push(request.reply.text);
        await new Promise((resolve) => setTimeout(resolve, 300));
        return { channel: 'custom', platformMessageId: 'pm-twin' };
      },
    };
    const outcomes = await Promise.all([
      sendOnce(database.db, entry(conversation, 'twin'), slow),
      sendOnce(database.db, entry(conversation, 'twin'), slow),
    ]);
    expect(outcomes.map((outcome) => outcome.duplicate).sort()).toEqual([false, true]);
    expect(sent).toEqual(['twin']);
    const rows = await database.db.select().from(replyOutbox).where(eq(replyOutbox.conversation, conversation));
    expect(rows).toMatchObject([{ status: 'sent', attempts: 1 }]);
  });

  it('keeps replies without a conversation out of any order', async () => {
    const conversation = `none-${randomBytes(4).toString('hex')}`;
    const down = platform(() => new UpstreamError('platform down', { retryable: true }));
    await expect(sendOnce(database.db, entry(conversation, 'held'), down)).rejects.toThrow();
    const up = platform();
    await sendOnce(database.db, { ...entry(conversation, 'loose'), conversation: undefined }, up);
    expect(up.sent).toEqual(['loose']);
  });

  it('records a reply sent just before the database went away once it is back, so it is not sent twice', async () => {
    const url = new URL(inject('databaseUrl'));
    const proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port || 5432) });
    url.hostname = '127.0.0.1';
    url.port = String(proxy.port);
    const cut = await openDatabase({ kind: 'postgres', url: url.toString() });
    try {
      const conversation = `cut-${randomBytes(4).toString('hex')}`;
      const sent: string[] = [];
      let restored: Promise<void> | undefined;
      const cutAfterSending = {
        send: async (request: OutboxRequest): Promise<SentMessageRef> => {
          sent.push(request.reply.text);
          // The reply is out; the database goes away before the outbox can say so, and is back 1.5 s later.
          await proxy.cut();
          restored = new Promise((resolve) => setTimeout(resolve, 1_500)).then(() => proxy.restore());
          return { channel: 'custom', platformMessageId: 'pm-cut' };
        },
      };
      const outcome = await sendOnce(cut.db, entry(conversation, 'answer'), cutAfterSending);
      await restored;
      expect(outcome).toEqual({ sent: { channel: 'custom', platformMessageId: 'pm-cut' }, duplicate: false });
      const [row] = await database.db
        .select()
        .from(replyOutbox)
        .where(eq(replyOutbox.key, `${conversation}:answer`));
      expect(row).toMatchObject({ status: 'sent', claimedUntil: null });
      const retry = platform();
      expect((await sendOnce(cut.db, entry(conversation, 'answer'), retry)).duplicate).toBe(true);
      expect([...sent, ...retry.sent]).toEqual(['answer']);
    } finally {
      await proxy.restore();
      await cut.close();
      await proxy.close();
    }
  });
});
