// memory_search against a real (embedded PGlite) database with the project's migrations.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { likePattern, searchTerms } from '../../conversations/search.js';
import { type DatabaseHandle, openDatabase } from '../../db/client.js';
import { conversations, messages } from '../../db/schema.js';
import { createToolRegistry } from '../registry.js';
import { createMemorySearchTool } from './memory-search.js';

let dir: string;
let database: DatabaseHandle;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'conduit-memory-'));
  database = await openDatabase({ kind: 'pglite', dir });
  const db = database.db;
  await db.insert(conversations).values([
    { id: 'api:team', channel: 'api', externalId: 'team', type: 'group' },
    { id: 'api:other', channel: 'api', externalId: 'other', type: 'direct' },
  ]);
  const at = (minute: number) => new Date(Date.UTC(2030, 0, 1, 9, minute));
  const row = (id: string, conversationId: string, minute: number, text: string, direction: 'in' | 'out' = 'in') => ({
    id,
    conversationId,
    workflowId: `wf-${id}`,
    direction,
    senderId: direction === 'in' ? 'u-ann' : 'bot',
    senderName: direction === 'in' ? 'Ann' : null,
    text,
    createdAt: at(minute),
  });
  await db
    .insert(messages)
    .values([
      row('m1', 'api:team', 1, 'The Q3 budget is 40k for the offsite'),
      row('m2', 'api:team', 2, 'Noted: budget 40k.', 'out'),
      row('m3', 'api:team', 3, 'Lunch on Friday?'),
      row('m4', 'api:team', 4, 'The offsite moved to Hangzhou, budget unchanged'),
      row('m5', 'api:team', 5, 'Discount is 100% for staff'),
      row('m6', 'api:team', 6, 'Discount is 1000 yuan'),
      row('m7', 'api:other', 7, 'Secret budget of another team'),
      row('m8', 'api:team', 8, '团队预算是四万元'),
      row('now', 'api:team', 9, 'what was the budget again?'),
    ]);
  // PGlite boots a WebAssembly PostgreSQL and runs the migrations: slow on a busy machine.
}, 60_000);

afterAll(async () => {
  await database?.close();
  await rm(dir, { recursive: true, force: true });
});

const search = (args: Record<string, unknown>, ctx = { conversationId: 'api:team', runId: 'wf-now' }) =>
  createToolRegistry([createMemorySearchTool(database.db)]).runTool(
    'memory_search',
    JSON.stringify(args),
    ctx,
  ) as Promise<{
    matches: Array<{ text: string; role: string; sender: string; at: string }>;
  }>;

describe('memory_search', () => {
  it('ranks messages with more of the words first, then the newer, within this conversation only', async () => {
    const { matches } = await search({ query: 'offsite budget' });
    expect(matches.map((match) => match.text)).toEqual([
      'The offsite moved to Hangzhou, budget unchanged',
      'The Q3 budget is 40k for the offsite',
      'Noted: budget 40k.',
    ]);
    expect(matches[2]).toMatchObject({ role: 'assistant', sender: 'bot', at: '2030-01-01T09:02:00.000Z' });
    expect(matches[0]).toMatchObject({ role: 'user', sender: 'Ann' });
  });

  it('leaves out the current run’s own message and honours the limit', async () => {
    const { matches } = await search({ query: 'budget', limit: 2 });
    expect(matches.map((match) => match.text)).toEqual([
      'The offsite moved to Hangzhou, budget unchanged',
      'Noted: budget 40k.',
    ]);
  });

  it('is case-insensitive and matches substrings, including Chinese text', async () => {
    expect((await search({ query: 'LUNCH' })).matches.map((match) => match.text)).toEqual(['Lunch on Friday?']);
    expect((await search({ query: '预算' })).matches.map((match) => match.text)).toEqual(['团队预算是四万元']);
  });

  it('treats LIKE wildcards in the query literally', async () => {
    expect((await search({ query: '100%' })).matches.map((match) => match.text)).toEqual([
      'Discount is 100% for staff',
    ]);
  });

  it('returns no matches rather than failing when nothing matches', async () => {
    expect((await search({ query: 'kangaroo' })).matches).toEqual([]);
  });

  it('refuses to run outside a conversation', async () => {
    await expect(
      createToolRegistry([createMemorySearchTool(database.db)]).runTool('memory_search', '{"query":"budget"}'),
    ).rejects.toThrow('only inside a conversation');
  });
});

describe('searchTerms and likePattern', () => {
  it('splits on spaces and punctuation, de-duplicates and keeps the longest words', () => {
    expect(searchTerms('Budget, budget; offsite!')).toEqual(['offsite', 'budget']);
    expect(searchTerms('a b c d e f g h i j k')).toHaveLength(8);
  });

  it('escapes LIKE wildcards', () => {
    expect(likePattern('50%_off\\')).toBe('%50\\%\\_off\\\\%');
  });
});
