// memory_search: finds earlier messages of the current conversation by words, for questions like "what did I
// say about the budget last week?". Case-insensitive substring matching (ILIKE), ranked by how many of the
// words a message contains and then by recency; plain SQL, so PostgreSQL and PGlite answer alike. A run only
// ever searches its own conversation.
import { and, desc, eq, ilike, ne, or, type SQL, sql } from 'drizzle-orm';
import { z } from 'zod';
import { BadRequestError } from '../../core/errors.js';
import type { Database } from '../../db/client.js';
import { messages } from '../../db/schema.js';
import type { ToolDefinition } from '../types.js';

const MAX_TERMS = 8;
const MAX_TEXT = 500;

const inputSchema = z
  .object({
    query: z.string().trim().min(1).max(500),
    limit: z.number().int().min(1).max(20).default(5),
  })
  .strict();

export interface MemoryMatch {
  at: string;
  role: 'user' | 'assistant';
  sender: string;
  text: string;
}

export function createMemorySearchTool(db: Database): ToolDefinition<z.infer<typeof inputSchema>> {
  return {
    name: 'memory_search',
    description:
      'Searches earlier messages of this conversation (both sides) for the given words and returns the best matches, newest first among equals. Use it when the user refers to something said before that is not in the recent context.',
    parameters: {
      type: 'object',
      properties: {
        query: { type: 'string', description: 'Words to look for; messages containing more of them rank higher' },
        limit: { type: 'integer', minimum: 1, maximum: 20, description: 'How many matches to return (default 5)' },
      },
      required: ['query'],
      additionalProperties: false,
    },
    inputSchema,
    sensitive: false,
    timeoutMs: 5_000,
    async run(input, ctx): Promise<{ query: string; matches: MemoryMatch[] }> {
      if (!ctx.conversationId) throw new BadRequestError('memory_search works only inside a conversation');
      const phrase = likePattern(input.query);
      const terms = searchTerms(input.query);
      const patterns = terms.length > 0 ? terms.map(likePattern) : [phrase];
      // A message with the whole phrase outranks one with all words scattered.
      const score = sql<number>`(${sql.join(
        [phrase, ...patterns].map(
          (pattern, index) => sql`(case when ${messages.text} ilike ${pattern} then ${index === 0 ? 2 : 1} else 0 end)`,
        ),
        sql` + `,
      )})`;
      const conditions: SQL[] = [eq(messages.conversationId, ctx.conversationId)];
      // The current run's own message is already in front of the model.
      if (ctx.runId) conditions.push(ne(messages.workflowId, ctx.runId));
      const anyTerm = or(...patterns.map((pattern) => ilike(messages.text, pattern)));
      if (anyTerm) conditions.push(anyTerm);
      const rows = await db
        .select({
          at: messages.createdAt,
          direction: messages.direction,
          senderId: messages.senderId,
          senderName: messages.senderName,
          text: messages.text,
        })
        .from(messages)
        .where(and(...conditions))
        .orderBy(desc(score), desc(messages.createdAt))
        .limit(input.limit);
      return {
        query: input.query,
        matches: rows.map((row) => ({
          at: row.at.toISOString(),
          role: row.direction === 'in' ? 'user' : 'assistant',
          sender: row.senderName ?? row.senderId,
          text: row.text.length > MAX_TEXT ? `${row.text.slice(0, MAX_TEXT)}…` : row.text,
        })),
      };
    },
  };
}

/** Distinct words of the query, longest first so the most specific ones survive the cap. */
export function searchTerms(query: string): string[] {
  const words = [...new Set(query.toLowerCase().split(/[\s,.;:!?，。；：！？、"'()[\]{}]+/u))].filter(Boolean);
  return words.sort((a, b) => b.length - a.length).slice(0, MAX_TERMS);
}

/** `%word%` with LIKE's own wildcards escaped, so a query of `100%` matches the text "100%" only. */
export function likePattern(term: string): string {
  return `%${term.replace(/[\\%_]/g, '\\$&')}%`;
}
