// Finds earlier messages of one conversation by words: case-insensitive substring matching (ILIKE), ranked by
// how many of the words a message contains (the whole phrase counts double) and then by recency. Plain SQL, so
// PostgreSQL and PGlite answer alike. The memory_search tool is its one caller.
import { and, desc, eq, ilike, ne, or, type SQL, sql } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { messages } from '../db/schema.js';

const MAX_TERMS = 8;

export interface FoundMessage {
  at: Date;
  direction: 'in' | 'out';
  senderId: string;
  senderName: string | null;
  text: string;
}

export async function searchConversation(
  db: Database,
  input: {
    /** The conversations-table key; nothing outside this conversation is ever searched. */
    conversationId: string;
    query: string;
    limit: number;
    /** A run's own message is already in front of the model: leave it out. */
    excludeWorkflowId?: string;
  },
): Promise<FoundMessage[]> {
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
  const conditions: SQL[] = [eq(messages.conversationId, input.conversationId)];
  if (input.excludeWorkflowId) conditions.push(ne(messages.workflowId, input.excludeWorkflowId));
  const anyTerm = or(...patterns.map((pattern) => ilike(messages.text, pattern)));
  if (anyTerm) conditions.push(anyTerm);
  return db
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
